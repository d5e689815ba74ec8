"""Check an EWF (E01) image's segment files before opening it, to name what is missing.

libewf reports a missing segment only as "missing segment file for offset …" when a read falls
in it, and a truncated segment as a failed read. An examiner needs the file name. Each EWF-E01
segment file is a chain of sections; every segment but the last ends with a `next` section and
the last with `done`. Walking the chain tells whether a segment is cut short and, if the last
segment found ends with `next`, which file should follow.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from fellwatch.evidence.item import EvidenceError

_EWF1_SIGNATURES = (b"EVF\x09\x0d\x0a\xff\x00", b"LVF\x09\x0d\x0a\xff\x00")
_HEADER_SIZE = 13
_DESCRIPTOR_SIZE = 76


def next_segment_name(name: str) -> str:
    """The file name of the segment after `name` (E01 → E02, E99 → EAA, EAZ → EBA)."""
    stem, _, ext = name.rpartition(".")
    if len(ext) != 3:
        return name + "?"
    upper = ext.isupper() or not ext.isalpha()
    first, rest = ext[0], ext[1:]
    if rest.isdigit():
        number = int(rest) + 1
        new = f"{first}{number:02d}" if number <= 99 else f"{first}AA"
    else:
        letters = [ord(c.upper()) - 65 for c in ext]
        index = len(letters) - 1
        while index >= 0:
            letters[index] += 1
            if letters[index] < 26:
                break
            letters[index] = 0
            index -= 1
        new = "".join(chr(65 + v) for v in letters)
    if not upper or ext[0].islower():
        new = new.lower()
    return f"{stem}.{new}"


def _segment_files(first: Path) -> list[Path]:
    found = [first]
    while True:
        candidate = first.parent / next_segment_name(found[-1].name)
        if not candidate.is_file():
            return found
        found.append(candidate)


def _last_section(segment: Path) -> str:
    """The type of the segment's final section; raises EvidenceError if the chain is cut."""
    size = segment.stat().st_size
    with segment.open("rb") as handle:
        offset = _HEADER_SIZE
        for _ in range(1_000_000):
            handle.seek(offset)
            descriptor = handle.read(_DESCRIPTOR_SIZE)
            if len(descriptor) < _DESCRIPTOR_SIZE:
                raise EvidenceError(
                    f"truncated EWF segment {segment.name}: section at offset {offset} "
                    f"is beyond its end ({size} bytes)"
                )
            kind = descriptor[:16].rstrip(b"\x00").decode("ascii", "replace")
            (next_offset,) = struct.unpack_from("<Q", descriptor, 16)
            if kind in ("next", "done"):
                return kind
            if next_offset <= offset:
                raise EvidenceError(
                    f"corrupt EWF segment {segment.name}: section chain breaks at offset {offset}"
                )
            if next_offset > size:
                raise EvidenceError(
                    f"truncated EWF segment {segment.name}: section {kind!r} continues to "
                    f"offset {next_offset}, the file ends at {size}"
                )
            offset = next_offset
    raise EvidenceError(f"corrupt EWF segment {segment.name}: too many sections")


def check_segments(path: Path) -> None:
    """Raise EvidenceError naming a truncated or missing segment of an EWF1 image."""
    with path.open("rb") as handle:
        signature = handle.read(8)
    if signature not in _EWF1_SIGNATURES:
        return
    segments = _segment_files(path)
    last = "done"
    for segment in segments:
        last = _last_section(segment)
    if last == "next":
        missing = next_segment_name(segments[-1].name)
        raise EvidenceError(
            f"EWF image {path.name} is incomplete: segment {missing} is missing "
            f"(found {len(segments)} segment file(s))"
        )


# --- chunk verification ------------------------------------------------------------------------
#
# libewf checks each chunk's Adler-32 (stored chunks) or inflates it (compressed chunks) when it
# is read, and on failure hands back the bytes it has (or zeros) without raising; the Python
# binding exposes no checksum-error list. So a corrupt chunk gives wrong hashes and, under a
# directory, names that vanish, with nothing recorded. The chunks are verified here, from the
# segment files' own tables, once per evidence (in the process that lists the items); a scan
# remembers the outcome against the files' identity (scan/verify.py), as it does their SHA-256.

_TABLE_HEADER = 24
_WINDOW = 16 << 20


@dataclass(frozen=True, slots=True)
class BadChunk:
    """A chunk of the media whose stored data fails its check."""

    index: int
    offset: int  # in the media (the decoded image)
    length: int
    reason: str  # "checksum mismatch" | "does not inflate" | ...


    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "offset": self.offset, "length": self.length,
                "reason": self.reason}


@dataclass(frozen=True, slots=True)
class ChunkCheck:
    """Every chunk of an E01 image verified: how many, and those that fail their check."""

    chunks: int
    bad: tuple[BadChunk, ...]

    def to_json(self) -> dict[str, Any]:
        """The form findings.json records and the data directory remembers."""
        return {"chunks": self.chunks, "bad": [c.to_json() for c in self.bad]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChunkCheck:
        return cls(int(data["chunks"]), tuple(
            BadChunk(int(c["index"]), int(c["offset"]), int(c["length"]), str(c["reason"]))
            for c in data["bad"]))


@dataclass(frozen=True, slots=True)
class _Chunk:
    segment: Path
    start: int
    size: int
    compressed: bool


def _sections(handle: BinaryIO, size: int) -> Iterator[tuple[str, int, int]]:
    """(type, offset, section size) of a segment's sections, in chain order (bounded)."""
    offset = _HEADER_SIZE
    for _ in range(1_000_000):
        if offset + _DESCRIPTOR_SIZE > size:
            return
        handle.seek(offset)
        descriptor = handle.read(_DESCRIPTOR_SIZE)
        kind = descriptor[:16].rstrip(b"\x00").decode("ascii", "replace")
        next_offset, section_size = struct.unpack_from("<QQ", descriptor, 16)
        yield kind, offset, section_size
        if kind in ("next", "done") or next_offset <= offset:
            return
        offset = next_offset


def _chunk_table(path: Path) -> tuple[list[_Chunk], int, int] | None:
    """Every chunk of an EWF-E01 image in media order, the chunk size and the media size; None
    when the image is not EWF1 or its volume section cannot be read."""
    with path.open("rb") as handle:
        if handle.read(8) not in _EWF1_SIGNATURES:
            return None
    chunks: list[_Chunk] = []
    chunk_size = media_size = 0
    for segment in _segment_files(path):
        size = segment.stat().st_size
        with segment.open("rb") as handle:
            sectors_end = 0
            for kind, offset, section_size in _sections(handle, size):
                body = offset + _DESCRIPTOR_SIZE
                if kind in ("volume", "disk") and not chunk_size:
                    handle.seek(body)
                    data = handle.read(24)
                    if len(data) < 24:
                        return None
                    sectors_per_chunk, bytes_per_sector = struct.unpack_from("<II", data, 8)
                    (sector_count,) = struct.unpack_from("<I", data, 16)
                    if section_size - _DESCRIPTOR_SIZE >= 1052:  # EnCase: 64-bit sector count
                        (sector_count,) = struct.unpack_from("<Q", data, 16)
                    chunk_size = sectors_per_chunk * bytes_per_sector
                    media_size = sector_count * bytes_per_sector
                elif kind == "sectors":
                    sectors_end = offset + section_size
                elif kind == "table":
                    handle.seek(body)
                    header = handle.read(_TABLE_HEADER)
                    if len(header) < _TABLE_HEADER:
                        break
                    (count,) = struct.unpack_from("<I", header, 0)
                    (base,) = struct.unpack_from("<Q", header, 8)
                    if count > (size - body) // 4:
                        break  # a table longer than its file: corrupt, stop at what is known
                    entries = struct.unpack(f"<{count}I", handle.read(4 * count))
                    starts = [base + (e & 0x7FFFFFFF) for e in entries]
                    last = starts[-1] if starts else 0
                    last_end = sectors_end if sectors_end > last else offset
                    ends = [*starts[1:], last_end]
                    chunks += [_Chunk(segment, s, e - s, bool(v >> 31))
                               for s, e, v in zip(starts, ends, entries, strict=True)]
    if not chunk_size or not media_size:
        return None
    return chunks, chunk_size, media_size


def _check_chunk(data: bytes, compressed: bool, expected: int) -> str | None:
    if compressed:
        inflater = zlib.decompressobj()
        try:
            out = inflater.decompress(data, expected + 1)
        except zlib.error as exc:
            return f"does not inflate ({exc})"
        if not inflater.eof or len(out) != expected:
            return f"inflates to {len(out)} bytes, not {expected}"
        return None
    if len(data) < expected + 4:
        return f"stored chunk cut short ({len(data)} of {expected + 4} bytes)"
    (stored,) = struct.unpack_from("<I", data, expected)
    if zlib.adler32(data[:expected]) != stored:
        return "checksum mismatch (Adler-32)"
    return None


def bad_chunks(path: Path) -> list[BadChunk]:
    """Every chunk of an EWF-E01 image whose stored data fails its check, in media order
    (an empty list where verify_chunks gives None)."""
    check = verify_chunks(path)
    return list(check.bad) if check is not None else []


def verify_chunks(path: Path) -> ChunkCheck | None:
    """Every chunk of an EWF-E01 image checked: Adler-32 of stored chunks, inflation of
    compressed ones.

    Reads each segment's chunk data once, in large pieces; memory is one piece. Images that
    are not EWF1, or whose tables cannot be read, give None (their reads fail loudly in
    libewf instead).
    """
    table = _chunk_table(path)
    if table is None:
        return None
    chunks, chunk_size, media_size = table
    bad: list[BadChunk] = []
    checked = 0
    handle: BinaryIO | None = None
    current: Path | None = None
    window_start = window_end = 0
    window = b""
    try:
        for index, chunk in enumerate(chunks):
            offset = index * chunk_size
            if offset >= media_size:
                break
            expected = min(chunk_size, media_size - offset)
            if chunk.segment != current:
                if handle is not None:
                    handle.close()
                handle = chunk.segment.open("rb")
                current = chunk.segment
                window_start = window_end = 0
            assert handle is not None
            if not (window_start <= chunk.start and chunk.start + chunk.size <= window_end):
                handle.seek(chunk.start)
                window = handle.read(max(_WINDOW, chunk.size))
                window_start, window_end = chunk.start, chunk.start + len(window)
            data = window[chunk.start - window_start:chunk.start - window_start + chunk.size]
            reason = _check_chunk(data, chunk.compressed, expected)
            checked += 1
            if reason is not None:
                bad.append(BadChunk(index, offset, expected, reason))
    finally:
        if handle is not None:
            handle.close()
    return ChunkCheck(checked, tuple(bad))
