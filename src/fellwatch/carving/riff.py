"""RIFF containers (WebP, AVI): the RIFF header gives the whole length; the chunks inside must
add up to it exactly, which is what catches a fragment whose header survived.

Chunk chains are walked through the carver's RangeWork (chains.py): a range full of "RIFF"
headers over one long run of chunks is walked about once, not once per header.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from fellwatch.carving.base import CarvedFragmentError, NotACandidate, Source, need
from fellwatch.carving.chains import RangeWork, keep_all

# What one chunk adds to a walk's labels (fourcc, data offset, data size): a set of labels or
# None; it may raise CarvedFragmentError (a LIST whose children do not add up). What it says
# must depend on the chunk's own bytes only (it is remembered per position).
Label = Callable[[bytes, int, int], frozenset[bytes] | None]


def riff_length(work: RangeWork, source: Source, start: int, form: bytes, max_size: int,
                label: Label | None = None) -> tuple[int, frozenset[bytes]]:
    """Length of the RIFF file of `form` (b"WEBP", b"AVI ") at `start`, chunks checked, and
    the labels its top-level chunks gave."""
    head = source.read(start, 12)
    if len(head) < 12 or head[8:12] != form:
        raise NotACandidate("not this RIFF form")
    size = int.from_bytes(head[4:8], "little")
    if size < 4 + 8:
        raise NotACandidate("RIFF size too small")
    total = 8 + size + (size & 1)
    if total > max_size:
        raise CarvedFragmentError("RIFF size exceeds the size limit", 12)
    end = start + 8 + size
    if end > source.end:
        raise CarvedFragmentError("RIFF runs past the end of the range", source.end - start)
    labels = walk_chunks(work, ("riff", form), source, start, start + 12, end, label)
    return (total if start + total <= source.end else 8 + size), labels


def walk_chunks(work: RangeWork, key: Hashable, source: Source, start: int, pos: int, end: int,
                label: Label | None = None) -> frozenset[bytes]:
    """Walk the chunks from `pos` to exactly `end`; the labels `label` gave them."""

    def chunk(pos: int, end: int) -> tuple[int, frozenset[bytes] | None]:
        header = need(source, pos, 8, start, "chunk header")
        tag = header[:4]
        size = int.from_bytes(header[4:8], "little")
        if not all(32 <= b <= 126 for b in tag):
            raise CarvedFragmentError(f"invalid chunk id at +{pos - start}", pos - start)
        nxt = pos + 8 + size + (size & 1)
        if nxt > end and pos + 8 + size != end:  # the last chunk's pad byte may be missing
            raise CarvedFragmentError(f"chunk {tag!r} runs past the RIFF end", pos - start)
        return nxt, label(tag, pos + 8, size) if label is not None else None

    _, labels = work.bind(source).walk(key, start, pos, end, chunk, keep_all)
    return labels or frozenset()
