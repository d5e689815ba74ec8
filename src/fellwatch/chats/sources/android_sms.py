"""SMS and MMS on Android: `com.android.providers.telephony/databases/mmssms.db`.

SMS rows are in `sms` (Unix milliseconds, `type` 1 inbox, 2 sent, 3 draft, 4 outbox, 5 failed,
6 queued); MMS in `pdu` (Unix *seconds*, `msg_box` 1 inbox, 2 sent) with its addresses in
`addr` (type 137 from, 151 to, 130 cc, 129 bcc) and its text and files in `part`. The thread
(`thread_id`) is the conversation.
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
from fellwatch.chats.epochs import unix_ms, unix_s

_RECEIVED_SMS = {1}
_FROM, _TO = 137, 151


class AndroidSms(ChatSource):
    name = "android-sms"
    app = "SMS"
    platform = "android"
    patterns = ("*/mmssms.db", "mmssms.db")
    variants: ClassVar[dict[str, Schema]] = {
        "sms+mms": {
            "sms": cols("_id", "thread_id", "address", "date", "type", "body"),
            "pdu": cols("_id", "thread_id", "date", "msg_box"),
            "addr": cols("msg_id", "address", "type"),
            "part": cols("mid", "ct", "text"),
        },
        "sms": {"sms": cols("_id", "thread_id", "address", "date", "type", "body")},
    }
    covered = "mmssms.db (AOSP telephony provider): sms, and pdu/addr/part for MMS"

    deleted_tables: ClassVar[dict[str, str]] = {"sms+mms": "sms", "sms": "sms"}

    def from_deleted(self, db: sqlite3.Connection, variant: str, path: str,
                     row: dict[str, object], rowid: int) -> Message | None:
        thread, address, date, kind, body = (row.get(k) for k in (
            "thread_id", "address", "date", "type", "body"))
        if not (isinstance(thread, int) and isinstance(address, str) and isinstance(date, int)
                and isinstance(kind, int) and 1 <= kind <= 6 and isinstance(body, str)):
            return None
        return _sms(rowid, thread, address, date, kind, body, deleted=True)

    def read(self, db: sqlite3.Connection, variant: str, path: str) -> Iterator[Message]:
        for rowid, thread, address, date, kind, body in db.execute(
                "SELECT _id, thread_id, address, date, type, body FROM sms ORDER BY _id"):
            yield _sms(rowid, thread, address, date, kind, body)
        if variant == "sms+mms":
            yield from self._mms(db)

    def _mms(self, db: sqlite3.Connection) -> Iterator[Message]:
        files = "_data" if has(db, "part", "_data") else "NULL"
        # Grouped in one pass each: a lookup per MMS would scan addr and part every time on
        # a database without their indexes.
        # Merged with the MMS in _id order (SortedLookup): nothing per message is held.
        addresses = SortedLookup(db.execute(
            "SELECT msg_id, address, type FROM addr ORDER BY msg_id, rowid"))
        parts = SortedLookup(db.execute(
            f"SELECT mid, ct, text, {files} FROM part ORDER BY mid, rowid"))
        for rowid, thread, date, box in db.execute(
                "SELECT _id, thread_id, date, msg_box FROM pdu ORDER BY _id"):
            texts: list[str] = []
            attachments: list[str] = []
            for ct, text, data in parts.take(rowid):
                if ct == "text/plain":
                    texts.append(text_of(text))
                elif ct != "application/smil" and data:
                    attachments.append(text_of(data))
            found = addresses.take(rowid)
            received = box == 1
            senders = [text_of(a) for a, t in found if t == _FROM]
            to = tuple(text_of(a) for a, t in found if t == _TO and a != "insert-address-token")
            sender = (senders[0] if senders else "") if received else OWNER
            yield Message(
                app="SMS", account="", conversation=str(thread), message_id=f"mms:{rowid}",
                time=unix_s(date), direction="received" if received else "sent", sender=sender,
                recipients=(OWNER,) if received else to, text="\n".join(texts), table="pdu",
                rowid=rowid, attachments=tuple(attachments),
            )


def _sms(rowid: int, thread: object, address: object, date: object, kind: object, body: object,
         deleted: bool = False) -> Message:
    received = kind in _RECEIVED_SMS
    other = text_of(address)
    return Message(
        app="SMS", account="", conversation=str(thread), message_id=f"sms:{rowid}",
        time=unix_ms(date), direction="received" if received else "sent",
        sender=other if received else OWNER, recipients=(OWNER,) if received else (other,),
        text=text_of(body), table="sms", rowid=rowid, deleted=deleted,
    )
