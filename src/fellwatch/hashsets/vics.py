"""Project VIC / CAID hash sets in VICS JSON, data model 1.x and 2.0.

1.x:  {"odata.metadata": ".../DataModels/1.3.xml#Media", "value": [MEDIA, ...]}
2.0:  {"@odata.context": ".../DataModels/2.0.xml/<profile>/$metadata#Media", "value": [MEDIA, ...]}
      {"@odata.context": "...#Cases", "value": [{"CaseID": ..., "Media": [MEDIA, ...]}]}

MEDIA holds `MediaID`, `Category`, `MD5`, `SHA1`, `SHA256` (when present), `MediaSize`,
`IsPrecategorized` and `AlternativeHashes` ([{"HashName": "PDQ", "HashValue": "…"}]). Files out of
the field carry a UTF-8 BOM, upper-case hex, booleans and numbers as strings and null
categories; all are accepted.

PhotoDNA hashes (an alternative hash) are proprietary: they are counted in `ReadNotes` and not
kept. Other unknown alternative hashes are counted the same way.

Files run to gigabytes, so the document is never loaded whole: `_JsonStream` walks the outer
object and the `value` (and a case's `Media`) array by hand, and hands each media object, which is
small, to the C JSON decoder (`raw_decode`) on a sliding text buffer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TextIO

from fellwatch.hashsets.base import HashEntry, HashKind, HashSetError, ReadNotes, SetKind
from fellwatch.hashsets.digests import normalise

_WS = re.compile(r"[ \t\n\r]*")
_CONTEXT_KEYS = ("odata.metadata", "@odata.context")
_DIGEST_FIELDS: tuple[tuple[str, HashKind], ...] = (
    ("MD5", "md5"),
    ("SHA1", "sha1"),
    ("SHA256", "sha256"),
)
CHUNK_CHARS = 1 << 20
MAX_VALUE_CHARS = 1 << 28  # no media object comes near; a runaway value must not eat the RAM


class _JsonStream:
    """One JSON document read from a text stream a chunk at a time."""

    def __init__(self, stream: TextIO, label: str, chunk: int = CHUNK_CHARS) -> None:
        self._stream = stream
        self._label = label
        self._chunk = chunk
        self._buf = ""
        self._pos = 0
        self._consumed = 0  # characters dropped from the front of the buffer
        self._eof = False
        self._decoder = json.JSONDecoder()

    def error(self, what: str) -> HashSetError:
        return HashSetError(f"{self._label}: {what} at character {self._consumed + self._pos}")

    def _fill(self, at_least: int = 0) -> bool:
        if self._eof:
            return False
        data = self._stream.read(max(self._chunk, at_least))
        if not data:
            self._eof = True
            return False
        if self._pos:
            self._consumed += self._pos
            self._buf = self._buf[self._pos :]
            self._pos = 0
        self._buf += data
        return True

    def peek(self) -> str:
        """The next character after white space, "" at the end of the document."""
        while True:
            match = _WS.match(self._buf, self._pos)
            self._pos = match.end() if match else self._pos
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._fill():
                return ""

    def expect(self, char: str) -> None:
        found = self.peek()
        if found != char:
            raise self.error(f"expected {char!r}, found {found or 'end of file'!r}")
        self._pos += 1

    def more(self, closing: str) -> bool:
        """After a member of an object or array: True on ",", False on `closing` (consumed)."""
        found = self.peek()
        self._pos += 1
        if found == ",":
            return True
        if found == closing:
            return False
        self._pos -= 1
        raise self.error(f"expected ',' or {closing!r}, found {found or 'end of file'!r}")

    def empty(self, closing: str) -> bool:
        """Right after an opening bracket: True (and consumed) when the container is empty."""
        if self.peek() == closing:
            self._pos += 1
            return True
        return False

    def key(self) -> str:
        if self.peek() != '"':
            raise self.error("expected a member name")
        key = self.value()
        self.expect(":")
        assert isinstance(key, str)
        return key

    def value(self) -> Any:
        """The next whole JSON value, decoded by the C decoder."""
        if not self.peek():
            raise self.error("unexpected end of file")
        # Keep a quarter chunk of look-ahead so a media object rarely straddles the buffer end.
        if not self._eof and len(self._buf) - self._pos < self._chunk // 4:
            self._fill()
        while True:
            try:
                obj, end = self._decoder.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                # Cut off by the end of the buffer: read more (doubling, so one very large value
                # costs linear time) and try again. Malformed before the end: fail now, without
                # reading the rest of a multi-GB file into memory.
                # (A literal cut short, "fals", fails at its start: hence the small margin.)
                cut_off = exc.pos >= len(self._buf) - 16 or exc.msg.startswith("Unterminated")
                if cut_off and len(self._buf) - self._pos > MAX_VALUE_CHARS:
                    raise self.error(
                        "a single JSON value is too large for a media object"
                    ) from None
                if cut_off and self._fill(at_least=len(self._buf)):
                    continue
                self._pos = exc.pos
                raise self.error(f"malformed JSON ({exc.msg})") from None
            if end == len(self._buf) and self._fill():
                continue  # a bare number may go on in the next chunk
            self._pos = end
            return obj


class VicsJson:
    name: ClassVar[str] = "vics"
    default_kind: ClassVar[SetKind] = "known-bad"

    def sniff(self, head: bytes, path: Path) -> bool:
        text = head.decode("utf-8", "ignore").lstrip("\ufeff \t\r\n")
        return text.startswith("{") and any(f'"{key}"' in text for key in _CONTEXT_KEYS)

    def read(self, path: Path, notes: ReadNotes | None = None) -> Iterator[HashEntry]:
        notes = notes if notes is not None else ReadNotes()
        try:
            with path.open("r", encoding="utf-8-sig", newline="") as stream:
                for number, media in enumerate(
                    self._media(_JsonStream(stream, path.name, CHUNK_CHARS)), 1
                ):
                    yield from _entries(media, f"{path.name}: media #{number}", notes)
        except UnicodeDecodeError as exc:
            raise HashSetError(f"{path.name}: not UTF-8 text ({exc.reason})") from None
        except OSError as exc:
            raise HashSetError(f"{path.name}: cannot read: {exc.strerror or exc}") from None

    def _media(self, s: _JsonStream) -> Iterator[dict[str, Any]]:
        s.expect("{")
        context: str | None = None
        seen_value = False
        if not s.empty("}"):
            while True:
                key = s.key()
                if key in _CONTEXT_KEYS:
                    value = s.value()
                    if not isinstance(value, str) or not value.rstrip("/").endswith(
                        ("#Media", "#Cases")
                    ):
                        raise s.error(f"not a VICS Media or Cases document ({key}: {value!r})")
                    context = value
                elif key == "value":
                    seen_value = True
                    yield from self._value_array(s, context)
                else:
                    s.value()
                if not s.more("}"):
                    break
        if s.peek():
            raise s.error("data after the end of the JSON document")
        if context is None:
            raise s.error("no 'odata.metadata' or '@odata.context': not VICS JSON")
        if not seen_value:
            raise s.error("no 'value' array")

    def _value_array(self, s: _JsonStream, context: str | None) -> Iterator[dict[str, Any]]:
        s.expect("[")
        if s.empty("]"):
            return
        cases = context is not None and context.endswith("#Cases")
        while True:
            if cases and s.peek() == "{":
                yield from self._case(s)
            else:
                element = s.value()
                if not isinstance(element, dict):
                    raise s.error("a 'value' element is not an object")
                if context is None and "Media" in element:
                    # A case before the context was named: read whole, then its media.
                    yield from _media_list(element["Media"], s)
                else:
                    yield element
            if not s.more("]"):
                return

    def _case(self, s: _JsonStream) -> Iterator[dict[str, Any]]:
        """One case object, walked member by member: its `Media` array may hold every hash."""
        s.expect("{")
        if s.empty("}"):
            return
        while True:
            if s.key() == "Media":
                s.expect("[")
                if not s.empty("]"):
                    while True:
                        media = s.value()
                        if not isinstance(media, dict):
                            raise s.error("a 'Media' element is not an object")
                        yield media
                        if not s.more("]"):
                            break
            else:
                s.value()
            if not s.more("}"):
                return


def _media_list(value: object, s: _JsonStream) -> Iterator[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(m, dict) for m in value):
        raise s.error("'Media' is not a list of objects")
    yield from value


def _text(value: object) -> str | None:
    """Numbers and strings alike as a trimmed string; null and "" as None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _size(value: object, where: str) -> int | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise HashSetError(f"{where}: MediaSize is not a number: {text!r}") from None


def _entries(media: dict[str, Any], where: str, notes: ReadNotes) -> Iterator[HashEntry]:
    media_id = _text(media.get("MediaID"))
    if media_id is not None:
        where = f"{where} (MediaID {media_id})"
    category = _text(media.get("Category"))
    if category is not None and category.lower() == "null":
        category = None  # some exporters write the null category as a string
    size = _size(media.get("MediaSize"), where)
    found = False
    for field_name, kind in _DIGEST_FIELDS:
        value = media.get(field_name)
        if value is None or value == "":
            continue
        found = True
        yield HashEntry(kind, normalise(value, kind, where), category, media_id, size)
    alternatives = media.get("AlternativeHashes") or []
    if not isinstance(alternatives, list):
        raise HashSetError(f"{where}: AlternativeHashes is not a list")
    for alt in alternatives:
        if not isinstance(alt, dict):
            raise HashSetError(f"{where}: an AlternativeHashes element is not an object")
        hash_name = str(alt.get("HashName") or "").strip()
        value = alt.get("HashValue")
        if hash_name.lower() == "pdq" and value:
            found = True
            yield HashEntry("pdq", normalise(value, "pdq", where), category, media_id, size)
        elif hash_name.lower() == "photodna":
            notes.skip("PhotoDNA (proprietary, not kept)")
        else:
            notes.skip(f"alternative hash {hash_name or '(unnamed)'}")
    if not found:
        notes.skip("media without a usable hash")


@dataclass(frozen=True, slots=True)
class VicsSuggestion:
    """One media of a VICS file from another tool, as a grading suggestion: its digests, PDQ
    and the category that tool gave it (a Project VIC number as text, as written)."""

    md5: str | None
    sha1: str | None
    pdq: str | None
    category: str | None
    media_id: str | None


def read_suggestions(path: Path, notes: ReadNotes | None = None) -> Iterator[VicsSuggestion]:
    """Every media of a VICS 1.x or 2.0 file with its category, for `review import-vics`:
    read streaming by the same reader as hash sets, one suggestion per media (not per hash),
    so a picture's MD5, SHA-1 and PDQ stay together. Raises HashSetError."""
    notes = notes if notes is not None else ReadNotes()
    reader = VicsJson()
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as stream:
            for number, media in enumerate(
                reader._media(_JsonStream(stream, path.name, CHUNK_CHARS)), 1
            ):
                found: dict[str, str] = {}
                category = None
                media_id = None
                for entry in _entries(media, f"{path.name}: media #{number}", notes):
                    found.setdefault(entry.kind, entry.digest)
                    category, media_id = entry.category, entry.media_id
                if found:
                    yield VicsSuggestion(
                        found.get("md5"), found.get("sha1"), found.get("pdq"), category, media_id
                    )
    except UnicodeDecodeError as exc:
        raise HashSetError(f"{path.name}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise HashSetError(f"{path.name}: cannot read: {exc.strerror or exc}") from None
