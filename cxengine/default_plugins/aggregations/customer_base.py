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
rows, never an average of slice rates.
"""

from __future__ import annotations

from pydantic import Field, model_validator
from sqlglot import exp

from cxengine.default_plugins.aggregations.common import count_if, lit
from cxengine.interfaces import CompileContext, Exclusion
from cxengine.spec.models import MetricSpec

TIME_TYPES = ("date", "datetime")
#: Columns of the table that `prepare` builds from activity events.
SPELL_START = "_cx_spell_start"
SPELL_END = "_cx_spell_end"


class CustomerBaseSpec(MetricSpec):
    """Keys shared by the customer-base kinds (retention, churn)."""

    start: str | None = Field(
        None, description="customers dataset: when the customer joined (date or datetime)"
    )
    end: str | None = Field(
        None, description="customers dataset: when the customer left; empty while a customer"
    )
    activity: str | None = Field(
        None, description="activity events instead: the time of each event (order, login, …)"
    )
    customer: str | None = Field(
        None,
        description="the customer id: required with activity events; with a customers "
        "dataset, rows of one customer are merged so that each counts once",
    )
    inactive_after_days: float | None = Field(
        None,
        gt=0,
        description="activity events: days without activity after which a customer is lost",
    )

    @model_validator(mode="after")
    def _one_source_of_dates(self) -> CustomerBaseSpec:
        if self.activity is None:
            if self.start is None:
                raise ValueError(
                    "give `start` (and `end`) from a customers dataset, or `activity`, "
                    "`customer` and `inactive_after_days` from activity events"
                )
            if self.inactive_after_days is not None:
                raise ValueError("`inactive_after_days` only applies with `activity` (events)")
        else:
            if self.start is not None or self.end is not None:
                raise ValueError("give either `start`/`end` or `activity`, not both")
            if self.customer is None or self.inactive_after_days is None:
                raise ValueError("`activity` needs `customer` and `inactive_after_days`")
        if self.time is not None:
            raise ValueError(
                "`time` is not used: periods come from the customers' start and end dates"
            )
        if self.period == "none":
            raise ValueError(
                "give a `period` (month, quarter, year, …): the rate compares the customers "
                "at the start and at the end of each period"
            )
        return self

    @model_validator(mode="after")
    def _time_needed(self) -> CustomerBaseSpec:
        # Overrides MetricSpec's rule: a period needs no `time` here, the calendar
        # windows come from the start and end dates themselves.
        return self

    @property
    def from_events(self) -> bool:
        """Return True when relationships are derived from activity events."""
        return self.activity is not None

    @property
    def prepared(self) -> bool:
        """Return True when rows are reshaped into one row per customer relationship."""
        return self.from_events or self.customer is not None

    def start_field(self) -> str:
        """Return the column holding the relationship start (after `prepare`)."""
        return SPELL_START if self.prepared else str(self.start)

    def end_field(self) -> str | None:
        """Return the column holding the relationship end, if any."""
        if self.prepared:
            return SPELL_END if self.from_events or self.end else None
        return self.end


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
    start = _ts(ctx.column(spec.start_field()))
    joined = exp.LT(this=start, expression=ctx.window_end.copy())
    end_name = spec.end_field()
    if not end_name:
        return joined
    end = _ts(ctx.column(end_name))
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
                exp.LT(this=_ts(end), expression=_ts(start.copy())),
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
    start = _ts(ctx.column(spec.start_field()))
    end_name = spec.end_field()
    end = _ts(ctx.column(end_name)) if end_name else None

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
        return prepare_events(spec, source)
    if spec.customer:
        return merge_customer_rows(spec, source)
    return None


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
    s = _ts(exp.column(spec.start, quoted=True))
    e = _ts(exp.column(spec.end, quoted=True)) if spec.end else exp.Null()
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


def prepare_events(spec: CustomerBaseSpec, source: exp.Expression) -> exp.Select:
    """Turn activity events into relationships ("spells"), one row per customer run.

    A run breaks where two consecutive events of a customer are more than
    `inactive_after_days` apart; it ends at its last event plus that window, or stays
    open (NULL end) when the window has not run out by the last event in the data.
    Slice fields take their value from the run's first event.
    """
    assert spec.activity and spec.customer and spec.inactive_after_days
    t = _ts(exp.column(spec.activity, quoted=True))
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


def prepared_fields(spec: CustomerBaseSpec) -> dict[str, tuple[str, ...]]:
    """Return the fields the compiled counts read from the prepared table."""
    return {SPELL_START: TIME_TYPES, SPELL_END: TIME_TYPES}


def _ts(e: exp.Expression) -> exp.Expression:
    return exp.Cast(this=e, to=exp.DataType.build("TIMESTAMP"))
