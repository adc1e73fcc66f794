"""Aggregation kinds over comment tags: theme share, mean sentiment, theme drivers, NPS cost.

They read the tag columns cxengine adds to a dataset whose comments are tagged
(`comment_themes`, `comment_theme_<id>`, `comment_sentiment`, …; see cxengine/enrich.py),
so they compile to SQL like every other kind and get periods, slices, filters and
roll-ups from the engine. `field` names the comment field (``comment``), or the tag
prefix without its underscore (``comment_nlp``) when several enrichers tag it.

Per-theme kinds return one value per theme under the slice key ``theme``; the theme
ids are the ``<field>_theme_<id>`` columns, i.e. the configured taxonomy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, Literal

from cxengine.api import (
    Alternative,
    CompileContext,
    Estimate,
    Exclusion,
    GroupCounts,
    MetricSpec,
    NoTest,
    Range,
    Scale,
    TestResult,
    compare_means,
    count_if,
    group_difference,
    in_range,
    mean_interval,
    scale_exclusion,
    wilson_interval,
)
from pydantic import Field, model_validator

if TYPE_CHECKING:
    from sqlglot import exp

THEME_KEY = "theme"
#: A theme mention whose sentiment is at most this reads as a complaint about the theme
#: (the cut of the `negative` label).
NEGATIVE_MENTION = -0.15


def theme_ids(field: str, field_types: Mapping[str, str]) -> list[str]:
    """Return the theme ids tagged on `field`, from its boolean `<field>_theme_<id>` columns."""
    prefix = f"{field}_theme_"
    return [
        name[len(prefix) :]
        for name, kind in field_types.items()
        if name.startswith(prefix) and kind == "boolean"
    ]


def mentions(field: str, theme: str, ctx: CompileContext) -> exp.Expression:
    """Return `list_contains(<field>_themes, theme)`.

    The list column, not the per-theme boolean one, because the engine selects only
    the fields a kind declares, and `fields(spec)` cannot know the taxonomy.
    """
    from sqlglot import exp

    return exp.Anonymous(
        this="list_contains",
        expressions=[ctx.column(f"{field}_themes"), exp.Literal.string(theme)],
    )


def _not_null(col: exp.Expression) -> exp.Expression:
    from sqlglot import exp

    return exp.Not(this=exp.Is(this=col, expression=exp.Null()))


def _and(*parts: exp.Expression) -> exp.Expression:
    from sqlglot import exp

    out: exp.Expression = exp.Paren(this=parts[0])
    for p in parts[1:]:
        out = exp.And(this=out, expression=exp.Paren(this=p))
    return out


def _sum_if(value: exp.Expression, condition: exp.Expression) -> exp.Expression:
    from sqlglot import exp

    return exp.Filter(this=exp.Sum(this=value), expression=exp.Where(this=condition))


def _number(value: float) -> exp.Expression:
    from sqlglot import exp

    return (
        exp.Literal.number(repr(value))
        if value >= 0
        else exp.Neg(this=exp.Literal.number(repr(-value)))
    )


def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 2.0)


def _num(counts: Mapping[str, Any], key: str) -> float:
    value = counts.get(key)
    return float(value) if value is not None else 0.0


class _ThemeSpec(MetricSpec):
    field: str = Field(description="the comment field whose tags are read, e.g. comment")
    themes: list[str] | None = Field(
        None, description="only these theme ids; default every theme of the taxonomy"
    )


class _PerTheme:
    """Shared by the kinds that give one value per theme."""

    def category_key(self, spec: MetricSpec) -> str:
        return THEME_KEY

    def _themes(self, spec: _ThemeSpec, ctx: CompileContext) -> list[str]:
        found = theme_ids(spec.field, ctx.field_types)
        return [t for t in found if t in spec.themes] if spec.themes else found

    def _theme_fields(self, spec: _ThemeSpec) -> dict[str, tuple[str, ...]]:
        out: dict[str, tuple[str, ...]] = {f"{spec.field}_themes": ("list",)}
        for theme in spec.themes or ():
            out[f"{spec.field}_theme_{theme}"] = ("boolean",)
        return out


# ---------------------------------------------------------------------- theme_share


class ThemeShareSpec(_ThemeSpec):
    """Share of tagged comments that mention each theme."""

    kind: Literal["theme_share"]
    unit: str | None = "%"


class ThemeShare(_PerTheme):
    """% of tagged (non-empty) comments mentioning each theme, with Wilson intervals."""

    name = "theme_share"
    description = (
        "Share of comments mentioning each theme (%), Wilson interval; needs cxengine-nlp."
    )
    spec_model: type[MetricSpec] = ThemeShareSpec
    # A theme is a topic, not a verdict; set `regression.direction` per spec to gate on it.
    higher_is_better = False

    def fields(self, spec: MetricSpec) -> dict[str, tuple[str, ...]]:
        assert isinstance(spec, ThemeShareSpec)
        return self._theme_fields(spec)

    def exclusions(self, spec: MetricSpec, ctx: CompileContext) -> list[Exclusion]:
        return []

    def counts(self, spec: MetricSpec, ctx: CompileContext) -> dict[str, exp.Expression]:
        from sqlglot import exp

        assert isinstance(spec, ThemeShareSpec)
        out: dict[str, exp.Expression] = {"n": exp.Count(this=ctx.column(f"{spec.field}_themes"))}
        for theme in self._themes(spec, ctx):
            out[f"m_{theme}"] = count_if(mentions(spec.field, theme, ctx))
        return out

    def estimate(self, spec: MetricSpec, counts: Mapping[str, Any]) -> Mapping[str, Estimate]:
        n = int(_num(counts, "n"))
        confidence = spec.confidence or 0.95
        out: dict[str, Estimate] = {}
        for key in counts:
            if not key.startswith("m_"):
                continue
            mentions = int(_num(counts, key))
            if n == 0:
                out[key[2:]] = Estimate(None, 0, note="no tagged comments")
                continue
            ci = wilson_interval(mentions, n, confidence)
            out[key[2:]] = Estimate(
                100.0 * mentions / n, n, 100.0 * (ci.low or 0.0), 100.0 * (ci.high or 0.0)
            )
        return out


# ---------------------------------------------------------------- comment_sentiment


class CommentSentimentSpec(MetricSpec):
    """Mean comment sentiment, −1 (negative) … 1 (positive)."""

    kind: Literal["comment_sentiment"]
    field: str = Field(description="the comment field whose tags are read, e.g. comment")
    theme: str | None = Field(
        None, description="mean of what comments say about this theme, instead of whole comments"
    )
    unit: str | None = "score"


class CommentSentiment:
    """Mean sentiment of tagged comments (or of one theme's mentions), t interval."""

    name = "comment_sentiment"
    description = "Mean comment sentiment −1…1 (whole comment or one theme), t interval."
    spec_model = CommentSentimentSpec
    higher_is_better = True

    def _column(self, spec: CommentSentimentSpec) -> str:
        if spec.theme:
            return f"{spec.field}_theme_{spec.theme}_sentiment"
        return f"{spec.field}_sentiment"

    def fields(self, spec: MetricSpec) -> dict[str, tuple[str, ...]]:
        assert isinstance(spec, CommentSentimentSpec)
        return {self._column(spec): ("number",)}

    def exclusions(self, spec: MetricSpec, ctx: CompileContext) -> list[Exclusion]:
        return []

    def counts(self, spec: MetricSpec, ctx: CompileContext) -> dict[str, exp.Expression]:
        from sqlglot import exp

        assert isinstance(spec, CommentSentimentSpec)
        col = ctx.column(self._column(spec))
        return {
            "n": exp.Count(this=col),
            "sum": exp.Sum(this=col.copy()),
            "sum_sq": exp.Sum(this=exp.Mul(this=col.copy(), expression=col.copy())),
        }

    def estimate(self, spec: MetricSpec, counts: Mapping[str, Any]) -> Estimate:
        n = int(_num(counts, "n"))
        if n == 0:
            return Estimate(None, 0, note="no tagged comments")
        total, total_sq = _num(counts, "sum"), _num(counts, "sum_sq")
        ci = mean_interval(total, total_sq, n, spec.confidence or 0.95)
        return Estimate(total / n, n, ci.low, ci.high)

    def compare(
        self,
        spec: MetricSpec,
        baseline: Mapping[str, float | int | None],
        current: Mapping[str, float | int | None],
        alternative: Alternative,
    ) -> TestResult | NoTest:
        """Welch's t-test of the two mean sentiments (n, sum, sum of squares)."""
        return compare_means(baseline, current, alternative)


# ----------------------------------------------------------- theme_drivers, nps_cost


class ThemeDriversSpec(_ThemeSpec):
    """How a score differs between responses that mention a theme and those that do not."""

    kind: Literal["theme_drivers"]
    score: str = Field(description="the score field: 0–10 recommend (nps) or any number (mean)")
    measure: Literal["nps", "mean"] = Field(
        "nps", description="nps: NPS with vs without the theme; mean: mean score with vs without"
    )
    scale: Scale | None = Field(None, description="answer scale; default 0–10 for nps")
    promoters: Range = Field(default_factory=lambda: Range(min=9, max=10))
    detractors: Range = Field(default_factory=lambda: Range(min=0, max=6))
    mentions: Literal["any", "negative"] = Field(
        "any",
        description=(
            "any: every mention of the theme; negative: only mentions whose per-theme "
            "sentiment reads negative (≤ −0.15; learned from scores when the enricher learned)"
        ),
    )
    unit: str | None = "points"

    @model_validator(mode="after")
    def _default_scale(self) -> ThemeDriversSpec:
        if self.scale is None and self.measure == "nps":
            object.__setattr__(self, "scale", Scale(min=0, max=10))
        return self

    @model_validator(mode="after")
    def _negative_needs_themes(self) -> ThemeDriversSpec:
        # The engine reads only the columns a kind declares, and the per-theme sentiment
        # columns can be named only when the themes are.
        if self.mentions == "negative" and not self.themes:
            raise ValueError("mentions: negative needs the list of themes (themes: [id, ...])")
        return self


class ThemeNpsCostSpec(ThemeDriversSpec):
    """NPS points each theme costs: what NPS would gain if its detractors were passives."""

    kind: Literal["theme_nps_cost"]  # type: ignore[assignment]
    measure: Literal["nps"] = "nps"


@dataclass(frozen=True)
class Driver:
    """One theme's numbers: the score with and without it, the gap, and the NPS cost."""

    theme: str
    n_with: int
    n_without: int
    with_value: float | None
    without_value: float | None
    gap: float | None
    gap_low: float | None
    gap_high: float | None
    cost: float | None = None  # NPS points; None for measure mean
    cost_low: float | None = None
    cost_high: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return dict(self.__dict__)


def drivers_from_counts(spec: ThemeDriversSpec, counts: Mapping[str, Any]) -> list[Driver]:
    """Turn one group's counts into a Driver per theme (shared by the kinds and `themes`)."""
    confidence = spec.confidence or 0.95
    themes = [k[2:] for k in counts if k.startswith("n_") and k != "n_all"]  # n_<theme>
    total = _num(counts, "n_all")
    return [_driver(spec, counts, t, total, confidence) for t in themes]


def _driver(
    spec: ThemeDriversSpec, c: Mapping[str, Any], theme: str, total: float, confidence: float
) -> Driver:
    # The with/without statistics are cxengine's, shared with the `drivers` kind.
    n_c, n_t = _num(c, "n"), _num(c, f"n_{theme}")
    if spec.measure == "nps":
        p_t, d_t = _num(c, f"p_{theme}"), _num(c, f"d_{theme}")
        inside = GroupCounts(n_t, p_t, d_t)
        outside = GroupCounts(n_c - n_t, _num(c, "p") - p_t, _num(c, "d") - d_t)
    else:
        s_t, ss_t = _num(c, f"s_{theme}"), _num(c, f"ss_{theme}")
        inside = GroupCounts(n_t, s_t, ss_t)
        outside = GroupCounts(n_c - n_t, _num(c, "s") - s_t, _num(c, "ss") - ss_t)
    g = group_difference(spec.measure, inside, outside, confidence)
    common = (theme, g.n_in, g.n_out, g.value_in, g.value_out, g.difference, g.low, g.high)
    if spec.measure != "nps" or not total:
        return Driver(*common)
    d_t = inside.b
    ci = wilson_interval(min(d_t, total), total, confidence)
    cost = 100.0 * d_t / total
    return Driver(*common, cost, 100.0 * (ci.low or 0.0), 100.0 * (ci.high or 0.0))


class ThemeDrivers(_PerTheme):
    """Per theme: score of responses mentioning it minus score of those that do not."""

    name = "theme_drivers"
    description = (
        "Per theme: NPS (or mean score) of responses mentioning it minus those that do not, "
        "with an interval; needs cxengine-nlp."
    )
    spec_model: type[MetricSpec] = ThemeDriversSpec
    higher_is_better = True

    def fields(self, spec: MetricSpec) -> dict[str, tuple[str, ...]]:
        assert isinstance(spec, ThemeDriversSpec)
        out = {**self._theme_fields(spec), spec.score: ("integer", "number")}
        if spec.mentions == "negative":
            for theme in spec.themes or ():
                out[f"{spec.field}_theme_{theme}_sentiment"] = ("number",)
        return out

    def exclusions(self, spec: MetricSpec, ctx: CompileContext) -> list[Exclusion]:
        assert isinstance(spec, ThemeDriversSpec)
        return scale_exclusion(spec.score, spec.scale, ctx)

    def counts(self, spec: MetricSpec, ctx: CompileContext) -> dict[str, exp.Expression]:
        """Counts among scored responses: all, with a tagged comment, and per theme.

        "With" and "without" compare responses that have a tagged comment, because
        people who write comments score differently from those who do not; the NPS
        cost is relative to every scored response (the NPS everyone reports).
        """
        from sqlglot import exp

        assert isinstance(spec, ThemeDriversSpec)
        score = ctx.column(spec.score)
        scored = _not_null(score.copy())
        tagged = _and(scored, _not_null(ctx.column(f"{spec.field}_themes")))
        out: dict[str, exp.Expression] = {"n_all": exp.Count(this=score.copy())}
        groups: list[tuple[str, exp.Expression]] = [("", tagged)]
        for theme in self._themes(spec, ctx):
            cond = _and(tagged.copy(), mentions(spec.field, theme, ctx))
            if spec.mentions == "negative":
                # Only a complaint about the theme counts as "with": praise of the staff
                # does not drive scores down, and is compared with everyone else.
                sentiment = ctx.column(f"{spec.field}_theme_{theme}_sentiment")
                cond = _and(cond, exp.LTE(this=sentiment, expression=_number(NEGATIVE_MENTION)))
            groups.append((f"_{theme}", cond))
        for suffix, cond in groups:
            out[f"n{suffix}"] = count_if(cond.copy())
            if spec.measure == "nps":
                out[f"p{suffix}"] = count_if(
                    _and(cond.copy(), in_range(score.copy(), spec.promoters))
                )
                out[f"d{suffix}"] = count_if(
                    _and(cond.copy(), in_range(score.copy(), spec.detractors))
                )
                if suffix == "":
                    out["p_all"] = count_if(in_range(score.copy(), spec.promoters))
                    out["d_all"] = count_if(in_range(score.copy(), spec.detractors))
            else:
                out[f"s{suffix}"] = _sum_if(score.copy(), cond.copy())
                out[f"ss{suffix}"] = _sum_if(
                    exp.Mul(this=score.copy(), expression=score.copy()), cond.copy()
                )
        return out

    def estimate(self, spec: MetricSpec, counts: Mapping[str, Any]) -> Mapping[str, Estimate]:
        assert isinstance(spec, ThemeDriversSpec)
        out = {}
        for d in drivers_from_counts(spec, counts):
            note = None if d.gap is not None else "no responses with or without this theme"
            out[d.theme] = Estimate(d.gap, d.n_with, d.gap_low, d.gap_high, note=note)
        return out


class ThemeNpsCost(ThemeDrivers):
    """Per theme: NPS points lost to detractors who mention it (100 × their share of all)."""

    name = "theme_nps_cost"
    description = (
        "Per theme: NPS points it costs (if its detractors were passives), Wilson interval; "
        "needs cxengine-nlp."
    )
    spec_model = ThemeNpsCostSpec
    higher_is_better = False

    def estimate(self, spec: MetricSpec, counts: Mapping[str, Any]) -> Mapping[str, Estimate]:
        assert isinstance(spec, ThemeDriversSpec)
        total = int(_num(counts, "n_all"))
        out = {}
        for d in drivers_from_counts(spec, counts):
            if not total:
                out[d.theme] = Estimate(None, 0, note="no scored responses")
            else:
                out[d.theme] = Estimate(d.cost, total, d.cost_low, d.cost_high)
        return out


KINDS = (ThemeShare(), CommentSentiment(), ThemeDrivers(), ThemeNpsCost())
