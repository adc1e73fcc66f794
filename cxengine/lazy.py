"""DuckDB, pyarrow and sqlglot, imported on first use rather than when a module loads.

Each costs 0.2–0.3 s of CPU to import. The built-in kinds and sources need them only
to build SQL or read rows, yet listing kinds (`cxengine metrics`), validating specs
and printing a reused run import those modules too. A module that needs one of them
at run time writes

    if TYPE_CHECKING:
        from sqlglot import exp
    else:
        from cxengine.lazy import exp

so type checkers see the real module and the import happens at the first attribute
access (`exp.Column`, `duckdb.connect`). After that the real module's namespace is
copied into the stand-in, so later accesses cost an ordinary attribute lookup.
tests/test_lazy_imports.py checks which commands stay free of them.
"""

from __future__ import annotations

import importlib
import types
from typing import Any


class LazyModule(types.ModuleType):
    """A stand-in for a module that imports it when one of its attributes is first read."""

    def __getattr__(self, attribute: str) -> Any:
        # Only called for names not yet in __dict__: i.e. until the first load.
        module = importlib.import_module(self.__name__)
        self.__dict__.update(module.__dict__)
        return getattr(module, attribute)


duckdb = LazyModule("duckdb")
pa = LazyModule("pyarrow")
sqlglot = LazyModule("sqlglot")
exp = LazyModule("sqlglot.expressions")
