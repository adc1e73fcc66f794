"""The `postgres` engine: specs computed inside PostgreSQL, only aggregates fetched.

The session is read-only (`default_transaction_read_only`), has a statement timeout
and runs in UTC, so `date_trunc` on dates and timestamps cuts periods exactly as
DuckDB does. psycopg (3) is imported only when a postgres dataset is used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from cxengine import hookimpl
from cxengine.engines.api import NotPortable, RelationOptions
from cxengine.errors import DataError

if TYPE_CHECKING:
    import sqlglot
    from sqlglot import exp
else:  # a built-in plugin: registering it must not import sqlglot (see cxengine/lazy.py)
    from cxengine.lazy import exp, sqlglot

#: PostgreSQL type names (pg_type.typname) → cxengine column kinds.
TYPE_KINDS = {
    "int2": "int",
    "int4": "int",
    "int8": "int",
    "float4": "float",
    "float8": "float",
    "numeric": "decimal",
    "bool": "bool",
    "timestamp": "timestamp",
    "timestamptz": "timestamptz",
    "date": "date",
    "text": "text",
    "varchar": "text",
    "bpchar": "text",
    "name": "text",
}


class PostgresOptions(RelationOptions):
    """A PostgreSQL dataset: `dsn_env` names the variable with a libpq connection string."""


class PostgresSession:
    """A read-only psycopg connection."""

    def __init__(self, dsn: str, timeout_s: float):
        import psycopg

        self._con = psycopg.connect(
            dsn,
            autocommit=True,
            options=(
                "-c default_transaction_read_only=on "
                f"-c statement_timeout={int(timeout_s * 1000)} -c TimeZone=UTC"
            ),
        )

    def schema(self, relation: str) -> dict[str, str]:
        with self._con.cursor() as cur:
            cur.execute(f"SELECT * FROM {relation} AS _cx_probe LIMIT 0")
            oids = [(d.name, d.type_code) for d in cur.description or []]
            names = {}
            if oids:
                cur.execute(
                    "SELECT oid, typname FROM pg_type WHERE oid = ANY(%s)",
                    ([o for _, o in oids],),
                )
                names = {oid: typ for oid, typ in cur.fetchall()}
        return {col: TYPE_KINDS.get(names.get(oid, ""), "other") for col, oid in oids}

    def fetch(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        with self._con.cursor() as cur:
            cur.execute(sql)
            names = [d.name for d in cur.description or []]
            return names, list(cur.fetchall())

    def close(self) -> None:
        self._con.close()


class PostgresEngine:
    """PostgreSQL 12+ through psycopg 3."""

    name = "postgres"
    description = "PostgreSQL: specs run in the database, read-only, only aggregates fetched"
    dialect = "postgres"
    options_model: type[BaseModel] = PostgresOptions
    functions = frozenset({"date_trunc", "grouping"})

    def connect(self, dsn: str | None, options: BaseModel) -> PostgresSession:
        if not dsn:
            raise DataError("a postgres dataset needs a connection string in its `dsn_env`")
        assert isinstance(options, RelationOptions)
        return PostgresSession(dsn, options.statement_timeout)

    def rewrite(self, node: exp.Expression) -> exp.Expression:
        from cxengine.engines.render import INLINE
        from cxengine.engines.rollup import FINE_ROWS

        if isinstance(node, exp.CTE) and node.meta.get(INLINE):
            # PostgreSQL copies a table expression used twice into a work table (all
            # rows, every column): inlined, each use scans with its own filter.
            node.set("materialized", False)
            return node
        if isinstance(node, exp.Subquery) and node.meta.get(FINE_ROWS):
            # The rows a roll-up groups first (cxengine/engines/rollup.py). PostgreSQL
            # guesses the groups of `date_trunc('month', t)` as the distinct values
            # of t (every row), so it sorts them all on disk instead of hashing a few
            # dozen groups. Behind OFFSET 0 the subquery is planned on its own and
            # its computed columns get the default guess (200 values each): it hashes.
            # The subquery keeps its WHERE, so filters still reach the table's scan.
            select = node.this
            if isinstance(select, exp.Select) and select.args.get("offset") is None:
                select.set("offset", exp.Offset(expression=exp.Literal.number(0)))
            return node
        if isinstance(node, exp.Anonymous) and node.name.lower() == "date_diff":
            return _date_diff(node)
        if isinstance(node, exp.Anonymous) and node.name.lower() == "arg_min":
            return _arg_min(*node.expressions)
        if isinstance(node, exp.Anonymous) and node.name.lower() in {"list_extract", "list_slice"}:
            raise NotPortable(f"{node.name}() (order statistics) has no rendering on postgres")
        return node


def _date_diff(node: exp.Anonymous) -> exp.Expression:
    """date_diff('microsecond', a, b) → EXTRACT(EPOCH FROM b - a) * 1e6, exact to the µs."""
    unit, start, end = node.expressions
    if not (isinstance(unit, exp.Literal) and unit.name.lower() == "microsecond"):
        raise NotPortable(f"date_diff({unit.sql()}, …) has no rendering on postgres")
    seconds = exp.Extract(
        this=exp.var("EPOCH"), expression=exp.Paren(this=exp.Sub(this=end, expression=start))
    )
    return exp.Mul(this=seconds, expression=exp.Literal.number(1_000_000))


def _arg_min(value: exp.Expression, by: exp.Expression) -> exp.Expression:
    from cxengine.engines.render import portable

    """arg_min(v, t) → (ARRAY_AGG(v ORDER BY t) FILTER (WHERE t IS NOT NULL))[1].

    DuckDB's arg_min skips rows whose t is NULL and returns NULL when none is left.
    """
    template = sqlglot.parse_one(
        "(ARRAY_AGG(__v ORDER BY __t NULLS LAST) FILTER (WHERE __t IS NOT NULL))[1]",
        read="postgres",
    )

    def fill(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and node.name in ("__v", "__t"):
            return (value if node.name == "__v" else by).copy()
        return node

    out = template.transform(fill)
    for agg in out.find_all(exp.ArrayAgg):
        portable(agg)
    return out


@hookimpl
def register_engines(register: Callable[..., None]) -> None:
    """Register the postgres engine."""
    register(PostgresEngine())
