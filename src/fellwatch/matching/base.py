"""What a matcher is. A match (`record.Match`) names the set, the hash kind and the category."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from fellwatch.record import Candidate, ItemRecord, Match

__all__ = ["Candidate", "CandidateSource", "Match", "Matcher"]


class Matcher(Protocol):
    """Looks items' records up against hash sets.

    A record holds `md5`, `sha1`, `sha256`, `content_type` and `signals` (e.g.
    `signals["pdq"]`) when it reaches a matcher. A matcher does no I/O on evidence.
    """

    def match(self, record: ItemRecord) -> list[Match]: ...

    def close(self) -> None: ...


class CandidateSource(Protocol):
    """A matcher that also offers near-matches too weak to count (perceptual ones)."""

    def candidates_many(self, records: Sequence[ItemRecord]) -> list[list[Candidate]]: ...
