"""Check an EWF (E01) image's segment files before opening it, to name what is missing.

libewf reports a missing segment only as "missing segment file for offset …" when a read falls
in it, and a truncated segment as a failed read. An examiner needs the file name. Each EWF-E01
segment file is a chain of sections; every segment but the last ends with a `next` section and
the last with `done`. Walking the chain tells whether a segment is cut short and, if the last
segment found ends with `next`, which file should follow.
"""

from __future__ import annotations

import struct
from pathlib import Path

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
