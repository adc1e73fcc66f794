"""Pieces the survey-score kinds share: scale checks and SQL helpers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from cxengine.compute.stats import Alternative, TestResult, two_proportion_ztest, wilson_interval
from cxengine.interfaces import CompileContext, Estimate, Exclusion
from cxengine.spec.models import Range, Scalar, Scale

if TYPE_CHECKING:
    from sqlglot import exp
else:
    from cxengine.lazy import exp

NUMERIC = ("integer", "number")


def lit(value: Any) -> exp.Expression:
    """Return a SQL literal for a Python scalar (never pasted as text)."""
    # convert() is typed as returning the base Expr; for scalars it is a Literal, Null
    # or Boolean, all Expressions.
    return cast(exp.Expression, exp.convert(value))


def count_all() -> exp.Expression:
    """Return COUNT(*)."""
    return exp.Count(this=exp.Star())


def count_if(condition: exp.Expression) -> exp.Expression:
    """Return COUNT(*) FILTER (WHERE condition)."""
    return exp.Filter(this=count_all(), expression=exp.Where(this=condition))


def in_range(column: exp.Expression, rng: Range | Scale) -> exp.Expression:
    """Return `column BETWEEN min AND max` (or a one-sided comparison)."""
    lo, hi = rng.min, rng.max
    if lo is not None and hi is not None:
        return exp.Between(this=column, low=lit(_num(lo)), high=lit(_num(hi)))
    if lo is not None:
        return exp.GTE(this=column, expression=lit(_num(lo)))
    assert hi is not None  # a Range or Scale has at least one bound
    return exp.LTE(this=column, expression=lit(_num(hi)))


def in_values(column: exp.Expression, values: Sequence[Any]) -> exp.Expression:
    """Return `column IN (v1, v2, …)`."""
    return exp.In(this=column, expressions=[lit(v) for v in values])


def scale_exclusion(field: str, scale: Scale | None, ctx: CompileContext) -> list[Exclusion]:
    """Exclude answers outside the declared scale (and non-integral answers on integer scales)."""
    if scale is None:
        return []
    col = ctx.column(field)
    outside = exp.And(
        this=exp.Not(this=exp.Is(this=col.copy(), expression=exp.Null())),
        expression=exp.Paren(this=exp.Not(this=in_range(col.copy(), scale))),
    )
    return [
        Exclusion(field, outside, f"{field} outside the scale {fmt(scale.min)}–{fmt(scale.max)}")
    ]


def fmt(x: float | None) -> str:
    """Format a number without a useless '.0'."""
    if x is None:
        return ""
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _num(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x


def as_int(counts: dict[str, Any] | Any, key: str) -> int:
    """Read a count as an int (NULL sums count as zero)."""
    value = counts.get(key)
    return int(value) if value is not None else 0


def percent_of(k: int, n: int, confidence: float | None, note: str | None = None) -> Estimate:
    """Return k of n in % with its Wilson interval (n > 0): every share-like kind's value."""
    ci = wilson_interval(k, n, confidence or 0.95)
    low = None if ci.low is None else 100.0 * ci.low
    high = None if ci.high is None else 100.0 * ci.high
    return Estimate(100.0 * k / n, n, low, high, note)


def compare_proportions(
    baseline: Mapping[str, float | None],
    current: Mapping[str, float | None],
    k: str,
    n: str,
    alternative: Alternative,
) -> TestResult | None:
    """Test two shares stored as counts `k` of `n` with the two-proportion z-test."""
    n1, n2 = as_int(baseline, n), as_int(current, n)
    if n1 == 0 or n2 == 0:
        return None
    return two_proportion_ztest(as_int(baseline, k), n1, as_int(current, k), n2, alternative)


def positive_or_top_two_box(
    positive: Range | list[Scalar] | None, scale: Scale | None
) -> Range | list[Scalar]:
    """Return the answers counted as positive: as given, else the scale's top two boxes."""
    if positive is not None:
        return positive
    assert scale is not None
    return Range(min=scale.max - 1, max=scale.max)
