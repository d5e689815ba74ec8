"""WhatsApp (and WhatsApp Business) on Android: `databases/msgstore.db`.

Two schemas: the current one (2.22 on: `message`, `chat`, `jid`, `message_media`) and the
legacy one (`messages`, keyed by the chat's JID text, with media columns inline). Times are
Unix milliseconds. The device owner's own JID is not in msgstore.db (it is in shared_prefs),
so the owner's side is `OWNER`.

Names come from `wa.db` beside msgstore.db (its companion: `wa_contacts`, the address-book
`display_name`, else the `wa_name` the contact set in WhatsApp), so a person is shown as
"jid (name)"; without a wa.db, or with one of another schema, the JIDs stand alone.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from typing import ClassVar

from fellwatch.chats.base import (
    OWNER,
    ChatSource,
    Companions,
    Message,
    Schema,
    cols,
    has,
    open_companion,
    text_of,
)
from fellwatch.chats.epochs import unix_ms


class WhatsAppAndroid(ChatSource):
    name = "whatsapp-android"
    app = "WhatsApp"
    platform = "android"
    patterns = ("*/msgstore.db", "msgstore.db")
    variants: ClassVar[dict[str, Schema]] = {
        "current": {
            "message": cols("_id", "chat_row_id", "from_me", "key_id", "sender_jid_row_id",
                            "timestamp", "text_data"),
            "chat": cols("_id", "jid_row_id"),
            "jid": cols("_id", "raw_string"),
        },
        "legacy": {
            "messages": cols("_id", "key_remote_jid", "key_from_me", "key_id", "data",
                             "timestamp", "remote_resource"),
        },
    }
    covered = ("msgstore.db current schema (WhatsApp 2.22 and later: message, chat, jid, "
               "message_media) and legacy schema (messages table, before 2.22); "
               "com.whatsapp and com.whatsapp.w4b (Business); names from wa.db (wa_contacts) "
               "beside it")

    deleted_tables: ClassVar[dict[str, str]] = {"current": "message", "legacy": "messages"}
    companions = ("wa.db",)

    def contact_names(self, companions: Companions) -> dict[str, str]:
        db = open_companion(companions, "wa.db")
        if db is None:
            return {}
        try:
            if not (has(db, "wa_contacts", "jid") and has(db, "wa_contacts", "display_name")):
                return {}
            wa_name = "wa_name" if has(db, "wa_contacts", "wa_name") else "NULL"
            names: dict[str, str] = {}
            # A JID listed twice (a contact with two address-book entries): the first row wins.
            for jid, display, own in db.execute(
                    f"SELECT jid, display_name, {wa_name} FROM wa_contacts ORDER BY rowid"):
                name = text_of(display).strip() or text_of(own).strip()
                if jid and name:
                    names.setdefault(text_of(jid), name)
            return names
        finally:
            db.close()

    def from_deleted(self, db: sqlite3.Connection, variant: str, path: str,
                     row: dict[str, object], rowid: int) -> Message | None:
        if variant == "legacy":
            return self._legacy_deleted(path, row, rowid)
        chat, from_me, key_id, ts = (row.get(k) for k in ("chat_row_id", "from_me", "key_id",
                                                          "timestamp"))
        text, sender = row.get("text_data"), row.get("sender_jid_row_id")
        if not (isinstance(chat, int) and from_me in (0, 1) and isinstance(key_id, str)
                and isinstance(ts, int) and isinstance(text, str) and
                (sender is None or isinstance(sender, int))):
            return None
        chat_jid = _jid_of_chat(db, chat) or f"chat {chat}"
        sender_jid = _jid(db, sender) if isinstance(sender, int) else None
        message = _message(self._app(path), "message", rowid, key_id, from_me, ts, text,
                           chat_jid, sender_jid, None)
        return replace(message, deleted=True)

    def _legacy_deleted(self, path: str, row: dict[str, object], rowid: int) -> Message | None:
        chat_jid, from_me, key_id, ts, text, resource = (row.get(k) for k in (
            "key_remote_jid", "key_from_me", "key_id", "timestamp", "data", "remote_resource"))
        if not (isinstance(chat_jid, str) and "@" in chat_jid and from_me in (0, 1)
                and isinstance(key_id, str) and isinstance(ts, int) and isinstance(text, str)
                and (resource is None or isinstance(resource, str))):
            return None
        message = _message(self._app(path), "messages", rowid, key_id, from_me, ts, text,
                           chat_jid, resource or None, None)
        return replace(message, deleted=True)

    def _app(self, path: str) -> str:
        return "WhatsApp Business" if "com.whatsapp.w4b" in path.lower() else self.app

    def read(self, db: sqlite3.Connection, variant: str, path: str) -> Iterator[Message]:
        app = self._app(path)
        if variant == "current":
            yield from self._current(db, app)
        else:
            yield from self._legacy(db, app)

    def _current(self, db: sqlite3.Connection, app: str) -> Iterator[Message]:
        media = has(db, "message_media", "file_path")
        query = (
            "SELECT m._id, m.key_id, m.from_me, m.timestamp, m.text_data, cj.raw_string, "
            "sj.raw_string, " + ("mm.file_path " if media else "NULL ") +
            "FROM message m LEFT JOIN chat c ON c._id = m.chat_row_id "
            "LEFT JOIN jid cj ON cj._id = c.jid_row_id "
            "LEFT JOIN jid sj ON sj._id = m.sender_jid_row_id " +
            ("LEFT JOIN message_media mm ON mm.message_row_id = m._id " if media else "") +
            "ORDER BY m._id"
        )
        for rowid, key_id, from_me, ts, text, chat_jid, sender_jid, media_path in db.execute(
                query):
            if chat_jid is None or (text is None and media_path is None):
                continue  # system rows (encryption notices, group events) carry no message
            yield _message(app, "message", rowid, key_id, from_me, ts, text, chat_jid,
                           sender_jid, media_path)

    def _legacy(self, db: sqlite3.Connection, app: str) -> Iterator[Message]:
        media = has(db, "messages", "media_name")
        query = ("SELECT _id, key_id, key_from_me, timestamp, data, key_remote_jid, "
                 "remote_resource, " + ("media_name " if media else "NULL ") +
                 "FROM messages ORDER BY _id")
        for rowid, key_id, from_me, ts, text, chat_jid, resource, media_name in db.execute(
                query):
            if not chat_jid or chat_jid == "-1" or (text is None and not media_name):
                continue
            yield _message(app, "messages", rowid, key_id, from_me, ts, text, chat_jid,
                           resource or None, media_name or None)


def _jid(db: sqlite3.Connection, row: int) -> str | None:
    found = db.execute("SELECT raw_string FROM jid WHERE _id=?", (row,)).fetchone()
    return None if found is None else text_of(found[0])


def _jid_of_chat(db: sqlite3.Connection, chat: int) -> str | None:
    found = db.execute("SELECT j.raw_string FROM chat c JOIN jid j ON j._id = c.jid_row_id "
                       "WHERE c._id=?", (chat,)).fetchone()
    return None if found is None else text_of(found[0])


def _message(app: str, table: str, rowid: int, key_id: object, from_me: object, ts: object,
             text: object, chat_jid: str, sender_jid: str | None,
             media: str | None) -> Message:
    sent = bool(from_me)
    sender = OWNER if sent else (sender_jid or chat_jid)
    return Message(
        app=app, account="", conversation=chat_jid, message_id=text_of(key_id) or str(rowid),
        time=unix_ms(ts), direction="sent" if sent else "received", sender=sender,
        recipients=(chat_jid,) if sent else (OWNER,), text=text_of(text), table=table,
        rowid=rowid, attachments=(media,) if media else (),
    )
