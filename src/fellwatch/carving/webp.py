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
from fellwatch.carving.riff import riff_length, walk_chunks


class WebpCarver:
    name: ClassVar[str] = "webp"
    extension: ClassVar[str] = "webp"
    content_type: ClassVar[str] = "image/webp"
    kind: ClassVar[str] = "picture"
    signatures: ClassVar[tuple[Signature, ...]] = (Signature(b"RIFF"),)
    default_max_size: ClassVar[int] = 32 * MiB

    def carve(self, source: Source, start: int, max_size: int) -> int:
        first = source.read(start + 12, 4)
        if first not in (b"VP8 ", b"VP8L", b"VP8X"):
            raise NotACandidate("no VP8 chunk first")
        length = riff_length(source, start, b"WEBP", max_size)
        tags = {tag for tag, _, _ in walk_chunks(source, start, start + 12, start + length)}
        if not tags & {b"VP8 ", b"VP8L", b"ANMF"}:
            raise CarvedFragmentError("no image data chunk", length)
        verify_picture(source, start, length, "WEBP")
        return length


register(WebpCarver())
