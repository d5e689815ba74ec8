"""An exact Hamming range index over 256-bit PDQ hashes.

Two backends, both exact (every known hash within the threshold is returned, nothing else):

* ``flat`` — faiss ``IndexBinaryFlat``: one pass over all codes per query. Cheapest to build,
  best for small sets.
* ``mih`` — multi-index hashing (Norouzi, Punjani & Fleet, 2012) over a faiss-held copy of the
  codes: the first 253 bits are cut into ``SUBSTRINGS`` = 11 disjoint 23-bit substrings, each
  with a direct-address table (bucket offsets + ids). By the generalised pigeonhole principle
  (``substring_radii``), two hashes within Hamming distance ``t`` agree to within ``r_i``
  bits on some substring ``i`` when ``sum(r_i + 1) = t + 1``, so probing every bucket within
  ``r_i`` bits of the query's substrings (2 794 buckets per hash at t = 31) finds every true
  match; candidates are then checked on all 256 bits. Any number of queries is searched in one
  vectorised pass (``PerceptualMatcher.match_many`` sends a whole scan batch).

``auto`` picks by size: ``mih`` from ``MIH_MIN_SIZE`` hashes up (the crossover measured by
``bench/pdq_index.py``, see docs/perceptual.md). faiss's own ``IndexBinaryMultiHash`` was
measured too and was slower than the flat scan at every size we tried (its buckets are
``std::unordered_map``s of vectors, and exactness at t = 31 needs ``nflip >= 31 // nhash``),
so it is not used.

faiss's binary ``range_search`` keeps distances strictly below the radius; we pass
``threshold + 1`` so the threshold is inclusive (``distance <= threshold``), as PDQ's is.

Codes are ``uint8 [n, 32]`` rows: the bytes of Meta's hex form (``bytes.fromhex(hex)``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations
from pathlib import Path
from typing import Any, Literal

import faiss
import numpy as np

from fellwatch.errors import FellwatchError

BITS = 256
CODE_BYTES = BITS // 8
SUBSTRINGS = 11
SUBSTRING_BITS = 23
MIH_MIN_SIZE = 150_000
# Queries per vectorised mih pass: bigger passes spill their temporaries out of the caches
# (at 10 M, 512 hashes per pass were ~25 % slower per hash than 48-64; measured).
MIH_CHUNK = 64
INDEX_FORMAT = 1

Backend = Literal["flat", "mih"]


class PdqIndexError(FellwatchError):
    """An index file is missing, of another format, or does not fit its hash set."""


@dataclass(frozen=True, slots=True)
class RangeResult:
    """faiss-style range results: the hits of query ``q`` are ``ids[lims[q]:lims[q + 1]]``
    with ``distances`` alike; within a query, ordered by id."""

    lims: np.ndarray  # int64 [q + 1]
    ids: np.ndarray  # int64
    distances: np.ndarray  # int32

    def hits(self, q: int) -> list[tuple[int, int]]:
        a, b = int(self.lims[q]), int(self.lims[q + 1])
        return list(zip(self.ids[a:b].tolist(), self.distances[a:b].tolist(), strict=True))


def as_codes(codes: np.ndarray) -> np.ndarray:
    """Check and normalise a PDQ code array to C-contiguous ``uint8 [n, 32]``."""
    arr = np.ascontiguousarray(codes, dtype=np.uint8)
    if arr.ndim != 2 or arr.shape[1] != CODE_BYTES:
        raise ValueError(f"PDQ codes must be uint8 [n, {CODE_BYTES}], got {arr.shape}")
    return arr


def hex_to_codes(hexes: list[str]) -> np.ndarray:
    """Meta-form hex strings to ``uint8 [n, 32]``."""
    if not hexes:
        return np.zeros((0, CODE_BYTES), dtype=np.uint8)
    return np.frombuffer(b"".join(bytes.fromhex(h) for h in hexes), dtype=np.uint8).reshape(
        -1, CODE_BYTES
    )


def hamming_brute_force(queries: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """All pairwise Hamming distances, ``int32 [q, n]``: the reference the index is checked
    against (numpy popcount of XOR)."""
    q64 = as_codes(queries).view(np.uint64)
    c64 = as_codes(codes).view(np.uint64)
    out = np.zeros((q64.shape[0], c64.shape[0]), dtype=np.int32)
    for w in range(4):
        out += np.bitwise_count(q64[:, w, None] ^ c64[None, :, w]).astype(np.int32)
    return out


def _words(codes: np.ndarray) -> np.ndarray:
    """Codes as four big-endian 64-bit words per row, host order (bit 0 = the hex's first)."""
    return as_codes(codes).view(">u8").astype(np.uint64)


def _substring_keys(words: np.ndarray) -> np.ndarray:
    """``uint32 [n, SUBSTRINGS]``: substring s is bits [23 s, 23 s + 23) counted from the top."""
    n = words.shape[0]
    keys = np.empty((n, SUBSTRINGS), dtype=np.uint32)
    mask = np.uint64((1 << SUBSTRING_BITS) - 1)
    for s in range(SUBSTRINGS):
        start = s * SUBSTRING_BITS
        end = start + SUBSTRING_BITS  # exclusive, counted from the most significant bit
        w0, w1 = start // 64, (end - 1) // 64
        if w0 == w1:
            shift = np.uint64(64 - (end - w0 * 64))
            val = (words[:, w0] >> shift) & mask
        else:
            low_bits = end - w1 * 64  # bits taken from the top of word w1
            high = (words[:, w0] << np.uint64(low_bits)) & mask
            val = high | (words[:, w1] >> np.uint64(64 - low_bits))
        keys[:, s] = val.astype(np.uint32)
    return keys


@lru_cache(maxsize=8)
def _flip_masks(radius: int) -> np.ndarray:
    masks = [0]
    for r in range(1, radius + 1):
        for bits in combinations(range(SUBSTRING_BITS), r):
            masks.append(sum(1 << b for b in bits))
    return np.array(masks, dtype=np.uint32)


def substring_radii(threshold: int) -> list[int]:
    """Probe radius per substring, -1 = not probed (generalised pigeonhole, Qin et al. 2018):
    if every substring i differed by more than r_i bits, the whole hash would differ by at
    least sum(r_i + 1) bits; radii summing to threshold - SUBSTRINGS + 1 make that exceed the
    threshold, so some substring is within its radius for every true match. At 31 that is
    ten substrings at 2 bits and one at 1 (2 794 probes, not 11 x 277 = 3 047); at 0 it is
    one substring at 0."""
    need = threshold - SUBSTRINGS + 1
    base, extra = divmod(need + SUBSTRINGS, SUBSTRINGS)  # radii r_i + 1 >= 0 summing to need+S
    return [base + (1 if i < extra else 0) - 1 for i in range(SUBSTRINGS)]


@lru_cache(maxsize=64)
def _probe_plan(threshold: int) -> tuple[np.ndarray, np.ndarray]:
    """(table, flip mask) of every probe a query makes, ``uint32 [P]`` each."""
    tables, masks = [], []
    for s, radius in enumerate(substring_radii(threshold)):
        if radius >= 0:
            m = _flip_masks(radius)
            tables.append(np.full(m.shape[0], s, dtype=np.uint32))
            masks.append(m)
    return np.concatenate(tables), np.concatenate(masks)


def _faiss_flat(codes: np.ndarray) -> Any:
    flat = faiss.IndexBinaryFlat(BITS)
    if codes.shape[0]:
        flat.add(codes)
    return flat


class PdqIndex:
    """Exact Hamming range search over known PDQ codes. Ids are row numbers of ``codes``."""

    _flat: Any  # faiss.IndexBinaryFlat (its SWIG types are not precise enough for mypy)
    threads: int = 1  # OpenMP threads faiss may use per search

    def __init__(self, codes: np.ndarray, backend: str = "auto") -> None:
        codes = as_codes(codes)
        if backend == "auto":
            backend = "mih" if codes.shape[0] >= MIH_MIN_SIZE else "flat"
        if backend not in ("flat", "mih"):
            raise ValueError(f"unknown PDQ index backend: {backend}")
        self.backend: Backend = "mih" if backend == "mih" else "flat"
        self._words = _words(codes)
        # The mih backend reads the codes from `_words` only; a faiss copy beside them would
        # double their memory (0.32 GB at 10 M), so it exists only for the flat backend.
        self._flat = _faiss_flat(codes) if self.backend == "flat" else None
        self._offsets: np.ndarray | None = None
        self._ids: np.ndarray | None = None
        if backend == "mih":
            self._build_mih()

    @property
    def ntotal(self) -> int:
        return int(self._words.shape[0])

    def _build_mih(self) -> None:
        n = self.ntotal
        if n >= 2**32:
            raise ValueError("more than 2^32 PDQ hashes in one index")
        offsets = np.empty((SUBSTRINGS, (1 << SUBSTRING_BITS) + 1), dtype=np.uint32)
        ids = np.empty((SUBSTRINGS, n), dtype=np.uint32)
        chunk = 1 << 20
        keys = np.empty((n, SUBSTRINGS), dtype=np.uint32)
        for a in range(0, n, chunk):
            keys[a : a + chunk] = _substring_keys(self._words[a : a + chunk])
        for s in range(SUBSTRINGS):
            col = keys[:, s]
            ids[s] = np.argsort(col, kind="stable").astype(np.uint32)
            offsets[s, 0] = 0
            np.cumsum(np.bincount(col, minlength=1 << SUBSTRING_BITS), out=offsets[s, 1:])
        self._set_tables(offsets, ids)

    def _set_tables(self, offsets: np.ndarray, ids: np.ndarray) -> None:
        self._offsets, self._ids = offsets, ids
        row = offsets.shape[1]
        self._table_base = (np.arange(SUBSTRINGS, dtype=np.uint32) * np.uint32(row))
        self._offsets_flat = offsets.ravel()
        self._ids_flat = ids.ravel()

    def codes(self) -> np.ndarray:
        """The known codes, ``uint8 [n, 32]``, in id order."""
        return self._words.astype(">u8").view(np.uint8).reshape(-1, CODE_BYTES)

    def memory_bytes(self) -> int:
        """Bytes the index holds: the codes (twice for flat: faiss's copy and the words),
        and the mih tables."""
        total = self.ntotal * CODE_BYTES * (2 if self._flat is not None else 1)
        if self._offsets is not None and self._ids is not None:
            total += self._offsets.nbytes + self._ids.nbytes
        return total

    def search(self, queries: np.ndarray, threshold: int = 31) -> RangeResult:
        """Every known code within Hamming ``threshold`` (inclusive) of each query."""
        if not 0 <= threshold < BITS:
            raise ValueError(f"threshold must be in [0, {BITS}), got {threshold}")
        queries = as_codes(queries)
        nq = queries.shape[0]
        if nq == 0 or self.ntotal == 0:
            empty = np.zeros(0, dtype=np.int64)
            return RangeResult(np.zeros(nq + 1, np.int64), empty, empty.astype(np.int32))
        if self.backend == "flat":
            return self._search_flat(queries, threshold)
        if nq <= MIH_CHUNK:
            return self._search_mih(queries, threshold)
        parts = [self._search_mih(queries[a : a + MIH_CHUNK], threshold)
                 for a in range(0, nq, MIH_CHUNK)]
        lims = np.zeros(nq + 1, dtype=np.int64)
        np.cumsum(np.concatenate([np.diff(p.lims) for p in parts]), out=lims[1:])
        return RangeResult(lims, np.concatenate([p.ids for p in parts]),
                           np.concatenate([p.distances for p in parts]))

    def _search_flat(self, queries: np.ndarray, threshold: int) -> RangeResult:
        assert self._flat is not None
        # The scan runs one process per core: faiss's OpenMP threads would only fight them
        # (measured 10x slower for a picture's 16 queries on a busy machine).
        faiss.omp_set_num_threads(self.threads)
        # faiss keeps d < radius; +1 makes the PDQ threshold inclusive.
        lims, dist, ids = self._flat.range_search(queries, threshold + 1)
        lims = lims.astype(np.int64)
        ids = ids.astype(np.int64)
        dist = dist.astype(np.int32)
        # faiss does not order hits within a query; we do, for deterministic results.
        qidx = np.repeat(np.arange(queries.shape[0]), np.diff(lims))
        order = np.lexsort((ids, qidx))
        return RangeResult(lims, ids[order], dist[order])

    def _search_mih(self, queries: np.ndarray, threshold: int) -> RangeResult:
        """All queries of a call (e.g. every variant of every picture of a scan batch) in one
        vectorised pass: one gather of bucket bounds, one of ids, one of code rows."""
        assert self._offsets is not None and self._ids is not None
        nq, n = queries.shape[0], self.ntotal
        tables, masks = _probe_plan(threshold)
        per_query = tables.shape[0]
        qwords = _words(queries)
        qkeys = _substring_keys(qwords)  # [nq, S]
        # Bucket b of table s is ids[s, offsets[s, b] : offsets[s, b + 1]]; np.take on the
        # flattened tables is the fastest gather numpy has for these random reads. Positions
        # stay uint32 while they fit: half the memory traffic of int64 (measured ~20% faster).
        pos_type = np.uint32 if SUBSTRINGS * n < 2**32 else np.int64
        probes = (qkeys[:, tables] ^ masks[None, :]) + self._table_base[tables][None, :]
        probes = probes.ravel()  # [nq * P], query-major
        starts = np.take(self._offsets_flat, probes).astype(pos_type, copy=False)
        lengths = np.take(self._offsets_flat, probes + np.uint32(1)).astype(pos_type, copy=False)
        lengths -= starts
        keep = np.flatnonzero(lengths)
        lengths = lengths[keep]
        run_end = np.cumsum(lengths, dtype=np.int64)
        total = int(run_end[-1]) if run_end.size else 0
        if total == 0:
            empty = np.zeros(0, dtype=np.int64)
            return RangeResult(np.zeros(nq + 1, np.int64), empty, empty.astype(np.int32))
        # Expand every bucket range into positions of the flat id table (table s starts at
        # s * n) without a loop; modular uint32 arithmetic is exact here.
        table = tables[keep % per_query].astype(pos_type)
        first = starts[keep] + table * pos_type(n)
        shift = first - (run_end.astype(pos_type) - lengths)
        pos = np.arange(total, dtype=pos_type) + np.repeat(shift, lengths)
        cand = np.take(self._ids_flat, pos)
        # Candidates come query by query: repeat each query's words over its run instead of
        # gathering them per candidate.
        bounds = np.searchsorted(keep, np.arange(nq + 1) * per_query)
        cum = np.concatenate(([0], run_end))
        per_q = cum[bounds[1:]] - cum[bounds[:-1]]
        # np.take along axis 0 copies whole rows; `words[cand]` went element by element and
        # was 17x slower at 10 M (measured).
        diff = np.take(self._words, cand, axis=0)
        diff ^= np.repeat(qwords, per_q, axis=0)
        # Popcount per word, then the four byte counts of a row added as one uint32 (a
        # reduction along a 4-wide axis is several times slower).
        counts = np.bitwise_count(diff).view(np.uint32).ravel()
        low = np.uint32(0x00FF00FF)
        pairs = (counts & low) + ((counts >> np.uint32(8)) & low)
        dist = (pairs & np.uint32(0xFFFF)) + (pairs >> np.uint32(16))
        hit = np.flatnonzero(dist <= threshold)
        # Only hits are deduplicated (a known hash near a query is found once per substring
        # it is close on): sorting all candidates cost more than verifying the repeats.
        hq = np.searchsorted(np.cumsum(per_q), hit, side="right")
        key, first_hit = np.unique(hq * n + cand[hit].astype(np.int64), return_index=True)
        cq, ids = key // n, key % n
        lims = np.zeros(nq + 1, dtype=np.int64)
        np.cumsum(np.bincount(cq, minlength=nq), out=lims[1:])
        return RangeResult(lims, ids, dist[hit][first_hit].astype(np.int32))

    # -- persistence ---------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write the index to the directory ``path``: the codes as a faiss binary index file,
        and the MIH tables as ``.npy`` files that ``load`` maps instead of reading."""
        path.mkdir(parents=True, exist_ok=True)
        flat = self._flat if self._flat is not None else _faiss_flat(self.codes())
        faiss.write_index_binary(flat, str(path / "codes.faissbin"))
        if self._offsets is not None and self._ids is not None:
            np.save(path / "mih-offsets.npy", self._offsets)
            np.save(path / "mih-ids.npy", self._ids)
        meta = {
            "format": INDEX_FORMAT,
            "backend": self.backend,
            "ntotal": self.ntotal,
            "substrings": SUBSTRINGS,
            "substring_bits": SUBSTRING_BITS,
        }
        # Written last: a directory without meta.json is an unfinished save, never loaded.
        (path / "meta.json").write_text(json.dumps(meta, sort_keys=True))

    @classmethod
    def load(cls, path: Path) -> PdqIndex:
        meta_path = path / "meta.json"
        if not meta_path.is_file():
            raise PdqIndexError(f"no PDQ index at {path}")
        meta = json.loads(meta_path.read_text())
        expected = {"format": INDEX_FORMAT, "substrings": SUBSTRINGS,
                    "substring_bits": SUBSTRING_BITS}
        if any(meta.get(k) != v for k, v in expected.items()):
            raise PdqIndexError(f"PDQ index at {path} is of another format: {meta}")
        self = cls.__new__(cls)
        self.backend = "mih" if meta["backend"] == "mih" else "flat"
        flat: Any = faiss.read_index_binary(str(path / "codes.faissbin"))
        if flat.ntotal != meta["ntotal"]:
            raise PdqIndexError(f"PDQ index at {path} is incomplete")
        codes = faiss.vector_to_array(flat.xb).reshape(-1, CODE_BYTES)
        self._words = _words(codes)
        self._flat = flat if self.backend == "flat" else None
        self._offsets = self._ids = None
        if self.backend == "mih":
            self._set_tables(
                np.load(path / "mih-offsets.npy", mmap_mode="r"),
                np.load(path / "mih-ids.npy", mmap_mode="r"),
            )
        return self
