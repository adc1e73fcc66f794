"""A grouped query over GROUPING SETS, aggregated to its finest groups first.

A spec's grouped query reads every row once per grouping set: the engine either
sorts every row for its roll-ups (PostgreSQL, which expects as many months as
timestamps: `date_trunc(…)` of a column has that column's distinct count, so it
never hashes) or expands each row into one copy per set (Spark's Expand). Counts
and sums compose: the same query can first group the rows by every key (one plain
hash aggregate, which PostgreSQL spills to disk if it must and Spark combines per
partition), then roll those few rows up over the grouping sets:

    SELECT keys, GROUPING(keys), COALESCE(SUM(p0), 0), SUM(p1), …
    FROM (SELECT keys, COUNT(*) AS p0, SUM(x) AS p1, … FROM base GROUP BY keys)
    GROUP BY GROUPING SETS (…)

Same rows, same groups, same columns; COUNT, SUM, MIN and MAX (with FILTER) only.
A float sum is then added in another order, as any parallel engine may do anyway
(the values agree to 1e-12, and the run's digest reads floats to 12 digits). A
query with any other aggregate is left as it is.
"""

from __future__ import annotations

from sqlglot import exp

#: Aggregates a roll-up can combine, with the outer aggregate over their partials.
_COMBINE: dict[type[exp.Expr], type[exp.AggFunc]] = {
    exp.Count: exp.Sum,
    exp.Sum: exp.Sum,
    exp.Min: exp.Min,
    exp.Max: exp.Max,
}
PARTIAL = "_cx_part{}"
#: Meta flag of the rows a roll-up groups first: an engine whose planner would guess
#: their groups from the columns they are computed from may fence them (PostgreSQL).
FINE_ROWS = "cx_fine_rows"


def rolled_up(query: exp.Select) -> exp.Select | None:
    """Return `query` grouped by its finest keys first, or None when it cannot be.

    `query` is `SELECT … FROM <one source> GROUP BY GROUPING SETS (…)` whose select
    items are the keys, GROUPING(keys) and expressions over COUNT / SUM / MIN / MAX
    (optionally with FILTER); anything else (no grouping sets, a DISTINCT count,
    another aggregate, a window, a HAVING) gives None.
    """
    group = query.args.get("group")
    if group is None or len(group.expressions) != 1:
        return None
    sets = group.expressions[0]
    if not isinstance(sets, exp.GroupingSets):
        return None
    if any(query.args.get(k) for k in ("having", "qualify", "order", "limit", "joins", "with_")):
        return None
    keys: list[str] = []
    for tuple_ in sets.expressions:
        if isinstance(tuple_, exp.Paren):
            tuple_ = tuple_.this
        cols = tuple_.expressions if isinstance(tuple_, exp.Tuple) else [tuple_]
        for col in cols:
            if not isinstance(col, exp.Column) or col.table:
                return None
            if col.name not in keys:
                keys.append(col.name)
    partials: list[exp.Expr] = []
    outer: list[exp.Expr] = []
    for item in query.expressions:
        target = item.this if isinstance(item, exp.Alias) else item
        if isinstance(target, exp.Column) and target.name in keys and not target.table:
            outer.append(item.copy())
            continue
        if isinstance(target, exp.Grouping) or (
            isinstance(target, exp.Anonymous) and target.name.upper() == "GROUPING"
        ):
            outer.append(item.copy())
            continue
        combined = _combine(item.copy(), partials)
        if combined is None:
            return None
        outer.append(combined)
    if not partials:
        return None
    fine = exp.select(
        *(exp.column(k, quoted=True) for k in keys),
        *(exp.alias_(p, PARTIAL.format(i), quoted=True) for i, p in enumerate(partials)),
    )
    source = query.args["from_"].copy()
    source.this.meta[FINE_ROWS] = True
    fine.set("from_", source)
    if query.args.get("where") is not None:
        fine.set("where", query.args["where"].copy())
    fine = fine.group_by(*(exp.column(k, quoted=True) for k in keys))
    out = exp.select(*outer).from_(exp.alias_(exp.Subquery(this=fine), "_cx_fine", table=True))
    out.set("group", group.copy())
    return out


def _combine(item: exp.Expr, partials: list[exp.Expr]) -> exp.Expr | None:
    """Replace each aggregate of a select item by the outer one over its partial.

    The partial (the aggregate, with its FILTER) is appended to `partials`; None when
    an aggregate does not combine, or a column is read outside any aggregate.
    """
    failed = False

    def swap(node: exp.Expr) -> exp.Expr:
        nonlocal failed
        inner = node.this if isinstance(node, exp.Filter) else node
        if isinstance(node, exp.Filter) and not isinstance(inner, exp.AggFunc):
            failed = True
            return node
        if isinstance(node, exp.Window):
            failed = True
            return node
        if not isinstance(inner, exp.AggFunc):
            return node
        outer_type = _COMBINE.get(type(inner))
        if outer_type is None or inner.find(exp.Distinct) or isinstance(node.parent, exp.Filter):
            failed = True
            return node
        partials.append(node.copy())
        part = exp.column(PARTIAL.format(len(partials) - 1), quoted=True)
        combined: exp.Expr = outer_type(this=part)
        if isinstance(inner, exp.Count):
            # A count over no rows is 0, where SUM over no partials is NULL (the
            # grand total of an empty table); the sum of counts is an integer again.
            combined = exp.Cast(
                this=exp.Coalesce(this=combined, expressions=[exp.Literal.number(0)]),
                to=exp.DataType.build("BIGINT"),
            )
        return combined

    out = item.transform(swap)
    if failed:
        return None
    # Anything read outside the aggregates would not be a column of the fine rows.
    for col in out.find_all(exp.Column):
        if not col.name.startswith("_cx_part"):
            return None
    return out
