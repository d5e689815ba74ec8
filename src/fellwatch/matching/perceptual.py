"""PDQ matching of one item's record against known-bad / known-good PDQ hash sets.

Every hash a record's `signals["pdq"]` holds is a query: the picture as it is, its seven
turned and mirrored variants and, when it had a flat border, the same eight of its inside
(see `fellwatch.signals.pdq`). All of them go to each set's index in one batch;
`match_many` puts every hash of a whole scan batch of records into one search. A known entry
matched by several variants is reported once, with the closest variant (ties: the variant
listed first, so "original" wins over "rot90", and an untrimmed variant over a trimmed one).

Hashes with quality below `min_quality` (default 50, Meta's recommendation) are not matched:
flat or nearly flat pictures give PDQ hashes that collide with unrelated pictures.

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
from fellwatch.matching.base import Match
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
    ) -> None:
        if not 0 <= threshold < 256:
            raise ValueError(f"PDQ threshold must be in [0, 256), got {threshold}")
        self.threshold = threshold
        self.min_quality = min_quality
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
        pdq = record.signals.get("pdq")
        if not isinstance(pdq, dict) or "hash" not in pdq:
            return []
        return [(name, hx) for name, hx, q in variant_hashes(pdq) if q >= self.min_quality]

    def match(self, record: ItemRecord) -> list[Match]:
        return self.match_many([record])[0]

    def match_many(self, records: Sequence[ItemRecord]) -> list[list[Match]]:
        """`match` for a batch of records: every hash of every record goes to each set's index
        in ONE search (the scan hands batches of up to 64 items), so the index's fixed cost
        per search is paid once per batch, not once per picture."""
        per_record = [self.queries(record) for record in records]
        results: list[list[Match]] = [[] for _ in records]
        first = np.zeros(len(records) + 1, dtype=np.int64)  # query rows of record r
        np.cumsum([len(q) for q in per_record], out=first[1:])
        if int(first[-1]) == 0 or not self._sets:
            return results
        codes = hex_to_codes([hx for queries in per_record for _, hx in queries])
        found: list[list[tuple[str, int, int, Match]]] = [[] for _ in records]
        for pdq_set in self._sets:
            result = pdq_set.index.search(codes, self.threshold)
            info = pdq_set.info
            for r, queries in enumerate(per_record):
                base = int(first[r])
                best: dict[int, tuple[int, int]] = {}  # known row -> (distance, query rank)
                for q in range(len(queries)):
                    for row, dist in result.hits(base + q):
                        if row not in best or (dist, q) < best[row]:
                            best[row] = (dist, q)
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
        for r, rows in enumerate(found):
            # Closest first within a set; the known row (sets are ordered by hash) breaks ties.
            rows.sort(key=lambda f: (f[0], f[1], f[2]))
            results[r] = [f[3] for f in rows]
        return results

    def close(self) -> None:
        self._sets = []
