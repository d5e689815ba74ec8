"""The contract every kind of evidence fulfils, and the dispatcher that picks one."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

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
        """Every item, allocated and deleted, in a stable order (sorted by `Item.key`)."""
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
