"""Owner-only folders and files: what Fellwatch writes (scan folders, the data directory, the
reports) names cases and holds thumbnails of seized pictures, so nobody else on the machine
may read it. Folders Fellwatch creates are 0700, files 0600, whatever the umask; a folder that
already existed is left as its owner set it."""

from __future__ import annotations

import os
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
