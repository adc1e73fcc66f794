"""The pure-Python distribution functions against scipy, the reference they replace.

A run computes z and t quantiles, p-values and binomial ranks without importing
scipy (0.3–0.7 s of start-up); these tests hold those functions to scipy's values.
"""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import ndtr, ndtri, stdtr, stdtrit
from scipy.stats import binom

from cxengine.compute import distributions as d

DFS = [1, 2, 3, 4, 5, 7, 10, 29, 30, 99, 159, 161, 500, 999, 1e4, 2.5, 7.3, 0.7]
LEVELS = [0.5, 0.8, 0.9, 0.95, 0.975, 0.99, 0.995, 0.999, 0.9999]


def close(a: float, b: float, rel: float) -> bool:
    return abs(a - b) <= rel * max(abs(b), 1e-300)


@pytest.mark.parametrize("df", DFS)
def test_t_quantile_matches_scipy(df: float) -> None:
    for q in LEVELS:
        assert close(d.t_quantile(q, df), float(stdtrit(df, q)), 1e-12), (df, q)
        assert close(d.t_quantile(1 - q, df), float(stdtrit(df, 1 - q)), 1e-12), (df, q)


@pytest.mark.parametrize("df", DFS)
def test_t_cdf_matches_scipy(df: float) -> None:
    for t in [-50, -3, -1, -0.001, 0, 0.001, 0.1, 0.5, 1, 1.96, 2.5, 4, 10, 50]:
        assert close(d.t_cdf(t, df), float(stdtr(df, t)), 1e-12), (df, t)


def test_t_with_a_million_degrees_of_freedom_is_as_close_as_scipy_is() -> None:
    # Both are ~1e-11 off the exact value here (mpmath): an interval bound moves by
    # less than 1e-14 of its mean.
    for q in LEVELS:
        assert close(d.t_quantile(q, 1e6), float(stdtrit(1e6, q)), 1e-10)


def test_t_edges() -> None:
    assert d.t_quantile(0.5, 3) == 0.0
    assert d.t_quantile(1.0, 3) == math.inf and d.t_quantile(0.0, 3) == -math.inf
    assert math.isnan(d.t_quantile(0.9, 0)) and math.isnan(d.t_cdf(1.0, -1))
    assert d.t_cdf(math.inf, 5) == 1.0 and d.t_cdf(-math.inf, 5) == 0.0
    assert d.t_quantile(0.975, math.inf) == d.normal_quantile(0.975)


@pytest.mark.parametrize("z", [-38, -30, -10, -3, -1, 0, 0.5, 1, 3, 8, 40])
def test_normal_cdf_matches_scipy(z: float) -> None:
    assert close(d.normal_cdf(z), float(ndtr(z)), 1e-12)


@pytest.mark.parametrize("q", [1e-300, 1e-10, 0.025, 0.5, 0.975, 0.999999])
def test_normal_quantile_matches_scipy(q: float) -> None:
    assert close(d.normal_quantile(q), float(ndtri(q)), 1e-14)


@settings(max_examples=120, deadline=None, derandomize=True)
@given(
    st.one_of(st.integers(1, 60), st.integers(1, 50_000), st.integers(1, 5_000_000)),
    st.one_of(
        st.sampled_from([0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999]),
        st.floats(0.0005, 0.9995),
    ),
    st.sampled_from([0.5, 0.8, 0.9, 0.95, 0.99, 0.999]),
)
def test_binomial_ranks_equal_scipy(n: int, p: float, confidence: float) -> None:
    # These are the ranks of every quantile interval: equal, not close.
    alpha = (1.0 - confidence) / 2.0
    assert d.binomial_quantile(alpha, n, p) == int(binom.ppf(alpha, n, p))
    assert d.binomial_isf(alpha, n, p) == int(binom.isf(alpha, n, p))


@pytest.mark.parametrize(("n", "p"), [(1, 0.3), (20, 0.5), (1000, 0.9), (2_000_000, 0.9)])
def test_binomial_cdf_and_pmf_match_scipy(n: int, p: float) -> None:
    for k in sorted({0, 1, n // 3, int(n * p) - 1, int(n * p), int(n * p) + 2, n - 1, n}):
        if 0 <= k <= n:
            assert close(d.binomial_pmf(k, n, p), float(binom.pmf(k, n, p)), 1e-11), k
            assert close(d.binomial_cdf(k, n, p), float(binom.cdf(k, n, p)), 1e-11), k
            assert close(d.binomial_sf(k, n, p), float(binom.sf(k, n, p)), 1e-10), k


def test_a_run_path_import_does_not_import_scipy() -> None:
    code = (
        "import sys\n"
        "import cxengine.compute.stats, cxengine.compute.quantiles, cxengine.compare.significance\n"
        "from cxengine.compute.stats import mean_interval\n"
        "from cxengine.compute.quantiles import exact_ranks\n"
        "mean_interval(10.0, 30.0, 5); exact_ranks(1000, 0.9, 0.95)\n"
        "assert 'scipy' not in sys.modules, 'scipy imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_t_near_zero_does_not_underflow() -> None:
    # t² underflows to 0 here; the CDF is then ½ + t·f(0), not a math error.
    for t in (2.2e-205, -2.2e-205, 1e-160, 5e-324):
        for df in (1.0002282323390363, 3.0, 1e6):
            assert close(d.t_cdf(t, df), float(stdtr(df, t)), 1e-15)
