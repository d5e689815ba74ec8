"""Checking and normalising the hex digests that hash-set files carry."""

from __future__ import annotations

import re

from fellwatch.hashsets.base import HEX_LENGTHS, HashKind, HashSetError

_HEX = re.compile(r"[0-9a-fA-F]+")

# A bare hex digest's length tells its kind in sum lists; 64 hex is SHA-256 there (a PDQ hash is
# also 64 hex, so PDQ lists must say so in a header).
KIND_BY_LENGTH: dict[int, HashKind] = {32: "md5", 40: "sha1", 64: "sha256"}

KIND_CODES: dict[str, int] = {"md5": 1, "sha1": 2, "sha256": 3, "pdq": 4, "vpdq": 5}
KIND_NAMES: dict[int, HashKind] = {1: "md5", 2: "sha1", 3: "sha256", 4: "pdq", 5: "vpdq"}


def checked(value: object, kind: HashKind) -> str | None:
    """`value` as lower-case hex of the right length for `kind`, or None when it is not."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    length = HEX_LENGTHS.get(kind)
    if (length is not None and len(text) != length) or not _HEX.fullmatch(text):
        return None
    return text.lower()


def normalise(value: object, kind: HashKind, where: str) -> str:
    """`checked`, or HashSetError naming `where` (file and line or record), so a bad row in a
    multi-GB file can be found."""
    text = checked(value, kind)
    if text is None:
        shown = value.strip() if isinstance(value, str) else value
        raise HashSetError(f"{where}: not a {kind} digest: {_short(str(shown))!r}")
    return text


def _short(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."
