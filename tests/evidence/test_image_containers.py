"""One table of expected hashes across every container of the dfVFS ext2 image, plus APFS and
HFS+, and the evidence-level errors (unknown format, missing parent, missing/truncated E01)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from fellwatch.evidence import EvidenceError, open_evidence
from fellwatch.evidence.image import ImageEvidence

# From ../shared/testdata/dfvfs/README.md: the regular files of the ext2, APFS and HFS+ images.
EXPECTED = {
    "/a_directory/a_file": "85bebf486af24792085f769afa46717d",
    "/a_directory/another_file": "d54ff73404ed6041a3bd66850b061bff",
    "/passwords.txt": "39cb097008d17660abd0539891a672af",
}

EXT2_CONTAINERS = {
    "ext2.E01": "ewf",
    "ext2.split.E01": "ewf",
    "ext2.splitraw.000": "split-raw",
    "ext2.qcow2": "qcow",
    "ext2.vhd": "vhd",
}


def _md5s(evidence: ImageEvidence) -> dict[str, str]:
    out = {}
    for item in evidence.items():
        assert item.error is None, (item.path, item.error)
        digest = hashlib.md5()
        with evidence.open_item(item) as stream:
            while chunk := stream.read(1 << 16):
                digest.update(chunk)
        out[item.path] = digest.hexdigest()
    return out


@pytest.mark.parametrize("name", sorted(EXT2_CONTAINERS))
def test_ext2_in_every_container_gives_the_same_files(shared_testdata: Path, name: str) -> None:
    evidence = open_evidence(shared_testdata / name)
    assert isinstance(evidence, ImageEvidence)
    assert evidence.format == EXT2_CONTAINERS[name]
    assert _md5s(evidence) == EXPECTED  # a_link is a symbolic link, not an item
    described = evidence.describe()
    assert described["format"] == EXT2_CONTAINERS[name]
    assert [(v["partition"], v["filesystem"], v["encrypted"], v["error"])
            for v in described["volumes"]] == [(None, "ext2", None, None)]
    evidence.close()


def test_items_come_in_a_stable_order_and_carry_provenance(shared_testdata: Path) -> None:
    evidence = ImageEvidence(shared_testdata / "ext2.E01")
    items = list(evidence.items())
    keys = [item.key for item in items]
    # Streamed in walk order (not sorted: that would hold every item), the same every walk.
    assert keys == [item.key for item in evidence.items()]
    assert len(set(keys)) == len(keys)
    item = next(i for i in items if i.path == "/passwords.txt")
    assert item.origin == "filesystem"
    assert item.allocated is True
    assert item.evidence == str(shared_testdata / "ext2.E01")
    assert item.size == 116
    assert item.inode == 14
    assert item.partition is None
    assert set(item.times) >= {"mtime", "atime", "ctime"}
    assert all(value.endswith("Z") and "T" in value for value in item.times.values())
    spec = json.loads(item.path_spec or "")
    chain = []
    while spec:
        chain.append(spec["type_indicator"])
        spec = spec.get("parent")
    assert chain == ["TSK", "EWF", "OS"]


def test_describe_is_deterministic_and_cheap(shared_testdata: Path) -> None:
    first = ImageEvidence(shared_testdata / "ext2.split.E01").describe()
    second = ImageEvidence(shared_testdata / "ext2.split.E01").describe()
    assert first == second
    assert json.dumps(first, sort_keys=True)  # serialisable
    assert first["volumes"][0]["offset"] == 0
    assert first["volumes"][0]["size"] == 4 * 1024 * 1024


def test_read_range_reads_decoded_media(shared_testdata: Path) -> None:
    raw_first = (shared_testdata / "ext2.splitraw.000").read_bytes()
    for name in ("ext2.E01", "ext2.qcow2", "ext2.vhd", "ext2.splitraw.000"):
        evidence = ImageEvidence(shared_testdata / name)
        # the ext2 superblock magic 0xEF53 at 1024 + 56
        assert evidence.read_range(1024 + 56, 2) == b"\x53\xef"
        assert evidence.read_range(0, 4096) == raw_first[:4096]
        # across the split-raw segment boundary at 2 MiB
        assert len(evidence.read_range(2 * 1024 * 1024 - 10, 20)) == 20


def test_apfs_regular_files(shared_testdata: Path) -> None:
    evidence = ImageEvidence(shared_testdata / "apfs.raw")
    md5s = _md5s(evidence)
    # APFS volumes sit in a container: their paths start with the volume's label.
    assert {p.removeprefix("/apfs1"): m for p, m in md5s.items() if "fseventsd" not in p} == {
        **EXPECTED,
        "/a_directory/a_resourcefork": "d41d8cd98f00b204e9800998ecf8427e",
    }
    assert any("/.fseventsd/" in p for p in md5s)
    volume = evidence.describe()["volumes"]
    assert [(v["partition"], v["filesystem"], v["walker"]) for v in volume] == [
        ("apfs1", "apfs", "dfvfs")
    ]


def test_hfsplus_regular_files_and_resource_fork(shared_testdata: Path) -> None:
    evidence = ImageEvidence(shared_testdata / "hfsplus.raw")
    md5s = _md5s(evidence)
    for path, digest in EXPECTED.items():
        assert md5s[path] == digest
    # the resource fork is a stream of its own; HFS+ special files are not items
    assert "/a_directory/a_resourcefork:rsrc" in md5s
    assert md5s["/a_directory/a_resourcefork"] == "d41d8cd98f00b204e9800998ecf8427e"
    assert not [p for p in md5s if p.startswith("/$")]
    assert evidence.describe()["volumes"][0]["filesystem"] == "hfs+"


def test_bogus_file_is_unrecognised_not_empty(shared_testdata: Path) -> None:
    with pytest.raises(EvidenceError) as caught:
        open_evidence(shared_testdata / "bogus.001")
    message = str(caught.value)
    assert message.startswith("unrecognised evidence: bogus.001, not a disk image")
    assert "\n" not in message


def test_differential_vhd_names_its_missing_parent(shared_testdata: Path) -> None:
    with pytest.raises(EvidenceError) as caught:
        ImageEvidence(shared_testdata / "fat-differential.vhd")
    message = str(caught.value)
    assert "fat-parent.vhd" in message
    assert "5fa21a55-f394-aa4d-9958-1951a67d5540" in message
    assert "\n" not in message


def test_missing_e01_segment_is_named(shared_testdata: Path, tmp_path: Path) -> None:
    shutil.copy(shared_testdata / "ext2.split.E01", tmp_path / "ext2.split.E01")
    with pytest.raises(EvidenceError) as caught:
        ImageEvidence(tmp_path / "ext2.split.E01")
    assert "ext2.split.E02 is missing" in str(caught.value)


def test_truncated_e01_is_reported(shared_testdata: Path, tmp_path: Path) -> None:
    data = (shared_testdata / "ext2.E01").read_bytes()
    (tmp_path / "cut.E01").write_bytes(data[: len(data) // 2])
    with pytest.raises(EvidenceError) as caught:
        ImageEvidence(tmp_path / "cut.E01")
    assert "truncated EWF segment cut.E01" in str(caught.value)


def test_truncated_second_segment_is_reported(shared_testdata: Path, tmp_path: Path) -> None:
    shutil.copy(shared_testdata / "ext2.split.E01", tmp_path / "ext2.split.E01")
    data = (shared_testdata / "ext2.split.E02").read_bytes()
    (tmp_path / "ext2.split.E02").write_bytes(data[:100_000])
    with pytest.raises(EvidenceError) as caught:
        ImageEvidence(tmp_path / "ext2.split.E02".replace("E02", "E01"))
    assert "truncated EWF segment ext2.split.E02" in str(caught.value)


def test_missing_evidence(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError):
        ImageEvidence(tmp_path / "nothing.E01")


def test_empty_file_is_unrecognised(tmp_path: Path) -> None:
    (tmp_path / "empty.raw").write_bytes(b"")
    with pytest.raises(EvidenceError) as caught:
        ImageEvidence(tmp_path / "empty.raw")
    assert "unrecognised evidence" in str(caught.value)


def test_evidence_is_never_written(shared_testdata: Path) -> None:
    names = [*EXT2_CONTAINERS, "ext2.split.E02", "ext2.splitraw.001", "apfs.raw", "hfsplus.raw"]
    before = {n: hashlib.sha256((shared_testdata / n).read_bytes()).hexdigest() for n in names}
    mtimes = {n: (shared_testdata / n).stat().st_mtime_ns for n in names}
    for name in [*EXT2_CONTAINERS, "apfs.raw", "hfsplus.raw"]:
        evidence = ImageEvidence(shared_testdata / name)
        _md5s(evidence)
        list(evidence.unallocated())
        evidence.read_range(0, 1 << 16)
        evidence.close()
    after = {n: hashlib.sha256((shared_testdata / n).read_bytes()).hexdigest() for n in names}
    assert after == before
    assert {n: (shared_testdata / n).stat().st_mtime_ns for n in names} == mtimes
