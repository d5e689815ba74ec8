"""The contract of a content signal and the registry that holds them.

A content signal looks at one item's content (already sniffed to a content type) and returns a
JSON-able dict, or None when it has nothing to say. It never knows about hash sets. Digests are
not a content signal: they are computed by the pipeline on the one streaming read of every item.
"""

from __future__ import annotations

from typing import Any, BinaryIO, ClassVar, Protocol

from fellwatch.registry import Registry


class ContentSignal(Protocol):
    name: ClassVar[str]
    # A signal that reads only the first bytes (HEAD_BYTES) is given those for every item; the
    # others are given the whole content, held in memory only for the types they apply to.
    head_only: ClassVar[bool]

    def applies_to(self, content_type: str) -> bool:
        """Whether this signal reads content of this type (e.g. "image/jpeg", "video/mp4")."""
        ...

    def compute(self, content: BinaryIO, content_type: str) -> dict[str, Any] | None:
        """The signal's value for one item. Raises on malformed content (recorded per item)."""
        ...


HEAD_BYTES = 1 << 16

SIGNALS: Registry[ContentSignal] = Registry("signal")


def register(signal: ContentSignal) -> ContentSignal:
    """Add a signal; a duplicate name is a programming error, refused like dfVFS does."""
    return SIGNALS.register(signal)


def registered() -> dict[str, ContentSignal]:
    return {signal.name: signal for signal in SIGNALS}
