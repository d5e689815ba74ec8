"""Snapchat on Android: `com.snapchat.android/databases/arroyo.db` (builds that keep chats there).

`conversation_message` holds one row per message, keyed (`client_conversation_id`,
`client_message_id`), with its `server_message_id`, `sender_id` (a user's UUID),
`creation_timestamp` (Unix milliseconds), `content_type` and `message_content`, a serialised
protobuf. Only text messages (`content_type` 1) carry readable text, at field path 4 > 4 > 2 > 1
of the content (the path ALEAPP reads, learnt from observed data); snaps, media and stickers
carry media keys and encrypted media, and are messages with no text here.

The account's own user id is not in arroyo.db (it is in shared_prefs). As ALEAPP does, it is
taken as the one sender of the rows the app marks as written on this device
(`created_on_device`, or `local_message_content_id` on older builds); when that is not one id,
each row's own flag says whether it was sent. Participants are read from `conversation`'s
`conversation_metadata` protobuf (repeated field 3, each 1 > 1 a 16-byte UUID). Names come from
`main.db` beside arroyo.db (its companion: `Friend`, `userId` to `username`, else
`displayName`), so a friend is shown as "uuid (username)".
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from typing import ClassVar

from fellwatch.chats import protobuf
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

TEXT_CONTENT = 1
TEXT_PATH = (4, 4, 2, 1)


def message_text(content: object, content_type: object) -> str:
    """The text of a text message's content protobuf ("" for other content, or when the bytes
    there are not UTF-8 text)."""
    if content_type != TEXT_CONTENT or not isinstance(content, bytes):
        return ""
    raw = protobuf.first(content, *TEXT_PATH)
    if raw is None:
        return ""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return ""


def participants(metadata: object) -> list[str]:
    """The participant UUIDs of a `conversation_metadata` protobuf, in stored order."""
    if not isinstance(metadata, bytes):
        return []
    found: list[str] = []
    for entry in protobuf.submessages(metadata, 3):
        raw = protobuf.first(entry, 1, 1)
        if raw is not None and len(raw) == 16:
            user = str(uuid.UUID(bytes=raw))
            if user not in found:
                found.append(user)
    return found


class SnapchatAndroid(ChatSource):
    name = "snapchat-android"
    app = "Snapchat"
    platform = "android"
    patterns = ("*/com.snapchat.android/databases/arroyo.db", "*/arroyo.db", "arroyo.db")
    variants: ClassVar[dict[str, Schema]] = {
        "arroyo": {
            "conversation_message": cols("client_conversation_id", "client_message_id",
                                         "sender_id", "creation_timestamp", "content_type",
                                         "message_content"),
        },
    }
    covered = ("arroyo.db of Snapchat for Android (conversation_message, conversation; the "
               "schema ALEAPP reads on builds vc 101539 to 302522); text of text messages "
               "(content_type 1) read from the message_content protobuf; snaps and media as "
               "messages without text")

    companions = ("main.db",)

    def contact_names(self, companions: Companions) -> dict[str, str]:
        db = open_companion(companions, "main.db")
        if db is None:
            return {}
        try:
            if not all(has(db, "friend", c) for c in ("userid", "username", "displayname")):
                return {}
            names: dict[str, str] = {}
            for user, username, display in db.execute(
                    "SELECT userId, username, displayName FROM Friend ORDER BY rowid"):
                name = text_of(username).strip() or text_of(display).strip()
                if user and name:
                    names.setdefault(text_of(user), name)
            return names
        finally:
            db.close()

    def read(self, db: sqlite3.Connection, variant: str, path: str) -> Iterator[Message]:
        flag = self._on_device_flag(db)
        owner = self._owner(db, flag)
        members: dict[str, list[str]] = {}
        if has(db, "conversation", "conversation_metadata") and has(
                db, "conversation", "client_conversation_id"):
            for conversation, metadata in db.execute(
                    "SELECT client_conversation_id, conversation_metadata FROM conversation "
                    "ORDER BY rowid"):
                members[text_of(conversation)] = participants(metadata)
        server = ("server_message_id" if has(db, "conversation_message", "server_message_id")
                  else "NULL")
        query = (f"SELECT rowid, client_conversation_id, client_message_id, {server}, "
                 f"sender_id, creation_timestamp, content_type, message_content, {flag} "
                 "FROM conversation_message ORDER BY rowid")
        for (rowid, conversation, client_id, server_id, sender, created, content_type,
             content, on_device) in db.execute(query):
            chat = text_of(conversation)
            sender_id = text_of(sender)
            sent = sender_id == owner if owner else bool(on_device)
            others = tuple(p for p in members.get(chat, []) if p != sender_id and p != owner)
            yield Message(
                app=self.app, account=owner or "", conversation=chat,
                message_id=text_of(server_id if server_id is not None else client_id),
                time=unix_ms(created), direction="sent" if sent else "received",
                sender=OWNER if sent else sender_id,
                recipients=(others or (chat,)) if sent else (OWNER,),
                text=message_text(content, content_type), table="conversation_message",
                rowid=rowid,
            )

    @staticmethod
    def _on_device_flag(db: sqlite3.Connection) -> str:
        """The SQL for "this row was written on this device", per build."""
        if has(db, "conversation_message", "created_on_device"):
            return "created_on_device = 1"
        if has(db, "conversation_message", "local_message_content_id"):
            return "local_message_content_id IS NOT NULL"
        return "0"

    @staticmethod
    def _owner(db: sqlite3.Connection, flag: str) -> str | None:
        senders = {text_of(r[0]) for r in db.execute(
            f"SELECT DISTINCT sender_id FROM conversation_message WHERE {flag}") if r[0]}
        return senders.pop() if len(senders) == 1 else None
