"""The plugin stays fully typed: mypy, as configured in its pyproject.toml (strict), finds nothing.

It is checked against cxengine's own types, wherever cxengine is installed (a plugin is
built against the published API, and a wrong call is a bug mypy sees before a user does).
Run here so a change on either side that breaks the contract fails CI.
"""

from __future__ import annotations

from pathlib import Path

from cxengine.testing import check_types


def test_mypy_finds_no_errors_in_the_plugin() -> None:
    check_types("cxengine_nlp", Path(__file__).resolve().parent.parent)
