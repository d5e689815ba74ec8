"""Exact matching of item records against stored hash sets."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path

import pytest

from fellwatch.hashsets.base import HashSetError
from fellwatch.hashsets.store import HashSetStore
from fellwatch.matching.base import Match
from fellwatch.matching.exact import ExactMatcher
from tests.hashsets import samples as s
from tests.records import lookup


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HashSetStore]:
    # A VICS 2.0 set (md5, sha1, sha256) with Project VIC categories, a UK-graded hashdeep
    # list (md5 and sha256 only), and NSRL (known-good) sharing file 5.
    media = [s.vics_media(n, n % 5, version="2.0") for n in range(1, 6)]
    with HashSetStore(tmp_path / "store") as opened:
        opened.import_file(s.write_vics20_cases(tmp_path / "pv.json", media), name="pv")
        uk = tmp_path / "uk.md5"
        uk.write_text(f"{s.md5(1)}  one\n{s.sha256(6)}  six\n")
        opened.import_file(uk, name="uk", category_map={"A": "UK A"})
        opened.import_file(s.write_nsrl(tmp_path / "nsrl.db", [5, 7]), name="nsrl")
        yield opened


def test_match_on_every_digest_with_mapped_categories(store: HashSetStore) -> None:
    matcher = ExactMatcher(store, store.list())
    assert matcher.match(lookup(s.record(1))) == [
        Match("pv", "known-bad", "md5", "CAM", 0, media_id="1"),
        Match("pv", "known-bad", "sha1", "CAM", 0, media_id="1"),
        Match("pv", "known-bad", "sha256", "CAM", 0, media_id="1"),
        Match("uk", "known-bad", "md5", None, 0),
    ]
    found = matcher.match(lookup(s.record(2)))
    assert [m.category for m in found] == ["exploitive/age-difficult"] * 3
    assert matcher.match(lookup(s.record(6))) == [Match("uk", "known-bad", "sha256", None, 0)]
    assert matcher.match(lookup(s.record(8))) == []


def test_known_good_and_known_bad_together(store: HashSetStore) -> None:
    matches = ExactMatcher(store, store.list()).match(lookup(s.record(5)))
    assert [(m.hashset, m.set_kind, m.kind, m.category) for m in matches] == [
        ("nsrl", "known-good", "md5", "known-good"),
        ("nsrl", "known-good", "sha1", "known-good"),
        ("nsrl", "known-good", "sha256", "known-good"),
        ("pv", "known-bad", "md5", "non-pertinent"),
        ("pv", "known-bad", "sha1", "non-pertinent"),
        ("pv", "known-bad", "sha256", "non-pertinent"),
    ]
    assert matches[0].to_json() == {
        "hashset": "nsrl",
        "set_kind": "known-good",
        "kind": "md5",
        "category": "known-good",
        "distance": 0,
    }


def test_only_the_chosen_sets_and_partial_records(store: HashSetStore) -> None:
    matcher = ExactMatcher(store, [store.get("uk")])
    assert matcher.match(lookup(s.record(5))) == []
    assert matcher.match(lookup({"md5": s.md5(1).upper(), "sha1": None})) == [
        Match("uk", "known-bad", "md5", None, 0)
    ]
    # An item that could not be read has no digests: no match, no error.
    unread = {"md5": None, "sha1": None, "sha256": None, "error": "corrupt"}
    assert matcher.match(lookup(unread)) == []


def test_match_many_equals_match_one_by_one(store: HashSetStore) -> None:
    matcher = ExactMatcher(store, store.list())
    records = [s.record(n) for n in range(10)] + [s.record(1), {"md5": None}]
    typed = [lookup(r) for r in records]
    assert matcher.match_many(typed) == [matcher.match(r) for r in typed]
    assert matcher.match_many([]) == []


def test_a_replaced_set_version_is_refused(store: HashSetStore, tmp_path: Path) -> None:
    pinned = store.get("uk")
    newer = tmp_path / "uk2.md5"
    newer.write_text(f"{s.md5(9)}\n")
    store.import_file(newer, name="uk")
    with pytest.raises(HashSetError, match=r"hash set 'uk' changed in the store"):
        ExactMatcher(store, [pinned])


def test_matcher_pickles_for_worker_processes(store: HashSetStore) -> None:
    matcher = ExactMatcher(store, store.list())
    matcher.match(lookup(s.record(1)))
    copy = pickle.loads(pickle.dumps(matcher))
    assert copy.match(lookup(s.record(1))) == matcher.match(lookup(s.record(1)))
    matcher.close()
    assert matcher.match(lookup(s.record(6))) == [Match("uk", "known-bad", "sha256", None, 0)]
