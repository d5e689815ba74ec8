"""Owner-only folders and files: what Fellwatch writes (scan folders, the data directory, the
reports) names cases and holds thumbnails of seized pictures, so nobody else on the machine
may read it. Folders Fellwatch creates are 0700, files 0600, whatever the umask; a folder that
already existed is left as its owner set it."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create `path` and any missing parents as 0700 folders; return it."""
    path = Path(path)
    missing: list[Path] = []
    here = path
    while not here.exists():
        missing.append(here)
        if here.parent == here:
            break
        here = here.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue  # made meanwhile by another process: its mode is that process's
        folder.chmod(DIR_MODE)  # mkdir's mode is cut by the umask; this is not
    return path


def touch_private(path: Path) -> None:
    """Create an empty 0600 file if there is none (e.g. before SQLite opens it: SQLite gives
    its -wal and -shm files the database file's mode)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` as a 0600 file (an existing file is narrowed to 0600 too)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as fh:
        os.fchmod(fh.fileno(), FILE_MODE)
        fh.write(data)


def write_private_text(path: Path, text: str) -> None:
    write_private(path, text.encode("utf-8"))


@contextmanager
def sqlite_temp_files_in(folder: Path) -> Iterator[None]:
    """SQLite's temporary files in `folder` while the block runs, instead of the system's temp
    folder: a large sort without an index (the chat timeline, a mailbox two apps hold) spills
    rows of seized messages to them, and they belong in the owner-only scan folder with the
    rest. The setting is SQLite's, for the whole process: set where no other thread is opening
    SQLite files, and put back as it was afterwards."""
    probe = sqlite3.connect(":memory:")
    try:
        row = probe.execute("PRAGMA temp_store_directory").fetchone()
        before = str(row[0]) if row and row[0] else ""
        _temp_directory(probe, str(Path(folder).resolve()))
        try:
            yield
        finally:
            _temp_directory(probe, before)
    finally:
        probe.close()


def _temp_directory(db: sqlite3.Connection, folder: str) -> None:
    # A PRAGMA takes no bound parameters; the path is quoted as an SQL string literal.
    quoted = folder.replace("'", "''")
    db.execute(f"PRAGMA temp_store_directory = '{quoted}'")
