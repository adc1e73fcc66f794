"""Compile one spec into a grouped DuckDB query and turn its rows into values.

One query per spec computes the raw counts for every period × slice and every
roll-up at once (GROUPING SETS), so an overall value is recomputed from counts and
never averaged from slice values. The aggregation kind supplies the counts and the
estimate; the engine supplies filtering, exclusions, periods and slices.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from cxengine.compute.periods import next_period, period_floor, period_start
from cxengine.expr import parse_filter
from cxengine.interfaces import Aggregation, CompileContext, Estimate, Exclusion
from cxengine.spec.models import MetricSpec

if TYPE_CHECKING:
    import duckdb

PERIOD_COL = "_cx_period"
ROW_COL = "_cx_row"
WINDOW_START = "_cx_start"
WINDOW_END = "_cx_end"


def table_ref(name: str) -> exp.Table:
    """Return a table by its exact name, quoted.

    Not `exp.to_table`, which parses its text: a dataset named `a.b` would become
    table `b` of schema `a`, and one with a double quote would not tokenize.
    """
    return exp.Table(this=exp.to_identifier(name, quoted=True))


#: Below this n a value is flagged low sample, unless the spec sets its own `min_n`.
DEFAULT_MIN_N = 30


@dataclass(frozen=True)
class MetricValue:
    """One computed value: a metric for one period and one slice."""

    metric: str
    grain: str
    period: date | None  # None: all periods together
    slice: dict[str, Any]  # {} : all slices together
    value: float | None
    n: int
    ci_low: float | None
    ci_high: float | None
    low_sample: bool
    rows: int
    excluded: int
    counts: dict[str, float | int | None]
    note: str | None = None

    @property
    def slice_key(self) -> str:
        """Canonical JSON text of the slice (the storage key)."""
        return json.dumps(self.slice, sort_keys=True, ensure_ascii=False, default=str)

    @classmethod
    def from_estimate(
        cls,
        spec: MetricSpec,
        est: Estimate,
        *,
        period: date | None,
        slice: dict[str, Any],
        counts: dict[str, Any],
        rows: int = 0,
        excluded: int = 0,
        grain: str | None = None,
    ) -> MetricValue:
        """Return the value of `spec` for one period and slice from its estimate."""
        return cls(
            metric=spec.name,
            grain=grain or spec.period,
            period=period,
            slice=slice,
            value=est.value,
            n=est.n,
            ci_low=est.ci_low,
            ci_high=est.ci_high,
            low_sample=is_low_sample(spec, est.n),
            rows=rows,
            excluded=excluded,
            counts=counts,
            note=est.note,
        )


def is_low_sample(spec: MetricSpec, n: int) -> bool:
    """Return True when n is below the spec's `min_n` (30 unless it says otherwise)."""
    return n < (spec.min_n or DEFAULT_MIN_N)


@dataclass
class ExcludedValue:
    """A value the spec excluded, before it is located and stored as a reject."""

    row: int
    field: str
    value: str | None
    reason: str


@dataclass
class SpecResult:
    """Everything one spec produced."""

    spec: MetricSpec
    values: list[MetricValue]
    excluded: list[ExcludedValue] = field(default_factory=list)


def column(name: str) -> exp.Column:
    """Return a quoted column reference."""
    return exp.column(name, quoted=True)


def compute_spec(
    con: duckdb.DuckDBPyConnection,
    spec: MetricSpec,
    aggregation: Aggregation,
    table: str,
    field_types: Mapping[str, str],
    field_zones: Mapping[str, str] | None = None,
) -> SpecResult:
    """Run one spec over a loaded dataset table and return its values and exclusions."""
    if getattr(aggregation, "prepare", None) is not None:
        # The kind counts entities built from the rows (customer runs, buyers).
        from cxengine.compute.prepared import compute_prepared

        prepared = compute_prepared(con, spec, aggregation, table, field_types)
        if prepared is not None:
            return prepared
    calendar = _calendar_fields(aggregation, spec)
    ctx = CompileContext(
        spec=spec,
        column=column,
        field_types=field_types,
        window_start=column(WINDOW_START) if calendar else None,
        window_end=column(WINDOW_END) if calendar else None,
        field_zones=field_zones or {},
    )
    exclusions = list(aggregation.exclusions(spec, ctx))
    user_where = parse_filter(spec.where, columns=list(field_types) or None) if spec.where else None
    where = user_where
    dropped: list[Exclusion] = []
    windows: str | None = None
    if calendar:
        windows = _make_windows(con, spec, table, calendar, user_where)
    elif spec.period != "none" and spec.time:
        # A row without a time cannot be placed in a period. It is dropped from every
        # group, so the all-time value stays the sum of its periods, and reported.
        no_time = exp.Is(this=column(spec.time), expression=exp.Null())
        dropped.append(Exclusion(spec.time, no_time, f"{spec.time} is empty"))
        has_time = exp.Not(this=no_time.copy())
        where = (
            has_time if where is None else exp.And(this=exp.Paren(this=where), expression=has_time)
        )
    values: list[MetricValue] = []
    if windows is not None or not calendar:
        query = build_query(spec, aggregation, ctx, table, exclusions, where, windows)
        cursor = con.execute(query.sql(dialect="duckdb"))
        names = [d[0] for d in cursor.description]
        for row in cursor.fetchall():
            values.extend(_to_values(spec, aggregation, dict(zip(names, row, strict=True))))
        # Groups without a row of their own (a category absent from one slice, a
        # window nothing overlaps) still get their value: 0 %, a backlog of 0, …
        from cxengine.compute import completion

        values.extend(completion.missing_categories(spec, aggregation, values))
        if windows is not None:
            values.extend(completion.missing_windows(con, spec, aggregation, ctx, windows, values))
    if calendar and getattr(aggregation, "pool_periods", False):
        # A rate per period (churn): the all-periods value pools the periods' counts.
        from cxengine.compute.pooled import pool_periods

        values = pool_periods(spec, aggregation, values)
    if spec.period != "none" and not calendar:
        values.extend(_empty_periods(spec, values))
    values.sort(key=_order)
    excluded = _excluded_rows(con, table, dropped, user_where) + _excluded_rows(
        con, table, exclusions, where
    )
    return SpecResult(spec, values, excluded)


def _calendar_fields(aggregation: Aggregation, spec: MetricSpec) -> list[str]:
    getter = getattr(aggregation, "calendar_fields", None)
    return list(getter(spec)) if getter else []


def _make_windows(
    con: duckdb.DuckDBPyConnection,
    spec: MetricSpec,
    table: str,
    fields: Sequence[str],
    where: exp.Expression | None,
) -> str | None:
    """Create the table of time windows a calendar kind counts against; None if no data."""
    bounds = []
    for name in fields:
        as_ts = exp.Cast(this=column(name), to=exp.DataType.build("TIMESTAMP"))
        bounds += [exp.Min(this=as_ts), exp.Max(this=as_ts.copy())]
    q = exp.select(*bounds).from_(table_ref(table))
    if where is not None:
        q = q.where(where.copy())
    row = con.execute(q.sql(dialect="duckdb")).fetchone() or ()
    stamps = [v for v in row if v is not None]
    if not stamps:
        return None
    first, last = min(stamps), max(stamps)
    rows: list[tuple[date | None, datetime, datetime]] = []
    if spec.period == "none":
        rows.append((None, first, last + timedelta(microseconds=1)))
    else:
        start = period_floor(spec.period, first.date())
        end_all = start
        while start <= last.date():
            end = next_period(spec.period, start)
            rows.append((start, _midnight(start), _midnight(end)))
            end_all = end
            start = end
        rows.append((None, rows[0][1], _midnight(end_all)))
    name = f"_cx_windows_{spec.name}"
    con.execute(
        f'CREATE OR REPLACE TEMP TABLE "{name}" '
        f"({PERIOD_COL} DATE, {WINDOW_START} TIMESTAMP, {WINDOW_END} TIMESTAMP)"
    )
    con.executemany(f'INSERT INTO "{name}" VALUES (?, ?, ?)', rows)
    return name


def _midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day)


def build_query(
    spec: MetricSpec,
    aggregation: Aggregation,
    ctx: CompileContext,
    table: str,
    exclusions: Sequence[Exclusion],
    where: exp.Expression | None,
    windows: str | None = None,
) -> exp.Select:
    """Build the grouped query: a filtered, exclusion-nulled base, then GROUPING SETS."""
    used = sorted({*aggregation.fields(spec), *spec.by, *([spec.time] if spec.time else [])})
    nulled: dict[str, list[exp.Expression]] = {}
    for ex in exclusions:
        nulled.setdefault(ex.field, []).append(ex.predicate)
    base_cols: list[exp.Expr] = []
    for name in used:
        if name in nulled and name not in spec.by:
            cond = _any(nulled[name])
            base_cols.append(
                exp.alias_(
                    exp.If(this=cond, true=exp.Null(), false=column(name)), name, quoted=True
                )
            )
        else:
            base_cols.append(column(name))
    excluded_flag = _any([ex.predicate for ex in exclusions]) if exclusions else exp.false()
    base_cols.append(exp.alias_(excluded_flag, "_cx_excluded", quoted=True))
    if windows is not None:
        base_cols += [column(PERIOD_COL), column(WINDOW_START), column(WINDOW_END)]
    elif spec.period != "none" and spec.time:
        base_cols.append(
            exp.alias_(period_start(spec.period, column(spec.time)), PERIOD_COL, quoted=True)
        )
    base = exp.select(*base_cols).from_(table_ref(table))
    conditions = [where.copy()] if where is not None else []
    if windows is not None:
        base = base.join(table_ref(windows), join_type="CROSS")
        join = getattr(aggregation, "calendar_join", None)
        extra = join(spec, ctx) if join else None
        if extra is not None:
            conditions.append(extra)
    for cond in conditions:
        base = base.where(exp.Paren(this=cond))

    keys = _keys(spec, windows is not None)
    sets = _grouping_sets(spec, windows is not None)
    counts = aggregation.counts(spec, ctx)
    select: list[exp.Expr] = [column(k) for k in keys]
    if keys:
        select.append(
            exp.alias_(
                exp.Anonymous(this="GROUPING", expressions=[column(k) for k in keys]),
                "_cx_grouping",
                quoted=True,
            )
        )
    select.append(exp.alias_(exp.Count(this=exp.Star()), "_cx_rows", quoted=True))
    select.append(
        exp.alias_(
            exp.Filter(
                this=exp.Count(this=exp.Star()), expression=exp.Where(this=column("_cx_excluded"))
            ),
            "_cx_excluded_n",
            quoted=True,
        )
    )
    select.extend(exp.alias_(e, f"c_{k}", quoted=True) for k, e in counts.items())
    query = exp.select(*select).from_(exp.alias_(exp.Subquery(this=base), "base", table=True))
    if keys:
        grouping = exp.GroupingSets(
            expressions=[exp.Tuple(expressions=[column(c) for c in s]) for s in sets]
        )
        query = query.group_by(grouping)
    return query


def _keys(spec: MetricSpec, calendar: bool) -> list[str]:
    return ([PERIOD_COL] if spec.period != "none" or calendar else []) + list(spec.by)


def _grouping_sets(spec: MetricSpec, calendar: bool = False) -> list[list[str]]:
    if calendar:
        # Windows already include the whole range as a window of its own (period
        # NULL): the period key is never rolled up.
        return [[PERIOD_COL, *spec.by], [PERIOD_COL]] if spec.by else [[PERIOD_COL]]
    period = [PERIOD_COL] if spec.period != "none" else []
    sets = [period + list(spec.by), period, list(spec.by), []]
    unique: list[list[str]] = []
    for s in sets:
        if s not in unique:
            unique.append(s)
    return unique


def _any(preds: Sequence[exp.Expression]) -> exp.Expression:
    out: exp.Expression = exp.Paren(this=preds[0].copy())
    for p in preds[1:]:
        out = exp.Or(this=out, expression=exp.Paren(this=p.copy()))
    # A NULL predicate must read as "not excluded".
    return exp.Coalesce(this=out, expressions=[exp.false()])


def _to_values(
    spec: MetricSpec, aggregation: Aggregation, row: dict[str, Any]
) -> list[MetricValue]:
    keys = [k for k in (PERIOD_COL, *spec.by) if k in row]
    grouping = int(row.get("_cx_grouping") or 0)
    # GROUPING() sets bit (len-1-i) when key i is rolled up in this row.
    rolled = {k: bool(grouping >> (len(keys) - 1 - i) & 1) for i, k in enumerate(keys)}
    period = None if PERIOD_COL not in row or rolled.get(PERIOD_COL) else row[PERIOD_COL]
    slice_ = {} if any(rolled.get(b) for b in spec.by) else {b: _jsonable(row[b]) for b in spec.by}
    counts = {k[2:]: _plain(v) for k, v in row.items() if k.startswith("c_")}
    estimates = aggregation.estimate(spec, counts)
    # Stored counts are numbers (baselines and tests read them); lists and maps (order
    # statistics, a histogram) only feed the estimate.
    stored = {k: v for k, v in counts.items() if not isinstance(v, list | dict)}
    if isinstance(estimates, Estimate):
        per_slice = [(slice_, estimates, stored)]
    else:
        key = aggregation.category_key(spec)  # type: ignore[attr-defined]
        own = getattr(aggregation, "category_counts", None)
        per_slice = [
            ({**slice_, key: category}, est, own(spec, counts, category) if own else stored)
            for category, est in estimates.items()
        ]
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


def _empty_periods(spec: MetricSpec, values: Sequence[MetricValue]) -> list[MetricValue]:
    """Return n = 0 values for the periods inside the data's range that have no rows.

    A trend line must show a gap as a gap: a month without answers is present with
    an empty value, for the overall series and for every slice seen in any period.
    """
    periods = sorted({v.period for v in values if v.period is not None})
    if not periods:
        return []
    present = {(v.period, v.slice_key) for v in values}
    slices = {v.slice_key: v.slice for v in values if v.period is not None}
    out = []
    gap = Estimate(None, 0, note="no rows in this period")
    p = periods[0]
    while p <= periods[-1]:
        for key, sl in slices.items():
            if (p, key) not in present:
                out.append(MetricValue.from_estimate(spec, gap, period=p, slice=sl, counts={}))
        p = next_period(spec.period, p)
    return out


def _order(v: MetricValue) -> tuple[Any, ...]:
    return (v.period is not None, v.period or date.min, bool(v.slice), v.slice_key)


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


def _jsonable(v: Any) -> Any:
    if v is None or isinstance(v, str | int | float | bool):
        return v
    return str(v)


def _excluded_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    exclusions: Sequence[Exclusion],
    where: exp.Expression | None,
) -> list[ExcludedValue]:
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
