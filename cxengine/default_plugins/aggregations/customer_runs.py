"""Customer relationships built from rows: one customer's rows merged, or events in runs.

Both queries return one row per relationship with its start (`SPELL_START`), its end
(`SPELL_END`, NULL while open), the customer id, a representative `_cx_row` and the
slice fields; the customer-base kinds then count those rows per calendar window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cxengine.default_plugins.aggregations.common import lit
from cxengine.default_plugins.aggregations.customer_spec import (
    SPELL_END,
    SPELL_START,
    CustomerBaseSpec,
    as_timestamp,
)

if TYPE_CHECKING:
    from sqlglot import exp
else:
    from cxengine.lazy import exp


def merge_customer_rows(spec: CustomerBaseSpec, source: exp.Expression) -> exp.Select:
    """Merge the overlapping relationships of each customer, so a customer counts once.

    A customers table may hold several rows per customer (subscriptions, contracts).
    Rows of one customer that overlap or touch become one relationship, from the first
    start to the last end (open while any of them is open); a customer who comes back
    after a gap has two relationships and is new again on return. Slice fields take
    their value from the relationship's first row.
    """
    assert spec.start and spec.customer
    cust = exp.column(spec.customer, quoted=True)
    s = as_timestamp(exp.column(spec.start, quoted=True))
    e = as_timestamp(exp.column(spec.end, quoted=True)) if spec.end else exp.Null()
    order = exp.Order(
        expressions=[
            exp.Ordered(this=s.copy()),
            exp.Ordered(this=exp.column("_cx_row", quoted=True)),
        ]
    )
    forever = exp.Cast(this=exp.Literal.string("infinity"), to=exp.DataType.build("TIMESTAMP"))
    reach = exp.Window(
        this=exp.Max(this=exp.Coalesce(this=e.copy(), expressions=[forever])),
        partition_by=[cust.copy()],
        order=order.copy(),
        spec=exp.WindowSpec(
            kind="ROWS", start="UNBOUNDED", start_side="PRECEDING", end=lit(1), end_side="PRECEDING"
        ),
    )
    new_run = exp.If(
        this=exp.LTE(this=s.copy(), expression=reach),
        true=lit(0),
        false=lit(1),
    )
    flagged = exp.select(
        exp.alias_(cust.copy(), "_cx_customer", quoted=True),
        exp.alias_(s.copy(), "_cx_s", quoted=True),
        exp.alias_(e.copy(), "_cx_e", quoted=True),
        exp.alias_(new_run, "_cx_new_run", quoted=True),
        exp.column("_cx_row", quoted=True),
        *[exp.column(b, quoted=True) for b in spec.by],
    ).from_(exp.alias_(exp.Subquery(this=source), "rows", table=True))
    scol, ecol = exp.column("_cx_s", quoted=True), exp.column("_cx_e", quoted=True)
    ccol = exp.column("_cx_customer", quoted=True)
    run_id = exp.Window(
        this=exp.Sum(this=exp.column("_cx_new_run", quoted=True)),
        partition_by=[ccol.copy()],
        order=exp.Order(
            expressions=[
                exp.Ordered(this=scol.copy()),
                exp.Ordered(this=exp.column("_cx_row", quoted=True)),
            ]
        ),
    )
    numbered = exp.select(exp.Star(), exp.alias_(run_id, "_cx_run", quoted=True)).from_(
        exp.alias_(exp.Subquery(this=flagged), "flagged", table=True)
    )
    still_open = exp.GT(
        this=exp.Filter(
            this=exp.Count(this=exp.Star()),
            expression=exp.Where(this=exp.Is(this=ecol.copy(), expression=exp.Null())),
        ),
        expression=lit(0),
    )
    end = exp.If(this=still_open, true=exp.Null(), false=exp.Max(this=ecol.copy()))
    return (
        exp.select(
            exp.alias_(ccol.copy(), spec.customer, quoted=True),
            exp.alias_(exp.Min(this=scol.copy()), SPELL_START, quoted=True),
            exp.alias_(end, SPELL_END, quoted=True),
            exp.alias_(exp.Min(this=exp.column("_cx_row", quoted=True)), "_cx_row", quoted=True),
            *[
                exp.alias_(
                    exp.Anonymous(
                        this="arg_min", expressions=[exp.column(b, quoted=True), scol.copy()]
                    ),
                    b,
                    quoted=True,
                )
                for b in spec.by
            ],
        )
        .from_(exp.alias_(exp.Subquery(this=numbered), "numbered", table=True))
        .group_by(ccol.copy(), exp.column("_cx_run", quoted=True))
    )


def runs_from_events(spec: CustomerBaseSpec, source: exp.Expression) -> exp.Select:
    """Turn activity events into relationships ("spells"), one row per customer run.

    A run breaks where two consecutive events of a customer are more than
    `inactive_after_days` apart; it ends at its last event plus that window, or stays
    open (NULL end) when the window has not run out by the last event in the data.
    Slice fields take their value from the run's first event.
    """
    assert spec.activity and spec.customer and spec.inactive_after_days
    t = as_timestamp(exp.column(spec.activity, quoted=True))
    cust = exp.column(spec.customer, quoted=True)
    window = exp.Interval(this=lit(round(spec.inactive_after_days * 86400)), unit=exp.var("SECOND"))
    order = exp.Order(expressions=[exp.Ordered(this=t.copy())])
    prev = exp.Window(
        this=exp.Anonymous(this="lag", expressions=[t.copy()]),
        partition_by=[cust.copy()],
        order=order.copy(),
    )
    new_run = exp.If(
        this=exp.Or(
            this=exp.Is(this=prev.copy(), expression=exp.Null()),
            expression=exp.GT(
                this=exp.Sub(this=t.copy(), expression=prev.copy()), expression=window.copy()
            ),
        ),
        true=lit(1),
        false=lit(0),
    )
    flagged = (
        exp.select(
            exp.alias_(cust.copy(), "_cx_customer", quoted=True),
            exp.alias_(t.copy(), "_cx_t", quoted=True),
            exp.alias_(new_run, "_cx_new_run", quoted=True),
            exp.column("_cx_row", quoted=True),
            *[exp.column(b, quoted=True) for b in spec.by],
        )
        .from_(exp.alias_(exp.Subquery(this=source), "events", table=True))
        .where(
            exp.And(
                this=exp.Not(this=exp.Is(this=t.copy(), expression=exp.Null())),
                expression=exp.Not(this=exp.Is(this=cust.copy(), expression=exp.Null())),
            )
        )
    )
    tcol = exp.column("_cx_t", quoted=True)
    ccol = exp.column("_cx_customer", quoted=True)
    run_id = exp.Window(
        this=exp.Sum(this=exp.column("_cx_new_run", quoted=True)),
        partition_by=[ccol.copy()],
        order=exp.Order(expressions=[exp.Ordered(this=tcol.copy())]),
    )
    numbered = exp.select(
        exp.Star(),
        exp.alias_(run_id, "_cx_run", quoted=True),
        exp.alias_(exp.Window(this=exp.Max(this=tcol.copy())), "_cx_data_end", quoted=True),
    ).from_(exp.alias_(exp.Subquery(this=flagged), "flagged", table=True))
    last = exp.Max(this=tcol.copy())
    last_plus = exp.Add(this=last.copy(), expression=window.copy())
    end = exp.If(
        this=exp.GT(
            this=last_plus.copy(), expression=exp.Max(this=exp.column("_cx_data_end", quoted=True))
        ),
        true=exp.Null(),
        false=last_plus,
    )
    slices = [
        exp.alias_(
            exp.Anonymous(this="arg_min", expressions=[exp.column(b, quoted=True), tcol.copy()]),
            b,
            quoted=True,
        )
        for b in spec.by
    ]
    return (
        exp.select(
            exp.alias_(ccol.copy(), str(spec.customer), quoted=True),
            exp.alias_(exp.Min(this=tcol.copy()), SPELL_START, quoted=True),
            exp.alias_(end, SPELL_END, quoted=True),
            exp.alias_(exp.Count(this=exp.Star()), "_cx_events", quoted=True),
            # A representative source row, so the engine can locate rows if it must.
            exp.alias_(exp.Min(this=exp.column("_cx_row", quoted=True)), "_cx_row", quoted=True),
            *slices,
        )
        .from_(exp.alias_(exp.Subquery(this=numbered), "numbered", table=True))
        .group_by(ccol.copy(), exp.column("_cx_run", quoted=True))
    )
