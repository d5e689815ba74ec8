"""GIF: header, logical screen, colour table, then extension and image blocks (each a chain of
sub-blocks) up to the trailer 0x3B."""

from __future__ import annotations

import weakref
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
_CHECKPOINT_EVERY = 64  # chain positions remembered: one in 64 (a joining chain finds one soon)
_MEMO_MAX = 1 << 20  # checkpoints kept per range before starting afresh (memory stays small)


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

    def __init__(self) -> None:
        # Sub-block chains already walked in the current range: checkpoint position ->
        # (ended, position it ended or stopped at, the limit of that walk). A chain's course
        # from a position depends only on the bytes, so a later candidate whose chain joins an
        # earlier one reuses its outcome (the same outcome as walking it again: a test checks
        # it against the plain walk). Without it, space full of GIF headers over long sub-block
        # runs costs every candidate the rest of the range (8 MiB: 8 s; 96 MiB: ~20 minutes).
        self._memo_source: weakref.ref[Source] | None = None
        self._memo: dict[int, tuple[bool, int, int]] = {}

    def _chains(self, source: Source) -> dict[int, tuple[bool, int, int]]:
        current = self._memo_source() if self._memo_source is not None else None
        if current is not source or len(self._memo) > _MEMO_MAX:
            self._memo = {}
            try:
                self._memo_source = weakref.ref(source)
            except TypeError:  # a source that takes no weak reference: no reuse
                self._memo_source = None
        return self._memo

    def _sub_blocks(self, source: Source, start: int, pos: int, limit: int) -> int:
        """Offset after the chain of sub-blocks starting at `pos` (size byte, data; 0 ends)."""
        memo = self._chains(source)
        use_memo = True
        checkpoints: list[int] = []
        steps = 0
        buf = b""
        base = pos
        while pos < limit:
            known = memo.get(pos) if use_memo else None
            if known is not None:
                ended, reach, then = known
                if ended and reach <= limit:  # this chain ends inside this candidate's limit
                    for at in checkpoints:
                        memo[at] = known
                    return reach
                if not ended and pos < reach and (reach < limit or limit >= then):
                    # Walked before as far as `reach`, the first position at or past that
                    # walk's limit `then`: with our limit no lower, every position before it
                    # is below ours too, so go on from there (or stop there, as it did).
                    # Every position this walk passed through, jumps included, gets the final
                    # outcome (path compression): a chain of jumps is taken once, not again by
                    # every later candidate (that was quadratic where limits grow with start).
                    checkpoints.append(pos)
                    pos = reach
                    checkpoints.append(pos)
                    buf = b""
                    continue
                use_memo = False  # anything else: walk it out, exactly as without the memo
            if steps % _CHECKPOINT_EVERY == 0:
                checkpoints.append(pos)
            steps += 1
            rel = pos - base
            if rel >= len(buf) or rel < 0:
                base, buf = pos, source.read(pos, _BLOCK_READ)
                rel = 0
                if not buf:
                    break
            size = buf[rel]
            pos += 1 + size
            if size == 0:
                for at in checkpoints:
                    memo[at] = (True, pos, limit)
                return pos
        for at in checkpoints:
            memo[at] = (False, pos, limit)
        raise CarvedFragmentError("sub-blocks run past the range or size limit", pos - start)

register(GifCarver())
