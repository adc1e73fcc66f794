"""Registering a kind, source, reporter, enricher or engine by name, imported on first use.

A plugin's hooks may register an object (`register(Nps())`: eager, as always) or a
`LazyEntry` naming where the object lives (`register(lazy("nps", "pkg.kinds:Nps",
description=…))`). The registry then knows the name, its description and any details
the command line lists (a source's option names) without importing the module; the
module is imported, and the object made, only when a spec or dataset uses it.

Why: importing every kind and source and building their pydantic models cost about
half a second of every command, the rerun of an unchanged run included, although a
run uses a handful of them. The built-ins register this way
(`cxengine/default_plugins/catalog.py`), through the same hooks as third-party
plugins, and any plugin can.

This module imports nothing beyond the standard library: plugins import it (through
`cxengine.api.lazy`) while `cxengine --help` loads their entry points.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class LazyEntry:
    """A thing registered by name; `target` ("package.module:attribute") says where it lives.

    The attribute is the object itself, or a class or function called with no
    arguments to make it. `description` is what `cxengine sources`/`plugins` print
    without importing the module; `details` holds what else listings show (for a
    source, ``options``: the names of its options). They must say what the object
    says: the registry checks the name when it loads the object.
    """

    name: str
    target: str
    description: str = ""
    details: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        module, colon, attribute = self.target.partition(":")
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"a lazy registration needs a name, got {self.name!r}")
        if not colon or not module or not attribute:
            raise ValueError(
                f"lazy registration {self.name!r}: target {self.target!r} is not "
                "'package.module:attribute'"
            )

    @property
    def module(self) -> str:
        """Return the module the object lives in (not imported)."""
        return self.target.partition(":")[0]

    def load(self) -> Any:
        """Import the module and return the object (made by calling a class or function)."""
        module_name, _, attribute = self.target.partition(":")
        obj: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            obj = getattr(obj, part)
        if isinstance(obj, type) or inspect.isfunction(obj):
            return obj()
        return obj


def lazy(name: str, target: str, *, description: str = "", **details: Any) -> LazyEntry:
    """Return a registration of `name`, imported from `target` when first used.

    ::

        @hookimpl
        def register_aggregations(register):
            register(lazy("late_tickets", "my_plugin.kinds:Late",
                          description="Tickets answered after their deadline."))

    Keyword arguments other than `description` are details listings show without
    importing the module; a source should pass ``options=("path", …)``, the names of
    the fields of its options model.
    """
    return LazyEntry(name, target, description, MappingProxyType(dict(details)))
