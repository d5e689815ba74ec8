"""Video matching by bag of frames, as Meta's vPDQ does.

A scanned video matches a known video when at least `query_threshold` per cent of its
good-quality frames (PDQ quality >= `quality`) lie within Hamming distance `distance` of some
good-quality frame of the known video. vPDQ (ThreatExchange) also requires the reverse
(`compared_threshold` per cent of the known video's frames matched by the scanned one); that
check is off by default so that a clip cut from a known video is still found, and setting both
thresholds to 80 reproduces vPDQ's default exactly.

Frames are compared as four 64-bit words with numpy's popcount: one scanned frame against
every known frame is a single vectorised pass.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from fellwatch.hashsets.base import HashEntry, SetKind
from fellwatch.matching.base import Match
from fellwatch.record import ItemRecord

DEFAULT_DISTANCE = 31
DEFAULT_QUALITY = 50
DEFAULT_QUERY_THRESHOLD = 80.0
DEFAULT_COMPARED_THRESHOLD = 0.0


@dataclass(frozen=True, slots=True)
class KnownVideo:
    """One known video of a hash set: its frames' (pdq_hex, quality)."""

    hashset: str
    set_kind: SetKind
    media_id: str
    frames: tuple[tuple[str, int], ...]
    category: str | None = None


def known_videos(
    hashset: str, set_kind: SetKind, entries: Iterable[HashEntry],
    category: str | None = None,
) -> list[KnownVideo]:
    """Group a set's `vpdq` entries (one per frame, see hashsets.vpdq) into videos by media_id."""
    frames: dict[str, list[tuple[str, int]]] = defaultdict(list)
    categories: dict[str, str | None] = {}
    for e in entries:
        if e.kind != "vpdq":
            continue
        media = e.media_id or ""
        frames[media].append((e.digest, 100 if e.quality is None else e.quality))
        categories.setdefault(media, e.category or category)
    return [
        KnownVideo(hashset, set_kind, m, tuple(f), categories[m])
        for m, f in sorted(frames.items())
    ]


def _words(hexes: Iterable[str]) -> np.ndarray:
    raw = b"".join(bytes.fromhex(h) for h in hexes)
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(-1, 4)


class VideoMatcher:
    """Matches `record["signals"]["vpdq"]` against known videos (matching.base.Matcher)."""

    def __init__(
        self,
        videos: Iterable[KnownVideo],
        distance: int = DEFAULT_DISTANCE,
        quality: int = DEFAULT_QUALITY,
        query_threshold: float = DEFAULT_QUERY_THRESHOLD,
        compared_threshold: float = DEFAULT_COMPARED_THRESHOLD,
    ) -> None:
        self.distance = distance
        self.quality = quality
        self.query_threshold = query_threshold
        self.compared_threshold = compared_threshold
        self._videos: list[KnownVideo] = []
        hexes: list[str] = []
        owners: list[int] = []
        for video in videos:
            good = [h for h, q in video.frames if q >= quality]
            if not good:
                continue  # a known video with no good frame can never be matched fairly
            owners += [len(self._videos)] * len(good)
            hexes += good
            self._videos.append(video)
        self._known = _words(hexes) if hexes else np.zeros((0, 4), dtype=np.uint64)
        self._owner = np.asarray(owners, dtype=np.int64)
        self._per_video = np.bincount(self._owner, minlength=len(self._videos))

    def match(self, record: ItemRecord) -> list[Match]:
        signal = record.signals.get("vpdq")
        if not signal or not len(self._videos):
            return []
        query = [h for _, q, h, _ in signal.get("frames", []) if q >= self.quality]
        if not query:
            return []
        matched_query = np.zeros(len(self._videos), dtype=np.int64)
        matched_known = np.zeros(len(self._known), dtype=bool)
        best = np.full(len(self._videos), 257, dtype=np.int64)
        for row in _words(query):
            dist = np.bitwise_count(self._known ^ row).sum(axis=1)
            close = dist <= self.distance
            if not close.any():
                continue
            matched_known |= close
            owners = np.unique(self._owner[close])
            matched_query[owners] += 1
            np.minimum.at(best, self._owner[close], dist[close])
        known_hits = np.bincount(self._owner[matched_known], minlength=len(self._videos))
        matches = []
        total = len(query)
        for i in np.flatnonzero(matched_query):
            query_pct = 100.0 * matched_query[i] / total
            compared_pct = 100.0 * known_hits[i] / self._per_video[i]
            if query_pct >= self.query_threshold and compared_pct >= self.compared_threshold:
                video = self._videos[i]
                matches.append(Match(
                    hashset=video.hashset,
                    set_kind=video.set_kind,
                    kind="vpdq",
                    category=video.category,
                    distance=int(best[i]),
                    media_id=video.media_id,
                    frames=f"{int(matched_query[i])}/{total}",
                ))
        return sorted(matches)

    def close(self) -> None:
        self._known = np.zeros((0, 4), dtype=np.uint64)
        self._videos = []
