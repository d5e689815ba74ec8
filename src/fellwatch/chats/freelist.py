"""Deleted records from a SQLite database's freelist pages.

When rows are deleted and a whole table page empties, SQLite puts the page on its freelist and
(unless `secure_delete` is on) leaves its bytes as they were: the old cells are still there. This
module walks the freelist (trunk pages and their leaf pages), reads every page that still looks
like a table b-tree leaf (type 0x0D), and parses its cells as records: the rowid, the record
header's serial types, the values. What it gets is raw records; a source decides whether a record
is one of its messages (column count and types against its table's schema) and makes the Message,
marked `deleted`.

How far this goes: whole freed pages only. Deleted cells inside pages still in use (freeblocks,
the unallocated gap between the cell pointers and the cell content) are not read yet, nor are
records whose payload continues on an overflow page (longer than a page), nor pages SQLite
overwrote (secure_delete, which some Android builds turn on, VACUUM, or reuse).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

LEAF_TABLE = 0x0D


@dataclass(frozen=True, slots=True)
class FreeRecord:
    page: int
    rowid: int
    values: tuple[object, ...]


def _varint(data: bytes, at: int) -> tuple[int, int]:
    """A SQLite varint at `at`: (value, next offset). IndexError when cut short."""
    value = 0
    for i in range(8):
        byte = data[at + i]
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, at + i + 1
    return (value << 8) | data[at + 8], at + 9


def _value(serial: int, data: bytes, at: int) -> tuple[object, int]:
    if serial == 0:
        return None, at
    if 1 <= serial <= 6:
        size = (1, 2, 3, 4, 6, 8)[serial - 1]
        if at + size > len(data):
            raise IndexError("value cut short")
        return int.from_bytes(data[at : at + size], "big", signed=True), at + size
    if serial == 7:
        if at + 8 > len(data):
            raise IndexError("value cut short")
        return struct.unpack(">d", data[at : at + 8])[0], at + 8
    if serial in (8, 9):
        return serial - 8, at
    if serial in (10, 11):
        raise ValueError("reserved serial type")
    size = (serial - 12) // 2
    if at + size > len(data):
        raise IndexError("value cut short")
    raw = data[at : at + size]
    if serial % 2:
        return raw.decode("utf-8"), at + size
    return raw, at + size


def free_pages(image: bytes | bytearray, page_size: int) -> list[int]:
    """Every page number on the freelist (trunks and leaves), in freelist order."""
    total = len(image) // page_size
    trunk = struct.unpack(">I", image[32:36])[0]
    count = struct.unpack(">I", image[36:40])[0]
    pages: list[int] = []
    seen: set[int] = set()
    while trunk and trunk <= total and trunk not in seen and len(pages) < count:
        seen.add(trunk)
        pages.append(trunk)
        base = (trunk - 1) * page_size
        next_trunk, leaves = struct.unpack(">II", image[base : base + 8])
        leaves = min(leaves, (page_size - 8) // 4)
        for i in range(leaves):
            leaf = struct.unpack(">I", image[base + 8 + 4 * i : base + 12 + 4 * i])[0]
            if 0 < leaf <= total and leaf not in seen:
                seen.add(leaf)
                pages.append(leaf)
        trunk = next_trunk
    return pages


@dataclass(frozen=True, slots=True)
class Freed:
    """The freed table-leaf pages of a database, copied out of its page image so the image
    need not be kept while the database is read (SQLite holds its own copy)."""

    pages: tuple[tuple[int, bytes], ...]
    page_size: int
    reserved: int


def freed(image: bytes | bytearray, page_size: int) -> Freed:
    """The table-leaf pages on the freelist of `image`, in freelist order."""
    kept = []
    for number in free_pages(image, page_size):
        page = bytes(image[(number - 1) * page_size : number * page_size])
        if page[:1] == bytes((LEAF_TABLE,)):
            kept.append((number, page))
    return Freed(tuple(kept), page_size, image[20] if len(image) > 20 else 0)


def records(image: bytes | bytearray | Freed, page_size: int = 0,
            reserved: int = 0) -> Iterator[FreeRecord]:
    """The records still readable on freed table-leaf pages (of a page image, or `Freed`)."""
    found = image if isinstance(image, Freed) else Freed(freed(image, page_size).pages,
                                                           page_size, reserved)
    usable = found.page_size - found.reserved
    max_local = usable - 35
    for number, page in found.pages:
        cells = struct.unpack(">H", page[3:5])[0]
        for i in range(min(cells, (usable - 8) // 2)):
            pointer = struct.unpack(">H", page[8 + 2 * i : 10 + 2 * i])[0]
            if not 8 <= pointer < usable:
                continue
            try:
                cell = _cell(page[:usable], pointer, max_local)
            except (IndexError, ValueError, UnicodeDecodeError):
                continue  # a damaged or half-overwritten cell: nothing that can be trusted
            if cell is not None:
                yield FreeRecord(number, cell[0], cell[1])


def _cell(page: bytes, at: int, max_local: int) -> tuple[int, tuple[object, ...]] | None:
    length, at = _varint(page, at)
    rowid, at = _varint(page, at)
    if length > max_local or at + length > len(page):
        return None  # continues on an overflow page: not read
    payload = page[at : at + length]
    header_size, pos = _varint(payload, 0)
    if header_size > len(payload):
        return None
    serials = []
    while pos < header_size:
        serial, pos = _varint(payload, pos)
        serials.append(serial)
    values = []
    pos = header_size
    for serial in serials:
        value, pos = _value(serial, payload, pos)
        values.append(value)
    if pos != len(payload):
        return None  # the values do not fill the payload exactly: not a record as written
    return rowid, tuple(values)
