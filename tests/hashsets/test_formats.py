"""Every hash-set format read from realistic files; bad files fail with a clear HashSetError."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fellwatch.hashsets import registry, vics
from fellwatch.hashsets.base import HashEntry, HashSetError, ReadNotes
from tests.hashsets import samples as s


def read(path: Path, fmt: str | None = None) -> tuple[list[HashEntry], ReadNotes]:
    notes = ReadNotes()
    chosen = registry.get(fmt) if fmt else registry.detect(path)
    return list(chosen.read(path, notes)), notes


def test_registry_holds_exactly_the_expected_formats() -> None:
    assert set(registry.FORMATS.names()) == {
        "vics", "hashdeep", "sumlist", "nsrl", "pdqlist", "vpdq"}
    for name, fmt in ((f.name, f) for f in registry.FORMATS):
        assert fmt.name == name
    assert registry.FORMATS.get("nsrl").default_kind == "known-good"
    assert {f.default_kind for f in registry.FORMATS if f.name != "nsrl"} == {"known-bad"}


def test_registry_refuses_a_duplicate_name() -> None:
    with pytest.raises(ValueError, match=r"already registered: vics"):
        registry.register(registry.FORMATS.get("vics"))


# -- VICS JSON -----------------------------------------------------------------------------------


def test_vics13_with_bom_upper_hex_string_booleans_and_alternative_hashes(tmp_path: Path) -> None:
    media = [
        s.vics_media(1, 1, pdq_hash=True),
        s.vics_media(2, "2"),
        s.vics_media(3, None),
    ]
    entries, notes = read(s.write_vics13(tmp_path / "caid-export.json", media))
    assert registry.detect(tmp_path / "caid-export.json").name == "vics"
    assert entries == [
        HashEntry("md5", s.md5(1), "1", "1", len(s.benign(1))),
        HashEntry("sha1", s.sha1(1), "1", "1", len(s.benign(1))),
        HashEntry("pdq", s.pdq(1), "1", "1", len(s.benign(1))),
        HashEntry("md5", s.md5(2), "2", "2", len(s.benign(2))),
        HashEntry("sha1", s.sha1(2), "2", "2", len(s.benign(2))),
        HashEntry("md5", s.md5(3), None, "3", len(s.benign(3))),
        HashEntry("sha1", s.sha1(3), None, "3", len(s.benign(3))),
    ]
    # PhotoDNA is proprietary: counted, never kept.
    assert notes.skipped == {"PhotoDNA (proprietary, not kept)": 3}


def test_vics20_media_with_sha256_and_string_ids(tmp_path: Path) -> None:
    media = [s.vics_media(n, "0" if n % 2 else 4, version="2.0") for n in range(1, 5)]
    entries, _ = read(s.write_vics20_media(tmp_path / "pv.json", media))
    assert len(entries) == 12
    assert {e.kind for e in entries} == {"md5", "sha1", "sha256"}
    assert HashEntry("sha256", s.sha256(4), "4", "4", len(s.benign(4))) in entries
    assert HashEntry("md5", s.md5(1), "0", "1", len(s.benign(1))) in entries


def test_vics20_cases_wrapper_streams_the_media_inside_value0(tmp_path: Path) -> None:
    media = [s.vics_media(n, 1, version="2.0", pdq_hash=True) for n in range(10)]
    entries, notes = read(s.write_vics20_cases(tmp_path / "cases.json", media))
    assert [e.media_id for e in entries if e.kind == "md5"] == [str(n) for n in range(10)]
    assert sum(e.kind == "pdq" for e in entries) == 10
    assert notes.skipped["PhotoDNA (proprietary, not kept)"] == 10


def test_vics_numbers_in_json_and_floats_and_missing_fields(tmp_path: Path) -> None:
    doc = {
        "odata.metadata": s.VICS13,
        "value": [
            {"MediaID": 7.0, "Category": 3, "MD5": s.md5(7), "MediaSize": 12, "SHA1": ""},
            {"MediaID": 8, "Category": "null", "SHA1": s.sha1(8), "IsPrecategorized": False},
            {"MediaID": 9, "Category": 1},
        ],
    }
    path = tmp_path / "numbers.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    entries, notes = read(path)
    assert entries == [
        HashEntry("md5", s.md5(7), "3", "7", 12),
        HashEntry("sha1", s.sha1(8), None, "8", None),
    ]
    assert notes.skipped == {"media without a usable hash": 1}


@pytest.mark.parametrize("chunk", [1, 7, 64, 4096])
def test_vics_streaming_is_the_same_at_any_chunk_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    media = [s.vics_media(n, n % 5, version="2.0", pdq_hash=n % 3 == 0) for n in range(40)]
    cases = s.write_vics20_cases(tmp_path / "cases.json", media)
    flat = s.write_vics13(tmp_path / "flat.json", media)
    expected_cases, _ = read(cases)
    expected_flat, _ = read(flat)
    monkeypatch.setattr(vics, "CHUNK_CHARS", chunk)
    assert read(cases)[0] == expected_cases
    assert read(flat)[0] == expected_flat
    assert len(expected_cases) == 40 * 3 + 14


_json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    extra=st.dictionaries(st.text(min_size=1, max_size=6), _json_scalars, max_size=3),
    count=st.integers(0, 6),
    chunk=st.integers(1, 50),
    indent=st.sampled_from([None, 0, 2]),
)
def test_vics_streaming_matches_a_whole_document_parse(
    tmp_path: Path, extra: dict, count: int, chunk: int, indent: int | None
) -> None:
    """Odd member names, escapes and white space around the media objects change nothing."""
    media = [{**extra, **s.vics_media(n, n, version="2.0")} for n in range(count)]
    doc = {"@odata.context": s.VICS20_MEDIA, "extra": extra, "value": media, "after": [extra]}
    path = tmp_path / "prop.json"
    path.write_text(json.dumps(doc, indent=indent, ensure_ascii=False), encoding="utf-8")
    stream = vics._JsonStream(path.open(encoding="utf-8"), "prop.json", chunk)
    assert list(vics.VicsJson()._media(stream)) == json.loads(path.read_text())["value"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"odata.metadata": "x#Media", "value": [{"MD5": "abc"', "malformed JSON"),
        ('{"odata.metadata": "x#Media", "value": [{"MD5": "zz"}]}', "not a md5 digest: 'zz'"),
        ('{"odata.metadata": "x#Media", "value": [1]}', "'value' element is not an object"),
        ('{"odata.metadata": "x#Media", "value": []} []', "data after the end"),
        ('{"odata.metadata": "x#Media"}', "no 'value' array"),
        ('{"odata.metadata": "x#Reports", "value": []}', "not a VICS Media or Cases document"),
        ('{"odata.metadata": "x#Media", "value": [{"MediaSize": "big"}]}', "MediaSize"),
        ('{"odata.metadata": "x#Media" "value": []}', "expected ',' or '}'"),
        (
            '{"odata.metadata": "x#Media", "value": [{"MediaID": 5, "SHA1": "12"}]}',
            "media #1 (MediaID 5): not a sha1 digest",
        ),
    ],
)
def test_malformed_vics_raises_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(HashSetError, match=r"bad.json") as err:
        read(path, "vics")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_vics_malformed_early_in_a_big_file_fails_without_reading_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    media = [s.vics_media(n, 1) for n in range(200)]
    path = s.write_vics13(tmp_path / "big.json", media)
    text = path.read_text(encoding="utf-8")
    cut = text.index('"MediaSize"', 2000)
    path.write_text(text[:cut] + "oops" + text[cut:], encoding="utf-8")
    monkeypatch.setattr(vics, "CHUNK_CHARS", 4096)
    reads: list[int] = []
    original = vics._JsonStream._fill

    def counting_fill(self: vics._JsonStream, at_least: int = 0) -> bool:
        reads.append(at_least)
        return original(self, at_least)

    monkeypatch.setattr(vics._JsonStream, "_fill", counting_fill)
    with pytest.raises(HashSetError, match=r"big.json: malformed JSON \(Expecting") as err:
        read(path, "vics")
    offset = int(str(err.value).rsplit(" ", 1)[1])
    assert text[:cut].count("\n") < offset <= cut + 1
    assert len(reads) < 6  # not the whole file


def test_vics_without_context_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plain.json"
    path.write_text(json.dumps({"value": [{"MD5": s.md5(1)}]}), encoding="utf-8")
    with pytest.raises(HashSetError, match=r"not a known hash-set format"):
        registry.detect(path)
    with pytest.raises(HashSetError, match=r"no 'odata.metadata' or '@odata.context'"):
        read(path, "vics")


def test_vics_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.json"
    path.write_bytes(b'{"odata.metadata": "x#Media", "value": [{"MediaID": "\xe9"}]}')
    with pytest.raises(HashSetError, match=r"not UTF-8"):
        read(path)


# -- hashdeep ------------------------------------------------------------------------------------


def test_hashdeep_size_md5_sha256(tmp_path: Path) -> None:
    entries, notes = read(s.write_hashdeep(tmp_path / "known.hashdeep", [1, 2]))
    assert entries == [
        HashEntry("md5", s.md5(1), size=len(s.benign(1))),
        HashEntry("sha256", s.sha256(1), size=len(s.benign(1))),
        HashEntry("md5", s.md5(2), size=len(s.benign(2))),
        HashEntry("sha256", s.sha256(2), size=len(s.benign(2))),
    ]
    assert notes.skipped == {}


def test_hashdeep_all_columns_counts_tiger_and_whirlpool(tmp_path: Path) -> None:
    path = s.write_hashdeep(tmp_path / "all.txt", [3], "size,md5,sha1,sha256,tiger,whirlpool")
    entries, notes = read(path)
    assert [e.kind for e in entries] == ["md5", "sha1", "sha256"]
    assert notes.skipped == {
        "tiger digest (no signal computes it)": 1,
        "whirlpool digest (no signal computes it)": 1,
    }


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["%%%% size,md5,filename"], "line 1: not a hashdeep file"),
        (["%%%% HASHDEEP-1.0", "%%%% size,crc,filename"], "line 2: unexpected hashdeep column"),
        (["%%%% HASHDEEP-1.0", "1," + "a" * 32 + ",x"], "line 2: a hash line before"),
        (["%%%% HASHDEEP-1.0", "%%%% size,md5,filename", "1,abc"], "line 3: 2 fields"),
        (["%%%% HASHDEEP-1.0", "%%%% size,md5,filename", "x," + "a" * 32 + ",f"], "size is not"),
        (["%%%% HASHDEEP-1.0", "%%%% size,md5,filename", "1," + "g" * 32 + ",f"], "not a md5"),
    ],
)
def test_malformed_hashdeep(tmp_path: Path, lines: list[str], message: str) -> None:
    path = tmp_path / "bad.hashdeep"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(HashSetError, match=r"bad.hashdeep") as err:
        read(path, "hashdeep")
    assert message in str(err.value)


# -- md5sum / sha1sum / sha256sum lists -----------------------------------------------------------


def test_sumlist_text_binary_bare_bsd_and_escaped_lines(tmp_path: Path) -> None:
    path = tmp_path / "known.md5"
    path.write_text(
        "\ufeff# exported by the unit\n"
        f"{s.md5(1)}  file one.jpg\n"
        f"{s.sha1(2).upper()} *file2.bin\n"
        f"\\{s.sha256(3)}  dir\\\\odd\\nname\n"
        "\n"
        f"{s.md5(4).upper()}\n"
        f"SHA256 (file5.jpg) = {s.sha256(5)}\n",
        encoding="utf-8",
    )
    assert registry.detect(path).name == "sumlist"
    entries, _ = read(path)
    assert entries == [
        HashEntry("md5", s.md5(1)),
        HashEntry("sha1", s.sha1(2)),
        HashEntry("sha256", s.sha256(3)),
        HashEntry("md5", s.md5(4)),
        HashEntry("sha256", s.sha256(5)),
    ]


@pytest.mark.parametrize(
    "line",
    ["a" * 31 + "  short", "a" * 33, "not a digest", "MD5 (x) = " + "a" * 40, "a" * 32 + "x"],
)
def test_malformed_sumlist_line(tmp_path: Path, line: str) -> None:
    path = tmp_path / "bad.sha256"
    path.write_text(f"{s.sha256(1)}  ok\n{line}\n", encoding="utf-8")
    with pytest.raises(HashSetError, match=r"bad.sha256: line 2: not a digest line"):
        read(path, "sumlist")


# -- NSRL RDSv3 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("minimal", [False, True])
def test_nsrl_rdsv3_full_and_minimal(tmp_path: Path, minimal: bool) -> None:
    path = s.write_nsrl(tmp_path / "RDS_2024.03.1_modern.db", [1, 2], minimal=minimal)
    assert registry.detect(path).name == "nsrl"
    entries, _ = read(path)
    size = None if minimal else len(s.benign(1))
    assert entries[:3] == [
        HashEntry("sha256", s.sha256(1), size=size),
        HashEntry("sha1", s.sha1(1), size=size),
        HashEntry("md5", s.md5(1), size=size),
    ]
    assert len(entries) == 6


def test_nsrl_is_opened_read_only(tmp_path: Path) -> None:
    path = s.write_nsrl(tmp_path / "rds.db", [1])
    path.chmod(0o444)
    before = path.read_bytes()
    assert len(read(path)[0]) == 3
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rds.db"]  # no journal, no WAL


def test_nsrl_without_the_rds_tables(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(HashSetError, match=r"other.db: no FILE or DISTINCT_HASH table"):
        read(path)


def test_nsrl_with_a_bad_digest(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "rds.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE DISTINCT_HASH (sha256, sha1, md5)")
        conn.execute("INSERT INTO DISTINCT_HASH VALUES ('x', NULL, NULL)")
    with pytest.raises(HashSetError, match=r"DISTINCT_HASH row 1: not a sha256 digest"):
        read(path)


def test_nsrl_truncated_database(tmp_path: Path) -> None:
    path = s.write_nsrl(tmp_path / "rds.db", list(range(400)))
    data = path.read_bytes()
    path.write_bytes(data[:4096] + b"\x00" * 100)
    with pytest.raises(HashSetError, match=r"rds.db"):
        read(path, "nsrl")


# -- PDQ lists -----------------------------------------------------------------------------------


def test_pdq_csv_with_quality_category_and_media_id(tmp_path: Path) -> None:
    path = tmp_path / "pdq.csv"
    path.write_text(
        "\ufeffPDQ,Quality,Category,media_id,notes\n"
        f"{s.pdq(1).upper()},100,1,M1,first\n"
        f'{s.pdq(2)},49,,,"a, quoted note"\n'
        "\n",
        encoding="utf-8",
    )
    assert registry.detect(path).name == "pdqlist"
    entries, _ = read(path)
    assert entries == [
        HashEntry("pdq", s.pdq(1), "1", "M1", None, 100),
        HashEntry("pdq", s.pdq(2), None, None, None, 49),
    ]


def test_pdq_tsv_only_the_hash_column(tmp_path: Path) -> None:
    path = tmp_path / "pdq.tsv"
    path.write_text(f"pdq\n{s.pdq(3)}\n", encoding="utf-8")
    path.write_text(f"id\tpdq\n7\t{s.pdq(3)}\n", encoding="utf-8")
    assert read(path)[0] == [HashEntry("pdq", s.pdq(3))]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["pdq,quality", "abc,100"], "line 2: not a pdq digest"),
        (["pdq,quality", s.pdq(1) + ",101"], "line 2: quality is not a number"),
        (["pdq,quality", s.pdq(1)], "line 2: 1 fields, the header names 2"),
        (["hash,quality", s.pdq(1) + ",1"], "line 1: no 'pdq' column"),
    ],
)
def test_malformed_pdq_list(tmp_path: Path, rows: list[str], message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(HashSetError, match=r"bad.csv") as err:
        read(path, "pdqlist")
    assert message in str(err.value)


# -- detection -----------------------------------------------------------------------------------


def test_detection_of_every_format_and_of_unknown_files(tmp_path: Path) -> None:
    made = {
        "vics": s.write_vics13(tmp_path / "a.json", [s.vics_media(1, 1)]),
        "hashdeep": s.write_hashdeep(tmp_path / "a.txt", [1]),
        "nsrl": s.write_nsrl(tmp_path / "a.db", [1]),
    }
    (tmp_path / "b.txt").write_text(f"{s.md5(1)}  x\n")
    made["sumlist"] = tmp_path / "b.txt"
    (tmp_path / "c.txt").write_text(f"pdq\n{s.pdq(1)}\n")
    made["pdqlist"] = tmp_path / "c.txt"
    assert {name: registry.detect(path).name for name, path in made.items()} == {
        name: name for name in made
    }
    (tmp_path / "x.csv").write_text("name,size\nfoo,1\n")
    with pytest.raises(HashSetError, match=r"x.csv: not a known hash-set format"):
        registry.detect(tmp_path / "x.csv")
    (tmp_path / "empty").write_bytes(b"")
    with pytest.raises(HashSetError, match=r"empty: empty file"):
        registry.detect(tmp_path / "empty")
    with pytest.raises(HashSetError, match=r"cannot read"):
        registry.detect(tmp_path / "missing")
    with pytest.raises(HashSetError, match=r"unknown hash-set format 'xml'"):
        registry.get("xml")
