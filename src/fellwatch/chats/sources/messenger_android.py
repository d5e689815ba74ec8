"""Facebook Messenger on Android, the older store: `com.facebook.orca/databases/threads_db2`.

`messages` holds one row per message: `msg_id`, `thread_key` (the conversation, e.g.
`ONE_TO_ONE:…` or `GROUP:…`), `timestamp_ms` (Unix milliseconds), `text`, `sender` (JSON:
`user_key` "FACEBOOK:<id>" and `name`) and `attachments` (JSON: `filename`, `mime_type`). As
ALEAPP does, call records (`generic_admin_message_extensible_data` set) and rows of `msg_type`
-1 are not messages. The account's own id is not in the database but in the file
`threads_db2-uid` beside it (its companion); without that file the direction cannot be told and
every message is shown as received from its sender. The Facebook app keeps a threads_db2 of
its own: `copy_key` (the account and `msg_id`) lets the store show a message that both hold
once (`ChatStore.merge_copies`); without the uid file the account is unknown and nothing merges.
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
    text_of,
)
from fellwatch.chats.epochs import unix_ms

UID_FILE = "threads_db2-uid"


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

    def copy_key(self, message: Message) -> tuple[str, str] | None:
        return mailbox_copy_key(self, message)

    def read(self, db: sqlite3.Connection, variant: str, path: str) -> Iterator[Message]:
        return self.read_with(db, variant, path, {})

    def read_with(self, db: sqlite3.Connection, variant: str, path: str,
                  companions: Companions) -> Iterator[Message]:
        owner = owner_of(companions)
        names: dict[str, str] = {}
        if has(db, "thread_users", "user_key") and has(db, "thread_users", "first_name") and \
                has(db, "thread_users", "last_name"):
            for key, first, last in db.execute(
                    "SELECT user_key, first_name, last_name FROM thread_users ORDER BY rowid"):
                full = " ".join(p for p in (text_of(first), text_of(last)) if p)
                if full:
                    names.setdefault(user_id(key), full)
        optional = [c if has(db, "messages", c) else "NULL" for c in (
            "attachments", "msg_type", "generic_admin_message_extensible_data")]
        query = ("SELECT rowid, msg_id, thread_key, timestamp_ms, text, sender, "
                 + ", ".join(optional) + " FROM messages ORDER BY rowid")
        for rowid, msg_id, thread, ts, text, raw_sender, raw_files, kind, admin in db.execute(
                query):
            if admin is not None or kind == -1:
                continue  # a call record or a placeholder, not a message
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
                continue
            chat = text_of(thread)
            sent = owner is not None and sender == owner
            shown = f"{sender} ({names[sender]})" if sender in names else sender
            yield Message(
                app=self.app, account=owner or "", conversation=chat,
                message_id=text_of(msg_id) or str(rowid), time=unix_ms(ts),
                direction="sent" if sent else "received", sender=OWNER if sent else shown,
                recipients=(chat,) if sent else (OWNER,), text=text_of(text),
                table="messages", rowid=rowid, attachments=attachments,
            )
