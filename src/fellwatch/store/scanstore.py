"""The scan's own store: item records and checkpoints in `DIR/scan.sqlite`.

A batch of work units is committed in one transaction together with the records it produced,
so a scan killed at any moment (SIGKILL included) leaves either all of a batch or none of it;
starting the same command again skips the committed units. Records are keyed by
(evidence, key), so a unit done twice can never be counted twice.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fellwatch.errors import FellwatchError, OutputError
from fellwatch.record import ItemRecord
from fellwatch.store import thumbnails as thumbs
from fellwatch.store.private import private_dir, touch_private

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    evidence INTEGER NOT NULL,
    key TEXT NOT NULL,
    origin TEXT NOT NULL,
    sha256 TEXT,
    record TEXT NOT NULL,
    PRIMARY KEY (evidence, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS records_sha256 ON records (evidence, sha256);
CREATE TABLE IF NOT EXISTS units (
    evidence INTEGER NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (evidence, key)
) WITHOUT ROWID;
"""


class ScanStoreError(FellwatchError):
    """The output folder holds a different scan, or its store cannot be read."""


class ScanStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            private_dir(path.parent)
            touch_private(path)  # owner-only before SQLite creates it (and its -wal, -shm)
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL is durable against a killed process (not against power loss), which is
            # the failure resume is for; FULL would cost an fsync per batch.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA + thumbs.SCHEMA)
        except (sqlite3.DatabaseError, OSError) as exc:
            raise ScanStoreError(f"cannot use scan store {path}: {exc}") from exc

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
            "DELETE FROM meta; DELETE FROM records; DELETE FROM units; DELETE FROM thumbnails;"
        )

    def done_units(self, evidence: int) -> set[str]:
        rows = self._db.execute("SELECT key FROM units WHERE evidence=?", (evidence,))
        return {r[0] for r in rows}

    def commit_batch(
        self,
        evidence: int,
        unit_keys: Iterable[str],
        records: Iterable[ItemRecord],
        thumbnails: Iterable[thumbs.KeyedThumbnail] = (),
    ) -> None:
        """Records, their thumbnails and the units done, in one transaction: a resumed scan
        never has a record without its thumbnail, nor a thumbnail of an uncommitted unit."""
        rows = [
            (evidence, r.key, r.origin, r.sha256, json.dumps(r.to_json(), sort_keys=True))
            for r in records
        ]
        with self._transaction():
            self._db.executemany("INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?)", rows)
            thumbs.insert_rows(self._db, evidence, thumbnails)
            self._db.executemany(
                "INSERT OR REPLACE INTO units VALUES (?, ?)", [(evidence, k) for k in unit_keys]
            )

    def set_meta(self, name: str, value: Any) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, json.dumps(value, sort_keys=True))
        )

    def get_meta(self, name: str) -> Any:
        row = self._db.execute("SELECT value FROM meta WHERE name=?", (name,)).fetchone()
        return None if row is None else json.loads(row[0])

    def records(self) -> Iterator[ItemRecord]:
        """Every record, ordered by evidence then key: the order of findings.json (streamed)."""
        rows = self._db.execute("SELECT record FROM records ORDER BY evidence, key")
        for (text,) in rows:
            yield ItemRecord.from_json(json.loads(text))

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
            updates.append((json.dumps(record.to_json(), sort_keys=True), evidence, key))
        if updates:
            with self._transaction():
                self._db.executemany(
                    "UPDATE records SET record = ? WHERE evidence = ? AND key = ?", updates
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
            if "full" in str(exc) or "disk I/O" in str(exc):
                what = "output disk full: " if "full" in str(exc) else ""
                raise OutputError(
                    f"{what}cannot write the scan store {self.path}: {exc} (free space, then "
                    "run the same command again: it resumes after the last committed batch)"
                ) from exc
            raise

    def close(self) -> None:
        self._db.close()
