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
"""

from typing import NamedTuple

import numpy as np
from scipy.special import expit, logsumexp

_EPS = np.finfo(np.float64).eps


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


class LeafFit(NamedTuple):
    """A fitted tree's partition of the in-bag rows: each row's node id, the node count, and
    per node the weighted mean of the negative gradient and the weight sum (the tree's own
    value and cover, since it was grown with ``g = -w * r``, ``h = w``, ``lambda = 0``)."""

    leaves: np.ndarray
    n_nodes: int
    mean_grad: np.ndarray
    weight_sum: np.ndarray

    def sums(self, weights):
        """Per-node sums of ``weights`` over the rows."""
        return np.bincount(self.leaves, weights=weights, minlength=self.n_nodes)

    def quantile(self, values, weight, q):
        """Per-node weighted ``q``-quantile of ``values``."""
        return grouped_weighted_quantile(values, weight, self.leaves, self.n_nodes, q)


class _Loss:
    """Interface: ``K`` outputs per stage, gradients, constant init, leaf line search."""

    is_classification = False
    score_factor = 1.0

    def n_outputs(self, n_classes):
        return 1

    def prepare_stage(self, y, raw, weight):
        """Per-stage state (huber's delta); no-op for the others."""

    def init_raw(self, y, weight, weighted):
        raise NotImplementedError

    def link(self, pred):
        """Raw score of an init estimator's prediction (identity for regression)."""
        return pred.reshape(-1, 1)

    def score(self, y, raw, weight):
        """Weighted mean loss as scikit-learn's ``train_score_`` reports it."""
        return self.score_factor * np.average(self.pointwise(y, raw), weights=weight)


class SquaredError(_Loss):
    score_factor = 1.0

    def init_raw(self, y, weight, weighted):
        return np.array([np.average(y, weights=weight)])

    def neg_gradient(self, y, raw):
        return y - raw[:, 0]

    def pointwise(self, y, raw):
        return (y - raw[:, 0]) ** 2

    def line_search(self, fit, y, raw_k, neg_grad, weight, k):
        return fit.mean_grad


def _median_init(y, weight, weighted, q):
    if weighted:
        return np.array([weighted_quantile(y, weight, q)])
    return np.array([np.percentile(y, 100 * q)])


class AbsoluteError(_Loss):
    def init_raw(self, y, weight, weighted):
        return _median_init(y, weight, weighted, 0.5)

    def neg_gradient(self, y, raw):
        return -np.sign(raw[:, 0] - y)

    def pointwise(self, y, raw):
        return np.abs(y - raw[:, 0])

    def line_search(self, fit, y, raw_k, neg_grad, weight, k):
        return fit.quantile(y - raw_k, weight, 0.5)


class QuantileLoss(_Loss):
    def __init__(self, alpha):
        self.alpha = alpha

    def init_raw(self, y, weight, weighted):
        return _median_init(y, weight, weighted, self.alpha)

    def neg_gradient(self, y, raw):
        return np.where(y >= raw[:, 0], self.alpha, self.alpha - 1.0)

    def pointwise(self, y, raw):
        d = y - raw[:, 0]
        return np.where(d >= 0, self.alpha * d, (self.alpha - 1.0) * d)

    def line_search(self, fit, y, raw_k, neg_grad, weight, k):
        return fit.quantile(y - raw_k, weight, self.alpha)


class HuberLoss(_Loss):
    def __init__(self, alpha):
        self.alpha = alpha
        self.delta = 1.0

    def prepare_stage(self, y, raw, weight):
        self.delta = float(weighted_quantile(np.abs(y - raw[:, 0]), weight, self.alpha))

    def init_raw(self, y, weight, weighted):
        return _median_init(y, weight, weighted, 0.5)

    def neg_gradient(self, y, raw):
        d = y - raw[:, 0]
        return np.where(np.abs(d) <= self.delta, d, self.delta * np.sign(d))

    def pointwise(self, y, raw):
        a = np.abs(y - raw[:, 0])
        return np.where(a <= self.delta, 0.5 * a**2, self.delta * (a - 0.5 * self.delta))

    def line_search(self, fit, y, raw_k, neg_grad, weight, k):
        resid = y - raw_k
        median = fit.quantile(resid, weight, 0.5)
        diff = resid - median[fit.leaves]
        clipped = np.sign(diff) * np.minimum(self.delta, np.abs(diff))
        return median + _safe_ratio(fit.sums(weight * clipped), fit.weight_sum)


def _class_prior(y, weight, n_classes):
    prior = np.bincount(y, weights=weight, minlength=n_classes) / weight.sum()
    return np.clip(prior, _EPS, 1 - _EPS)


class BinomialDeviance(_Loss):
    is_classification = True
    score_factor = 2.0

    def init_raw(self, y, weight, weighted):
        return self.link(_class_prior(y, weight, 2)[1:])[0]

    def link(self, p):
        p = np.clip(p, _EPS, 1 - _EPS)
        return np.log(p / (1 - p)).reshape(-1, 1)

    def neg_gradient(self, y, raw):
        return y - expit(raw[:, 0])

    def pointwise(self, y, raw):
        return np.logaddexp(0, raw[:, 0]) - y * raw[:, 0]

    def proba(self, raw):
        p = expit(raw[:, 0])
        return np.column_stack([1 - p, p])

    def line_search(self, fit, y, raw_k, neg_grad, weight, k):
        p = y - neg_grad
        return _newton_step(fit, p * (1 - p), weight)


def _newton_step(fit, hessian, weight):
    """mean(w r) / mean(w hessian) per leaf; averages (not sums) are compared with 1e-150,
    as scikit-learn does."""
    mean_hessian = fit.sums(weight * hessian) / np.maximum(fit.weight_sum, 1e-300)
    return _safe_ratio(fit.mean_grad, mean_hessian)


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

    def neg_gradient(self, y, raw):
        onehot = np.zeros_like(raw)
        onehot[np.arange(y.shape[0]), y] = 1.0
        return onehot - self.proba(raw)

    def pointwise(self, y, raw):
        return logsumexp(raw, axis=1) - raw[np.arange(y.shape[0]), y]

    def proba(self, raw):
        z = raw - raw.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def line_search(self, fit, y, raw_k, neg_grad, weight, k):
        p = (y == k) - neg_grad
        K = self.n_classes
        return (K - 1) / K * _newton_step(fit, p * (1 - p), weight)


class ExponentialLoss(_Loss):
    is_classification = True

    def init_raw(self, y, weight, weighted):
        return self.link(_class_prior(y, weight, 2)[1:])[0]

    def link(self, p):
        p = np.clip(p, _EPS, 1 - _EPS)
        return 0.5 * np.log(p / (1 - p)).reshape(-1, 1)

    def neg_gradient(self, y, raw):
        f = raw[:, 0]
        return y * np.exp(-f) - (1 - y) * np.exp(f)

    def pointwise(self, y, raw):
        f = raw[:, 0]
        return y * np.exp(-f) + (1 - y) * np.exp(f)

    def proba(self, raw):
        p = expit(2 * raw[:, 0])
        return np.column_stack([1 - p, p])

    def line_search(self, fit, y, raw_k, neg_grad, weight, k):
        return _newton_step(fit, np.abs(neg_grad), weight)


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
