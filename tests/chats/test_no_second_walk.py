"""The chat stage finds its databases in the scan store, never by walking the evidence again;
databases inside archives in the evidence are read too."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from fellwatch.chats import stage
from fellwatch.chats.registry import SOURCES
from fellwatch.chats.wanted import wanted
from fellwatch.evidence import Item, open_evidence
from fellwatch.scan.job import scan
from fellwatch.settings import ScanSettings
from fellwatch.store.located import decode_item, encode_item
from tests.chats import fixtures as fx
from tests.chats.outputs import messages_csv, scan_findings


def _stored(out: Path) -> list[tuple[Any, ...]]:
    """Every stored message, and its attachments' items last."""
    db = sqlite3.connect(out / "scan.sqlite")
    try:
        return list(db.execute(
            "SELECT evidence, source_key, seq, app, conversation, message_id, time, sender, "
            "text, deleted, attachments FROM chat_messages ORDER BY evidence, source_key, seq"))
    finally:
        db.close()


class _NoWalk:
    """Evidence whose items can be reopened but never walked."""

    def __init__(self, path: Path) -> None:
        self._ev = open_evidence(path)
        self.path = self._ev.path
        self.walks = 0

    def items(self) -> Any:
        self.walks += 1
        raise AssertionError("the chat stage walked the evidence")

    def open_item(self, item: Item) -> BinaryIO:
        return self._ev.open_item(item)

    def close(self) -> None:
        self._ev.close()


def test_the_stage_reopens_what_the_item_pass_kept(chat_trees: dict[str, Path],
                                                   tmp_path: Path) -> None:
    out = tmp_path / "out"
    findings = scan_findings(chat_trees["android"], out)
    before = _stored(out)
    ev = _NoWalk(chat_trees["android"])
    try:
        done = stage.run_chat_stage([ev], out / "scan.sqlite", restart=True)  # type: ignore[list-item]
    finally:
        ev.close()
    assert ev.walks == 0
    assert done.messages == findings["summary"]["messages"] > 0
    assert _stored(out) == before
    # Only what the stage may read was kept: databases, siblings, companions; not the picture.
    db = sqlite3.connect(out / "scan.sqlite")
    kept = {r[0] for r in db.execute("SELECT path FROM located")}
    records = db.execute("SELECT count(*) FROM records").fetchone()[0]
    db.close()
    assert "/" + fx.ANDROID_WA in kept and "/" + fx.ANDROID_WA + "-wal" in kept
    assert "/" + fx.ANDROID_MEDIA not in kept and len(kept) < records
    # The attachment is still tied to its item (found by name in the store's records).
    assert any('"item": "/' + fx.ANDROID_MEDIA + '"' in row[-1] for row in before)


def test_a_store_without_kept_locators_falls_back_to_a_walk(chat_trees: dict[str, Path],
                                                            tmp_path: Path) -> None:
    """A scan resumed from a store written before `located` existed reads the same chats."""
    out = tmp_path / "out"
    scan_findings(chat_trees["android"], out)
    db = sqlite3.connect(out / "scan.sqlite")
    db.execute("DELETE FROM located")
    db.execute("INSERT OR REPLACE INTO meta VALUES ('located', '\"incomplete\"')")
    db.commit()
    db.close()
    before = _stored(out)
    ev = open_evidence(chat_trees["android"])
    try:
        stage.run_chat_stage([ev], out / "scan.sqlite", restart=True)
    finally:
        ev.close()
    assert _stored(out) == before


def test_wanted_is_a_superset_of_every_source_pattern() -> None:
    paths = ["/" + fx.ANDROID_WA, "/" + fx.ANDROID_SMS, "/" + fx.ANDROID_TELEGRAM,
             "/" + fx.ANDROID_KIK, "/" + fx.IOS_SMS, "/" + fx.IOS_WA, "/" + fx.IOS_KIK,
             "/x/msys_database_1234", "/x/msys_database_1234/odd", "/a/_sgstore.db",
             "/d/wa.db", "/d/wa.db-wal", "/d/threads_db2-uid", "/d/main.db"]
    for path in paths:
        assert wanted(path), path
    for source in SOURCES:
        for pattern in source.patterns:
            assert wanted(pattern.replace("*", "x")), pattern
    assert not wanted("/" + fx.ANDROID_MEDIA)
    assert not wanted("/sdcard/DCIM/Camera/IMG_0001.jpg")


def test_an_item_round_trips_through_its_stored_form() -> None:
    item = Item(evidence="e", path="/a/b", key="/a/b", size=3, origin="folder",
                times={"mtime": "t"}, locator=("folder", b"/a/\xffb"))
    assert decode_item(encode_item(item)) == item
    nested = Item(evidence="e", path="p", key="k", size=0, origin="filesystem",
                  locator=("tsk", "{}", 5, 128, 0, True, 1))
    assert decode_item(encode_item(nested)) == nested


@pytest.fixture(scope="module")
def nested_trees(chat_trees: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
                 ) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("nested")
    return {"tar-in-zip": fx.tar_in_zip_of(chat_trees["android"], root / "phone.zip"),
            "zip-in-zip": fx.zip_in_zip_of(chat_trees["android"], root / "phone2.zip")}


def _timeline(out: Path, prefix: str) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for r in messages_csv(out):
        path = r["source_path"]
        assert path.startswith(prefix), path
        rows.append((r["time"], r["app"], r["conversation"], r["message_id"], r["direction"],
                     r["sender"], r["text"], path[len(prefix):], r["indicators"], r["deleted"]))
    return rows


@pytest.mark.parametrize(("kind", "prefix"), [("tar-in-zip", "/android.tar!"),
                                              ("zip-in-zip", "/backup.zip!android.tar!")])
def test_chat_databases_inside_an_archive_in_the_evidence(
    chat_trees: dict[str, Path], nested_trees: dict[str, Path], tmp_path: Path, kind: str,
    prefix: str,
) -> None:
    plain = tmp_path / "plain"
    scan_findings(chat_trees["android"], plain)
    out = tmp_path / kind
    findings = scan_findings(nested_trees[kind], out)
    assert _timeline(out, prefix) == _timeline(plain, "/")
    # WAL-only messages: the -wal beside msgstore.db in the same archive folder was applied.
    assert {"wal only message one", "wal only message two"} <= {
        r["text"] for r in messages_csv(out)}
    # The encrypted Signal database is an error on its member's item, like on a plain tree.
    errors = {i["path"]: i["error"] for i in findings["items"] if i["error"]}
    assert "encrypted database" in errors[prefix + fx.ANDROID_SIGNAL]
    # The attachment is tied to the picture inside the same archive.
    photo = next(r for r in messages_csv(out) if r["attachments"].endswith("WA0001.jpg"))
    item = next(i for i in findings["items"] if i["key"] == photo["attachment_items"])
    assert item["path"] == prefix + fx.ANDROID_MEDIA
    doc = json.loads((out / "conversations.json").read_text())
    assert doc["conversations"][0]["conversation"] == fx.CONTACT_A


def test_a_database_inside_an_archive_respects_the_archive_limits(
    nested_trees: dict[str, Path], tmp_path: Path,
) -> None:
    """The tar nested two deep, with an archive depth of 1: not expanded by the item pass, so
    not read as chats either (nothing is read past the limits)."""
    out = tmp_path / "shallow"
    settings = ScanSettings(workers=1, archive_max_depth=1)
    findings = scan([str(nested_trees["zip-in-zip"])], out, settings, progress=False).findings
    assert findings["summary"]["messages"] == 0
    assert not (out / "messages.csv").exists()


def test_sorted_lookup_is_a_merge_join() -> None:
    from fellwatch.chats.base import SortedLookup

    rows = [(None, "lost"), (1, "a"), (1, "b"), (3, "c"), ("7", "text key"), (8, "d")]
    lookup = SortedLookup(rows)
    assert [lookup.take(k) for k in (1, 2, 3, 7, 8, 9)] == [
        [("a",), ("b",)], [], [("c",)], [], [("d",)], []]
