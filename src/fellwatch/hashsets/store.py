"""The hash-set store: every imported set, normalised, versioned and quick to look up.

Layout under the store directory (by default `<data dir>/hashsets`):

    catalog.sqlite            one row per set: name, kind, format, version, counts, category map
    sets/<sha16>-<id>.sqlite  one database per imported set version, tables `entry` and `frame`

Each set lives in its own SQLite file, so the set id is the file. Its hashes are WITHOUT ROWID
tables with the digest as a BLOB: `entry` keyed `(kind, digest)` for md5/sha1/sha256/pdq (a
digest is kept once per set), `frame` keyed `(media_id, digest)` for vPDQ frames (a frame is
kept once per video, so a frame two videos share stays with both; a frame repeated within one
video is folded, as bag-of-frames matching allows). Files written before `frame` existed hold
their vPDQ frames in `entry` and are still read. One file per set is on purpose:

- an import writes a fresh file with the journal and fsync off (several times faster), and a
  crash or a malformed file mid-import can only lose that temporary file, never another set;
- replacing a set's version or removing a set is dropping a file, not deleting millions of rows
  out of a shared table;
- a scan opens the files it uses read-only and immutable.

The catalog is an ordinary journaled database; a set only becomes visible once its file is
complete, synced and renamed into place.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import os
import secrets
import sqlite3
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

from fellwatch import settings
from fellwatch.hashsets import categories, registry
from fellwatch.hashsets.base import (
    FolderFormat,
    HashEntry,
    HashKind,
    HashSetError,
    HashSetFormat,
    HashSetInfo,
    ReadNotes,
    SetKind,
)
from fellwatch.hashsets.digests import KIND_CODES, KIND_NAMES
from fellwatch.store.private import private_dir

if TYPE_CHECKING:
    import numpy as np

Progress = Callable[[int], object]

_CATALOG_SCHEMA = """
CREATE TABLE IF NOT EXISTS hashset (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    format TEXT NOT NULL,
    source_sha256 TEXT NOT NULL,
    imported TEXT NOT NULL,
    entries INTEGER NOT NULL,
    counts TEXT NOT NULL,
    category_map TEXT NOT NULL,
    skipped TEXT NOT NULL,
    file TEXT NOT NULL,
    source_path TEXT NOT NULL
)
"""
_ENTRY_SCHEMA = """
CREATE TABLE entry (
    kind INTEGER NOT NULL,
    digest BLOB NOT NULL,
    category TEXT,
    media_id TEXT,
    size INTEGER,
    quality INTEGER,
    PRIMARY KEY (kind, digest)
) WITHOUT ROWID
"""
# vPDQ frames, one row per distinct frame of each video. Not `entry` rows: keyed (kind,
# digest), a frame shared by two videos of a set (two edits of the same footage, a title card)
# would be kept for the first video only. A frame repeated within one video is folded, which
# bag-of-frames matching allows.
_FRAME_SCHEMA = """
CREATE TABLE frame (
    media_id TEXT NOT NULL,
    digest BLOB NOT NULL,
    category TEXT,
    quality INTEGER,
    PRIMARY KEY (media_id, digest)
) WITHOUT ROWID
"""
_INSERT = "INSERT OR IGNORE INTO entry VALUES (?, ?, ?, ?, ?, ?)"
_INSERT_FRAME = "INSERT OR IGNORE INTO frame VALUES (?, ?, ?, ?)"
_COLUMNS = "name, kind, format, source_sha256, imported, entries, counts, category_map, skipped"
_BATCH = 50_000
_LOOKUP_CHUNK = 500  # digests per IN (...) query: well under SQLite's variable limit
_IMPORT_CACHE_KIB = 1 << 20  # 1 GiB page cache while loading: the B-tree stays in memory


def default_path() -> Path:
    return settings.data_dir() / "hashsets"


class HashSetStore:
    """Imported hash sets under one directory. One instance per process or thread (SQLite
    connections are not shared); it pickles as its path, so it can be sent to workers."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._catalog: sqlite3.Connection | None = None
        self._sets: dict[str, tuple[str, sqlite3.Connection]] = {}  # name -> (file, connection)
        self._lookup_sql: dict[int, str] = {}

    @classmethod
    def default(cls) -> HashSetStore:
        return cls(default_path())

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"])  # type: ignore[misc]

    # -- catalog ---------------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        if self._catalog is None:
            try:
                private_dir(self.path / "sets")  # the data directory is owner-only
                conn = sqlite3.connect(self.path / "catalog.sqlite", timeout=60)
                conn.execute(_CATALOG_SCHEMA)
                conn.commit()
            except (OSError, sqlite3.Error) as exc:
                raise HashSetError(f"{self.path}: cannot open the hash-set store: {exc}") from None
            self._catalog = conn
        return self._catalog

    def list(self) -> list[HashSetInfo]:
        rows = self._db().execute(f"SELECT {_COLUMNS} FROM hashset ORDER BY name").fetchall()
        return [_info(row) for row in rows]

    def find(self, name: str) -> HashSetInfo | None:
        row = self._db().execute(f"SELECT {_COLUMNS} FROM hashset WHERE name = ?", (name,))
        found = row.fetchone()
        return _info(found) if found else None

    def get(self, name: str) -> HashSetInfo:
        info = self.find(name)
        if info is None:
            raise HashSetError(f"no hash set named {name!r} ({self._known()})")
        return info

    def _known(self) -> str:
        names = [info.name for info in self.list()]
        return f"known sets: {', '.join(names)}" if names else "no hash sets imported yet"

    def resolve(self, file_or_name: str | Path) -> HashSetInfo:
        """A set given as a file or a folder of vPDQ files (imported, or found by its SHA-256
        when already imported) or as the name of a stored set. An existing path wins over a
        set of the same name, for folders as for files."""
        path = Path(file_or_name)
        if path.is_file() or path.is_dir():
            digest = file_sha256(path) if path.is_file() else _source(path, None)[1]
            for info in self.list():
                if info.source_sha256 == digest:
                    return info
            return self.import_file(path)
        found = self.find(str(file_or_name))
        if found is None:
            raise HashSetError(
                f"{file_or_name}: neither a file, a folder nor the name of a hash set "
                f"({self._known()})"
            )
        return found

    def remove(self, name: str) -> None:
        info = self.get(name)
        db = self._db()
        (file,) = db.execute("SELECT file FROM hashset WHERE name = ?", (info.name,)).fetchone()
        with db:
            db.execute("DELETE FROM hashset WHERE name = ?", (name,))
        self._forget(name)
        (self.path / "sets" / file).unlink(missing_ok=True)

    # -- import ----------------------------------------------------------------------------

    def import_file(
        self,
        path: Path,
        name: str | None = None,
        kind: SetKind | None = None,
        category_map: dict[str, str] | None = None,
        *,
        format: str | None = None,
        progress: Progress | None = None,
    ) -> HashSetInfo:
        """Read a hash-set file, or a folder of files of a format that reads folders (vpdq),
        into the store as set `name` (default: `default_name(path)`).

        The same file or folder (same `source_sha256`) under the same name, kind and category
        map is a no-op returning the stored set. A different one under a stored name becomes
        that set's new version and replaces the old one. `progress(n)` is called as entries
        are loaded.
        """
        path = Path(path)
        fmt, source_sha256 = _source(path, format)
        set_kind: SetKind = kind or fmt.default_kind
        if set_kind not in get_args(SetKind):
            raise HashSetError(f"unknown set kind {set_kind!r} (known-bad or known-good)")
        name = (name if name is not None else default_name(path)).strip()
        if not name:
            raise HashSetError(f"{path.name}: a hash set needs a non-empty name")
        cmap = categories.effective_map(set_kind, category_map)
        existing = self.find(name)
        if (
            existing is not None
            and existing.source_sha256 == source_sha256
            and existing.kind == set_kind
            and existing.format == fmt.name
            and existing.category_map == cmap
        ):
            return existing

        self._db()  # creates the store directories
        sets_dir = self.path / "sets"
        file = f"{source_sha256[:16]}-{secrets.token_hex(4)}.sqlite"
        temp = sets_dir / f".{file}.importing"
        notes = ReadNotes()
        try:
            counts = _load(temp, fmt.read(path, notes), notes, progress)
            if not counts:
                what = "folder" if path.is_dir() else "file"
                raise HashSetError(f"{path.name}: no hashes in this {fmt.name} {what}")
            _write_meta(temp, name, fmt.name, source_sha256)
            temp.replace(sets_dir / file)
        except sqlite3.Error as exc:
            raise HashSetError(f"{path.name}: import failed: {exc}") from None
        finally:
            temp.unlink(missing_ok=True)

        info = HashSetInfo(
            name=name,
            kind=set_kind,
            format=fmt.name,
            source_sha256=source_sha256,
            imported=datetime.now(UTC).date().isoformat(),
            entries=sum(counts.values()),
            counts=counts,
            category_map=cmap,
            skipped=dict(sorted(notes.skipped.items())),
        )
        db = self._db()
        old = db.execute("SELECT file FROM hashset WHERE name = ?", (name,)).fetchone()
        with db:
            db.execute(
                "INSERT OR REPLACE INTO hashset VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    info.name,
                    info.kind,
                    info.format,
                    info.source_sha256,
                    info.imported,
                    info.entries,
                    json.dumps(info.counts, sort_keys=True),
                    json.dumps(info.category_map, sort_keys=True),
                    json.dumps(info.skipped, sort_keys=True),
                    file,
                    str(path.resolve()),
                ),
            )
        self._forget(name)
        if old is not None and old[0] != file:
            (sets_dir / old[0]).unlink(missing_ok=True)
        return info

    # -- lookups ---------------------------------------------------------------------------

    def _set_conn(self, name: str) -> sqlite3.Connection:
        cached = self._sets.get(name)
        if cached is not None:
            return cached[1]
        row = self._db().execute("SELECT file FROM hashset WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise HashSetError(f"no hash set named {name!r} ({self._known()})")
        file = self.path / "sets" / row[0]
        uri = f"file:{urllib.parse.quote(str(file.resolve()))}?mode=ro&immutable=1"
        try:
            conn = sqlite3.connect(uri, uri=True)
            conn.execute("SELECT 1 FROM entry LIMIT 1")
        except sqlite3.Error as exc:
            raise HashSetError(f"hash set {name!r}: cannot open {file}: {exc}") from None
        self._sets[name] = (row[0], conn)
        return conn

    def _forget(self, name: str) -> None:
        cached = self._sets.pop(name, None)
        if cached is not None:
            cached[1].close()

    def lookup(
        self, kind: HashKind, digests: Iterable[str], set_names: Sequence[str] | None = None
    ) -> dict[str, builtins.list[tuple[str, HashEntry]]]:
        """The entries of the given sets (default: all) holding each digest, batched.

        Keys are the digests as given, for those found; each value lists (set name, entry) in
        the order of `set_names`. Digests that are not hex are not found."""
        code = KIND_CODES.get(kind)
        if code is None:
            raise HashSetError(f"unknown hash kind {kind!r}")
        if kind == "vpdq":
            # Frames are matched as whole videos (entries() into a VideoMatcher), and live in
            # `frame`: a digest lookup in `entry` would silently find none of them.
            raise HashSetError("vpdq frames are matched by video, not looked up one by one")
        wanted: dict[bytes, list[str]] = {}
        for digest in digests:
            try:
                wanted.setdefault(bytes.fromhex(digest), []).append(digest)
            except (ValueError, TypeError):
                continue
        names = list(set_names) if set_names is not None else [i.name for i in self.list()]
        found: dict[str, builtins.list[tuple[str, HashEntry]]] = {}
        keys = sorted(wanted)  # neighbouring digests share B-tree pages
        for name in names:
            conn = self._set_conn(name)
            for start in range(0, len(keys), _LOOKUP_CHUNK):
                chunk = keys[start : start + _LOOKUP_CHUNK]
                rows = conn.execute(self._sql(len(chunk)), (code, *chunk))
                for digest, category, media_id, size, quality in rows:
                    entry = HashEntry(kind, digest.hex(), category, media_id, size, quality)
                    for given in wanted[digest]:
                        found.setdefault(given, []).append((name, entry))
        return found

    def _sql(self, count: int) -> str:
        sql = self._lookup_sql.get(count)
        if sql is None:
            marks = ", ".join("?" * count)
            sql = (
                "SELECT digest, category, media_id, size, quality FROM entry "
                f"WHERE kind = ? AND digest IN ({marks})"
            )
            self._lookup_sql[count] = sql
        return sql

    def entries(self, set_name: str, kind: HashKind) -> builtins.list[HashEntry]:
        """The set's entries of one kind, ordered by hash; vpdq frames by video, then hash."""
        conn = self._set_conn(set_name)
        if kind == "vpdq":
            return _frames(conn)
        rows = conn.execute(
            "SELECT digest, category, media_id, size, quality FROM entry "
            "WHERE kind = ? ORDER BY digest",
            (KIND_CODES[kind],),
        )
        return [HashEntry(kind, d.hex(), c, m, s, q) for d, c, m, s, q in rows]

    def pdq_entries(self, set_name: str) -> builtins.list[HashEntry]:
        """The set's PDQ entries, ordered by hash (the order `pdq_hashes` uses)."""
        return self.entries(set_name, "pdq")

    def pdq_hashes(self, set_name: str) -> tuple[np.ndarray, builtins.list[str | None]]:
        """The set's PDQ hashes as a uint8 array [n, 32] (for a faiss binary index) and their
        raw categories, ordered by hash. Map categories with `categories.label`."""
        rows = (
            self._set_conn(set_name)
            .execute(
                "SELECT digest, category FROM entry WHERE kind = ? ORDER BY digest",
                (KIND_CODES["pdq"],),
            )
            .fetchall()
        )
        import numpy as np  # only a scan with PDQ sets needs it

        data = np.frombuffer(b"".join(row[0] for row in rows), dtype=np.uint8)
        return data.reshape(len(rows), 32).copy(), [row[1] for row in rows]

    def close(self) -> None:
        for name in list(self._sets):
            self._forget(name)
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None

    def __enter__(self) -> HashSetStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def default_name(path: Path) -> str:
    """A set's name when none is given: a file's name without its extension, a folder's whole
    name (`videos.2026` is not an extension)."""
    return path.resolve().name if path.is_dir() else path.stem


def _source(path: Path, format: str | None) -> tuple[HashSetFormat, str]:
    """The format of the file or folder at `path` and its version (`source_sha256`)."""
    if path.is_file():
        return registry.get(format) if format else registry.detect(path), file_sha256(path)
    if not path.is_dir():
        raise HashSetError(f"{path}: no such file or folder")
    fmt = registry.get(format) if format else registry.detect(path)
    if not isinstance(fmt, FolderFormat):
        raise HashSetError(
            f"{path.name}: a folder; only {registry.folder_names()} sets are read from a folder, "
            f"not {fmt.name}"
        )
    files = fmt.files(path)
    if not files:
        raise HashSetError(f"{path.name}: empty folder, no {fmt.name} files in it")
    return fmt, folder_sha256(path, files)


def folder_sha256(folder: Path, files: Iterable[Path]) -> str:
    """A folder's version: the SHA-256 of one line `<file SHA-256>  <path inside the folder>`
    per file (sha256sum's format, `/` separators), sorted by the path's bytes.

    Adding, removing, renaming or changing a file changes it (a file's name is its video's
    media_id); files the format does not read are not in `files` and do not. For a vpdq
    folder it is reproducible outside Fellwatch, inside the folder:
    `find . -type f -not -path '*/.*' -printf '%P\\0' | LC_ALL=C sort -z | xargs -0 sha256sum
    | sha256sum` (for names without a newline or a backslash, which sha256sum escapes).
    """
    lines = sorted(
        (file.relative_to(folder).as_posix().encode("utf-8", "surrogateescape"), file_sha256(file))
        for file in files
    )
    text = b"".join(digest.encode("ascii") + b"  " + rel + b"\n" for rel, digest in lines)
    return hashlib.sha256(text).hexdigest()


def file_sha256(path: Path) -> str:
    sha = hashlib.sha256()
    try:
        with path.open("rb") as stream:
            while block := stream.read(1 << 20):
                sha.update(block)
    except OSError as exc:
        raise HashSetError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return sha.hexdigest()


def _info(row: tuple[Any, ...]) -> HashSetInfo:
    name, kind, fmt, sha, imported, entries, counts, cmap, skipped = row
    return HashSetInfo(
        name=name,
        kind=kind,
        format=fmt,
        source_sha256=sha,
        imported=imported,
        entries=entries,
        counts=json.loads(counts),
        category_map=json.loads(cmap),
        skipped=json.loads(skipped),
    )


def _frames(conn: sqlite3.Connection) -> list[HashEntry]:
    """A set's vPDQ frames, by video then hash. Set files written before the `frame` table
    existed keep them as `entry` rows (one video per set then: a folder could not be imported)."""
    has_frame = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'frame'"
    ).fetchone()
    sql = (
        "SELECT media_id, digest, category, quality FROM frame ORDER BY media_id, digest"
        if has_frame
        else "SELECT media_id, digest, category, quality FROM entry WHERE kind = ? "
        "ORDER BY media_id, digest"
    )
    rows = conn.execute(sql, () if has_frame else (KIND_CODES["vpdq"],))
    return [HashEntry("vpdq", d.hex(), c, m, None, q) for m, d, c, q in rows]


def _load(
    temp: Path, entries: Iterable[HashEntry], notes: ReadNotes, progress: Progress | None
) -> dict[str, int]:
    """Write entries into a fresh set file; returns entries per hash kind."""
    temp.unlink(missing_ok=True)
    conn = sqlite3.connect(temp, isolation_level=None)
    try:
        # A fresh file nobody else sees: no journal, no fsync, one exclusive transaction.
        # A failed import deletes the file, so nothing here needs crash safety.
        for pragma in (
            "journal_mode = OFF",
            "synchronous = OFF",
            "locking_mode = EXCLUSIVE",
            "temp_store = MEMORY",
            f"cache_size = -{_IMPORT_CACHE_KIB}",
        ):
            conn.execute(f"PRAGMA {pragma}")
        conn.execute(_ENTRY_SCHEMA)
        conn.execute(_FRAME_SCHEMA)
        conn.execute("BEGIN")
        codes = KIND_CODES
        fromhex = bytes.fromhex
        offered_rows = offered_frames = 0
        stream = iter(entries)
        while chunk := list(islice(stream, _BATCH)):
            rows: list[tuple[int, bytes, str | None, str | None, int | None, int | None]] = []
            frames: list[tuple[str, bytes, str | None, int | None]] = []
            for e in chunk:
                digest = fromhex(e.digest)
                if e.kind == "vpdq":
                    # known_videos() groups frames without a media_id under "" too.
                    frames.append((e.media_id or "", digest, e.category, e.quality))
                else:
                    rows.append((codes[e.kind], digest, e.category, e.media_id, e.size, e.quality))
            conn.executemany(_INSERT, rows)
            conn.executemany(_INSERT_FRAME, frames)
            offered_rows += len(rows)
            offered_frames += len(frames)
            if progress is not None:
                progress(len(chunk))
        conn.execute("COMMIT")
        counts: dict[str, int] = {
            KIND_NAMES[code]: count
            for code, count in conn.execute("SELECT kind, count(*) FROM entry GROUP BY kind")
        }
        (kept_frames,) = conn.execute("SELECT count(*) FROM frame").fetchone()
        if kept_frames:
            counts["vpdq"] = kept_frames
        kept_rows = sum(count for kind, count in counts.items() if kind != "vpdq")
        if offered_rows > kept_rows:
            notes.skip("duplicate digest (first entry kept)", offered_rows - kept_rows)
        if offered_frames > kept_frames:
            notes.skip(
                "repeated frame within one video (bag of frames)", offered_frames - kept_frames
            )
        return counts
    finally:
        conn.close()


def _write_meta(temp: Path, name: str, fmt: str, source_sha256: str) -> None:
    """Describe the set inside its own file too, then make the file durable before the catalog
    points at it."""
    conn = sqlite3.connect(temp)
    try:
        with conn:
            conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            conn.executemany(
                "INSERT INTO meta VALUES (?, ?)",
                [("name", name), ("format", fmt), ("source_sha256", source_sha256)],
            )
    finally:
        conn.close()
    fd = os.open(temp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
