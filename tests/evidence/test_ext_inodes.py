"""ext_inodes: where an inode lies, checked against debugfs's `imap` on real ext file systems."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from fellwatch.evidence.ext_inodes import ext_inode_locator


def _mkfs(img: Path, tree: Path, *options: str) -> None:
    with img.open("wb") as f:
        f.truncate(32 * 1024 * 1024)
    subprocess.run(["mkfs.ext4", "-q", "-F", *options, "-d", str(tree), str(img)], check=True,
                   capture_output=True)


def _imap(img: Path, paths: list[str]) -> dict[str, tuple[int, int]]:
    """(inode, volume byte offset) of each path as debugfs places it."""
    script = "\n".join(f'imap "{p}"' for p in paths) + "\n"
    done = subprocess.run(["debugfs", "-f", "-", str(img)], input=script.encode(),
                          capture_output=True, check=True)
    block = int(subprocess.run(["dumpe2fs", "-h", str(img)], capture_output=True, check=True)
                .stdout.decode().split("Block size:")[1].split()[0])
    found = re.findall(r"Inode (\d+) is part of block group \d+\s+located at block (\d+), "
                       r"offset (0x[0-9a-f]+)", done.stdout.decode())
    assert len(found) == len(paths)
    return {p: (int(i), int(b) * block + int(o, 16)) for p, (i, b, o) in zip(paths, found,
                                                                            strict=True)}


@pytest.mark.parametrize("options", [
    ("-b", "1024", "-I", "256", "-N", "64", "-O", "inline_data"),  # 4 groups, 16 inodes each
    ("-b", "4096", "-I", "128", "-N", "64", "-O", "64bit", "-g", "1024"),  # 64-byte descriptors
    ("-t", "ext2", "-b", "1024", "-I", "128", "-N", "64"),
], ids=["ext4-1k-inline", "ext4-64bit", "ext2"])
def test_inode_places_match_debugfs_across_groups(tmp_path: Path,
                                                  options: tuple[str, ...]) -> None:
    tree = tmp_path / "tree"
    paths = []
    for d in range(12):
        for f in range(3):
            target = tree / f"dir-{d:02d}" / f"file-{f}.txt"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(f"benign {d} {f}\n".encode())
            paths.append(f"/dir-{d:02d}/file-{f}.txt")
        paths.append(f"/dir-{d:02d}")
    img = tmp_path / "fs.img"
    _mkfs(img, tree, *options)
    expected = _imap(img, ["/", *paths])
    header = subprocess.run(["dumpe2fs", "-h", str(img)], capture_output=True,
                            check=True).stdout.decode()
    per_group = int(header.split("Inodes per group:")[1].split()[0])
    # Few inodes a group (-N): the files fill several groups, so several tables are followed.
    assert len({(inode - 1) // per_group for inode, _ in expected.values()}) > 1
    data = img.read_bytes()
    locate = ext_inode_locator(lambda offset, length: data[offset:offset + length])
    assert locate is not None
    for path, (inode, offset) in expected.items():
        runs = locate(inode)
        assert len(runs) == 1 and runs[0][0] == offset, path
    assert locate(0) == () and locate(10 ** 9) == ()


def test_not_an_ext_file_system_gives_no_locator() -> None:
    assert ext_inode_locator(lambda offset, length: bytes(length)) is None
