"""The pure-Python distribution functions against scipy, the reference they replace.

A run computes z and t quantiles, p-values and binomial ranks without importing
scipy (0.3–0.7 s of start-up); these tests hold those functions to scipy's values.
"""

from __future__ import annotations

import math
import subprocess
import sys
from fractions import Fraction
from typing import Any

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
    # The continued fraction was ~1e-11 off here; the large-df expansion and scipy
    # are both within a few ulps of the exact value (mpmath, test above).
    for q in LEVELS:
        assert close(d.t_quantile(q, 1e6), float(stdtrit(1e6, q)), 1e-12)


# Degrees of freedom where the t tail comes from the large-df expansion (df >= 50):
# its lower edge, the old lgamma-ratio edge (a = df/2 = 160), the demo's and the 1M
# benchmark's means (df in the thousands to hundreds of thousands), and far beyond.
LARGE_DFS = [50, 51, 99, 320, 321, 322, 500, 999, 1997, 6051, 12151, 1e5, 209243, 1e6, 1e7]


@pytest.mark.parametrize("df", LARGE_DFS)
def test_t_at_large_df_matches_scipy(df: float) -> None:
    for q in [*LEVELS, 0.99999, 1 - 1e-7]:
        assert close(d.t_quantile(q, df), float(stdtrit(df, q)), 1e-12), (df, q)
    for t in [1e-3, 0.1, 1, 1.96, 3, 5, 8]:
        assert close(d.t_sf(t, df), float(stdtr(df, -t)), 1e-13), (df, t)
    # Far out (1e-210 at df = 999) both are ~1e-13 off the exact value (mpmath).
    assert close(d.t_sf(40, df), float(stdtr(df, -40)), 1e-12), df


def _exact_t_sf(t: float, df: float) -> Any:
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    t_, df_ = mp.mpf(t), mp.mpf(df)
    return mp.betainc(df_ / 2, mp.mpf(1) / 2, 0, df_ / (df_ + t_ * t_), regularized=True) / 2


@pytest.mark.parametrize("df", [3, 30, 50, 161, 321, 999, 1e4, 1e6, 1e7])
def test_t_tail_and_quantile_are_exact_to_a_few_ulps(df: float) -> None:
    # Against 40-digit arithmetic: a few units in the last place, in both algorithms
    # (continued fraction and large-df expansion). scipy is no closer than this.
    mp = pytest.importorskip("mpmath")
    for t in [0.01, 1, 1.96, 3, 4.5]:
        exact = _exact_t_sf(t, df)
        assert abs(d.t_sf(t, df) - exact) <= 5e-15 * exact, (df, t)
    for q in [0.6, 0.9, 0.975, 0.995, 0.9999]:
        tail = mp.mpf(1) - mp.mpf(q)
        exact = mp.findroot(lambda x, tail=tail: _exact_t_sf(x, df) - tail, float(stdtrit(df, q)))
        assert abs(d.t_quantile(q, df) - exact) <= 5e-15 * exact, (df, q)


@pytest.mark.parametrize("a", [0.6, 25, 160, 160.5, 161, 250, 1e3, 1e5])
def test_log_gamma_half_ratio_is_exact(a: float) -> None:
    # Its a⁻⁵ term once had the wrong sign: 3e-14 off at a = 161 (df = 322).
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    exact = mp.log(mp.gamma(mp.mpf(a) + mp.mpf(1) / 2) / mp.gamma(mp.mpf(a)))
    assert abs(d._log_gamma_half_ratio(a) - exact) <= 2e-15 * max(1.0, abs(exact))


def test_sinh_ratio_coefficients_equal_exact_fractions() -> None:
    # (sinh(w/2) / (w/2))^(-1/2) = 1 - w²/48 + …; the float recurrence against the
    # same recurrence in exact rational arithmetic. Past the first few, a term never
    # weighs 1e-10 of the tail, so 1e-13 relative is far below what a tail can see.
    a = [Fraction(1, 4**j * math.factorial(2 * j + 1)) for j in range(40)]
    exact = [Fraction(1)]
    for k in range(1, 40):
        terms = (((Fraction(1, 2)) * j - k) * a[j] * exact[k - j] for j in range(1, k + 1))
        exact.append(sum(terms, Fraction(0)) / k)
    assert exact[1] == Fraction(-1, 48)
    for got, want in zip(d._sinh_ratio_coefficients(), exact, strict=True):
        assert close(got, float(want), 1e-13)


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
