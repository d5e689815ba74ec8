"""Regression: an item opened a second time reads from byte 0 again.

dfVFS can hand back a file object it still holds from an earlier open (APFS, HFS+ through the
dfVFS walker); the scan opens archives twice (digest pass, then expansion), so a second open
that started at the old position made gzip members look corrupt.
"""

import hashlib

import pytest

from fellwatch.evidence import open_evidence


@pytest.mark.parametrize("image", ["apfs.raw", "hfsplus.raw", "ext2.E01"])
def test_second_open_reads_the_same_bytes(shared_testdata, image):
    ev = open_evidence(shared_testdata / image)
    try:
        items = [i for i in ev.items() if i.size > 0]
        assert items
        for item in items:
            with ev.open_item(item) as first:
                a = hashlib.md5(first.read()).hexdigest()
            with ev.open_item(item) as second:
                b = hashlib.md5(second.read()).hexdigest()
            assert a == b, item.path
    finally:
        ev.close()
