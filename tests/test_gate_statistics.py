"""The regression gate's statistics, proven on seeded synthetic counts (library level).

A real drop of a stated size must fail; the same sample sizes without a change must
stay green at the nominal false-alarm rate; tiny samples are inconclusive, never a
failure; a shift in the channel mix alone is called a mix shift. The p-values the
gate uses are checked against statsmodels on fixed cases.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from statsmodels.stats.proportion import proportions_ztest
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from cxengine.compare import Baseline, MetricData, Point, evaluate
from cxengine.compare.significance import run_test
from cxengine.compute.comparisons import poisson_count_test
from cxengine.default_plugins.aggregations.count import Count
from cxengine.default_plugins.aggregations.mean import Mean, MeanSpec
from cxengine.default_plugins.aggregations.nps import Nps, NpsSpec
from cxengine.default_plugins.aggregations.share import Share, ShareSpec
from cxengine.spec.models import Regression, Target

TOUCHPOINTS = ("website", "checkout", "onboarding", "support", "delivery", "renewal")
# Answers per touchpoint in one sample: uneven, like the demo data.
SIZES = (1100, 650, 380, 640, 820, 350)
# (promoters, passives, detractors) shares per touchpoint.
MIX = {
    "website": (0.55, 0.30, 0.15),
    "checkout": (0.40, 0.35, 0.25),
    "onboarding": (0.45, 0.33, 0.22),
    "support": (0.33, 0.34, 0.33),
    "delivery": (0.30, 0.35, 0.35),
    "renewal": (0.38, 0.34, 0.28),
}


def nps_spec(**rule: object) -> NpsSpec:
    return NpsSpec(
        name="nps", kind="nps", dataset="responses", field="recommend", by=["touchpoint"],
        regression=Regression(**rule),  # type: ignore[arg-type]
    )  # fmt: skip


def nps_points(counts: dict[str, tuple[int, int, int]], field: str = "touchpoint") -> list[Point]:
    """Points for each slice and the overall, from (promoters, passives, detractors)."""
    points = []
    total = [0, 0, 0]
    for value, (p, m, d) in counts.items():
        n = p + m + d
        points.append(
            Point("nps", "", {field: value}, 100 * (p - d) / n, n,
                  {"n": n, "promoters": p, "detractors": d})
        )  # fmt: skip
        total = [total[0] + p, total[1] + m, total[2] + d]
    n = sum(total)
    points.append(
        Point("nps", "", {}, 100 * (total[0] - total[2]) / n, n,
              {"n": n, "promoters": total[0], "detractors": total[2]})
    )  # fmt: skip
    return points


def draw(rng: np.random.Generator, shift: dict[str, float] | None = None, scale: float = 1.0):
    """Draw one sample of NPS answers; `shift` moves a touchpoint's NPS by that many points."""
    out = {}
    for tp, n in zip(TOUCHPOINTS, SIZES, strict=True):
        p, m, d = MIX[tp]
        delta = (shift or {}).get(tp, 0.0) / 200  # half from promoters, half to detractors
        p, d = p + delta, d - delta
        out[tp] = tuple(int(x) for x in rng.multinomial(round(n * scale), (p, m, d)))
    return out


def judge(base: dict, cur: dict, spec: NpsSpec | None = None, **options: object):
    spec = spec or nps_spec()
    baseline = Baseline("synthetic", nps_points(base))
    return evaluate([MetricData(spec, Nps(), nps_points(cur))], baseline, **options)  # type: ignore[arg-type]


def verdicts(report) -> dict[str, str]:
    return {c.slice.get("touchpoint", "(all)"): c.verdict for c in report.checks}


# ---------------------------------------------------------------- false alarms


def test_no_change_stays_green_at_the_nominal_rate() -> None:
    """300 seeds, same distribution on both sides: a run fails at most ~5 % of the time."""
    seeds = 300
    failed_runs = 0
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        report = judge(draw(rng), draw(rng))
        failed_runs += not report.ok
    rate = failed_runs / seeds
    # Holm bounds the family-wise error at 5 %; 3 binomial standard errors of slack.
    assert rate <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / seeds), rate


def test_a_single_uncorrected_test_is_calibrated() -> None:
    """One slice, no correction: the one-sided test rejects ~5 % of the time, not more."""
    seeds = 1000
    rejected = 0
    for seed in range(seeds):
        rng = np.random.default_rng(10_000 + seed)
        base = {"delivery": tuple(int(x) for x in rng.multinomial(800, MIX["delivery"]))}
        cur = {"delivery": tuple(int(x) for x in rng.multinomial(800, MIX["delivery"]))}
        spec = NpsSpec(name="nps", kind="nps", dataset="r", field="x", regression=Regression())
        b = [p for p in nps_points(base) if not p.slice]
        c = [p for p in nps_points(cur) if not p.slice]
        report = evaluate([MetricData(spec, Nps(), c)], Baseline("s", b), correction="none")
        rejected += report.checks[0].verdict == "fail"
    rate = rejected / seeds
    assert 0.02 <= rate <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / seeds), rate


# ---------------------------------------------------------------------- power


def test_a_real_ten_point_drop_in_one_touchpoint_fails() -> None:
    """Delivery loses 10 NPS points at 4× the demo sample size: it fails, the rest pass."""
    seeds = 200
    caught = 0
    other_failures = 0
    for seed in range(seeds):
        rng = np.random.default_rng(20_000 + seed)
        base = draw(rng, scale=4)
        cur = draw(rng, shift={"delivery": -10}, scale=4)
        v = verdicts(judge(base, cur, nps_spec(max_drop=5)))
        caught += v["delivery"] == "fail"
        other_failures += sum(1 for tp in TOUCHPOINTS if tp != "delivery" and v[tp] == "fail")
    assert caught / seeds >= 0.9, caught / seeds
    assert other_failures / seeds <= 0.05


def test_the_failure_names_the_numbers() -> None:
    base = {"delivery": (1200, 1400, 1400), "website": (2200, 1200, 600)}
    cur = {"delivery": (1000, 1400, 1600), "website": (2200, 1200, 600)}
    report = judge(base, cur, nps_spec(max_drop=5))
    delivery = next(c for c in report.checks if c.slice == {"touchpoint": "delivery"})
    assert delivery.verdict == "fail"
    assert delivery.change == pytest.approx(-10.0)
    assert delivery.baseline_value == pytest.approx(-5.0)
    assert delivery.current_value == pytest.approx(-15.0)
    assert delivery.p_adjusted is not None and delivery.p_adjusted < 0.05
    assert delivery.method == "NPS difference z-test"
    assert "−10.0 points (-5.0 → -15.0)" in delivery.reason
    assert "max_drop 5" in delivery.reason and "Holm" in delivery.reason
    assert (not report.ok and report.failing() == [delivery]) or delivery in report.failing()


def test_a_significant_drop_within_max_drop_warns() -> None:
    base = {"delivery": (12000, 14000, 14000)}
    cur = {"delivery": (11600, 14000, 14400)}  # −2 points on a huge sample
    report = judge(base, cur, nps_spec(max_drop=5))
    delivery = next(c for c in report.checks if c.slice)
    assert delivery.verdict == "warn"
    assert "within max_drop 5" in delivery.reason
    assert report.ok  # warnings do not fail the build …
    strict = judge(base, cur, nps_spec(max_drop=5), fail_on="warn")
    assert not strict.ok  # … unless --fail-on warn


def test_lower_is_better_flips_the_direction() -> None:
    spec = MeanSpec(
        name="frt", kind="mean", dataset="t", field="seconds", unit="s",
        regression=Regression(direction="lower_is_better", max_drop=5),
    )  # fmt: skip
    base = Point(
        "frt", "", {}, 60.0, 400, {"n": 400, "sum": 24000.0, "sum_sq": 24000.0 * 60 + 399 * 100}
    )
    up = Point(
        "frt", "", {}, 70.0, 400, {"n": 400, "sum": 28000.0, "sum_sq": 28000.0 * 70 + 399 * 100}
    )
    slower = evaluate([MetricData(spec, Mean(), [up])], Baseline("b", [base]))
    assert slower.checks[0].verdict == "fail"
    assert slower.checks[0].direction == "lower_is_better"
    faster = evaluate([MetricData(spec, Mean(), [base])], Baseline("b", [up]))
    assert faster.checks[0].verdict == "pass" and "better" in faster.checks[0].reason


# ---------------------------------------------------------------- tiny samples


def test_tiny_samples_are_inconclusive_never_fail() -> None:
    for seed in range(100):
        rng = np.random.default_rng(30_000 + seed)
        base = {tp: tuple(int(x) for x in rng.multinomial(12, MIX[tp])) for tp in TOUCHPOINTS}
        # A collapse: every answer a detractor. Still only 12 answers per touchpoint.
        cur = {tp: (0, 0, 12) for tp in TOUCHPOINTS}
        report = judge(base, cur)
        for c in report.checks:
            if c.slice:
                assert c.verdict == "inconclusive", c
                assert "too few answers" in c.reason and "min_n is 30" in c.reason
            # The overall (72 answers) may fail: it has enough answers to judge.


def test_min_n_of_the_rule_wins() -> None:
    base = {"delivery": (40, 30, 30)}
    cur = {"delivery": (10, 30, 60)}
    assert verdicts(judge(base, cur))["delivery"] == "fail"
    assert verdicts(judge(base, cur, nps_spec(min_n=500)))["delivery"] == "inconclusive"


# ----------------------------------------------------------------- mix shift


def test_a_channel_mix_shift_alone_is_reported_as_such() -> None:
    """Phone scores 0, chat 40, both unchanged; phone's share goes from 20 % to 60 %."""
    spec = NpsSpec(
        name="nps", kind="nps", dataset="r", field="x", by=["channel"], regression=Regression()
    )
    base = {"phone": (300, 400, 300), "chat": (2400, 1600, 0)}  # NPS 0 and 60 → overall 48
    cur = {"phone": (900, 1200, 900), "chat": (1200, 800, 0)}  # same NPS each → overall 24
    report = evaluate(
        [MetricData(spec, Nps(), nps_points(cur, "channel"))],
        Baseline("b", nps_points(base, "channel")),
    )
    by = {c.slice.get("channel", "(all)"): c for c in report.checks}
    assert by["phone"].verdict == by["chat"].verdict == "pass"
    overall = by["(all)"]
    assert overall.change == pytest.approx(-24.0)
    assert overall.verdict == "warn"
    assert overall.reason.startswith("mix shift: overall −24.0 points")
    assert "no channel moved significantly" in overall.reason
    assert "phone 20% → 60%" in overall.reason
    assert "mix effect −24.0 points" in overall.reason


def test_a_drop_inside_a_channel_is_not_a_mix_shift() -> None:
    spec = NpsSpec(
        name="nps", kind="nps", dataset="r", field="x", by=["channel"], regression=Regression()
    )
    base = {"phone": (300, 400, 300), "chat": (2400, 1600, 0)}
    cur = {"phone": (300, 400, 300), "chat": (1600, 1600, 800)}
    report = evaluate(
        [MetricData(spec, Nps(), nps_points(cur, "channel"))],
        Baseline("b", nps_points(base, "channel")),
    )
    by = {c.slice.get("channel", "(all)"): c for c in report.checks}
    assert by["chat"].verdict == "fail" and by["(all)"].verdict == "fail"
    assert "mix shift" not in by["(all)"].reason


# ------------------------------------------------------- multiple testing, targets


def test_holm_and_bh_are_both_stated() -> None:
    rng = np.random.default_rng(5)
    base, cur = draw(rng), draw(rng)
    holm = judge(base, cur)
    bh = judge(base, cur, correction="bh")
    assert holm.correction_note() == "Holm correction over 7 significance tests in this run"
    assert (
        bh.correction_note()
        == "Benjamini–Hochberg correction over 7 significance tests in this run"
    )
    for h, b in zip(holm.checks, bh.checks, strict=True):
        assert b.p_adjusted <= h.p_adjusted + 1e-12  # BH never stricter than Holm


def test_previous_period_inside_one_run() -> None:
    spec = NpsSpec(
        name="nps", kind="nps", dataset="r", field="x", period="month", time="at",
        regression=Regression(compare="previous_period", max_drop=5),
    )  # fmt: skip
    points = [
        Point(
            "nps", "2025-10-01", {}, 30.0, 1000, {"n": 1000, "promoters": 500, "detractors": 200}
        ),
        Point(
            "nps", "2025-11-01", {}, 30.0, 1000, {"n": 1000, "promoters": 500, "detractors": 200}
        ),
        Point(
            "nps", "2025-12-01", {}, 10.0, 1000, {"n": 1000, "promoters": 400, "detractors": 300}
        ),
        Point("nps", "", {}, 23.3, 3000, {"n": 3000, "promoters": 1400, "detractors": 700}),
    ]
    report = evaluate([MetricData(spec, Nps(), points)], None)
    (check,) = report.checks
    assert check.compared == "2025-12 vs 2025-11"
    assert check.verdict == "fail" and check.change == pytest.approx(-20.0)


def test_targets_per_slice() -> None:
    spec = NpsSpec(
        name="nps", kind="nps", dataset="r", field="x", by=["touchpoint"],
        target=Target(warn_below=20, fail_below=0,
                      slices={"touchpoint": {"delivery": {"fail_below": -20, "warn_below": -10}}}),
    )  # fmt: skip
    points = nps_points(
        {"delivery": (300, 350, 350), "support": (200, 350, 450), "website": (550, 300, 150)}
    )
    report = evaluate([MetricData(spec, Nps(), points)], None)
    by = {c.slice.get("touchpoint", "(all)"): c for c in report.checks}
    assert by["delivery"].verdict == "pass"  # −5 meets its own bounds
    assert by["support"].verdict == "fail"  # −25 is below the metric's fail_below 0
    assert by["support"].reason == "target: -25.0 points is below fail_below 0.0 points"
    assert by["website"].verdict == "pass"
    assert by["(all)"].verdict == "warn"  # 3.3: below warn_below 20, above fail_below 0
    assert by["(all)"].baseline_value is None and by["(all)"].p_value is None


# ---------------------------------------------- p-values vs an independent implementation


@pytest.mark.parametrize(
    ("k1", "n1", "k2", "n2"), [(620, 1000, 580, 1000), (45, 60, 30, 55), (800, 950, 790, 1000)]
)
def test_share_p_value_matches_statsmodels(k1: int, n1: int, k2: int, n2: int) -> None:
    spec = ShareSpec(name="csat", kind="share", dataset="r", field="x", scale=[1, 5])
    ours = Share().compare(spec, {"n": n1, "positive": k1}, {"n": n2, "positive": k2}, "smaller")
    _, p = proportions_ztest([k2, k1], [n2, n1], alternative="smaller")
    assert ours.p_value == pytest.approx(p, rel=1e-9)
    assert Share().higher_is_better


@pytest.mark.parametrize(
    ("base", "cur"),
    [((500, 300, 200), (450, 300, 250)), ((30, 20, 10), (25, 20, 15)), ((100, 0, 0), (90, 5, 5))],
)
def test_nps_p_value_matches_raw_scores(base: tuple, cur: tuple) -> None:
    """NPS/100 is the mean of +1 / 0 / −1 scores; its variance is the population variance."""

    def scores(c: tuple) -> np.ndarray:
        return np.repeat([1.0, 0.0, -1.0], c)

    x1, x2 = scores(base), scores(cur)
    se = math.sqrt(x1.var() / len(x1) + x2.var() / len(x2))
    from scipy.stats import norm

    expected = norm.cdf((x2.mean() - x1.mean()) / se)
    counts = lambda c: {"n": sum(c), "promoters": c[0], "detractors": c[2]}  # noqa: E731
    ours = Nps().compare(None, counts(base), counts(cur), "smaller")  # type: ignore[arg-type]
    assert ours.p_value == pytest.approx(expected, rel=1e-9)
    assert ours.difference == pytest.approx(100 * (x2.mean() - x1.mean()))
    # statsmodels' unequal-variance z-test divides each variance by n − 1, not n, so
    # its statistic is larger by a factor below sqrt(n / (n − 1)).
    cm = CompareMeans(DescrStatsW(x2), DescrStatsW(x1))
    z_sm, _ = cm.ztest_ind(alternative="smaller", usevar="unequal")
    n = min(len(x1), len(x2))
    assert abs(z_sm) <= abs(ours.statistic) * math.sqrt(n / (n - 1)) + 1e-12
    assert abs(z_sm) >= abs(ours.statistic) * math.sqrt((n - 1) / n) - 1e-12


def test_mean_p_value_matches_statsmodels_welch() -> None:
    rng = np.random.default_rng(3)
    x1 = rng.integers(1, 6, 300).astype(float)
    x2 = np.clip(rng.integers(1, 6, 280) - (rng.random(280) < 0.1), 1, 5).astype(float)
    counts = lambda x: {"n": len(x), "sum": x.sum(), "sum_sq": (x * x).sum()}  # noqa: E731
    ours = Mean().compare(None, counts(x1), counts(x2), "smaller")  # type: ignore[arg-type]
    cm = CompareMeans(DescrStatsW(x2), DescrStatsW(x1))
    _, p_sm, _ = cm.ttest_ind(alternative="smaller", usevar="unequal")
    assert ours.p_value == pytest.approx(p_sm, rel=1e-6)


def test_counts_use_the_conditional_poisson_test() -> None:
    from scipy.stats import binomtest

    r = poisson_count_test(120, 80, "smaller")
    assert r.p_value == pytest.approx(binomtest(80, 200, 0.5, alternative="less").pvalue)
    assert Count().compare(None, {"n": 120}, {"n": 80}, "smaller").method.startswith("conditional")  # type: ignore[arg-type, union-attr]


def test_a_kind_without_its_own_test_is_inconclusive() -> None:
    """The gate never guesses a test from the names of the counts: the kind owns it."""

    class MedianKind:
        name = "median_of_something"

    r = run_test(
        MedianKind(),  # type: ignore[arg-type]
        None,
        {"n": 100, "sum": 1.0, "sum_sq": 1.0},
        {"n": 90, "sum": 1.0, "sum_sq": 1.0},
        "larger",
    )
    assert "'median_of_something' defines no significance test" in r.reason  # type: ignore[union-attr]


def test_the_sample_size_table_in_the_docs_is_computed() -> None:
    from pathlib import Path

    from cxengine.compare.samplesize import nps_margin_n, sample_size_table, share_margin_n

    doc = (Path(__file__).resolve().parent.parent / "docs" / "ci.md").read_text(encoding="utf-8")
    assert sample_size_table() in doc
    assert share_margin_n(5) == 385  # the classic figure for ±5 points on a share
    assert 850 <= nps_margin_n(5, 0.4, 0.2) <= 950
