"""NIST NSRL RDSv3: the SQLite reference data set of known software files (known-good).

A full RDSv3 database has the `FILE` view (sha256, sha1, md5, crc32, file_name, file_size,
package_id: one row per file name, so the same digests repeat); a minimal one has the
`DISTINCT_HASH` table (sha256, sha1, md5). `DISTINCT_HASH` is read when present, else `FILE`.
The database is opened read-only and immutable: it is reference data and may sit on read-only
media.
"""

from __future__ import annotations

import sqlite3
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from fellwatch.hashsets.base import HashEntry, HashKind, HashSetError, ReadNotes, SetKind
from fellwatch.hashsets.digests import checked

SQLITE_MAGIC = b"SQLite format 3\x00"
_TABLES = ("DISTINCT_HASH", "FILE")
_DIGESTS: tuple[HashKind, ...] = ("sha256", "sha1", "md5")


def open_readonly(path: Path) -> sqlite3.Connection:
    uri = f"file:{urllib.parse.quote(str(path.resolve()))}?mode=ro&immutable=1"
    return sqlite3.connect(uri, uri=True)


class NsrlRds:
    name: ClassVar[str] = "nsrl"
    default_kind: ClassVar[SetKind] = "known-good"

    def sniff(self, head: bytes, path: Path) -> bool:
        return head.startswith(SQLITE_MAGIC)

    def read(self, path: Path, notes: ReadNotes | None = None) -> Iterator[HashEntry]:
        try:
            conn = open_readonly(path)
        except sqlite3.Error as exc:
            raise HashSetError(f"{path.name}: cannot open as SQLite: {exc}") from None
        try:
            yield from _rows(conn, path.name)
        except sqlite3.Error as exc:
            raise HashSetError(f"{path.name}: not a readable NSRL RDSv3 database: {exc}") from None
        finally:
            conn.close()


def _rows(conn: sqlite3.Connection, label: str) -> Iterator[HashEntry]:
    names = {
        row[0].upper(): row[0]
        for row in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
    }
    table = next((names[t] for t in _TABLES if t in names), None)
    if table is None:
        raise HashSetError(f"{label}: no FILE or DISTINCT_HASH table: not an NSRL RDSv3 database")
    columns = {row[1].lower() for row in conn.execute(f'PRAGMA table_info("{table}")')}
    kinds = [k for k in _DIGESTS if k in columns]
    if not kinds:
        raise HashSetError(f"{label}: {table} has no sha256, sha1 or md5 column")
    size = "file_size" if "file_size" in columns else "NULL"
    cursor = conn.execute(f'SELECT {", ".join(kinds)}, {size} FROM "{table}"')
    number = 0
    while rows := cursor.fetchmany(10_000):
        for row in rows:
            number += 1
            file_size = row[-1] if isinstance(row[-1], int) else None
            for kind, value in zip(kinds, row, strict=False):
                if value:
                    digest = checked(value, kind)
                    if digest is None:
                        raise HashSetError(
                            f"{label}: {table} row {number}: not a {kind} digest: {value!r}"
                        )
                    yield HashEntry(kind, digest, None, None, file_size)
