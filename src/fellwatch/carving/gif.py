"""GIF: header, logical screen, colour table, then extension and image blocks (each a chain of
sub-blocks) up to the trailer 0x3B."""

from __future__ import annotations

from typing import ClassVar

from fellwatch.carving.base import (
    CarvedFragmentError,
    MiB,
    NotACandidate,
    Signature,
    Source,
    need,
    register,
    verify_picture,
)

_BLOCK_READ = 64 * 1024


class GifCarver:
    name: ClassVar[str] = "gif"
    extension: ClassVar[str] = "gif"
    content_type: ClassVar[str] = "image/gif"
    kind: ClassVar[str] = "picture"
    # One needle for both versions: every distinct needle costs one pass over the window.
    signatures: ClassVar[tuple[Signature, ...]] = (Signature(b"GIF8"),)
    default_max_size: ClassVar[int] = 32 * MiB

    def carve(self, source: Source, start: int, max_size: int) -> int:
        head = source.read(start, 13)
        if len(head) < 13 or head[4:6] not in (b"7a", b"9a"):
            raise NotACandidate("not GIF87a or GIF89a")
        width = int.from_bytes(head[6:8], "little")
        height = int.from_bytes(head[8:10], "little")
        if width == 0 or height == 0:
            raise NotACandidate("zero logical screen size")
        limit = min(source.end, start + max_size)
        pos = start + 13
        if head[10] & 0x80:
            pos += 3 << ((head[10] & 0x07) + 1)
        images = 0
        while True:
            if pos >= limit:
                raise CarvedFragmentError("no trailer within the range or size limit", pos - start)
            intro = need(source, pos, 1, start, "block")[0]
            if intro == 0x3B:
                if images == 0:
                    raise CarvedFragmentError("trailer before any image", pos - start)
                length = pos + 1 - start
                verify_picture(source, start, length, "GIF")
                return length
            if intro == 0x21:
                pos = self._sub_blocks(source, start, pos + 2, limit)
            elif intro == 0x2C:
                desc = need(source, pos, 10, start, "image descriptor")
                pos += 10
                if desc[9] & 0x80:
                    pos += 3 << ((desc[9] & 0x07) + 1)
                code_size = need(source, pos, 1, start, "LZW code size")[0]
                if not 1 <= code_size <= 11:
                    raise CarvedFragmentError("invalid LZW code size", pos - start)
                pos = self._sub_blocks(source, start, pos + 1, limit)
                images += 1
            else:
                raise CarvedFragmentError(f"invalid block 0x{intro:02X}", pos - start)

    @staticmethod
    def _sub_blocks(source: Source, start: int, pos: int, limit: int) -> int:
        """Offset after the chain of sub-blocks starting at `pos` (size byte, data; 0 ends)."""
        buf = b""
        base = pos
        while pos < limit:
            rel = pos - base
            if rel >= len(buf):
                base, buf = pos, source.read(pos, _BLOCK_READ)
                rel = 0
                if not buf:
                    break
            size = buf[rel]
            pos += 1 + size
            if size == 0:
                return pos
        raise CarvedFragmentError("sub-blocks run past the range or size limit", pos - start)


register(GifCarver())
