"""iMessage and SMS on iOS: `Library/SMS/sms.db`.

`message` joined to its `handle` (the other party) and, through `chat_message_join`, to its
`chat` (`chat_identifier` is the conversation). `date` is Cocoa seconds before iOS 11 and
Cocoa nanoseconds since. Since iOS 16 `text` is often NULL and the text is only in
`attributedBody`, an NSArchiver "typedstream" of an NSAttributedString: its NSString's bytes
are read from there.
"""

from __future__ import annotations

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
    text_of,
)
from fellwatch.chats.epochs import cocoa


def attributed_text(blob: bytes | None) -> str:
    """The plain text of a typedstream NSAttributedString ("" when none can be read).

    After the class name `NSString` come a type tag and `+` (an object of C-string type), then
    the length: one byte below 0x80, or 0x81 and a 16-bit, 0x82 and a 32-bit little-endian
    length, then that many UTF-8 bytes.
    """
    if not blob:
        return ""
    at = blob.find(b"NSString")
    if at < 0:
        return ""
    plus = blob.find(b"+", at + 8, at + 16)
    if plus < 0:
        return ""
    pos = plus + 1
    if pos >= len(blob):
        return ""
    first = blob[pos]
    if first == 0x81:
        length, pos = int.from_bytes(blob[pos + 1 : pos + 3], "little"), pos + 3
    elif first == 0x82:
        length, pos = int.from_bytes(blob[pos + 1 : pos + 5], "little"), pos + 5
    else:
        length, pos = first, pos + 1
    return blob[pos : pos + length].decode("utf-8", "replace")


class IosSms(ChatSource):
    name = "ios-sms"
    app = "iMessage/SMS"
    platform = "ios"
    patterns = ("*/sms/sms.db", "*/sms.db", "sms.db")
    variants: ClassVar[dict[str, Schema]] = {
        "ios": {
            "message": cols("rowid", "guid", "text", "handle_id", "date", "is_from_me"),
            "handle": cols("rowid", "id"),
            "chat": cols("rowid", "chat_identifier"),
            "chat_message_join": cols("chat_id", "message_id"),
        },
    }
    covered = ("sms.db of iOS 6 and later (message, handle, chat, chat_message_join, "
               "attachment); Cocoa seconds (before iOS 11) and nanoseconds; attributedBody "
               "text (iOS 16 and later)")

    deleted_tables: ClassVar[dict[str, str]] = {"ios": "message"}

    def from_deleted(self, db: sqlite3.Connection, variant: str, path: str,
                     row: dict[str, object], rowid: int) -> Message | None:
        guid, text, handle, date, from_me = (row.get(k) for k in (
            "guid", "text", "handle_id", "date", "is_from_me"))
        attributed = row.get("attributedbody")
        if not (isinstance(guid, str) and isinstance(handle, int) and isinstance(date, int)
                and from_me in (0, 1) and (isinstance(text, str) or isinstance(attributed,
                                                                               bytes))):
            return None
        found = db.execute("SELECT id FROM handle WHERE ROWID=?", (handle,)).fetchone()
        other = text_of(found[0]) if found else f"handle {handle}"
        words = text if isinstance(text, str) else attributed_text(
            attributed if isinstance(attributed, bytes) else None)
        sent = bool(from_me)
        return Message(
            app=self.app, account=text_of(row.get("account")), conversation=other,
            message_id=guid, time=cocoa(date), direction="sent" if sent else "received",
            sender=OWNER if sent else other, recipients=(other,) if sent else (OWNER,),
            text=words.replace("\ufffc", "").strip(), table="message", rowid=rowid,
            deleted=True,
        )

    def read(self, db: sqlite3.Connection, variant: str, path: str) -> Iterator[Message]:
        body = "m.attributedBody" if has(db, "message", "attributedbody") else "NULL"
        account = "m.account" if has(db, "message", "account") else "NULL"
        attachments = self._attachments(db)
        # One pass over the joins, not a lookup per message: chat_message_join's key starts
        # with chat_id, and an index on message_id is not something every version has. Merged
        # with the messages in rowid order, so nothing per message is held.
        chats = SortedLookup(db.execute(
            "SELECT j.message_id, c.chat_identifier FROM chat_message_join j JOIN chat c "
            "ON c.ROWID = j.chat_id ORDER BY j.message_id, c.ROWID"))
        query = (
            f"SELECT m.ROWID, m.guid, m.text, {body}, m.date, m.is_from_me, h.id, {account} "
            f"FROM message m LEFT JOIN handle h ON h.ROWID = m.handle_id ORDER BY m.ROWID")
        for rowid, guid, text, attributed, date, from_me, handle, acct in db.execute(query):
            joined = chats.take(rowid)
            chat = text_of(joined[0][0]) if joined else None  # the first chat, by its ROWID
            files = tuple(text_of(name) for (name,) in attachments.take(rowid) if name)
            conversation = text_of(chat or handle)
            if not conversation:
                continue
            words = text_of(text) if text is not None else attributed_text(attributed)
            sent = bool(from_me)
            other = text_of(handle) or conversation
            yield Message(
                app=self.app, account=text_of(acct), conversation=conversation,
                message_id=text_of(guid) or str(rowid), time=cocoa(date),
                direction="sent" if sent else "received", sender=OWNER if sent else other,
                recipients=(conversation,) if sent else (OWNER,),
                # U+FFFC stands where an attachment sits in the text.
                text=words.replace("\ufffc", "").strip(), table="message", rowid=rowid,
                attachments=files,
            )

    def _attachments(self, db: sqlite3.Connection) -> SortedLookup:
        if not (has(db, "attachment", "filename") and has(db, "message_attachment_join")):
            return SortedLookup(())
        return SortedLookup(db.execute(
            "SELECT j.message_id, a.filename FROM message_attachment_join j "
            "JOIN attachment a ON a.ROWID = j.attachment_id ORDER BY j.message_id, a.ROWID"))
