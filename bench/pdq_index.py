"""PDQ index: build time, query time per picture (8 dihedral variants), memory, exactness.

    PYTHONPATH=src python -m bench.pdq_index [--sizes 10000,100000,1000000,10000000]

Backends: faiss IndexBinaryFlat (range_search), faiss IndexBinaryMultiHash (exact settings:
nhash=16, b=16, nflip=1, at sizes up to 1 M) and Fellwatch's multi-index hashing (`mih`).
Known hashes are seeded random; each query picture is 8 hashes, one of them a planted copy of
a known hash with 0-31 bits changed (a match), the others random (no match). Medians of runs.

Each picture is timed alone (its 8 hashes in one search, as `PerceptualMatcher.match` does)
and in batches of `--batch` pictures (all their hashes in one search, as `match_many` does for
a scan batch); per-picture figures of a batch are amortised. `mih-previous` is the mih search
before the batch rewrite (copied below, run on the same tables): the baseline of the ratios.
`mih-compiled` is the same search compiled with numba (bench/_mih_compiled.py), on one thread
and (`mih-compiled-2t`, elapsed time, not CPU time) on both cores of this machine.

The memory floor: the mih search is a series of random reads into the index (a bucket's
bounds per probe, its ids, a code row per candidate). The bench counts them for the sample
and times this machine's independent random reads from an array as large as the index
(np.take over random positions; the processor overlaps them as it can), so it prints what
the reads alone cost per picture: no implementation of this search can be faster.
"""

from __future__ import annotations

import argparse
import resource
import time

import faiss
import numpy as np

from bench import _mih_compiled
from fellwatch.matching.pdq_index import (
    SUBSTRINGS,
    PdqIndex,
    RangeResult,
    _flip_masks,
    _probe_plan,
    _substring_keys,
    _words,
)

THRESHOLD = 31


def rss_gb() -> float:
    with open("/proc/self/status") as fh:  # noqa: PTH123 - /proc, not a project path
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1e6
    return float("nan")


def pictures(codes: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """[count, 8, 32]: 8 variant hashes per picture, variant 0 near a known hash."""
    out = rng.integers(0, 256, size=(count, 8, 32), dtype=np.uint8)
    picked = codes[rng.integers(0, codes.shape[0], count)]
    bits = np.unpackbits(picked, axis=1)
    for i in range(count):
        bits[i, rng.choice(256, int(rng.integers(0, THRESHOLD + 1)), replace=False)] ^= 1
    out[:, 0] = np.packbits(bits, axis=1)
    return out


def brute_force(queries: np.ndarray, codes: np.ndarray) -> list[set[tuple[int, int]]]:
    """Exact (id, distance) sets per query, chunked so 10 M codes fit in memory."""
    qw = queries.view(np.uint64)
    found: list[set[tuple[int, int]]] = [set() for _ in range(queries.shape[0])]
    chunk = 1 << 20
    for a in range(0, codes.shape[0], chunk):
        cw = codes[a : a + chunk].view(np.uint64)
        for q in range(queries.shape[0]):
            d = np.bitwise_count(cw ^ qw[q]).sum(axis=1)
            for j in np.flatnonzero(d <= THRESHOLD):
                found[q].add((a + int(j), int(d[j])))
    return found


def previous_mih_search(index: PdqIndex, queries: np.ndarray, threshold: int) -> RangeResult:
    """The mih search as it was before the batch rewrite (commit 08be35e), on the same
    tables: int64 positions, every candidate deduplicated by a sort before verification."""
    nq, n = queries.shape[0], index.ntotal
    masks = _flip_masks(threshold // SUBSTRINGS)
    qwords = _words(queries)
    probes = _substring_keys(qwords)[:, :, None] ^ masks[None, None, :]
    flat_probe = (probes + index._table_base[None, :, None]).ravel()
    starts = np.take(index._offsets_flat, flat_probe).astype(np.int64)
    lengths = np.take(index._offsets_flat, flat_probe + 1).astype(np.int64) - starts
    keep = np.flatnonzero(lengths)
    total = int(lengths[keep].sum())
    empty = np.zeros(0, dtype=np.int64)
    if total == 0:
        return RangeResult(np.zeros(nq + 1, np.int64), empty, empty.astype(np.int32))
    lengths = lengths[keep]
    flat_start = starts[keep] + (keep // masks.shape[0] % SUBSTRINGS) * n
    probe_query = keep // (SUBSTRINGS * masks.shape[0])
    run_begin = np.cumsum(lengths) - lengths
    pos = np.arange(total, dtype=np.int64) - np.repeat(run_begin - flat_start, lengths)
    cand = np.take(index._ids_flat, pos).astype(np.int64)
    cq = np.repeat(probe_query, lengths)
    pair = np.sort(cq * n + cand)
    pair = pair[np.concatenate(([True], pair[1:] != pair[:-1]))]
    cq, cand = pair // n, pair % n
    diff = np.take(index._words, cand, axis=0) ^ np.take(qwords, cq, axis=0)
    dist = np.bitwise_count(diff).sum(axis=1, dtype=np.int32)
    hit = dist <= threshold
    cq, cand, dist = cq[hit], cand[hit], dist[hit]
    lims = np.zeros(nq + 1, dtype=np.int64)
    np.cumsum(np.bincount(cq, minlength=nq), out=lims[1:])
    return RangeResult(lims, cand, dist)


def count_reads(index: PdqIndex, queries: np.ndarray, threshold: int) -> tuple[int, int, int]:
    """Distinct 64-byte lines the mih search must read for `queries`, summed over queries:
    (bucket-bound lines, id lines, code rows). Probes whose bounds share a line (flips of a
    substring's low bits) count once, so this is a lower bound on what the search fetches."""
    tables, masks = _probe_plan(threshold)
    keys = _substring_keys(_words(queries))
    probes = (keys[:, tables] ^ masks[None, :]) + index._table_base[tables][None, :]
    n = index.ntotal
    bound_lines = id_lines = rows = 0
    for q in range(probes.shape[0]):
        flat = probes[q].astype(np.int64)
        bound_lines += np.unique(flat // 16).size  # 16 uint32 bounds a line
        starts = np.take(index._offsets_flat, flat).astype(np.int64)
        ends = np.take(index._offsets_flat, flat + 1).astype(np.int64)
        keep = ends > starts
        first = starts[keep] + tables[keep].astype(np.int64) * n
        lengths = (ends - starts)[keep]
        pos = np.repeat(first - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
        id_lines += np.unique(pos // 16).size  # 16 uint32 ids a line
        rows += np.unique(np.take(index._ids_flat, pos)).size  # a 32-byte code row each
    return bound_lines, id_lines, rows


def random_read_ns(nbytes: int, reads: int = 1 << 22, runs: int = 5) -> float:
    """Median ns per independent random 8-byte read from an array of `nbytes` (one thread)."""
    table = np.arange(max(nbytes // 8, 1), dtype=np.uint64)
    where = np.random.default_rng(7).integers(0, table.shape[0], reads)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        np.take(table, where)
        times.append((time.perf_counter() - t0) / reads * 1e9)
    return float(np.median(times))


def time_queries(search, pics: np.ndarray, runs: int, batch: int = 1,
                 wall: bool = False) -> float:
    """Median CPU microseconds per picture, `batch` pictures' hashes (8 each) searched as one
    call (amortised over them); CPU time, because the machine is shared and faiss runs on one
    thread here. `wall`: elapsed time instead, for a search on several threads (their CPU
    times add up)."""
    clock = time.perf_counter if wall else time.process_time
    groups = [pics[a : a + batch].reshape(-1, 32) for a in range(0, len(pics), batch)]
    per_run = []
    for _ in range(runs):
        t0 = clock()
        for g in groups:
            search(g)
        per_run.append((clock() - t0) / len(pics) * 1e6)
    return float(np.median(per_run))


def exact_on_sample(
    search, pics: np.ndarray, expected: list[set[tuple[int, int]]]
) -> tuple[bool, int, int]:
    """(equal to brute force, queries, hits) on a sample of pictures searched as one batch."""
    queries = pics.reshape(-1, 32)
    result = search(queries)
    exact = all(set(result.hits(q)) == expected[q] for q in range(len(expected)))
    return exact, len(expected), sum(len(e) for e in expected)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000,10000000")
    parser.add_argument("--pictures", type=int, default=256)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default="flat,mih,multihash")
    args = parser.parse_args()
    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(20261129)
    print(f"threshold {THRESHOLD}; {args.pictures} query pictures x 8 variants, alone and in "
          f"batches of {args.batch}; medians of {args.runs} runs; CPU time; "
          f"faiss {faiss.__version__}, 1 thread")
    for n in (int(s) for s in args.sizes.split(",")):
        codes = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
        pics = pictures(codes, args.pictures, rng)
        expected = brute_force(pics[:16].reshape(-1, 32), codes)
        print(f"\n== {n:,} known hashes")
        single: dict[str, float] = {}
        batched: dict[str, float] = {}
        for backend in (b for b in ("flat", "mih") if b in args.backends.split(",")):
            before = rss_gb()
            t0 = time.perf_counter()
            index = PdqIndex(codes, backend)
            build = time.perf_counter() - t0
            grown = rss_gb() - before
            searches = {backend: lambda q, ix=index: ix.search(q, THRESHOLD)}
            if backend == "mih":
                searches["mih-previous"] = lambda q, ix=index: previous_mih_search(
                    ix, q, THRESHOLD)
                searches["mih-compiled"] = lambda q, ix=index: _mih_compiled.search(
                    ix, q, THRESHOLD)
                searches["mih-compiled-2t"] = lambda q, ix=index: _mih_compiled.search(
                    ix, q, THRESHOLD, threads=2)
                searches["mih-compiled"](pics[0])  # compile (or load numba's cache) untimed
            print(f"{backend:>12}: build {build:7.2f} s, index {index.memory_bytes() / 1e9:5.2f}"
                  f" GB, RSS +{grown:5.2f} GB (now {rss_gb():5.2f} GB)")
            # The flat scan of 10 M hashes takes ~0.3 s a picture: fewer pictures, one run.
            slow = backend == "flat" and n >= 1_000_000
            sample = pics[: args.batch if slow else len(pics)]
            runs = 1 if slow else args.runs
            # Runs interleave the searches, so a neighbour's load hits them alike.
            alone: dict[str, list[float]] = {name: [] for name in searches}
            grouped: dict[str, list[float]] = {name: [] for name in searches}
            for _ in range(runs):
                for name, search in searches.items():
                    wall = name.endswith("-2t")
                    alone[name].append(time_queries(search, sample, 1, wall=wall))
                    grouped[name].append(time_queries(search, sample, 1, args.batch, wall))
            for name, search in searches.items():
                single[name] = float(np.median(alone[name]))
                batched[name] = float(np.median(grouped[name]))
                exact, nq, hits = exact_on_sample(search, pics[:16], expected)
                print(f"{name:>15}: {single[name]:10.1f} us/picture alone, "
                      f"{batched[name]:10.1f} us/picture in batches of {args.batch}; "
                      f"exact vs brute force on {nq} queries ({hits} hits): {exact}")
            if backend == "mih":
                bounds, id_lines, rows = count_reads(index, pics.reshape(-1, 32), THRESHOLD)
                per_picture = (bounds + id_lines + rows) / len(pics)
                ns = random_read_ns(index.memory_bytes())
                print(f"{'memory floor':>15}: {per_picture:,.0f} random reads a picture "
                      f"({bounds / len(pics):,.0f} lines of bucket bounds, "
                      f"{id_lines / len(pics):,.0f} of ids, {rows / len(pics):,.0f} code rows) x "
                      f"{ns:.1f} ns a read ({index.memory_bytes() / 1e9:.2f} GB, 1 thread) = "
                      f"{per_picture * ns / 1e3:,.0f} us/picture")
            del index
        if n <= 1_000_000 and "multihash" in args.backends:
            t0 = time.perf_counter()
            mh = faiss.IndexBinaryMultiHash(256, 16, 16)
            mh.nflip = 1  # 31 // 16: the pigeonhole bound that makes it exact at t = 31
            mh.add(codes)
            build = time.perf_counter() - t0

            def mh_search(p, mh=mh):
                return mh.range_search(p, THRESHOLD + 1)

            single["multihash"] = time_queries(mh_search, pics[: args.batch], 1)
            batched["multihash"] = time_queries(mh_search, pics[: args.batch], 1, args.batch)
            print(f"{'multihash':>12}: build {build:7.2f} s, {single['multihash']:10.1f} "
                  f"us/picture alone, {batched['multihash']:10.1f} us/picture in batches "
                  "(faiss IndexBinaryMultiHash nhash=16 b=16 nflip=1)")
            del mh
        for label, figures in (("alone", single), (f"batches of {args.batch}", batched)):
            fastest = min(figures, key=lambda k: figures[k])
            base = "mih-previous" if "mih-previous" in figures else fastest
            ratios = ", ".join(f"{k} {figures[base] / v:.2f}x" for k, v in figures.items())
            print(f"speed-up over {base} ({label}): {ratios}")
    print(f"\npeak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB")


if __name__ == "__main__":
    main()
