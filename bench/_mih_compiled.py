"""The mih search compiled (numba), for `bench.pdq_index` only: does compiling it help?

Same tables, same probes and the same exactness as `PdqIndex._search_mih`, but one loop per
query in machine code: bucket bounds for all probes first, then the ids, then the code rows,
so the reads of one stage do not wait on each other (the processor overlaps independent cache
misses; a loop that followed each bucket to its codes before the next probe would serialise
them). Queries run in parallel over numba's threads. Not used by Fellwatch: the bench shows
it is no faster than numpy where the reads dominate (see docs/perceptual.md).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from numba import njit, prange
from numba.core import types
from numba.extending import intrinsic

from fellwatch.matching.pdq_index import (
    SUBSTRING_BITS,
    PdqIndex,
    RangeResult,
    _probe_plan,
    _substring_keys,
    _words,
)

SUBSTRING_ROW = (1 << SUBSTRING_BITS) + 1  # one table's bucket bounds in `_offsets_flat`


@intrinsic
def _popcount(typingctx: Any, x: Any) -> Any:
    """LLVM's ctpop on a uint64: one POPCNT instruction."""
    sig = types.uint64(types.uint64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        fn = builder.module.declare_intrinsic("llvm.ctpop", [args[0].type])
        return builder.call(fn, [args[0]])

    return sig, codegen


@njit(nogil=True, parallel=True, cache=True)
def _search(offsets, ids, words, qwords, qkeys, tables, masks, row, n, threshold, cap,
            out_ids, out_dist, out_count):
    probes = tables.shape[0]
    for q in prange(qwords.shape[0]):
        starts = np.empty(probes, np.uint32)
        ends = np.empty(probes, np.uint32)
        for p in range(probes):
            b = np.uint64(tables[p]) * np.uint64(row) + np.uint64(qkeys[q, tables[p]] ^ masks[p])
            starts[p] = offsets[b]
            ends[p] = offsets[b + np.uint64(1)]
        total = 0
        for p in range(probes):
            total += ends[p] - starts[p]
        cand = np.empty(total, np.uint32)
        k = 0
        for p in range(probes):
            base = np.uint64(tables[p]) * np.uint64(n)
            for j in range(starts[p], ends[p]):
                cand[k] = ids[base + np.uint64(j)]
                k += 1
        w0, w1, w2, w3 = qwords[q, 0], qwords[q, 1], qwords[q, 2], qwords[q, 3]
        hits = 0
        for i in range(total):
            r = cand[i]
            d = (_popcount(words[r, 0] ^ w0) + _popcount(words[r, 1] ^ w1)
                 + _popcount(words[r, 2] ^ w2) + _popcount(words[r, 3] ^ w3))
            if d <= threshold:
                if hits < cap:
                    out_ids[q, hits] = r
                    out_dist[q, hits] = d
                hits += 1
        out_count[q] = hits
    return 0


def search(index: PdqIndex, queries: np.ndarray, threshold: int, threads: int = 1,
           cap: int = 64) -> RangeResult:
    """Every known code within ``threshold`` of each query, as ``PdqIndex.search`` gives."""
    numba.set_num_threads(threads)
    tables, masks = _probe_plan(threshold)
    qwords = _words(queries)
    qkeys = _substring_keys(qwords)
    nq = qwords.shape[0]
    out_ids = np.empty((nq, cap), np.uint32)
    out_dist = np.empty((nq, cap), np.int32)
    count = np.empty(nq, np.int64)
    _search(index._offsets_flat, index._ids_flat, index._words, qwords, qkeys, tables, masks,
            SUBSTRING_ROW, index.ntotal, threshold, cap,
            out_ids, out_dist, count)
    if int(count.max(initial=0)) > cap:
        raise RuntimeError("more hits than the bench's buffer; raise cap")
    lims = np.zeros(nq + 1, dtype=np.int64)
    np.cumsum(count, out=lims[1:])
    ids, dist = [], []
    for q in range(nq):
        # A known code close on several substrings is found once per substring: keep one.
        hit, first = np.unique(out_ids[q, : count[q]], return_index=True)
        ids.append(hit.astype(np.int64))
        dist.append(out_dist[q, : count[q]][first])
    counts = np.array([len(i) for i in ids], dtype=np.int64)
    np.cumsum(counts, out=lims[1:])
    return RangeResult(lims, np.concatenate(ids), np.concatenate(dist))
