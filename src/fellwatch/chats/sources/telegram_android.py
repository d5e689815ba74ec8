"""Telegram on Android: `org.telegram.messenger/files/cache4.db`.

Messages are rows of `messages_v2` keyed (mid, uid): `uid` is the dialog (a user id, or a
negative chat id), `out` says sent, `date` is Unix seconds, and `data` is the message itself,
TL-serialised (Telegram's own binary format, whose layout changes with the API layer). The text
is read from `data` by what does not change between layers: a `message` object's text is the TL
string that directly follows its `date` field, and that date is the row's `date` column. A row
whose blob does not hold its date followed by a valid TL string gives an empty text (a media or
service message), never a guess.

In a group (a negative `uid`: a basic group or a supergroup) the sender of a received message
is its `from_id`, read from the blob's fixed header where the TL layout allows it: constructor,
`flags`, (from layer 179 a second flags word), `id`, then `from_id` when flags bit 8 is set
(a Peer from layer 119, a bare user id before), then `peer_id`. The header is taken only when
its `id` is the row's `mid` and its `peer_id` is the row's own dialog (`uid`), so a layer whose
header differs is not misread; otherwise the sender is shown as the group. Names come from
`users` (`name`) and, for groups, `chats` (`name`; keyed by the positive chat id).
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Callable, Iterator
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


# TL Peer constructors -> (a user?, id width). Layer 133 widened the ids from 32 to 64 bits.
_PEERS = {
    0x59511722: (True, 8), 0x36C6019A: (False, 8), 0xA2A5371E: (False, 8),  # user, chat, channel
    0x9DB1BC6D: (True, 4), 0xBAD0E5BB: (False, 4), 0xBDDDE532: (False, 4),  # the same, layer < 133
}
_HAS_FROM_ID = 1 << 8
_HAS_BOOSTS = 1 << 29  # from_boosts_applied (an int between from_id and peer_id, layer 174 on)


def tl_peer(blob: bytes, at: int) -> tuple[int, int] | None:
    """(dialog id, end) of the TL Peer at `at`: a user's id, a chat's or channel's negated (the
    form `messages_v2.uid` takes). None when the bytes there are not one."""
    if at + 8 > len(blob):
        return None
    kind = _PEERS.get(int.from_bytes(blob[at : at + 4], "little"))
    if kind is None:
        return None
    user, width = kind
    end = at + 4 + width
    if end > len(blob):
        return None
    value = int.from_bytes(blob[at + 4 : end], "little", signed=True)
    if value <= 0:
        return None
    return (value if user else -value), end


def group_sender(blob: bytes | None, mid: int, uid: int) -> int | None:
    """Who wrote a group message: the dialog id of its TL `from_id`, or None when the header
    cannot be read with certainty (no from_id, another layout, a damaged blob). Fixed offsets
    only: a few bytes are looked at, whatever the blob's size."""
    if not blob or uid >= 0 or len(blob) < 16:
        return None
    flags = int.from_bytes(blob[4:8], "little")
    if not flags & _HAS_FROM_ID:
        return None
    for id_at in (8, 12):  # a second flags word (layer 179 on) sits before the id
        if int.from_bytes(blob[id_at : id_at + 4], "little") != mid & 0xFFFFFFFF:
            continue
        at = id_at + 4
        peer = tl_peer(blob, at)
        if peer is not None:
            sender, after = peer
        else:  # before layer 119, from_id was a bare user id
            sender = int.from_bytes(blob[at : at + 4], "little", signed=True)
            after = at + 4
            if sender <= 0:
                continue
        for skip in (0, 4) if flags & _HAS_BOOSTS else (0,):
            dialog = tl_peer(blob, after + skip)
            if dialog is not None and dialog[0] == uid:
                return sender
    return None


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
    covered = ("cache4.db of Telegram for Android 5.x and later (messages_v2, users, chats, "
               "dialogs); message text read from the TL-serialised `data` after its date field; "
               "a group message's sender from the TL header's `from_id` (layers 68 to 190 and "
               "later, where the header is flags, [flags2], id, from_id, peer_id)")

    deleted_tables: ClassVar[dict[str, str]] = {"messages_v2": "messages_v2"}

    def from_deleted(self, db: sqlite3.Connection, variant: str, path: str,
                     row: dict[str, object], rowid: int) -> Message | None:
        mid, uid, date, data, out = (row.get(k) for k in ("mid", "uid", "date", "data", "out"))
        if not (isinstance(mid, int) and isinstance(uid, int) and isinstance(date, int)
                and isinstance(data, bytes) and out in (0, 1, None)):
            return None
        message = self._message(rowid, mid, uid, date, data, out,
                                lambda who: _name_of(db, who))
        # Only a record whose TL message holds its own date and a text is taken: the check
        # that tells a message from bytes that parse as one (there is no INTEGER PRIMARY KEY
        # to anchor a damaged record's header).
        return replace(message, deleted=True) if message.text else None

    def read(self, db: sqlite3.Connection, variant: str, path: str) -> Iterator[Message]:
        names: dict[int, str] = {}
        if has(db, "users", "name"):
            names = {uid: text_of(name) for uid, name in db.execute("SELECT uid, name FROM users")}
        if has(db, "chats", "name"):  # a group's dialog id is its chat id negated
            names.update((-uid, text_of(name)) for uid, name in db.execute(
                "SELECT uid, name FROM chats") if isinstance(uid, int) and name)
        for rowid, mid, uid, date, data, out in db.execute(
                "SELECT rowid, mid, uid, date, data, out FROM messages_v2 ORDER BY rowid"):
            yield self._message(rowid, mid, uid, date, data, out, names.get)

    def _message(self, rowid: int, mid: object, uid: object, date: object, data: object,
                 out: object, name_of: Callable[[int], str | None]) -> Message:
        def shown(who: object) -> str:
            name = name_of(who) if isinstance(who, int) else None
            return f"{who} ({name})" if name else str(who)

        blob = data if isinstance(data, bytes) else None
        sent = bool(out)
        writer = group_sender(blob, mid, uid) \
            if not sent and isinstance(mid, int) and isinstance(uid, int) else None
        sender = OWNER if sent else shown(uid if writer is None else writer)
        return Message(
            app=self.app, account="", conversation=str(uid), message_id=str(mid),
            time=unix_s(date), direction="sent" if sent else "received",
            sender=sender, recipients=(shown(uid),) if sent else (OWNER,),
            text=message_text(blob, date if isinstance(date, int) else None),
            table="messages_v2", rowid=rowid,
        )


def _name_of(db: sqlite3.Connection, who: int) -> str | None:
    """One name looked up (for a deleted record: no table-wide pass for a few rows)."""
    table, key = ("users", who) if who > 0 else ("chats", -who)
    if not has(db, table, "name"):
        return None
    found = db.execute(f"SELECT name FROM {table} WHERE uid=?", (key,)).fetchone()
    return text_of(found[0]) if found and found[0] else None
