"""Fault injection for the failure tests, declared in one place.

A fault takes effect only when the explicit test switch `FELLWATCH_TEST_FAULTS=1` is set as
well as the fault's own variable, so no production run can trip one by an inherited variable.
docs/settings.md lists them (generated from `FAULTS`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

TEST_SWITCH = "FELLWATCH_TEST_FAULTS"


@dataclass(frozen=True, slots=True)
class Fault:
    env: str
    help: str


KILL_AFTER_BATCHES = Fault(
    "FELLWATCH_FAULT_KILL_AFTER_BATCHES",
    "SIGKILL the scan after N committed batches (resume tests)",
)
CRASH_ON_PATH = Fault(
    "FELLWATCH_FAULT_CRASH_ON_PATH",
    "a worker dies by SIGSEGV on the item with this path (worker-crash tests)",
)

THUMBNAIL_FAIL_ON_PATH = Fault(
    "FELLWATCH_FAULT_THUMBNAIL_FAIL_ON_PATH",
    "the thumbnail of the item with this path fails to encode, after its signals decoded it "
    "(thumbnail-failure tests)",
)

FAULTS: tuple[Fault, ...] = (KILL_AFTER_BATCHES, CRASH_ON_PATH, THUMBNAIL_FAIL_ON_PATH)


def fault_value(fault: Fault) -> str | None:
    """The fault's value, or None unless the test switch is on."""
    if os.environ.get(TEST_SWITCH) != "1":
        return None
    return os.environ.get(fault.env) or None
