"""Hostile input: random bytes, truncations and corruptions of real pictures must neither crash
nor hang the JPEG and PNG carvers, and a damaged picture is never reported as complete."""

from __future__ import annotations

from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fellwatch.carving import CarveSettings, carve
from fellwatch.evidence.base import ByteRange
from tests.carving import samples

FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])


@cache
def originals() -> dict[str, bytes]:
    return {"jpeg": samples.jpeg_with_exif(40), "png": samples.png(41)}


def carve_bytes(data: bytes, fmt: str) -> list:
    return list(carve(lambda o, n: data[o : o + n], [ByteRange(0, len(data), None, "unallocated")],
                      "fuzz", CarveSettings(formats=(fmt,), window=4096)))


HEADS = {
    "jpeg": b"\xff\xd8\xff\xe0",
    "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR",
    "gif": b"GIF89a",
    "webp": b"RIFF\x00\x10\x00\x00WEBPVP8 ",
    "avi": b"RIFF\x00\x10\x00\x00AVI LIST",
    "bmp": b"BM",
    "mp4": b"\x00\x00\x00\x18ftypisom",
}


@FUZZ
@given(st.binary(max_size=4096), st.sampled_from(sorted(HEADS)))
def test_random_bytes_after_a_signature(tail: bytes, fmt: str) -> None:
    for item in carve_bytes(HEADS[fmt] + tail, fmt):
        assert item.error is None or item.error.startswith("fragment:")


def test_deeply_nested_mp4_boxes_are_a_fragment_not_a_crash() -> None:
    depth = 5000
    boxes = b""
    for _ in range(depth):
        boxes = (8 + len(boxes)).to_bytes(4, "big") + b"trak" + boxes
    moov = (8 + len(boxes)).to_bytes(4, "big") + b"moov" + boxes
    data = b"\x00\x00\x00\x18ftypisom" + bytes(12) + moov + b"\x00\x00\x00\x10mdat" + bytes(8)
    [item] = carve_bytes(data, "mp4")
    assert item.error is not None and "deep" in item.error


@FUZZ
@given(st.sampled_from(["jpeg", "png"]), st.floats(0.0, 0.999))
def test_truncated_picture_is_never_complete(fmt: str, keep: float) -> None:
    blob = originals()[fmt]
    cut = blob[: max(1, int(len(blob) * keep))]
    whole = [i for i in carve_bytes(cut, fmt) if i.error is None and i.offset == 0]
    assert not whole


@FUZZ
@given(st.sampled_from(["jpeg", "png"]), st.integers(0, 10**9), st.binary(min_size=1, max_size=64))
def test_corrupted_picture(fmt: str, where: int, junk: bytes) -> None:
    blob = originals()[fmt]
    at = 64 + where % (len(blob) - 128)
    damaged = blob[:at] + junk + blob[at + len(junk) :]
    items = carve_bytes(damaged, fmt)
    assert all(i.error is None or i.error.startswith("fragment:") for i in items)
    if fmt == "png" and damaged != blob:
        # Every PNG chunk has a CRC: damage anywhere is a fragment, never a whole picture.
        assert not [i for i in items if i.error is None and i.offset == 0]
