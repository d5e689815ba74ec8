"""Small files at scale: files/s of the whole `fellwatch scan` command against hashdeep, the
walk alone (`fls -r`), and peak memory as the file count grows (issue 9).

One run builds N small files (64 B - 8 KiB each, 1 000 per folder; text like the logs,
configuration and cache files that make up most of a device's small files, and one in ten
binary of no known type), copies them into an ext4 image with `mkfs.ext4 -d` (no mount), and
times, medians of --repeat:
  * `fellwatch scan IMAGE --no-carve` (the whole command: start-up, evidence SHA-256, walk,
    digests, file type, store, findings.json, inventory.csv, report.html);
  * `hashdeep -c md5,sha1,sha256 -r` over the same files as a folder (the baseline);
  * `fls -r` on the image (The Sleuth Kit's walk alone, no content read).
Then peak RSS of the scan (largest process of its tree) at each of --memory-files.
Run: `python -m bench.small_files [--files 200000] [--memory-files 100000 1000000]`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._timing import compile_sources

ROOT = Path(__file__).resolve().parent.parent
WORDS = (
    b"error warning info debug user session cache config value token request response "
    b"timeout retry connect socket thread worker queue index table record field"
).split()


def make_files(folder: Path, count: int) -> int:
    """`count` files, 1 000 per folder; returns their total size."""
    rng = __import__("random").Random(count)
    blob = rng.randbytes(1 << 16)
    total = 0
    for i in range(count):
        sub = folder / f"d{i // 1000:05d}"
        if i % 1000 == 0:
            sub.mkdir(parents=True, exist_ok=True)
        size = 64 + (i * 7919) % 8128
        if i % 10 == 9:
            off = (i * 131) % (len(blob) - size)
            data = i.to_bytes(8, "little") + blob[off : off + size]
            name = f"f{i:07d}.bin"
        else:
            line = b" ".join(WORDS[(i + k) % len(WORDS)] for k in range(12)) + b"\n"
            data = (b"%d " % i + line * (size // len(line) + 1))[:size]
            name = f"f{i:07d}.log"
        (sub / name).write_bytes(data)
        total += len(data)
    return total


def make_image(folder: Path, image: Path, content_bytes: int, count: int) -> None:
    # ext4 blocks are 4 KiB, so small files take a block each plus an inode (256 B).
    size_mb = 64 + (content_bytes + count * 4096 * 2) // (1 << 20)
    subprocess.run(
        ["mkfs.ext4", "-q", "-F", "-N", str(count + count // 10 + 1024), "-d", str(folder),
         "-E", "root_owner=0:0", str(image), f"{size_mb}M"],
        check=True,
    )  # fmt: skip


def scan_cmd(image: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "fellwatch", "scan", str(image), "--out", str(out), "--quiet",
            "--no-carve", "--restart", *extra]  # fmt: skip


def wall(cmd: list[str], env: dict[str, str] | None = None) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t


def peak_rss_kib(cmd: list[str], env: dict[str, str]) -> int:
    """Peak RSS of the largest process in the command's tree (KiB), in a fresh probe process:
    ru_maxrss of RUSAGE_CHILDREN is a high-water mark over every child ever waited for."""
    probe = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
        "stdout=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, *cmd], check=True, capture_output=True, text=True, env=env
    )
    return int(out.stdout.strip())


def breakdown(image: Path, work: Path, count: int) -> list[tuple[str, float]]:
    """Microseconds per file of each stage of the small-file path, measured in this process
    on the same image (one core; the scan overlaps the worker stages with the main's)."""
    import pickle

    from fellwatch.evidence import open_evidence
    from fellwatch.reports.findings import write_outputs
    from fellwatch.scan.dispatch import _as_made
    from fellwatch.scan.pipeline import _batches, classify
    from fellwatch.scan.worker import Batch, ItemProcessor, process_batch
    from fellwatch.settings import ScanSettings
    from fellwatch.signals import filetype
    from fellwatch.store.scanstore import ScanStore, stored_forms

    settings = ScanSettings(workers=2, carve=False)
    ev = open_evidence(image)
    rows: list[tuple[str, float]] = []

    def stage(name: str, seconds: float) -> None:
        rows.append((name, seconds / count * 1e6))

    t = time.perf_counter()
    items = list(ev.items())
    stage("walk: The Sleuth Kit via pytsk3 + Item (main)", time.perf_counter() - t)
    batches = [Batch(0, str(image), b, settings) for b, _ in _batches(items)]
    t = time.perf_counter()
    wire = [pickle.dumps(b, protocol=pickle.HIGHEST_PROTOCOL) for b in batches]
    stage("batch to a worker: pickle (main)", time.perf_counter() - t)
    t = time.perf_counter()
    batches = [pickle.loads(w) for w in wire]
    stage("batch to a worker: unpickle (worker)", time.perf_counter() - t)
    processor = ItemProcessor(ev, settings)
    heads = []
    t = time.perf_counter()
    for item in items:
        with processor._open(item) as stream:
            heads.append(stream.read(1 << 20))
    stage("open + read content (worker)", time.perf_counter() - t)
    from fellwatch.signals.digests import DigestHasher

    t = time.perf_counter()
    for data in heads:
        hasher = DigestHasher(parallel=False)
        hasher.update(data)
        hasher.result()
    stage("md5 + sha1 + sha256 (worker)", time.perf_counter() - t)
    t = time.perf_counter()
    for data in heads:
        filetype.identify(data[:8192], always=False)
    stage("file type: our sniff + libmagic where asked (worker)", time.perf_counter() - t)
    t = time.perf_counter()
    for data in heads[: max(1, count // 20)]:
        filetype.identify(data[:8192], always=True)
    stage("  (libmagic on every file, as 0.2.0 did)", (time.perf_counter() - t) * 20)
    t = time.perf_counter()
    results = [process_batch(b) for b in batches]
    whole_worker = time.perf_counter() - t
    stage("worker, whole (all of the above + record + encode)", whole_worker)
    t = time.perf_counter()
    back = [pickle.dumps(r, protocol=pickle.HIGHEST_PROTOCOL) for r in results]
    stage("result to main: pickle (worker)", time.perf_counter() - t)
    t = time.perf_counter()
    results = [pickle.loads(b) for b in back]
    stage("result to main: unpickle (main)", time.perf_counter() - t)
    out = work / "breakdown"
    out.mkdir(exist_ok=True)
    store = ScanStore(out / "scan.sqlite")
    store.reset()
    store.begin({"bench": "breakdown"})
    t = time.perf_counter()
    for r in results:
        classify(r.records, [])
    stage("classify (main, no hash sets)", time.perf_counter() - t)
    t = time.perf_counter()
    for r in results:
        encoded = [x if _as_made(rec) else None for rec, x in zip(r.records, r.encoded,
                                                                    strict=True)]
        store.commit_batch(0, r.unit_keys, r.records, encoded=encoded)
    stage("store: insert + commit per batch (main)", time.perf_counter() - t)
    t = time.perf_counter()
    for r in results:
        for rec in r.records:
            stored_forms(rec)
    stage("  (encoding in the main process instead)", time.perf_counter() - t)
    t = time.perf_counter()
    write_outputs(store, out)
    stage("findings.json + inventory.csv from the store (main)", time.perf_counter() - t)
    store.close()
    ev.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=200_000)
    parser.add_argument("--memory-files", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=0, help="0: one per core")
    parser.add_argument("--breakdown", action="store_true",
                        help="also print microseconds per file of each stage")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    extra = ["--workers", str(args.workers)] if args.workers else []
    compile_sources(ROOT)
    work = Path(tempfile.mkdtemp(prefix="fw-small-", dir=os.environ.get("BENCH_DIR")))
    try:
        if args.files:
            files = work / "files"
            content = make_files(files, args.files)
            image = work / "small.ext4"
            make_image(files, image, content, args.files)
            ours, deep, fls = [], [], []
            for _ in range(args.repeat):
                # Interleaved, so the load of the shared machine falls on all three alike.
                ours.append(wall(scan_cmd(image, work / "out", *extra), env))
                deep.append(wall(["hashdeep", "-c", "md5,sha1,sha256", "-r", str(files)]))
                fls.append(wall(["fls", "-r", str(image)]))
            o, d, f = (args.files / statistics.median(x) for x in (ours, deep, fls))
            print(f"{args.files} files, {content / 1e6:.0f} MB; cores: {os.cpu_count()}; "
                  f"load before: {os.getloadavg()[0]:.1f}; medians of {args.repeat}")
            print(f"fellwatch scan --no-carve (whole command): {o:10.0f} files/s "
                  f"({statistics.median(ours):.2f} s)")
            print(f"hashdeep -c md5,sha1,sha256 -r (folder):   {d:10.0f} files/s "
                  f"({statistics.median(deep):.2f} s)")
            print(f"fls -r (the walk alone):                   {f:10.0f} files/s "
                  f"({statistics.median(fls):.2f} s)")
            print(f"ratio fellwatch / hashdeep: {o / d:.3f} (target >= 0.25)")
            print(f"ratio fellwatch / fls -r:   {o / f:.3f}")
            if args.breakdown:
                sys.path.insert(0, str(ROOT / "src"))
                print("stage | µs per file")
                for name, micros in breakdown(image, work, args.files):
                    print(f"{name} | {micros:.1f}")
            shutil.rmtree(files)
            image.unlink()
        rss: dict[int, int] = {}
        for count in args.memory_files:
            folder = work / f"files-{count}"
            img = work / f"mem-{count}.ext4"
            make_image(folder, img, make_files(folder, count), count)
            shutil.rmtree(folder)
            rss[count] = peak_rss_kib(scan_cmd(img, work / f"out-{count}", *extra), env)
            img.unlink()
            shutil.rmtree(work / f"out-{count}")
            print(f"peak RSS scanning {count:8} files: {rss[count] / 1024:7.1f} MiB "
                  f"(target <= 300)")
        if len(rss) >= 2:
            low, high = min(rss), max(rss)
            print(f"memory ratio {high} / {low} files: {rss[high] / rss[low]:.2f} "
                  f"(target <= 1.20)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
