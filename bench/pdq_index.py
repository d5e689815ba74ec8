"""PDQ index: build time, query time per picture (8 dihedral variants), memory, exactness.

    PYTHONPATH=src python -m bench.pdq_index [--sizes 10000,100000,1000000,10000000]

Backends: faiss IndexBinaryFlat (range_search), faiss IndexBinaryMultiHash (exact settings:
nhash=16, b=16, nflip=1, at sizes up to 1 M) and Fellwatch's multi-index hashing (`mih`).
Known hashes are seeded random; each query picture is 8 hashes, one of them a planted copy of
a known hash with 0-31 bits changed (a match), the others random (no match). Medians of runs.
"""

from __future__ import annotations

import argparse
import resource
import time

import faiss
import numpy as np

from fellwatch.matching.pdq_index import PdqIndex

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


def time_queries(search, pics: np.ndarray, runs: int) -> float:
    """Median CPU microseconds per picture (its 8 hashes searched as one batch); CPU time,
    because the machine is shared and faiss runs on one thread here."""
    per_run = []
    for _ in range(runs):
        t0 = time.process_time()
        for p in pics:
            search(p)
        per_run.append((time.process_time() - t0) / len(pics) * 1e6)
    return float(np.median(per_run))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000,10000000")
    parser.add_argument("--pictures", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default="flat,mih,multihash")
    args = parser.parse_args()
    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(20261129)
    print(f"threshold {THRESHOLD}; {args.pictures} query pictures x 8 variants; "
          f"medians of {args.runs} runs; faiss {faiss.__version__}, 1 thread")
    for n in (int(s) for s in args.sizes.split(",")):
        codes = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
        pics = pictures(codes, args.pictures, rng)
        print(f"\n== {n:,} known hashes")
        figures: dict[str, float] = {}
        for backend in (b for b in ("flat", "mih") if b in args.backends.split(",")):
            before = rss_gb()
            t0 = time.perf_counter()
            index = PdqIndex(codes, backend)
            build = time.perf_counter() - t0
            grown = rss_gb() - before
            # The flat scan of 10 M hashes takes ~0.1 s a picture: fewer pictures, one run.
            slow = backend == "flat" and n >= 1_000_000
            sample = pics[: 20 if slow else len(pics)]
            us = time_queries(lambda p, ix=index: ix.search(p, THRESHOLD), sample,
                              1 if slow else args.runs)
            figures[backend] = us
            check = pics[:10]
            expected = brute_force(check.reshape(-1, 32), codes)
            result = index.search(check.reshape(-1, 32), THRESHOLD)
            exact = all(set(result.hits(q)) == expected[q] for q in range(len(expected)))
            print(f"{backend:>9}: build {build:7.2f} s, {us:10.1f} us/picture, "
                  f"index {index.memory_bytes() / 1e9:5.2f} GB (RSS +{grown:5.2f} GB), "
                  f"exact vs brute force on {len(expected)} queries: {exact}")
            del index
        if n <= 1_000_000 and "multihash" in args.backends:
            t0 = time.perf_counter()
            mh = faiss.IndexBinaryMultiHash(256, 16, 16)
            mh.nflip = 1  # 31 // 16: the pigeonhole bound that makes it exact at t = 31
            mh.add(codes)
            build = time.perf_counter() - t0

            def mh_search(p, mh=mh):
                return mh.range_search(p, THRESHOLD + 1)

            us = time_queries(mh_search, pics[:50], 1)
            figures["multihash"] = us
            print(f"multihash: build {build:7.2f} s, {us:10.1f} us/picture "
                  "(faiss IndexBinaryMultiHash nhash=16 b=16 nflip=1)")
            del mh
        best = min(figures, key=lambda k: figures[k])
        ratios = ", ".join(f"{k} {v / figures[best]:.1f}x" for k, v in figures.items())
        print(f"fastest: {best}; time relative to it: {ratios}")
    print(f"\npeak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB")


if __name__ == "__main__":
    main()
