"""Facebook Messenger on Android, the older store: `com.facebook.orca/databases/threads_db2`.

`messages` holds one row per message: `msg_id`, `thread_key` (the conversation, e.g.
`ONE_TO_ONE:…` or `GROUP:…`), `timestamp_ms` (Unix milliseconds), `text`, `sender` (JSON:
`user_key` "FACEBOOK:<id>" and `name`) and `attachments` (JSON: `filename`, `mime_type`). As
ALEAPP does, call records (`generic_admin_message_extensible_data` set) and rows of `msg_type`
-1 are not messages. The account's own id is not in the database but in the file
`threads_db2-uid` beside it (its companion); without that file the direction cannot be told and
every message is shown as received from its sender. The Facebook app keeps a threads_db2 of
its own: `copy_key` (the account and `msg_id`) lets the store show a message that both hold
once (`ChatStore.merge_copies`), and `offline_key` (the account, thread and
`offline_threading_id`, the client's id) one that one copy holds without a server id yet;
without the uid file the account is unknown and nothing merges. Deleted records of `messages`
are carved (`chats.carve`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any, ClassVar

from fellwatch.chats.base import (
    OWNER,
    ChatSource,
    Companions,
    Message,
    Schema,
    cols,
    has,
    mailbox_copy_key,
    mailbox_offline_key,
    text_of,
)
from fellwatch.chats.epochs import unix_ms

UID_FILE = "threads_db2-uid"
# Read where the table has them (NULL where not), in this order.
OPTIONAL = ("attachments", "msg_type", "generic_admin_message_extensible_data",
            "offline_threading_id")


def _json(value: object) -> Any:
    try:
        return json.loads(text_of(value)) if value else None
    except ValueError:
        return None


def user_id(user_key: object) -> str:
    """"FACEBOOK:100001" -> "100001" (other key kinds, e.g. a phone contact's, as stored)."""
    key = text_of(user_key)
    return key.partition(":")[2] if key.startswith("FACEBOOK:") else key


def owner_of(companions: Companions) -> str | None:
    """The account's user id from threads_db2-uid (its first non-empty line, digits only)."""
    raw = companions.get(UID_FILE)
    if not raw:
        return None
    for line in raw[:4096].decode("utf-8", "replace").splitlines():
        line = line.strip()
        if line:
            return line if line.isdigit() else None
    return None


class MessengerAndroid(ChatSource):
    name = "messenger-android"
    app = "Messenger"
    platform = "android"
    patterns = ("*/com.facebook.orca/databases/threads_db2", "*/threads_db2")
    variants: ClassVar[dict[str, Schema]] = {
        "threads_db2": {
            "messages": cols("msg_id", "thread_key", "timestamp_ms", "text", "sender"),
            "threads": cols("thread_key"),
        },
    }
    covered = ("threads_db2 of Facebook Messenger for Android before its MSYS store (messages, "
               "threads, thread_users, as ALEAPP reads them), with the account id from "
               "threads_db2-uid beside it")
    companions = (UID_FILE,)

    deleted_tables: ClassVar[dict[str, str]] = {"threads_db2": "messages"}

    def copy_key(self, message: Message) -> tuple[str, str] | None:
        return mailbox_copy_key(self, message)

    def offline_key(self, message: Message) -> tuple[str, str, str] | None:
        return mailbox_offline_key(self, message)

    def read(self, db: sqlite3.Connection, variant: str, path: str) -> Iterator[Message]:
        return self.read_with(db, variant, path, {})

    def read_with(self, db: sqlite3.Connection, variant: str, path: str,
                  companions: Companions) -> Iterator[Message]:
        owner = owner_of(companions)
        names: dict[str, str] = {}
        if _has_names(db):
            for key, first, last in db.execute(
                    "SELECT user_key, first_name, last_name FROM thread_users ORDER BY rowid"):
                full = " ".join(p for p in (text_of(first), text_of(last)) if p)
                if full:
                    names.setdefault(user_id(key), full)
        optional = [c if has(db, "messages", c) else "NULL" for c in OPTIONAL]
        query = ("SELECT rowid, msg_id, thread_key, timestamp_ms, text, sender, "
                 + ", ".join(optional) + " FROM messages ORDER BY rowid")
        for rowid, msg_id, thread, ts, text, raw_sender, *rest in db.execute(query):
            found = self._message(names, owner, rowid, msg_id, thread, ts, text, raw_sender,
                                  *rest)
            if found is not None:
                yield found

    def from_deleted_with(self, db: sqlite3.Connection, variant: str, path: str,
                          row: dict[str, object], rowid: int,
                          companions: Companions) -> Message | None:
        msg_id, thread, ts, text, raw_sender = (row.get(k) for k in (
            "msg_id", "thread_key", "timestamp_ms", "text", "sender"))
        files, kind, admin, offline = (row.get(k) for k in OPTIONAL)
        # The columns' types (ids, thread, sender and attachments text, the times integers),
        # and a sender that is the JSON the app writes: anything else is another table's
        # record or bytes that only looked like one.
        if not ((msg_id is None or isinstance(msg_id, str)) and isinstance(thread, str) and thread
                and isinstance(ts, int) and (text is None or isinstance(text, str))
                and isinstance(raw_sender, str) and isinstance(_json(raw_sender), dict)
                and (files is None or isinstance(files, str))
                and (kind is None or isinstance(kind, int))
                and (offline is None or isinstance(offline, str | int))):
            return None
        names: dict[str, str] = {}
        sender_doc = _json(raw_sender)
        key = sender_doc.get("user_key") if isinstance(sender_doc, dict) else None
        if key:
            # Few deleted records: one look-up each (a schema without those columns gives
            # the name in the record's own sender, or none).
            try:
                found = db.execute("SELECT first_name, last_name FROM thread_users WHERE "
                                   "user_key=? ORDER BY rowid LIMIT 1",
                                   (text_of(key),)).fetchone()
            except sqlite3.OperationalError:
                found = None
            full = " ".join(p for p in (text_of(found[0]), text_of(found[1])) if p) \
                if found is not None else ""
            if full:
                names[user_id(key)] = full
        return self._message(names, owner_of(companions), rowid, msg_id, thread, ts, text,
                             raw_sender, files, kind, admin, offline, deleted=True)

    def from_deleted(self, db: sqlite3.Connection, variant: str, path: str,
                     row: dict[str, object], rowid: int) -> Message | None:
        return self.from_deleted_with(db, variant, path, row, rowid, {})

    def _message(self, names: dict[str, str], owner: str | None, rowid: int, msg_id: object,
                 thread: object, ts: object, text: object, raw_sender: object,
                 raw_files: object, kind: object, admin: object, offline: object,
                 deleted: bool = False) -> Message | None:
        """One row as a Message; None for a call record, a placeholder or an empty row.
        `names` gains the sender's name from its JSON where it had none."""
        if admin is not None or kind == -1:
            return None  # a call record or a placeholder, not a message
        sender_doc = _json(raw_sender)
        sender = user_id(sender_doc.get("user_key")) if isinstance(sender_doc, dict) else ""
        if isinstance(sender_doc, dict) and sender and sender not in names and \
                sender_doc.get("name"):
            names[sender] = text_of(sender_doc["name"])
        files = _json(raw_files)
        attachments = tuple(text_of(f["filename"]) for f in files
                            if isinstance(f, dict) and f.get("filename")) \
            if isinstance(files, list) else ()
        if text is None and not attachments:
            return None
        chat = text_of(thread)
        sent = owner is not None and sender == owner
        shown = f"{sender} ({names[sender]})" if sender in names else sender
        return Message(
            app=self.app, account=owner or "", conversation=chat,
            message_id=text_of(msg_id) or str(rowid), time=unix_ms(ts),
            direction="sent" if sent else "received", sender=OWNER if sent else shown,
            recipients=(chat,) if sent else (OWNER,), text=text_of(text),
            table="messages", rowid=rowid, attachments=attachments, deleted=deleted,
            offline_id=text_of(offline),
        )


def _has_names(db: sqlite3.Connection) -> bool:
    return all(has(db, "thread_users", c) for c in ("user_key", "first_name", "last_name"))
