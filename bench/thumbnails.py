"""Thumbnails in the scan: the whole `fellwatch scan` command timed with and without them.

Builds a FAT disk image full of pictures (benign scikit-image photos, as JPEGs at phone,
web and small sizes, some PNGs, with EXIF orientation on some) and a few short videos, then
runs `python -m fellwatch scan IMAGE --out DIR --quiet` as a subprocess, alternating
`--thumbnails` and `--no-thumbnails` so both see the same machine load, each into a fresh
folder. Prints every run, the median wall and CPU time (the command and its worker processes)
of each and their ratios (the issue's target is at most 1.10), and checks that findings.json is
byte-identical either way.

    python -m bench.thumbnails [--pictures 300] [--runs 5] [--workers 1] [--keep DIR]
"""

from __future__ import annotations

import argparse
import io
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import piexif
import skimage.data
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.carving import samples  # noqa: E402

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera", "coins", "moon", "page",
          "hubble_deep_field", "immunohistochemistry", "cat")
SIZES = ((4032, 3024), (2048, 1536), (1280, 960), (800, 600), (640, 480), (320, 240))


def _photo(name: str) -> Image.Image:
    data = getattr(skimage.data, name)()
    if isinstance(data, tuple):
        data = data[0]
    return Image.fromarray(np.asarray(data)).convert("RGB")


def build_image(folder: Path, pictures: int, videos: int, seed: int = 7) -> tuple[Path, int]:
    """A FAT image holding `pictures` pictures and `videos` videos; returns (path, bytes)."""
    rng = random.Random(seed)
    photos = [_photo(n) for n in PHOTOS]
    files = folder / "files"
    files.mkdir()
    total = 0
    for i in range(pictures):
        img = photos[i % len(photos)]
        w, h = rng.choice(SIZES)
        img = img.resize((w, h), Image.Resampling.BILINEAR)
        if rng.random() < 0.5:
            img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        buf = io.BytesIO()
        if i % 7 == 6:
            img.save(buf, "PNG")
            name = f"P{i:05d}.PNG"
        else:
            kwargs: dict[str, object] = {"quality": rng.choice((70, 85, 92))}
            if i % 5 == 0:
                kwargs["exif"] = piexif.dump({"0th": {piexif.ImageIFD.Orientation: 6}})
            img.save(buf, "JPEG", **kwargs)
            name = f"P{i:05d}.JPG"
        (files / name).write_bytes(buf.getvalue())
        total += len(buf.getvalue())
    for i in range(videos):
        blob = samples.video("mp4", seconds=20, fps=10, index=i, size=(320, 240))
        (files / f"V{i:03d}.MP4").write_bytes(blob)
        total += len(blob)
    image = folder / "pictures.img"
    sectors_kib = max(65536, int(total * 1.3) // 1024 + 8192)
    subprocess.run(["mkfs.vfat", "-F", "32", "-C", str(image), str(sectors_kib)], check=True,
                   capture_output=True)
    names = sorted(str(p) for p in files.iterdir())
    subprocess.run(["mcopy", "-i", str(image), *names, "::/"], check=True)
    shutil.rmtree(files)
    return image, total


def run_scan(image: Path, out: Path, thumbnails: bool, workers: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and its workers)."""
    cmd = [sys.executable, "-m", "fellwatch", "scan", str(image), "--out", str(out), "--quiet",
           "--workers", str(workers), "--thumbnails" if thumbnails else "--no-thumbnails"]
    env = {"PYTHONPATH": f"{ROOT / 'src'}:{ROOT}", "PATH": "/usr/bin:/bin",
           "FELLWATCH_DATA_DIR": str(out.parent / "data")}
    cpu_before = _children_cpu()
    started = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started, _children_cpu() - cpu_before


def _children_cpu() -> float:
    # The scan's worker processes are its children and are waited for, so they count here.
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pictures", type=int, default=300)
    parser.add_argument("--videos", type=int, default=4)
    parser.add_argument("--runs", type=int, default=5, help="runs of each (alternating)")
    parser.add_argument(
        "--workers", type=int, default=1,
        help="1 (default) runs the scan inline, so CPU time counts all its work; with more, the "
        "pool's workers are the forkserver's children and their CPU time is not counted",
    )
    parser.add_argument("--keep", type=Path, help="build the image here and keep it")
    args = parser.parse_args()

    folder = args.keep or Path(tempfile.mkdtemp(prefix="fellwatch-bench-thumbs-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        image, nbytes = build_image(folder, args.pictures, args.videos)
        print(f"image: {args.pictures} pictures + {args.videos} videos, "
              f"{nbytes / 1e6:.1f} MB of files, {image.stat().st_size / 1e6:.0f} MB image")
        run_scan(image, folder / "warm", False, args.workers)  # page cache, imports
        times: dict[bool, list[float]] = {True: [], False: []}
        cpu: dict[bool, list[float]] = {True: [], False: []}
        for r in range(args.runs):
            for on in ((True, False) if r % 2 == 0 else (False, True)):
                out = folder / f"out-{on}-{r}"
                seconds, cpu_seconds = run_scan(image, out, on, args.workers)
                times[on].append(seconds)
                cpu[on].append(cpu_seconds)
                print(f"run {r + 1} thumbnails={'on ' if on else 'off'} {seconds:7.2f} s wall "
                      f"{cpu_seconds:7.2f} s CPU")
        same = all(
            (folder / f"out-True-{r}" / "findings.json").read_bytes()
            == (folder / "out-False-0" / "findings.json").read_bytes()
            for r in range(args.runs)
        )
        with_t, without = statistics.median(times[True]), statistics.median(times[False])
        cpu_with, cpu_without = statistics.median(cpu[True]), statistics.median(cpu[False])
        print(f"median wall: without thumbnails {without:.2f} s, with {with_t:.2f} s, "
              f"ratio {with_t / without:.3f} (target <= 1.10)")
        if args.workers == 1:
            print(f"median CPU:  without thumbnails {cpu_without:.2f} s, with {cpu_with:.2f} s, "
                  f"ratio {cpu_with / cpu_without:.3f} (steadier than wall time on a shared "
                  "machine)")
        print(f"findings.json identical with and without: {same}")
        return 0 if same else 1
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
