"""Each app's database, built from its real schema, read into one message shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fellwatch.chats.base import OWNER, ChatSourceError, Message
from fellwatch.chats.registry import SOURCES
from fellwatch.chats.sources.ios_sms import attributed_text
from fellwatch.chats.sqlite_image import open_in_memory, recover
from tests.chats import fixtures as fx


def _read(name: str, path: Path, wal: Path | None = None) -> tuple[str, list[Message]]:
    source = SOURCES.get(name)
    db = open_in_memory(recover(path.read_bytes(), wal.read_bytes() if wal else None))
    try:
        variant = source.variant(db)
        return variant, list(source.read(db, variant, str(path)))
    finally:
        db.close()


def _lines() -> list[fx.Line]:
    return [line for _, lines in fx.CONVERSATIONS for line in lines]


def test_whatsapp_android_current(tmp_path: Path) -> None:
    path = tmp_path / "com.whatsapp" / "msgstore.db"
    path.parent.mkdir()
    fx.msgstore_current(path)
    variant, messages = _read("whatsapp-android", path)
    assert variant == "current"
    assert len(messages) == len(_lines())  # the system row is not a message
    first = messages[0]
    assert (first.app, first.conversation, first.time, first.direction, first.sender) == (
        "WhatsApp", fx.CONTACT_A, fx.KNOWN_ISO, "received", fx.CONTACT_A)
    sent = messages[1]
    assert (sent.direction, sent.sender, sent.recipients) == ("sent", OWNER, (fx.CONTACT_A,))
    assert (sent.table, sent.rowid, sent.message_id) == ("message", 2, "3EB0000000000002")
    photo = next(m for m in messages if m.attachments)
    assert photo.attachments == ("Media/WhatsApp Images/IMG-20230314-WA0001.jpg",)
    group = [m for m in messages if m.conversation == fx.GROUP]
    assert group[0].sender == fx.CONTACT_B  # a group message names its sender, not the group


def test_whatsapp_android_legacy_and_business(tmp_path: Path) -> None:
    path = tmp_path / "com.whatsapp.w4b" / "databases" / "msgstore.db"
    path.parent.mkdir(parents=True)
    fx.msgstore_legacy(path)
    variant, messages = _read("whatsapp-android", path)
    assert variant == "legacy"
    assert len(messages) == len(_lines())  # the "-1" placeholder row is not a message
    assert {m.app for m in messages} == {"WhatsApp Business"}
    assert messages[0].time == fx.KNOWN_ISO
    assert next(m for m in messages if m.conversation == fx.GROUP).sender == fx.CONTACT_B


def test_android_sms_and_mms(tmp_path: Path) -> None:
    path = tmp_path / "mmssms.db"
    fx.mmssms(path)
    variant, messages = _read("android-sms", path)
    assert variant == "sms+mms"
    assert [m.message_id for m in messages] == ["sms:1", "sms:2", "sms:3", "mms:1"]
    assert messages[0].time == "2023-03-14T15:09:36.535Z"  # Unix ms
    mms = messages[3]
    assert mms.time == "2023-03-14T15:10:06.000Z"  # MMS pdu.date is Unix seconds
    assert (mms.sender, mms.text, mms.direction) == (fx.PHONE_A, "look at this", "received")
    assert mms.attachments[0].endswith("PART_1678806606_image.jpg")
    assert messages[2].direction == "sent" and messages[2].recipients == (fx.PHONE_A,)


@pytest.mark.parametrize("nanoseconds", [True, False])
def test_ios_sms_with_attributed_body(tmp_path: Path, nanoseconds: bool) -> None:
    path = tmp_path / "sms.db"
    fx.ios_sms(path, nanoseconds=nanoseconds)
    variant, messages = _read("ios-sms", path)
    assert variant == "ios"
    assert len(messages) == len(fx.IOS)
    expected = fx.KNOWN_ISO if nanoseconds else "2023-03-14T15:09:26.000Z"
    assert messages[0].time == expected
    assert messages[0].attachments == (fx.IOS_ATTACHMENT,)
    assert messages[0].account == "e:owner@example.org"
    assert messages[2].text == fx.IOS_ATTRIBUTED  # text NULL: read from attributedBody
    assert messages[1].direction == "sent" and messages[1].sender == OWNER


def test_attributed_body_long_and_broken() -> None:
    long = "word " * 100
    assert attributed_text(fx.typedstream(long)) == long
    assert attributed_text(b"") == ""
    assert attributed_text(b"streamtyped NSString but nothing after") == ""


def test_whatsapp_ios(tmp_path: Path) -> None:
    path = tmp_path / "ChatStorage.sqlite"
    fx.chatstorage(path)
    variant, messages = _read("whatsapp-ios", path)
    assert variant == "core-data"
    assert len(messages) == len(_lines())
    assert messages[0].time == fx.KNOWN_ISO
    assert messages[0].conversation == fx.CONTACT_A
    assert next(m for m in messages if m.conversation == fx.GROUP).sender == fx.CONTACT_B
    assert next(m for m in messages if m.attachments).attachments == (fx.IOS_WA_MEDIA,)


def test_unknown_schema_version_is_named(tmp_path: Path) -> None:
    path = tmp_path / "msgstore.db"
    fx.unknown_schema(path)
    source = SOURCES.get("whatsapp-android")
    db = open_in_memory(recover(path.read_bytes()))
    with pytest.raises(ChatSourceError, match=r"unknown schema \(user_version 999; tables: "
                                              r"jid, message_v9\)"):
        source.variant(db)
    db.close()


def test_telegram_android(tmp_path: Path) -> None:
    path = tmp_path / "cache4.db"
    fx.cache4(path)
    variant, messages = _read("telegram-android", path)
    assert variant == "messages_v2"
    assert [m.text for m in messages] == [line.text for line in fx.TELEGRAM] + [""]
    first = messages[0]
    assert first.time == "2023-03-14T16:16:06.000Z"  # Unix seconds
    assert first.sender == f"{fx.TELEGRAM_USER} (sam example;;;sam_e)"
    assert messages[1].direction == "sent" and messages[1].sender == OWNER
    assert messages[-1].message_id == "99"  # a service message: a row, with no text


def test_tl_strings() -> None:
    from fellwatch.chats.sources.telegram_android import message_text, tl_string

    assert tl_string(fx.tl_string("hi"), 0) == "hi"
    long = "x" * 300
    assert tl_string(fx.tl_string(long), 0) == long
    assert tl_string(b"\x05ab", 0) is None  # cut short
    assert message_text(None, 1) == "" and message_text(b"\0" * 16, 0) == ""


@pytest.mark.parametrize(("app", "name", "build"), [
    ("whatsapp", "whatsapp-android", fx.msgstore_current),
    ("sms", "android-sms", fx.mmssms),
    ("ios", "ios-sms", fx.ios_sms),
])
def test_deleted_records_are_recovered_from_freed_pages(
    tmp_path: Path, app: str, name: str, build: Any,
) -> None:
    from fellwatch.chats.stage import deleted_messages

    path = tmp_path / "chat.db"
    build(path)
    texts = fx.delete_some(path, app)
    source = SOURCES.get(name)
    recovered = recover(path.read_bytes())
    db = open_in_memory(recovered)
    variant = source.variant(db)
    live = list(source.read(db, variant, str(path)))
    assert not any(m.text in texts for m in live)  # really deleted
    found = list(deleted_messages(source, db, variant, str(path), recovered))
    db.close()
    assert found and all(m.deleted for m in found)
    got = {m.text for m in found}
    assert got <= set(texts)
    # Measured: all 300 (before the trunk page, freeblocks and gaps were read: 249, 252, 259);
    # one of them is in a freeblock of the page still in use, its rowid overwritten.
    assert len(got) == len(found) == len(texts)
    known = [m for m in found if m.rowid >= 0]
    assert len(known) == len(texts) - 1 and min(m.rowid for m in known) >= 5000
    assert all(m.time is not None for m in found)


@pytest.mark.parametrize(("name", "build"), [("kik-android", fx.kik_android),
                                             ("kik-ios", fx.kik_ios)])
def test_kik(tmp_path: Path, name: str, build: Any) -> None:
    path = tmp_path / "kik.db"
    build(path)
    _, messages = _read(name, path)
    assert [m.text for m in messages] == ["hi from kik", "what school do you go to", ""]
    assert messages[0].time == "2023-03-14T16:49:26.535Z"  # Unix ms and Cocoa s agree
    assert messages[1].direction == "sent" and messages[0].direction == "received"
    assert messages[2].attachments == ("f1e2d3c4.jpg",)
