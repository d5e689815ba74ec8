"""The scan streams from the walk to the report: memory does not grow with the file count.

A memory assertion (peak RSS of the scan process), not a timing one: the scan runs in a child
process (one worker, inline, so every structure the scan holds is in that one process) and its
high-water mark is read with getrusage(RUSAGE_CHILDREN) in a fresh probe process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from fellwatch.evidence import Item
from fellwatch.evidence.base import ByteRange
from fellwatch.scan import pipeline
from fellwatch.scan.job import scan
from fellwatch.settings import ScanSettings
from fellwatch.store.scanstore import ScanStore

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
    "stdout=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def _tiny_files(folder: Path, count: int) -> None:
    for d in range(0, count, 1000):
        sub = folder / f"d{d // 1000:04d}"
        sub.mkdir(parents=True)
        for i in range(d, min(d + 1000, count)):
            (sub / f"f{i:06d}.txt").write_bytes(b"tiny file %d\n" % i)


def _peak_rss_kib(folder: Path, out: Path) -> int:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    cmd = [sys.executable, "-m", "fellwatch", "scan", str(folder), "--out", str(out),
           "--quiet", "--workers", "1"]  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *cmd], capture_output=True, text=True, env=env, timeout=1800
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip())


def test_peak_memory_does_not_grow_with_the_file_count(tmp_path: Path) -> None:
    rss = {}
    for count in (20_000, 100_000):
        folder = tmp_path / f"files-{count}"
        _tiny_files(folder, count)
        rss[count] = _peak_rss_kib(folder, tmp_path / f"out-{count}")
        summary = json.loads((tmp_path / f"out-{count}" / "findings.json").read_text())["summary"]
        assert summary["items"] == count and summary["errors"] == 0
    # Holding each item (~1 KiB as Item + record) would add ~80 MiB for the 80 000 more files.
    assert rss[100_000] <= rss[20_000] * 1.10 + 4096, rss


def test_resume_asks_the_store_per_chunk_not_for_every_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "files"
    _tiny_files(folder, 3000)
    whole = scan([str(folder)], tmp_path / "whole", ScanSettings(workers=1), progress=False)
    # Leave the store as a run killed half-way would: only some units committed.
    shutil.copytree(tmp_path / "whole", tmp_path / "partial")
    store = ScanStore(tmp_path / "partial" / "scan.sqlite")
    keys = [k for (k,) in store._db.execute("SELECT key FROM units ORDER BY key")][1500:]
    with store._transaction():
        for table in ("units", "records"):
            store._db.executemany(
                f"DELETE FROM {table} WHERE evidence = 0 AND key = ?", [(k,) for k in keys]
            )
    store.close()

    def every_key(self: ScanStore, evidence: int) -> set[str]:
        raise AssertionError("the scan asked for every committed key at once")

    asked: list[int] = []
    done_among = ScanStore.done_among

    def among(self: ScanStore, evidence: int, chunk: Sequence[str]) -> set[str]:
        asked.append(len(chunk))
        return done_among(self, evidence, chunk)

    monkeypatch.setattr(ScanStore, "done_units", every_key)
    monkeypatch.setattr(ScanStore, "done_among", among)
    resumed = scan([str(folder)], tmp_path / "partial", ScanSettings(workers=1), progress=False)
    assert resumed.run["resumed"] and resumed.run["items_this_run"] == 1500
    assert max(asked) <= pipeline.DONE_QUERY_KEYS and sum(asked) == 3000
    for name in ("findings.json", "inventory.csv"):
        assert (tmp_path / "partial" / name).read_bytes() == (
            tmp_path / "whole" / name
        ).read_bytes()
    assert whole.summary == resumed.summary


def test_batches_grow_and_stay_bounded() -> None:
    items = [Item(evidence="e", path=f"/{i}", key=f"{i:06d}", size=1, origin="folder")
             for i in range(20_000)]  # fmt: skip
    sizes = [len(b) for b, _ in pipeline._batches(iter(items))]
    assert sizes[:3] == [pipeline.FIRST_BATCH_ITEMS, 2 * pipeline.FIRST_BATCH_ITEMS,
                         4 * pipeline.FIRST_BATCH_ITEMS]  # fmt: skip
    assert max(sizes) == pipeline.MAX_BATCH_ITEMS and sum(sizes) == 20_000


def test_the_last_batches_are_cut_into_even_parts() -> None:
    # 8 MiB files: 64 MiB batches of 8, until the items end; then the last two batches' worth
    # (held back + the rest) is cut into `tail_parts` runs, so no worker is left with a whole
    # large batch while the others wait.
    mib = 1 << 20
    items = [Item(evidence="e", path=f"/{i}", key=f"{i:06d}", size=8 * mib, origin="folder")
             for i in range(100)]  # fmt: skip
    batches = [b for b, _ in pipeline._batches(iter(items), tail_parts=4)]
    assert [i.key for b in batches for i in b] == [i.key for i in items]  # all, once, in order
    sizes = [len(b) for b in batches]
    assert max(sizes) == pipeline.BATCH_BYTES // (8 * mib)
    # 100 = 8 * 11 + 12: eleven full batches, one held back; the last 8 + 4 in four runs of 3.
    assert sizes[-4:] == [3, 3, 3, 3] and sum(sizes[:-4]) == 88


def test_tail_split_weighs_empty_files_and_keeps_ranges_whole() -> None:
    empty = [Item(evidence="e", path=f"/{i}", key=f"{i:06d}", size=0, origin="folder")
             for i in range(10)]  # fmt: skip
    assert [len(b) for b in pipeline._split(empty, 5)] == [2, 2, 2, 2, 2]
    big = Item(evidence="e", path="/big", key="big", size=1 << 30, origin="folder")
    # The big file is a part of its own; the rest is spread over the parts left.
    assert [len(b) for b in pipeline._split([big, *empty], 4)] == [1, 4, 3, 3]
    # Carving follows the items: the held batch and the rest go out whole, then each range.
    units: list[Item | ByteRange] = [
        *empty, ByteRange(0, 4096, None, "unpartitioned"),
        ByteRange(8192, 4096, None, "unpartitioned")]  # fmt: skip
    out = list(pipeline._batches(iter(units), tail_parts=4))
    assert [(len(i), len(r)) for i, r in out] == [(10, 0), (0, 1), (0, 1)]
