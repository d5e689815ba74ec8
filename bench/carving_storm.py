"""Carving space full of signatures: PNG and GIF headers every 4 KiB whose first chunk or
sub-block chain claims to run to the end of the range, and MP4 / RIFF headers every 16-32
bytes over one long chain of small boxes or chunks (the hostile fixtures, larger).

Times `carve()` over each storm (median of --runs) and, as the same-run baseline, SHA-256 of
the same bytes; prints seconds, MiB/s and the ratio. Before the per-candidate bounds an 8 MiB
storm took 9 s (PNG) and 8.4 s (GIF), growing with the square of the size; before chains were
remembered (carving/chains.py) a 1 MiB MP4 storm was about 2.7 x 10^9 box steps.

    python -m bench.carving_storm [--size-mib 96] [--video-mib 4] [--runs 3]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Callable
from pathlib import Path

from bench._timing import median_seconds

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.fixtures.hostile import gif_storm, mp4_storm, png_storm, riff_storm  # noqa: E402

from fellwatch.carving import carve  # noqa: E402
from fellwatch.evidence.base import ByteRange  # noqa: E402

MIB = 1 << 20
STEP = 4096


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=96)
    parser.add_argument("--video-mib", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    storms: list[tuple[str, int, Callable[[int], bytes], int]] = [
        ("png", args.size_mib, lambda n: png_storm(n, STEP), STEP),
        ("gif", args.size_mib, lambda n: gif_storm(n, STEP), STEP),
        ("mp4", args.video_mib, mp4_storm, 32),  # two candidates per 32 bytes, then fewer
        ("riff", args.video_mib, riff_storm, 32)]
    for name, mib, build, step in storms:
        size = mib * MIB
        data = build(size)

        def read(offset: int, length: int, data: bytes = data) -> bytes:
            return data[offset:offset + length]

        ranges = [ByteRange(0, size, None, "unallocated")]

        def carve_all(read: Callable[[int, int], bytes] = read,
                      ranges: list[ByteRange] = ranges) -> list[object]:
            return list(carve(read, ranges, "storm"))

        def sha256(data: bytes = data) -> bytes:
            return hashlib.sha256(data).digest()

        found = carve_all()
        took = median_seconds(args.runs, carve_all)
        base = median_seconds(args.runs, sha256)
        sys.stdout.write(
            f"{name} storm {mib} MiB (~{size // step} candidates, {len(found)} "
            f"fragments): carve {took:.2f} s ({args.size_mib / took:.0f} MiB/s), sha256 "
            f"{base:.3f} s, ratio carve / sha256 = {took / base:.1f}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
