"""vPDQ speed: frames per second of hashing (decode + downscale + PDQ at 1 frame/s) against
decoding alone (the floor any frame hasher pays), on PyAV-encoded videos of generated frames.

    python -m bench.vpdq_speed [--seconds 20] [--fps 25] [--size 1280x720] [--runs 3]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

import av

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.carving import samples  # noqa: E402

from fellwatch.signals.vpdq import VpdqSignal  # noqa: E402


def decode_only(blob: bytes) -> int:
    count = 0
    with av.open(io.BytesIO(blob), mode="r") as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for _ in container.decode(stream):
            count += 1
    return count


def median_time(fn: object, runs: int) -> tuple[float, float]:
    """Median wall time and median CPU time (all threads) of `runs` calls. CPU time is the
    steadier figure on a shared machine."""
    walls, cpus = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()  # type: ignore[operator]
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    print(f"video: {args.seconds} s at {args.fps} fps, {width}x{height}")
    for fmt in ("mp4", "avi"):
        blob = samples.video(fmt, seconds=args.seconds, fps=args.fps, size=(width, height))
        frames = decode_only(blob)  # also warms the decoder (libraries, thread pool)
        VpdqSignal().compute(io.BytesIO(blob), "video/" + fmt)
        base, base_cpu = median_time(lambda blob=blob: decode_only(blob), args.runs)
        print(f"\n{fmt}: {len(blob) / 1e6:.1f} MB, {frames} frames "
              "(wall s, frames/s, ratio to decode-only; then the same on CPU time)")
        print(f"  {'decode only':34} {base:7.3f} s {frames / base:6.0f}/s 1.00x"
              f"   cpu {base_cpu:7.3f} s {frames / base_cpu:6.0f}/s 1.00x")
        for label, signal in (
            ("vpdq 1 frame/s, downscale 512", VpdqSignal()),
            ("vpdq 1 frame/s, no downscale", VpdqSignal(downscale=0)),
            ("vpdq every frame, downscale 512", VpdqSignal(seconds_per_hash=1e-6)),
        ):
            def run(blob: bytes = blob, signal: VpdqSignal = signal, fmt: str = fmt) -> None:
                signal.compute(io.BytesIO(blob), "video/" + fmt)

            t, cpu = median_time(run, args.runs)
            print(f"  {label:34} {t:7.3f} s {frames / t:6.0f}/s {base / t:.2f}x"
                  f"   cpu {cpu:7.3f} s {frames / cpu:6.0f}/s {base_cpu / cpu:.2f}x")


if __name__ == "__main__":
    main()
