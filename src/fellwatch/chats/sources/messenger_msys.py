"""Facebook Messenger on Android, the newer store: `msys_database_<account id>`.

The MSYS mailbox (Messenger's `com.facebook.orca/databases/`, and the Facebook app's
`app_mib_msys/`) keeps `messages` (`message_id`, `thread_key`, `timestamp_ms` in Unix
milliseconds, `sender_id`, `text`, `is_admin_message`), `contacts` (`id`, `name`) and
`threads`; file names of attachments are in `attachments` (`message_id`, `filename`). The
account's own id is the number in the database's file name; where the name has none, the one
contact whose `friendship_status` is 0 (the account itself, as ALEAPP reads it). Admin messages
(thread events) are not messages. In a one-to-one thread the thread key is the other person's id.
Deleted records of `messages` are carved (`chats.carve`). The Facebook app and Messenger may
both keep the account's mailbox: `copy_key` (the account and the server's message id) lets
the store show a message held by both once (`ChatStore.merge_copies`), and `offline_key`
(the account, thread and `offline_threading_id`, the client's id, a column of this schema) one
that one copy holds before the server gave its id (its `message_id` is then its offline id).
"""

from __future__ import annotations

import posixpath
import re
import sqlite3
from collections.abc import Iterator
from typing import ClassVar

from fellwatch.chats.base import (
    OWNER,
    ChatSource,
    Message,
    Schema,
    cols,
    has,
    mailbox_copy_key,
    mailbox_offline_key,
    text_of,
)
from fellwatch.chats.epochs import unix_ms

_ACCOUNT = re.compile(r"msys_database_(\d+)$")


class MessengerMsys(ChatSource):
    name = "messenger-msys"
    app = "Messenger"
    platform = "android"
    patterns = ("*/msys_database_*",)
    variants: ClassVar[dict[str, Schema]] = {
        "msys": {
            "messages": cols("message_id", "thread_key", "timestamp_ms", "sender_id", "text"),
            "contacts": cols("id", "name"),
            "threads": cols("thread_key"),
        },
    }
    covered = ("msys_database_<id> of Facebook Messenger for Android (the schema ALEAPP reads "
               "on Messenger vc 323609457 to 343213368) and of the Facebook app (messages, "
               "contacts, threads, attachments); the account id from the file name")

    def matches_path(self, path: str, deleted: bool = False) -> bool:
        # The pattern's trailing * would also take SQLite's shared-memory file.
        return not path.lower().endswith("-shm") and super().matches_path(path, deleted)

    deleted_tables: ClassVar[dict[str, str]] = {"msys": "messages"}

    def copy_key(self, message: Message) -> tuple[str, str] | None:
        return mailbox_copy_key(self, message)

    def offline_key(self, message: Message) -> tuple[str, str, str] | None:
        return mailbox_offline_key(self, message)

    def read(self, db: sqlite3.Connection, variant: str, path: str) -> Iterator[Message]:
        names: dict[str, str] = {}
        for contact, name in db.execute("SELECT id, name FROM contacts ORDER BY rowid"):
            if contact is not None and name:
                names.setdefault(text_of(contact), text_of(name))
        owner = self._owner(db, path)
        files: dict[str, list[str]] = {}
        if has(db, "attachments", "message_id") and has(db, "attachments", "filename"):
            for message, filename in db.execute(
                    "SELECT message_id, filename FROM attachments WHERE filename IS NOT NULL "
                    "ORDER BY rowid"):
                files.setdefault(text_of(message), []).append(text_of(filename))
        admin = "is_admin_message" if has(db, "messages", "is_admin_message") else "0"
        offline = "offline_threading_id" if has(db, "messages", "offline_threading_id") \
            else "NULL"
        for rowid, message_id, thread, ts, sender, text, is_admin, client_id in db.execute(
                "SELECT rowid, message_id, thread_key, timestamp_ms, sender_id, text, "
                f"{admin}, {offline} FROM messages ORDER BY rowid"):
            attachments = tuple(files.get(text_of(message_id), ()))
            if is_admin or (text is None and not attachments):
                continue
            yield self._message(names, owner, rowid, message_id, thread, ts, sender, text,
                                attachments, offline=client_id)

    def from_deleted(self, db: sqlite3.Connection, variant: str, path: str,
                     row: dict[str, object], rowid: int) -> Message | None:
        message_id, thread, ts, sender, text, is_admin, client_id = (row.get(k) for k in (
            "message_id", "thread_key", "timestamp_ms", "sender_id", "text",
            "is_admin_message", "offline_threading_id"))
        # The columns' own types (message_id TEXT NOT NULL, the keys and times integers):
        # anything else is another table's record or bytes that only looked like one.
        if not (isinstance(message_id, str) and message_id and isinstance(ts, int)
                and isinstance(thread, int | str) and isinstance(sender, int | str)
                and (text is None or isinstance(text, str)) and is_admin in (None, 0)
                and (client_id is None or isinstance(client_id, str | int))):
            return None
        attachments: tuple[str, ...] = ()
        if has(db, "attachments", "message_id") and has(db, "attachments", "filename"):
            # Few deleted records: one look-up each (the attachments of a deleted message
            # may still be there, or be deleted records themselves, which are not read).
            attachments = tuple(text_of(r[0]) for r in db.execute(
                "SELECT filename FROM attachments WHERE message_id=? AND filename IS NOT NULL "
                "ORDER BY rowid", (message_id,)))
        if text is None and not attachments:
            return None
        names: dict[str, str] = {}
        for who in {text_of(sender), text_of(thread)}:
            found = db.execute("SELECT name FROM contacts WHERE id=? AND name IS NOT NULL "
                               "ORDER BY rowid LIMIT 1", (who,)).fetchone()
            if found is not None and found[0]:
                names[who] = text_of(found[0])
        return self._message(names, self._owner(db, path), rowid, message_id, thread, ts,
                             sender, text, attachments, deleted=True, offline=client_id)

    def _message(self, names: dict[str, str], owner: str | None, rowid: int,
                 message_id: object, thread: object, ts: object, sender: object,
                 text: object, attachments: tuple[str, ...], deleted: bool = False,
                 offline: object = None) -> Message:
        def shown(user: str) -> str:
            return f"{user} ({names[user]})" if user in names else user

        chat = text_of(thread)
        sender_id = text_of(sender)
        sent = owner is not None and sender_id == owner
        return Message(
            app=self.app, account=owner or "", conversation=chat,
            message_id=text_of(message_id) or str(rowid), time=unix_ms(ts),
            direction="sent" if sent else "received",
            sender=OWNER if sent else shown(sender_id),
            recipients=(shown(chat),) if sent else (OWNER,), text=text_of(text),
            table="messages", rowid=rowid, attachments=attachments, deleted=deleted,
            offline_id=text_of(offline),
        )

    @staticmethod
    def _owner(db: sqlite3.Connection, path: str) -> str | None:
        found = _ACCOUNT.search(posixpath.basename(path))
        if found:
            return found.group(1)
        if not has(db, "contacts", "friendship_status"):
            return None
        selves = [text_of(r[0]) for r in db.execute(
            "SELECT id FROM contacts WHERE friendship_status = 0 ORDER BY rowid")]
        return selves[0] if len(selves) == 1 else None
