"""WebP: RIFF "WEBP" with VP8 / VP8L / VP8X chunks whose sizes add up to the RIFF length."""

from __future__ import annotations

from typing import ClassVar

from fellwatch.carving.base import (
    CarvedFragmentError,
    MiB,
    NotACandidate,
    Signature,
    Source,
    register,
    verify_picture,
)
from fellwatch.carving.chains import RangeWork
from fellwatch.carving.riff import riff_length


class WebpCarver:
    name: ClassVar[str] = "webp"
    extension: ClassVar[str] = "webp"
    content_type: ClassVar[str] = "image/webp"
    kind: ClassVar[str] = "picture"
    signatures: ClassVar[tuple[Signature, ...]] = (Signature(b"RIFF"),)
    default_max_size: ClassVar[int] = 32 * MiB

    def __init__(self) -> None:
        self.work = RangeWork()  # chunk chains already walked in the current range

    def carve(self, source: Source, start: int, max_size: int) -> int:
        first = source.read(start + 12, 4)
        if first not in (b"VP8 ", b"VP8L", b"VP8X"):
            raise NotACandidate("no VP8 chunk first")
        length, tags = riff_length(self.work, source, start, b"WEBP", max_size, _image_chunk)
        if not tags:
            raise CarvedFragmentError("no image data chunk", length)
        verify_picture(source, start, length, "WEBP")
        return length


def _image_chunk(tag: bytes, data: int, size: int) -> frozenset[bytes] | None:
    return frozenset((tag,)) if tag in (b"VP8 ", b"VP8L", b"ANMF") else None


register(WebpCarver())
