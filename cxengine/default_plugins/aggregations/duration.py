"""`duration`: mean, median or any percentile of `to − from` — FRT, resolution, wait time.

The duration is either the difference of two timestamps (``from_field`` →
``to_field``, optionally counted in business hours of a ``calendar``) or a numeric
field that already holds one (``field`` in ``field_unit``, e.g. a telephony export's
seconds on hold). A negative duration is a data error (a reply stamped before the
ticket existed is clock skew, not a fast reply), and an empty one cannot be measured:
both are excluded and stored as rejects with their reason.

Statistics, all recomputed from rows for every roll-up (a median of medians is not
a median):

- mean: Σd / n with the Student-t interval from n, Σd and Σd²;
- median / pNN: ``quantile_cont`` (linear interpolation between order statistics),
  with the distribution-free order-statistic interval (`cxengine.compute.quantiles`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator, model_validator

from cxengine import hookimpl
from cxengine.compute.distributions import normal_cdf
from cxengine.compute.quantiles import WINDOW, exact_ranks, pick, z_value
from cxengine.compute.stats import (
    Alternative,
    TestResult,
    mean_interval,
    sample_variance,
    welch_ttest,
)
from cxengine.default_plugins.aggregations.business_hours import (
    BusinessCalendar,
    business_seconds_sql,
)
from cxengine.default_plugins.aggregations.common import as_int, lit
from cxengine.interfaces import CompileContext, Estimate, Exclusion
from cxengine.spec.models import MetricSpec

if TYPE_CHECKING:
    from sqlglot import exp
else:
    from cxengine.lazy import exp

DurationUnit = Literal["s", "min", "h", "d"]
UNIT_SECONDS: dict[str, float] = {"s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
UNIT_WORDS = {"s": "seconds", "min": "minutes", "h": "hours", "d": "days"}
TIME_TYPES = ("datetime", "date")
_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?)$")


class DurationSpec(MetricSpec):
    """Mean, median or a percentile of durations, in s, min, h or d."""

    kind: Literal["duration"]
    from_field: str | None = Field(None, description="timestamp the duration starts at")
    to_field: str | None = Field(None, description="timestamp the duration ends at")
    field: str | None = Field(None, description="or: a numeric field that already holds a duration")
    field_unit: DurationUnit = Field("s", description="unit of `field`: s, min, h or d")
    statistic: str = Field("mean", description="mean, median or a percentile such as p90 or p99.5")
    unit: DurationUnit = Field("s", description="unit of the reported value: s, min, h or d")
    calendar: BusinessCalendar | None = Field(
        None, description="count only business hours (weekly hours, holidays, timezone)"
    )

    @field_validator("statistic")
    @classmethod
    def _known_statistic(cls, value: str) -> str:
        v = value.strip().lower()
        if v in ("mean", "median"):
            return v
        m = _PERCENTILE.match(v)
        if not m or not 0 < float(m.group(1)) < 100:
            raise ValueError(
                f"{value!r} is not a statistic; "
                "use mean, median or a percentile p1…p99 (p90, p99.5)"
            )
        return v

    @model_validator(mode="after")
    def _one_source(self) -> DurationSpec:
        pair = self.from_field is not None or self.to_field is not None
        if pair and self.field is not None:
            raise ValueError("give either `from_field` and `to_field`, or `field`, not both")
        if pair and (self.from_field is None or self.to_field is None):
            raise ValueError("a duration between timestamps needs both `from_field` and `to_field`")
        if not pair and self.field is None:
            raise ValueError(
                "give `from_field` and `to_field` (timestamps) or `field` (a duration)"
            )
        if self.calendar is not None and self.field is not None:
            raise ValueError("business hours need timestamps: use `from_field` and `to_field`")
        return self

    def quantile(self) -> float | None:
        """Return the quantile (0–1) the statistic asks for, None for the mean."""
        if self.statistic == "mean":
            return None
        if self.statistic == "median":
            return 0.5
        return float(self.statistic[1:]) / 100.0


def duration_seconds(spec: DurationSpec, ctx: CompileContext) -> exp.Expression:
    """Return SQL for one row's duration in seconds (DOUBLE)."""
    double = exp.DataType.build("DOUBLE")
    if spec.field is not None:
        value = exp.Cast(this=ctx.column(spec.field), to=double)
        factor = UNIT_SECONDS[spec.field_unit]
        return value if factor == 1 else exp.Mul(this=value, expression=lit(factor))
    assert spec.from_field and spec.to_field
    start, end = ctx.column(spec.from_field), ctx.column(spec.to_field)
    if spec.calendar is not None:
        # Stored datetimes are UTC instants; a calendar without a timezone keeps the
        # hours on the wall clock of the data's zone (the start field's).
        calendar = spec.calendar
        data_zone = ctx.field_zones.get(spec.from_field)
        if calendar.timezone is None and data_zone and data_zone != "UTC":
            calendar = calendar.model_copy(update={"timezone": data_zone})
        return exp.Cast(this=business_seconds_sql(start, end, calendar, "UTC", "UTC"), to=double)
    ts = exp.DataType.build("TIMESTAMP")
    micros = exp.Anonymous(
        this="date_diff",
        expressions=[
            exp.Literal.string("microsecond"),
            exp.Cast(this=start, to=ts),
            exp.Cast(this=end, to=ts.copy()),
        ],
    )
    return exp.Div(this=exp.Cast(this=micros, to=double), expression=lit(1e6))


def _not_null(e: exp.Expression) -> exp.Expression:
    return exp.Not(this=exp.Is(this=e, expression=exp.Null()))


def _window(
    sorted_list: exp.Expression, n: exp.Expression, centre: exp.Expression
) -> tuple[exp.Expression, exp.Expression]:
    """Return (first rank, list slice) of the sorted values within WINDOW of `centre`."""
    start = exp.Greatest(
        this=lit(1),
        expressions=[
            exp.Sub(
                this=exp.Cast(this=exp.Floor(this=centre), to=exp.DataType.build("BIGINT")),
                expression=lit(WINDOW),
            )
        ],
    )
    end = exp.Add(this=start.copy(), expression=lit(2 * WINDOW))
    window = exp.Anonymous(this="list_slice", expressions=[sorted_list, start.copy(), end])
    return start, window


def _at(sorted_list: exp.Expression, n: exp.Expression, centre: exp.Expression) -> exp.Expression:
    """Return the sorted value at rank floor(centre), clamped to 1…n."""
    rank = exp.Least(
        this=n,
        expressions=[
            exp.Greatest(
                this=lit(1),
                expressions=[
                    exp.Cast(this=exp.Floor(this=centre), to=exp.DataType.build("BIGINT"))
                ],
            )
        ],
    )
    return exp.Anonymous(this="list_extract", expressions=[sorted_list, rank])


class Duration:
    """Durations with a t-interval (mean) or an order-statistic interval (quantiles)."""

    name = "duration"
    description = (
        "Mean, median or percentile of to − from (first response, resolution, wait), "
        "optionally in business hours; t or order-statistic interval."
    )
    spec_model = DurationSpec
    higher_is_better = False

    def fields(self, spec: MetricSpec) -> dict[str, tuple[str, ...]]:
        assert isinstance(spec, DurationSpec)
        if spec.field is not None:
            return {spec.field: ("integer", "number")}
        assert spec.from_field and spec.to_field
        return {spec.from_field: TIME_TYPES, spec.to_field: TIME_TYPES}

    def exclusions(self, spec: MetricSpec, ctx: CompileContext) -> list[Exclusion]:
        assert isinstance(spec, DurationSpec)
        if spec.field is not None:
            col = ctx.column(spec.field)
            return [
                Exclusion(
                    spec.field,
                    exp.Is(this=col, expression=exp.Null()),
                    f"{spec.field} is empty: no duration to measure",
                ),
                Exclusion(
                    spec.field,
                    exp.LT(this=col.copy(), expression=lit(0)),
                    f"{spec.field} is negative: a duration cannot be below zero (data error)",
                ),
            ]
        assert spec.from_field and spec.to_field
        start, end = ctx.column(spec.from_field), ctx.column(spec.to_field)
        return [
            Exclusion(
                spec.from_field,
                exp.Is(this=start, expression=exp.Null()),
                f"{spec.from_field} is empty: the duration has no start",
            ),
            Exclusion(
                spec.to_field,
                exp.Is(this=end, expression=exp.Null()),
                f"{spec.to_field} is empty: the duration has no end",
            ),
            # Nulling the end time removes the row from every count.
            Exclusion(
                spec.to_field,
                exp.LT(this=end.copy(), expression=start.copy()),
                f"{spec.to_field} is before {spec.from_field}: a negative duration "
                "is a data error (clock skew, wrong field), not a fast reply",
            ),
        ]

    def counts(self, spec: MetricSpec, ctx: CompileContext) -> dict[str, exp.Expression]:
        assert isinstance(spec, DurationSpec)
        d = duration_seconds(spec, ctx)
        n = exp.Count(this=d.copy())
        q = spec.quantile()
        if q is None:
            return {
                "n": n,
                "sum": exp.Sum(this=d.copy()),
                "sum_sq": exp.Sum(this=exp.Mul(this=d.copy(), expression=d.copy())),
            }
        ordered = exp.ArraySort(
            this=exp.Filter(
                this=exp.ArrayAgg(this=d.copy()),
                expression=exp.Where(this=_not_null(d.copy())),
            )
        )
        z = z_value(spec.confidence or 0.95)
        n_d = exp.Cast(this=n.copy(), to=exp.DataType.build("DOUBLE"))
        # n·p ∓ z·√(n·p·(1 − p)): the normal approximation of the binomial ranks.
        sd = exp.Sqrt(this=exp.Mul(this=n_d.copy(), expression=lit(q * (1.0 - q))))
        np_ = exp.Mul(this=n_d.copy(), expression=lit(q))
        centre_lo = exp.Sub(this=np_, expression=exp.Mul(this=lit(z), expression=sd))
        centre_hi = exp.Add(
            this=exp.Add(this=np_.copy(), expression=exp.Mul(this=lit(z), expression=sd.copy())),
            expression=lit(1),
        )
        lo_start, lo_window = _window(ordered.copy(), n.copy(), centre_lo.copy())
        hi_start, hi_window = _window(ordered.copy(), n.copy(), centre_hi.copy())
        return {
            "n": n,
            "quantile": exp.PercentileCont(this=d.copy(), expression=lit(q)),
            "low_from": lo_start,
            "low_values": lo_window,
            "high_from": hi_start,
            "high_values": hi_window,
            # The values at the approximate ranks, stored: their spread gives the
            # standard error a regression check needs (see `compare`).
            "low_at": _at(ordered.copy(), n.copy(), centre_lo),
            "high_at": _at(ordered, n.copy(), centre_hi),
        }

    def estimate(self, spec: MetricSpec, counts: Mapping[str, object]) -> Estimate:
        assert isinstance(spec, DurationSpec)
        n = as_int(counts, "n")
        if n == 0:
            return Estimate(None, 0, note="no durations")
        unit = UNIT_SECONDS[spec.unit]
        confidence = spec.confidence or 0.95
        q = spec.quantile()
        if q is None:
            total = float(counts.get("sum") or 0.0)  # type: ignore[arg-type]
            total_sq = float(counts.get("sum_sq") or 0.0)  # type: ignore[arg-type]
            ci = mean_interval(total, total_sq, n, confidence)
            low = None if ci.low is None else max(0.0, ci.low) / unit
            high = None if ci.high is None else ci.high / unit
            return Estimate(total / n / unit, n, low, high)
        value = float(counts["quantile"]) / unit  # type: ignore[arg-type]
        lo_rank, hi_rank = exact_ranks(n, q, confidence)
        low = pick(counts.get("low_values"), counts.get("low_from"), lo_rank)  # type: ignore[arg-type]
        high = pick(counts.get("high_values"), counts.get("high_from"), hi_rank)  # type: ignore[arg-type]
        note = None
        if low is None or high is None:
            note = f"too few durations to bound the {spec.statistic} on both sides"
        return Estimate(
            value,
            n,
            None if low is None else low / unit,
            None if high is None else high / unit,
            note,
        )

    def compare(
        self,
        spec: MetricSpec,
        baseline: Mapping[str, Any],
        current: Mapping[str, Any],
        alternative: Alternative,
    ) -> TestResult | None:
        """Test two durations; `difference` is current − baseline in the spec's unit.

        Means: Welch's t from n, Σd and Σd². Medians and percentiles: an approximate
        z-test whose standard errors come from the distribution-free interval, SE ≈
        (x₍u₎ − x₍l₎) / 2z at the normal-approximation ranks (Price and Bonett's
        estimate for the median, applied to any quantile); it needs n ≥ 20 on both
        sides, else None (inconclusive).
        """
        assert isinstance(spec, DurationSpec)
        unit = UNIT_SECONDS[spec.unit]
        n1, n2 = as_int(baseline, "n"), as_int(current, "n")
        if spec.quantile() is None:
            if n1 < 2 or n2 < 2:
                return None
            var1 = sample_variance(_f(baseline, "sum"), _f(baseline, "sum_sq"), n1)
            var2 = sample_variance(_f(current, "sum"), _f(current, "sum_sq"), n2)
            if var1 is None or var2 is None:
                return None
            return welch_ttest(
                _f(baseline, "sum") / n1 / unit, var1 / unit**2, n1,
                _f(current, "sum") / n2 / unit, var2 / unit**2, n2,
                alternative,
            )  # fmt: skip
        keys = ("quantile", "low_at", "high_at")
        if n1 < MIN_QUANTILE_TEST_N or n2 < MIN_QUANTILE_TEST_N:
            return None
        if any(side.get(k) is None for side in (baseline, current) for k in keys):
            return None
        z = z_value(spec.confidence or 0.95)
        se1 = (_f(baseline, "high_at") - _f(baseline, "low_at")) / (2 * z) / unit
        se2 = (_f(current, "high_at") - _f(current, "low_at")) / (2 * z) / unit
        diff = (_f(current, "quantile") - _f(baseline, "quantile")) / unit
        return normal_difference_test(diff, math.hypot(se1, se2), alternative, QUANTILE_METHOD)


MIN_QUANTILE_TEST_N = 20
QUANTILE_METHOD = "z-test of two quantiles, SE from the order-statistic interval"


def _f(counts: Mapping[str, Any], key: str) -> float:
    value = counts.get(key)
    return 0.0 if value is None else float(value)


def normal_difference_test(
    difference: float, se: float, alternative: Alternative, method: str
) -> TestResult:
    """Return the z-test of a difference with a known standard error."""
    if se == 0:
        if difference == 0:
            return TestResult(0.0, 1.0, 0.0, method)
        stat = math.copysign(math.inf, difference)
    else:
        stat = difference / se
    if alternative == "smaller":
        p = normal_cdf(stat)
    elif alternative == "larger":
        p = normal_cdf(-stat)
    else:
        p = min(1.0, 2.0 * normal_cdf(-abs(stat)))
    return TestResult(stat, p, difference, method)


@hookimpl
def register_aggregations(register: Callable[..., None]) -> None:
    register(Duration())
