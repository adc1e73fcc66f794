"""Weighting against a known truth: the demo's biased NPS, and interval coverage over many seeds.

Both use the same code a run uses on cell counts (`calibrate`, `effective_counts`,
`weighted_estimate`); the SQL around them is tested in test_weighting_apply.py.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from cxengine.scaffold.invitations import _invitations, true_nps
from cxengine.weighting.calibrate import calibrate
from cxengine.weighting.estimates import effective_counts, weighted_estimate


def _nps(scores: list[int]) -> float:
    return 100.0 * (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) / len(scores)


def _weighted_demo_nps(seed: int, responses: int) -> tuple[float, float, float, tuple]:
    """Truth, unweighted and weighted NPS of one demo: weights by response-probability class.

    The invitations (the population) give the margins; the answers carry their
    invitation's class through the join on response_id, as the demo project does.
    """
    invitations = list(_invitations(responses, seed, None))
    answered = [(row[7], hidden) for row, hidden in invitations if row[5] == "true"]
    answered = [(cls, h) for cls, h in answered if h is not None]  # deliberate errors out
    margins = {"response_probability": Counter(row[7] for row, _ in invitations)}
    cal = calibrate(Counter((cls,) for cls, _ in answered), ["response_probability"], margins)
    sums = {"n": 0.0, "promoters": 0.0, "detractors": 0.0}
    w2 = 0.0
    for cls, h in answered:
        w = cal.weights[(cls,)]
        sums["n"] += w
        sums["promoters"] += w * (h >= 9)
        sums["detractors"] += w * (h <= 6)
        w2 += w * w
    est = weighted_estimate(effective_counts(sums, w2))
    assert est.value is not None
    truth = _nps([h for _, h in invitations if h is not None])
    return truth, _nps([h for _, h in answered]), est.value, (est.ci_low, est.ci_high)


def test_demo_unweighted_nps_is_biased_upwards_and_the_weighted_one_is_closer_every_seed():
    assert true_nps(1200, 0) == _weighted_demo_nps(0, 1200)[0]
    gaps = []
    for seed in range(10):
        truth, unweighted, weighted, _ = _weighted_demo_nps(seed, 1200)
        assert abs(weighted - truth) < abs(unweighted - truth), seed
        gaps.append(unweighted - truth)
    # Unhappy customers answer less often: the answers overstate NPS by several points.
    assert min(gaps) > 3 and float(np.mean(gaps)) > 6


# A population of invitations in four segments that answer at different rates, the
# score distribution differing by segment, and within a segment the answer unrelated
# to answering (the weighting model is right). The truth is the superpopulation NPS.
SHARES = np.array([0.5, 0.3, 0.15, 0.05])
RATES = np.array([0.1, 0.2, 0.35, 0.5])
SCORES = np.array([  # promoters, passives, detractors per segment
    [0.25, 0.35, 0.40], [0.40, 0.30, 0.30], [0.55, 0.30, 0.15], [0.70, 0.20, 0.10],
])  # fmt: skip
TRUTH = 100.0 * float((SHARES * (SCORES[:, 0] - SCORES[:, 2])).sum())


def test_interval_covers_the_truth_at_the_nominal_rate_when_the_weighting_model_is_right():
    runs, covered, closer = 800, 0, 0
    for seed in range(runs):
        rng = np.random.default_rng(seed)
        invited = rng.multinomial(20_000, SHARES)
        answered = rng.binomial(invited, RATES)
        groups = np.array([rng.multinomial(n, SCORES[i]) for i, n in enumerate(answered)])
        cells = {(str(i),): int(n) for i, n in enumerate(answered)}
        margins = {"segment": {str(i): float(k) for i, k in enumerate(invited)}}
        cal = calibrate(cells, ["segment"], margins)
        w = np.array([cal.weights[(str(i),)] for i in range(len(SHARES))])
        sums = {
            "n": float((w * answered).sum()),
            "promoters": float((w * groups[:, 0]).sum()),
            "detractors": float((w * groups[:, 2]).sum()),
        }
        est = weighted_estimate(effective_counts(sums, float((w * w * answered).sum())))
        assert est.ci_low is not None and est.ci_high is not None and est.value is not None
        covered += est.ci_low <= TRUTH <= est.ci_high
        unweighted = 100.0 * (groups[:, 0].sum() - groups[:, 2].sum()) / answered.sum()
        closer += abs(est.value - TRUTH) < abs(unweighted - TRUTH)
    # 95 % nominal; with 800 runs the coverage's own standard error is 0.8 points.
    assert 0.93 <= covered / runs <= 0.975
    assert closer / runs > 0.95
