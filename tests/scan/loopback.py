"""A Dask cluster of separate processes on loopback: a scheduler and one-thread workers
started from the `distributed` command-line entry points, as on real machines (the cluster
test and `bench.dask_scale` use it)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 120


def _start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    with log.open("wb") as fh:
        # A session of its own, so teardown ends the process and whatever it started.
        return subprocess.Popen(args, stdout=fh, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)  # fmt: skip


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)


@contextmanager
def loopback_cluster(workers: int, logs: Path) -> Iterator[str]:
    """`tcp://127.0.0.1:PORT` of a scheduler with `workers` one-thread workers (their logs
    in `logs`), all stopped on exit."""
    logs.mkdir(parents=True, exist_ok=True)
    info = logs / "scheduler.json"
    python = sys.executable
    processes = [
        _start([python, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                "--port", "0", "--no-dashboard", "--scheduler-file", str(info)],
               logs / "scheduler.log"),
    ]  # fmt: skip
    try:
        deadline = time.monotonic() + START_SECONDS
        while not info.exists() and time.monotonic() < deadline:
            assert processes[0].poll() is None, (logs / "scheduler.log").read_text()
            time.sleep(0.2)
        address = json.loads(info.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        for n in range(workers):
            processes.append(
                _start([python, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                        "--nworkers", "1", "--no-dashboard", "--host", "127.0.0.1",
                        "--name", f"w{n}"], logs / f"worker{n}.log")
            )  # fmt: skip
        from distributed import Client

        with Client(address, timeout=START_SECONDS) as client:
            client.wait_for_workers(workers, timeout=START_SECONDS)
        yield address
    finally:
        for process in reversed(processes):
            _stop(process)
