"""Rendering a sqlglot query for an engine, refusing what it cannot run faithfully.

The specs compile to sqlglot expressions written for DuckDB. sqlglot transpiles the
typed nodes (CAST, COUNT … FILTER, GROUPING SETS, CASE); functions it keeps as
anonymous calls (date_trunc, date_diff, GROUPING, list functions) are the engine's
to rewrite. Whatever is left that the engine does not declare is refused: a spec
either runs with the same meaning or not at all.
"""

from __future__ import annotations

from sqlglot import exp

from cxengine.engines.api import Engine, NotPortable

#: Typed sqlglot nodes whose meaning differs between engines (list aggregates, the
#: order statistics a quantile interval reads): refused unless the engine lists them
#: in its `supports`.
REFUSED: tuple[type[exp.Expression], ...] = (
    exp.ArrayAgg,
    exp.ArraySort,
    exp.ArraySlice,
    exp.PercentileCont,
    exp.PercentileDisc,
    exp.Quantile,
    exp.ApproxQuantile,
    exp.Explode,
    exp.Unnest,
)

PORTABLE = "cx_portable"
#: Meta flag of a common table expression holding rows to read in place (not copy).
INLINE = "cx_inline"

#: Anonymous functions with the same name and meaning in DuckDB and every engine
#: cxengine ships (standard SQL). An engine adds its own in `functions`.
PORTABLE_FUNCTIONS = frozenset(
    {"coalesce", "nullif", "lower", "upper", "abs", "row_number", "replace", "lag", "lead"}
)


def render(engine: Engine, expression: exp.Expression) -> str:
    """Return the SQL of `expression` for `engine`, or raise NotPortable."""
    out = rewrite_all(expression.transform(_duckdb_null_order), engine)  # a copy
    allowed = PORTABLE_FUNCTIONS | frozenset(getattr(engine, "functions", frozenset()))
    supports = tuple(getattr(engine, "supports", ()))
    for node in out.walk():
        if isinstance(node, exp.Anonymous) and node.name.lower() not in allowed:
            raise NotPortable(
                f"the function {node.name}() has no rendering on engine {engine.name!r}"
            )
        if (
            isinstance(node, REFUSED)
            and not isinstance(node, supports)
            and not node.meta.get(PORTABLE)
        ):
            what = node.key.upper()
            raise NotPortable(
                f"{what} (used for order statistics / list aggregates) has no faithful "
                f"rendering on engine {engine.name!r}"
            )
    return out.sql(dialect=engine.dialect)


def rewrite_all(expression: exp.Expression, engine: Engine) -> exp.Expression:
    """Apply `engine.rewrite` to every node, also inside the nodes a rewrite returns.

    sqlglot's `transform` does not descend into a node the function replaced, so a
    rewrite wrapping its operand (AT TIME ZONE → from_utc_timestamp(x, z)) would leave
    x unrewritten; passes repeat until no node is replaced (rewrites are idempotent).
    """
    for _ in range(_MAX_PASSES):
        replaced = False

        def once(node: exp.Expression) -> exp.Expression:
            nonlocal replaced
            new = engine.rewrite(node)
            replaced = replaced or new is not node
            return new

        expression = expression.transform(once, copy=False)
        if not replaced:
            return expression
    raise NotPortable(f"engine {engine.name!r}: its rewrite does not settle on this query")


_MAX_PASSES = 20


def _duckdb_null_order(node: exp.Expression) -> exp.Expression:
    # The kinds are written for DuckDB, where NULLs sort last in either direction;
    # PostgreSQL puts them first when descending, Spark first when ascending.
    if isinstance(node, exp.Ordered) and node.args.get("nulls_first") is None:
        node.set("nulls_first", False)
    return node


def portable(node: exp.Expression) -> exp.Expression:
    """Mark a node an engine's rewrite built on purpose (a list aggregate that is exact)."""
    node.meta[PORTABLE] = True
    return node


def anonymous_name(node: exp.Expression) -> str | None:
    """Return the lower-case name of an anonymous function call, else None."""
    return node.name.lower() if isinstance(node, exp.Anonymous) else None
