"""`nps`: Net Promoter Score — % promoters (9–10) minus % detractors (0–6) on 0–10."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from cxengine import hookimpl
from cxengine.compute.comparisons import compare_nps
from cxengine.compute.stats import Alternative, NoTest, TestResult, nps_interval
from cxengine.default_plugins.aggregations.common import as_int, count_if, in_range, scale_exclusion
from cxengine.interfaces import CompileContext, Estimate, Exclusion
from cxengine.spec.models import MetricSpec, Range, Scale
from cxengine.weighting.model import WeightsSpec

if TYPE_CHECKING:
    from sqlglot import exp
else:
    from cxengine.lazy import exp


class NpsSpec(MetricSpec):
    """NPS on a 0–10 'how likely are you to recommend' answer."""

    kind: Literal["nps"]
    field: str = Field(description="the 0–10 recommend answer")
    scale: Scale = Field(default_factory=lambda: Scale(min=0, max=10), description="answer scale")
    promoters: Range = Field(
        default_factory=lambda: Range(min=9, max=10), description="promoter answers"
    )
    detractors: Range = Field(
        default_factory=lambda: Range(min=0, max=6), description="detractor answers"
    )
    weights: WeightsSpec | None = Field(
        None, description="weight the answers to represent a population (docs/statistics.md)"
    )
    unit: str | None = "points"

    @model_validator(mode="after")
    def _disjoint(self) -> NpsSpec:
        p_lo = self.promoters.min if self.promoters.min is not None else float("-inf")
        d_hi = self.detractors.max if self.detractors.max is not None else float("inf")
        if p_lo <= d_hi:
            raise ValueError("promoters and detractors overlap")
        return self


class Nps:
    """NPS with the interval from Var(NPS/100) = (p + d − (p − d)²) / n."""

    name = "nps"
    description = "Net Promoter Score: % promoters − % detractors, −100…100, normal interval."
    spec_model = NpsSpec
    higher_is_better = True

    def fields(self, spec: MetricSpec) -> dict[str, tuple[str, ...]]:
        assert isinstance(spec, NpsSpec)
        return {spec.field: ("integer", "number")}

    def exclusions(self, spec: MetricSpec, ctx: CompileContext) -> list[Exclusion]:
        assert isinstance(spec, NpsSpec)
        return scale_exclusion(spec.field, spec.scale, ctx)

    def counts(self, spec: MetricSpec, ctx: CompileContext) -> dict[str, exp.Expression]:
        assert isinstance(spec, NpsSpec)
        col = ctx.column(spec.field)
        return {
            "n": exp.Count(this=col.copy()),
            "promoters": count_if(in_range(col.copy(), spec.promoters)),
            "detractors": count_if(in_range(col.copy(), spec.detractors)),
        }

    def estimate(self, spec: MetricSpec, counts: Mapping[str, float | None]) -> Estimate:
        n = as_int(counts, "n")
        if n == 0:
            return Estimate(None, 0, note="no answers")
        p, d = as_int(counts, "promoters"), as_int(counts, "detractors")
        ci = nps_interval(p, d, n, spec.confidence or 0.95)
        return Estimate(100.0 * (p - d) / n, n, ci.low, ci.high)

    def compare(
        self,
        spec: MetricSpec,
        baseline: Mapping[str, float | int | None],
        current: Mapping[str, float | int | None],
        alternative: Alternative,
    ) -> TestResult | NoTest:
        """NPS difference z-test with the summed variances of the two scores."""
        return compare_nps(baseline, current, alternative)


@hookimpl
def register_aggregations(register: Callable[..., None]) -> None:
    register(Nps())
