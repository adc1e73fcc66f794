"""`share`: the percentage of answers in a positive set — CSAT, CES top-box, FCR, SLA."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from cxengine import hookimpl
from cxengine.compute.comparisons import compare_shares
from cxengine.compute.periods import local_filter
from cxengine.compute.stats import Alternative, NoTest, TestResult
from cxengine.default_plugins.aggregations.common import (
    as_int,
    count_if,
    fmt,
    in_range,
    in_values,
    percent_of,
    positive_or_top_two_box,
    scale_exclusion,
)
from cxengine.interfaces import CompileContext, Estimate, Exclusion
from cxengine.spec.models import MetricSpec, Range, Scalar, Scale
from cxengine.weighting.model import WeightsSpec

if TYPE_CHECKING:
    from sqlglot import exp
else:
    from cxengine.lazy import exp


class ShareSpec(MetricSpec):
    """A share of answers counted as positive, in % (0–100)."""

    kind: Literal["share"]
    field: str = Field(
        description="the answer field; with `condition`, n counts its non-empty values"
    )
    scale: Scale | None = Field(
        None, description="answer scale, e.g. [1, 5]; answers outside are excluded"
    )
    positive: list[Scalar] | Range | None = Field(
        None,
        description=(
            "answers counted as positive: a list, or {min: 4}; default top-2-box of the scale"
        ),
    )
    condition: str | None = Field(
        None,
        description="instead of `positive`: a row counts when this filter-style expression "
        "is true, e.g. 'first_response_min <= 120'",
    )
    valid: Range | None = Field(
        None,
        description="values of `field` outside this range are data errors, excluded and "
        "rejected: {min: 0} for a duration",
    )
    weights: WeightsSpec | None = Field(
        None, description="weight the answers to represent a population (docs/statistics.md)"
    )
    unit: str | None = "%"

    @model_validator(mode="after")
    def _positive_known(self) -> ShareSpec:
        if self.condition is not None:
            # The standard-library reader: checking a spec never loads sqlglot.
            from cxengine.filter_syntax import ExpressionError, check_filter

            if self.positive is not None:
                raise ValueError("give `positive` or `condition`, not both")
            try:
                check_filter(self.condition)
            except ExpressionError as exc:
                raise ValueError(f"bad condition: {exc.message}") from None
        elif self.positive is None and self.scale is None:
            raise ValueError("give `positive` (the answers that count) or a `scale` for top-2-box")
        return self

    def condition_fields(self) -> list[str]:
        """Return the fields the condition reads, in order of appearance."""
        if self.condition is None:
            return []
        from cxengine.filter_syntax import check_filter
        from cxengine.filter_syntax.nodes import Column, walk

        names = [c.name for c in walk(check_filter(self.condition)) if isinstance(c, Column)]
        return list(dict.fromkeys(names))

    def positive_range(self) -> Range | list[Scalar]:
        """Return the positive set, defaulting to the top two boxes of the scale."""
        return positive_or_top_two_box(self.positive, self.scale)


class Share:
    """Share of positive answers with a Wilson interval."""

    name = "share"
    description = "Percentage of answers in a positive set (top-2-box by default), Wilson interval."
    spec_model = ShareSpec
    higher_is_better = True

    def fields(self, spec: MetricSpec) -> dict[str, tuple[str, ...]]:
        assert isinstance(spec, ShareSpec)
        out: dict[str, tuple[str, ...]] = {name: () for name in spec.condition_fields()}
        numeric = (
            spec.scale is not None or spec.valid is not None or isinstance(spec.positive, Range)
        )
        out[spec.field] = ("integer", "number") if numeric else ()
        return out

    def exclusions(self, spec: MetricSpec, ctx: CompileContext) -> list[Exclusion]:
        assert isinstance(spec, ShareSpec)
        out = scale_exclusion(spec.field, spec.scale, ctx)
        if spec.valid is not None:
            col = ctx.column(spec.field)
            outside = exp.And(
                this=exp.Not(this=exp.Is(this=col.copy(), expression=exp.Null())),
                expression=exp.Paren(this=exp.Not(this=in_range(col.copy(), spec.valid))),
            )
            lo, hi = spec.valid.min, spec.valid.max
            if lo is not None and hi is not None:
                where = f"outside {fmt(lo)}–{fmt(hi)}"
            else:
                where = f"below {fmt(lo)}" if lo is not None else f"above {fmt(hi)}"
            out.append(Exclusion(spec.field, outside, f"{spec.field} {where}: not a valid value"))
        return out

    def counts(self, spec: MetricSpec, ctx: CompileContext) -> dict[str, exp.Expression]:
        assert isinstance(spec, ShareSpec)
        if spec.condition is not None:
            return self._condition_counts(spec, ctx)
        col = ctx.column(spec.field)
        positive = spec.positive_range()
        is_positive = (
            in_range(col.copy(), positive)
            if isinstance(positive, Range)
            else in_values(col.copy(), positive)
        )
        return {"n": exp.Count(this=col), "positive": count_if(is_positive)}

    def _condition_counts(self, spec: ShareSpec, ctx: CompileContext) -> dict[str, exp.Expression]:
        assert spec.condition is not None
        from cxengine.expr import parse_filter
        from cxengine.filter_types import lenient_casts

        # Parsed and whitelisted like `where:`; columns resolved and quoted.
        cond = parse_filter(spec.condition, columns=list(ctx.field_types) or None)
        # Dates in a condition are wall-clock; a cast that fails is empty, not an error.
        cond = lenient_casts(local_filter(cond, ctx.field_zones))
        col = ctx.column(spec.field)
        # n: the rows with a value; a row whose condition is NULL (a field it reads is
        # empty) is in n but does not meet the condition.
        has_value = exp.Not(this=exp.Is(this=col.copy(), expression=exp.Null()))
        positive = count_if(exp.And(this=has_value, expression=exp.Paren(this=cond)))
        return {"n": exp.Count(this=col), "positive": positive}

    def estimate(self, spec: MetricSpec, counts: Mapping[str, float | None]) -> Estimate:
        n, k = as_int(counts, "n"), as_int(counts, "positive")
        if n == 0:
            return Estimate(None, 0, note="no answers")
        return percent_of(k, n, spec.confidence)

    def compare(
        self,
        spec: MetricSpec,
        baseline: Mapping[str, float | int | None],
        current: Mapping[str, float | int | None],
        alternative: Alternative,
    ) -> TestResult | NoTest:
        """Two-proportion z-test (pooled) of positive answers out of n."""
        return compare_shares(baseline, current, alternative)


@hookimpl
def register_aggregations(register: Callable[..., None]) -> None:
    register(Share())
