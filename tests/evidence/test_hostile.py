"""Hostile evidence: each class of failure a hostile corpus found in 0.2.0, on a fixture of our
own (tests/fixtures/hostile.py), ends as a recorded outcome or a refusal that names the cause;
never a traceback, a hang, unbounded memory or a silent loss."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fellwatch.carving.base import CarvedFragmentError, NotACandidate
from fellwatch.carving.gif import GifCarver
from fellwatch.carving.png import PngCarver
from fellwatch.errors import ExitCode, OutputError
from fellwatch.evidence import EvidenceError, Item, open_evidence
from fellwatch.evidence import image as image_module
from fellwatch.evidence.archives import embedded_zip
from fellwatch.evidence.base import ByteRange, refuse_output_inside_evidence
from fellwatch.record import ItemRecord
from fellwatch.scan.worker import ItemProcessor
from fellwatch.settings import ScanSettings
from fellwatch.signals.pictures import MAX_DECODED_PIXELS, PictureError, decode_picture
from tests.fixtures.hostile import gif_storm
from tests.fixtures.plugin import HostileFixtures

ROOT = Path(__file__).resolve().parents[2]


def _items(path: Path) -> list[Item]:
    ev = open_evidence(path)
    try:
        return list(ev.items())
    finally:
        ev.close()


def _by_path(items: list[Item]) -> dict[str, Item]:
    return {i.path: i for i in items}


def _run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    return subprocess.run([sys.executable, "-m", "fellwatch", *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=600, check=False)


# --- crashes ------------------------------------------------------------------------------------


def test_ntfs_cut_in_the_middle_of_its_mft_is_an_error_on_its_root_not_a_crash(
        hostile_fixtures: HostileFixtures) -> None:
    items = _items(hostile_fixtures.path("ntfs-cut-mid-mft"))
    assert len(items) == 1
    assert items[0].path == "/"
    assert items[0].error is not None
    assert items[0].error.startswith("root directory unreadable, nothing listed")


def test_truncated_qcow2_is_refused_naming_where_the_file_ends(
        hostile_fixtures: HostileFixtures) -> None:
    case = hostile_fixtures.case("truncated-qcow2")
    with pytest.raises(EvidenceError, match=r"truncated QCOW2 image truncated\.qcow2") as exc:
        open_evidence(hostile_fixtures.path("truncated-qcow2"))
    assert f"end of the file ({case['cut_at']} bytes)" in str(exc.value)


def test_folder_nested_1100_deep_is_walked_to_the_bottom(
        hostile_fixtures: HostileFixtures) -> None:
    case = hostile_fixtures.case("deep-folder")
    items = _items(hostile_fixtures.path("deep-folder"))
    assert [i.path for i in items] == ["/d" * case["levels"] + "/" + case["bottom_name"]]
    assert items[0].error is None


def test_directory_tree_300_deep_in_an_image_is_walked_and_the_depth_bound_recorded(
        hostile_fixtures: HostileFixtures, monkeypatch: pytest.MonkeyPatch) -> None:
    case = hostile_fixtures.case("deep-directory-tree")
    path = hostile_fixtures.path("deep-directory-tree")
    bottom = "/d" * case["levels"] + "/" + case["bottom_name"]
    files = [i for i in _items(path) if i.path == bottom]
    assert len(files) == 1 and files[0].error is None
    # The bound itself: past it, the directory is an item saying its contents are not listed.
    monkeypatch.setattr(image_module.tsk_walk, "_MAX_DEPTH", 100)
    items = _items(path)
    assert [i.path for i in items] == ["/d" * 101]
    assert items[0].error == ("directory nested deeper than 100 levels: its contents are not "
                              "listed")


def test_folder_walk_keeps_the_recursive_order(tmp_path: Path) -> None:
    # Each entry in sorted order, a subfolder's contents where the subfolder stands.
    for rel in ("a/z.txt", "a/b/c.txt", "b.txt", "a/a.txt", "c/d/e.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(rel.encode())
    assert [i.path for i in _items(tmp_path)] == [
        "/a/a.txt", "/a/b/c.txt", "/a/z.txt", "/b.txt", "/c/d/e.txt"]


def test_a_walk_that_fails_part_way_keeps_what_it_listed_and_records_the_failure(
        hostile_fixtures: HostileFixtures, monkeypatch: pytest.MonkeyPatch) -> None:
    real = image_module.tsk_walk.walk

    def breaks_after_one(fs: Any, blocks_in_use: Any = None, *,
                         directories: bool = False) -> Iterator[Any]:
        walk = real(fs, blocks_in_use, directories=directories)
        yield next(walk)
        raise RuntimeError("reader failed in the middle of a directory")

    monkeypatch.setattr(image_module.tsk_walk, "walk", breaks_after_one)
    items = _items(hostile_fixtures.path("ext4-cleared-inodes"))
    assert len(items) == 2
    failure = [i for i in items if i.key.endswith("walk-error")]
    assert len(failure) == 1
    assert failure[0].error == (
        "file system walk stopped after 1 item(s): RuntimeError: reader failed in the middle "
        "of a directory; names past this point are not listed")


def test_output_disk_full_fails_with_a_reason_and_a_clean_exit(
        hostile_fixtures: HostileFixtures, tmp_path: Path) -> None:
    mount = tmp_path / "small-disk"
    mount.mkdir()
    # A real full file system: a 256 KiB tmpfs (the tests run as root, as the fixtures do).
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mount], check=True)
    try:
        done = _run_cli("scan", hostile_fixtures.path("output-disk-full"), "--out",
                        mount / "out", "--workers", "1", "--quiet")
    finally:
        subprocess.run(["umount", mount], check=True)
    assert "Traceback" not in done.stderr
    assert "cannot rollback" not in done.stderr
    assert done.returncode == ExitCode.OUTPUT == 4
    assert done.stderr.startswith("fellwatch: output disk full: cannot write ")
    assert f"{mount}/out" in done.stderr
    assert "run the same command again" in done.stderr


# --- hangs ------------------------------------------------------------------------------------


def test_huge_sparse_file_is_recorded_not_read(hostile_fixtures: HostileFixtures) -> None:
    case = hostile_fixtures.case("huge-sparse-file")
    items = _by_path(_items(hostile_fixtures.path("huge-sparse-file")))
    big = items[case["member"]]
    assert big.size == case["declared_size"]
    assert big.error == (f"not read: its size ({case['declared_size']} bytes) is larger than its "
                         "whole file system (16777216 bytes), so it is almost all sparse holes")
    assert items["/small.txt"].error is None


def test_fifo_given_as_evidence_is_refused_without_opening_it(
        hostile_fixtures: HostileFixtures) -> None:
    # Opening a FIFO for reading would block until a writer comes: the refusal must come from
    # its type alone. Run apart so a regression hangs a child, not the suite.
    code = ("import sys\nfrom fellwatch.evidence import EvidenceError, open_evidence\n"
            "try:\n    open_evidence(sys.argv[1])\nexcept EvidenceError as e:\n"
            "    print(e)\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    done = subprocess.run([sys.executable, "-c", code, str(hostile_fixtures.path(
        "fifo-as-evidence"))], capture_output=True, text=True, timeout=120, env=env,
        check=True)
    assert "is a FIFO (named pipe), not a file, folder or block device: refused" in done.stdout


def test_fifo_inside_a_folder_is_listed_with_an_error_never_opened(
        hostile_fixtures: HostileFixtures) -> None:
    items = _by_path(_items(hostile_fixtures.path("fifo-in-folder")))
    assert items["/pipe"].error == "a FIFO (named pipe): not read"
    assert items["/plain.txt"].error is None


class _CountingSource:
    def __init__(self, data: bytes) -> None:
        self._data = data
        self.end = len(data)
        self.read_bytes = 0

    def read(self, offset: int, length: int) -> bytes:
        got = self._data[offset:min(offset + length, self.end)]
        self.read_bytes += len(got)
        return got


def test_png_signature_storm_costs_a_bounded_read_per_candidate(
        hostile_fixtures: HostileFixtures) -> None:
    case = hostile_fixtures.case("png-signature-storm")
    data = hostile_fixtures.path("png-signature-storm").read_bytes()
    source = _CountingSource(data)
    carver = PngCarver()
    starts = range(0, case["size"] - case["step"], case["step"])
    outcomes = []
    for start in starts:
        try:
            carver.carve(source, start, carver.default_max_size)
            outcomes.append("complete")
        except (NotACandidate, CarvedFragmentError) as exc:
            outcomes.append(type(exc).__name__)
    assert set(outcomes) == {"CarvedFragmentError"}
    # Each candidate's first chunk claims to run to the end of the range: a CRC check as the
    # walk goes reads the rest of the range per candidate (about 2 000 x 4 MiB here). Header
    # walking first reads a few dozen bytes per candidate.
    assert source.read_bytes <= 64 * len(starts)


def test_gif_signature_storm_reuses_walked_sub_block_chains(
        hostile_fixtures: HostileFixtures) -> None:
    case = hostile_fixtures.case("gif-signature-storm")
    data = hostile_fixtures.path("gif-signature-storm").read_bytes()
    source = _CountingSource(data)
    carver = GifCarver()
    starts = range(0, case["size"] - case["step"], case["step"])
    outcomes = []
    for start in starts:
        with pytest.raises(CarvedFragmentError) as exc:
            carver.carve(source, start, carver.default_max_size)
        outcomes.append((exc.value.reason, exc.value.examined))
    # Every candidate's sub-blocks run to the end of the range (about 4 MiB each, 8 GiB in
    # all, walked 256 bytes a step); a chain already walked is not walked again.
    assert source.read_bytes <= 2 * 64 * 1024 * len(starts)
    # The same outcomes as walking every chain afresh (a new carver remembers nothing).
    fresh = _CountingSource(data)
    for start, seen in list(zip(starts, outcomes, strict=True))[::97]:
        with pytest.raises(CarvedFragmentError) as exc:
            GifCarver().carve(fresh, start, GifCarver.default_max_size)
        assert (exc.value.reason, exc.value.examined) == seen


def test_gif_chain_memory_gives_the_plain_walks_outcomes_on_random_data() -> None:
    import random

    from fellwatch.carving import gif

    rng = random.Random(7)
    head = gif_storm(64, 32)[:24]
    for _ in range(40):
        size = rng.choice([4096, 30_000])
        data = bytearray(rng.choice([b"\xff", b"\x10", b"\x80"]) * size)
        for _ in range(rng.randint(0, 40)):
            data[rng.randrange(size)] = rng.choice([0, 1, 0x3B, 255, 7])
        starts = sorted(rng.sample(range(size - 30), 12))
        for start in starts:
            data[start:start + len(head)] = head
        source = _CountingSource(bytes(data))
        shared = gif.GifCarver()
        max_size = rng.choice([64, 5000, 1 << 25])
        for start in starts:
            assert _gif_outcome(shared, source, start, max_size) == _gif_outcome(
                gif.GifCarver(), source, start, max_size)


def _gif_outcome(carver: GifCarver, source: _CountingSource, start: int, max_size: int
                 ) -> tuple[object, ...]:
    try:
        return ("complete", carver.carve(source, start, max_size))
    except CarvedFragmentError as exc:
        return ("fragment", exc.reason, exc.examined)
    except NotACandidate as exc:
        return ("no", str(exc))


def _storm_outcomes(carver: Any, source: _CountingSource, starts: list[int]
                    ) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for start in starts:
        try:
            out.append(("complete", carver.carve(source, start, carver.default_max_size)))
        except CarvedFragmentError as exc:
            out.append(("fragment", exc.reason, exc.examined))
        except NotACandidate as exc:
            out.append(("no", str(exc)))
    return out


def _starts(data: bytes, magic: bytes, at: int) -> list[int]:
    starts, p = [], data.find(magic)
    while p >= 0:
        if p >= at:
            starts.append(p - at)
        p = data.find(magic, p + 1)
    return starts


def test_mp4_signature_storm_walks_each_box_chain_about_once(
        hostile_fixtures: HostileFixtures) -> None:
    from fellwatch.carving.mp4 import Mp4Carver

    data = hostile_fixtures.path("mp4-signature-storm").read_bytes()
    starts = _starts(data, b"ftyp", 4)
    assert len(starts) > 30_000
    carver = Mp4Carver()
    source = _CountingSource(data)
    outcomes = _storm_outcomes(carver, source, starts)
    assert {o[0] for o in outcomes} == {"fragment"}
    assert all(str(o[1]).startswith("bad box size in moov at +") for o in outcomes)
    # Every candidate's top-level walk runs to the end (about 65 000 boxes from the first) and
    # then through the same 4 096 moov children: walked afresh, ~10^9 box steps. Remembered
    # chains: about one walk of the space, plus a few steps per candidate to a checkpoint.
    boxes = len(data) // 8
    assert carver.work.steps <= boxes + 20 * len(starts)
    assert source.read_bytes <= 32 * (boxes + 20 * len(starts))
    # The same outcomes as walking every chain afresh (a new carver remembers nothing).
    for index in [*range(0, len(starts), 4999), len(starts) - 1]:
        fresh = Mp4Carver()
        assert _storm_outcomes(fresh, _CountingSource(data), [starts[index]]) == [
            outcomes[index]]


def test_riff_signature_storm_walks_each_chunk_chain_about_once(
        hostile_fixtures: HostileFixtures) -> None:
    from fellwatch.carving.avi import AviCarver
    from fellwatch.carving.webp import WebpCarver

    data = hostile_fixtures.path("riff-signature-storm").read_bytes()
    starts = _starts(data, b"RIFF", 0)
    assert len(starts) > 30_000
    for make, reason in ((AviCarver, "no hdrl and movi lists"),
                         (WebpCarver, "chunk b'JUNK' runs past the RIFF end")):
        carver = make()
        source = _CountingSource(data)
        outcomes = _storm_outcomes(carver, source, starts)
        mine = [o for o in outcomes if o[0] != "no"]
        assert len(mine) > 15_000 and {o[1] for o in mine} == {reason}
        # Each walk runs through every later header (~16 000 x 3 chunks); remembered: once.
        assert carver.work.steps <= len(data) // 8 + 20 * len(starts)
        for index in [*range(0, len(starts), 4999), len(starts) - 1]:
            assert _storm_outcomes(make(), _CountingSource(data), [starts[index]]) == [
                outcomes[index]]


def test_webp_pixel_storm_decodes_within_the_ranges_budget(
        hostile_fixtures: HostileFixtures) -> None:
    from fellwatch.carving import base
    from fellwatch.carving.scanner import CarveSettings, carve

    data = hostile_fixtures.path("webp-pixel-storm").read_bytes()
    starts = _starts(data, b"RIFF", 0)
    assert len(starts) > 2_000
    items = list(carve(lambda offset, length: data[offset:offset + length],
                       [ByteRange(0, len(data), None, "unpartitioned")], "storm.raw",
                       CarveSettings(formats=("webp",))))
    # Every candidate is reported, at its own offset, as a fragment that says why.
    assert [i.locator[1] for i in items] == starts
    decoded = [i for i in items if "does not decode" in (i.error or "")]
    refused = [i for i in items if "not decoded: declares 36.0 M pixels" in (i.error or "")]
    assert len(decoded) + len(refused) == len(items)
    # Test-decoded: what the range's budget allows (36 M pixels each), not one per candidate.
    budget = base.DECODE_PIXELS_FREE + base.DECODE_PIXELS_PER_BYTE * len(data)
    assert 0 < len(decoded) <= budget // 36_000_000 + 1
    # The overlapping second half (each chunk claims the rest of the space) is refused too.
    assert any(i.locator[1] >= len(data) // 2 for i in refused)


def test_candidates_whose_claimed_ends_shrink_rewalk_within_a_bound(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from fellwatch.carving import chains
    from fellwatch.carving.avi import AviCarver
    from tests.fixtures.hostile import riff_shrinking_storm

    size = 1 << 20
    data = riff_shrinking_storm(size)
    starts = _starts(data, b"RIFF", 0)
    assert len(starts) == 128
    budget = 600_000  # the real bound (4 Mi steps) made smaller, so the test is quick
    monkeypatch.setattr(chains, "REWALK_STEPS", budget)
    carver = AviCarver()
    outcomes = _storm_outcomes(carver, _CountingSource(data), starts)
    spent = [i for i, o in enumerate(outcomes) if str(o[1]).startswith("not walked again: ")]
    # Walked afresh, candidate k steps ~(1 MiB - 8 KiB x k) / 8 chunks: ~8.4 x 10^6 in all.
    assert 3 <= len(starts) - len(spent) <= 8 and spent == list(range(spent[0], len(starts)))
    assert outcomes[spent[0]][1] == (
        f"not walked again: this range's {budget} steps over structure already walked are "
        "spent (crafted overlapping candidates)")
    assert carver.work.rewalked <= budget + len(starts)
    assert carver.work.steps <= size // 8 + budget + 20 * len(starts)
    # Before the bound, the outcomes are the plain walk's.
    assert {o[1] for o in outcomes[:spent[0]]} == {"no hdrl and movi lists"}
    for index in (0, 1, spent[0] // 2, spent[0] - 1):
        assert _storm_outcomes(AviCarver(), _CountingSource(data), [starts[index]]) == [
            outcomes[index]]


def test_remembered_chains_give_the_plain_walks_outcomes_on_random_boxes() -> None:
    import random
    import struct

    from fellwatch.carving.avi import AviCarver
    from fellwatch.carving.mp4 import Mp4Carver

    rng = random.Random(11)
    mp4_tags = [b"free", b"skip", b"mdat", b"moov", b"trak", b"stco", b"ftyp", b"abcd"]
    for _ in range(30):
        boxes = bytearray()
        while len(boxes) < 6000:
            tag = rng.choice(mp4_tags)
            size = rng.choice([8, 12, 16, 24, 40, 7, 100000])
            body = bytes(rng.randrange(1, 256) for _ in range(max(0, min(size, 64) - 8)))
            if tag == b"ftyp":
                body = b"isom" + body[4:]
            boxes += struct.pack(">I", size) + tag + body
        riff = bytearray()
        while len(riff) < 6000:
            kind = rng.choice([b"RIFF", b"LIST", b"JUNK", b"\x01bad"])
            size = rng.choice([4, 12, 20, 6000 - len(riff), 3])
            body = (rng.choice([b"AVI LIST", b"hdrl", b"movi"]) if kind in (b"RIFF", b"LIST")
                    else b"") + bytes(rng.randrange(1, 256) for _ in range(8))
            riff += kind + struct.pack("<I", size) + body
        for data, make, magic, at in ((bytes(boxes), Mp4Carver, b"ftyp", 4),
                                      (bytes(riff), AviCarver, b"RIFF", 0)):
            starts = _starts(data, magic, at)
            shared = _storm_outcomes(make(), _CountingSource(data), starts)
            assert shared == [_storm_outcomes(make(), _CountingSource(data), [s])[0]
                              for s in starts]


# --- silent losses ------------------------------------------------------------------------------


def test_e01_chunk_failing_its_checksum_is_recorded_on_the_volume(
        hostile_fixtures: HostileFixtures) -> None:
    case = hostile_fixtures.case("ewf-chunk-checksum")
    items = _items(hostile_fixtures.path("ewf-chunk-checksum"))
    chunk = [i for i in items if i.key == f"000/ewf-chunk/{case['chunk']:012d}"]
    assert len(chunk) == 1
    assert chunk[0].offset == case["chunk_offset"]
    assert chunk[0].error is not None
    assert chunk[0].error.startswith(
        f"E01 chunk {case['chunk']} (media bytes {case['chunk_offset']}-"
        f"{case['chunk_offset'] + 32767}) fails its check: checksum mismatch (Adler-32); "
        "what the file system keeps there is not trustworthy and names may be missing")


def test_e01_chunk_that_does_not_inflate_is_an_error_on_the_file_it_holds(
        hostile_fixtures: HostileFixtures) -> None:
    case = hostile_fixtures.case("ewf-chunk-inflate")
    items = _by_path(_items(hostile_fixtures.path("ewf-chunk-inflate")))
    hit = items[case["member"]]
    assert hit.error is not None
    assert hit.error.startswith(
        f"content lies in E01 chunk(s) that fail their check (chunk {case['chunk']} at media "
        f"offset {case['chunk_offset']}: ")
    assert items["/Docs/PLAIN.TXT"].error is None
    assert sum(1 for p in items if p.startswith("/Album/")) == 40
    assert any(p.startswith(f"/(E01 chunk {case['chunk']} ") for p in items)


def test_ntfs_files_whose_mft_record_lies_in_a_bad_e01_chunk_carry_an_error_naming_it(
        hostile_fixtures: HostileFixtures) -> None:
    case = hostile_fixtures.case("ewf-chunk-ntfs-mft")
    items = _by_path(_items(hostile_fixtures.path("ewf-chunk-ntfs-mft")))
    assert len(case["in_chunk"]) >= 8 and len(case["outside"]) >= 8
    # The record the damage itself hit may have lost its name from the listing; every other
    # file kept in that chunk is listed, and each says which chunk.
    listed = [p for p in case["in_chunk"] if p in items]
    assert len(listed) >= len(case["in_chunk"]) - 1
    for path in listed:
        error = items[path].error
        assert error is not None
        assert f"(chunk {case['chunk']} at media offset {case['chunk_offset']}: " in error
        assert "MFT record (entry " in error
    for path in case["outside"]:
        assert items[path].error is None, path
    chunk = [i for i in items.values() if i.key.endswith(f"ewf-chunk/{case['chunk']:012d}")]
    assert len(chunk) == 1 and chunk[0].error is not None
    assert ("(files and directories whose content or metadata lies there carry their own "
            "error)") in chunk[0].error


def test_files_walked_through_dfvfs_in_a_bad_e01_chunk_carry_an_error_naming_it(
        shared_testdata: Path, tmp_path: Path) -> None:
    from tests.fixtures.hostile import build_apfs_chunk_case

    case = build_apfs_chunk_case(shared_testdata / "apfs.raw", tmp_path)
    ev = open_evidence(case["path"])
    try:
        assert [v["walker"] for v in ev.describe()["volumes"]] == ["dfvfs"]
        items = {i.path.removeprefix("/apfs1"): i for i in ev.items()}
    finally:
        ev.close()
    assert case["in_chunk"] and case["outside"]
    for path in case["in_chunk"]:
        error = items[path].error
        assert error == (f"content lies in E01 chunk(s) that fail their check (chunk "
                         f"{case['chunk']} at media offset {case['chunk_offset']}: checksum "
                         "mismatch (Adler-32)): the bytes libewf returns are not the acquired "
                         "ones, not hashed"), path
    for path in case["outside"]:
        assert items[path].error is None, path
    chunk = [i for p, i in items.items() if p.startswith(f"/(E01 chunk {case['chunk']} ")]
    assert len(chunk) == 1 and chunk[0].error is not None
    assert chunk[0].error.endswith("(files and directories whose content or metadata lies "
                                   "there carry their own error)")


def _chunk_named(case: dict[str, Any]) -> str:
    return f"(chunk {case['chunk']} at media offset {case['chunk_offset']}: checksum mismatch"


def _assert_traced_exactly(case: dict[str, Any], items: dict[str, Item]) -> None:
    """Errors on exactly the files and directories the fixture placed in the bad chunk."""
    named = _chunk_named(case)
    for path in case["files"]:
        if path not in items and path.rpartition("/")[0] in case["directories"]:
            continue  # its name was kept in a damaged directory (libewf gives zeros)
        error = items[path].error
        assert error is not None and named in error, (path, error)
    for path in case["directories"]:
        error = items[path].error
        assert error is not None and error.startswith("directory: its "), (path, error)
        assert named in error and error.endswith(
            ": its listing may be incomplete (names kept there may be missing, and what is "
            "listed from there is not the acquired bytes)"), (path, error)
    traced = set(case["files"]) | set(case["directories"])
    others = [p for p, i in items.items() if i.error is not None and p not in traced]
    assert others == [f"/(E01 chunk {case['chunk']} at media offset {case['chunk_offset']})"]
    assert items[others[0]].error.endswith(  # type: ignore[union-attr]
        "(files and directories whose content or metadata lies there carry their own error)")
    # Names kept in a damaged directory may be gone (libewf gives the chunk as zeros); every
    # other file is listed.
    for path in case["outside"]:
        if path.rpartition("/")[0] not in case["directories"]:
            assert path in items, path


def test_ext4_files_whose_inode_lies_in_a_bad_e01_chunk_carry_an_error_naming_it(
        hostile_fixtures: HostileFixtures) -> None:
    case = hostile_fixtures.case("ewf-chunk-ext4-inode")
    items = _by_path(_items(hostile_fixtures.path("ewf-chunk-ext4-inode")))
    # Inline-data files: the content is in the inode, so no data run leads to the chunk.
    assert len(case["files"]) >= 64 and len(case["outside"]) >= 64
    assert case["victim"] in case["files"]
    _assert_traced_exactly(case, items)
    for path in case["files"]:
        assert f"its inode ({items[path].inode}) lies in E01 chunk(s) that fail their check " \
            f"{_chunk_named(case)}" in (items[path].error or ""), path
    # Outside the chunk, inline files are read: their content is the bytes written.
    inline = [p for p in case["outside"] if p.startswith("/Inline/")]
    assert len(inline) >= 64
    ev = open_evidence(hostile_fixtures.path("ewf-chunk-ext4-inode"))
    try:
        for path in inline:
            with ev.open_item(items[path]) as stream:
                assert stream.read() == f"inline note {path[-7:-4]}\n".encode(), path
    finally:
        ev.close()


def test_ext4_directory_whose_entry_block_lies_in_a_bad_e01_chunk_carries_an_error(
        hostile_fixtures: HostileFixtures) -> None:
    case = hostile_fixtures.case("ewf-chunk-ext4-directory")
    items = _by_path(_items(hostile_fixtures.path("ewf-chunk-ext4-directory")))
    assert case["directory"] in case["directories"]
    _assert_traced_exactly(case, items)
    # The reason it matters: names kept in the damaged block are gone from the listing.
    listed = [p for p in items if p.startswith(case["directory"] + "/")]
    assert len(listed) < 60
    item = items[case["directory"]]
    assert item.size == 0 and item.key.endswith(f"/00001.00000/{case['directory']}")


def test_unreadable_directory_in_a_bad_e01_chunk_names_the_chunk_beside_its_error(
        hostile_fixtures: HostileFixtures, monkeypatch: pytest.MonkeyPatch) -> None:
    case = hostile_fixtures.case("ewf-chunk-ext4-directory")
    real = image_module.tsk_walk.walk
    refused: list[int] = []

    class Refusing:  # the file system, but /Listed's entries cannot be read
        def __init__(self, fs: Any) -> None:
            self._fs = fs
            self._listed = int(fs.open(case["directory"]).info.meta.addr)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._fs, name)

        def open_dir(self, inode: int) -> Any:
            if inode == self._listed:
                refused.append(inode)
                raise OSError("reader refused the directory")
            return self._fs.open_dir(inode=inode)

    def walk(fs: Any, blocks_in_use: Any = None, *, directories: bool = False) -> Any:
        return real(Refusing(fs), blocks_in_use, directories=directories)

    monkeypatch.setattr(image_module.tsk_walk, "walk", walk)
    items = _by_path(_items(hostile_fixtures.path("ewf-chunk-ext4-directory")))
    assert len(refused) == 1
    assert items[case["directory"]].error == (
        f"directory unreadable: reader refused the directory; its entries lie in E01 chunk(s) "
        f"that fail their check {_chunk_named(case)} (Adler-32))")


def test_fat_directory_whose_clusters_lie_in_a_bad_e01_chunk_carries_an_error(
        hostile_fixtures: HostileFixtures) -> None:
    case = hostile_fixtures.case("ewf-chunk-fat-directory")
    items = _by_path(_items(hostile_fixtures.path("ewf-chunk-fat-directory")))
    assert case["directories"] == [case["directory"]]
    _assert_traced_exactly(case, items)
    assert items[case["directory"]].error.startswith(  # type: ignore[union-attr]
        f"directory: its entries lie in E01 chunk(s) that fail their check {_chunk_named(case)}")
    # The damaged entry's name is gone: fewer pictures are listed than were written.
    assert sum(1 for p in items if p.startswith(case["directory"] + "/")) < 40
    assert "/Other/PLAIN.TXT" in case["outside"] and items["/Other/PLAIN.TXT"].error is None


def test_ntfs_directory_whose_index_blocks_lie_in_a_bad_e01_chunk_carries_an_error(
        hostile_fixtures: HostileFixtures) -> None:
    case = hostile_fixtures.case("ewf-chunk-ntfs-index")
    items = _by_path(_items(hostile_fixtures.path("ewf-chunk-ntfs-index")))
    assert case["directories"] == [case["directory"]] == ["/Notes"]
    _assert_traced_exactly(case, items)
    assert items["/Notes"].error.startswith(  # type: ignore[union-attr]
        f"directory: its entries lie in E01 chunk(s) that fail their check {_chunk_named(case)}")
    # The resident files' own records are sound: those listed carry no error.
    assert len(case["outside"]) >= 80
    assert all(items[p].error is None for p in case["outside"] if p in items)


def test_fat_root_in_a_bad_e01_chunk_carries_the_error_for_the_names_it_lost(
        hostile_fixtures: HostileFixtures) -> None:
    # The FAT16 root's fixed sectors and the first directories' clusters share chunk 2: the
    # root is listed with the error, the directories whose names were in it are not listed.
    case = hostile_fixtures.case("ewf-chunk-checksum")
    items = _by_path(_items(hostile_fixtures.path("ewf-chunk-checksum")))
    assert "/" in case["directories"] and case["directory"] in case["directories"]
    error = items["/"].error
    assert error is not None and error.startswith(
        f"directory: its entries lie in E01 chunk(s) that fail their check {_chunk_named(case)}")
    assert not [p for p, i in items.items()
                if (i.error or "").startswith("directory: ") and p not in case["directories"]]


def test_ext4_inode_chunk_outcome_is_remembered_by_a_second_scan(
        hostile_fixtures: HostileFixtures, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from fellwatch.scan.job import scan

    case = hostile_fixtures.case("ewf-chunk-ext4-inode")
    evidence = tmp_path / "copy.E01"
    shutil.copy2(hostile_fixtures.path("ewf-chunk-ext4-inode"), evidence)
    calls = _count_chunk_checks(monkeypatch)
    first = scan([str(evidence)], tmp_path / "a", ScanSettings(workers=1), progress=False)
    second = scan([str(evidence)], tmp_path / "b", ScanSettings(workers=1), progress=False)
    assert len(calls) == 1
    assert second.run["evidence_hashes"][0]["chunk_check"].startswith("remembered from ")
    assert first.findings_path.read_bytes() == second.findings_path.read_bytes()
    expected = len(case["files"]) + len(case["directories"]) + 1  # and the chunk's own item
    assert first.summary["errors"] == second.summary["errors"] == expected


def _count_chunk_checks(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The E01s whose every chunk is verified from now on, in order (the real check runs)."""
    from fellwatch.evidence import ewf_check

    calls: list[Path] = []
    real = ewf_check.verify_chunks

    def counted(path: Path) -> ewf_check.ChunkCheck | None:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(ewf_check, "verify_chunks", counted)
    return calls


def test_e01_chunk_check_is_remembered_and_evidence_verify_runs_it_again(
        hostile_fixtures: HostileFixtures, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from fellwatch.scan.job import scan

    case = hostile_fixtures.case("ewf-chunk-ntfs-mft")
    evidence = tmp_path / "copy.E01"  # files of their own: nothing remembered of them yet
    shutil.copy2(hostile_fixtures.path("ewf-chunk-ntfs-mft"), evidence)
    calls = _count_chunk_checks(monkeypatch)
    first = scan([str(evidence)], tmp_path / "a", ScanSettings(workers=1), progress=False)
    second = scan([str(evidence)], tmp_path / "b", ScanSettings(workers=1), progress=False)
    assert len(calls) == 1  # the second scan did not read the image again for its chunks
    assert first.run["evidence_hashes"][0]["chunk_check"] == "computed in this run"
    assert second.run["evidence_hashes"][0]["chunk_check"].startswith("remembered from ")
    assert second.run["evidence_hashes"][0]["chunk_check"].endswith("(identity unchanged)")
    assert first.findings_path.read_bytes() == second.findings_path.read_bytes()
    check = first.findings["evidence"][0]["chunk_check"]
    assert check["chunks"] == 8 * 1024 * 1024 // 32768  # an 8 MiB volume in 32 KiB chunks
    assert check["bad"] == [{"index": case["chunk"], "offset": case["chunk_offset"],
                             "length": 32768, "reason": "checksum mismatch (Adler-32)"}]
    # The remembered outcome still drives the walk: the same files carry the chunk's error.
    assert first.summary["errors"] == second.summary["errors"] >= len(case["in_chunk"])
    # Any write changes the identity: verified again.
    os.utime(evidence)
    scan([str(evidence)], tmp_path / "c", ScanSettings(workers=1), progress=False)
    assert len(calls) == 2
    # `fellwatch evidence verify` verifies every chunk again, whatever is remembered.
    done = _run_cli("evidence", "verify", evidence)
    assert done.returncode == ExitCode.INCOMPLETE, done.stderr
    assert f"chunks          {check['chunks']} verified, 1 fail their check" in done.stdout
    assert (f"  chunk {case['chunk']} at media offset {case['chunk_offset']}: checksum "
            "mismatch (Adler-32)") in done.stdout
    assert "1 E01 chunk(s) fail their check" in done.stderr


def test_original_of_a_file_on_an_e01_takes_the_remembered_chunk_check(
        hostile_fixtures: HostileFixtures, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib
    import shutil

    from fellwatch.evidence import ewf_check
    from fellwatch.scan.job import scan
    from fellwatch.scan.originals import OriginalError, forget_evidence, read_original

    case = hostile_fixtures.case("ewf-chunk-ntfs-mft")
    evidence = tmp_path / "copy.E01"
    shutil.copy2(hostile_fixtures.path("ewf-chunk-ntfs-mft"), evidence)
    calls = _count_chunk_checks(monkeypatch)
    report = scan([str(evidence)], tmp_path / "out", ScanSettings(workers=1), progress=False)
    assert len(calls) == 1
    bad = case["in_chunk"][1]
    failed = {i["path"]: i for i in report.findings["items"] if i.get("error")}
    assert bad in failed
    forget_evidence()
    try:
        # An item the scan read (not in findings.json, which lists failures and media): its
        # key from a walk given an empty check (not counted), its digest from the fixture.
        good = case["outside"][0]
        ev = open_evidence(evidence)
        try:
            ev.use_chunk_check(ewf_check.ChunkCheck(0, ()))  # type: ignore[attr-defined]
            item = next(i for i in ev.items() if i.path == good)
        finally:
            ev.close()
        content = f"resident note {good[-6:-4]} marker\n".encode()
        record = {"key": item.key, "size": item.size, "origin": "filesystem",
                  "sha256": hashlib.sha256(content).hexdigest()}
        assert read_original(str(evidence), record).startswith(b"resident note ")
        assert len(calls) == 1  # the walk behind read_original took the remembered check
        with pytest.raises(OriginalError, match=f"E01 chunk\\(s\\) that fail their check "
                                                f"\\(chunk {case['chunk']} "):
            read_original(str(evidence), failed[bad])
    finally:
        forget_evidence()


def test_undamaged_e01_has_no_chunk_errors(fixture_images: object) -> None:
    from fellwatch.evidence.ewf_check import bad_chunks

    for name in ("mbr.E01", "gpt.E01", "mbr.split.E01"):
        assert bad_chunks(fixture_images.path(name)) == []  # type: ignore[attr-defined]


def test_ext4_inode_cleared_under_a_live_name_is_recorded(
        hostile_fixtures: HostileFixtures) -> None:
    case = hostile_fixtures.case("ext4-cleared-inodes")
    items = _by_path(_items(hostile_fixtures.path("ext4-cleared-inodes")))
    cleared = items[case["cleared_file"]]
    assert cleared.error is not None
    assert cleared.error.startswith("live name, but its metadata entry ")
    assert "the file it named cannot be read" in cleared.error
    directory = items[case["cleared_directory"]]
    assert directory.error is not None and "directory" in directory.error
    assert items[case["kept"]].error is None
    assert items["/ok.txt"].error is None


def _records_by_path(hostile_fixtures: HostileFixtures, name: str) -> dict[str, ItemRecord]:
    """Every record a worker makes of the fixture's items (archive members included)."""
    ev = open_evidence(hostile_fixtures.path(name))
    processor = ItemProcessor(ev, ScanSettings(workers=1))
    return {r.path: r for item in ev.items() for r in processor.process(item)}


def test_zip_with_a_prefix_is_found_by_its_end_record_and_expanded(
        hostile_fixtures: HostileFixtures) -> None:
    case = hostile_fixtures.case("zip-with-prefix")
    by_path = _records_by_path(hostile_fixtures, "zip-with-prefix")
    for member in case["members"]:
        assert by_path[member].error is None
        assert by_path[member].content_type == "image/png"
        assert by_path[member].md5 is not None
    assert by_path["/holiday.jpg"].content_type == "image/jpeg"  # still what it starts as


def test_end_record_detection_needs_a_consistent_central_directory() -> None:
    assert not embedded_zip(b"")
    assert not embedded_zip(b"random bytes PK\x05\x06 and more")
    assert not embedded_zip(b"x" * 100 + b"PK\x05\x06" + bytes(18))  # no directory before it


def test_prefixed_zip_with_a_large_central_directory_or_zip64_end_is_expanded(
        hostile_fixtures: HostileFixtures) -> None:
    case = hostile_fixtures.case("zip-with-prefix-large-directory")
    by_path = _records_by_path(hostile_fixtures, "zip-with-prefix-large-directory")
    for member in case["members"]:
        assert by_path[member].error is None
        assert by_path[member].content_type == "image/png"
    inside_exe = [p for p in by_path if p.startswith("/setup-big.exe!")]
    assert len(inside_exe) == case["big_member_count"]
    assert by_path["/setup-big.exe"].error is None
    assert by_path["/holiday64.jpg"].error is None
    assert by_path["/holiday64.jpg"].content_type == "image/jpeg"


def test_zip_end_finds_a_central_directory_before_the_tail_with_one_small_read(
        hostile_fixtures: HostileFixtures) -> None:
    from fellwatch.evidence.archives import ZIP_TAIL_BYTES, zip_end

    data = (hostile_fixtures.path("zip-with-prefix-large-directory") / "setup-big.exe"
            ).read_bytes()
    tail = data[-ZIP_TAIL_BYTES:]
    end = zip_end(tail, len(data))
    assert end is not None and end.directory_size > ZIP_TAIL_BYTES
    assert data[end.directory_start:end.directory_start + 4] == b"PK\x01\x02"
    reads: list[tuple[int, int]] = []

    def read_at(offset: int, length: int) -> bytes:
        reads.append((offset, length))
        return data[offset:offset + length]

    assert embedded_zip(tail, len(data), read_at)
    assert reads == [(end.directory_start, 4)]
    assert not embedded_zip(tail, len(data))  # without a reader it cannot be confirmed
    assert not embedded_zip(tail, len(data), lambda o, n: b"XXXX")  # nor against other bytes
    zip64 = (hostile_fixtures.path("zip-with-prefix-large-directory") / "holiday64.jpg"
             ).read_bytes()
    assert zip64[-22 + 12:-22 + 16] == b"\xff" * 4  # the 32-bit directory size says zip64
    assert embedded_zip(zip64[-ZIP_TAIL_BYTES:], len(zip64))


def test_zip64_end_record_with_extensible_data_is_found_behind_a_prefix_and_read(
        hostile_fixtures: HostileFixtures) -> None:
    case = hostile_fixtures.case("zip64-extensible-data")
    by_path = _records_by_path(hostile_fixtures, "zip64-extensible-data")
    members = {p: r for p, r in by_path.items() if "!" in p}
    # Every member of the three good zips (behind a JPEG, behind a stub with real 32-bit end
    # fields, and with no prefix: zipfile alone reads none of them), hashed as built.
    assert {p: r.md5 for p, r in members.items()} == case["members"]
    assert all(r.error is None for r in members.values())
    for outer in ("/holiday64x.jpg", "/setup64x.exe", "/plain64x.zip"):
        assert by_path[outer].error is None, outer
    assert by_path["/holiday64x.jpg"].content_type == "image/jpeg"
    # Hostile: a record whose size field does not end it at its locator. Starting as a zip,
    # it is that zip's recorded error; behind a JPEG it is no zip a reader could open.
    corrupt = by_path[case["corrupt"]].error
    assert corrupt is not None and corrupt.startswith("archive: ")
    assert "corrupt zip: no zip64 end record ends at its locator" in corrupt
    assert by_path[case["not_found"]].error is None
    assert by_path[case["not_found"]].md5 is not None


def test_zip_end_reads_a_zip64_end_record_with_extensible_data_within_the_tail(
        hostile_fixtures: HostileFixtures) -> None:
    from fellwatch.evidence.archives import ZIP_TAIL_BYTES, zip_end

    folder = hostile_fixtures.path("zip64-extensible-data")
    for name in ("holiday64x.jpg", "setup64x.exe", "plain64x.zip"):
        data = (folder / name).read_bytes()
        end = zip_end(data[-ZIP_TAIL_BYTES:], len(data))
        assert end is not None and end.zip64_extensible is not None, name
        record, length = end.zip64_extensible
        assert data[record:record + 4] == b"PK\x06\x06" and length > 56
        assert data[record + length:record + length + 4] == b"PK\x06\x07"
        assert data[end.directory_start:end.directory_start + 4] == b"PK\x01\x02"
        assert end.directory_start + end.directory_size == record
        assert embedded_zip(data[-ZIP_TAIL_BYTES:], len(data))
    for name in ("lying64x.zip", "lying64x.jpg"):
        data = (folder / name).read_bytes()
        assert zip_end(data[-ZIP_TAIL_BYTES:], len(data)) is None, name

        def read_at(offset: int, length: int, data: bytes = data) -> bytes:
            return data[offset:offset + length]

        assert not embedded_zip(data[-ZIP_TAIL_BYTES:], len(data), read_at)


# --- memory ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["wide.png", "claims.tiff"])
def test_picture_declaring_too_many_pixels_is_not_decoded(
        hostile_fixtures: HostileFixtures, name: str) -> None:
    path = hostile_fixtures.path("picture-pixel-bomb") / name
    pixels = hostile_fixtures.case("picture-pixel-bomb")["members"][f"/{name}"]
    assert pixels > MAX_DECODED_PIXELS
    with pytest.raises(PictureError, match=r"^not decoded: \d+ x \d+ pixels"):
        decode_picture(io.BytesIO(path.read_bytes()))


def test_tiny_files_declaring_huge_pictures_are_not_decoded(
        hostile_fixtures: HostileFixtures) -> None:
    # Each 82-byte WebP declares 6 000 x 6 000: decoding one allocates 144 MB and fails after
    # ~57 ms; a folder (or an archive) of thousands would cost minutes. Refused from the header.
    folder = hostile_fixtures.path("picture-pixel-storm")
    ev = open_evidence(folder)
    processor = ItemProcessor(ev, ScanSettings(workers=1))
    records = [r for item in ev.items() for r in processor.process(item)]
    assert len(records) == hostile_fixtures.case("picture-pixel-storm")["files"]
    for record in records:
        assert record.sha256 and record.content_type == "image/webp"  # hashed all the same
        assert "not decoded: 6000 x 6000 pixels (36.0 M) declared by 82 bytes" in (
            record.error or ""), record.error


def test_a_large_picture_of_little_detail_still_decodes() -> None:
    # A 3 000 x 3 000 lossless gradient: 9 M pixels in a few KB (~2 000 pixels a byte), within
    # the bound that refuses the crafted ones above.
    import numpy as np
    from PIL import Image

    from fellwatch.signals.pictures import FREE_DECODED_PIXELS, MAX_PIXELS_PER_BYTE

    side = 3000
    ramp = np.linspace(0, 255, side, dtype=np.float32).astype(np.uint8)
    pixels = np.ascontiguousarray(np.broadcast_to(ramp[None, :, None], (side, side, 3)))
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "WEBP", lossless=True)
    assert side * side > FREE_DECODED_PIXELS
    assert side * side > 1000 * len(out.getvalue())  # far more pixels a byte than a photo
    assert side * side <= MAX_PIXELS_PER_BYTE * len(out.getvalue())
    out.seek(0)
    assert decode_picture(out, max_side=None).pixels.shape == (side, side, 3)


def test_scanning_picture_bombs_keeps_peak_memory_small(
        hostile_fixtures: HostileFixtures, tmp_path: Path) -> None:
    # VmHWM, the peak of this process's own memory: ru_maxrss would include the RSS of the
    # pytest process it was forked from (Linux keeps it across exec).
    code = ("import json, re, sys\n"
            "from fellwatch.evidence import open_evidence\n"
            "from fellwatch.scan.worker import ItemProcessor\n"
            "from fellwatch.settings import ScanSettings\n"
            "ev = open_evidence(sys.argv[1])\n"
            "p = ItemProcessor(ev, ScanSettings(workers=1))\n"
            "out = [r.error for i in ev.items() for r in p.process(i)]\n"
            "status = open('/proc/self/status').read()\n"
            "peak = int(re.search(r'VmHWM:\\s+(\\d+) kB', status).group(1))\n"
            "print(json.dumps([out, peak]))\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]))
    done = subprocess.run([sys.executable, "-c", code,
                           str(hostile_fixtures.path("picture-pixel-bomb"))],
                          capture_output=True, text=True, timeout=300, env=env, check=True)
    errors, max_rss_kib = json.loads(done.stdout)
    assert all(e is not None and "not decoded" in e for e in errors), errors
    assert max_rss_kib < 200 * 1024  # 0.2.0 took 1.7 GiB for the PNG alone


# --- refusals -----------------------------------------------------------------------------------


def test_qcow2_with_a_missing_backing_file_names_it(hostile_fixtures: HostileFixtures) -> None:
    with pytest.raises(EvidenceError, match=r"needs its backing file 'base-missing\.raw'"):
        open_evidence(hostile_fixtures.path("qcow2-backing-missing"))


@pytest.mark.parametrize(("kind", "names"), [
    ("raw-cut-mid-fat", "the whole image holds FAT32, which claims 41943040 bytes but the image "
                        "ends"),
    ("ntfs-garbled-mft-record-0", "the whole image holds NTFS; its signature is there but it "
                                  "cannot be opened: Error in metadata structure"),
])
def test_damaged_file_system_is_called_damaged_not_unrecognised(
        hostile_fixtures: HostileFixtures, kind: str, names: str) -> None:
    path = hostile_fixtures.path(kind)
    with pytest.raises(EvidenceError) as exc:
        open_evidence(path)
    assert str(exc.value).startswith(f"damaged file system in {path.name}: {names}")
    assert "not a disk image" not in str(exc.value)


def test_disk_cut_mid_fat_keeps_the_partition_and_records_its_damage(
        hostile_fixtures: HostileFixtures) -> None:
    items = _items(hostile_fixtures.path("disk-cut-mid-fat"))
    assert [i.path for i in items] == ["/p1/"]
    assert items[0].error is not None and items[0].error.startswith("directory unreadable")


def test_output_folder_inside_the_evidence_folder_is_refused_before_any_work(
        tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "a.txt").write_bytes(b"benign\n")
    for out in (evidence / "out", evidence, evidence / "deeper" / "out"):
        done = _run_cli("scan", evidence, "--out", out, "--workers", "1", "--quiet")
        assert done.returncode == ExitCode.OUTPUT, done.stderr
        assert f"output folder {out} is inside the evidence folder {evidence}: refused" in (
            done.stderr)
    assert sorted(p.name for p in evidence.iterdir()) == ["a.txt"]  # nothing was created


def test_output_inside_evidence_check_follows_links(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    link = tmp_path / "link"
    link.symlink_to(evidence)
    with pytest.raises(OutputError, match="is inside the evidence folder"):
        refuse_output_inside_evidence([str(evidence)], link / "out")
    refuse_output_inside_evidence([str(evidence)], tmp_path / "elsewhere")


def test_scan_of_an_e01_with_a_bad_chunk_counts_its_errors_the_same_every_run(
        hostile_fixtures: HostileFixtures, tmp_path: Path) -> None:
    evidence = hostile_fixtures.path("ewf-chunk-inflate")
    texts = []
    for run in ("a", "b"):
        done = _run_cli("scan", evidence, "--out", tmp_path / run, "--workers", "1", "--quiet")
        assert done.returncode == 0, done.stderr
        findings = tmp_path / run / "findings.json"
        summary = json.loads(findings.read_text(encoding="utf-8"))["summary"]
        assert summary["errors"] == 2  # the file in the chunk, and the chunk itself
        texts.append(findings.read_bytes())
    assert texts[0] == texts[1]
