"""Quoting user text into DuckDB SQL: the only two ways loading code builds SQL from names.

Dataset names, column names, null markers, formats and zones all come from users or
files. Each goes into SQL through `ident` (identifiers) or `lit` (string literals);
nothing is pasted unquoted.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb


def ident(name: str) -> str:
    """Quote an identifier for DuckDB (double quotes, embedded quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    """Quote a string literal for DuckDB (single quotes doubled; backslashes are literal)."""
    if "\x00" in text:
        raise ValueError("NUL characters cannot appear in SQL text")
    return "'" + text.replace("'", "''") + "'"


def lit_list(texts: Iterable[str]) -> str:
    """Return a parenthesised list of literals for IN (...), never empty."""
    items = [lit(t) for t in texts]
    return "(" + ", ".join(items or ["NULL"]) + ")"


def run(con: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> None:
    """Execute a statement and drain its result (the connection then accepts the next one)."""
    con.execute(sql, params).fetchall()
