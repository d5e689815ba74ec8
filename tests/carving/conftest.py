"""Volumes with pictures and videos planted at known offsets (the truth the carvers must find).

Built once per session in a temp directory with the Debian tools (mkfs.vfat, mtools, mkntfs,
ntfscp, sfdisk); a missing tool fails the run.
"""

from __future__ import annotations

import hashlib
import random
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fellwatch.evidence.base import ByteRange
from tests.carving import samples
from tests.carving.volumes import (
    file_offset,
    plant,
    run,
    unallocated_ranges,
    unpartitioned_ranges,
)

MiB = 1 << 20


def md5(blob: bytes) -> str:
    return hashlib.md5(blob).hexdigest()


@dataclass
class Planted:
    image: Path
    ranges: list[ByteRange]
    complete: dict[int, str] = field(default_factory=dict)  # offset -> md5 of a whole object
    fragments: set[int] = field(default_factory=set)  # offsets of planted broken objects
    allocated: set[int] = field(default_factory=set)  # offsets of live files (not carved)

    def read(self, offset: int, length: int) -> bytes:
        with self.image.open("rb") as f:
            f.seek(offset)
            return f.read(length)


class Planter:
    """Places objects one after another in a free area, aligned to `align`, and records them."""

    def __init__(self, planted: Planted, start: int, align: int) -> None:
        self.planted = planted
        self.pos = start
        self.align = align
        self.rng = random.Random(7)

    def _next(self, size: int) -> int:
        at = -(-self.pos // self.align) * self.align
        self.pos = at + size + self.align  # leave a free block between objects
        return at

    def whole(self, blob: bytes) -> int:
        at = self._next(len(blob))
        plant(self.planted.image, at, blob)
        self.planted.complete[at] = md5(blob)
        return at

    def fragmented(self, blob: bytes, split: int, gap: int, gap_fill: str) -> int:
        """Two runs: blob[:split] at a block boundary, `gap` bytes of random or zero filler,
        then the rest (the classic bifragmented file left by a FAT or NTFS allocator)."""
        split = split // self.align * self.align
        at = self._next(split + gap + len(blob) - split)
        filler = (bytes(self.rng.getrandbits(8) for _ in range(gap)) if gap_fill == "random"
                  else bytes(gap))
        plant(self.planted.image, at, blob[:split] + filler + blob[split:])
        self.planted.fragments.add(at)
        return at


def plant_set(p: Planter) -> None:
    """The same mix of formats on every volume: whole pictures and videos, and fragments."""
    p.whole(samples.png(1))
    p.whole(samples.gif(2))
    p.whole(samples.webp(3))
    p.whole(samples.bmp(4))
    p.whole(samples.video("mp4", index=1))
    p.whole(samples.video("avi", index=2))
    p.whole(samples.jpeg(5, (640, 480)))
    p.fragmented(samples.jpeg(6, (640, 480)), split=16384, gap=8192, gap_fill="random")
    p.fragmented(samples.jpeg(7, (640, 480)), split=16384, gap=8192, gap_fill="zero")
    p.fragmented(samples.png(8), split=16384, gap=8192, gap_fill="zero")
    p.fragmented(samples.video("mp4", index=3), split=8192, gap=8192, gap_fill="random")


@pytest.fixture(scope="session")
def fat32(tmp_path_factory: pytest.TempPathFactory) -> Planted:
    """FAT32: a live picture, a deleted one whose directory entry is wiped, planted objects."""
    d = tmp_path_factory.mktemp("fat32")
    image = d / "fat32.dd"
    with image.open("wb") as f:
        f.truncate(64 * MiB)
    run("mkfs.vfat", "-F", "32", "-n", "FELL", image)
    live = samples.write(d / "LIVE.JPG", samples.jpeg(10))
    gone_blob = samples.jpeg_with_exif(11, thumbnail=True)
    gone = samples.write(d / "GONE.JPG", gone_blob)
    run("mcopy", "-i", image, live, "::LIVE.JPG")
    run("mcopy", "-i", image, gone, "::GONE.JPG")
    live_at = file_offset(image, 0, "/LIVE.JPG")
    gone_at = file_offset(image, 0, "/GONE.JPG")
    run("mdel", "-i", image, "::GONE.JPG")
    raw = image.read_bytes()
    entry = raw.find(b"\xe5ONE    JPG")
    assert entry > 0, "deleted directory entry not found"
    plant(image, entry, bytes(32))  # wipe it: no name, no first cluster left to follow
    planted = Planted(image, [])
    planted.allocated.add(live_at)
    planted.complete[gone_at] = md5(gone_blob)
    ranges = unallocated_ranges(image, 0, None)
    area = max(ranges, key=lambda r: r.length)
    plant_set(Planter(planted, area.offset + 256 * 1024, 4096))
    planted.ranges = unallocated_ranges(image, 0, None)
    return planted


@pytest.fixture(scope="session")
def ntfs(tmp_path_factory: pytest.TempPathFactory) -> Planted:
    """NTFS: a live picture (ntfscp) and objects planted in free clusters."""
    d = tmp_path_factory.mktemp("ntfs")
    image = d / "ntfs.dd"
    with image.open("wb") as f:
        f.truncate(64 * MiB)
    run("mkntfs", "-F", "-Q", "-q", image)
    live = samples.write(d / "live.png", samples.png(20))
    run("ntfscp", "-f", image, live, "live.png")
    planted = Planted(image, [])
    planted.allocated.add(file_offset(image, 0, "/live.png"))
    ranges = unallocated_ranges(image, 0, None)
    area = max(ranges, key=lambda r: r.length)
    plant_set(Planter(planted, area.offset + MiB, 4096))
    planted.complete[Planter(planted, area.offset + 24 * MiB, 4096).whole(
        samples.jpeg_with_exif(21))] = md5(samples.jpeg_with_exif(21))
    planted.ranges = unallocated_ranges(image, 0, None)
    return planted


@pytest.fixture(scope="session")
def mbr(tmp_path_factory: pytest.TempPathFactory) -> Planted:
    """An MBR disk with two FAT partitions and objects in the unpartitioned gaps."""
    d = tmp_path_factory.mktemp("mbr")
    image = d / "disk.dd"
    with image.open("wb") as f:
        f.truncate(48 * MiB)
    layout = "label: dos\nstart=2048, size=16384, type=c\nstart=51200, size=16384, type=c\n"
    subprocess.run(["sfdisk", "-q", str(image)], input=layout, text=True, check=True,
                   capture_output=True)
    planted = Planted(image, [])
    p = Planter(planted, 9 * MiB + 512, 512)  # between the partitions (9 MiB .. 25 MiB)
    plant_set(p)
    tail = Planter(planted, 33 * MiB + 4096, 512)  # after the last partition
    tail.whole(samples.jpeg_with_exif(30))
    head = Planter(planted, 100 * 512, 512)  # sectors 1..2047, before the first partition
    head.whole(samples.gif(31))
    planted.ranges = unpartitioned_ranges(image)
    return planted
