"""vPDQ sets in the store: a folder of videos is one set, its version, refused folders."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from fellwatch.hashsets.base import HashSetError
from fellwatch.hashsets.store import HashSetStore
from tests.hashsets import samples as s


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HashSetStore]:
    with HashSetStore(tmp_path / "store") as opened:
        yield opened


def frame_lines(numbers: list[int], quality: int = 90) -> str:
    """vPDQ text of made-up frames: frame i's hash is `s.pdq(numbers[i])`."""
    return "".join(f"{i},{quality},{s.pdq(n)},{i}.000\n" for i, n in enumerate(numbers))


def by_video(store: HashSetStore, name: str) -> dict[str, list[str]]:
    videos: dict[str, list[str]] = {}
    for e in store.entries(name, "vpdq"):
        assert e.media_id is not None
        videos.setdefault(e.media_id, []).append(e.digest)
    return videos


def folder_sha256(folder: Path) -> str:
    """The documented folder version, computed independently of the store."""
    lines = sorted(
        (p.relative_to(folder).as_posix(), hashlib.sha256(p.read_bytes()).hexdigest())
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    text = "".join(f"{digest}  {path}\n" for path, digest in lines)
    return hashlib.sha256(text.encode()).hexdigest()


def test_reimporting_a_folder_and_changing_it(store: HashSetStore, tmp_path: Path) -> None:
    folder = tmp_path / "known"
    (folder / "2024").mkdir(parents=True)
    (folder / "a.txt").write_text(frame_lines([1, 2, 3]))
    (folder / "2024" / "b.vpdq").write_text(frame_lines([4, 6]))
    first = store.import_file(folder)
    assert first.source_sha256 == folder_sha256(folder)
    assert sorted(by_video(store, "known")) == ["2024/b", "a"]
    files = sorted((store.path / "sets").iterdir())

    # Unchanged, or changed only by files the reader skips: the stored set, no new file.
    assert store.import_file(folder) == first
    (folder / ".DS_Store").write_bytes(b"\x00\x01")
    (folder / ".git").mkdir()
    (folder / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    assert store.import_file(folder) == first
    assert sorted((store.path / "sets").iterdir()) == files

    # One file's content changed: a new version replacing the old one.
    (folder / "a.txt").write_text(frame_lines([1, 2, 3, 5]))
    second = store.import_file(folder)
    assert second.source_sha256 not in {first.source_sha256}
    assert second.source_sha256 == folder_sha256(folder)
    assert second.counts == {"vpdq": 6}
    assert store.list() == [second]

    # A file renamed, same content: a new version too (the name is the video's media_id).
    (folder / "a.txt").rename(folder / "c.txt")
    third = store.import_file(folder)
    assert third.source_sha256 not in {first.source_sha256, second.source_sha256}
    assert sorted(by_video(store, "known")) == ["2024/b", "c"]
    assert len(list((store.path / "sets").iterdir())) == 1


def test_refused_folders_leave_the_store_unchanged(store: HashSetStore, tmp_path: Path) -> None:
    good = store.import_file(s.write_hashdeep(tmp_path / "local.txt", [1]))
    files = sorted((store.path / "sets").iterdir())

    hashdeep = tmp_path / "hashdeep"
    hashdeep.mkdir()
    s.write_hashdeep(hashdeep / "one.txt", [2])
    with pytest.raises(HashSetError, match=r"hashdeep: a folder; only vpdq sets are read from "):
        store.import_file(hashdeep, format="hashdeep")

    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / ".hidden.txt").write_text(frame_lines([1]))
    with pytest.raises(HashSetError, match=r"^empty: empty folder, no hash-set files in it$"):
        store.import_file(empty)
    with pytest.raises(HashSetError, match=r"^empty: empty folder, no vpdq files in it$"):
        store.import_file(empty, format="vpdq")

    malformed = tmp_path / "malformed"
    (malformed / "sub").mkdir(parents=True)
    (malformed / "a.txt").write_text(frame_lines([1, 2]))
    (malformed / "sub" / "b.txt").write_text(frame_lines([3]) + "3,90,not-a-hash,3.000\n")
    with pytest.raises(HashSetError, match=r"^sub/b\.txt:2: not a vPDQ line"):
        store.import_file(malformed, name="local")

    with pytest.raises(HashSetError, match=r"missing: no such file or folder"):
        store.import_file(tmp_path / "missing")

    assert store.list() == [good]
    assert sorted((store.path / "sets").iterdir()) == files
    assert not list((store.path / "sets").glob(".*"))
