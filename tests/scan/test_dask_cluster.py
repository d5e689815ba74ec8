"""A Dask cluster of separate processes (a scheduler and two workers started from the
`distributed` command-line entry points on loopback, as on real machines) gives byte-identical
findings to the local pool, on evidence with hash-set matches and carving."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fellwatch.demo import DEMO_DIR, EVIDENCE
from fellwatch.hashsets.store import HashSetStore
from fellwatch.scan.job import scan
from fellwatch.settings import ScanSettings

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


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[str]:
    """`tcp://127.0.0.1:PORT` of a scheduler with two one-thread workers, torn down after."""
    info = tmp_path / "scheduler.json"
    python = sys.executable
    processes = [
        _start([python, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                "--port", "0", "--no-dashboard", "--scheduler-file", str(info)],
               tmp_path / "scheduler.log"),
    ]  # fmt: skip
    try:
        deadline = time.monotonic() + START_SECONDS
        while not info.exists() and time.monotonic() < deadline:
            assert processes[0].poll() is None, (tmp_path / "scheduler.log").read_text()
            time.sleep(0.2)
        address = json.loads(info.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        for n in range(2):
            processes.append(
                _start([python, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                        "--nworkers", "1", "--no-dashboard", "--host", "127.0.0.1",
                        "--name", f"w{n}"], tmp_path / f"worker{n}.log")
            )  # fmt: skip
        from distributed import Client

        with Client(address, timeout=START_SECONDS) as client:
            client.wait_for_workers(2, timeout=START_SECONDS)
        yield address
    finally:
        for process in reversed(processes):
            _stop(process)


def test_separate_process_cluster_gives_the_local_pools_findings(
    cluster: str, tmp_path: Path
) -> None:
    sets = [str(DEMO_DIR / "demo-hashset.json")]
    store = HashSetStore(tmp_path / "hashsets")
    local = scan([str(EVIDENCE)], tmp_path / "local", ScanSettings(workers=2), hashsets=sets,
                 store=store, progress=False)  # fmt: skip
    dask = scan([str(EVIDENCE)], tmp_path / "dask", ScanSettings(workers=2), hashsets=sets,
                store=store, cluster=cluster, progress=False)  # fmt: skip
    assert local.summary["matched"] > 0 and local.summary["items"] > 0
    assert dask.run["workers"] == cluster and dask.run["incomplete_batches"] == 0
    for name in ("findings.json", "inventory.csv"):
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
