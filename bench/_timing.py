"""Timing shared by the benchmarks."""

from __future__ import annotations

import compileall
import statistics
import time
from collections.abc import Callable
from pathlib import Path


def median_seconds(runs: int, call: Callable[[], object]) -> float:
    """The median wall time of `runs` calls of `call`."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def compile_sources(root: Path) -> None:
    """Byte-compile Fellwatch's sources, as an installed package is (pip compiles what it
    installs; an editable install does not, and where PYTHONDONTWRITEBYTECODE is set no run
    writes the caches either, so every command would compile ~300 modules again: ~0.1 s of
    each process's start-up). Timing the command a user runs means timing it compiled."""
    compileall.compile_dir(str(root / "src"), quiet=1)
