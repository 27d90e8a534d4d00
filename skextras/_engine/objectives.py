"""Losses of the second-order booster: gradients, hessians, optimal constant, link.

Raw scores ``raw`` are margins: (n,) for single-output losses, (n, K) for softmax. Gradients and
hessians are multiplied by the sample weights. Formulas are XGBoost's (specs/trees.md).
"""

import math

import numpy as np
from numba import prange
from scipy.special import expit, logit, softmax

from ._numba import float64_from_bits, njit, parallel_rows

_HESS_FLOOR = 1e-16


def _weights(y, sample_weight):
    return np.ones(y.shape[0]) if sample_weight is None else sample_weight


def _quantile(values, weights, q):
    """XGBoost's quantile: interpolated between order statistics without weights, the first
    value whose cumulative weight reaches ``q`` of the total with weights."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    n = ordered.size
    if weights is None:
        if q <= 1.0 / (n + 1):
            return ordered[0]
        if q >= n / (n + 1):
            return ordered[-1]
        x = q * (n + 1)
        k = int(np.floor(x)) - 1
        return ordered[k] + (x - 1 - k) * (ordered[k + 1] - ordered[k])
    cum = np.cumsum(weights[order])
    return ordered[min(np.searchsorted(cum, q * cum[-1]), n - 1)]


class Objective:
    """Base class: identity link, one output."""

    name = ""
    n_outputs = 1

    def link(self, mean):
        """Output space (mean, probability) -> margin."""
        return mean

    def inverse_link(self, raw):
        """Margin -> output space."""
        return raw

    def gradient_hessian(self, y, raw, sample_weight=None):
        g, h = self._gradient_hessian(y, raw)
        if sample_weight is not None:
            g = g * (sample_weight if g.ndim == 1 else sample_weight[:, None])
            h = h * (sample_weight if h.ndim == 1 else sample_weight[:, None])
        return g, h

    def init_score(self, y, sample_weight=None):
        """Margin of the optimal constant prediction."""
        w = _weights(y, sample_weight)
        return float(self.link(np.average(y, weights=w)))

    def validate_target(self, y):
        """Raise ValueError if ``y`` is outside the loss's domain."""


class SquaredError(Objective):
    name = "reg:squarederror"

    def _gradient_hessian(self, y, raw):
        return raw - y, np.ones_like(raw)


class AbsoluteError(Objective):
    """|f - y| with gradient sign(f - y) and the pseudo-hessian 1; the constant is the median."""

    name = "reg:absoluteerror"

    def _gradient_hessian(self, y, raw):
        return np.sign(raw - y), np.ones_like(raw)

    def init_score(self, y, sample_weight=None):
        return float(_quantile(y, sample_weight, 0.5))

    def leaf_values(self, y, raw, sample_weight, leaf_of_row, leaves):
        """Median residual of the rows in each leaf of ``leaves`` (0 for an empty leaf).

        XGBoost replaces the Newton leaf values of L1 trees by these (``leaf_of_row`` is -1
        for rows outside the round's subsample).
        """
        used = np.flatnonzero(leaf_of_row >= 0)
        order = used[np.argsort(leaf_of_row[used], kind="stable")]
        bounds = np.searchsorted(leaf_of_row[order], leaves, side="left")
        ends = np.searchsorted(leaf_of_row[order], leaves, side="right")
        residual = y - raw
        out = np.zeros(leaves.size)
        for j, (lo, hi) in enumerate(zip(bounds, ends, strict=True)):
            if hi > lo:
                rows = order[lo:hi]
                w = None if sample_weight is None else sample_weight[rows]
                out[j] = _quantile(residual[rows], w, 0.5)
        return out


class PseudoHuber(Objective):
    """slope^2 (sqrt(1 + ((f - y) / slope)^2) - 1), XGBoost's ``reg:pseudohubererror``."""

    name = "reg:pseudohubererror"

    def __init__(self, huber_slope=1.0):
        self.huber_slope = huber_slope

    def _gradient_hessian(self, y, raw):
        z = raw - y
        scale = 1.0 + (z / self.huber_slope) ** 2
        root = np.sqrt(scale)
        return z / root, 1.0 / (scale * root)

    def init_score(self, y, sample_weight=None):
        # The loss is convex: Newton steps from the median converge to the optimal constant.
        w = _weights(y, sample_weight)
        c = float(_quantile(y, sample_weight, 0.5))
        for _ in range(50):
            g, h = self.gradient_hessian(y, np.full(y.shape, c), w)
            step = g.sum() / h.sum()
            c -= step
            if abs(step) < 1e-12 * (1.0 + abs(c)):
                break
        return c


# exp(x) = 2**k * exp(r), x = k ln 2 + r, |r| <= ln(2) / 2: ln 2 in two parts (Cody and
# Waite) so that r is exact, exp(r) by its Taylor series to r**13 (the remainder is below
# 1e-17 relative), 2**k from its bits.
_LOG2_E = 1.4426950408889634
_LN2_HIGH = 6.93147180369123816490e-01
_LN2_LOW = 1.90821492927058770002e-10
_EXP_TAYLOR = tuple(1.0 / math.factorial(i) for i in range(13, 1, -1))
_EXP_MIN, _EXP_MAX = -708.0, 709.0


@njit(inline="always", error_model="numpy")
def _exp(x):
    """exp(x) within 1 ulp for ``_EXP_MIN <= x <= _EXP_MAX``; x is clamped to that range
    (exp(-708) ~ 3e-308, exp(709) ~ 8e307), NaN stays NaN. Branch-free, unlike the libm call
    ``np.exp`` compiles to, so loops over it run in SIMD lanes (3x faster here)."""
    x = _EXP_MIN if x < _EXP_MIN else x  # NaN stays NaN
    x = _EXP_MAX if x > _EXP_MAX else x
    k = np.floor(x * _LOG2_E + 0.5)
    r = (x - k * _LN2_HIGH) - k * _LN2_LOW
    e = 0.0
    for c in _EXP_TAYLOR:
        e = (e + c) * r
    e = (e + 1.0) * r + 1.0
    return e * float64_from_bits((np.int64(k) + 1023) << 52)


@njit(error_model="numpy")
def _logistic_gradient_hessian(y, raw, sample_weight, g, h, first, last):
    # One pass instead of five numpy temporaries: p = 1 / (1 + exp(-x)) as scipy's expit, to
    # 1 ulp in exp (``_exp``); the weights are multiplied last. Unsigned indices and no division
    # check (error_model) keep the loop vectorised.
    weighted = sample_weight.size > 0
    for i in range(np.uint64(first), np.uint64(last)):
        p = 1.0 / (1.0 + _exp(-raw[i]))
        gi = p - y[i]
        hi = p * (1.0 - p)
        hi = hi if hi > _HESS_FLOOR else _HESS_FLOOR
        if weighted:
            gi *= sample_weight[i]
            hi *= sample_weight[i]
        g[i] = gi
        h[i] = hi


@njit(parallel=True)
def _logistic_gradient_hessian_parallel(bounds, *args):
    """``_logistic_gradient_hessian`` over the ranges of ``bounds`` (``run_ranges``)."""
    for t in prange(bounds.size - 1):
        _logistic_gradient_hessian(*args, bounds[t], bounds[t + 1])


class Logistic(Objective):
    name = "binary:logistic"

    def gradient_hessian(self, y, raw, sample_weight=None):
        raw = np.ascontiguousarray(raw, dtype=np.float64)
        g = np.empty(raw.shape)
        h = np.empty(raw.shape)
        w = np.empty(0) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        args = (y.ravel(), raw.ravel(), w.ravel(), g.ravel(), h.ravel())
        parallel_rows(
            _logistic_gradient_hessian,
            raw.size,
            *args,
            min_rows=50_000,
            driver=_logistic_gradient_hessian_parallel,
        )
        return g, h

    def link(self, mean):
        return logit(np.clip(mean, 1e-16, 1 - 1e-16))

    def inverse_link(self, raw):
        return expit(raw)

    def validate_target(self, y):
        if np.any((y != 0) & (y != 1)):
            raise ValueError("binary:logistic needs labels in {0, 1}")


class Softmax(Objective):
    """Multiclass cross-entropy; y holds class indices 0..K-1; raw (n, K)."""

    name = "multi:softprob"

    def __init__(self, n_classes):
        self.n_outputs = n_classes

    def link(self, mean):
        log_p = np.log(np.clip(mean, 1e-16, None))
        return log_p - log_p.mean(axis=-1, keepdims=True)

    def inverse_link(self, raw):
        return softmax(raw, axis=1)

    def _gradient_hessian(self, y, raw):
        p = softmax(raw, axis=1)
        onehot = np.zeros_like(p)
        onehot[np.arange(y.shape[0]), y.astype(np.intp)] = 1.0
        return p - onehot, np.maximum(2.0 * p * (1.0 - p), _HESS_FLOOR)

    def init_score(self, y, sample_weight=None):
        w = _weights(y, sample_weight)
        prior = np.bincount(y.astype(np.intp), weights=w, minlength=self.n_outputs) / w.sum()
        return self.link(prior)


class _LogLink(Objective):
    def link(self, mean):
        return np.log(np.maximum(mean, 1e-16))

    def inverse_link(self, raw):
        return np.exp(raw)


class Poisson(_LogLink):
    """Poisson deviance, log link; ``max_delta_step`` (default 0.7) damps the hessian."""

    name = "count:poisson"

    def __init__(self, max_delta_step=0.7):
        self.max_delta_step = max_delta_step

    def _gradient_hessian(self, y, raw):
        mu = np.exp(raw)
        return mu - y, np.exp(raw + self.max_delta_step)

    def validate_target(self, y):
        if np.any(y < 0):
            raise ValueError("count:poisson needs non-negative targets")


class Gamma(_LogLink):
    name = "reg:gamma"

    def _gradient_hessian(self, y, raw):
        ratio = y * np.exp(-raw)
        return 1.0 - ratio, ratio

    def validate_target(self, y):
        if np.any(y <= 0):
            raise ValueError("reg:gamma needs positive targets")


class Tweedie(_LogLink):
    """Tweedie deviance with variance power ``rho`` in (1, 2), log link."""

    name = "reg:tweedie"

    def __init__(self, variance_power=1.5):
        self.variance_power = variance_power

    def _gradient_hessian(self, y, raw):
        rho = self.variance_power
        a = np.exp((1.0 - rho) * raw)
        b = np.exp((2.0 - rho) * raw)
        return -y * a + b, -y * (1.0 - rho) * a + (2.0 - rho) * b

    def validate_target(self, y):
        if np.any(y < 0):
            raise ValueError("reg:tweedie needs non-negative targets")


class Custom(Objective):
    """A user callable ``(y_true, raw) -> (grad, hess)`` (XGBoost's sklearn signature).

    ``raw`` is (n,) or (n, K); grad and hess must have its shape. Sample weights are multiplied
    in after the call. The constant start is ``base_score`` (0 by default, as in XGBoost).
    """

    def __init__(self, func, n_outputs=1):
        self.func = func
        self.n_outputs = n_outputs
        self.name = getattr(func, "__name__", "custom")

    def _gradient_hessian(self, y, raw):
        g, h = self.func(y, raw)
        g = np.asarray(g, dtype=np.float64).reshape(raw.shape)
        h = np.asarray(h, dtype=np.float64).reshape(raw.shape)
        return g, h

    def init_score(self, y, sample_weight=None):
        return 0.0 if self.n_outputs == 1 else np.zeros(self.n_outputs)


REGRESSION_OBJECTIVES = {
    "reg:squarederror": SquaredError,
    "reg:absoluteerror": AbsoluteError,
    "reg:pseudohubererror": PseudoHuber,
    "count:poisson": Poisson,
    "reg:gamma": Gamma,
    "reg:tweedie": Tweedie,
}
