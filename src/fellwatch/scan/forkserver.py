"""The local pool's worker processes, forked with the worker's modules already imported.

Workers are forked from a forkserver (they start clean: no inherited threads or evidence
handles). The forkserver loads what a worker needs once (`scan.preload`: dfVFS and its
resolver helpers, The Sleuth Kit, the content signals with Pillow, PyAV and pdqhash, libmagic's
database) and every worker is forked with them loaded, instead of each worker loading them
again during its first batch (docs/performance.md).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.context import BaseContext

# Importing it loads what a worker runs (scan.worker.process_batch) and everything the first
# batch would otherwise load.
WORKER_MODULES = ["fellwatch.scan.preload"]


def _context() -> BaseContext:
    context = multiprocessing.get_context("forkserver")
    # Only the first call before the server starts counts; later ones change nothing.
    context.set_forkserver_preload(WORKER_MODULES)
    return context


def start() -> None:
    """Start the forkserver now, so that its imports (~0.3 s) run on the other core while
    this process opens the evidence: the pool, made after that, then forks its workers at
    once instead of waiting for the server (measured: 0.31 s of the main process blocked)."""
    _context()
    multiprocessing.forkserver.ensure_running()


def new_pool(workers: int) -> ProcessPoolExecutor:
    """A pool whose `workers` processes are forked now (the pool would fork one per task as
    the first tasks arrive, the first batch waiting for its worker)."""
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=_context())
    for _ in range(workers):
        pool.submit(int)  # a no-op task: forks a worker
    return pool
