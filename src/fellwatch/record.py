"""The item record: the one typed value a worker makes for an item and every layer reads.

Workers build an `ItemRecord` per item, the scan attaches `matches` and `candidates` and decides
once what the item is (`known_good`, `review`, `carved_duplicate_of`); the store keeps it, the
reports and the web import read it. Its JSON form (`to_json`) is the ITEM of
`docs/findings-schema.md`; `from_json` reads it back and refuses a shape it does not know, so a
field cannot drift between layers unnoticed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from fellwatch.errors import FellwatchError

Origin = Literal["filesystem", "archive", "folder", "carved"]
SetKind = Literal["known-bad", "known-good"]


class RecordError(FellwatchError):
    """A stored or imported record does not have the shape of findings-schema.md."""


@dataclass(frozen=True, slots=True, order=True)
class Match:
    """A hit in a hash set: which set, which hash kind, the category and (PDQ) the distance."""

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

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Match:
        return cls(**_known(cls, data, "match"))


@dataclass(frozen=True, slots=True)
class Candidate:
    """A perceptual near-match too weak to count: offered to a person, never counted as a match.

    `reason` says why it is only a candidate (quality below the floor, distance past the
    threshold); `quality` is the item's PDQ quality.
    """

    hashset: str
    set_kind: str
    kind: str
    quality: int
    reason: str
    category: str | None = None
    distance: int | None = None
    variant: str | None = None
    media_id: str | None = None
    frames: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Candidate:
        return cls(**_known(cls, data, "candidate"))


@dataclass(slots=True)
class ItemRecord:
    """What the scan knows about one item. Field names are findings-schema.md's ITEM fields."""

    evidence: str
    key: str
    path: str
    size: int
    origin: str
    allocated: bool = True
    path_spec: str | None = None
    partition: str | None = None
    inode: int | None = None
    offset: int | None = None
    times: dict[str, str] = field(default_factory=dict)
    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    content_type: str | None = None
    extension_mismatch: bool = False
    signals: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    # Decided by the scan (scan.pipeline.classify and the carved-duplicate pass), never later.
    matches: list[Match] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    known_good: bool = False
    review: bool = False
    carved_duplicate_of: str | None = None

    @property
    def readable(self) -> bool:
        """Read in full (digests exist) or at least signalled: worth matching."""
        return self.md5 is not None or bool(self.signals)

    @property
    def known_bad(self) -> bool:
        return any(m.set_kind == "known-bad" for m in self.matches)

    def categories(self) -> list[str]:
        """The categories of its known-bad matches (`uncategorised` where a set gave none)."""
        return sorted(
            {m.category or "uncategorised" for m in self.matches if m.set_kind == "known-bad"}
        )

    def listed(self) -> bool:
        """findings.json lists what matched, is known-good, failed, needs review or has
        candidates for a person to confirm."""
        return bool(
            self.matches or self.candidates or self.known_good or self.error or self.review
        )

    def counted(self) -> bool:
        """A carved copy of a named file is kept (its offset is evidence too) but not counted."""
        return self.carved_duplicate_of is None

    def to_json(self) -> dict[str, Any]:
        """The ITEM object of findings-schema.md (`carved_duplicate_of` only where set)."""
        data: dict[str, Any] = {
            "evidence": self.evidence,
            "key": self.key,
            "path": self.path,
            "path_spec": self.path_spec,
            "partition": self.partition,
            "inode": self.inode,
            "offset": self.offset,
            "size": self.size,
            "allocated": self.allocated,
            "origin": self.origin,
            "times": dict(sorted(self.times.items())),
            "md5": self.md5,
            "sha1": self.sha1,
            "sha256": self.sha256,
            "content_type": self.content_type,
            "extension_mismatch": self.extension_mismatch,
            "signals": self.signals,
            "error": self.error,
            "matches": [m.to_json() for m in self.matches],
            "candidates": [c.to_json() for c in self.candidates],
            "known_good": self.known_good,
            "review": self.review,
        }
        if self.carved_duplicate_of is not None:
            data["carved_duplicate_of"] = self.carved_duplicate_of
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ItemRecord:
        values = _known(cls, data, "item")
        values["matches"] = [Match.from_json(m) for m in data.get("matches", [])]
        values["candidates"] = [Candidate.from_json(c) for c in data.get("candidates", [])]
        try:
            return cls(**values)
        except TypeError as exc:  # a required field missing
            raise RecordError(f"item record {data.get('key')!r}: {exc}") from exc


def _known(cls: type, data: dict[str, Any], what: str) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise RecordError(f"{what} record has fields findings-schema.md does not know: {unknown}")
    return dict(data)
