"""The headline of a metric: its latest complete period, the change, the target.

One computation shared by the terminal summary of `cxengine run` and the report's
cards, so both say the same thing:

- the **latest complete period** is the latest period with answers whose end is on or
  before the day the run finished (a month still under way is not compared with a
  full one); without any complete period, the latest one, marked partial;
- the **change** against the period before it, with the kind's own significance test
  (two-sided, at the spec's confidence) on the raw counts;
- the **target** verdict of the overall value, and the slices of that period that
  miss their own targets (per-channel targets of first response time, say).

Per-category kinds (a distribution of channels) have no single overall value; their
headline is the largest category.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from cxengine.compare.points import slice_label
from cxengine.compare.wording import change_unit, fixed, pval, with_unit
from cxengine.compute.periods import label, next_period
from cxengine.report.data import MetricData, Value


@dataclass
class TargetMiss:
    """A slice of the headline period that misses its target."""

    slice: dict[str, Any]
    verdict: str  # warn or fail
    reason: str  # 'target: 1.6 is above warn_above 1.5'


@dataclass
class Headline:
    """What one line (or one card) says about a metric."""

    metric: MetricData
    point: Value | None  # the headline value (overall, or the top category)
    period: str  # ISO start, '' for a metric without periods
    partial: bool = False
    category: str | None = None  # per-category kinds: the category shown
    previous: Value | None = None
    change: float | None = None
    p_value: float | None = None
    test: str | None = None
    target: tuple[str, str] | None = None  # (verdict, reason) of the overall value
    misses: list[TargetMiss] = field(default_factory=list)

    @property
    def period_label(self) -> str:
        """'2025-12', '2025-Q4', or 'all' for a metric without periods."""
        if not self.period:
            return "all"
        return label(self.metric.grain, date.fromisoformat(self.period))

    @property
    def previous_label(self) -> str:
        """The period compared with, for people ('2025-11'); '' without one."""
        if self.previous is None or not self.previous.period:
            return ""
        return label(self.metric.grain, date.fromisoformat(self.previous.period))

    @property
    def significant(self) -> bool:
        """True when the change is significant at the spec's confidence."""
        return self.p_value is not None and self.p_value < 1 - self.metric.confidence

    @property
    def better(self) -> bool | None:
        """True when the change is an improvement, False a decline, None no change
        (or no direction: more of one category is neither better nor worse)."""
        if not self.change or self.category is not None:
            return None
        return (self.change > 0) == self.metric.higher_is_better

    @property
    def low_sample(self) -> bool:
        """True when n is below the spec's min_n."""
        return self.point is not None and self.point.n < self.metric.min_n

    @property
    def arrow(self) -> str:
        """↑ up, ↓ down, → no change, '' nothing to compare with."""
        if self.change is None:
            return ""
        return "↑" if self.change > 0 else "↓" if self.change < 0 else "→"

    def change_text(self) -> str:
        """'↑ +3.2 pp *' (the star: significant), '' without a previous period."""
        if self.change is None:
            return ""
        from cxengine.compare.wording import signed

        text = f"{self.arrow} {signed(self.change, None)}{change_unit(self.metric.unit)}"
        return text + (" *" if self.significant else "")

    def significance_text(self) -> str:
        """'significant (p=0.003, two-proportion z-test)' or 'not significant …'."""
        if self.change is None:
            return ""
        if self.p_value is None:
            return "no test"
        word = "significant" if self.significant else "not significant"
        return f"{word} ({pval(self.p_value)}{', ' + self.test if self.test else ''})"


def headline(metric: MetricData, today: date | None = None) -> Headline:
    """Compute the headline of a metric from its stored values."""
    cat = metric.category_key
    # Values of all slices together: {} (or only the category, for per-category kinds).
    overall = [p for p in metric.points if set(p.slice) == ({cat} if cat else set()) and p.period]
    if metric.grain == "none" or not overall:
        top = _top([p for p in metric.points if not metric.slice_fields(p) and not p.period], cat)
        h = Headline(metric, top, "", category=_category(top, cat))
        _targets(h, [p for p in metric.points if not p.period])
        return h
    periods = sorted({p.period for p in overall if p.n > 0})
    if not periods:
        return Headline(metric, None, "")
    complete = [p for p in periods if today is None or _complete(metric.grain, p, today)]
    period = (complete or periods)[-1]
    h = Headline(metric, None, period, partial=not complete)
    at = [p for p in overall if p.period == period]
    h.point = _top(at, cat)
    h.category = _category(h.point, cat)
    before = [p for p in periods if p < period]
    if before and h.point is not None:
        key = h.point.slice_key
        h.previous = next(
            (p for p in overall if p.period == before[-1] and p.slice_key == key), None
        )
        _compare(h)
    _targets(h, [p for p in metric.points if p.period == period])
    return h


def _complete(grain: str, period: str, today: date) -> bool:
    return next_period(grain, date.fromisoformat(period)) <= today


def _top(points: list[Value], cat: str | None) -> Value | None:
    if not points:
        return None
    if cat is None:
        return points[0]
    return max(points, key=lambda p: p.value if p.value is not None else float("-inf"))


def _category(point: Value | None, cat: str | None) -> str | None:
    if point is None or cat is None:
        return None
    value = point.slice.get(cat)
    return "(empty)" if value is None else str(value)


def _compare(h: Headline) -> None:
    cur, prev = h.point, h.previous
    if cur is None or prev is None or cur.value is None or prev.value is None:
        return
    h.change = cur.value - prev.value
    m = h.metric
    if m.aggregation is None or prev.n == 0 or cur.n == 0:
        return
    from cxengine.compare.significance import run_test

    try:
        result = run_test(m.aggregation, m.spec, prev.counts, cur.counts, "two-sided")
    except (ValueError, ZeroDivisionError, KeyError, TypeError):
        return  # counts a test cannot use: the change is shown without a verdict
    p_value = getattr(result, "p_value", None)
    if p_value is not None:
        h.p_value = float(p_value)
        h.test = str(getattr(result, "method", "") or "") or None


def _targets(h: Headline, points: list[Value]) -> None:
    spec = h.metric.spec
    target = getattr(spec, "target", None)
    if target is None:
        return
    if h.point is not None:
        h.target = target_words(h.metric, h.point)
    for p in points:
        if p is h.point or not h.metric.slice_fields(p):
            continue
        outcome = target_words(h.metric, p)
        if outcome and outcome[0] in ("warn", "fail"):
            h.misses.append(TargetMiss(dict(p.slice), outcome[0], outcome[1]))
    h.misses.sort(key=lambda t: (t.verdict != "fail", slice_label(t.slice)))


def target_words(metric: MetricData, point: Value) -> tuple[str, str] | None:
    """(verdict, '1.6 min above 1.5 min') for a value against its target; None: no target.

    The verdict is the regression gate's (`target_outcome`: too few answers is
    inconclusive); the words carry the units, for people.
    """
    from cxengine.compare.targets import bounds_for, target_outcome

    target = getattr(metric.spec, "target", None)
    if target is None:
        return None
    outcome = target_outcome(target, point.slice, point.value, point.n, metric.min_n, metric.unit)
    if outcome is None:
        return None
    verdict, reason = outcome
    if verdict not in ("warn", "fail") or point.value is None:
        return verdict, reason.removeprefix("target: ")
    bounds = bounds_for(target, point.slice)
    unit = metric.unit
    for level in ("fail", "warn"):
        low, high = bounds.get(f"{level}_below"), bounds.get(f"{level}_above")
        if low is not None and point.value < low:
            return verdict, f"{with_unit(point.value, unit)} below {with_unit(low, unit)}"
        if high is not None and point.value > high:
            return verdict, f"{with_unit(point.value, unit)} above {with_unit(high, unit)}"
    return verdict, reason.removeprefix("target: ")


def interval_text(point: Value | None, digits: int = 1) -> str:
    """'[9.8, 24.3]' from the value's interval, '' without one."""
    if point is None or point.ci_low is None or point.ci_high is None:
        return ""
    return f"[{fixed(point.ci_low, digits)}, {fixed(point.ci_high, digits)}]"
