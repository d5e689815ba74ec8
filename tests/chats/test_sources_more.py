"""The Snapchat, Instagram and Messenger sources, and WhatsApp's names from wa.db: each read
from a database built from its app's schema, then through a whole scan of an extraction."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fellwatch.chats import protobuf
from fellwatch.chats.base import OWNER, ChatSourceError, Message
from fellwatch.chats.registry import SOURCES, for_path
from fellwatch.chats.sources.snapchat_android import message_text, participants
from fellwatch.chats.sqlite_image import open_in_memory, recover
from tests.chats import fixtures as fx
from tests.chats.outputs import messages_csv, scan_findings


def _read(name: str, path: Path, companions: dict[str, bytes] | None = None,
          ) -> tuple[str, list[Message]]:
    source = SOURCES.get(name)
    db = open_in_memory(recover(path.read_bytes()))
    try:
        variant = source.variant(db)
        return variant, list(source.read_with(db, variant, str(path), companions or {}))
    finally:
        db.close()


def test_unix_microseconds() -> None:
    from fellwatch.chats.epochs import unix_us

    assert unix_us(fx.KNOWN_UNIX_MS * 1000) == fx.KNOWN_ISO
    assert unix_us(0) is None and unix_us("x") is None


def test_snapchat_arroyo(tmp_path: Path) -> None:
    path = tmp_path / "com.snapchat.android" / "databases" / "arroyo.db"
    path.parent.mkdir(parents=True)
    fx.arroyo(path)
    variant, messages = _read("snapchat-android", path)
    assert variant == "arroyo"
    assert [m.text for m in messages] == [text or "" for _, _, _, text in fx.SNAP]
    first = messages[0]
    assert (first.app, first.conversation, first.time, first.direction, first.sender) == (
        "Snapchat", fx.SNAP_CHAT, "2023-03-14T17:06:06.535Z", "received", fx.SNAP_FRIEND)
    assert first.recipients == (OWNER,)
    assert (first.message_id, first.table, first.account) == (
        "1001", "conversation_message", fx.SNAP_OWNER)
    sent = messages[1]
    # The owner is the one sender of rows written on this device; the recipients come from
    # the conversation's metadata protobuf.
    assert (sent.direction, sent.sender, sent.recipients) == ("sent", OWNER, (fx.SNAP_FRIEND,))
    assert messages[2].text == "" and messages[2].direction == "received"  # a snap: no text
    assert messages[3].text == "great ✓ see you there"


def test_snapchat_names_from_main_db(tmp_path: Path) -> None:
    fx.snapchat_main(tmp_path / "main.db")
    names = SOURCES.get("snapchat-android").contact_names(
        {"main.db": (tmp_path / "main.db").read_bytes()})
    assert names == {fx.SNAP_OWNER: "owner_snap", fx.SNAP_FRIEND: fx.SNAP_FRIEND_USERNAME}


def test_protobuf_reader_is_bounded_and_never_raises() -> None:
    content = fx.snap_content(fx.SNAP_FRIEND, fx.SNAP_CHAT, 1, "hello", fx.KNOWN_UNIX_MS)
    assert message_text(content, 1) == "hello"
    assert message_text(content, 2) == ""  # only text messages carry text
    assert message_text(content[:-9], 1) == ""  # cut short: not a message
    assert message_text(b"\xff" * 11, 1) == ""  # a varint longer than ten bytes
    assert message_text(fx.pb(4, fx.pb(4, fx.pb(2, fx.pb(1, b"\xff\xfe")))), 1) == ""
    assert protobuf.first(fx.pb(1, 5) + fx.pb(3, b"x"), 3) == b"x"
    assert protobuf.first(b"\x0b", 1) is None  # wire type 3 (a group): refused
    assert participants(b"\x1a\x02\x0a") == [] and participants(None) == []


def test_instagram_direct(tmp_path: Path) -> None:
    path = tmp_path / "direct.db"
    fx.direct_db(path)
    variant, messages = _read("instagram-android", path)
    assert variant == "direct"
    assert [m.text for m in messages] == [line.text for line in fx.RISK]  # no call event
    first = messages[0]
    assert first.time == fx.KNOWN_ISO  # Unix microseconds
    contact = f"{fx.IG_CONTACT} ({fx.IG_USERNAME})"
    assert (first.conversation, first.direction, first.sender, first.recipients) == (
        fx.IG_THREAD, "received", contact, (OWNER,))
    assert first.account == fx.IG_OWNER and first.message_id == "2903000000000000001"
    sent = messages[1]
    assert (sent.direction, sent.sender, sent.recipients) == ("sent", OWNER, (contact,))
    assert sent.time == "2023-03-14T15:10:26.535Z"


def test_messenger_threads_db2(tmp_path: Path) -> None:
    path = tmp_path / "threads_db2"
    fx.threads_db2(path)
    uid = {"threads_db2-uid": (tmp_path / "threads_db2-uid").read_bytes()}
    variant, messages = _read("messenger-android", path, uid)
    assert variant == "threads_db2"
    assert [m.text for m in messages] == [line.text for line in fx.FB]  # no call record
    first = messages[0]
    assert (first.conversation, first.time, first.direction, first.sender) == (
        fx.FB_THREAD, "2023-03-14T17:22:46.535Z", "received", f"{fx.FB_CONTACT} (Alex Baker)")
    assert (first.message_id, first.account) == ("mid.$cAAB00000001", fx.FB_OWNER)
    assert (messages[1].direction, messages[1].sender) == ("sent", OWNER)
    assert messages[2].attachments == ("image-8120.jpg",)
    # Without threads_db2-uid the owner is unknown: nothing is called sent.
    _, alone = _read("messenger-android", path)
    assert {m.direction for m in alone} == {"received"}
    assert alone[1].sender == f"{fx.FB_OWNER} (Pat Owner)"


def test_messenger_msys(tmp_path: Path) -> None:
    path = tmp_path / f"msys_database_{fx.FB_OWNER}"
    fx.msys_database(path)
    variant, messages = _read("messenger-msys", path)
    assert variant == "msys"
    assert [m.text for m in messages] == [line.text for line in fx.MSYS]  # no admin message
    first, sent = messages
    contact = f"{fx.FB_CONTACT} (Alex Baker)"
    assert (first.conversation, first.time, first.direction, first.sender) == (
        fx.FB_CONTACT, "2023-03-14T17:39:26.535Z", "received", contact)
    assert (sent.direction, sent.sender, sent.recipients) == ("sent", OWNER, (contact,))
    assert first.account == fx.FB_OWNER and first.message_id == "mid.$msys0001"
    # A copy whose file name carries no id: the one contact of friendship_status 0.
    other = tmp_path / "msys_database_copy"
    other.write_bytes(path.read_bytes())
    _, again = _read("messenger-msys", other)
    assert [m.direction for m in again] == ["received", "sent"]


def test_whatsapp_names_from_wa_db(tmp_path: Path) -> None:
    path = tmp_path / "wa.db"
    fx.wa_db(path)
    names = SOURCES.get("whatsapp-android").contact_names({"wa.db": path.read_bytes()})
    # display_name first, else the wa_name the contact chose; a JID listed twice: first row.
    assert names == {fx.CONTACT_A: "sam", fx.CONTACT_B: "Mum", fx.GROUP: "Saturday Football"}
    assert SOURCES.get("whatsapp-android").contact_names({"wa.db": b"not sqlite"}) == {}
    fx.unknown_schema_v7(tmp_path / "other.db")
    assert SOURCES.get("whatsapp-android").contact_names(
        {"wa.db": (tmp_path / "other.db").read_bytes()}) == {}


def test_wa_db_names_only_in_its_wal_are_read(tmp_path: Path) -> None:
    import shutil
    import sqlite3

    work = tmp_path / "work"
    work.mkdir()
    db = sqlite3.connect(work / "wa.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.executescript(fx.WA_CONTACTS_SQL)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("INSERT INTO wa_contacts (jid, is_whatsapp_user, display_name) VALUES (?, 1, ?)",
               (fx.CONTACT_A, "Only In The WAL"))
    # Copied while open: closing would checkpoint the WAL into the file.
    shutil.copyfile(work / "wa.db", tmp_path / "wa.db")
    shutil.copyfile(work / "wa.db-wal", tmp_path / "wa.db-wal")
    db.close()
    source = SOURCES.get("whatsapp-android")
    main = (tmp_path / "wa.db").read_bytes()
    assert source.contact_names({"wa.db": main}) == {}
    assert source.contact_names({"wa.db": main, "wa.db-wal": (tmp_path / "wa.db-wal").read_bytes()}
                                ) == {fx.CONTACT_A: "Only In The WAL"}


@pytest.mark.parametrize(("name", "where"), [
    ("snapchat-android", "data/com.snapchat.android/databases/arroyo.db"),
    ("instagram-android", "data/com.instagram.android/databases/direct.db"),
    ("messenger-android", "data/com.facebook.orca/databases/threads_db2"),
    ("messenger-msys", "data/com.facebook.orca/databases/msys_database_1"),
])
def test_unknown_schema_is_named(tmp_path: Path, name: str, where: str) -> None:
    path = tmp_path / where
    path.parent.mkdir(parents=True)
    fx.unknown_schema_v7(path)
    assert [s.name for s in for_path("/" + where)] == [name]
    source = SOURCES.get(name)
    db = open_in_memory(recover(path.read_bytes()))
    with pytest.raises(ChatSourceError, match=rf"^{name}: unknown schema \(user_version 7; "
                                              r"tables: messages\); known: "):
        source.variant(db)
    db.close()


def test_paths_of_the_new_sources() -> None:
    base = "/data/data/com.facebook.orca/databases/"
    assert [s.name for s in for_path(base + "msys_database_100")] == ["messenger-msys"]
    assert for_path(base + "msys_database_100-shm") == []
    assert for_path(base + "threads_db2-uid") == []
    assert for_path("/data/data/com.whatsapp/databases/wa.db") == []  # names, not messages


# --- through a whole scan ------------------------------------------------------------------




@pytest.fixture(scope="module")
def more_scan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    tree = fx.android_more_tree(tmp_path_factory.mktemp("more") / "android")
    out = tmp_path_factory.mktemp("more-scan") / "out"
    return tree, out, scan_findings(tree, out)


def test_every_new_app_on_the_timeline(more_scan: tuple[Path, Path, dict]) -> None:
    _, out, findings = more_scan
    rows = messages_csv(out)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["app"]] = counts.get(row["app"], 0) + 1
    assert counts == {
        "WhatsApp": sum(len(lines) for _, lines in fx.CONVERSATIONS),
        "Snapchat": len(fx.SNAP), "Instagram": len(fx.RISK),
        "Messenger": len(fx.FB) + len(fx.MSYS)}
    assert findings["summary"]["messages"] == len(rows)
    photo = next(r for r in rows if r["attachments"] == "image-8120.jpg")
    assert photo["attachment_items"] == "/" + fx.ANDROID_FB_MEDIA
    doc = json.loads((out / "conversations.json").read_text())
    modules = {s["source"] for s in doc["sources"]}
    assert modules == {"whatsapp-android", "snapchat-android", "instagram-android",
                       "messenger-android", "messenger-msys"}
    assert not [i for i in findings["items"] if i["error"]]  # wa.db and the uid file: no errors


def test_companion_names_reach_the_conversations(more_scan: tuple[Path, Path, dict]) -> None:
    _, out, _ = more_scan
    doc = json.loads((out / "conversations.json").read_text())
    wa = {c["conversation"]: c for c in doc["conversations"] if c["app"] == "WhatsApp"}
    assert wa[fx.CONTACT_A]["participants"] == [f"{fx.CONTACT_A} (sam)"]
    assert wa[fx.CONTACT_B]["participants"] == [f"{fx.CONTACT_B} (Mum)"]
    assert f"{fx.GROUP} (Saturday Football)" in wa[fx.GROUP]["participants"]
    age = next(i for i in wa[fx.CONTACT_A]["indicators"] if i["rule"] == "age-stated")
    assert age["sender"] == f"{fx.CONTACT_A} (sam)"
    snap = next(c for c in doc["conversations"] if c["app"] == "Snapchat")
    assert snap["participants"] == [f"{fx.SNAP_FRIEND} ({fx.SNAP_FRIEND_USERNAME})"]


def test_the_instagram_risk_conversation_is_flagged(more_scan: tuple[Path, Path, dict]) -> None:
    _, out, _ = more_scan
    doc = json.loads((out / "conversations.json").read_text())
    flagged = [(c["app"], c["conversation"]) for c in doc["conversations"] if c["flagged"]]
    assert sorted(flagged) == [("Instagram", fx.IG_THREAD), ("WhatsApp", fx.CONTACT_A)]
    ig = next(c for c in doc["conversations"] if c["app"] == "Instagram")
    rules = {i["rule"] for i in ig["indicators"]}
    assert {"age-asked", "age-stated", "secrecy", "image-request", "meeting"} <= rules
    benign = [c for c in doc["conversations"] if c["app"] in ("Snapchat", "Messenger")]
    assert len(benign) == 3 and not any(c["flagged"] for c in benign)


def test_the_new_sources_rerun_byte_identical(more_scan: tuple[Path, Path, dict],
                                              tmp_path: Path) -> None:
    tree, first, _ = more_scan
    scan_findings(tree, tmp_path / "again")
    for name in ("findings.json", "messages.csv", "conversations.json"):
        assert (first / name).read_bytes() == (tmp_path / "again" / name).read_bytes(), name
