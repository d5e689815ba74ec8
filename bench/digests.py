"""Digest pass throughput and memory (issue: triage engine, performance).

Builds an ext4 image of random-content files (mkfs.ext4 -d, no mount needed), then in one run:
  * the machine's hashlib limit: MD5 + SHA1 + SHA256 over the same bytes, in memory, one thread;
  * `fellwatch scan` of the image (no hash sets): MB/s of file content;
  * `hashdeep -c md5,sha1,sha256 -r` over the same files extracted to a folder;
  * peak memory (max RSS of the scan's process tree) on a small and a large image.
Prints medians of --repeat runs and the ratios. Run: `python -m bench.digests [--size-mb 1024]`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def make_files(folder: Path, total_mb: int, file_mb: int = 8) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    chunk = os.urandom(1 << 20)
    written = 0
    for i in range(max(1, total_mb // file_mb)):
        with (folder / f"f{i:05}.bin").open("wb") as fh:
            for j in range(file_mb):
                # Vary each MiB so no two files are identical (dedup would flatter nobody).
                fh.write(chunk[:-8] + i.to_bytes(4, "little") + j.to_bytes(4, "little"))
        written += file_mb << 20
    return written


def make_image(folder: Path, image: Path, content_bytes: int) -> None:
    size_mb = content_bytes // (1 << 20) + 64 + content_bytes // (1 << 20) // 10
    subprocess.run(
        [
            "mkfs.ext4",
            "-q",
            "-F",
            "-d",
            str(folder),
            "-E",
            "root_owner=0:0",
            str(image),
            f"{size_mb}M",
        ],
        check=True,
    )


def hashlib_limit(folder: Path) -> float:
    """Seconds for MD5, SHA1 and SHA256 of every file's bytes, in memory, on one thread."""
    seconds = 0.0
    for path in sorted(folder.iterdir()):
        data = path.read_bytes()
        t = time.perf_counter()
        for name in ("md5", "sha1", "sha256"):
            hashlib.new(name, data).digest()
        seconds += time.perf_counter() - t
    return seconds


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of the command's process tree."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
    elapsed = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(after, before)


def scan_cmd(image: Path, out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "fellwatch",
        "scan",
        str(image),
        "--out",
        str(out),
        "--quiet",
        "--no-carve",
        "--restart",
    ]


def peak_rss_of(cmd: list[str]) -> int:
    # A fresh interpreter per measurement: ru_maxrss of RUSAGE_CHILDREN is a high-water mark
    # over all children ever waited for, so measure in a child that runs only this one.
    probe = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
        "stdout=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, *cmd], check=True, capture_output=True, text=True
    )
    return int(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--small-mb", type=int, default=100)
    parser.add_argument("--large-mb", type=int, default=2048)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    work = Path(tempfile.mkdtemp(prefix="fw-bench-", dir=os.environ.get("BENCH_DIR")))
    try:
        files = work / "files"
        content = make_files(files, args.size_mb)
        image = work / "big.ext4"
        make_image(files, image, content)
        mb = content / 1e6
        limit = [hashlib_limit(files) for _ in range(args.repeat)]
        whole, ours = [], []
        for _ in range(args.repeat):
            whole.append(timed(scan_cmd(image, work / "out"), env)[0])
            run = json.loads((work / "out" / "run.json").read_text())
            ours.append(run["scan_seconds"])  # the item pass: read, digest, match
        deep = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            subprocess.run(
                ["hashdeep", "-c", "md5,sha1,sha256", "-r", str(files)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            deep.append(time.perf_counter() - t)
        l_mbs, o_mbs, d_mbs, w_mbs = (mb / statistics.median(x) for x in (limit, ours, deep, whole))
        print(
            f"content: {mb:.0f} MB in {len(list(files.iterdir()))} files; cores: {os.cpu_count()}"
        )
        print(f"hashlib limit (md5+sha1+sha256, 1 thread, in memory): {l_mbs:8.1f} MB/s")
        print(f"fellwatch digest pass over the ext4 image's files:   {o_mbs:8.1f} MB/s")
        print(
            f"fellwatch scan, whole command (start-up, image SHA-256 before and after): "
            f"{w_mbs:.1f} MB/s"
        )
        print(f"hashdeep -c md5,sha1,sha256 -r on extracted files:    {d_mbs:8.1f} MB/s")
        print(f"ratio fellwatch / hashlib limit: {o_mbs / l_mbs:.2f} (target >= 0.90)")
        print(f"ratio fellwatch / hashdeep:      {o_mbs / d_mbs:.2f} (target > 1.00)")
        if not args.skip_memory:
            shutil.rmtree(files)
            image.unlink()
            rss = {}
            for label, size in (("small", args.small_mb), ("large", args.large_mb)):
                folder = work / f"files-{label}"
                img = work / f"{label}.ext4"
                make_image(folder, img, make_files(folder, size))
                shutil.rmtree(folder)
                rss[label] = peak_rss_of(scan_cmd(img, work / f"out-{label}"))
                img.unlink()
                print(f"peak RSS scanning {size:5} MB image: {rss[label] / 1024:7.1f} MiB")
            print(f"memory ratio large / small: {rss['large'] / rss['small']:.2f} (flat ~ 1.0)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
