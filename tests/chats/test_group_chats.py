"""Group conversations: who wrote each message, and which group it belongs to (Telegram's
TL header, Kik iOS's chats), on databases built from the apps' schemas."""

from __future__ import annotations

import struct
from pathlib import Path

from fellwatch.chats.base import OWNER, Message
from fellwatch.chats.registry import SOURCES
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

