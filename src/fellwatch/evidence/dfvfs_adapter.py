"""The one module that speaks dfVFS's CamelCase API.

It scans a source with dfVFS's source scanner and flattens the scan tree into what Fellwatch
needs: the outermost decoded image (what `read_range` reads), and one `Volume` per partition,
logical volume, APFS volume or bare file system, each with the dfVFS path spec of the bytes it
occupies, its absolute offset in the outermost image (when it is a linear run of that image),
its file system and whether it is encrypted. It also opens file objects and walks file systems
dfVFS can read but The Sleuth Kit cannot (APFS), allocated files only.

Everything dfVFS raises is turned into `EvidenceError` (whole evidence) or `ItemError` (one
item) here, so the rest of the package never sees dfVFS's exceptions.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath
from typing import Any

import pytsk3
import pyvhdi
from dfvfs.analyzer import analyzer
from dfvfs.helpers import source_scanner
from dfvfs.lib import definitions, errors
from dfvfs.lib import tsk_image as dfvfs_tsk_image
from dfvfs.path import factory as path_spec_factory
from dfvfs.resolver import context as resolver_context
from dfvfs.resolver import resolver
from dfvfs.serializer import json_serializer
from dfvfs.volume import factory as volume_factory

from fellwatch.evidence import ewf_check, fs_sniff, qcow_check
from fellwatch.evidence.item import EvidenceError, ItemError

# The storage media image layers, and the name describe() gives each.
_IMAGE_FORMATS = {
    definitions.TYPE_INDICATOR_EWF: "ewf",
    definitions.TYPE_INDICATOR_RAW: "raw",
    definitions.TYPE_INDICATOR_QCOW: "qcow",
    definitions.TYPE_INDICATOR_VHDI: "vhd",
    definitions.TYPE_INDICATOR_VMDK: "vmdk",
    definitions.TYPE_INDICATOR_PHDI: "phdi",
    definitions.TYPE_INDICATOR_MODI: "modi",
}

# Encryption layers; a locked one is reported, never silently skipped.
_ENCRYPTION_KINDS = {
    definitions.TYPE_INDICATOR_BDE: "bitlocker",
    definitions.TYPE_INDICATOR_LUKSDE: "luks",
    definitions.TYPE_INDICATOR_CS: "filevault",
    definitions.TYPE_INDICATOR_APFS_CONTAINER: "filevault",  # a locked APFS volume
}

# Volume systems whose sub-volumes are linear runs of their parent (so offsets add up).
_LINEAR_VOLUME_SYSTEMS = {
    definitions.TYPE_INDICATOR_TSK_PARTITION,
    definitions.TYPE_INDICATOR_GPT,
    definitions.TYPE_INDICATOR_APM,
}

_FILE_SYSTEM_NAMES = {
    definitions.TYPE_INDICATOR_APFS: "apfs",
    definitions.TYPE_INDICATOR_EXT: "ext",
    definitions.TYPE_INDICATOR_FAT: "fat",
    definitions.TYPE_INDICATOR_HFS: "hfs+",
    definitions.TYPE_INDICATOR_NTFS: "ntfs",
    definitions.TYPE_INDICATOR_XFS: "xfs",
    definitions.TYPE_INDICATOR_TSK: "tsk",
}

_SERIALIZER = json_serializer.JsonPathSpecSerializer


@dataclass
class Volume:
    """One volume of the evidence: the bytes a file system (or nothing readable) lives in."""

    label: str | None  # "p1", "p2/lvm1", "apfs1"; None when the file system is the whole image
    spec: Any  # dfVFS path spec of the volume's bytes
    fs_spec: Any | None  # dfVFS path spec of its file system, if dfVFS recognised one
    filesystem: str | None
    encrypted: str | None
    offset: int | None  # absolute in the outermost image, when the volume is a linear run
    size: int | None
    error: str | None = None
    # Where the file system's own extents count from, absolute in the outermost image: the
    # volume's offset, or an APFS volume's container's (APFS extents are container blocks).
    extent_base: int | None = None


@dataclass
class Layout:
    """What the source scanner found."""

    format: str
    image_spec: Any  # the outermost decoded image
    image_size: int
    top_level: list[tuple[int, int]]  # extents of the outermost volume system's volumes
    has_volume_system: bool
    volumes: list[Volume]


def serialise(spec: Any) -> str:
    """A path spec as dfVFS's JSON, with its keys sorted.

    dfVFS writes the properties in the order of a frozenset of names, which changes with
    Python's string hash seed from one process to the next; findings.json must be
    byte-identical run after run, so the keys are sorted here.
    """
    return json.dumps(json.loads(_SERIALIZER.WriteSerialized(spec)), sort_keys=True)


def deserialise(text: str) -> Any:
    return _SERIALIZER.ReadSerialized(text)


def new_context() -> Any:
    """A resolver context of our own (dfVFS's built-in one is not safe across processes)."""
    return resolver_context.Context()


def _one_line(exception: BaseException) -> str:
    text = " ".join(str(exception).split())
    return text if len(text) <= 300 else text[:297] + "..."


def _check_vhd_parent(path: Path) -> None:
    """A differential VHD needs its parent beside it; name the missing parent file."""
    vhdi_file = pyvhdi.file()
    try:
        vhdi_file.open(str(path))
    except OSError:
        return  # not a VHD; the scanner decides what it is
    try:
        parent_name = vhdi_file.parent_filename
        parent_id = vhdi_file.parent_identifier
    finally:
        vhdi_file.close()
    if not parent_id:
        return
    # The parent's name is stored as the Windows path it had when the child was made.
    name = PureWindowsPath(parent_name or "").name
    if not name or not (path.parent / name).is_file():
        raise EvidenceError(
            f"differential VHD {path.name} needs its parent image {name or '(unnamed)'} "
            f"(identifier {parent_id}), which is not beside it"
        )


def _image_size(spec: Any, context: Any) -> int:
    file_object = resolver.Resolver.OpenFileObject(spec, resolver_context=context)
    return int(file_object.get_size())


def _label_part(spec: Any) -> str | None:
    location = getattr(spec, "location", None)
    if location and location != "/":
        return str(location).strip("/")
    return None


def _volume_extent(vs_cache: dict[str, Any], vs_spec: Any, label: str, context: Any) -> Any:
    key = serialise(vs_spec)
    if key not in vs_cache:
        try:
            system = volume_factory.Factory.NewVolumeSystem(vs_spec.type_indicator)
            system.Open(vs_spec)
        except (KeyError, errors.Error, OSError, RuntimeError):
            system = None
        vs_cache[key] = system
    system = vs_cache[key]
    if system is None:
        return None
    volume = system.GetVolumeByIdentifier(label)
    if volume is None or not volume.extents:
        return None
    return volume.extents


def scan(path: Path) -> Layout:
    """Scan `path` read-only with dfVFS's source scanner; raise EvidenceError if unreadable."""
    ewf_check.check_segments(path)
    qcow_check.check_qcow(path)
    _check_vhd_parent(path)
    context = new_context()
    scan_context = source_scanner.SourceScannerContext()
    scanner = source_scanner.SourceScanner(resolver_context=context)
    try:
        scan_context.OpenSourcePath(str(path))
    except (errors.Error, OSError, RuntimeError, ValueError) as exception:
        raise EvidenceError(f"cannot open evidence {path.name}: {_one_line(exception)}") from None
    failures = _scan_node_by_node(scanner, scan_context, path)

    root = scan_context.GetRootScanNode()
    image_node = root
    fmt = "raw"
    if root.sub_nodes and root.sub_nodes[0].type_indicator in _IMAGE_FORMATS:
        image_node = root.sub_nodes[0]
        fmt = _IMAGE_FORMATS[image_node.type_indicator]
    if not _has_content(image_node, scan_context):
        raise _unrecognised(path, image_node.path_spec, context)
    if fmt == "raw":
        fmt = _raw_format(image_node.path_spec, context)
    if fmt == "vhd" and _is_vhdx(path):
        fmt = "vhdx"
    try:
        image_size = _image_size(image_node.path_spec, context)
    except (errors.Error, OSError, RuntimeError) as exception:
        raise EvidenceError(f"cannot read evidence {path.name}: {_one_line(exception)}") from None

    volumes: list[Volume] = []
    top_level: list[tuple[int, int]] = []
    vs_cache: dict[str, Any] = {}
    state = {"has_vs": False}

    def visit(node: Any, label: str | None, base: int | None, size: int | None,
              extents_from: int | None) -> None:
        for sub in node.sub_nodes:
            spec = sub.path_spec
            ti = sub.type_indicator
            failure = failures.get(serialise(spec))
            if failure is not None:
                part = _label_part(spec) if sub.IsVolumeSystem() else None
                volumes.append(Volume(_join(label, part), spec, None, None,
                                      _ENCRYPTION_KINDS.get(ti), base, size, failure))
                continue
            if sub.IsFileSystem():
                fs_name = _FILE_SYSTEM_NAMES.get(ti, ti.lower())
                volumes.append(Volume(label, node.path_spec, spec, fs_name, None, base, size,
                                      extent_base=base if base is not None else extents_from))
            elif sub.IsVolumeSystemRoot():
                state["has_vs"] = True
                visit(sub, label, base, size, base)
            elif ti in _ENCRYPTION_KINDS and scan_context.IsLockedScanNode(spec):
                sub_label = _join(label, _label_part(spec)) if sub.IsVolumeSystem() else label
                volumes.append(
                    Volume(sub_label, spec, None, None, _ENCRYPTION_KINDS[ti], base, size)
                )
            elif sub.IsVolumeSystem():
                part = _label_part(spec)
                if part is None and node.IsVolumeSystemRoot():
                    continue  # an unallocated slot of the partition table (unpartitioned space)
                sub_label = _join(label, part)
                sub_base: int | None = None
                sub_size: int | None = None
                parent_vs = spec.parent if spec.HasParent() else None
                if part and parent_vs is not None and ti in _LINEAR_VOLUME_SYSTEMS:
                    vs_root = path_spec_factory.Factory.NewPathSpec(
                        ti, location="/", parent=parent_vs, **_vs_kwargs(spec)
                    )
                    extents = _volume_extent(vs_cache, vs_root, part, context)
                    if extents and len(extents) == 1:
                        sub_size = int(extents[0].size)
                        if base is not None:
                            sub_base = base + int(extents[0].offset)
                        if base == 0 and label is None:  # the outermost volume system
                            top_level.append((sub_base or 0, sub_size))
                if sub_size is None:
                    sub_size = _size_of(spec, context)
                if sub.sub_nodes:
                    # An APFS volume's extents count from its container; other volumes that
                    # are not linear runs (LVM) have no known base.
                    below = sub_base if sub_base is not None else (
                        extents_from if ti == definitions.TYPE_INDICATOR_APFS_CONTAINER else None)
                    visit(sub, sub_label, sub_base, sub_size, below)
                else:
                    volumes.append(Volume(sub_label, spec, None, None, None, sub_base, sub_size))
            elif ti in _ENCRYPTION_KINDS:
                # An unlocked encryption layer (cannot happen without credentials, which
                # Fellwatch never asks for) is transparent: its offsets are not linear.
                visit(sub, label, None, None, None)
            else:
                visit(sub, label, base, size, extents_from)

    visit(image_node, None, 0, image_size, 0)
    if not volumes and not state["has_vs"]:
        raise _unrecognised(path, image_node.path_spec, context)
    volumes.sort(key=lambda v: (v.offset if v.offset is not None else 1 << 62, v.label or ""))
    return Layout(
        format=fmt,
        image_spec=image_node.path_spec,
        image_size=image_size,
        top_level=sorted(top_level),
        has_volume_system=state["has_vs"],
        volumes=volumes,
    )


_TSK_TYPES = {"NTFS": pytsk3.TSK_FS_TYPE_NTFS, "FAT12": pytsk3.TSK_FS_TYPE_FAT12,
              "FAT16": pytsk3.TSK_FS_TYPE_FAT16, "FAT32": pytsk3.TSK_FS_TYPE_FAT32,
              "FAT": pytsk3.TSK_FS_TYPE_FAT_DETECT, "exFAT": pytsk3.TSK_FS_TYPE_EXFAT,
              "ext2/3/4": pytsk3.TSK_FS_TYPE_EXT_DETECT, "HFS+": pytsk3.TSK_FS_TYPE_HFS_DETECT}


def _unrecognised(path: Path, image_spec: Any, context: Any) -> EvidenceError:
    """Why nothing was found: a damaged file system where a boot sector names one (the
    examiner's problem is then the file system, not the image format), else unrecognised."""
    try:
        image = resolver.Resolver.OpenFileObject(image_spec, resolver_context=context)
        size = int(image.get_size())

        def read(offset: int, length: int) -> bytes:
            image.seek(offset)
            return bytes(image.read(max(0, min(length, size - offset))))

        detail = None
        found = fs_sniff.sniff(read(0, 4096))
        # Ask TSK for the file system the boot sector names: its error then says what is
        # wrong inside it ("Cannot determine file system type" says nothing).
        fstype = _TSK_TYPES.get(found.filesystem if found else "", pytsk3.TSK_FS_TYPE_DETECT)
        try:
            pytsk3.FS_Info(dfvfs_tsk_image.TSKFileSystemImage(image), 0, fstype)
        except (OSError, RuntimeError) as exception:
            detail = " ".join(str(exception).split()).rpartition("with error: ")[2] or None
            detail = detail if detail is None or len(detail) <= 200 else detail[:197] + "..."
        damage = fs_sniff.describe_damage(read, size, path.name, detail)
    except (errors.Error, OSError, RuntimeError, ValueError, struct.error):
        damage = None
    if damage is not None:
        return EvidenceError(damage)
    return EvidenceError(
        f"unrecognised evidence: {path.name}, not a disk image, volume or file system "
        "Fellwatch can read"
    )


def _scan_node_by_node(scanner: Any, scan_context: Any, path: Path) -> dict[str, str]:
    """Scan one node at a time so a volume that breaks the scanner (a corrupt or unsupported
    encrypted volume) is recorded against that volume while the others are still scanned."""
    failures: dict[str, str] = {}
    for _ in range(100_000):
        node = scan_context.GetUnscannedScanNode()
        if node is None:
            break
        try:
            scanner.Scan(scan_context, auto_recurse=False, scan_path_spec=node.path_spec)
        except (errors.Error, OSError, RuntimeError, ValueError) as exception:
            is_container = node.parent_node is None or node.type_indicator in _IMAGE_FORMATS
            if is_container:
                raise EvidenceError(
                    f"cannot open evidence {path.name}: {_one_line(exception)}"
                ) from None
            failures[serialise(node.path_spec)] = f"cannot be read: {_one_line(exception)}"
            node.scanned = True
    return failures


def _size_of(spec: Any, context: Any) -> int | None:
    """A volume's size from its byte stream, where it has one (not APFS volumes)."""
    try:
        file_object = resolver.Resolver.OpenFileObject(spec, resolver_context=context)
        return int(file_object.get_size()) if file_object is not None else None
    except (errors.Error, OSError, RuntimeError):
        return None


def _vs_kwargs(spec: Any) -> dict[str, Any]:
    sector_size = getattr(spec, "sector_size", None)
    return {"sector_size": sector_size} if sector_size else {}


def _join(label: str | None, part: str | None) -> str | None:
    if not part:
        return label
    return f"{label}/{part}" if label else part


def _has_content(node: Any, scan_context: Any) -> bool:
    for sub in node.sub_nodes:
        if sub.IsFileSystem() or sub.IsVolumeSystem() or sub.type_indicator in _ENCRYPTION_KINDS:
            return True
        if _has_content(sub, scan_context):
            return True
    return False


def _raw_format(spec: Any, context: Any) -> str:
    if spec.type_indicator != definitions.TYPE_INDICATOR_RAW:
        return "raw"
    from dfvfs.lib import raw_helper

    try:
        file_system = resolver.Resolver.OpenFileSystem(spec.parent, resolver_context=context)
        segments = raw_helper.RawGlobPathSpec(file_system, spec)
    except (errors.Error, OSError):
        return "raw"
    return "split-raw" if segments and len(segments) > 1 else "raw"


def _is_vhdx(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(8) == b"vhdxfile"


def open_file_object(spec: Any, context: Any) -> Any:
    """dfVFS's file-like object for a path spec (seek/read/get_size)."""
    try:
        return resolver.Resolver.OpenFileObject(spec, resolver_context=context)
    except (errors.Error, OSError, RuntimeError) as exception:
        raise ItemError(f"cannot open: {_one_line(exception)}") from None


def tsk_image(spec: Any, context: Any) -> pytsk3.Img_Info:
    """A pytsk3 image reading the volume's bytes through dfVFS (any container, any partition)."""
    try:
        file_object = resolver.Resolver.OpenFileObject(spec, resolver_context=context)
    except (errors.Error, RuntimeError) as exception:
        raise OSError(_one_line(exception)) from None
    if file_object is None:
        raise OSError("volume has no byte stream")
    return dfvfs_tsk_image.TSKFileSystemImage(file_object)


def detect_file_system(spec: Any, context: Any) -> str | None:
    """The file system a volume's signature claims, even if it cannot be opened (corrupt)."""
    try:
        found = analyzer.Analyzer.GetFileSystemTypeIndicators(spec, resolver_context=context)
    except (errors.Error, OSError, RuntimeError):
        return None
    names = sorted({_FILE_SYSTEM_NAMES.get(t, t.lower()) for t in found or []})
    return "/".join(names) if names else None


def file_system_open_error(spec: Any, context: Any) -> str | None:
    """Why dfVFS cannot open this file system, or None if it can."""
    try:
        resolver.Resolver.OpenFileSystem(spec, resolver_context=context)
    except (errors.Error, OSError, RuntimeError, KeyError) as exception:
        return _one_line(exception)
    return None


@dataclass
class DfvfsFile:
    """One data stream of a file dfVFS walked (for file systems The Sleuth Kit cannot read)."""

    path: str  # inside the file system, "/" separated, decoded by dfVFS
    identifier: int | None
    stream: str  # "" for the default data stream
    size: int
    spec_json: str
    times: dict[str, str]
    error: str | None
    # (offset, length) byte runs of the default stream's data, in the file system's own
    # addressing (asked for only where a damaged part of the image must be traced to files).
    extents: tuple[tuple[int, int], ...] = ()


_TIME_ATTRIBUTES = {
    "mtime": "modification_time",
    "atime": "access_time",
    "ctime": "change_time",
    "crtime": "creation_time",
}


def _times(entry: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, attribute in _TIME_ATTRIBUTES.items():
        value = getattr(entry, attribute, None)
        if value is None:
            continue
        text = value.CopyToDateTimeStringISO8601()
        if text:
            out[name] = text
    return out


def walk_files(fs_spec: Any, context: Any, extents: bool = False) -> Iterator[DfvfsFile]:
    """Every regular file's data streams, allocated only (dfVFS does not list deleted ones);
    with `extents`, where each file's default stream lies."""
    file_system = resolver.Resolver.OpenFileSystem(fs_spec, resolver_context=context)
    try:
        root = file_system.GetRootFileEntry()
    except (errors.Error, OSError, RuntimeError) as exception:
        yield DfvfsFile("/", None, "", 0, serialise(fs_spec), {},
                        f"root directory unreadable, nothing listed: {_one_line(exception)}")
        return
    if root is None:
        yield DfvfsFile("/", None, "", 0, serialise(fs_spec), {},
                        "root directory not found, nothing listed")
        return
    stack = [(root, "")]
    while stack:
        entry, parent = stack.pop()
        try:
            children = list(entry.sub_file_entries)
        except (errors.Error, OSError, RuntimeError) as exception:
            # Recorded on the directory: its names are lost to this walk, never silently.
            yield DfvfsFile(parent or "/", None, "", 0, serialise(entry.path_spec), {},
                            f"directory unreadable, its contents are not listed: "
                            f"{_one_line(exception)}")
            continue
        for child in children:
            path = f"{parent}/{child.name}"
            try:
                if child.IsLink():
                    continue
                if child.IsDirectory():
                    stack.append((child, path))
                    continue
                if not child.IsFile():
                    continue
                streams = [s.name or "" for s in child.data_streams]
                identifier = getattr(child.path_spec, "identifier", None)
                times = _times(child)
            except (errors.Error, OSError, RuntimeError, ValueError) as exception:
                yield DfvfsFile(path, None, "", 0, serialise(child.path_spec), {},
                                _one_line(exception))
                continue
            for stream in streams or [""]:
                error = None
                size = 0
                try:
                    file_object = child.GetFileObject(data_stream_name=stream)
                    size = int(file_object.get_size()) if file_object else 0
                except (errors.Error, OSError, RuntimeError) as exception:
                    error = _one_line(exception)
                yield DfvfsFile(path, identifier, stream, size, serialise(child.path_spec),
                                times, error,
                                _extents(child) if extents and not stream else ())


def _extents(entry: Any) -> tuple[tuple[int, int], ...]:
    try:
        return tuple((int(e.offset), int(e.size)) for e in entry.GetExtents()
                     if e.extent_type == definitions.EXTENT_TYPE_DATA and e.size)
    except (errors.Error, OSError, RuntimeError, ValueError, AttributeError):
        return ()  # not traceable: the chunk's own item still records the damage


def open_stream(spec_json: str, stream: str, context: Any) -> Any:
    """The file object of one data stream of a file dfVFS walked."""
    try:
        spec = deserialise(spec_json)
        entry = resolver.Resolver.OpenFileEntry(spec, resolver_context=context)
        file_object = entry.GetFileObject(data_stream_name=stream) if entry else None
    except (errors.Error, OSError, RuntimeError) as exception:
        raise ItemError(f"cannot open: {_one_line(exception)}") from None
    if file_object is None:
        raise ItemError("cannot open: the file is no longer found in the file system")
    # dfVFS may hand back a file object it still holds from an earlier open of the same data
    # stream, positioned where that reader stopped: every open must start at byte 0.
    file_object.seek(0, os.SEEK_SET)
    return file_object


def tsk_file_spec(volume_json: str, inode: int, location: str, stream: str | None) -> str:
    """A dfVFS TSK path spec for one file (or stream) on a volume, as dfVFS's JSON.

    Written directly rather than through dfVFS's serializer (which re-encodes the whole parent
    chain per file, most of the cost of listing a large directory); a test checks the text is
    identical to `serialise` of the dfVFS path spec and reads back with dfVFS's deserializer.
    """
    parts = ['{"__type__": "PathSpec", ']
    if stream:
        parts.append(f'"data_stream": {json.dumps(stream)}, ')
    parts.append(f'"inode": {int(inode)}, "location": {json.dumps(location)}, ')
    parts.append(f'"parent": {volume_json}, "type_indicator": "TSK"}}')
    return "".join(parts)


def tsk_file_spec_reference(volume_spec: Any, inode: int, location: str, stream: str | None) -> str:
    """The same path spec built and serialised by dfVFS (for the test of the fast path)."""
    kwargs: dict[str, Any] = {"inode": inode, "location": location, "parent": volume_spec}
    if stream:
        kwargs["data_stream"] = stream
    return serialise(
        path_spec_factory.Factory.NewPathSpec(definitions.TYPE_INDICATOR_TSK, **kwargs)
    )


def close_quietly(obj: Any) -> None:
    with contextlib.suppress(Exception):
        obj.close()
