"""From `--hashset` arguments to the matchers a scan runs, and how findings.json names the sets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from fellwatch.hashsets.base import HashSetInfo
from fellwatch.hashsets.categories import label
from fellwatch.hashsets.store import HashSetStore
from fellwatch.matching.base import Matcher
from fellwatch.matching.exact import ExactMatcher
from fellwatch.settings import ScanSettings


def resolve_sets(refs: Sequence[str], store: HashSetStore) -> list[HashSetInfo]:
    """Each reference is a file (imported on first use, by its SHA-256) or a stored set's name.

    Raises HashSetError with a one-line reason (unknown name, unreadable file).
    """
    infos: list[HashSetInfo] = []
    for ref in refs:
        info = store.resolve(ref)
        if info.name not in {i.name for i in infos}:
            infos.append(info)
    return infos


def describe_sets(infos: Sequence[HashSetInfo]) -> list[dict[str, Any]]:
    """findings.json's `hashsets`: the version is the source file's SHA-256 alone, so the same
    set gives the same findings wherever and whenever it was imported."""
    return [
        {
            "name": i.name,
            "kind": i.kind,
            "format": i.format,
            "version": f"sha256:{i.source_sha256}",
            "entries": i.entries,
            "counts": dict(sorted(i.counts.items())),
        }
        for i in sorted(infos, key=lambda i: i.name)
    ]


def build_matchers(
    infos: Sequence[HashSetInfo], store: HashSetStore, settings: ScanSettings
) -> list[Matcher]:
    if not infos:
        return []
    # Imported only for sets that hold such hashes: faiss and numpy cost a scan without them
    # ~0.1 s before its first item.
    from fellwatch.matching.perceptual import PerceptualMatcher
    from fellwatch.matching.video import VideoMatcher, known_videos

    matchers: list[Matcher] = [ExactMatcher(store, infos)]
    videos = []
    for info in infos:
        if info.counts.get("vpdq"):
            frames = [
                replace(e, category=label(info.kind, info.category_map, e.category))
                for e in store.entries(info.name, "vpdq")
            ]
            videos += known_videos(info.name, info.kind, frames)
    if videos:
        matchers.append(VideoMatcher(videos))
    pdq_sets = [(info, *store.pdq_hashes(info.name)) for info in infos if info.counts.get("pdq")]
    if pdq_sets:
        # The faiss index is saved beside the store, keyed by the set's SHA-256, so the next
        # scan with the same set loads it instead of building it again.
        matchers.append(
            PerceptualMatcher(
                pdq_sets,
                threshold=settings.pdq_threshold,
                min_quality=settings.pdq_min_quality,
                candidate_band=settings.pdq_candidate_band,
                candidate_min_quality=settings.pdq_candidate_min_quality,
                index_dir=store.path / "index",
            )
        )
    return matchers
