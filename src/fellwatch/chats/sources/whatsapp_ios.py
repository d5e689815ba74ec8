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

    deleted_tables: ClassVar[dict[str, str]] = {"core-data": "ZWAMESSAGE"}

    def from_deleted(self, db: sqlite3.Connection, variant: str, path: str,
                     row: dict[str, object], rowid: int) -> Message | None:
        from_me, session, date, text = (row.get(k) for k in (
            "zisfromme", "zchatsession", "zmessagedate", "ztext"))
        stanza, from_jid, to_jid = (row.get(k) for k in ("zstanzaid", "zfromjid", "ztojid"))
        member = row.get("zgroupmember")
        if not (from_me in (0, 1) and isinstance(session, int) and isinstance(text, str)
                and isinstance(date, int | float)
                and all(v is None or isinstance(v, str) for v in (stanza, from_jid, to_jid))):
            return None
        chat = db.execute("SELECT ZCONTACTJID FROM ZWACHATSESSION WHERE Z_PK=?",
                          (session,)).fetchone()
        group_member = None
        if isinstance(member, int) and has(db, "zwagroupmember", "zmemberjid"):
            got = db.execute("SELECT ZMEMBERJID FROM ZWAGROUPMEMBER WHERE Z_PK=?",
                             (member,)).fetchone()
            group_member = got[0] if got else None
        conversation = text_of((chat[0] if chat else None) or (to_jid if from_me else from_jid))
        if not conversation:
            conversation = f"session {session}"
        return _message(self._app(path), rowid, stanza, from_me, date, text, from_jid,
                        conversation, group_member, None, deleted=True)

    def _app(self, path: str) -> str:
        return "WhatsApp Business" if "whatsappsmb" in path.lower() else self.app

    def read(self, db: sqlite3.Connection, variant: str, path: str) -> Iterator[Message]:
        app = self._app(path)
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
            yield _message(app, rowid, stanza, from_me, date, text, from_jid, conversation,
                           group_member, media_path)


def _message(app: str, rowid: int, stanza: object, from_me: object, date: object,
             text: object, from_jid: object, conversation: str, group_member: object,
             media_path: str | None, deleted: bool = False) -> Message:
    sent = bool(from_me)
    sender = OWNER if sent else text_of(group_member or from_jid or conversation)
    return Message(
        app=app, account="", conversation=conversation,
        message_id=text_of(stanza) or str(rowid), time=cocoa(date),
        direction="sent" if sent else "received", sender=sender,
        recipients=(conversation,) if sent else (OWNER,), text=text_of(text),
        table="ZWAMESSAGE", rowid=rowid,
        attachments=(text_of(media_path),) if media_path else (), deleted=deleted,
    )
