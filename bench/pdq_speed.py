"""PDQ fast path vs naive pdqhash on full decode, on >= 2 MP JPEGs of benign pictures.

    PYTHONPATH=src python -m bench.pdq_speed [--runs 3]

naive: Pillow decodes the whole JPEG, EXIF orientation, RGB, `pdqhash.compute` on every
pixel (one hash). fast: `fellwatch.signals.pdq.hash_picture` — JPEG draft (DCT-scaled)
decoding, resampling onto PDQ's dihedral grid (long side ~576 px, see
`fellwatch.signals.pictures`), all 8 dihedral hashes and the border check. `--max-side`
values are the long side above which a picture is shrunk (the pictures here are all larger,
so the value does not change what is measured unless it is above them). Drift is the Hamming
distance between the fast path's hash and the naive full-resolution one.
Prints pictures/s (median of runs) and the ratio measured in the same run.
"""

from __future__ import annotations

import argparse
import io
import time

import numpy as np
import pdqhash
from PIL import Image, ImageOps

from bench.robustness import all_pictures
from fellwatch.signals.pdq import bits_to_hex, hash_picture
from fellwatch.signals.pictures import MAX_SIDE

SIZES = ((2048, 1536), (4032, 3024))  # 3.1 MP and a 12 MP phone photo


def naive(data: bytes, dihedral: bool = False) -> str:
    img = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    pixels = np.asarray(img)
    if dihedral:
        hashes, _ = pdqhash.compute_dihedral(pixels)
        return bits_to_hex(hashes[0])
    bits, _ = pdqhash.compute(pixels)
    return bits_to_hex(bits)


def fast(data: bytes, max_side: int = MAX_SIDE) -> str:
    return str(hash_picture(io.BytesIO(data), max_side=max_side)["hash"])


def rate(fn, corpus: list[bytes], runs: int) -> float:
    """Pictures per CPU second of this process (the machine is shared: wall time would
    count other people's work), median of runs."""
    per_run = []
    for _ in range(runs):
        t0 = time.process_time()
        for data in corpus:
            fn(data)
        per_run.append(len(corpus) / (time.process_time() - t0))
    return float(np.median(per_run))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pictures", type=int, default=44)
    parser.add_argument("--max-side", default=str(MAX_SIDE),
                        help="comma-separated long sides to try for the fast path")
    args = parser.parse_args()
    pictures = all_pictures()[: args.pictures]
    for size in SIZES:
        corpus = []
        for i, (_, img) in enumerate(pictures):
            big = img.resize(size if img.width >= img.height else size[::-1],
                             Image.Resampling.BICUBIC)
            buf = io.BytesIO()
            big.save(buf, "JPEG", quality=90 - (i % 3) * 5)
            corpus.append(buf.getvalue())
        mp = size[0] * size[1] / 1e6
        full = [naive(d) for d in corpus]
        runs = args.runs if mp < 5 else max(1, args.runs - 1)
        r_naive = rate(naive, corpus, runs)
        r_naive8 = rate(lambda d: naive(d, dihedral=True), corpus, runs)
        print(f"== {len(corpus)} JPEGs of {size[0]}x{size[1]} ({mp:.1f} MP), "
              f"medians of {runs} runs, pictures per CPU second, 1 process")
        print(f"naive pdqhash, full decode (1 hash):    {r_naive:7.1f} pictures/s")
        print(f"naive pdqhash, full decode (8 hashes):  {r_naive8:7.1f} pictures/s")
        for side in (int(v) for v in args.max_side.split(",")):
            drift = [(int(fast(d, side), 16) ^ int(f, 16)).bit_count()
                     for d, f in zip(corpus, full, strict=True)]
            r_fast = rate(lambda d, side=side: fast(d, side), corpus, runs)
            print(f"fast path, shrink above {side} px (8 hashes + border): "
                  f"{r_fast:7.1f} pictures/s, "
                  f"{r_fast / r_naive:.1f}x vs 1 hash, {r_fast / r_naive8:.1f}x vs 8 hashes; "
                  f"drift mean {np.mean(drift):.2f} bits, median {np.median(drift):.0f}, "
                  f"max {max(drift)} (<= 31 in {sum(d <= 31 for d in drift)}/{len(drift)})")


if __name__ == "__main__":
    main()
