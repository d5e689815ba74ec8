"""Deleted records of one table, carved from the page image and every WAL frame.

Where a deleted row's bytes survive (unless SQLite overwrote them: `secure_delete`, VACUUM,
reuse), and what is read of each:

* **freelist pages** (a table page that emptied): its cells, still listed by its cell pointer
  array, are whole; its freeblocks and unallocated gap are carved as below. A freelist *trunk*
  page has its first bytes overwritten by the freelist (next trunk, leaf count, leaf numbers),
  the cell pointers with them: the rest of the page is scanned for cells;
* **the table's own pages, still in use** (found by walking its b-tree from its root page):
  a deleted cell becomes a *freeblock* (its first 4 bytes overwritten by the next-freeblock
  offset and size: `cells.damaged_cell`), or, when it sat at the start of the cell content area,
  slides into the *unallocated gap* between the cell pointer array and the content area intact
  (`cells.intact_cell`). Both regions are scanned offset by offset, whole cells first, and
  interior pages' too (the root that was the leaf before the table outgrew one page keeps
  that leaf's old cells in its unused space);
* **WAL frames**, all of them, not only those applied: a frame before the last commit holds an
  older version of a page (where a since-deleted row may still be a live cell), and frames left
  after a checkpoint's salt change are old versions no longer applied. Every frame that is a
  table leaf is parsed (its cells, freeblocks and gap); a frame whose page is byte-identical to
  the image's page, or to a frame already parsed, is skipped;
* **the rollback journal's pages**, hot or not: the originals of the pages the last
  transaction changed (a delete's, where the rows still are); `journal_mode=PERSIST`, common on
  Android, leaves the journal behind with only its header zeroed.

A record is kept only when `accept` (the source's check of its values against the table's
columns) turns it into something. Whether a record with a recovered rowid is a live row, and
duplicates across these places, are for the caller. Work is bounded: each page has a `Budget`
of parse attempts, freeblock chains must ascend inside the page, the b-tree walk never visits a
page twice. For a table whose first column is its INTEGER PRIMARY KEY, offsets where no record
header can start are skipped with one regular-expression search per region (`header_finder`).
"""

from __future__ import annotations

import functools
import hashlib
import re
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import TypeVar

from fellwatch.chats.cells import Budget, Pages, Shape, damaged_cell, intact_cell
from fellwatch.chats.freelist import free_page_uses

LEAF_TABLE = 0x0D
OLD_COPIES = ("wal", "journal")  # where a page is an old version, not the database's own
INTERIOR_TABLE = 0x05
# Parse attempts per page: a whole cell and the splits of a damaged one that pass the cheap
# test, at each offset (a hostile page stops there; a real one needs far fewer).
ATTEMPTS_PER_BYTE = 16

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Found:
    where: str  # "freelist", "freeblock", "gap", "trunk" (a freelist trunk page), "wal" or
    # "journal" (the page of an old WAL frame or of the rollback journal)
    page: int  # page number (of the WAL frame's page for "wal")
    offset: int  # of the cell in its page
    rowid: int | None  # None: overwritten by a freeblock header
    values: tuple[object, ...]


def _header(number: int) -> int:
    return 100 if number == 1 else 0


def table_leaves(pages: Pages, root: int) -> list[int]:
    """The leaf pages of the table b-tree rooted at `root`, left to right."""
    return [n for n, leaf in table_pages(pages, root) if leaf]


def table_pages(pages: Pages, root: int) -> list[tuple[int, bool]]:
    """The pages of the table b-tree rooted at `root`, depth first, each with whether it is a
    leaf (else interior)."""
    leaves: list[tuple[int, bool]] = []
    seen: set[int] = set()
    stack = [root]
    while stack:
        number = stack.pop()
        if not 1 <= number <= pages.count or number in seen:
            continue
        seen.add(number)
        page = pages.page(number)
        hdr = _header(number)
        kind = page[hdr]
        if kind == LEAF_TABLE:
            leaves.append((number, True))
        elif kind == INTERIOR_TABLE:
            leaves.append((number, False))
            cells = struct.unpack(">H", page[hdr + 3 : hdr + 5])[0]
            children = []
            for i in range(min(cells, (pages.usable - hdr - 12) // 2)):
                pointer = struct.unpack(">H", page[hdr + 12 + 2 * i : hdr + 14 + 2 * i])[0]
                if pointer + 4 <= pages.usable:
                    children.append(struct.unpack(">I", page[pointer : pointer + 4])[0])
            children.append(struct.unpack(">I", page[hdr + 8 : hdr + 12])[0])
            stack.extend(reversed(children))  # popped left to right
    return leaves


def _regions(page: bytes, hdr: int, usable: int) -> list[tuple[str, int, int]]:
    """The freeblocks and the unallocated gap of a table b-tree page, as (kind, start, end)."""
    cells = struct.unpack(">H", page[hdr + 3 : hdr + 5])[0]
    pointers_end = hdr + (8 if page[hdr] == LEAF_TABLE else 12) + 2 * cells
    content = struct.unpack(">H", page[hdr + 5 : hdr + 7])[0] or 65536
    found: list[tuple[str, int, int]] = []
    if pointers_end < content <= usable:
        found.append(("gap", pointers_end, content))
    # SQLite keeps the chain in ascending order; anything else (a loop, a block outside the
    # page) ends the walk there.
    block = struct.unpack(">H", page[hdr + 1 : hdr + 3])[0]
    last = pointers_end - 1
    while block and last < block <= usable - 4:
        following, size = struct.unpack(">HH", page[block : block + 4])
        if size < 4 or block + size > usable:
            break
        found.append(("freeblock", block, block + size))
        last = block + size - 1
        block = following
    return found


_KIND_BYTES = {
    "n": rb"[\x00-\x09]",
    "N": rb"[\x01-\x09]",
    "t": rb"(?:\x00|[\x0c-\x7f]|[\x80-\xff]{1,8}[\x00-\x7f])",
    "T": rb"(?:[\x0c-\x7f]|[\x80-\xff]{1,8}[\x00-\x7f])",
    "": rb"(?:[\x80-\xff]{0,8}[\x00-\x7f])",
}


@functools.lru_cache(maxsize=64)
def header_finder(shape: Shape) -> re.Pattern[bytes] | None:
    """Where a record header of a table whose first column is its INTEGER PRIMARY KEY may be:
    that column's serial type 0 followed by serial types fitting the next columns' kinds (a
    header's bytes after its first two are never the ones a freeblock overwrote). None for
    other tables: every offset is tried."""
    if shape.alias != 0 or not shape.kinds:
        return None
    following = shape.kinds[1 : min(len(shape.kinds), 9)]
    body = b"".join(_KIND_BYTES[k.lower() if k.lower() == "" else k] for k in following)
    # Not all NULLs: never-written space (zeros) holds no record.
    return re.compile(b"(?=\x00(?!\x00{%d})" % len(following) + body + b")", re.DOTALL)


def _scan(pages: Pages, page: bytes, number: int, kind: str, start: int, end: int,
          shape: Shape, budget: Budget, accept: Callable[[Found], T | None],
          ) -> Iterator[tuple[Found, T]]:
    """Records in page[start:end], offset by offset: a whole cell first (skipped past even when
    `accept` refuses it: it is some record), then a damaged one (only skipped past when
    accepted: a damaged parse is a guess until the table's check agrees)."""
    finder = header_finder(shape)
    anchors = [m.start() for m in finder.finditer(page, start, end)] if finder else None
    next_anchor = 0
    at = start
    while at < end - 4 and budget.spend():
        if anchors is not None:
            # A record's header (its INTEGER PRIMARY KEY's 0, then serial types that fit the
            # columns) sits 3 to 10 bytes into its cell, whole or damaged: offsets with none
            # there are skipped without a parse.
            while next_anchor < len(anchors) and anchors[next_anchor] < at + 3:
                next_anchor += 1
            if next_anchor == len(anchors):
                return
            at = max(at, anchors[next_anchor] - 10)
        whole = intact_cell(pages, page, at, end, shape)
        if whole is not None:
            found = Found(kind, number, at, whole[0], whole[1])
            made = accept(found)
            if made is not None:
                yield found, made
            at = whole[2]
            continue
        for values, cell_end in damaged_cell(pages, page, at, end, shape, budget):
            found = Found(kind, number, at, None, values)
            made = accept(found)
            if made is None:
                continue
            # The same record may be a whole cell starting a few bytes on (one that slid into
            # the gap, read here as if its first bytes were lost): then its rowid is known.
            for start_at in range(at + 1, min(at + 9, end - 4)):
                whole = intact_cell(pages, page, start_at, end, shape)
                if whole is not None and whole[2] == cell_end:
                    exact = Found(kind, number, start_at, whole[0], whole[1])
                    made_exact = accept(exact)
                    if made_exact is not None:
                        found, made = exact, made_exact
                        break
            yield found, made
            at = cell_end - 1
            break
        at += 1


def carve_page(pages: Pages, page: bytes, number: int, shape: Shape, where: str,
               with_cells: bool, accept: Callable[[Found], T | None],
               budget: Budget | None = None) -> Iterator[tuple[Found, T]]:
    """The records `accept` takes from one table-leaf page: its listed cells (`with_cells`:
    a freed page or an old copy, whose cells are no longer the table's) and its freeblocks
    and gap."""
    hdr = _header(number)
    if page[hdr] != LEAF_TABLE:
        return
    usable = pages.usable
    if budget is None:
        budget = Budget(ATTEMPTS_PER_BYTE * usable)
    if with_cells:
        cells = struct.unpack(">H", page[hdr + 3 : hdr + 5])[0]
        for i in range(min(cells, (usable - hdr - 8) // 2)):
            if not budget.spend():
                return
            pointer = struct.unpack(">H", page[hdr + 8 + 2 * i : hdr + 10 + 2 * i])[0]
            if not hdr + 8 <= pointer < usable:
                continue
            whole = intact_cell(pages, page, pointer, usable, shape)
            if whole is not None:
                found = Found(where, number, pointer, whole[0], whole[1])
                made = accept(found)
                if made is not None:
                    yield found, made
    for kind, start, end in _regions(page, hdr, usable):
        kind = where if where in OLD_COPIES else kind
        yield from _scan(pages, page, number, kind, start, end, shape, budget, accept)


def wal_frames(wal: bytes, page_size: int) -> Iterator[tuple[int, bytes]]:
    """(page number, page bytes) of every frame in a WAL, applied or not: salts and checksums
    are not required (old frames are what is looked for), only a page number and a size."""
    if len(wal) < 32 or struct.unpack(">I", wal[8:12])[0] != page_size:
        return
    frame = 24 + page_size
    offset = 32
    while offset + frame <= len(wal):
        number = struct.unpack(">I", wal[offset : offset + 4])[0]
        if number:
            yield number, wal[offset + 24 : offset + frame]
        offset += frame


JOURNAL_MAGIC = bytes.fromhex("d9d505f920a163d7")


def journal_pages(journal: bytes, page_size: int) -> Iterator[tuple[int, bytes]]:
    """(page number, page bytes) of every page record in a rollback journal, hot or not. A
    journal left behind by `journal_mode=PERSIST` has its header zeroed after each commit,
    and the sector size with it: its records (4-byte page number, the page, a 4-byte checksum,
    back to back from the first sector boundary) are read at every sector size SQLite uses,
    and what is not a page parses as nothing."""
    record = page_size + 8
    sectors: tuple[int, ...] = tuple(1 << n for n in range(9, 17))
    if journal[:8] == JOURNAL_MAGIC and len(journal) >= 28:
        sector = struct.unpack(">I", journal[20:24])[0]
        if sector in sectors:
            sectors = (sector,)
    for sector in sectors:
        offset = sector
        while offset + record <= len(journal):
            number = struct.unpack(">I", journal[offset : offset + 4])[0]
            if number:
                yield number, journal[offset + 4 : offset + 4 + page_size]
            offset += record


def records(pages: Pages, shape: Shape, root: int | None, wal: bytes | None,
            accept: Callable[[Found], T | None], journal: bytes | None = None,
            ) -> Iterator[tuple[Found, T]]:
    """Every record of the table that `accept` takes, from the freelist, the table's pages in
    use, the WAL's frames and the rollback journal's pages, in that order."""
    free = free_page_uses(pages.image, pages.page_size)
    pages = replace(pages, trunks=frozenset(n for n, used in free.items() if used))
    for number, used in free.items():
        page = pages.page(number)
        if not used:
            yield from carve_page(pages, page, number, shape, "freelist", True, accept)
        elif used < pages.usable - 4:
            # A trunk page: its header and cell pointers are gone under the leaf list, but
            # the cells of the table leaf it was may still fill the rest.
            yield from _scan(pages, page, number, "trunk", used, pages.usable, shape,
                             Budget(ATTEMPTS_PER_BYTE * pages.usable), accept)
    if root:
        for number, leaf in table_pages(pages, root):
            page = pages.page(number)
            if leaf:
                yield from carve_page(pages, page, number, shape, "page", False, accept)
                continue
            # An interior page that was a leaf before a split (the root, when the table
            # outgrew one page) keeps that leaf's old cells in its unused space.
            budget = Budget(ATTEMPTS_PER_BYTE * pages.usable)
            for kind, start, end in _regions(page, _header(number), pages.usable):
                yield from _scan(pages, page, number, kind, start, end, shape, budget, accept)
    parsed: set[bytes] = set()
    for where, old in (("wal", wal_frames(wal or b"", pages.page_size)),
                       ("journal", journal_pages(journal or b"", pages.page_size))):
        for number, page in old:
            if number == 1 or page[0] != LEAF_TABLE or (
                    number <= pages.count and pages.page(number) == page):
                continue  # sqlite_master, not a table leaf, or the version in the image
            digest = hashlib.sha256(page).digest()
            if digest in parsed:
                continue
            parsed.add(digest)
            yield from carve_page(pages, page, number, shape, where, True, accept)
