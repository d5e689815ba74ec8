"""Name a file system from its boot sector or superblock alone, for refusals that say why.

dfVFS and The Sleuth Kit recognise a file system only when they can open it; a FAT cut in the
middle of its allocation table or an NTFS whose MFT record 0 is garbled is then "not a disk
image", which sends the examiner looking for the wrong problem. These signatures are what the
volume says it is; `describe_damage` turns them into "damaged file system" with the place
(partition or whole image), the file system and, where the boot sector gives it, the size the
file system claims against what the image holds.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

Read = Callable[[int, int], bytes]
SECTOR = 512


@dataclass(frozen=True, slots=True)
class Sniffed:
    filesystem: str
    claimed_size: int | None  # bytes the boot sector says the file system spans


def sniff(head: bytes) -> Sniffed | None:
    """The file system named by the first 4 KiB of a volume, or None."""
    if len(head) < SECTOR:
        return None
    bps = struct.unpack_from("<H", head, 0x0B)[0]
    if head[3:11] == b"NTFS    ":
        total = struct.unpack_from("<Q", head, 0x28)[0]
        return Sniffed("NTFS", (total + 1) * bps if bps else None)
    if head[3:11] == b"EXFAT   ":
        length = struct.unpack_from("<Q", head, 0x48)[0]
        shift = head[0x6C]
        return Sniffed("exFAT", length << shift if shift < 16 else None)
    fat = (head[0x52:0x5A] == b"FAT32   " and "FAT32") or (
        head[0x36:0x3E] in (b"FAT12   ", b"FAT16   ", b"FAT     ") and head[0x36:0x3B].decode()
    )
    if fat and head[510:512] == b"\x55\xaa":
        total = struct.unpack_from("<H", head, 0x13)[0] or struct.unpack_from("<I", head, 0x20)[0]
        return Sniffed(str(fat).strip(), total * bps if bps else None)
    if len(head) >= 2048 and head[1024 + 56:1024 + 58] == b"\x53\xef":
        blocks = struct.unpack_from("<I", head, 1024 + 4)[0]
        log = struct.unpack_from("<I", head, 1024 + 24)[0]
        return Sniffed("ext2/3/4", blocks * (1024 << log) if log < 8 else None)
    if len(head) >= 1026 and head[1024:1026] in (b"H+", b"HX"):
        return Sniffed("HFS+", None)
    return None


def _mbr_partitions(sector: bytes) -> list[tuple[str, int, int]]:
    """(label, offset, size) of the primary MBR partitions, as dfVFS labels them (p1, …)."""
    if len(sector) < SECTOR or sector[510:512] != b"\x55\xaa":
        return []
    out: list[tuple[str, int, int]] = []
    for index in range(4):
        entry = sector[446 + 16 * index:462 + 16 * index]
        kind = entry[4]
        start, count = struct.unpack_from("<II", entry, 8)
        if kind and kind not in (0x05, 0x0F, 0x85, 0xEE) and start and count:
            out.append((f"p{len(out) + 1}", start * SECTOR, count * SECTOR))
    return out


def describe_damage(read: Read, image_size: int, name: str, detail: str | None) -> str | None:
    """"damaged file system: …" when the image (or an MBR partition in it) starts with the
    signature of a file system that could not be opened; None when nothing is recognised."""
    head = read(0, 4096)
    found = sniff(head)
    places: list[tuple[str, int, Sniffed]] = []
    if found is not None:
        places.append(("the whole image", 0, found))
    else:
        for label, offset, _size in _mbr_partitions(head):
            if offset >= image_size:
                continue
            fs = sniff(read(offset, 4096))
            if fs is not None:
                places.append((f"partition {label} (offset {offset})", offset, fs))
    if not places:
        return None
    parts = []
    for place, offset, fs in places:
        text = f"{place} holds {fs.filesystem}"
        if fs.claimed_size and offset + fs.claimed_size > image_size:
            text += (f", which claims {fs.claimed_size} bytes but the image ends "
                     f"{image_size - offset} bytes into it (cut short)")
        parts.append(text)
    why = f": {detail}" if detail else ""
    return (f"damaged file system in {name}: " + "; ".join(parts)
            + f"; its signature is there but it cannot be opened{why}")
