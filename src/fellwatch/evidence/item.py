"""The Item: one file, stream, archive member or carved object inside evidence.

An Item is a value object: it carries its provenance (evidence, partition, path spec, inode,
offset) and a picklable `locator` from which any process can reopen its content, so a scan can
hand items to worker processes (or Dask workers) without sharing open handles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from fellwatch.errors import FellwatchError, ItemError

__all__ = ["EvidenceError", "Item", "ItemError", "Origin"]

Origin = Literal["filesystem", "archive", "folder", "carved"]


class EvidenceError(FellwatchError):
    """The evidence as a whole cannot be opened (unknown format, missing segment, missing parent).

    The message is one line, fit to show the examiner as the reason the scan did not run.
    """


@dataclass(frozen=True, slots=True)
class Item:
    """One object found in evidence.

    `path` is the display path: names that are not valid UTF-8 are escaped (see
    `evidence.names.display_name`), archive members are written `outer.zip!inner/name.jpg`,
    alternate data streams `file:stream`. `key` is unique and stable within one evidence and
    orders the scan (it is what checkpoints record).
    """

    evidence: str
    path: str
    key: str
    size: int
    origin: Origin
    allocated: bool = True
    path_spec: str | None = None
    inode: int | None = None
    partition: str | None = None
    offset: int | None = None
    times: dict[str, str] = field(default_factory=dict)
    locator: tuple[Any, ...] = ()
    error: str | None = None

    def provenance(self) -> dict[str, Any]:
        """The fields every finding carries so it leads back to where it came from."""
        return {
            "evidence": self.evidence,
            "path": self.path,
            "path_spec": self.path_spec,
            "inode": self.inode,
            "partition": self.partition,
            "offset": self.offset,
            "size": self.size,
            "allocated": self.allocated,
            "origin": self.origin,
        }
