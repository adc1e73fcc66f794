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
from cxengine.engines.render import INLINE, portable
from cxengine.engines.rollup import rolled_up
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
        source_excluded = _examples(dataset, [(plan.exclusions, plan.where, None)])
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
    query = rolled_up(query) or query
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
        query = rolled_up(query) or query
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


#: Exclusions of a plan, the rows they apply to, and about how many rows each
#: excludes at most (None: not known).
Parts = list[tuple[Sequence[Exclusion], exp.Expression | None, int | None]]


def _example_parts(dataset: EngineDataset, plan: Plan, values: Sequence[MetricValue]) -> Parts:
    """The exclusions of a plan to fetch examples of, each with the rows it applies to.

    Only those that excluded something: nothing excluded anywhere (the usual case)
    asks no query; rows without a time are none when the field has no empty value.
    """
    exclusions = plan.exclusions if any(v.excluded for v in values) else []
    dropped = [ex for ex in plan.dropped if dataset.nulls.get(ex.field) != 0]
    # The overall value (every period, every slice) counts every excluded row.
    overall = [v.excluded for v in values if v.period is None and not v.slice]
    return [
        (dropped, plan.where, max((dataset.nulls.get(ex.field) or 0 for ex in dropped), default=0)
         if all(ex.field in dataset.nulls for ex in dropped) else None),
        (exclusions, plan.keep, overall[0] if len(overall) == 1 else None),
    ]  # fmt: skip


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
        (j, ex, where, estimate)
        for j, parts in enumerate(specs)
        for exclusions, where, estimate in parts
        for ex in exclusions
    ]
    out: list[list[ExcludedValue]] = [[] for _ in specs]
    if not wanted:
        return out
    index: dict[str, int] = {}
    reasons: list[tuple[str, exp.Expression]] = []
    estimates: list[int | None] = []
    of_item: list[int] = []
    for _, ex, where, estimate in wanted:
        cond: exp.Expression = exp.Paren(this=ex.predicate.copy())
        if where is not None:
            cond = exp.And(this=exp.Paren(this=where.copy()), expression=cond)
        text = f"{ex.field}\n{cond.sql(dialect='duckdb')}"
        if text not in index:
            index[text] = len(reasons)
            reasons.append((ex.field, cond))
            estimates.append(estimate)
        of_item.append(index[text])
    found = [
        sorted(f, key=lambda r: str(r[0])) for f in _rows_by_reason(dataset, reasons, estimates)
    ]
    for i, (j, ex, _, _) in enumerate(wanted):
        for key, value in found[of_item[i]]:
            dataset.locators.append(_locator(dataset, key))
            out[j].append(ExcludedValue(len(dataset.locators) - 1, ex.field, value, ex.reason))
    return out


def _rows_by_reason(
    dataset: EngineDataset,
    reasons: Sequence[tuple[str, exp.Expression]],
    estimates: Sequence[int | None],
) -> list[list[tuple[Any, Any]]]:
    """Each reason's first EXAMPLES rows by key: (key, the field's value as text).

    With a bounded top-N aggregate (`min_by(arg, val, n)`, as DuckDB and Spark 4.2+
    have): one scan, one row, an aggregate per reason. Otherwise the frequent reasons
    share one scan (`_rows_by_prefix`) and the rare ones get a top-N branch each
    (`_rows_by_branch`), all in one query; a frequent reason the shared scan did not
    settle (its rows are not spread over the keys) gets its branch in a second one.
    """
    if TOP_N in getattr(dataset.engine, "functions", ()) and TOP_N not in getattr(
        dataset.session, "missing_functions", ()
    ):
        return _rows_by_aggregate(dataset, reasons)
    shared = _frequent(estimates)
    rare = [i for i in range(len(reasons)) if i not in shared]
    queries: list[exp.Select] = []
    if len(shared) > 1:
        queries.append(_prefix_query(dataset, [(i, *reasons[i]) for i in shared]))
    else:
        rare = list(range(len(reasons)))
    queries += [_branch_query(dataset, i, *reasons[i]) for i in rare]
    found: list[list[tuple[Any, Any]]] = [[] for _ in reasons]
    cut = False
    for reason, key, value, prefix_rows in _run_union(dataset, queries):
        found[int(reason)].append((key, value))
        cut = cut or int(prefix_rows or 0) >= PREFIX_ROWS
    unsettled = [i for i in shared if len(shared) > 1 and cut and len(found[i]) < EXAMPLES]
    if unsettled:
        again = [_branch_query(dataset, i, *reasons[i]) for i in unsettled]
        for i in unsettled:
            found[i] = []
        for reason, key, value, _ in _run_union(dataset, again):
            found[int(reason)].append((key, value))
    return found


#: The rows by key one shared scan keeps (a bounded top-N) for its reasons' examples.
PREFIX_ROWS = 1000


def _frequent(estimates: Sequence[int | None]) -> list[int]:
    """The reasons that share one scan: each expected EXAMPLES × 3 times in its prefix.

    The first PREFIX_ROWS rows by key of the rows any shared reason holds have about
    PREFIX_ROWS × count / (sum of counts) rows of a reason when keys do not follow
    the reasons (the sum is at least the rows they hold together). A reason of
    unknown count, or too rare, gets a branch of its own.
    """
    chosen = [i for i, n in enumerate(estimates) if n]
    while chosen:
        total = sum(estimates[i] or 0 for i in chosen)
        rarest = min(chosen, key=lambda i: estimates[i] or 0)
        if PREFIX_ROWS * (estimates[rarest] or 0) >= 3 * EXAMPLES * total:
            break
        chosen.remove(rarest)
    return chosen


def _prefix_query(
    dataset: EngineDataset, reasons: Sequence[tuple[int, str, exp.Expression]]
) -> exp.Select:
    """One scan: the first PREFIX_ROWS rows by key any reason holds, ranked per reason.

    Returns (reason, key, value, rows in the prefix) for each reason's first EXAMPLES
    rows within the prefix; when the prefix is full, a reason with fewer than
    EXAMPLES there is not settled by it. The prefix is read once: each of its rows
    is paired with the reasons it holds (a small table of reason numbers).
    """
    cols: list[exp.Expr] = [column(ROW)]
    for i, field_name, cond in reasons:
        cols.append(exp.alias_(cond.copy(), f"_cx_x{i}", quoted=True))
        value = exp.Cast(this=column(field_name), to=exp.DataType.build("VARCHAR"))
        cols.append(exp.alias_(value, f"_cx_v{i}", quoted=True))
    prefix = (
        exp.select(*cols)
        .from_(table_ref(dataset.table))
        .where(exp.or_(*(exp.Paren(this=cond.copy()) for _, _, cond in reasons)))
        .order_by(column(ROW))
        .limit(PREFIX_ROWS)
    )
    sized = exp.select(
        exp.Star(), exp.alias_(exp.Window(this=exp.Count(this=exp.Star())), "_cx_size", quoted=True)
    ).from_(exp.alias_(exp.Subquery(this=prefix), "_cx_p", table=True))
    numbers: exp.Expression = exp.select(exp.alias_(exp.Literal.number(reasons[0][0]), "_cx_r"))
    for i, _, _ in reasons[1:]:
        numbers = exp.union(
            numbers, exp.select(exp.alias_(exp.Literal.number(i), "_cx_r")), distinct=False
        )

    def per_reason(name: str) -> exp.Case:
        case = exp.Case(this=column("_cx_r"))
        for i, _, _ in reasons:
            case = case.when(exp.Literal.number(i), column(f"{name}{i}"))
        return case

    rank = exp.Window(
        this=exp.Anonymous(this="row_number"),
        partition_by=[column("_cx_r")],
        order=exp.Order(expressions=[exp.Ordered(this=column(ROW))]),
    )
    paired = (
        exp.select(
            exp.alias_(column("_cx_r"), "_cx_reason", quoted=True),
            column(ROW),
            exp.alias_(per_reason("_cx_v"), "_cx_value", quoted=True),
            exp.alias_(column("_cx_size"), "_cx_prefix", quoted=True),
            exp.alias_(rank, "_cx_rank", quoted=True),
        )
        .from_(exp.alias_(exp.Subquery(this=sized), "_cx_sized", table=True))
        .join(exp.alias_(exp.Subquery(this=numbers), "_cx_reasons", table=True), join_type="CROSS")
        .where(exp.EQ(this=per_reason("_cx_x"), expression=exp.true()))
    )
    out = (
        exp.select(column("_cx_reason"), column(ROW), column("_cx_value"), column("_cx_prefix"))
        .from_(exp.alias_(exp.Subquery(this=paired), "_cx_ranked", table=True))
        .where(exp.LTE(this=column("_cx_rank"), expression=exp.Literal.number(EXAMPLES)))
    )
    return with_tables(out, dataset.tables())


def _branch_query(
    dataset: EngineDataset, i: int, field_name: str, cond: exp.Expression
) -> exp.Select:
    """A reason's first EXAMPLES rows by key: a bounded top-N of its own."""
    top = (
        exp.select(
            exp.alias_(exp.Literal.number(i), "_cx_reason", quoted=True),
            column(ROW),
            exp.alias_(
                exp.Cast(this=column(field_name), to=exp.DataType.build("VARCHAR")),
                "_cx_value", quoted=True,
            ),
            exp.alias_(exp.Literal.number(0), "_cx_prefix", quoted=True),
        )
        .from_(table_ref(dataset.table))
        .where(cond.copy())
        .order_by(column(ROW))
        .limit(EXAMPLES)
    )  # fmt: skip
    return with_tables(
        exp.select(exp.Star()).from_(
            exp.alias_(exp.Subquery(this=top), f"_cx_reason_{i}", table=True)
        ),
        dataset.tables(),
    )


def _run_union(dataset: EngineDataset, queries: Sequence[exp.Select]) -> list[tuple[Any, ...]]:
    """Run queries of the same columns as one UNION ALL (their tables shared once)."""
    if not queries:
        return []
    tables: dict[str, exp.Expression] = {}
    bodies: list[exp.Select] = []
    for q in queries:
        with_ = q.args.get("with_")
        for cte in with_.expressions if with_ else []:
            tables.setdefault(cte.alias, cte.this)
        body = q.copy()
        body.set("with_", None)
        bodies.append(
            exp.select(exp.Star()).from_(
                exp.alias_(exp.Subquery(this=body), f"_cx_part_{len(bodies)}", table=True)
            )
        )
    union: exp.Expression = bodies[0]
    for other in bodies[1:]:
        union = exp.union(union, other, distinct=False)
    whole = exp.select(exp.Star()).from_(
        exp.alias_(exp.Subquery(this=union), "_cx_examples", table=True)
    )
    _, rows = dataset.fetch(with_tables(whole, list(tables.items())))
    return rows


#: The bounded top-N aggregate an engine may declare in its `functions`: DuckDB's
#: `min_by(arg, val, n)`, the args of the n smallest vals (Spark 4.2+: an array). A
#: session whose server lacks it says so in its `missing_functions`.
TOP_N = "min_by"


def _rows_by_aggregate(
    dataset: EngineDataset, reasons: Sequence[tuple[str, exp.Expression]]
) -> list[list[tuple[Any, Any]]]:
    """Each reason's first EXAMPLES rows by key, from one scan: a top-N aggregate each.

    The same rows as a branch's ORDER BY key LIMIT EXAMPLES (keys without a value
    last, as rendered ORDER BY puts them); each list is sorted so that the answer,
    and the run's digest of it, do not depend on the order partitions finish in.
    """

    def struct(**fields: exp.Expression) -> exp.Struct:
        return exp.Struct(
            expressions=[
                exp.PropertyEQ(this=exp.to_identifier(k), expression=v) for k, v in fields.items()
            ]
        )

    order = struct(n=exp.Is(this=column(ROW), expression=exp.Null()), k=column(ROW))
    tops: list[exp.Expr] = []
    for i, (field_name, cond) in enumerate(reasons):
        value = exp.Cast(this=column(field_name), to=exp.DataType.build("VARCHAR"))
        top = exp.Anonymous(
            this=TOP_N,
            expressions=[struct(k=column(ROW), v=value), order.copy(),
                         exp.Literal.number(EXAMPLES)],
        )  # fmt: skip
        first = exp.Filter(this=top, expression=exp.Where(this=cond.copy()))
        tops.append(exp.alias_(portable(exp.ArraySort(this=first)), f"_cx_top{i}", quoted=True))
    # Only rows some reason holds reach the aggregates (a filter the scan runs, cheap
    # next to an aggregate's per-row FILTER).
    q = (
        exp.select(*tops)
        .from_(table_ref(dataset.table))
        .where(exp.or_(*(exp.Paren(this=cond.copy()) for _, cond in reasons)))
    )
    _, rows = dataset.fetch(with_tables(q, dataset.tables()))
    found: list[list[tuple[Any, Any]]] = [[] for _ in reasons]
    for row in rows[:1]:
        for i, top in enumerate(row):
            found[i] = [(k, v) for k, v in (top or [])]
    return found


def _locator(dataset: EngineDataset, key: Any) -> str:
    return (
        f"{dataset.key}={key}" if dataset.key else f"{dataset.origin} (no `key:` to locate the row)"
    )
