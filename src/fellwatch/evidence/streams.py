"""A read-only raw stream of known length that keeps its own position.

What zipfile and tarfile need of a file (seek from the start, the position or the end; tell;
a negative position refused with OSError, as a file refuses it: zipfile's end-record search
relies on that). Item streams over The Sleuth Kit and dfVFS, and the archive reader's spliced
view, differ only in how they read; the position is kept here once.
"""

from __future__ import annotations

import errno
import io


class PositionedStream(io.RawIOBase):
    """Subclasses give `_length()` and read from `self._pos` (advancing it)."""

    _pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def _length(self) -> int:
        raise NotImplementedError

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            target = offset
        elif whence == io.SEEK_CUR:
            target = self._pos + offset
        elif whence == io.SEEK_END:
            target = self._length() + offset
        else:
            raise ValueError(f"invalid whence ({whence})")
        if target < 0:
            raise OSError(errno.EINVAL, "negative seek position")
        # Only remembered: the next read starts there.
        self._pos = target
        return target

    def tell(self) -> int:
        return self._pos
