"""Kik on Android: `kik.android/databases/<account>.kikDatabase.db`.

`messagesTable`: `bin_id` is the conversation (a user's `…@talk.kik.com` JID or a group's
`…@groups.kik.com`), `partner_jid` the other side (in a group, who wrote), `was_me` the
direction, `timestamp` Unix milliseconds. Attachments are content ids whose names are in
`KIKContentTable`; display names in `KIKcontactsTable`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import ClassVar

from fellwatch.chats.base import OWNER, ChatSource, Message, Schema, cols, has, text_of
from fellwatch.chats.epochs import unix_ms


class KikAndroid(ChatSource):
    name = "kik-android"
    app = "Kik"
    platform = "android"
    patterns = ("*.kikdatabase.db", "*/kikdatabase.db")
    variants: ClassVar[dict[str, Schema]] = {
        "messages": {
            "messagestable": cols("_id", "body", "partner_jid", "was_me", "timestamp",
                                  "bin_id"),
        },
    }
    covered = ("<account>.kikDatabase.db of Kik for Android 15.x (messagesTable, "
               "KIKContentTable, KIKcontactsTable)")

    deleted_tables: ClassVar[dict[str, str]] = {"messages": "messagesTable"}

    def from_deleted(self, db: sqlite3.Connection, variant: str, path: str,
                     row: dict[str, object], rowid: int) -> Message | None:
        body, partner, was_me, ts, bin_id = (row.get(k) for k in (
            "body", "partner_jid", "was_me", "timestamp", "bin_id"))
        if not (isinstance(body, str) and isinstance(partner, str) and was_me in (0, 1)
                and isinstance(ts, int) and (bin_id is None or isinstance(bin_id, str))):
            return None
        return _message(self.app, rowid, body, partner, was_me, ts, bin_id, None, deleted=True)

    def read(self, db: sqlite3.Connection, variant: str, path: str) -> Iterator[Message]:
        content = has(db, "messagestable", "content_id") and has(db, "kikcontenttable",
                                                                 "content_string")
        names: dict[str, str] = {}
        if content:  # one pass, not a lookup per message (content_id has no index)
            for content_id, value in db.execute(
                    "SELECT content_id, content_string FROM KIKContentTable WHERE "
                    "content_name = 'file-name' ORDER BY rowid"):
                names.setdefault(text_of(content_id), text_of(value))
        ids = "m.content_id" if content else "NULL"
        query = ("SELECT m._id, m.body, m.partner_jid, m.was_me, m.timestamp, m.bin_id, "
                 f"{ids} FROM messagesTable m ORDER BY m._id")
        for rowid, body, partner, was_me, ts, bin_id, content_id in db.execute(query):
            file_name = names.get(text_of(content_id)) if content_id else None
            if not text_of(bin_id or partner) or (body is None and not file_name):
                continue
            yield _message(self.app, rowid, body, partner, was_me, ts, bin_id, file_name)


def _message(app: str, rowid: int, body: object, partner: object, was_me: object, ts: object,
             bin_id: object, file_name: str | None, deleted: bool = False) -> Message:
    conversation = text_of(bin_id or partner)
    sent = bool(was_me)
    other = text_of(partner) or conversation
    return Message(
        app=app, account="", conversation=conversation, message_id=str(rowid),
        time=unix_ms(ts), direction="sent" if sent else "received",
        sender=OWNER if sent else other,
        recipients=(conversation,) if sent else (OWNER,), text=text_of(body),
        table="messagesTable", rowid=rowid,
        attachments=(text_of(file_name),) if file_name else (), deleted=deleted,
    )
