"""Walk a file system with pytsk3 the way `fls -r` shows it: deleted names and orphans included.

dfVFS's own TSK directory walker skips unallocated names and names it cannot decode, so the
walk is done here, directly on pytsk3. Each regular file gives one `TskRecord` per data stream
(the unnamed one, NTFS alternate data streams, HFS+ resource forks).

What counts as an item (see docs/evidence.md):
- regular files, allocated or not, and the named data streams of files and directories;
- not directories, symbolic links, devices, TSK's virtual files ($MBR, $FAT1, $OrphanFiles…),
  the FAT/exFAT volume label entry, exFAT's $ALLOC_BITMAP and $UPCASE_TABLE, NTFS MFT
  records 0-23 (system files and reserved records),
  anything under NTFS's $Extend directory, or HFS+ special files (catalog IDs below 16).

A deleted name whose metadata now belongs to another file ("realloc" in fls) is listed with an
error and no content: reading it would give the other file's bytes.
"""

from __future__ import annotations

import functools
import re
import time
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytsk3

from fellwatch.evidence.names import display_name

NAME_ALLOC = int(pytsk3.TSK_FS_NAME_FLAG_ALLOC)
META_ALLOC = int(pytsk3.TSK_FS_META_FLAG_ALLOC)
ATTR_RESIDENT = int(pytsk3.TSK_FS_ATTR_RES)
ATTR_NONRESIDENT = int(pytsk3.TSK_FS_ATTR_NONRES)
RUN_SPARSE = int(pytsk3.TSK_FS_ATTR_RUN_FLAG_SPARSE)
RUN_FILLER = int(pytsk3.TSK_FS_ATTR_RUN_FLAG_FILLER)

NAME_DIR = int(pytsk3.TSK_FS_NAME_TYPE_DIR)
NAME_REG = int(pytsk3.TSK_FS_NAME_TYPE_REG)
NAME_UNDEF = int(pytsk3.TSK_FS_NAME_TYPE_UNDEF)
NAME_LNK = int(pytsk3.TSK_FS_NAME_TYPE_LNK)
NAME_VIRT = int(pytsk3.TSK_FS_NAME_TYPE_VIRT)
NAME_VIRT_DIR = int(pytsk3.TSK_FS_NAME_TYPE_VIRT_DIR)

META_REG = int(pytsk3.TSK_FS_META_TYPE_REG)
META_DIR = int(pytsk3.TSK_FS_META_TYPE_DIR)
META_UNDEF = int(pytsk3.TSK_FS_META_TYPE_UNDEF)
META_VIRT_DIR = int(pytsk3.TSK_FS_META_TYPE_VIRT_DIR)
# Metadata types that are not content by design (docs/evidence.md): skipped, not errors.
_NOT_CONTENT = frozenset(int(getattr(pytsk3, f"TSK_FS_META_TYPE_{n}")) for n in (
    "LNK", "FIFO", "CHR", "BLK", "SOCK", "SHAD", "WHT", "VIRT"))

ATTR_DEFAULT = int(pytsk3.TSK_FS_ATTR_TYPE_DEFAULT)
ATTR_NTFS_DATA = int(pytsk3.TSK_FS_ATTR_TYPE_NTFS_DATA)
ATTR_HFS_DATA = int(pytsk3.TSK_FS_ATTR_TYPE_HFS_DATA)
ATTR_HFS_RSRC = int(pytsk3.TSK_FS_ATTR_TYPE_HFS_RSRC)
ATTR_NTFS_IDXALLOC = int(pytsk3.TSK_FS_ATTR_TYPE_NTFS_IDXALLOC)

_FS_NAMES = {
    int(pytsk3.TSK_FS_TYPE_NTFS): "ntfs",
    int(pytsk3.TSK_FS_TYPE_FAT12): "fat12",
    int(pytsk3.TSK_FS_TYPE_FAT16): "fat16",
    int(pytsk3.TSK_FS_TYPE_FAT32): "fat32",
    int(pytsk3.TSK_FS_TYPE_EXFAT): "exfat",
    int(pytsk3.TSK_FS_TYPE_EXT2): "ext2",
    int(pytsk3.TSK_FS_TYPE_EXT3): "ext3",
    int(pytsk3.TSK_FS_TYPE_EXT4): "ext4",
    int(pytsk3.TSK_FS_TYPE_HFS): "hfs+",
    int(pytsk3.TSK_FS_TYPE_ISO9660): "iso9660",
    int(pytsk3.TSK_FS_TYPE_FFS1): "ufs1",
    int(pytsk3.TSK_FS_TYPE_FFS1B): "ufs1",
    int(pytsk3.TSK_FS_TYPE_FFS2): "ufs2",
    int(pytsk3.TSK_FS_TYPE_YAFFS2): "yaffs2",
}

REALLOCATED = (
    "deleted; its metadata entry now belongs to another file, so its content is not "
    "recoverable from the file system (carve unallocated space)"
)
POINTERS_CLEARED = (
    "deleted; the file system cleared its block pointers, so its content is not "
    "recoverable from the file system (carve unallocated space)"
)
CLEARED = (
    "live name, but its metadata entry {addr} is cleared or of no known type: the {what} it "
    "named cannot be read from the file system (corrupt or wiped metadata)"
)
BLOCKS_REUSED = (
    "deleted; some of its blocks are now allocated to other files, so its content is not "
    "recoverable from the file system"
)

_PLAIN_NAME = re.compile(rb"[\x20-\x5b\x5d-\x7e]*")  # printable ASCII, no backslash
# As deep as a folder evidence is walked (folder.MAX_DEPTH): the same tree gives the same
# items as an image and as a folder. Deeper directories are recorded, not walked.
_MAX_DEPTH = 4096
_NTFS_RESERVED_RECORDS = 24  # MFT records 0-15 are system files, 16-23 are reserved
_NTFS_EXTEND = 11
_EXFAT_METADATA = {  # what TSK lists in an exFAT root for the file system's own structures
    b"$ALLOC_BITMAP", b"$UPCASE_TABLE", b"$TEX_FAT", b"$ACCESS_CONTROL_TABLE", b"$VOLUME_GUID",
    b"$EMPTY_VOLUME_LABEL",
}
_HFS_RESERVED_IDS = 16  # HFS+ catalog node IDs below 16 are the volume's special files


_TSK_PREFIX = re.compile(r"^\w+: \(tsk3\.cpp:\d+\) (Unable to open file: )?")


def tsk_message(exception: BaseException) -> str:
    """pytsk3's message on one line, without its C++ source location."""
    return _TSK_PREFIX.sub("", " ".join(str(exception).split()))


def fs_name(fs: pytsk3.FS_Info) -> str:
    return _FS_NAMES.get(int(fs.info.ftype), f"tsk-{int(fs.info.ftype)}")


@dataclass
class TskRecord:
    """One data stream of one file name found by the walk."""

    path: str  # inside the file system, "/"-separated, names escaped; streams as "file:name"
    inode: int
    attr_type: int
    attr_id: int  # -1: the file's default data attribute
    size: int
    allocated: bool
    meta_seq: int | None  # NTFS: the sequence number the name refers to, checked on reopen
    stream: str | None = None  # escaped name of a named data stream (the part after ":")
    times: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    first_byte: int | None = None  # volume-relative offset of the content's first block
    # Volume-relative (offset, length) byte runs holding the content (not sparse, not
    # resident): what lets a damaged part of the image be traced to the files it holds.
    extents: tuple[tuple[int, int], ...] = ()
    # A directory as the walk opens it (walk(directories=True)): not content, never an item
    # unless the place of its entries or metadata is found damaged (docs/evidence.md).
    directory: bool = False


@functools.lru_cache(maxsize=4096)
def _second(seconds: int) -> str | None:
    # A file's four times, and files written together, share seconds: format each once.
    try:
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    except (OverflowError, OSError, ValueError):
        return None


# Where an NTFS file's MFT record lies: volume-relative (offset, length) byte runs.
RecordLocator = Callable[[int], tuple[tuple[int, int], ...]]


def ntfs_record_locator(fs: pytsk3.FS_Info, boot: bytes) -> RecordLocator | None:
    """For NTFS, where each MFT record lies in the volume, from the $MFT file's own data runs
    and the record size in the boot sector (a resident file's content is inside its record,
    so damage there is traced through this); None where either cannot be read."""
    cluster = int(fs.info.block_size)
    if len(boot) < 0x41 or cluster <= 0:
        return None
    value = boot[0x40] - 256 if boot[0x40] > 127 else boot[0x40]
    record = value * cluster if value > 0 else 1 << min(-value, 31)
    if not 256 <= record <= 1 << 16:
        return None
    runs: list[tuple[int, int, int]] = []
    try:
        for attr in fs.open_meta(inode=0):
            info = attr.info
            if int(info.type) == ATTR_NTFS_DATA and not info.name and (
                    int(info.flags) & ATTR_NONRESIDENT):
                runs = sorted((int(r.offset), int(r.addr), int(r.len)) for r in attr
                              if int(r.len) and not int(r.flags) & (RUN_SPARSE | RUN_FILLER))
                break
    except (OSError, RuntimeError):
        return None
    if not runs:
        return None
    firsts = [vcn for vcn, _, _ in runs]

    def locate(inode: int) -> tuple[tuple[int, int], ...]:
        out: list[tuple[int, int]] = []
        pos, end = inode * record, (inode + 1) * record
        while pos < end:
            vcn = pos // cluster
            index = bisect_right(firsts, vcn) - 1
            if index < 0 or vcn >= runs[index][0] + runs[index][2]:
                break  # beyond $MFT's runs: not a record it holds
            first, lcn, count = runs[index]
            piece_end = min(end, (first + count) * cluster)
            out.append(((lcn + vcn - first) * cluster + pos % cluster, piece_end - pos))
            pos = piece_end
        return tuple(out)

    return locate


def _iso(seconds: int, nanos: int) -> str | None:
    if not seconds:
        return None
    text = _second(seconds)
    if text is None:
        return None
    if nanos:
        text += f".{nanos:09d}".rstrip("0")
    return text + "Z"


def meta_times(meta: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in ("mtime", "atime", "ctime", "crtime"):
        value = _iso(int(getattr(meta, name, 0) or 0), int(getattr(meta, f"{name}_nano", 0) or 0))
        if value:
            out[name] = value
    return out


@dataclass
class _Stream:
    attr_type: int
    attr_id: int
    name: bytes | None
    size: int
    runs: list[tuple[int, int, int]]  # (addr, len, flags)
    resident: bool


def _streams(fs_file: Any) -> list[_Stream]:
    out: list[_Stream] = []
    for attr in fs_file:
        info = attr.info
        attr_type = int(info.type)
        if attr_type not in (ATTR_DEFAULT, ATTR_NTFS_DATA, ATTR_HFS_DATA, ATTR_HFS_RSRC):
            continue
        flags = int(info.flags)
        runs: list[tuple[int, int, int]] = []
        if flags & ATTR_NONRESIDENT:
            runs = [(int(r.addr), int(r.len), int(r.flags)) for r in attr]
        name = info.name or None
        if attr_type == ATTR_DEFAULT:
            # ext/FAT files have one stream: TSK labels an ext4 inline-data attribute "DATA",
            # which is not a stream name (read as one, the file had no main stream at all).
            name = None
        if attr_type == ATTR_HFS_RSRC:
            name = b"rsrc"
        out.append(_Stream(attr_type, int(info.id), name, int(info.size), runs,
                           bool(flags & ATTR_RESIDENT)))
    return out


# Checks a deleted file's blocks: (byte offset in the volume, length) -> True if any is in use.
BlockCheck = Callable[[list[tuple[int, int]]], bool]


def walk(fs: pytsk3.FS_Info, blocks_in_use: BlockCheck | None = None, *,
         directories: bool = False) -> Iterator[TskRecord]:
    """Every data stream of every regular file name, allocated and deleted, orphans included;
    with `directories`, also a record (`directory=True`) for each directory walked, before
    its entries, with the blocks that hold its entries as extents."""
    ftype = fs_name(fs)
    is_ntfs = ftype == "ntfs"
    is_fat = ftype.startswith("fat") or ftype == "exfat"
    is_exfat = ftype == "exfat"
    is_hfs = ftype == "hfs+"
    block_size = int(fs.info.block_size)
    root = int(fs.info.root_inum)
    visited = {root}
    # (directory inode, its display path, depth, whether the directory itself is allocated)
    stack: list[tuple[int, str, int, bool]] = [(root, "", 0, True)]
    def visit(entry: Any, dir_path: str, depth: int, dir_alloc: bool) -> Iterator[TskRecord]:
        name = entry.info.name
        raw = bytes(name.name or b"")
        if raw in (b".", b"..") or not raw:
            return
        name_type = int(name.type)
        meta_addr = int(name.meta_addr)
        shown = raw.decode("ascii") if _PLAIN_NAME.fullmatch(raw) else display_name(raw)
        path = f"{dir_path}/{shown}"
        if name_type == NAME_VIRT_DIR:  # $OrphanFiles: list what it holds
            if meta_addr not in visited:
                visited.add(meta_addr)
                stack.append((meta_addr, path, depth + 1, False))
            return
        if name_type == NAME_VIRT:  # $MBR, $FAT1, $FAT2: TSK's own pseudo files
            return
        if is_ntfs and (meta_addr < _NTFS_RESERVED_RECORDS or meta_addr == _NTFS_EXTEND):
            return
        if is_hfs and meta_addr < _HFS_RESERVED_IDS:
            return
        if is_exfat and not dir_path and raw in _EXFAT_METADATA:
            return
        name_alloc = bool(int(name.flags) & NAME_ALLOC) and dir_alloc
        fs_file = entry
        meta = entry.info.meta
        meta_problem = ""
        if meta is None and meta_addr:
            # TSK withholds metadata whose sequence number differs from the name's;
            # fetch it to decide whether it is the same file (deleted) or another one.
            try:
                fs_file = fs.open_meta(inode=meta_addr)
                meta = fs_file.info.meta
            except OSError as exception:
                meta = None
                meta_problem = tsk_message(exception)
        meta_type = int(meta.type) if meta is not None else META_UNDEF
        meta_alloc = bool(meta is not None and int(meta.flags) & META_ALLOC)
        reallocated = False
        if not name_alloc and meta is not None:
            if meta_alloc:
                reallocated = True
            elif is_ntfs:
                # NTFS bumps an MFT entry's sequence number when the file is deleted.
                reallocated = int(meta.seq) not in (int(name.meta_seq),
                                                    int(name.meta_seq) + 1)
        allocated = name_alloc and meta_alloc
        is_dir = meta_type in (META_DIR, META_VIRT_DIR) or (
            meta_type == META_UNDEF and name_type == NAME_DIR
        )
        if reallocated:
            if is_dir or name_type in (NAME_DIR, NAME_LNK):
                return
            yield TskRecord(path, meta_addr, ATTR_DEFAULT, -1, 0, False, None,
                            error=REALLOCATED)
            return
        if is_dir:
            if meta is None:
                if name_alloc:  # a live directory name whose metadata cannot be read
                    yield TskRecord(path, meta_addr, ATTR_DEFAULT, -1, 0, True, None,
                                    error=f"directory metadata entry {meta_addr} "
                                          f"unreadable: {meta_problem or 'unknown'}; "
                                          "its contents are not listed")
                return
            if name_alloc and not meta_alloc:
                # A live name over a metadata entry that is free (cleared): the directory
                # it named is gone from the file system; say so rather than list nothing.
                yield TskRecord(path, meta_addr, ATTR_DEFAULT, -1, 0, True, None,
                                error=CLEARED.format(addr=meta_addr, what="directory"))
                return
            if meta_addr not in visited:
                if depth >= _MAX_DEPTH:
                    yield TskRecord(path, meta_addr, ATTR_DEFAULT, -1, 0, allocated, None,
                                    error=f"directory nested deeper than {_MAX_DEPTH} "
                                          "levels: its contents are not listed")
                    return
                visited.add(meta_addr)
                stack.append((meta_addr, path, depth + 1, allocated))
            if is_ntfs and meta is not None:
                yield from _named_streams(fs_file, meta, path, meta_addr, allocated, name,
                                          is_ntfs)
            return
        if meta is None:
            if name_type == NAME_LNK:
                return
            if not name_alloc:
                error = "deleted; no metadata left, content not recoverable"
            else:  # a live name whose metadata cannot be read: corrupt, say so
                error = f"metadata entry {meta_addr} unreadable: {meta_problem or 'unknown'}"
                if name_type == NAME_DIR:
                    error = f"directory {error}; its contents are not listed"
            yield TskRecord(path, meta_addr, ATTR_DEFAULT, -1, 0, name_alloc, None,
                            error=error)
            return
        if meta_type != META_REG:
            if meta_type in _NOT_CONTENT and (meta_alloc or not name_alloc):
                return  # symbolic links, devices, sockets, FIFOs
            if name_alloc:
                # A live name over a cleared or undefined metadata entry (an inode zeroed
                # under its name): the file's content is gone; recorded, never dropped.
                yield TskRecord(path, meta_addr, ATTR_DEFAULT, -1, 0, True, None,
                                error=CLEARED.format(addr=meta_addr, what="file"))
            return
        if is_fat and raw.endswith(b"(Volume Label Entry)") and int(meta.size) == 0:
            return
        yield from _file_records(fs_file, meta, path, meta_addr, allocated, name, is_ntfs,
                                 block_size, blocks_in_use)

    while stack:
        dir_inode, dir_path, depth, dir_alloc = stack.pop()
        try:
            directory = fs.open_dir(inode=dir_inode)
            entries = list(directory)
        except (OSError, RuntimeError) as exception:
            # With `directories`, its entries' blocks too: damage there may be why.
            yield TskRecord(dir_path or "/", dir_inode, ATTR_DEFAULT, -1, 0, dir_alloc, None,
                            error=f"directory unreadable: {tsk_message(exception)}",
                            extents=(_directory_extents(fs, dir_inode, block_size)
                                     if directories else ()),
                            directory=directories)
            continue
        if directories:
            yield TskRecord(dir_path or "/", dir_inode, ATTR_DEFAULT, -1, 0, dir_alloc, None,
                            extents=_directory_extents(fs, dir_inode, block_size),
                            directory=True)
        for index, entry in enumerate(entries):
            # One bad entry (a reader error on its metadata or attributes) costs that entry,
            # recorded under its name, never the walk.
            try:
                found = list(visit(entry, dir_path, depth, dir_alloc))
            except (OSError, RuntimeError, ValueError, AttributeError) as exception:
                found = [TskRecord(_entry_path(entry, dir_path, index), 0, ATTR_DEFAULT, -1, 0,
                                   dir_alloc, None,
                                   error=f"directory entry unreadable: {tsk_message(exception)}")]
            yield from found


def _directory_extents(fs: pytsk3.FS_Info, inode: int,
                       block_size: int) -> tuple[tuple[int, int], ...]:
    """Volume-relative byte runs holding a directory's entries: its data (ext, FAT, where
    TSK gives the FAT12/16 root its fixed sectors) or its NTFS index allocation (the index
    root sits in the MFT record, traced through that). Empty where TSK gives no runs."""
    out: list[tuple[int, int]] = []
    try:
        for attr in fs.open_meta(inode=inode):
            info = attr.info
            if int(info.type) in (ATTR_DEFAULT, ATTR_NTFS_IDXALLOC) and (
                    int(info.flags) & ATTR_NONRESIDENT):
                out += [(int(r.addr) * block_size, int(r.len) * block_size) for r in attr
                        if int(r.len) and int(r.addr)
                        and not int(r.flags) & (RUN_SPARSE | RUN_FILLER)]
    except (OSError, RuntimeError):
        return ()  # the directory's own error, if any, is the walk's to record
    return tuple(out)


def _entry_path(entry: Any, dir_path: str, index: int) -> str:
    try:
        raw = bytes(entry.info.name.name or b"")
        return f"{dir_path}/{display_name(raw)}"
    except (OSError, RuntimeError, ValueError, AttributeError):
        return f"{dir_path}/(entry {index})"


def _file_records(
    fs_file: Any,
    meta: Any,
    path: str,
    inode: int,
    allocated: bool,
    name: Any,
    is_ntfs: bool,
    block_size: int,
    blocks_in_use: BlockCheck | None,
) -> Iterator[TskRecord]:
    times = meta_times(meta)
    seq = int(name.meta_seq) if is_ntfs else None
    try:
        streams = _streams(fs_file)
    except OSError as exception:
        yield TskRecord(path, inode, ATTR_DEFAULT, -1, int(meta.size), allocated, seq, None, times,
                        error=f"attributes unreadable: {tsk_message(exception)}")
        return
    main = [s for s in streams if s.name is None]
    if not main:
        size = int(meta.size)
        error = None if size == 0 or allocated else POINTERS_CLEARED
        if size and allocated:
            error = "no data attribute found for a file of non-zero size"
        yield TskRecord(path, inode, ATTR_DEFAULT, -1, size, allocated, seq, None, times, error)
    for stream in streams:
        shown = None if stream.name is None else display_name(stream.name)
        stream_path = path if shown is None else f"{path}:{shown}"
        error = None
        if not allocated:
            error = _deleted_content_error(stream, block_size, blocks_in_use)
        real = [(a, n) for a, n, f in stream.runs if n and not f & (RUN_SPARSE | RUN_FILLER)]
        first = real[0][0] if real else None
        yield TskRecord(stream_path, inode, stream.attr_type, stream.attr_id, stream.size,
                        allocated, seq, shown, times, error,
                        first * block_size if first and stream.size else None,
                        tuple((a * block_size, n * block_size) for a, n in real if a))


def _named_streams(
    fs_file: Any, meta: Any, path: str, inode: int, allocated: bool, name: Any, is_ntfs: bool
) -> Iterator[TskRecord]:
    """Alternate data streams on an NTFS directory (a place to hide data)."""
    seq = int(name.meta_seq) if is_ntfs else None
    try:
        streams = [s for s in _streams(fs_file) if s.name is not None]
    except OSError as exception:
        # Recorded on the directory: its named streams (if any) cannot be listed.
        yield TskRecord(path, inode, ATTR_DEFAULT, -1, 0, allocated, seq, None, meta_times(meta),
                        error=f"directory attributes unreadable, its named data streams are "
                              f"not listed: {tsk_message(exception)}")
        return
    for stream in streams:
        shown = display_name(stream.name or b"")
        yield TskRecord(f"{path}:{shown}", inode, stream.attr_type, stream.attr_id, stream.size,
                        allocated, seq, shown, meta_times(meta))


def _deleted_content_error(
    stream: _Stream, block_size: int, blocks_in_use: BlockCheck | None
) -> str | None:
    if stream.size == 0 or stream.resident:
        return None
    real = [(a, n) for a, n, f in stream.runs if not f & (RUN_SPARSE | RUN_FILLER) and n]
    if not real or all(a == 0 for a, _ in real):
        return POINTERS_CLEARED
    if blocks_in_use is not None and blocks_in_use(
        [(a * block_size, n * block_size) for a, n in real]
    ):
        return BLOCKS_REUSED
    return None
