"""Carving benchmark: Fellwatch's carvers against Debian's foremost and PhotoRec.

Builds a sparse raw image (default 1 GiB: zero filler, runs of random data, planted JPEG / PNG
/ GIF pictures at 4 KiB-aligned offsets, some with EXIF thumbnails, some fragmented into two runs
with random or zeroed gaps), then runs each tool on it and scores the output against the truth:

- recall: planted whole pictures recovered byte-exact (md5) / planted whole pictures
- precision: outputs reported complete that are byte-exact planted pictures / all such outputs
  (whole EXIF thumbnails, real pictures but not planted ones, are counted apart as "thumbs")
- broken-as-complete: outputs reported complete that start at a planted fragment
- time: median wall time of --runs runs (page cache warmed first), and the ratio to foremost;
  the same for CPU time (all threads; steadier than wall time on a shared machine)

    python -m bench.carving [--size-mib 1024] [--runs 3] [--keep DIR] [--no-photorec]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.carving import samples  # noqa: E402

from fellwatch.carving import CarveSettings, carve  # noqa: E402
from fellwatch.evidence.base import ByteRange  # noqa: E402

MiB = 1 << 20
ALIGN = 4096


@dataclass
class Truth:
    whole: dict[int, str] = field(default_factory=dict)  # offset -> md5
    fragments: set[int] = field(default_factory=set)
    # md5s of whole pictures embedded in planted ones (EXIF thumbnails): a tool that outputs
    # one has found a real picture, neither planted nor false.
    embedded: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)


def picture(kind: str, i: int, rng: random.Random) -> bytes:
    if kind == "jpeg":
        size = rng.choice([(320, 240), (640, 480), (1024, 768)])
        if i % 3 == 0:  # a third carry EXIF with a JPEG thumbnail (foremost's classic trap)
            thumb = samples.encode(samples.photo(i + 7, (160, 120)), "JPEG", quality=75)
            return samples.encode(samples.photo(i, size), "JPEG", quality=rng.randint(70, 95),
                                  exif=samples.exif_bytes(thumbnail=thumb))
        return samples.encode(samples.photo(i, size), "JPEG", quality=rng.randint(70, 95))
    if kind == "png":
        return samples.encode(samples.gradient(i, rng.choice([(200, 150), (400, 300)])), "PNG")
    return samples.encode(samples.photo(i, (160, 120)), "GIF")


def build_image(path: Path, size: int, seed: int = 1) -> Truth:
    rng = random.Random(seed)
    truth = Truth()
    kinds = ["jpeg"] * 6 + ["png"] * 3 + ["gif"]
    with path.open("wb") as f:
        f.truncate(size)
        pos = 8 * MiB
        i = 0
        while pos < size - 8 * MiB:
            roll = rng.random()
            if roll < 0.25:  # a run of random data (high-entropy filler: false signatures)
                n = rng.randint(1, 4) * MiB
                f.seek(pos)
                f.write(np.random.default_rng(i).integers(0, 256, n, dtype=np.uint8).tobytes())
                pos += n
            else:
                kind = kinds[i % len(kinds)]
                blob = picture(kind, i, rng)
                if kind == "jpeg" and blob.find(b"\xff\xd8\xff", 2) > 0:
                    at = blob.find(b"\xff\xd8\xff", 2)
                    thumb = blob[at : blob.index(b"\xff\xd9", at) + 2]
                    truth.embedded.add(hashlib.md5(thumb).hexdigest())
                f.seek(pos)
                if roll < 0.34:  # fragmented: two runs with a gap between them
                    split = max(ALIGN, (len(blob) // 2) // ALIGN * ALIGN)
                    gap = rng.choice([1, 2, 4]) * ALIGN
                    filler = (bytes(gap) if rng.random() < 0.5
                              else rng.randbytes(gap))
                    f.write(blob[:split] + filler + blob[split:])
                    truth.fragments.add(pos)
                    truth.counts[f"{kind} fragmented"] = truth.counts.get(f"{kind} fragmented",
                                                                          0) + 1
                    pos += len(blob) + gap
                else:
                    f.write(blob)
                    truth.whole[pos] = hashlib.md5(blob).hexdigest()
                    truth.counts[kind] = truth.counts.get(kind, 0) + 1
                    pos += len(blob)
                i += 1
            pos = -(-(pos + rng.randint(0, 3 * MiB)) // ALIGN) * ALIGN
    return truth


@dataclass
class Outcome:
    tool: str
    times: list[float]
    cpu: list[float]
    complete: dict[int, str]  # offset -> md5 of outputs the tool reports as complete
    fragments_reported: int = 0

    def score(self, truth: Truth) -> dict[str, float]:
        exact = sum(1 for o, m in self.complete.items() if truth.whole.get(o) == m)
        planted_md5 = set(truth.whole.values())
        exact_any = len({m for m in self.complete.values() if m in planted_md5})
        broken = sum(1 for o in self.complete if o in truth.fragments)
        embedded = sum(1 for m in self.complete.values() if m in truth.embedded)
        judged = len(self.complete) - embedded
        return {
            "recall": max(exact, exact_any) / len(truth.whole),
            "precision": exact_any / judged if judged else 0.0,
            "outputs": len(self.complete),
            "thumbnails": embedded,
            "broken_as_complete": broken,
            "time": statistics.median(self.times),
            "cpu": statistics.median(self.cpu),
        }


def run_fellwatch(image: Path, runs: int, formats: tuple[str, ...] | None,
                  alignment: int | None = None) -> Outcome:
    size = image.stat().st_size
    times: list[float] = []
    cpu: list[float] = []
    complete: dict[int, str] = {}
    fragments = 0
    for _ in range(runs):
        complete, fragments = {}, 0
        t0, c0 = time.perf_counter(), time.process_time()
        fd = os.open(image, os.O_RDONLY)
        try:
            def read(offset: int, length: int, fd: int = fd) -> bytes:
                return os.pread(fd, length, offset)

            ranges = [ByteRange(0, size, None, "unpartitioned")]
            for item in carve(read, ranges, str(image), CarveSettings(formats=formats,
                                                                  alignment=alignment)):
                assert item.offset is not None
                if item.error is None:
                    complete[item.offset] = hashlib.md5(read(item.offset, item.size)).hexdigest()
                else:
                    fragments += 1
        finally:
            os.close(fd)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return Outcome("fellwatch", times, cpu, complete, fragments)


def _collect(out: Path, name_to_sector: Callable[[str], int | None]) -> dict[int, str]:
    found: dict[int, str] = {}
    for p in sorted(out.rglob("*")):
        if p.is_file():
            sector = name_to_sector(p.stem)
            if sector is not None:
                found[sector * 512] = hashlib.md5(p.read_bytes()).hexdigest()
    return found


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_foremost(image: Path, runs: int, work: Path) -> Outcome:
    times: list[float] = []
    cpu: list[float] = []
    complete: dict[int, str] = {}
    for r in range(runs):
        out = work / f"foremost{r}"
        shutil.rmtree(out, ignore_errors=True)
        t0, c0 = time.perf_counter(), _children_cpu()
        subprocess.run(["foremost", "-Q", "-t", "jpg,png,gif", "-i",
                        str(image), "-o", str(out)], check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
        cpu.append(_children_cpu() - c0)
        complete = _collect(out, lambda s: int(s) if s.isdigit() else None)
    return Outcome("foremost", times, cpu, complete)


def run_photorec(image: Path, runs: int, work: Path) -> Outcome:
    times: list[float] = []
    cpu: list[float] = []
    complete: dict[int, str] = {}
    for r in range(runs):
        base = work / f"photorec{r}"
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir(parents=True)
        t0, c0 = time.perf_counter(), _children_cpu()
        subprocess.run(
            ["photorec", "/log", "/d", str(base / "out"), "/cmd", str(image),
             "partition_none,options,paranoid,fileopt,everything,disable,jpg,enable,png,enable,"
             "gif,enable,search"],
            check=True, capture_output=True, cwd=base,
        )
        times.append(time.perf_counter() - t0)
        cpu.append(_children_cpu() - c0)
        complete = _collect(base, lambda s: int(s[1:]) if s[:1] == "f" and s[1:].isdigit()
                            else None)
    return Outcome("photorec", times, cpu, complete)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="build / reuse the image in this folder")
    parser.add_argument("--no-photorec", action="store_true")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="fellwatch-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    image = work / "bench.dd"
    t0 = time.perf_counter()
    truth = build_image(image, args.size_mib * MiB)
    print(f"image: {image} {args.size_mib} MiB, built in {time.perf_counter() - t0:.1f} s")
    print(f"planted whole: {len(truth.whole)}  fragmented: {len(truth.fragments)}  "
          f"{dict(sorted(truth.counts.items()))}")
    with image.open("rb") as f:  # warm the page cache so every tool reads from memory
        while f.read(64 * MiB):
            pass
    outcomes = [
        run_fellwatch(image, args.runs, ("jpeg", "png", "gif")),
        run_foremost(image, args.runs, work),
    ]
    if not args.no_photorec:
        outcomes.append(run_photorec(image, max(1, args.runs), work))
    all_formats = run_fellwatch(image, args.runs, None)
    all_formats.tool = "fellwatch (all 7 formats)"
    outcomes.append(all_formats)
    aligned = run_fellwatch(image, args.runs, ("jpeg", "png", "gif"), alignment=512)
    aligned.tool = "fellwatch (sector-aligned)"
    outcomes.append(aligned)
    base = statistics.median(outcomes[1].times)
    base_cpu = statistics.median(outcomes[1].cpu)
    print(f"\n{'tool':28} {'recall':>7} {'precision':>9} {'outputs':>8} {'thumbs':>6} "
          f"{'broken-as-whole':>15} "
          f"{'time s':>8} {'MiB/s':>7} {'vs foremost':>11} {'cpu s':>7} {'cpu vs foremost':>15}")
    for o in outcomes:
        s = o.score(truth)
        print(f"{o.tool:28} {s['recall']:7.3f} {s['precision']:9.3f} {s['outputs']:8.0f} "
              f"{s['thumbnails']:6.0f} {s['broken_as_complete']:15.0f} {s['time']:8.2f} "
              f"{args.size_mib / s['time']:7.0f} {base / s['time']:10.2f}x "
              f"{s['cpu']:7.2f} {base_cpu / s['cpu']:14.2f}x")
    fw = outcomes[0]
    print(f"\nfellwatch fragments reported as fragments: {fw.fragments_reported} "
          f"(planted fragmented: {len(truth.fragments)})")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
