"""MP4 / QuickTime MOV: a walk over the top-level boxes from ftyp; the file ends where the next
bytes are no longer a known top-level box. It is complete when it has ftyp, moov and mdat, the
children of moov add up to moov's size, and every sample chunk offset (stco / co64) points
inside the carved file. A gap inside mdat (pure frame data) is not detectable this way: decoding
is the pipeline's job (vPDQ records a decode error on the item).
"""

from __future__ import annotations

from typing import Any, ClassVar

from fellwatch.carving.base import (
    CarvedFragmentError,
    MiB,
    NotACandidate,
    Signature,
    Source,
    need,
    register,
)
from fellwatch.carving.chains import RangeWork, keep_first, keep_max

_TOP = frozenset(
    b"ftyp moov mdat free skip wide uuid pdin moof mfra meta sidx styp pnot junk".split()
)
_CONTAINERS = frozenset(b"moov trak mdia minf stbl edts dinf udta mvex".split())
_MAX_DEPTH = 12  # real files nest moov/trak/mdia/minf/stbl: 5 levels; crafted ones go deeper
_MAX_TABLE = 256 * MiB  # a chunk-offset table larger than this is not a real one
_FIRST = frozenset((b"moov", b"mdat"))  # the boxes whose first place the walk remembers


class Mp4Carver:
    name: ClassVar[str] = "mp4"
    extension: ClassVar[str] = "mp4"
    content_type: ClassVar[str] = "video/mp4"
    kind: ClassVar[str] = "video"
    signatures: ClassVar[tuple[Signature, ...]] = (Signature(b"ftyp", at=4),)
    default_max_size: ClassVar[int] = 4096 * MiB

    def __init__(self) -> None:
        # Box chains already walked in the current range (chains.py): space full of "ftyp"
        # boxes over a long run of small boxes would otherwise cost every candidate the rest
        # of the run, and a moov shared by many candidates its whole tree each time.
        self.work = RangeWork()

    def carve(self, source: Source, start: int, max_size: int) -> int:
        head = source.read(start, 16)
        if len(head) < 16:
            raise NotACandidate("short ftyp")
        ftyp_size = int.from_bytes(head[:4], "big")
        brand = head[8:12]  # e.g. "isom", "mp42", "qt  " (QuickTime pads with spaces)
        if not 16 <= ftyp_size <= 256 or (ftyp_size % 4) or not all(32 <= b < 127 for b in brand):
            raise NotACandidate("implausible ftyp box")
        work = self.work.bind(source)
        limit = min(source.end, start + max_size)

        def top(pos: int, limit: int) -> tuple[int, Any] | None:
            if pos + 8 > limit:
                return None
            header = source.read(pos, 16)
            size = int.from_bytes(header[:4], "big")
            tag = header[4:8]
            if tag not in _TOP:
                return None
            if size == 1 and len(header) == 16:
                size = int.from_bytes(header[8:16], "big")
            if size < 8:
                # size 0 ("to the end of the file") cannot be bounded in unallocated space.
                raise CarvedFragmentError(f"box {tag.decode()} without a usable size", pos - start)
            if pos + size > limit:
                raise CarvedFragmentError(f"box {tag.decode()} runs past the limit", pos - start)
            return pos + size, ({tag: (pos, size)} if tag in _FIRST else None)

        pos, seen = work.walk("top", start, start, limit, top, keep_first)
        seen = seen or {}
        length = pos - start
        missing = [t.decode() for t in (b"moov", b"mdat") if t not in seen]
        if missing:
            raise CarvedFragmentError(f"no {' '.join(missing)} box", length)
        moov_at, moov_size = seen[b"moov"]
        largest = self._walk(work, source, start, moov_at + 8, moov_at + moov_size, length, 0)
        # Chunk offsets count from the first byte of the file.
        if largest is not None and largest >= length:
            raise CarvedFragmentError("chunk offsets point outside the file", length)
        return length

    def _walk(self, work: RangeWork, source: Source, start: int, pos: int, end: int,
              length: int, depth: int) -> int | None:
        """The largest chunk offset (stco/co64) in the box tree between `pos` and exactly
        `end` (None: no offsets)."""
        if depth > _MAX_DEPTH:
            raise CarvedFragmentError("boxes nested implausibly deep", length)

        def child(pos: int, end: int) -> tuple[int, int | None]:
            header = need(source, pos, 8, start, "box header")
            size = int.from_bytes(header[:4], "big")
            tag = header[4:8]
            if size == 1:
                size = int.from_bytes(need(source, pos + 8, 8, start, "box size"), "big")
            if size < 8 or pos + size > end:
                raise CarvedFragmentError(f"bad box size in moov at +{pos - start}", length)
            if tag in _CONTAINERS:
                return pos + size, self._walk(work, source, start, pos + 8, pos + size, length,
                                              depth + 1)
            if tag in (b"stco", b"co64"):
                if size > _MAX_TABLE:
                    raise CarvedFragmentError(f"{tag.decode()} implausibly large", length)
                body = need(source, pos + 8, size - 8, start, tag.decode())
                count = int.from_bytes(body[4:8], "big")
                width = 4 if tag == b"stco" else 8
                if 8 + count * width > len(body):
                    raise CarvedFragmentError(f"{tag.decode()} count too large", length)
                offsets = [
                    int.from_bytes(body[8 + i * width : 8 + (i + 1) * width], "big")
                    for i in range(count)
                ]
                return pos + size, max(offsets) if offsets else None
            return pos + size, None

        # Children of the same bytes at another depth meet another depth bound: not shared.
        _, largest = work.walk(("moov", depth), start, pos, end, child, keep_max)
        return largest


register(Mp4Carver())
