"""Build the chat fixture databases from SQL: real app schemas, benign synthetic text.

The schemas are those the public parsers (ALEAPP, iLEAPP) read: the tables and columns of
each app's database as the app writes them, trimmed of columns no parser here needs only where
that changes nothing the parsers see. Every message text is synthetic and non-explicit; the one
risk-pattern conversation uses indicator phrases only.

Run as a script to write the trees somewhere to look at them:
    python -m tests.chats.fixtures OUT_DIR
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import sqlite3
import struct
import subprocess
import sys
import tarfile
import uuid
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# One known instant, in every app's epoch: 2023-03-14T15:09:26.535Z.
KNOWN_ISO = "2023-03-14T15:09:26.535Z"
KNOWN_UNIX_MS = 1678806566535
KNOWN_UNIX_S = 1678806566
KNOWN_COCOA_S = 700499366.535
KNOWN_COCOA_NS = 700499366535000000

CONTACT_A = "447700900123@s.whatsapp.net"  # the risk-pattern contact (the phone owner's peer)
CONTACT_B = "447700900456@s.whatsapp.net"  # a parent
GROUP = "120363000000000001@g.us"  # a football club group
PHONE_A = "+447700900123"
PHONE_B = "+447700900456"
OTP = "ACME-BANK"


@dataclass(frozen=True)
class Line:
    sent: bool  # by the device owner
    seconds: int  # after KNOWN_UNIX_S
    text: str
    media: str | None = None
    sender: str | None = None  # group messages: who sent it


# The risk-pattern conversation: the owner is the adult, the contact says she is a child.
RISK = [
    Line(False, 0, "hi who is this"),
    Line(True, 60, "hey saw ur post asl?"),
    Line(False, 120, "im 12 f, u?"),
    Line(True, 180, "ur so mature for ur age"),
    Line(True, 240, "this stays between us ok"),
    Line(True, 300, "add me on snap"),
    Line(True, 360, "send me a pic"),
    Line(True, 420, "i'll buy you a phone"),
    Line(True, 480, "lets meet at the park saturday"),
    Line(True, 540, "and delete our messages after"),
]
PARENT = [
    Line(False, 1000, "can you pick me up from school at 4"),
    Line(True, 1060, "yes see you at the gate"),
    Line(False, 1120, "here is the photo from the trip",
         "Media/WhatsApp Images/IMG-20230314-WA0001.jpg"),
    Line(True, 1180, "lovely, dinner at 6"),
]
CLUB = [
    Line(False, 2000, "training moved to saturday 10am at the park", sender=CONTACT_B),
    Line(True, 2060, "thanks coach, we will be there"),
]
# Messages that exist only in the un-checkpointed WAL (appended after the checkpoint).
WAL_ONLY = [
    Line(False, 3000, "wal only message one"),
    Line(True, 3060, "wal only message two"),
]

SMS = [
    (OTP, False, 10, "Your ACME code is 493021. Never share this code with anyone."),
    (PHONE_B, False, 20, "Parcel 4471 will be delivered today between 1pm and 3pm"),
    (PHONE_A, True, 30, "are you home alone?"),
]
MMS = [(PHONE_A, False, 40, "look at this", "app_parts/PART_1678806606_image.jpg")]

IOS = [
    (PHONE_A, False, 0, "hello"),
    (PHONE_A, True, 60, "what year are you in at school"),
    (PHONE_A, False, 120, None),  # text only in attributedBody (iOS 16 and later)
    (PHONE_B, False, 180, "dinner is at 6"),
]
IOS_ATTRIBUTED = "i am in year 8"


def _jid_parts(jid: str) -> tuple[str, str]:
    user, _, server = jid.partition("@")
    return user, server


# --- Android WhatsApp ---------------------------------------------------------------------

WHATSAPP_CURRENT_SQL = """
CREATE TABLE jid (_id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL, server TEXT NOT NULL,
  agent INTEGER, device INTEGER, type INTEGER, raw_string TEXT);
CREATE TABLE chat (_id INTEGER PRIMARY KEY AUTOINCREMENT, jid_row_id INTEGER UNIQUE, hidden INTEGER,
  subject TEXT, created_timestamp INTEGER, display_message_row_id INTEGER,
  last_message_row_id INTEGER, last_read_message_row_id INTEGER, archived INTEGER,
  sort_timestamp INTEGER, group_type INTEGER);
CREATE TABLE message (_id INTEGER PRIMARY KEY AUTOINCREMENT, chat_row_id INTEGER NOT NULL,
  from_me INTEGER NOT NULL, key_id TEXT NOT NULL, sender_jid_row_id INTEGER, status INTEGER,
  broadcast INTEGER, recipient_count INTEGER, participant_hash TEXT, origination_flags INTEGER,
  origin INTEGER, timestamp INTEGER, received_timestamp INTEGER, receipt_server_timestamp INTEGER,
  message_type INTEGER, text_data TEXT, starred INTEGER, lookup_tables INTEGER,
  sort_id INTEGER NOT NULL DEFAULT 0, message_add_on_flags INTEGER);
CREATE TABLE message_media (message_row_id INTEGER PRIMARY KEY, chat_row_id INTEGER,
  autotransfer_retry_enabled INTEGER, multicast_id TEXT, media_job_uuid TEXT,
  transferred INTEGER, transcoded INTEGER, file_path TEXT, file_size INTEGER,
  suspicious_content INTEGER, trim_from INTEGER, trim_to INTEGER, face_x INTEGER, face_y INTEGER,
  media_key BLOB, media_key_timestamp INTEGER, width INTEGER, height INTEGER,
  direct_path TEXT, message_url TEXT, mime_type TEXT, file_length INTEGER, media_name TEXT,
  file_hash TEXT, media_duration INTEGER, page_count INTEGER, enc_file_hash TEXT,
  media_caption TEXT);
"""

WHATSAPP_LEGACY_SQL = """
CREATE TABLE messages (_id INTEGER PRIMARY KEY AUTOINCREMENT, key_remote_jid TEXT NOT NULL,
  key_from_me INTEGER, key_id TEXT NOT NULL, status INTEGER, needs_push INTEGER, data TEXT,
  timestamp INTEGER, media_url TEXT, media_mime_type TEXT, media_wa_type TEXT, media_size INTEGER,
  media_name TEXT, media_caption TEXT, media_hash TEXT, media_duration INTEGER, origin INTEGER,
  latitude REAL, longitude REAL, thumb_image TEXT, remote_resource TEXT,
  received_timestamp INTEGER, send_timestamp INTEGER, receipt_server_timestamp INTEGER,
  receipt_device_timestamp INTEGER, raw_data BLOB, recipient_count INTEGER,
  participant_hash TEXT, starred INTEGER, quoted_row_id INTEGER, mentioned_jids TEXT,
  multicast_id TEXT, edit_version INTEGER, media_enc_hash TEXT, payment_transaction_id TEXT,
  forwarded INTEGER, preview_type INTEGER, send_count INTEGER, lookup_tables INTEGER,
  future_message_type INTEGER, message_add_on_flags INTEGER);
CREATE TABLE chat_list (_id INTEGER PRIMARY KEY AUTOINCREMENT, key_remote_jid TEXT UNIQUE,
  message_table_id INTEGER, subject TEXT, creation INTEGER, last_read_message_table_id INTEGER,
  archived INTEGER, sort_timestamp INTEGER);
"""

CONVERSATIONS = [(CONTACT_A, RISK), (CONTACT_B, PARENT), (GROUP, CLUB)]


def _whatsapp_current(db: sqlite3.Connection, conversations: list[tuple[str, list[Line]]],
                      start_key: int = 0) -> None:
    jids: dict[str, int] = {}

    def jid(raw: str) -> int:
        if raw not in jids:
            user, server = _jid_parts(raw)
            found = db.execute("SELECT _id FROM jid WHERE raw_string=?", (raw,)).fetchone()
            if found:
                jids[raw] = found[0]
            else:
                cur = db.execute("INSERT INTO jid (user, server, agent, device, type, raw_string)"
                                 " VALUES (?, ?, 0, 0, 0, ?)", (user, server, raw))
                jids[raw] = int(cur.lastrowid or 0)
        return jids[raw]

    key = start_key
    for chat_jid, lines in conversations:
        row = db.execute("SELECT _id FROM chat WHERE jid_row_id=?", (jid(chat_jid),)).fetchone()
        chat = row[0] if row else db.execute(
            "INSERT INTO chat (jid_row_id, hidden, subject, created_timestamp, archived) "
            "VALUES (?, 0, ?, ?, 0)",
            (jid(chat_jid), "Club" if chat_jid == GROUP else None, KNOWN_UNIX_MS)).lastrowid
        for line in lines:
            key += 1
            sender = jid(line.sender) if line.sender else None
            cur = db.execute(
                "INSERT INTO message (chat_row_id, from_me, key_id, sender_jid_row_id, status, "
                "timestamp, received_timestamp, message_type, text_data, sort_id) "
                "VALUES (?, ?, ?, ?, 13, ?, ?, ?, ?, ?)",
                (chat, int(line.sent), f"3EB0{key:012X}", sender,
                 KNOWN_UNIX_MS + line.seconds * 1000, KNOWN_UNIX_MS + line.seconds * 1000 + 400,
                 1 if line.media else 0, None if line.media and not line.text else line.text,
                 key))
            if line.media:
                db.execute("INSERT INTO message_media (message_row_id, chat_row_id, file_path, "
                           "mime_type, transferred) VALUES (?, ?, ?, 'image/jpeg', 1)",
                           (cur.lastrowid, chat, line.media))
    if start_key:
        return
    # A system row (encryption notice): no text, no media, not a message.
    db.execute("INSERT INTO message (chat_row_id, from_me, key_id, timestamp, message_type, "
               "sort_id) VALUES (1, 0, 'SYSTEM', ?, 7, 0)", (KNOWN_UNIX_MS,))


def msgstore_current(path: Path, *, wal_only: bool = False) -> None:
    """msgstore.db (current schema); with `wal_only`, WAL_ONLY rows stay in an
    un-checkpointed `msgstore.db-wal` beside it."""
    work = path.with_suffix(".build")
    work.mkdir(parents=True, exist_ok=True)
    target = work / path.name
    db = sqlite3.connect(target, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL" if wal_only else "PRAGMA journal_mode=DELETE")
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.executescript(WHATSAPP_CURRENT_SQL + "PRAGMA user_version=1;")
    db.execute("BEGIN")
    _whatsapp_current(db, CONVERSATIONS)
    db.execute("COMMIT")
    if wal_only:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("BEGIN")
        _whatsapp_current(db, [(CONTACT_B, WAL_ONLY)], start_key=1000)
        db.execute("COMMIT")
        # Copied while the connection is open: closing would checkpoint the WAL into the file.
        shutil.copyfile(target, path)
        shutil.copyfile(str(target) + "-wal", str(path) + "-wal")
        db.close()
    else:
        db.close()
        shutil.copyfile(target, path)
    shutil.rmtree(work)


def msgstore_legacy(path: Path) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(WHATSAPP_LEGACY_SQL)
    db.execute("INSERT INTO messages (key_remote_jid, key_from_me, key_id, status, timestamp) "
               "VALUES ('-1', 0, '-1', -1, 0)")  # the placeholder row old versions keep
    key = 0
    for chat_jid, lines in CONVERSATIONS:
        db.execute("INSERT OR IGNORE INTO chat_list (key_remote_jid) VALUES (?)", (chat_jid,))
        for line in lines:
            key += 1
            db.execute(
                "INSERT INTO messages (key_remote_jid, key_from_me, key_id, status, data, "
                "timestamp, media_name, remote_resource, received_timestamp) "
                "VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?)",
                (chat_jid, int(line.sent), f"L{key:06d}", line.text,
                 KNOWN_UNIX_MS + line.seconds * 1000,
                 line.media.rsplit("/", 1)[-1] if line.media else None, line.sender,
                 KNOWN_UNIX_MS + line.seconds * 1000))
    db.execute("PRAGMA user_version=1")
    db.close()


# --- Android SMS/MMS ----------------------------------------------------------------------

MMSSMS_SQL = """
CREATE TABLE sms (_id INTEGER PRIMARY KEY, thread_id INTEGER, address TEXT, person INTEGER,
  date INTEGER, date_sent INTEGER DEFAULT 0, protocol INTEGER, read INTEGER DEFAULT 0,
  status INTEGER DEFAULT -1, type INTEGER, reply_path_present INTEGER, subject TEXT, body TEXT,
  service_center TEXT, locked INTEGER DEFAULT 0, sub_id INTEGER DEFAULT -1,
  error_code INTEGER DEFAULT 0, creator TEXT, seen INTEGER DEFAULT 0);
CREATE TABLE pdu (_id INTEGER PRIMARY KEY AUTOINCREMENT, thread_id INTEGER, date INTEGER,
  date_sent INTEGER DEFAULT 0, msg_box INTEGER, read INTEGER DEFAULT 0, m_id TEXT, sub TEXT,
  sub_cs INTEGER, ct_t TEXT, ct_l TEXT, exp INTEGER, m_cls TEXT, m_type INTEGER, v INTEGER,
  m_size INTEGER, pri INTEGER, rr INTEGER, rpt_a INTEGER, resp_st INTEGER, st INTEGER,
  tr_id TEXT, retr_st INTEGER, retr_txt TEXT, retr_txt_cs INTEGER, read_status INTEGER,
  ct_cls INTEGER, resp_txt TEXT, d_tm INTEGER, d_rpt INTEGER, locked INTEGER DEFAULT 0,
  sub_id INTEGER DEFAULT -1, seen INTEGER DEFAULT 0, creator TEXT, text_only INTEGER DEFAULT 0);
CREATE TABLE addr (_id INTEGER PRIMARY KEY, msg_id INTEGER, contact_id INTEGER, address TEXT,
  type INTEGER, charset INTEGER);
CREATE TABLE part (_id INTEGER PRIMARY KEY AUTOINCREMENT, mid INTEGER, seq INTEGER DEFAULT 0,
  ct TEXT, name TEXT, chset INTEGER, cd TEXT, fn TEXT, cid TEXT, cl TEXT, ctt_s INTEGER,
  ctt_t TEXT, _data TEXT, text TEXT);
CREATE TABLE threads (_id INTEGER PRIMARY KEY AUTOINCREMENT, date INTEGER DEFAULT 0,
  message_count INTEGER DEFAULT 0, recipient_ids TEXT, snippet TEXT, snippet_cs INTEGER DEFAULT 0,
  read INTEGER DEFAULT 1, archived INTEGER DEFAULT 0, type INTEGER DEFAULT 0,
  error INTEGER DEFAULT 0, has_attachment INTEGER DEFAULT 0);
CREATE TABLE canonical_addresses (_id INTEGER PRIMARY KEY AUTOINCREMENT, address TEXT);
"""


def mmssms(path: Path) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(MMSSMS_SQL)
    threads: dict[str, int] = {}
    for address, *_ in SMS + MMS:
        if address not in threads:
            db.execute("INSERT INTO canonical_addresses (address) VALUES (?)", (address,))
            threads[address] = int(db.execute(
                "INSERT INTO threads (recipient_ids) VALUES (?)", (str(len(threads) + 1),)
            ).lastrowid or 0)
    for address, sent, seconds, body in SMS:
        db.execute("INSERT INTO sms (thread_id, address, date, date_sent, type, body, read) "
                   "VALUES (?, ?, ?, ?, ?, ?, 1)",
                   (threads[address], address, KNOWN_UNIX_MS + seconds * 1000,
                    KNOWN_UNIX_MS + seconds * 1000, 2 if sent else 1, body))
    for address, sent, seconds, text, data in MMS:
        mid = db.execute("INSERT INTO pdu (thread_id, date, msg_box, m_type, ct_t) "
                         "VALUES (?, ?, ?, 132, 'application/vnd.wap.multipart.related')",
                         (threads[address], KNOWN_UNIX_S + seconds, 2 if sent else 1)).lastrowid
        db.execute("INSERT INTO addr (msg_id, address, type, charset) VALUES (?, ?, 137, 106)",
                   (mid, address))
        db.execute("INSERT INTO addr (msg_id, address, type, charset) "
                   "VALUES (?, 'insert-address-token', 151, 106)", (mid,))
        db.execute("INSERT INTO part (mid, seq, ct, cid, cl, text) VALUES (?, -1, "
                   "'application/smil', '<smil>', 'smil.xml', '<smil/>')", (mid,))
        db.execute("INSERT INTO part (mid, seq, ct, text) VALUES (?, 0, 'text/plain', ?)",
                   (mid, text))
        db.execute("INSERT INTO part (mid, seq, ct, cl, _data) VALUES (?, 0, 'image/jpeg', "
                   "'image.jpg', ?)",
                   (mid, "/data/user_de/0/com.android.providers.telephony/" + data))
    db.execute("PRAGMA user_version=67")
    db.close()


# --- iOS sms.db -----------------------------------------------------------------------------

IOS_SMS_SQL = """
CREATE TABLE handle (ROWID INTEGER PRIMARY KEY AUTOINCREMENT UNIQUE, id TEXT NOT NULL,
  country TEXT, service TEXT NOT NULL, uncanonicalized_id TEXT, person_centric_id TEXT);
CREATE TABLE chat (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL,
  style INTEGER, state INTEGER, account_id TEXT, properties BLOB, chat_identifier TEXT,
  service_name TEXT, room_name TEXT, account_login TEXT, is_archived INTEGER DEFAULT 0,
  last_addressed_handle TEXT, display_name TEXT, group_id TEXT, is_filtered INTEGER DEFAULT 0,
  successful_query INTEGER);
CREATE TABLE message (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL,
  text TEXT, replace INTEGER DEFAULT 0, service_center TEXT, handle_id INTEGER DEFAULT 0,
  subject TEXT, country TEXT, attributedBody BLOB, version INTEGER DEFAULT 0,
  type INTEGER DEFAULT 0, service TEXT, account TEXT, account_guid TEXT, error INTEGER DEFAULT 0,
  date INTEGER, date_read INTEGER, date_delivered INTEGER, is_delivered INTEGER DEFAULT 0,
  is_finished INTEGER DEFAULT 0, is_emote INTEGER DEFAULT 0, is_from_me INTEGER DEFAULT 0,
  is_empty INTEGER DEFAULT 0, is_read INTEGER DEFAULT 0, is_sent INTEGER DEFAULT 0,
  cache_has_attachments INTEGER DEFAULT 0, cache_roomnames TEXT, item_type INTEGER DEFAULT 0,
  associated_message_guid TEXT, thread_originator_guid TEXT);
CREATE TABLE chat_message_join (chat_id INTEGER REFERENCES chat (ROWID) ON DELETE CASCADE,
  message_id INTEGER REFERENCES message (ROWID) ON DELETE CASCADE, message_date INTEGER DEFAULT 0,
  PRIMARY KEY (chat_id, message_id));
CREATE TABLE chat_handle_join (chat_id INTEGER REFERENCES chat (ROWID) ON DELETE CASCADE,
  handle_id INTEGER REFERENCES handle (ROWID) ON DELETE CASCADE, UNIQUE(chat_id, handle_id));
CREATE TABLE attachment (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL,
  created_date INTEGER DEFAULT 0, start_date INTEGER DEFAULT 0, filename TEXT, uti TEXT,
  mime_type TEXT, transfer_state INTEGER DEFAULT 0, is_outgoing INTEGER DEFAULT 0,
  user_info BLOB, transfer_name TEXT, total_bytes INTEGER DEFAULT 0);
CREATE TABLE message_attachment_join (message_id INTEGER REFERENCES message (ROWID)
  ON DELETE CASCADE, attachment_id INTEGER REFERENCES attachment (ROWID) ON DELETE CASCADE,
  UNIQUE(message_id, attachment_id));
"""

IOS_ATTACHMENT = "~/Library/SMS/Attachments/0a/10/ABCD-1234/IMG_0001.JPG"


def typedstream(text: str) -> bytes:
    """An NSAttributedString as NSArchiver writes it into attributedBody (the parts a reader
    uses: the class chain and the NSString's length-prefixed UTF-8 bytes)."""
    raw = text.encode("utf-8")
    if len(raw) < 0x80:
        length = bytes([len(raw)])
    elif len(raw) < 0x10000:
        length = b"\x81" + len(raw).to_bytes(2, "little")
    else:
        length = b"\x82" + len(raw).to_bytes(4, "little")
    return (b"\x04\x0bstreamtyped\x81\xe8\x03\x84\x01@\x84\x84\x84\x12NSAttributedString\x00"
            b"\x84\x84\x08NSObject\x00\x85\x92\x84\x84\x84\x08NSString\x01\x94\x84\x01+"
            + length + raw + b"\x86\x84\x02iI\x01" + length + b"\x92\x84\x84\x84"
            b"\x0cNSDictionary\x00\x94\x84\x01i\x01\x92\x84\x96\x96\x1d__kIMMessagePartAttribute"
            b"Name\x86\x92\x84\x84\x84\x08NSNumber\x00\x84\x84\x07NSValue\x00\x94\x84\x01*\x84"
            b"\x99\x99\x00\x86\x86\x86")


def ios_sms(path: Path, *, nanoseconds: bool = True) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(IOS_SMS_SQL)
    handles: dict[str, int] = {}
    chats: dict[str, int] = {}
    for i, (who, sent, seconds, text) in enumerate(IOS):
        if who not in handles:
            handles[who] = int(db.execute(
                "INSERT INTO handle (id, country, service) VALUES (?, 'gb', 'iMessage')",
                (who,)).lastrowid or 0)
            chats[who] = int(db.execute(
                "INSERT INTO chat (guid, style, state, chat_identifier, service_name) "
                "VALUES (?, 45, 3, ?, 'iMessage')", (f"iMessage;-;{who}", who)).lastrowid or 0)
            db.execute("INSERT INTO chat_handle_join VALUES (?, ?)", (chats[who], handles[who]))
        date = (KNOWN_COCOA_NS + seconds * 10**9) if nanoseconds else int(KNOWN_COCOA_S) + seconds
        body = typedstream(text if text is not None else IOS_ATTRIBUTED)
        mid = db.execute(
            "INSERT INTO message (guid, text, handle_id, attributedBody, service, account, date, "
            "is_from_me, is_finished, cache_has_attachments) "
            "VALUES (?, ?, ?, ?, 'iMessage', 'e:owner@example.org', ?, ?, 1, ?)",
            (f"5E1F0C2A-0000-4000-8000-{i:012d}", text, handles[who], body, date, int(sent),
             int(i == 0))).lastrowid
        db.execute("INSERT INTO chat_message_join VALUES (?, ?, ?)", (chats[who], mid, date))
        if i == 0:
            att = db.execute("INSERT INTO attachment (guid, filename, mime_type, transfer_name) "
                             "VALUES ('at_0_ABCD', ?, 'image/jpeg', 'IMG_0001.JPG')",
                             (IOS_ATTACHMENT,)).lastrowid
            db.execute("INSERT INTO message_attachment_join VALUES (?, ?)", (mid, att))
    db.execute("PRAGMA user_version=14006")
    db.close()


# --- iOS WhatsApp ---------------------------------------------------------------------------

CHATSTORAGE_SQL = """
CREATE TABLE ZWACHATSESSION (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,
  ZARCHIVED INTEGER, ZCONTACTABID INTEGER, ZFLAGS INTEGER, ZHIDDEN INTEGER,
  ZMESSAGECOUNTER INTEGER, ZSESSIONTYPE INTEGER, ZUNREADCOUNT INTEGER, ZGROUPINFO INTEGER,
  ZLASTMESSAGE INTEGER, ZPROPERTIES INTEGER, ZLASTMESSAGEDATE TIMESTAMP, ZCONTACTIDENTIFIER VARCHAR,
  ZCONTACTJID VARCHAR, ZETAG VARCHAR, ZLASTMESSAGETEXT VARCHAR, ZPARTNERNAME VARCHAR,
  ZSAVEDINPUT VARCHAR);
CREATE TABLE ZWAGROUPMEMBER (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,
  ZISACTIVE INTEGER, ZISADMIN INTEGER, ZCHATSESSION INTEGER, ZCONTACTNAME VARCHAR,
  ZFIRSTNAME VARCHAR, ZMEMBERJID VARCHAR);
CREATE TABLE ZWAMEDIAITEM (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,
  ZFILESIZE INTEGER, ZMOVIEDURATION INTEGER, ZMESSAGE INTEGER, ZLATITUDE FLOAT, ZLONGITUDE FLOAT,
  ZMEDIAURLDATE TIMESTAMP, ZAUTHORNAME VARCHAR, ZCOLLECTIONNAME VARCHAR, ZMEDIALOCALPATH VARCHAR,
  ZMEDIAURL VARCHAR, ZTHUMBNAILLOCALPATH VARCHAR, ZTITLE VARCHAR, ZVCARDNAME VARCHAR,
  ZVCARDSTRING VARCHAR, ZXMPPTHUMBPATH VARCHAR, ZMEDIAKEY BLOB, ZMETADATA BLOB);
CREATE TABLE ZWAMESSAGE (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,
  ZCHILDMESSAGESDELIVEREDCOUNT INTEGER, ZCHILDMESSAGESPLAYEDCOUNT INTEGER,
  ZCHILDMESSAGESREADCOUNT INTEGER, ZDATAITEMVERSION INTEGER, ZDOCID INTEGER, ZENCRETRYCOUNT INTEGER,
  ZFILTEREDRECIPIENTCOUNT INTEGER, ZFLAGS INTEGER, ZGROUPEVENTTYPE INTEGER, ZISFROMME INTEGER,
  ZMESSAGEERRORSTATUS INTEGER, ZMESSAGESTATUS INTEGER, ZMESSAGETYPE INTEGER, ZSORT INTEGER,
  ZSPOTLIGHTSTATUS INTEGER, ZSTARRED INTEGER, ZCHATSESSION INTEGER, ZGROUPMEMBER INTEGER,
  ZLASTSESSION INTEGER, ZMEDIAITEM INTEGER, ZMESSAGEINFO INTEGER, ZPARENTMESSAGE INTEGER,
  ZMESSAGEDATE TIMESTAMP, ZSENTDATE TIMESTAMP, ZFROMJID VARCHAR, ZMEDIASECTIONID VARCHAR,
  ZPHASH VARCHAR, ZPUSHNAME VARCHAR, ZSTANZAID VARCHAR, ZTEXT VARCHAR, ZTOJID VARCHAR);
"""

IOS_WA_MEDIA = "Media/447700900456@s.whatsapp.net/a/b/ab12cd34.jpg"


def chatstorage(path: Path) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(CHATSTORAGE_SQL)
    pk = 0
    for session, (jid, lines) in enumerate(CONVERSATIONS, start=1):
        db.execute("INSERT INTO ZWACHATSESSION (Z_PK, Z_ENT, ZSESSIONTYPE, ZCONTACTJID, "
                   "ZPARTNERNAME) VALUES (?, 4, ?, ?, ?)",
                   (session, 1 if jid == GROUP else 0, jid, f"Contact {session}"))
        for line in lines:
            pk += 1
            member = None
            if line.sender:
                member = pk
                db.execute("INSERT INTO ZWAGROUPMEMBER (Z_PK, Z_ENT, ZCHATSESSION, ZMEMBERJID) "
                           "VALUES (?, 6, ?, ?)", (member, session, line.sender))
            db.execute(
                "INSERT INTO ZWAMESSAGE (Z_PK, Z_ENT, ZISFROMME, ZMESSAGETYPE, ZCHATSESSION, "
                "ZGROUPMEMBER, ZMESSAGEDATE, ZSENTDATE, ZFROMJID, ZTOJID, ZTEXT, ZSTANZAID) "
                "VALUES (?, 9, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (pk, int(line.sent), 1 if line.media else 0, session, member,
                 KNOWN_COCOA_S + line.seconds, KNOWN_COCOA_S + line.seconds,
                 None if line.sent else jid, jid if line.sent else None, line.text,
                 f"3A{pk:014X}"))
            if line.media:
                db.execute("INSERT INTO ZWAMEDIAITEM (Z_PK, Z_ENT, ZMESSAGE, ZMEDIALOCALPATH) "
                           "VALUES (?, 7, ?, ?)", (pk, pk, IOS_WA_MEDIA))
    db.close()


# --- deleted records ------------------------------------------------------------------------

DELETED = 300  # messages added then deleted: enough to empty whole pages onto the freelist


def deleted_text(i: int) -> str:
    return f"deleted message {i:03d} about the weekend"


def delete_some(path: Path, app: str) -> list[str]:
    """Add DELETED messages to the database at `path` and delete them again, with
    secure_delete off (SQLite's default build; some Android builds turn it on), so their pages
    go to the freelist with their cells intact. Returns the deleted texts."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA secure_delete=OFF")
    db.execute("BEGIN")
    texts = [deleted_text(i) for i in range(DELETED)]
    if app == "whatsapp":
        for i, text in enumerate(texts):
            db.execute("INSERT INTO message (_id, chat_row_id, from_me, key_id, timestamp, "
                       "message_type, text_data, sort_id) VALUES (?, 2, ?, ?, ?, 0, ?, ?)",
                       (5000 + i, i % 2, f"DEL{i:05d}", KNOWN_UNIX_MS + 90_000_000 + i * 1000,
                        text, 5000 + i))
        db.execute("COMMIT")
        db.execute("DELETE FROM message WHERE _id >= 5000")
    elif app == "sms":
        for i, text in enumerate(texts):
            db.execute("INSERT INTO sms (_id, thread_id, address, date, type, body) "
                       "VALUES (?, 2, ?, ?, ?, ?)",
                       (5000 + i, PHONE_B, KNOWN_UNIX_MS + 90_000_000 + i * 1000,
                        1 + i % 2, text))
        db.execute("COMMIT")
        db.execute("DELETE FROM sms WHERE _id >= 5000")
    else:
        for i, text in enumerate(texts):
            db.execute("INSERT INTO message (ROWID, guid, text, handle_id, date, is_from_me, "
                       "service) VALUES (?, ?, ?, 1, ?, ?, 'iMessage')",
                       (5000 + i, f"DEL-{i:05d}", text, KNOWN_COCOA_NS + 90_000 * 10**9
                        + i * 10**9, i % 2))
        db.execute("COMMIT")
        db.execute("DELETE FROM message WHERE ROWID >= 5000")
    free = db.execute("PRAGMA freelist_count").fetchone()[0]
    db.close()
    if not free:
        raise AssertionError(f"{path.name}: no page reached the freelist")
    return texts


# --- Android Telegram -----------------------------------------------------------------------

TELEGRAM_SQL = """
CREATE TABLE users(uid INTEGER PRIMARY KEY, name TEXT, status INTEGER, data BLOB);
CREATE TABLE dialogs(did INTEGER PRIMARY KEY, date INTEGER, unread_count INTEGER,
  last_mid INTEGER, inbox_max INTEGER, outbox_max INTEGER, last_mid_i INTEGER,
  unread_count_i INTEGER, pts INTEGER, date_i INTEGER, pinned INTEGER, flags INTEGER,
  folder_id INTEGER, data BLOB, unread_reactions INTEGER, last_mid_group INTEGER,
  ttl_period INTEGER);
CREATE TABLE messages_v2(mid INTEGER, uid INTEGER, read_state INTEGER, send_state INTEGER,
  date INTEGER, data BLOB, out INTEGER, ttl INTEGER, media INTEGER, replydata BLOB, imp INTEGER,
  mention INTEGER, forwards INTEGER, replies_data BLOB, thread_reply_id INTEGER,
  is_channel INTEGER, reply_to_message_id INTEGER, custom_params BLOB, group_id INTEGER,
  reply_to_story_id INTEGER, PRIMARY KEY(mid, uid));
"""
TELEGRAM_USER = 5550001
TELEGRAM = [
    Line(False, 4000, "hey it's me from the game"),
    Line(True, 4060, "switch to telegram its better"),
    Line(False, 4120, "ok ✓ here now"),
    Line(True, 4180, "lets talk on kik too " + "and more " * 40),  # a long TL string (0xFE)
]
# TL constructors: message (a recent layer) and peerUser; messageService has no text.
TL_MESSAGE, TL_PEER_USER, TL_SERVICE = 0x94345242, 0x59511722, 0x2B085862


def tl_string(text: str) -> bytes:
    raw = text.encode("utf-8")
    head = bytes([len(raw)]) if len(raw) < 254 else b"\xfe" + len(raw).to_bytes(3, "little")
    body = head + raw
    return body + bytes(-len(body) % 4)


def tl_message(mid: int, uid: int, date: int, text: str, out: bool) -> bytes:
    flags = 0x2 if out else 0
    return (struct.pack("<IiiIqi", TL_MESSAGE, flags, mid, TL_PEER_USER, uid, date)
            + tl_string(text) + struct.pack("<i", 0))


def cache4(path: Path) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(TELEGRAM_SQL)
    db.execute("INSERT INTO users (uid, name, status) VALUES (?, 'sam example;;;sam_e', 0)",
               (TELEGRAM_USER,))
    db.execute("INSERT INTO dialogs (did, date, last_mid) VALUES (?, ?, ?)",
               (TELEGRAM_USER, KNOWN_UNIX_S, len(TELEGRAM)))
    for mid, line in enumerate(TELEGRAM, start=1):
        date = KNOWN_UNIX_S + line.seconds
        db.execute("INSERT INTO messages_v2 (mid, uid, read_state, send_state, date, data, out, "
                   "ttl, media) VALUES (?, ?, 1, 0, ?, ?, ?, 0, 0)",
                   (mid, TELEGRAM_USER, date,
                    tl_message(mid, TELEGRAM_USER, date, line.text, line.sent), int(line.sent)))
    # A service message (someone joined): no text, but a message row.
    date = KNOWN_UNIX_S + 5000
    db.execute("INSERT INTO messages_v2 (mid, uid, date, data, out) VALUES (99, ?, ?, ?, 0)",
               (TELEGRAM_USER, date, struct.pack("<Iiii", TL_SERVICE, 0, 99, date - 1)))
    db.execute("PRAGMA user_version=150")
    db.close()


# --- Android Telegram: a group with two senders -----------------------------------------------
# The message headers of three TL layers (telethon's api.tl history; Telegram for Android's
# TLRPC): layer 190 `message#94345242` (flags, flags2, id, from_id:Peer, peer_id:Peer, ...),
# layer 123 `message#58ae39c9` (no flags2; Peers with 32-bit ids) and layer 104
# `message#44f9b43d` (from_id a bare int, then to_id:Peer). Flags bit 1 is out, bit 8 from_id.

TELEGRAM_CHAT = 4000123  # a basic group: its dialog id in messages_v2 is -4000123
TELEGRAM_OWNER = 5550000
TELEGRAM_ALEX, TELEGRAM_JO = 5550002, 5550003
TELEGRAM_GROUP = [  # (layer, sender, seconds, text); sender None: sent by the owner
    (190, TELEGRAM_ALEX, 4300, "who is coming to practice on saturday"),
    (123, TELEGRAM_JO, 4360, "i can bring the cones"),
    (190, None, 4420, "see you all at 10"),
    (104, TELEGRAM_ALEX, 4480, "great thanks"),
    (0, TELEGRAM_JO, 4540, "running late"),  # a header of another layout: shown as the group
]
TL_MESSAGE_123, TL_MESSAGE_104, TL_MESSAGE_OLD3 = 0x58AE39C9, 0x44F9B43D, 0xA7AB1991
TL_PEER_CHAT, TL_PEER_USER_32, TL_PEER_CHAT_32 = 0x36C6019A, 0x9DB1BC6D, 0xBAD0E5BB


def tl_group_message(layer: int, mid: int, sender: int, chat: int, date: int, text: str,
                     out: bool) -> bytes:
    """A TL message of `layer` from user `sender` to basic group `chat` (layer 0: the old
    `message#a7ab1991` whose from_id is not flagged, a layout the source does not read)."""
    flags = 0x100 | (0x2 if out else 0)
    if layer == 190:
        head = (struct.pack("<IIIi", TL_MESSAGE, flags, 0, mid)
                + struct.pack("<Iq", TL_PEER_USER, sender) + struct.pack("<Iq", TL_PEER_CHAT, chat))
    elif layer == 123:
        head = (struct.pack("<IIi", TL_MESSAGE_123, flags, mid)
                + struct.pack("<Ii", TL_PEER_USER_32, sender)
                + struct.pack("<Ii", TL_PEER_CHAT_32, chat))
    elif layer == 104:
        head = (struct.pack("<IIii", TL_MESSAGE_104, flags, mid, sender)
                + struct.pack("<Ii", TL_PEER_CHAT_32, chat))
    else:
        head = (struct.pack("<IIii", TL_MESSAGE_OLD3, 0x2 if out else 0, mid, sender)
                + struct.pack("<Ii", TL_PEER_CHAT_32, chat))
    return head + struct.pack("<i", date) + tl_string(text) + struct.pack("<i", 0)


def cache4_group(path: Path) -> None:
    """cache4.db with the group conversation: its members in `users`, its name in `chats`."""
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(TELEGRAM_SQL)
    db.execute("CREATE TABLE chats(uid INTEGER PRIMARY KEY, name TEXT, data BLOB)")
    for uid, name in ((TELEGRAM_OWNER, "pat owner;;;pat_o"),
                      (TELEGRAM_ALEX, "alex example;;;alex_e"),
                      (TELEGRAM_JO, "jo example;;;jo_e")):
        db.execute("INSERT INTO users (uid, name, status) VALUES (?, ?, 0)", (uid, name))
    db.execute("INSERT INTO chats (uid, name) VALUES (?, 'football parents')", (TELEGRAM_CHAT,))
    db.execute("INSERT INTO dialogs (did, date, last_mid) VALUES (?, ?, ?)",
               (-TELEGRAM_CHAT, KNOWN_UNIX_S, len(TELEGRAM_GROUP)))
    for mid, (layer, sender, seconds, text) in enumerate(TELEGRAM_GROUP, start=101):
        date, out = KNOWN_UNIX_S + seconds, sender is None
        blob = tl_group_message(layer, mid, TELEGRAM_OWNER if sender is None else sender,
                                TELEGRAM_CHAT, date, text, out)
        db.execute("INSERT INTO messages_v2 (mid, uid, read_state, send_state, date, data, out, "
                   "ttl, media) VALUES (?, ?, 1, 0, ?, ?, ?, 0, 0)",
                   (mid, -TELEGRAM_CHAT, date, blob, int(out)))
    db.execute("PRAGMA user_version=150")
    db.close()


# --- Kik (Android and iOS) -----------------------------------------------------------------

KIK_ANDROID_SQL = """
CREATE TABLE messagesTable (_id INTEGER PRIMARY KEY AUTOINCREMENT, body VARCHAR,
  partner_jid VARCHAR, was_me INT, read_state INT, uid VARCHAR, length INT, timestamp LONG,
  bin_id VARCHAR, sys_msg VARCHAR, stat_msg VARCHAR, stat_user_jid VARCHAR,
  req_read_reciept BOOLEAN, content_id VARCHAR, app_id VARCHAR, message_retry_count INT,
  encryption_failure BOOLEAN default 0, encryption_key VARCHAR, render_instructions VARCHAR,
  friend_attr_id VARCHAR);
CREATE TABLE KIKContentTable (content_id VARCHAR, content_type VARCHAR, content_name VARCHAR,
  content_string VARCHAR);
CREATE TABLE KIKcontactsTable (_id INTEGER PRIMARY KEY AUTOINCREMENT, jid VARCHAR UNIQUE,
  display_name VARCHAR, user_name VARCHAR, in_roster INT, is_blocked INT);
"""
KIK_JID = "sam_example_x1y@talk.kik.com"
KIK = [
    Line(False, 6000, "hi from kik"),
    Line(True, 6060, "what school do you go to"),
    Line(False, 6120, "look", "f1e2d3c4.jpg"),
]

KIK_IOS_SQL = """
CREATE TABLE ZKIKUSER (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,
  ZFLAGS INTEGER, ZPRESENCE INTEGER, ZDISPLAYNAME VARCHAR, ZJID VARCHAR, ZUSERNAME VARCHAR);
CREATE TABLE ZKIKCHAT (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,
  ZUSER INTEGER, ZLASTMESSAGE INTEGER, ZDATEUPDATED TIMESTAMP);
CREATE TABLE ZKIKMESSAGE (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,
  ZSTATE INTEGER, ZTYPE INTEGER, ZCHAT INTEGER, ZUSER INTEGER, ZRECEIVEDTIMESTAMP TIMESTAMP,
  ZTIMESTAMP TIMESTAMP, ZBODY VARCHAR, ZSTANZAID VARCHAR);
CREATE TABLE ZKIKATTACHMENT (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,
  ZMESSAGE INTEGER, ZCONTENT VARCHAR, ZNAME VARCHAR);
"""
KIK_USER = "sam_example_x1y"


def kik_android(path: Path) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(KIK_ANDROID_SQL)
    db.execute("INSERT INTO KIKcontactsTable (jid, display_name, user_name) VALUES (?, ?, ?)",
               (KIK_JID, "Sam", KIK_USER))
    for i, line in enumerate(KIK):
        content = f"c{i}" if line.media else None
        db.execute("INSERT INTO messagesTable (body, partner_jid, was_me, read_state, uid, "
                   "timestamp, bin_id, content_id) VALUES (?, ?, ?, 500, ?, ?, ?, ?)",
                   (None if line.media else line.text, KIK_JID, int(line.sent), f"u{i}",
                    KNOWN_UNIX_MS + line.seconds * 1000, KIK_JID, content))
        if content:
            db.execute("INSERT INTO KIKContentTable VALUES (?, 'image', 'file-name', ?)",
                       (content, line.media))
    db.close()


def kik_ios(path: Path) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(KIK_IOS_SQL)
    db.execute("INSERT INTO ZKIKUSER (Z_PK, ZDISPLAYNAME, ZJID, ZUSERNAME) VALUES (1, 'Sam', ?, ?)",
               (KIK_JID, KIK_USER))
    db.execute("INSERT INTO ZKIKCHAT (Z_PK, ZUSER) VALUES (1, 1)")
    for pk, line in enumerate(KIK, start=1):
        db.execute("INSERT INTO ZKIKMESSAGE (Z_PK, ZTYPE, ZCHAT, ZUSER, ZRECEIVEDTIMESTAMP, "
                   "ZTIMESTAMP, ZBODY) VALUES (?, ?, 1, 1, ?, ?, ?)",
                   (pk, 2 if line.sent else 1, KNOWN_COCOA_S + line.seconds + 1,
                    KNOWN_COCOA_S + line.seconds, None if line.media else line.text))
        if line.media:
            db.execute("INSERT INTO ZKIKATTACHMENT (Z_PK, ZMESSAGE, ZCONTENT) VALUES (?, ?, ?)",
                       (pk, pk, line.media))
    db.close()


# --- Kik iOS: a group chat, on the schema of a real kik.sqlite --------------------------------
# The tables of the kik.sqlite in plaso's test data (its Kik iOS parser lists them): chats and
# messages are joined by Core Data's Z_3MESSAGES (entity 3 KIKChat, 5 KIKMessage), group
# members by Z_6MEMBERS (entity 6 KIKUser); a group is a ZKIKUSER row with a groups.kik.com JID.

KIK_IOS_REAL_SQL = """
CREATE TABLE Z_3MESSAGES ( Z_3CHAT INTEGER, Z_5MESSAGES INTEGER,
  PRIMARY KEY (Z_3CHAT, Z_5MESSAGES) );
CREATE TABLE Z_6MEMBERS ( Z_6MEMBERSINVERSE INTEGER, Z_6MEMBERS INTEGER,
  PRIMARY KEY (Z_6MEMBERSINVERSE, Z_6MEMBERS) );
CREATE TABLE Z_PRIMARYKEY (Z_ENT INTEGER PRIMARY KEY, Z_NAME VARCHAR, Z_SUPER INTEGER,
  Z_MAX INTEGER);
CREATE TABLE ZKIKATTACHMENT ( Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,
  ZFLAGS INTEGER, ZINTERNALID INTEGER, ZRETRYCOUNT INTEGER, ZSTATE INTEGER, ZTYPE INTEGER,
  ZEXTRA INTEGER, ZMESSAGE INTEGER, ZLASTACCESSTIMESTAMP TIMESTAMP, ZTIMESTAMP TIMESTAMP,
  ZCONTENT VARCHAR );
CREATE TABLE ZKIKCHAT ( Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZFLAGS INTEGER,
  ZDRAFTMESSAGE INTEGER, ZEXTRA INTEGER, ZLASTMESSAGE INTEGER, ZUSER INTEGER,
  ZDATEUPDATED TIMESTAMP );
CREATE TABLE ZKIKMESSAGE ( Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,
  ZFLAGS INTEGER, ZINTERNALID INTEGER, ZSTATE INTEGER, ZSYSTEMSTATE INTEGER, ZTYPE INTEGER,
  ZCHATEXTRA INTEGER, ZDRAFTMESSAGECHAT INTEGER, ZLASTMESSAGECHAT INTEGER,
  ZLASTMESSAGEUSER INTEGER, ZUSER INTEGER, ZRECEIVEDTIMESTAMP TIMESTAMP, ZTIMESTAMP TIMESTAMP,
  ZBODY VARCHAR, ZSTANZAID VARCHAR, ZRENDERINSTRUCTIONSET BLOB );
CREATE TABLE ZKIKUSER ( Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,
  ZADDRESSBOOKID INTEGER, ZFLAGS INTEGER, ZINTERNALID INTEGER, ZPRESENCE INTEGER,
  ZTYPE INTEGER, ZCHATUSER INTEGER, ZEXTRA INTEGER, ZLASTMESSAGE INTEGER,
  ZDISPLAYNAME VARCHAR, ZDISPLAYNAMEASCII VARCHAR, ZEMAIL VARCHAR, ZFIRSTNAME VARCHAR,
  ZGROUPTAG VARCHAR, ZJID VARCHAR, ZLASTNAME VARCHAR, ZPPTIMESTAMP VARCHAR, ZPPURL VARCHAR,
  ZSTATUS VARCHAR, ZUSERNAME VARCHAR, ZCONTENTLINKSPROTODATA BLOB );
"""
KIK_GROUP_JID = "1100000000001_g@groups.kik.com"
KIK_JO = "jo_example_k2"
# (chat, ZUSER, ZTYPE, seconds, text): chat 1 the group, chat 2 the one-to-one chat with Sam;
# ZUSER 1 Sam, 2 Jo, 3 the group itself.
KIK_IOS_GROUP = [
    (1, 1, 4, 7000, "homework club is at 4"),
    (1, 2, 4, 7060, "i will bring snacks"),
    (1, 3, 2, 7120, "see you both there"),
    (1, 3, 4, 7180, "the group name was changed"),
    (2, 1, 1, 7240, "are you going to the club"),
    (2, 1, 2, 7300, "yes i am"),
]


def kik_ios_group(path: Path) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(KIK_IOS_REAL_SQL)
    for ent, name in enumerate(("KIKAttachment", "KIKAttachmentExtra", "KIKChat", "KIKChatExtra",
                                "KIKMessage", "KIKUser", "KIKUserExtra"), start=1):
        db.execute("INSERT INTO Z_PRIMARYKEY VALUES (?, ?, 0, 0)", (ent, name))
    for pk, jid, username, display, tag in (
            (1, KIK_JID, KIK_USER, "Sam", None),
            (2, "jo_example_k2@talk.kik.com", KIK_JO, "Jo", None),
            (3, KIK_GROUP_JID, None, "Homework Club", "#homeworkclub")):
        db.execute("INSERT INTO ZKIKUSER (Z_PK, Z_ENT, ZJID, ZUSERNAME, ZDISPLAYNAME, ZGROUPTAG) "
                   "VALUES (?, 6, ?, ?, ?, ?)", (pk, jid, username, display, tag))
    db.executemany("INSERT INTO Z_6MEMBERS VALUES (?, 3)", [(1,), (2,)])
    db.execute("INSERT INTO ZKIKCHAT (Z_PK, Z_ENT, ZUSER) VALUES (1, 3, 3), (2, 3, 1)")
    for pk, (chat, user, kind, seconds, text) in enumerate(KIK_IOS_GROUP, start=1):
        db.execute("INSERT INTO ZKIKMESSAGE (Z_PK, Z_ENT, ZTYPE, ZUSER, ZRECEIVEDTIMESTAMP, "
                   "ZTIMESTAMP, ZBODY) VALUES (?, 5, ?, ?, ?, ?, ?)",
                   (pk, kind, user, KNOWN_COCOA_S + seconds + 1, KNOWN_COCOA_S + seconds, text))
        db.execute("INSERT INTO Z_3MESSAGES VALUES (?, ?)", (chat, pk))
    db.close()


# --- Signal and hostile files ---------------------------------------------------------------


def sqlcipher_looking(path: Path) -> None:
    """What SQLCipher writes: no plaintext header, every page random-looking (a 16-byte salt
    first, then ciphertext); here seeded random bytes of four 4 KiB pages."""
    path.write_bytes(random.Random(4096).randbytes(4 * 4096))


def unknown_schema(path: Path) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript("CREATE TABLE message_v9 (_id INTEGER PRIMARY KEY, payload BLOB); "
                     "CREATE TABLE jid (_id INTEGER PRIMARY KEY, raw_string TEXT); "
                     "PRAGMA user_version=999;")
    db.close()


def truncated(source: Path, path: Path) -> None:
    data = source.read_bytes()
    path.write_bytes(data[: len(data) // 2 + 100])


def picture(path: Path, seed: int) -> None:
    """A generated benign picture (noise and a gradient), JPEG."""
    from PIL import Image

    rng = random.Random(seed)
    img = Image.new("RGB", (64, 48))
    img.putdata([(x * 4, y * 5, rng.randrange(256)) for y in range(48) for x in range(64)])
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    path.write_bytes(buf.getvalue())


# --- deleted records in pages still in use, overflowing records, old WAL frames -------------

IN_PLACE = 80  # messages added to a database; every eighth one is deleted again
LONG_TEXT_REPEAT = 260  # a long message's text: more than a 4 KiB page, so it overflows


def in_place_text(i: int) -> str:
    return f"in place message {i:02d} about the football rota"


def long_text(i: int) -> str:
    return f"long message {i:02d}" + " about the weekend plans" * LONG_TEXT_REPEAT


# app -> (fixture builder, source name, message table, key column)
DELETABLE = {
    "whatsapp": ("msgstore_current", "whatsapp-android", "message", "_id"),
    "whatsapp-legacy": ("msgstore_legacy", "whatsapp-android", "messages", "_id"),
    "sms": ("mmssms", "android-sms", "sms", "_id"),
    "ios": ("ios_sms", "ios-sms", "message", "ROWID"),
    "messenger": ("threads_db2", "messenger-android", "messages", "rowid"),
    "kik-android": ("kik_android", "kik-android", "messagesTable", "_id"),
    "kik-ios": ("kik_ios", "kik-ios", "ZKIKMESSAGE", "Z_PK"),
    "whatsapp-ios": ("chatstorage", "whatsapp-ios", "ZWAMESSAGE", "Z_PK"),
    "telegram": ("cache4", "telegram-android", "messages_v2", "mid"),
}


def add_message(db: sqlite3.Connection, app: str, key: int, i: int, text: str) -> None:
    """One synthetic message of `app` with key `key` (its rowid, or Telegram's mid)."""
    sent = i % 2
    ms = KNOWN_UNIX_MS + 80_000_000 + i * 1000
    if app == "whatsapp":
        db.execute("INSERT INTO message (_id, chat_row_id, from_me, key_id, timestamp, "
                   "message_type, text_data, sort_id) VALUES (?, 2, ?, ?, ?, 0, ?, ?)",
                   (key, sent, f"K{key:07d}", ms, text, key))
    elif app == "whatsapp-legacy":
        db.execute("INSERT INTO messages (_id, key_remote_jid, key_from_me, key_id, status, "
                   "data, timestamp, received_timestamp) VALUES (?, ?, ?, ?, 0, ?, ?, ?)",
                   (key, CONTACT_B, sent, f"L{key:07d}", text, ms, ms))
    elif app == "sms":
        db.execute("INSERT INTO sms (_id, thread_id, address, date, type, body) "
                   "VALUES (?, 2, ?, ?, ?, ?)", (key, PHONE_B, ms, 1 + sent, text))
    elif app == "ios":
        db.execute("INSERT INTO message (ROWID, guid, text, handle_id, date, is_from_me, "
                   "service) VALUES (?, ?, ?, 1, ?, ?, 'iMessage')",
                   (key, f"G-{key:07d}", text, KNOWN_COCOA_NS + (80_000 + i) * 10**9, sent))
    elif app == "kik-android":
        db.execute("INSERT INTO messagesTable (_id, body, partner_jid, was_me, read_state, uid, "
                   "timestamp, bin_id) VALUES (?, ?, ?, ?, 500, ?, ?, ?)",
                   (key, text, KIK_JID, sent, f"u{key}", ms, KIK_JID))
    elif app == "kik-ios":
        db.execute("INSERT INTO ZKIKMESSAGE (Z_PK, ZTYPE, ZCHAT, ZUSER, ZRECEIVEDTIMESTAMP, "
                   "ZTIMESTAMP, ZBODY) VALUES (?, ?, 1, 1, ?, ?, ?)",
                   (key, 2 if sent else 1, KNOWN_COCOA_S + 80_001 + i, KNOWN_COCOA_S + 80_000 + i,
                    text))
    elif app == "whatsapp-ios":
        db.execute("INSERT INTO ZWAMESSAGE (Z_PK, Z_ENT, ZISFROMME, ZMESSAGETYPE, ZCHATSESSION, "
                   "ZMESSAGEDATE, ZSENTDATE, ZFROMJID, ZTOJID, ZTEXT, ZSTANZAID) "
                   "VALUES (?, 9, ?, 0, 2, ?, ?, ?, ?, ?, ?)",
                   (key, sent, KNOWN_COCOA_S + 80_000 + i, KNOWN_COCOA_S + 80_000 + i,
                    None if sent else CONTACT_B, CONTACT_B if sent else None, text,
                    f"3B{key:014X}"))
    elif app == "telegram":
        date = KNOWN_UNIX_S + 80_000 + i
        db.execute("INSERT INTO messages_v2 (mid, uid, read_state, send_state, date, data, out, "
                   "ttl, media) VALUES (?, ?, 1, 0, ?, ?, ?, 0, 0)",
                   (key, TELEGRAM_USER, date, tl_message(key, TELEGRAM_USER, date, text,
                                                         bool(sent)), sent))
    elif app == "messenger":
        _threads_db2_message(db, f"mid.$k{key:07d}", bool(sent), ms, text, rowid=key)
    else:
        raise ValueError(app)


def _build(path: Path, app: str) -> sqlite3.Connection:
    globals()[DELETABLE[app][0]](path)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA secure_delete=OFF")
    return db


def _delete(db: sqlite3.Connection, app: str, keys: list[int]) -> None:
    _, _, table, column = DELETABLE[app]
    db.execute("BEGIN")
    for key in keys:
        db.execute(f"DELETE FROM {table} WHERE {column}=?", (key,))
    db.execute("COMMIT")


def delete_in_place(path: Path, app: str) -> tuple[list[str], list[str]]:
    """IN_PLACE messages added to `app`'s database and every eighth deleted again, so their
    cells stay in table pages still in use (freeblocks, the unallocated gap): no page reaches
    the freelist. Returns (deleted texts, kept texts)."""
    db = _build(path, app)
    db.execute("BEGIN")
    for i in range(IN_PLACE):
        add_message(db, app, 7000 + i, i, in_place_text(i))
    db.execute("COMMIT")
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    # The legacy WhatsApp table's rows are wider: deleting from its later pages too would
    # leave one underfull, and SQLite would merge it away.
    gone = [i for i in range(IN_PLACE) if i % 8 == 1 and (app != "whatsapp-legacy" or i < 40)]
    _delete(db, app, [7000 + i for i in gone])
    free = db.execute("PRAGMA freelist_count").fetchone()[0]
    if free or db.execute("PRAGMA page_count").fetchone()[0] != pages:
        raise AssertionError(f"{app}: a page was freed; the deleted cells must stay in place")
    db.close()
    return ([in_place_text(i) for i in gone],
            [in_place_text(i) for i in range(IN_PLACE) if i not in gone])


def delete_long(path: Path, app: str) -> tuple[list[str], list[str]]:
    """Eight long messages (text longer than a page: overflow chains) between eight short
    ones; six long ones are deleted. Returns (deleted texts, kept long texts)."""
    db = _build(path, app)
    db.execute("BEGIN")
    for i in range(16):
        add_message(db, app, 8000 + i, i, long_text(i) if i % 2 else in_place_text(i))
    db.execute("COMMIT")
    gone = [1, 3, 5, 9, 11, 13]
    _delete(db, app, [8000 + i for i in gone])
    db.close()
    return [long_text(i) for i in gone], [long_text(i) for i in (7, 15)]


def wal_history(path: Path) -> dict[str, list[str]]:
    """msgstore.db in WAL mode whose deleted rows survive only in old WAL frames (the deletes
    ran with secure_delete on, so neither the database file nor the applied frames keep them):

    * "old-salt": rows added and deleted in the WAL's previous generation, checkpointed; a later
      write restarted the WAL with new salts, overwriting only its first frames, so the frames
      holding these rows are left behind, no longer applied;
    * "before-commit": rows added and then deleted in the current generation: the frame of the
      insert is an older version of a page the delete's frame replaced.

    Also "kept": the rows of those transactions that were not deleted."""
    work = path.with_suffix(".build")
    work.mkdir(parents=True, exist_ok=True)
    target = work / path.name
    db = sqlite3.connect(target, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.executescript(WHATSAPP_CURRENT_SQL + "PRAGMA user_version=1;")
    db.execute("BEGIN")
    _whatsapp_current(db, CONVERSATIONS)
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    texts: dict[str, list[str]] = {"old-salt": [], "before-commit": [], "kept": []}
    # Generation 1: many frames first (thumbnails), so the next generation overwrites only
    # those and leaves the frames of the message rows behind.
    db.execute("CREATE TABLE message_thumbnails (key_id TEXT, thumbnail BLOB)")
    db.execute("BEGIN")
    for i in range(24):
        db.execute("INSERT INTO message_thumbnails VALUES (?, ?)",
                   (f"T{i}", random.Random(i).randbytes(3000)))
    db.execute("COMMIT")
    for generation, name, base in ((1, "old-salt", 9000), (2, "before-commit", 9100)):
        db.execute("BEGIN")
        for i in range(12):
            text = f"wal history {name} {i:02d} see you at practice"
            add_message(db, "whatsapp", base + i, 100 * generation + i, text)
            texts[name if i % 2 else "kept"].append(text)
        db.execute("COMMIT")
        db.execute("PRAGMA secure_delete=ON")
        _delete(db, "whatsapp", [base + i for i in range(1, 12, 2)])
        db.execute("PRAGMA secure_delete=OFF")
        if generation == 1:
            busy, _, done = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if busy or done <= 0:
                raise AssertionError("the checkpoint did not complete")
    # Copied while the connection is open: closing would checkpoint the WAL into the file.
    shutil.copyfile(target, path)
    shutil.copyfile(str(target) + "-wal", str(path) + "-wal")
    db.close()
    shutil.rmtree(work)
    return texts


def freed_in_wal(path: Path) -> list[str]:
    """msgstore.db in WAL mode: DELETED messages added (one commit) and deleted (another) with
    secure_delete off, nothing checkpointed, so each deleted row is both on a freed page of the
    applied image and a live cell of an older WAL frame. Returns the deleted texts."""
    work = path.with_suffix(".build")
    work.mkdir(parents=True, exist_ok=True)
    target = work / path.name
    db = sqlite3.connect(target, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.execute("PRAGMA secure_delete=OFF")
    db.executescript(WHATSAPP_CURRENT_SQL + "PRAGMA user_version=1;")
    db.execute("BEGIN")
    _whatsapp_current(db, CONVERSATIONS)
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    texts = [deleted_text(i) for i in range(DELETED)]
    db.execute("BEGIN")
    for i, text in enumerate(texts):
        add_message(db, "whatsapp", 5000 + i, i, text)
    db.execute("COMMIT")
    db.execute("DELETE FROM message WHERE _id >= 5000")
    shutil.copyfile(target, path)
    shutil.copyfile(str(target) + "-wal", str(path) + "-wal")
    db.close()
    shutil.rmtree(work)
    return texts


def journal_history(path: Path) -> dict[str, list[str]]:
    """msgstore.db in `journal_mode=PERSIST` (the journal file stays, its header zeroed after
    each commit): rows added, then some deleted with secure_delete on, so only the journal's
    copy of the page from before the delete keeps them. Returns "deleted" and "kept" texts."""
    msgstore_current(path)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=PERSIST")
    texts: dict[str, list[str]] = {"deleted": [], "kept": []}
    db.execute("BEGIN")
    for i in range(12):
        text = f"journal history {i:02d} bring your boots"
        add_message(db, "whatsapp", 9500 + i, 300 + i, text)
        texts["deleted" if i % 2 else "kept"].append(text)
    db.execute("COMMIT")
    db.execute("PRAGMA secure_delete=ON")
    _delete(db, "whatsapp", [9500 + i for i in range(1, 12, 2)])
    db.close()
    return texts


# --- whole extractions ----------------------------------------------------------------------

ANDROID_WA = "data/data/com.whatsapp/databases/msgstore.db"
ANDROID_WA_LEGACY = "data/data/com.whatsapp.w4b/databases/msgstore.db"
ANDROID_SMS = "data/user_de/0/com.android.providers.telephony/databases/mmssms.db"
ANDROID_SIGNAL = "data/data/org.thoughtcrime.securesms/databases/signal.db"
ANDROID_TELEGRAM = "data/data/org.telegram.messenger/files/cache4.db"
ANDROID_KIK = "data/data/kik.android/databases/sam_example_x1y.kikDatabase.db"
ANDROID_MEDIA = "media/0/WhatsApp/Media/WhatsApp Images/IMG-20230314-WA0001.jpg"
IOS_SMS = "private/var/mobile/Library/SMS/sms.db"
IOS_SMS_MEDIA = "private/var/mobile/Library/SMS/Attachments/0a/10/ABCD-1234/IMG_0001.JPG"
IOS_WA = ("private/var/mobile/Containers/Shared/AppGroup/"
          "5A1B2C3D-0000-4000-8000-00000000A001/ChatStorage.sqlite")
IOS_KIK = ("private/var/mobile/Containers/Data/Application/"
           "7B2C3D4E-0000-4000-8000-00000000B002/Documents/kik.sqlite")
IOS_WA_MEDIA_PATH = ("private/var/mobile/Containers/Shared/AppGroup/"
                     "5A1B2C3D-0000-4000-8000-00000000A001/Message/" + IOS_WA_MEDIA)


def android_tree(root: Path) -> Path:
    """An Android logical extraction: WhatsApp (WAL-only messages), WhatsApp Business (legacy
    schema), SMS/MMS, Telegram, Kik, an encrypted Signal database, one picture a message points
    to."""
    for rel in (ANDROID_WA, ANDROID_WA_LEGACY, ANDROID_SMS, ANDROID_SIGNAL, ANDROID_MEDIA,
                ANDROID_TELEGRAM, ANDROID_KIK):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
    cache4(root / ANDROID_TELEGRAM)
    kik_android(root / ANDROID_KIK)
    msgstore_current(root / ANDROID_WA, wal_only=True)
    msgstore_legacy(root / ANDROID_WA_LEGACY)
    mmssms(root / ANDROID_SMS)
    sqlcipher_looking(root / ANDROID_SIGNAL)
    picture(root / ANDROID_MEDIA, 1)
    return root


def ios_tree(root: Path) -> Path:
    for rel in (IOS_SMS, IOS_SMS_MEDIA, IOS_WA, IOS_WA_MEDIA_PATH, IOS_KIK):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
    kik_ios(root / IOS_KIK)
    ios_sms(root / IOS_SMS)
    chatstorage(root / IOS_WA)
    picture(root / IOS_SMS_MEDIA, 2)
    picture(root / IOS_WA_MEDIA_PATH, 3)
    return root


def hostile_tree(root: Path) -> Path:
    """Databases at app paths that cannot be read: truncated, unknown schema, encrypted."""
    base = root / "data/data"
    for app in ("com.whatsapp", "com.whatsapp.w4b"):
        (base / app / "databases").mkdir(parents=True, exist_ok=True)
    good = root / "good.db"
    msgstore_current(good)
    truncated(good, base / "com.whatsapp/databases/msgstore.db")
    good.unlink()
    unknown_schema(base / "com.whatsapp.w4b/databases/msgstore.db")
    (root / ANDROID_SIGNAL).parent.mkdir(parents=True, exist_ok=True)
    sqlcipher_looking(root / ANDROID_SIGNAL)
    return root


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def zip_of(root: Path, path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in _files(root):
            info = zipfile.ZipInfo(p.relative_to(root).as_posix(), (2023, 3, 14, 15, 9, 26))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, p.read_bytes())
    return path


def tar_of(root: Path, path: Path) -> Path:
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tf:
        for p in _files(root):
            info = tarfile.TarInfo("./" + p.relative_to(root).as_posix())
            info.size = p.stat().st_size
            info.mtime = KNOWN_UNIX_S
            with p.open("rb") as fh:
                tf.addfile(info, fh)
    return path


def ext4_of(root: Path, path: Path) -> Path:
    """An ext4 file system holding the tree (mkfs.ext4 -d), like an Android userdata partition."""
    size_mib = max(16, 4 + sum(p.stat().st_size for p in _files(root)) * 2 // (1 << 20))
    with path.open("wb") as fh:
        fh.truncate(size_mib << 20)
    result = subprocess.run(
        ["mkfs.ext4", "-q", "-F", "-d", str(root), "-U", "6f4b1c1e-0000-4000-8000-000000000011",
         "-E", "hash_seed=6f4b1c1e-0000-4000-8000-000000000012", str(path)],
        capture_output=True, text=True, check=False, env={**os.environ, "E2FSPROGS_FAKE_TIME":
                                                          str(KNOWN_UNIX_S)})
    if result.returncode != 0:
        raise AssertionError(f"mkfs.ext4 failed: {result.stderr.strip()}")
    return path


# --- more Android apps: wa.db contacts, Snapchat, Instagram, Messenger -----------------------
# Schemas as ALEAPP's parsers read them (scripts/artifacts/WhatsApp.py, snapchat.py,
# instagram.py, FacebookMessenger.py): the tables and columns they name, with the apps' other
# columns where they are known.

WA_CONTACTS_SQL = """
CREATE TABLE wa_contacts (_id INTEGER PRIMARY KEY AUTOINCREMENT, jid TEXT NOT NULL,
  is_whatsapp_user BOOLEAN NOT NULL, status TEXT, status_timestamp INTEGER, number TEXT,
  raw_contact_id INTEGER, display_name TEXT, phone_type INTEGER, phone_label TEXT,
  unseen_msg_count INTEGER, photo_ts INTEGER, thumb_ts INTEGER, photo_id_timestamp INTEGER,
  given_name TEXT, family_name TEXT, wa_name TEXT, sort_name TEXT, nickname TEXT, company TEXT,
  title TEXT, status_autodownload_disabled INTEGER, keep_timestamp INTEGER,
  is_spam_reported INTEGER, is_sidelist_synced BOOLEAN DEFAULT 0,
  is_business_synced BOOLEAN DEFAULT 0);
CREATE TABLE wa_vnames (_id INTEGER PRIMARY KEY AUTOINCREMENT, jid TEXT UNIQUE,
  serial INTEGER, issuer TEXT, expires INTEGER, verified_name TEXT, industry TEXT, city TEXT,
  country TEXT, verified_level INTEGER, identity_unconfirmed_since INTEGER,
  host_storage INTEGER, actual_actors INTEGER, privacy_mode_ts INTEGER);
"""
# jid -> (display_name from the address book, wa_name the contact chose); the first row of a
# JID listed twice wins.
WA_NAMES = [
    (CONTACT_A, None, "sam"),
    (CONTACT_B, "Mum", "Jo"),
    (CONTACT_B, "Mother (old entry)", None),
    (GROUP, "Saturday Football", None),
]


def wa_db(path: Path) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(WA_CONTACTS_SQL)
    for jid, display, own in WA_NAMES:
        db.execute("INSERT INTO wa_contacts (jid, is_whatsapp_user, number, display_name, "
                   "wa_name) VALUES (?, 1, ?, ?, ?)",
                   (jid, "+" + jid.partition("@")[0], display, own))
    db.execute("PRAGMA user_version=1")
    db.close()


ARROYO_SQL = """
CREATE TABLE conversation (client_conversation_id TEXT PRIMARY KEY, conversation_type INTEGER,
  conversation_metadata BLOB, creation_timestamp INTEGER, tombstoned_at_timestamp INTEGER,
  send_state_type INTEGER, streak_count INTEGER, streak_expiration_timestamp INTEGER);
CREATE TABLE conversation_message (client_conversation_id TEXT NOT NULL,
  client_message_id INTEGER NOT NULL, server_message_id INTEGER, client_resolution_id INTEGER,
  local_message_content_id INTEGER, message_content BLOB, message_state_type TEXT,
  content_type INTEGER, creation_timestamp INTEGER, read_timestamp INTEGER, sender_id TEXT,
  is_saved INTEGER, is_viewed_by_user INTEGER, created_on_device INTEGER,
  remote_media_count INTEGER, replies_count INTEGER, quoted_server_message_id INTEGER,
  PRIMARY KEY (client_conversation_id, client_message_id));
CREATE TABLE feed_entry (client_conversation_id TEXT PRIMARY KEY, last_updated_timestamp INTEGER,
  display_timestamp INTEGER, participants BLOB, conversation_title TEXT);
"""
SNAP_OWNER = "0b1c2d3e-0000-4000-8000-00000000c001"
SNAP_FRIEND = "0b1c2d3e-0000-4000-8000-00000000c002"
SNAP_CHAT = "5f6e7d8c-0000-4000-8000-00000000c100"
# (sent, seconds, content_type, text): content type 1 is text; 2 a snap (no readable text).
SNAP = [
    (False, 7000, 1, "are you coming to the match on sunday"),
    (True, 7060, 1, "yes, dad is driving us"),
    (False, 7120, 2, None),
    (True, 7180, 1, "great ✓ see you there"),
]


def _pb_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def pb(number: int, value: int | bytes | str) -> bytes:
    """One protobuf field: a varint for an int, length-delimited for bytes or text."""
    if isinstance(value, int):
        return _pb_varint(number << 3) + _pb_varint(value)
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return _pb_varint(number << 3 | 2) + _pb_varint(len(raw)) + raw


def snap_content(sender: str, chat: str, content_type: int, text: str | None, ms: int) -> bytes:
    """A message_content protobuf shaped as ALEAPP describes it: 2 > 1 the sender, 3 > 1 > 1 > 1
    the conversation, 4 > 2 the content type, 4 > 4 > 2 > 1 a text message's text, 6 > 1 and
    6 > 2 the times; a snap carries a media key instead of text."""
    body = pb(2, content_type)
    if text is not None:
        body += pb(4, pb(2, pb(1, text)))
    else:
        body += pb(5, pb(1, bytes(range(32))))
    return (pb(1, 7) + pb(2, pb(1, sender)) + pb(3, pb(1, pb(1, pb(1, chat)))) + pb(4, body)
            + pb(6, pb(1, ms) + pb(2, ms + 100)))


def arroyo(path: Path) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(ARROYO_SQL)
    metadata = pb(1, 5) + b"".join(
        pb(3, pb(1, pb(1, uuid.UUID(u).bytes)) + pb(2, 1)) for u in (SNAP_OWNER, SNAP_FRIEND))
    db.execute("INSERT INTO conversation (client_conversation_id, conversation_type, "
               "conversation_metadata, creation_timestamp) VALUES (?, 0, ?, ?)",
               (SNAP_CHAT, metadata, KNOWN_UNIX_MS))
    for i, (sent, seconds, kind, text) in enumerate(SNAP, start=1):
        sender = SNAP_OWNER if sent else SNAP_FRIEND
        ms = KNOWN_UNIX_MS + seconds * 1000
        db.execute("INSERT INTO conversation_message (client_conversation_id, client_message_id, "
                   "server_message_id, message_content, content_type, creation_timestamp, "
                   "sender_id, created_on_device, message_state_type) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'COMMITTED')",
                   (SNAP_CHAT, i, 1000 + i, snap_content(sender, SNAP_CHAT, kind, text, ms),
                    kind, ms, sender, int(sent)))
    db.execute("INSERT INTO feed_entry (client_conversation_id, participants) VALUES (?, ?)",
               (SNAP_CHAT, uuid.UUID(SNAP_OWNER).bytes + uuid.UUID(SNAP_FRIEND).bytes))
    db.execute("PRAGMA user_version=112")
    db.close()


SNAPCHAT_MAIN_SQL = """
CREATE TABLE Friend (_id INTEGER PRIMARY KEY AUTOINCREMENT, userId TEXT UNIQUE, username TEXT,
  displayName TEXT, bitmojiAvatarId TEXT, bitmojiSelfieId TEXT, birthday INTEGER,
  addedTimestamp INTEGER, reverseAddedTimestamp INTEGER, phone TEXT, friendLinkType INTEGER);
"""
SNAP_FRIEND_USERNAME = "sam_example_snap"


def snapchat_main(path: Path) -> None:
    """Snapchat's main.db, beside arroyo.db: the names of the account and its friend."""
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(SNAPCHAT_MAIN_SQL)
    for user, username, display in ((SNAP_OWNER, "owner_snap", "Owner"),
                                    (SNAP_FRIEND, SNAP_FRIEND_USERNAME, "Sam")):
        db.execute("INSERT INTO Friend (userId, username, displayName, addedTimestamp) "
                   "VALUES (?, ?, ?, ?)", (user, username, display, KNOWN_UNIX_MS))
    db.close()


INSTAGRAM_SQL = """
CREATE TABLE session (user_id TEXT PRIMARY KEY, session_data TEXT);
CREATE TABLE threads (_id INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT NULL,
  thread_id TEXT NOT NULL, recipient_ids TEXT, thread_info TEXT, last_activity_time INTEGER,
  is_spam INTEGER, UNIQUE (user_id, thread_id));
CREATE TABLE messages (_id INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT NULL,
  server_item_id TEXT, client_item_id TEXT, thread_id TEXT, recipient_ids TEXT,
  timestamp INTEGER, message_type TEXT, text TEXT, message TEXT NOT NULL);
"""
IG_OWNER = "5550000001"
IG_CONTACT = "5550000002"
IG_USERNAME = "sam.example.22"
IG_THREAD = "340282366841710300949128100000000001"


def direct_db(path: Path) -> None:
    """Instagram's direct.db with the risk-pattern conversation (indicator phrases only) and a
    call event, which is no message."""
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(INSTAGRAM_SQL)
    db.execute("INSERT INTO session VALUES (?, '{}')", (IG_OWNER,))
    info = {"thread_id": IG_THREAD, "thread_title": IG_USERNAME,
            "recipients": [{"pk": IG_CONTACT, "username": IG_USERNAME, "full_name": "Sam"}],
            "inviter": {"pk": IG_OWNER, "username": "owner.account"}}
    db.execute("INSERT INTO threads (user_id, thread_id, recipient_ids, thread_info, "
               "last_activity_time) VALUES (?, ?, ?, ?, ?)",
               (IG_OWNER, IG_THREAD, IG_CONTACT, json.dumps(info, sort_keys=True),
                KNOWN_UNIX_MS * 1000))
    rows: list[tuple[bool, int, str, str | None]] = [
        (line.sent, line.seconds, "text", line.text) for line in RISK]
    rows.append((True, 600, "video_call_event", None))
    for i, (sent, seconds, kind, text) in enumerate(rows, start=1):
        us = KNOWN_UNIX_MS * 1000 + seconds * 1_000_000
        item = {"item_id": f"2903{i:015d}", "user_id": int(IG_OWNER if sent else IG_CONTACT),
                "timestamp": us, "item_type": kind, "thread_key": {"thread_id": IG_THREAD}}
        if text is not None:
            item["text"] = text
        else:
            item["video_call_event"] = {"action": "video_call_started"}
        db.execute("INSERT INTO messages (user_id, server_item_id, thread_id, recipient_ids, "
                   "timestamp, message_type, text, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (IG_OWNER, item["item_id"], IG_THREAD, IG_CONTACT, us, kind, text,
                    json.dumps(item, sort_keys=True)))
    db.close()


THREADS_DB2_SQL = """
CREATE TABLE threads (thread_key TEXT PRIMARY KEY, legacy_thread_id TEXT, action_id INTEGER,
  refetch_action_id INTEGER, last_visible_action_id INTEGER, sequence_id INTEGER, name TEXT,
  participants TEXT, former_participants TEXT, senders TEXT, snippet TEXT,
  snippet_sender TEXT, admin_snippet TEXT, timestamp_ms INTEGER, last_read_timestamp_ms INTEGER,
  folder TEXT);
CREATE TABLE messages (msg_id TEXT PRIMARY KEY, thread_key TEXT, action_id INTEGER,
  subject TEXT, text TEXT, sender TEXT, timestamp_ms INTEGER, timestamp_sent_ms INTEGER,
  attachments TEXT, shares TEXT, sticker_id TEXT, msg_type INTEGER, affected_users TEXT,
  coordinates TEXT, offline_threading_id TEXT, source TEXT, is_non_authoritative INTEGER,
  send_error TEXT, publicity TEXT, generic_admin_message_extensible_data TEXT,
  snippet TEXT);
CREATE TABLE thread_users (user_key TEXT PRIMARY KEY, first_name TEXT, last_name TEXT,
  username TEXT, profile_pic_square TEXT, is_messenger_user INTEGER, is_friend INTEGER,
  friendship_status TEXT, contact_relationship_status TEXT);
CREATE TABLE message_reactions (msg_id TEXT, user_key TEXT, reaction TEXT,
  reaction_timestamp INTEGER);
"""
FB_OWNER = "100000000000001"
FB_CONTACT = "100000000000002"
FB_THREAD = f"ONE_TO_ONE:{FB_CONTACT}:{FB_OWNER}"
FB = [
    Line(False, 8000, "are we still on for the bake sale"),
    Line(True, 8060, "yes, bring the cupcakes"),
    Line(False, 8120, "", "image-8120.jpg"),
]


def fb_offline_id(line: int) -> str:
    """The client's offline threading id of FB's line `line` (1-based), the same in every
    copy (Messenger's are 19-digit numbers)."""
    return str(6_900_000_000_000_000_000 + line)


def fb_message_id(line: int) -> str:
    return f"mid.$cAAB{line:08d}"


def _threads_db2_message(db: sqlite3.Connection, msg_id: str | None, sent: bool, ms: int,
                         text: str | None, media: str | None = None,
                         offline: str | None = None, rowid: int | None = None) -> None:
    who = FB_OWNER if sent else FB_CONTACT
    sender = {"email": f"{who}@facebook.com", "user_key": "FACEBOOK:" + who,
              "name": "Pat Owner" if sent else "Alex Baker"}
    files = [{"id": "att1", "mime_type": "image/jpeg", "filename": media}] if media else []
    db.execute("INSERT INTO messages (rowid, msg_id, thread_key, text, sender, timestamp_ms, "
               "timestamp_sent_ms, attachments, msg_type, offline_threading_id) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
               (rowid, msg_id, FB_THREAD, text, json.dumps(sender, sort_keys=True), ms, ms,
                json.dumps(files), offline))


def threads_db2(path: Path, *, uid: bool = True, unsent: Iterable[int] = ()) -> None:
    """threads_db2 and, with `uid`, the threads_db2-uid file Messenger keeps beside it. Each
    message has its offline threading id (`fb_offline_id`); the lines in `unsent` (1-based)
    have no server id yet (msg_id NULL: sent while offline)."""
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(THREADS_DB2_SQL)
    db.execute("INSERT INTO threads (thread_key, name, timestamp_ms) VALUES (?, NULL, ?)",
               (FB_THREAD, KNOWN_UNIX_MS))
    for user, first, last in ((FB_OWNER, "Pat", "Owner"), (FB_CONTACT, "Alex", "Baker")):
        db.execute("INSERT INTO thread_users (user_key, first_name, last_name, is_friend) "
                   "VALUES (?, ?, ?, 1)", ("FACEBOOK:" + user, first, last))
    pending = set(unsent)
    for i, line in enumerate(FB, start=1):
        _threads_db2_message(db, None if i in pending else fb_message_id(i), line.sent,
                             KNOWN_UNIX_MS + line.seconds * 1000, line.text or None,
                             line.media, fb_offline_id(i))
    # A call record: an admin message, not a message.
    db.execute("INSERT INTO messages (msg_id, thread_key, sender, timestamp_ms, msg_type, "
               "generic_admin_message_extensible_data) VALUES ('mid.$call', ?, ?, ?, 0, ?)",
               (FB_THREAD, json.dumps({"user_key": "FACEBOOK:" + FB_CONTACT}),
                KNOWN_UNIX_MS + 8200 * 1000, json.dumps({"call_duration": 60, "video": False})))
    db.execute("PRAGMA user_version=343")
    db.close()
    if uid:
        path.with_name("threads_db2-uid").write_text(FB_OWNER + "\n", encoding="utf-8")


THREADS_FREED = 60  # threads_db2 messages added and deleted: enough to free whole pages


def threads_db2_text(kind: str, i: int) -> str:
    return f"threads {kind} {i:03d} see you at the match on saturday"


def threads_db2_deleted(path: Path) -> dict[str, list[str]]:
    """threads_db2 (with its uid file) holding deleted messages, synthetic text only:

    * "freed": THREADS_FREED messages added and deleted with secure_delete off, so their
      pages go to the freelist with their cells intact;
    * "wal": then, in WAL mode, messages added (one commit) and every other one deleted with
      secure_delete on (another), nothing checkpointed: only the older WAL frame keeps them.
      (The freed ones have rowids from 1000 up, so these do not reuse theirs: the carver
      takes a recovered rowid once, and drops a record whose rowid a live row has now.)

    Also "kept": the live messages of the WAL transaction. The file and its -wal are copied
    while the connection is open (closing would checkpoint the WAL into the file)."""
    work = path.with_suffix(".build")
    work.mkdir(parents=True, exist_ok=True)
    target = work / path.name
    threads_db2(target, uid=False)
    texts: dict[str, list[str]] = {"freed": [], "wal": [], "kept": []}
    db = sqlite3.connect(target, isolation_level=None)
    db.execute("PRAGMA secure_delete=OFF")
    db.execute("BEGIN")
    for i in range(THREADS_FREED):
        text = threads_db2_text("freed", i)
        _threads_db2_message(db, f"mid.$del{i:05d}", bool(i % 2),
                             KNOWN_UNIX_MS + 70_000_000 + i * 1000, text,
                             offline=str(6_800_000_000_000_000_000 + i), rowid=1000 + i)
        texts["freed"].append(text)
    db.execute("COMMIT")
    db.execute("DELETE FROM messages WHERE msg_id LIKE 'mid.$del%'")
    if not db.execute("PRAGMA freelist_count").fetchone()[0]:
        raise AssertionError("threads_db2: no page reached the freelist")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.execute("BEGIN")
    for i in range(6):
        text = threads_db2_text("wal", i)
        _threads_db2_message(db, f"mid.$wal{i:05d}", bool(i % 2),
                             KNOWN_UNIX_MS + 71_000_000 + i * 1000, text)
        texts["wal" if i % 2 else "kept"].append(text)
    db.execute("COMMIT")
    db.execute("PRAGMA secure_delete=ON")
    db.execute("BEGIN")
    for i in range(1, 6, 2):
        db.execute("DELETE FROM messages WHERE msg_id=?", (f"mid.$wal{i:05d}",))
    db.execute("COMMIT")
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(target, path)
    shutil.copyfile(str(target) + "-wal", str(path) + "-wal")
    db.close()
    shutil.rmtree(work)
    path.with_name("threads_db2-uid").write_text(FB_OWNER + "\n", encoding="utf-8")
    return texts


MSYS_SQL = """
CREATE TABLE threads (thread_key INTEGER PRIMARY KEY, thread_name TEXT, thread_type INTEGER,
  last_activity_timestamp_ms INTEGER, folder_name TEXT);
CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT, normalized_name_for_search TEXT,
  username TEXT, profile_picture_large_url TEXT, email_address TEXT, phone_number TEXT,
  is_messenger_user INTEGER, friendship_status INTEGER, birthday_timestamp INTEGER);
CREATE TABLE messages (thread_key INTEGER NOT NULL, timestamp_ms INTEGER NOT NULL,
  message_id TEXT NOT NULL PRIMARY KEY, offline_threading_id TEXT, sender_id INTEGER NOT NULL,
  text TEXT, is_admin_message INTEGER, authority_level INTEGER);
CREATE TABLE attachments (message_id TEXT, attachment_fbid TEXT, filename TEXT,
  playable_url TEXT, playable_url_mime_type TEXT, title_text TEXT, subtitle_text TEXT);
CREATE TABLE reactions (message_id TEXT, reaction TEXT, reaction_creation_timestamp_ms INTEGER);
"""
MSYS = [
    Line(False, 9000, "homework club is at 4 in the library"),
    Line(True, 9060, "thanks, see you there"),
]


def msys_database(path: Path) -> None:
    """msys_database_<FB_OWNER>: the file name carries the account's id."""
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(MSYS_SQL)
    db.execute("INSERT INTO threads VALUES (?, NULL, 1, ?, 'inbox')",
               (int(FB_CONTACT), KNOWN_UNIX_MS))
    for user, name, status in ((FB_OWNER, "Pat Owner", 0), (FB_CONTACT, "Alex Baker", 1)):
        db.execute("INSERT INTO contacts (id, name, username, is_messenger_user, "
                   "friendship_status) VALUES (?, ?, ?, 1, ?)",
                   (int(user), name, name.lower().replace(" ", "."), status))
    for i, line in enumerate(MSYS, start=1):
        db.execute("INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, 0, 3)",
                   (int(FB_CONTACT), KNOWN_UNIX_MS + line.seconds * 1000, f"mid.$msys{i:04d}",
                    str(6000 + i), int(FB_OWNER if line.sent else FB_CONTACT), line.text))
    db.execute("INSERT INTO messages VALUES (?, ?, 'mid.$admin', NULL, ?, 'You are now "
               "connected', 1, 3)", (int(FB_CONTACT), KNOWN_UNIX_MS + 8900 * 1000, int(FB_OWNER)))
    db.execute("PRAGMA user_version=1")
    db.close()


# --- one Messenger mailbox kept by both Messenger and the Facebook app ------------------------
# The same account's msys_database in com.facebook.orca (Messenger) and in com.facebook.katana
# (the Facebook app): the risk-pattern thread is in both, partly (its lines 1 to 7 in
# Messenger's copy, 4 to 10 in the Facebook app's), line 2 is a deleted record in the Facebook
# app's copy and live in Messenger's, and a benign thread is in the Facebook app's only.
FB_PAIR_ORCA = f"data/data/com.facebook.orca/databases/msys_database_{FB_OWNER}"
FB_PAIR_KATANA = f"data/data/com.facebook.katana/app_mib_msys/msys_database_{FB_OWNER}"
FB_PAIR_OTHER = "100000000000003"  # the benign thread's contact
FB_PAIR_ORCA_LINES = tuple(range(1, 8))
FB_PAIR_KATANA_LINES = tuple(range(4, 11))
FB_PAIR_KATANA_DELETED = (2,)


def fb_pair_id(line: int) -> str:
    """The server's message id of RISK's line `line` (1-based), the same in every copy."""
    return f"mid.$pair{line:04d}"


def fb_pair_offline_id(line: int) -> str:
    """The offline threading id of RISK's line `line` in the pair (the same in every copy)."""
    return str(7000 + line)


def msys_mailbox(path: Path, lines: Iterable[int], *, deleted: Iterable[int] = (),
                 benign: bool = False, unsent: Iterable[int] = ()) -> None:
    """An msys_database_<FB_OWNER> holding RISK's `lines` (1-based) with FB_CONTACT, the
    `deleted` ones written and then deleted (their records left in the file), and with
    `benign` MSYS's lines with FB_PAIR_OTHER. The `unsent` lines have no server id yet: their
    `message_id` is their offline threading id (`message_id` is NOT NULL in msys)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA secure_delete=OFF")
    db.executescript(MSYS_SQL)
    for thread in (FB_CONTACT, FB_PAIR_OTHER):
        db.execute("INSERT INTO threads VALUES (?, NULL, 1, ?, 'inbox')",
                   (int(thread), KNOWN_UNIX_MS))
    for user, name, status in ((FB_OWNER, "Pat Owner", 0), (FB_CONTACT, "Alex Baker", 1),
                               (FB_PAIR_OTHER, "Sam Clarke", 1)):
        db.execute("INSERT INTO contacts (id, name, username, is_messenger_user, "
                   "friendship_status) VALUES (?, ?, ?, 1, ?)",
                   (int(user), name, name.lower().replace(" ", "."), status))
    gone = set(deleted)
    pending = set(unsent)
    for i in sorted(set(lines) | gone):
        line = RISK[i - 1]
        db.execute("INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, 0, 3)",
                   (int(FB_CONTACT), KNOWN_UNIX_MS + line.seconds * 1000,
                    fb_pair_offline_id(i) if i in pending else fb_pair_id(i),
                    fb_pair_offline_id(i), int(FB_OWNER if line.sent else FB_CONTACT),
                    line.text))
    if benign:
        for i, line in enumerate(MSYS, start=1):
            db.execute("INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, 0, 3)",
                       (int(FB_PAIR_OTHER), KNOWN_UNIX_MS + line.seconds * 1000,
                        f"mid.$benign{i:04d}", str(8000 + i),
                        int(FB_OWNER if line.sent else FB_PAIR_OTHER), line.text))
    for i in sorted(gone):
        db.execute("DELETE FROM messages WHERE message_id=?", (fb_pair_id(i),))
    db.execute("PRAGMA user_version=1")
    db.close()


def facebook_pair_tree(root: Path) -> Path:
    """An Android extraction where Messenger and the Facebook app hold one mailbox each."""
    msys_mailbox(root / FB_PAIR_ORCA, FB_PAIR_ORCA_LINES)
    msys_mailbox(root / FB_PAIR_KATANA, FB_PAIR_KATANA_LINES,
                 deleted=FB_PAIR_KATANA_DELETED, benign=True)
    return root


def facebook_single_tree(root: Path) -> Path:
    """The same mailbox as one copy holding everything (what the pair must show)."""
    msys_mailbox(root / FB_PAIR_ORCA, range(1, len(RISK) + 1), benign=True)
    return root


def unknown_schema_v7(path: Path) -> None:
    """A database at another app's path with a table none of the sources knows."""
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript("CREATE TABLE messages (_id INTEGER PRIMARY KEY, blob_v7 BLOB); "
                     "PRAGMA user_version=7;")
    db.close()


ANDROID_WA_CONTACTS = "data/data/com.whatsapp/databases/wa.db"
ANDROID_SNAPCHAT = "data/data/com.snapchat.android/databases/arroyo.db"
ANDROID_SNAPCHAT_MAIN = "data/data/com.snapchat.android/databases/main.db"
ANDROID_INSTAGRAM = "data/data/com.instagram.android/databases/direct.db"
ANDROID_MESSENGER = "data/data/com.facebook.orca/databases/threads_db2"
ANDROID_MSYS = f"data/data/com.facebook.orca/databases/msys_database_{FB_OWNER}"
ANDROID_FB_MEDIA = "data/data/com.facebook.orca/cache/fb_temp/image-8120.jpg"


def android_more_tree(root: Path) -> Path:
    """An Android extraction with WhatsApp (msgstore.db and wa.db beside it), Snapchat
    (arroyo.db and main.db), Instagram (the risk-pattern conversation) and Messenger
    (threads_db2 with its uid file, and msys_database), and the picture a Messenger message
    points to."""
    for rel in (ANDROID_WA, ANDROID_SNAPCHAT, ANDROID_INSTAGRAM, ANDROID_MESSENGER,
                ANDROID_FB_MEDIA):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
    msgstore_current(root / ANDROID_WA)
    wa_db(root / ANDROID_WA_CONTACTS)
    arroyo(root / ANDROID_SNAPCHAT)
    snapchat_main(root / ANDROID_SNAPCHAT_MAIN)
    direct_db(root / ANDROID_INSTAGRAM)
    threads_db2(root / ANDROID_MESSENGER)
    msys_database(root / ANDROID_MSYS)
    picture(root / ANDROID_FB_MEDIA, 4)
    return root


if __name__ == "__main__":
    out = Path(sys.argv[1])
    android_tree(out / "android")
    ios_tree(out / "ios")
    hostile_tree(out / "hostile")
    zip_of(out / "android", out / "android.zip")
    tar_of(out / "ios", out / "ios.tar")
    android_more_tree(out / "android-more")


# --- an extraction holding the app folders as an archive (chats/stage.py `_archived`) --------


def _tar_bytes(root: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for p in _files(root):
            info = tarfile.TarInfo(p.relative_to(root).as_posix())
            info.size = p.stat().st_size
            info.mtime = KNOWN_UNIX_S
            with p.open("rb") as fh:
                tf.addfile(info, fh)
    return buffer.getvalue()


def _zip_bytes(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, (2023, 3, 14, 15, 9, 26))
            info.compress_type = method
            zf.writestr(info, data)
    return buffer.getvalue()


def tar_in_zip_of(root: Path, path: Path) -> Path:
    """A zip extraction whose one member is the tree as a tar (`android.tar`)."""
    path.write_bytes(_zip_bytes({"android.tar": _tar_bytes(root)}))
    return path


def zip_in_zip_of(root: Path, path: Path) -> Path:
    """A zip extraction holding `backup.zip`, which holds the tree as `android.tar`."""
    inner = _zip_bytes({"android.tar": _tar_bytes(root)}, zipfile.ZIP_STORED)
    path.write_bytes(_zip_bytes({"backup.zip": inner}))
    return path
