"""Thumbnails made once, in the scan, kept in the scan folder: the `thumbnails` table of
`OUT/scan.sqlite`, beside the records (never in findings.json, which stays byte-identical).

A row per item that decoded as a picture or a video, keyed like its record by (evidence index,
item key); the evidence index is the item's evidence's position in findings.json's `evidence`
list. `kind` is "picture" (one small picture, about 256 px on its long side, EXIF-oriented,
colour) or "strip" (a video: up to 8 evenly spaced frames of about 160 px side by side in one
picture, `frames` says how many). The pixels are NOT blurred: blur is the web's job, at serve
time, so the strength can be each examiner's own setting. Whoever serves them must blur first.

A picture or video whose thumbnail failed to be made has a row in `thumbnail_failures`
instead, with the reason, so the gallery says why there is none (nothing is dropped silently).

The scan writes a batch's thumbnails in the same transaction as the batch's records
(`ScanStore.commit_batch`), so a resumed scan has a thumbnail (or its failure) for every record
it kept.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

ThumbnailKind = Literal["picture", "strip"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS thumbnails (
    evidence INTEGER NOT NULL,
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    frames INTEGER NOT NULL,
    format TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (evidence, key)
);
CREATE TABLE IF NOT EXISTS thumbnail_failures (
    evidence INTEGER NOT NULL,
    key TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (evidence, key)
);
"""
# A rowid table, not WITHOUT ROWID: blobs of a few kB would bloat a clustered key's b-tree.
# Failures in a table of their own, not as rows of `thumbnails` without data: a store made
# before failures were kept gains the table by CREATE ... IF NOT EXISTS and its `thumbnails`
# keep their NOT NULL columns (no migration of a scan folder).

STORE_NAME = "scan.sqlite"


@dataclass(frozen=True, slots=True)
class Thumbnail:
    """One item's thumbnail: `format` is "webp" or "jpeg", `data` the encoded bytes."""

    kind: ThumbnailKind
    width: int
    height: int
    format: str
    data: bytes
    frames: int = 1

    @property
    def media_type(self) -> str:
        return f"image/{self.format}"


@dataclass(frozen=True, slots=True)
class KeyedThumbnail:
    """A thumbnail with the key of its record (what a worker hands back with a batch)."""

    key: str
    thumbnail: Thumbnail


@dataclass(frozen=True, slots=True)
class ThumbnailFailure:
    """An item the scan decoded as a picture or video whose thumbnail could not be made: the
    reason (one line) is kept for the gallery; the item's record does not change."""

    key: str
    reason: str


# What a worker hands back for an item that has pixels: its thumbnail, or why there is none.
ThumbnailOutcome = KeyedThumbnail | ThumbnailFailure


def insert_rows(
    db: sqlite3.Connection, evidence: int, thumbnails: Iterable[ThumbnailOutcome]
) -> None:
    """Write thumbnails and failures inside the caller's open transaction (the batch's)."""
    made: list[KeyedThumbnail] = []
    failed: list[ThumbnailFailure] = []
    for outcome in thumbnails:
        if isinstance(outcome, KeyedThumbnail):
            made.append(outcome)
        else:
            failed.append(outcome)
    db.executemany(
        "INSERT OR REPLACE INTO thumbnails VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (evidence, k.key, t.kind, t.width, t.height, t.frames, t.format, t.data)
            for k in made
            for t in (k.thumbnail,)
        ],
    )
    if failed:
        db.executemany(
            "INSERT OR REPLACE INTO thumbnail_failures VALUES (?, ?, ?)",
            [(evidence, f.key, f.reason) for f in failed],
        )


class ThumbnailReader:
    """Read-only access to one scan folder's thumbnails; keep one open to serve many."""

    def __init__(self, scan_dir: Path) -> None:
        path = Path(scan_dir) / STORE_NAME
        if not path.is_file():
            raise FileNotFoundError(f"no scan store at {path}")
        # Read-only: serving a thumbnail must never be able to change the scan's records.
        self._db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                                   check_same_thread=False)

    def get(self, evidence: int, key: str) -> Thumbnail | None:
        try:
            row = self._db.execute(
                "SELECT kind, width, height, format, data, frames FROM thumbnails "
                "WHERE evidence=? AND key=?",
                (evidence, key),
            ).fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):  # a scan made before thumbnails existed
                return None
            raise
        if row is None:
            return None
        kind, width, height, fmt, data, frames = row
        return Thumbnail(kind, width, height, fmt, bytes(data), frames)

    def failure(self, evidence: int, key: str) -> str | None:
        """Why item `key` has no thumbnail, when making it failed in the scan; else None."""
        return self.failures(evidence, [key]).get(key)

    def failures(self, evidence: int, keys: Sequence[str]) -> dict[str, str]:
        """Key -> reason, for those of `keys` whose thumbnail failed (one query for a page)."""
        rows = self._of_keys("SELECT key, reason FROM thumbnail_failures", evidence, keys)
        return {key: reason for key, reason in rows}

    def present(self, evidence: int, keys: Sequence[str]) -> set[str]:
        """Those of `keys` that have a thumbnail (one query on the primary key, no blob read):
        an item with an error and neither a thumbnail nor a failure row had none made."""
        return {key for (key,) in self._of_keys("SELECT key FROM thumbnails", evidence, keys)}

    def _of_keys(self, select: str, evidence: int, keys: Sequence[str]) -> list[Any]:
        """`select`'s rows for those of `keys` in `evidence`; none from a scan made before the
        table existed (thumbnails, then their failures, came in later versions)."""
        if not keys:
            return []
        try:
            return self._db.execute(
                f"{select} WHERE evidence = ? AND key IN (SELECT value FROM json_each(?))",
                (evidence, json.dumps(list(keys))),
            ).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []
            raise

    def __iter__(self) -> Iterator[tuple[int, str, Thumbnail]]:
        try:
            rows = self._db.execute(
                "SELECT evidence, key, kind, width, height, format, data, frames "
                "FROM thumbnails ORDER BY evidence, key"
            )
            for ev, key, kind, width, height, fmt, data, frames in rows:
                yield ev, key, Thumbnail(kind, width, height, fmt, bytes(data), frames)
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise

    def close(self) -> None:
        self._db.close()


def read_thumbnail(scan_dir: Path, evidence: int, key: str) -> Thumbnail | None:
    """The thumbnail of item `key` of evidence number `evidence`, or None (not a picture or
    video, or it did not decode)."""
    reader = ThumbnailReader(scan_dir)
    try:
        return reader.get(evidence, key)
    finally:
        reader.close()


def read_thumbnail_failure(scan_dir: Path, evidence: int, key: str) -> str | None:
    """Why item `key` of evidence number `evidence` has no thumbnail (making it failed in the
    scan), or None."""
    reader = ThumbnailReader(scan_dir)
    try:
        return reader.failure(evidence, key)
    finally:
        reader.close()


def iter_thumbnails(scan_dir: Path) -> Iterator[tuple[int, str, Thumbnail]]:
    """Every (evidence index, key, thumbnail) of a scan, in (evidence, key) order."""
    reader = ThumbnailReader(scan_dir)
    try:
        yield from reader
    finally:
        reader.close()
