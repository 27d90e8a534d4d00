"""Robbins-Monro and Kiefer-Wolfowitz: known roots, asymptotic variances, streams, warnings."""

import os
import subprocess
import sys

import numpy as np
import pytest
from scipy.special import expit, logit
from sklearn.exceptions import ConvergenceWarning

from skextras.online import KieferWolfowitz, RobbinsMonro


def test_harmonic_steps_give_the_sample_mean_root_for_additive_noise():
    # g(x, xi) = x - theta + xi with a_k = 1/k: x_{n+1} = theta - mean(xi_1..n), exactly.
    theta, xi = 3.0, np.random.default_rng(0).normal(size=5000)
    rm = RobbinsMonro(lambda x, e: x - theta + e, x0=-7.0).fit(xi)
    assert rm.root_ == pytest.approx(theta - xi.mean(), abs=1e-12)
    assert rm.n_iter_ == 5000 and rm.history_.shape == (5000,)


def test_root_of_logistic_dose_response_reaches_the_level():
    # Response 1{u < expit(x)} at dose x; the dose with response rate p is logit(p).
    p, n = 0.8, 20_000
    u = np.random.default_rng(1).random(n)
    rm = RobbinsMonro(lambda x, ui: float(ui < expit(x)) - p, a=4.0, alpha=0.7, averaging=True).fit(
        u
    )
    # Averaged iterate: sd = 1 / (g'(root) sqrt(n / (p (1 - p)))) = 1 / sqrt(n p (1 - p)).
    sd = 1.0 / np.sqrt(n * p * (1 - p))
    assert abs(rm.root_ - logit(p)) < 4 * sd


def test_averaged_iterate_variance_near_its_asymptotic_value():
    # 4000 independent replications run as the components of one vector root.
    n, reps, sigma, alpha = 1000, 3000, 1.5, 0.7
    noise = np.random.default_rng(2).normal(scale=sigma, size=(n, reps))
    kwargs = dict(alpha=alpha, x0=np.zeros(reps))
    averaged = RobbinsMonro(lambda x, e: x - 1.0 + e, averaging=True, **kwargs).fit(noise)
    last = RobbinsMonro(lambda x, e: x - 1.0 + e, **kwargs).fit(noise)
    # Polyak-Juditsky: n Var(xbar_n) -> sigma^2 / g'^2 = sigma^2 (g' = 1).
    assert np.var(averaged.root_) * n == pytest.approx(sigma**2, rel=0.12)
    # The last iterate only reaches Var(x_n) ~ a_n sigma^2 / 2 = sigma^2 / (2 n^alpha).
    assert np.var(last.root_) == pytest.approx(sigma**2 / (2 * n**alpha), rel=0.12)


def test_partial_fit_over_chunks_equals_one_fit():
    xi = np.random.default_rng(3).normal(size=3000)
    func = lambda x, e: np.tanh(x - 0.5) + 0.3 * e  # noqa: E731
    whole = RobbinsMonro(func, alpha=0.8, averaging=True).fit(xi)
    streamed = RobbinsMonro(func, alpha=0.8, averaging=True)
    for chunk in np.array_split(xi, 7):
        streamed.partial_fit(chunk)
    assert streamed.root_ == whole.root_
    np.testing.assert_array_equal(streamed.history_, whole.history_)


def test_fit_is_deterministic_for_a_seeded_stream():
    def run(seed):
        xi = np.random.default_rng(seed).standard_cauchy(size=500)
        return RobbinsMonro(lambda x, e: x - np.clip(e, -5, 5)).fit(xi).history_

    np.testing.assert_array_equal(run(4), run(4))
    assert not np.array_equal(run(4), run(5))


def test_refit_starts_over():
    rm = RobbinsMonro(x0=0.0)
    first = rm.fit(np.full(10, 2.0)).root_
    assert rm.fit(np.full(10, 2.0)).root_ == first == 2.0
    assert rm.n_iter_ == 10


def test_default_func_estimates_the_stream_mean():
    xi = np.random.default_rng(6).exponential(size=1000)
    assert RobbinsMonro().fit(xi).root_ == pytest.approx(xi.mean(), rel=1e-12)


def test_vector_root_keeps_the_shape_of_x0():
    target = np.array([[1.0, -2.0], [0.5, 3.0]])
    noise = np.random.default_rng(7).normal(size=(4000, 2, 2))
    rm = RobbinsMonro(lambda x, e: x - target + e, x0=np.zeros((2, 2))).fit(noise)
    assert rm.root_.shape == (2, 2) and rm.history_.shape == (4000, 2, 2)
    np.testing.assert_allclose(rm.root_, target, atol=0.1)


def test_max_iter_caps_updates_across_partial_fit_calls():
    rm = RobbinsMonro(max_iter=15)
    rm.partial_fit(np.ones(10)).partial_fit(np.ones(10))
    assert rm.n_iter_ == 15


def test_tol_stops_a_noise_free_recursion():
    rm = RobbinsMonro(lambda x, e: x - 4.0, step=0.5, tol=1e-6)
    with pytest.warns(ConvergenceWarning, match="constant"):
        rm.fit(np.zeros(1000))
    assert rm.converged_ and rm.n_iter_ < 30
    assert rm.root_ == pytest.approx(4.0, abs=2e-6)


@pytest.mark.parametrize("alpha", [0.4, 0.5, 1.2])
def test_steps_outside_robbins_monro_conditions_warn(alpha):
    with pytest.warns(ConvergenceWarning, match=f"alpha={alpha}"):
        RobbinsMonro(alpha=alpha).fit(np.zeros(3))


@pytest.mark.parametrize("alpha", [0.51, 0.75, 1.0])
def test_steps_inside_robbins_monro_conditions_do_not_warn(alpha):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        RobbinsMonro(alpha=alpha).fit(np.zeros(3))


def test_callable_step_is_called_with_the_step_index():
    seen = []
    RobbinsMonro(step=lambda k: seen.append(k) or 1.0 / k).fit(np.zeros(4))
    assert seen == [1, 2, 3, 4]


@pytest.mark.parametrize(
    "params, name",
    [
        (dict(a=0.0), "'a'"),
        (dict(alpha=-1.0), "'alpha'"),
        (dict(step="cosine"), "'step'"),
        (dict(A=-1.0), "'A'"),
        (dict(max_iter=0), "'max_iter'"),
    ],
)
def test_bad_parameters_raise_value_error_naming_them(params, name):
    with pytest.raises(ValueError, match=name):
        RobbinsMonro(**params).fit(np.zeros(3))


def test_scalar_stream_is_rejected():
    with pytest.raises(ValueError, match="X must be a sequence"):
        RobbinsMonro().fit(3.0)


def test_kiefer_wolfowitz_minimises_a_noisy_quadratic():
    # f(x, xi) = |x - m|^2 + xi . x: the noise multiplies x, so common random numbers do not
    # cancel it; the minimiser of E[f] is m.
    m = np.array([2.0, -1.0])
    xi = np.random.default_rng(8).normal(size=(4000, 2))
    kw = KieferWolfowitz(lambda x, e: np.sum((x - m) ** 2) + e @ x, x0=np.zeros(2), a=0.5)
    kw.fit(xi)
    np.testing.assert_allclose(kw.root_, m, atol=0.1)


def test_kiefer_wolfowitz_gradient_is_the_central_difference():
    # One step from x0 = 1 on f = x^3 (no noise): G = ((1 + c)^3 - (1 - c)^3) / (2c).
    kw = KieferWolfowitz(lambda x, e: x**3, x0=1.0, c=0.1).fit(np.zeros(1))
    assert kw.root_ == pytest.approx(1.0 - ((1.1**3 - 0.9**3) / 0.2), abs=1e-12)


@pytest.mark.parametrize("alpha, gamma", [(1.0, 0.6), (0.6, 0.3)])
def test_kiefer_wolfowitz_conditions_violated_warn(alpha, gamma):
    with pytest.warns(ConvergenceWarning, match="Kiefer-Wolfowitz"):
        KieferWolfowitz(lambda x, e: x**2, alpha=alpha, gamma=gamma).fit(np.zeros(2))


def test_kiefer_wolfowitz_needs_a_function():
    with pytest.raises(ValueError, match="'func'"):
        KieferWolfowitz(None).fit(np.zeros(2))


def test_import_online_imports_neither_gymnasium_nor_torch():
    code = (
        "import sys, skextras, skextras.online\n"
        "skextras.online.RobbinsMonro\n"
        "assert not {'torch', 'gymnasium'} & set(sys.modules), sorted(sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
