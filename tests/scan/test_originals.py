"""Originals on request: every kind of item read back from the evidence through its record
(allocated and deleted files of a disk image, archive members nested two deep, a carved
picture, a folder's file) gives exactly the bytes that were planted; refusals are one line."""

from __future__ import annotations

import io
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import skimage.data
from PIL import Image

from fellwatch.hashsets.store import HashSetStore
from fellwatch.scan.job import scan
from fellwatch.scan.originals import OriginalError, forget_evidence, read_original
from fellwatch.settings import ScanSettings
from fellwatch.store.scanstore import ScanStore


def _jpeg(name: str, size: int = 200) -> bytes:
    img = Image.fromarray(getattr(skimage.data, name)()).convert("RGB").resize((size, size))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


PLANTED = {
    "ALIVE.JPG": _jpeg("astronaut"),
    "GONE.JPG": _jpeg("coffee", 300),
    "INNER": _jpeg("chelsea"),
    "DEEP": _jpeg("rocket"),
}


@pytest.fixture(scope="module")
def card(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict]]:
    root = tmp_path_factory.mktemp("card")
    image = root / "card.img"
    subprocess.run(["mkfs.vfat", "-C", str(image), "8192"], check=True, capture_output=True)
    album = _zip({"inner/chelsea.jpg": PLANTED["INNER"],
                  "nested.zip": _zip({"deep/rocket.jpg": PLANTED["DEEP"]})})
    files = {"ALIVE.JPG": PLANTED["ALIVE.JPG"], "GONE.JPG": PLANTED["GONE.JPG"],
             "ALBUM.ZIP": album}
    for name, data in files.items():
        (root / name).write_bytes(data)
        subprocess.run(["mcopy", "-i", str(image), str(root / name), f"::/{name}"], check=True)
    subprocess.run(["mdel", "-i", str(image), "::/GONE.JPG"], check=True)
    scan([str(image)], root / "out", ScanSettings(workers=1),
         store=HashSetStore(root / "data"), progress=False)
    # Every record, not only findings.json's items: a carved copy of a deleted file that the
    # file system still names is a carved duplicate, kept in the store but not listed.
    store = ScanStore(root / "out" / "scan.sqlite")
    records = {"items": [r.to_json() for r in store.records()]}
    store.close()
    yield image, records
    forget_evidence()


def _item(findings: dict, test: object) -> dict:
    found = [i for i in findings["items"] if test(i)]  # type: ignore[operator]
    assert found, "no such item in the findings"
    return found[0]


def test_allocated_deleted_archive_nested_and_carved(card: tuple[Path, dict]) -> None:
    image, findings = card
    cases = {
        "allocated": (lambda i: i["path"] == "/ALIVE.JPG", "ALIVE.JPG"),
        "deleted": (lambda i: i["path"] == "/_ONE.JPG" and not i["allocated"], "GONE.JPG"),
        "archive": (lambda i: i["path"] == "/ALBUM.ZIP!inner/chelsea.jpg", "INNER"),
        "nested": (lambda i: i["path"] == "/ALBUM.ZIP!nested.zip!deep/rocket.jpg", "DEEP"),
        "carved": (lambda i: i["origin"] == "carved" and i["size"] == len(PLANTED["GONE.JPG"]),
                   "GONE.JPG"),
    }
    for what, (test, planted) in cases.items():
        record = _item(findings, test)
        assert read_original(str(image), record) == PLANTED[planted], what


def test_folder_item(tmp_path: Path) -> None:
    ev = tmp_path / "evidence"
    (ev / "sub dir").mkdir(parents=True)
    (ev / "sub dir" / "a.jpg").write_bytes(PLANTED["ALIVE.JPG"])
    report = scan([str(ev)], tmp_path / "out", ScanSettings(workers=1),
                  store=HashSetStore(tmp_path / "data"), progress=False)
    record = _item(report.findings, lambda i: i["path"].endswith("a.jpg"))
    assert read_original(str(ev), record) == PLANTED["ALIVE.JPG"]


def test_refusals(card: tuple[Path, dict]) -> None:
    image, findings = card
    record = _item(findings, lambda i: i["path"] == "/ALIVE.JPG")
    with pytest.raises(OriginalError, match="more than"):
        read_original(str(image), record, max_bytes=100)
    with pytest.raises(OriginalError, match="differ from the scan's record"):
        read_original(str(image), {**record, "sha256": "0" * 64})
    with pytest.raises(OriginalError, match="not in the evidence"):
        read_original(str(image), {**record, "key": "no/such/key"})
    with pytest.raises(OriginalError, match="evidence cannot be opened"):
        read_original(str(image) + ".missing", record)
