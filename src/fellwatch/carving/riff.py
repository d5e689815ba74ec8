"""RIFF containers (WebP, AVI): the RIFF header gives the whole length; the chunks inside must
add up to it exactly, which is what catches a fragment whose header survived."""

from __future__ import annotations

from fellwatch.carving.base import CarvedFragmentError, NotACandidate, Source, need


def riff_length(source: Source, start: int, form: bytes, max_size: int) -> int:
    """Length of the RIFF file of `form` (b"WEBP", b"AVI ") at `start`, chunks checked."""
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
    walk_chunks(source, start, start + 12, end)
    return total if start + total <= source.end else 8 + size


def walk_chunks(source: Source, start: int, pos: int, end: int) -> list[tuple[bytes, int, int]]:
    """(fourcc, data offset, data size) of each chunk from `pos` to exactly `end`."""
    chunks: list[tuple[bytes, int, int]] = []
    while pos < end:
        header = need(source, pos, 8, start, "chunk header")
        tag = header[:4]
        size = int.from_bytes(header[4:8], "little")
        if not all(32 <= b <= 126 for b in tag):
            raise CarvedFragmentError(f"invalid chunk id at +{pos - start}", pos - start)
        nxt = pos + 8 + size + (size & 1)
        if nxt > end and pos + 8 + size != end:  # the last chunk's pad byte may be missing
            raise CarvedFragmentError(f"chunk {tag!r} runs past the RIFF end", pos - start)
        chunks.append((tag, pos + 8, size))
        pos = nxt
    return chunks
