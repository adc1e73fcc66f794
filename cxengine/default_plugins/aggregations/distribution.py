"""`distribution`: the share of rows per category — preferred channel, contact reasons.

One value per category (stored under the slice key of the category field, e.g.
``{"channel": "phone"}``), each a share in % of the group's non-empty values with a
Wilson interval, and the top category marked. Every group lists every category seen
anywhere: a channel nobody used in March is 0 % in March, not missing.

With ``categories:`` the set is closed: values outside it are excluded and stored as
rejects (a typo such as "emial" is a data problem to see, not a new channel), and
the categories come out in the order given. Without it, the categories are whatever
the data holds, counted in one ``histogram`` aggregate per group.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from cxengine import hookimpl
from cxengine.compute.comparisons import compare_shares
from cxengine.compute.stats import Alternative, NoTest, TestResult
from cxengine.default_plugins.aggregations.common import (
    as_int,
    count_if,
    in_values,
    lit,
    percent_of,
)
from cxengine.interfaces import CompileContext, Estimate, Exclusion
from cxengine.spec.models import MetricSpec, Scalar

if TYPE_CHECKING:
    from sqlglot import exp
else:
    from cxengine.lazy import exp

TOP_NOTE = "top category"


class DistributionSpec(MetricSpec):
    """The share of each category of a field, in %."""

    kind: Literal["distribution"]
    field: str = Field(description="the category field (channel, contact reason, …)")
    categories: list[Scalar] | None = Field(
        None, description="the known categories, in report order; other values are rejected"
    )
    unit: str | None = "%"

    @model_validator(mode="after")
    def _field_not_a_slice(self) -> DistributionSpec:
        if self.field in self.by:
            raise ValueError(f"`{self.field}` is the category field; it cannot also be in `by`")
        if self.categories is not None:
            if not self.categories:
                raise ValueError("`categories` is empty; list the categories or leave it out")
            if len(set(map(str, self.categories))) != len(self.categories):
                raise ValueError("`categories` lists a category twice")
        return self


class Distribution:
    """Share per category with a Wilson interval each; the top category is marked."""

    name = "distribution"
    description = "Share of rows per category (preferred channel), Wilson interval per share."
    spec_model = DistributionSpec
    higher_is_better = True

    def category_key(self, spec: MetricSpec) -> str:
        assert isinstance(spec, DistributionSpec)
        return spec.field

    def fields(self, spec: MetricSpec) -> dict[str, tuple[str, ...]]:
        assert isinstance(spec, DistributionSpec)
        return {spec.field: ()}

    def exclusions(self, spec: MetricSpec, ctx: CompileContext) -> list[Exclusion]:
        assert isinstance(spec, DistributionSpec)
        if spec.categories is None:
            return []
        col = ctx.column(spec.field)
        outside = exp.And(
            this=exp.Not(this=exp.Is(this=col.copy(), expression=exp.Null())),
            expression=exp.Not(this=in_values(col.copy(), spec.categories)),
        )
        known = ", ".join(str(c) for c in spec.categories)
        return [
            Exclusion(spec.field, outside, f"{spec.field} is not one of the categories: {known}")
        ]

    def counts(self, spec: MetricSpec, ctx: CompileContext) -> dict[str, exp.Expression]:
        assert isinstance(spec, DistributionSpec)
        col = ctx.column(spec.field)
        out: dict[str, exp.Expression] = {"n": exp.Count(this=col.copy())}
        if spec.categories is None:
            # A MAP category → count; the category texts never become SQL names.
            out["histogram"] = exp.Anonymous(this="histogram", expressions=[col.copy()])
        else:
            for i, cat in enumerate(spec.categories):
                out[f"k{i}"] = count_if(exp.EQ(this=col.copy(), expression=lit(cat)))
        return out

    def _category_counts(self, spec: DistributionSpec, counts: Mapping[str, Any]) -> dict[Any, int]:
        if spec.categories is not None:
            return {cat: as_int(counts, f"k{i}") for i, cat in enumerate(spec.categories)}
        hist = counts.get("histogram") or {}
        pairs = sorted(hist.items(), key=lambda kv: (-int(kv[1]), str(kv[0])))
        return {k: int(v) for k, v in pairs if k is not None}

    def estimate(self, spec: MetricSpec, counts: Mapping[str, Any]) -> Mapping[Any, Estimate]:
        assert isinstance(spec, DistributionSpec)
        n = as_int(counts, "n")
        per = self._category_counts(spec, counts)
        if n == 0:
            return {cat: Estimate(None, 0, note="no rows") for cat in per}
        top = max(per.values(), default=0)
        out = {}
        for cat, k in per.items():
            out[cat] = self._share(spec, k, n, TOP_NOTE if k == top and k > 0 else None)
        return out

    def category_counts(
        self, spec: MetricSpec, counts: Mapping[str, Any], category: Any
    ) -> dict[str, int]:
        """Return one category's stored counts, shaped like a share's: n and positive."""
        assert isinstance(spec, DistributionSpec)
        per = self._category_counts(spec, counts)
        return {"n": as_int(counts, "n"), "positive": per.get(category, 0)}

    def absent_category(self, spec: MetricSpec, counts: Mapping[str, Any]) -> Estimate:
        n = as_int(counts, "n")
        if n == 0:
            return Estimate(None, 0, note="no rows")
        assert isinstance(spec, DistributionSpec)
        return self._share(spec, 0, n, None)

    def _share(self, spec: DistributionSpec, k: int, n: int, note: str | None) -> Estimate:
        return percent_of(k, n, spec.confidence, note)

    def compare(
        self,
        spec: MetricSpec,
        baseline: Mapping[str, float | int | None],
        current: Mapping[str, float | int | None],
        alternative: Alternative,
    ) -> TestResult | NoTest:
        """One category's share against its baseline: stored as n and positive."""
        return compare_shares(baseline, current, alternative)


@hookimpl
def register_aggregations(register: Callable[..., None]) -> None:
    register(Distribution())
