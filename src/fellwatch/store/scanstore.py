"""The scan's own store: item records and checkpoints in `DIR/scan.sqlite`.

A batch of work units is committed in one transaction together with the records it produced,
so a scan killed at any moment (SIGKILL included) leaves either all of a batch or none of it;
starting the same command again skips the committed units. Records are keyed by
(evidence, key), so a unit done twice can never be counted twice.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fellwatch.errors import FellwatchError, OutputError
from fellwatch.record import ItemRecord
from fellwatch.store import thumbnails as thumbs
from fellwatch.store.inventory import inventory_line, is_lead
from fellwatch.store.located import SCHEMA as LOCATED_SCHEMA
from fellwatch.store.located import Row as LocatedRow
from fellwatch.store.private import private_dir, touch_private

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    evidence INTEGER NOT NULL,
    key TEXT NOT NULL,
    origin TEXT NOT NULL,
    sha256 TEXT,
    record TEXT NOT NULL,
    listed INTEGER NOT NULL DEFAULT 1,
    line TEXT,
    bytes INTEGER NOT NULL DEFAULT 0,
    counted INTEGER NOT NULL DEFAULT 1,
    lead INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (evidence, key)
);
CREATE INDEX IF NOT EXISTS records_sha256 ON records (evidence, sha256);
CREATE TABLE IF NOT EXISTS units (
    evidence INTEGER NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (evidence, key)
) WITHOUT ROWID;
"""

# A stored record is read back by json.loads only (findings.json re-encodes it with sorted keys
# and indentation), so the store keeps the leanest text: no key sorting, no spaces.
_encode = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode


def encode_record(record: ItemRecord) -> str:
    """The stored form of a record (its findings-schema JSON, compact)."""
    return _encode(record.to_json())


Stored = tuple[str, str]  # a record's stored JSON and its inventory.csv row


def stored_forms(record: ItemRecord) -> Stored:
    """What the store keeps of a record, made once (by the worker that made the record)."""
    return encode_record(record), inventory_line(record)


def _columns(record: ItemRecord, made: Stored | None = None) -> tuple[Any, ...]:
    """(record, listed, line, bytes, counted, lead): the stored JSON, its inventory row, and
    what the summary counts of a record findings.json does not list (see `plain_tally`)."""
    text, line = made or stored_forms(record)
    return (text, record.listed(), line, record.size if record.md5 else 0, record.counted(),
            is_lead(record))  # fmt: skip


_SET_COLUMNS = "record = ?, listed = ?, line = ?, bytes = ?, counted = ?, lead = ?"


def set_item_error(db: sqlite3.Connection, evidence: int, key: str, error: str) -> bool:
    """Put `error` on the stored record of (evidence, key) unless it has one, in the caller's
    transaction on `db` (a later stage, such as chats, failing on an item the item pass read).
    The record stays in the store's one encoding and is listed, as every item with an error is.
    Returns False when there is no such record."""
    row = db.execute(
        "SELECT record FROM records WHERE evidence = ? AND key = ?", (evidence, key)
    ).fetchone()
    if row is None:
        return False
    record = ItemRecord.from_json(json.loads(row[0]))
    if record.error is None:
        record.error = error
        db.execute(
            f"UPDATE records SET {_SET_COLUMNS} WHERE evidence = ? AND key = ?",
            (*_columns(record), evidence, key),
        )
    return True


class ScanStoreError(FellwatchError):
    """The output folder holds a different scan, or its store cannot be read."""


class ScanStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            private_dir(path.parent)
            touch_private(path)  # owner-only before SQLite creates it (and its -wal, -shm)
            self._db = sqlite3.connect(path, isolation_level=None)
            # Records are ~1 KiB of JSON each. In 64 KiB pages of a rowid table (the key in its
            # own index) a batch is inserted 20-30x faster than in 4 KiB pages of a WITHOUT
            # ROWID table, which splits a page every few records (docs/performance.md).
            # page_size takes effect only on a new file; an older store keeps its layout.
            self._db.execute("PRAGMA page_size=65536")
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL is durable against a killed process (not against power loss), which is
            # the failure resume is for; FULL would cost an fsync per batch.
            self._db.execute("PRAGMA synchronous=NORMAL")
            # A checkpoint (the one fsync WAL mode does) every 64 MiB of log (1 024 pages of
            # 64 KiB), not after every batch: a batch of 2 048 small files writes ~2 MiB.
            self._db.execute("PRAGMA wal_autocheckpoint=1024")
            tables = {r[0] for r in self._db.execute(
                "SELECT name FROM sqlite_master WHERE type='table'")}
            self._db.executescript(SCHEMA + thumbs.SCHEMA + LOCATED_SCHEMA)
            self._add_columns()
            if "units" in tables and "located" not in tables and self.has_units():
                # Batches committed before the item pass kept `located` rows: a stage that
                # reopens items must find them by walking the evidence (store.located).
                self.set_meta("located", "incomplete")
        except (sqlite3.DatabaseError, OSError) as exc:
            # 64 KiB pages: a nearly full disk can be full already at the schema.
            full = self._output_error(exc)
            if full is not None:
                raise full from exc
            raise ScanStoreError(f"cannot use scan store {path}: {exc}") from exc

    def _add_columns(self) -> None:
        """A store written before the derived columns gets them, filled from its records."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(records)")}
        missing = [c for c in ("listed", "line", "bytes", "counted", "lead") if c not in columns]
        if not missing:
            return
        with self._transaction():
            for column in missing:
                kind = "TEXT" if column == "line" else "INTEGER NOT NULL DEFAULT 0"
                self._db.execute(f"ALTER TABLE records ADD COLUMN {column} {kind}")
            rows = self._db.execute("SELECT evidence, key, record FROM records").fetchall()
            self._db.executemany(
                f"UPDATE records SET {_SET_COLUMNS} WHERE evidence = ? AND key = ?",
                [(*_columns(ItemRecord.from_json(json.loads(text))), evidence, key)
                 for evidence, key, text in rows],
            )  # fmt: skip

    def begin(self, fingerprint: dict[str, Any]) -> bool:
        """Bind the store to one scan. True when resuming the same scan, False when new.

        A store holding a different scan (other evidence, hash sets or settings) is refused:
        mixing two scans' records would make the findings wrong.
        """
        text = json.dumps(fingerprint, sort_keys=True)
        row = self._db.execute("SELECT value FROM meta WHERE name='fingerprint'").fetchone()
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('fingerprint', ?)", (text,))
            return False
        if row[0] != text:
            raise ScanStoreError(
                f"{self.path.parent} holds a different scan (other evidence, hash sets or "
                "settings); use another --out folder or --restart"
            )
        return True

    def reset(self) -> None:
        self._db.executescript(
            "DELETE FROM meta; DELETE FROM records; DELETE FROM units; DELETE FROM thumbnails; "
            "DELETE FROM thumbnail_failures; DELETE FROM located;"
        )

    def done_units(self, evidence: int) -> set[str]:
        """Every committed unit of one evidence (small scans and tests; a scan asks per batch
        with `done_among`, so it never holds every key)."""
        rows = self._db.execute("SELECT key FROM units WHERE evidence=?", (evidence,))
        return {r[0] for r in rows}

    def done_among(self, evidence: int, keys: Sequence[str]) -> set[str]:
        """Which of `keys` are committed units: one query per batch of keys on resume."""
        if not keys:
            return set()
        rows = self._db.execute(
            "SELECT key FROM units WHERE evidence = ? AND key IN (SELECT value FROM json_each(?))",
            (evidence, json.dumps(list(keys))),
        )
        return {r[0] for r in rows}

    def has_units(self) -> bool:
        """Whether any unit is committed (a fresh scan skips the per-batch resume query)."""
        return self._db.execute("SELECT 1 FROM units LIMIT 1").fetchone() is not None

    def commit_batch(
        self,
        evidence: int,
        unit_keys: Iterable[str],
        records: Iterable[ItemRecord],
        thumbnails: Iterable[thumbs.ThumbnailOutcome] = (),
        encoded: Sequence[Stored | None] = (),
        located: Sequence[LocatedRow] = (),
    ) -> None:
        """Records, their thumbnails (or why one failed) and the units done, in one
        transaction: a resumed scan never has a record without its thumbnail, nor a thumbnail
        of an uncommitted unit.
        `encoded[i]`, where given, is `stored_forms(records[i])` made already (by the worker
        that made the record). `located`: the batch's items a later stage will reopen
        (`store.located`)."""
        records = list(records)
        made = list(encoded) or [None] * len(records)
        rows = [
            (evidence, r.key, r.origin, r.sha256, *_columns(r, forms))
            for r, forms in zip(records, made, strict=True)
        ]
        with self._transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
            )
            thumbs.insert_rows(self._db, evidence, thumbnails)
            self._db.executemany(
                "INSERT OR REPLACE INTO units VALUES (?, ?)", [(evidence, k) for k in unit_keys]
            )
            if located:
                self._db.executemany(
                    "INSERT OR REPLACE INTO located VALUES (?, ?, ?, ?, ?, ?)",
                    [(evidence, *row) for row in located],
                )

    def set_meta(self, name: str, value: Any) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, json.dumps(value, sort_keys=True))
        )

    def get_meta(self, name: str) -> Any:
        row = self._db.execute("SELECT value FROM meta WHERE name=?", (name,)).fetchone()
        return None if row is None else json.loads(row[0])

    def records(self, listed_only: bool = False, leads: bool = False) -> Iterator[ItemRecord]:
        """Every record, ordered by evidence then key: the order of findings.json (streamed).

        `listed_only`: only the records findings.json lists (`ItemRecord.listed()`, kept in a
        column at commit), so that pass does not decode every record a second time; with
        `leads`, the EXIF leads among the others too.
        """
        where = ""
        if listed_only:
            where = "WHERE listed = 1 OR lead = 1 " if leads else "WHERE listed = 1 "
        rows = self._db.execute(f"SELECT record FROM records {where}ORDER BY evidence, key")
        for (text,) in rows:
            yield ItemRecord.from_json(json.loads(text))

    def inventory_lines(self) -> Iterator[str]:
        """Every record's inventory.csv row, in the order of `records`."""
        for (line,) in self._db.execute("SELECT line FROM records ORDER BY evidence, key"):
            yield line

    def plain_tally(self) -> tuple[int, int, int]:
        """(records, bytes hashed, carved duplicates) of the records findings.json does not
        list: no match, candidate, error or review and not known-good, so all the summary
        counts of them (`reports.findings.Summary`)."""
        row = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(bytes), 0), COALESCE(SUM(1 - counted), 0) "
            "FROM records WHERE listed = 0"
        ).fetchone()
        return int(row[0]), int(row[1]), int(row[2])

    def mark_carved_duplicates(self) -> int:
        """Mark each carved object whose bytes equal a file the file system still names.

        It is the same picture found twice: kept (its offset is evidence too), named after the
        first such file in key order, and not counted or reviewed again. Returns how many.
        """
        rows = self._db.execute(
            """
            SELECT c.evidence, c.key, (
                SELECT n.record FROM records n
                WHERE n.evidence = c.evidence AND n.sha256 = c.sha256 AND n.origin != 'carved'
                ORDER BY n.key LIMIT 1)
            FROM records c WHERE c.origin = 'carved' AND c.sha256 IS NOT NULL
            """
        ).fetchall()
        updates = []
        for evidence, key, named in rows:
            if named is None:
                continue
            record = self.record(evidence, key)
            record.carved_duplicate_of = json.loads(named)["path"]
            record.review = False
            updates.append((*_columns(record), evidence, key))
        if updates:
            with self._transaction():
                self._db.executemany(
                    f"UPDATE records SET {_SET_COLUMNS} WHERE evidence = ? AND key = ?",
                    updates,
                )
        return len(updates)

    def record(self, evidence: int, key: str) -> ItemRecord:
        row = self._db.execute(
            "SELECT record FROM records WHERE evidence = ? AND key = ?", (evidence, key)
        ).fetchone()
        if row is None:
            raise KeyError((evidence, key))
        return ItemRecord.from_json(json.loads(row[0]))

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One batch, all or nothing. A full disk is the output's failure, said as such."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
                self._db.execute("COMMIT")
            except BaseException:
                # SQLite may already have rolled back by itself (a full disk does that);
                # a second ROLLBACK would hide the real error behind "no transaction".
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as exc:
            full = self._output_error(exc)
            if full is not None:
                raise full from exc
            raise

    def _output_error(self, exc: Exception) -> OutputError | None:
        """A full disk (or one failing) is the output's failure, said as such."""
        if "full" not in str(exc) and "disk I/O" not in str(exc):
            return None
        what = "output disk full: " if "full" in str(exc) else ""
        return OutputError(
            f"{what}cannot write the scan store {self.path}: {exc} (free space, then "
            "run the same command again: it resumes after the last committed batch)"
        )

    def close(self) -> None:
        self._db.close()
