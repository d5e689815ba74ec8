"""Table b-tree cells and records read out of raw page bytes, for deleted-record recovery.

A table-leaf cell is: payload length (varint), rowid (varint), then the payload (the record: a
header of serial types, then the values). A payload longer than the page's local maximum keeps
its first bytes in the cell and the rest on a chain of overflow pages (4-byte next-page number,
then content); the cell ends with the first overflow page's number.

Two parses:

* `intact_cell`: a cell as SQLite wrote it (on a freed page, in a WAL frame, or one that slid
  into a page's unallocated gap when the content area shrank past it);
* `damaged_cell`: a deleted cell whose first 4 bytes SQLite overwrote with a freeblock header
  (next-freeblock offset, size). The payload length and rowid are lost, and with them usually
  the record header's size byte (and, when both varints are one byte each, its first serial
  type). What is known of the table stands in for them: its column count, and that an INTEGER
  PRIMARY KEY column always has serial type 0 (its value is the rowid). The payload length is
  then the header's size plus its values' sizes, which also tells whether it overflowed.

Every parse is strict (serial types valid, values within the bytes, the table's column count,
UTF-8 text) and bounded: overflow chains are followed at most as many pages as the payload
needs, never to a page seen twice; `Budget` caps the attempts made on one page.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

# Serial types the lost first byte of a header may have held when no INTEGER PRIMARY KEY says
# it is NULL: NULL, the integers, a float, 0 and 1 (a text's length cannot be guessed).
_GUESSES = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9)
_INT_SIZES = (0, 1, 2, 3, 4, 6, 8, 8, 0, 0)
# A freeblock header is 4 bytes; the cell's payload length and rowid varints take 2 to 8 of
# the cell's first bytes (payloads up to 2 MiB, rowids up to 2^35).
_LOST = 4
_SPLITS = range(2, 9)


@dataclass(frozen=True, slots=True)
class Shape:
    """What is known of the table whose records are looked for."""

    columns: int
    alias: int | None  # index of the INTEGER PRIMARY KEY column (serial type always 0)
    # Per column, from its declared type's affinity: "n" numeric (NULL, an integer or a
    # float), "t" text (NULL, text or a blob), "" anything; upper case when the column is NOT
    # NULL (never serial type 0). A rebuilt header must fit them.
    kinds: tuple[str, ...] = ()


def affinity_kind(declared: str) -> str:
    """The kind of values a column of this declared type holds (SQLite's affinity rules)."""
    upper = declared.upper()
    if "INT" in upper:
        return "n"
    if any(word in upper for word in ("CHAR", "CLOB", "TEXT")):
        return "t"
    if "BLOB" in upper or not upper:
        return ""
    return "n"  # REAL, NUMERIC and the rest (TIMESTAMP, LONG, BOOLEAN)


def _fits(shape: Shape, column: int, serial: int) -> bool:
    if column >= len(shape.kinds):
        return True
    kind = shape.kinds[column]
    if kind.isupper() and serial == 0:
        return False
    if kind in ("n", "N"):
        return serial < 10
    if kind in ("t", "T"):
        return serial == 0 or serial >= 12
    return True


@dataclass(frozen=True, slots=True)
class Pages:
    """The database's pages, for following overflow chains (the recovered page image)."""

    image: bytes | bytearray
    page_size: int
    usable: int
    # Pages whose first bytes are no record's: freelist trunk pages (next trunk, leaf list). An
    # overflow chain through one was overwritten there, so the record is not read.
    trunks: frozenset[int] = frozenset()

    @property
    def count(self) -> int:
        return len(self.image) // self.page_size

    @property
    def max_local(self) -> int:
        return self.usable - 35

    @property
    def min_local(self) -> int:
        return (self.usable - 12) * 32 // 255 - 23

    def local_size(self, payload: int) -> int:
        """How many payload bytes a table-leaf cell keeps on its own page (SQLite's rule)."""
        if payload <= self.max_local:
            return payload
        keep = self.min_local + (payload - self.min_local) % (self.usable - 4)
        return keep if keep <= self.max_local else self.min_local

    def page(self, number: int) -> bytes:
        at = (number - 1) * self.page_size
        return bytes(self.image[at : at + self.page_size])


class Budget:
    """Parse attempts allowed on one page: a hostile page costs a bounded amount of work."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.spent = 0

    def spend(self, n: int = 1) -> bool:
        self.spent += n
        return self.spent <= self.limit


def varint(data: bytes, at: int) -> tuple[int, int]:
    """A SQLite varint at `at`: (value, next offset). IndexError when cut short."""
    value = 0
    for i in range(8):
        byte = data[at + i]
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, at + i + 1
    return (value << 8) | data[at + 8], at + 9


def serial_size(serial: int) -> int:
    """The bytes a value of `serial` takes; ValueError for the reserved types 10 and 11."""
    if serial < 10:
        return _INT_SIZES[serial]
    if serial < 12:
        raise ValueError("reserved serial type")
    return (serial - 12) // 2


def value(serial: int, data: bytes, at: int) -> tuple[object, int]:
    size = serial_size(serial)
    if at + size > len(data):
        raise IndexError("value cut short")
    if serial == 0:
        return None, at
    if serial <= 6:
        return int.from_bytes(data[at : at + size], "big", signed=True), at + size
    if serial == 7:
        return struct.unpack(">d", data[at : at + 8])[0], at + 8
    if serial in (8, 9):
        return serial - 8, at
    raw = data[at : at + size]
    if serial % 2:
        return raw.decode("utf-8"), at + size
    return raw, at + size


def values_of(serials: list[int], body: bytes, shape: Shape) -> tuple[object, ...] | None:
    """The values of a record whose body (bytes after the header) is exactly `body`."""
    if not serials or len(serials) > shape.columns:
        return None
    if shape.alias is not None and shape.alias < len(serials) and serials[shape.alias] != 0:
        return None  # an INTEGER PRIMARY KEY is stored as NULL: not this table's record
    pos = 0
    found = []
    for serial in serials:
        item, pos = value(serial, body, pos)
        found.append(item)
    if pos != len(body) or all(v is None for v in found):
        return None
    return tuple(found)


def overflow(pages: Pages, first: int, need: int) -> bytes | None:
    """`need` bytes from the overflow chain starting at page `first`; None when the chain
    leaves the file, loops, or passes through a freelist trunk page (a freed overflow page
    that became one lost its first bytes, the chain's next-page number with them)."""
    room = pages.usable - 4
    parts: list[bytes] = []
    seen: set[int] = set()
    number, got = first, 0
    while got < need:
        if (not 1 < number <= pages.count or number in seen or number in pages.trunks
                or len(seen) * room > need):
            return None
        seen.add(number)
        page = pages.page(number)
        take = min(room, need - got)
        parts.append(page[4 : 4 + take])
        got += take
        number = struct.unpack(">I", page[:4])[0]
    return b"".join(parts)


def _payload(pages: Pages, page: bytes, start: int, total: int, end: int,
             ) -> tuple[bytes, int] | None:
    """The payload of `total` bytes whose local part starts at `start` (overflow followed),
    with the offset where the cell ends; None when it does not fit before `end`."""
    local = pages.local_size(total)
    cell_end = start + local + (4 if local < total else 0)
    if cell_end > end:
        return None
    data = page[start : start + local]
    if local < total:
        first = struct.unpack(">I", page[start + local : start + local + 4])[0]
        rest = overflow(pages, first, total - local)
        if rest is None:
            return None
        data += rest
    return data, cell_end


def _max_payload(pages: Pages) -> int:
    return pages.count * pages.usable


def intact_cell(pages: Pages, page: bytes, at: int, end: int, shape: Shape,
                ) -> tuple[int, tuple[object, ...], int] | None:
    """(rowid, values, end of cell) of a whole cell at `at`, or None."""
    try:
        total, pos = varint(page, at)
        rowid, pos = varint(page, pos)
        if total < 2 or total > _max_payload(pages):
            return None
        got = _payload(pages, page, pos, total, end)
        if got is None:
            return None
        payload, cell_end = got
        size, pos = varint(payload, 0)
        if not 2 <= size <= len(payload) or size > 9 * shape.columns + 9:
            return None
        serials = []
        while pos < size:
            serial, pos = varint(payload, pos)
            serials.append(serial)
        if pos != size:
            return None
        found = values_of(serials, payload[size:], shape)
    except (IndexError, ValueError, UnicodeDecodeError):
        return None  # a damaged or half-overwritten cell: nothing that can be trusted
    return None if found is None else (rowid, found, cell_end)


def _serials(page: bytes, at: int, count: int, limit: int, shape: Shape, first: int,
             ) -> tuple[list[int], int] | None:
    """`count` serial types at `at` for columns `first`.., or None when one does not fit its
    column's kind (most tries end at the first: the cheap way to reject bytes that are not a
    header)."""
    serials = []
    for column in range(first, first + count):
        serial, at = varint(page, at)
        if at > limit or not _fits(shape, column, serial):
            return None
        serials.append(serial)
    return serials, at


def _header_size(serials: list[int]) -> int:
    """A header's size (its size byte included); headers of 128 bytes or more, whose size
    takes two bytes, are not reconstructed (0)."""
    size = 1 + sum(len(_varint_bytes(s)) for s in serials)
    return size if size < 0x80 else 0


def _varint_bytes(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes(reversed(out))


def damaged_cell(pages: Pages, page: bytes, at: int, end: int, shape: Shape,
                 budget: Budget) -> Iterator[tuple[tuple[object, ...], int]]:
    """Candidate (values, end of cell) of a deleted cell at `at` whose first 4 bytes are lost,
    most likely first; the caller keeps the first its table's check accepts.

    Tried for each split of those bytes between the lost varints and the record header: the
    header starts `split` bytes into the cell; below 4 its size byte (and below 3 its first
    serial type) are reconstructed from the table's column count."""
    alias_first = shape.alias == 0
    for split in _SPLITS:
        header = at + split
        try:
            # The cheap test first (an INTEGER PRIMARY KEY's serial type is 0), then the
            # attempt is counted.
            if split >= _LOST:
                if alias_first and page[header + 1] != 0:
                    continue
                if not budget.spend():
                    return
                size, pos = varint(page, header)
                if not 2 <= size <= 9 * shape.columns + 9:
                    continue
                serials: list[int] = []
                while pos < header + size and _fits(shape, len(serials), page[pos]):
                    serial, pos = varint(page, pos)
                    serials.append(serial)
                if pos != header + size or pos > end:
                    continue
                guesses: tuple[list[int], ...] = (serials,)
            else:
                known = shape.columns - (_LOST - 1 - split)
                if known < 1:
                    continue
                if split == 3 and alias_first and page[at + _LOST] != 0:
                    continue
                if not any(page[at + _LOST : at + _LOST + known]):
                    continue  # zeros (never-written space): a header of NULLs, no record
                if not budget.spend():
                    return
                read = _serials(page, at + _LOST, known, end, shape, _LOST - 1 - split)
                if read is None:
                    continue
                rest, pos = read
                if split == 3:
                    guesses = (rest,)
                else:
                    firsts = (0,) if alias_first else tuple(
                        g for g in _GUESSES if _fits(shape, 0, g))
                    guesses = tuple([g, *rest] for g in firsts)
        except (IndexError, ValueError):
            continue
        for serials in guesses:
            total = _header_size(serials) if split < _LOST else pos - header
            if not total or not budget.spend():
                continue
            try:
                body_size = sum(serial_size(s) for s in serials)
                found = _damaged_values(pages, page, header, total, body_size, end, serials,
                                        shape)
            except (IndexError, ValueError, UnicodeDecodeError):
                continue
            if found is not None:
                yield found


def _damaged_values(pages: Pages, page: bytes, header: int, header_size: int, body_size: int,
                    end: int, serials: list[int], shape: Shape,
                    ) -> tuple[tuple[object, ...], int] | None:
    total = header_size + body_size
    if total > _max_payload(pages):
        return None
    # The header's own bytes may be lost; the payload is read from where it starts, and only
    # the part after the header (the values) is used.
    got = _payload(pages, page, header, total, end)
    if got is None:
        return None
    payload, cell_end = got
    found = values_of(serials, payload[header_size:], shape)
    return None if found is None else (found, cell_end)
