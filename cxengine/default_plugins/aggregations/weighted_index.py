"""`weighted_index`: a customer satisfaction index (CSI) over several questions, 0–100.

Each item (question) is rescaled from its own scale to 0–100 — reversed for
negatively worded items — and the items are combined with weights normalised to sum
to one. The index is computed **per respondent** in the base query:

    r = Σ w_j · x̃_j / Σ w_j      over the items the respondent answered

so a respondent who skipped a question is re-weighted over the questions answered
(``missing: reweight``, the default) or left out (``missing: drop``). The metric is
the mean of r with a Student-t interval from n, Σr and Σr². Because r is one number
per respondent, the mean is a plain sample mean: its standard error needs no
linearisation (no delta method) and no resampling (no bootstrap), roll-ups are
recomputed from the raw sums, and the correlation between items is accounted for
automatically — it is inside each r.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from cxengine import hookimpl
from cxengine.compute.comparisons import compare_means
from cxengine.compute.stats import Alternative, NoTest, TestResult, mean_interval
from cxengine.default_plugins.aggregations.common import (
    NUMERIC,
    as_int,
    count_if,
    lit,
    scale_exclusion,
)
from cxengine.interfaces import CompileContext, Estimate, Exclusion
from cxengine.spec.models import MetricSpec, Scale, StrictModel

if TYPE_CHECKING:
    from sqlglot import exp
else:
    from cxengine.lazy import exp


class IndexItem(StrictModel):
    """One question of the index."""

    field: str = Field(description="the answer field")
    scale: Scale = Field(description="its answer scale, e.g. [1, 10]; answers outside are excluded")
    weight: float = Field(1.0, gt=0, description="relative weight (normalised over the items)")
    reverse: bool = Field(False, description="reverse-coded: the lowest answer is the best")
    label: str | None = Field(None, description="the question, for reports")


class WeightedIndexSpec(MetricSpec):
    """A weighted index over several questions, each rescaled to 0–100."""

    kind: Literal["weighted_index"]
    items: list[IndexItem] = Field(min_length=1, description="the questions and their weights")
    missing: Literal["reweight", "drop"] = Field(
        "reweight",
        description="a skipped question: re-weight over the answered ones, or drop the respondent",
    )
    min_answered: int = Field(
        1, ge=1, description="with reweight: fewest answered questions for a respondent to count"
    )
    unit: str | None = "points"

    @model_validator(mode="after")
    def _items_distinct(self) -> WeightedIndexSpec:
        names = [i.field for i in self.items]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"item field {twice[0]!r} is listed twice")
        if self.min_answered > len(self.items):
            raise ValueError(
                f"min_answered ({self.min_answered}) exceeds the number of items "
                f"({len(self.items)})"
            )
        return self


@dataclass(frozen=True)
class ItemMean:
    """One question of the index in one group: what a driver table shows.

    ``mean`` is on the item's 0–100 score (reversed items already turned so that
    higher is better), ``raw_mean`` on the question's own answer scale as asked.
    ``contribution`` is ``weight × mean``: the points the item adds to the index when
    every respondent answers every question (with skipped questions re-weighted the
    index is a mean of per-respondent ratios, so the contributions then only
    approximately sum to it).
    """

    field: str
    label: str | None
    weight: float  # normalised: the weights of all items sum to 1
    n: int  # answers to this question (in scale)
    mean: float | None
    raw_mean: float | None
    contribution: float | None


def item_means(spec: WeightedIndexSpec, counts: Mapping[str, float | None]) -> list[ItemMean]:
    """Return each item's mean, weight and contribution from one group's stored counts.

    The counts of a weighted_index value keep ``<field>.n`` and ``<field>.sum`` (the
    sum of 0–100 scores) per item, so the per-item means of any stored value, period
    or slice can be recovered without reading the data again.
    """
    total = sum(i.weight for i in spec.items)
    out: list[ItemMean] = []
    for item in spec.items:
        n = as_int(counts, f"{item.field}.n")
        weight = item.weight / total
        if n == 0:
            out.append(ItemMean(item.field, item.label, weight, 0, None, None, None))
            continue
        mean = float(counts.get(f"{item.field}.sum") or 0.0) / n
        width = item.scale.max - item.scale.min
        raw = (
            item.scale.max - mean * width / 100
            if item.reverse
            else (item.scale.min + mean * width / 100)
        )
        out.append(ItemMean(item.field, item.label, weight, n, mean, raw, weight * mean))
    return out


def _double(e: exp.Expression) -> exp.Expression:
    return exp.Cast(this=e, to=exp.DataType.build("DOUBLE"))


def item_score(item: IndexItem, ctx: CompileContext) -> exp.Expression:
    """Return SQL for one answer rescaled to 0–100 (NULL when not answered)."""
    x = _double(ctx.column(item.field))
    width = item.scale.max - item.scale.min
    top = lit(item.scale.max) if item.reverse else None
    diff = (
        exp.Sub(this=top, expression=x)
        if top is not None
        else exp.Sub(this=x, expression=lit(item.scale.min))
    )
    return exp.Mul(this=exp.Paren(this=diff), expression=lit(100.0 / width))


def respondent_index(spec: WeightedIndexSpec, ctx: CompileContext) -> exp.Expression:
    """Return SQL for one respondent's index r (NULL when the respondent does not count)."""
    total = sum(i.weight for i in spec.items)
    num: list[exp.Expression] = []
    den: list[exp.Expression] = []
    answered: list[exp.Expression] = []
    for item in spec.items:
        w = item.weight / total
        present = exp.Not(this=exp.Is(this=ctx.column(item.field), expression=exp.Null()))
        num.append(
            exp.Coalesce(
                this=exp.Mul(this=lit(w), expression=item_score(item, ctx)),
                expressions=[lit(0.0)],
            )
        )
        den.append(exp.If(this=present.copy(), true=lit(w), false=lit(0.0)))
        answered.append(exp.If(this=present, true=lit(1), false=lit(0)))
    numerator, weight, count = _sum(num), _sum(den), _sum(answered)
    needed = len(spec.items) if spec.missing == "drop" else spec.min_answered
    return exp.If(
        this=exp.GTE(this=exp.Paren(this=count), expression=lit(needed)),
        true=exp.Div(this=exp.Paren(this=numerator), expression=exp.Paren(this=weight)),
        false=exp.Null(),
    )


def _sum(parts: list[exp.Expression]) -> exp.Expression:
    out = parts[0]
    for p in parts[1:]:
        out = exp.Add(this=out, expression=p)
    return out


class WeightedIndex:
    """CSI: the mean per-respondent weighted index, with a t-interval."""

    name = "weighted_index"
    description = (
        "Weighted index over several questions rescaled to 0–100 (CSI); skipped questions "
        "re-weighted; t-interval on the per-respondent index."
    )
    spec_model = WeightedIndexSpec
    higher_is_better = True

    def fields(self, spec: MetricSpec) -> dict[str, tuple[str, ...]]:
        assert isinstance(spec, WeightedIndexSpec)
        return {i.field: NUMERIC for i in spec.items}

    def exclusions(self, spec: MetricSpec, ctx: CompileContext) -> list[Exclusion]:
        assert isinstance(spec, WeightedIndexSpec)
        return [ex for i in spec.items for ex in scale_exclusion(i.field, i.scale, ctx)]

    def counts(self, spec: MetricSpec, ctx: CompileContext) -> dict[str, exp.Expression]:
        assert isinstance(spec, WeightedIndexSpec)
        r = respondent_index(spec, ctx)
        any_answer = _or(
            [
                exp.Not(this=exp.Is(this=ctx.column(i.field), expression=exp.Null()))
                for i in spec.items
            ]
        )
        out: dict[str, exp.Expression] = {
            "n": exp.Count(this=r.copy()),
            "sum": exp.Sum(this=r.copy()),
            "sum_sq": exp.Sum(this=exp.Mul(this=r.copy(), expression=r.copy())),
            # Answered something, but too little to count (drop / min_answered).
            "not_counted": count_if(
                exp.And(
                    this=exp.Paren(this=any_answer),
                    expression=exp.Is(this=r.copy(), expression=exp.Null()),
                )
            ),
        }
        for item in spec.items:
            score = item_score(item, ctx)
            out[f"{item.field}.n"] = exp.Count(this=score.copy())
            out[f"{item.field}.sum"] = exp.Sum(this=score)
        return out

    def estimate(self, spec: MetricSpec, counts: Mapping[str, float | None]) -> Estimate:
        n = as_int(counts, "n")
        if n == 0:
            return Estimate(None, 0, note="no respondents answered enough questions")
        total, total_sq = float(counts.get("sum") or 0.0), float(counts.get("sum_sq") or 0.0)
        ci = mean_interval(total, total_sq, n, spec.confidence or 0.95)
        low = None if ci.low is None else max(0.0, ci.low)
        high = None if ci.high is None else min(100.0, ci.high)
        return Estimate(total / n, n, low, high)

    def compare(
        self,
        spec: MetricSpec,
        baseline: Mapping[str, float | int | None],
        current: Mapping[str, float | int | None],
        alternative: Alternative,
    ) -> TestResult | NoTest:
        """Welch's t-test of the two mean index scores (n, sum, sum of squares)."""
        return compare_means(baseline, current, alternative)

    def item_means(self, spec: MetricSpec, counts: Mapping[str, float | None]) -> list[ItemMean]:
        """Per-item means, weights and contributions of one group (see `item_means`)."""
        assert isinstance(spec, WeightedIndexSpec)
        return item_means(spec, counts)


def _or(parts: list[exp.Expression]) -> exp.Expression:
    out = parts[0]
    for p in parts[1:]:
        out = exp.Or(this=out, expression=p)
    return out


@hookimpl
def register_aggregations(register: Callable[..., None]) -> None:
    register(WeightedIndex())
