"""A scan run as the examiner runs it: `python -m fellwatch scan` in a child process, so that a
fault declared in fellwatch.faults (read from the environment when the worker module loads)
takes effect exactly as it would in production, and only where a test asks for it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def cli_scan(evidence: Path, out: Path, data_dir: Path, *extra: str, **env: str) -> Path:
    """Scan `evidence` into `out` with one worker; `env` adds variables (faults) to a clean
    copy of this process's environment (no inherited fault or switch)."""
    base = {k: v for k, v in os.environ.items()
            if not k.startswith("FELLWATCH_FAULT_") and k != "FELLWATCH_TEST_FAULTS"}
    done = subprocess.run(
        [sys.executable, "-m", "fellwatch", "scan", str(evidence), "--out", str(out), "--quiet",
         "--workers", "1", *extra],
        env={**base, "PYTHONPATH": str(SRC), "FELLWATCH_DATA_DIR": str(data_dir), **env},
        capture_output=True, text=True, check=False, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return out
