"""Computing one spec inside its dataset's engine: the spec's Plan, rendered there.

The same Plan the embedded DuckDB runs (cxengine/compute/plan.py) and the same query
builder (cxengine/compute/query.py): filter, exclusions, periods, GROUPING SETS and
the kind's counts are one sqlglot expression, rendered in the engine's dialect by
`cxengine.engines.render`. What differs is only where the rows are: the dataset's
typed rows, a calendar kind's windows and a prepared kind's table are common table
expressions of the query (a read-only session cannot create temporary tables). Only
the grouped rows come back; the same code as the embedded run turns them into values
and completes them. Excluded values are counted in the engine (each value's
`excluded`); at most `EXAMPLES` of each reason are fetched as rejects.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlglot import exp

from cxengine.compute import completion, merged
from cxengine.compute import engine as core
from cxengine.compute.plan import Plan, plan_spec
from cxengine.compute.pooled import pool_periods
from cxengine.compute.query import build_query
from cxengine.compute.sqlparts import PERIOD_COL, WINDOW_END, WINDOW_START, column, table_ref
from cxengine.compute.values import ExcludedValue, MetricValue, SpecResult
from cxengine.dataset.fieldtypes import NATIVE_TYPE
from cxengine.engines.relation import EXAMPLES, ROW, EngineDataset
from cxengine.engines.render import INLINE
from cxengine.interfaces import Exclusion, Kind
from cxengine.spec.models import MetricSpec

Windows = list[tuple[date | None, datetime, datetime]]


def compute_spec(dataset: EngineDataset, spec: MetricSpec, kind: Kind) -> SpecResult:
    """Run one spec in the dataset's engine and return its values and excluded examples."""
    dataset = banded(dataset, spec)
    plan = plan_spec(spec, kind, dataset.table, dataset.fields, dataset.zones)
    source_excluded: list[ExcludedValue] = []
    if plan.prepare is not None:
        # A kind counting entities built from the rows (customers): its reshaping is
        # one more common table expression; filter and exclusions apply to the rows.
        name = f"_cx_prepared_{spec.name}"
        probe = with_tables(exp.select(exp.Star()).from_(table_ref(name)),
                            [*dataset.tables(), (name, plan.prepare)])  # fmt: skip
        kinds = dataset.schema_of(probe)
        types = {col: NATIVE_TYPE.get(k, "string") for col, k in kinds.items()}
        source_excluded = _examples(dataset, [(plan.exclusions, plan.where)])
        view = dataset.view(name, plan.prepare, types, same_rows=False)
        result = run_plan(view, plan.over_prepared(name, types))
        return SpecResult(spec, result.values, source_excluded + result.excluded)
    return run_plan(dataset, plan)


def compute_together(
    dataset: EngineDataset, specs: Sequence[tuple[MetricSpec, Kind]]
) -> dict[str, SpecResult]:
    """Compute, one grouped query per group, the specs that can share one.

    Returns each computed spec's result by name, the same `compute_spec` gives it
    alone: the merged row of a group is split back into each plan's own row, made
    into values by the same code. A spec left out (band slices, a prepared or
    calendar kind, a grouping no other spec has) is for `compute_spec`. An error
    is raised as is: the caller then computes each spec on its own.
    """
    plans: list[Plan] = []
    for spec, kind in specs:
        if spec.bands:
            continue  # its band labels are a view of its own
        plan = plan_spec(spec, kind, dataset.table, dataset.fields, dataset.zones)
        if merged.mergeable(plan):
            plans.append(plan)
    out: dict[str, SpecResult] = {}
    for group in merged.group_plans(plans):
        if len(group) < 2:
            continue
        members = [plans[i] for i in group]
        for plan, result in zip(members, run_merged(dataset, members), strict=True):
            out[plan.spec.name] = result
    return out


def run_merged(dataset: EngineDataset, plans: Sequence[Plan]) -> list[SpecResult]:
    """Run plans of one `merged.merge_key` as one grouped query, then their examples."""
    query = merged.build_merged_query(plans)
    names, rows = dataset.fetch(with_tables(query, dataset.tables()))
    own: list[list[dict[str, Any]]] = [[] for _ in plans]
    for row in rows:
        for j, part in enumerate(merged.split_row(dict(zip(names, row, strict=True)), len(plans))):
            own[j].append(part)
    values = [core._values_of(plan, own[j]) for j, plan in enumerate(plans)]
    parts = [_example_parts(dataset, plan, v) for plan, v in zip(plans, values, strict=True)]
    excluded = _examples_of(dataset, parts)
    return [core._finish(plan, v, e) for plan, v, e in zip(plans, values, excluded, strict=True)]


def banded(dataset: EngineDataset, spec: MetricSpec) -> EngineDataset:
    """The dataset with a label column per band slice of the spec (as cxengine/bands.py)."""
    if not spec.bands:
        return dataset
    cols: list[exp.Expr] = [exp.Star()]
    types = dict(dataset.fields)
    for name, band in spec.bands.items():
        cols.append(exp.alias_(band.expression(column(band.field)), name, quoted=True))
        types[name] = "string"
    select = exp.select(*cols).from_(table_ref(dataset.table))
    return dataset.view(f"_cx_banded_{spec.name}", select, types, same_rows=True)


def run_plan(dataset: EngineDataset, plan: Plan) -> SpecResult:
    """As `cxengine.compute.engine.run_plan`, every query rendered for the engine."""
    spec, kind = plan.spec, plan.kind
    windows: Windows | None = None
    windows_name = f"_cx_windows_{spec.name}"
    if plan.calendar:
        windows = _windows(dataset, plan)
    values: list[MetricValue] = []
    if windows is not None or not plan.calendar:
        query = build_query(plan, windows_name if windows is not None else None)
        ctes = dataset.tables()
        if windows is not None:
            ctes.append((windows_name, _windows_select(windows)))
        names, rows = dataset.fetch(with_tables(query, ctes))
        for row in rows:
            values.extend(core._to_values(spec, kind, dict(zip(names, row, strict=True))))
        values.extend(completion.missing_categories(spec, kind, values))
        if windows is not None:
            every = _data_slices(dataset, spec, plan.where)
            periods = _Periods([w[0] for w in windows])
            values.extend(
                completion.missing_windows(periods, plan, windows_name, values, every)  # type: ignore[arg-type]
            )
    if plan.pools_periods:
        values = pool_periods(spec, kind, values)
    if spec.period != "none" and not plan.calendar:
        values.extend(core._empty_periods(spec, values))
    values.sort(key=core._order)
    excluded = _examples(dataset, _example_parts(dataset, plan, values))
    return SpecResult(spec, values, excluded)


Parts = list[tuple[Sequence[Exclusion], exp.Expression | None]]


def _example_parts(dataset: EngineDataset, plan: Plan, values: Sequence[MetricValue]) -> Parts:
    """The exclusions of a plan to fetch examples of, each with the rows it applies to.

    Only those that excluded something: nothing excluded anywhere (the usual case)
    asks no query; rows without a time are none when the field has no empty value.
    """
    exclusions = plan.exclusions if any(v.excluded for v in values) else []
    dropped = [ex for ex in plan.dropped if dataset.nulls.get(ex.field) != 0]
    return [(dropped, plan.where), (exclusions, plan.keep)]


def with_tables(query: exp.Select, tables: Sequence[tuple[str, exp.Expression]]) -> exp.Select:
    """Return `query` with each (name, select) as a common table expression."""
    out = query.copy()
    ctes = []
    for name, select in tables:
        cte = exp.CTE(
            this=select.copy(), alias=exp.TableAlias(this=exp.to_identifier(name, quoted=True))
        )
        # Rows to read where they are, never to copy: an engine that would materialise
        # a table expression used twice inlines it instead (PostgreSQL: NOT MATERIALIZED).
        cte.meta[INLINE] = True
        ctes.append(cte)
    out.set("with_", exp.With(expressions=ctes))
    return out


class _Periods:
    """The windows' periods, answering the one query `completion.missing_windows` makes."""

    def __init__(self, periods: list[date | None]):
        self.periods = periods

    def execute(self, _sql: str) -> _Periods:
        return self

    def fetchall(self) -> list[tuple[date | None]]:
        return [(p,) for p in self.periods]


def _data_slices(
    dataset: EngineDataset, spec: MetricSpec, where: exp.Expression | None
) -> list[dict[str, Any]]:
    """Each distinct slice of the rows the spec reads (as the embedded `_data_slices`)."""
    if not spec.by:
        return []
    q = exp.select(*(column(b) for b in spec.by)).distinct().from_(table_ref(dataset.table))
    if where is not None:
        q = q.where(where.copy())
    _, rows = dataset.fetch(with_tables(q, dataset.tables()))
    return [{b: core._jsonable(v) for b, v in zip(spec.by, row, strict=True)} for row in rows]


def _windows(
    dataset: EngineDataset, plan: Plan
) -> list[tuple[date | None, datetime, datetime]] | None:
    """Return the calendar windows of a spec, cut by the embedded engine's own code."""
    spec, zones = plan.spec, plan.ctx.field_zones
    query = core.window_bounds(spec, dataset.table, plan.calendar, plan.where, zones)
    row = dataset.bounds(with_tables(query, dataset.tables()))
    return core.cut_windows(spec, plan.calendar, zones, row)


def _windows_select(rows: Sequence[tuple[date | None, datetime, datetime]]) -> exp.Expression:
    """The windows as SELECT … UNION ALL SELECT …: portable where VALUES types are not."""
    selects: list[exp.Select] = []
    for period, start, end in rows:
        selects.append(
            exp.select(
                exp.alias_(_typed(period, "DATE"), PERIOD_COL, quoted=True),
                exp.alias_(_typed(start, "TIMESTAMP"), WINDOW_START, quoted=True),
                exp.alias_(_typed(end, "TIMESTAMP"), WINDOW_END, quoted=True),
            )
        )
    out: exp.Expression = selects[0]
    for s in selects[1:]:
        out = exp.union(out, s, distinct=False)
    return out


def _typed(value: date | datetime | None, type_: str) -> exp.Expression:
    text = (
        exp.Null()
        if value is None
        else exp.Literal.string(
            value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
        )
    )
    return exp.Cast(this=text, to=exp.DataType.build(type_))


def _examples(dataset: EngineDataset, parts: Parts) -> list[ExcludedValue]:
    """Fetch up to EXAMPLES excluded values per reason of one spec, in one query."""
    return _examples_of(dataset, [parts])[0]


def _examples_of(dataset: EngineDataset, specs: Sequence[Parts]) -> list[list[ExcludedValue]]:
    """Fetch up to EXAMPLES excluded values per reason of each spec, in one query.

    Their counts are in the values (`excluded`); only examples become rejects. Specs
    often exclude by the same condition (CSAT and its mean, the same out-of-scale
    answers): each distinct condition is read once.
    """
    wanted = [
        (j, ex, where)
        for j, parts in enumerate(specs)
        for exclusions, where in parts
        for ex in exclusions
    ]
    out: list[list[ExcludedValue]] = [[] for _ in specs]
    if not wanted:
        return out
    index: dict[str, int] = {}
    reasons: list[tuple[str, exp.Expression]] = []
    of_item: list[int] = []
    for _, ex, where in wanted:
        cond: exp.Expression = exp.Paren(this=ex.predicate.copy())
        if where is not None:
            cond = exp.And(this=exp.Paren(this=where.copy()), expression=cond)
        text = f"{ex.field}\n{cond.sql(dialect='duckdb')}"
        if text not in index:
            index[text] = len(reasons)
            reasons.append((ex.field, cond))
        of_item.append(index[text])
    found = [sorted(f, key=lambda r: str(r[0])) for f in _rows_by_branch(dataset, reasons)]
    for i, (j, ex, _) in enumerate(wanted):
        for key, value in found[of_item[i]]:
            dataset.locators.append(_locator(dataset, key))
            out[j].append(ExcludedValue(len(dataset.locators) - 1, ex.field, value, ex.reason))
    return out


def _rows_by_branch(
    dataset: EngineDataset, reasons: Sequence[tuple[str, exp.Expression]]
) -> list[list[tuple[Any, Any]]]:
    """Each reason's first EXAMPLES rows by key: (key, the field's value as text).

    One query, a top-N branch per reason (a bounded top-N each, not a sort of every
    excluded row as a window over them would be). One scan of the rows for every
    reason would need a row per (row, reason) to rank: a sort of every excluded row.
    """
    branches: list[exp.Select] = []
    for i, (field_name, cond) in enumerate(reasons):
        top = (
            exp.select(
                exp.alias_(exp.Literal.number(i), "_cx_reason", quoted=True),
                column(ROW),
                exp.alias_(
                    exp.Cast(this=column(field_name), to=exp.DataType.build("VARCHAR")),
                    "_cx_value", quoted=True,
                ),
            )
            .from_(table_ref(dataset.table))
            .where(cond.copy())
            .order_by(column(ROW))
            .limit(EXAMPLES)
        )  # fmt: skip
        branches.append(
            exp.select(exp.Star()).from_(
                exp.alias_(exp.Subquery(this=top), f"_cx_reason_{i}", table=True)
            )
        )
    q: exp.Select = branches[0]
    for other in branches[1:]:
        q = exp.union(q, other, distinct=False)  # type: ignore[assignment]
    _, rows = dataset.fetch(with_tables(q, dataset.tables()))
    found: list[list[tuple[Any, Any]]] = [[] for _ in reasons]
    for reason, key, value in rows:
        found[int(reason)].append((key, value))
    return found


def _locator(dataset: EngineDataset, key: Any) -> str:
    return (
        f"{dataset.key}={key}" if dataset.key else f"{dataset.origin} (no `key:` to locate the row)"
    )
