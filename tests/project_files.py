"""Helpers for writing small projects in tests: `write` and the `make_project` type.

A module of its own, not conftest: the export plugin's tests have a conftest too, and
in one pytest run `tests.conftest` can resolve to either, so test modules import
these from here (a name no other test folder has).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

ProjectFactory = Callable[..., Path]


def write(path: Path, text: str) -> Path:
    """Write dedented text, creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path
