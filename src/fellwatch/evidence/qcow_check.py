"""Check a QCOW2 image before opening it, to name what is missing or cut short.

libqcow reports a missing backing file as "unable to seek offset" deep in the signature
scanner, and a truncated image as a failed read somewhere in a file system. An examiner needs
the cause: the backing file's name, or where the image ends against what its tables refer to.
The header, the L1 table and each L2 table are read (all bounded by the file's size); data
clusters are not.
"""

from __future__ import annotations

import struct
from pathlib import Path

from fellwatch.evidence.item import EvidenceError

_MAGIC = b"QFI\xfb"
_OFFSET_MASK = 0x00FF_FFFF_FFFF_FE00
_COMPRESSED = 1 << 62
_MAX_BACKING_NAME = 1023  # qemu's own limit
_MAX_TABLE_BYTES = 64 << 20  # an L1 table of a 64 PiB disk with 64 KiB clusters


def check_qcow(path: Path) -> None:
    """Raise EvidenceError naming a missing backing file or the offset a truncated QCOW2
    image's tables point past; return quietly for anything that is not QCOW (version 2/3)."""
    if not path.is_file():
        return  # a block device: no file size to check against
    size = path.stat().st_size
    with path.open("rb") as handle:
        header = handle.read(72)
        if len(header) < 72 or header[:4] != _MAGIC:
            return
        version, backing_offset, backing_size, cluster_bits = struct.unpack_from(
            ">IQII", header, 4)
        if version not in (2, 3) or not 9 <= cluster_bits <= 21:
            return
        if backing_offset:
            _check_backing(path, backing_offset, backing_size)
        l1_size, l1_offset = struct.unpack_from(">IQ", header, 36)
        cluster = 1 << cluster_bits
        if l1_size * 8 > _MAX_TABLE_BYTES:
            raise EvidenceError(f"corrupt QCOW2 image {path.name}: its L1 table claims "
                                f"{l1_size} entries")
        _need(path, size, l1_offset + l1_size * 8, "its L1 table")
        handle.seek(l1_offset)
        l1 = struct.unpack(f">{l1_size}Q", handle.read(l1_size * 8))
        for l2_entry in l1:
            l2_offset = l2_entry & _OFFSET_MASK
            if not l2_offset:
                continue
            _need(path, size, l2_offset + cluster, "an L2 table")
            handle.seek(l2_offset)
            for entry in struct.unpack(f">{cluster // 8}Q", handle.read(cluster)):
                if entry & _COMPRESSED:
                    # compressed clusters: offset in the low bits, length above; the start
                    # must at least lie inside the file
                    start = entry & ((1 << (62 - (cluster_bits - 8))) - 1)
                    _need(path, size, start + 1, "compressed data")
                    continue
                data = entry & _OFFSET_MASK
                if data:
                    _need(path, size, data + cluster, "data")


def _need(path: Path, size: int, end: int, what: str) -> None:
    if end > size:
        raise EvidenceError(
            f"truncated QCOW2 image {path.name}: {what} at offset {end - 1} lies beyond the "
            f"end of the file ({size} bytes); the image was cut short (copy it again)"
        )


def _check_backing(path: Path, offset: int, length: int) -> None:
    if not 0 < length <= _MAX_BACKING_NAME:
        raise EvidenceError(f"corrupt QCOW2 image {path.name}: backing file name of "
                            f"{length} bytes")
    with path.open("rb") as handle:
        handle.seek(offset)
        raw = handle.read(length)
    name = raw.decode("utf-8", "replace")
    # qemu resolves a relative backing name against the directory of the image.
    backing = Path(name) if name.startswith("/") else path.parent / name
    if not backing.is_file():
        raise EvidenceError(
            f"QCOW2 image {path.name} is a differencing image: it needs its backing file "
            f"{name!r}, which is not found ({backing}); put the backing file beside it"
        )
