"""What an engine plugin provides: a connection to a database that computes specs itself.

A dataset normally goes into cxengine's embedded DuckDB. A dataset that names an
``engine:`` (postgres, spark, or one a plugin registers) stays where it lives: every
spec over it is rendered with sqlglot in the engine's dialect and runs there, and only
aggregate rows come back. These are structural protocols, like `cxengine.interfaces`:
an engine plugin implements the attributes and methods, it inherits nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    from sqlglot import exp

#: The engine every dataset without an ``engine:`` key uses: cxengine's own DuckDB.
EMBEDDED = "duckdb"

#: Column kinds a session reports for a relation's columns (`EngineSession.schema`).
COLUMN_KINDS = ("text", "int", "float", "decimal", "bool", "timestamp", "timestamptz", "date")


class NotPortable(Exception):
    """A spec needs SQL this engine has no faithful rendering for.

    Raised while rendering, so `cxengine validate` refuses the spec for that engine
    with this message instead of the engine computing something different.
    """


class RelationOptions(BaseModel):
    """Where an engine dataset's rows are: a table, or a read-only query."""

    model_config = ConfigDict(extra="forbid")

    dsn_env: str | None = Field(
        None,
        description="environment variable holding the connection string; the value is "
        "read at run time and never written to the results, logs or error messages",
    )
    table: str | None = Field(None, description="a table or view, e.g. cx.responses")
    query: str | None = Field(None, description="a read-only SELECT giving the rows")
    statement_timeout: float = Field(
        600.0, gt=0, description="seconds one query may run before the engine cancels it"
    )

    @model_validator(mode="after")
    def _one_relation(self) -> RelationOptions:
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of `table` or `query`")
        return self


@runtime_checkable
class EngineSession(Protocol):
    """An open, read-only connection to an engine."""

    def schema(self, relation: str) -> dict[str, str]:
        """Return each column of a relation (SQL text) with its kind (see COLUMN_KINDS).

        A column of any other type is reported as "other" and read only as text.
        """
        ...

    def fetch(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run one query and return its column names and rows (Python values)."""
        ...

    def close(self) -> None:
        """Close the connection (called once, also after an error)."""
        ...


#: A session may also have ``bind(relation: str) -> str``: resolve a dataset's
#: relation (a table name or a parenthesised SELECT, as SQL text) once for the run and
#: return the name every later query reads it by (Spark: a temporary view, dropped on
#: close). Without it, each query names the relation itself. Optional: not part of
#: the protocol, so an engine plugin written before it still satisfies EngineSession.
#: And ``missing_functions: frozenset[str]``: functions of the engine's `functions`
#: that this server's version lacks (Spark before 4.2: min_by with a count).


@runtime_checkable
class Engine(Protocol):
    """An engine plugin: how to connect and how to render SQL for it."""

    name: str
    description: str
    #: sqlglot dialect the engine's SQL is written in ("postgres", "spark", …).
    dialect: str
    #: pydantic model of a dataset's engine options (RelationOptions or a subclass).
    options_model: type[BaseModel]

    def connect(self, dsn: str | None, options: BaseModel) -> EngineSession:
        """Open a read-only session; `dsn` is the value of the `dsn_env` variable."""
        ...

    def rewrite(self, node: exp.Expression) -> exp.Expression:
        """Return `node` rewritten for the engine, or raise NotPortable.

        Called on every node of a query before it is rendered (sqlglot's `transform`):
        replace functions the dialect spells differently, refuse those it lacks.
        """
        ...


def secrets_of(dsn: str | None) -> Sequence[str]:
    """Return the texts of a connection string that must never be shown: it, its password."""
    if not dsn:
        return ()
    out = [dsn]
    from urllib.parse import urlsplit

    try:
        password = urlsplit(dsn).password
    except ValueError:
        password = None
    if password:
        out.append(password)
    for part in dsn.split():
        key, _, value = part.partition("=")
        if key.strip().lower() == "password" and value:
            out.append(value.strip("'\""))
    return [s for s in out if s]


def redact(text: str, secrets: Sequence[str]) -> str:
    """Replace every secret in `text` by ***, longest first."""
    for s in sorted(secrets, key=len, reverse=True):
        text = text.replace(s, "***")
    return text
