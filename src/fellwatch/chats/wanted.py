"""Which item paths the chat stage may need: asked by the item pass of every item it commits.

The item pass keeps the locators of these items (`store.located`) so the chat stage reopens
them without walking the evidence again. The test is a cheap superset, made from the sources'
own patterns: a path ends as one of them ends (or holds the literal part of one that ends in a
wildcard), or it is a `-wal` / `-journal`, or a companion file's name. The stage applies the
exact tests (`for_path`, sibling and companion names) to the few items kept.
"""

from __future__ import annotations

from fellwatch.chats.base import deleted_variant
from fellwatch.chats.registry import SOURCES

_WILD = "*?["


def _literal_runs(pattern: str) -> list[str]:
    runs, run, inside = [], "", False
    for ch in pattern:
        if inside:
            inside = ch != "]"
        elif ch == "[":
            inside = True
            runs.append(run)
            run = ""
        elif ch in _WILD:
            runs.append(run)
            run = ""
        else:
            run += ch
    runs.append(run)
    return runs


def _tests() -> tuple[tuple[str, ...], tuple[str, ...]]:
    suffixes: set[str] = {"-wal", "-journal"}
    anchors: set[str] = set()
    for source in SOURCES:
        suffixes.update(name.lower() for name in source.companions)
        for pattern in source.patterns:
            for form in (pattern, deleted_variant(pattern)):
                if form is None:
                    continue
                runs = _literal_runs(form)
                if runs[-1]:
                    suffixes.add(runs[-1])  # a match ends with the pattern's literal tail
                else:
                    anchors.add(max(runs, key=len))  # and holds its longest literal run
    return tuple(sorted(suffixes)), tuple(sorted(anchors))


_SUFFIXES, _ANCHORS = _tests()


def wanted(path: str) -> bool:
    """Whether the chat stage may read the item at `path` (a superset of what it reads)."""
    lower = path.lower()
    return lower.endswith(_SUFFIXES) or any(anchor in lower for anchor in _ANCHORS)
