"""A Dask cluster of separate processes (a scheduler and two workers started from the
`distributed` command-line entry points on loopback, as on real machines) gives byte-identical
findings to the local pool, on evidence with hash-set matches and carving."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.scan.loopback import loopback_cluster

from fellwatch.demo import DEMO_DIR, EVIDENCE
from fellwatch.hashsets.store import HashSetStore
from fellwatch.scan.job import scan
from fellwatch.settings import ScanSettings


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[str]:
    """`tcp://127.0.0.1:PORT` of a scheduler with two one-thread workers, torn down after."""
    with loopback_cluster(2, tmp_path / "cluster") as address:
        yield address


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
    assert dask.run["workers"] == cluster
    assert dask.run["incomplete_batches"] == 0, dask.run["incomplete_reasons"]
    for name in ("findings.json", "inventory.csv"):
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
