"""JPEG-specific traps: thumbnails, flat pictures whose entropy data is zeros, gaps of wiped
sectors, and a random gap that happens to hold an EOI marker."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image

from fellwatch.carving import CarveSettings, carve
from fellwatch.evidence.base import ByteRange
from fellwatch.evidence.item import Item
from tests.carving import samples


def carve_bytes(data: bytes, base: int = 0) -> list[Item]:
    padded = bytes(base) + data
    return list(carve(lambda o, n: padded[o : o + n],
                      [ByteRange(0, len(padded), None, "unallocated")], "mem",
                      CarveSettings(formats=("jpeg",))))


def fragmented(blob: bytes, gap: bytes, split: int = 8192) -> bytes:
    return blob[:split] + gap + blob[split:]


@pytest.mark.parametrize("colour", [(255, 255, 255), (0, 0, 0)])
@pytest.mark.parametrize("progressive", [False, True])
@pytest.mark.parametrize("base", [0, 512, 1000])
def test_flat_picture_with_optimised_tables_is_whole(colour: tuple[int, int, int],
                                                     progressive: bool, base: int) -> None:
    # Optimised Huffman tables give the commonest symbols all-zero codes: a flat area is long
    # runs of zero bytes, sectors of them, yet the picture is whole.
    out = io.BytesIO()
    Image.new("RGB", (3000, 2000), colour).save(out, "JPEG", optimize=True,
                                               progressive=progressive)
    blob = out.getvalue()
    assert bytes(512) in blob
    [item] = carve_bytes(blob, base)
    assert item.error is None and item.size == len(blob) and item.offset == base


@pytest.mark.parametrize("fill", [0x00, 0xFF])
def test_gap_of_wiped_sectors_is_a_fragment(fill: int) -> None:
    blob = samples.jpeg(3, (640, 480))
    [item] = carve_bytes(fragmented(blob, bytes([fill]) * 4096))
    assert item.error is not None and item.error.startswith("fragment: not a complete picture")


def test_random_gap_starting_with_eoi_is_a_fragment() -> None:
    # The scan ends at the gap's FF D9, Pillow decodes the short picture without complaint;
    # the strict second decode notices the entropy data ran out.
    blob = samples.jpeg(4, (640, 480))
    gap = b"\xff\xd9" + random.Random(1).randbytes(4094)
    items = carve_bytes(fragmented(blob, gap))
    assert items[0].offset == 0 and items[0].error is not None
    assert "does not decode" in items[0].error


def test_thumbnail_of_a_fragment_is_carved_on_its_own() -> None:
    blob = samples.jpeg_with_exif(5, thumbnail=True)
    thumb_at = blob.index(b"\xff\xd8\xff", 2)
    thumb_end = blob.index(b"\xff\xd9", thumb_at) + 2
    data = fragmented(blob, bytes(4096), split=(thumb_end // 512 + 2) * 512)
    items = carve_bytes(data)
    assert [(i.offset, i.error is None) for i in items] == [(0, False), (thumb_at, True)]
    assert data[thumb_at : thumb_at + items[1].size] == blob[thumb_at:thumb_end]
