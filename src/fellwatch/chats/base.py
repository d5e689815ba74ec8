"""The shape every chat source yields, and what a source is: a path pattern and a schema.

A source is one app's message database (one module each, registered in `chats.registry`). It
is recognised by the database's path *and* its schema (tables and columns present): a variant
is a named set of required tables and columns, and the first variant present is read. A
database at a source's path whose schema fits no variant is an error naming its tables and
`user_version`, so an unknown schema version is a recorded outcome, never a guess.
"""

from __future__ import annotations

import fnmatch
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import ClassVar

from fellwatch.chats.sqlite_image import DatabaseError, open_in_memory, recover

# Who "me" is when an app keeps the device owner's own id outside the database (WhatsApp's
# own JID is in shared_prefs, SMS has no own number): the account holder of the device.
OWNER = "(device owner)"

Schema = Mapping[str, frozenset[str]]
# Companion files' bytes by file name (with "-wal" / "-journal" for their siblings).
Companions = Mapping[str, bytes]


class ChatSourceError(Exception):
    """One database cannot be read as its app's; recorded on that item."""


@dataclass(frozen=True, slots=True)
class Message:
    """One message, in one shape whatever the app. `time` is UTC ISO 8601 (or None)."""

    app: str
    account: str
    conversation: str
    message_id: str
    time: str | None
    direction: str  # "sent" | "received"
    sender: str
    recipients: tuple[str, ...]
    text: str
    table: str
    rowid: int
    attachments: tuple[str, ...] = ()
    deleted: bool = False
    # The client's id of the message, written before the server gives its own (Messenger's
    # `offline_threading_id`); "" where the app keeps none. Only a second copy key.
    offline_id: str = ""


def deleted_variant(pattern: str) -> str | None:
    """The form of a path pattern that a deleted file's name matches when its first character
    is lost (FAT overwrites it; The Sleuth Kit shows "_sgstore.db"); None where the name starts
    with a wildcard, which already matches any first character."""
    folder, _, name = pattern.rpartition("/")
    if name[:1] in ("*", "?", "[", ""):
        return None
    return (folder + "/" if folder else "") + "?" + name[1:]


def cols(*names: str) -> frozenset[str]:
    return frozenset(names)


def tables(db: sqlite3.Connection) -> dict[str, frozenset[str]]:
    """Every table with its columns (lower-case: SQLite names are case-insensitive)."""
    names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    found: dict[str, frozenset[str]] = {}
    for name in names:
        quoted = name.replace('"', '""')
        found[name.lower()] = frozenset(
            r[1].lower() for r in db.execute(f'PRAGMA table_info("{quoted}")'))
    return found


class ChatSource:
    """Base of every source: its name, app, path patterns and schema variants."""

    name: ClassVar[str]
    app: ClassVar[str]
    platform: ClassVar[str]
    patterns: ClassVar[tuple[str, ...]]  # fnmatch patterns on the lower-case item path
    variants: ClassVar[dict[str, Schema]]
    covered: ClassVar[str]  # which versions, for docs/chats.md
    # variant -> the message table whose deleted records are carved (`chats.carve`)
    deleted_tables: ClassVar[dict[str, str]] = {}
    # Files in the database's own folder that the source reads beside it, which are not message
    # databases themselves (WhatsApp's wa.db contacts, Messenger's threads_db2-uid). The stage
    # hands their bytes, and their -wal and -journal where present, to `contact_names` and
    # `read_with`; a file the evidence does not hold is simply absent.
    companions: ClassVar[tuple[str, ...]] = ()

    def matches_path(self, path: str, deleted: bool = False) -> bool:
        """Whether `path` is this source's database. A deleted file's name may have lost its
        first character (FAT marks a deleted entry by overwriting it; The Sleuth Kit shows
        "_sgstore.db"), so for a deleted item that character is not compared."""
        lower = path.lower()
        if any(fnmatch.fnmatchcase(lower, p) for p in self.patterns):
            return True
        if not deleted:
            return False
        if not lower.rpartition("/")[2]:
            return False
        return any(fnmatch.fnmatchcase(lower, form) for form in
                   (deleted_variant(p) for p in self.patterns) if form is not None)

    def variant(self, db: sqlite3.Connection) -> str:
        present = tables(db)
        for name, schema in self.variants.items():
            if all(t in present and schema[t] <= present[t] for t in schema):
                return name
        version = db.execute("PRAGMA user_version").fetchone()[0]
        shown = ", ".join(sorted(present)[:12]) or "none"
        wanted = "; ".join(f"{n} ({', '.join(sorted(s))})" for n, s in self.variants.items())
        raise ChatSourceError(
            f"{self.name}: unknown schema (user_version {version}; tables: {shown}); "
            f"known: {wanted}")

    def read(self, db: sqlite3.Connection, variant: str, path: str) -> Iterator[Message]:
        raise NotImplementedError

    def read_with(self, db: sqlite3.Connection, variant: str, path: str,
                  companions: Companions) -> Iterator[Message]:
        """`read`, for a source whose companion files change what it reads (who the device
        owner is); most sources need none."""
        return self.read(db, variant, path)

    def contact_names(self, companions: Companions) -> dict[str, str]:
        """Display names by the ids this source's messages name people with, read from its
        companion files (`named` applies them); empty when there are none."""
        return {}

    def copy_key(self, message: Message) -> tuple[str, str] | None:
        """(mailbox, id) of a message that another database on the same evidence may hold a
        copy of (the Facebook app and Messenger both keeping one account's mailbox): two
        messages with the same mailbox and id are one message (`ChatStore.merge_copies`).
        None for a source whose databases are never copies of each other (most), and for a
        message without the app's own id."""
        return None

    def offline_key(self, message: Message) -> tuple[str, str, str] | None:
        """(mailbox, conversation, offline id) of a message whose copy in another database may
        not have the server's id yet (sent while offline): a second copy key, used by
        `ChatStore.merge_copies` only where the server's ids do not decide. None for most
        sources and for a message without its client's id."""
        return None

    def from_deleted_with(self, db: sqlite3.Connection, variant: str, path: str,
                          row: dict[str, object], rowid: int,
                          companions: Companions) -> Message | None:
        """`from_deleted`, for a source whose companion files change what it reads (who the
        device owner is); most sources need none."""
        return self.from_deleted(db, variant, path, row, rowid)

    def from_deleted(self, db: sqlite3.Connection, variant: str, path: str,
                     row: dict[str, object], rowid: int) -> Message | None:
        """A deleted record of `deleted_tables[variant]` as a Message (`deleted` set), or
        None when its values do not fit the table's columns (another table's record). `rowid`
        is negative when the record's rowid was overwritten (a freeblock's header): then
        -(page x 65536 + offset), where it was found; the INTEGER PRIMARY KEY column is None."""
        return None


def mailbox_copy_key(source: ChatSource, message: Message) -> tuple[str, str] | None:
    """The copy key of the sources whose databases hold one account's mailbox (Messenger's,
    kept by both Messenger and the Facebook app): the mailbox is the source and the account,
    the id the app's own message id (the server's `mid.$…`). A message whose account is
    unknown (threads_db2 without its uid file) is never taken for another database's: the
    two apps may be signed in to two different accounts. A message without the app's id
    (its rowid stands in), or whose id is its own offline id (not yet the server's), has no
    key."""
    if not message.account or not message.message_id or \
            message.message_id == str(message.rowid) or message.message_id == message.offline_id:
        return None
    return f"{source.name}:{message.account}", message.message_id


def mailbox_offline_key(source: ChatSource, message: Message) -> tuple[str, str, str] | None:
    """The second copy key of those sources: the mailbox (as `mailbox_copy_key`), the
    conversation and the client's offline id. Never for an unknown account or a message
    without an offline id; never the rowid."""
    if not message.account or not message.offline_id:
        return None
    return f"{source.name}:{message.account}", message.conversation, message.offline_id


def named(message: Message, names: Mapping[str, str]) -> Message:
    """The message with its sender and recipients shown as "id (name)" where `names` has the
    id (the form Telegram's names take); the conversation id stays the app's own."""
    if not names:
        return message

    def shown(party: str) -> str:
        name = names.get(party)
        return f"{party} ({name})" if name else party

    return replace(message, sender=shown(message.sender),
                   recipients=tuple(shown(r) for r in message.recipients))


def open_companion(companions: Companions, name: str) -> sqlite3.Connection | None:
    """A companion SQLite file opened like the database (in memory, its WAL or journal
    applied), or None when the evidence has none or it cannot be read: a companion only adds
    names, so its failure never stops the messages."""
    main = companions.get(name)
    if main is None:
        return None
    try:
        return open_in_memory(recover(main, companions.get(name + "-wal"),
                                      companions.get(name + "-journal")))
    except DatabaseError:
        return None


def has(db: sqlite3.Connection, table: str, column: str | None = None) -> bool:
    present = tables(db)
    if table not in present:
        return False
    return column is None or column in present[table]


def text_of(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


class SortedLookup:
    """Rows grouped by their first column, asked for in ascending key order: a merge join with
    a message query sorted by the same key, in constant memory. (A dict of every message's
    attachments or chat would grow with the messages.) `rows` must be sorted by the key, then
    by the order wanted within one key; rows whose key is not a number never match a rowid."""

    def __init__(self, rows: Iterable[Sequence[object]]) -> None:
        self._rows = iter(rows)
        self._head = self._advance()

    def _advance(self) -> Sequence[object] | None:
        for row in self._rows:
            if isinstance(row[0], int | float):
                return row
        return None

    def take(self, key: int) -> list[tuple[object, ...]]:
        """The rest of each row whose key is `key`; keys below it are passed by for good."""
        found: list[tuple[object, ...]] = []
        while self._head is not None and self._head[0] < key:  # type: ignore[operator]
            self._head = self._advance()
        while self._head is not None and self._head[0] == key:
            found.append(tuple(self._head[1:]))
            self._head = self._advance()
        return found
