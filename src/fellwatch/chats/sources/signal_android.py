"""Signal on Android: `org.thoughtcrime.securesms/databases/signal.db`.

On the device the file is SQLCipher-encrypted with a key kept in the Android keystore, so what
an extraction holds is normally ciphertext: that is recorded on the item as an encrypted
database (from its first page, see `sqlite_image.check_header`), never guessed at. A database
decrypted by another tool (the Signal 5.x and later `message` table) is read.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import ClassVar

from fellwatch.chats.base import OWNER, ChatSource, Message, Schema, cols, text_of
from fellwatch.chats.epochs import unix_ms

# Signal's message type: the low five bits are the box; 20-26 are outgoing boxes.
_OUTGOING_BASE_TYPES = {21, 22, 23, 24, 25, 26}


class SignalAndroid(ChatSource):
    name = "signal-android"
    app = "Signal"
    platform = "android"
    patterns = ("*/org.thoughtcrime.securesms/databases/signal.db",)
    variants: ClassVar[dict[str, Schema]] = {
        "decrypted": {
            "message": cols("_id", "thread_id", "date_sent", "type", "body",
                            "from_recipient_id", "to_recipient_id"),
            "recipient": cols("_id", "e164"),
        },
    }
    covered = ("signal.db: SQLCipher-encrypted files are recorded as encrypted; a decrypted "
               "database of Signal 6.x (message, recipient) is read")

    def read(self, db: sqlite3.Connection, variant: str, path: str) -> Iterator[Message]:
        query = ("SELECT m._id, m.thread_id, m.date_sent, m.type, m.body, f.e164, t.e164 "
                 "FROM message m LEFT JOIN recipient f ON f._id = m.from_recipient_id "
                 "LEFT JOIN recipient t ON t._id = m.to_recipient_id ORDER BY m._id")
        for rowid, thread, date, kind, body, sender, to in db.execute(query):
            sent = (int(kind or 0) & 0x1F) in _OUTGOING_BASE_TYPES
            other = text_of(to if sent else sender)
            yield Message(
                app=self.app, account="", conversation=str(thread), message_id=str(rowid),
                time=unix_ms(date), direction="sent" if sent else "received",
                sender=OWNER if sent else other, recipients=(other,) if sent else (OWNER,),
                text=text_of(body), table="message", rowid=rowid,
            )
