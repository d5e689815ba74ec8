"""`fellwatch hashset import` and `fellwatch hashset list`, run through `cli.main`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fellwatch.cli import main
from fellwatch.errors import ExitCode
from fellwatch.hashsets.store import HashSetStore
from tests.hashsets import samples as s


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FELLWATCH_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_import_prints_name_format_counts_version_and_time(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    media = [s.vics_media(n, 1, pdq_hash=True) for n in range(3)]
    path = s.write_vics13(tmp_path / "caid.json", media)
    assert main(["hashset", "import", str(path), "--name", "CAID 2026-11"]) == 0
    out = capsys.readouterr().out.splitlines()
    info = HashSetStore(data_dir / "hashsets").get("CAID 2026-11")
    assert out == [
        "name     CAID 2026-11",
        "format   vics",
        "kind     known-bad",
        "entries  9 (md5 3, pdq 3, sha1 3)",
        f"version  {info.version}",
        out[5],
        "skipped  3 PhotoDNA (proprietary, not kept)",
    ]
    assert out[5].startswith("time     ") and out[5].endswith(" s")

    assert main(["hashset", "import", str(path), "--name", "CAID 2026-11"]) == 0
    assert capsys.readouterr().out.startswith("CAID 2026-11: already imported from this file")


def test_import_kind_category_map_and_new_version(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cmap = tmp_path / "uk.json"
    cmap.write_text(json.dumps({"A": "UK category A"}))
    first = s.write_hashdeep(tmp_path / "local.hashdeep", [1])
    args = ["hashset", "import", str(first), "--kind", "known-good", "--category-map", str(cmap)]
    assert main(args) == 0
    assert "kind     known-good" in capsys.readouterr().out
    second = s.write_hashdeep(tmp_path / "other.hashdeep", [2])
    assert main(["hashset", "import", str(second), "--name", "local"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("local: new version replaces sha256:")
    assert "kind     known-bad" in out


def test_list_prints_a_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hashset", "list"]) == 0
    assert "no hash sets imported yet" in capsys.readouterr().out
    main(["hashset", "import", str(s.write_nsrl(tmp_path / "rds.db", [1, 2]))])
    main(["hashset", "import", str(s.write_hashdeep(tmp_path / "bad.txt", [3]))])
    capsys.readouterr()
    assert main(["hashset", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "FORMAT", "ENTRIES", "KINDS", "VERSION"]
    assert lines[1].split()[:5] == ["bad", "known-bad", "hashdeep", "2", "md5,sha256"]
    assert lines[2].split()[:5] == ["rds", "known-good", "nsrl", "6", "md5,sha1,sha256"]
    assert len(lines) == 3


def test_errors_are_one_line_and_exit_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"odata.metadata": "x#Media", "value": [{"MD5": "zz"}]}')
    assert main(["hashset", "import", str(bad)]) == ExitCode.INPUT
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "fellwatch: bad.json: media #1: not a md5 digest: 'zz'"
    assert main(["hashset", "import", str(tmp_path / "missing.txt")]) == ExitCode.INPUT
    assert "missing.txt: no such file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["hashset", "import", str(bad), "--kind", "maybe"])


def test_import_a_folder_of_vpdq_files(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "videos.2026"  # a folder's name is the set's name, dots and all
    folder.mkdir()
    # The same title card opens both videos; "a" shows its last frame twice.
    frames = {"a": [0, 1, 2, 2], "b": [0, 3]}
    for name, numbers in frames.items():
        (folder / f"{name}.txt").write_text(
            "".join(f"{i},90,{s.pdq(n)},{i}.000\n" for i, n in enumerate(numbers))
        )
    assert main(["hashset", "import", str(folder)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:4] == [
        "name     videos.2026",
        "format   vpdq",
        "kind     known-bad",
        "entries  5 (vpdq 5)",
    ]
    assert out[-1] == "skipped  1 repeated frame within one video (bag of frames)"
    assert main(["hashset", "import", str(folder)]) == 0
    assert capsys.readouterr().out.startswith("videos.2026: already imported from this folder")
    other = tmp_path / "sums"
    other.mkdir()
    s.write_hashdeep(other / "local.hashdeep", [1])
    assert main(["hashset", "import", str(other)]) == ExitCode.INPUT
    assert capsys.readouterr().err == (
        "fellwatch: sums: a folder, but not of vpdq files (only vpdq sets are read from a folder)\n"
    )


def test_format_overrides_detection(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = s.write_hashdeep(tmp_path / "local.hashdeep", [1])
    assert main(["hashset", "import", str(path), "--format", "hashdeep"]) == 0
    assert "format   hashdeep" in capsys.readouterr().out
    # Named, the format is used even when the file is not of it: its reader refuses it.
    assert main(["hashset", "import", str(path), "--name", "x", "--format", "vics"]) == 3
    assert capsys.readouterr().err.startswith("fellwatch: local.hashdeep")
    assert main(["hashset", "import", str(path), "--name", "y", "--format", "nope"]) == 2
    assert "unknown hash-set format 'nope' (known: " in capsys.readouterr().err
