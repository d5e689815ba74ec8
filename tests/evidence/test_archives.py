"""Archives inside evidence: real samples from dfVFS, and hostile ones built here.

Every hostile sample (bombs, deep nesting, lying headers, hostile names) is built in tmp_path
with stdlib zipfile/tarfile/gzip, plus a little byte patching where the stdlib will not write
something a hostile tool would. Expected digests are of the bytes the test itself put in, never
of bytes read back through the stdlib readers the code under test uses.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import random
import struct
import tarfile
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pytest
from PIL import Image, ImageDraw

from fellwatch.evidence.archives import (
    ArchiveLimits,
    ArchiveMember,
    iter_archive,
)
from fellwatch.evidence.item import Item, ItemError
from fellwatch.signals.filetype import sniff

MiB = 1 << 20


# --- the consumer: what the scan pipeline does with each member ------------------------------


@dataclass
class Seen:
    item: Item
    md5: str | None
    read_error: str | None
    read_bytes: int

    @property
    def error(self) -> str | None:
        return self.read_error or self.item.error


@dataclass
class Expansion:
    members: list[Seen]
    outer_error: str | None

    def by_path(self) -> dict[str, Seen]:
        return {m.item.path: m for m in self.members}

    def paths(self) -> list[str]:
        return [m.item.path for m in self.members]


def consume(member: ArchiveMember) -> Seen:
    """Read the stream fully in 1 MiB chunks before the next member, as the scan does."""
    if member.stream is None:
        return Seen(member.item, None, None, 0)
    md5 = hashlib.md5()
    got = 0
    try:
        while chunk := member.stream.read(MiB):
            md5.update(chunk)
            got += len(chunk)
    except ItemError as exc:
        return Seen(member.item, None, str(exc), got)
    return Seen(member.item, md5.hexdigest(), None, got)


def outer_item(name: str, key: str = "E1") -> Item:
    return Item(evidence="evidence.E01", path=f"/home/user/{name}", key=key, size=0,
                origin="filesystem", allocated=False, path_spec='{"type": "TSK"}', inode=42,
                partition="p1")


def expand(stream: BinaryIO, name: str, limits: ArchiveLimits | None = None) -> Expansion:
    head = stream.read(512)
    stream.seek(0)
    members: list[Seen] = []
    args = (limits,) if limits is not None else ()
    try:
        for member in iter_archive(stream, outer_item(name), sniff(head), *args):
            members.append(consume(member))
    except ItemError as exc:
        return Expansion(members, str(exc))
    return Expansion(members, None)


def expand_bytes(data: bytes, name: str, limits: ArchiveLimits | None = None) -> Expansion:
    return expand(io.BytesIO(data), name, limits)


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


# --- builders ---------------------------------------------------------------------------------


def make_zip(members: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # duplicate names are the point
        with zipfile.ZipFile(buf, "w", compression=method) as zf:
            for name, data in members:
                zf.writestr(zipfile.ZipInfo(name, (2020, 1, 2, 3, 4, 6)), data,
                            compress_type=method)
    return buf.getvalue()


def make_tar(members: list[tuple[str, bytes]], fmt: int = tarfile.GNU_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt, encoding="utf-8",
                      errors="surrogateescape") as tf:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_600_000_000
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def make_gzip(data: bytes, fname: str | None = None) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(filename=fname or "", mode="wb", fileobj=buf, mtime=1_600_000_000) as gz:
        gz.write(data)
    return buf.getvalue()


class Zeros(io.RawIOBase):
    """`size` zero bytes without holding them (for tar members of a bomb)."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = min(len(b), self.left)
        b[:n] = bytes(n)
        self.left -= n
        return n


def picture(seed: int, fmt: str) -> bytes:
    """A benign generated picture: a gradient with a few shapes."""
    img = Image.new("RGB", (96, 64), (seed * 40 % 256, 90, 160))
    draw = ImageDraw.Draw(img)
    for i in range(6):
        draw.rectangle((i * 12 + seed, i * 8, i * 12 + 20 + seed, i * 8 + 20),
                       fill=(255 - i * 30, (seed * 70 + i * 20) % 256, i * 40))
    draw.ellipse((40, 10, 80, 50), outline=(255, 255, 0))
    out = io.BytesIO()
    img.save(out, format=fmt)
    return out.getvalue()


@dataclass
class ZipEntry:
    local: int  # offset of the local header
    central: int  # offset of the central directory header
    name: bytes


def zip_entries(data: bytes) -> list[ZipEntry]:
    """Walk the raw headers (not zipfile) so tests can patch what zipfile will not write."""
    eocd = data.rfind(b"PK\x05\x06")
    count, _, cd_offset = struct.unpack("<HII", data[eocd + 10 : eocd + 20])
    entries = []
    pos = cd_offset
    for _ in range(count):
        assert data[pos : pos + 4] == b"PK\x01\x02"
        n, m, k = struct.unpack("<HHH", data[pos + 28 : pos + 34])
        local = struct.unpack("<I", data[pos + 42 : pos + 46])[0]
        entries.append(ZipEntry(local, pos, data[pos + 46 : pos + 46 + n]))
        pos += 46 + n + m + k
    return entries


def patch_zip(data: bytes, index: int, *, flag_or: int = 0, method: int | None = None,
              file_size: int | None = None, name: bytes | None = None) -> bytes:
    """Change one entry in both its local and its central header, as a hostile tool would."""
    out = bytearray(data)
    e = zip_entries(data)[index]
    for base, flag_at, method_at, usize_at, name_at in (
        (e.local, 6, 8, 22, 30),
        (e.central, 8, 10, 24, 46),
    ):
        flags = struct.unpack("<H", out[base + flag_at : base + flag_at + 2])[0]
        out[base + flag_at : base + flag_at + 2] = struct.pack("<H", flags | flag_or)
        if method is not None:
            out[base + method_at : base + method_at + 2] = struct.pack("<H", method)
        if file_size is not None:
            out[base + usize_at : base + usize_at + 4] = struct.pack("<I", file_size)
        if name is not None:
            assert len(name) == len(e.name), "a same-length name keeps every offset valid"
            out[base + name_at : base + name_at + len(name)] = name
    return bytes(out)


# --- real samples from dfVFS ------------------------------------------------------------------

SYSLOG = ("8b32710e60ce9f650b8b4dcc2b3ee927", 1247)
WTMP = ("5ffe8423a3290fa994d7f717e25c2b78", 1537)

# Member names and MD5s checked once with `unzip -p` and `tar -xOf` (Info-ZIP 6.0, GNU tar).
DFVFS_ARCHIVES = {
    "zip/absolute_paths.zip": [("/folder/syslog", SYSLOG), ("/folder/wtmp.1", WTMP)],
    "zip/mixed_paths.zip": [("/folder/syslog", SYSLOG), ("folder/wtmp.1", WTMP)],
    "zip/with_directory.zip": [("folder/wtmp.1", WTMP), ("folder/syslog", SYSLOG)],
    "zip/without_directory.zip": [("folder/syslog", SYSLOG), ("folder/wtmp.1", WTMP)],
    "tar/absolute_paths.tar": [("/folder/syslog", SYSLOG), ("/folder/wtmp.1", WTMP)],
    "tar/mixed_paths.tar": [("/folder/syslog", SYSLOG), ("folder/wtmp.1", WTMP)],
    "tar/with_directory.tar": [("folder/syslog", SYSLOG), ("folder/wtmp.1", WTMP)],
    "tar/without_directory.tar": [("folder/syslog", SYSLOG), ("folder/wtmp.1", WTMP)],
}


@pytest.mark.parametrize("name", sorted(DFVFS_ARCHIVES))
def test_dfvfs_archives_members_and_md5(shared_testdata: Path, name: str) -> None:
    path = shared_testdata / name
    with path.open("rb") as fh:
        got = expand(fh, path.name)
    assert got.outer_error is None
    assert [(m.item.path, (m.md5, m.item.size)) for m in got.members] == [
        (f"/home/user/{path.name}!{member}", expected)
        for member, expected in DFVFS_ARCHIVES[name]
    ]
    for m in got.members:
        assert m.error is None
        assert m.read_bytes == m.item.size
        # Provenance leads back through the outer item.
        assert m.item.origin == "archive"
        assert (m.item.evidence, m.item.partition, m.item.inode, m.item.path_spec) == (
            "evidence.E01", "p1", 42, '{"type": "TSK"}')
        assert m.item.allocated is False  # inherited from the (deleted) outer file
    keys = [m.item.key for m in got.members]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    if "with_directory" in name:
        # The directory entry is entry 0 in both: it is not an item, and the index keys skip it.
        assert keys == ["E1!000001", "E1!000002"]


def test_dfvfs_members_match_unzip_and_tar(shared_testdata: Path) -> None:
    """The hard-written table above, checked again against the command-line tools."""
    import subprocess

    for name, members in DFVFS_ARCHIVES.items():
        path = shared_testdata / name
        for member, (expected, _) in members:
            tool = (["unzip", "-p", str(path), member] if name.endswith(".zip")
                    else ["tar", "-xOf", str(path), member])
            out = subprocess.run(tool, check=True, capture_output=True).stdout
            assert md5(out) == expected, (name, member)


def test_corrupt_gzip_is_recorded_on_the_member_and_the_gzip(shared_testdata: Path) -> None:
    with (shared_testdata / "corrupt1.gz").open("rb") as fh:
        got = expand(fh, "corrupt1.gz")
    assert got.paths() == ["/home/user/corrupt1.gz!corrupt1"]
    member = got.members[0]
    assert member.md5 is None
    assert member.read_error is not None
    assert member.read_error.startswith("corrupt gzip stream: Compressed file ended")
    assert got.outer_error == member.read_error


# --- nesting ----------------------------------------------------------------------------------


def nested_sample() -> tuple[bytes, dict[str, bytes]]:
    """outer.zip{a.png, mid.tar.gz{b.jpg, inner.zip{c.png, sub/d.jpg}}, e.png}."""
    a, b, c, d, e = (picture(1, "PNG"), picture(2, "JPEG"), picture(3, "PNG"),
                     picture(4, "JPEG"), picture(5, "PNG"))
    inner = make_zip([("c.png", c), ("sub/d.jpg", d)])
    mid = make_gzip(make_tar([("b.jpg", b), ("inner.zip", inner)]), fname="mid.tar")
    outer = make_zip([("a.png", a), ("mid.tar.gz", mid), ("e.png", e)])
    base = "/home/user/outer.zip!"
    expected = {
        base + "a.png": a,
        base + "mid.tar.gz!b.jpg": b,
        base + "mid.tar.gz!inner.zip!c.png": c,
        base + "mid.tar.gz!inner.zip!sub/d.jpg": d,
        base + "mid.tar.gz!inner.zip": inner,
        base + "mid.tar.gz": mid,
        base + "e.png": e,
    }
    return outer, expected


def test_nested_zip_in_tar_gz_in_zip() -> None:
    outer, expected = nested_sample()
    got = expand_bytes(outer, "outer.zip")
    assert got.outer_error is None
    # Archive order; a nested archive comes after its own members (its item is then final).
    assert got.paths() == list(expected)
    assert {m.item.path: m.md5 for m in got.members} == {
        path: md5(data) for path, data in expected.items()}
    assert all(m.error is None for m in got.members)
    keys = {m.item.path.rsplit("!", 1)[-1]: m.item.key for m in got.members}
    assert keys == {
        "a.png": "E1!000000", "b.jpg": "E1!000001!000000", "c.png": "E1!000001!000001!000000",
        "sub/d.jpg": "E1!000001!000001!000001", "inner.zip": "E1!000001!000001",
        "mid.tar.gz": "E1!000001", "e.png": "E1!000002",
    }
    # Same input, same result.
    assert expand_bytes(outer, "outer.zip") == got


def test_nested_archive_in_a_seekable_zip_is_streamed_twice_not_buffered() -> None:
    """A tar.gz inside a zip is expanded from one pass and hashed from another; a buffer of
    one byte would refuse anything held in memory, so success shows nothing was."""
    b = picture(2, "JPEG")
    mid = make_gzip(make_tar([("b.jpg", b)]))
    outer = make_zip([("mid.tgz", mid)])
    got = expand_bytes(outer, "outer.zip", ArchiveLimits(max_nested_buffer=1))
    assert [(m.item.path, m.md5, m.error) for m in got.members] == [
        ("/home/user/outer.zip!mid.tgz!b.jpg", md5(b), None),
        ("/home/user/outer.zip!mid.tgz", md5(mid), None),
    ]


def test_member_streams_are_forward_only_and_pillow_still_opens_them() -> None:
    pic = picture(3, "PNG")
    members = list(iter_archive(io.BytesIO(make_zip([("p.png", pic)])), outer_item("p.zip"),
                                "application/zip"))
    stream = members[0].stream
    assert stream is not None and not stream.seekable()
    with pytest.raises(io.UnsupportedOperation):
        stream.seek(0)
    with Image.open(stream) as img:
        assert img.size == (96, 64)


def test_nesting_deeper_than_max_depth_is_hashed_not_expanded() -> None:
    level = make_zip([("f5.txt", b"five")])
    for n in (4, 3, 2, 1):
        level = make_zip([(f"f{n}.txt", f"level {n}".encode()), (f"z{n + 1}.zip", level)])
    got = expand_bytes(level, "z1.zip", ArchiveLimits(max_depth=3))
    by_path = got.by_path()
    base = "/home/user/z1.zip!"
    assert got.paths() == [
        base + "f1.txt", base + "z2.zip!f2.txt", base + "z2.zip!z3.zip!f3.txt",
        base + "z2.zip!z3.zip!z4.zip", base + "z2.zip!z3.zip", base + "z2.zip",
    ]
    deep = by_path[base + "z2.zip!z3.zip!z4.zip"]
    assert deep.item.error == "archive nesting deeper than 3: not expanded"
    assert deep.md5 is not None and deep.read_error is None  # still hashed
    assert by_path[base + "z2.zip!z3.zip!f3.txt"].md5 == md5(b"level 3")
    assert got.outer_error is None


def test_depth_argument_beyond_limit_raises() -> None:
    with pytest.raises(ItemError, match="archive nesting deeper than 2"):
        list(iter_archive(io.BytesIO(make_zip([("a", b"a")])), outer_item("a.zip"),
                          "application/zip", ArchiveLimits(max_depth=2), depth=3))


def test_nested_archive_bigger_than_buffer_in_a_stream_is_hashed_not_expanded() -> None:
    inner = make_zip([("big.bin", bytes(range(256)) * 8192)], method=zipfile.ZIP_STORED)
    outer = make_tar([("inner.zip", inner), ("after.txt", b"after")])
    got = expand_bytes(outer, "outer.tar", ArchiveLimits(max_nested_buffer=MiB))
    assert [(m.item.path, m.md5, m.error) for m in got.members] == [
        ("/home/user/outer.tar!inner.zip", md5(inner),
         "nested archive larger than the 1 MiB in-memory limit: not expanded"),
        ("/home/user/outer.tar!after.txt", md5(b"after"), None),
    ]


def test_zip_and_tar_from_a_non_seekable_stream() -> None:
    class OneWay(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.inner = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, b) -> int:
            data = self.inner.read(len(b))
            b[: len(data)] = data
            return len(data)

    data = make_zip([("x.txt", b"x" * 1000)])
    members = [consume(m) for m in iter_archive(OneWay(data), outer_item("x.zip"),  # type: ignore[arg-type]
                                                "application/zip")]
    assert [(m.item.path, m.md5) for m in members] == [
        ("/home/user/x.zip!x.txt", md5(b"x" * 1000))]
    # A tar from a one-way stream is read in tarfile's stream mode instead of random access.
    data = make_tar([("a.txt", b"a" * 5000), ("b.zip", make_zip([("c.txt", b"c")]))])
    members = [consume(m) for m in iter_archive(OneWay(data), outer_item("x.tar"),  # type: ignore[arg-type]
                                                "application/x-tar")]
    assert [(m.item.path, m.md5) for m in members] == [
        ("/home/user/x.tar!a.txt", md5(b"a" * 5000)),
        ("/home/user/x.tar!b.zip!c.txt", md5(b"c")),
        ("/home/user/x.tar!b.zip", md5(make_zip([("c.txt", b"c")]))),
    ]


# --- bombs ------------------------------------------------------------------------------------


def test_zip_member_of_zeros_stopped_at_total_limit_while_streaming() -> None:
    data = make_zip([("zeros.bin", bytes(64 * MiB)), ("after.txt", b"never reached")])
    assert len(data) < 200_000
    got = expand_bytes(data, "bomb.zip",
                       ArchiveLimits(max_total_bytes=8 * MiB, max_ratio=1e9))
    msg = "archive bomb: expanded bytes exceed limit 8 MiB; stopped"
    assert [(m.item.path, m.read_error) for m in got.members] == [
        ("/home/user/bomb.zip!zeros.bin", msg)]
    assert got.members[0].read_bytes <= 8 * MiB
    assert got.outer_error == msg


def test_zip_member_ratio_bomb_stopped_with_default_limits() -> None:
    noise = random.Random(1).randbytes(2 * MiB)  # keeps the archive as a whole under 200:1
    data = make_zip([("noise.bin", noise), ("zeros.bin", bytes(32 * MiB)), ("ok.txt", b"fine")])
    got = expand_bytes(data, "bomb.zip")
    assert [(m.item.path.rsplit("!")[-1], m.md5, m.error) for m in got.members] == [
        ("noise.bin", md5(noise), None),
        ("zeros.bin", None,
         "archive bomb: member expands more than 200 times its compressed size; stopped"),
        ("ok.txt", md5(b"fine"), None),
    ]
    # 32 MiB of zeros deflate to about 32 KiB: stopped at 200 times that (about 6.3 MiB).
    assert got.members[1].read_bytes < 8 * MiB
    assert got.outer_error is None
    # A zip that is nothing but the bomb is stopped as a whole.
    got = expand_bytes(make_zip([("zeros.bin", bytes(32 * MiB)), ("ok.txt", b"fine")]), "b.zip")
    assert [m.item.path for m in got.members] == ["/home/user/b.zip!zeros.bin"]
    assert got.outer_error == (
        "archive bomb: archive expands more than 200 times its compressed size; stopped")


def test_zip_member_declaring_1_kib_but_inflating_far_more_is_stopped() -> None:
    data = make_zip([("liar.bin", bytes(16 * MiB)), ("ok.txt", b"fine")])
    data = patch_zip(data, 0, file_size=1024)
    got = expand_bytes(data, "liar.zip")
    liar, ok = got.members
    assert liar.item.size == 1024  # the declared size, as the header says
    assert liar.read_bytes <= 1024
    # zipfile never gives more than the declared size; the CRC then shows the lie.
    assert liar.md5 is None
    assert liar.error == "corrupt zip member: Bad CRC-32 for file 'liar.bin'"
    assert ok.md5 == md5(b"fine")


def test_zip_member_declaring_more_than_it_holds_is_recorded() -> None:
    data = patch_zip(make_zip([("short.bin", b"abc" * 100)]), 0, file_size=10_000)
    got = expand_bytes(data, "short.zip")
    assert got.members[0].error == "zip member is 300 bytes, its header declares 10000"


def test_classic_nested_zip_bomb_42_zip_like_is_stopped() -> None:
    # 4 x 4 x 4 copies of 2 MiB of zeros: 128 MiB from a few tens of KiB.
    level = make_zip([(f"{i}.bin", bytes(2 * MiB)) for i in range(4)])
    for depth in range(3):
        level = make_zip([(f"lib{depth}{i}.zip", level) for i in range(4)])
    assert len(level) < 100_000
    limits = ArchiveLimits(max_total_bytes=32 * MiB, max_ratio=1e9)
    got = expand_bytes(level, "42.zip", limits)
    msg = "archive bomb: expanded bytes exceed limit 32 MiB; stopped"
    assert got.outer_error == msg
    assert sum(m.read_bytes for m in got.members) <= 32 * MiB
    assert any(m.read_error == msg for m in got.members)
    # Every nested zip that was being expanded when the limit hit carries the outcome.
    stopped = [m for m in got.members if m.item.error == msg]
    assert stopped and all(m.item.path.endswith(".zip") for m in stopped)
    # With the default ratio every innermost zip is stopped as a bomb after about 1 MiB;
    # the zips of zips around them are not bombs themselves and are read to the end.
    got = expand_bytes(level, "42.zip")
    assert got.outer_error is None
    innermost = [m for m in got.members if m.item.path.count("!") == 3]
    assert len(innermost) == 64
    assert {m.error for m in innermost} == {
        "archive bomb: archive expands more than 200 times its compressed size; stopped"}
    assert all(m.md5 is not None for m in innermost)  # the zips themselves are still hashed
    zeros = [m for m in got.members if m.item.path.endswith(".bin")]
    assert all(m.error is not None and m.error.startswith("archive bomb:") for m in zeros)
    assert sum(m.read_bytes for m in zeros) < MiB


def overlapping_zip(kernel: bytes, copies: int) -> bytes:
    """A non-recursive zip bomb (after Fifield): many central directory entries, all pointing
    at the same local header and compressed kernel."""
    one = make_zip([("k.bin", kernel)])
    entry = zip_entries(one)[0]
    eocd = one.rfind(b"PK\x05\x06")
    central = one[entry.central:eocd]
    directory = central * copies
    end = bytearray(one[eocd:])
    end[8:12] = struct.pack("<HH", copies, copies)
    end[12:16] = struct.pack("<I", len(directory))
    return one[: entry.central] + directory + bytes(end)


def test_overlapping_entries_zip_bomb_is_stopped() -> None:
    data = overlapping_zip(bytes(8 * MiB), 200)  # 1.6 GB from a few tens of KiB
    assert len(data) < 100_000
    got = expand_bytes(data, "overlap.zip", ArchiveLimits(max_total_bytes=32 * MiB,
                                                          max_ratio=1e9))
    msg = "archive bomb: expanded bytes exceed limit 32 MiB; stopped"
    assert got.outer_error == msg
    # Four whole copies make exactly the limit; the fifth is stopped in its first bytes.
    assert [m.md5 for m in got.members] == [md5(bytes(8 * MiB))] * 4 + [None]
    assert got.members[4].error == msg
    # Default limits: each copy is a bomb by itself, and the archive as a whole by the second.
    got = expand_bytes(data, "overlap.zip")
    assert [m.error for m in got.members] == [
        "archive bomb: member expands more than 200 times its compressed size; stopped",
        "archive bomb: archive expands more than 200 times its compressed size; stopped",
    ]
    assert sum(m.read_bytes for m in got.members) < 4 * MiB
    assert got.outer_error == (
        "archive bomb: archive expands more than 200 times its compressed size; stopped")


def test_gzip_bomb_is_stopped() -> None:
    data = make_gzip(bytes(32 * MiB), fname="zeros.bin")
    got = expand_bytes(data, "bomb.gz")
    msg = "archive bomb: archive expands more than 200 times its compressed size; stopped"
    assert [(m.item.path, m.read_error) for m in got.members] == [
        ("/home/user/bomb.gz!zeros.bin", msg)]
    assert got.outer_error == msg
    assert got.members[0].read_bytes < 8 * MiB


def test_tar_gz_bomb_is_stopped_even_when_members_are_not_read() -> None:
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as tf:
        for i in range(3):
            info = tarfile.TarInfo(f"zeros{i}.bin")
            info.size = 12 * MiB
            tf.addfile(info, Zeros(info.size))
    data = gzip.compress(tar.getvalue())
    limits = ArchiveLimits(max_total_bytes=8 * MiB, max_ratio=1e9)
    members = []
    with pytest.raises(ItemError, match="expanded bytes exceed limit 8 MiB"):
        # A consumer that never reads: skipping through the tar still counts.
        for member in iter_archive(io.BytesIO(data), outer_item("bomb.tgz"),
                                   "application/gzip", limits):
            members.append(member.item.path)
    assert members == ["/home/user/bomb.tgz!zeros0.bin"]


def test_member_count_limit() -> None:
    data = make_zip([(f"f{i}.txt", b"x") for i in range(50)])
    got = expand_bytes(data, "many.zip", ArchiveLimits(max_members=20))
    assert len(got.members) == 20
    assert got.outer_error == "archive bomb: more than 20 members; stopped"


def test_zip64_extensible_data_decoys_and_signature_floods_do_not_misplace_the_record() -> None:
    from fellwatch.evidence.archives import ZIP_TAIL_BYTES, zip_end
    from tests.fixtures.hostile import as_zip64, zip64_extensible_data

    inner = make_zip([("a.txt", b"benign a\n"), ("b.txt", b"benign b\n")])
    record_at = len(inner) - 22  # as_zip64 puts the record where the end record was
    expected = {"/home/user/{}!a.txt": md5(b"benign a\n"),
                "/home/user/{}!b.txt": md5(b"benign b\n")}
    # A decoy record inside the extensible data whose size field ends it at the locator too,
    # but whose directory does not end where the locator says: not taken for the record.
    decoy_size = 6 + 56 + 10 - 6 - 12
    decoy = b"PK\x06\x06" + struct.pack("<QHHIIQQQQ", decoy_size, 45, 45, 0, 0, 2, 2, 5, 7)
    decoyed = zip64_extensible_data(0x4657, decoy + b"benign pad")
    # 60 KiB of record signatures: every one a candidate, none consistent.
    flood = zip64_extensible_data(0x4657, b"PK\x06\x06" * (15 * 1024))
    prefix = b"\xff\xd8\xff\xe0" + bytes(1000)  # as a JPEG starts
    for name, extensible in (("decoy.jpg", decoyed), ("flood.jpg", flood)):
        data = prefix + as_zip64(inner, extensible)
        end = zip_end(data[-ZIP_TAIL_BYTES:], len(data))
        assert end is not None and end.zip64_extensible is not None
        assert end.zip64_extensible == (len(prefix) + record_at, 56 + len(extensible))
        got = expand_bytes(data[len(prefix):], name)  # no prefix: sniffed as a zip
        assert got.outer_error is None
        assert {m.item.path: m.md5 for m in got.members} == {
            path.format(name): digest for path, digest in expected.items()}
        for member in iter_archive(io.BytesIO(data), outer_item(name), "application/zip"):
            assert member.stream is not None
            assert md5(member.stream.read()) == expected[member.item.path.replace(name, "{}")]


def test_zip_with_a_huge_central_directory_is_refused_before_parsing() -> None:
    data = make_zip([(f"{i:04d}" + "n" * 200 + ".txt", b"") for i in range(300)],
                    method=zipfile.ZIP_STORED)
    got = expand_bytes(data, "wide.zip", ArchiveLimits(max_members=100))
    assert got.members == []
    assert got.outer_error is not None
    assert got.outer_error.startswith("archive bomb: zip central directory of ")
    assert got.outer_error.endswith("bytes is more than 100 members need; not expanded")


def test_ten_thousand_member_zip() -> None:
    data = make_zip([(f"dir{i % 7}/file{i:05d}.txt", f"content {i}".encode())
                     for i in range(10_000)])
    got = expand_bytes(data, "big.zip")
    assert got.outer_error is None
    assert len(got.members) == 10_000
    keys = [m.item.key for m in got.members]
    assert keys == sorted(keys) and len(set(keys)) == 10_000
    assert got.members[0].item.path == "/home/user/big.zip!dir0/file00000.txt"
    assert got.members[9_999].item.key == "E1!009999"
    for i in (0, 1, 4_321, 9_999):
        assert got.members[i].md5 == md5(f"content {i}".encode())


# --- damaged and unreadable archives ------------------------------------------------------------


def test_duplicate_names_keep_unique_keys_and_both_contents() -> None:
    data = make_zip([("same.txt", b"first"), ("same.txt", b"second")])
    got = expand_bytes(data, "dup.zip")
    assert [(m.item.path, m.item.key, m.md5) for m in got.members] == [
        ("/home/user/dup.zip!same.txt", "E1!000000", md5(b"first")),
        ("/home/user/dup.zip!same.txt", "E1!000001", md5(b"second")),
    ]
    tar = make_tar([("same.txt", b"first"), ("same.txt", b"second")])
    got = expand_bytes(tar, "dup.tar")
    assert [(m.item.key, m.md5) for m in got.members] == [
        ("E1!000000", md5(b"first")), ("E1!000001", md5(b"second"))]


def test_encrypted_member_is_recorded_not_guessed() -> None:
    data = make_zip([("secret.jpg", picture(1, "JPEG")), ("plain.txt", b"plain")],
                    method=zipfile.ZIP_STORED)
    data = patch_zip(data, 0, flag_or=0x1)
    got = expand_bytes(data, "enc.zip")
    assert [(m.item.path, m.md5, m.error) for m in got.members] == [
        ("/home/user/enc.zip!secret.jpg", None, "encrypted archive member: not decrypted"),
        ("/home/user/enc.zip!plain.txt", md5(b"plain"), None),
    ]


def test_unsupported_compression_method_is_recorded() -> None:
    data = patch_zip(make_zip([("a.bin", b"a" * 100), ("b.txt", b"b")]), 0, method=9)
    got = expand_bytes(data, "d64.zip")
    assert [(m.md5, m.error) for m in got.members] == [
        (None, "unsupported compression method 9 (deflate64): not read"),
        (md5(b"b"), None),
    ]


def test_truncated_zip_is_an_error_on_the_archive() -> None:
    data = make_zip([("a.png", picture(1, "PNG")), ("b.png", picture(2, "PNG"))])
    got = expand_bytes(data[: len(data) // 2], "cut.zip")
    assert got.members == []
    assert got.outer_error == "corrupt zip: File is not a zip file"


def test_corrupt_zip_member_data_is_recorded_and_the_scan_goes_on() -> None:
    data = bytearray(make_zip([("a.txt", b"A" * 500), ("b.txt", b"B")],
                              method=zipfile.ZIP_STORED))
    data[zip_entries(bytes(data))[0].local + 30 + len(b"a.txt") + 10] ^= 0xFF
    got = expand_bytes(bytes(data), "crc.zip")
    assert got.members[0].error == "corrupt zip member: Bad CRC-32 for file 'a.txt'"
    assert got.members[1].md5 == md5(b"B")
    assert got.outer_error is None


def test_corrupt_deflate_stream_is_recorded() -> None:
    noise = random.Random(2).randbytes(4 * MiB)
    data = bytearray(make_zip([("n.bin", noise), ("b.txt", b"B")]))
    data[zip_entries(bytes(data))[0].local + 30 + len(b"n.bin") + 2 * MiB] ^= 0xFF
    got = expand_bytes(bytes(data), "bad.zip")
    first = got.members[0]
    assert first.md5 is None and first.read_error is not None
    # Random bytes are deflated as stored blocks: the damage shows as a CRC mismatch at the end.
    assert first.read_error == "corrupt zip member: Bad CRC-32 for file 'n.bin'"
    assert first.read_bytes < 4 * MiB
    assert got.members[1].md5 == md5(b"B")
    text = b"".join(b"line %d of a benign log\n" % i for i in range(20_000))
    data = bytearray(make_zip([("t.txt", text)]))
    for at in range(40, 60):  # Huffman-coded blocks: the damage breaks the stream itself
        data[zip_entries(bytes(data))[0].local + 30 + len(b"t.txt") + at] ^= 0xFF
    got = expand_bytes(bytes(data), "bad.zip")
    assert got.members[0].error is not None
    assert got.members[0].error.startswith("corrupt zip member: ")


def test_truncated_tar_and_tar_gz() -> None:
    data = make_tar([("a.bin", b"a" * 5000), ("b.bin", b"b" * 5000)])
    got = expand_bytes(data[:3000], "cut.tar")
    assert [m.item.path for m in got.members] == ["/home/user/cut.tar!a.bin"]
    assert got.members[0].error == "corrupt tar member: unexpected end of data"
    assert got.outer_error is not None
    gz = gzip.compress(data)
    got = expand_bytes(gz[: len(gz) - 30], "cut.tgz")
    assert got.outer_error is not None and got.outer_error.startswith("corrupt gzip stream")


def test_broken_tar_header_after_the_first_is_reported_not_dropped() -> None:
    data = bytearray(make_tar([("a.txt", b"a"), ("b.txt", b"b"), ("c.txt", b"c")]))
    data[1024 + 148] ^= 0x55  # the second header's checksum
    got = expand_bytes(bytes(data), "broken.tar")
    assert [m.md5 for m in got.members] == [md5(b"a")]
    assert got.outer_error == "corrupt tar: invalid header after member 1; rest not expanded"


def test_not_an_archive_and_garbage() -> None:
    got = expand_bytes(b"PK\x03\x04" + bytes(600), "junk.zip")
    assert got.outer_error is not None and got.outer_error.startswith("corrupt zip:")
    got = expand_bytes(b"\x1f\x8b\x08\x00" + b"\xff" * 600, "junk.gz")
    assert got.outer_error is not None and got.outer_error.startswith("corrupt gzip stream")


# --- gzip names -------------------------------------------------------------------------------


def test_lone_gzip_member_named_from_header_or_outer_name() -> None:
    pic = picture(7, "PNG")
    got = expand_bytes(make_gzip(pic, fname="holiday.png"), "x.gz")
    assert [(m.item.path, m.md5, m.item.size) for m in got.members] == [
        ("/home/user/x.gz!holiday.png", md5(pic), len(pic))]
    assert got.members[0].item.times == {"modified": "2020-09-13T12:26:40Z"}
    got = expand_bytes(gzip.compress(pic, mtime=0), "pic.png.gz")
    assert [(m.item.path, m.md5) for m in got.members] == [
        ("/home/user/pic.png.gz!pic.png", md5(pic))]


def test_gzip_with_junk_after_its_end_is_still_hashed_and_the_junk_noted() -> None:
    text = b"a benign log line\n" * 500
    stream = make_gzip(text, fname="log.txt")
    got = expand_bytes(stream + bytes(300), "log.gz")  # zero padding is allowed
    assert [(m.md5, m.error) for m in got.members] == [(md5(text), None)]
    assert got.outer_error is None
    got = expand_bytes(stream + b"carved junk after the end", "log.gz")
    assert [(m.md5, m.error) for m in got.members] == [(md5(text), None)]
    assert got.outer_error == (
        "data after the end of the gzip stream: not read (Not a gzipped file (b'ca'))")
    # Two members are one stream, as gunzip reads them.
    got = expand_bytes(stream + make_gzip(b"second"), "two.gz")
    assert [m.md5 for m in got.members] == [md5(text + b"second")]
    assert got.outer_error is None


def test_gzip_holding_a_zip_is_expanded() -> None:
    pic = picture(8, "JPEG")
    inner = make_zip([("p.jpg", pic)])
    data = make_gzip(inner, fname="pics.zip")
    got = expand_bytes(data, "pics.zip.gz")
    assert [(m.item.path, m.md5) for m in got.members] == [
        ("/home/user/pics.zip.gz!pics.zip!p.jpg", md5(pic)),
        ("/home/user/pics.zip.gz!pics.zip", md5(inner)),
    ]


# --- hostile names ----------------------------------------------------------------------------


def test_hostile_zip_names_are_shown_escaped_and_never_touch_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = ["/etc/passwd", "../../../evil.txt", "a\\b\\c.txt", "red\x1b[31m.txt",
             "NULxNAME.txt", "cafeX.txt", "dir/"]
    data = make_zip([(n, n.encode() * (0 if n.endswith("/") else 1)) for n in names])
    data = patch_zip(data, 4, name=b"NUL\x00NAME.txt")
    data = patch_zip(data, 5, name=b"cafe\x82.txt")  # CP437 e-acute, no UTF-8 flag
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    got = expand_bytes(data, "hostile.zip")
    assert list(workdir.iterdir()) == []
    base = "/home/user/hostile.zip!"
    assert [(m.item.path, m.md5) for m in got.members] == [
        (base + "/etc/passwd", md5(b"/etc/passwd")),
        (base + "../../../evil.txt", md5(b"../../../evil.txt")),
        (base + "a\\\\b\\\\c.txt", md5(b"a\\b\\c.txt")),
        (base + "red\\x1b[31m.txt", md5(b"red\x1b[31m.txt")),
        (base + "NUL\\x00NAME.txt", md5(b"NULxNAME.txt")),
        (base + "cafeé.txt", md5(b"cafeX.txt")),
    ]


def test_zip_name_flagged_utf8_but_invalid_does_not_hide_the_archive() -> None:
    # zipfile sets the UTF-8 flag for a non-ASCII name; the bytes are then made invalid UTF-8.
    data = make_zip([("ok.txt", b"ok"), ("ü.txt", b"u"), ("ñ€.txt", b"n")])
    data = patch_zip(data, 1, name=b"\xff\xfe.txt")
    got = expand_bytes(data, "badutf8.zip")
    assert got.outer_error is None
    assert [(m.item.path, m.md5, m.error) for m in got.members] == [
        ("/home/user/badutf8.zip!ok.txt", md5(b"ok"), None),
        ("/home/user/badutf8.zip!\\xff\\xfe.txt", md5(b"u"), None),
        ("/home/user/badutf8.zip!ñ€.txt", md5(b"n"), None),
    ]


def test_hostile_tar_names_and_non_content_entries() -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT, encoding="utf-8",
                      errors="surrogateescape") as tf:

        def add(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"",
                link: str = "") -> None:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.size = len(data)
            info.linkname = link
            tf.addfile(info, io.BytesIO(data) if data else None)

        add("dir", tarfile.DIRTYPE)
        add("/abs/file.txt", data=b"abs")
        add("../../up.txt", data=b"up")
        add("back\\slash.txt", data=b"bs")
        add("ctl\x07\x1b[2J.txt", data=b"ctl")
        add("latin\udce9.txt", data=b"latin1")  # raw byte 0xE9: not UTF-8
        add("link", tarfile.SYMTYPE, link="/etc/shadow")
        add("hard", tarfile.LNKTYPE, link="/abs/file.txt")
        add("dev", tarfile.CHRTYPE)
        add("fifo", tarfile.FIFOTYPE)
        add("x" * 150 + "/long.txt", data=b"long")  # a GNU long name
    got = expand_bytes(buf.getvalue(), "hostile.tar")
    base = "/home/user/hostile.tar!"
    assert got.outer_error is None
    assert [(m.item.path, m.md5) for m in got.members] == [
        (base + "/abs/file.txt", md5(b"abs")),
        (base + "../../up.txt", md5(b"up")),
        (base + "back\\\\slash.txt", md5(b"bs")),
        (base + "ctl\\x07\\x1b[2J.txt", md5(b"ctl")),
        (base + "latin\\xe9.txt", md5(b"latin1")),
        (base + "x" * 150 + "/long.txt", md5(b"long")),
    ]
    assert [m.item.key for m in got.members] == [
        "E1!000001", "E1!000002", "E1!000003", "E1!000004", "E1!000005", "E1!000010"]


def test_zip_entries_hiding_data_as_directory_or_link_are_read() -> None:
    info = zipfile.ZipInfo("hidden/")
    link = zipfile.ZipInfo("link.jpg")
    link.external_attr = (0o120777 << 16)  # a Unix symbolic link
    pic = picture(9, "JPEG")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(info, b"data in a directory entry")
        zf.writestr(link, pic)
        zf.writestr(zipfile.ZipInfo("empty/"), b"")
    got = expand_bytes(buf.getvalue(), "hide.zip")
    assert [(m.item.path, m.md5) for m in got.members] == [
        ("/home/user/hide.zip!hidden/", md5(b"data in a directory entry")),
        ("/home/user/hide.zip!link.jpg", md5(pic)),
    ]


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError, match="max_depth"):
        ArchiveLimits(max_depth=0)
    with pytest.raises(ValueError, match="max_ratio"):
        ArchiveLimits(max_ratio=0.5)


def test_damaged_archives_only_ever_give_recorded_errors() -> None:
    """Seeded random damage to each kind of archive: every outcome is an ItemError recorded
    on an item (or the archive), never another exception, never a hang."""
    rng = random.Random(20261129)
    inner = make_zip([("c.png", picture(3, "PNG")), ("d.txt", b"hello" * 300)])
    samples = {
        "zip": make_zip([("a.txt", b"a" * 3000), ("in.zip", inner)]),
        "tar": make_tar([("a.txt", b"a" * 3000), ("in.zip", inner), ("x" * 120 + "/y", b"y")]),
        "tgz": gzip.compress(make_tar([("a.txt", b"a" * 3000), ("in.zip", inner)])),
        "gz": make_gzip(inner, fname="in.zip"),
    }
    limits = ArchiveLimits(max_total_bytes=64 * MiB, max_nested_buffer=8 * MiB)
    outcomes = 0
    for kind, sample in sorted(samples.items()):
        for _ in range(100):
            data = bytearray(sample)
            for _ in range(rng.randint(1, 8)):
                at = rng.randrange(len(data))
                if rng.random() < 0.7:
                    data[at] = rng.randrange(256)
                else:
                    del data[at : at + rng.randint(1, 64)]
            got = expand_bytes(bytes(data), f"damaged.{kind}", limits)  # raises nothing else
            outcomes += got.outer_error is not None or any(m.error for m in got.members)
    assert outcomes > 100  # the damage was noticed, not just survived


def test_every_limit_is_documented() -> None:
    from dataclasses import fields

    doc = (Path(__file__).resolve().parents[2] / "docs" / "archives.md").read_text()
    for field in fields(ArchiveLimits):
        assert f"| `{field.name}` | " in doc, field.name
