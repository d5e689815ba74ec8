"""Scale-out on Dask: one worker against two, and against the local process pool (issue 9).

Builds an ext4 image of --files files of random content (--file-kb each; the item pass is
reading and hashing, the work that spreads over workers) and starts two Dask clusters of
separate processes on loopback, as a unit runs one (docs/cluster.md): a scheduler with one
one-thread worker, and a scheduler with two. Each cluster gets one untimed scan first (a
cluster lives on across scans; its workers import the engine once). Then it times, medians of
--repeat, interleaved so the load of a shared machine falls on every variant alike:
  * `fellwatch scan IMAGE --no-carve --cluster tcp://...` on the one-worker cluster,
  * the same on the two-worker cluster,
  * `fellwatch scan IMAGE --no-carve --workers 2` (the local process pool, the default), and
    `--workers 1` (how much a second process gains on this machine at all).
Figures: the item pass (`run.json` `scan_seconds`: what the executor changes) and the whole
command. Run: `python -m bench.dask_scale`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._timing import compile_sources

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.scan.loopback import loopback_cluster  # noqa: E402


def variants(one: str, two: str) -> dict[str, list[str]]:
    return {
        "dask, 1 worker": ["--cluster", one],
        "dask, 2 workers": ["--cluster", two],
        "local pool, 2 workers": ["--workers", "2"],
        # The machine's own scaling, for context: what two processes gain here at all.
        "local pool, 1 worker": ["--workers", "1"],
    }


def make_image(work: Path, files: int, file_kb: int) -> Path:
    folder = work / "files"
    folder.mkdir()
    rng = random.Random(files)
    block = rng.randbytes(file_kb << 10)
    for i in range(files):
        sub = folder / f"d{i // 100:03d}"
        sub.mkdir(exist_ok=True)
        # Vary each file so no two are identical.
        (sub / f"f{i:05d}.bin").write_bytes(i.to_bytes(8, "little") + block[8:])
    image = work / "scale.ext4"
    size_mb = 64 + files * (file_kb + 8) // 1024 * 11 // 10
    subprocess.run(["mkfs.ext4", "-q", "-F", "-d", str(folder), "-E", "root_owner=0:0",
                    str(image), f"{size_mb}M"], check=True)  # fmt: skip
    shutil.rmtree(folder)
    return image


def run(image: Path, out: Path, extra: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(item-pass seconds, whole-command seconds)."""
    cmd = [sys.executable, "-m", "fellwatch", "scan", str(image), "--out", str(out), "--quiet",
           "--no-carve", "--restart", *extra]  # fmt: skip
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    whole = time.perf_counter() - t
    return json.loads((out / "run.json").read_text())["scan_seconds"], whole


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--file-kb", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    compile_sources(ROOT)
    work = Path(tempfile.mkdtemp(prefix="fw-dask-", dir=os.environ.get("BENCH_DIR")))
    try:
        image = make_image(work, args.files, args.file_kb)
        with (
            loopback_cluster(1, work / "cluster1") as one,
            loopback_cluster(2, work / "cluster2") as two,
        ):
            chosen = variants(one, two)
            for name in ("dask, 1 worker", "dask, 2 workers"):  # untimed: workers warm up
                run(image, work / "warm", chosen[name], env)
            times: dict[str, list[tuple[float, float]]] = {name: [] for name in chosen}
            findings: dict[str, bytes] = {}
            for _ in range(args.repeat):
                for name, extra in chosen.items():
                    out = work / name.replace(" ", "_").replace(",", "")
                    times[name].append(run(image, out, extra, env))
                    findings[name] = (out / "findings.json").read_bytes()
        assert len(set(findings.values())) == 1, "executors gave different findings.json"
        mb = args.files * args.file_kb / 1024
        print(f"{args.files} files x {args.file_kb} KiB ({mb:.0f} MiB); cores: {os.cpu_count()}; "
              f"load: {os.getloadavg()[0]:.1f}; medians of {args.repeat}")
        item = {n: statistics.median(t[0] for t in v) for n, v in times.items()}
        whole = {n: statistics.median(t[1] for t in v) for n, v in times.items()}
        for name in chosen:
            print(f"{name:22} item pass {item[name]:6.2f} s ({mb / item[name]:6.1f} MiB/s), "
                  f"whole command {whole[name]:6.2f} s")
        d1, d2, pool, pool_one = (item[n] for n in chosen)
        print(f"dask 2 workers / 1 worker (item pass): {d1 / d2:.2f} x (target >= 1.6)")
        print(f"dask 2 workers / local pool (item pass): {pool / d2:.2f} x")
        print(f"local pool 2 workers / 1 worker (the machine's scaling): {pool_one / pool:.2f} x")
        w1, w2, wp, _ = (whole[n] for n in chosen)
        print(f"whole command: dask 2/1 {w1 / w2:.2f} x, dask 2 / local pool {wp / w2:.2f} x")
        print("findings.json identical across the four: yes")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
