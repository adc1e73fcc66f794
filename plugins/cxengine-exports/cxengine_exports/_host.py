"""Everything this package uses from cxengine, in one place.

Only cxengine's public plugin surface is used here, so a change of cxengine's
internals never reaches the adapters.
"""

from __future__ import annotations

import warnings

from cxengine import hookimpl
from cxengine.errors import DataError
from cxengine.interfaces import Reject, SourceContext, SourceData

__all__ = ["DataError", "Reject", "SourceContext", "SourceData", "hookimpl", "note"]


class ExportNote(UserWarning):
    """Something worth telling about an export that is not an error."""


def note(message: str) -> None:
    """Tell the user something about the data that is not an error (a `note:` line)."""
    try:
        from cxengine.dataset.notes import DataNote
    except ImportError:  # an older or newer cxengine: still a visible warning
        warnings.warn(message, ExportNote, stacklevel=2)
    else:
        warnings.warn(message, DataNote, stacklevel=2)
