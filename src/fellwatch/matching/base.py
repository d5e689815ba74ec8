"""What a match is. Every match names the set, the hash kind and the category."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True, order=True)
class Match:
    hashset: str
    set_kind: str  # "known-bad" | "known-good"
    kind: str  # "md5" | "sha1" | "sha256" | "pdq" | "vpdq"
    category: str | None = None  # the mapped category label, e.g. "A", "CAM"
    distance: int | None = None  # 0 for exact; Hamming distance for PDQ
    variant: str | None = None  # which dihedral variant / border trim matched (PDQ)
    media_id: str | None = None
    frames: str | None = None  # vPDQ: "matched/total"

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True, slots=True, order=True)
class Candidate:
    """A perceptual near-match too weak to count: the fields of a `Match`, the quality of the
    item's hash that came near, and why it is not a match ("quality 41 below 50", "distance 35
    beyond threshold 31"). Offered to a person with its suggested category; never counted.

    A stand-in with the shape of the lead's `fellwatch.record.Candidate` until that lands."""

    hashset: str
    set_kind: str
    kind: str
    category: str | None = None
    distance: int | None = None
    variant: str | None = None
    media_id: str | None = None
    frames: str | None = None
    quality: int = 0
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


class Matcher(Protocol):
    """Looks one item's record up against hash sets.

    `record` is the item's JSON-able record as the scan builds it: it holds `md5`, `sha1`,
    `sha256`, `content_type` and `signals` (e.g. `signals["pdq"]`). A matcher does no I/O on
    evidence.
    """

    def match(self, record: dict[str, Any]) -> list[Match]: ...

    # A matcher MAY also have `candidates_many(records) -> list[list[Candidate]]` (one list per
    # record, same order): near-matches the scan writes on the item as `candidates`.

    def close(self) -> None: ...
