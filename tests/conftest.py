"""Shared test fixtures. A missing fixture fails the run; nothing is skipped for want of it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
