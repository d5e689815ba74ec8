"""Which content signals a scan computes. Importing a signal's module registers it."""

from __future__ import annotations

import importlib

from fellwatch.signals.base import ContentSignal, registered

# One module per signal; the registry test asserts exactly these are registered.
SIGNAL_MODULES: tuple[str, ...] = (
    "fellwatch.signals.exif",
    "fellwatch.signals.filetype",
    "fellwatch.signals.pdq",
    "fellwatch.signals.vpdq",
)


def load_signals() -> dict[str, ContentSignal]:
    for module in SIGNAL_MODULES:
        importlib.import_module(module)
    return registered()
