"""Build small disk images for the image-evidence tests with the real Debian tools.

Every picture-free payload is deterministic bytes (`payload(n, seed)`), so expected MD5s are
computed from the same function. Images are built in the test's tmp_path, never committed.
"""

from __future__ import annotations

import hashlib
import random
import subprocess
from pathlib import Path

MIB = 1 << 20


def payload(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def run(*args: str | Path, stdin: str | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in args], input=stdin, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise AssertionError(f"{args[0]} failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


def blank(path: Path, size: int) -> Path:
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


def write_files(tmp: Path, files: dict[str, bytes]) -> dict[str, Path]:
    out = {}
    for i, (name, data) in enumerate(files.items()):
        source = tmp / f"src-{i}.bin"
        source.write_bytes(data)
        out[name] = source
    return out


def fat_image(path: Path, size: int = 4 * MIB, offset: int = 0) -> str:
    """A FAT file system at `offset` of `path` (created if missing); returns the mtools spec."""
    if not path.exists():
        blank(path, offset + size)
    args = ["mkfs.vfat", "-n", "FELLWATCH", "-i", "12345678"]
    if offset:
        args += ["--offset", str(offset // 512)]
    run(*args, path, str(size // 1024))
    return f"{path}@@{offset}" if offset else str(path)


def mtools(image: str, *args: str | Path) -> None:
    command, *rest = args
    run(str(command), "-i", image, *rest)


def ext4_image(path: Path, size: int = 8 * MIB) -> Path:
    blank(path, size)
    run("mkfs.ext4", "-q", "-F", "-U", "6f4b1c1e-0000-4000-8000-000000000001",
        "-E", "hash_seed=6f4b1c1e-0000-4000-8000-000000000002", path)
    return path


def debugfs(path: Path, commands: list[str]) -> None:
    run("debugfs", "-w", "-f", "-", path, stdin="\n".join(commands) + "\n")


def ntfs_image(path: Path, size: int = 8 * MIB) -> Path:
    blank(path, size)
    run("mkntfs", "-q", "-F", "-s", "512", "-p", "0", "-H", "0", "-S", "0", path)
    return path


def splice(disk: Path, volume: Path, offset: int) -> None:
    """Copy a volume image into a disk image at `offset` (bytes)."""
    with disk.open("r+b") as out, volume.open("rb") as src:
        out.seek(offset)
        while chunk := src.read(MIB):
            out.write(chunk)
