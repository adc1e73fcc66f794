"""Plan → SQL: the grouped query of one spec, built with sqlglot.

A filtered, exclusion-nulled base (joined with the time windows of a calendar kind),
then every period × slice roll-up at once with GROUPING SETS, so an overall value is
recomputed from counts and never averaged from slice values. This module only builds
sqlglot expressions (DuckDB is the dialect the engine generates); the engine runs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from cxengine.compute.periods import local_time, period_start
from cxengine.compute.sqlparts import (
    PERIOD_COL,
    ROW_COL,
    WINDOW_END,
    WINDOW_START,
    any_true,
    column,
    table_ref,
)
from cxengine.interfaces import CalendarKind

if TYPE_CHECKING:
    from cxengine.compute.plan import Plan

#: Prefix of the count columns of the grouped query (field names cannot start with _cx_).
COUNT_PREFIX = "_cx_c_"

__all__ = [
    "COUNT_PREFIX",
    "PERIOD_COL",
    "ROW_COL",
    "WINDOW_END",
    "WINDOW_START",
    "any_true",
    "build_query",
    "column",
    "period_column",
    "table_ref",
]


def period_column(plan: Plan) -> exp.Expression | None:
    """The period a row falls in (the field's wall clock cut to the grain); None: no period.

    For plans without calendar windows (theirs come from the windows table).
    """
    spec = plan.spec
    if spec.period == "none" or not spec.time:
        return None
    zone = plan.ctx.field_zones.get(spec.time)
    return period_start(spec.period, local_time(column(spec.time), zone))


def build_query(plan: Plan, windows: str | None = None) -> exp.Select:
    """Build the grouped query: a filtered, exclusion-nulled base, then GROUPING SETS.

    `windows` names the table of time windows of a calendar kind.
    """
    spec, kind, ctx, table = plan.spec, plan.kind, plan.ctx, plan.table
    exclusions, where, fields = plan.exclusions, plan.keep, plan.fields
    used = sorted({*fields, *spec.by, *([spec.time] if spec.time else [])})
    nulled: dict[str, list[exp.Expression]] = {}
    for ex in exclusions:
        nulled.setdefault(ex.field, []).append(ex.predicate)
    base_cols: list[exp.Expr] = []
    for name in used:
        if name in nulled and name not in spec.by:
            cond = any_true(nulled[name])
            base_cols.append(
                exp.alias_(
                    exp.If(this=cond, true=exp.Null(), false=column(name)), name, quoted=True
                )
            )
        else:
            base_cols.append(column(name))
    excluded_flag = any_true([ex.predicate for ex in exclusions]) if exclusions else exp.false()
    base_cols.append(exp.alias_(excluded_flag, "_cx_excluded", quoted=True))
    if windows is not None:
        base_cols += [column(PERIOD_COL), column(WINDOW_START), column(WINDOW_END)]
    elif (period := period_column(plan)) is not None:
        base_cols.append(exp.alias_(period, PERIOD_COL, quoted=True))
    base = exp.select(*base_cols).from_(table_ref(table))
    conditions = [where.copy()] if where is not None else []
    if windows is not None:
        base = base.join(table_ref(windows), join_type="CROSS")
        extra = kind.calendar_join(spec, ctx) if isinstance(kind, CalendarKind) else None
        if extra is not None:
            conditions.append(extra)
    for cond in conditions:
        base = base.where(exp.Paren(this=cond))

    keys = plan.keys
    sets = plan.grouping_sets
    counts = plan.counts()
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
    # Under cxengine's reserved prefix: a slice field named `c_n` must stay a slice.
    select.extend(exp.alias_(e, f"{COUNT_PREFIX}{k}", quoted=True) for k, e in counts.items())
    query = exp.select(*select).from_(exp.alias_(exp.Subquery(this=base), "base", table=True))
    if keys:
        grouping = exp.GroupingSets(
            expressions=[exp.Tuple(expressions=[column(c) for c in s]) for s in sets]
        )
        query = query.group_by(grouping)
    return query
