"""The scanner on its own: window boundaries, range joining, range ends, read sizes."""

from __future__ import annotations

import hashlib
import random

import pytest

from fellwatch.carving import CarveSettings, carve, merge_ranges
from fellwatch.evidence.base import ByteRange
from tests.carving import samples

MiB = 1 << 20


@pytest.fixture(scope="module")
def disk() -> tuple[bytes, dict[int, str]]:
    """2 MiB of random bytes with pictures and videos at odd (unaligned) offsets."""
    rng = random.Random(3)
    data = bytearray(rng.randbytes(2 * MiB))
    planted: dict[int, str] = {}
    blobs = [samples.jpeg_with_exif(1), samples.png(2), samples.gif(3), samples.webp(4),
             samples.bmp(5), samples.video("mp4", seconds=1), samples.video("avi", seconds=1),
             samples.video("mov", seconds=1)]
    at = 1234
    for blob in blobs * 2:
        data[at : at + len(blob)] = blob
        planted[at] = hashlib.md5(blob).hexdigest()
        at += len(blob) + rng.randint(100, 50000)
    return bytes(data), planted


def found(data: bytes, ranges: list[ByteRange], **settings: object) -> dict[int, str]:
    reads: list[int] = []

    def read(offset: int, length: int) -> bytes:
        reads.append(length)
        return data[offset : offset + length]

    window = int(settings.get("window", 16 * MiB))  # type: ignore[call-overload]
    items = list(carve(read, ranges, "mem", CarveSettings(**settings)))  # type: ignore[arg-type]
    assert max(reads) <= max(window + 16, 256 * 1024 + 1, max(i.size for i in items) if items
                             else 0)
    return {i.offset: hashlib.md5(data[i.offset : i.offset + i.size]).hexdigest()
            for i in items if i.error is None and i.offset is not None}


@pytest.mark.parametrize("window", [4096, 65536 + 7, 1 * MiB, 16 * MiB])
def test_every_window_size_finds_everything(disk: tuple[bytes, dict[int, str]],
                                            window: int) -> None:
    data, planted = disk
    assert found(data, [ByteRange(0, len(data), None, "unallocated")], window=window) == planted


def test_touching_ranges_are_joined(disk: tuple[bytes, dict[int, str]]) -> None:
    data, planted = disk
    # Cut the disk into 3000-byte ranges (many objects span several), shuffled.
    ranges = [ByteRange(o, min(3000, len(data) - o), None, "unallocated")
              for o in range(0, len(data), 3000)]
    random.Random(1).shuffle(ranges)
    assert len(merge_ranges(ranges)) == 1
    assert found(data, ranges, window=65536) == planted


def test_an_object_never_reaches_past_its_range(disk: tuple[bytes, dict[int, str]]) -> None:
    data, planted = disk
    first = min(planted)
    # Two ranges with a hole in the middle of the first object: it must not be carved whole.
    ranges = [ByteRange(0, first + 100, None, "unallocated"),
              ByteRange(first + 200, len(data) - first - 200, None, "unallocated")]
    result = found(data, ranges)
    assert first not in result
    # The cut JPEG's EXIF thumbnail lies whole in the second range: a picture of its own.
    thumbnail = data.index(b"\xff\xd8\xff", first + 2)
    assert first + 200 <= thumbnail
    assert result == {thumbnail: result[thumbnail]} | {
        o: m for o, m in planted.items() if o != first}


def test_ranges_of_different_partitions_are_not_joined() -> None:
    ranges = [ByteRange(0, 100, "p1", "unallocated"), ByteRange(100, 100, "p2", "unallocated"),
              ByteRange(200, 100, "p2", "unallocated")]
    assert merge_ranges(ranges) == [ByteRange(0, 100, "p1", "unallocated"),
                                    ByteRange(100, 200, "p2", "unallocated")]


def test_zero_filled_space_is_skipped_but_objects_in_it_found() -> None:
    data = bytearray(8 * MiB)
    blob = samples.png(9)
    at = 5 * MiB - 1000  # across a zero-block and a window boundary
    data[at : at + len(blob)] = blob
    result = found(bytes(data), [ByteRange(0, len(data), None, "unpartitioned")], window=MiB)
    assert result == {at: hashlib.md5(blob).hexdigest()}


def test_aligned_scanning_finds_only_aligned_starts(disk: tuple[bytes, dict[int, str]]) -> None:
    buf = bytearray(disk[0])
    blob = samples.png(11)
    buf[3 * 4096 : 3 * 4096 + len(blob)] = blob  # one more, on a 4 KiB boundary
    ranges = [ByteRange(0, len(buf), None, "unallocated")]
    result = found(bytes(buf), ranges, alignment=4096, window=65536)
    assert result == {3 * 4096: hashlib.md5(blob).hexdigest()}
    everything = found(bytes(buf), ranges)
    assert 3 * 4096 in everything and len(everything) > len(result)


def test_alignment_must_be_positive(disk: tuple[bytes, dict[int, str]]) -> None:
    with pytest.raises(ValueError, match="alignment"):
        found(disk[0], [ByteRange(0, 100, None, "unallocated")], alignment=0)
