"""MD5, SHA1 and SHA256 from one streaming read.

hashlib releases the GIL while it hashes buffers larger than 2 KiB, so the three digests of a
chunk run on three threads at once; memory stays at a few chunks whatever the file size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

CHUNK = 1 << 20
ALGORITHMS = ("md5", "sha1", "sha256")


@dataclass(frozen=True, slots=True)
class Digests:
    md5: str
    sha1: str
    sha256: str
    size: int


class DigestHasher:
    """Feeds chunks to md5, sha1 and sha256 in parallel threads."""

    _pool: ThreadPoolExecutor | None = None

    def __init__(self, parallel: bool = True) -> None:
        self._hashes = [hashlib.new(name) for name in ALGORITHMS]
        self._size = 0
        self._parallel = parallel

    @classmethod
    def _executor(cls) -> ThreadPoolExecutor:
        # One pool per process; worker processes build their own after fork.
        if cls._pool is None:
            cls._pool = ThreadPoolExecutor(max_workers=len(ALGORITHMS), thread_name_prefix="digest")
        return cls._pool

    def update(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._parallel and len(chunk) >= 64 * 1024:
            pool = self._executor()
            futures = [pool.submit(h.update, chunk) for h in self._hashes[1:]]
            self._hashes[0].update(chunk)
            for f in futures:
                f.result()
        else:
            for h in self._hashes:
                h.update(chunk)

    def result(self) -> Digests:
        md5, sha1, sha256 = (h.hexdigest() for h in self._hashes)
        return Digests(md5=md5, sha1=sha1, sha256=sha256, size=self._size)


def iter_chunks(stream: BinaryIO, chunk: int = CHUNK) -> Iterable[bytes]:
    while True:
        data = stream.read(chunk)
        if not data:
            return
        yield data


def digest_stream(stream: BinaryIO, parallel: bool = True) -> Digests:
    hasher = DigestHasher(parallel=parallel)
    for data in iter_chunks(stream):
        hasher.update(data)
    return hasher.result()
