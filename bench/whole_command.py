"""The whole `fellwatch scan` command on an image of large files against hashdeep (issue 9).

Builds an ext4 image of large random files (bench.digests' builder), then, interleaved, for
--repeat rounds:
  * first run: `fellwatch scan IMAGE` with a fresh data directory (the image is unseen, so its
    SHA-256 is computed, overlapped with the item pass);
  * second run: the same command again with the same data directory (the SHA-256 is
    remembered against the image's identity; only the identity is checked after the scan);
  * `hashdeep -c md5,sha1,sha256 -r` over the same files as a folder.
Prints medians and the ratios (hashdeep seconds / fellwatch seconds: > 1 is faster than
hashdeep). Targets: first run >= 1.0 x, second run >= 1.5 x.
Run: `python -m bench.whole_command [--size-mb 1024] [--repeat 3]`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench._timing import compile_sources
from bench.digests import ROOT, make_files, make_image, scan_cmd


def _run(cmd: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    compile_sources(ROOT)
    work = Path(tempfile.mkdtemp(prefix="fw-bench-whole-", dir=os.environ.get("BENCH_DIR")))
    try:
        files = work / "files"
        content = make_files(files, args.size_mb)
        image = work / "big.ext4"
        make_image(files, image, content)
        base = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        first, second, deep, verify = [], [], [], []
        for round_ in range(args.repeat):
            env = {**base, "FELLWATCH_DATA_DIR": str(work / f"data{round_}")}
            first.append(_run(scan_cmd(image, work / "out"), env))
            run = json.loads((work / "out" / "run.json").read_text())
            assert run["evidence_hashes"][0]["sha256"] == "computed in this run"
            second.append(_run(scan_cmd(image, work / "out"), env))
            run = json.loads((work / "out" / "run.json").read_text())
            assert run["evidence_hashes"][0]["sha256"].startswith("remembered")
            verify.append(run["verify_seconds"])
            deep.append(_run(["hashdeep", "-c", "md5,sha1,sha256", "-r", str(files)], base))
        f, s, d = (statistics.median(x) for x in (first, second, deep))
        mb = content / 1e6
        print(f"content: {mb:.0f} MB in {len(list(files.iterdir()))} files, image "
              f"{image.stat().st_size / 1e6:.0f} MB; cores: {os.cpu_count()}; "
              f"medians of {args.repeat}")  # fmt: skip
        print(f"fellwatch scan, first run (image unseen):   {f:6.2f} s  {mb / f:7.1f} MB/s")
        print(f"fellwatch scan, second run (remembered):    {s:6.2f} s  {mb / s:7.1f} MB/s  "
              f"(after-scan check {statistics.median(verify):.3f} s)")  # fmt: skip
        print(f"hashdeep -c md5,sha1,sha256 -r (folder):    {d:6.2f} s  {mb / d:7.1f} MB/s")
        print(f"ratio first run:  {d / f:.2f} x hashdeep (target >= 1.0)")
        print(f"ratio second run: {d / s:.2f} x hashdeep (target >= 1.5)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
