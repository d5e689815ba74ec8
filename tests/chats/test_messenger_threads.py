"""Messenger's older store, threads_db2: its deleted records recovered like every other
source's, and a message still unsent in one app's copy matched with the other app's copy by
its offline threading id."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fellwatch.chats.base import Message
from fellwatch.chats.registry import SOURCES
from fellwatch.chats.sqlite_image import open_in_memory, recover
from fellwatch.chats.stage import with_deleted
from fellwatch.chats.store import ChatStore, SourceOutcome
from fellwatch.reports.chats import also_in
from fellwatch.web.chats.reading import thread
from tests.chats import fixtures as fx
from tests.chats.outputs import conversations_json, messages_csv, scan_findings

ORCA = "data/data/com.facebook.orca/databases/threads_db2"
KATANA = "data/data/com.facebook.katana/databases/threads_db2"
SOURCE = SOURCES.get("messenger-android")





def _read(path: Path, with_uid: bool = True) -> list[Message]:
    wal = path.with_name(path.name + "-wal")
    recovered = recover(path.read_bytes(), wal.read_bytes() if wal.exists() else None)
    companions = {"threads_db2-uid": path.with_name("threads_db2-uid").read_bytes()} \
        if with_uid else {}
    db = open_in_memory(recovered)
    try:
        variant = SOURCE.variant(db)
        return list(with_deleted(SOURCE, db, variant, str(path), recovered,
                                 live=SOURCE.read_with(db, variant, str(path), companions),
                                 companions=companions))
    finally:
        db.close()


def test_deleted_records_in_freed_pages_and_a_wal_frame_are_recovered_once(
        tmp_path: Path) -> None:
    path = tmp_path / ORCA
    texts = fx.threads_db2_deleted(path)
    messages = _read(path)
    live = [m for m in messages if not m.deleted]
    deleted = [m for m in messages if m.deleted]
    assert sorted(m.text for m in live) == sorted(
        [line.text for line in fx.FB] + texts["kept"])
    # Every deleted message, each once, and nothing that was not deleted.
    assert sorted(m.text for m in deleted) == sorted(texts["freed"] + texts["wal"])
    assert not {m.text for m in live} & {m.text for m in deleted}
    assert len({m.message_id for m in messages}) == len(messages)
    by_text = {m.text: m for m in deleted}
    pages = len(path.read_bytes()) // 4096 + 4  # the file's pages and the WAL's
    lost = 0
    for i, text in enumerate(texts["freed"]):
        found = by_text[text]
        # Where it came from: the table and the rowid it had (a freed page's cells keep it),
        # or, where a freelist trunk or freeblock header overwrote the rowid, the page and
        # offset it was found at, as -(page x 65536 + offset).
        assert (found.table, found.message_id) == ("messages", f"mid.$del{i:05d}")
        if found.rowid < 0:
            lost += 1
            assert 1 < -found.rowid // 65536 <= pages
        else:
            assert found.rowid == 1000 + i
        # The account from threads_db2-uid: the direction is told for deleted records too.
        assert found.account == fx.FB_OWNER
        assert found.direction == ("sent" if i % 2 else "received")
        assert found.sender == ("(device owner)" if i % 2 else f"{fx.FB_CONTACT} (Alex Baker)")
        assert found.offline_id == str(6_800_000_000_000_000_000 + i)
        assert found.time is not None and found.time.startswith("2023-03-15T")
    assert lost <= 2  # nearly every record keeps its rowid
    # Only the older WAL frame keeps these (deleted with secure_delete on).
    assert sorted(by_text[t].rowid for t in texts["wal"]) == [6, 8, 10]


def test_without_the_uid_file_deleted_records_are_received_from_their_sender(
        tmp_path: Path) -> None:
    path = tmp_path / ORCA
    texts = fx.threads_db2_deleted(path)
    deleted = [m for m in _read(path, with_uid=False) if m.deleted]
    assert sorted(m.text for m in deleted) == sorted(texts["freed"] + texts["wal"])
    assert {(m.account, m.direction) for m in deleted} == {("", "received")}
    assert SOURCE.copy_key(deleted[0]) is None and SOURCE.offline_key(deleted[0]) is None


def test_a_scan_shows_them_marked_counted_alike_and_reruns_identically(tmp_path: Path) -> None:
    phone = tmp_path / "phone"
    texts = fx.threads_db2_deleted(phone / ORCA)
    before = sorted((p.relative_to(phone), p.read_bytes()) for p in phone.rglob("*")
                    if p.is_file())
    outputs = []
    for run in ("a", "b"):
        out = tmp_path / run
        findings = scan_findings(phone, out)
        rows = messages_csv(out)
        doc = conversations_json(out)
        total = len(fx.FB) + len(texts["kept"]) + len(texts["freed"]) + len(texts["wal"])
        assert findings["summary"]["messages"] == len(rows) == total
        assert sum(c["messages"] for c in doc["conversations"]) == total
        assert sum(s["messages"] - s["copies"] for s in doc["sources"]) == total
        deleted = [r for r in rows if r["deleted"] == "True"]
        assert sorted(r["text"] for r in deleted) == sorted(texts["freed"] + texts["wal"])
        assert {(r["source_path"], r["source_table"]) for r in deleted} == {
            ("/" + ORCA, "messages")}
        outputs.append(((out / "findings.json").read_bytes(),
                        (out / "messages.csv").read_bytes(),
                        (out / "conversations.json").read_bytes()))
    assert outputs[0] == outputs[1]
    # The evidence is as it was: nothing written beside the database.
    assert sorted((p.relative_to(phone), p.read_bytes()) for p in phone.rglob("*")
                  if p.is_file()) == before


def test_a_message_unsent_in_one_copy_is_matched_by_its_offline_id(tmp_path: Path) -> None:
    """Messenger's copy holds line 2 without a server id yet (sent while offline); the
    Facebook app's copy has it with the server's id. Same account, same thread, same offline
    threading id: shown once, as the copy with the server's id, naming the other."""
    tree = tmp_path / "android"
    for rel, unsent in ((ORCA, (2,)), (KATANA, ())):
        (tree / rel).parent.mkdir(parents=True)
        fx.threads_db2(tree / rel, unsent=unsent)
    outputs = []
    for run in ("a", "b"):
        out = tmp_path / run
        findings = scan_findings(tree, out)
        rows = messages_csv(out)
        assert findings["summary"]["messages"] == len(rows) == len(fx.FB)
        assert sorted(r["message_id"] for r in rows) == [fx.fb_message_id(i)
                                                         for i in (1, 2, 3)]
        (row,) = [r for r in rows if r["message_id"] == fx.fb_message_id(2)]
        assert row["source_path"] == "/" + KATANA and row["text"] == fx.FB[1].text
        assert row["also_in"] == f"/{ORCA} (messages rowid 2)"
        (conversation,) = conversations_json(out)["conversations"]
        assert conversation["messages"] == len(fx.FB)
        sources = conversations_json(out)["sources"]
        assert sum(s["messages"] - s["copies"] for s in sources) == len(fx.FB)
        # The thread page of the web app: the same messages, the kept copy naming the other.
        store = ChatStore.open_finished(out / "scan.sqlite")
        assert store is not None
        try:
            (ranked,) = store.conversations(with_rank=True)
            page = thread(store, ranked)
        finally:
            store.close()
        assert [m.text for m in page] == [line.text for line in fx.FB]
        (shared,) = [m for m in page if m.text == fx.FB[1].text]
        assert [c["path"] for c in shared.also_in] == ["/" + ORCA]
        outputs.append(tuple((out / n).read_bytes() for n in
                             ("findings.json", "messages.csv", "conversations.json")))
    assert outputs[0] == outputs[1]


def test_an_msys_message_unsent_in_one_copy_is_matched_by_its_offline_id(
        tmp_path: Path) -> None:
    """The same in the MSYS mailbox, where an unsent message's `message_id` is its offline
    threading id (the column is NOT NULL): Messenger's copy has line 3 unsent."""
    tree = tmp_path / "android"
    fx.msys_mailbox(tree / fx.FB_PAIR_ORCA, (1, 2, 3), unsent=(3,))
    fx.msys_mailbox(tree / fx.FB_PAIR_KATANA, (1, 2, 3))
    findings = scan_findings(tree, tmp_path / "out")
    rows = messages_csv(tmp_path / "out")
    assert findings["summary"]["messages"] == len(rows) == 3
    assert sorted(r["message_id"] for r in rows) == [fx.fb_pair_id(i) for i in (1, 2, 3)]
    (row,) = [r for r in rows if r["message_id"] == fx.fb_pair_id(3)]
    assert row["source_path"] == "/" + fx.FB_PAIR_KATANA
    assert row["also_in"] == f"/{fx.FB_PAIR_ORCA} (messages rowid 3)"


def test_without_the_offline_id_the_unsent_copy_stays_apart(tmp_path: Path) -> None:
    """The same pair with the offline threading ids cleared: nothing ties the unsent message
    to its sent copy (never the rowid), so it is shown twice, as the app keeps it."""
    import sqlite3

    tree = tmp_path / "android"
    for rel, unsent in ((ORCA, (2,)), (KATANA, ())):
        (tree / rel).parent.mkdir(parents=True)
        fx.threads_db2(tree / rel, unsent=unsent)
        db = sqlite3.connect(tree / rel)
        db.execute("UPDATE messages SET offline_threading_id = NULL")
        db.commit()
        db.close()
    findings = scan_findings(tree, tmp_path / "out")
    rows = messages_csv(tmp_path / "out")
    assert findings["summary"]["messages"] == len(rows) == len(fx.FB) + 1
    assert [r["source_path"] for r in rows if r["text"] == fx.FB[1].text] == [
        "/" + KATANA, "/" + ORCA]


# --- the store's choice, on messages given directly ----------------------------------------


def _message(rowid: int, account: str, offline: str = "", server: str = "",
             conversation: str = "c", deleted: bool = False) -> Message:
    return Message(app="Messenger", account=account, conversation=conversation,
                   message_id=server or str(rowid), time=f"2023-03-14T10:00:{rowid:02d}.000Z",
                   direction="received", sender="200", recipients=("(device owner)",),
                   text=f"text {rowid}", table="messages", rowid=rowid, deleted=deleted,
                   offline_id=offline)


def _store(path: Path, order: list[str], held: dict[str, tuple[str, list[Message]]]) -> list[
        tuple[Any, ...]]:
    store = ChatStore(path)
    try:
        for name in order:
            db_path, messages = held[name]
            store.commit_source(0, name, SourceOutcome(db_path, True, SOURCE.name,
                                                       "threads_db2"),
                                [(m, []) for m in messages], SOURCE.copy_key,
                                SOURCE.offline_key)
        store.merge_copies()
        return sorted((r["source_key"], r["source_rowid"], also_in(r["copies"]))
                      for r in store.messages_by_time())
    finally:
        store.close()


def test_offline_ids_join_only_the_same_account_and_thread_and_never_override_server_ids(
        tmp_path: Path) -> None:
    held = {
        "k/1": ("/a/threads_db2", [
            _message(1, "1", offline="o1"),  # unsent; sent in /b: joined to /b's
            _message(2, "1", offline="o2"),  # unsent; /b's is in another thread
            _message(3, "1", offline="o3"),  # unsent in both: joined on the offline id
            _message(4, "1", offline="o4", server="mid.$4"),  # two server ids: apart
            _message(5, "1"),  # no offline id, no server id: never matched on its rowid
            _message(6, "1", offline="o6", server="mid.$6"),  # the server id decides
        ]),
        "k/2": ("/b/threads_db2", [
            _message(11, "1", offline="o1", server="mid.$1"),
            _message(12, "1", offline="o2", conversation="d"),
            _message(13, "1", offline="o3"),
            _message(14, "1", offline="o4", server="mid.$14"),
            _message(5, "1"),
            _message(16, "1", offline="o6", server="mid.$6"),
        ]),
        "k/3": ("/c/threads_db2", [_message(21, "2", offline="o1")]),  # another account
    }
    shown = _store(tmp_path / "one.sqlite", ["k/1", "k/2", "k/3"], held)
    assert shown == _store(tmp_path / "two.sqlite", ["k/3", "k/2", "k/1"], held)
    assert shown == [
        ("k/1", 2, ""), ("k/1", 3, "/b/threads_db2 (messages rowid 13)"), ("k/1", 4, ""),
        ("k/1", 5, ""), ("k/1", 6, "/b/threads_db2 (messages rowid 16)"),
        ("k/2", 5, ""),
        # the copy with the server's id is kept, though /a's path comes first
        ("k/2", 11, "/a/threads_db2 (messages rowid 1)"),
        ("k/2", 12, ""), ("k/2", 14, ""),
        ("k/3", 21, "")]


def test_a_live_unsent_copy_is_kept_before_a_deleted_sent_one(tmp_path: Path) -> None:
    held = {
        "k/1": ("/a/threads_db2", [_message(1, "1", offline="o1")]),
        "k/2": ("/b/threads_db2", [_message(-70000, "1", offline="o1", server="mid.$1",
                                            deleted=True)]),
    }
    assert _store(tmp_path / "s.sqlite", ["k/2", "k/1"], held) == [
        ("k/1", 1, "/b/threads_db2 (messages rowid -70000, deleted record)")]
