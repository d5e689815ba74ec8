"""Evidence: containers, volumes, file systems, folders and archives, opened read-only.

`open_evidence(path)` is the one entry point: it recognises the format and returns an
`Evidence` whose `items()` yields every file (deleted ones included) in a deterministic order.
"""

from fellwatch.evidence.base import ByteRange, Evidence, open_evidence
from fellwatch.evidence.item import EvidenceError, Item, ItemError

__all__ = ["ByteRange", "Evidence", "EvidenceError", "Item", "ItemError", "open_evidence"]
