"""vPDQ end to end on PyAV-encoded videos of generated frames: hashing, the text format, and
bag-of-frames matching (a re-encode matches, a clip matches, an unrelated video does not)."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import pytest

from fellwatch.evidence.item import ItemError
from fellwatch.hashsets.base import HashSetError
from fellwatch.hashsets.vpdq import VpdqFormat, format_frames, parse_line
from fellwatch.matching.video import KnownVideo, VideoMatcher, known_videos
from fellwatch.signals import base as signal_base
from fellwatch.signals.vpdq import VpdqSignal
from tests.carving import samples
from tests.records import lookup


@cache
def video(fmt: str, index: int, seconds: int = 5, size: tuple[int, int] = (160, 120)) -> bytes:
    return samples.video(fmt, seconds=seconds, index=index, size=size)


def vpdq(blob: bytes, **options: float) -> dict:
    result = VpdqSignal(**options).compute(io.BytesIO(blob), "video/mp4")  # type: ignore[arg-type]
    assert result is not None
    return result


def test_registered_and_applies_to_video_only() -> None:
    signal = signal_base.registered()["vpdq"]
    assert signal.applies_to("video/mp4") and signal.applies_to("video/x-msvideo")
    assert not signal.applies_to("image/jpeg")


@pytest.mark.parametrize("fmt", ["mp4", "avi"])
def test_one_frame_per_second(fmt: str) -> None:
    result = vpdq(video(fmt, 0))
    assert result["duration"] == pytest.approx(5.0, abs=0.11)
    frames = result["frames"]
    assert [f[0] for f in frames] == [0, 10, 20, 30, 40]  # 10 fps: every tenth frame
    assert [f[3] for f in frames] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert all(len(f[2]) == 64 and 0 <= f[1] <= 100 for f in frames)


def test_sampling_interval_is_configurable() -> None:
    assert len(vpdq(video("mp4", 0), seconds_per_hash=0.5)["frames"]) == 10


def test_same_frames_in_mp4_and_avi_hash_close() -> None:
    mp4 = vpdq(video("mp4", 0))["frames"]
    avi = vpdq(video("avi", 0))["frames"]
    for a, b in zip(mp4, avi, strict=True):
        distance = bin(int(a[2], 16) ^ int(b[2], 16)).count("1")
        assert distance <= 31


def test_downscaling_changes_hashes_little() -> None:
    big = video("mp4", 1, size=(640, 480))
    full = vpdq(big, downscale=0)["frames"]
    small = vpdq(big, downscale=128)["frames"]
    for a, b in zip(full, small, strict=True):
        assert bin(int(a[2], 16) ^ int(b[2], 16)).count("1") <= 20


@pytest.mark.parametrize("cut", [0.3, 0.6])
def test_truncated_video_is_a_clear_error(cut: float) -> None:
    for fmt in ("mp4", "avi"):
        blob = video(fmt, 0)
        with pytest.raises(ItemError):
            vpdq(blob[: int(len(blob) * cut)])


def test_garbage_is_a_clear_error() -> None:
    with pytest.raises(ItemError, match="does not decode"):
        vpdq(b"\x00\x00\x00\x18ftypisom" + bytes(4000))


def write_known(folder: Path, name: str, blob: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.txt"
    path.write_text(format_frames(vpdq(blob)["frames"]))
    return path


def test_text_format_round_trip(tmp_path: Path) -> None:
    path = write_known(tmp_path / "set", "known-a", video("mp4", 0))
    fmt = VpdqFormat()
    assert fmt.sniff(path.read_bytes()[:512], path)
    assert fmt.sniff(b"", tmp_path / "set")  # a folder of vPDQ files
    entries = list(fmt.read(path))
    assert len(entries) == 5
    assert {e.kind for e in entries} == {"vpdq"} and {e.media_id for e in entries} == {"known-a"}
    assert entries[0].digest == vpdq(video("mp4", 0))["frames"][0][2]


def test_text_format_rejects_malformed_lines(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("0,100," + "a" * 64 + ",0.000\nnot a line\n")
    with pytest.raises(HashSetError, match=r"bad\.txt:2"):
        list(VpdqFormat().read(path))
    assert not VpdqFormat().sniff(b"md5,sha1\n", path)
    assert parse_line("\n") is None
    with pytest.raises(HashSetError):
        parse_line("0,101," + "a" * 64 + ",0.0")


@pytest.fixture(scope="module")
def matcher(tmp_path_factory: pytest.TempPathFactory) -> VideoMatcher:
    folder = tmp_path_factory.mktemp("vpdq") / "known"
    write_known(folder, "walk", video("mp4", 0, seconds=10))
    write_known(folder, "coffee", video("mp4", 1))
    entries = list(VpdqFormat().read(folder))
    return VideoMatcher(known_videos("demo", "known-bad", entries, category="A"))


def record(blob: bytes) -> dict:
    return {"content_type": "video/mp4", "signals": {"vpdq": vpdq(blob)}}


def test_reencoded_video_matches(matcher: VideoMatcher) -> None:
    # The same frames re-encoded to AVI (a different codec) still match, all frames.
    [match] = matcher.match(lookup(record(video("avi", 0, seconds=10))))
    assert (match.kind, match.media_id, match.category, match.frames) == ("vpdq", "walk", "A",
                                                                        "10/10")
    assert match.to_json()["hashset"] == "demo"


def test_clip_of_a_known_video_matches_by_default(matcher: VideoMatcher) -> None:
    [match] = matcher.match(lookup(record(video("mp4", 0, seconds=4))))
    assert match.media_id == "walk" and match.frames == "4/4"


def test_both_way_threshold_reproduces_vpdq(matcher: VideoMatcher) -> None:
    strict = VideoMatcher(matcher._videos, compared_threshold=80.0)
    assert strict.match(lookup(record(video("mp4", 0, seconds=4)))) == []  # 4 of 10 known frames
    found = strict.match(lookup(record(video("avi", 0, seconds=10))))
    assert [m.media_id for m in found] == ["walk"]


def test_unrelated_video_does_not_match(matcher: VideoMatcher) -> None:
    assert matcher.match(lookup(record(video("mp4", 2)))) == []


def test_low_quality_frames_are_not_matched_on() -> None:
    frames = vpdq(video("mp4", 0))["frames"]
    flat = [[n, 10, h, t] for n, _, h, t in frames]  # all frames below the quality floor
    known = KnownVideo("demo", "known-bad", "walk", tuple((h, 100) for _, _, h, _ in frames))
    m = VideoMatcher([known])
    assert m.match(lookup({"signals": {"vpdq": {"frames": flat, "duration": 5.0}}})) == []
    assert m.match(lookup({"signals": {}})) == []


def test_threshold_is_configurable(matcher: VideoMatcher) -> None:
    # Half the frames replaced by another video's: below 80 %, above 40 %.
    walk = vpdq(video("mp4", 0))["frames"]
    other = vpdq(video("mp4", 2))["frames"]
    mixed = {"signals": {"vpdq": {"frames": walk[:2] + other[2:], "duration": 5.0}}}
    assert matcher.match(lookup(mixed)) == []
    loose = VideoMatcher(matcher._videos, query_threshold=40.0)
    assert [m.frames for m in loose.match(lookup(mixed))] == ["2/5"]
