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
from pathlib import Path
from typing import Any

from fellwatch.store import thumbnails as thumbs

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    evidence INTEGER NOT NULL,
    key TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (evidence, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS units (
    evidence INTEGER NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (evidence, key)
) WITHOUT ROWID;
"""


class ScanStoreError(Exception):
    """The output folder holds a different scan, or its store cannot be read."""


class ScanStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL is durable against a killed process (not against power loss), which is
            # the failure resume is for; FULL would cost an fsync per batch.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA + thumbs.SCHEMA)
        except sqlite3.DatabaseError as exc:
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
        records: Iterable[dict[str, Any]],
        thumbnails: Iterable[thumbs.KeyedThumbnail] = (),
    ) -> None:
        """Records, their thumbnails and the units done, in one transaction: a resumed scan
        never has a record without its thumbnail, nor a thumbnail of an uncommitted unit."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                "INSERT OR REPLACE INTO records VALUES (?, ?, ?)",
                [(evidence, r["key"], json.dumps(r, sort_keys=True)) for r in records],
            )
            thumbs.insert_rows(db, evidence, thumbnails)
            db.executemany(
                "INSERT OR REPLACE INTO units VALUES (?, ?)", [(evidence, k) for k in unit_keys]
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def set_meta(self, name: str, value: Any) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, json.dumps(value, sort_keys=True))
        )

    def get_meta(self, name: str) -> Any:
        row = self._db.execute("SELECT value FROM meta WHERE name=?", (name,)).fetchone()
        return None if row is None else json.loads(row[0])

    def records(self) -> Iterator[dict[str, Any]]:
        """Every record, ordered by evidence then key: the order of findings.json."""
        rows = self._db.execute("SELECT record FROM records ORDER BY evidence, key")
        for (text,) in rows:
            yield json.loads(text)

    def close(self) -> None:
        self._db.close()
