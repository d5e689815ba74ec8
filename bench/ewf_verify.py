"""E01 chunk verification (`ewf_check.bad_chunks`) against hashing the same E01 files.

Builds a raw disk of generated content (a third random bytes, a third text, a third zeros, in
1 MiB runs), acquires it with ewfacquire (deflate), then times, warm cache, median of --runs:
verifying every chunk (Adler-32 / inflate from the segments' tables), SHA-256 of the segment
files (what a scan's evidence hash costs), and reading the whole media through pyewf. The
ratio verify / sha256 says what the check adds to opening an E01.

    python -m bench.ewf_verify [--size-mib 256] [--runs 3]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from bench._timing import median_seconds

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from fellwatch.evidence.ewf_check import _segment_files, bad_chunks  # noqa: E402

MIB = 1 << 20


def _build(work: Path, size_mib: int) -> Path:
    rng = random.Random(9)
    raw = work / "disk.raw"
    text = b"benign line of text for the benchmark, compressible\n" * (MIB // 52 + 1)
    with raw.open("wb") as out:
        for i in range(size_mib):
            kind = i % 3
            out.write(rng.randbytes(MIB) if kind == 0 else text[:MIB] if kind == 1
                      else bytes(MIB))
    subprocess.run(["ewfacquire", "-u", "-q", "-t", str(work / "disk"), "-f", "encase6",
                    "-c", "deflate:fast", "-m", "fixed", "-M", "physical", str(raw)],
                   check=True, capture_output=True)
    raw.unlink()
    return work / "disk.E01"


def _sha256(first: Path) -> None:
    for segment in _segment_files(first):
        digest = hashlib.sha256()
        with segment.open("rb") as f:
            while block := f.read(4 * MIB):
                digest.update(block)


def _pyewf_read(first: Path) -> None:
    import pyewf

    handle = pyewf.handle()
    handle.open(pyewf.glob(str(first)))
    try:
        while handle.read(4 * MIB):
            pass
    finally:
        handle.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fellwatch-bench-ewf-") as tmp:
        e01 = _build(Path(tmp), args.size_mib)
        e01_bytes = sum(s.stat().st_size for s in _segment_files(e01))
        _sha256(e01)  # warm the page cache
        assert bad_chunks(e01) == []
        verify = median_seconds(args.runs, lambda: bad_chunks(e01))
        sha = median_seconds(args.runs, lambda: _sha256(e01))
        media = median_seconds(args.runs, lambda: _pyewf_read(e01))
    size = args.size_mib * MIB
    sys.stdout.write(
        f"media {args.size_mib} MiB, E01 {e01_bytes / MIB:.0f} MiB\n"
        f"verify chunks   {verify:6.2f} s  {size / MIB / verify:7.0f} MiB/s of media\n"
        f"sha256 of E01   {sha:6.2f} s  (baseline)\n"
        f"pyewf read all  {media:6.2f} s\n"
        f"ratio verify / sha256 = {verify / sha:.2f}, verify / pyewf read = {verify / media:.2f}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
