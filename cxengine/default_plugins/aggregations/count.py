"""`count`: how many rows (or non-empty / distinct values) — responses, tickets, contacts."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from cxengine import hookimpl
from cxengine.compute.comparisons import compare_event_counts
from cxengine.compute.stats import Alternative, NoTest, TestResult
from cxengine.default_plugins.aggregations.common import as_int, count_all
from cxengine.interfaces import CompileContext, Estimate, Exclusion
from cxengine.spec.models import MetricSpec

if TYPE_CHECKING:
    from sqlglot import exp
else:
    from cxengine.lazy import exp


class CountSpec(MetricSpec):
    """A count of rows, of non-empty values of a field, or of its distinct values."""

    kind: Literal["count"]
    field: str | None = Field(
        None, description="count non-empty values of this field (default: rows)"
    )
    distinct: bool = Field(False, description="count distinct values of `field`")
    unit: str | None = "rows"

    @model_validator(mode="after")
    def _distinct_needs_field(self) -> CountSpec:
        if self.distinct and not self.field:
            raise ValueError("`distinct: true` needs a `field`")
        return self


class Count:
    """A plain count. It has no sampling interval: it is a census of the rows given."""

    name = "count"
    description = "Number of rows, non-empty values or distinct values; no interval (a census)."
    spec_model = CountSpec
    higher_is_better = True

    def fields(self, spec: MetricSpec) -> dict[str, tuple[str, ...]]:
        assert isinstance(spec, CountSpec)
        return {spec.field: ()} if spec.field else {}

    def exclusions(self, spec: MetricSpec, ctx: CompileContext) -> list[Exclusion]:
        return []

    def counts(self, spec: MetricSpec, ctx: CompileContext) -> dict[str, exp.Expression]:
        assert isinstance(spec, CountSpec)
        if not spec.field:
            return {"n": count_all()}
        col = ctx.column(spec.field)
        if spec.distinct:
            return {"n": exp.Count(this=exp.Distinct(expressions=[col]))}
        return {"n": exp.Count(this=col)}

    def estimate(self, spec: MetricSpec, counts: Mapping[str, float | None]) -> Estimate:
        n = as_int(counts, "n")
        return Estimate(float(n), n)

    def compare(
        self,
        spec: MetricSpec,
        baseline: Mapping[str, float | int | None],
        current: Mapping[str, float | int | None],
        alternative: Alternative,
    ) -> TestResult | NoTest:
        """Two counts of events: the conditional test of two Poisson counts."""
        return compare_event_counts(baseline, current, alternative)


@hookimpl
def register_aggregations(register: Callable[..., None]) -> None:
    register(Count())
