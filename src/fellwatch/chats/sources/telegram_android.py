"""Telegram on Android: `org.telegram.messenger/files/cache4.db`.

Messages are rows of `messages_v2` keyed (mid, uid): `uid` is the dialog (a user id, or a
negative chat id), `out` says sent, `date` is Unix seconds, and `data` is the message itself,
TL-serialised (Telegram's own binary format, whose layout changes with the API layer). The text
is read from `data` by what does not change between layers: a `message` object's text is the TL
string that directly follows its `date` field, and that date is the row's `date` column. A row
whose blob does not hold its date followed by a valid TL string gives an empty text (a media or
service message), never a guess. Names come from `users` (`name`).
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Iterator
from dataclasses import replace
from typing import ClassVar

from fellwatch.chats.base import OWNER, ChatSource, Message, Schema, cols, has, text_of
from fellwatch.chats.epochs import unix_s


def tl_string(blob: bytes, at: int) -> str | None:
    """The TL string at `at`: a length byte (or 0xFE and a 24-bit length), the UTF-8 bytes,
    padding to a multiple of four. None when the bytes there are not one."""
    if at >= len(blob):
        return None
    first = blob[at]
    if first == 0xFE:
        if at + 4 > len(blob):
            return None
        length, start = int.from_bytes(blob[at + 1 : at + 4], "little"), at + 4
    elif first == 0xFF:
        return None
    else:
        length, start = first, at + 1
    end = start + length
    if end > len(blob):
        return None
    try:
        return blob[start:end].decode("utf-8")
    except UnicodeDecodeError:
        return None


def message_text(blob: bytes | None, date: int | None) -> str:
    """The text of a TL `message` whose `date` field holds `date` ("" when none is found)."""
    if not blob or not date:
        return ""
    needle = struct.pack("<i", int(date))
    at = blob.find(needle, 4)
    while at >= 0:
        # TL fields are 4-byte aligned from the start of the object.
        if at % 4 == 0:
            text = tl_string(blob, at + 4)
            if text is not None:
                return text
        at = blob.find(needle, at + 1)
    return ""


class TelegramAndroid(ChatSource):
    name = "telegram-android"
    app = "Telegram"
    platform = "android"
    patterns = ("*/org.telegram.messenger*/files/cache4.db", "*/cache4.db")
    variants: ClassVar[dict[str, Schema]] = {
        "messages_v2": {
            "messages_v2": cols("mid", "uid", "date", "data", "out"),
            "dialogs": cols("did"),
        },
    }
    covered = ("cache4.db of Telegram for Android 5.x and later (messages_v2, users, dialogs); "
               "message text read from the TL-serialised `data` after its date field")

    deleted_tables: ClassVar[dict[str, str]] = {"messages_v2": "messages_v2"}

    def from_deleted(self, db: sqlite3.Connection, variant: str, path: str,
                     row: dict[str, object], rowid: int) -> Message | None:
        mid, uid, date, data, out = (row.get(k) for k in ("mid", "uid", "date", "data", "out"))
        if not (isinstance(mid, int) and isinstance(uid, int) and isinstance(date, int)
                and isinstance(data, bytes) and out in (0, 1, None)):
            return None
        found = db.execute("SELECT name FROM users WHERE uid=?", (uid,)).fetchone() \
            if has(db, "users", "name") else None
        names = {uid: text_of(found[0])} if found else {}
        message = self._message(rowid, mid, uid, date, data, out, names)
        # Only a record whose TL message holds its own date and a text is taken: the check
        # that tells a message from bytes that parse as one (there is no INTEGER PRIMARY KEY
        # to anchor a damaged record's header).
        return replace(message, deleted=True) if message.text else None

    def read(self, db: sqlite3.Connection, variant: str, path: str) -> Iterator[Message]:
        names: dict[int, str] = {}
        if has(db, "users", "name"):
            names = {uid: text_of(name) for uid, name in db.execute("SELECT uid, name FROM users")}
        for rowid, mid, uid, date, data, out in db.execute(
                "SELECT rowid, mid, uid, date, data, out FROM messages_v2 ORDER BY rowid"):
            yield self._message(rowid, mid, uid, date, data, out, names)

    def _message(self, rowid: int, mid: object, uid: object, date: object, data: object,
                 out: object, names: dict[int, str]) -> Message:
        other = str(uid)
        shown = f"{other} ({names[uid]})" if isinstance(uid, int) and uid in names else other
        sent = bool(out)
        return Message(
            app=self.app, account="", conversation=other, message_id=str(mid),
            time=unix_s(date), direction="sent" if sent else "received",
            sender=OWNER if sent else shown, recipients=(shown,) if sent else (OWNER,),
            text=message_text(data if isinstance(data, bytes) else None,
                              date if isinstance(date, int) else None),
            table="messages_v2", rowid=rowid,
        )
