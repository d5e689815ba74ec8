"""WhatsApp on iOS: `ChatStorage.sqlite` (Core Data) in the app group container.

`ZWAMESSAGE` (times in Cocoa seconds) with its `ZWACHATSESSION` (`ZCONTACTJID` is the
conversation), group senders through `ZWAGROUPMEMBER` and files through `ZWAMEDIAITEM`
(`ZMEDIALOCALPATH`, relative to the app group's folder).
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


class WhatsAppIos(ChatSource):
    name = "whatsapp-ios"
    app = "WhatsApp"
    platform = "ios"
    patterns = ("*/chatstorage.sqlite", "chatstorage.sqlite")
    variants: ClassVar[dict[str, Schema]] = {
        "core-data": {
            "zwamessage": cols("z_pk", "zisfromme", "zchatsession", "zmessagedate",
                               "zfromjid", "ztojid", "ztext", "zstanzaid"),
            "zwachatsession": cols("z_pk", "zcontactjid"),
        },
    }
    covered = ("ChatStorage.sqlite (WhatsApp for iOS 2.x Core Data schema: ZWAMESSAGE, "
               "ZWACHATSESSION, ZWAGROUPMEMBER, ZWAMEDIAITEM); WhatsApp Business "
               "(group.net.whatsapp.WhatsAppSMB.shared)")

    def read(self, db: sqlite3.Connection, variant: str, path: str) -> Iterator[Message]:
        app = "WhatsApp Business" if "whatsappsmb" in path.lower() else self.app
        member = has(db, "zwagroupmember", "zmemberjid") and has(db, "zwamessage",
                                                                 "zgroupmember")
        media = has(db, "zwamediaitem", "zmedialocalpath") and has(db, "zwamediaitem",
                                                                    "zmessage")
        # Media paths by message in one pass (a join per message would scan ZWAMEDIAITEM on a
        # database without Core Data's index on ZMESSAGE).
        # Merged with the messages in Z_PK order (SortedLookup): nothing per message is held.
        paths = SortedLookup(db.execute(
            "SELECT ZMESSAGE, ZMEDIALOCALPATH FROM ZWAMEDIAITEM WHERE ZMESSAGE IS NOT "
            "NULL AND ZMEDIALOCALPATH IS NOT NULL ORDER BY ZMESSAGE, Z_PK") if media else ())
        query = (
            "SELECT m.Z_PK, m.ZSTANZAID, m.ZISFROMME, m.ZMESSAGEDATE, m.ZTEXT, m.ZFROMJID, "
            "m.ZTOJID, s.ZCONTACTJID, " + ("g.ZMEMBERJID " if member else "NULL ") +
            "FROM ZWAMESSAGE m LEFT JOIN ZWACHATSESSION s ON s.Z_PK = m.ZCHATSESSION " +
            ("LEFT JOIN ZWAGROUPMEMBER g ON g.Z_PK = m.ZGROUPMEMBER " if member else "") +
            "ORDER BY m.Z_PK")
        for (rowid, stanza, from_me, date, text, from_jid, to_jid, chat,
             group_member) in db.execute(query):
            found = paths.take(rowid)
            media_path = text_of(found[0][0]) if found else None  # the first, by Z_PK
            conversation = text_of(chat or (to_jid if from_me else from_jid))
            if not conversation or (text is None and not media_path):
                continue
            sent = bool(from_me)
            sender = OWNER if sent else text_of(group_member or from_jid or conversation)
            yield Message(
                app=app, account="", conversation=conversation,
                message_id=text_of(stanza) or str(rowid), time=cocoa(date),
                direction="sent" if sent else "received", sender=sender,
                recipients=(conversation,) if sent else (OWNER,), text=text_of(text),
                table="ZWAMESSAGE", rowid=rowid,
                attachments=(text_of(media_path),) if media_path else (),
            )
