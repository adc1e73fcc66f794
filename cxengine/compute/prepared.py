"""Kinds that reshape their rows before counting: events → customer runs, orders → buyers.

Some metrics are not a grouped count over the dataset's rows but over entities built
from them: retention from activity events needs one row per customer relationship,
repeat purchase from orders one row per buyer. Such a kind offers the optional
capability ``prepare(spec, source) -> exp.Select | None``: a query over the filtered,
usable source rows. The engine materialises it as a temporary table and computes the
spec over that table exactly like any other (periods, slices, GROUPING SETS roll-ups),
asking the kind for ``prepared_fields(spec)`` instead of ``fields(spec)``.

The spec's filter and the kind's exclusions apply to the source rows, before the
reshaping; excluded source rows are stored as rejects with their own locators.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from cxengine.compute import engine
from cxengine.dataset.fieldtypes import NATIVE_TYPE, base_type
from cxengine.expr import parse_filter
from cxengine.interfaces import Aggregation, CompileContext
from cxengine.spec.models import MetricSpec

if TYPE_CHECKING:
    import duckdb


class _PreparedView:
    """The kind as seen by the engine once its rows are prepared: no second reshaping."""

    def __init__(self, aggregation: Aggregation):
        self._agg = aggregation

    def fields(self, spec: MetricSpec) -> dict[str, tuple[str, ...]]:
        return dict(self._agg.prepared_fields(spec))  # type: ignore[attr-defined]

    def exclusions(self, spec: MetricSpec, ctx: CompileContext) -> list[Any]:
        return []  # applied to the source rows already

    def __getattr__(self, name: str) -> Any:
        if name == "prepare":
            raise AttributeError(name)
        return getattr(self._agg, name)


def compute_prepared(
    con: duckdb.DuckDBPyConnection,
    spec: MetricSpec,
    aggregation: Aggregation,
    table: str,
    field_types: Mapping[str, str],
) -> engine.SpecResult | None:
    """Compute a spec over its kind's prepared rows; None when the kind needs no reshaping."""
    ctx = engine.CompileContext(spec=spec, column=engine.column, field_types=field_types)
    columns = list(field_types) or None
    user_where = parse_filter(spec.where, columns=columns) if spec.where else None
    exclusions = list(aggregation.exclusions(spec, ctx))
    source = exp.select(exp.Star()).from_(engine.table_ref(table))
    if user_where is not None:
        source = source.where(exp.Paren(this=user_where.copy()))
    if exclusions:
        source = source.where(exp.Not(this=engine._any([e.predicate for e in exclusions])))
    query = aggregation.prepare(spec, source)  # type: ignore[attr-defined]
    if query is None:
        return None
    name = f"_cx_prepared_{spec.name}"
    con.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS {query.sql(dialect="duckdb")}')
    described = con.execute(f'DESCRIBE "{name}"').fetchall()
    types = {row[0]: NATIVE_TYPE.get(base_type(str(row[1])), "string") for row in described}
    inner = spec.model_copy(update={"where": None})
    result = engine.compute_spec(con, inner, _PreparedView(aggregation), name, types)
    excluded = engine._excluded_rows(con, table, exclusions, user_where)
    return engine.SpecResult(spec, result.values, excluded + result.excluded)
