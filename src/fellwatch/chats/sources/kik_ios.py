"""Kik on iOS: `kik.sqlite` (Core Data) in the app's Documents.

`ZKIKMESSAGE`: `ZTYPE` 1 received, 2 sent, 3 group admin, 4 group message; `ZUSER` the other
party (`ZKIKUSER`: `ZUSERNAME`, `ZDISPLAYNAME`); `ZTIMESTAMP` Cocoa seconds. Attachments are in
`ZKIKATTACHMENT` (`ZCONTENT`, a file name under the app's content folder).
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

_SENT = 2


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
               "reads it")

    def read(self, db: sqlite3.Connection, variant: str, path: str) -> Iterator[Message]:
        attach = has(db, "zkikattachment", "zcontent") and has(db, "zkikattachment", "zmessage")
        # One pass, not a lookup per message, merged with the messages in Z_PK order.
        contents = SortedLookup(db.execute(
            "SELECT ZMESSAGE, ZCONTENT FROM ZKIKATTACHMENT WHERE ZCONTENT IS NOT NULL "
            "ORDER BY ZMESSAGE, Z_PK") if attach else ())
        query = ("SELECT m.Z_PK, m.ZBODY, m.ZTIMESTAMP, m.ZTYPE, u.ZUSERNAME FROM ZKIKMESSAGE m "
                 "LEFT JOIN ZKIKUSER u ON u.Z_PK = m.ZUSER ORDER BY m.Z_PK")
        for rowid, body, ts, kind, username in db.execute(query):
            found = contents.take(rowid)
            content = text_of(found[0][0]) if found else None  # the first, by Z_PK
            other = text_of(username)
            if not other or (body is None and not content):
                continue
            sent = kind == _SENT
            yield Message(
                app=self.app, account="", conversation=other, message_id=str(rowid),
                time=cocoa(ts), direction="sent" if sent else "received",
                sender=OWNER if sent else other, recipients=(other,) if sent else (OWNER,),
                text=text_of(body), table="ZKIKMESSAGE", rowid=rowid,
                attachments=(text_of(content),) if content else (),
            )
