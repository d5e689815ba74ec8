"""One error model for every command: one base exception, one reason line, one exit-code table.

A `FellwatchError` is a failure the user can act on (a refused setting, evidence that cannot be
opened, a full output disk); its message is one line fit to show an examiner, and its class says
the exit code. Anything else that escapes a command is a bug and exits `INTERNAL` with a
traceback. Failures on one item are not exceptions to the user: they are recorded on the item
(`ItemError` and anything a reader raises) and the scan carries on.

The table is documented in docs/cli.md (a test keeps the two equal).
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar


class ExitCode(IntEnum):
    """Exit status of every `fellwatch` command."""

    OK = 0  # done; per-item errors are in the outputs
    INCOMPLETE = 1  # ran, but the result is incomplete or a check failed: run again or look
    USAGE = 2  # arguments or settings refused before any work
    INPUT = 3  # an input cannot be used: evidence, hash set, scan folder, case or exhibit
    OUTPUT = 4  # the output cannot be written: disk full, permissions, inside the evidence
    INTERNAL = 70  # a bug in Fellwatch (EX_SOFTWARE): the traceback is printed


EXIT_CODE_HELP: dict[ExitCode, str] = {
    ExitCode.OK: "done (per-item errors are listed in the outputs)",
    ExitCode.INCOMPLETE: "ran, but incomplete or a check failed (failed batches, a changed "
    "file in `verify`, a broken audit chain, a scan not recorded against its exhibit)",
    ExitCode.USAGE: "arguments or settings refused before any work (the message gives the "
    "valid range)",
    ExitCode.INPUT: "an input cannot be used: evidence, hash set, scan folder, case or exhibit",
    ExitCode.OUTPUT: "the output cannot be written: disk full, no permission, output inside "
    "the evidence",
    ExitCode.INTERNAL: "a bug in Fellwatch: the traceback is printed; please report it",
}


class FellwatchError(Exception):
    """A failure the user can act on. The message is one line; the class sets the exit code."""

    exit_code: ClassVar[ExitCode] = ExitCode.INPUT


class UsageError(FellwatchError):
    """Arguments that do not go together, or a value outside its range."""

    exit_code = ExitCode.USAGE


class SettingError(UsageError):
    """A setting refused before any work; the message names the setting and its valid range."""


class OutputError(FellwatchError):
    """The output cannot be written (disk full, permissions, a folder inside the evidence)."""

    exit_code = ExitCode.OUTPUT


class IncompleteError(FellwatchError):
    """The command ran but its result is incomplete or a check failed."""

    exit_code = ExitCode.INCOMPLETE


class ItemError(Exception):
    """One item cannot be read or parsed; recorded on that item, the scan carries on."""


def reason(exc: BaseException) -> str:
    """The one-line reason of an exception.

    A FellwatchError's or ItemError's message is already written for the examiner and is shown
    as it is (one line, or one line per bad row where a file was refused). Any other exception
    is named by its type and the first line of its message: it comes from a library, and its
    type is part of what went wrong.
    """
    text = str(exc).strip()
    if isinstance(exc, FellwatchError | ItemError):
        # Written for the examiner; a few (a CSV import naming each bad row) list lines.
        return text or type(exc).__name__
    first = text.splitlines()[0].strip() if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def exit_code(exc: BaseException) -> ExitCode:
    """The exit status for an exception that ended a command."""
    if isinstance(exc, FellwatchError):
        return exc.exit_code
    return ExitCode.INTERNAL
