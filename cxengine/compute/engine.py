"""Compute one spec: spec + kind → Plan → SQL → rows → values.

plan.py decides what to compute (the kind supplies counts and estimate through its
declared contracts; the plan adds filter, exclusions, periods and slices), query.py
turns the plan into SQL with sqlglot, and this module runs it on DuckDB and turns the
rows into values. What a kind can do beyond counting is declared by the protocols of
cxengine/interfaces.py, asked with `isinstance`:

- a `PreparedKind` counts a table of its own, built from the rows (prepared.py);
- a `CalendarKind` counts rows against time windows;
- a `PooledKind` pools its periods into the all-periods value (pooled.py);
- a `CategoricalKind` gives one value per category, and its absent categories and
  windows without rows are filled in (completion.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from cxengine.compute import completion, merged
from cxengine.compute.periods import (
    MAX_FILLED_PERIODS,
    local_time,
    next_period_or_none,
    period_count,
    period_floor,
    to_instant,
)
from cxengine.compute.plan import Plan, plan_spec
from cxengine.compute.pooled import pool_periods
from cxengine.compute.prepared import materialise
from cxengine.compute.query import COUNT_PREFIX, build_query
from cxengine.compute.sqlparts import (
    PERIOD_COL,
    ROW_COL,
    WINDOW_END,
    WINDOW_START,
    column,
    table_ref,
)
from cxengine.compute.values import (
    DEFAULT_MIN_N,
    ExcludedValue,
    MetricValue,
    SpecResult,
    is_low_sample,
)
from cxengine.interfaces import CategoricalKind, CategoryCounts, Estimate, Exclusion, Kind
from cxengine.spec.models import MetricSpec

if TYPE_CHECKING:
    import duckdb

# Names other modules (tests, benches, plugins) import from here.
__all__ = [
    "DEFAULT_MIN_N",
    "PERIOD_COL",
    "ROW_COL",
    "WINDOW_END",
    "WINDOW_START",
    "ExcludedValue",
    "MetricValue",
    "Plan",
    "SpecResult",
    "build_query",
    "column",
    "compute_spec",
    "is_low_sample",
    "plan_spec",
    "run_plan",
    "run_plans",
    "table_ref",
]


def compute_spec(
    con: duckdb.DuckDBPyConnection,
    spec: MetricSpec,
    kind: Kind,
    table: str,
    field_types: Mapping[str, str],
    field_zones: Mapping[str, str] | None = None,
) -> SpecResult:
    """Run one spec over a loaded dataset table and return its values and exclusions."""
    plan = plan_spec(spec, kind, table, field_types, field_zones)
    source_excluded: list[ExcludedValue] = []
    if plan.prepare is not None:
        # The kind counts entities built from the rows (customer runs, buyers): its
        # filter and exclusions applied to the source rows, which are the rejects.
        prepared, types = materialise(con, plan)
        source_excluded = excluded_rows(con, table, plan.exclusions, plan.where)
        plan = plan.over_prepared(prepared, types)
    result = run_plan(con, plan)
    return SpecResult(spec, result.values, source_excluded + result.excluded)


def run_plan(con: duckdb.DuckDBPyConnection, plan: Plan) -> SpecResult:
    """Run a plan's grouped query and return its values, completed, and its exclusions."""
    spec = plan.spec
    windows: str | None = None
    if plan.calendar:
        windows = _make_windows(
            con, spec, plan.table, plan.calendar, plan.where, plan.ctx.field_zones
        )
    values: list[MetricValue] = []
    if windows is not None or not plan.calendar:
        query = build_query(plan, windows)
        values = _values_of(plan, _dict_rows(con, query))
        if windows is not None:
            # Every slice of the data, also one never open at any window's end: its
            # backlog is 0 in every period, not absent (docs/kinds/backlog.md).
            every = _data_slices(con, spec, plan.table, plan.where)
            values.extend(completion.missing_windows(con, plan, windows, values, every))
    excluded = excluded_rows(con, plan.table, plan.dropped, plan.where) + excluded_rows(
        con, plan.table, plan.exclusions, plan.keep
    )
    return _finish(plan, values, excluded)


def run_plans(con: duckdb.DuckDBPyConnection, plans: Sequence[Plan]) -> list[SpecResult]:
    """Run several plans, those that can share a grouped query in one (compute/merged.py).

    Each result is the one `run_plan` gives that plan alone: the same rows make the
    same counts, turned into values by the same code. A plan that cannot share
    (calendar, pooled) runs alone. Plans as `run_plan` takes them: a prepared kind's
    first plan goes through `compute_spec`.
    """
    results: list[SpecResult | None] = [None] * len(plans)
    for group in merged.group_plans(plans):
        if len(group) == 1:
            results[group[0]] = run_plan(con, plans[group[0]])
            continue
        members = [plans[i] for i in group]
        rows = _dict_rows(con, merged.build_merged_query(members))
        own: list[list[dict[str, Any]]] = [[] for _ in members]
        for row in rows:
            for j, part in enumerate(merged.split_row(row, len(members))):
                own[j].append(part)
        excluded = _excluded_together(con, members)
        for j, i in enumerate(group):
            results[i] = _finish(plans[i], _values_of(plans[i], own[j]), excluded[j])
    return [r for r in results if r is not None]


def _dict_rows(con: duckdb.DuckDBPyConnection, query: exp.Select) -> list[dict[str, Any]]:
    cursor = con.execute(query.sql(dialect="duckdb"))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _values_of(plan: Plan, rows: Sequence[dict[str, Any]]) -> list[MetricValue]:
    """Turn a plan's grouped rows into values, with the categories no row has."""
    values: list[MetricValue] = []
    for row in rows:
        values.extend(_to_values(plan.spec, plan.kind, row))
    # Groups without a row of their own (a category absent from one slice, a
    # window nothing overlaps) still get their value: 0 %, a backlog of 0, …
    values.extend(completion.missing_categories(plan.spec, plan.kind, values))
    return values


def _finish(plan: Plan, values: list[MetricValue], excluded: list[ExcludedValue]) -> SpecResult:
    """Pool, fill empty periods and order a plan's values."""
    spec = plan.spec
    if plan.pools_periods:
        # A rate per period (churn): the all-periods value pools the periods' counts.
        values = pool_periods(spec, plan.kind, values)
    if spec.period != "none" and not plan.calendar:
        values.extend(_empty_periods(spec, values))
    values.sort(key=_order)
    return SpecResult(spec, values, excluded)


def _excluded_together(
    con: duckdb.DuckDBPyConnection, plans: Sequence[Plan]
) -> list[list[ExcludedValue]]:
    """Every plan's excluded rows from one scan of their (shared) table."""
    out: list[list[ExcludedValue]] = [[] for _ in plans]
    items = merged.exclusion_items(plans)
    if not items:
        return out
    fields = list(dict.fromkeys(item.exclusion.field for item in items))
    value_at = {name: 1 + len(items) + k for k, name in enumerate(fields)}
    rows = con.execute(
        merged.excluded_query(plans[0].table, items).sql(dialect="duckdb")
    ).fetchall()
    for i, item in enumerate(items):
        ex, at = item.exclusion, value_at[item.exclusion.field]
        out[item.plan].extend(
            ExcludedValue(int(row[0]), ex.field, row[at], ex.reason) for row in rows if row[1 + i]
        )
    return out


def _make_windows(
    con: duckdb.DuckDBPyConnection,
    spec: MetricSpec,
    table: str,
    fields: Sequence[str],
    where: exp.Expression | None,
    zones: Mapping[str, str] | None = None,
) -> str | None:
    """Create the table of time windows a calendar kind counts against; None if no data."""
    query = window_bounds(spec, table, fields, where, zones)
    row = con.execute(query.sql(dialect="duckdb")).fetchone() or ()
    rows = cut_windows(spec, fields, zones, row)
    if rows is None:
        return None
    name = f"_cx_windows_{spec.name}"
    con.execute(
        f'CREATE OR REPLACE TEMP TABLE "{name}" '
        f"({PERIOD_COL} DATE, {WINDOW_START} TIMESTAMP, {WINDOW_END} TIMESTAMP)"
    )
    con.executemany(f'INSERT INTO "{name}" VALUES (?, ?, ?)', rows)
    return name


def window_bounds(
    spec: MetricSpec,
    table: str,
    fields: Sequence[str],
    where: exp.Expression | None,
    zones: Mapping[str, str] | None = None,
) -> exp.Select:
    """The one-row query of the range a calendar kind's windows cover (`cut_windows`).

    Per field: the first and last wall-clock time in the spec's zone, then the first
    and last instant. Engines (cxengine/engines) run the same query in their dialect.
    """
    zones = zones or {}
    zone = zones.get(spec.time or fields[0]) if fields else None
    bounds = []
    for name in fields:
        as_ts = exp.Cast(this=column(name), to=exp.DataType.build("TIMESTAMP"))
        # A date field is a calendar day already; a datetime is an instant.
        local = exp.Cast(
            this=local_time(column(name), zone if name in zones else None),
            to=exp.DataType.build("TIMESTAMP"),
        )
        bounds += [exp.Min(this=local), exp.Max(this=local.copy())]
        bounds += [exp.Min(this=as_ts), exp.Max(this=as_ts.copy())]
    q = exp.select(*bounds).from_(table_ref(table))
    if where is not None:
        q = q.where(where.copy())
    return q


def cut_windows(
    spec: MetricSpec,
    fields: Sequence[str],
    zones: Mapping[str, str] | None,
    row: Sequence[Any],
) -> list[tuple[date | None, datetime, datetime]] | None:
    """Return the windows (period, start, end) over the range `window_bounds` found.

    Windows are cut on the wall clock of the spec's time field's zone (a day is
    midnight to midnight there) and stored as instants, as datetime fields are, so
    "older than 24h at the end of the day" is elapsed time across a DST change.
    None when there is no data.
    """
    zones = zones or {}
    zone = zones.get(spec.time or fields[0]) if fields else None
    # Out-of-range timestamps come back as text; the rest bound the windows.
    local_stamps = [v for i, v in enumerate(row) if i % 4 < 2 and isinstance(v, datetime)]
    instants = [v for i, v in enumerate(row) if i % 4 >= 2 and isinstance(v, datetime)]
    if not local_stamps or not instants:
        return None
    first, last = min(local_stamps), max(local_stamps)
    if spec.period != "none":
        span = period_count(spec.period, first.date(), last.date())
        if span > MAX_FILLED_PERIODS:
            # One item opened in year 1 must not make millions of windows: the latest
            # periods are kept (docs/reliability.md).
            first = datetime.combine(
                _periods_back(spec.period, last.date(), MAX_FILLED_PERIODS), datetime.min.time()
            )
    rows: list[tuple[date | None, datetime, datetime]] = []
    if spec.period == "none":
        rows.append((None, min(instants), max(instants) + timedelta(microseconds=1)))
    else:
        start = period_floor(spec.period, first.date())
        end_all = start
        while start <= last.date():
            following = next_period_or_none(spec.period, start)
            if following is None:  # the period of 9999-12-31 has no end Python can hold
                break
            end = following
            rows.append(
                (start, to_instant(_midnight(start), zone), to_instant(_midnight(end), zone))
            )
            end_all = end
            start = end
        if not rows:
            return None
        rows.append((None, rows[0][1], to_instant(_midnight(end_all), zone)))
    return rows


def _periods_back(grain: str, last: date, count: int) -> date:
    """Return the first day of the period `count - 1` periods before the one of `last`."""
    if grain in ("day", "week"):
        step = 1 if grain == "day" else 7
        return period_floor(grain, last) - timedelta(days=step * (count - 1))
    months = {"month": 1, "quarter": 3, "year": 12}[grain] * (count - 1)
    start = period_floor(grain, last)
    m = start.year * 12 + start.month - 1 - months
    return date(max(1, m // 12), m % 12 + 1, 1)


def _midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day)


def _to_values(spec: MetricSpec, kind: Kind, row: dict[str, Any]) -> list[MetricValue]:
    keys = [k for k in (PERIOD_COL, *spec.by) if k in row]
    grouping = int(row.get("_cx_grouping") or 0)
    # GROUPING() sets bit (len-1-i) when key i is rolled up in this row.
    rolled = {k: bool(grouping >> (len(keys) - 1 - i) & 1) for i, k in enumerate(keys)}
    period = None if PERIOD_COL not in row or rolled.get(PERIOD_COL) else row[PERIOD_COL]
    slice_ = {} if any(rolled.get(b) for b in spec.by) else {b: _jsonable(row[b]) for b in spec.by}
    counts = {
        k.removeprefix(COUNT_PREFIX): _plain(v)
        for k, v in row.items()
        if k.startswith(COUNT_PREFIX)
    }
    estimates = kind.estimate(spec, counts)
    # Stored counts are numbers (baselines and tests read them); lists and maps (order
    # statistics, a histogram) only feed the estimate.
    stored = {k: v for k, v in counts.items() if not isinstance(v, list | dict)}
    if isinstance(estimates, Estimate):
        per_slice = [(slice_, estimates, stored)]
    elif isinstance(kind, CategoricalKind):
        key = kind.category_key(spec)
        per_slice = [
            (
                {**slice_, key: category},
                est,
                dict(kind.category_counts(spec, counts, category))
                if isinstance(kind, CategoryCounts)
                else stored,
            )
            for category, est in estimates.items()
        ]
    else:
        raise TypeError(
            f"kind {kind.name!r} returned one estimate per category but declares no "
            "category_key (the CategoricalKind contract)"
        )
    return [
        MetricValue.from_estimate(
            spec,
            est,
            period=period,
            slice=sl,
            counts=own_counts,
            rows=int(row["_cx_rows"]),
            excluded=int(row["_cx_excluded_n"]),
        )
        for sl, est, own_counts in per_slice
    ]


def _empty_periods(spec: MetricSpec, values: list[MetricValue]) -> list[MetricValue]:
    """Return n = 0 values for the periods inside the data's range that have no rows.

    A trend line must show a gap as a gap: a month without answers is present with
    an empty value, for the overall series and for every slice seen in any period.
    """
    # DuckDB hands back dates outside Python's range (year 0, 10000) as text: such a
    # period cannot be filled around.
    periods = sorted({v.period for v in values if isinstance(v.period, date)})
    if not periods:
        return []
    span = period_count(spec.period, periods[0], periods[-1])
    if span > MAX_FILLED_PERIODS:
        # One row dated 0001-01-01 would otherwise fill millions of days (hang, memory).
        note = (
            f"empty periods not filled: the data spans {span:,} {spec.period}s "
            f"({periods[0]} to {periods[-1]}); check for a date out of range"
        )
        for i, v in enumerate(values):
            if v.period is None and not v.note:
                values[i] = dataclasses.replace(v, note=note)
        return []
    present = {(v.period, v.slice_key) for v in values}
    slices = {v.slice_key: v.slice for v in values if v.period is not None}
    out = []
    gap = Estimate(None, 0, note="no rows in this period")
    p: date | None = periods[0]
    while p is not None and p <= periods[-1]:
        for key, sl in slices.items():
            if (p, key) not in present:
                out.append(MetricValue.from_estimate(spec, gap, period=p, slice=sl, counts={}))
        p = next_period_or_none(spec.period, p)
    return out


def _order(v: MetricValue) -> tuple[Any, ...]:
    # A period DuckDB returned as text (a year Python cannot hold) sorts by its text.
    when = v.period if isinstance(v.period, date) else date.min
    text = "" if v.period is None or isinstance(v.period, date) else str(v.period)
    return (v.period is not None, when, text, bool(v.slice), v.slice_key)


def _plain(v: Any) -> float | int | None:
    if v is None:
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, list | tuple):
        # List aggregates (order statistics near a quantile's interval ranks).
        return [_plain(x) for x in v]  # type: ignore[return-value]
    if isinstance(v, dict):
        # Map aggregates (a histogram of categories).
        return {_jsonable(k): _plain(x) for k, x in v.items()}  # type: ignore[return-value]
    f = float(v)
    return int(f) if f.is_integer() and abs(f) < 2**53 else f


def _data_slices(
    con: duckdb.DuckDBPyConnection, spec: MetricSpec, table: str, where: exp.Expression | None
) -> list[dict[str, Any]]:
    """Return each distinct slice (`by` values) of the rows the spec reads."""
    if not spec.by:
        return []
    q = exp.select(*(column(b) for b in spec.by)).distinct().from_(table_ref(table))
    if where is not None:
        q = q.where(where.copy())
    rows = con.execute(q.sql(dialect="duckdb")).fetchall()
    return [{b: _jsonable(v) for b, v in zip(spec.by, row, strict=True)} for row in rows]


def _jsonable(v: Any) -> Any:
    if v is None or isinstance(v, str | int | float | bool):
        return v
    return str(v)


def excluded_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    exclusions: Sequence[Exclusion],
    where: exp.Expression | None,
) -> list[ExcludedValue]:
    """Return the rows (and values) each exclusion removes from the rows `where` keeps."""
    out: list[ExcludedValue] = []
    for ex in exclusions:
        cond: exp.Expression = exp.Paren(this=ex.predicate.copy())
        if where is not None:
            cond = exp.And(this=exp.Paren(this=where.copy()), expression=cond)
        q = (
            exp.select(
                column(ROW_COL), exp.Cast(this=column(ex.field), to=exp.DataType.build("VARCHAR"))
            )
            .from_(table_ref(table))
            .where(cond)
            .order_by(column(ROW_COL))
        )
        for row_idx, value in con.execute(q.sql(dialect="duckdb")).fetchall():
            out.append(ExcludedValue(int(row_idx), ex.field, value, ex.reason))
    return out
