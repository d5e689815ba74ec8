"""Files read through dfVFS (APFS, and NTFS that TSK cannot open) are seekable streams.

Regression for issue 9's gap: `_DfvfsStream` could not seek, so a zip behind a prefix (a
self-extracting .exe, a JPEG + zip polyglot) in such a file was read from byte 0 up to its
central directory instead of from its end records. Tested over a real dfVFS file object (OS),
counting the bytes dfVFS hands out, and end to end on dfVFS's APFS test image.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any

import pytest
from dfvfs.lib import definitions
from dfvfs.path import factory

from fellwatch.evidence import Item, dfvfs_adapter, open_evidence
from fellwatch.evidence.archives import ArchiveLimits, iter_archive
from fellwatch.evidence.image import _READ_CHUNK, _DfvfsStream
from fellwatch.scan.worker import ItemProcessor
from fellwatch.settings import ScanSettings
from tests.fixtures.hostile import small_png, zip_of

MIB = 1 << 20


class CountingFile:
    """A dfVFS file object that counts the bytes read from it and where each read started."""

    def __init__(self, file_object: Any) -> None:
        self._file = file_object
        self.bytes_read = 0
        self.reads: list[tuple[int, int]] = []

    def read(self, size: int | None = None) -> bytes:
        at = self._file.get_offset()
        data: bytes = self._file.read(size)
        self.bytes_read += len(data)
        self.reads.append((at, len(data)))
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> None:
        self._file.seek(offset, whence)

    def get_offset(self) -> int:
        return int(self._file.get_offset())

    def get_size(self) -> int:
        return int(self._file.get_size())

    def close(self) -> None:
        self._file.close()


def _dfvfs_file(path: Path) -> Any:
    spec = factory.Factory.NewPathSpec(definitions.TYPE_INDICATOR_OS, location=str(path))
    return dfvfs_adapter.open_file_object(spec, dfvfs_adapter.new_context())


def _pattern(n: int) -> bytes:
    return bytes((i * 7 + i // 251) % 256 for i in range(n))


def test_dfvfs_stream_seeks_tells_and_reads_from_its_position(tmp_path: Path) -> None:
    data = _pattern(3 * MIB + 123)
    path = tmp_path / "content.bin"
    path.write_bytes(data)
    with io.BufferedReader(_DfvfsStream(_dfvfs_file(path)), buffer_size=_READ_CHUNK) as stream:
        assert stream.seekable()
        assert stream.seek(2 * MIB + 5) == 2 * MIB + 5
        assert stream.read(10) == data[2 * MIB + 5:2 * MIB + 15]
        assert stream.tell() == 2 * MIB + 15
        assert stream.seek(-22, io.SEEK_END) == len(data) - 22
        assert stream.read() == data[-22:]
        assert stream.seek(-100, io.SEEK_CUR) == len(data) - 100
        assert stream.read(1000) == data[-100:]  # a read past the end stops at the end
        assert stream.seek(len(data) + 50) == len(data) + 50
        assert stream.read(10) == b""  # beyond the end, as a file: nothing, no error
        stream.seek(0)
        assert hashlib.sha256(stream.read()).digest() == hashlib.sha256(data).digest()
        with pytest.raises(OSError):
            stream.seek(-1)  # zipfile's end-record search expects a file's OSError here


def test_dfvfs_streams_sharing_one_file_object_each_read_their_own_position(
        tmp_path: Path) -> None:
    # dfVFS may hand the same file object to a second open of the same data stream.
    data = _pattern(64 * 1024)
    path = tmp_path / "content.bin"
    path.write_bytes(data)
    shared = _dfvfs_file(path)
    first, second = _DfvfsStream(shared), _DfvfsStream(shared)
    second.seek(40_000)
    a, b = bytearray(100), bytearray(100)
    assert first.readinto(a) == 100 and second.readinto(b) == 100
    assert bytes(a) == data[:100] and bytes(b) == data[40_000:40_100]
    assert first.readinto(a) == 100 and bytes(a) == data[100:200]


def test_prefixed_zip_in_a_dfvfs_file_is_read_from_its_end_records(tmp_path: Path) -> None:
    prefix = b"MZ" + _pattern(8 * MIB)  # a large self-extractor stub (benign bytes)
    members = {"inside/picture.png": small_png(21), "inside/notes.txt": b"benign notes\n"}
    archive = zip_of(list(members.items()))
    path = tmp_path / "setup.exe"
    path.write_bytes(prefix + archive)
    counting = CountingFile(_dfvfs_file(path))
    outer = Item(evidence=str(path), path="/setup.exe", key="setup", size=len(prefix + archive),
                 origin="filesystem", allocated=True)
    seen: dict[str, str] = {}
    with io.BufferedReader(_DfvfsStream(counting), buffer_size=_READ_CHUNK) as stream:
        # An in-memory limit below the stub: a stream that cannot seek would have to be
        # held whole, so its members would be lost ("... larger than the 1 MiB in-memory
        # limit: not expanded"), as a real stub over 256 MiB was.
        limits = ArchiveLimits(max_nested_buffer=MIB)
        for member in iter_archive(stream, outer, "application/zip", limits):
            assert member.stream is not None and member.item.error is None
            seen[member.item.path] = hashlib.md5(member.stream.read()).hexdigest()
    assert seen == {f"/setup.exe!{name}": hashlib.md5(content).hexdigest()
                    for name, content in members.items()}
    # The end records, the directory and the members, each within one buffer: never the
    # 8 MiB stub (read whole into memory before the stream could seek).
    assert counting.bytes_read <= 2 * _READ_CHUNK
    assert min(at for at, _ in counting.reads) >= len(prefix) - _READ_CHUNK


def test_prefixed_zip_in_an_apfs_file_is_expanded_through_dfvfs(
        shared_testdata: Path, tmp_path: Path) -> None:
    from tests.fixtures.hostile import build_apfs_prefixed_zip_case

    case = build_apfs_prefixed_zip_case(shared_testdata / "apfs.raw", tmp_path)
    ev = open_evidence(case["path"])
    try:
        assert [v["walker"] for v in ev.describe()["volumes"]] == ["dfvfs"]
        items = {i.path.removeprefix("/apfs1"): i for i in ev.items()}
        outer = items[case["outer"]]
        assert outer.size == case["size"] and outer.locator[0] == "dfvfs"
        with ev.open_item(outer) as stream:
            assert stream.seekable()
        processor = ItemProcessor(ev, ScanSettings(workers=1))
        records = {r.path.removeprefix("/apfs1"): r for r in processor.process(outer)}
    finally:
        ev.close()
    assert records[case["outer"]].error is None
    assert {p: r.md5 for p, r in records.items() if p != case["outer"]} == case["members"]
    assert all(r.error is None for r in records.values())
