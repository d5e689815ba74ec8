"""Thumbnails made once in the scan: one per picture (oriented, colour, not blurred), a frame
strip per video, none for other content; stored in scan.sqlite with the batch's records,
never in findings.json (byte-identical with and without them); scan folder owner-only."""

from __future__ import annotations

import io
import itertools
import json
import sqlite3
import zipfile
from pathlib import Path

import numpy as np
import piexif
import pytest
import skimage.data
from PIL import Image
from tests.carving import samples
from tests.cli_scan import cli_scan
from tests.records import lookup

from fellwatch.hashsets.store import HashSetStore
from fellwatch.scan.job import scan
from fellwatch.settings import ScanSettings
from fellwatch.signals.thumbnail import FrameSampler, evenly_spaced
from fellwatch.store.scanstore import ScanStore
from fellwatch.store.thumbnails import (
    SCHEMA,
    KeyedThumbnail,
    Thumbnail,
    ThumbnailFailure,
    ThumbnailReader,
    iter_thumbnails,
    read_thumbnail,
    read_thumbnail_failure,
)


def _jpeg(img: Image.Image, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=92, **kw)
    return buf.getvalue()


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("thumbs")
    ev = root / "evidence"
    ev.mkdir()
    coffee = Image.fromarray(skimage.data.coffee())  # 600 x 400, landscape
    # Stored landscape, EXIF orientation 6: shown turned 90° clockwise, so portrait.
    exif = piexif.dump({"0th": {piexif.ImageIFD.Orientation: 6}})
    (ev / "turned.jpg").write_bytes(_jpeg(coffee, exif=exif))
    (ev / "coffee.png").write_bytes(_png(coffee))
    (ev / "notes.txt").write_text("not a picture\n")
    (ev / "clip.mp4").write_bytes(samples.video("mp4", seconds=12, fps=10))
    with zipfile.ZipFile(ev / "album.zip", "w") as z:
        z.writestr("inside/astronaut.jpg", _jpeg(Image.fromarray(skimage.data.astronaut())))
    out = {}
    for on in (True, False):
        report = scan([str(ev)], root / f"out-{on}", ScanSettings(workers=1, thumbnails=on),
                      store=HashSetStore(root / "data"), progress=False)
        out[on] = report
    return {"root": root, "coffee": coffee, "on": out[True], "off": out[False]}


def _key(report: object, name: str) -> str:
    items = report.findings["items"]  # type: ignore[attr-defined]
    return next(i["key"] for i in items if i["path"].endswith(name))


def test_one_thumbnail_per_picture_and_video(scanned: dict) -> None:
    out = scanned["on"].out_dir
    keys = {key for ev, key, _ in iter_thumbnails(out) if ev == 0}
    assert keys == {_key(scanned["on"], n) for n in (
        "turned.jpg", "coffee.png", "clip.mp4", "album.zip!inside/astronaut.jpg")}
    assert read_thumbnail(out, 0, "notes.txt") is None
    assert read_thumbnail(out, 1, _key(scanned["on"], "coffee.png")) is None
    assert list(iter_thumbnails(scanned["off"].out_dir)) == []


def test_picture_thumbnail_is_small_oriented_colour_and_sharp(scanned: dict) -> None:
    out = scanned["on"].out_dir
    plain = read_thumbnail(out, 0, _key(scanned["on"], "coffee.png"))
    assert plain is not None
    assert (plain.kind, plain.format, plain.media_type) == ("picture", "jpeg", "image/jpeg")
    assert (plain.width, plain.height) == (256, 171)
    img = Image.open(io.BytesIO(plain.data))
    assert (img.format, img.mode, img.size) == ("JPEG", "RGB", (256, 171))
    arr = np.asarray(img).astype(np.int16)
    assert np.abs(arr[..., 0] - arr[..., 2]).mean() > 10  # colour, not greyscale
    # Not blurred: close to a plain resize of the picture (blur is the web's, at serve time).
    reference = np.asarray(scanned["coffee"].resize((256, 171), Image.Resampling.BOX))
    assert np.abs(arr - reference.astype(np.int16)).mean() < 6
    blurred = np.asarray(Image.fromarray(reference).resize((32, 21)).resize((256, 171)))
    assert np.abs(arr - blurred.astype(np.int16)).mean() > 8
    turned = read_thumbnail(out, 0, _key(scanned["on"], "turned.jpg"))
    assert turned is not None and (turned.width, turned.height) == (171, 256)


def test_video_strip_and_archive_member(scanned: dict) -> None:
    out = scanned["on"].out_dir
    strip = read_thumbnail(out, 0, _key(scanned["on"], "clip.mp4"))
    assert strip is not None and strip.kind == "strip"
    assert strip.frames == 8 and (strip.width, strip.height) == (8 * 160, 120)
    assert Image.open(io.BytesIO(strip.data)).size == (strip.width, strip.height)
    member = read_thumbnail(out, 0, _key(scanned["on"], "album.zip!inside/astronaut.jpg"))
    assert member is not None and (member.width, member.height) == (256, 256)


def test_findings_are_byte_identical_with_and_without_thumbnails(scanned: dict) -> None:
    on, off = scanned["on"].out_dir, scanned["off"].out_dir
    assert (on / "findings.json").read_bytes() == (off / "findings.json").read_bytes()
    assert (on / "inventory.csv").read_bytes() == (off / "inventory.csv").read_bytes()


def test_scan_folder_is_owner_only(scanned: dict) -> None:
    out = scanned["on"].out_dir
    assert out.stat().st_mode & 0o777 == 0o700
    for name in ("scan.sqlite", "findings.json", "inventory.csv", "run.json", "report.html"):
        assert (out / name).stat().st_mode & 0o777 == 0o600, name
    data = scanned["root"] / "data"
    HashSetStore(data).list()  # the store makes its folders when first used
    assert data.stat().st_mode & 0o777 == 0o700
    assert (data / "sets").stat().st_mode & 0o777 == 0o700


def test_thumbnails_commit_with_their_records_or_not_at_all(tmp_path: Path) -> None:
    store = ScanStore(tmp_path / "scan.sqlite")
    record = lookup({"key": "a.jpg", "path": "/a.jpg"})
    good = KeyedThumbnail("a.jpg", Thumbnail("picture", 2, 2, "jpeg", b"\xff\xd8"))
    bad = KeyedThumbnail("b.jpg", Thumbnail("picture", 2, 2, "jpeg", None))  # type: ignore[arg-type]
    with pytest.raises(sqlite3.IntegrityError):
        store.commit_batch(0, ["a.jpg", "b.jpg"], [record], [good, bad])
    assert list(store.records()) == [] and store.done_units(0) == set()
    store.commit_batch(0, ["a.jpg"], [record], [good])
    store.close()
    reader = ThumbnailReader(tmp_path)
    assert reader.get(0, "a.jpg") == good.thumbnail
    reader.close()


def test_frame_sampler_keeps_evenly_spaced_frames_in_bounded_memory() -> None:
    sampler = FrameSampler(most=8, side=4)
    for i in range(1000):
        frame = np.zeros((8, 8, 3), dtype=np.uint8)
        frame[..., 0], frame[..., 1] = divmod(i, 256)  # the frame's number, in its pixels
        sampler.offer(frame)
    assert len(sampler.frames) <= 16
    kept = [int(f[0, 0, 0]) * 256 + int(f[0, 0, 1]) for f in sampler.frames]
    steps = {b - a for a, b in itertools.pairwise(kept)}
    assert len(steps) == 1  # evenly spaced
    assert evenly_spaced(3, 8) == [0, 1, 2] and evenly_spaced(15, 8)[::7] == [0, 14]


INJECTED = "OSError: encoder error -2 when writing image file (injected fault)"


def test_a_thumbnail_that_fails_to_encode_is_recorded_and_changes_no_finding(
    scanned: dict, tmp_path: Path
) -> None:
    """The declared fault makes coffee.png's thumbnail encoding fail after PDQ decoded it: the
    reason is kept beside the thumbnails, every finding is byte-identical to a plain scan's."""
    evidence = scanned["root"] / "evidence"
    plain = cli_scan(evidence, tmp_path / "plain", tmp_path / "data")
    faulty = cli_scan(evidence, tmp_path / "faulty", tmp_path / "data",
                      FELLWATCH_TEST_FAULTS="1",
                      FELLWATCH_FAULT_THUMBNAIL_FAIL_ON_PATH="/coffee.png")
    for name in ("findings.json", "inventory.csv"):
        assert (faulty / name).read_bytes() == (plain / name).read_bytes(), name
    items = {i["path"]: i for i in json.loads((faulty / "findings.json").read_text())["items"]}
    coffee = items["/coffee.png"]
    assert coffee["error"] is None and coffee["signals"]["pdq"]["quality"] >= 50  # decoded
    assert read_thumbnail(faulty, 0, coffee["key"]) is None
    assert read_thumbnail_failure(faulty, 0, coffee["key"]) == INJECTED
    assert read_thumbnail(plain, 0, coffee["key"]) is not None
    assert read_thumbnail_failure(plain, 0, coffee["key"]) is None
    # Only that one: every other picture and video has its thumbnail and no failure.
    assert {k for _, k, _ in iter_thumbnails(faulty)} == (
        {k for _, k, _ in iter_thumbnails(plain)} - {coffee["key"]})
    reader = ThumbnailReader(faulty)
    assert reader.failures(0, [i["key"] for i in items.values()]) == {coffee["key"]: INJECTED}
    reader.close()


def test_failures_commit_with_their_batch_and_old_stores_have_none(tmp_path: Path) -> None:
    store = ScanStore(tmp_path / "new" / "scan.sqlite")
    record = lookup({"key": "a.jpg", "path": "/a.jpg"})
    store.commit_batch(0, ["a.jpg"], [record], [ThumbnailFailure("a.jpg", "OSError: broken")])
    store.close()
    assert read_thumbnail(tmp_path / "new", 0, "a.jpg") is None
    assert read_thumbnail_failure(tmp_path / "new", 0, "a.jpg") == "OSError: broken"
    # A scan folder made before failures were kept: no such table, so no reason (not an error).
    (tmp_path / "old").mkdir()
    db = sqlite3.connect(tmp_path / "old" / "scan.sqlite")
    db.executescript(SCHEMA.split("CREATE TABLE IF NOT EXISTS thumbnail_failures")[0])
    db.close()
    assert read_thumbnail_failure(tmp_path / "old", 0, "a.jpg") is None
