"""A SQLite database read in memory, with its `-wal` or hot `-journal` applied.

The database file and its sibling files are read from the evidence as bytes; the page image
SQLite would see after recovery is built here and handed to `sqlite3.Connection.deserialize`,
so nothing is written anywhere (not to the evidence, not to a temporary copy).

* **WAL**: frames are applied in order while their salts match the WAL header and the
  cumulative checksum holds, up to the last commit frame (what SQLite's own recovery keeps).
  Messages that are only in an un-checkpointed WAL are found this way.
* **Rollback journal**: a journal whose header is intact is hot (a transaction was cut short),
  so its original pages are written back and the file cut to its initial size, as SQLite does
  on the next open; a record whose checksum fails ends the rollback there, as in SQLite.
* A file that is not SQLite is named: empty, truncated (fewer bytes than the header's pages),
  random-looking (encrypted, e.g. SQLCipher: no plaintext header, high-entropy first page) or
  simply something else.
"""

from __future__ import annotations

import math
import sqlite3
import struct
from collections import Counter
from dataclasses import dataclass

HEADER = b"SQLite format 3\x00"
WAL_MAGICS = {0x377F0682: "<", 0x377F0683: ">"}
JOURNAL_MAGIC = bytes.fromhex("d9d505f920a163d7")
# Bits per byte above which a first page without a SQLite header is called encrypted: text,
# SQLite pages and most file formats stay well below it; ciphertext is close to 8.
ENCRYPTED_ENTROPY = 7.2


class DatabaseError(Exception):
    """The database cannot be read; the message names the problem in one line."""


@dataclass(frozen=True, slots=True)
class Recovered:
    """The page image and what was applied to build it."""

    image: bytearray
    page_size: int
    wal_frames: int  # frames applied from the WAL (0: none)
    journal_pages: int  # pages rolled back from a hot journal (0: none)
    # The WAL as read (every frame, applied or not) and the rollback journal (hot or not: its
    # pages are the originals of the last transaction), for deleted-record recovery (`carve`).
    wal: bytes | None = None
    journal: bytes | None = None


def entropy(data: bytes) -> float:
    if not data:
        return 0.0
    counts = Counter(data)
    n = len(data)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def check_header(data: bytes) -> int:
    """The page size of a SQLite file, or DatabaseError naming what the file is instead."""
    if not data:
        raise DatabaseError("empty file, not a SQLite database")
    if data[:16] != HEADER:
        if len(data) >= 512 and entropy(data[:4096]) >= ENCRYPTED_ENTROPY:
            raise DatabaseError(
                "encrypted database: no SQLite header and a random-looking first page "
                "(SQLCipher-like); not decrypted")
        raise DatabaseError("not a SQLite database: no SQLite header")
    if len(data) < 100:
        raise DatabaseError(f"truncated database: {len(data)} bytes, shorter than its header")
    raw = struct.unpack(">H", data[16:18])[0]
    page_size = 65536 if raw == 1 else raw
    if page_size < 512 or page_size & (page_size - 1):
        raise DatabaseError(f"corrupt database header: page size {raw}")
    return page_size


def _wal_checksum(data: bytes, order: str, s0: int, s1: int) -> tuple[int, int]:
    words = struct.unpack(f"{order}{len(data) // 4}I", data)
    mask = 0xFFFFFFFF
    for i in range(0, len(words), 2):
        s0 = (s0 + words[i] + s1) & mask
        s1 = (s1 + words[i + 1] + s0) & mask
    return s0, s1


def _apply_wal(pages: dict[int, bytes], wal: bytes, page_size: int) -> tuple[int, int | None]:
    """Apply committed WAL frames onto `pages`; (frames applied, database pages after)."""
    if len(wal) < 32:
        return 0, None
    magic, _version, wal_page_size, _seq, salt1, salt2, c1, c2 = struct.unpack(
        ">8I", wal[:32])
    order = WAL_MAGICS.get(magic)
    if order is None or wal_page_size != page_size:
        return 0, None
    s0, s1 = _wal_checksum(wal[:24], order, 0, 0)
    if (s0, s1) != (c1, c2):
        return 0, None
    pending: dict[int, bytes] = {}
    applied = 0
    db_pages: int | None = None
    frame = 24 + page_size
    offset = 32
    while offset + frame <= len(wal):
        header = wal[offset : offset + 24]
        number, commit_size, f_salt1, f_salt2, f1, f2 = struct.unpack(">6I", header)
        if (f_salt1, f_salt2) != (salt1, salt2) or number == 0:
            break  # a frame left over from before the last checkpoint: not part of this WAL
        page = wal[offset + 24 : offset + frame]
        s0, s1 = _wal_checksum(header[:8], order, s0, s1)
        s0, s1 = _wal_checksum(page, order, s0, s1)
        if (s0, s1) != (f1, f2):
            break
        pending[number] = page
        if commit_size:
            # Only a commit frame makes the frames before it part of the database.
            pages.update(pending)
            applied += len(pending)
            pending.clear()
            db_pages = commit_size
        offset += frame
    return applied, db_pages


def _apply_journal(
    pages: dict[int, bytes], journal: bytes, page_size: int
) -> tuple[int, int | None]:
    """Roll back a hot journal onto `pages`; (pages restored, database pages after)."""
    if len(journal) < 28 or journal[:8] != JOURNAL_MAGIC:
        return 0, None  # no journal, or one already committed (zeroed or truncated header)
    count, nonce, initial, sector, j_page_size = struct.unpack(">5I", journal[8:28])
    if j_page_size != page_size or sector < 28 or sector > 1 << 16:
        return 0, None
    record = 4 + page_size + 4
    if count == 0xFFFFFFFF:
        count = (len(journal) - sector) // record
    originals: dict[int, bytes] = {}
    offset = sector
    for _ in range(count):
        if offset + record > len(journal):
            break
        number = struct.unpack(">I", journal[offset : offset + 4])[0]
        page = journal[offset + 4 : offset + 4 + page_size]
        checksum = struct.unpack(">I", journal[offset + 4 + page_size : offset + record])[0]
        expected = nonce
        i = page_size - 200
        while i > 0:
            expected = (expected + page[i]) & 0xFFFFFFFF
            i -= 200
        if checksum != expected or number == 0:
            break
        originals.setdefault(number, page)  # the first saved copy is the original
        offset += record
    pages.update(originals)
    return len(originals), initial


def recover(main: bytes, wal: bytes | None = None, journal: bytes | None = None) -> Recovered:
    """The page image of `main` with its WAL (or hot journal) applied.

    One copy of the file is made (the image SQLite is handed); the WAL's and journal's pages
    are written over it, so memory stays near twice the database, not a page table's worth.
    """
    page_size = check_header(main)
    header_pages = struct.unpack(">I", main[28:32])[0]
    valid_for = main[92:96] == main[24:28]
    whole = len(main) // page_size
    changes: dict[int, bytes] = {}
    frames, wal_pages = _apply_wal(changes, wal, page_size) if wal else (0, None)
    rolled, journal_pages = (0, None)
    if journal and not frames:
        rolled, journal_pages = _apply_journal(changes, journal, page_size)
    if wal_pages is not None:
        size = wal_pages
    elif journal_pages is not None and rolled:
        size = journal_pages
    elif valid_for and header_pages:
        size = header_pages
    else:
        size = whole
    missing = sum(1 for n in range(whole + 1, size + 1) if n not in changes)
    if missing or (len(main) % page_size and not frames):
        raise DatabaseError(
            f"truncated database: {len(main)} bytes, {size} pages of {page_size} needed "
            f"({missing} missing)")
    image = bytearray(main[: min(whole, size) * page_size])
    if size > whole:
        image.extend(bytes((size - whole) * page_size))
    for number, page in changes.items():
        if number <= size:
            image[(number - 1) * page_size : number * page_size] = page
    # Read as a rollback-journal database (the WAL is already applied), with the page count
    # that was just built trusted by SQLite (version-valid-for = change counter).
    image[18:20] = b"\x01\x01"
    image[28:32] = struct.pack(">I", size)
    image[92:96] = image[24:28]
    return Recovered(image, page_size, frames, rolled, wal, journal)


def open_in_memory(recovered: Recovered) -> sqlite3.Connection:
    """A read-only connection to the page image (a private copy inside SQLite)."""
    db = sqlite3.connect(":memory:")
    try:
        db.deserialize(recovered.image)
        db.execute("PRAGMA query_only=1")
        # A sort or index SQLite builds for a query (ORDER BY on a column without an index,
        # of a large message table) goes to a temporary file in the system's temp folder by
        # default: outside the scan folder, with the evidence's messages in it. Keep it here.
        db.execute("PRAGMA temp_store=MEMORY")
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        db.close()
        raise DatabaseError(f"corrupt database: {exc}") from None
    return db
