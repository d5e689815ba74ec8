"""One Messenger mailbox kept by both Messenger and the Facebook app: every message once,
its provenance naming both databases, the ranking what one copy gives, the kept copy chosen
the same whatever the order read, and no deleted record standing in for the other copy's
live message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fellwatch.chats.base import Message
from fellwatch.chats.registry import SOURCES
from fellwatch.chats.sqlite_image import open_in_memory, recover
from fellwatch.chats.stage import with_deleted
from fellwatch.chats.store import ChatStore, SourceOutcome
from fellwatch.reports.chats import also_in
from fellwatch.web.chats.reading import thread
from tests.chats import fixtures as fx
from tests.chats.outputs import conversations_json, messages_csv, scan_findings

ORCA = "/" + fx.FB_PAIR_ORCA
KATANA = "/" + fx.FB_PAIR_KATANA





@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Any]]:
    tree = fx.facebook_pair_tree(tmp_path_factory.mktemp("pair") / "android")
    out = tmp_path_factory.mktemp("pair-scan") / "out"
    return tree, out, scan_findings(tree, out)


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    tree = fx.facebook_single_tree(tmp_path_factory.mktemp("single") / "android")
    out = tmp_path_factory.mktemp("single-scan") / "out"
    return out, scan_findings(tree, out)


def test_the_fixture_holds_overlapping_copies_and_a_deleted_record(
        pair: tuple[Path, Path, dict[str, Any]]) -> None:
    """What the merge is tested on: each copy read alone has the lines it was built with, and
    the Facebook app's copy gives line 2 as a recovered deleted record."""
    tree, _, _ = pair
    source = SOURCES.get("messenger-msys")
    read: dict[str, list[Message]] = {}
    for rel in (fx.FB_PAIR_ORCA, fx.FB_PAIR_KATANA):
        path = tree / rel
        recovered = recover(path.read_bytes())
        db = open_in_memory(recovered)
        read[rel] = list(with_deleted(source, db, source.variant(db), str(path), recovered))
        db.close()
    risk = {fx.fb_pair_id(i) for i in range(1, len(fx.RISK) + 1)}
    orca = {m.message_id for m in read[fx.FB_PAIR_ORCA]}
    katana = {m.message_id: m for m in read[fx.FB_PAIR_KATANA]}
    assert orca == {fx.fb_pair_id(i) for i in fx.FB_PAIR_ORCA_LINES}
    assert set(katana) & risk == {fx.fb_pair_id(i) for i in
                                  fx.FB_PAIR_KATANA_LINES + fx.FB_PAIR_KATANA_DELETED}
    assert katana[fx.fb_pair_id(2)].deleted and not katana[fx.fb_pair_id(4)].deleted
    assert orca & set(katana) == {fx.fb_pair_id(i) for i in (2, 4, 5, 6, 7)}


def test_a_message_both_apps_hold_is_counted_once(
        pair: tuple[Path, Path, dict[str, Any]]) -> None:
    _, out, findings = pair
    rows = messages_csv(out)
    ids = [r["message_id"] for r in rows]
    assert sorted(ids) == sorted([fx.fb_pair_id(i) for i in range(1, len(fx.RISK) + 1)]
                                 + ["mid.$benign0001", "mid.$benign0002"])
    # Every output gives the same count: the timeline, the summary, the conversations, and
    # the databases' own counts less the copies shown under the other database.
    doc = conversations_json(out)
    assert findings["summary"]["messages"] == len(rows) == 12
    assert sum(c["messages"] for c in doc["conversations"]) == len(rows)
    by_path = {s["path"]: s for s in doc["sources"]}
    assert {p: (s["messages"], s["copies"]) for p, s in by_path.items()} == {
        ORCA: (7, 4), KATANA: (10, 1)}  # 7 + 10 read, 5 of them copies of the other's
    assert sum(s["messages"] - s["copies"] for s in doc["sources"]) == len(rows)
    assert findings["summary"]["conversations"] == len(doc["conversations"]) == 2
    # A thread split between the copies is one conversation, listed under one database.
    risk = next(c for c in doc["conversations"] if c["conversation"] == fx.FB_CONTACT)
    assert risk["messages"] == len(fx.RISK)
    assert risk["source"]["path"] == KATANA  # a live file each: the first path
    assert [o["path"] for o in risk["also_in"]] == [ORCA]
    benign = next(c for c in doc["conversations"] if c["conversation"] == fx.FB_PAIR_OTHER)
    assert benign["messages"] == 2 and benign["also_in"] == []  # only the Facebook app's


def test_provenance_lists_both_databases(pair: tuple[Path, Path, dict[str, Any]]) -> None:
    _, out, _ = pair
    rows = {r["message_id"]: r for r in messages_csv(out)}
    for i in (4, 5, 6, 7):  # in both: the Facebook app's copy (first path) kept
        row = rows[fx.fb_pair_id(i)]
        assert row["source_path"] == KATANA and row["deleted"] == "False"
        assert row["also_in"] == f"{ORCA} (messages rowid {i})"
    for i in (1, 3):  # Messenger's only
        assert (rows[fx.fb_pair_id(i)]["source_path"], rows[fx.fb_pair_id(i)]["also_in"]) == (
            ORCA, "")
    for i in (8, 9, 10):  # the Facebook app's only
        assert (rows[fx.fb_pair_id(i)]["source_path"], rows[fx.fb_pair_id(i)]["also_in"]) == (
            KATANA, "")


def test_a_deleted_record_does_not_duplicate_the_other_copys_live_message(
        pair: tuple[Path, Path, dict[str, Any]]) -> None:
    """Line 2 is live in Messenger's copy and a recovered deleted record in the Facebook
    app's: shown once, as the live message, with the deleted record as its other copy."""
    _, out, _ = pair
    rows = [r for r in messages_csv(out) if r["message_id"] == fx.fb_pair_id(2)]
    assert len(rows) == 1
    (row,) = rows
    assert (row["source_path"], row["deleted"], row["text"]) == (ORCA, "False", fx.RISK[1].text)
    assert row["also_in"].startswith(f"{KATANA} (messages rowid -")
    assert row["also_in"].endswith(", deleted record)")
    assert not [r for r in messages_csv(out) if r["deleted"] == "True"]


def test_the_ranking_is_what_one_copy_gives(pair: tuple[Path, Path, dict[str, Any]],
                                             single: tuple[Path, dict[str, Any]]) -> None:
    _, out, findings = pair
    one, one_findings = single

    def ranked(doc: dict[str, Any]) -> list[dict[str, Any]]:
        # Where it was read differs (another folder, two databases); nothing else may.
        return [{k: v for k, v in c.items() if k not in ("source", "also_in", "evidence")}
                for c in doc["conversations"]]

    assert ranked(conversations_json(out)) == ranked(conversations_json(one))
    risk = conversations_json(out)["conversations"][0]
    assert risk["conversation"] == fx.FB_CONTACT and risk["flagged"]
    for name in ("messages", "conversations", "flagged_conversations"):
        assert findings["summary"][name] == one_findings["summary"][name], name

    def timeline(rows: list[dict[str, str]]) -> list[tuple[str, ...]]:
        return [(r["time"], r["conversation"], r["message_id"], r["direction"], r["sender"],
                 r["text"], r["indicators"]) for r in rows]

    assert timeline(messages_csv(out)) == timeline(messages_csv(one))


def test_the_thread_takes_its_messages_from_both_copies(
        pair: tuple[Path, Path, dict[str, Any]]) -> None:
    _, out, _ = pair
    store = ChatStore.open_finished(out / "scan.sqlite")
    assert store is not None
    try:
        risk = next(c for c in store.conversations(with_rank=True)
                    if c["conversation"] == fx.FB_CONTACT)
        messages = thread(store, risk)
    finally:
        store.close()
    assert [m.text for m in messages] == [line.text for line in fx.RISK]  # in time order
    assert len({m.anchor for m in messages}) == len(messages)  # each its own id on the page
    shared = next(m for m in messages if m.text == fx.RISK[3].text)
    assert [c["path"] for c in shared.also_in] == [ORCA]


def test_a_rerun_is_byte_identical(pair: tuple[Path, Path, dict[str, Any]],
                                   tmp_path: Path) -> None:
    tree, out, _ = pair
    scan_findings(tree, tmp_path / "again")
    for name in ("findings.json", "messages.csv", "conversations.json"):
        assert (out / name).read_bytes() == (tmp_path / "again" / name).read_bytes(), name


# --- the store's choice, on messages given directly ----------------------------------------


def _message(i: int, account: str, deleted: bool = False, rowid: int | None = None) -> Message:
    return Message(app="Messenger", account=account, conversation="200", message_id=f"mid.${i}",
                   time=f"2023-03-14T10:00:{i:02d}.000Z", direction="received", sender="200",
                   recipients=("(device owner)",), text=f"text {i}", table="messages",
                   rowid=i if rowid is None else rowid, deleted=deleted)


def _store(path: Path, order: list[str], held: dict[str, tuple[str, list[Message]]]) -> list[
        tuple[Any, ...]]:
    store = ChatStore(path)
    key = SOURCES.get("messenger-msys").copy_key
    try:
        for name in order:
            db_path, messages = held[name]
            store.commit_source(0, name, SourceOutcome(db_path, True, "messenger-msys", "msys"),
                                [(m, []) for m in messages], key)
        store.merge_copies()
        return [(r["source_key"], r["message_id"], r["deleted"], also_in(r["copies"]))
                for r in store.messages_by_time()]
    finally:
        store.close()


def test_the_kept_copy_does_not_depend_on_the_order_read(tmp_path: Path) -> None:
    held = {
        "k/1": ("/b/msys_database_1", [_message(1, "1"), _message(2, "1", deleted=True, rowid=-5)]),
        "k/2": ("/a/msys_database_1", [_message(2, "1"), _message(3, "1")]),
    }
    first = _store(tmp_path / "one.sqlite", ["k/1", "k/2"], held)
    assert first == _store(tmp_path / "two.sqlite", ["k/2", "k/1"], held)
    assert first == [
        ("k/1", "mid.$1", 0, ""),
        # live in /a, a deleted record in /b: the live one, naming the other
        ("k/2", "mid.$2", 0, "/b/msys_database_1 (messages rowid -5, deleted record)"),
        ("k/2", "mid.$3", 0, "")]


def test_two_accounts_or_an_unknown_account_are_never_merged(tmp_path: Path) -> None:
    held = {
        "k/1": ("/a/msys_database_1", [_message(1, "1")]),
        "k/2": ("/b/msys_database_2", [_message(1, "2")]),  # another account, same id
        "k/3": ("/c/msys_database", [_message(1, "")]),  # whose, not known
    }
    shown = _store(tmp_path / "s.sqlite", ["k/1", "k/2", "k/3"], held)
    assert [(key, copies) for key, _, _, copies in shown] == [
        ("k/1", ""), ("k/2", ""), ("k/3", "")]
    # A message without the app's own id (its rowid stands in) has no copy key either.
    bare = Message(app="Messenger", account="1", conversation="c", message_id="7", time=None,
                   direction="received", sender="s", recipients=(), text="", table="messages",
                   rowid=7)
    assert SOURCES.get("messenger-android").copy_key(bare) is None
    assert SOURCES.get("whatsapp-android").copy_key(_message(1, "1")) is None


def test_the_older_threads_db2_held_by_both_apps_is_shown_once(tmp_path: Path) -> None:
    """Both apps' threads_db2 of one account (each with its threads_db2-uid): the same three
    messages, shown once, under the first path, naming the other."""
    tree = tmp_path / "android"
    paths = ("data/data/com.facebook.katana/databases/threads_db2",
             "data/data/com.facebook.orca/databases/threads_db2")
    for rel in paths:
        (tree / rel).parent.mkdir(parents=True)
        fx.threads_db2(tree / rel)
    findings = scan_findings(tree, tmp_path / "out")
    rows = messages_csv(tmp_path / "out")
    assert findings["summary"]["messages"] == len(rows) == len(fx.FB)
    assert {r["source_path"] for r in rows} == {"/" + paths[0]}
    assert all(r["also_in"].startswith(f"/{paths[1]} (messages rowid ") for r in rows)
    (conversation,) = conversations_json(tmp_path / "out")["conversations"]
    assert conversation["messages"] == len(fx.FB)
    assert [o["path"] for o in conversation["also_in"]] == ["/" + paths[1]]


def test_a_killed_scan_resumes_to_the_same_choice(
        pair: tuple[Path, Path, dict[str, Any]], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed after the first of the two copies is stored: the resumed scan reads the other
    and merges them as a whole scan does, byte for byte."""
    from fellwatch.chats import stage

    tree, out, _ = pair
    real = stage.ChatStore.commit_source
    calls: list[str] = []

    def die_after_one(self: ChatStore, *args: Any, **kwargs: Any) -> tuple[int, str | None]:
        if calls:
            raise KeyboardInterrupt
        calls.append(args[1])
        return real(self, *args, **kwargs)

    monkeypatch.setattr(stage.ChatStore, "commit_source", die_after_one)
    with pytest.raises(KeyboardInterrupt):
        scan_findings(tree, tmp_path / "killed")
    monkeypatch.setattr(stage.ChatStore, "commit_source", real)
    scan_findings(tree, tmp_path / "killed")
    for name in ("findings.json", "messages.csv", "conversations.json"):
        assert (out / name).read_bytes() == (tmp_path / "killed" / name).read_bytes(), name


def test_a_finished_scan_from_before_the_merge_is_still_read(
        pair: tuple[Path, Path, dict[str, Any]], tmp_path: Path) -> None:
    """A scan.sqlite without the merge's tables (written before them) is read as it was:
    every message stored, none a copy."""
    import shutil
    import sqlite3

    _, out, _ = pair
    old = tmp_path / "scan.sqlite"
    shutil.copyfile(out / "scan.sqlite", old)
    db = sqlite3.connect(old)
    for table in ("chat_copy_keys", "chat_homes", "chat_copies", "chat_kept"):
        db.execute(f"DROP TABLE {table}")
    db.commit()
    db.close()
    store = ChatStore.open_finished(old)
    assert store is not None
    try:
        assert len(list(store.messages_by_time())) == 7 + 10
        assert all(s["copies"] == 0 for s in store.sources())
        risk = next(c for c in store.conversations() if c["conversation"] == fx.FB_CONTACT)
        # Listed under one database, its thread is that one's messages only: the Facebook
        # app's lines 4 to 10 (read 0 to 6) and its deleted record of line 2 (read last).
        assert [m.anchor for m in thread(store, risk)] == [str(i) for i in (*range(7), 9)]
        assert store.attachment_messages(0, "no such item") == []
    finally:
        store.close()
