"""Which blocks of a file system are in use, read from the file system's own allocation map.

pytsk3 does not expose TSK's block walk, so each file system's allocation structure is read
here: NTFS `$Bitmap`, the FAT, exFAT's allocation bitmap, ext2/3/4 block-group bitmaps and the
HFS+ allocation file. The map serves two purposes: the free runs are the unallocated space the
carvers get, and a deleted file's blocks are checked against it (a block now in use means the
deleted file's content was overwritten by another file).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import pytsk3

# read(offset, length) -> bytes of the volume, offset from the volume's first byte
VolumeReader = Callable[[int, int], bytes]

_CHUNK_BITS = 1 << 24


@dataclass
class AllocationMap:
    """Allocation units of a volume: unit i covers bytes [base + i*unit, base + (i+1)*unit)."""

    unit: int
    base: int
    count: int
    bits: bytes  # packed, 1 = in use
    lsb_first: bool
    extra_free: list[tuple[int, int]] = field(default_factory=list)  # bytes, volume-relative

    def _bit(self, index: int) -> bool:
        byte = self.bits[index >> 3] if (index >> 3) < len(self.bits) else 0xFF
        shift = (index & 7) if self.lsb_first else 7 - (index & 7)
        return bool((byte >> shift) & 1)

    def in_use(self, ranges: list[tuple[int, int]]) -> bool:
        """True if any unit touched by the (volume-relative) byte ranges is in use."""
        for start, length in ranges:
            if length <= 0:
                continue
            first = (start - self.base) // self.unit
            last = (start + length - 1 - self.base) // self.unit
            for index in range(max(first, 0), min(last, self.count - 1) + 1):
                if self._bit(index):
                    return True
        return False

    def free_runs(self) -> Iterator[tuple[int, int]]:
        """Merged free byte runs, volume-relative, in order."""
        runs = list(self._bitmap_runs()) + list(self.extra_free)
        runs.sort()
        current: tuple[int, int] | None = None
        for start, length in runs:
            if length <= 0:
                continue
            if current and start <= current[0] + current[1]:
                end = max(current[0] + current[1], start + length)
                current = (current[0], end - current[0])
            else:
                if current:
                    yield current
                current = (start, length)
        if current:
            yield current

    def _bitmap_runs(self) -> Iterator[tuple[int, int]]:
        import numpy as np  # only for free space and deleted-block checks

        order: Literal["little", "big"] = "little" if self.lsb_first else "big"
        packed = np.frombuffer(self.bits, dtype=np.uint8)
        pending: int | None = None  # start of a free run that reached the previous chunk's end
        for chunk_start in range(0, self.count, _CHUNK_BITS):
            chunk_end = min(chunk_start + _CHUNK_BITS, self.count)
            bits = np.unpackbits(packed[chunk_start // 8: (chunk_end + 7) // 8], bitorder=order)
            bits = bits[: chunk_end - chunk_start]
            if len(bits) < chunk_end - chunk_start:  # a bitmap shorter than the unit count
                bits = np.concatenate(
                    [bits, np.ones(chunk_end - chunk_start - len(bits), dtype=np.uint8)]
                )
            edges = np.diff(np.concatenate([[0], (bits == 0).astype(np.int8), [0]]))
            starts = (np.flatnonzero(edges == 1) + chunk_start).tolist()
            ends = (np.flatnonzero(edges == -1) + chunk_start).tolist()
            for s, e in zip(starts, ends, strict=True):
                if pending is not None:
                    if s == chunk_start:
                        s = pending
                    else:
                        yield self._bytes(pending, chunk_start)
                    pending = None
                if e == chunk_end and chunk_end < self.count:
                    pending = s
                else:
                    yield self._bytes(s, e)
            if pending is not None and (not starts or starts[0] != chunk_start):
                yield self._bytes(pending, chunk_start)
                pending = None
        if pending is not None:
            yield self._bytes(pending, self.count)

    def _bytes(self, first: int, end: int) -> tuple[int, int]:
        return self.base + first * self.unit, (end - first) * self.unit


def _read_inode(fs: pytsk3.FS_Info, inode: int, attr_type: int | None = None) -> bytes:
    fs_file = fs.open_meta(inode=inode)
    size = int(fs_file.info.meta.size)
    parts = []
    offset = 0
    while offset < size:
        if attr_type is None:
            data = fs_file.read_random(offset, min(1 << 20, size - offset))
        else:
            data = fs_file.read_random(offset, min(1 << 20, size - offset), attr_type, -1)
        if not data:
            break
        parts.append(data)
        offset += len(data)
    return b"".join(parts)


def _ntfs(fs: pytsk3.FS_Info, read: VolumeReader, volume_size: int) -> AllocationMap:
    cluster = int(fs.info.block_size)
    count = int(fs.info.block_count)
    bits = _read_inode(fs, 6, int(pytsk3.TSK_FS_ATTR_TYPE_NTFS_DATA))
    extra = []
    # NTFS keeps the backup boot sector just past the last cluster; the rest is slack.
    end = count * cluster + 512
    if volume_size > end:
        extra.append((end, volume_size - end))
    return AllocationMap(cluster, 0, count, bits, True, extra)


def _fat(read: VolumeReader, volume_size: int) -> AllocationMap:
    import numpy as np  # only for free space and deleted-block checks

    boot = read(0, 512)
    bps, spc, reserved, nfats, root_entries, tot16 = struct.unpack_from("<HBHBHH", boot, 11)
    (fat16_size,) = struct.unpack_from("<H", boot, 22)
    (tot32,) = struct.unpack_from("<I", boot, 32)
    (fat32_size,) = struct.unpack_from("<I", boot, 36)
    fat_size = fat16_size or fat32_size
    total = tot16 or tot32
    root_sectors = (root_entries * 32 + bps - 1) // bps
    first_data = reserved + nfats * fat_size + root_sectors
    clusters = (total - first_data) // spc
    table = read(reserved * bps, fat_size * bps)
    entries: Any
    if clusters < 4085:
        values = []
        for n in range(2, clusters + 2):
            pair = table[n * 3 // 2: n * 3 // 2 + 2].ljust(2, b"\0")
            word = pair[0] | pair[1] << 8
            values.append(word >> 4 if n & 1 else word & 0xFFF)
        entries = np.array(values, dtype=np.uint32)
    elif clusters < 65525:
        entries = np.frombuffer(table, dtype="<u2")[2: clusters + 2].astype(np.uint32)
    else:
        entries = np.frombuffer(table[: (len(table) // 4) * 4], dtype="<u4")[2: clusters + 2]
        entries = entries & 0x0FFFFFFF
    in_use = np.ones(clusters, dtype=np.uint8)
    in_use[: len(entries)] = entries != 0
    bits = np.packbits(in_use, bitorder="little").tobytes()
    data_end = (first_data + clusters * spc) * bps
    extra = [(data_end, volume_size - data_end)] if volume_size > data_end else []
    return AllocationMap(spc * bps, first_data * bps, clusters, bits, True, extra)


def _exfat(read: VolumeReader, volume_size: int) -> AllocationMap:
    boot = read(0, 512)
    heap_offset, cluster_count, root_cluster = struct.unpack_from("<III", boot, 88)
    bps = 1 << boot[108]
    cluster = bps << boot[109]
    heap = heap_offset * bps

    def cluster_offset(number: int) -> int:
        return heap + (number - 2) * cluster

    root = read(cluster_offset(root_cluster), cluster)
    for pos in range(0, len(root), 32):
        if root[pos] == 0x81:  # allocation bitmap directory entry
            first, length = struct.unpack_from("<IQ", root, pos + 20)
            bits = read(cluster_offset(first), length)
            end = heap + cluster_count * cluster
            extra = [(end, volume_size - end)] if volume_size > end else []
            return AllocationMap(cluster, heap, cluster_count, bits, True, extra)
    raise OSError("exFAT allocation bitmap entry not found in the root directory")


def _ext(read: VolumeReader, volume_size: int) -> AllocationMap:
    import numpy as np  # only for free space and deleted-block checks

    sb = read(1024, 1024)
    (blocks_lo,) = struct.unpack_from("<I", sb, 4)
    (first_data_block, log_block_size) = struct.unpack_from("<II", sb, 20)
    (blocks_per_group,) = struct.unpack_from("<I", sb, 32)
    (incompat,) = struct.unpack_from("<I", sb, 0x60)
    (blocks_hi,) = struct.unpack_from("<I", sb, 0x150)
    (desc_size,) = struct.unpack_from("<H", sb, 0xFE)
    is_64bit = bool(incompat & 0x80)
    block = 1024 << log_block_size
    blocks = blocks_lo | (blocks_hi << 32 if is_64bit else 0)
    desc_size = desc_size if is_64bit and desc_size >= 64 else 32
    groups = (blocks - first_data_block + blocks_per_group - 1) // blocks_per_group
    gdt = read((first_data_block + 1) * block, groups * desc_size)
    count = blocks - first_data_block
    parts: list[np.ndarray] = []
    for group in range(groups):
        desc = gdt[group * desc_size: (group + 1) * desc_size]
        (bitmap_lo,) = struct.unpack_from("<I", desc, 0)
        (flags,) = struct.unpack_from("<H", desc, 0x12)
        bitmap = bitmap_lo
        if desc_size >= 64:
            (bitmap_hi,) = struct.unpack_from("<I", desc, 0x20)
            bitmap |= bitmap_hi << 32
        in_group = min(blocks_per_group, count - group * blocks_per_group)
        if flags & 0x2:  # BLOCK_UNINIT: bitmap never written, the group's blocks are free
            group_bits = np.zeros(in_group, dtype=np.uint8)
        else:
            raw = np.frombuffer(read(bitmap * block, (in_group + 7) // 8), dtype=np.uint8)
            group_bits = np.unpackbits(raw, bitorder="little")[:in_group]
        parts.append(group_bits)
    in_use = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint8)
    bits = np.packbits(in_use, bitorder="little").tobytes()
    end = blocks * block
    extra = [(end, volume_size - end)] if volume_size > end else []
    return AllocationMap(block, first_data_block * block, count, bits, True, extra)


def _hfs(fs: pytsk3.FS_Info, volume_size: int) -> AllocationMap:
    block = int(fs.info.block_size)
    count = int(fs.info.block_count)
    bits = _read_inode(fs, 6, int(pytsk3.TSK_FS_ATTR_TYPE_HFS_DATA))
    return AllocationMap(block, 0, count, bits, False)


def allocation_map(
    fs: pytsk3.FS_Info, fs_type: str, read: VolumeReader, volume_size: int
) -> AllocationMap | None:
    """The allocation map of a file system TSK opened, or None where there is none to read."""
    if fs_type == "ntfs":
        return _ntfs(fs, read, volume_size)
    if fs_type.startswith("fat"):
        return _fat(read, volume_size)
    if fs_type == "exfat":
        return _exfat(read, volume_size)
    if fs_type.startswith("ext"):
        return _ext(read, volume_size)
    if fs_type == "hfs+":
        return _hfs(fs, volume_size)
    return None  # ISO 9660 and others: no free space to speak of, or no reader yet
