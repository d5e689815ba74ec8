"""The pages on a SQLite database's freelist.

When rows are deleted and a whole table page empties, SQLite puts the page on its freelist and
(unless `secure_delete` is on) leaves its bytes as they were: the old cells are still there.
The freelist is a chain of trunk pages, each listing leaf pages; `chats.carve` parses the pages
found here (and the table's pages still in use, and the WAL's frames) for deleted records.
"""

from __future__ import annotations

import struct


def free_pages(image: bytes | bytearray, page_size: int) -> list[int]:
    """Every page number on the freelist (trunks and leaves), in freelist order."""
    return list(free_page_uses(image, page_size))


def free_page_uses(image: bytes | bytearray, page_size: int) -> dict[int, int]:
    """Every page on the freelist, in freelist order, with how many of its first bytes the
    freelist itself uses: 0 for a leaf (untouched), 8 + 4 per listed leaf for a trunk page
    (the rest of a trunk still holds what the page held before it was freed)."""
    total = len(image) // page_size
    trunk = struct.unpack(">I", image[32:36])[0]
    count = struct.unpack(">I", image[36:40])[0]
    pages: dict[int, int] = {}
    while trunk and trunk <= total and trunk not in pages and len(pages) < count:
        base = (trunk - 1) * page_size
        next_trunk, leaves = struct.unpack(">II", image[base : base + 8])
        leaves = min(leaves, (page_size - 8) // 4)
        pages[trunk] = 8 + 4 * leaves
        for i in range(leaves):
            leaf = struct.unpack(">I", image[base + 8 + 4 * i : base + 12 + 4 * i])[0]
            if 0 < leaf <= total and leaf not in pages:
                pages[leaf] = 0
        trunk = next_trunk
    return pages
