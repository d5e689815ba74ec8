"""Kik on iOS: `kik.sqlite` (Core Data) in the app's Documents.

`ZKIKMESSAGE`: `ZTYPE` 1 received, 2 sent, 3 group admin, 4 group message; `ZUSER` the other
party (`ZKIKUSER`: `ZUSERNAME`, `ZDISPLAYNAME`, `ZJID`); `ZTIMESTAMP` Cocoa seconds.
Attachments are in `ZKIKATTACHMENT` (`ZCONTENT`, a file name under the app's content folder).

Chats: `ZKIKCHAT` has one row per chat, its `ZUSER` the chat's `ZKIKUSER` row, which for a
group is the group itself (a `…@groups.kik.com` JID, Kik's group domain, and a `ZGROUPTAG`
hashtag for a public group). Which chat a message is in is Core Data's to-many join table
`Z_<n>MESSAGES` (columns `Z_<n>CHAT`, `Z_<m>MESSAGES`; entity numbers vary by build), or a
`ZCHAT` column of `ZKIKMESSAGE` where a build has one. A message in a group chat is keyed by the
group's JID; its sender is its `ZUSER`'s username when that is a member, and the group when
`ZUSER` is the group itself or has no username (whether every build records the writer there
is not publicly documented). A message
in no group chat is keyed by the other user, as iLEAPP reads it.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from typing import ClassVar

from fellwatch.chats.base import (
    OWNER,
    ChatSource,
    Message,
    Schema,
    SortedLookup,
    cols,
    has,
    tables,
    text_of,
)
from fellwatch.chats.epochs import cocoa

_SENT = 2
_GROUP_DOMAIN = "@groups.kik.com"
_JOIN_TABLE = re.compile(r"z_\d+messages$")
_CHAT_COLUMN = re.compile(r"z_\d+chat$")
_MESSAGE_COLUMN = re.compile(r"z_\d+messages$")


def _chat_link(db: sqlite3.Connection) -> tuple[str, str, str] | None:
    """(table, message column, chat column) linking messages to chats, or None when the
    database links neither way: the `ZCHAT` column, else the one Core Data join table of
    chats and messages."""
    present = tables(db)
    if "zchat" in present.get("zkikmessage", frozenset()):
        return "ZKIKMESSAGE", "Z_PK", "ZCHAT"
    joins = []
    for name, columns in present.items():
        chat = [c for c in columns if _CHAT_COLUMN.match(c)]
        message = [c for c in columns if _MESSAGE_COLUMN.match(c)]
        if _JOIN_TABLE.match(name) and len(columns) == 2 and len(chat) == len(message) == 1:
            joins.append((name, message[0], chat[0]))
    return joins[0] if len(joins) == 1 else None  # two candidates: not told apart, none read


def _groups(db: sqlite3.Connection) -> dict[int, str]:
    """chat pk -> the group's id (its JID, else its hashtag) for every chat that is a group."""
    if not has(db, "zkikchat", "zuser"):
        return {}
    jid = "u.ZJID" if has(db, "zkikuser", "zjid") else "NULL"
    tag = "u.ZGROUPTAG" if has(db, "zkikuser", "zgrouptag") else "NULL"
    found: dict[int, str] = {}
    for chat, group_jid, group_tag in db.execute(
            f"SELECT c.Z_PK, {jid}, {tag} FROM ZKIKCHAT c JOIN ZKIKUSER u ON u.Z_PK = c.ZUSER "
            "ORDER BY c.Z_PK"):
        shown = text_of(group_jid)
        if shown.lower().endswith(_GROUP_DOMAIN) or text_of(group_tag):
            found[chat] = shown or text_of(group_tag)
    return found


def _messages_in_groups(db: sqlite3.Connection, message: int | None = None) -> dict[int, str]:
    """message pk -> its group's id, for the messages in group chats (or for `message` only)."""
    groups = _groups(db)
    link = _chat_link(db) if groups else None
    if link is None:
        return {}
    table, message_column, chat_column = link
    query = f'SELECT "{message_column}", "{chat_column}" FROM "{table}"'
    order = f' ORDER BY "{chat_column}"'  # a message in two groups: the first, every time
    rows = db.execute(query + f' WHERE "{message_column}" = ?' + order, (message,)) \
        if message is not None else db.execute(query + order)
    found: dict[int, str] = {}
    for pk, chat in rows:
        if chat in groups:
            found.setdefault(pk, groups[chat])
    return found


class KikIos(ChatSource):
    name = "kik-ios"
    app = "Kik"
    platform = "ios"
    patterns = ("*/kik.sqlite", "kik.sqlite")
    variants: ClassVar[dict[str, Schema]] = {
        "core-data": {
            "zkikmessage": cols("z_pk", "zbody", "ztimestamp", "ztype", "zuser"),
            "zkikuser": cols("z_pk", "zusername"),
        },
    }
    covered = ("kik.sqlite of Kik for iOS (ZKIKMESSAGE, ZKIKUSER, ZKIKATTACHMENT), as iLEAPP "
               "reads it; group chats (ZKIKCHAT and the Core Data join of chats to messages, as "
               "in the kik.sqlite of plaso's test data) keyed by the group's JID")

    deleted_tables: ClassVar[dict[str, str]] = {"core-data": "ZKIKMESSAGE"}

    def from_deleted(self, db: sqlite3.Connection, variant: str, path: str,
                     row: dict[str, object], rowid: int) -> Message | None:
        body, ts, kind, user = (row.get(k) for k in ("zbody", "ztimestamp", "ztype", "zuser"))
        if not (isinstance(body, str) and isinstance(ts, int | float) and isinstance(kind, int)
                and isinstance(user, int)):
            return None
        # A deleted message's own join row is usually gone with it; a ZCHAT value survives in
        # the record itself.
        chat = row.get("zchat")
        group = _groups(db).get(chat) if isinstance(chat, int) else None
        if group is None and rowid > 0:
            group = _messages_in_groups(db, rowid).get(rowid)
        found = db.execute("SELECT ZUSERNAME FROM ZKIKUSER WHERE Z_PK=?", (user,)).fetchone()
        other = text_of(found[0]) if found and found[0] else (group or f"user {user}")
        return _message(self.app, rowid, body, ts, kind, other, group, None, deleted=True)

    def read(self, db: sqlite3.Connection, variant: str, path: str) -> Iterator[Message]:
        attach = has(db, "zkikattachment", "zcontent") and has(db, "zkikattachment", "zmessage")
        # One pass, not a lookup per message, merged with the messages in Z_PK order.
        contents = SortedLookup(db.execute(
            "SELECT ZMESSAGE, ZCONTENT FROM ZKIKATTACHMENT WHERE ZCONTENT IS NOT NULL "
            "ORDER BY ZMESSAGE, Z_PK") if attach else ())
        in_group = _messages_in_groups(db)
        query = ("SELECT m.Z_PK, m.ZBODY, m.ZTIMESTAMP, m.ZTYPE, u.ZUSERNAME FROM ZKIKMESSAGE m "
                 "LEFT JOIN ZKIKUSER u ON u.Z_PK = m.ZUSER ORDER BY m.Z_PK")
        for rowid, body, ts, kind, username in db.execute(query):
            found = contents.take(rowid)
            content = text_of(found[0][0]) if found else None  # the first, by Z_PK
            group = in_group.get(rowid)
            # In a group ZUSER is a member (a username), or the group itself (none): then the
            # group is shown as the sender.
            other = text_of(username) or group or ""
            if not other or (body is None and not content):
                continue
            yield _message(self.app, rowid, body, ts, kind, other, group, content)


def _message(app: str, rowid: int, body: object, ts: object, kind: object, other: str,
             group: str | None, content: str | None, deleted: bool = False) -> Message:
    sent = kind == _SENT
    chat = group or other
    return Message(
        app=app, account="", conversation=chat, message_id=str(rowid),
        time=cocoa(ts), direction="sent" if sent else "received",
        sender=OWNER if sent else other, recipients=(chat,) if sent else (OWNER,),
        text=text_of(body), table="ZKIKMESSAGE", rowid=rowid,
        attachments=(text_of(content),) if content else (), deleted=deleted,
    )
