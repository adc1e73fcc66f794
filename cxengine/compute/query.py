"""The grouped SQL of one spec: a filtered, exclusion-nulled base, then GROUPING SETS.

One query per spec computes the raw counts for every period × slice and every
roll-up at once, so an overall value is recomputed from counts and never averaged
from slice values. This module only builds sqlglot expressions; the engine runs them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlglot import exp

from cxengine.compute.periods import period_start
from cxengine.interfaces import CalendarKind, CompileContext, Exclusion, Kind
from cxengine.spec.models import MetricSpec

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


def column(name: str) -> exp.Column:
    """Return a quoted column reference."""
    return exp.column(name, quoted=True)


def build_query(
    spec: MetricSpec,
    kind: Kind,
    ctx: CompileContext,
    table: str,
    fields: Iterable[str],
    exclusions: Sequence[Exclusion],
    where: exp.Expression | None,
    windows: str | None = None,
) -> exp.Select:
    """Build the grouped query: a filtered, exclusion-nulled base, then GROUPING SETS.

    `fields` are the fields the kind's counts read (its `fields`, or its
    `prepared_fields` over a prepared table).
    """
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
    elif spec.period != "none" and spec.time:
        base_cols.append(
            exp.alias_(period_start(spec.period, column(spec.time)), PERIOD_COL, quoted=True)
        )
    base = exp.select(*base_cols).from_(table_ref(table))
    conditions = [where.copy()] if where is not None else []
    if windows is not None:
        base = base.join(table_ref(windows), join_type="CROSS")
        extra = kind.calendar_join(spec, ctx) if isinstance(kind, CalendarKind) else None
        if extra is not None:
            conditions.append(extra)
    for cond in conditions:
        base = base.where(exp.Paren(this=cond))

    keys = _keys(spec, windows is not None)
    sets = _grouping_sets(spec, windows is not None)
    counts = kind.counts(spec, ctx)
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


def any_true(preds: Sequence[exp.Expression]) -> exp.Expression:
    """Return `p1 OR p2 OR …`, with NULL read as false."""
    out: exp.Expression = exp.Paren(this=preds[0].copy())
    for p in preds[1:]:
        out = exp.Or(this=out, expression=exp.Paren(this=p.copy()))
    # A NULL predicate must read as "not excluded".
    return exp.Coalesce(this=out, expressions=[exp.false()])
