"""What `retention` and `churn` share: who was a customer when, counted per time window.

A customer's relationship runs from `start` (sign-up) to `end` (churn; empty while
still a customer). Both come either straight from a customers dataset, or from
activity events (orders, logins) with an inactivity window: each run of events with
no gap longer than the window is one relationship, from its first event to its last
event plus the window (the moment the customer counts as lost). A relationship whose
window has not run out by the end of the data is still open.

For every calendar window [ws, we) of the spec's grain the kinds count:

    at_start  S  joined before ws and had not left before ws
    lost         of S, left inside the window            (ws <= end < we)
    new       N  joined inside the window                (ws <= start < we)
    new_lost     of N, left again inside the window
    at_end    E  joined before we and had not left before we

so that E = S − lost + N − new_lost holds for every window and slice. All five are
plain row counts: a roll-up (all slices of a period) is the same counts over more
rows, never an average of slice rates. The queries that build relationships from
several rows per customer, or from events, are in customer_runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cxengine.default_plugins.aggregations import customer_runs
from cxengine.default_plugins.aggregations.common import count_if
from cxengine.default_plugins.aggregations.customer_spec import (
    SPELL_END,
    SPELL_START,
    TIME_TYPES,
    CustomerBaseSpec,
    as_timestamp,
)
from cxengine.interfaces import CompileContext, Exclusion
from cxengine.spec.models import MetricSpec

if TYPE_CHECKING:
    from sqlglot import exp
else:
    from cxengine.lazy import exp

# Kinds and tests name these through this module.
__all__ = [
    "SPELL_END",
    "SPELL_START",
    "TIME_TYPES",
    "CustomerBaseKind",
    "CustomerBaseSpec",
    "as_timestamp",
]


def fields(spec: CustomerBaseSpec) -> dict[str, tuple[str, ...]]:
    """Return the fields a customer-base spec reads."""
    if spec.from_events:
        return {str(spec.activity): TIME_TYPES, str(spec.customer): ()}
    out: dict[str, tuple[str, ...]] = {str(spec.start): TIME_TYPES}
    if spec.end:
        out[spec.end] = TIME_TYPES
    if spec.customer:
        out[spec.customer] = ()
    return out


def calendar_fields(spec: CustomerBaseSpec) -> list[str]:
    """Return the fields whose range defines the time windows."""
    end = spec.end_field()
    return [spec.start_field(), *([end] if end else [])]


def calendar_join(spec: CustomerBaseSpec, ctx: CompileContext) -> exp.Expression:
    """Join a customer only to the windows it overlaps (joined before the end, not gone before).

    Every count needs a customer who joined before the window ends and had not left
    before it began; a window (× slice) that no customer overlaps is completed by the
    engine with empty counts, so every slice still has every period.
    """
    assert ctx.window_start is not None and ctx.window_end is not None
    start = as_timestamp(ctx.column(spec.start_field()))
    joined = exp.LT(this=start, expression=ctx.window_end.copy())
    end_name = spec.end_field()
    if not end_name:
        return joined
    end = as_timestamp(ctx.column(end_name))
    stayed = exp.Or(
        this=exp.Is(this=end.copy(), expression=exp.Null()),
        expression=exp.GTE(this=end, expression=ctx.window_start.copy()),
    )
    return exp.And(this=joined, expression=exp.Paren(this=stayed))


def exclusions(spec: CustomerBaseSpec, ctx: CompileContext) -> list[Exclusion]:
    """Exclude customers that cannot be placed in time (on the customers dataset)."""
    if spec.from_events:
        # Applied to the events before `prepare` builds the customer runs.
        return [
            Exclusion(f, exp.Is(this=ctx.column(f), expression=exp.Null()), f"{f} is empty")
            for f in (str(spec.customer), str(spec.activity))
        ]
    start = ctx.column(str(spec.start))
    out = [
        Exclusion(
            str(spec.start),
            exp.Is(this=start.copy(), expression=exp.Null()),
            f"{spec.start} is empty: the customer cannot be placed in time",
        )
    ]
    if spec.end:
        end = ctx.column(spec.end)
        # Null the start, not the end: a nulled end would make the customer look
        # like a customer forever.
        out.append(
            Exclusion(
                str(spec.start),
                exp.LT(this=as_timestamp(end), expression=as_timestamp(start.copy())),
                f"{spec.end} is before {spec.start}",
            )
        )
    if spec.customer:
        cust = ctx.column(spec.customer)
        out.append(
            Exclusion(
                spec.customer,
                exp.Is(this=cust, expression=exp.Null()),
                f"{spec.customer} is empty: the row cannot be tied to a customer",
            )
        )
    return out


def base_counts(spec: CustomerBaseSpec, ctx: CompileContext) -> dict[str, exp.Expression]:
    """Return the five window counts (see the module docstring) as aggregate expressions."""
    assert ctx.window_start is not None and ctx.window_end is not None
    ws, we = ctx.window_start, ctx.window_end
    start = as_timestamp(ctx.column(spec.start_field()))
    end_name = spec.end_field()
    end = as_timestamp(ctx.column(end_name)) if end_name else None

    def before(t: exp.Expression, bound: exp.Expression) -> exp.Expression:
        return exp.LT(this=t.copy(), expression=bound.copy())

    def not_left_before(bound: exp.Expression) -> exp.Expression:
        if end is None:
            return exp.true()
        return exp.Or(
            this=exp.Is(this=end.copy(), expression=exp.Null()),
            expression=exp.GTE(this=end.copy(), expression=bound.copy()),
        )

    def left_inside() -> exp.Expression:
        if end is None:
            return exp.false()
        return exp.And(
            this=exp.GTE(this=end.copy(), expression=ws.copy()), expression=before(end, we)
        )

    joined_inside = exp.And(
        this=exp.GTE(this=start.copy(), expression=ws.copy()), expression=before(start, we)
    )
    at_start = exp.And(this=before(start, ws), expression=exp.Paren(this=not_left_before(ws)))
    return {
        "n": count_if(at_start.copy()),
        "at_start": count_if(at_start.copy()),
        "lost": count_if(exp.And(this=before(start, ws), expression=left_inside())),
        "new": count_if(joined_inside.copy()),
        "new_lost": count_if(exp.And(this=joined_inside.copy(), expression=left_inside())),
        "at_end": count_if(
            exp.And(this=before(start, we), expression=exp.Paren(this=not_left_before(we)))
        ),
    }


def prepare(spec: CustomerBaseSpec, source: exp.Expression) -> exp.Select | None:
    """Return the query building one row per customer relationship, or None (rows are that)."""

    if spec.from_events:
        return customer_runs.runs_from_events(spec, source)
    if spec.customer:
        return customer_runs.merge_customer_rows(spec, source)
    return None


def prepared_fields(spec: CustomerBaseSpec) -> dict[str, tuple[str, ...]]:
    """Return the fields the compiled counts read from the prepared table."""
    return {SPELL_START: TIME_TYPES, SPELL_END: TIME_TYPES}


class CustomerBaseKind:
    """What the kinds counting a customer base share: fields, windows and counts.

    `retention` and `churn` read the same customers and count the same windows; they
    differ only in which counts make the value. Each subclass adds `estimate` (and
    `compare`) over the counts `base_counts` returns.
    """

    def fields(self, spec: MetricSpec) -> dict[str, tuple[str, ...]]:
        assert isinstance(spec, CustomerBaseSpec)
        return fields(spec)

    def prepared_fields(self, spec: MetricSpec) -> dict[str, tuple[str, ...]]:
        assert isinstance(spec, CustomerBaseSpec)
        return prepared_fields(spec)

    def calendar_fields(self, spec: MetricSpec) -> list[str]:
        assert isinstance(spec, CustomerBaseSpec)
        return calendar_fields(spec)

    def calendar_join(self, spec: MetricSpec, ctx: CompileContext) -> exp.Expression:
        assert isinstance(spec, CustomerBaseSpec)
        return calendar_join(spec, ctx)

    def prepare(self, spec: MetricSpec, source: exp.Expression) -> exp.Select | None:
        assert isinstance(spec, CustomerBaseSpec)
        return prepare(spec, source)

    def exclusions(self, spec: MetricSpec, ctx: CompileContext) -> list[Exclusion]:
        assert isinstance(spec, CustomerBaseSpec)
        return exclusions(spec, ctx)

    def counts(self, spec: MetricSpec, ctx: CompileContext) -> dict[str, exp.Expression]:
        assert isinstance(spec, CustomerBaseSpec)
        return base_counts(spec, ctx)
