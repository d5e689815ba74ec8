"""vPDQ sets in the store: a folder of videos is one set, frames shared between videos stay with
every video, a folder's version, refused folders, and set files of the previous layout."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from fellwatch.hashsets.base import HashSetError
from fellwatch.hashsets.store import HashSetStore
from fellwatch.hashsets.vpdq import format_frames
from fellwatch.matching.video import VideoMatcher
from fellwatch.scan.matchers import build_matchers
from fellwatch.settings import ScanSettings
from tests.hashsets import samples as s
from tests.records import lookup
from tests.signals.test_vpdq import record, video, vpdq, write_known


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


def test_frames_shared_between_videos_stay_with_both(store: HashSetStore, tmp_path: Path) -> None:
    # Two edits of the same footage: "edit" opens with the first five seconds of "walk" (the
    # same frame hashes), then cuts to other footage, and shows its first frame twice.
    folder = tmp_path / "videos"
    write_known(folder, "walk", video("mp4", 0, seconds=10))
    walk = vpdq(video("mp4", 0, seconds=10))["frames"]
    other = vpdq(video("mp4", 1))["frames"]
    edit = [walk[0], *walk[:5], *other]
    (folder / "edit.txt").write_text(format_frames(edit))
    assert all(q >= 50 for _, q, _, _ in edit + walk)  # good frames: all of them match on

    info = store.import_file(folder)
    expected = {
        "walk": sorted({h for _, _, h, _ in walk}),
        "edit": sorted({h for _, _, h, _ in edit}),
    }
    assert len(expected["walk"]) == 10 and len(expected["edit"]) == 10
    assert (info.name, info.format, info.kind) == ("videos", "vpdq", "known-bad")
    assert by_video(store, "videos") == expected
    assert info.counts == {"vpdq": 20} and info.entries == 20
    assert info.skipped == {"repeated frame within one video (bag of frames)": 1}

    # A four-second clip of the footage is found in both videos.
    matchers = build_matchers([info], store, ScanSettings())
    [videos] = [m for m in matchers if isinstance(m, VideoMatcher)]
    matches = videos.match(lookup(record(video("mp4", 0, seconds=4))))
    assert [(m.hashset, m.media_id, m.frames) for m in matches] == [
        ("videos", "edit", "4/4"),
        ("videos", "walk", "4/4"),
    ]


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


# The set file layout before frames had their own table: vPDQ frames were `entry` rows keyed
# (kind, digest), written with INSERT OR IGNORE.
_OLD_ENTRY_SCHEMA = """
CREATE TABLE entry (
    kind INTEGER NOT NULL,
    digest BLOB NOT NULL,
    category TEXT,
    media_id TEXT,
    size INTEGER,
    quality INTEGER,
    PRIMARY KEY (kind, digest)
) WITHOUT ROWID
"""


def test_a_set_file_of_the_previous_layout_still_reads(tmp_path: Path) -> None:
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "a.txt").write_text(frame_lines([1, 2, 3]))
    (folder / "b.txt").write_text(frame_lines([4, 5]))
    with HashSetStore(tmp_path / "store") as store:
        info = store.import_file(folder)
    # Rewrite the set's file as the previous version wrote it: `entry` only, no `frame`.
    [path] = (tmp_path / "store" / "sets").iterdir()
    path.unlink()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(_OLD_ENTRY_SCHEMA)
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.executemany(
            "INSERT OR IGNORE INTO entry VALUES (5, ?, NULL, ?, NULL, 90)",
            [
                (bytes.fromhex(s.pdq(n)), m)
                for n, m in [(3, "a"), (1, "a"), (2, "a"), (4, "b"), (5, "b")]
            ],
        )
    conn.close()

    with HashSetStore(tmp_path / "store") as store:
        assert store.get("old") == info
        assert by_video(store, "old") == {
            "a": sorted(s.pdq(n) for n in (1, 2, 3)),
            "b": sorted(s.pdq(n) for n in (4, 5)),
        }
        assert {e.quality for e in store.entries("old", "vpdq")} == {90}
        [videos] = [
            m for m in build_matchers([info], store, ScanSettings()) if isinstance(m, VideoMatcher)
        ]
        frames = [[i, 90, s.pdq(n), float(i)] for i, n in enumerate((4, 5))]
        [match] = videos.match(lookup({"signals": {"vpdq": {"frames": frames, "duration": 2.0}}}))
        assert (match.media_id, match.frames) == ("b", "2/2")
        with pytest.raises(HashSetError, match=r"vpdq frames are matched by video"):
            store.lookup("vpdq", [s.pdq(1)], ["old"])


def test_a_folder_resolves_like_a_file(store: HashSetStore, tmp_path: Path) -> None:
    # `fellwatch scan --hashset FOLDER` goes through resolve: imported once, then found by
    # its version; a folder no format reads is refused with the folder's reason.
    folder = tmp_path / "known"
    folder.mkdir()
    (folder / "a.txt").write_text(frame_lines([1, 2, 3]))
    imported = store.resolve(folder)
    assert (imported.name, imported.format, imported.counts) == ("known", "vpdq", {"vpdq": 3})
    assert store.resolve(str(folder)) == imported
    files = sorted((store.path / "sets").iterdir())
    store.resolve(folder)
    assert sorted((store.path / "sets").iterdir()) == files
    other = tmp_path / "md5s"
    other.mkdir()
    (other / "list.txt").write_text("d41d8cd98f00b204e9800998ecf8427e  empty\n")
    with pytest.raises(HashSetError):
        store.resolve(other)
    assert [i.name for i in store.list()] == ["known"]


def test_two_files_of_one_video_name_are_refused(store: HashSetStore, tmp_path: Path) -> None:
    # a.txt and a.vpdq would both be video "a", their frames merged into one bag.
    folder = tmp_path / "known"
    folder.mkdir()
    (folder / "a.txt").write_text(frame_lines([1, 2]))
    (folder / "a.vpdq").write_text(frame_lines([3, 4]))
    with pytest.raises(HashSetError, match=r"a\.txt and a\.vpdq are both video 'a'"):
        store.import_file(folder)
    assert store.list() == []
