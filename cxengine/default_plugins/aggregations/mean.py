"""`mean`: the average answer — CSAT mean, CES mean — optionally rescaled to 0–100."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from cxengine import hookimpl
from cxengine.compute.comparisons import compare_means
from cxengine.compute.stats import (
    Alternative,
    NoTest,
    TestResult,
    mean_interval,
    sums_overflow,
)
from cxengine.default_plugins.aggregations.common import as_int, scale_exclusion
from cxengine.interfaces import CompileContext, Estimate, Exclusion
from cxengine.spec.models import MetricSpec, Scale
from cxengine.weighting.model import WeightsSpec

if TYPE_CHECKING:
    from sqlglot import exp
else:
    from cxengine.lazy import exp


class MeanSpec(MetricSpec):
    """The mean of a numeric field, with a t-interval."""

    kind: Literal["mean"]
    field: str = Field(description="the numeric answer field")
    scale: Scale | None = Field(
        None, description="answer scale, e.g. [1, 5]; answers outside are excluded"
    )
    rescale: bool = Field(False, description="report on 0–100: (mean − min) / (max − min) × 100")
    weights: WeightsSpec | None = Field(
        None, description="weight the answers to represent a population (docs/statistics.md)"
    )

    @model_validator(mode="after")
    def _rescale_needs_scale(self) -> MeanSpec:
        if self.rescale and self.scale is None:
            raise ValueError("`rescale: true` needs a `scale` to rescale from")
        return self


class Mean:
    """Mean with a t-interval, computed from n, Σx and Σx² so roll-ups stay exact."""

    name = "mean"
    description = "Average of a numeric field (optionally rescaled to 0–100), t-interval."
    spec_model = MeanSpec
    higher_is_better = True

    def fields(self, spec: MetricSpec) -> dict[str, tuple[str, ...]]:
        assert isinstance(spec, MeanSpec)
        return {spec.field: ("integer", "number")}

    def exclusions(self, spec: MetricSpec, ctx: CompileContext) -> list[Exclusion]:
        assert isinstance(spec, MeanSpec)
        return scale_exclusion(spec.field, spec.scale, ctx)

    def counts(self, spec: MetricSpec, ctx: CompileContext) -> dict[str, exp.Expression]:
        assert isinstance(spec, MeanSpec)
        # DOUBLE before summing: BIGINT squares of large values would overflow.
        x = exp.Cast(this=ctx.column(spec.field), to=exp.DataType.build("DOUBLE"))
        return {
            "n": exp.Count(this=x.copy()),
            "sum": exp.Sum(this=x.copy()),
            "sum_sq": exp.Sum(this=exp.Mul(this=x.copy(), expression=x.copy())),
        }

    def estimate(self, spec: MetricSpec, counts: Mapping[str, float | None]) -> Estimate:
        assert isinstance(spec, MeanSpec)
        n = as_int(counts, "n")
        if n == 0:
            return Estimate(None, 0, note="no answers")
        total, total_sq = float(counts.get("sum") or 0.0), float(counts.get("sum_sq") or 0.0)
        overflow = sums_overflow(total, total_sq)
        if overflow is not None and not math.isfinite(total):
            return Estimate(None, n, note=overflow)
        mean = total / n
        if overflow is not None:
            # The mean is known; its spread is not: no interval, and say why.
            low = high = None
        else:
            ci = mean_interval(total, total_sq, n, spec.confidence or 0.95)
            low, high = ci.low, ci.high
        note = None if overflow is None else f"no interval: {overflow}"
        if spec.rescale and spec.scale is not None:
            lo, width = spec.scale.min, spec.scale.max - spec.scale.min

            def to100(v: float | None) -> float | None:
                return None if v is None else (v - lo) / width * 100.0

            return Estimate(to100(mean), n, to100(low), to100(high), note=note)
        return Estimate(mean, n, low, high, note=note)

    def compare(
        self,
        spec: MetricSpec,
        baseline: Mapping[str, float | int | None],
        current: Mapping[str, float | int | None],
        alternative: Alternative,
    ) -> TestResult | NoTest:
        """Welch's t-test of the two means, from n, sum and sum of squares."""
        return compare_means(baseline, current, alternative)


@hookimpl
def register_aggregations(register: Callable[..., None]) -> None:
    register(Mean())
