"""Group conversations: who wrote each message, and which group it belongs to (Telegram's
TL header, Kik iOS's chats), on databases built from the apps' schemas; and Instagram's MSYS
store, which is deliberately not read (docs/chats.md, *Instagram*)."""

from __future__ import annotations

import sqlite3
import struct
from pathlib import Path

from fellwatch.chats.base import OWNER, Message
from fellwatch.chats.registry import SOURCES, for_path
from fellwatch.chats.sources.telegram_android import group_sender, tl_peer
from fellwatch.chats.sqlite_image import open_in_memory, recover
from tests.chats import fixtures as fx


def _read(name: str, path: Path) -> list[Message]:
    source = SOURCES.get(name)
    db = open_in_memory(recover(path.read_bytes()))
    try:
        return list(source.read(db, source.variant(db), str(path)))
    finally:
        db.close()


def test_telegram_group_names_each_sender(tmp_path: Path) -> None:
    path = tmp_path / "cache4.db"
    fx.cache4_group(path)
    messages = _read("telegram-android", path)
    group = f"-{fx.TELEGRAM_CHAT}"
    assert {m.conversation for m in messages} == {group}
    assert [m.text for m in messages] == [text for _, _, _, text in fx.TELEGRAM_GROUP]
    alex = f"{fx.TELEGRAM_ALEX} (alex example;;;alex_e)"
    jo = f"{fx.TELEGRAM_JO} (jo example;;;jo_e)"
    shown = f"{group} (football parents)"
    # Layers 190, 123 and 104 each give their sender; the old layout falls back to the group.
    assert [m.sender for m in messages] == [alex, jo, OWNER, alex, shown]
    assert messages[2].direction == "sent" and messages[2].recipients == (shown,)
    assert all(m.recipients == (OWNER,) for m in messages if m.direction == "received")
    assert messages[0].time == "2023-03-14T16:21:06.000Z"  # KNOWN_UNIX_S + 4300 s


def test_telegram_group_sender_of_a_deleted_record(tmp_path: Path) -> None:
    path = tmp_path / "cache4.db"
    fx.cache4_group(path)
    source = SOURCES.get("telegram-android")
    db = open_in_memory(recover(path.read_bytes()))
    date = fx.KNOWN_UNIX_S + 9000
    row: dict[str, object] = {
        "mid": 200, "uid": -fx.TELEGRAM_CHAT, "date": date, "out": 0,
        "data": fx.tl_group_message(190, 200, fx.TELEGRAM_JO, fx.TELEGRAM_CHAT, date,
                                    "pitch is booked", False)}
    found = source.from_deleted(db, source.variant(db), str(path), row, -70000)
    db.close()
    assert found is not None and found.deleted
    assert (found.sender, found.text) == (f"{fx.TELEGRAM_JO} (jo example;;;jo_e)",
                                          "pitch is booked")


def test_telegram_group_sender_reads_only_a_header_that_checks_out() -> None:
    chat, mid, user, date = fx.TELEGRAM_CHAT, 7, fx.TELEGRAM_ALEX, fx.KNOWN_UNIX_S
    blob = fx.tl_group_message(190, mid, user, chat, date, "hello", False)
    assert group_sender(blob, mid, -chat) == user
    assert group_sender(blob, mid + 1, -chat) is None  # the id is not the row's mid
    assert group_sender(blob, mid, -chat - 1) is None  # peer_id is not the row's dialog
    assert group_sender(blob, mid, user) is None  # a one-to-one dialog: not read
    assert group_sender(blob[:20], mid, -chat) is None  # cut short
    assert group_sender(b"", mid, -chat) is None and group_sender(None, mid, -chat) is None
    # A supergroup (peerChannel) with from_boosts_applied (flags bit 29) before peer_id.
    flags = 0x100 | (1 << 29)
    channel = (struct.pack("<IIIi", fx.TL_MESSAGE, flags, 0, mid)
               + struct.pack("<Iq", fx.TL_PEER_USER, user) + struct.pack("<i", 3)
               + struct.pack("<Iq", 0xA2A5371E, 1_700_000_000_001) + struct.pack("<i", date))
    assert group_sender(channel, mid, -1_700_000_000_001) == user
    # A channel posting as itself: the sender is that channel's dialog id.
    assert tl_peer(struct.pack("<Iq", 0xA2A5371E, 42), 0) == (-42, 12)
    assert tl_peer(struct.pack("<Iq", 0x12345678, 42), 0) is None
    assert tl_peer(struct.pack("<Ii", fx.TL_PEER_USER_32, -5), 0) is None  # not an id


def test_kik_ios_group_chat_is_keyed_by_the_group(tmp_path: Path) -> None:
    path = tmp_path / "kik.sqlite"
    fx.kik_ios_group(path)
    messages = _read("kik-ios", path)
    assert [m.text for m in messages] == [line[4] for line in fx.KIK_IOS_GROUP]
    group = [m for m in messages if m.conversation == fx.KIK_GROUP_JID]
    private = [m for m in messages if m.conversation == fx.KIK_USER]
    assert len(group) == 4 and len(private) == 2  # Sam's group messages stay in the group
    assert [m.sender for m in group] == [fx.KIK_USER, fx.KIK_JO, OWNER, fx.KIK_GROUP_JID]
    assert group[2].direction == "sent" and group[2].recipients == (fx.KIK_GROUP_JID,)
    assert [m.direction for m in private] == ["received", "sent"]
    assert private[1].recipients == (fx.KIK_USER,)
    assert group[0].time == "2023-03-14T17:06:06.535Z"  # Cocoa seconds, KNOWN + 7000 s


def test_kik_ios_group_of_a_deleted_record(tmp_path: Path) -> None:
    path = tmp_path / "kik.sqlite"
    fx.kik_ios_group(path)
    source = SOURCES.get("kik-ios")
    db = open_in_memory(recover(path.read_bytes()))
    variant = source.variant(db)
    row: dict[str, object] = {"zbody": "bring a pen", "ztimestamp": fx.KNOWN_COCOA_S + 8000,
                              "ztype": 4, "zuser": 2}
    # Its join row still there (rowid 2 is joined to the group): keyed by the group.
    joined = source.from_deleted(db, variant, str(path), row, 2)
    # Its rowid overwritten: the join cannot be asked, so keyed by the user as before.
    lost = source.from_deleted(db, variant, str(path), row, -70000)
    db.close()
    assert joined is not None and lost is not None and joined.deleted
    assert (joined.conversation, joined.sender) == (fx.KIK_GROUP_JID, fx.KIK_JO)
    assert (lost.conversation, lost.sender) == (fx.KIK_JO, fx.KIK_JO)


def test_kik_ios_without_a_group_or_a_link_keeps_the_user(tmp_path: Path) -> None:
    path = tmp_path / "kik.sqlite"
    fx.kik_ios(path)  # a ZCHAT column, its one chat with Sam: no group
    assert {m.conversation for m in _read("kik-ios", path)} == {fx.KIK_USER}
    other = tmp_path / "two-joins.sqlite"
    fx.kik_ios_group(other)
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE Z_9MESSAGES (Z_9CHAT INTEGER, Z_5MESSAGES INTEGER)")
    db.commit()
    db.close()
    # Two join tables of chats and messages: not told apart, so none is read; the messages
    # whose ZUSER is the group (no username) are then left out, as before.
    messages = _read("kik-ios", other)
    assert {m.conversation for m in messages} == {fx.KIK_USER, fx.KIK_JO}
    assert len(messages) == 4


def test_instagram_msys_store_is_not_taken_for_messengers() -> None:
    base = "/data/data/com.instagram.android/databases/"
    assert for_path(base + "ig_msys_database_17841400000000001") == []
    assert for_path(base + "ig_msys_database_17841400000000001", deleted=True) == []
    # Messenger's own store beside it still is.
    assert [s.name for s in for_path(base + "msys_database_1")] == ["messenger-msys"]
