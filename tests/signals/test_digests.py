import hashlib
import io
import random

import pytest

from fellwatch.signals.digests import CHUNK, DigestHasher, digest_stream


@pytest.mark.parametrize("size", [0, 1, 2047, 65536, CHUNK - 1, CHUNK, 3 * CHUNK + 17])
@pytest.mark.parametrize("parallel", [True, False])
def test_three_digests_from_one_read_equal_hashlib(size, parallel):
    data = random.Random(size).randbytes(size)
    d = digest_stream(io.BytesIO(data), parallel=parallel)
    assert d.md5 == hashlib.md5(data).hexdigest()
    assert d.sha1 == hashlib.sha1(data).hexdigest()
    assert d.sha256 == hashlib.sha256(data).hexdigest()
    assert d.size == size


def test_chunk_boundaries_do_not_matter():
    data = random.Random(1).randbytes(300_001)
    h = DigestHasher()
    for i in range(0, len(data), 70_001):
        h.update(data[i : i + 70_001])
    assert h.result().sha256 == hashlib.sha256(data).hexdigest()
