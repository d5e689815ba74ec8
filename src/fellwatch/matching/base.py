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


class Matcher(Protocol):
    """Looks one item's record up against hash sets.

    `record` is the item's JSON-able record as the scan builds it: it holds `md5`, `sha1`,
    `sha256`, `content_type` and `signals` (e.g. `signals["pdq"]`). A matcher does no I/O on
    evidence.
    """

    def match(self, record: dict[str, Any]) -> list[Match]: ...

    def close(self) -> None: ...
