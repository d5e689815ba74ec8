"""A worker keeps an evidence open across batches only while its files keep their identity:
a Dask worker lives on across scans, and another image put at the same path must be read
as itself, never through the old image's handle."""

from __future__ import annotations

import shutil
from pathlib import Path

from fellwatch.scan import worker
from fellwatch.scan.verify import evidence_sha256


def test_the_same_unchanged_evidence_is_opened_once(tmp_path: Path, shared_testdata: Path) -> None:
    image = tmp_path / "exhibit.raw"
    shutil.copyfile(shared_testdata / "hfsplus.raw", image)
    first = worker.open_cached(str(image))
    assert worker.open_cached(str(image)) is first


def test_another_image_at_the_same_path_is_opened_anew(
    tmp_path: Path, shared_testdata: Path
) -> None:
    image = tmp_path / "exhibit.raw"
    shutil.copyfile(shared_testdata / "hfsplus.raw", image)
    first = worker.open_cached(str(image))
    first_paths = sorted(i.path for i in first.items())
    # A different file system put where the first was (a new inode: the identity changes).
    replacement = tmp_path / "other.raw"
    shutil.copyfile(shared_testdata / "apfs.raw", replacement)
    replacement.replace(image)
    second = worker.open_cached(str(image))
    assert second is not first
    assert sorted(i.path for i in second.items()) != first_paths
    assert evidence_sha256(image)["sha256"] == evidence_sha256(shared_testdata / "apfs.raw")[
        "sha256"
    ]
