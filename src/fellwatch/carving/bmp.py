"""BMP: the file header's size, sanity-checked against the DIB header (known header sizes, one
plane, a real bit depth, pixel data that fits in the file).

Uncompressed pixel rows have no structure, so a BMP whose middle was overwritten cannot be told
from a whole one; only truncation and implausible headers are caught.
"""

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

_DIB_SIZES = frozenset([12, 40, 52, 56, 64, 108, 124])
_DEPTHS = frozenset([1, 4, 8, 16, 24, 32])


class BmpCarver:
    name: ClassVar[str] = "bmp"
    extension: ClassVar[str] = "bmp"
    content_type: ClassVar[str] = "image/bmp"
    kind: ClassVar[str] = "picture"
    signatures: ClassVar[tuple[Signature, ...]] = (Signature(b"BM"),)
    default_max_size: ClassVar[int] = 64 * MiB

    def carve(self, source: Source, start: int, max_size: int) -> int:
        head = source.read(start, 54)
        if len(head) < 26 or head[6:10] != b"\0\0\0\0":
            raise NotACandidate("reserved fields not zero")
        size = int.from_bytes(head[2:6], "little")
        pixels = int.from_bytes(head[10:14], "little")
        dib = int.from_bytes(head[14:18], "little")
        if dib not in _DIB_SIZES or not 14 + dib <= pixels < size:
            raise NotACandidate("implausible header sizes")
        if dib == 12:
            width = int.from_bytes(head[18:20], "little")
            height = int.from_bytes(head[20:22], "little")
            planes = int.from_bytes(head[22:24], "little")
            depth = int.from_bytes(head[24:26], "little")
            compression = 0
        else:
            if len(head) < 54:
                raise NotACandidate("short header")
            width = int.from_bytes(head[18:22], "little", signed=True)
            height = abs(int.from_bytes(head[22:26], "little", signed=True))
            planes = int.from_bytes(head[26:28], "little")
            depth = int.from_bytes(head[28:30], "little")
            compression = int.from_bytes(head[30:34], "little")
        if planes != 1 or depth not in _DEPTHS or not 0 < width <= 65535 or not 0 < height <= 65535:
            raise NotACandidate("implausible dimensions or depth")
        if compression > 6:
            raise NotACandidate("unknown compression")
        if compression == 0:
            row = ((width * depth + 31) // 32) * 4
            if pixels + row * height > size:
                raise NotACandidate("pixel data larger than the file")
        if size > max_size:
            raise CarvedFragmentError("file size exceeds the size limit", 54)
        if start + size > source.end:
            raise CarvedFragmentError("runs past the end of the range", source.end - start)
        verify_picture(source, start, size, "BMP")
        return size


register(BmpCarver())
