"""Deleted files, orphans, reallocated metadata, undecodable names and NTFS alternate data
streams, on FAT, ext4 and NTFS images built here with the real tools."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from fellwatch.evidence import Item, ItemError
from fellwatch.evidence.image import ImageEvidence
from fellwatch.evidence.tsk_walk import BLOCKS_REUSED, POINTERS_CLEARED, REALLOCATED

from ._image_builders import (
    debugfs,
    ext4_image,
    fat_image,
    md5,
    mtools,
    ntfs_image,
    payload,
    run,
    write_files,
)

A = payload(3000, 1)
B = payload(5000, 2)
C = payload(70000, 3)
D = payload(9000, 4)


def _read(evidence: ImageEvidence, item: Item) -> bytes:
    parts = []
    with evidence.open_item(item) as stream:
        while chunk := stream.read(4096):
            parts.append(chunk)
    return b"".join(parts)


def _by_path(evidence: ImageEvidence) -> dict[str, Item]:
    items = list(evidence.items())
    paths = [i.path for i in items]
    assert len(paths) == len(set(paths)), paths
    return {i.path: i for i in items}


# -- FAT ---------------------------------------------------------------------------------


@pytest.fixture
def fat_with_deleted(tmp_path: Path) -> Path:
    image = tmp_path / "fat.raw"
    spec = fat_image(image)
    src = write_files(tmp_path, {"a": A, "b": B, "c": C, "d": D})
    mtools(spec, "mcopy", src["a"], "::/kept.bin")
    mtools(spec, "mcopy", src["b"], "::/gone.bin")
    mtools(spec, "mmd", "::/holiday")
    mtools(spec, "mcopy", src["c"], "::/holiday/long file name.bin")
    mtools(spec, "mcopy", src["d"], "::/holiday/stays.bin")
    mtools(spec, "mdel", "::/gone.bin")
    mtools(spec, "mdel", "::/holiday/long file name.bin")
    return image


def test_fat_deleted_files_are_listed_and_recovered(fat_with_deleted: Path) -> None:
    evidence = ImageEvidence(fat_with_deleted)
    items = _by_path(evidence)
    assert items["/kept.bin"].allocated is True
    assert _read(evidence, items["/kept.bin"]) == A
    assert _read(evidence, items["/holiday/stays.bin"]) == D
    # FAT overwrites a deleted name's first byte; TSK shows it as "_"
    gone = items["/_ONE.BIN"] if "/_ONE.BIN" in items else items["/_one.bin"]
    assert gone.allocated is False
    assert gone.error is None
    assert gone.size == len(B)
    assert md5(_read(evidence, gone)) == md5(B)
    deleted_long = [i for p, i in items.items() if p.startswith("/holiday/") and not i.allocated]
    assert len(deleted_long) == 1
    assert deleted_long[0].size == len(C)
    assert md5(_read(evidence, deleted_long[0])) == md5(C)
    # the volume label entry and TSK's $MBR/$FAT1/$FAT2/$OrphanFiles are not items
    assert not [p for p in items if "$" in p or "Volume Label" in p]
    assert evidence.describe()["volumes"][0]["filesystem"] == "fat12"


def test_fat_deleted_file_whose_clusters_were_reused(tmp_path: Path) -> None:
    image = tmp_path / "fat.raw"
    spec = fat_image(image)
    src = write_files(tmp_path, {"b": B, "c": C})
    mtools(spec, "mmd", "::/dir")
    mtools(spec, "mcopy", src["b"], "::/dir/first.bin")
    mtools(spec, "mdel", "::/dir/first.bin")
    mtools(spec, "mcopy", src["c"], "::/second.bin")  # takes the freed clusters
    evidence = ImageEvidence(image)
    items = _by_path(evidence)
    deleted = [i for i in items.values() if not i.allocated]
    assert len(deleted) == 1
    assert deleted[0].error == BLOCKS_REUSED
    with pytest.raises(ItemError):
        evidence.open_item(deleted[0])
    assert _read(evidence, items["/second.bin"]) == C


# -- ext4 --------------------------------------------------------------------------------


@pytest.fixture
def ext4_with_deleted(tmp_path: Path) -> Path:
    image = ext4_image(tmp_path / "ext4.raw")
    src = write_files(tmp_path, {"a": A, "b": B, "c": C})
    weird = b"caf\xe9 \\ \x01.bin"  # Latin-1, a backslash and a control character
    debugfs(image, ["mkdir d1", "mkdir d2"])
    # a name that is not UTF-8: debugfs takes it byte for byte
    subprocess.run(["debugfs", "-w", "-R", b"write " + bytes(src["a"]).replace(b" ", b"")
                    + b" \"" + weird + b"\"", image], check=True, capture_output=True)
    debugfs(image, [
        f"write {src['a']} d1/first.bin",
        f"write {src['a']} d1/gone.bin",
        f"write {src['b']} d2/deleted.bin",
        f"write {src['c']} d2/cleared.bin",
    ])
    cleared = _inode_of(image, "d2", "cleared.bin")
    debugfs(image, [
        "rm d1/gone.bin",
        "rm d2/cleared.bin",
        # The kernel clears a deleted ext4 file's extents; debugfs does not, so do it by
        # hand: keep the extent header's magic, zero its entry count.
        f"sif <{cleared}> block[0] 0xF30A",
    ])
    debugfs(image, [f"write {src['c']} newer.bin"])  # takes gone.bin's freed inode
    debugfs(image, ["rm d2/deleted.bin"])  # after newer.bin, so its blocks stay free
    return image


def _inode_of(image: Path, directory: str, name: str) -> int:
    listing = run("debugfs", "-R", f"ls -l /{directory}", image)
    for line in listing.splitlines():
        fields = line.split()
        if fields and fields[-1] == name:
            return int(fields[0].strip("<>"))
    raise AssertionError(f"{name} not in {listing}")


def test_ext4_deleted_realloc_cleared_and_escaped_names(ext4_with_deleted: Path) -> None:
    evidence = ImageEvidence(ext4_with_deleted)
    items = _by_path(evidence)
    assert evidence.describe()["volumes"][0]["filesystem"] == "ext4"
    assert _read(evidence, items["/d1/first.bin"]) == A
    assert _read(evidence, items["/newer.bin"]) == C
    # the undecodable byte is shown as \xe9, the backslash doubled, the control escaped
    weird = items["/caf\\xe9 \\\\ \\x01.bin"]
    assert weird.allocated is True
    assert _read(evidence, weird) == A
    # debugfs's rm leaves the block pointers: content recoverable
    deleted = items["/d2/deleted.bin"]
    assert deleted.allocated is False and deleted.error is None
    assert md5(_read(evidence, deleted)) == md5(B)
    # pointers cleared (what the kernel does): listed honestly, no content
    cleared = items["/d2/cleared.bin"]
    assert cleared.allocated is False
    assert cleared.error == POINTERS_CLEARED
    with pytest.raises(ItemError):
        evidence.open_item(cleared)
    # the inode now belongs to newer.bin: never return newer.bin's bytes for gone.bin
    gone = items["/d1/gone.bin"]
    assert gone.allocated is False
    assert gone.error == REALLOCATED
    assert gone.inode == items["/newer.bin"].inode
    with pytest.raises(ItemError):
        evidence.open_item(gone)


def test_ext4_orphan_files_are_listed(tmp_path: Path) -> None:
    image = ext4_image(tmp_path / "ext4.raw")
    src = write_files(tmp_path, {"b": B})
    debugfs(image, ["mkdir d", f"write {src['b']} d/lost.bin"])
    inode = _inode_of(image, "d", "lost.bin")
    debugfs(image, [f"write {src['b']} other.bin"])
    other = _inode_of(image, "", "other.bin")
    # Unlink the name, free the inode and its blocks without clearing them, then write a
    # name of the same length over the old entry: nothing points at the inode any more.
    debugfs(image, ["unlink d/lost.bin", f"freei <{inode}>", f"freeb {_blocks(image, inode)}",
                    f"ln <{other}> d/lnk.bin"])
    evidence = ImageEvidence(image)
    items = _by_path(evidence)
    orphan = items[f"/$OrphanFiles/OrphanFile-{inode}"]
    assert orphan.allocated is False
    assert orphan.inode == inode
    assert md5(_read(evidence, orphan)) == md5(B)


def _blocks(image: Path, inode: int) -> str:
    blocks = run("debugfs", "-R", f"blocks <{inode}>", image).split()
    return f"{blocks[0]} {len(blocks)}"


# -- NTFS --------------------------------------------------------------------------------


@contextlib.contextmanager
def _mounted(image: Path, mountpoint: Path) -> Iterator[Path]:
    mountpoint.mkdir()
    run("ntfs-3g", "-o", "streams_interface=windows", image, mountpoint)
    try:
        yield mountpoint
    finally:
        run("umount", mountpoint)


@pytest.fixture
def ntfs_with_deleted(tmp_path: Path) -> Path:
    image = ntfs_image(tmp_path / "ntfs.raw")
    with _mounted(image, tmp_path / "mnt") as root:
        (root / "kept.bin").write_bytes(A)
        (root / "kept.bin:hidden").write_bytes(D)  # an alternate data stream
        (root / "folder").mkdir()
        (root / "folder:note").write_bytes(b"stream on a directory\n")
        (root / "folder" / "gone.bin").write_bytes(C)
        (root / "small.txt").write_bytes(b"resident\n")
        (root / "folder" / "gone.bin").unlink()
    return image


def test_ntfs_deleted_file_and_alternate_data_streams(ntfs_with_deleted: Path) -> None:
    evidence = ImageEvidence(ntfs_with_deleted)
    items = _by_path(evidence)
    assert evidence.describe()["volumes"][0]["filesystem"] == "ntfs"
    assert _read(evidence, items["/kept.bin"]) == A
    assert set(items["/kept.bin"].times) == {"mtime", "atime", "ctime", "crtime"}
    stream = items["/kept.bin:hidden"]
    assert stream.inode == items["/kept.bin"].inode
    assert stream.key != items["/kept.bin"].key
    assert _read(evidence, stream) == D
    assert _read(evidence, items["/folder:note"]) == b"stream on a directory\n"
    assert "/folder" not in items  # directories are not items
    assert _read(evidence, items["/small.txt"]) == b"resident\n"  # resident $DATA
    gone = items["/folder/gone.bin"]
    assert gone.allocated is False and gone.error is None
    assert md5(_read(evidence, gone)) == md5(C)
    # system files ($MFT ...) and reserved MFT records are not items
    assert not [p for p in items if "$" in p]


def test_ntfs_corrupt_mft_record_is_an_item_error(ntfs_with_deleted: Path, tmp_path: Path) -> None:
    import struct

    image = ntfs_with_deleted
    inode = next(i.inode for i in ImageEvidence(image).items() if i.path == "/small.txt")
    with image.open("r+b") as handle:
        boot = handle.read(512)
        sector, per_cluster = struct.unpack_from("<HB", boot, 11)
        (mft_cluster,) = struct.unpack_from("<q", boot, 48)
        record = mft_cluster * sector * per_cluster + (inode or 0) * 1024
        handle.seek(record + 510)  # break the update sequence at the end of the first sector
        handle.write(b"\xde\xad")
    evidence = ImageEvidence(image)
    items = _by_path(evidence)
    broken = items["/small.txt"]
    assert broken.error is not None
    assert broken.error.startswith(f"metadata entry {inode} unreadable: ")
    assert "update sequence" in broken.error
    with pytest.raises(ItemError):
        evidence.open_item(broken)
    assert _read(evidence, items["/kept.bin"]) == A  # the walk carried on
    assert _read(evidence, items["/folder/gone.bin"]) == C
