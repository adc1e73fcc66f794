"""`drivers`: how a score differs across the values or bands of operational factors.

```yaml
name: nps_drivers
kind: drivers
dataset: answered_tickets        # a joined dataset: answers with their tickets
score: recommend
measure: nps                     # nps | share | mean
factors: [reopened, channel, {field: frt_min, bands: [0, 5, 30, 120, 1440]}]
```

For every level of every factor (``reopened = true``, ``frt_min_band = 0–5 min``) the
value is the score of the answers at that level minus the score of the other answers
with a value for that factor, with its interval, a two-sided p-value (and Holm's
adjustment over the factor's levels), the level's share of the factor's answers and
its rank by absolute effect inside the factor (1 = largest). The statistics are
those of `cxengine.differences`, shared with the NLP plugin's `theme_drivers`.

Factor levels are whatever the data holds (bands: the band labels), counted in one
``histogram`` of (level, score) per factor and group, so any number of levels costs
one aggregate. That suits answer scales (a handful of distinct scores); a mean over a
continuous field stays exact but its histogram grows with the distinct values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from cxengine import hookimpl
from cxengine.bands import Band
from cxengine.compute.stats import Alternative, NoTest, TestResult, holm_adjust
from cxengine.default_plugins.aggregations.common import positive_or_top_two_box, scale_exclusion
from cxengine.differences import GroupCounts, GroupDifference, group_difference
from cxengine.interfaces import CompileContext, Estimate, Exclusion
from cxengine.spec.models import MetricSpec, Range, Scalar, Scale

if TYPE_CHECKING:
    from sqlglot import exp
else:
    from cxengine.lazy import exp

#: Separates a level from a score inside one histogram key (never in a label or number).
SEP = "\x1f"
CATEGORY_KEY = "driver"


class DriversSpec(MetricSpec):
    """A score compared across the levels of factors, each level against the rest."""

    kind: Literal["drivers"]
    score: str = Field(description="the score field: 0–10 recommend, 1–5 satisfaction, …")
    measure: Literal["nps", "share", "mean"] = Field(
        "nps", description="nps, share (% positive) or mean of the score"
    )
    factors: list[str | Band] = Field(
        min_length=1,
        description="fields whose values split the answers; {field: frt_min, bands: [...]} "
        "splits a number into bands",
    )
    scale: Scale | None = Field(None, description="answer scale; default 0–10 for nps")
    promoters: Range = Field(default_factory=lambda: Range(min=9, max=10))
    detractors: Range = Field(default_factory=lambda: Range(min=0, max=6))
    positive: list[Scalar] | Range | None = Field(
        None, description="share: the positive answers; default top-2-box of the scale"
    )
    unit: str | None = "points"

    @model_validator(mode="after")
    def _defaults(self) -> DriversSpec:
        if self.scale is None and self.measure == "nps":
            object.__setattr__(self, "scale", Scale(min=0, max=10))
        if self.measure == "share" and self.positive is None and self.scale is None:
            raise ValueError("measure share needs `positive` or a `scale` for top-2-box")
        names = self.factor_names()
        if len(set(names)) != len(names):
            raise ValueError("a factor is listed twice")
        clash = [n for n in names if n in self.by]
        if clash:
            raise ValueError(f"{clash[0]!r} is both a factor and a slice in `by`")
        return self

    def factor_names(self) -> list[str]:
        """Return each factor's name: the field, or the band's slice name."""
        return [f.slice_name if isinstance(f, Band) else f for f in self.factors]

    def positive_set(self) -> Range | list[Scalar]:
        """Return the answers counted as positive (measure share)."""
        return positive_or_top_two_box(self.positive, self.scale)


class Drivers:
    """Per factor level: score at that level minus score of the rest, largest effect first."""

    name = "drivers"
    description = (
        "Per level (or band) of each factor: score there minus the rest, interval, p-value, "
        "share of answers; ranked by effect."
    )
    spec_model = DriversSpec
    higher_is_better = True

    def category_key(self, spec: MetricSpec) -> str:
        return CATEGORY_KEY

    def fields(self, spec: MetricSpec) -> dict[str, tuple[str, ...]]:
        assert isinstance(spec, DriversSpec)
        out: dict[str, tuple[str, ...]] = {spec.score: ("integer", "number")}
        for f in spec.factors:
            if isinstance(f, Band):
                out[f.field] = ("integer", "number")
            else:
                out.setdefault(f, ())
        return out

    def exclusions(self, spec: MetricSpec, ctx: CompileContext) -> list[Exclusion]:
        assert isinstance(spec, DriversSpec)
        return scale_exclusion(spec.score, spec.scale, ctx)

    def counts(self, spec: MetricSpec, ctx: CompileContext) -> dict[str, exp.Expression]:
        assert isinstance(spec, DriversSpec)
        score = ctx.column(spec.score)
        out: dict[str, exp.Expression] = {"n": exp.Count(this=score.copy())}
        text = exp.DataType.build("VARCHAR")
        for name, factor in zip(spec.factor_names(), spec.factors, strict=True):
            if isinstance(factor, Band):
                level: exp.Expression = factor.expression(ctx.column(factor.field))
            else:
                level = exp.Cast(this=ctx.column(factor), to=text)
            key = exp.DPipe(
                this=exp.DPipe(this=level, expression=exp.Literal.string(SEP)),
                expression=exp.Cast(this=score.copy(), to=text.copy()),
            )
            # A NULL level or score makes the key NULL, which histogram() skips.
            out[f"h_{name}"] = exp.Anonymous(this="histogram", expressions=[key])
        return out

    def estimate(self, spec: MetricSpec, counts: Mapping[str, Any]) -> Mapping[str, Estimate]:
        assert isinstance(spec, DriversSpec)
        out: dict[str, Estimate] = {}
        for row in driver_rows(spec, counts):
            d = row.difference
            if d.difference is None:
                note = d.method
            else:
                p = "" if d.p_value is None else f", p = {d.p_value:.2g}"
                note = f"rank {row.rank}, {row.share:.1f} % of answers{p}"
            out[row.category] = Estimate(d.difference, d.n_in, d.low, d.high, note=note)
        return out

    def compare(
        self,
        spec: MetricSpec,
        baseline: Mapping[str, float | int | None],
        current: Mapping[str, float | int | None],
        alternative: Alternative,
    ) -> TestResult | NoTest | None:
        """Test whether a level's difference changed: z from the two standard errors.

        Each value stores its difference and standard error (counts `difference`,
        `se`), so the change of a driver between runs is tested like a difference of
        two independent estimates.
        """
        values = [(c.get("difference"), c.get("se")) for c in (baseline, current)]
        if any(d is None or se is None for d, se in values):
            return NoTest("a driver without a difference on one side: nothing to compare")
        (d1, se1), (d2, se2) = ((float(d or 0), float(s or 0)) for d, s in values)
        change = d2 - d1
        se = math.sqrt(se1 * se1 + se2 * se2)
        method = "z-test of two driver differences"
        if se == 0:
            return TestResult(0.0, 1.0, 0.0, method) if change == 0 else NoTest("no spread")
        z = change / se
        p = {
            "smaller": NormalDist().cdf(z),
            "larger": 1.0 - NormalDist().cdf(z),
        }.get(alternative, 2.0 * (1.0 - NormalDist().cdf(abs(z))))
        return TestResult(z, p, change, method)

    def absent_category(self, spec: MetricSpec, counts: Mapping[str, Any]) -> Estimate:
        return Estimate(None, 0, note="no answers at this level in this group")

    def category_counts(
        self, spec: MetricSpec, counts: Mapping[str, Any], category: str
    ) -> dict[str, float | int | None]:
        assert isinstance(spec, DriversSpec)
        for row in driver_rows(spec, counts):
            if row.category == category:
                return row.stored()
        return {"n": 0}


class DriverRow:
    """One level of one factor, compared with the rest of the factor's answers."""

    def __init__(
        self,
        factor: str,
        level: str,
        difference: GroupDifference,
        share: float,
        rank: int = 0,
        p_holm: float | None = None,
        z: float = 1.959963984540054,
    ):
        self.factor = factor
        self.level = level
        self.difference = difference
        self.share = share  # % of the factor's answers at this level
        self.rank = rank
        self.p_holm = p_holm
        self.z = z  # the interval's normal quantile, to recover its standard error

    @property
    def category(self) -> str:
        return f"{self.factor} = {self.level}"

    def stored(self) -> dict[str, float | int | None]:
        """Return the numbers stored with the value (counts column)."""
        d = self.difference
        se = None
        if d.low is not None and d.high is not None:
            se = (d.high - d.low) / (2.0 * self.z)
        return {
            "difference": d.difference,
            "se": se,
            "n": d.n_in,
            "n_rest": d.n_out,
            "share": self.share,
            "score": d.value_in,
            "score_rest": d.value_out,
            "p_value": d.p_value,
            "p_holm": self.p_holm,
            "rank": self.rank,
        }

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {"factor": self.factor, "level": self.level, **self.stored()}


def driver_rows(spec: DriversSpec, counts: Mapping[str, Any]) -> list[DriverRow]:
    """Return every level of every factor, each factor's levels largest effect first."""
    confidence = spec.confidence or 0.95
    z = NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 2.0)
    rows: list[DriverRow] = []
    for name, factor in zip(spec.factor_names(), spec.factors, strict=True):
        levels = _level_counts(spec, counts.get(f"h_{name}") or {})
        total = GroupCounts(
            sum(g.n for g in levels.values()),
            sum(g.a for g in levels.values()),
            sum(g.b for g in levels.values()),
        )
        mine = []
        for level, inside in levels.items():
            outside = GroupCounts(total.n - inside.n, total.a - inside.a, total.b - inside.b)
            diff = group_difference(spec.measure, inside, outside, confidence)
            share = 100.0 * inside.n / total.n if total.n else 0.0
            mine.append(DriverRow(name, level, diff, share, z=z))
        for row, p in zip(mine, holm_adjust([r.difference.p_value for r in mine]), strict=True):
            row.p_holm = p
        order = _band_order(factor)
        mine.sort(key=lambda r: (-abs(r.difference.difference or 0.0), order(r.level)))
        for i, row in enumerate(mine, start=1):
            row.rank = i
        rows.extend(mine)
    return rows


def _band_order(factor: str | Band) -> Callable[[str], Any]:
    if isinstance(factor, Band):
        labels = factor.labels()
        return lambda level: labels.index(level) if level in labels else len(labels)
    return lambda level: level


def _level_counts(spec: DriversSpec, histogram: Mapping[Any, Any]) -> dict[str, GroupCounts]:
    """Turn {level␟score: count} into each level's counts for the spec's measure."""
    acc: dict[str, list[float]] = {}
    positive = spec.positive_set() if spec.measure == "share" else None
    for key, count in histogram.items():
        level, _, text = str(key).rpartition(SEP)
        score, k = float(text), float(count)
        a_b = acc.setdefault(level, [0.0, 0.0, 0.0])
        a_b[0] += k
        if spec.measure == "nps":
            a_b[1] += k if _within(score, spec.promoters) else 0.0
            a_b[2] += k if _within(score, spec.detractors) else 0.0
        elif spec.measure == "share":
            assert positive is not None
            a_b[1] += k if _is_positive(score, positive) else 0.0
        else:
            a_b[1] += k * score
            a_b[2] += k * score * score
    return {level: GroupCounts(*v) for level, v in acc.items()}


def _within(x: float, r: Range) -> bool:
    return (r.min is None or x >= r.min) and (r.max is None or x <= r.max)


def _is_positive(x: float, positive: Range | Sequence[Scalar]) -> bool:
    if isinstance(positive, Range):
        return _within(x, positive)
    return any(isinstance(v, int | float) and not isinstance(v, bool) and x == v for v in positive)


def ranked(rows: Sequence[DriverRow]) -> list[DriverRow]:
    """Return rows grouped by factor (in spec order) and ranked inside each factor."""
    factors: list[str] = []
    for r in rows:
        if r.factor not in factors:
            factors.append(r.factor)
    return sorted(rows, key=lambda r: (factors.index(r.factor), r.rank))


@hookimpl
def register_aggregations(register: Callable[..., None]) -> None:
    register(Drivers())
