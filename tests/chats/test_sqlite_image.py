"""Databases read in memory: WAL frames applied, hot journals rolled back, bad files named."""

from __future__ import annotations

import shutil
import sqlite3
import struct
from pathlib import Path

import pytest

from fellwatch.chats.sqlite_image import DatabaseError, open_in_memory, recover
from tests.chats import fixtures as fx


def _count(main: bytes, wal: bytes | None = None, journal: bytes | None = None) -> int:
    db = open_in_memory(recover(main, wal, journal))
    try:
        return int(db.execute("SELECT count(*) FROM message").fetchone()[0])
    finally:
        db.close()


def test_wal_only_messages_are_found(tmp_path: Path) -> None:
    path = tmp_path / "msgstore.db"
    fx.msgstore_current(path, wal_only=True)
    main, wal = path.read_bytes(), (tmp_path / "msgstore.db-wal").read_bytes()
    without = _count(main)
    recovered = recover(main, wal)
    assert recovered.wal_frames > 0
    assert _count(main, wal) == without + len(fx.WAL_ONLY)
    # SQLite itself, opening a copy with its WAL, agrees.
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copyfile(path, copy / "m.db")
    shutil.copyfile(tmp_path / "msgstore.db-wal", copy / "m.db-wal")
    with sqlite3.connect(copy / "m.db") as db:
        assert db.execute("SELECT count(*) FROM message").fetchone()[0] == without + 2


def test_a_broken_wal_checksum_ends_the_frames(tmp_path: Path) -> None:
    path = tmp_path / "msgstore.db"
    fx.msgstore_current(path, wal_only=True)
    main, wal = path.read_bytes(), bytearray((tmp_path / "msgstore.db-wal").read_bytes())
    wal[32 + 24 + 100] ^= 0xFF  # inside the first frame's page
    assert recover(main, bytes(wal)).wal_frames == 0
    assert _count(main, bytes(wal)) == _count(main)


def test_hot_journal_is_rolled_back(tmp_path: Path) -> None:
    path = tmp_path / "mmssms.db"
    fx.mmssms(path)
    before = path.read_bytes()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA cache_size=1")  # spill: changed pages reach the file before commit
    db.execute("BEGIN")
    for i in range(400):
        db.execute("INSERT INTO sms (thread_id, address, date, type, body) VALUES (1, 'x', 1, 1,"
                   " ?)", ("uncommitted " + "x" * 200 + str(i),))
    main = path.read_bytes()
    journal = (tmp_path / "mmssms.db-journal").read_bytes()
    db.execute("ROLLBACK")
    db.close()
    assert main != before  # the file holds uncommitted pages: the journal is hot
    recovered = recover(main, journal=journal)
    assert recovered.journal_pages > 0
    mem = open_in_memory(recovered)
    assert mem.execute("SELECT count(*) FROM sms").fetchone()[0] == len(fx.SMS)
    mem.close()


def test_truncated_encrypted_empty_and_foreign_files_are_named(tmp_path: Path) -> None:
    path = tmp_path / "msgstore.db"
    fx.msgstore_current(path)
    fx.truncated(path, tmp_path / "cut.db")
    with pytest.raises(DatabaseError, match="truncated database"):
        recover((tmp_path / "cut.db").read_bytes())
    fx.sqlcipher_looking(tmp_path / "signal.db")
    with pytest.raises(DatabaseError, match=r"encrypted database.*SQLCipher"):
        recover((tmp_path / "signal.db").read_bytes())
    with pytest.raises(DatabaseError, match="empty file"):
        recover(b"")
    with pytest.raises(DatabaseError, match="not a SQLite database"):
        recover(b"hello, this is a text file\n" * 100)
    bad = bytearray(path.read_bytes())
    bad[16:18] = struct.pack(">H", 1000)
    with pytest.raises(DatabaseError, match="page size 1000"):
        recover(bytes(bad))


def test_the_image_is_private(tmp_path: Path) -> None:
    """Nothing is written beside the database: reading leaves the folder as it was."""
    path = tmp_path / "msgstore.db"
    fx.msgstore_current(path, wal_only=True)
    listing = sorted(p.name for p in tmp_path.iterdir())
    data = path.read_bytes()
    _count(data, (tmp_path / "msgstore.db-wal").read_bytes())
    assert sorted(p.name for p in tmp_path.iterdir()) == listing
    assert path.read_bytes() == data


def test_an_in_memory_database_keeps_its_temporary_sorts_in_memory() -> None:
    """A large ORDER BY without an index must not spill the messages to the system's temp
    folder (outside the scan folder)."""
    import sqlite3 as sqlite

    from fellwatch.chats.sqlite_image import open_in_memory, recover

    source = sqlite.connect(":memory:")
    source.execute("CREATE TABLE message (text TEXT)")
    source.executemany("INSERT INTO message VALUES (?)", [(f"m{i}",) for i in range(100)])
    source.commit()
    image = source.serialize()
    source.close()
    db = open_in_memory(recover(image, None, None))
    try:
        assert db.execute("PRAGMA temp_store").fetchone()[0] == 2  # MEMORY
        assert db.execute("SELECT text FROM message ORDER BY text DESC LIMIT 1").fetchone() == (
            "m99",)
    finally:
        db.close()
