"""SQLite's temporary files (large sorts spill rows of seized messages to them) are made in
the owner-only scan folder during a scan, never in the system's temp folder."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

from fellwatch.store.private import sqlite_temp_files_in


def temp_directory() -> str:
    db = sqlite3.connect(":memory:")
    try:
        row = db.execute("PRAGMA temp_store_directory").fetchone()
        return str(row[0]) if row and row[0] else ""
    finally:
        db.close()


def _open_files_during(run: Any) -> set[str]:
    """The paths of this process's open files, sampled while `run()` runs."""
    seen: set[str] = set()
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            for fd in Path("/proc/self/fd").iterdir():
                with contextlib.suppress(OSError):  # closed meanwhile
                    seen.add(str(fd.readlink()))

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        run()
    finally:
        done.set()
        sampler.join()
    return seen


def test_a_sort_that_spills_writes_its_temp_file_in_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "scan's folder"  # a quote in the path: the PRAGMA's literal is escaped
    folder.mkdir()
    before = temp_directory()
    db = sqlite3.connect(tmp_path / "big.sqlite")
    db.execute("PRAGMA cache_size=-64")  # a 64 KiB cache: the sorter spills at once
    db.execute("CREATE TABLE t (a INTEGER, b BLOB)")
    db.executemany("INSERT INTO t VALUES (?, ?)", ((i, os.urandom(64)) for i in range(50_000)))
    db.commit()

    def sort() -> None:
        assert sum(1 for _ in db.execute("SELECT * FROM t ORDER BY b")) == 50_000

    with sqlite_temp_files_in(folder):
        assert temp_directory() == str(folder.resolve())
        opened = _open_files_during(sort)
    db.close()
    spilled = [p for p in opened if "etilqs_" in p]  # SQLite's temp file names
    assert spilled, "the sort did not spill: the test proves nothing"
    assert all(p.startswith(str(folder.resolve()) + "/") for p in spilled), spilled
    assert temp_directory() == before  # put back as it was
