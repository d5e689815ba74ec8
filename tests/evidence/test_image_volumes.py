"""Partitioned disks (MBR and GPT) built here: every partition scanned, a broken or encrypted
one reported on its volume, and unallocated(), checked against TSK's blkls and known markers."""

from __future__ import annotations

from pathlib import Path

import pytest

from fellwatch.evidence import ByteRange, Item
from fellwatch.evidence.image import ImageEvidence

from ._image_builders import (
    MIB,
    blank,
    debugfs,
    ext4_image,
    fat_image,
    mtools,
    ntfs_image,
    payload,
    run,
    splice,
    write_files,
)

MARKER_FREE = b"FELLWATCH-DELETED-MARKER-" + payload(400, 7)
MARKER_GAP = b"FELLWATCH-GAP-MARKER-" + payload(300, 8)
A = payload(3000, 1)
B = payload(5000, 2)


def _read(evidence: ImageEvidence, item: Item) -> bytes:
    with evidence.open_item(item) as stream:
        return stream.read()


def _blkls_free(image: Path, sector_offset: int) -> list[tuple[int, int]]:
    """Free byte runs of the file system at `sector_offset`, per TSK's blkls, absolute."""
    out = run("blkls", "-l", "-e", "-o", str(sector_offset), image)
    stat = run("fsstat", "-o", str(sector_offset), image)
    size_line = next(line for line in stat.splitlines()
                     if line.startswith(("Cluster Size:", "Block Size:", "Sector Size:")))
    unit = int(size_line.split(":")[1])
    if "Sector Size:" in stat and "FAT" in stat:
        unit = int(next(line for line in stat.splitlines()
                        if line.startswith("Sector Size:")).split(":")[1])
    free = sorted(int(line.split("|")[0]) for line in out.splitlines()[3:]
                  if line.split("|")[1] == "f")
    runs: list[list[int]] = []
    for block in free:
        if runs and runs[-1][1] == block:
            runs[-1][1] = block + 1
        else:
            runs.append([block, block + 1])
    base = sector_offset * 512
    return [(base + s * unit, (e - s) * unit) for s, e in runs]


@pytest.fixture
def mbr_disk(tmp_path: Path) -> Path:
    disk = blank(tmp_path / "mbr.raw", 16 * MIB)
    run("sfdisk", "-q", disk, stdin=(
        "label: dos\n"
        "start=2048, size=8192, type=6\n"      # p1 FAT, 1-5 MiB
        "start=12288, size=8192, type=83\n"    # p2 ext4, 6-10 MiB
        "start=22528, size=2048, type=83\n"    # p3 nothing on it, 11-12 MiB
    ))
    spec = fat_image(disk, 4 * MIB, offset=1 * MIB)
    src = write_files(tmp_path, {"a": A, "marker": MARKER_FREE, "b": B})
    mtools(spec, "mcopy", src["a"], "::/a.bin")
    mtools(spec, "mcopy", src["marker"], "::/marker.bin")
    mtools(spec, "mdel", "::/marker.bin")
    ext = ext4_image(tmp_path / "p2.raw", 4 * MIB)
    debugfs(ext, [f"write {src['b']} b.bin"])
    splice(disk, ext, 6 * MIB)
    with disk.open("r+b") as handle:  # bytes in the gap between p1 and p2
        handle.seek(5 * MIB + 1000)
        handle.write(MARKER_GAP)
    return disk


def test_mbr_every_partition_scanned(mbr_disk: Path) -> None:
    evidence = ImageEvidence(mbr_disk)
    described = evidence.describe()
    assert described["format"] == "raw"
    assert [(v["partition"], v["offset"], v["size"], v["filesystem"], v["error"])
            for v in described["volumes"]] == [
        ("p1", 1 * MIB, 4 * MIB, "fat12", None),
        ("p2", 6 * MIB, 4 * MIB, "ext4", None),
        ("p3", 11 * MIB, 1 * MIB, None, "no recognised file system"),
    ]
    items = {i.path: i for i in evidence.items()}
    assert set(items) == {"/p1/a.bin", "/p1/_arker.bin", "/p2/b.bin"}
    assert items["/p1/a.bin"].partition == "p1"
    assert _read(evidence, items["/p1/a.bin"]) == A
    assert _read(evidence, items["/p2/b.bin"]) == B
    assert items["/p1/_arker.bin"].allocated is False
    # an item's offset is where its first block lies in the image: check it like a hex viewer
    image = mbr_disk.read_bytes()
    for path, data in (("/p1/a.bin", A), ("/p2/b.bin", B), ("/p1/_arker.bin", MARKER_FREE)):
        offset = items[path].offset
        assert offset is not None
        assert image[offset:offset + 64] == data[:64]
    assert _read(evidence, items["/p1/_arker.bin"]) == MARKER_FREE
    keys = [i.key for i in evidence.items()]
    assert keys == [i.key for i in evidence.items()] and len(set(keys)) == len(keys)


def test_mbr_unallocated_matches_blkls_and_markers(mbr_disk: Path) -> None:
    evidence = ImageEvidence(mbr_disk)
    ranges = list(evidence.unallocated())
    assert ranges == sorted(ranges, key=lambda r: r.offset)
    by_kind: dict[str, list[ByteRange]] = {}
    for r in ranges:
        by_kind.setdefault(r.kind, []).append(r)
    assert [(r.offset, r.length) for r in by_kind["unpartitioned"]] == [
        (0, 1 * MIB), (5 * MIB, 1 * MIB), (10 * MIB, 1 * MIB), (12 * MIB, 4 * MIB)
    ]
    assert [(r.offset, r.length, r.partition) for r in by_kind["unrecognised-volume"]] == [
        (11 * MIB, 1 * MIB, "p3")
    ]
    for label, sector in (("p1", 2048), ("p2", 12288)):
        mine = [(r.offset, r.length) for r in by_kind["unallocated"] if r.partition == label]
        assert mine == _blkls_free(mbr_disk, sector), label
    # the deleted file's bytes lie in p1's unallocated space, the gap marker in unpartitioned
    image = mbr_disk.read_bytes()
    for marker, kind in ((MARKER_FREE, "unallocated"), (MARKER_GAP, "unpartitioned")):
        at = image.index(marker)
        holder = [r for r in ranges if r.offset <= at and at + len(marker) <= r.offset + r.length]
        assert [r.kind for r in holder] == [kind]
        assert evidence.read_range(at, len(marker)) == marker


@pytest.fixture
def gpt_disk(tmp_path: Path) -> Path:
    disk = blank(tmp_path / "gpt.raw", 16 * MIB)
    run("sgdisk", "-n", "1:2048:+4M", "-t", "1:0700", "-n", "2:12288:+4M", "-t", "2:0700", disk)
    spec = fat_image(disk, 4 * MIB, offset=1 * MIB)
    src = write_files(tmp_path, {"a": A})
    mtools(spec, "mcopy", src["a"], "::/a.bin")
    ntfs = ntfs_image(tmp_path / "p2.raw", 4 * MIB)
    with ntfs.open("r+b") as handle:  # wipe the $MFT's first records: a corrupt NTFS
        handle.seek(0x4000)
        handle.write(bytes(64 * 512))
    splice(disk, ntfs, 6 * MIB)
    return disk


def test_gpt_corrupt_partition_is_reported_and_others_scanned(gpt_disk: Path) -> None:
    evidence = ImageEvidence(gpt_disk)
    volumes = evidence.describe()["volumes"]
    assert [(v["partition"], v["offset"], v["filesystem"]) for v in volumes] == [
        ("p1", 1 * MIB, "fat12"), ("p2", 6 * MIB, "ntfs")
    ]
    assert volumes[0]["error"] is None
    assert volumes[1]["error"].startswith("ntfs file system cannot be read")
    items = [i for i in evidence.items()]
    assert [i.path for i in items] == ["/p1/a.bin"]
    assert _read(evidence, items[0]) == A
    ranges = list(evidence.unallocated())
    # the unreadable NTFS volume goes to the carvers whole
    assert [(r.offset, r.length) for r in ranges if r.kind == "unrecognised-volume"] == [
        (6 * MIB, 4 * MIB)
    ]
    unpartitioned = [(r.offset, r.length) for r in ranges if r.kind == "unpartitioned"]
    assert unpartitioned[:2] == [(0, 1 * MIB), (5 * MIB, 1 * MIB)]
    assert unpartitioned[2][0] == 10 * MIB  # to the end, GPT backup header included
    assert sum(unpartitioned[2]) == 16 * MIB


@pytest.mark.parametrize("luks_type", ["luks1", "luks2"])
def test_luks_partition_is_reported_encrypted(tmp_path: Path, luks_type: str) -> None:
    disk = blank(tmp_path / "luks-disk.raw", 16 * MIB)
    run("sfdisk", "-q", disk, stdin="label: dos\nstart=2048, size=8192, type=6\n"
        "start=12288, size=8192, type=83\n")
    spec = fat_image(disk, 4 * MIB, offset=1 * MIB)
    src = write_files(tmp_path, {"a": A})
    mtools(spec, "mcopy", src["a"], "::/a.bin")
    luks = blank(tmp_path / "luks.raw", 4 * MIB)
    key = tmp_path / "key"
    key.write_bytes(b"benign test key, not a real secret")
    small_luks2 = ["--luks2-metadata-size", "16k", "--luks2-keyslots-size", "1m"]
    run("cryptsetup", "luksFormat", "--batch-mode", "--type", luks_type, "--pbkdf", "pbkdf2",
        "--pbkdf-force-iterations", "1000", *(small_luks2 if luks_type == "luks2" else []),
        "--key-file", key, luks)
    splice(disk, luks, 6 * MIB)
    evidence = ImageEvidence(disk)
    volumes = evidence.describe()["volumes"]
    assert [(v["partition"], v["encrypted"]) for v in volumes] == [("p1", None), ("p2", "luks")]
    assert volumes[1]["error"].startswith("encrypted (luks)")
    assert [i.path for i in evidence.items()] == ["/p1/a.bin"]
    # ciphertext is not handed to the carvers
    assert not [r for r in evidence.unallocated() if r.partition == "p2"]


def _bitlocker_header() -> bytes:
    # A BitLocker volume's boot sector as libbde and dfVFS recognise it ("-FVE-FS-" at 3);
    # no FVE metadata follows, so it is detected but can never be opened, as with a real
    # volume and no recovery key. No tool here makes a real one.
    sector = bytearray(512)
    sector[0:11] = b"\xeb\x58\x90-FVE-FS-"
    sector[11:13] = (512).to_bytes(2, "little")
    sector[13] = 8
    sector[510:512] = b"\x55\xaa"
    return bytes(sector)


def _corestorage_header() -> bytes:
    # A Core Storage (FileVault 2) physical volume header's signature ("CS" at 88).
    header = bytearray(512)
    header[88:90] = b"CS"
    return bytes(header)


@pytest.mark.parametrize(("kind", "header"), [("bitlocker", _bitlocker_header()),
                                              ("filevault", _corestorage_header())])
def test_bitlocker_and_filevault_partitions_are_reported_encrypted(
    tmp_path: Path, kind: str, header: bytes
) -> None:
    disk = blank(tmp_path / f"{kind}-disk.raw", 16 * MIB)
    run("sfdisk", "-q", disk, stdin="label: dos\nstart=2048, size=8192, type=6\n"
        "start=12288, size=8192, type=7\n")
    spec = fat_image(disk, 4 * MIB, offset=1 * MIB)
    src = write_files(tmp_path, {"a": A})
    mtools(spec, "mcopy", src["a"], "::/a.bin")
    volume = tmp_path / f"{kind}.raw"
    volume.write_bytes(header + payload(4 * MIB - len(header), 9))  # ciphertext-like bytes
    splice(disk, volume, 6 * MIB)
    evidence = ImageEvidence(disk)
    volumes = evidence.describe()["volumes"]
    assert [(v["partition"], v["encrypted"]) for v in volumes] == [("p1", None), ("p2", kind)]
    assert volumes[1]["error"].startswith(f"encrypted ({kind}); not decrypted")
    assert volumes[1]["walker"] is None
    assert [i.path for i in evidence.items()] == ["/p1/a.bin"]
    assert not [r for r in evidence.unallocated() if r.partition == "p2"]


# keep the host's /etc/lvm free of test volume groups, and do not wait for udev
_LVM_CONFIG = ("--config", "backup { backup = 0 archive = 0 } "
               "devices { obtain_device_list_from_udev = 0 } activation { udev_sync = 0 }")

_LVM_VOLUMES = """
    logical_volumes {
        lv1 {
            id = "Fw0000-0000-0000-0000-0000-0000-000001"
            status = ["READ", "WRITE", "VISIBLE"]
            segment_count = 1
            segment1 {
                start_extent = 0
                extent_count = 2
                type = "striped"
                stripe_count = 1
                stripes = ["pv0", 0]
            }
        }
        lv2 {
            id = "Fw0000-0000-0000-0000-0000-0000-000002"
            status = ["READ", "WRITE", "VISIBLE"]
            segment_count = 1
            segment1 {
                start_extent = 0
                extent_count = 1
                type = "striped"
                stripe_count = 1
                stripes = ["pv0", 3]
            }
        }
    }
"""


def test_lvm_logical_volumes_are_scanned(tmp_path: Path) -> None:
    image = blank(tmp_path / "lvm.raw", 24 * MIB)
    vg = f"fw{tmp_path.name[-8:].replace('-', '').replace('_', '')}"
    # No device-mapper is needed: the volume group's metadata is written with vgcfgrestore
    # onto a loop device and nothing is ever activated.
    loop = run("losetup", "-f", "--show", image).strip()
    try:
        run("pvcreate", "-q", *_LVM_CONFIG, loop)
        run("vgcreate", "-q", *_LVM_CONFIG, "-s", "4M", vg, loop)
        backup = tmp_path / "vg.txt"
        run("vgcfgbackup", "-q", *_LVM_CONFIG, "-f", backup, vg)
        text = backup.read_text()
        end = text.rindex("}")
        backup.write_text(text[:end] + _LVM_VOLUMES + text[end:])
        run("vgcfgrestore", "-q", *_LVM_CONFIG, "-f", backup, vg)
    finally:
        run("losetup", "-d", loop)
    pe_start = int(next(line.split("=")[1].split()[0] for line in text.splitlines()
                        if "pe_start" in line)) * 512
    volume = tmp_path / "lv1.raw"
    spec = fat_image(volume, 8 * MIB)
    src = write_files(tmp_path, {"a": A})
    mtools(spec, "mcopy", src["a"], "::/a.bin")
    splice(image, volume, pe_start)
    evidence = ImageEvidence(image)
    volumes = evidence.describe()["volumes"]
    assert [(v["partition"], v["size"], v["filesystem"], v["error"]) for v in volumes] == [
        ("lvm1", 8 * MIB, "fat12", None), ("lvm2", 4 * MIB, None, "no recognised file system")
    ]
    items = list(evidence.items())
    assert [i.path for i in items] == ["/lvm1/a.bin"]
    assert items[0].partition == "lvm1"
    assert _read(evidence, items[0]) == A
    assert list(evidence.unallocated()) == []  # see docs/evidence.md: no LVM offsets


def test_unreadable_allocation_map_hands_the_volume_over_whole(
    mbr_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fellwatch.evidence import fs_bitmaps

    evidence = ImageEvidence(mbr_disk)
    described = evidence.describe()

    def broken(*args: object) -> None:
        raise OSError("simulated unreadable allocation map")

    monkeypatch.setattr(fs_bitmaps, "allocation_map", broken)
    ranges = list(evidence.unallocated())
    assert [(r.offset, r.length, r.partition) for r in ranges
            if r.kind == "unrecognised-volume"] == [
        (1 * MIB, 4 * MIB, "p1"), (6 * MIB, 4 * MIB, "p2"), (11 * MIB, 1 * MIB, "p3")
    ]
    assert not [r for r in ranges if r.kind == "unallocated"]
    assert evidence.describe() == described  # describe() does not depend on what ran before
    assert len(list(evidence.items())) == 3  # items are still listed
