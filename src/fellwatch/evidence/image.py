"""Disk images as evidence: containers, volumes and file systems, deleted files included.

`ImageEvidence(path)` scans the source with dfVFS (E01/split E01, raw/split raw, VHD/VHDX, VMDK,
QCOW2; MBR, GPT, APFS containers, LVM; BitLocker, LUKS and FileVault reported, never unlocked),
then walks every file system The Sleuth Kit can read with pytsk3 directly, so deleted names and
orphan files are listed as `fls -r` shows them. File systems TSK cannot read (APFS) are walked
through dfVFS, allocated files only. See docs/evidence.md for the path, key and locator scheme.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pytsk3

from fellwatch.evidence import dfvfs_adapter, ewf_check, ext_inodes, fs_bitmaps, tsk_walk
from fellwatch.evidence.base import ByteRange, refuse_special_file
from fellwatch.evidence.item import EvidenceError, Item, ItemError
from fellwatch.evidence.keys import UniqueKeys
from fellwatch.evidence.streams import PositionedStream

_READ_CHUNK = 1 << 20
# Where each file's metadata lies (inode -> volume byte runs), how it is named in an error
# ("MFT record (entry {})") and where the content it keeps is said to be.
_Places = tuple[Callable[[int], tuple[tuple[int, int], ...]], str, str]


@dataclass
class _VolumeState:
    """A volume of this evidence and what was found when opening it."""

    index: int
    volume: dfvfs_adapter.Volume
    spec_json: str
    walker: str | None  # "tsk", "dfvfs" or None (nothing to walk)
    filesystem: str | None
    error: str | None


class ImageEvidence:
    """A disk image, volume image or file system image, opened read-only."""

    def __init__(self, path: str | Path) -> None:
        self._given = str(path)
        self._path = Path(path)
        self.path = self._given
        if not self._path.exists() or self._path.is_dir():  # files and block devices
            raise EvidenceError(f"evidence not found: {self._path}")
        refuse_special_file(self._path)  # a FIFO would block the first read for ever
        self._context = dfvfs_adapter.new_context()
        self._layout = dfvfs_adapter.scan(self._path)
        self.format = self._layout.format
        self._image: Any = None
        self._tsk: dict[str, tuple[pytsk3.FS_Info, Any]] = {}
        self._maps: dict[str, fs_bitmaps.AllocationMap | None] = {}
        self._unmapped: set[str] = set()  # volumes whose allocation map could not be read
        self._chunk_check: ewf_check.ChunkCheck | None = None  # E01: every chunk verified
        self._chunks_checked = False
        self._volumes = [self._open_volume(i, v) for i, v in enumerate(self._layout.volumes)]

    # -- opening -------------------------------------------------------------------------

    def _open_volume(self, index: int, volume: dfvfs_adapter.Volume) -> _VolumeState:
        spec_json = dfvfs_adapter.serialise(volume.spec)
        if volume.encrypted:
            detail = f"; {volume.error}" if volume.error else ""
            return _VolumeState(index, volume, spec_json, None, None,
                                f"encrypted ({volume.encrypted}); not decrypted, no credentials "
                                f"are asked for{detail}")
        if volume.error:
            return _VolumeState(index, volume, spec_json, None, None, volume.error)
        tsk_error = None
        try:
            fs, _ = self._tsk_fs(spec_json)
            return _VolumeState(index, volume, spec_json, "tsk", tsk_walk.fs_name(fs), None)
        except (OSError, RuntimeError) as exception:
            tsk_error = " ".join(str(exception).split()).rpartition("with error: ")[2]
        if volume.fs_spec is not None:
            error = dfvfs_adapter.file_system_open_error(volume.fs_spec, self._context)
            if error is None:
                return _VolumeState(index, volume, spec_json, "dfvfs", volume.filesystem, None)
            return _VolumeState(index, volume, spec_json, None, volume.filesystem,
                                f"file system {volume.filesystem} cannot be read: {error}")
        if volume.filesystem:
            return _VolumeState(index, volume, spec_json, None, volume.filesystem,
                                f"file system cannot be read: {tsk_error}")
        claimed = dfvfs_adapter.detect_file_system(volume.spec, self._context)
        if claimed:
            return _VolumeState(index, volume, spec_json, None, claimed,
                                f"{claimed} file system cannot be read (corrupt?): {tsk_error}")
        if tsk_error and "determine file system type" not in tsk_error:
            return _VolumeState(index, volume, spec_json, None, None,
                                f"file system cannot be read: {tsk_error}")
        return _VolumeState(index, volume, spec_json, None, None, "no recognised file system")

    def _tsk_fs(self, spec_json: str) -> tuple[pytsk3.FS_Info, Any]:
        if spec_json not in self._tsk:
            spec = dfvfs_adapter.deserialise(spec_json)
            image = dfvfs_adapter.tsk_image(spec, self._context)
            self._tsk[spec_json] = (pytsk3.FS_Info(image), image)
        return self._tsk[spec_json]

    def _allocation_map(self, state: _VolumeState) -> fs_bitmaps.AllocationMap | None:
        if state.spec_json not in self._maps:
            fs, image = self._tsk_fs(state.spec_json)
            size = int(image.get_size())
            try:
                amap = fs_bitmaps.allocation_map(
                    fs, state.filesystem or "", lambda o, n: bytes(image.read(o, n)), size
                )
            except Exception:  # hostile bytes may break a bitmap parser in any way
                # describe() stays the same whatever was called before it, so this is not
                # written into the volume's error; unallocated() hands the volume over whole.
                amap = None
                self._unmapped.add(state.spec_json)
            self._maps[state.spec_json] = amap
        return self._maps[state.spec_json]

    # -- describe ------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        volumes = []
        for state in self._volumes:
            v = state.volume
            volumes.append({
                "partition": v.label,
                "offset": v.offset,
                "size": v.size,
                "filesystem": state.filesystem,
                "encrypted": v.encrypted,
                "error": state.error,
                "walker": state.walker,
            })
        return {"path": self._given, "format": self.format, "volumes": volumes}

    # -- items ---------------------------------------------------------------------------

    def items(self) -> Iterator[Item]:
        # Streamed in the walk's (deterministic) order, never collected: a volume of a million
        # files must not be held in memory before the first one is read.
        bad = self._bad_chunks()
        attributed: set[int] = set()
        unique = UniqueKeys()
        for state in self._volumes:
            if state.walker == "tsk":
                walk = self._tsk_items(state, bad, attributed)
            elif state.walker == "dfvfs":
                walk = self._dfvfs_items(state, bad, attributed)
            else:
                continue
            listed = 0
            try:
                for item in walk:
                    listed += 1
                    yield unique(item)
            except Exception as exception:  # a reader failure costs this walk's rest, recorded
                yield unique(self._walk_error(state, exception, listed))
            for item in self._chunk_items(state, bad, attributed):
                yield unique(item)
        for item in self._chunk_items(None, bad, attributed):
            yield unique(item)

    def chunk_check(self) -> ewf_check.ChunkCheck | None:
        """An E01's chunks verified (libewf hands back a chunk that fails its check, as zeros
        or as the bytes it has, without an error): once per opened evidence, here, in the
        process that lists the items, unless `use_chunk_check` gave a remembered outcome.
        None for other formats and for chunk tables that cannot be followed (libewf's own
        reads then fail loudly)."""
        if not self._chunks_checked:
            self._chunks_checked = True
            if self.format == "ewf" and self._path.is_file():
                try:
                    self._chunk_check = ewf_check.verify_chunks(self._path)
                except (OSError, ValueError, struct.error):
                    self._chunk_check = None
        return self._chunk_check

    def use_chunk_check(self, check: ewf_check.ChunkCheck | None) -> None:
        """Take the outcome of an earlier verification of these same, unchanged files (the
        scan remembers it in the data directory): the walk does not verify again."""
        self._chunk_check = check
        self._chunks_checked = True

    def _bad_chunks(self) -> list[ewf_check.BadChunk]:
        check = self.chunk_check()
        return list(check.bad) if check is not None else []

    def _chunk_items(self, state: _VolumeState | None, bad: list[ewf_check.BadChunk],
                     attributed: set[int]) -> list[Item]:
        """One error item per bad chunk, on the volume that holds it (state None: the chunks
        in no volume this walk read): what lies there (directory entries, metadata, files'
        content) is not trustworthy, and names may be missing from the listing."""
        out = []
        for chunk in bad:
            holder = self._holder(chunk)
            if (state is None and holder is not None and holder.walker is not None) or (
                    state is not None and holder is not state):
                continue
            files = (" (files and directories whose content or metadata lies there carry "
                     "their own error)"
                     if chunk.index in attributed else "")
            label = f"/(E01 chunk {chunk.index} at media offset {chunk.offset})"
            out.append(Item(
                evidence=self._given,
                path=self._display(state, label) if state is not None else label,
                key=(f"{state.index:03d}/ewf-chunk/{chunk.index:012d}" if state is not None
                     else f"ewf-chunk/{chunk.index:012d}"),
                size=chunk.length,
                origin="filesystem",
                allocated=False,
                partition=state.volume.label if state is not None else None,
                offset=chunk.offset,
                error=(f"E01 chunk {chunk.index} (media bytes {chunk.offset}-"
                       f"{chunk.offset + chunk.length - 1}) fails its check: {chunk.reason}; "
                       "what the file system keeps there is not trustworthy and names may be "
                       f"missing from this listing{files}"),
            ))
        return out

    def _holder(self, chunk: ewf_check.BadChunk) -> _VolumeState | None:
        for state in self._volumes:
            v = state.volume
            if v.offset is not None and v.size and (
                    v.offset < chunk.offset + chunk.length and chunk.offset < v.offset + v.size):
                return state
        return None

    def _walk_error(self, state: _VolumeState, exception: BaseException, listed: int) -> Item:
        """The item that says a volume's walk stopped part-way (what was listed is kept)."""
        reason = tsk_walk.tsk_message(exception)
        reason = reason if len(reason) <= 300 else reason[:297] + "..."
        return Item(
            evidence=self._given,
            path=self._display(state, "/"),
            key=f"{state.index:03d}/walk-error",
            size=0,
            origin="filesystem",
            partition=state.volume.label,
            error=(f"file system walk stopped after {listed} item(s): "
                   f"{type(exception).__name__}: {reason}; names past this point are not listed"),
        )

    def _display(self, state: _VolumeState, fs_path: str) -> str:
        label = state.volume.label
        return f"/{label}{fs_path}" if label else fs_path

    def _tsk_items(self, state: _VolumeState, bad: list[ewf_check.BadChunk],
                   attributed: set[int]) -> Iterator[Item]:
        fs, image = self._tsk_fs(state.spec_json)
        base = state.volume.offset
        # Bad E01 chunks in volume-relative bytes, to trace them to the files they hold.
        local = [(c.offset - base, c.offset - base + c.length, c) for c in bad
                 if base is not None] if bad else []

        def blocks_in_use(ranges: list[tuple[int, int]]) -> bool:
            amap = self._allocation_map(state)
            return amap.in_use(ranges) if amap is not None else False

        # No stream of a file can hold more real bytes than its whole file system: a larger
        # declared size is a sparse file (holes read as zeros). Hashing a 1 TiB hole on a
        # 16 MiB volume never ends, so such a stream is recorded, not read.
        fs_bytes = int(fs.info.block_count) * int(fs.info.block_size)
        # A file's metadata (its size, its runs, and for small files its content) lies in its
        # NTFS MFT record or its ext inode: a bad chunk there is traced to the file through
        # the file system's own tables. Directories are then walked too, to trace the
        # chunks that hold their entries (names kept there may be missing from the listing).
        places = self._metadata_places(state, fs, image) if local else None

        def hits(runs: tuple[tuple[int, int], ...]) -> list[ewf_check.BadChunk]:
            return [c for lo, hi, c in local if any(a < hi and lo < a + n for a, n in runs)]

        for record in tsk_walk.walk(fs, blocks_in_use, directories=bool(local)):
            stream = record.stream
            if record.directory:
                if not self._trace_directory(record, hits, places, attributed):
                    continue
            elif local and record.extents:
                hit = hits(record.extents)
                if hit:
                    attributed.update(c.index for c in hit)
                    if record.error is None:
                        record.error = (
                            "content lies in E01 chunk(s) that fail their check ("
                            + _chunk_list(hit)
                            + "): the bytes libewf returns are not the acquired ones, not hashed")
            if places is not None and record.inode and not record.directory:
                locate, label, kept = places
                hit = hits(locate(record.inode))
                if hit:
                    attributed.update(c.index for c in hit)
                    said = (f"its {label.format(record.inode)} lies in E01 chunk(s) that "
                            f"fail their check ({_chunk_list(hit)})")
                    if record.error is None:
                        record.error = (f"{said}: its metadata, and content kept in {kept}, "
                                        "are not the acquired bytes, not hashed")
                    elif f"E01 chunk {hit[0].index} " not in record.error:
                        record.error = f"{record.error}; {said}"
            if record.error is None and fs_bytes and record.size > fs_bytes:
                record.error = (f"not read: its size ({record.size} bytes) is larger than its "
                                f"whole file system ({fs_bytes} bytes), so it is almost all "
                                "sparse holes")
            base_path = record.path[: len(record.path) - len(stream) - 1] if stream else record.path
            yield Item(
                evidence=self._given,
                path=self._display(state, record.path),
                key=(f"{state.index:03d}/{record.inode:012d}/"
                     f"{record.attr_type:05d}.{record.attr_id + 1:05d}/{record.path}"),
                size=record.size,
                origin="filesystem",
                allocated=record.allocated,
                path_spec=dfvfs_adapter.tsk_file_spec(state.spec_json, record.inode,
                                                      base_path or "/", stream),
                inode=record.inode,
                partition=state.volume.label,
                offset=(state.volume.offset + record.first_byte
                        if record.first_byte is not None and state.volume.offset is not None
                        else None),
                times=record.times,
                locator=("tsk", state.spec_json, record.inode, record.attr_type, record.attr_id,
                         record.allocated, record.meta_seq),
                error=record.error,
            )

    def _metadata_places(self, state: _VolumeState, fs: pytsk3.FS_Info,
                         image: Any) -> _Places | None:
        """Where each file's metadata lies in this volume (NTFS MFT records, ext inodes),
        how to name it and what content it keeps; None for other file systems."""
        def read(offset: int, length: int) -> bytes:
            return bytes(image.read(offset, length))

        try:
            if state.filesystem == "ntfs":
                records = tsk_walk.ntfs_record_locator(fs, read(0, 512))
                return (records, "MFT record (entry {})", "the record") if records else None
            if state.filesystem in ("ext2", "ext3", "ext4"):
                inodes = ext_inodes.ext_inode_locator(read)
                return (inodes, "inode ({})", "the inode (inline data)") if inodes else None
        except (OSError, RuntimeError):
            pass  # unreadable tables: the chunk's own item still records the damage
        return None

    def _trace_directory(self, record: tsk_walk.TskRecord,
                         hits: Callable[[tuple[tuple[int, int], ...]], list[ewf_check.BadChunk]],
                         places: _Places | None, attributed: set[int]) -> bool:
        """Put the error on a walked directory whose entries or metadata lie in a bad chunk
        (added to the walk's own error on a directory it could not read); False (not an
        item) for a readable directory untouched by any bad chunk."""
        said = []
        hit = hits(record.extents)
        if hit:
            said.append(f"its entries lie in E01 chunk(s) that fail their check "
                        f"({_chunk_list(hit)})")
        if places is not None and record.inode:
            locate, label, _ = places
            meta_hit = hits(locate(record.inode))
            if meta_hit:
                said.append(f"its {label.format(record.inode)} lies in E01 chunk(s) that fail "
                            f"their check ({_chunk_list(meta_hit)})")
                hit += meta_hit
        if not said:
            return record.error is not None  # unreadable for another reason: still an item
        attributed.update(c.index for c in hit)
        if record.error is not None:  # unreadable (its walk's own error): the likely cause
            record.error = f"{record.error}; " + "; ".join(said)
        else:
            record.error = ("directory: " + "; ".join(said) + ": its listing may be incomplete "
                            "(names kept there may be missing, and what is listed from there is "
                            "not the acquired bytes)")
        return True

    def _dfvfs_items(self, state: _VolumeState, bad: list[ewf_check.BadChunk],
                     attributed: set[int]) -> Iterator[Item]:
        from fellwatch.evidence.names import display_name

        fs_spec = state.volume.fs_spec
        base = state.volume.extent_base
        # Bad E01 chunks in the file system's own addressing, to trace them to its files.
        local = [(c.offset - base, c.offset - base + c.length, c) for c in bad
                 ] if bad and base is not None else []
        for found in dfvfs_adapter.walk_files(fs_spec, self._context, extents=bool(local)):
            if local and found.extents and found.error is None:
                hit = [c for lo, hi, c in local
                       if any(a < hi and lo < a + n for a, n in found.extents)]
                if hit:
                    attributed.update(c.index for c in hit)
                    found.error = (
                        "content lies in E01 chunk(s) that fail their check (" + _chunk_list(hit)
                        + "): the bytes libewf returns are not the acquired ones, not hashed")
            path = "/".join(display_name(p) for p in found.path.split("/"))
            if found.stream:
                path = f"{path}:{display_name(found.stream)}"
            identifier = found.identifier if found.identifier is not None else 0
            yield Item(
                evidence=self._given,
                path=self._display(state, path),
                key=f"{state.index:03d}/{identifier:012d}/{found.stream}/{path}",
                size=found.size,
                origin="filesystem",
                allocated=True,
                path_spec=found.spec_json,
                inode=found.identifier,
                partition=state.volume.label,
                times=found.times,
                locator=("dfvfs", found.spec_json, found.stream),
                error=found.error,
            )

    # -- content -------------------------------------------------------------------------

    def open_item(self, item: Item) -> BinaryIO:
        if item.error:
            raise ItemError(item.error)
        locator = item.locator
        if not locator:
            raise ItemError("item has no locator")
        if locator[0] == "tsk":
            _, spec_json, inode, attr_type, attr_id, allocated, meta_seq = locator
            try:
                fs, _ = self._tsk_fs(spec_json)
                fs_file = fs.open_meta(inode=inode)
            except (OSError, RuntimeError) as exception:
                raise ItemError(f"cannot open inode {inode}: "
                                f"{tsk_walk.tsk_message(exception)}") from None
            meta = fs_file.info.meta
            # The evidence is read-only, so this only differs if the locator is stale or
            # forged; reading another file's content under this item's name must not happen.
            now_alloc = bool(int(meta.flags) & tsk_walk.META_ALLOC)
            if (not allocated and now_alloc) or (allocated and not now_alloc):
                raise ItemError(tsk_walk.REALLOCATED)
            if meta_seq is not None and int(meta.seq) not in (meta_seq, meta_seq + 1):
                raise ItemError(tsk_walk.REALLOCATED)
            raw = _TskStream(fs_file, attr_type, attr_id, item.size)
            return io.BufferedReader(raw, buffer_size=_READ_CHUNK)
        if locator[0] == "dfvfs":
            _, spec_json, stream = locator
            file_object = dfvfs_adapter.open_stream(spec_json, stream, self._context)
            return io.BufferedReader(_DfvfsStream(file_object), buffer_size=_READ_CHUNK)
        raise ItemError(f"not an image item locator: {locator[0]!r}")

    # -- unallocated space ---------------------------------------------------------------

    def unallocated(self) -> Iterator[ByteRange]:
        ranges: list[ByteRange] = []
        layout = self._layout
        if layout.has_volume_system and layout.top_level:
            cursor = 0
            for start, length in layout.top_level:
                if start > cursor:
                    ranges.append(ByteRange(cursor, start - cursor, None, "unpartitioned"))
                cursor = max(cursor, start + length)
            if layout.image_size > cursor:
                ranges.append(
                    ByteRange(cursor, layout.image_size - cursor, None, "unpartitioned")
                )
        for state in self._volumes:
            v = state.volume
            if v.offset is None or v.encrypted:
                continue
            if state.walker is None and v.size:
                ranges.append(ByteRange(v.offset, v.size, v.label, "unrecognised-volume"))
                continue
            if state.walker != "tsk":
                continue
            amap = self._allocation_map(state)
            if amap is None:
                if state.spec_json in self._unmapped and v.size:
                    # free space unknown: the carvers get the whole volume rather than none
                    ranges.append(ByteRange(v.offset, v.size, v.label, "unrecognised-volume"))
                continue
            for start, length in amap.free_runs():
                ranges.append(ByteRange(v.offset + start, length, v.label, "unallocated"))
        ranges.sort(key=lambda r: (r.offset, r.length))
        yield from ranges

    def read_range(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0:
            raise ValueError("offset and length must not be negative")
        if self._image is None:
            self._image = dfvfs_adapter.open_file_object(self._layout.image_spec, self._context)
        self._image.seek(offset)
        return bytes(self._image.read(length))

    def close(self) -> None:
        self._tsk.clear()
        self._maps.clear()
        if self._image is not None:
            dfvfs_adapter.close_quietly(self._image)
            self._image = None

    def __enter__(self) -> ImageEvidence:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _chunk_list(chunks: list[ewf_check.BadChunk]) -> str:
    return "; ".join(f"chunk {c.index} at media offset {c.offset}: {c.reason}" for c in chunks[:4])


class _TskStream(PositionedStream):
    """One data attribute of a TSK file, read with read_random in large pieces."""

    def __init__(self, fs_file: Any, attr_type: int, attr_id: int, size: int) -> None:
        super().__init__()
        self._file = fs_file
        self._type = attr_type
        self._id = attr_id
        self._size = size

    def _length(self) -> int:
        return self._size

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self._size - self._pos, 16 * _READ_CHUNK)
        if want <= 0:
            return 0
        try:
            if self._id < 0:
                data = self._file.read_random(self._pos, want, self._type, -1)
            else:
                data = self._file.read_random(self._pos, want, self._type, self._id)
        except OSError as exception:
            raise ItemError(f"read failed at offset {self._pos}: "
                            f"{tsk_walk.tsk_message(exception)}") from None
        if not data:
            raise ItemError(f"read returned nothing at offset {self._pos} of {self._size}")
        n = len(data)
        buffer[:n] = data
        self._pos += n
        return n


class _DfvfsStream(PositionedStream):
    """A dfVFS file object as a seekable raw stream.

    Seekable so that an archive reader goes straight to what it needs: a zip behind a prefix
    (a self-extracting .exe, a JPEG + zip polyglot) is opened from its end records, not read
    from byte 0 up to its central directory (docs/archives.md). The position is this stream's
    own and is put on the file object before every read: dfVFS may hand the same file object
    to another open of the same data stream (see dfvfs_adapter.open_stream).
    """

    def __init__(self, file_object: Any) -> None:
        super().__init__()
        self._file = file_object
        self._size: int | None = None

    def _length(self) -> int:
        if self._size is None:
            try:
                self._size = int(self._file.get_size())
            except (OSError, RuntimeError) as exception:
                raise ItemError(f"size unreadable: {' '.join(str(exception).split())}") from None
        return self._size

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), 16 * _READ_CHUNK, self._length() - self._pos)
        if want <= 0:
            return 0
        try:
            if self._file.get_offset() != self._pos:
                self._file.seek(self._pos, io.SEEK_SET)
            data = self._file.read(want)
        except (OSError, RuntimeError) as exception:
            raise ItemError(f"read failed at offset {self._pos}: "
                            f"{' '.join(str(exception).split())}") from None
        n = len(data)
        buffer[:n] = data
        self._pos += n
        return n

    def close(self) -> None:
        dfvfs_adapter.close_quietly(self._file)
        super().close()
