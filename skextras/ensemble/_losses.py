"""Friedman gradient boosting losses: negative gradients, initial scores and leaf line searches.

Trees are grown on the negative gradient by least squares; each leaf's value is then replaced
by the loss's line-search value over the in-bag rows of that leaf (Friedman 2001, algorithm 1
step 5). The values are scikit-learn's ``GradientBoosting*`` ones:

- squared error: weighted mean residual;
- absolute error: weighted median residual;
- huber: median + mean of the residual deviations clipped at ``delta``, where ``delta`` is the
  ``alpha``-quantile of ``|y - raw|`` recomputed at every stage;
- quantile (``alpha``): weighted ``alpha``-quantile of the residuals;
- binomial deviance: one Newton step ``sum(w r) / sum(w p (1 - p))``;
- multinomial deviance: ``(K - 1) / K * sum(w r) / sum(w p (1 - p))`` per class;
- exponential: Newton step ``sum(w r) / sum(w |r|)``.

Quantiles use the weighted inverted CDF (the smallest value whose cumulative weight reaches
the level), as scikit-learn's ``_weighted_percentile`` does.

Per-row work runs in numba kernels: one pass per stage gives the in-bag and out-of-bag scores
and the next stage's negative gradient, one pass per tree the Newton denominators per leaf.
"""

import math
from functools import partial
from typing import NamedTuple

import numpy as np
from scipy.special import expit

from skextras._engine._numba import njit, run_in_threads

_EPS = np.finfo(np.float64).eps

# Rows per task of the per-row passes. Fixed, so that the sums (added block by block in order)
# do not depend on the number of threads.
_BLOCK = 1 << 15


def n_blocks_of(n_rows):
    """Number of ``_BLOCK``-row blocks covering ``n_rows`` rows (at least 1)."""
    return max(1, -(-n_rows // _BLOCK))


def run_blocks(task, n_rows, n_threads):
    """``task(b, start, stop)`` for each block ``b`` of ``_BLOCK`` rows, the blocks split into
    contiguous runs over up to ``n_threads`` threads."""
    n_blocks = n_blocks_of(n_rows)
    n_threads = max(1, min(n_threads, n_blocks))

    def run(first, last):
        for b in range(first, last):
            task(b, b * _BLOCK, min((b + 1) * _BLOCK, n_rows))

    cuts = [t * n_blocks // n_threads for t in range(n_threads + 1)]
    run_in_threads([partial(run, cuts[t], cuts[t + 1]) for t in range(n_threads)])


# Loss codes of the row kernels (the multinomial deviance has its own kernel).
_SQUARED, _ABSOLUTE, _QUANTILE, _HUBER, _BINOMIAL, _EXPONENTIAL = range(6)


@njit
def _row_loss(code, y, f, alpha, delta):
    """(loss, negative gradient) of one row with target ``y`` and raw score ``f``."""
    d = y - f
    if code == _SQUARED:
        return d * d, d
    if code == _ABSOLUTE:
        return abs(d), (1.0 if d > 0 else (-1.0 if d < 0 else 0.0))
    if code == _QUANTILE:
        return (alpha * d if d >= 0 else (alpha - 1.0) * d), (alpha if d >= 0 else alpha - 1.0)
    if code == _HUBER:
        a = abs(d)
        if a <= delta:
            return 0.5 * (a * a), d
        return delta * (a - 0.5 * delta), delta * (1.0 if d > 0 else -1.0)
    # _EXPONENTIAL
    return y * math.exp(-f) + (1 - y) * math.exp(f), y * math.exp(-f) - (1 - y) * math.exp(f)


@njit
def _scores_1d(code, y, raw, weight, mask, alpha, delta, neg_out):
    """Weighted loss and weight sums over the rows in ``mask`` and over the others (``mask``
    of size 0: all rows in), and, when ``neg_out`` has rows, the negative gradient written
    to it."""
    sums = np.zeros(4)
    for i in range(y.shape[0]):
        loss, grad = _row_loss(code, y[i], raw[i, 0], alpha, delta)
        if neg_out.shape[0] > 0:
            neg_out[i, 0] = grad
        j = 0 if mask.size == 0 or mask[i] else 2
        sums[j] += weight[i] * loss
        sums[j + 1] += weight[i]
    return sums


@njit(fastmath={"reassoc"})
def _scores_binomial(y, raw, e, log1p_e, weight, mask, neg_out):
    """``_scores_1d`` of the binomial deviance ``log(1 + e^f) - y f`` (gradient
    ``y - expit(f)``), given ``e = exp(-|f|)`` and ``log1p(e)``; written without branches
    so that it vectorises (``reassoc`` lets the compiler reorder the sums)."""
    sums = np.zeros(4)
    in_loss = in_weight = out_loss = out_weight = 0.0
    for i in range(y.shape[0]):
        f, ei = raw[i, 0], e[i]
        neg_out[i, 0] = y[i] - (1.0 if f >= 0 else ei) / (1.0 + ei)
        wl = weight[i] * (log1p_e[i] + max(f, 0.0) - y[i] * f)
        inside = mask.size == 0 or mask[i]
        in_loss += wl if inside else 0.0
        in_weight += weight[i] if inside else 0.0
        out_loss += 0.0 if inside else wl
        out_weight += 0.0 if inside else weight[i]
    sums[0], sums[1], sums[2], sums[3] = in_loss, in_weight, out_loss, out_weight
    return sums


@njit
def _scores_multinomial(y, raw, weight, mask, neg_out):
    """``_scores_1d`` of the multinomial deviance ``logsumexp(raw) - raw[y]``."""
    n_classes = raw.shape[1]
    e = np.empty(n_classes)
    sums = np.zeros(4)
    for i in range(y.shape[0]):
        top = raw[i, 0]
        for k in range(1, n_classes):
            top = max(top, raw[i, k])
        total = 0.0
        for k in range(n_classes):
            e[k] = math.exp(raw[i, k] - top)
            total += e[k]
        if neg_out.shape[0] > 0:
            for k in range(n_classes):
                neg_out[i, k] = (1.0 if y[i] == k else 0.0) - e[k] / total
        loss = math.log(total) + top - raw[i, y[i]]
        j = 0 if mask.size == 0 or mask[i] else 2
        sums[j] += weight[i] * loss
        sums[j + 1] += weight[i]
    return sums


@njit
def _leaf_hessian_sums(leaves, n_nodes, y, k, neg_grad, weight, code):
    """Per-leaf sums of ``weight * hessian``: ``p (1 - p)`` with ``p = target - neg_grad``
    (target ``y`` for the binomial, ``y == k`` for the multinomial deviance), or
    ``|neg_grad|`` for the exponential loss."""
    # Rows go to 4 interleaved accumulators: consecutive rows in one leaf would otherwise
    # wait for each other's store.
    acc = np.zeros((4, n_nodes))
    for i in range(leaves.shape[0]):
        if code == _EXPONENTIAL:
            h = abs(neg_grad[i])
        else:
            target = (1.0 if y[i] == k else 0.0) if k >= 0 else y[i]
            p = target - neg_grad[i]
            h = p * (1 - p)
        acc[i & 3, leaves[i]] += weight[i] * h
    return (acc[0] + acc[1]) + (acc[2] + acc[3])


def grouped_weighted_quantile(values, weights, groups, n_groups, q):
    """Weighted inverted-CDF ``q``-quantile of ``values`` within each group, shape (n_groups,).

    Groups without rows (or with zero total weight) get 0.
    """
    order = np.lexsort((values, groups))
    v, w, g = values[order], weights[order], groups[order]
    counts = np.bincount(g, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    cum = np.cumsum(w)
    before = np.concatenate([[0.0], cum])[starts]
    cum_in_group = cum - before[g]
    totals = np.bincount(g, weights=w, minlength=n_groups)
    below = cum_in_group < (q * totals)[g]
    n_below = np.bincount(g, weights=below, minlength=n_groups).astype(np.int64)
    idx = np.minimum(starts + n_below, starts + np.maximum(counts, 1) - 1)
    out = np.zeros(n_groups)
    has = (counts > 0) & (totals > 0)
    out[has] = v[idx[has]]
    return out


def weighted_quantile(values, weights, q):
    """Weighted inverted-CDF ``q``-quantile of a 1-d array."""
    groups = np.zeros(values.shape[0], dtype=np.int64)
    return grouped_weighted_quantile(values, weights, groups, 1, q)[0]


def _safe_ratio(num, den):
    """num / den per leaf, 0 where |den| < 1e-150 (sklearn's ``_safe_divide``)."""
    out = np.zeros_like(num)
    ok = np.abs(den) >= 1e-150
    out[ok] = num[ok] / den[ok]
    return out


def _mean(loss_sum, weight_sum):
    return loss_sum / weight_sum if weight_sum > 0 else np.nan


class LeafFit(NamedTuple):
    """A fitted tree's partition of the rows: each row's node id, the node count, per node the
    weighted mean of the negative gradient and the weight sum over the in-bag rows (the tree's
    own value and cover, since it was grown with ``g = -w * r``, ``h = w``, ``lambda = 0``),
    the in-bag mask (None: every row) and the threads for per-row passes."""

    leaves: np.ndarray
    n_nodes: int
    mean_grad: np.ndarray
    weight_sum: np.ndarray
    inbag: np.ndarray | None = None
    n_threads: int = 1

    def select(self, values):
        """The in-bag rows of a per-row array."""
        return values if self.inbag is None else values[self.inbag]

    def sums(self, weights):
        """Per-node sums of ``weights`` given over the in-bag rows."""
        return np.bincount(self.select(self.leaves), weights=weights, minlength=self.n_nodes)

    def quantile(self, values, weight, q):
        """Per-node weighted ``q``-quantile of ``values`` given over the in-bag rows."""
        return grouped_weighted_quantile(values, weight, self.select(self.leaves), self.n_nodes, q)


class _Loss:
    """Interface: ``K`` outputs per stage, losses and gradients, constant init, leaf line search.

    ``line_search(fit, y, raw_k, neg_grad, weight, k)`` takes per-row arrays over every row,
    with ``weight`` zero out of bag.
    """

    is_classification = False
    score_factor = 1.0
    code = None
    # False where the gradient depends on state set by ``prepare_stage`` (huber's delta), so
    # it cannot be computed together with the previous stage's score.
    gradient_after_score = True
    alpha = 0.0
    delta = 0.0

    def n_outputs(self, n_classes):
        return 1

    def prepare_stage(self, y, raw, weight):
        """Per-stage state (huber's delta); no-op for the others."""

    def init_raw(self, y, weight, weighted):
        raise NotImplementedError

    def link(self, pred):
        """Raw score of an init estimator's prediction (identity for regression)."""
        return pred.reshape(-1, 1)

    def scores(self, y, raw, weight, mask=None, neg_out=None, n_threads=1):
        """Weighted mean loss as scikit-learn's ``train_score_`` reports it, over the rows in
        ``mask`` and over the others (NaN without rows), in one pass on ``n_threads``
        threads; when ``neg_out`` (n_samples, K) is given, the negative gradient at ``raw``
        is written to it."""
        mask = np.empty(0, dtype=bool) if mask is None else mask
        out = np.empty((0, raw.shape[1])) if neg_out is None else neg_out
        partial_sums = np.zeros((n_blocks_of(y.shape[0]), 4))

        def task(b, start, stop):
            rows = slice(start, stop)
            partial_sums[b] = self._sums(
                y[rows],
                raw[rows],
                weight[rows],
                mask[rows] if mask.size else mask,
                out[rows] if neg_out is not None else out,
            )

        run_blocks(task, y.shape[0], n_threads)
        sums = partial_sums.sum(axis=0)
        return (
            self.score_factor * _mean(sums[0], sums[1]),
            self.score_factor * _mean(sums[2], sums[3]),
        )

    def score(self, y, raw, weight):
        """Weighted mean loss over every row."""
        return self.scores(y, raw, weight)[0]

    def _sums(self, y, raw, weight, mask, neg_out):
        args = (self.alpha, self.delta, neg_out)
        return _scores_1d(self.code, y, raw, weight, mask, *args)


class SquaredError(_Loss):
    code = _SQUARED

    def init_raw(self, y, weight, weighted):
        return np.array([np.average(y, weights=weight)])

    def line_search(self, fit, y, raw_k, neg_grad, weight, k):
        return fit.mean_grad


def _median_init(y, weight, weighted, q):
    if weighted:
        return np.array([weighted_quantile(y, weight, q)])
    return np.array([np.percentile(y, 100 * q)])


class AbsoluteError(_Loss):
    code = _ABSOLUTE

    def init_raw(self, y, weight, weighted):
        return _median_init(y, weight, weighted, 0.5)

    def line_search(self, fit, y, raw_k, neg_grad, weight, k):
        return fit.quantile(fit.select(y - raw_k), fit.select(weight), 0.5)


class QuantileLoss(_Loss):
    code = _QUANTILE

    def __init__(self, alpha):
        self.alpha = alpha

    def init_raw(self, y, weight, weighted):
        return _median_init(y, weight, weighted, self.alpha)

    def line_search(self, fit, y, raw_k, neg_grad, weight, k):
        return fit.quantile(fit.select(y - raw_k), fit.select(weight), self.alpha)


class HuberLoss(_Loss):
    code = _HUBER
    gradient_after_score = False

    def __init__(self, alpha):
        self.alpha = alpha
        self.delta = 1.0

    def prepare_stage(self, y, raw, weight):
        self.delta = float(weighted_quantile(np.abs(y - raw[:, 0]), weight, self.alpha))

    def init_raw(self, y, weight, weighted):
        return _median_init(y, weight, weighted, 0.5)

    def line_search(self, fit, y, raw_k, neg_grad, weight, k):
        resid, weight = fit.select(y - raw_k), fit.select(weight)
        median = fit.quantile(resid, weight, 0.5)
        diff = resid - median[fit.select(fit.leaves)]
        clipped = np.sign(diff) * np.minimum(self.delta, np.abs(diff))
        return median + _safe_ratio(fit.sums(weight * clipped), fit.weight_sum)


def _class_prior(y, weight, n_classes):
    prior = np.bincount(y, weights=weight, minlength=n_classes) / weight.sum()
    return np.clip(prior, _EPS, 1 - _EPS)


def _newton_step(fit, y, k, neg_grad, weight, code):
    """mean(w r) / mean(w hessian) per leaf (hessian as in ``_leaf_hessian_sums``; rows out
    of bag carry zero weight); averages (not sums) are compared with 1e-150, as scikit-learn
    does."""
    parts = np.zeros((n_blocks_of(y.shape[0]), fit.n_nodes))

    def task(b, start, stop):
        rows = slice(start, stop)
        leaves, g, w = fit.leaves[rows], neg_grad[rows], weight[rows]
        parts[b] = _leaf_hessian_sums(leaves, fit.n_nodes, y[rows], k, g, w, code)

    run_blocks(task, y.shape[0], fit.n_threads)
    mean_hessian = parts.sum(axis=0) / np.maximum(fit.weight_sum, 1e-300)
    return _safe_ratio(fit.mean_grad, mean_hessian)


class BinomialDeviance(_Loss):
    is_classification = True
    score_factor = 2.0
    code = _BINOMIAL

    def init_raw(self, y, weight, weighted):
        return self.link(_class_prior(y, weight, 2)[1:])[0]

    def link(self, p):
        p = np.clip(p, _EPS, 1 - _EPS)
        return np.log(p / (1 - p)).reshape(-1, 1)

    def proba(self, raw):
        p = expit(raw[:, 0])
        return np.column_stack([1 - p, p])

    def line_search(self, fit, y, raw_k, neg_grad, weight, k):
        return _newton_step(fit, y, -1, neg_grad, weight, self.code)

    def _sums(self, y, raw, weight, mask, neg_out):
        # numpy's exp and log1p are vectorised (SIMD), numba's scalar ones several times slower.
        e = np.abs(raw[:, 0])
        e = np.exp(np.negative(e, out=e), out=e)
        if neg_out.shape[0] == 0:
            neg_out = np.empty_like(raw)
        return _scores_binomial(y, raw, e, np.log1p(e), weight, mask, neg_out)


class MultinomialDeviance(_Loss):
    is_classification = True

    def __init__(self, n_classes):
        self.n_classes = n_classes

    def n_outputs(self, n_classes):
        return n_classes

    def init_raw(self, y, weight, weighted):
        return self.link(_class_prior(y, weight, self.n_classes)[None, :])[0]

    def link(self, p):
        logp = np.log(np.clip(p, _EPS, 1 - _EPS))
        return logp - logp.mean(axis=1, keepdims=True)

    def proba(self, raw):
        z = raw - raw.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def line_search(self, fit, y, raw_k, neg_grad, weight, k):
        K = self.n_classes
        return (K - 1) / K * _newton_step(fit, y, k, neg_grad, weight, _BINOMIAL)

    def _sums(self, y, raw, weight, mask, neg_out):
        return _scores_multinomial(y, raw, weight, mask, neg_out)


class ExponentialLoss(_Loss):
    is_classification = True
    code = _EXPONENTIAL

    def init_raw(self, y, weight, weighted):
        return self.link(_class_prior(y, weight, 2)[1:])[0]

    def link(self, p):
        p = np.clip(p, _EPS, 1 - _EPS)
        return 0.5 * np.log(p / (1 - p)).reshape(-1, 1)

    def proba(self, raw):
        p = expit(2 * raw[:, 0])
        return np.column_stack([1 - p, p])

    def line_search(self, fit, y, raw_k, neg_grad, weight, k):
        return _newton_step(fit, y, -1, neg_grad, weight, self.code)


def make_loss(name, n_classes=None, alpha=0.9):
    """The loss object for a ``loss`` parameter value."""
    if name == "log_loss":
        return BinomialDeviance() if n_classes == 2 else MultinomialDeviance(n_classes)
    if name == "exponential":
        if n_classes != 2:
            raise ValueError(
                f"loss='exponential' is only for binary classification, got {n_classes} classes."
            )
        return ExponentialLoss()
    return {
        "squared_error": SquaredError,
        "absolute_error": AbsoluteError,
        "huber": lambda: HuberLoss(alpha),
        "quantile": lambda: QuantileLoss(alpha),
    }[name]()
