"""cxengine: customer-experience metrics as code.

Import nothing heavy here: `cxengine --help` must stay instant, and plugins import
`cxengine.hookimpl` before anything else.
"""

from __future__ import annotations

import pluggy

__version__ = "0.1.0"

#: Marker for plugin hook implementations: ``@cxengine.hookimpl``.
hookimpl = pluggy.HookimplMarker("cxengine")

__all__ = ["__version__", "hookimpl"]
