"""Archives inside evidence (zip, tar, gzip, tar.gz), read as streams and never extracted.

`iter_archive` yields one `ArchiveMember` per content member, in archive order, nested archives
expanded to `ArchiveLimits.max_depth`. Nothing is ever written to disk: member names are only
shown (escaped by `display_name`), never used as paths.

Why the shape is what it is:

* **A yielded item is final.** A nested archive is yielded *after* its own members, with any
  failure to expand it (corrupt, bomb, too deep) already in its `error`; its stream is still
  given so it is hashed too. Errors found while the consumer reads a member's stream (a corrupt
  deflate stream, a CRC mismatch, a bomb limit) are raised from that stream's `read` as
  `ItemError`, for the consumer to record on that member.
* **The outermost archive belongs to the consumer**, so a failure of the archive as a whole
  (not a zip at all, a bomb that stopped the expansion) is raised as `ItemError` by the
  iterator once everything that could be read was yielded.
* **Bombs are stopped while streaming**, by counting the bytes that come out of every
  decompressor, never trusting declared sizes: total expanded bytes per outermost archive,
  expansion ratio per member and per archive, member count, nesting depth, and the memory a
  nested archive may take. Each limit turns into a recorded error, never a hang.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import struct
import tarfile
import zipfile
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import IO, Any, BinaryIO, Self, TypeVar, cast

from fellwatch.evidence.item import Item, ItemError
from fellwatch.evidence.names import display_name
from fellwatch.evidence.streams import PositionedStream
from fellwatch.signals.filetype import is_archive, sniff

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30
CHUNK = MiB
# filetype.sniff needs 512 bytes to see a tar header's "ustar" magic at offset 257.
_SNIFF_BYTES = 512
# Generous: a central directory entry is 46 bytes plus name, extra field and comment.
_ZIP_DIRECTORY_BYTES_PER_MEMBER = 512
# A gzip header with FEXTRA (at most 64 KiB) and a sane FNAME fits in this.
_GZIP_HEADER_PEEK = 128 * KiB

# The compression methods Python's zipfile decodes; anything else is recorded, not guessed.
_ZIP_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2,
                          zipfile.ZIP_LZMA})
_ZIP_METHOD_NAMES = {
    1: "shrink", 6: "implode", 9: "deflate64", 10: "PKWARE implode", 18: "IBM TERSE",
    19: "IBM LZ77", 93: "zstandard", 94: "MP3", 95: "xz", 96: "JPEG", 97: "WavPack",
    98: "PPMd", 99: "AES encryption",
}

# What expanding one archive gives: its members, then why it stopped early (or None).
_Expansion = Generator["ArchiveMember", None, str | None]
_T = TypeVar("_T")


def _human(n: int) -> str:
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} bytes"


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    """Limits that turn a hostile archive into a recorded outcome.

    `max_depth`: an archive inside the evidence is depth 1; an archive inside it depth 2; an
    archive deeper than this is hashed but not expanded. `max_total_bytes`: bytes expanded
    from one outermost archive, all levels together. `max_ratio`: expanded / compressed, per
    member and per archive, judged once `ratio_floor_bytes` have come out (a small file of
    spaces is not a bomb). `max_members`: entries in one outermost archive, all levels
    together. `max_nested_buffer`: memory all nested archives held at once may take (a nested
    zip needs random access; a nested archive in a tar or gzip stream must be read twice).
    """

    max_depth: int = 5
    max_total_bytes: int = 4 * GiB
    max_ratio: float = 200.0
    max_members: int = 100_000
    max_nested_buffer: int = 256 * MiB
    ratio_floor_bytes: int = 1 * MiB

    def __post_init__(self) -> None:
        for name in ("max_depth", "max_total_bytes", "max_members", "max_nested_buffer"):
            if getattr(self, name) < 1:
                raise ValueError(f"ArchiveLimits.{name} must be at least 1")
        if self.max_ratio < 1 or self.ratio_floor_bytes < 0:
            raise ValueError("ArchiveLimits.max_ratio must be >= 1, ratio_floor_bytes >= 0")


DEFAULT_LIMITS = ArchiveLimits()


@dataclass(slots=True)
class ArchiveMember:
    """One content member: its item and a stream of its bytes.

    `stream` is None when the member cannot be read at all (`item.error` says why). A stream
    may still come with `item.error` set: a nested archive that was hashed but not (fully)
    expanded. Read the stream to its end before asking for the next member; its `read` raises
    `ItemError` when the member turns out corrupt or a bomb limit is hit.
    """

    item: Item
    stream: BinaryIO | None


class _Budget:
    """What one outermost archive may still spend, shared by every nesting level."""

    def __init__(self, limits: ArchiveLimits) -> None:
        self.limits = limits
        self.expanded = 0
        self.members = 0
        self.buffered = 0
        self.stopped: str | None = None
        self.key_width = max(6, len(str(limits.max_members)))

    def stop(self, reason: str) -> str:
        if self.stopped is None:
            self.stopped = reason
        return self.stopped

    def count_member(self) -> str | None:
        self.members += 1
        if self.members > self.limits.max_members:
            return self.stop(
                f"archive bomb: more than {self.limits.max_members} members; stopped")
        return None

    def spend(self, n: int) -> None:
        self.expanded += n
        if self.expanded > self.limits.max_total_bytes:
            raise ItemError(self.stop(
                f"archive bomb: expanded bytes exceed limit "
                f"{_human(self.limits.max_total_bytes)}; stopped"))


class _ArchiveState:
    """One archive's own expansion ratio: bytes out of it against its compressed bytes."""

    def __init__(self, compressed: Callable[[], int]) -> None:
        self.compressed = compressed
        self.expanded = 0
        self.stopped: str | None = None


class _Reader(io.RawIOBase):
    """A member's bytes: counted against the limits, errors turned into `ItemError`.

    Bytes pushed back with `unread` (a sniffed head, a partly filled buffer) are served
    first and are not counted twice. Any exception from the source is a property of hostile
    or damaged data, so it becomes one recorded `ItemError` (sticky: later reads repeat it).
    """

    def __init__(
        self,
        source: IO[bytes],
        label: str,
        *,
        budget: _Budget | None = None,
        archive: _ArchiveState | None = None,
        compressed_size: int | None = None,
        ratio: tuple[float, int] | None = None,
        declared_size: int | None = None,
        gzip_output: bool = False,
    ) -> None:
        super().__init__()
        self._source = source
        self._label = label
        self._budget = budget
        self._archive = archive
        self._compressed_size = compressed_size
        self._ratio = ratio
        self._declared_size = declared_size
        self._gzip_output = gzip_output
        self.trailing: str | None = None
        self._prefix = b""
        self.produced = 0
        self.error: str | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        # Forward only: a seek inside a zip member would decompress behind the counting, and
        # tar and gzip streams cannot go back. Pillow and the like copy such a stream first.
        return False

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        raise io.UnsupportedOperation("archive member streams are read forward only")

    def tell(self) -> int:
        return self.produced - len(self._prefix)

    def unread(self, data: bytes) -> None:
        self._prefix = data + self._prefix

    def head(self, size: int) -> bytes:
        """Up to `size` first bytes, pushed back so the consumer still reads them."""
        parts: list[bytes] = []
        got = 0
        while got < size:
            part = self.read(size - got)
            if not part:
                break
            parts.append(part)
            got += len(part)
        data = b"".join(parts)
        self.unread(data)
        return data

    def read(self, size: int | None = -1) -> bytes:
        if self.error is not None:
            raise ItemError(self.error)
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(CHUNK), b""))
        if self._prefix:
            data, self._prefix = self._prefix[:size], self._prefix[size:]
            return data
        data = self._guard(lambda: self._read_source(size))
        if data:
            self._count(len(data))
        elif size and self._declared_size is not None and self.produced != self._declared_size:
            self._fail(f"{self._label.removeprefix('corrupt ')} is {self.produced} bytes, its "
                       f"header declares {self._declared_size}")
        return data

    def _read_source(self, size: int) -> bytes:
        if self.trailing is not None:
            return b""
        try:
            if self._gzip_output:
                # One underlying read at a time: GzipFile.read would drop the bytes it already
                # had when the junk after them raises.
                return cast(gzip.GzipFile, self._source).read1(size)
            return self._source.read(size)
        except gzip.BadGzipFile as exc:
            # gzip reads a next member only after the last one's CRC and length checked out:
            # junk after a complete stream (a carved or padded file) is noted, and the
            # content before it is still read and hashed, as gunzip does.
            if not (self._gzip_output and self.produced and str(exc).startswith(
                    "Not a gzipped file")):
                raise
            self.trailing = f"data after the end of the gzip stream: not read ({_reason(exc)})"
            return b""

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            # Closing a damaged stream must not hide what was found reading it.
            with contextlib.suppress(Exception):
                self._source.close()
        super().close()

    def _guard(self, call: Callable[[], _T]) -> _T:
        try:
            return call()
        except ItemError as exc:
            self.error = str(exc)
            raise
        except Exception as exc:  # hostile bytes may break any parser in any way
            self.error = f"{self._label}: {_reason(exc)}"
            raise ItemError(self.error) from exc

    def _fail(self, reason: str) -> None:
        self.error = reason
        raise ItemError(reason)

    def _count(self, n: int) -> None:
        # Every byte that came out was work done, so it is counted before any limit is judged.
        self.produced += n
        archive = self._archive
        if archive is not None:
            archive.expanded += n
        if self._budget is not None:
            try:
                self._budget.spend(n)
            except ItemError as exc:
                self._fail(str(exc))
        if self._ratio is None:
            return
        max_ratio, floor = self._ratio
        # The archive's ratio first: it stops the whole archive, not just this member.
        if archive is not None and archive.expanded > floor and (
            archive.expanded > max_ratio * max(archive.compressed(), 1)
        ):
            archive.stopped = (f"archive bomb: archive expands more than {max_ratio:g} times "
                               f"its compressed size; stopped")
            self._fail(archive.stopped)
        if self._compressed_size is not None and self.produced > floor and (
            self.produced > max_ratio * max(self._compressed_size, 1)
        ):
            self._fail(f"archive bomb: member expands more than {max_ratio:g} times its "
                       f"compressed size; stopped")


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    # Messages may quote hostile names: keep them on one printable line.
    return display_name(text)


def iter_archive(
    stream: BinaryIO,
    outer: Item,
    content_type: str,
    limits: ArchiveLimits = DEFAULT_LIMITS,
    depth: int = 1,
) -> Iterator[ArchiveMember]:
    """Every content member of the archive `outer` (read from `stream`), nested ones too.

    `content_type` is the sniffed type of `outer` (zip, gzip or tar; a gzip holding a tar is
    expanded as a tar). Raises `ItemError` — after yielding every member that could be read —
    when the archive as a whole cannot be (fully) expanded; the consumer records it on `outer`.
    """
    if depth > limits.max_depth:
        raise ItemError(f"archive nesting deeper than {limits.max_depth}: not expanded")
    budget = _Budget(limits)
    error = yield from _expand(stream, outer, content_type, depth, budget, cheap_seek=True)
    if error is not None:
        raise ItemError(error)


def _expand(
    source: IO[bytes], container: Item, content_type: str, depth: int, budget: _Budget,
    *, cheap_seek: bool,
) -> _Expansion:
    """Yield the members of one archive; return why it was not (fully) expanded, or None."""
    if content_type == "application/zip":
        return (yield from _expand_zip(source, container, depth, budget))
    if content_type == "application/gzip":
        return (yield from _expand_gzip(source, container, depth, budget, cheap_seek))
    if content_type == "application/x-tar":
        return (yield from _expand_tar(source, container, depth, budget,
                                       random_access=cheap_seek and source.seekable()))
    return f"not an archive: {content_type}"


def _member_item(
    container: Item, index: int, name: str, size: int, budget: _Budget,
    times: dict[str, str] | None = None,
) -> Item:
    return Item(
        evidence=container.evidence,
        path=f"{container.path}!{name}",
        # The index, not the name, makes the key: names repeat and may contain "!".
        key=f"{container.key}!{index:0{budget.key_width}d}",
        size=max(size, 0),
        origin="archive",
        allocated=container.allocated,
        path_spec=container.path_spec,
        inode=container.inode,
        partition=container.partition,
        times=times or {},
        locator=("archive-member", container.locator, index),
    )


def _with_error(item: Item, error: str | None) -> Item:
    return item if error is None else replace(item, error=error)


def _member(
    item: Item,
    open_reader: Callable[[bool], _Reader],
    reopenable: bool,
    depth: int,
    budget: _Budget,
) -> Iterator[ArchiveMember]:
    """Yield one member; if it is itself an archive, its members first, then it.

    `open_reader(counted)` gives a fresh reader of the member; only a zip container can give
    more than one (`reopenable`), a tar or gzip stream gives its one pass.
    """
    try:
        reader = open_reader(True)
        head = reader.head(_SNIFF_BYTES)
    except ItemError as exc:
        yield ArchiveMember(_with_error(item, str(exc)), None)
        return
    content_type = sniff(head)
    if not is_archive(content_type):
        yield ArchiveMember(item, cast(BinaryIO, reader))
        return
    limits = budget.limits
    if depth >= limits.max_depth:
        yield ArchiveMember(
            _with_error(item, f"archive nesting deeper than {limits.max_depth}: not expanded"),
            cast(BinaryIO, reader))
        return
    if reopenable and content_type != "application/zip":
        # tar and gzip stream: expand from one pass, hash from another; no memory held.
        reader.close()
        try:
            inner = open_reader(True)
        except ItemError as exc:
            yield ArchiveMember(_with_error(item, str(exc)), None)
            return
        error = yield from _expand(cast(IO[bytes], inner), item, content_type, depth + 1, budget,
                                   cheap_seek=False)
        if inner.error is not None and inner.error == error:
            # The nested archive's own bytes are what failed: a second pass would too.
            yield ArchiveMember(_with_error(item, error), None)
            return
        try:
            stream = open_reader(False)
        except ItemError as exc:
            yield ArchiveMember(_with_error(item, str(exc)), None)
            return
        yield ArchiveMember(_with_error(item, error), cast(BinaryIO, stream))
        return
    # A zip needs random access; a nested archive in a tar or gzip stream cannot be read
    # twice. Either way it is held in memory, within max_nested_buffer.
    try:
        data = _buffer(reader, item.size, budget)
    except ItemError as exc:
        yield ArchiveMember(_with_error(item, str(exc)), None)
        return
    if data is None:
        too_big = (f"nested archive larger than the {_human(limits.max_nested_buffer)} "
                   f"in-memory limit: not expanded")
        if reopenable:
            reader.close()
            try:
                reader = open_reader(False)
            except ItemError as exc:
                yield ArchiveMember(_with_error(item, str(exc)), None)
                return
        yield ArchiveMember(_with_error(item, too_big), cast(BinaryIO, reader))
        return
    try:
        error = yield from _expand(io.BytesIO(data), item, content_type, depth + 1, budget,
                                   cheap_seek=True)
        yield ArchiveMember(_with_error(item, error), io.BytesIO(data))
    finally:
        budget.buffered -= len(data)


def _once(reader: _Reader) -> Callable[[bool], _Reader]:
    """The one reader a tar or gzip stream gives for a member."""

    def open_reader(counted: bool) -> _Reader:
        return reader

    return open_reader


def _buffer(reader: _Reader, declared: int, budget: _Budget) -> bytes | None:
    """The whole member in memory, or None (nothing lost: read bytes are pushed back)."""
    room = budget.limits.max_nested_buffer - budget.buffered
    if declared > room:
        return None
    parts: list[bytes] = []
    got = 0
    while True:
        part = reader.read(CHUNK)
        if not part:
            break
        parts.append(part)
        got += len(part)
        if got > room:
            reader.unread(b"".join(parts))
            return None
    budget.buffered += got
    return b"".join(parts)


# --- zip -------------------------------------------------------------------------------------


def _expand_zip(source: IO[bytes], container: Item, depth: int, budget: _Budget) -> _Expansion:
    if not source.seekable():
        try:
            data = _buffer(_Reader(source, "zip cannot be read"), 0, budget)
        except ItemError as exc:
            return str(exc)
        if data is None:
            return (f"zip in a non-seekable stream larger than the "
                    f"{_human(budget.limits.max_nested_buffer)} in-memory limit: not expanded")
        try:
            return (yield from _expand_zip(io.BytesIO(data), container, depth, budget))
        finally:
            budget.buffered -= len(data)
    raw_names: set[int] = set()
    try:
        archive_size = source.seek(0, io.SEEK_END)
        tail, end = _zip_tail(source, archive_size)
        if end is None and _zip64_record_missing(tail, archive_size):
            return _ZIP64_MISSING
        directory = (end.directory_size if end is not None
                     else _zip_directory_size(source, archive_size, tail))
        # zipfile holds the whole central directory and one ZipInfo per entry in memory before
        # a single member can be counted: a directory of millions of entries is refused first.
        most = budget.limits.max_members * _ZIP_DIRECTORY_BYTES_PER_MEMBER
        if directory is not None and directory > most:
            return budget.stop(
                f"archive bomb: zip central directory of {directory} bytes is more than "
                f"{budget.limits.max_members} members need; not expanded")
        if end is not None and end.zip64_extensible is not None:
            # zipfile looks for a zip64 end record only in the 56 bytes before the locator:
            # show it one there, the same record without its extensible data (nothing else
            # moves, so every member is read from the same bytes).
            source = _without_zip64_extensible_data(source, archive_size, tail,
                                                    *end.zip64_extensible)
        source.seek(0)
        try:
            zf = zipfile.ZipFile(source)
        except UnicodeDecodeError:
            # zipfile refuses the whole archive for one name flagged UTF-8 that is not: a
            # hostile way to hide every other member. Read it through a view with that flag
            # cleared, and show those names as their raw bytes.
            cleared = _clear_false_utf8_flags(source)
            if cleared is None:
                return "zip names flagged as UTF-8 are not valid UTF-8: not expanded"
            patches, raw_names = cleared
            source = cast(IO[bytes], _Patched(source, patches))
            zf = zipfile.ZipFile(source)
    except Exception as exc:  # hostile bytes may break the parser in any way
        return f"corrupt zip: {_reason(exc)}"
    state = _ArchiveState(lambda: archive_size)
    limits = budget.limits
    with zf:
        for index, info in enumerate(zf.infolist()):
            stop = budget.count_member()
            if stop is not None:
                return stop
            # A directory entry holding data is a hiding place, so only an empty one is skipped
            # (zipfile never gives more bytes than the declared size).
            if info.is_dir() and info.file_size == 0:
                continue
            name = info.orig_filename
            shown = display_name(name.encode("cp437") if index in raw_names else name)
            item = _member_item(container, index, shown, info.file_size, budget,
                                _zip_times(info))
            if info.flag_bits & 0x1:
                yield ArchiveMember(replace(item, error="encrypted archive member: not decrypted"),
                                    None)
                continue
            if info.compress_type not in _ZIP_METHODS:
                method = _ZIP_METHOD_NAMES.get(info.compress_type, "unknown")
                yield ArchiveMember(replace(
                    item, error=f"unsupported compression method {info.compress_type} "
                                f"({method}): not read"), None)
                continue

            def open_reader(counted: bool, info: zipfile.ZipInfo = info) -> _Reader:
                try:
                    member = zf.open(info)
                except Exception as exc:  # a bad local header, a name mismatch
                    raise ItemError(f"corrupt zip member: {_reason(exc)}") from exc
                return _Reader(
                    member, "corrupt zip member",
                    budget=budget if counted else None, archive=state if counted else None,
                    compressed_size=info.compress_size, declared_size=info.file_size,
                    ratio=(limits.max_ratio, limits.ratio_floor_bytes),
                )

            yield from _member(item, open_reader, True, depth, budget)
            if budget.stopped is not None:
                return budget.stopped
            if state.stopped is not None:
                return state.stopped
    return None


# A zip's end-of-central-directory record (22 bytes) with its comment (at most 64 KiB) lies
# within this many bytes of the end; zip readers find the archive from there, not the start.
# The central directory itself may be far larger and lie anywhere before it.
ZIP_TAIL_BYTES = 22 + 0xFFFF
_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"
_CENTRAL_HEADER = b"PK\x01\x02"
# A zip64 end record is 56 bytes plus any "extensible data" (its size field, at byte 4, counts
# the bytes after itself: 44 + the data); its locator is 20 bytes, just before the end record.
_ZIP64_RECORD_BYTES = 56
_ZIP64_LOCATOR_BYTES = 20


@dataclass(frozen=True, slots=True)
class ZipEnd:
    """Where a zip reader finds the central directory from a content's end records."""

    directory_start: int  # offset in the content, any prefix (an SFX stub, a JPEG) included
    directory_size: int
    # A zip64 end record with extensible data: (its offset in the content, its length with the
    # data). zipfile reads only a 56-byte record just before the locator (see _expand_zip).
    zip64_extensible: tuple[int, int] | None = None


def _zip64_record(tail: bytes, base: int, locator: int) -> tuple[int, int, bool] | None:
    """The zip64 end record before the locator at `locator` in `tail` (which starts at offset
    `base` of the content): its offset in `tail`, its directory size and whether it carries
    extensible data; None if there is none.

    A consistent record is searched for backwards from the locator: a signature whose size
    field ends the record exactly at the locator, and whose directory (offset + size, in the
    zip's own offsets) ends where the locator's offset says the record is, i.e. the locator's
    offset corrected by the same prefix (the record's position minus that offset, never
    negative). Without one, zipfile's own rule: a signature in the 56 bytes just before the
    locator. Sizes are only compared with positions inside the tail, so a hostile one can
    neither send a read elsewhere nor make the search longer than the tail.
    """
    (stored,) = struct.unpack_from("<Q", tail, locator + 8)
    fixed = locator - _ZIP64_RECORD_BYTES
    if fixed < 0:
        return None
    at = tail.rfind(_EOCD64, 0, fixed + 4)
    while at >= 0:
        (length,) = struct.unpack_from("<Q", tail, at + 4)
        if at + 12 + length == locator:
            cd_size, cd_offset = struct.unpack_from("<QQ", tail, at + 40)
            if cd_offset + cd_size == stored and stored <= base + at:
                return at, cd_size, at != fixed
        at = tail.rfind(_EOCD64, 0, at)
    if tail[fixed:fixed + 4] == _EOCD64:
        (cd_size,) = struct.unpack_from("<Q", tail, fixed + 40)
        return fixed, cd_size, False
    return None


def zip_end(tail: bytes, size: int) -> ZipEnd | None:
    """The central directory a zip reader opens from the end records in `tail`, the last
    ZIP_TAIL_BYTES (or fewer) of a content of `size` bytes; None if there is no consistent
    end record (its comment must end the content).

    As Python's zipfile does, the central directory is taken to end where the end records
    begin, so a prefix of any length shifts the offsets the records hold: the directory's
    position comes from its size, never from its stored offset. With zip64, the end record's
    32-bit fields are 0xFFFFFFFF and the 64-bit ones are in the zip64 end record before the
    locator; that record may carry extensible data (see _zip64_record), and must lie in the
    tail, data and all.
    """
    base = size - len(tail)
    at = tail.rfind(_EOCD)
    while at >= 0:
        if len(tail) >= at + 22:
            cd_size, _cd_offset, comment = struct.unpack_from("<IIH", tail, at + 12)
            if at + 22 + comment == len(tail):
                start = at - cd_size
                extensible = None
                locator = at - _ZIP64_LOCATOR_BYTES
                if locator >= 0 and tail[locator:locator + 4] == _EOCD64_LOCATOR:
                    found = _zip64_record(tail, base, locator)
                    if found is not None:
                        record, cd_size, has_data = found
                        start = record - cd_size
                        if has_data:
                            extensible = (base + record, locator - record)
                if cd_size and base + start >= 0:
                    return ZipEnd(base + start, cd_size, extensible)
        at = tail.rfind(_EOCD, 0, at)
    return None


def embedded_zip(tail: bytes, size: int | None = None,
                 read_at: Callable[[int, int], bytes] | None = None) -> bool:
    """Whether `tail`, the last ZIP_TAIL_BYTES (or fewer) of a content of `size` bytes that
    does not start as a zip, ends a zip archive that has something before it: a
    self-extracting .exe, a JPEG with a zip appended (a polyglot). Zip readers open those from
    the end record; so must we.

    The end record must be consistent (see zip_end) and the central directory it points at
    must start with a central header signature. A directory larger than the tail starts
    before it: its first 4 bytes are read with `read_at(offset, length)` (one small read; no
    reader, no match). `size` defaults to the tail's own length (the whole content).
    """
    size = len(tail) if size is None else size
    end = zip_end(tail, size)
    if end is None:
        return False
    rel = end.directory_start - (size - len(tail))
    if rel >= 0:
        head = tail[rel:rel + 4]
    elif read_at is not None:
        try:
            head = read_at(end.directory_start, 4)
        except Exception:  # a reader failure: not recognised here; the item's read succeeded
            return False
    else:
        return False
    return head == _CENTRAL_HEADER


def _zip_tail(source: IO[bytes], size: int) -> tuple[bytes, ZipEnd | None]:
    """The last ZIP_TAIL_BYTES of a zip of `size` bytes, and the end records found in them."""
    tail_len = min(size, ZIP_TAIL_BYTES)
    source.seek(size - tail_len)
    tail = source.read(tail_len)
    return tail, zip_end(tail, size)


_ZIP64_MISSING = ("corrupt zip: no zip64 end record ends at its locator (a size or offset that "
                  "does not match): not expanded")


def _zip64_record_missing(tail: bytes, size: int) -> bool:
    """Whether the last end record in `tail` (its comment ending the content) has a zip64
    locator before it but no consistent zip64 end record: zipfile would misread it."""
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) < at + 22:
        return False
    (comment,) = struct.unpack_from("<H", tail, at + 20)
    locator = at - _ZIP64_LOCATOR_BYTES
    return (at + 22 + comment == len(tail) and locator >= 0
            and tail[locator:locator + 4] == _EOCD64_LOCATOR
            and _zip64_record(tail, size - len(tail), locator) is None)


def _zip_directory_size(source: IO[bytes], size: int, tail: bytes) -> int | None:
    """The central directory's size that zipfile will read when the end records in `tail` are
    not consistent (bytes after the comment); None if not found."""
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) < at + 22:
        return None
    cd_size: int = struct.unpack("<I", tail[at + 12 : at + 16])[0]
    if cd_size == 0xFFFFFFFF:
        # zip64's "see the zip64 end record": a size only once that record is found below.
        cd_size = 0
    locator = tail[at - 20 : at] if at >= 20 else b""
    if locator[:4] == _EOCD64_LOCATOR:
        record_at = struct.unpack("<Q", locator[8:16])[0]
        if 0 <= record_at <= size - 56:
            source.seek(record_at)
            record = source.read(56)
            if record[:4] == _EOCD64:
                cd_size = max(cd_size, struct.unpack("<Q", record[40:48])[0])
    return cd_size or None


def _clear_false_utf8_flags(source: IO[bytes]) -> tuple[dict[int, bytes], set[int]] | None:
    """Patches clearing the UTF-8 flag of entries whose names are not UTF-8, and their
    indexes; None when the central directory cannot be walked simply (zip64, damage)."""
    size = source.seek(0, io.SEEK_END)
    tail_len = min(size, 22 + 0xFFFF)
    source.seek(size - tail_len)
    tail = source.read(tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        return None
    count, cd_size, cd_offset = struct.unpack("<HII", tail[at + 10 : at + 20])
    if count == 0xFFFF or cd_offset == 0xFFFFFFFF:
        return None
    concat = size - tail_len + at - cd_size - cd_offset  # bytes before the zip (an SFX stub)
    source.seek(cd_offset + concat)
    cd = source.read(cd_size)
    patches: dict[int, bytes] = {}
    indexes: set[int] = set()
    pos = 0
    for index in range(count):
        if cd[pos : pos + 4] != b"PK\x01\x02" or len(cd) < pos + 46:
            return None
        flags = struct.unpack("<H", cd[pos + 8 : pos + 10])[0]
        n, m, k = struct.unpack("<HHH", cd[pos + 28 : pos + 34])
        local = struct.unpack("<I", cd[pos + 42 : pos + 46])[0] + concat
        if flags & 0x800 and not _is_utf8(cd[pos + 46 : pos + 46 + n]):
            patches[cd_offset + concat + pos + 8] = struct.pack("<H", flags & ~0x800)
            source.seek(local + 6)
            local_flags = source.read(2)
            if len(local_flags) == 2:
                patches[local + 6] = struct.pack("<H", struct.unpack("<H", local_flags)[0]
                                                 & ~0x800)
            indexes.add(index)
        pos += 46 + n + m + k
    source.seek(0)
    return patches, indexes


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _without_zip64_extensible_data(
    source: IO[bytes], size: int, tail: bytes, record: int, length: int,
) -> IO[bytes]:
    """A view of the zip whose zip64 end record (at `record`, `length` bytes with its data) is
    56 bytes, extensible data dropped and its size field 44; the locator's offset stays right,
    since the record still starts where it did."""
    rel = record - (size - len(tail))
    fields = bytearray(tail[rel:rel + _ZIP64_RECORD_BYTES])
    fields[4:12] = struct.pack("<Q", _ZIP64_RECORD_BYTES - 12)
    return cast(IO[bytes], _Spliced(source, record, bytes(fields) + tail[rel + length:]))


class _Spliced(PositionedStream):
    """A seekable view: the first `keep` bytes of a stream, then `end` from memory."""

    def __init__(self, source: IO[bytes], keep: int, end: bytes) -> None:
        super().__init__()
        self._source = source
        self._keep = keep
        self._end = end

    def _length(self) -> int:
        return self._keep + len(self._end)

    def read(self, size: int | None = -1) -> bytes:
        left = self._keep + len(self._end) - self._pos
        want = left if size is None or size < 0 else min(size, left)
        if want <= 0:
            return b""
        data = b""
        if self._pos < self._keep:
            # zipfile reads as from a file: whole reads, also across the splice.
            self._source.seek(self._pos)
            data = self._source.read(min(want, self._keep - self._pos))
            self._pos += len(data)
            if self._pos < self._keep:
                return data  # the source ended early: nothing after it is reached
        start = self._pos - self._keep
        piece = self._end[start:start + want - len(data)]
        self._pos += len(piece)
        return data + piece

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _Patched(io.RawIOBase):
    """A seekable view of a stream with a few bytes changed in memory (never written back)."""

    def __init__(self, source: IO[bytes], patches: dict[int, bytes]) -> None:
        super().__init__()
        self._source = source
        self._patches = sorted(patches.items())
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._pos = self._source.seek(offset, whence)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        self._source.seek(self._pos)
        data = self._source.read(-1 if size is None else size)
        start, end = self._pos, self._pos + len(data)
        self._pos = end
        if not any(start < at + len(b) and at < end for at, b in self._patches):
            return data
        out = bytearray(data)
        for at, patch in self._patches:
            for i, byte in enumerate(patch):
                if start <= at + i < end:
                    out[at + i - start] = byte
        return bytes(out)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _zip_times(info: zipfile.ZipInfo) -> dict[str, str]:
    # DOS times carry no zone; shown as written.
    y, mo, d, h, mi, s = info.date_time
    return {"modified": f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}"}


# --- gzip ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _GzipHeader:
    name: bytes | None
    mtime: int


def _gzip_header(head: bytes) -> _GzipHeader | None:
    """FNAME and MTIME from an RFC 1952 header; None if the head is not a gzip header."""
    if len(head) < 10 or head[:2] != b"\x1f\x8b":
        return None
    flags = head[3]
    mtime = struct.unpack("<I", head[4:8])[0]
    pos = 10
    if flags & 0x04:  # FEXTRA
        if len(head) < pos + 2:
            return _GzipHeader(None, mtime)
        pos += 2 + struct.unpack("<H", head[pos : pos + 2])[0]
    name = None
    if flags & 0x08:  # FNAME, NUL-terminated
        end = head.find(b"\0", pos)
        if end >= 0:
            name = head[pos:end]
    return _GzipHeader(name, mtime)


def _gzip_member_name(container: Item, header: _GzipHeader | None) -> str:
    if header is not None and header.name:
        return display_name(header.name)
    # Without FNAME, gunzip's rule: the outer name minus its suffix (already escaped).
    outer = container.path.rsplit("!", 1)[-1].rsplit("/", 1)[-1]
    lower = outer.lower()
    if lower.endswith(".tgz"):
        return outer[:-4] + ".tar"
    for suffix in (".gz", "-gz", ".z", "_z"):
        if lower.endswith(suffix) and len(outer) > len(suffix):
            return outer[: -len(suffix)]
    return outer


def _expand_gzip(
    source: IO[bytes], container: Item, depth: int, budget: _Budget, cheap_seek: bool,
) -> _Expansion:
    declared = 0
    if cheap_seek and source.seekable():
        # ISIZE, the trailer's size mod 2**32 of the last member: only a declared size.
        try:
            start = source.tell()
            if source.seek(0, io.SEEK_END) - start >= 18:
                source.seek(-4, io.SEEK_END)
                declared = struct.unpack("<I", source.read(4))[0]
            source.seek(start)
        except Exception as exc:
            return f"gzip stream cannot be read: {_reason(exc)}"
    compressed = _Reader(source, "gzip stream cannot be read")
    try:
        header = _gzip_header(compressed.head(_GZIP_HEADER_PEEK))
    except ItemError as exc:
        return str(exc)
    if header is None:
        return "corrupt gzip stream: not a gzip header"
    limits = budget.limits
    state = _ArchiveState(lambda: compressed.produced)
    decompressed = _Reader(
        cast(IO[bytes], gzip.GzipFile(fileobj=compressed, mode="rb")), "corrupt gzip stream",
        budget=budget, archive=state, ratio=(limits.max_ratio, limits.ratio_floor_bytes),
        gzip_output=True,
    )
    try:
        head = decompressed.head(_SNIFF_BYTES)
    except ItemError as exc:
        head = b""
        if decompressed.produced == 0:
            return str(exc)
    if sniff(head) == "application/x-tar":
        # tar.gz is one archive (one nesting level): its members are the tar's members.
        error = yield from _expand_tar(cast(IO[bytes], decompressed), container, depth, budget,
                                       random_access=False)
        return error or decompressed.trailing
    stop = budget.count_member()
    if stop is not None:
        return stop
    times = {}
    if header.mtime:
        times["modified"] = _utc(header.mtime)
    item = _member_item(container, 0, _gzip_member_name(container, header), declared, budget,
                        {k: v for k, v in times.items() if v})
    yield from _member(item, _once(decompressed), False, depth, budget)
    # A corrupt stream is recorded on the member (what could not be read) and on the gzip
    # itself (what is corrupt).
    return decompressed.error or budget.stopped or state.stopped or decompressed.trailing


def _utc(seconds: float) -> str:
    try:
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return ""


# tarfile's header errors that mean "the archive ended", as opposed to "a header is broken".
_TAR_END_ERRORS: tuple[type[Exception], ...] = tuple(
    getattr(tarfile, name) for name in ("EOFHeaderError", "EmptyHeaderError")
)


# --- tar -------------------------------------------------------------------------------------


def _expand_tar(
    source: IO[bytes], container: Item, depth: int, budget: _Budget, *, random_access: bool,
) -> _Expansion:
    """A tar read forward once. From a file or memory, tarfile's random-access mode reads
    member bytes straight from the source (its stream mode copies every byte three times);
    inside a gzip or from a one-pass member stream, stream mode."""
    last_header_error: list[tarfile.HeaderError] = []

    class _TarInfo(tarfile.TarInfo):
        # tarfile ends a stream quietly at a broken header after the first; remember why it
        # stopped so data it could not read is reported, not silently dropped.
        @classmethod
        def fromtarfile(cls, tarfile_: tarfile.TarFile) -> Self:
            try:
                return super().fromtarfile(tarfile_)
            except tarfile.HeaderError as exc:
                last_header_error.append(exc)
                raise

    try:
        tf = tarfile.open(  # noqa: SIM115 - closed by the `with` below, once it is open
            fileobj=source, mode="r:" if random_access else "r|", bufsize=CHUNK, tarinfo=_TarInfo,
            encoding="utf-8", errors="surrogateescape")
    except ItemError as exc:
        return str(exc)
    except Exception as exc:
        return f"corrupt tar: {_reason(exc)}"
    index = -1
    with tf:
        while True:
            try:
                info = tf.next()
            except ItemError as exc:
                return str(exc)
            except Exception as exc:
                return f"corrupt tar: {_reason(exc)}"
            # Stream mode keeps every header it read; members are never looked up again.
            cast(Any, tf).members.clear()
            if info is None:
                break
            index += 1
            stop = budget.count_member()
            if stop is not None:
                return stop
            # Directories, links, devices and FIFOs carry no content in a tar (a hard link's
            # content is its target's, already read); tarfile reads unknown types as files.
            if not (info.isreg() or info.type not in tarfile.SUPPORTED_TYPES):
                continue
            times = {"modified": _utc(info.mtime)}
            item = _member_item(container, index, display_name(info.name), info.size, budget,
                                {k: v for k, v in times.items() if v})
            try:
                handle = tf.extractfile(info)
            except Exception as exc:
                yield ArchiveMember(replace(item, error=f"corrupt tar member: {_reason(exc)}"),
                                    None)
                continue
            if handle is None:
                continue
            # Bytes from a plain tar are not expanded (a gzip around it counts them), except the
            # holes of a sparse member, which come from nothing.
            reader = _Reader(cast(IO[bytes], handle), "corrupt tar member",
                             budget=budget if info.issparse() else None)
            yield from _member(item, _once(reader), False, depth, budget)
            if budget.stopped is not None:
                return budget.stopped
    if last_header_error and not isinstance(last_header_error[-1], _TAR_END_ERRORS):
        return f"corrupt tar: {_reason(last_header_error[-1])} after member {index + 1}; " \
               f"rest not expanded"
    return None
