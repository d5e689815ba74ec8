"""The hash-set store: import, list, resolve, versions, lookups, PDQ arrays, category maps."""

from __future__ import annotations

import json
import pickle
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from fellwatch import settings
from fellwatch.hashsets import categories
from fellwatch.hashsets.base import HashEntry, HashSetError
from fellwatch.hashsets.store import HashSetStore, default_path
from tests.hashsets import samples as s


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HashSetStore]:
    with HashSetStore(tmp_path / "store") as opened:
        yield opened


def test_import_vics_with_categories_pdq_and_skipped_photodna(
    store: HashSetStore, tmp_path: Path
) -> None:
    media = [s.vics_media(n, n % 3, pdq_hash=n < 2) for n in range(5)]
    info = store.import_file(s.write_vics13(tmp_path / "caid.json", media))
    assert info.name == "caid"
    assert info.kind == "known-bad"
    assert info.format == "vics"
    assert info.counts == {"md5": 5, "sha1": 5, "pdq": 2}
    assert info.entries == 12
    assert info.skipped == {"PhotoDNA (proprietary, not kept)": 5}
    assert info.category_map["1"] == "CAM"
    assert info.version.startswith(f"sha256:{info.source_sha256[:16]} imported ")
    assert store.list() == [info]
    assert store.get("caid") == info


def test_import_kinds_and_category_map_override(store: HashSetStore, tmp_path: Path) -> None:
    nsrl = store.import_file(s.write_nsrl(tmp_path / "rds.db", [1, 2]), name="nsrl")
    assert nsrl.kind == "known-good"
    assert nsrl.category_map == {}
    assert nsrl.counts == {"md5": 2, "sha1": 2, "sha256": 2}
    local = store.import_file(
        s.write_hashdeep(tmp_path / "local.txt", [3]),
        kind="known-good",
        category_map={"1": "Category 1 (CAM)"},
    )
    assert local.kind == "known-good"
    uk = store.import_file(
        s.write_hashdeep(tmp_path / "uk.txt", [4]), category_map={"A": "UK category A"}
    )
    assert uk.category_map["A"] == "UK category A"
    assert uk.category_map["2"] == "exploitive/age-difficult"
    assert [i.name for i in store.list()] == ["local", "nsrl", "uk"]
    with pytest.raises(HashSetError, match=r"unknown set kind 'bad'"):
        store.import_file(tmp_path / "uk.txt", kind="bad")  # type: ignore[arg-type]


def test_reimport_same_file_is_a_no_op(store: HashSetStore, tmp_path: Path) -> None:
    path = s.write_hashdeep(tmp_path / "set.txt", [1, 2])
    first = store.import_file(path, name="local")
    files = sorted((store.path / "sets").iterdir())
    assert store.import_file(path, name="local") == first
    assert sorted((store.path / "sets").iterdir()) == files


def test_same_name_new_file_replaces_the_version(store: HashSetStore, tmp_path: Path) -> None:
    old = store.import_file(s.write_hashdeep(tmp_path / "v1.txt", [1]), name="local")
    assert store.lookup("md5", [s.md5(1)], ["local"])
    new = store.import_file(s.write_hashdeep(tmp_path / "v2.txt", [2]), name="local")
    assert new.source_sha256 != old.source_sha256
    assert store.list() == [new]
    assert store.lookup("md5", [s.md5(1), s.md5(2)], ["local"]) == {
        s.md5(2): [("local", HashEntry("md5", s.md5(2), size=len(s.benign(2))))]
    }
    assert len(list((store.path / "sets").iterdir())) == 1  # the old version's file is gone


def test_a_failed_import_leaves_the_store_unchanged(store: HashSetStore, tmp_path: Path) -> None:
    good = store.import_file(s.write_hashdeep(tmp_path / "local.txt", [1]))
    bad = tmp_path / "local2.txt"
    bad.write_text(f"{s.md5(1)}  a\n{s.md5(2)[:-1]}  b\n")
    with pytest.raises(HashSetError, match=r"local2.txt: line 2: not a digest line"):
        store.import_file(bad, name="local")
    assert store.list() == [good]
    assert [p.name for p in (store.path / "sets").iterdir()] == [
        next((store.path / "sets").iterdir()).name
    ]
    assert not list((store.path / "sets").glob(".*"))
    empty = tmp_path / "empty.md5"
    empty.write_text("# nothing yet\n" + s.md5(9) + "\n")
    empty.write_text("pdq\n")
    with pytest.raises(HashSetError, match=r"no hashes in this pdqlist file"):
        store.import_file(empty)
    with pytest.raises(HashSetError, match=r"no such file"):
        store.import_file(tmp_path / "missing.json")


def test_duplicates_are_counted_not_hidden(store: HashSetStore, tmp_path: Path) -> None:
    path = tmp_path / "dups.md5"
    path.write_text(f"{s.md5(1)}  a\n{s.md5(1).upper()}  b\n{s.md5(2)}\n")
    info = store.import_file(path)
    assert info.entries == 2
    assert info.skipped == {"duplicate digest (first entry kept)": 1}


def test_resolve_by_file_and_by_name(store: HashSetStore, tmp_path: Path) -> None:
    path = s.write_vics20_media(tmp_path / "pv.json", [s.vics_media(1, 1, version="2.0")])
    imported = store.resolve(path)
    assert imported.name == "pv"
    assert store.resolve(str(path)) == imported  # cached by SHA-256, not imported again
    assert store.resolve("pv") == imported
    store.import_file(path, name="copy")
    assert store.resolve(path).source_sha256 == imported.source_sha256
    with pytest.raises(HashSetError) as err:
        store.resolve("caid")
    assert (
        str(err.value)
        == "caid: neither a file, a folder nor the name of a hash set (known sets: copy, pv)"
    )
    with pytest.raises(HashSetError, match=r"no hash sets imported yet"):
        HashSetStore(tmp_path / "empty-store").resolve("caid")


def test_lookup_batched_over_sets_and_kinds(store: HashSetStore, tmp_path: Path) -> None:
    store.import_file(
        s.write_vics20_media(
            tmp_path / "pv.json", [s.vics_media(n, "1", version="2.0") for n in range(1, 4)]
        )
    )
    store.import_file(s.write_nsrl(tmp_path / "nsrl.db", [3, 4]))
    digests = [s.md5(n) for n in range(0, 6)] + ["not hex", s.md5(1).upper()]
    found = store.lookup("md5", digests, ["pv", "nsrl"])
    assert sorted(found) == sorted([s.md5(1), s.md5(2), s.md5(3), s.md5(4), s.md5(1).upper()])
    assert [name for name, _ in found[s.md5(3)]] == ["pv", "nsrl"]
    assert found[s.md5(1)] == [("pv", HashEntry("md5", s.md5(1), "1", "1", len(s.benign(1))))]
    assert found[s.md5(1).upper()] == found[s.md5(1)]
    assert store.lookup("sha256", [s.sha256(4)]) == {
        s.sha256(4): [("nsrl", HashEntry("sha256", s.sha256(4), size=len(s.benign(4))))]
    }
    many = [s.md5(n) for n in range(2000)]
    assert sorted(store.lookup("md5", many, ["nsrl"])) == sorted([s.md5(3), s.md5(4)])
    assert store.lookup("sha1", [], None) == {}
    with pytest.raises(HashSetError, match=r"no hash set named 'caid'"):
        store.lookup("md5", [s.md5(1)], ["caid"])
    with pytest.raises(HashSetError, match=r"unknown hash kind"):
        store.lookup("crc32", [s.md5(1)])  # type: ignore[arg-type]


def test_pdq_hashes_for_the_perceptual_index(store: HashSetStore, tmp_path: Path) -> None:
    path = tmp_path / "pdq.csv"
    path.write_text("pdq,quality,category\n" + "".join(f"{s.pdq(n)},90,{n}\n" for n in range(5)))
    store.import_file(path)
    hashes, cats = store.pdq_hashes("pdq")
    assert hashes.dtype == np.uint8
    assert hashes.shape == (5, 32)
    expected = sorted((s.pdq(n), str(n)) for n in range(5))
    assert [bytes(row).hex() for row in hashes] == [h for h, _ in expected]
    assert cats == [c for _, c in expected]
    assert [e.digest for e in store.pdq_entries("pdq")] == [h for h, _ in expected]
    assert {e.quality for e in store.pdq_entries("pdq")} == {90}
    store.import_file(s.write_hashdeep(tmp_path / "none.txt", [1]))
    empty, none = store.pdq_hashes("none")
    assert empty.shape == (0, 32)
    assert none == []


def test_store_pickles_as_its_path(store: HashSetStore, tmp_path: Path) -> None:
    store.import_file(s.write_hashdeep(tmp_path / "local.txt", [1]))
    store.lookup("md5", [s.md5(1)])
    copy = pickle.loads(pickle.dumps(store))
    assert copy.path == store.path
    assert copy.lookup("md5", [s.md5(1)]).keys() == {s.md5(1)}


def test_default_path_follows_the_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FELLWATCH_DATA_DIR", str(tmp_path / "data"))
    assert default_path() == tmp_path / "data" / "hashsets"
    assert HashSetStore.default().path == tmp_path / "data" / "hashsets"
    monkeypatch.delenv("FELLWATCH_DATA_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert settings.data_dir() == tmp_path / "home" / ".local" / "share" / "fellwatch"


def test_category_maps(tmp_path: Path) -> None:
    default = categories.default_map()
    assert default == {
        "0": "non-pertinent",
        "1": "CAM",
        "2": "exploitive/age-difficult",
        "3": "CGI/animation",
        "4": "comparison",
        "A": "A",
        "B": "B",
        "C": "C",
    }
    assert categories.label("known-bad", default, "1") == "CAM"
    assert categories.label("known-bad", default, "b") == "B"
    assert categories.label("known-bad", default, "9") == "9"
    assert categories.label("known-bad", default, None) is None
    assert categories.label("known-good", {}, "1") == "known-good"
    path = tmp_path / "map.json"
    path.write_text(json.dumps({"1": "Cat 1"}))
    assert categories.load_map(path) == {"1": "Cat 1"}
    path.write_text(json.dumps({"1": 1}))
    with pytest.raises(HashSetError, match=r"map.json: a category map must be a JSON object"):
        categories.load_map(path)
    path.write_text("{")
    with pytest.raises(HashSetError, match=r"map.json: category map is not valid JSON"):
        categories.load_map(path)
    with pytest.raises(HashSetError, match=r"cannot read category map"):
        categories.load_map(tmp_path / "missing.json")


def test_remove(store: HashSetStore, tmp_path: Path) -> None:
    store.import_file(s.write_hashdeep(tmp_path / "local.txt", [1]))
    store.remove("local")
    assert store.list() == []
    assert list((store.path / "sets").iterdir()) == []
