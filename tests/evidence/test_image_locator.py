"""Items cross process boundaries: a worker opens the same evidence afresh and reads an item
from its picklable locator, getting the same bytes (deleted files and ADS included)."""

from __future__ import annotations

import hashlib
import multiprocessing
import pickle
from pathlib import Path

from fellwatch.evidence import Item
from fellwatch.evidence.image import ImageEvidence

from ._image_builders import MIB, blank, fat_image, mtools, payload, run, write_files


def _md5_in_fresh_evidence(evidence_path: str, item: Item) -> str:
    evidence = ImageEvidence(evidence_path)
    digest = hashlib.md5()
    with evidence.open_item(item) as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    evidence.close()
    return digest.hexdigest()


def _md5_here(evidence: ImageEvidence, item: Item) -> str:
    digest = hashlib.md5()
    with evidence.open_item(item) as stream:
        while chunk := stream.read(1000):
            digest.update(chunk)
    return digest.hexdigest()


def test_locators_reopen_in_a_spawned_process(shared_testdata: Path, tmp_path: Path) -> None:
    disk = blank(tmp_path / "disk.raw", 8 * MIB)
    run("sfdisk", "-q", disk, stdin="label: dos\nstart=2048, size=12288, type=6\n")
    spec = fat_image(disk, 6 * MIB, offset=1 * MIB)
    big = payload(3 * MIB + 123, 9)
    src = write_files(tmp_path, {"big": big, "small": payload(777, 10)})
    mtools(spec, "mcopy", src["big"], "::/big.bin")
    mtools(spec, "mcopy", src["small"], "::/small.bin")
    mtools(spec, "mdel", "::/small.bin")
    cases: list[tuple[str, Item, str]] = []
    for path in (str(disk), str(shared_testdata / "ext2.split.E01"),
                 str(shared_testdata / "apfs.raw")):
        evidence = ImageEvidence(path)
        for item in evidence.items():
            if item.error is None:
                assert pickle.loads(pickle.dumps(item)) == item
                cases.append((path, item, _md5_here(evidence, item)))
        evidence.close()
    assert any(not item.allocated for _, item, _ in cases)
    assert any(item.locator[0] == "dfvfs" for _, item, _ in cases)
    assert any(item.size == len(big) for _, item, _ in cases)
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        remote = pool.starmap(_md5_in_fresh_evidence, [(p, item) for p, item, _ in cases])
    assert remote == [md5 for _, _, md5 in cases]
    assert hashlib.md5(big).hexdigest() in remote


_DUMP = """
import json, sys
from fellwatch.evidence.image import ImageEvidence
ev = ImageEvidence(sys.argv[1])
out = {"describe": ev.describe(),
       "items": [[i.key, i.path, i.path_spec, list(i.locator), i.times] for i in ev.items()],
       "unallocated": [[r.offset, r.length, r.partition, r.kind] for r in ev.unallocated()]}
print(json.dumps(out, sort_keys=True))
"""


def test_same_output_whatever_the_hash_seed(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    disk = blank(tmp_path / "disk.raw", 8 * MIB)
    run("sfdisk", "-q", disk, stdin="label: dos\nstart=2048, size=8192, type=6\n")
    spec = fat_image(disk, 4 * MIB, offset=1 * MIB)
    src = write_files(tmp_path, {"a": payload(1000, 1)})
    mtools(spec, "mcopy", src["a"], "::/a.bin")
    outputs = []
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed,
               "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
        result = subprocess.run([sys.executable, "-c", _DUMP, str(disk)], env=env,
                                capture_output=True, text=True, check=True)
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1] == outputs[2]
    assert "TSK_PARTITION" in outputs[0]
