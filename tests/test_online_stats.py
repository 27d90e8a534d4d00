"""OnlineMean and OnlineQuantile against np.mean / np.quantile and their definitions."""

import numpy as np
import pytest
from scipy.stats import norm

from skextras.online import OnlineMean, OnlineQuantile


def test_mean_of_one_fit_is_np_mean_exactly():
    x = np.random.default_rng(0).lognormal(size=100_001)
    assert OnlineMean().fit(x).mean_ == np.mean(x)


def test_mean_over_chunks_equals_the_recursion_and_np_mean():
    x = np.random.default_rng(1).normal(loc=1e3, size=20_000)
    streamed = OnlineMean()
    for chunk in np.array_split(x, 13):
        streamed.partial_fit(chunk)
    recursion = 0.0
    for k, xk in enumerate(x, start=1):
        recursion -= (recursion - xk) / k
    assert streamed.mean_ == pytest.approx(np.mean(x), rel=1e-14)
    assert streamed.mean_ == pytest.approx(recursion, rel=1e-12)
    assert streamed.n_samples_seen_ == len(x)


def test_mean_of_columns_for_2d_input():
    X = np.random.default_rng(2).normal(size=(500, 3))
    np.testing.assert_array_equal(OnlineMean().fit(X).mean_, np.mean(X, axis=0))


def test_constant_step_is_the_exponential_moving_average():
    x = np.random.default_rng(3).normal(size=1000)
    s, ema = 0.05, x[0]
    for xk in x[1:]:
        ema = (1 - s) * ema + s * xk
    streamed = OnlineMean(step=s)
    for chunk in np.array_split(x, 9):
        streamed.partial_fit(chunk)
    assert streamed.mean_ == pytest.approx(ema, rel=1e-13)
    assert streamed.mean_ == OnlineMean(step=s).fit(x).mean_


def test_constant_step_tracks_a_jump_in_the_mean():
    x = np.r_[np.zeros(1000), np.full(1000, 5.0)]
    assert OnlineMean(step=0.05).fit(x).mean_ == pytest.approx(5.0, abs=1e-6)
    assert OnlineMean().fit(x).mean_ == 2.5


@pytest.mark.parametrize("step", [0.0, 1.5, -0.1])
def test_mean_step_outside_unit_interval_raises(step):
    with pytest.raises(ValueError, match="'step'"):
        OnlineMean(step=step).fit(np.zeros(3))


@pytest.mark.parametrize("q", [0.1, 0.5, 0.9])
def test_quantile_matches_np_quantile_within_the_asymptotic_tolerance(q):
    # Averaged RM quantile and sample quantile both have asymptotic standard deviation
    # sd = sqrt(q (1 - q) / n) / f(x_q) (f the density at the quantile); each lies within
    # 3 sd of x_q except with probability 0.3%, so |difference| < 6 sd. For n = 10^6
    # N(0, 1) samples and q = 0.9: sd = 1.7e-3, tolerance 1.0e-2.
    n = 10**6
    x = np.random.default_rng(4).normal(size=n)
    sd = np.sqrt(q * (1 - q) / n) / norm.pdf(norm.ppf(q))
    estimate = OnlineQuantile(q).fit(x).quantile_
    assert abs(estimate - np.quantile(x, q)) < 6 * sd
    assert abs(estimate - norm.ppf(q)) < 6 * sd


def test_quantile_partial_fit_over_chunks_equals_one_fit():
    x = np.random.default_rng(5).exponential(size=50_000)
    streamed = OnlineQuantile(0.75, a=2.0)
    for chunk in np.array_split(x, 11):
        streamed.partial_fit(chunk)
    assert streamed.quantile_ == OnlineQuantile(0.75, a=2.0).fit(x).quantile_
    assert streamed.n_iter_ == len(x)


def test_quantile_is_the_robbins_monro_recursion():
    x = np.random.default_rng(6).normal(size=300)
    q, a, alpha = 0.3, 1.5, 0.75
    it = avg = x[0]
    for k, xk in enumerate(x, start=1):
        it -= a / k**alpha * ((xk <= it) - q)
        avg += (it - avg) / k
    assert OnlineQuantile(q, a=a, alpha=alpha).fit(x).quantile_ == pytest.approx(avg, rel=1e-14)
    last = OnlineQuantile(q, a=a, alpha=alpha, averaging=False).fit(x).quantile_
    assert last == pytest.approx(it, rel=1e-14)


def test_quantile_per_column_for_2d_input():
    X = np.random.default_rng(7).normal(size=(20_000, 2)) * [1.0, 3.0]
    np.testing.assert_allclose(
        OnlineQuantile(0.5, x0=[0.1, 0.1]).fit(X).quantile_, np.median(X, axis=0), atol=0.06
    )


@pytest.mark.parametrize("q", [0.0, 1.0, 2.0])
def test_quantile_level_outside_open_unit_interval_raises(q):
    with pytest.raises(ValueError, match="'q'"):
        OnlineQuantile(q).fit(np.zeros(3))
