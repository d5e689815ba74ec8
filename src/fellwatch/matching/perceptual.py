"""PDQ matching of one item's record against known-bad / known-good PDQ hash sets.

Every hash a record's `signals["pdq"]` holds is a query: the picture as it is, its seven
turned and mirrored variants and, when it had a flat border, the same eight of its inside
(see `fellwatch.signals.pdq`). All of them go to each set's index in one batch;
`match_many` puts every hash of a whole scan batch of records into one search. A known entry
matched by several variants is reported once, with the closest variant (ties: the variant
listed first, so "original" wins over "rot90", and an untrimmed variant over a trimmed one).

Hashes with quality below `min_quality` (default 50, Meta's recommendation) are not matched:
flat or nearly flat pictures give PDQ hashes that collide with unrelated pictures.

Near-matches too weak to count are *candidates* (`candidates_many`), offered to a person with
the suggested category and a reason, never counted: a hash of quality between
`candidate_min_quality` (default 20) and `min_quality` within the threshold ("quality 41 below
50"), or a hash of good quality up to `candidate_band` (default 8) bits past the threshold
("distance 35 beyond threshold 31"). A known picture that a record matches is never also its
candidate. Candidates come from known-bad sets only. The index is searched once, at the
threshold plus the band, for matches and candidates together.

An index is persisted under `index_dir` keyed by the hash set's source SHA-256, so a scan
loads it instead of building it; a stored index whose codes differ from the set's is rebuilt.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fellwatch.hashsets.base import HashSetInfo
from fellwatch.hashsets.categories import label
from fellwatch.matching.base import Candidate, Match
from fellwatch.matching.pdq_index import (
    PdqIndex,
    PdqIndexError,
    as_codes,
    hex_to_codes,
)
from fellwatch.record import ItemRecord
from fellwatch.signals.pdq import variant_hashes

DEFAULT_THRESHOLD = 31
DEFAULT_MIN_QUALITY = 50
DEFAULT_CANDIDATE_BAND = 8
DEFAULT_CANDIDATE_MIN_QUALITY = 20


@dataclass(slots=True)
class _PdqSet:
    info: HashSetInfo
    index: PdqIndex
    labels: list[str | None]  # mapped category per known row
    build_seconds: float
    loaded: bool


def open_index(
    codes: np.ndarray,
    source_sha256: str,
    index_dir: Path | None,
    backend: str = "auto",
) -> tuple[PdqIndex, bool]:
    """The index of one hash set's PDQ codes: loaded from `index_dir` when a stored one has
    exactly these codes, else built (and stored there). Returns (index, loaded)."""
    codes = as_codes(codes)
    if index_dir is None:
        return PdqIndex(codes, backend), False
    path = index_dir / f"pdq-{source_sha256}"
    if path.is_dir():
        try:
            index = PdqIndex.load(path)
            if np.array_equal(index.codes(), codes) and backend in ("auto", index.backend):
                return index, True
        except PdqIndexError:
            pass  # an old format or an unfinished save: rebuilt below
    index = PdqIndex(codes, backend)
    # Save beside and rename: a scan killed mid-save leaves no half index under the key.
    index_dir.mkdir(parents=True, exist_ok=True)
    tmp = index_dir / f".pdq-{source_sha256}.{uuid.uuid4().hex}.tmp"
    index.save(tmp)
    if path.exists():
        shutil.rmtree(path)
    tmp.rename(path)
    return index, False


class PerceptualMatcher:
    """`matching.base.Matcher` for PDQ: dihedral variants and border-trimmed hashes included.

    `sets` holds, per PDQ hash set, its info, its codes (`uint8 [n, 32]`, the bytes of the
    hex form, as `HashSetStore.pdq_hashes` returns them) and the raw category of each row.
    """

    def __init__(
        self,
        sets: list[tuple[HashSetInfo, np.ndarray, list[str | None]]],
        threshold: int = DEFAULT_THRESHOLD,
        min_quality: int = DEFAULT_MIN_QUALITY,
        index_dir: Path | None = None,
        backend: str = "auto",
        candidate_band: int = DEFAULT_CANDIDATE_BAND,
        candidate_min_quality: int = DEFAULT_CANDIDATE_MIN_QUALITY,
    ) -> None:
        if not 0 <= threshold < 256:
            raise ValueError(f"PDQ threshold must be in [0, 256), got {threshold}")
        if candidate_band < 0:
            raise ValueError(f"PDQ candidate band must be >= 0, got {candidate_band}")
        self.threshold = threshold
        self.min_quality = min_quality
        self.candidate_band = candidate_band
        self.candidate_min_quality = candidate_min_quality
        self._last: (
            tuple[list[ItemRecord], list[list[Match]], list[list[Candidate]]] | None
        ) = None
        self._sets: list[_PdqSet] = []
        for info, codes, categories in sorted(sets, key=lambda s: s[0].name):
            if len(categories) != len(codes):
                raise ValueError(f"{info.name}: {len(codes)} PDQ codes but {len(categories)} "
                                 "categories")
            started = time.perf_counter()
            index, loaded = open_index(codes, info.source_sha256, index_dir, backend)
            labels = [label(info.kind, info.category_map, c) for c in categories]
            self._sets.append(
                _PdqSet(info, index, labels, time.perf_counter() - started, loaded)
            )

    def describe(self) -> list[dict[str, Any]]:
        """Per set: name, size, backend, whether the index was loaded, seconds to open it
        (for run.json and progress, never for findings.json)."""
        return [
            {
                "hashset": s.info.name,
                "entries": s.index.ntotal,
                "backend": s.index.backend,
                "loaded": s.loaded,
                "seconds": round(s.build_seconds, 3),
            }
            for s in self._sets
        ]

    def queries(self, record: ItemRecord) -> list[tuple[str, str]]:
        """The (variant name, hex) pairs of a record that are matched on, in preference order."""
        return [(name, hx) for name, hx, q in self._queries(record) if q >= self.min_quality]

    def _queries(self, record: ItemRecord) -> list[tuple[str, str, int]]:
        """Every (variant, hex, quality) searched: the matched ones and those only good enough
        for a candidate, in preference order."""
        pdq = record.signals.get("pdq")
        if not isinstance(pdq, dict) or "hash" not in pdq:
            return []
        floor = min(self.min_quality, self.candidate_min_quality)
        return [v for v in variant_hashes(pdq) if v[2] >= floor]

    def match(self, record: ItemRecord) -> list[Match]:
        return self.match_many([record])[0]

    def match_many(self, records: Sequence[ItemRecord]) -> list[list[Match]]:
        """`match` for a batch of records: every hash of every record goes to each set's index
        in ONE search (the scan hands batches of up to 64 items), so the index's fixed cost
        per search is paid once per batch, not once per picture."""
        return self._search(records)[0]

    def candidates_many(self, records: Sequence[ItemRecord]) -> list[list[Candidate]]:
        """Near-matches of each record that do not count (module doc), one list per record.
        The search that `match_many` just made for the same records is reused, not repeated."""
        return self._search(records)[1]

    def _search(
        self, records: Sequence[ItemRecord]
    ) -> tuple[list[list[Match]], list[list[Candidate]]]:
        last = self._last
        if last is not None and len(last[0]) == len(records) and all(
            a is b for a, b in zip(last[0], records, strict=True)
        ):
            return last[1], last[2]
        matches, candidates = self._search_now(records)
        # The scan asks for matches, then candidates, of the same batch: one search serves both.
        self._last = (list(records), matches, candidates)
        return matches, candidates

    def _search_now(
        self, records: Sequence[ItemRecord]
    ) -> tuple[list[list[Match]], list[list[Candidate]]]:
        per_record = [self._queries(record) for record in records]
        results: list[list[Match]] = [[] for _ in records]
        near: list[list[Candidate]] = [[] for _ in records]
        first = np.zeros(len(records) + 1, dtype=np.int64)  # query rows of record r
        np.cumsum([len(q) for q in per_record], out=first[1:])
        if int(first[-1]) == 0 or not self._sets:
            return results, near
        codes = hex_to_codes([hx for queries in per_record for _, hx, _ in queries])
        found: list[list[tuple[str, int, int, Match]]] = [[] for _ in records]
        weak: list[list[tuple[str, int, int, Candidate]]] = [[] for _ in records]
        thr, band = self.threshold, self.candidate_band
        for pdq_set in self._sets:
            # Candidates are offered against known-bad sets only: a near miss on a known-good
            # set settles nothing for a person to look at.
            wants_near = pdq_set.info.kind == "known-bad"
            radius = min(thr + band, 255) if wants_near else thr
            result = pdq_set.index.search(codes, radius)
            info = pdq_set.info
            for r, queries in enumerate(per_record):
                base = int(first[r])
                best: dict[int, tuple[int, int]] = {}  # known row -> (distance, query rank)
                close: dict[int, tuple[int, int]] = {}  # the same, for candidates
                for q, (_, _, quality) in enumerate(queries):
                    good = quality >= self.min_quality
                    for row, dist in result.hits(base + q):
                        kept = best if good and dist <= thr else close
                        if kept is close and not (wants_near and self._is_candidate(dist, quality)):
                            continue
                        if row not in kept or (dist, q) < kept[row]:
                            kept[row] = (dist, q)
                for row, (dist, q) in best.items():
                    match = Match(
                        hashset=info.name,
                        set_kind=info.kind,
                        kind="pdq",
                        category=pdq_set.labels[row],
                        distance=dist,
                        variant=queries[q][0],
                    )
                    found[r].append((info.name, dist, row, match))
                for row, (dist, q) in close.items():
                    if row in best:
                        continue  # matched by another variant: a match, not a candidate
                    quality = queries[q][2]
                    reason = (
                        f"quality {quality} below {self.min_quality}"
                        if quality < self.min_quality
                        else f"distance {dist} beyond threshold {thr}"
                    )
                    candidate = Candidate(
                        hashset=info.name,
                        set_kind=info.kind,
                        kind="pdq",
                        category=pdq_set.labels[row],
                        distance=dist,
                        variant=queries[q][0],
                        quality=quality,
                        reason=reason,
                    )
                    weak[r].append((info.name, dist, row, candidate))
        for r, rows in enumerate(found):
            # Closest first within a set; the known row (sets are ordered by hash) breaks ties.
            rows.sort(key=lambda f: (f[0], f[1], f[2]))
            results[r] = [f[3] for f in rows]
        for r, cands in enumerate(weak):
            cands.sort(key=lambda f: (f[0], f[1], f[2]))
            near[r] = [f[3] for f in cands]
        return results, near

    def _is_candidate(self, distance: int, quality: int) -> bool:
        """Too weak to count, close enough to show: a hash below the quality floor (but not
        below the candidates' floor) within the threshold, or a good hash a few bits past it.
        A low-quality hash past the threshold is nothing: such hashes collide with unrelated
        pictures even within it."""
        if quality >= self.min_quality:
            return self.threshold < distance <= self.threshold + self.candidate_band
        return quality >= self.candidate_min_quality and distance <= self.threshold

    def close(self) -> None:
        self._sets = []
        self._last = None
