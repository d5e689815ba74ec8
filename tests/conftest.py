"""Shared test fixtures. A missing fixture fails the run; nothing is skipped for want of it."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Every test process gets a data directory of its own (hash sets, remembered evidence hashes,
# the records database, keys), so no test reads or writes the machine's own.
if "FELLWATCH_DATA_DIR" not in os.environ:
    _data_dir = tempfile.mkdtemp(prefix="fellwatch-test-")
    atexit.register(shutil.rmtree, _data_dir, True)
    os.environ["FELLWATCH_DATA_DIR"] = _data_dir

ROOT = Path(__file__).resolve().parent.parent
# Beside the project (as CI lays it out); a git worktree elsewhere can point at it instead.
SHARED_TESTDATA = Path(
    os.environ.get("FELLWATCH_SHARED_TESTDATA", ROOT.parent / "shared" / "testdata" / "dfvfs")
)


@pytest.fixture(scope="session")
def shared_testdata() -> Path:
    """The real forensic images from dfVFS, used in place (never copied into the repository)."""
    if not (SHARED_TESTDATA / "ext2.E01").is_file():
        pytest.fail(f"shared test data missing: {SHARED_TESTDATA} (it must sit beside the project)")
    return SHARED_TESTDATA


# The built fixture images (tests/fixtures/build.py): the `fixture_images` fixture.
pytest_plugins = ["tests.fixtures.plugin"]
