"""Messages and conversations in the scan's own store (`scan.sqlite`), beside its records.

A database item's messages are committed in one transaction together with its row in
`chat_sources` (and the error on its item record, if any), so a killed scan leaves all of a
database's messages or none; a resumed scan skips the sources already there and never counts a
message twice. Conversations are rebuilt from the messages at the end of every run, so rerunning
gives the same conversations, in the same order, byte for byte.

Two databases may hold copies of one mailbox (Messenger's, kept by both Messenger and the
Facebook app). Their messages' copy keys (`ChatSource.copy_key`, and the client's offline id,
`ChatSource.offline_key`) are stored beside them, and
`merge_copies` decides, from what is stored and not from the order read, which copy of a
message every output shows and under which database the mailbox's conversations are listed;
the copies left out are named in the kept message's provenance.
"""

from __future__ import annotations

import heapq
import itertools
import json
import posixpath
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fellwatch.chats.base import Message
from fellwatch.store.scanstore import set_item_error

SCHEMA = """
CREATE TABLE IF NOT EXISTS chat_sources (
    evidence INTEGER NOT NULL,
    key TEXT NOT NULL,
    path TEXT NOT NULL,
    source TEXT,
    variant TEXT,
    allocated INTEGER NOT NULL,
    messages INTEGER NOT NULL,
    wal_frames INTEGER NOT NULL,
    journal_pages INTEGER NOT NULL,
    error TEXT,
    PRIMARY KEY (evidence, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chat_messages (
    evidence INTEGER NOT NULL,
    source_key TEXT NOT NULL,
    seq INTEGER NOT NULL,
    app TEXT NOT NULL,
    account TEXT NOT NULL,
    conversation TEXT NOT NULL,
    message_id TEXT NOT NULL,
    time TEXT,
    direction TEXT NOT NULL,
    sender TEXT NOT NULL,
    recipients TEXT NOT NULL,
    text TEXT NOT NULL,
    attachments TEXT NOT NULL,
    source_table TEXT NOT NULL,
    source_rowid INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    PRIMARY KEY (evidence, source_key, seq)
);
CREATE TABLE IF NOT EXISTS chat_conversations (
    rank INTEGER PRIMARY KEY,
    evidence INTEGER NOT NULL,
    source_key TEXT NOT NULL,
    app TEXT NOT NULL,
    conversation TEXT NOT NULL,
    score REAL NOT NULL,
    flagged INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chat_copy_keys (
    evidence INTEGER NOT NULL,
    source_key TEXT NOT NULL,
    seq INTEGER NOT NULL,
    mailbox TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (evidence, source_key, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chat_offline_keys (
    evidence INTEGER NOT NULL,
    source_key TEXT NOT NULL,
    seq INTEGER NOT NULL,
    mailbox TEXT NOT NULL,
    conversation TEXT NOT NULL,
    key TEXT NOT NULL,
    server TEXT,
    PRIMARY KEY (evidence, source_key, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chat_offline_joined (
    evidence INTEGER NOT NULL,
    mailbox TEXT NOT NULL,
    key TEXT NOT NULL,
    source_key TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (evidence, mailbox, key, source_key, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chat_homes (
    evidence INTEGER NOT NULL,
    source_key TEXT NOT NULL,
    home_key TEXT NOT NULL,
    PRIMARY KEY (evidence, source_key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chat_copies (
    evidence INTEGER NOT NULL,
    source_key TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kept_key TEXT NOT NULL,
    kept_seq INTEGER NOT NULL,
    PRIMARY KEY (evidence, source_key, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chat_kept (
    evidence INTEGER NOT NULL,
    source_key TEXT NOT NULL,
    seq INTEGER NOT NULL,
    copies TEXT NOT NULL,
    PRIMARY KEY (evidence, source_key, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chat_hits (
    evidence INTEGER NOT NULL,
    source_key TEXT NOT NULL,
    seq INTEGER NOT NULL,
    rules TEXT NOT NULL,
    PRIMARY KEY (evidence, source_key, seq)
) WITHOUT ROWID;
"""

_CHUNK = 5000
# Built once the messages are in (by `index`), not kept up to date row by row: a million
# inserts into an index keyed by conversation land on random pages, a sort-built index does not.
INDEXES = """
CREATE INDEX IF NOT EXISTS chat_messages_conversation
    ON chat_messages (evidence, source_key, app, conversation, seq);
CREATE INDEX IF NOT EXISTS chat_messages_time ON chat_messages (time, evidence, source_key, seq);
"""

# The chat tables a finished scan from before mailbox copies were merged does not have.
_MERGE_TABLES = ("chat_copy_keys", "chat_homes", "chat_copies", "chat_kept")
# A message `m` that is not a copy of another database's (`ChatStore.merge_copies`).
_SHOWN = ("NOT EXISTS (SELECT 1 FROM chat_copies x WHERE x.evidence = m.evidence AND "
          "x.source_key = m.source_key AND x.seq = m.seq)")

MESSAGE_COLUMNS = (
    "evidence, source_key, seq, app, account, conversation, message_id, time, direction, "
    "sender, recipients, text, attachments, source_table, source_rowid, deleted")


@dataclass(frozen=True, slots=True)
class SourceOutcome:
    """What reading one database gave: which module, how many messages, or why not."""

    path: str
    allocated: bool
    source: str | None = None
    variant: str | None = None
    wal_frames: int = 0
    journal_pages: int = 0
    error: str | None = None


class ChatStore:
    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = path
        if read_only:
            # For readers of a finished scan (the web app): nothing is created or changed.
            self._db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                                       isolation_level=None)
            # A scan from before copies were merged has no such tables: nothing is a copy.
            self._merging = all(self._has_table(t) for t in _MERGE_TABLES)
            return
        self._merging = True
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        # The name an attachment is looked up by: Python's lower(), not SQLite's (ASCII only).
        self._db.create_function("fellwatch_name", 1, _file_name, deterministic=True)

    def index(self) -> None:
        """The indexes the readers use (conversation order, the timeline), once written."""
        self._db.executescript(INDEXES)

    @classmethod
    def open_finished(cls, path: Path) -> ChatStore | None:
        """The chat tables of a finished scan, read-only; None when it has none."""
        if not path.is_file():
            return None
        try:
            store = cls(path, read_only=True)
            found = store._db.execute(
                "SELECT count(*) FROM sqlite_master WHERE type='table' AND name IN "
                "('chat_sources', 'chat_messages', 'chat_conversations', 'chat_hits')"
            ).fetchone()[0]
        except sqlite3.Error:
            return None
        if found != 4:
            store.close()
            return None
        return store

    def conversation(self, rank: int) -> dict[str, Any] | None:
        row = self._db.execute("SELECT doc FROM chat_conversations WHERE rank=?",
                               (rank,)).fetchone()
        return None if row is None else dict(json.loads(row[0]), rank=rank)

    def close(self) -> None:
        self._db.close()

    def reset(self) -> None:
        self._db.executescript(
            "DELETE FROM chat_sources; DELETE FROM chat_messages; "
            "DELETE FROM chat_conversations; DELETE FROM chat_hits; DELETE FROM chat_copy_keys; "
            "DELETE FROM chat_offline_keys; "
            "DELETE FROM chat_homes; DELETE FROM chat_copies; DELETE FROM chat_kept; "
            "DELETE FROM chat_offline_joined;")

    def done(self, evidence: int) -> set[str]:
        rows = self._db.execute("SELECT key FROM chat_sources WHERE evidence=?", (evidence,))
        return {r[0] for r in rows}

    def item_error(self, evidence: int, key: str) -> str | None:
        """The item pass's error on this item (None when it was read, or is not recorded)."""
        row = self._db.execute(
            "SELECT record FROM records WHERE evidence=? AND key=?", (evidence, key)
        ).fetchone() if self._has_records() else None
        if row is None:
            return None
        error = json.loads(row[0]).get("error")
        return None if error is None else str(error)

    def _has_table(self, name: str) -> bool:
        return self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone() \
            is not None

    def _has_records(self) -> bool:
        return self._has_table("records")

    has_records = _has_records

    def located(self, evidence: int) -> list[tuple[str, str, int, str | None, str | None]] | None:
        """The item pass's `located` rows of one evidence (`store.located`), in key order;
        None when the store has no item pass, or one that did not keep them all."""
        if not (self._has_records() and self._has_table("located")):
            return None
        flag = self._db.execute("SELECT value FROM meta WHERE name='located'").fetchone() \
            if self._has_table("meta") else None
        if flag is not None and json.loads(flag[0]) == "incomplete":
            return None
        return [(r[0], r[1], r[2], r[3], r[4]) for r in self._db.execute(
            "SELECT key, path, size, container, item FROM located WHERE evidence=? "
            "ORDER BY key", (evidence,))]

    def build_names(self, evidence: int, walked: Iterable[tuple[str, str]] | None = None) -> None:
        """The file-name index of one evidence's items (`named`), as a table of the store:
        from the item pass's records (every item but carved objects, archive members too), or
        from `walked` (path, key) pairs where there is no item pass."""
        db = self._db
        own = not db.in_transaction
        if own:
            db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("CREATE TABLE IF NOT EXISTS chat_names (evidence INTEGER NOT NULL, "
                       "name TEXT NOT NULL, key TEXT NOT NULL, path TEXT NOT NULL)")
            db.execute("DELETE FROM chat_names WHERE evidence=?", (evidence,))
            if walked is None:
                db.execute(
                    "INSERT INTO chat_names SELECT evidence, fellwatch_name(path), key, path "
                    "FROM (SELECT evidence, key, json_extract(record, '$.path') AS path "
                    "FROM records WHERE evidence=? AND origin != 'carved')", (evidence,))
            else:
                pairs = iter(walked)
                while chunk := list(itertools.islice(pairs, _CHUNK)):
                    db.executemany("INSERT INTO chat_names VALUES (?, ?, ?, ?)",
                                   [(evidence, _file_name(path), key, path)
                                    for path, key in chunk])
            db.execute("CREATE INDEX IF NOT EXISTS chat_names_name ON chat_names "
                       "(evidence, name)")
            if own:
                db.execute("COMMIT")
        except BaseException:
            if own and db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def named(self, evidence: int, name: str) -> list[tuple[str, str]]:
        """(path, key) of the items of `evidence` whose file name, lower-cased, is `name`."""
        return [(r[0], r[1]) for r in self._db.execute(
            "SELECT path, key FROM chat_names WHERE evidence=? AND name=?", (evidence, name))]

    def drop_names(self) -> None:
        """The name index is rebuilt by every run that needs it: not kept in the store."""
        self._db.execute("DROP TABLE IF EXISTS chat_names")

    def commit_source(
        self,
        evidence: int,
        key: str,
        outcome: SourceOutcome,
        messages: Iterable[tuple[Message, list[dict[str, Any]]]],
        copy_key: Callable[[Message], tuple[str, str] | None] | None = None,
        offline_key: Callable[[Message], tuple[str, str, str] | None] | None = None,
    ) -> tuple[int, str | None]:
        """Store one database's messages, its outcome and its item's error, in one transaction.

        `copy_key`: the source's (`ChatSource.copy_key`), for a database that may be a copy
        of another's mailbox; each key is stored with its message for `merge_copies`, and so
        is `offline_key`'s (`ChatSource.offline_key`), the second key.
        A failure part-way through `messages` keeps what was read and records why it stopped.
        Returns (messages stored, error recorded).
        """
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            count = 0
            error = outcome.error
            rows: list[tuple[Any, ...]] = []
            keys: list[tuple[int, str, int, str, str]] = []
            offline: list[tuple[int, str, int, str, str, str, str | None]] = []
            iterator = iter(messages)
            while True:
                try:
                    message, attachments = next(iterator)
                except StopIteration:
                    break
                except Exception as exc:  # hostile bytes may break a query anywhere
                    error = f"chats: {outcome.source}: read stopped after {count} messages: " \
                            f"{_line(exc)}"
                    break
                rows.append(_row(evidence, key, count, message, attachments))
                found = copy_key(message) if copy_key is not None else None
                if found is not None:
                    keys.append((evidence, key, count, *found))
                second = offline_key(message) if offline_key is not None else None
                if second is not None:
                    # With the message's server id (its copy key's), if it has one.
                    offline.append((evidence, key, count, *second,
                                    found[1] if found is not None else None))
                count += 1
                if len(rows) >= _CHUNK:
                    self._insert_messages(rows, keys, offline)
            if rows:
                self._insert_messages(rows, keys, offline)
            db.execute(
                "INSERT OR REPLACE INTO chat_sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (evidence, key, outcome.path, outcome.source, outcome.variant,
                 int(outcome.allocated), count, outcome.wal_frames, outcome.journal_pages,
                 error))
            if error is not None:
                self._record_error(evidence, key, error)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return count, error

    def _insert_messages(self, rows: list[tuple[Any, ...]],
                         keys: list[tuple[int, str, int, str, str]],
                         offline: list[tuple[int, str, int, str, str, str, str | None]],
                         ) -> None:
        self._db.executemany(f"INSERT OR REPLACE INTO chat_messages ({MESSAGE_COLUMNS}) "
                             f"VALUES ({', '.join('?' * 16)})", rows)
        self._db.executemany("INSERT OR REPLACE INTO chat_copy_keys VALUES (?, ?, ?, ?, ?)",
                             keys)
        self._db.executemany(
            "INSERT OR REPLACE INTO chat_offline_keys VALUES (?, ?, ?, ?, ?, ?, ?)", offline)
        rows.clear()
        keys.clear()
        offline.clear()

    def merge_copies(self) -> None:
        """Decide, from the stored messages, what two copies of one mailbox show (rebuilt on
        every run, like the conversations, so the choice never depends on the order the
        databases were read in, and a resumed scan makes the same one):

        - the databases of one mailbox (same source, same account, same evidence) are grouped
          under one *home* (`chat_homes`): a live file before a deleted one, then the path,
          then the item key. Their messages make one set of conversations, listed under the
          home, so a thread split between the copies is one conversation;
        - of the messages with the same copy key in two or more of those databases (or the
          same offline id, `_join_offline`), one is kept: a live record before a recovered
          deleted one (a record the app deleted in one copy is the live message of the
          other), then one with the server's id before one still unsent, then a live file
          before a deleted one, then the path, item key and order read. The others are
          `chat_copies` of it, in no output on their own; the kept one lists them
          (`chat_kept`: path, item, table, rowid, whether deleted) so an examiner can check
          either database.
        """
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for table in ("chat_homes", "chat_copies", "chat_kept",  # (executescript commits)
                          "chat_offline_joined"):
                db.execute(f"DELETE FROM {table}")
            boxes: dict[tuple[int, str], list[str]] = {}
            for evidence, mailbox, key in db.execute(
                    "SELECT k.evidence, k.mailbox, k.source_key FROM (SELECT evidence, mailbox, "
                    "source_key FROM chat_copy_keys UNION SELECT evidence, mailbox, source_key "
                    "FROM chat_offline_keys) k JOIN chat_sources s "
                    "ON s.evidence = k.evidence AND s.key = k.source_key "
                    "ORDER BY k.evidence, k.mailbox, s.allocated DESC, s.path, k.source_key"):
                boxes.setdefault((evidence, mailbox), []).append(key)
            homes: dict[tuple[int, str], str] = {}
            for (evidence, _), keys in boxes.items():
                if len(keys) > 1:
                    for key in keys:  # a database in two mailboxes joins the first's home
                        homes.setdefault((evidence, key), keys[0])
            db.executemany("INSERT INTO chat_homes VALUES (?, ?, ?)",
                           [(e, k, h) for (e, k), h in sorted(homes.items())])
            self._join_offline()
            # The keys in their index's order, one message's at a time (no sort of them all),
            # beside the messages the offline ids join to a key (few); only a key in two
            # databases or more is looked at further.
            db.execute("CREATE INDEX IF NOT EXISTS chat_copy_keys_key ON chat_copy_keys "
                       "(evidence, mailbox, key)")
            # (The last column: whether the message has no server id of its own.)
            cursor: Iterator[tuple[Any, ...]] = db.execute(
                "SELECT evidence, mailbox, key, source_key, seq, 0 FROM chat_copy_keys "
                "INDEXED BY chat_copy_keys_key ORDER BY evidence, mailbox, key")
            if db.execute("SELECT 1 FROM chat_offline_joined LIMIT 1").fetchone():
                cursor = heapq.merge(cursor, db.execute(
                    "SELECT evidence, mailbox, key, source_key, seq, 1 FROM "
                    "chat_offline_joined ORDER BY evidence, mailbox, key"), key=lambda r: r[:3])
            look = ("SELECT m.deleted, s.allocated, s.path, m.source_table, m.source_rowid "
                    "FROM chat_messages m JOIN chat_sources s ON s.evidence = m.evidence AND "
                    "s.key = m.source_key WHERE m.evidence=? AND m.source_key=? AND m.seq=?")
            copies: list[tuple[int, str, int, str, int]] = []
            kept: list[tuple[int, str, int, str]] = []
            for _, group in itertools.groupby(cursor, key=lambda r: r[:3]):
                members = list(group)
                if len({r[3] for r in members}) < 2:
                    continue
                found = []
                for evidence, _, _, key, seq, unsent in members:
                    deleted, allocated, path, table, rowid = db.execute(
                        look, (evidence, key, seq)).fetchone()
                    # The kept copy first: a live record, one with the server's id, a live
                    # file, then path, key, order.
                    found.append(((deleted, unsent, -allocated, path, key, seq), table, rowid))
                found.sort()
                (_, _, _, _, keep_key, keep_seq), *_ = found[0]
                rest = found[1:]
                evidence = members[0][0]
                copies.extend((evidence, r[0][4], r[0][5], keep_key, keep_seq) for r in rest)
                kept.append((evidence, keep_key, keep_seq, json.dumps([
                    {"item": r[0][4], "path": r[0][3], "table": r[1], "rowid": r[2],
                     "deleted": bool(r[0][0]), "file_deleted": r[0][2] == 0} for r in rest],
                    sort_keys=True, ensure_ascii=False)))
                if len(kept) >= _CHUNK:
                    self._insert_copies(copies, kept)
            self._insert_copies(copies, kept)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _join_offline(self) -> None:
        """The messages an offline id makes copies of another (`chat_offline_joined`): in a
        mailbox, the messages of one conversation with one offline id, in two databases or
        more. Where those that have a server id all have the same one, the others (no server
        id yet: still unsent in that copy) take it as their key; where none has one, all take
        the offline id; where two server ids disagree, the server ids decide and the offline
        id joins nothing. Never within one database, never on a rowid."""
        db = self._db
        # Only an offline id that some message without a server id has can join anything:
        # those (few) are looked up, one id at a time, through the index.
        unsent = db.execute(
            "SELECT DISTINCT evidence, mailbox, conversation, key FROM chat_offline_keys "
            "WHERE server IS NULL ORDER BY evidence, mailbox, conversation, key")
        first = unsent.fetchone()
        if first is None:
            return  # every message has its server id: those decide alone (most evidence)
        db.execute("CREATE INDEX IF NOT EXISTS chat_offline_keys_key ON chat_offline_keys "
                   "(evidence, mailbox, conversation, key)")
        group = ("SELECT source_key, seq, server FROM chat_offline_keys INDEXED BY "
                 "chat_offline_keys_key WHERE evidence=? AND mailbox=? AND conversation=? AND "
                 "key=? ORDER BY source_key, seq")
        joined: list[tuple[int, str, str, str, int]] = []
        for evidence, mailbox, conversation, offline in itertools.chain((first,), unsent):
            members = db.execute(group, (evidence, mailbox, conversation, offline)).fetchall()
            if len({r[0] for r in members}) < 2:
                continue
            servers = {r[2] for r in members if r[2] is not None}
            if len(servers) > 1:
                continue
            # (A newline never ends a server id's key in practice; it keeps the offline id's
            # key apart from the server ids of the same mailbox.)
            key = servers.pop() if servers else f"\n{conversation}\n{offline}"
            joined.extend((evidence, mailbox, key, r[0], r[1]) for r in members if r[2] is None)
            if len(joined) >= _CHUNK:
                db.executemany("INSERT INTO chat_offline_joined VALUES (?, ?, ?, ?, ?)", joined)
                joined.clear()
        db.executemany("INSERT INTO chat_offline_joined VALUES (?, ?, ?, ?, ?)", joined)

    def _insert_copies(self, copies: list[tuple[int, str, int, str, int]],
                       kept: list[tuple[int, str, int, str]]) -> None:
        self._db.executemany("INSERT INTO chat_copies VALUES (?, ?, ?, ?, ?)", copies)
        self._db.executemany("INSERT INTO chat_kept VALUES (?, ?, ?, ?)", kept)
        copies.clear()
        kept.clear()

    def _merged(self) -> bool:
        """Whether any mailbox is held by two databases (else every reader takes the plain
        queries, which the indexes serve in order)."""
        return self._merging and self._db.execute(
            "SELECT 1 FROM chat_homes LIMIT 1").fetchone() is not None

    def _record_error(self, evidence: int, key: str, error: str) -> None:
        # The database item's own record carries the failure, like any item's read error, so
        # every output counts it the same way.
        if self._has_records():
            set_item_error(self._db, evidence, key, error)

    # --- reading back --------------------------------------------------------------------

    def messages_by_conversation(self) -> Iterator[sqlite3.Row]:
        """Every message shown (no copy of another), by conversation: `group_key` is the
        database the conversation is listed under (its home, for a mailbox held twice), and
        `copies` the kept message's other copies (JSON, or None). A merged conversation's
        messages come in time order (they are from two databases); any other's in the order
        read."""
        cursor = self._db.cursor()
        cursor.row_factory = sqlite3.Row
        if not self._merged():
            yield from cursor.execute(
                f"SELECT {MESSAGE_COLUMNS}, source_key AS group_key, NULL AS copies "
                "FROM chat_messages ORDER BY evidence, source_key, app, conversation, seq")
            return
        columns = ", ".join(f"m.{c.strip()}" for c in MESSAGE_COLUMNS.split(","))
        yield from cursor.execute(
            f"SELECT {columns}, coalesce(h.home_key, m.source_key) AS group_key, "
            "k.copies AS copies FROM chat_messages m "
            "LEFT JOIN chat_homes h ON h.evidence = m.evidence AND h.source_key = m.source_key "
            "LEFT JOIN chat_kept k ON k.evidence = m.evidence AND k.source_key = m.source_key "
            "AND k.seq = m.seq JOIN chat_sources s ON s.evidence = m.evidence "
            f"AND s.key = m.source_key WHERE {_SHOWN} "
            "ORDER BY m.evidence, group_key, m.app, m.conversation, "
            "CASE WHEN h.home_key IS NULL THEN 0 ELSE m.time IS NULL END, "
            "CASE WHEN h.home_key IS NULL THEN NULL ELSE m.time END, "
            "CASE WHEN h.home_key IS NULL THEN NULL ELSE s.path END, m.source_key, m.seq")

    def messages_by_time(self) -> Iterator[sqlite3.Row]:
        cursor = self._db.cursor()
        cursor.row_factory = sqlite3.Row
        copies, shown = (("k.copies", f"LEFT JOIN chat_kept k ON k.evidence = m.evidence AND "
                           f"k.source_key = m.source_key AND k.seq = m.seq WHERE {_SHOWN}")
                          if self._merged() else ("NULL", ""))
        yield from cursor.execute(
            f"SELECT m.*, h.rules AS rules, {copies} AS copies FROM chat_messages m "
            "LEFT JOIN chat_hits h USING (evidence, source_key, seq) JOIN chat_sources s "
            f"ON s.evidence = m.evidence AND s.key = m.source_key {shown} "
            # Ties in time go by database path (what a reader sees), then the order read.
            "ORDER BY m.time IS NULL, m.time, m.evidence, s.path, m.source_key, m.seq")

    def conversation_messages(self, evidence: int, source_key: str, app: str,
                              conversation: str) -> list[sqlite3.Row]:
        """The messages of one conversation (`source_key` the database it is listed under),
        each with `copies`, its other copies' provenance (JSON, or None); a conversation of a
        mailbox held by two databases takes its messages from both, in time order."""
        cursor = self._db.cursor()
        cursor.row_factory = sqlite3.Row
        if not self._merging or self._db.execute(
                "SELECT 1 FROM chat_homes WHERE evidence=? AND home_key=? LIMIT 1",
                (evidence, source_key)).fetchone() is None:
            copies = "(SELECT k.copies FROM chat_kept k WHERE k.evidence = m.evidence AND " \
                "k.source_key = m.source_key AND k.seq = m.seq)" if self._merging else "NULL"
            return list(cursor.execute(
                f"SELECT m.*, h.rules AS rules, {copies} AS copies FROM chat_messages m "
                "LEFT JOIN chat_hits h USING (evidence, source_key, seq) WHERE m.evidence=? "
                "AND m.source_key=? AND m.app=? AND m.conversation=? ORDER BY m.seq",
                (evidence, source_key, app, conversation)))
        return list(cursor.execute(
            "SELECT m.*, h.rules AS rules, k.copies AS copies FROM chat_messages m "
            "LEFT JOIN chat_hits h USING (evidence, source_key, seq) "
            "LEFT JOIN chat_kept k ON k.evidence = m.evidence AND k.source_key = m.source_key "
            "AND k.seq = m.seq JOIN chat_sources s ON s.evidence = m.evidence "
            "AND s.key = m.source_key WHERE m.evidence=? AND m.source_key IN (SELECT "
            "source_key FROM chat_homes WHERE evidence=? AND home_key=?) AND m.app=? "
            f"AND m.conversation=? AND {_SHOWN} "
            "ORDER BY m.time IS NULL, m.time, s.path, m.source_key, m.seq",
            (evidence, evidence, source_key, app, conversation)))

    def attachment_messages(self, evidence: int, item: str) -> list[dict[str, Any]]:
        """The messages that sent item `item` of evidence `evidence` as an attachment, each
        with its conversation's rank and its database's path, in time order.

        No index leads from an item to its messages (the attachments are a JSON column), so
        the rows are found by the item's key as it is written there and checked again on the
        parsed column: a key that is a substring of another's never matches it.
        """
        needle = '"item": ' + json.dumps(item, ensure_ascii=False)
        cursor = self._db.cursor()
        cursor.row_factory = sqlite3.Row
        # A copy of a kept message is not listed; a message of a mailbox held twice is in
        # the conversation listed under its home.
        home, shown = ("coalesce((SELECT h.home_key FROM chat_homes h WHERE h.evidence = "
                       "m.evidence AND h.source_key = m.source_key), m.source_key)",
                       f" AND {_SHOWN}") if self._merged() else ("m.source_key", "")
        rows = cursor.execute(
            "SELECT m.source_key, m.seq, m.app, m.account, m.conversation, m.message_id, "
            "m.time, m.direction, m.sender, m.attachments, m.deleted, c.rank, c.flagged, "
            "c.source_key AS conversation_key, "
            "s.path AS source_path FROM chat_messages m "
            "LEFT JOIN chat_conversations c ON c.evidence = m.evidence "
            f"AND c.source_key = {home} AND c.app = m.app "
            "AND c.conversation = m.conversation "
            "LEFT JOIN chat_sources s ON s.evidence = m.evidence AND s.key = m.source_key "
            "WHERE m.evidence = ? AND m.attachments != '[]' AND instr(m.attachments, ?) > 0"
            f"{shown} ORDER BY m.time IS NULL, m.time, s.path, m.source_key, m.seq",
            (evidence, needle))
        found = []
        for r in rows:
            row = dict(r)
            if any(a.get("item") == item for a in json.loads(row.pop("attachments"))):
                found.append(row)
        return found

    def sources(self) -> list[dict[str, Any]]:
        """Every database read, with `messages` read from it and `copies`: how many of those
        are shown as another database's copy of the same message (`merge_copies`), so the
        messages shown are the sum of `messages` less `copies`."""
        cursor = self._db.cursor()
        cursor.row_factory = sqlite3.Row
        copies = "(SELECT count(*) FROM chat_copies c WHERE c.evidence = s.evidence AND " \
            "c.source_key = s.key)" if self._merging else "0"
        return [dict(r) for r in cursor.execute(
            f"SELECT s.*, {copies} AS copies FROM chat_sources s ORDER BY s.evidence, s.key")]

    @contextmanager
    def ranking(self) -> Iterator[Callable[[list[tuple[int, str, int, str]]], None]]:
        """One transaction that replaces the conversations and their hits: yields a function
        that stores a chunk of hits as they are found (none are all held); the caller then
        calls `replace_conversations` before leaving."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("DELETE FROM chat_conversations")
            db.execute("DELETE FROM chat_hits")

            def keep(hits: list[tuple[int, str, int, str]]) -> None:
                db.executemany("INSERT INTO chat_hits VALUES (?, ?, ?, ?)", hits)

            yield keep
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def replace_conversations(self, docs: list[dict[str, Any]]) -> None:
        """The ranked conversations, inside `ranking`."""
        self._db.executemany(
            "INSERT INTO chat_conversations VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(rank, d["evidence_index"], d["source"]["item"], d["app"], d["conversation"],
              d["score"], int(d["flagged"]), json.dumps(d, sort_keys=True, ensure_ascii=False))
             for rank, d in enumerate(docs)])

    def conversations(self, flagged_only: bool = False,
                      with_rank: bool = False) -> list[dict[str, Any]]:
        where = " WHERE flagged=1" if flagged_only else ""
        rows = self._db.execute(f"SELECT rank, doc FROM chat_conversations{where} ORDER BY rank")
        if with_rank:
            return [dict(json.loads(doc), rank=rank) for rank, doc in rows]
        return [json.loads(doc) for _, doc in rows]

    def counts(self) -> dict[str, int]:
        db = self._db
        copies = db.execute("SELECT count(*) FROM chat_copies").fetchone()[0] \
            if self._merging else 0
        return {
            "messages": db.execute("SELECT count(*) FROM chat_messages").fetchone()[0] - copies,
            "conversations": db.execute("SELECT count(*) FROM chat_conversations").fetchone()[0],
            "flagged_conversations": db.execute(
                "SELECT count(*) FROM chat_conversations WHERE flagged=1").fetchone()[0],
        }


def chat_counts(path: Path) -> dict[str, int]:
    """The summary's chat counts of the scan store at `path` (zeros when no chats were read)."""
    store = ChatStore(path)
    try:
        return store.counts()
    finally:
        store.close()


def _row(evidence: int, key: str, seq: int, m: Message,
         attachments: list[dict[str, Any]]) -> tuple[Any, ...]:
    return (evidence, key, seq, m.app, m.account, m.conversation, m.message_id, m.time,
            m.direction, m.sender, json.dumps(list(m.recipients), ensure_ascii=False), m.text,
            json.dumps(attachments, sort_keys=True, ensure_ascii=False) if attachments else "[]",
            m.table, m.rowid, int(m.deleted))


def _file_name(path: str | None) -> str:
    return posixpath.basename(path or "").lower()


def _line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
