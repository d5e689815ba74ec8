"""Typed item records for tests that hand matchers only the fields they read."""

from __future__ import annotations

from typing import Any

from fellwatch.record import ItemRecord


def lookup(fields: dict[str, Any]) -> ItemRecord:
    """A record with the given digests / content type / signals and placeholder provenance."""
    base: dict[str, Any] = {"evidence": "test", "key": "k", "path": "/k", "size": 0,
                            "origin": "filesystem"}
    return ItemRecord(**{**base, **fields})
