"""objectives: the logistic gradients and hessians and the vectorised exp, against numpy and
scipy."""

import numba
import numpy as np

from skextras._engine.objectives import Logistic


def test_logistic_gradient_hessian_equal_numpy_expression():
    # p = expit(raw) to 1 ulp of exp: g and h within a few ulp of 1 (they are differences of
    # numbers near 1), also where exp is clamped (|raw| > 708: p within 1e-307 of 0 or 1)
    from scipy.special import expit

    rng = np.random.RandomState(0)
    raw = np.concatenate([rng.normal(0, 5, 200_000), [0.0, -0.0, 800.0, -800.0, 1e-300]])
    y = (rng.rand(raw.size) < 0.5).astype(float)
    w = rng.uniform(0, 2, raw.size)
    p = expit(raw)
    for weights in (None, w):
        g, h = Logistic().gradient_hessian(y, raw, weights)
        scale = 1.0 if weights is None else weights
        tol = 4e-16 * np.max(scale)
        np.testing.assert_allclose(g, (p - y) * scale, rtol=tol, atol=tol)
        np.testing.assert_allclose(h, np.maximum(p * (1.0 - p), 1e-16) * scale, rtol=tol, atol=tol)
        assert (g == (p - y) * scale).mean() > 0.8


def test_vectorised_exp_within_one_ulp_clamped_and_nan_preserving():
    from skextras._engine.objectives import _EXP_MAX, _EXP_MIN, _exp

    @numba.njit
    def exp_all(x):
        out = np.empty_like(x)
        for i in range(x.size):
            out[i] = _exp(x[i])
        return out

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(_EXP_MIN, _EXP_MAX, 500_000), rng.normal(0, 3, 500_000)])
    x = np.concatenate([x, [0.0, -0.0, 1e-300, np.log(2) / 2, -np.log(2) / 2]])
    x = np.concatenate([x, [_EXP_MIN, _EXP_MAX]])
    ulp = np.abs(exp_all(x) - np.exp(x)) / np.spacing(np.exp(x))
    assert ulp.max() <= 1.0
    assert exp_all(np.array([0.0]))[0] == 1.0
    out = exp_all(np.array([-800.0, 800.0, -np.inf, np.inf, np.nan]))
    clamped = exp_all(np.array([_EXP_MIN, _EXP_MAX]))
    np.testing.assert_array_equal(out[:4], np.tile(clamped, 2))
    assert np.isnan(out[4])
