"""Weighted values computed by the engine: same numbers as a direct weighted computation."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from cxengine.default_plugins.aggregations.mean import Mean, MeanSpec
from cxengine.default_plugins.aggregations.nps import Nps, NpsSpec
from cxengine.default_plugins.aggregations.share import Share, ShareSpec
from cxengine.weighting.apply import compute_weighted, weightable
from cxengine.weighting.estimates import kish_effective_n

SEGMENTS = {"smb": 0.6, "mid": 0.3, "enterprise": 0.1}
RATES = {"smb": 0.1, "mid": 0.25, "enterprise": 0.5}
TYPES = {"segment": "string", "channel": "string", "recommend": "integer", "csat": "integer"}


def _data(seed: int = 5, invited: int = 6000) -> tuple[duckdb.DuckDBPyConnection, dict]:
    rng = np.random.default_rng(seed)
    seg = rng.choice(list(SEGMENTS), invited, p=list(SEGMENTS.values()))
    ch = rng.choice(["web", "email"], invited)
    base = np.where(seg == "enterprise", 8.5, np.where(seg == "mid", 7.0, 6.0))
    rec = np.clip(np.round(base + rng.normal(0, 2, invited)), 0, 10).astype(int)
    csat = np.clip(np.round(rec / 2.5 + 1), 1, 5).astype(int)
    answered = rng.random(invited) < np.vectorize(RATES.get)(seg)
    con = duckdb.connect()
    inv = pa.table({"segment": seg, "channel": ch})  # noqa: F841 (read by DuckDB by name)
    idx = np.flatnonzero(answered)
    resp = pa.table({  # noqa: F841
        "_cx_row": idx.astype(np.int64), "segment": seg[idx], "channel": ch[idx],
        "recommend": rec[idx].astype(np.int64), "csat": csat[idx].astype(np.int64),
    })  # fmt: skip
    con.execute("CREATE TABLE inv AS SELECT * FROM inv")
    con.execute("CREATE TABLE resp AS SELECT * FROM resp")
    truth = {"seg": seg, "ch": ch, "rec": rec, "csat": csat, "answered": answered}
    return con, truth


def _direct_weights(t: dict) -> tuple[np.ndarray, np.ndarray]:
    """Post-stratification weights computed by hand from the invitations."""
    a = t["answered"]
    seg = t["seg"][a]
    w = np.empty(len(seg))
    for s in SEGMENTS:
        pop_share = (t["seg"] == s).mean()
        w[seg == s] = pop_share / (seg == s).mean()
    return w, a


def _overall(values):
    return next(v for v in values if v.period is None and not v.slice)


def test_weighted_nps_matches_a_direct_computation_and_stores_effective_counts():
    con, t = _data()
    spec = NpsSpec.model_validate({
        "name": "nps", "kind": "nps", "dataset": "responses", "field": "recommend",
        "by": ["channel"], "weights": {"by": "segment", "population": "invitations"},
    })  # fmt: skip
    result = compute_weighted(con, spec, Nps(), "resp", TYPES, population="inv")
    w, a = _direct_weights(t)
    rec = t["rec"][a]
    p, d = w[rec >= 9].sum() / w.sum(), w[rec <= 6].sum() / w.sum()
    n_eff = kish_effective_n(w.sum(), (w * w).sum())
    v = _overall(result.values)
    assert v.metric == "nps_weighted"
    assert v.value == pytest.approx(100 * (p - d))
    assert v.n == int(n_eff)
    assert v.counts["n"] == pytest.approx(n_eff)
    assert v.counts["promoters"] == pytest.approx(p * n_eff)
    assert v.counts["respondents"] == a.sum()
    half = 100 * 1.959964 * np.sqrt((p + d - (p - d) ** 2) / n_eff)
    assert v.ci_high - v.value == pytest.approx(half, rel=1e-5)
    assert "weighted by segment" in v.note and "effective n" in v.note
    # Slices use the same weights, summed inside the slice.
    web = next(x for x in result.values if x.slice == {"channel": "web"})
    m = t["ch"][a] == "web"
    assert web.value == pytest.approx(
        100 * (w[m & (rec >= 9)].sum() - w[m & (rec <= 6)].sum()) / w[m].sum()
    )
    # Unweighted NPS is biased towards the segment that answers most.
    truth = 100 * ((t["rec"] >= 9).mean() - (t["rec"] <= 6).mean())
    unweighted = 100 * ((rec >= 9).mean() - (rec <= 6).mean())
    assert abs(v.value - truth) < abs(unweighted - truth)


def test_weighted_share_and_mean_with_given_margins():
    con, t = _data()
    margins = {"segment": {k: 100 * v for k, v in SEGMENTS.items()}}
    share = ShareSpec.model_validate({
        "name": "csat", "kind": "share", "dataset": "r", "field": "csat", "scale": [1, 5],
        "weights": {"by": ["segment"], "margins": margins},
    })  # fmt: skip
    mean = MeanSpec.model_validate({
        "name": "csat_mean", "kind": "mean", "dataset": "r", "field": "csat", "scale": [1, 5],
        "rescale": True, "weights": {"by": ["segment"], "margins": margins},
    })  # fmt: skip
    a = t["answered"]
    seg, csat = t["seg"][a], t["csat"][a]
    w = np.empty(len(seg))
    for s, share_ in SEGMENTS.items():
        w[seg == s] = share_ / (seg == s).mean()
    v = _overall(compute_weighted(con, share, Share(), "resp", TYPES).values)
    assert v.value == pytest.approx(100 * w[csat >= 4].sum() / w.sum())
    m = _overall(compute_weighted(con, mean, Mean(), "resp", TYPES).values)
    assert m.value == pytest.approx(((w * csat).sum() / w.sum() - 1) / 4 * 100)


def test_a_category_without_margin_gives_no_weighted_value_and_says_why():
    con, _ = _data()
    spec = NpsSpec.model_validate({
        "name": "nps", "kind": "nps", "dataset": "r", "field": "recommend",
        "weights": {"by": "segment", "margins": {"segment": {"smb": 0.7, "mid": 0.3}}},
    })  # fmt: skip
    result = compute_weighted(con, spec, Nps(), "resp", TYPES)
    (v,) = result.values
    assert v.value is None and "'enterprise'" in v.note
    assert result.messages[0].severity == "error"
    assert result.as_dict()["messages"][0]["path"] == "weights.margins.segment"


def test_margins_given_must_cover_by_and_add_up():
    base = {"name": "nps", "kind": "nps", "dataset": "r", "field": "recommend"}
    with pytest.raises(ValueError, match="no entry for 'channel'"):
        NpsSpec.model_validate({**base, "weights": {
            "by": ["segment", "channel"], "margins": {"segment": {"a": 1}}}})  # fmt: skip
    with pytest.raises(ValueError, match=r"add up to 0\.9"):
        NpsSpec.model_validate({**base, "weights": {
            "by": ["segment"], "margins": {"segment": {"a": 0.5, "b": 0.4}}}})  # fmt: skip
    with pytest.raises(ValueError, match="exactly one"):
        NpsSpec.model_validate({**base, "weights": {"by": ["segment"]}})


def test_the_survey_kinds_can_be_weighted():
    spec = NpsSpec.model_validate(
        {"name": "nps", "kind": "nps", "dataset": "r", "field": "recommend"}
    )
    assert weightable(Nps(), spec) is None
