"""One partitioned disk re-wrapped in every container Fellwatch reads (split E01 made with
ewfacquire, split raw, QCOW2, VMDK, VHD, VHDX made with qemu-img): the same volumes, the same
items and content, the same unallocated ranges and the same decoded bytes."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from fellwatch.evidence.image import ImageEvidence

from ._image_builders import (
    MIB,
    blank,
    debugfs,
    ext4_image,
    fat_image,
    mtools,
    payload,
    run,
    splice,
    write_files,
)


def _snapshot(evidence: ImageEvidence) -> tuple[Any, ...]:
    items = []
    for item in evidence.items():
        digest = hashlib.md5()
        if item.error is None:
            with evidence.open_item(item) as stream:
                while chunk := stream.read(1 << 20):
                    digest.update(chunk)
        items.append((item.key, item.path, item.size, item.allocated, item.inode,
                      item.partition, item.error, digest.hexdigest()))
    volumes = [{k: v for k, v in volume.items()} for volume in evidence.describe()["volumes"]]
    ranges = [(r.offset, r.length, r.partition, r.kind) for r in evidence.unallocated()]
    return tuple(items), tuple(map(str, volumes)), tuple(ranges)


@pytest.fixture(scope="module")
def disk_in_every_container(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("formats")
    disk = blank(tmp / "disk.raw", 16 * MIB)
    run("sfdisk", "-q", disk, stdin="label: dos\nstart=2048, size=8192, type=6\n"
        "start=12288, size=8192, type=83\n")
    spec = fat_image(disk, 4 * MIB, offset=1 * MIB)
    src = write_files(tmp, {"a": payload(200_000, 11), "b": payload(5000, 12),
                            "c": payload(9000, 13)})
    mtools(spec, "mcopy", src["a"], "::/a.bin")
    mtools(spec, "mcopy", src["c"], "::/c.bin")
    mtools(spec, "mdel", "::/c.bin")
    ext = ext4_image(tmp / "p2.raw", 4 * MIB)
    debugfs(ext, [f"write {src['b']} b.bin"])
    splice(disk, ext, 6 * MIB)
    out = {"raw": disk}
    run("ewfacquire", "-u", "-q", "-t", tmp / "disk", "-f", "encase6", "-c", "deflate:none",
        "-S", "6MiB", "-C", "case", "-D", "benign test disk", "-e", "test", "-E", "1",
        "-N", "none", disk)
    assert (tmp / "disk.E02").is_file()  # really split
    out["ewf"] = tmp / "disk.E01"
    data = disk.read_bytes()
    for n in range(4):
        (tmp / f"split.raw.{n + 1:03d}").write_bytes(data[n * 5 * MIB:(n + 1) * 5 * MIB])
    out["split-raw"] = tmp / "split.raw.001"
    for fmt, qemu, ext_name in (("qcow", "qcow2", "qcow2"), ("vmdk", "vmdk", "vmdk"),
                                ("vhd", "vpc", "vhd"), ("vhdx", "vhdx", "vhdx")):
        target = tmp / f"disk.{ext_name}"
        run("qemu-img", "convert", "-O", qemu, disk, target)
        out[fmt] = target
    return out


def test_every_container_gives_the_same_evidence(disk_in_every_container: dict[str, Path]) -> None:
    reference = ImageEvidence(disk_in_every_container["raw"])
    expected = _snapshot(reference)
    items = expected[0]
    assert len(items) == 3 and any(not allocated for _, _, _, allocated, *_ in items)
    raw_bytes = disk_in_every_container["raw"].read_bytes()
    for fmt, path in disk_in_every_container.items():
        evidence = ImageEvidence(path)
        assert evidence.format == fmt
        assert evidence.describe()["format"] == fmt
        if fmt != "vhd":  # a VHD's virtual size is rounded up to its CHS geometry
            assert _snapshot(evidence) == expected, fmt
        else:
            got = _snapshot(evidence)
            assert got[:2] == expected[:2]
            assert got[2][:-1] == expected[2][:-1]
        for offset in (0, 5 * MIB - 7, 6 * MIB + 1024, 16 * MIB - 100):
            assert evidence.read_range(offset, 100) == raw_bytes[offset:offset + 100], fmt
        evidence.close()
