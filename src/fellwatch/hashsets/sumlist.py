"""md5sum / sha1sum / sha256sum lists, and plain lists of hex digests.

    d41d8cd98f00b204e9800998ecf8427e  empty.txt      (text mode)
    D41D8CD98F00B204E9800998ECF8427E *empty.bin      (binary mode, any case)
    \\d41d8cd98f00b204e9800998ecf8427e  odd\\nname    (GNU escapes a name with \\ or newline)
    MD5 (empty.txt) = d41d8cd98f00b204e9800998ecf8427e   (BSD / --tag)
    d41d8cd98f00b204e9800998ecf8427e                  (bare digest)

The digest's length gives its kind: 32 hex MD5, 40 SHA-1, 64 SHA-256. Lines starting with `#`
and blank lines are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from fellwatch.hashsets.base import HashEntry, HashSetError, ReadNotes, SetKind
from fellwatch.hashsets.digests import KIND_BY_LENGTH

_GNU = re.compile(r"\\?([0-9A-Fa-f]{64}|[0-9A-Fa-f]{40}|[0-9A-Fa-f]{32})(?:[ \t][ *]?.*)?")
_BSD = re.compile(r"(MD5|SHA1|SHA256) ?\(.*\) ?= ?([0-9A-Fa-f]+)")
_BSD_LENGTHS = {"MD5": 32, "SHA1": 40, "SHA256": 64}


class SumList:
    name: ClassVar[str] = "sumlist"
    default_kind: ClassVar[SetKind] = "known-bad"

    def sniff(self, head: bytes, path: Path) -> bool:
        lines = head.decode("utf-8", "ignore").lstrip("\ufeff").splitlines()
        if len(head) >= 4096:
            lines = lines[:-1]  # the last line of a cut head may be cut short
        for line in lines:
            text = line.strip()
            if text and not text.startswith("#"):
                return bool(_GNU.fullmatch(text) or _BSD.fullmatch(text))
        return False

    def read(self, path: Path, notes: ReadNotes | None = None) -> Iterator[HashEntry]:
        try:
            with path.open("r", encoding="utf-8-sig", errors="surrogateescape") as stream:
                for number, raw in enumerate(stream, 1):
                    text = raw.strip()
                    if not text or text.startswith("#"):
                        continue
                    match = _GNU.fullmatch(text)
                    if match:
                        digest = match.group(1)
                        kind = KIND_BY_LENGTH[len(digest)]
                    else:
                        bsd = _BSD.fullmatch(text)
                        if not bsd or len(bsd.group(2)) != _BSD_LENGTHS[bsd.group(1)]:
                            raise HashSetError(
                                f"{path.name}: line {number}: not a digest line: {text[:80]!r}"
                            )
                        digest = bsd.group(2)
                        kind = KIND_BY_LENGTH[len(digest)]
                    yield HashEntry(kind, digest.lower())
        except OSError as exc:
            raise HashSetError(f"{path.name}: cannot read: {exc.strerror or exc}") from None
