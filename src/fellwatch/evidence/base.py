"""The contract every kind of evidence fulfils, and the dispatcher that picks one."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from fellwatch.errors import OutputError
from fellwatch.evidence.item import EvidenceError, Item


@dataclass(frozen=True, slots=True)
class ByteRange:
    """A run of bytes in the evidence that no allocated file owns (for carving).

    `partition` is None for unpartitioned space; `offset` is from the start of the evidence's
    outermost image so a carved item's offset can be checked with any hex viewer.
    """

    offset: int
    length: int
    partition: str | None
    kind: str  # "unallocated" | "unpartitioned" | "unrecognised-volume"


class Evidence(Protocol):
    """One opened piece of evidence. Read-only; never writes to the source."""

    path: str
    format: str

    def describe(self) -> dict[str, Any]:
        """`{path, format, volumes: [...]}` for findings.json (no times, deterministic)."""
        ...

    def items(self) -> Iterator[Item]:
        """Every item, allocated and deleted, streamed in a stable order (the walk's, the same
        on every walk; not sorted, which would hold every item), with unique keys."""
        ...

    def open_item(self, item: Item) -> BinaryIO:
        """A readable binary stream of the item's content."""
        ...

    def unallocated(self) -> Iterator[ByteRange]:
        """Byte ranges for the carvers: unallocated and unpartitioned space."""
        ...

    def read_range(self, offset: int, length: int) -> bytes:
        """Bytes of the outermost image (for carving and verification)."""
        ...

    def close(self) -> None: ...


def open_evidence(path: str | Path) -> Evidence:
    """Recognise `path` and open it read-only.

    Raises EvidenceError with a one-line reason when the evidence cannot be opened at all.
    """
    p = Path(path)
    if not p.exists():
        raise EvidenceError(f"evidence not found: {p}")
    refuse_special_file(p)
    if p.is_dir():
        from fellwatch.evidence.folder import FolderEvidence

        return FolderEvidence(p)
    from fellwatch.evidence.extraction import ExtractionEvidence, extraction_kind

    try:
        with p.open("rb") as fh:
            head = fh.read(512)
    except OSError as exc:
        raise EvidenceError(f"cannot read evidence {p.name}: {exc.strerror}") from exc
    if extraction_kind(head) is not None:
        # A phone extraction given as a zip or tar: its members are the items.
        return ExtractionEvidence(p)
    from fellwatch.evidence.image import ImageEvidence

    return ImageEvidence(p)


_SPECIAL_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
)


def special_kind(mode: int) -> str | None:
    """What a non-regular, non-directory, non-block-device file is, or None if it is one of
    those three (the kinds Fellwatch reads as evidence)."""
    for test, kind in _SPECIAL_KINDS:
        if test(mode):
            return kind
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISBLK(mode):
        return None
    return f"a special file (mode {stat.S_IFMT(mode):o})"


def refuse_special_file(path: Path) -> None:
    """Refuse, before anything opens it, evidence that is not a file, folder or block device.

    Opening a FIFO for reading blocks until something writes to it (the scan would hang in
    its first read); a character device or socket has no fixed content to hash.
    """
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise EvidenceError(f"evidence cannot be examined: {path}: {exc.strerror}") from None
    kind = special_kind(mode)
    if kind is not None:
        raise EvidenceError(
            f"evidence {path} is {kind}, not a file, folder or block device: refused "
            "(reading it could block for ever, and it has no fixed content to hash)"
        )


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def refuse_output_inside_evidence(evidence: Sequence[str], out_dir: Path) -> None:
    """Refuse an output folder inside (or equal to) a folder given as evidence.

    The scan would write into the evidence and then read its own output as evidence. Checked
    on resolved paths (symbolic links followed) before anything is created.
    """
    out = Path(os.path.realpath(out_dir))
    for given in evidence:
        ev = Path(os.path.realpath(given))
        if ev.is_dir() and _inside(out, ev):
            raise OutputError(
                f"output folder {out_dir} is inside the evidence folder {given}: refused "
                "(evidence is read-only, and the scan would read its own output); "
                "choose an output folder outside the evidence"
            )
