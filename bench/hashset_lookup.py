"""Hash-set import and lookup speed, against a baseline measured in the same run.

    PYTHONPATH=src python bench/hashset_lookup.py [--entries 10000000] [--vics-media 1000000]

1. Writes an md5sum list of N random MD5 digests (synthetic: random bytes, no real set) and
   imports it into a fresh store: import time, entries/s, database size, RSS.
2. Looks up Q digests (half present) batched and one at a time, and through the exact matcher
   on item records: lookups/s (median of several runs).
3. Baseline: a Python set of the same N digests as bytes: build time, memory, lookups/s.
4. Writes a VICS 1.3 JSON file of M media (MD5 + SHA-1 + PDQ + PhotoDNA each) and imports it;
   the streaming reader's peak memory and time against `json.load` of the same file, each in a
   fresh process.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from tests.records import lookup  # noqa: E402

from fellwatch.hashsets.store import HashSetStore  # noqa: E402
from fellwatch.matching.exact import ExactMatcher  # noqa: E402


def rss_mb() -> float:
    """This process's resident memory now (Linux), without a psutil dependency."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def median_rate(count: int, run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return count / statistics.median(times)


def write_md5sum(path: Path, digests: np.ndarray) -> None:
    with path.open("w", encoding="ascii") as out:
        step = 100_000
        for start in range(0, len(digests), step):
            rows = digests[start : start + step]
            out.write(
                "".join(f"{row.tobytes().hex()}  f{start + i}.jpg\n" for i, row in enumerate(rows))
            )


def write_vics(path: Path, count: int, rng: np.random.Generator) -> None:
    md5s = rng.integers(0, 256, size=(count, 16), dtype=np.uint8)
    sha1s = rng.integers(0, 256, size=(count, 20), dtype=np.uint8)
    pdqs = rng.integers(0, 256, size=(count, 32), dtype=np.uint8)
    with path.open("w", encoding="utf-8") as out:
        out.write(
            '\ufeff{"odata.metadata":"http://github.com/ICMEC/ProjectVic/DataModels/'
            '1.3.xml#Media","value":['
        )
        for i in range(count):
            media = {
                "odata.id": f"http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml/Media({i})",
                "MediaID": i,
                "Category": str(i % 5) if i % 7 else None,
                "MD5": md5s[i].tobytes().hex().upper(),
                "SHA1": sha1s[i].tobytes().hex().upper(),
                "MediaSize": str(1000 + i),
                "IsPrecategorized": "true",
                "IsDistributed": "false",
                "AlternativeHashes": [
                    {"HashName": "PhotoDNA", "HashValue": "AAECAwQFBgcICQoLDA0ODxAREhM="},
                    {"HashName": "PDQ", "HashValue": pdqs[i].tobytes().hex()},
                ],
            }
            out.write(("," if i else "") + json.dumps(media))
        out.write("]}")


def peak_in_subprocess(code: str, path: Path) -> tuple[float, float]:
    """(seconds, peak RSS MiB) of `code` run on `path` in a fresh interpreter."""
    script = (
        "import sys, time\n"
        f"sys.path.insert(0, {str(ROOT / 'src')!r})\n"
        "from pathlib import Path\n"
        "path = Path(sys.argv[1])\n"
        "started = time.perf_counter()\n"
        f"{code}\n"
        "elapsed = time.perf_counter() - started\n"
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forked parent across
        # exec, so it would report this benchmark's own memory.
        "hwm = [l for l in Path('/proc/self/status').read_text().splitlines()"
        " if l.startswith('VmHWM:')][0].split()[1]\n"
        "print(elapsed, int(hwm) / 1024)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(path)], check=True, capture_output=True, text=True
    ).stdout.split()
    return float(out[0]), float(out[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=10_000_000, help="0: VICS part only")
    parser.add_argument("--vics-media", type=int, default=1_000_000, help="0: skip VICS")
    parser.add_argument("--queries", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "work" / "hashsets")
    args = parser.parse_args()

    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    rng = np.random.default_rng(20261129)
    n = args.entries

    store = HashSetStore(args.work / "store")
    if n:
        bench_store(args, rng, store)
    if args.vics_media:
        bench_vics(args, rng, store)
    store.close()
    return 0


def bench_store(args: argparse.Namespace, rng: np.random.Generator, store: HashSetStore) -> None:
    n = args.entries
    # 1. import an md5sum list of N random digests
    digests = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    listing = args.work / "random.md5"
    started = time.perf_counter()
    write_md5sum(listing, digests)
    print(
        f"wrote {listing.name}: {n:,} lines, {listing.stat().st_size / 2**20:,.0f} MiB "
        f"in {time.perf_counter() - started:.1f} s"
    )
    rss_before = rss_mb()
    started, cpu = time.perf_counter(), time.process_time()
    info = store.import_file(listing, name="bench")
    import_s, import_cpu = time.perf_counter() - started, time.process_time() - cpu
    db_files = list((args.work / "store" / "sets").iterdir())
    db_mb = sum(p.stat().st_size for p in db_files) / 2**20
    print(
        f"import md5sum list: {info.entries:,} entries in {import_s:.1f} s "
        f"(CPU {import_cpu:.1f} s) "
        f"({info.entries / import_s:,.0f} entries/s), database {db_mb:,.0f} MiB "
        f"({db_mb * 2**20 / info.entries:.1f} bytes/entry), "
        f"RSS {rss_before:,.0f} -> {rss_mb():,.0f} MiB"
    )

    # 2. lookups: half present, half absent
    q = args.queries
    present = [digests[i].tobytes().hex() for i in rng.choice(n, size=q // 2, replace=False)]
    absent = [rng.bytes(16).hex() for _ in range(q - q // 2)]
    queries = present + absent
    rng.shuffle(queries)
    assert len(store.lookup("md5", queries, ["bench"])) == len(present)
    rss_store = rss_mb()
    batched = median_rate(q, lambda: store.lookup("md5", queries, ["bench"]), args.repeats)
    single_q = queries[: max(1, q // 5)]
    single = median_rate(
        len(single_q),
        lambda: [store.lookup("md5", [d], ["bench"]) for d in single_q],
        args.repeats,
    )
    matcher = ExactMatcher(store, [info])
    records = [{"md5": d, "sha1": None, "sha256": None} for d in queries]
    batches = [records[i : i + 1000] for i in range(0, len(records), 1000)]
    per_record = median_rate(
        q,
        lambda: [matcher.match_many([lookup(r) for r in batch]) for batch in batches],
        args.repeats,
    )
    print(
        f"store lookups: batched {batched:,.0f}/s, single {single:,.0f}/s, "
        f"ExactMatcher.match_many (1000 records) {per_record:,.0f} records/s; "
        f"RSS {rss_store:,.0f} MiB"
    )

    # 3. baseline: a Python set of the same digests as bytes
    rss_base = rss_mb()
    started = time.perf_counter()
    baseline = {digests[i].tobytes() for i in range(n)}
    build_s = time.perf_counter() - started
    set_mb = rss_mb() - rss_base
    fromhex = bytes.fromhex
    assert sum(fromhex(d) in baseline for d in queries) == len(present)
    set_rate = median_rate(q, lambda: [fromhex(d) in baseline for d in queries], args.repeats)
    print(
        f"baseline Python set: built in {build_s:.1f} s, +{set_mb:,.0f} MiB RSS, "
        f"{set_rate:,.0f} lookups/s"
    )
    baseline.clear()
    print(
        f"ratios: store/set lookups batched {batched / set_rate:.3f}, single "
        f"{single / set_rate:.4f}; store disk {db_mb:,.0f} MiB vs set memory {set_mb:,.0f} MiB "
        f"({db_mb / set_mb:.2f}); store process RSS during lookups {rss_store:,.0f} MiB"
    )


def bench_vics(args: argparse.Namespace, rng: np.random.Generator, store: HashSetStore) -> None:
    # 4. VICS JSON: streaming import against json.load
    m = args.vics_media
    vics_path = args.work / "caid-export.json"
    write_vics(vics_path, m, rng)
    size_mb = vics_path.stat().st_size / 2**20
    started, cpu = time.perf_counter(), time.process_time()
    vinfo = store.import_file(vics_path, name="vics-bench")
    vics_s, vics_cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"import VICS 1.3 JSON: {m:,} media, {size_mb:,.0f} MiB -> {vinfo.entries:,} entries "
        f"{vinfo.counts} in {vics_s:.1f} s (CPU {vics_cpu:.1f} s) ({m / vics_s:,.0f} media/s, "
        f"{size_mb / vics_s:.1f} MiB/s); skipped {vinfo.skipped}"
    )
    stream_s, stream_peak = peak_in_subprocess(
        "from fellwatch.hashsets.vics import VicsJson\n"
        "count = sum(1 for _ in VicsJson().read(path))",
        vics_path,
    )
    load_s, load_peak = peak_in_subprocess(
        "import json\nwith path.open(encoding='utf-8-sig') as f:\n    doc = json.load(f)",
        vics_path,
    )
    whole_s, whole_peak = peak_in_subprocess(
        "import json\nfrom fellwatch.hashsets import vics\n"
        "from fellwatch.hashsets.base import ReadNotes\n"
        "notes = ReadNotes()\n"
        "with path.open(encoding='utf-8-sig') as f:\n    doc = json.load(f)\n"
        "count = sum(1 for m in doc['value'] for _ in vics._entries(m, 'x', notes))",
        vics_path,
    )
    print(
        f"VICS read only: streaming {stream_s:.1f} s, peak RSS {stream_peak:,.0f} MiB; "
        f"baseline json.load {load_s:.1f} s, peak RSS {load_peak:,.0f} MiB; "
        f"ratios time {stream_s / load_s:.2f}, memory {stream_peak / load_peak:.3f}"
    )
    print(
        f"VICS whole-document baseline (json.load, then the same entries): {whole_s:.1f} s, "
        f"peak RSS {whole_peak:,.0f} MiB; streaming/whole: time {stream_s / whole_s:.2f}, "
        f"memory {stream_peak / whole_peak:.3f}"
    )


if __name__ == "__main__":
    sys.exit(main())
