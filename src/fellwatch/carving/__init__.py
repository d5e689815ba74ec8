"""Carving: pictures and videos recovered from unallocated and unpartitioned byte ranges.

`carve(read, ranges, evidence, settings)` is what the scan calls; importing this package
registers every carver (one module per format).
"""

from fellwatch.carving import avi, bmp, gif, jpeg, mp4, png, webp  # noqa: F401  (registers)
from fellwatch.carving.base import CarvedFragmentError, NotACandidate, registered
from fellwatch.carving.scanner import FRAGMENT_ERROR, CarveSettings, carve, merge_ranges

__all__ = [
    "FRAGMENT_ERROR",
    "CarveSettings",
    "CarvedFragmentError",
    "NotACandidate",
    "carve",
    "merge_ranges",
    "registered",
]
