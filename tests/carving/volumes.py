"""Build small volumes with planted pictures at known offsets, and compute their carving ranges
independently of fellwatch.evidence (with Sleuth Kit's blkls and pytsk3's volume system)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytsk3

from fellwatch.evidence.base import ByteRange


def run(*argv: str | Path) -> str:
    return subprocess.run([str(a) for a in argv], check=True, capture_output=True,
                          text=True).stdout


def block_size(image: Path, offset: int = 0) -> int:
    fs = pytsk3.FS_Info(pytsk3.Img_Info(str(image)), offset=offset)
    return int(fs.info.block_size)


def unallocated_ranges(image: Path, offset: int, partition: str | None) -> list[ByteRange]:
    """Runs of unallocated file-system blocks (blkls -A), as absolute byte ranges."""
    unit = block_size(image, offset)
    blocks: list[int] = []
    for line in run("blkls", "-l", "-A", "-o", str(offset // 512), image).splitlines():
        addr, _, flag = line.partition("|")
        if flag == "f" and addr.isdigit():
            blocks.append(int(addr))
    ranges: list[ByteRange] = []
    first = prev = None
    for b in [*blocks, None]:
        if b is not None and prev is not None and b == prev + 1:
            prev = b
            continue
        if first is not None and prev is not None:
            ranges.append(ByteRange(offset + first * unit, (prev - first + 1) * unit, partition,
                                    "unallocated"))
        first = prev = b
    return ranges


def unpartitioned_ranges(image: Path) -> list[ByteRange]:
    """The volume system's unallocated entries (space outside every partition)."""
    volume = pytsk3.Volume_Info(pytsk3.Img_Info(str(image)))
    sector = volume.info.block_size
    return [
        ByteRange(part.start * sector, part.len * sector, None, "unpartitioned")
        for part in volume
        if part.flags == pytsk3.TSK_VS_PART_FLAG_UNALLOC and part.len > 0
    ]


def plant(image: Path, offset: int, blob: bytes) -> None:
    with image.open("r+b") as f:
        f.seek(offset)
        f.write(blob)


def file_offset(image: Path, fs_offset: int, path: str) -> int:
    """Absolute offset of the first data block of an allocated file (before it is deleted)."""
    fs = pytsk3.FS_Info(pytsk3.Img_Info(str(image)), offset=fs_offset)
    entry = fs.open(path)
    for attribute in entry:
        if attribute.info.type in (pytsk3.TSK_FS_ATTR_TYPE_DEFAULT,
                                   pytsk3.TSK_FS_ATTR_TYPE_NTFS_DATA):
            for run_ in attribute:
                return fs_offset + int(run_.addr) * int(fs.info.block_size)
    raise AssertionError(f"no data run for {path}")
