"""`repeat_purchase`: customers with ≥ 2 purchases / customers with ≥ 1 purchase × 100.

Two inputs:

- a customers dataset with a purchase count per customer (``orders: orders``); the
  period, if any, is the customer's own `time` (sign-up: an acquisition cohort);
- purchase events (``customer: customer_id``, ``purchase: ordered_at``): each
  customer's first and second purchase are found first, and the period is the month
  (week, …) of the **first** purchase — the cohort of new buyers.

Either way each customer is one row, counted once: the all-periods value is exactly
the articles' formula over every customer, and the periods split it into cohorts
whose counts add up to it. ``within_days`` counts a second purchase only within that
many days of the first, so cohorts compare fairly; customers whose first purchase is
more recent than that before the end of the data cannot be judged yet and are left
out of n (the raw count `too_recent` keeps them visible).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from cxengine import hookimpl
from cxengine.compute.stats import Alternative, TestResult
from cxengine.default_plugins.aggregations.common import (
    NUMERIC,
    as_int,
    compare_proportions,
    count_if,
    lit,
    percent_of,
)
from cxengine.interfaces import CompileContext, Estimate, Exclusion
from cxengine.spec.models import MetricSpec

if TYPE_CHECKING:
    from sqlglot import exp
else:
    from cxengine.lazy import exp

TIME_TYPES = ("date", "datetime")
SECOND = "_cx_second"
DATA_END = "_cx_data_end"
PURCHASES = "_cx_purchases"


class RepeatPurchaseSpec(MetricSpec):
    """Repeat purchase rate in %."""

    kind: Literal["repeat_purchase"]
    orders: str | None = Field(
        None, description="customers dataset: the number of purchases of each customer"
    )
    customer: str | None = Field(None, description="purchase events: the customer id field")
    purchase: str | None = Field(None, description="purchase events: the time of the purchase")
    within_days: float | None = Field(
        None,
        gt=0,
        description="events: count a second purchase only this many days after the first",
    )
    unit: str | None = "%"

    @model_validator(mode="before")
    @classmethod
    def _cohort_time(cls, data: Any) -> Any:
        # With events, periods are cut by the first purchase: `time` is the purchase field.
        if (
            isinstance(data, dict)
            and data.get("purchase")
            and not data.get("time")
            and data.get("period", "none") != "none"
        ):
            data = {**data, "time": data["purchase"]}
        return data

    @model_validator(mode="after")
    def _one_input(self) -> RepeatPurchaseSpec:
        if self.orders is None:
            if self.customer is None or self.purchase is None:
                raise ValueError(
                    "give `orders` (purchases per customer) or `customer` and `purchase` (events)"
                )
            if self.time not in (None, self.purchase):
                raise ValueError(
                    "with purchase events the period is the first purchase's: leave `time` out"
                )
        else:
            given = [k for k in ("customer", "purchase", "within_days") if getattr(self, k)]
            if given:
                raise ValueError(f"give either `orders` or purchase events, not `{given[0]}` too")
        if self.within_days is not None and self.purchase is None:
            raise ValueError("`within_days` needs purchase events")
        return self

    @property
    def from_events(self) -> bool:
        """Return True when purchases are events, one row each."""
        return self.orders is None


class RepeatPurchase:
    """Repeat purchase rate with a Wilson interval, one row per customer."""

    name = "repeat_purchase"
    description = "Customers with 2+ purchases / customers with 1+ purchase × 100, Wilson interval."
    spec_model = RepeatPurchaseSpec
    higher_is_better = True

    def fields(self, spec: MetricSpec) -> dict[str, tuple[str, ...]]:
        assert isinstance(spec, RepeatPurchaseSpec)
        if spec.from_events:
            return {str(spec.customer): (), str(spec.purchase): TIME_TYPES}
        return {str(spec.orders): NUMERIC}

    def prepared_fields(self, spec: MetricSpec) -> dict[str, tuple[str, ...]]:
        return {SECOND: TIME_TYPES, DATA_END: TIME_TYPES, PURCHASES: NUMERIC}

    def exclusions(self, spec: MetricSpec, ctx: CompileContext) -> list[Exclusion]:
        assert isinstance(spec, RepeatPurchaseSpec)
        if spec.from_events:
            return [
                Exclusion(f, exp.Is(this=ctx.column(f), expression=exp.Null()), f"{f} is empty")
                for f in (str(spec.customer), str(spec.purchase))
            ]
        orders = ctx.column(str(spec.orders))
        return [
            Exclusion(
                str(spec.orders),
                exp.LT(this=orders, expression=lit(0)),
                f"{spec.orders} is negative",
            )
        ]

    def prepare(self, spec: MetricSpec, source: exp.Expression) -> exp.Select | None:
        """Events: one row per customer: first purchase, purchase count, second purchase time."""
        assert isinstance(spec, RepeatPurchaseSpec)
        if not spec.from_events:
            return None
        t = exp.Cast(
            this=exp.column(str(spec.purchase), quoted=True), to=exp.DataType.build("TIMESTAMP")
        )
        cust = exp.column(str(spec.customer), quoted=True)
        columns = [
            exp.alias_(cust.copy(), "_cx_customer", quoted=True),
            exp.alias_(t.copy(), "_cx_t", quoted=True),
            exp.column("_cx_row", quoted=True),
            *[exp.column(b, quoted=True) for b in spec.by],
        ]
        tcol = exp.column("_cx_t", quoted=True)
        no_time = exp.Cast(this=exp.Null(), to=exp.DataType.build("TIMESTAMP"))
        second: exp.Expression = no_time.copy()
        data_end: exp.Expression = no_time.copy()
        if spec.within_days is not None:
            # Only a time limit needs the second purchase's time and the end of the
            # data; without one, two purchases are enough (and the window functions,
            # the costly part, are skipped).
            rank = exp.Window(
                this=exp.Anonymous(this="row_number"),
                partition_by=[cust.copy()],
                order=exp.Order(expressions=[exp.Ordered(this=t.copy())]),
            )
            columns.append(exp.alias_(rank, "_cx_rank", quoted=True))
            columns.append(
                exp.alias_(exp.Window(this=exp.Max(this=t.copy())), DATA_END, quoted=True)
            )
            second = exp.Filter(
                this=exp.Min(this=tcol.copy()),
                expression=exp.Where(
                    this=exp.EQ(this=exp.column("_cx_rank", quoted=True), expression=lit(2))
                ),
            )
            data_end = exp.Max(this=exp.column(DATA_END, quoted=True))
        ranked = exp.select(*columns).from_(
            exp.alias_(exp.Subquery(this=source), "purchases", table=True)
        )
        return (
            exp.select(
                exp.alias_(
                    exp.column("_cx_customer", quoted=True), str(spec.customer), quoted=True
                ),
                exp.alias_(exp.Min(this=tcol.copy()), str(spec.purchase), quoted=True),
                exp.alias_(second, SECOND, quoted=True),
                exp.alias_(exp.Count(this=exp.Star()), PURCHASES, quoted=True),
                exp.alias_(data_end, DATA_END, quoted=True),
                exp.alias_(
                    exp.Min(this=exp.column("_cx_row", quoted=True)), "_cx_row", quoted=True
                ),
                # A buyer belongs to the slice of their first purchase.
                *[
                    exp.alias_(
                        exp.Anonymous(
                            this="arg_min", expressions=[exp.column(b, quoted=True), tcol.copy()]
                        ),
                        b,
                        quoted=True,
                    )
                    for b in spec.by
                ],
            )
            .from_(exp.alias_(exp.Subquery(this=ranked), "ranked", table=True))
            .group_by(exp.column("_cx_customer", quoted=True))
        )

    def counts(self, spec: MetricSpec, ctx: CompileContext) -> dict[str, exp.Expression]:
        assert isinstance(spec, RepeatPurchaseSpec)
        if not spec.from_events:
            orders = ctx.column(str(spec.orders))
            return {
                "n": count_if(exp.GTE(this=orders.copy(), expression=lit(1))),
                "repeat": count_if(exp.GTE(this=orders.copy(), expression=lit(2))),
                "no_purchase": count_if(exp.EQ(this=orders.copy(), expression=lit(0))),
            }
        first = exp.Cast(this=ctx.column(str(spec.purchase)), to=exp.DataType.build("TIMESTAMP"))
        second = ctx.column(SECOND)
        repeat: exp.Expression = exp.GTE(this=ctx.column(PURCHASES), expression=lit(2))
        judged: exp.Expression = exp.true()
        if spec.within_days is not None:
            window = exp.Interval(this=lit(round(spec.within_days * 86400)), unit=exp.var("SECOND"))
            limit = exp.Add(this=first.copy(), expression=window)
            repeat = exp.And(
                this=repeat, expression=exp.LTE(this=second.copy(), expression=limit.copy())
            )
            judged = exp.LTE(this=limit, expression=ctx.column(DATA_END))
        return {
            "n": count_if(judged.copy()),
            "repeat": count_if(exp.And(this=judged.copy(), expression=repeat)),
            "too_recent": count_if(exp.Not(this=exp.Paren(this=judged))),
        }

    def estimate(self, spec: MetricSpec, counts: Mapping[str, float | None]) -> Estimate:
        n, k = as_int(counts, "n"), as_int(counts, "repeat")
        if n == 0:
            return Estimate(None, 0, note="no customers with a purchase")
        return percent_of(k, n, spec.confidence)

    def compare(
        self,
        spec: MetricSpec,
        baseline: Mapping[str, float | None],
        current: Mapping[str, float | None],
        alternative: Alternative,
    ) -> TestResult | None:
        """Test two repeat purchase rates with the two-proportion z-test."""
        return compare_proportions(baseline, current, "repeat", "n", alternative)


@hookimpl
def register_aggregations(register: Callable[..., None]) -> None:
    register(RepeatPurchase())
