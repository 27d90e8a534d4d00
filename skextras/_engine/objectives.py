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

    def leaf_values(self, y, raw, sample_weight, leaf_of_row, leaves, output=0):
        """Median residual of the rows in each leaf of ``leaves`` (0 for an empty leaf).

        XGBoost replaces the Newton leaf values of L1 trees by these (``leaf_of_row`` is -1
        for rows outside the round's subsample).
        """
        return _leaf_quantiles(y - raw, sample_weight, leaf_of_row, leaves, 0.5)


def _leaf_quantiles(residual, sample_weight, leaf_of_row, leaves, q):
    """The ``q``-quantile (:func:`_quantile`, XGBoost's definition) of the residuals of the
    rows in each leaf of ``leaves`` (0 for an empty leaf; rows with ``leaf_of_row`` -1 are
    outside the round's subsample)."""
    used = np.flatnonzero(leaf_of_row >= 0)
    order = used[np.argsort(leaf_of_row[used], kind="stable")]
    bounds = np.searchsorted(leaf_of_row[order], leaves, side="left")
    ends = np.searchsorted(leaf_of_row[order], leaves, side="right")
    out = np.zeros(leaves.size)
    for j, (lo, hi) in enumerate(zip(bounds, ends, strict=True)):
        if hi > lo:
            rows = order[lo:hi]
            w = None if sample_weight is None else sample_weight[rows]
            out[j] = _quantile(residual[rows], w, q)
    return out


class Quantile(Objective):
    """XGBoost's ``reg:quantileerror``: the pinball loss of each ``alpha`` in ``alphas``, one
    output (one tree per round) per alpha, all fitted to the same 1-d target.

    With ``d = raw - y`` the gradient is ``1 - alpha`` where ``d >= 0`` and ``-alpha``
    otherwise, the hessian 1 (times the sample weights). The start of output k is the
    ``alpha_k``-quantile of y, and after each tree is grown its leaf values are replaced by
    the ``alpha_k``-quantile of the residuals ``y - raw`` of the leaf's rows (XGBoost's
    adaptive leaves, its quantile definition: :func:`_quantile`), times the learning rate.
    """

    name = "reg:quantileerror"

    def __init__(self, alphas=(0.5,)):
        self.alphas = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
        self.n_outputs = self.alphas.size

    def _gradient_hessian(self, y, raw):
        d = raw - (y if raw.ndim == 1 else y[:, None])
        alpha = self.alphas[0] if raw.ndim == 1 else self.alphas[None, :]
        return np.where(d >= 0, 1.0 - alpha, -alpha), np.ones_like(raw)

    def init_score(self, y, sample_weight=None):
        starts = np.array([_quantile(y, sample_weight, a) for a in self.alphas])
        return float(starts[0]) if self.n_outputs == 1 else starts

    def leaf_values(self, y, raw, sample_weight, leaf_of_row, leaves, output=0):
        """The ``alphas[output]``-quantile of the residuals in each leaf."""
        return _leaf_quantiles(y - raw, sample_weight, leaf_of_row, leaves, self.alphas[output])


class MultiTarget(Objective):
    """One regression objective applied to each column of a 2-d target: output k fits
    ``y[:, k]`` (XGBoost's ``multi_strategy="one_output_per_tree"``: one tree per target
    per round). Gradients, hessians and the link are the element-wise ones of ``base``; the
    start of output k is ``base``'s optimal constant for column k."""

    def __init__(self, base, n_targets):
        self.base = base
        self.name = base.name
        self.n_outputs = n_targets
        if hasattr(base, "leaf_values"):
            self.leaf_values = self._leaf_values

    def link(self, mean):
        return self.base.link(mean)

    def inverse_link(self, raw):
        return self.base.inverse_link(raw)

    def _gradient_hessian(self, y, raw):
        return self.base._gradient_hessian(y, raw)

    def init_score(self, y, sample_weight=None):
        return np.array([self.base.init_score(y[:, k], sample_weight) for k in range(y.shape[1])])

    def validate_target(self, y):
        self.base.validate_target(y)

    def _leaf_values(self, y, raw, sample_weight, leaf_of_row, leaves, output=0):
        return self.base.leaf_values(y[:, output], raw, sample_weight, leaf_of_row, leaves)


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
    "reg:quantileerror": Quantile,
}


# ---------------------------------------------------------------------------------------------
# Learning to rank: LambdaMART gradients (XGBoost's rank:ndcg, rank:map, rank:pairwise)

RANK_OBJECTIVES = ("rank:ndcg", "rank:map", "rank:pairwise")
_RANK_DELTA = {"rank:pairwise": 0, "rank:ndcg": 1, "rank:map": 2}


@njit(inline="always")
def _rank_gain(label, exp_gain):
    return 2.0**label - 1.0 if exp_gain else label


@njit
def _inverse_idcg(y, k, exp_gain):
    """1 / IDCG@k of one query's labels (0 where no document is relevant)."""
    ideal = np.sort(y)[::-1]
    idcg = 0.0
    for r in range(min(k, ideal.size)):
        idcg += _rank_gain(ideal[r], exp_gain) / np.log2(r + 2.0)
    return 1.0 / idcg if idcg > 0 else 0.0


@njit
def _delta_map(rel, hits, acc, high, low):
    """|Change of AP| when the documents at ranks ``high`` < ``low`` swap (XGBoost's
    DeltaMAP); ``hits[r]`` relevant documents in ranks 0..r, ``acc[r] = sum hits / rank``."""
    r_h, r_l = high + 1.0, low + 1.0
    m, n = hits[low], hits[high]
    b = acc[low - 1] - acc[high]
    if rel[high] < rel[low]:
        delta = m / r_l - (n + 1.0) / r_h - b
    else:
        delta = n / r_h - m / r_l + b
    return abs(delta / hits[-1])


@njit
def _pair_lambda(rel, s, high, low, delta_kind, inv_idcg, hits, acc, exp_gain, by_diff, spread):
    """Gradient and hessian a pair adds to its higher-labelled document (ranks ``high``,
    ``low`` in the model's order; ``rel``/``s`` in that order): RankNet's lambda scaled by
    the metric change of swapping them."""
    if delta_kind == 1:
        d_h, d_l = 1.0 / np.log2(high + 2.0), 1.0 / np.log2(low + 2.0)
        g_h, g_l = _rank_gain(rel[high], exp_gain), _rank_gain(rel[low], exp_gain)
        delta = abs((g_h - g_l) * (d_h - d_l)) * inv_idcg
    elif delta_kind == 2:
        delta = _delta_map(rel, hits, acc, min(high, low), max(high, low))
    else:
        delta = 1.0
    diff = s[high] - s[low]
    if by_diff and spread:
        delta /= abs(diff) + 0.01
    sig = 1.0 / (1.0 + np.exp(-diff))
    return (sig - 1.0) * delta, max(sig * (1.0 - sig), _HESS_FLOOR) * delta * 2.0


@njit(inline="always")
def _add_pair(pair, i, j, gq, hq):
    """Add the lambdas of documents at ranks i, j (different labels) to gq / hq; returns
    the pair's |lambda| sum (``2 |lambda|``) for the normalisation."""
    rel, s, delta_kind, inv_idcg, hits, acc, exp_gain, by_diff, spread = pair
    high, low = (i, j) if rel[i] > rel[j] else (j, i)
    lam, hess = _pair_lambda(
        rel, s, high, low, delta_kind, inv_idcg, hits, acc, exp_gain, by_diff, spread
    )
    gq[high] += lam
    gq[low] -= lam
    hq[high] += hess
    hq[low] += hess
    return -2.0 * lam


@njit
def _rank_query(y, raw, order, params, rng_state, g, h):
    """Lambdas of one query (rows ``order``, sorted by descending score) into g, h."""
    delta_kind, k, n_pairs, exp_gain, normalize, by_diff, topk = params
    n = order.size
    rel = y[order]
    s = raw[order]
    spread = s[0] != s[-1]
    inv_idcg = _inverse_idcg(rel, k if topk else n, exp_gain) if delta_kind == 1 else 0.0
    hits = np.cumsum(rel)
    acc = np.cumsum(rel / np.arange(1.0, n + 1.0))
    if delta_kind == 2 and hits[-1] == 0:
        return
    pair = (rel, s, delta_kind, inv_idcg, hits, acc, exp_gain, by_diff, spread)
    gq = np.zeros(n)
    hq = np.zeros(n)
    sum_lambda = 0.0
    if topk:
        for i in range(min(n, k)):
            for j in range(i + 1, n):
                if rel[i] != rel[j]:
                    sum_lambda += _add_pair(pair, i, j, gq, hq)
    else:
        # Each document against n_pairs documents of another label, drawn uniformly.
        by_label = np.argsort(-rel, kind="mergesort")
        start = 0
        while start < n:
            stop = start + 1
            while stop < n and rel[by_label[stop]] == rel[by_label[start]]:
                stop += 1
            others = n - (stop - start)
            for _ in range(n_pairs if others else 0):
                for a in range(start, stop):
                    # xorshift64: a per-query stream, independent of thread scheduling.
                    x = rng_state[0]
                    x ^= (x << np.uint64(13)) & np.uint64(0xFFFFFFFFFFFFFFFF)
                    x ^= x >> np.uint64(7)
                    x ^= (x << np.uint64(17)) & np.uint64(0xFFFFFFFFFFFFFFFF)
                    rng_state[0] = x
                    r = np.int64(x % np.uint64(others))
                    r = r if r < start else r + np.int64(stop - start)
                    i, j = by_label[a], by_label[r]
                    sum_lambda += _add_pair(pair, i, j, gq, hq)
            start = stop
    norm = 1.0
    if normalize:
        if not topk:
            norm = 1.0 / n_pairs
        elif sum_lambda > 0.0:
            norm = np.log2(1.0 + sum_lambda) / sum_lambda
    for r in range(n):
        g[order[r]] = gq[r] * norm
        h[order[r]] = hq[r] * norm


@njit(parallel=True)
def lambdarank_gradient_hessian(y, raw, group_ptr, group_weight, params, seed):
    """LambdaMART gradients and hessians of every row, shape (n,) each.

    Parameters
    ----------
    y, raw : float64 (n,)
        Relevance labels and margins; each query's rows are contiguous.
    group_ptr : int64 (n_queries + 1,)
        Query q owns rows ``group_ptr[q]:group_ptr[q + 1]``.
    group_weight : float64 (n_queries,)
        Query weights, normalised to mean 1.
    params : tuple
        (delta kind: 0 pairwise / 1 NDCG / 2 MAP, truncation k, pairs per document for
        "mean", exponential NDCG gain, normalise lambdas, divide the metric change by the
        score difference + 0.01, "topk" pairs).
    seed : int
        Seeds the pair draws of the "mean" method (one stream per query).
    """
    n_queries = group_ptr.size - 1
    g = np.zeros(y.size)
    h = np.zeros(y.size)
    for q in prange(n_queries):
        lo, hi = group_ptr[q], group_ptr[q + 1]
        if hi - lo < 2:
            continue
        order = lo + np.argsort(-raw[lo:hi], kind="mergesort")
        state = np.empty(1, dtype=np.uint64)
        state[0] = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(q + 1)
        _rank_query(y, raw, order, params, state, g, h)
        w = group_weight[q]
        for r in range(lo, hi):
            g[r] *= w
            h[r] *= w
    return g, h


class LambdaRank(Objective):
    """XGBoost's ranking objectives (``rank:ndcg`` = LambdaMART, ``rank:map``,
    ``rank:pairwise`` = RankNet) on queries given as contiguous row ranges.

    Pairs: ``"topk"`` pairs each of the model's top ``k`` documents with every document
    ranked below it; ``"mean"`` pairs every document with ``num_pairs`` documents of other
    labels drawn at random. A pair's lambda is ``(sigmoid(s_i - s_j) - 1) * |delta metric|``
    (divided by ``|s_i - s_j| + 0.01`` with ``score_normalization``), its hessian
    ``2 sigmoid (1 - sigmoid) |delta metric|``; a query's lambdas are scaled by
    ``log2(1 + L) / L`` (topk, ``L`` the sum of |lambda|) or ``1 / num_pairs`` (mean).
    """

    def __init__(
        self,
        name,
        group_ptr,
        group_weight=None,
        pair_method="topk",
        num_pairs=None,
        exp_gain=True,
        normalization=True,
        score_normalization=True,
        seed=0,
    ):
        self.name = name
        self.group_ptr = np.asarray(group_ptr, dtype=np.int64)
        n_queries = self.group_ptr.size - 1
        w = np.ones(n_queries) if group_weight is None else np.asarray(group_weight, float)
        self.group_weight = w * (n_queries / w.sum())
        topk = pair_method == "topk"
        k = int(num_pairs if num_pairs is not None else (32 if topk else 1))
        self.params = (
            _RANK_DELTA[name],
            k,
            k,
            bool(exp_gain),
            bool(normalization),
            bool(score_normalization),
            topk,
        )
        self.seed = int(seed)
        self._round = 0

    def gradient_hessian(self, y, raw, sample_weight=None):
        y = np.ascontiguousarray(y, dtype=np.float64)
        raw = np.ascontiguousarray(raw, dtype=np.float64)
        self._round += 1
        return lambdarank_gradient_hessian(
            y, raw, self.group_ptr, self.group_weight, self.params, self.seed + self._round
        )

    def init_score(self, y, sample_weight=None):
        return 0.0

    def validate_target(self, y):
        if self.name == "rank:map" and np.any((y != 0) & (y != 1)):
            raise ValueError("rank:map needs binary relevance labels in {0, 1}")
        if self.params[3] and np.any((y < 0) | (y != np.floor(y)) | (y > 31)):
            raise ValueError(
                f"{self.name} with ndcg_exp_gain=True needs integer relevance labels in "
                "0..31 (the gain is 2**label - 1); set ndcg_exp_gain=False for other labels"
            )
