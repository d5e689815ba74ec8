"""Scan byte ranges for signatures in large overlapping windows and hand each hit to its carver.

Memory stays at about one window whatever the range size: a range is read `window` bytes at a
time (plus a few bytes of overlap so a signature that straddles two windows is still seen), the
signatures are found with `bytes.find` (C speed), and a carver that needs bytes beyond the
window reads them through the same `read` callable, so an object straddling a window boundary is
carved whole. Hits inside an object already carved (an EXIF thumbnail inside its JPEG, a JPEG
inside a video) are not reported again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from fellwatch.carving.base import (
    CarvedFragmentError,
    Carver,
    MiB,
    NotACandidate,
    Signature,
    registered,
)
from fellwatch.evidence.base import ByteRange
from fellwatch.evidence.item import Item

Read = Callable[[int, int], bytes]

DEFAULT_WINDOW = 16 * MiB
# Zero-filled space (wiped, never written, TRIMmed) is skipped a block at a time with one memcmp
# (`startswith`), far faster than a signature search; no magic holds a zero byte, so a magic
# never lies partly in a zero block.
_ZERO_BLOCK = 64 * 1024
_ZEROS = bytes(_ZERO_BLOCK)
FRAGMENT_ERROR = "fragment: not a complete {kind}"


@dataclass(frozen=True, slots=True)
class CarveSettings:
    """What changes carving results (recorded in findings.json settings)."""

    formats: tuple[str, ...] | None = None  # None: every registered carver
    max_sizes: Mapping[str, int] | None = None  # per carver name; default: the carver's own
    report_fragments: bool = True
    window: int = DEFAULT_WINDOW
    # None: a signature may start at any byte (thorough: pictures inside other files, EXIF
    # thumbnails of fragments). 512 or 4096: only at sector / cluster starts, as PhotoRec does
    # (files start on a cluster boundary), several times faster on high-entropy space.
    alignment: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The settings as findings.json records them (every format's effective limit)."""
        carvers = registered()
        names = sorted(carvers) if self.formats is None else sorted(self.formats)
        limits = dict(self.max_sizes or {})
        return {
            "formats": names,
            "max_sizes": {n: limits.get(n, carvers[n].default_max_size) for n in names
                          if n in carvers},
            "report_fragments": self.report_fragments,
            "alignment": self.alignment,
        }


class _RangeSource:
    """Reads of one range, served from the current window when they fall inside it."""

    def __init__(self, read: Read, end: int) -> None:
        self._read = read
        self.end = end
        self._base = 0
        self._buf = b""

    def load(self, offset: int, length: int) -> bytes:
        self._base = offset
        self._buf = self._read(offset, max(0, min(length, self.end - offset)))
        return self._buf

    def read(self, offset: int, length: int) -> bytes:
        length = max(0, min(length, self.end - offset))
        rel = offset - self._base
        if rel >= 0 and rel + length <= len(self._buf):
            return self._buf[rel : rel + length]
        if length == 0:
            return b""
        return self._read(offset, length)


def merge_ranges(ranges: Iterable[ByteRange]) -> list[ByteRange]:
    """Sorted ranges with touching runs of the same partition and kind joined, so a file that
    spans two reported runs (e.g. across a bitmap chunk boundary) is carved whole."""
    merged: list[ByteRange] = []
    for r in sorted(ranges, key=lambda r: (r.offset, r.length)):
        if r.length <= 0:
            continue
        last = merged[-1] if merged else None
        if (
            last is not None
            and last.offset + last.length >= r.offset
            and (last.partition, last.kind) == (r.partition, r.kind)
        ):
            end = max(last.offset + last.length, r.offset + r.length)
            merged[-1] = ByteRange(last.offset, end - last.offset, last.partition, last.kind)
        else:
            merged.append(r)
    return merged


def _nonzero_segments(buf: bytes) -> list[tuple[int, int]]:
    """[start, end) runs of `buf` that are not whole zero blocks."""
    segments: list[tuple[int, int]] = []
    for at in range(0, len(buf), _ZERO_BLOCK):
        size = min(_ZERO_BLOCK, len(buf) - at)
        if buf.startswith(_ZEROS if size == _ZERO_BLOCK else _ZEROS[:size], at):
            continue
        if segments and segments[-1][1] == at:
            segments[-1] = (segments[-1][0], at + size)
        else:
            segments.append((at, at + size))
    return segments


def _aligned_hits(
    buf: bytes,
    wstart: int,
    wend: int,
    alignment: int,
    needles: dict[bytes, list[int]],
    table: list[tuple[Signature, Carver, int]],
) -> list[tuple[int, int]]:
    """Hits whose object starts on an `alignment` boundary (absolute), compared all at once."""
    first = (-wstart) % alignment
    count = max(0, -(-(wend - wstart - first) // alignment))
    hits: list[tuple[int, int]] = []
    for magic, entries in needles.items():
        # Compare the first (up to) four bytes of every aligned row as one little-endian word,
        # then check the whole magic on the few rows that pass.
        head = magic[:4]
        mask = (1 << (8 * len(head))) - 1
        key = int.from_bytes(head, "little")
        for index in entries:
            at = table[index][0].at
            rows = min(count, (len(buf) - first - at - 4) // alignment + 1)
            if rows <= 0:
                continue
            words = np.ndarray((rows,), dtype="<u4", buffer=buf, offset=first + at,
                               strides=(alignment,))
            for k in np.flatnonzero((words & mask) == key):
                start = first + int(k) * alignment
                if buf.startswith(magic, start + at):
                    hits.append((wstart + start, index))
    return hits


def _item(evidence: str, carver: Carver, r: ByteRange, offset: int, size: int,
          error: str | None) -> Item:
    return Item(
        evidence=evidence,
        path=f"carved/{offset:012x}.{carver.extension}",
        key=f"carved/{offset:016x}",
        size=size,
        origin="carved",
        allocated=False,
        partition=r.partition,
        offset=offset,
        locator=("carved", offset, size),
        error=error,
    )


def carve(
    read: Read,
    ranges: Iterable[ByteRange],
    evidence: str,
    settings: CarveSettings | None = None,
) -> Iterator[Item]:
    """Items for the pictures and videos found in `ranges`, in offset order.

    `read(offset, length)` reads the evidence's outermost image (`Evidence.read_range`).
    A complete object is an Item with `error=None`. A candidate with a valid header whose
    structure breaks (fragmented, overwritten, truncated) is an Item whose `error` starts with
    "fragment: not a complete picture" (or "video"), unless `report_fragments` is off.
    """
    settings = settings or CarveSettings()
    carvers = registered()
    names = sorted(carvers) if settings.formats is None else list(settings.formats)
    unknown = [n for n in names if n not in carvers]
    if unknown:
        raise ValueError(f"unknown carver(s): {', '.join(unknown)}")
    max_sizes = dict(settings.max_sizes or {})
    table: list[tuple[Signature, Carver, int]] = []
    for n in names:
        c = carvers[n]
        table += [(sig, c, max_sizes.get(n, c.default_max_size)) for sig in c.signatures]
    if not table:
        return
    if any(b"\0" in sig.magic for sig, _, _ in table):
        raise ValueError("a signature magic must not contain a zero byte")
    overlap = max(sig.at + len(sig.magic) for sig, _, _ in table)
    window = max(settings.window, 4096)
    if settings.alignment is not None:
        if settings.alignment <= 0:
            raise ValueError("alignment must be positive")
        window = -(-window // settings.alignment) * settings.alignment
    for r in merge_ranges(ranges):
        yield from _carve_range(read, r, evidence, table, window, overlap,
                                settings.report_fragments, settings.alignment)


def _carve_range(
    read: Read,
    r: ByteRange,
    evidence: str,
    table: list[tuple[Signature, Carver, int]],
    window: int,
    overlap: int,
    report_fragments: bool,
    alignment: int | None = None,
) -> Iterator[Item]:
    end = r.offset + r.length
    source = _RangeSource(read, end)
    needles: dict[bytes, list[int]] = {}
    for index, (sig, _, _) in enumerate(table):
        needles.setdefault(sig.magic, []).append(index)
    resume = r.offset  # hits before this lie inside an object already carved
    wstart = r.offset
    while wstart < end:
        wend = min(end, wstart + window)
        buf = source.load(wstart, wend - wstart + overlap)
        if alignment is not None:
            hits = _aligned_hits(buf, wstart, wend, alignment, needles, table)
        else:
            hits = []
            segments = _nonzero_segments(buf)
            span = wend - wstart
            for magic, entries in needles.items():
                ats = [(table[i][0].at, i) for i in entries]
                lo_at = min(at for at, _ in ats)
                hi_at = max(at for at, _ in ats)
                for seg_start, seg_end in segments:
                    # A start in [wstart, wend) puts the magic in [at, span + at) of buf.
                    hi = min(seg_end, span + hi_at + len(magic))
                    p = buf.find(magic, max(seg_start, lo_at), hi)
                    while p >= 0:
                        hits += [(wstart + p - at, i) for at, i in ats if 0 <= p - at < span]
                        p = buf.find(magic, p + 1, hi)
        hits.sort()
        done = -1
        for start, index in hits:
            if start < resume or start == done:
                continue
            sig, carver, max_size = table[index]
            try:
                length = carver.carve(source, start, max_size)
            except NotACandidate:
                continue
            except CarvedFragmentError as exc:
                done = start
                if report_fragments:
                    error = f"{FRAGMENT_ERROR.format(kind=carver.kind)}: {exc.reason}"
                    yield _item(evidence, carver, r, start, max(exc.examined, 1), error)
                continue
            done = start
            resume = start + length
            yield _item(evidence, carver, r, start, length, None)
        wstart = wend
