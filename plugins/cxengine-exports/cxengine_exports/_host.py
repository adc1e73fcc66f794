"""Everything this package uses from cxengine, in one place: the public plugin API.

Only `cxengine.api` is imported (tests/test_plugin_api.py holds every plugin to it),
so a change of cxengine's internals never reaches the adapters.
"""

from __future__ import annotations

import warnings

from cxengine.api import DataError, DataNote, Reject, SourceContext, SourceData, hookimpl

__all__ = ["DataError", "Reject", "SourceContext", "SourceData", "hookimpl", "note"]


def note(message: str) -> None:
    """Tell the user something about the data that is not an error (a `note:` line)."""
    warnings.warn(message, DataNote, stacklevel=2)
