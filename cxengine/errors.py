"""Exit codes and the exceptions that map onto them.

Every error a user can cause carries enough context to fix it without a debugger:
the file, the line, the key path or field, and what was expected.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class ExitCode(enum.IntEnum):
    """Process exit codes of the `cxengine` command (a contract for CI)."""

    OK = 0
    CHECK_FAILED = 1  # invalid spec, target missed, significant regression
    USAGE = 2  # bad command line (click uses 2 as well)
    INTERNAL = 3  # internal error or a broken plugin


@dataclass(frozen=True, order=True)
class Problem:
    """One problem found in a YAML file: where it is and what is wrong."""

    file: str
    line: int
    path: str
    message: str
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        # A problem with no file (a command-line option) must not print ": message".
        parts = [p for p in (where, self.path) if p]
        return ": ".join([*parts, self.message])


class CxError(Exception):
    """Base class of cxengine's own errors; `exit_code` says how the CLI exits."""

    exit_code: ExitCode = ExitCode.INTERNAL


class SpecError(CxError):
    """One or more problems in specs or the project config, all reported together."""

    exit_code = ExitCode.CHECK_FAILED

    def __init__(self, problems: Iterable[Problem]):
        self.problems: list[Problem] = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ConfigError(CxError):
    """The project config is missing or unusable (a usage problem, not a failed check)."""

    exit_code = ExitCode.USAGE


class DataError(CxError):
    """A data source cannot be read at all (missing file, unreadable, not a table)."""

    exit_code = ExitCode.CHECK_FAILED


class PluginError(CxError):
    """A plugin failed to load or misbehaved while running."""

    exit_code = ExitCode.INTERNAL

    def __init__(self, plugin: str, message: str):
        self.plugin = plugin
        super().__init__(f"plugin {plugin!r}: {message}")


class CheckFailed(CxError):
    """A run finished but a check (target, regression, reject rate) failed."""

    exit_code = ExitCode.CHECK_FAILED


def did_you_mean(value: str, choices: Sequence[str]) -> str:
    """Return ' (did you mean 'x'?)' for the closest choice, or '' when none is close."""
    import difflib

    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def known_list(choices: Iterable[str]) -> str:
    """Format a sorted, comma-separated list of valid values for messages."""
    return ", ".join(sorted(choices))
