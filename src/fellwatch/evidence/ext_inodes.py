"""Where an ext2/3/4 inode lies in its volume, from the superblock and the group descriptors.

An ext inode holds a file's metadata (size, times, block map or extent root) and, for ext4
`inline_data` files and directories, the content itself. pytsk3 gives the inode's number but
not its place, so a damaged part of the image (a bad E01 chunk) is traced to the inodes it
holds from the file system's own tables, read here (the layout of the ext4 disk format:
superblock at byte 1024, descriptors in the block after the first data block).
"""

from __future__ import annotations

import struct
from collections.abc import Callable

# Volume-relative (offset, length) byte runs: where one inode lies (empty: not known).
InodeLocator = Callable[[int], tuple[tuple[int, int], ...]]
Read = Callable[[int, int], bytes]

_SUPERBLOCK = 1024
_MAGIC = 0xEF53
_INCOMPAT_META_BG = 0x10
_INCOMPAT_64BIT = 0x80


def ext_inode_locator(read: Read) -> InodeLocator | None:
    """For an ext2/3/4 volume read through `read(offset, length)`, where each inode lies;
    None where the superblock does not describe a layout this can follow."""
    sb = read(_SUPERBLOCK, 1024)
    if len(sb) < 0x108 or struct.unpack_from("<H", sb, 0x38)[0] != _MAGIC:
        return None
    inodes_count, = struct.unpack_from("<I", sb, 0x00)
    first_data_block, log_block, = struct.unpack_from("<II", sb, 0x14)
    per_group, = struct.unpack_from("<I", sb, 0x28)
    rev, = struct.unpack_from("<I", sb, 0x4C)
    inode_size = struct.unpack_from("<H", sb, 0x58)[0] if rev >= 1 else 128
    incompat, = struct.unpack_from("<I", sb, 0x60)
    desc_size = 32
    if incompat & _INCOMPAT_64BIT:
        desc_size = struct.unpack_from("<H", sb, 0xFE)[0]
    first_meta_bg, = struct.unpack_from("<I", sb, 0x104)
    if log_block > 6 or not per_group or not 128 <= inode_size <= 1 << 16 or not (
            32 <= desc_size <= 1024):
        return None
    block = 1024 << log_block
    per_block = block // desc_size
    table_base = (first_data_block + 1) * block
    # With meta_bg, descriptors past first_meta_bg's blocks move into each meta group: their
    # placement depends on the backup-superblock rules, not followed here (not traced).
    traced_groups = (first_meta_bg * per_block if incompat & _INCOMPAT_META_BG
                     else (inodes_count + per_group - 1) // per_group)
    tables: dict[int, int | None] = {}

    def inode_table(group: int) -> int | None:
        if group not in tables:
            raw = read(table_base + group * desc_size, desc_size)
            if len(raw) < desc_size:
                tables[group] = None
            else:
                start = struct.unpack_from("<I", raw, 8)[0]
                if desc_size >= 64:
                    start |= struct.unpack_from("<I", raw, 0x28)[0] << 32
                tables[group] = start or None
        return tables[group]

    def locate(inode: int) -> tuple[tuple[int, int], ...]:
        if not 1 <= inode <= inodes_count:
            return ()
        group, index = divmod(inode - 1, per_group)
        if group >= traced_groups:
            return ()
        start = inode_table(group)
        if start is None:
            return ()
        return ((start * block + index * inode_size, inode_size),)

    return locate
