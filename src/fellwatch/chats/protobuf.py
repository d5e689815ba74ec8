"""Just enough of the protobuf wire format to take a field out of a message without its schema.

Apps such as Snapchat keep a message's content as a serialised protobuf whose `.proto` is not
published; parsers (ALEAPP) find the text by its field path, learnt from observed data. Here a
message is split into its fields (varint, 64-bit, length-delimited and 32-bit values; the old
group wire types are refused), bounded: a varint is at most ten bytes, a length never runs past
the buffer, and a walk is only as deep as the path asked for. Anything malformed is "not
there", never an exception for the caller.
"""

from __future__ import annotations

from collections.abc import Iterator

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5


class WireError(ValueError):
    """The bytes are not a protobuf message."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    for i in range(10):
        if pos + i >= len(data):
            raise WireError("varint cut short")
        byte = data[pos + i]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos + i + 1
        shift += 7
    raise WireError("varint longer than ten bytes")


def fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) of every field of one message level, in order; a
    length-delimited value is its bytes. WireError when the bytes are not a message."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise WireError("field number 0")
        if wire == VARINT:
            value, pos = _varint(data, pos)
            yield number, wire, value
        elif wire == LENGTH:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise WireError("length past the end")
            yield number, wire, data[pos : pos + length]
            pos += length
        elif wire in (FIXED64, FIXED32):
            size = 8 if wire == FIXED64 else 4
            if pos + size > len(data):
                raise WireError("fixed value cut short")
            yield number, wire, int.from_bytes(data[pos : pos + size], "little")
            pos += size
        else:
            raise WireError(f"wire type {wire}")


def submessages(data: bytes, number: int) -> list[bytes]:
    """The length-delimited values of field `number` (a repeated field gives several); []
    when `data` is not a message."""
    try:
        return [v for n, w, v in fields(data) if n == number and w == LENGTH
                and isinstance(v, bytes)]
    except WireError:
        return []


def first(data: bytes, *path: int) -> bytes | None:
    """The bytes at `path` (field numbers, outermost first): at each level the first value of
    that field under which the rest of the path is found, as a reader of a repeated field takes
    its first element. None when the path is not there."""
    if not path:
        return data
    for value in submessages(data, path[0]):
        found = first(value, *path[1:])
        if found is not None:
            return found
    return None
