"""From values and rules to verdicts: targets, regressions, corrections, mix shifts.

For every metric with a rule this pairs each current value with the value it is
compared to — the same slice in the baseline (all periods together), or the period
before inside the same run (`regression: {compare: previous_period}`) — runs a
one-sided test "is the current value worse?", corrects the p-values of all tests for
multiplicity, and gives each metric × slice × period compared one verdict:

- `fail`: worse by more than `max_drop` **and** significant at `confidence` (after the
  correction); or a target's fail bound crossed.
- `warn`: a significant drop within `max_drop`; a warn bound crossed; or an overall
  drop that is only a shift in the slice mix (no slice moved: see `_mix_shift`).
- `inconclusive`: too few answers (below `min_n`) or no test the counts allow.
- `pass`: everything else — a drop that is not significant is noise and passes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cxengine.compare.multiple import adjust
from cxengine.compare.points import Baseline, Point
from cxengine.compare.report import CORRECTIONS, Check, CheckReport, Verdict, worst
from cxengine.compare.significance import NoTest, higher_is_better, run_test
from cxengine.compare.targets import target_outcome
from cxengine.compare.wording import level, num, pval, signed
from cxengine.compute.periods import label
from cxengine.interfaces import Kind
from cxengine.spec.models import MetricSpec, Regression

if TYPE_CHECKING:
    from cxengine.plugins import Registry
    from cxengine.runner import RunResult

DEFAULT_MIN_N = 30
ALL_PERIODS = "all periods"
#: A mix shift explains an overall drop when the mix effect is at least this share of it.
MIX_SHARE = 0.5


@dataclass
class MetricData:
    """One metric of the run being judged: its spec, its kind and its values."""

    spec: MetricSpec
    aggregation: Kind
    points: list[Point]


@dataclass
class _Comparison:
    """A check waiting for the multiple-testing correction."""

    check: Check
    base: Point | None
    cur: Point | None
    rule: Regression | None
    by: list[str]
    drop: float | None = None  # positive: worse, in the metric's units
    p_value: float | None = None
    siblings: list[_Comparison] = field(default_factory=list)


def evaluate(
    metrics: Sequence[MetricData],
    baseline: Baseline | None,
    *,
    correction: str = "holm",
    family: str = "run",
    fail_on: str = "fail",
    run_id: str | None = None,
    baseline_only: bool = False,
) -> CheckReport:
    """Judge every metric that has a target, a regression rule or a baseline.

    With a baseline, a metric without a `regression` rule is compared with the default
    rule (any significant drop fails, 95 % confidence). `baseline_only` compares
    `previous_period` metrics with the baseline too (`cxengine compare A B`).
    """
    if family not in ("run", "metric"):
        raise ValueError(f"family {family!r} is not known; use 'run' or 'metric'")
    if correction not in CORRECTIONS:
        raise ValueError(f"correction {correction!r} is not known; use holm, bh or none")
    notes: list[str] = []
    comparisons: list[_Comparison] = []
    for m in metrics:
        comparisons.extend(_metric_comparisons(m, baseline, baseline_only, notes))
    tests = _correct(comparisons, correction, family)
    for c in comparisons:
        _finish_regression(c, correction)
    for group in _groups(comparisons):
        _mix_shift(group)
    checks = []
    for c in comparisons:
        ch = c.check
        ch.verdict = worst(ch.target_verdict, ch.regression_verdict)
        ch.reason = _reason(ch)
        checks.append(ch)
    return CheckReport(
        checks,
        baseline=baseline.source if baseline else None,
        correction=correction,
        family=family,
        tests=tests,
        run_id=run_id,
        baseline_run_id=baseline.run_id if baseline else None,
        fail_on="warn" if fail_on == "warn" else "fail",
        notes=notes,
    )


def evaluate_run(
    result: RunResult, registry: Registry, baseline: Baseline | None, **options: Any
) -> CheckReport:
    """Judge a run computed in this process (what `cxengine run` does)."""
    by_metric: dict[str, list[Point]] = {}
    for v in result.values:
        by_metric.setdefault(v.metric, []).append(Point.from_value(v))
    metrics = [
        MetricData(s.spec, registry.aggregation(s.spec.kind), by_metric.get(s.name, []))
        for s in result.specs
    ]
    return evaluate(metrics, baseline, run_id=result.run_id, **options)


# ------------------------------------------------------------------------ pairing


def _metric_comparisons(
    m: MetricData, baseline: Baseline | None, baseline_only: bool, notes: list[str]
) -> list[_Comparison]:
    spec = m.spec
    rule = spec.regression
    previous = rule is not None and rule.compare == "previous_period" and not baseline_only
    pairs: list[tuple[Point | None, Point | None]]
    compared, period, base_period = ALL_PERIODS, "", None
    if previous:
        found = _previous_period_pairs(m.points)
        if found is None:
            notes.append(f"{spec.name}: previous_period needs two periods with data; not compared")
            rule, pairs = None, _totals(m.points)
        else:
            pairs, period, base_period = found
            compared = (
                f"{label(spec.period, _date(period))} vs {label(spec.period, _date(base_period))}"
            )
    elif baseline is not None and baseline.has_metric(spec.name):
        rule = rule or Regression.model_validate({})  # the default rule
        pairs = _baseline_pairs(spec.name, m.points, baseline)
    else:
        if baseline is not None and rule is not None:
            notes.append(f"{spec.name}: not in the baseline ({baseline.source}); not compared")
        rule, pairs = None, _totals(m.points)
    if rule is None and spec.target is None:
        return []
    hib = higher_is_better(m.aggregation, spec)
    min_n = (rule.min_n if rule and rule.min_n else None) or spec.min_n or DEFAULT_MIN_N
    out = []
    for base, cur in pairs:
        sl = (cur or base).slice  # type: ignore[union-attr]
        check = Check(
            metric=spec.name,
            slice=dict(sl),
            compared=compared,
            period=period,
            verdict="pass",
            reason="",
            current_value=cur.value if cur else None,
            current_n=cur.n if cur else 0,
            title=spec.title,
            unit=spec.unit,
            baseline_period=base_period,
            baseline_value=base.value if base else None,
            baseline_n=base.n if base else None,
            confidence=rule.confidence if rule else None,
            max_drop=rule.max_drop if rule else None,
            direction="higher_is_better" if hib else "lower_is_better",
        )
        if (
            cur is not None
            and cur.value is not None
            and base is not None
            and base.value is not None
        ):
            check.change = _snap(cur.value - base.value, base.value)
        outcome = target_outcome(
            spec.target, sl, check.current_value, check.current_n, min_n, check.unit
        )
        if outcome is not None:
            check.target_verdict, check.target_reason = outcome
        comp = _Comparison(check, base, cur, rule, list(spec.by))
        if rule is not None:
            _test(comp, m.aggregation, spec, hib, min_n)
        if rule is not None or outcome is not None:
            out.append(comp)
    return out


def _snap(change: float, reference: float) -> float:
    # A baseline file keeps 12 significant digits: a difference at that level is
    # rounding, not a change.
    return 0.0 if abs(change) <= 1e-9 * max(1.0, abs(reference)) else change


def _totals(points: Iterable[Point]) -> list[tuple[Point | None, Point | None]]:
    return [(None, p) for p in _ordered(p for p in points if p.period == "")]


def _ordered(points: Iterable[Point]) -> list[Point]:
    return sorted(points, key=lambda p: (bool(p.slice), p.slice_key))


def _baseline_pairs(
    metric: str, points: Sequence[Point], baseline: Baseline
) -> list[tuple[Point | None, Point | None]]:
    current = {p.slice_key: p for p in points if p.period == ""}
    base = {p.slice_key: p for p in baseline.points if p.metric == metric and p.period == ""}
    keys = sorted(set(current) | set(base), key=lambda k: (k != "{}", k))
    return [(base.get(k), current.get(k)) for k in keys]


def _previous_period_pairs(
    points: Sequence[Point],
) -> tuple[list[tuple[Point | None, Point | None]], str, str] | None:
    with_data = sorted({p.period for p in points if p.period and not p.slice and p.n > 0})
    if len(with_data) < 2:
        return None
    last, prev = with_data[-1], with_data[-2]
    now = {p.slice_key: p for p in points if p.period == last}
    before = {p.slice_key: p for p in points if p.period == prev}
    keys = sorted(set(now) | set(before), key=lambda k: (k != "{}", k))
    return [(before.get(k), now.get(k)) for k in keys], last, prev


def _date(iso: str) -> Any:
    from datetime import date

    return date.fromisoformat(iso)


# ------------------------------------------------------------------------ testing


def _test(comp: _Comparison, aggregation: Kind, spec: MetricSpec, hib: bool, min_n: int) -> None:
    """Run the one-sided test, or settle the check as inconclusive right away."""
    ch, base, cur = comp.check, comp.base, comp.cur
    if base is None:
        ch.regression_verdict = "inconclusive"
        ch.regression_reason = "not in the baseline (a new slice): nothing to compare with"
        return
    if cur is None:
        ch.regression_verdict = "inconclusive"
        ch.regression_reason = "no value in this run (the slice has no rows now)"
        return
    if base.value is None or cur.value is None:
        both = base.value is None and cur.value is None
        side = "on either side" if both else "now" if cur.value is None else "in the baseline"
        ch.regression_verdict = "inconclusive"
        ch.regression_reason = f"no value {side}: nothing to compare"
        return
    if min(base.n, cur.n) < min_n:
        ch.regression_verdict = "inconclusive"
        ch.regression_reason = (
            f"too few answers to judge: n={cur.n} now, {base.n} before; min_n is {min_n}"
        )
        return
    result = run_test(aggregation, spec, base.counts, cur.counts, "smaller" if hib else "larger")
    if isinstance(result, NoTest):
        ch.regression_verdict = "inconclusive"
        ch.regression_reason = result.reason
        return
    ch.method = result.method
    if result.p_value is None:
        ch.regression_verdict = "inconclusive"
        ch.regression_reason = f"{result.method}: not computable from these counts"
        return
    assert ch.change is not None
    comp.drop = -ch.change if hib else ch.change
    comp.p_value = ch.p_value = result.p_value


def _correct(comparisons: Sequence[_Comparison], correction: str, family: str) -> int:
    """Adjust the p-values within each family; return how many tests there were."""
    families: dict[str, list[_Comparison]] = {}
    for c in comparisons:
        if c.p_value is not None:
            families.setdefault("run" if family == "run" else c.check.metric, []).append(c)
    for members in families.values():
        adjusted = adjust([c.p_value for c in members], correction)
        for c, p in zip(members, adjusted, strict=True):
            c.check.p_adjusted = p
    return sum(len(v) for v in families.values())


def _finish_regression(c: _Comparison, correction: str) -> None:
    ch, rule = c.check, c.rule
    if rule is None or ch.regression_verdict is not None:
        return
    assert c.drop is not None and ch.p_adjusted is not None and ch.change is not None
    alpha = 1.0 - rule.confidence
    significant = ch.p_adjusted < alpha
    how = "" if correction == "none" else f" after {CORRECTIONS[correction]}"
    p_text = f"{pval(ch.p_adjusted)}{how}"
    moved = f"{signed(ch.change, ch.unit)} ({num(ch.baseline_value)} → {num(ch.current_value)})"
    limit = f"max_drop {num(rule.max_drop, 2).rstrip('0').rstrip('.')}"
    verdict: Verdict
    if c.drop > 0 and significant and c.drop > rule.max_drop:
        verdict = "fail"
        text = f"{moved}: worse by more than {limit}, significant ({p_text} < {level(alpha)})"
    elif c.drop > 0 and significant:
        verdict = "warn"
        text = f"{moved}: a significant drop ({p_text}) but within {limit}"
    elif c.drop > 0:
        verdict = "pass"
        text = f"{moved}: within noise, not significant ({p_text}; needs < {level(alpha)})"
    elif c.drop < 0:
        verdict, text = "pass", f"{moved}: better"
    else:
        verdict, text = "pass", f"{moved}: no change"
    ch.regression_verdict, ch.regression_reason = verdict, text


# ---------------------------------------------------------------------- mix shift


def _groups(comparisons: Sequence[_Comparison]) -> list[list[_Comparison]]:
    groups: dict[tuple[str, str], list[_Comparison]] = {}
    for c in comparisons:
        groups.setdefault((c.check.metric, c.check.compared), []).append(c)
    return list(groups.values())


def _mix_shift(group: list[_Comparison]) -> None:
    """Tell a change in the slice mix apart from a change inside the slices.

    When the overall value got significantly worse but no slice did, the drop comes
    from the weights: more answers from weaker slices (more phone calls, fewer chats).
    The change splits exactly into a within-slice effect Σ w_before·(v_now − v_before)
    and a mix effect Σ (w_now − w_before)·v_now, with w the slice's share of n. If the
    mix effect makes up at least half of the drop, the overall check is a `warn` saying
    "mix shift" (the score really moved, but no part of the service got worse);
    otherwise the reason says the drop is spread thinly across slices.
    """
    overall = next((c for c in group if not c.check.slice), None)
    slices = [c for c in group if c.check.slice]
    if overall is None or not slices or overall.check.regression_verdict not in ("fail", "warn"):
        return
    if any(c.check.regression_verdict in ("fail", "warn") for c in slices):
        return
    ch = overall.check
    by = ", ".join(overall.by) or "slice"
    split = _decompose(overall, slices)
    if split is None:
        ch.regression_reason = f"{ch.regression_reason}; no single {by} moved significantly"
        return
    mix, within, moves = split
    assert ch.change is not None
    if mix * ch.change > 0 and abs(mix) >= MIX_SHARE * abs(ch.change):
        ch.regression_verdict = "warn"
        ch.regression_reason = (
            f"mix shift: overall {signed(ch.change, ch.unit)} but no {by} moved significantly; "
            f"the {by} mix changed ({moves}): mix effect {signed(mix, ch.unit)}, "
            f"within-{by} effect {signed(within, ch.unit)}"
        )
    else:
        ch.regression_reason = (
            f"{ch.regression_reason}; no single {by} moved significantly "
            f"(the drop is spread across them; mix effect {signed(mix, ch.unit)})"
        )


def _decompose(
    overall: _Comparison, slices: Sequence[_Comparison]
) -> tuple[float, float, str] | None:
    pairs = [(c.base, c.cur) for c in slices if c.base is not None and c.cur is not None]
    if overall.base is None or overall.cur is None or len(pairs) != len(slices):
        return None
    raw_b, raw_c = [b.value for b, _ in pairs], [n.value for _, n in pairs]
    if any(v is None for v in (*raw_b, *raw_c)):
        return None
    nb = sum(b.n for b, _ in pairs)
    nc = sum(n.n for _, n in pairs)
    if nb == 0 or nc == 0:
        return None
    wb = [b.n / nb for b, _ in pairs]
    wc = [n.n / nc for _, n in pairs]
    vb = [float(v) for v in raw_b if v is not None]
    vc = [float(v) for v in raw_c if v is not None]
    # Only kinds whose overall value is the n-weighted mean of the slice values split
    # this way (shares, NPS, means); anything else is left alone.
    for w, v, total in ((wb, vb, overall.base.value), (wc, vc, overall.cur.value)):
        weighted = sum(a * b for a, b in zip(w, v, strict=True))
        if total is None or abs(weighted - total) > 1e-6 * max(1.0, abs(total)):
            return None
    within = sum(w * (c - b) for w, b, c in zip(wb, vb, vc, strict=True))
    mix = sum((c - b) * v for b, c, v in zip(wb, wc, vc, strict=True))
    order = sorted(range(len(pairs)), key=lambda i: -abs(wc[i] - wb[i]))[:2]
    moves = ", ".join(
        f"{_values_label(slices[i].check.slice)} {wb[i]:.0%} → {wc[i]:.0%}" for i in order
    )
    return mix, within, moves


def _values_label(slice_: dict[str, Any]) -> str:
    return "/".join("(empty)" if v is None else str(v) for _, v in sorted(slice_.items()))


# -------------------------------------------------------------------------- reason


def _reason(ch: Check) -> str:
    parts = []
    for verdict, reason in (
        (ch.regression_verdict, ch.regression_reason),
        (ch.target_verdict, ch.target_reason),
    ):
        if verdict is not None and verdict == ch.verdict and reason:
            parts.append(reason)
    if not parts:
        parts = [r for r in (ch.regression_reason, ch.target_reason) if r]
    return "; ".join(parts)
