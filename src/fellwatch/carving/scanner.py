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
FRAGMENT_ERROR = "fragment: not a complete {kind}"


@dataclass(frozen=True, slots=True)
class CarveSettings:
    """What changes carving results (recorded in findings.json settings)."""

    formats: tuple[str, ...] | None = None  # None: every registered carver
    max_sizes: Mapping[str, int] | None = None  # per carver name; default: the carver's own
    report_fragments: bool = True
    window: int = DEFAULT_WINDOW


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
    overlap = max(sig.at + len(sig.magic) for sig, _, _ in table)
    window = max(settings.window, 4096)
    for r in merge_ranges(ranges):
        yield from _carve_range(read, r, evidence, table, window, overlap,
                                settings.report_fragments)


def _carve_range(
    read: Read,
    r: ByteRange,
    evidence: str,
    table: list[tuple[Signature, Carver, int]],
    window: int,
    overlap: int,
    report_fragments: bool,
) -> Iterator[Item]:
    end = r.offset + r.length
    source = _RangeSource(read, end)
    resume = r.offset  # hits before this lie inside an object already carved
    wstart = r.offset
    while wstart < end:
        wend = min(end, wstart + window)
        buf = source.load(wstart, wend - wstart + overlap)
        hits: list[tuple[int, int]] = []
        for index, (sig, _, _) in enumerate(table):
            # Starts in [wstart, wend) put the magic in [sig.at, sig.at + window) of buf.
            stop = wend - wstart + sig.at + len(sig.magic)
            p = buf.find(sig.magic, sig.at, stop)
            while p >= 0:
                hits.append((wstart + p - sig.at, index))
                p = buf.find(sig.magic, p + 1, stop)
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
