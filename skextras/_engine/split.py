"""Best split of a node from its histogram: XGBoost's gain and weight formulas (specs/trees.md).

For gradient sums G, hessian sum H, L2 ``lambda``, L1 ``alpha``:

* leaf weight ``w = -T(G) / (H + lambda)`` with ``T`` the L1 soft threshold, clipped to
  ``+-max_delta_step`` when that is > 0, then to the node's monotone bounds (0 when
  ``H < min_child_weight``, as XGBoost's ``CalcWeight``);
* node score ``S = T(G)^2 / (H + lambda)``; when ``max_delta_step > 0`` or monotone constraints
  are set, ``S = -(2 G w + (H + lambda) w^2)`` from the clipped weight (XGBoost's
  ``CalcGainGivenWeight``);
* split gain ``S_left + S_right - S_parent`` (no factor 1/2), summed over the K outputs.

``criterion="entropy"`` reads ``-G_k`` as class weight sums and scores a node by
``-sum_k c_k log2(c_k / H)`` (weighted entropy times the node weight).
"""

from collections import namedtuple

import numpy as np
from numba import prange

from ._numba import njit

CRITERIA = {"newton": 0, "entropy": 1}

# What the split kernels read, as one named bundle of float64 fields (a numba named tuple):
# L2 and L1 regularisation, weight clipping, the minimum hessian sum and row count of a child,
# the criterion (``CRITERIA`` code) and whether monotone bounds apply (1.0) or not (0.0).
SplitParams = namedtuple(
    "SplitParams",
    "reg_lambda reg_alpha max_delta_step min_child_weight min_samples_leaf criterion constrained",
)


def make_split_params(params, constrained):
    """The ``SplitParams`` of a ``TreeParams`` (every field a float)."""
    return SplitParams(
        float(params.reg_lambda),
        float(params.reg_alpha),
        float(params.max_delta_step),
        float(params.min_child_weight),
        float(params.min_samples_leaf),
        float(CRITERIA[params.criterion]),
        float(constrained),
    )


@njit
def leaf_weight(g, h, params, lower, upper):
    """XGBoost's leaf weight of one output (before the learning rate), boxed in [lower, upper]."""
    if h < params.min_child_weight or h <= 0.0 or h + params.reg_lambda <= 0.0:
        return 0.0
    alpha = params.reg_alpha
    if g > alpha:
        t = g - alpha
    elif g < -alpha:
        t = g + alpha
    else:
        t = 0.0
    w = -t / (h + params.reg_lambda)
    mds = params.max_delta_step
    if mds > 0.0 and abs(w) > mds:
        w = mds if w > 0 else -mds
    if w < lower:
        return lower
    if w > upper:
        return upper
    return w


@njit
def _entropy_score(stats, n_outputs):
    h = stats[n_outputs]
    if h <= 0.0:
        return 0.0
    score = 0.0
    for k in range(n_outputs):
        c = -stats[k]
        if c > 0.0:
            score += c * np.log2(c / h)
    return score


@njit
def node_score(stats, n_outputs, params, lower, upper):
    """Score of a node from ``stats`` = (G_0..G_{K-1}, H, count); higher is better."""
    if params.criterion == 1.0:
        return _entropy_score(stats, n_outputs)
    h = stats[n_outputs]
    if h <= 0.0:
        return 0.0
    score = 0.0
    if params.max_delta_step == 0.0 and params.constrained == 0.0:
        denominator = h + params.reg_lambda
        if denominator <= 0.0:
            return 0.0
        alpha = params.reg_alpha
        for k in range(n_outputs):
            t = max(abs(stats[k]) - alpha, 0.0)
            score += t * t / denominator
        return score
    for k in range(n_outputs):
        g = stats[k]
        w = leaf_weight(g, h, params, lower, upper)
        score -= 2.0 * g * w + (h + params.reg_lambda) * w * w
    return score


@njit
def _evaluate(left, parent, right, n_outputs, params, constraint, lower, upper):
    """Children's score of the split sending ``left`` left (``right`` is filled), or -inf."""
    for c in range(n_outputs + 2):
        right[c] = parent[c] - left[c]
    h_left = left[n_outputs]
    h_right = right[n_outputs]
    min_rows = max(params.min_samples_leaf, 1.0)
    if (
        h_left <= 0.0
        or h_right <= 0.0
        or h_left < params.min_child_weight
        or h_right < params.min_child_weight
        or left[n_outputs + 1] < min_rows
        or right[n_outputs + 1] < min_rows
    ):
        return -np.inf
    if constraint != 0:
        w_left = leaf_weight(left[0], h_left, params, lower, upper)
        w_right = leaf_weight(right[0], h_right, params, lower, upper)
        if (constraint > 0 and w_left > w_right) or (constraint < 0 and w_left < w_right):
            return -np.inf
    return node_score(left, n_outputs, params, lower, upper) + node_score(
        right, n_outputs, params, lower, upper
    )


# Per-bin helpers of the scans, inlined in numba's IR rather than left to LLVM.
@njit(inline="always")
def _bin_count(hf, b):
    """Rows counted in bin ``b``; for a histogram without counts (``PAIR_WIDTH`` columns) 1 if
    its sums are not zero, else 0: only such a bin changes the children's sums."""
    if hf.shape[1] > 2:
        return hf[b, 2]
    return 1.0 if hf[b, 0] != 0.0 or hf[b, 1] != 0.0 else 0.0


@njit(inline="always")
def _node_count(hf, parent):
    """The node's row count, or +inf for a histogram without counts, whose splits the hessian
    sums alone decide (the grower uses one only when they can, see
    ``grower._counts_from_rows``): every side then passes the row-count checks."""
    if hf.shape[1] > 2:
        return parent[2]
    return np.inf


@njit
def _score_single(g, h, params, lower, upper):
    """``node_score`` of a single-output newton node from scalars (the boosting hot path)."""
    if h <= 0.0:
        return 0.0
    if params.max_delta_step == 0.0 and params.constrained == 0.0:
        denominator = h + params.reg_lambda
        if denominator <= 0.0:
            return 0.0
        t = max(abs(g) - params.reg_alpha, 0.0)
        return t * t / denominator
    w = leaf_weight(g, h, params, lower, upper)
    return -(2.0 * g * w + (h + params.reg_lambda) * w * w)


@njit
def _gain_single(gl, hl, cl, gr, hr, cr, parent_score, params, constraint, lower, upper):
    """float32 gain of a single-output split, or -inf if a child breaks a constraint."""
    min_rows = max(params.min_samples_leaf, 1.0)
    mcw = params.min_child_weight
    if hl <= 0.0 or hr <= 0.0 or hl < mcw or hr < mcw or cl < min_rows or cr < min_rows:
        return -np.inf
    if constraint != 0:
        w_left = leaf_weight(gl, hl, params, lower, upper)
        w_right = leaf_weight(gr, hr, params, lower, upper)
        if (constraint > 0 and w_left > w_right) or (constraint < 0 and w_left < w_right):
            return -np.inf
    score = _score_single(gl, hl, params, lower, upper) + _score_single(
        gr, hr, params, lower, upper
    )
    return np.float32(score - parent_score)


@njit
def _best_split_plain(hf, n_bins, missing_bin, parent, parent_score, params, out_left):
    """``_best_split_single`` without L1, weight clipping, constraints or random thresholds:
    the same arithmetic as ``_gain_single``, with the parameters read once."""
    lam = params.reg_lambda
    mcw = params.min_child_weight
    min_rows = max(params.min_samples_leaf, 1.0)
    g_all, h_all, c_all = parent[0], parent[1], parent[2]
    g_miss, h_miss, c_miss = hf[missing_bin, 0], hf[missing_bin, 1], hf[missing_bin, 2]
    has_missing = c_miss > 0 or h_miss != 0.0
    last = n_bins - 1 if has_missing else n_bins - 2
    best = -np.inf
    best_bin = -1
    best_missing_left = False
    gl = 0.0
    hl = 0.0
    cl = 0.0
    for b in range(last + 1):
        hb = hf[b, 1]
        cb = hf[b, 2]
        if cb == 0.0 and hb == 0.0 and b < n_bins - 1:
            continue
        gl += hf[b, 0]
        hl += hb
        cl += cb
        for with_missing in range(2 if has_missing and b < n_bins - 1 else 1):
            g1 = gl + g_miss if with_missing else gl
            h1 = hl + h_miss if with_missing else hl
            c1 = cl + c_miss if with_missing else cl
            g2 = g_all - g1
            h2 = h_all - h1
            c2 = c_all - c1
            if h1 <= 0.0 or h2 <= 0.0 or h1 < mcw or h2 < mcw or c1 < min_rows or c2 < min_rows:
                continue
            d1 = h1 + lam
            d2 = h2 + lam
            s1 = g1 * g1 / d1 if d1 > 0.0 else 0.0
            s2 = g2 * g2 / d2 if d2 > 0.0 else 0.0
            gain = np.float32(s1 + s2 - parent_score)
            if gain > best:
                best = gain
                best_bin = b
                best_missing_left = with_missing == 1
                out_left[0], out_left[1], out_left[2] = g1, h1, c1
    return best, best_bin, best_missing_left


@njit(inline="always")
def _pair_gain(g1, h1, g_all, h_all, lam, mcw, parent_score):
    """float32 gain of sending sums (g1, h1) left, or -inf (``_gain_single``'s arithmetic
    without the row counts, L1, clipping and constraints)."""
    g2 = g_all - g1
    h2 = h_all - h1
    if h1 <= 0.0 or h2 <= 0.0 or h1 < mcw or h2 < mcw:
        return np.float32(-np.inf)
    d1 = h1 + lam
    d2 = h2 + lam
    s1 = g1 * g1 / d1 if d1 > 0.0 else 0.0
    s2 = g2 * g2 / d2 if d2 > 0.0 else 0.0
    return np.float32(s1 + s2 - parent_score)


@njit
def _best_split_pair(hf, n_bins, missing_bin, parent, parent_score, params, out_left):
    """``_best_split_plain`` for a histogram without counts (``PAIR_WIDTH`` columns): the
    children are checked by their hessian sums alone (see ``grower._counts_from_rows``) and
    ``out_left[2]`` is left to the caller. Without the count column the loop is plain
    arithmetic in registers, four times faster than with it."""
    lam = params.reg_lambda
    mcw = params.min_child_weight
    g_all, h_all = parent[0], parent[1]
    g_miss, h_miss = hf[missing_bin, 0], hf[missing_bin, 1]
    has_missing = g_miss != 0.0 or h_miss != 0.0
    last = n_bins - 1 if has_missing else n_bins - 2
    best = -np.inf
    best_bin = -1
    best_missing_left = False
    gl = 0.0
    hl = 0.0
    best_g = 0.0
    best_h = 0.0
    for b in range(last + 1):
        gb = hf[b, 0]
        hb = hf[b, 1]
        if gb == 0.0 and hb == 0.0 and b < n_bins - 1:
            continue  # an empty bin repeats the previous partition
        gl += gb
        hl += hb
        # missing values right, then (if any) left: the right wins ties
        gain = _pair_gain(gl, hl, g_all, h_all, lam, mcw, parent_score)
        if gain > best:
            best, best_bin, best_missing_left = gain, b, False
            best_g, best_h = gl, hl
        if has_missing and b < n_bins - 1:
            g1 = gl + g_miss
            h1 = hl + h_miss
            gain = _pair_gain(g1, h1, g_all, h_all, lam, mcw, parent_score)
            if gain > best:
                best, best_bin, best_missing_left = gain, b, True
                best_g, best_h = g1, h1
    out_left[0], out_left[1] = best_g, best_h
    return best, best_bin, best_missing_left


@njit
def _best_split_single(
    hf,
    n_bins,
    missing_bin,
    parent,
    parent_score,
    params,
    constraint,
    lower,
    upper,
    chosen,
    out_left,
):
    """``_best_split_feature`` for one output and the newton criterion, on scalars."""
    g_all, h_all, c_all = parent[0], parent[1], _node_count(hf, parent)
    g_miss, h_miss, c_miss = hf[missing_bin, 0], hf[missing_bin, 1], _bin_count(hf, missing_bin)
    has_missing = c_miss > 0 or h_miss != 0.0
    last = n_bins - 1 if has_missing else n_bins - 2
    best = -np.inf
    best_bin = -1
    best_missing_left = False
    gl = 0.0
    hl = 0.0
    cl = 0.0
    for b in range(last + 1):
        cb = _bin_count(hf, b)
        if cb == 0.0 and hf[b, 1] == 0.0 and chosen == -2 and b < n_bins - 1:
            # An empty bin repeats the previous partition, whose gain already competed.
            continue
        gl += hf[b, 0]
        hl += hf[b, 1]
        cl += cb
        if chosen != -2 and b != chosen:
            continue
        gain = _gain_single(
            gl,
            hl,
            cl,
            g_all - gl,
            h_all - hl,
            c_all - cl,
            parent_score,
            params,
            constraint,
            lower,
            upper,
        )
        if gain > best:
            best = gain
            best_bin = b
            best_missing_left = False
            out_left[0], out_left[1], out_left[2] = gl, hl, cl
        if has_missing and b < n_bins - 1:
            g2, h2, c2 = gl + g_miss, hl + h_miss, cl + c_miss
            gain = _gain_single(
                g2,
                h2,
                c2,
                g_all - g2,
                h_all - h2,
                c_all - c2,
                parent_score,
                params,
                constraint,
                lower,
                upper,
            )
            if gain > best:
                best = gain
                best_bin = b
                best_missing_left = True
                out_left[0], out_left[1], out_left[2] = g2, h2, c2
    return best, best_bin, best_missing_left


@njit
def _bin_range(hf, n_bins, count_col):
    """First and last non-empty bin among the first ``n_bins`` bins (-1, -1 if none)."""
    lo = -1
    hi = -1
    for b in range(n_bins):
        if hf[b, count_col] > 0:
            if lo < 0:
                lo = b
            hi = b
    return lo, hi


@njit
def _best_split_feature(
    hf,
    n_bins,
    missing_bin,
    parent,
    parent_score,
    n_outputs,
    params,
    constraint,
    lower,
    upper,
    rand_u,
    out_left,
):
    """Best (gain, bin, missing_left) of one feature; fills ``out_left``.

    Gains are compared in float32, as XGBoost does: near-ties from rounding then resolve to
    the first candidate (lowest bin, lowest feature), so that e.g. a weight of 2 and a
    duplicated row grow the same tree.

    Thresholds ``b`` send bins ``0..b`` left. Missing rows are tried on the right, then on the
    left (XGBoost's forward then backward enumeration; the right wins ties). ``rand_u >= 0``
    draws one threshold uniformly among the node's occupied bins (ExtraTrees).
    """
    chosen = -2
    if rand_u >= 0.0:
        lo, hi = _bin_range(hf, n_bins, n_outputs + 1)
        if lo < 0:
            return -np.inf, -1, False
        chosen = lo + int(rand_u * (hi - lo)) if hi > lo else n_bins - 1
    plain = (
        chosen == -2
        and constraint == 0
        and params.reg_alpha == 0.0
        and params.max_delta_step == 0.0
        and params.constrained == 0.0
    )
    if n_outputs == 1 and params.criterion == 0.0 and plain and hf.shape[1] == 2:
        return _best_split_pair(hf, n_bins, missing_bin, parent, parent_score, params, out_left)
    if n_outputs == 1 and params.criterion == 0.0 and plain:
        return _best_split_plain(hf, n_bins, missing_bin, parent, parent_score, params, out_left)
    if n_outputs == 1 and params.criterion == 0.0:
        return _best_split_single(
            hf,
            n_bins,
            missing_bin,
            parent,
            parent_score,
            params,
            constraint,
            lower,
            upper,
            chosen,
            out_left,
        )
    n_stats = n_outputs + 2
    missing = hf[missing_bin]
    has_missing = missing[n_outputs + 1] > 0 or missing[n_outputs] != 0.0
    left = np.zeros(n_stats)
    with_missing = np.empty(n_stats)
    right = np.empty(n_stats)
    best = -np.inf
    best_bin = -1
    best_missing_left = False
    last = n_bins - 1 if has_missing else n_bins - 2
    for b in range(last + 1):
        for c in range(n_stats):
            left[c] += hf[b, c]
        if chosen != -2 and b != chosen:
            continue
        score = _evaluate(left, parent, right, n_outputs, params, constraint, lower, upper)
        score = np.float32(score - parent_score)
        if score > best:
            best = score
            best_bin = b
            best_missing_left = False
            out_left[:] = left
        if has_missing and b < n_bins - 1:
            for c in range(n_stats):
                with_missing[c] = left[c] + missing[c]
            score = _evaluate(
                with_missing, parent, right, n_outputs, params, constraint, lower, upper
            )
            score = np.float32(score - parent_score)
            if score > best:
                best = score
                best_bin = b
                best_missing_left = True
                out_left[:] = with_missing
    return best, best_bin, best_missing_left


@njit
def find_best_split(
    hist, features, n_bins_non_missing, missing_bin, parent, params, monotone, lower, upper, rand_u
):
    """Best split of a node over the candidate ``features``.

    Parameters
    ----------
    hist : float64 (p, n_bins, K + 2) node histogram; for K = 1 also 4 columns (padded) or
        2 (gradient and hessian, no counts: see ``_bin_count``).
    features : int32 candidate feature indices (ascending: ties go to the lowest index).
    parent : float64 (K + 2,) node sums (G_k, H, count).
    params : ``SplitParams``.
    monotone : int8 (p,) monotone constraints; lower, upper: the node's weight bounds.
    rand_u : float64 (len(features),) uniforms for splitter="random", or empty for "best".

    Returns
    -------
    gain, feature, bin, missing_left, left_stats (K + 2,). gain is -inf when no valid split.
    """
    n_outputs = parent.size - 2
    n_candidates = features.size
    scores = np.full(n_candidates, -np.inf)
    bins = np.zeros(n_candidates, dtype=np.int64)
    missing_left = np.zeros(n_candidates, dtype=np.bool_)
    lefts = np.zeros((n_candidates, n_outputs + 2))
    parent_score = node_score(parent, n_outputs, params, lower, upper)
    # the common case without the dispatch of ``_best_split_feature`` per candidate (the same
    # scan): wide data have thousands of candidates of two or three bins each
    pair = (
        n_outputs == 1
        and params.criterion == 0.0
        and params.reg_alpha == 0.0
        and params.max_delta_step == 0.0
        and params.constrained == 0.0
        and rand_u.size == 0
        and hist.shape[2] == 2
    )
    # Serial on purpose: a node's scan is microseconds, less than waking a thread pool.
    for i in range(n_candidates):
        if pair:
            f = features[i]
            scores[i], bins[i], missing_left[i] = _best_split_pair(
                hist[f], n_bins_non_missing[f], missing_bin, parent, parent_score, params,
                lefts[i],
            )  # fmt: skip
            continue
        f = features[i]
        u = rand_u[i] if rand_u.size > 0 else -1.0
        s, b, ml = _best_split_feature(
            hist[f],
            n_bins_non_missing[f],
            missing_bin,
            parent,
            parent_score,
            n_outputs,
            params,
            monotone[f],
            lower,
            upper,
            u,
            lefts[i],
        )
        scores[i] = s
        bins[i] = b
        missing_left[i] = ml
    best = 0
    for i in range(1, n_candidates):
        if scores[i] > scores[best]:
            best = i
    if n_candidates == 0 or scores[best] == -np.inf:
        return -np.inf, -1, -1, False, np.zeros(n_outputs + 2)
    left = lefts[best].copy()
    right = parent - left
    gain = (
        node_score(left, n_outputs, params, lower, upper)
        + node_score(right, n_outputs, params, lower, upper)
        - parent_score
    )
    return gain, features[best], bins[best], missing_left[best], left


@njit
def find_splits_range(
    hists,
    slots,
    features,
    offsets,
    rand_u,
    n_bins_non_missing,
    missing_bin,
    stats,
    params,
    monotone,
    lower,
    upper,
    gains,
    best_features,
    bins,
    missing_left,
    lefts,
    first,
    last,
):
    """``find_best_split`` of nodes ``first..last-1``: node i's histogram ``hists[slots[i]]``,
    candidates ``features[offsets[i]:offsets[i + 1]]`` (uniforms ``rand_u`` there, or none),
    sums ``stats[i]``, weight bounds ``lower[i], upper[i]``; its gain, feature, bin,
    missing-values direction and left sums into ``gains[i]`` ... ``lefts[i]``."""
    for i in range(first, last):
        a, b = offsets[i], offsets[i + 1]
        u = rand_u[a:b] if rand_u.size > 0 else rand_u
        gain, feature, bin_, ml, left = find_best_split(
            hists[slots[i]],
            features[a:b],
            n_bins_non_missing,
            missing_bin,
            stats[i],
            params,
            monotone,
            lower[i],
            upper[i],
            u,
        )
        gains[i], best_features[i], bins[i], missing_left[i] = gain, feature, bin_, ml
        lefts[i] = left


@njit(parallel=True)
def find_splits_range_parallel(
    bounds, hists, slots, features, offsets, rand_u, n_bins_non_missing, missing_bin, stats,
    params, monotone, lower, upper, gains, best_features, bins, missing_left, lefts,
):  # fmt: skip
    """``find_splits_range`` over the ranges of ``bounds``, one a thread (``run_ranges``)."""
    # A parallel loop's body takes arrays and scalars, not tuples: ``params`` goes in as its
    # fields and is made again inside.
    lam, alpha, mds, mcw, msl, criterion, constrained = params
    for t in prange(bounds.size - 1):
        find_splits_range(
            hists, slots, features, offsets, rand_u, n_bins_non_missing, missing_bin, stats,
            SplitParams(lam, alpha, mds, mcw, msl, criterion, constrained), monotone, lower,
            upper, gains, best_features, bins, missing_left, lefts, bounds[t], bounds[t + 1],
        )  # fmt: skip
