"""Several specs' plans over one table in one grouped query (DuckDB, the default engine).

The Plan stays the contract: each spec is planned alone (plan.py), and
`query.build_query(plan)` still renders one plan as one query, which is what another
engine's renderer does. This module is an optimisation of the DuckDB engine on top:
plans that read the same table with the same rows kept and the same grouping (period
expression, slice fields, grouping sets) are answered by one scan:

- the base keeps each plan's rows once (the shared filter), computes the period once,
  and adds, per plan, its exclusion-nulled copies of the fields it excludes values of
  (`_cx_m<j>_f<i>`) and its own excluded flag (`_cx_m<j>_excluded`), each only once
  when plans exclude alike (a later plan reads the first one's column);
- the grouped select has the shared keys, `GROUPING()` and `count(*)`, then each
  plan's counts (its column references renamed to its nulled copies) under
  `_cx_m<j>_c_<name>`; `split_row` hands each plan its own row back, named as
  `build_query` names them, so values are made exactly as for a query of its own;
- `excluded_query` finds every plan's excluded rows in one more scan (one flag and
  one value per exclusion) instead of one query per exclusion.

Plans with a prepared table, calendar windows or pooled periods are not merged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from cxengine.compute.plan import Plan
from cxengine.compute.query import COUNT_PREFIX, period_column
from cxengine.compute.sqlparts import PERIOD_COL, ROW_COL, any_true, column, table_ref
from cxengine.interfaces import Exclusion

#: Where a plan's own names start in a merged row (`_cx_` names are cxengine's own:
#: no field can be called so).
PREFIX = "_cx_m{}_"
_OWN = re.compile(r"_cx_m([0-9]+)_")


def mergeable(plan: Plan) -> bool:
    """Can this plan share a grouped query with others?

    Not with a prepared table, calendar windows or pooled periods; nor when a count
    holds a subquery (its column names may mean the table's own columns, which the
    renaming onto a plan's nulled copies must not touch).
    """
    if plan.prepare is not None or plan.calendar or plan.pools_periods:
        return False
    return not any(e.find(exp.Select) for e in plan.counts().values())


def merge_key(plan: Plan) -> tuple[str, ...]:
    """Plans with equal keys can share one grouped query: same rows, same groups."""
    period = period_column(plan)
    return (
        plan.table,
        "" if plan.keep is None else plan.keep.sql(dialect="duckdb"),
        "" if period is None else period.sql(dialect="duckdb"),
        repr(plan.keys),
        repr(plan.grouping_sets),
    )


def group_plans(plans: Sequence[Plan]) -> list[list[int]]:
    """Return groups of indexes of plans that can share one query (singletons too)."""
    groups: dict[tuple[str, ...], list[int]] = {}
    alone: list[list[int]] = []
    for i, plan in enumerate(plans):
        if mergeable(plan):
            groups.setdefault(merge_key(plan), []).append(i)
        else:
            alone.append([i])
    return [*groups.values(), *alone]


def build_merged_query(plans: Sequence[Plan]) -> exp.Select:
    """Build one grouped query computing every plan's counts (plans of one merge_key)."""
    first = plans[0]
    used: set[str] = set()
    for plan in plans:
        spec = plan.spec
        used |= {*plan.fields, *spec.by, *([spec.time] if spec.time else [])}
    base_cols: list[exp.Expr] = [column(name) for name in sorted(used)]
    # Specs often exclude alike (CSAT and its mean: the same out-of-scale answers):
    # an expression the base already has is reused, not computed (and carried
    # through the engine's sort or row expansion) once more per spec.
    computed: dict[str, str] = {}

    def base_column(value: exp.Expression, name: str) -> str:
        key = value.sql(dialect="duckdb")
        if key not in computed:
            computed[key] = name
            base_cols.append(exp.alias_(value, name, quoted=True))
        return computed[key]

    select_counts: list[exp.Expr] = []
    for j, plan in enumerate(plans):
        prefix = PREFIX.format(j)
        nulled: dict[str, list[exp.Expression]] = {}
        for ex in plan.exclusions:
            nulled.setdefault(ex.field, []).append(ex.predicate)
        renamed: dict[str, str] = {}
        for i, (name, predicates) in enumerate(nulled.items()):
            if name in plan.spec.by:
                continue  # slices are never nulled (as in build_query)
            value = exp.If(this=any_true(predicates), true=exp.Null(), false=column(name))
            renamed[name] = base_column(value, f"{prefix}f{i}")
        flag = any_true([ex.predicate for ex in plan.exclusions]) if plan.exclusions else None
        excluded = base_column(flag if flag is not None else exp.false(), f"{prefix}excluded")
        excluded_n = exp.Filter(
            this=exp.Count(this=exp.Star()),
            expression=exp.Where(this=column(excluded)),
        )
        select_counts.append(exp.alias_(excluded_n, f"{prefix}_cx_excluded_n", quoted=True))
        for name, expression in plan.counts().items():
            select_counts.append(
                exp.alias_(
                    _rename(expression, renamed), f"{prefix}{COUNT_PREFIX}{name}", quoted=True
                )
            )
    period = period_column(first)
    if period is not None:
        base_cols.append(exp.alias_(period, PERIOD_COL, quoted=True))
    base = exp.select(*base_cols).from_(table_ref(first.table))
    if first.keep is not None:
        base = base.where(exp.Paren(this=first.keep.copy()))
    keys = first.keys
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
    select.extend(select_counts)
    query = exp.select(*select).from_(exp.alias_(exp.Subquery(this=base), "base", table=True))
    if keys:
        grouping = exp.GroupingSets(
            expressions=[exp.Tuple(expressions=[column(c) for c in s]) for s in first.grouping_sets]
        )
        query = query.group_by(grouping)
    return query


def _rename(expression: exp.Expression, renamed: dict[str, str]) -> exp.Expression:
    """Point a plan's column references at its exclusion-nulled copies."""
    if not renamed:
        return expression

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and not node.table and node.name in renamed:
            return column(renamed[node.name])
        return node

    return expression.copy().transform(swap)


def split_row(row: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """Return each plan's own row (the names `build_query` gives) from a merged row."""
    out: list[dict[str, Any]] = [{} for _ in range(count)]
    for key, value in row.items():
        match = _OWN.match(key)
        if match is None:
            for part in out:
                part[key] = value  # keys, grouping, rows: shared
        else:
            out[int(match[1])][key[match.end() :]] = value
    return out


@dataclass(frozen=True)
class ExclusionItem:
    """One exclusion of one plan: the rows `where` keeps and `predicate` removes."""

    plan: int
    exclusion: Exclusion
    where: exp.Expression | None


def exclusion_items(plans: Sequence[Plan]) -> list[ExclusionItem]:
    """Every plan's exclusions, in the order `run_plan` reports them."""
    items = []
    for j, plan in enumerate(plans):
        items += [ExclusionItem(j, ex, plan.where) for ex in plan.dropped]
        items += [ExclusionItem(j, ex, plan.keep) for ex in plan.exclusions]
    return items


def excluded_query(table: str, items: Sequence[ExclusionItem]) -> exp.Select:
    """One scan for every item: the row, a flag per item and the text of each field read."""
    fields = list(dict.fromkeys(item.exclusion.field for item in items))
    cols: list[exp.Expr] = [column(ROW_COL)]
    flags = []
    for i, item in enumerate(items):
        cond: exp.Expression = exp.Paren(this=item.exclusion.predicate.copy())
        if item.where is not None:
            cond = exp.And(this=exp.Paren(this=item.where.copy()), expression=cond)
        flags.append(cond)
        cols.append(exp.alias_(cond.copy(), f"_cx_x{i}", quoted=True))
    for k, name in enumerate(fields):
        text = exp.Cast(this=column(name), to=exp.DataType.build("VARCHAR"))
        cols.append(exp.alias_(text, f"_cx_v{k}", quoted=True))
    return (
        exp.select(*cols)
        .from_(table_ref(table))
        .where(exp.or_(*(exp.Paren(this=f) for f in flags)))
        .order_by(column(ROW_COL))
    )
