"""`share`: the percentage of answers in a positive set — CSAT, CES top-box, FCR, SLA."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal

from pydantic import Field, model_validator
from sqlglot import exp

from cxengine import hookimpl
from cxengine.compute.stats import wilson_interval
from cxengine.default_plugins.aggregations.common import (
    as_int,
    count_if,
    in_range,
    in_values,
    scale_exclusion,
)
from cxengine.interfaces import CompileContext, Estimate, Exclusion
from cxengine.spec.models import MetricSpec, Range, Scalar, Scale


class ShareSpec(MetricSpec):
    """A share of answers counted as positive, in % (0–100)."""

    kind: Literal["share"]
    field: str = Field(description="the answer field")
    scale: Scale | None = Field(
        None, description="answer scale, e.g. [1, 5]; answers outside are excluded"
    )
    positive: list[Scalar] | Range | None = Field(
        None,
        description=(
            "answers counted as positive: a list, or {min: 4}; default top-2-box of the scale"
        ),
    )
    unit: str | None = "%"

    @model_validator(mode="after")
    def _positive_known(self) -> ShareSpec:
        if self.positive is None and self.scale is None:
            raise ValueError("give `positive` (the answers that count) or a `scale` for top-2-box")
        return self

    def positive_range(self) -> Range | list[Scalar]:
        """Return the positive set, defaulting to the top two boxes of the scale."""
        if self.positive is not None:
            return self.positive
        assert self.scale is not None
        return Range(min=self.scale.max - 1, max=self.scale.max)


class Share:
    """Share of positive answers with a Wilson interval."""

    name = "share"
    description = "Percentage of answers in a positive set (top-2-box by default), Wilson interval."
    spec_model = ShareSpec
    higher_is_better = True

    def fields(self, spec: MetricSpec) -> dict[str, tuple[str, ...]]:
        assert isinstance(spec, ShareSpec)
        numeric = spec.scale is not None or isinstance(spec.positive, Range)
        return {spec.field: ("integer", "number") if numeric else ()}

    def exclusions(self, spec: MetricSpec, ctx: CompileContext) -> list[Exclusion]:
        assert isinstance(spec, ShareSpec)
        return scale_exclusion(spec.field, spec.scale, ctx)

    def counts(self, spec: MetricSpec, ctx: CompileContext) -> dict[str, exp.Expression]:
        assert isinstance(spec, ShareSpec)
        col = ctx.column(spec.field)
        positive = spec.positive_range()
        is_positive = (
            in_range(col.copy(), positive)
            if isinstance(positive, Range)
            else in_values(col.copy(), positive)
        )
        return {"n": exp.Count(this=col), "positive": count_if(is_positive)}

    def estimate(self, spec: MetricSpec, counts: Mapping[str, float | None]) -> Estimate:
        n, k = as_int(counts, "n"), as_int(counts, "positive")
        if n == 0:
            return Estimate(None, 0, note="no answers")
        ci = wilson_interval(k, n, spec.confidence or 0.95)
        return Estimate(100.0 * k / n, n, _pct(ci.low), _pct(ci.high))


def _pct(x: float | None) -> float | None:
    return None if x is None else 100.0 * x


@hookimpl
def register_aggregations(register: Callable[..., None]) -> None:
    register(Share())
