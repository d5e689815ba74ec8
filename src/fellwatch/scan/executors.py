"""Where batches run: inline, a local process pool (default), or a Dask cluster.

Every executor has the same shape: `submit(batch) -> future`; the pipeline keeps a bounded
number in flight so memory stays flat however large the evidence.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any, Protocol

from fellwatch.scan import forkserver
from fellwatch.scan.batch import Batch, BatchResult


class Executor(Protocol):
    slots: int

    def submit(self, batch: Batch) -> Future[BatchResult]: ...

    def close(self) -> None: ...


class InlineExecutor:
    """Runs batches in this process, one at a time (tests, debugging, one core)."""

    slots = 1

    def submit(self, batch: Batch) -> Future[BatchResult]:
        future: Future[BatchResult] = Future()
        try:
            future.set_result(run_batch(batch))
        except BaseException as exc:
            future.set_exception(exc)
        return future

    def close(self) -> None:
        pass


class LocalExecutor:
    """A pool of worker processes on this machine."""

    def __init__(self, workers: int) -> None:
        # forkserver: workers start clean (no inherited threads or open evidence handles),
        # forked with the worker's modules already imported.
        self._pool = forkserver.new_pool(workers)
        self.slots = workers * 2

    def submit(self, batch: Batch) -> Future[BatchResult]:
        return self._pool.submit(run_batch, batch)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    """Batches on a Dask cluster: an address (`tcp://scheduler:8786`) or `local`.

    Workers must see the evidence at the same path (a shared, read-only mount) and import the
    same fellwatch (docs/cluster.md). Each worker process opens each evidence once and keeps it
    open for every batch it is given (scan.worker caches the handle); batches are large (up to
    scan.pipeline.MAX_BATCH_ITEMS items), so the scheduler's per-task cost is paid rarely.
    """

    def __init__(self, address: str, workers: int) -> None:
        from distributed import Client, LocalCluster

        self._cluster: Any = None
        if address == "local":
            self._cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
            self._client = Client(self._cluster)
        else:
            self._client = Client(address)
        info = self._client.scheduler_info()
        threads = sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values())
        # Two batches per worker thread: one running, one already on the worker.
        self.slots = max(2, 2 * threads)

    def submit(self, batch: Batch) -> Future[BatchResult]:
        # Dask's futures are not concurrent.futures; bridge them so the pipeline sees one kind.
        bridge: Future[BatchResult] = Future()
        # One retry on another worker: a worker lost or restarted (a machine rebooted, the
        # network dropped) costs the batch its first try, not the scan its completeness.
        dask_future = self._client.submit(process_batch_serialised, batch, pure=False, retries=1)

        def done(f: Any) -> None:
            try:
                bridge.set_result(f.result())
            except BaseException as exc:
                bridge.set_exception(exc)

        dask_future.add_done_callback(done)
        return bridge

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


_ONE_AT_A_TIME = threading.Lock()


def run_batch(batch: Batch, parallel_digests: bool | None = None) -> BatchResult:
    """scan.worker.process_batch, imported where the batch runs: a pool's workers have it
    already (scan.forkserver), the main process never needs it unless it runs batches inline."""
    from fellwatch.scan.worker import process_batch

    return process_batch(batch, parallel_digests)


def process_batch_serialised(batch: Batch) -> BatchResult:
    """process_batch for a Dask worker, one batch at a time per process: the evidence handles
    a worker keeps (The Sleuth Kit, libyal) are not safe to share between threads, and a
    worker started with `--nthreads 4` would otherwise run four batches on them at once."""
    with _ONE_AT_A_TIME:
        # One thread per digest would contend with the other workers of the machine.
        return run_batch(batch, parallel_digests=False)


def uses_local_pool(cluster: str | None, workers: int) -> bool:
    """Whether `make_executor` makes a pool of processes on this machine."""
    return not cluster and workers > 1


def make_executor(cluster: str | None, workers: int) -> Executor:
    if cluster:
        return DaskExecutor(cluster, workers)
    if not uses_local_pool(cluster, workers):
        return InlineExecutor()
    return LocalExecutor(workers)
