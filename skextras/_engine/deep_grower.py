"""Grow one deep tree entirely inside numba: the random forests' grower.

Forest trees have thousands of nodes, so the per-node bookkeeping of :mod:`.grower` (Python
objects, one numba call per level) would cost more than the arithmetic. Here a whole tree is
grown in one ``nogil`` call, depth-first from a stack, on one thread; forests grow several
trees at once on the engine's thread pool.

At each node the candidate features are drawn as scikit-learn draws them: without replacement,
skipping features that are constant in the node, until ``max_features`` non-constant ones were
scanned (all of them when ``max_features`` is None). A node's histogram is built from its rows
for each drawn feature only, over the node's occupied bin range; when that range is much wider
than the node has rows (deep nodes, continuous features), the rows are sorted by bin instead,
so that a node costs about its row count rather than the bin count. ``splitter="random"``
(ExtraTrees) draws one threshold per feature uniformly in value between the node's smallest
and largest bin (bin centres), as scikit-learn draws it between the smallest and largest value.

Gains, leaf values, the float32 comparison of gains and the handling of the missing-value bin
(tried on each side) are those of :mod:`.split`; ties go to the feature drawn first. As in
scikit-learn, a node is split while it is impure and has a valid split, even one of zero gain
(``gamma`` > 0 sets a minimum), so full-depth trees end in pure or inseparable leaves.
"""

import threading

import numpy as np

from ._numba import njit
from .grower import _check_params, _node_values
from .split import CRITERIA, make_split_params
from .tree import Tree

# A node whose occupied bin range is this many times wider than its row count is scanned by
# sorting its rows by bin instead of through a histogram.
_SORT_RATIO = 4


# -- random numbers: xorshift64*, one explicit state per tree ------------------------------
@njit(inline="always")
def _next(state):
    x = state[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    state[0] = x
    return x * np.uint64(0x2545F4914F6CDD1D)


@njit(inline="always")
def _uniform(state):
    """A float64 uniform in [0, 1)."""
    return np.float64(_next(state) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(inline="always")
def _below(state, n):
    """An integer uniform in [0, n)."""
    return min(int(_uniform(state) * n), n - 1)


# -- node table columns (int64): split, children, depth, row slots, constant-feature bits ------
(
    _N_FEATURE,
    _N_BIN,
    _N_MISSING_LEFT,
    _N_LEFT,
    _N_RIGHT,
    _N_DEPTH,
    _N_START,
    _N_STOP,
    _N_CONSTANT,
) = range(9)
_N_COLUMNS = 9

# Nodes with at least this many rows gather a feature's bins and build its single-output
# histogram in one pass.
_FUSED_ROWS = 512

# -- scratch rows ---------------------------------------------------------------------------------
# The per-node sums live in rows of one (7, K + 2) scratch array ``w``, so that the kernels
# pass indices, not array views (a view costs reference counting on every call).
_RIGHT, _WITH_MISSING, _FEATURE_BEST, _LEFT, _MISSING, _BEST, _PARENT = range(7)


@njit(inline="always")
def _set_row(dst, i, src, j):
    """dst[i] = src[j] over the columns both have (node sums are one column wider than the
    scratch rows: the gain)."""
    for c in range(min(dst.shape[1], src.shape[1])):
        dst[i, c] = src[j, c]


@njit(inline="always")
def _zero_row(a, i):
    for c in range(a.shape[1]):
        a[i, c] = 0.0


@njit(inline="always")
def _add_gh(a, i, gh, r):
    """a[i] += (g_0..g_{K-1}, h) of gh row ``r``, and one to the count."""
    n = gh.shape[1]
    for c in range(n):
        a[i, c] += gh[r, c]
    a[i, n] += 1.0


# -- scores ---------------------------------------------------------------------------------------
@njit(inline="always")
def _score(a, i, n_outputs, lam, entropy):
    """Score of the sums in row i of ``a`` (higher is better): sum_k G_k^2 / (H + lambda), or
    for entropy ``sum_k c_k log2(c_k / H)`` with class weights ``c_k = -G_k``."""
    h = a[i, n_outputs]
    s = 0.0
    if entropy:
        if h <= 0.0:
            return 0.0
        for k in range(n_outputs):
            c = -a[i, k]
            if c > 0.0:
                s += c * np.log2(c / h)
        return s
    if h <= 0.0 or h + lam <= 0.0:
        return 0.0
    for k in range(n_outputs):
        s += a[i, k] * a[i, k]
    return s / (h + lam)


@njit(inline="always")
def _try_left(w, row, n_outputs, params, entropy, state, missing_left):
    """Score the split sending the sums ``w[row]`` left (the rest of ``w[_PARENT]`` right);
    if it beats ``state[0]`` record it: state = (gain, missing_left, improved, parent score)."""
    n_stats = n_outputs + 2
    for c in range(n_stats):
        w[_RIGHT, c] = w[_PARENT, c] - w[row, c]
    h_l = w[row, n_outputs]
    h_r = w[_RIGHT, n_outputs]
    mcw = params.min_child_weight
    min_rows = max(params.min_samples_leaf, 1.0)
    if (
        h_l <= 0.0
        or h_r <= 0.0
        or h_l < mcw
        or h_r < mcw
        or w[row, n_outputs + 1] < min_rows
        or w[_RIGHT, n_outputs + 1] < min_rows
    ):
        return
    lam = params.reg_lambda
    s = _score(w, row, n_outputs, lam, entropy) + _score(w, _RIGHT, n_outputs, lam, entropy)
    gain = np.float32(s - state[3])
    if gain > state[0]:
        state[0] = gain
        state[1] = 1.0 if missing_left else 0.0
        state[2] = 1.0
        _set_row(w, _FEATURE_BEST, w, row)


@njit(inline="always")
def _consider(w, has_missing, allow_all_left, n_outputs, params, state):
    """Try ``w[_LEFT]`` with the missing rows right (if ``allow_all_left``: with no missing
    rows that would send everything left) and, with missing rows, ``w[_LEFT] + w[_MISSING]``."""
    entropy = params.criterion == 1.0
    if allow_all_left:
        _try_left(w, _LEFT, n_outputs, params, entropy, state, False)
    if has_missing:
        for c in range(n_outputs + 2):
            w[_WITH_MISSING, c] = w[_LEFT, c] + w[_MISSING, c]
        _try_left(w, _WITH_MISSING, n_outputs, params, entropy, state, True)


@njit(inline="always")
def _scan_single(hist, first, last, ids, compact, w, has_missing, params, state):
    """Best threshold for one output and the newton criterion, on scalars, over histogram rows
    ``first..last``: bins themselves, or with ``compact`` the bins ``ids[j]`` of row j.

    The children's score is ``(G_l^2 (H_r + lambda) + G_r^2 (H_l + lambda)) / ((H_l + lambda)
    (H_r + lambda))``; a candidate is compared with the best one by multiplying out the
    denominator, so the division is made only when a candidate wins.
    """
    lam = params.reg_lambda
    mcw = params.min_child_weight
    min_rows = max(params.min_samples_leaf, 1.0)
    g_all, h_all, c_all = w[_PARENT, 0], w[_PARENT, 1], w[_PARENT, 2]
    g_miss, h_miss, c_miss = w[_MISSING, 0], w[_MISSING, 1], w[_MISSING, 2]
    parent_score = state[3]
    best = state[0]
    # Children's score a candidate must exceed (-inf: any valid candidate wins).
    to_beat = best + parent_score
    best_bin = -1
    best_ml = False
    best_g = best_h = best_c = 0.0
    gl = hl = cl = 0.0
    for j in range(first, last + 1):
        cb = hist[j, 2]
        if cb == 0.0:
            continue
        gl += hist[j, 0]
        hl += hist[j, 1]
        cl += cb
        for with_missing in range(2 if has_missing else 1):
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
            numerator = g1 * g1 * d2 + g2 * g2 * d1
            if numerator > to_beat * (d1 * d2):
                gain = np.float32(numerator / (d1 * d2) - parent_score)
                if gain > best:
                    best = gain
                    to_beat = best + parent_score
                    best_bin = ids[j] if compact else j
                    best_ml = with_missing == 1
                    best_g, best_h, best_c = g1, h1, c1
    if best_bin >= 0:
        state[0] = best
        state[1] = 1.0 if best_ml else 0.0
        w[_FEATURE_BEST, 0], w[_FEATURE_BEST, 1], w[_FEATURE_BEST, 2] = best_g, best_h, best_c
    return best_bin


# -- per-feature statistics of a node -----------------------------------------------------------
@njit(inline="always")
def _gather_keys(Xs, f, start, stop, missing_bin, keys):
    """``keys[:m]`` = bins of feature ``f`` of the node's rows; returns the smallest and
    largest non-missing bin ((-1, -1) when every row is missing) and whether one is missing.
    The missing bin is the largest, so a plain minimum finds the smallest non-missing bin."""
    lo = missing_bin
    hi = -1
    n_missing = 0
    for i in range(stop - start):
        b = np.int64(Xs[start + i, f])
        keys[i] = b
        is_missing = b == missing_bin
        lo = min(lo, b)
        hi = max(hi, -1 if is_missing else b)
        n_missing += is_missing
    if hi < 0:
        lo = -1
    return lo, hi, n_missing > 0


@njit(inline="always")
def _gather_and_add(Xs, f, start, stop, missing_bin, keys, gh, hist):
    """``_gather_keys`` and the single-output histogram of the rows in one pass, for nodes
    large enough that clearing every bin first costs less than a second pass."""
    for b in range(missing_bin + 1):
        hist[b, 0] = hist[b, 1] = hist[b, 2] = 0.0
    lo = missing_bin
    hi = -1
    n_missing = 0
    for i in range(stop - start):
        b = np.int64(Xs[start + i, f])
        keys[i] = b
        is_missing = b == missing_bin
        lo = min(lo, b)
        hi = max(hi, -1 if is_missing else b)
        n_missing += is_missing
        hist[b, 0] += gh[start + i, 0]
        hist[b, 1] += gh[start + i, 1]
        hist[b, 2] += 1.0
    if hi < 0:
        lo = -1
    return lo, hi, n_missing > 0


@njit(inline="always")
def _scan_histogram(
    gh, start, m, lo, hi, keys, hist, missing_bin, has_missing, w, params, state, built
):
    """Best threshold in bins lo..hi through a histogram of the node's rows (``built``: the
    histogram is already filled, by ``_gather_and_add``)."""
    n_gh = gh.shape[1]
    n_outputs = n_gh - 1
    if not built and n_gh == 2:
        for b in range(lo, hi + 1):
            hist[b, 0] = hist[b, 1] = hist[b, 2] = 0.0
        _zero_row(hist, missing_bin)
        for i in range(m):
            b = keys[i]
            hist[b, 0] += gh[start + i, 0]
            hist[b, 1] += gh[start + i, 1]
            hist[b, 2] += 1.0
    elif not built:
        for b in range(lo, hi + 1):
            _zero_row(hist, b)
        _zero_row(hist, missing_bin)
        for i in range(m):
            _add_gh(hist, keys[i], gh, start + i)
    _set_row(w, _MISSING, hist, missing_bin)
    if n_gh == 2 and params.criterion == 0.0:
        return _scan_single(hist, lo, hi, keys, False, w, has_missing, params, state)
    _zero_row(w, _LEFT)
    best_bin = -1
    for b in range(lo, hi + 1):
        if hist[b, n_outputs + 1] == 0.0:
            continue
        for c in range(n_outputs + 2):
            w[_LEFT, c] += hist[b, c]
        state[2] = 0.0
        _consider(w, has_missing, b < hi or has_missing, n_outputs, params, state)
        if state[2] == 1.0:
            best_bin = b
    return best_bin


@njit(inline="always")
def _scan_sorted(
    gh, start, m, hi, keys, order, hist, ids, missing_bin, has_missing, w, params, state
):
    """Best threshold as ``_scan_histogram`` finds it, from the node's rows sorted by bin
    (insertion sort: this path is taken for nodes with few rows); missing rows sort last, and
    each distinct bin gets one compact histogram row. ``order`` holds ``bin << 32 | row``,
    sorted as plain integers."""
    n_gh = gh.shape[1]
    n_outputs = n_gh - 1
    for i in range(m):
        v = (np.int64(keys[i]) << 32) | i
        j = i - 1
        while j >= 0 and order[j] > v:
            order[j + 1] = order[j]
            j -= 1
        order[j + 1] = v
    _zero_row(w, _MISSING)
    n_present = m
    while n_present > 0 and (order[n_present - 1] >> 32) == missing_bin:
        n_present -= 1
        _add_gh(w, _MISSING, gh, start + (order[n_present] & 0xFFFFFFFF))
    n_items = 0
    i = 0
    while i < n_present:
        b = order[i] >> 32
        _zero_row(hist, n_items)
        while i < n_present and (order[i] >> 32) == b:
            r = start + (order[i] & 0xFFFFFFFF)
            if n_gh == 2:
                hist[n_items, 0] += gh[r, 0]
                hist[n_items, 1] += gh[r, 1]
                hist[n_items, 2] += 1.0
            else:
                _add_gh(hist, n_items, gh, r)
            i += 1
        ids[n_items] = b
        n_items += 1
    if n_outputs == 1 and params.criterion == 0.0:
        return _scan_single(hist, 0, n_items - 1, ids, True, w, has_missing, params, state)
    _zero_row(w, _LEFT)
    best_bin = -1
    for j in range(n_items):
        for c in range(n_outputs + 2):
            w[_LEFT, c] += hist[j, c]
        state[2] = 0.0
        _consider(w, has_missing, ids[j] < hi or has_missing, n_outputs, params, state)
        if state[2] == 1.0:
            best_bin = ids[j]
    return best_bin


@njit(inline="always")
def _random_bin(centres, f, lo, hi, u):
    """The threshold bin of a value ``t`` drawn at ``u`` (in [0, 1)) between the centres of
    bins ``lo`` and ``hi`` of feature ``f``: the last bin in ``lo..hi - 1`` whose centre is at
    most ``t`` (``lo`` if none; ``hi`` when ``lo == hi``). Centres are non-decreasing, so a
    binary search finds it (wide features have up to 255 bins in a node)."""
    if hi <= lo:
        return hi
    t = centres[f, lo] + u * (centres[f, hi] - centres[f, lo])
    # invariant: bin a qualifies (a == lo or centres[f, a] <= t); no bin past b does
    a = lo
    b = hi - 1
    while a < b:
        mid = (a + b + 1) >> 1
        if centres[f, mid] <= t:
            a = mid
        else:
            b = mid - 1
    return a


@njit(inline="always")
def _scan_random(
    gh, start, m, lo, hi, keys, centres, f, u, missing_bin, has_missing, w, params, state
):
    """ExtraTrees: the threshold bin under a value drawn uniformly between the centres of
    bins ``lo`` and ``hi``; returns it after ``_consider``-ing its partition (-1 if invalid)."""
    n_gh = gh.shape[1]
    chosen = _random_bin(centres, f, lo, hi, u)
    _zero_row(w, _LEFT)
    _zero_row(w, _MISSING)
    if n_gh == 2:
        # One output: the sums in registers (adding a row's values or nothing is the same
        # sum, in the same order, as adding them times 1.0 or 0.0).
        gl = hl = cl = gm = hm = cm = 0.0
        for i in range(m):
            b = keys[i]
            if b <= chosen:
                gl += gh[start + i, 0]
                hl += gh[start + i, 1]
                cl += 1.0
            elif b == missing_bin:
                gm += gh[start + i, 0]
                hm += gh[start + i, 1]
                cm += 1.0
        w[_LEFT, 0], w[_LEFT, 1], w[_LEFT, 2] = gl, hl, cl
        w[_MISSING, 0], w[_MISSING, 1], w[_MISSING, 2] = gm, hm, cm
    else:
        for i in range(m):
            b = keys[i]
            if b <= chosen:  # never the missing bin: it is the largest
                _add_gh(w, _LEFT, gh, start + i)
            elif b == missing_bin:
                _add_gh(w, _MISSING, gh, start + i)
    state[2] = 0.0
    _consider(w, has_missing, chosen < hi or has_missing, n_gh - 1, params, state)
    return chosen if state[2] == 1.0 else -1


@njit(inline="always")
def _partition_into(
    src_x, src_gh, dst_x, dst_gh, start, stop, n_left, keys, threshold, missing_left, missing_bin
):
    """Stable partition of the node's rows ``start:stop`` (``n_left`` of them go left: the
    split's left row count) by the split feature's bins ``keys[:stop - start]``, from the
    source buffers into the same slots of the destination ones, left rows first. Rows move as
    8-byte words."""
    m = stop - start
    n_words = src_x.shape[1]
    n_gh = src_gh.shape[1]
    next_left = start
    next_right = start + n_left
    if n_words == 2 and n_gh == 2:
        # The common case (up to 16 features, one output) with its copies spelled out.
        for i in range(m):
            b = keys[i]
            go_left = np.int64(missing_left if b == missing_bin else b <= threshold)
            d = next_right + go_left * (next_left - next_right)
            next_left += go_left
            next_right += 1 - go_left
            r = start + i
            dst_x[d, 0] = src_x[r, 0]
            dst_x[d, 1] = src_x[r, 1]
            dst_gh[d, 0] = src_gh[r, 0]
            dst_gh[d, 1] = src_gh[r, 1]
        return
    for i in range(m):
        b = keys[i]
        go_left = np.int64(missing_left if b == missing_bin else b <= threshold)
        d = next_right + go_left * (next_left - next_right)
        next_left += go_left
        next_right += 1 - go_left
        for c in range(n_words):
            dst_x[d, c] = src_x[start + i, c]
        for c in range(n_gh):
            dst_gh[d, c] = src_gh[start + i, c]


# -- the tree -----------------------------------------------------------------------------------
@njit
def _grow(
    words,
    ghs,
    keys,
    best_keys,
    hist,
    nodes,
    node_stats,
    stack,
    features,
    missing_bin,
    centres,
    params,
    max_features,
    max_depth,
    min_split_rows,
    min_split_hessian,
    min_gain,
    random_split,
    purity_scale,
    rng_state,
):
    """Grow a tree over the rows in ``words[0]`` (each row's bins as uint64 words) with their
    (g_0..g_{K-1}, h) rows in ``ghs[0]``; returns the node count. Node i is ``nodes[i]`` (the
    ``_N_*`` columns) with sums and gain in ``node_stats[i]``.

    A node owns the slots ``start:stop`` of one of two buffer pairs, the pair of its depth's
    parity; a split moves its rows into the same slots of the other pair, so rows stay
    contiguous per node and every pass over them reads memory in order. ``keys`` and
    ``best_keys`` hold a node's bins of the feature being scanned and of the best one so far
    (the latter partitions the rows). All buffers are the caller's, reused from tree to tree.
    """
    n_outputs = ghs[0].shape[1] - 1
    n_stats = n_outputs + 2
    n_rows = ghs[0].shape[0]
    bins = (words[0].view(np.uint8), words[1].view(np.uint8))
    order = np.empty(n_rows, dtype=np.int64)
    ids = np.empty(missing_bin + 1, dtype=np.int64)
    w = np.zeros((7, n_stats))
    state = np.zeros(4)
    candidates = np.empty(features.size, dtype=np.int64)
    lam = params.reg_lambda
    entropy = params.criterion == 1.0

    _new_node(nodes, node_stats, 0, 0, n_rows, 0, 0)
    for i in range(n_rows):
        _add_gh(node_stats, 0, ghs[0], i)
    n_nodes = 1
    stack[0] = 0
    n_stack = 1
    while n_stack > 0:
        n_stack -= 1
        node = stack[n_stack]
        if (
            nodes[node, _N_DEPTH] >= max_depth
            or node_stats[node, n_outputs + 1] < min_split_rows
            or node_stats[node, n_outputs] < min_split_hessian
        ):
            continue
        a, b = nodes[node, _N_START], nodes[node, _N_STOP]
        parity = nodes[node, _N_DEPTH] % 2
        Xs = bins[parity]
        gh = ghs[parity]
        if purity_scale > 0.0:
            if _is_pure(node_stats, node, n_outputs, purity_scale):
                continue
        elif _constant_target(gh, a, b):
            continue
        m = b - a
        known = nodes[node, _N_CONSTANT]
        n_candidates = 0
        for f in features:
            if f >= 63 or not (known >> f) & 1:
                candidates[n_candidates] = f
                n_candidates += 1
        _set_row(w, _PARENT, node_stats, node)
        state[0] = -np.inf
        state[3] = _score(w, _PARENT, n_outputs, lam, entropy)
        best_feature = -1
        best_bin = -1
        best_ml = False
        n_found = 0
        for i in range(n_candidates):
            if n_found >= max_features:
                break
            j = i + _below(rng_state, n_candidates - i)
            candidates[i], candidates[j] = candidates[j], candidates[i]
            f = candidates[i]
            built = not random_split and n_outputs == 1 and m >= _FUSED_ROWS
            if built:
                lo, hi, has_missing = _gather_and_add(Xs, f, a, b, missing_bin, keys, gh, hist)
            else:
                lo, hi, has_missing = _gather_keys(Xs, f, a, b, missing_bin, keys)
            if hi < 0 or (hi == lo and not has_missing):
                # Constant in the node: does not count (scikit-learn's rule).
                if f < 63:
                    known |= 1 << f
                continue
            n_found += 1
            previous = state[0]
            if random_split:
                u = _uniform(rng_state)
                found = _scan_random(
                    gh,
                    a,
                    m,
                    lo,
                    hi,
                    keys,
                    centres,
                    f,
                    u,
                    missing_bin,
                    has_missing,
                    w,
                    params,
                    state,
                )
            elif hi - lo > _SORT_RATIO * m:
                found = _scan_sorted(
                    gh,
                    a,
                    m,
                    hi,
                    keys,
                    order,
                    hist,
                    ids,
                    missing_bin,
                    has_missing,
                    w,
                    params,
                    state,
                )
            else:
                found = _scan_histogram(
                    gh,
                    a,
                    m,
                    lo,
                    hi,
                    keys,
                    hist,
                    missing_bin,
                    has_missing,
                    w,
                    params,
                    state,
                    built,
                )
            if state[0] > previous and found >= 0:
                best_feature, best_bin, best_ml = f, found, state[1] == 1.0
                _set_row(w, _BEST, w, _FEATURE_BEST)
                keys, best_keys = best_keys, keys
        if best_feature < 0:
            continue
        for c in range(n_stats):
            w[_RIGHT, c] = w[_PARENT, c] - w[_BEST, c]
        split_gain = (
            _score(w, _BEST, n_outputs, lam, entropy)
            + _score(w, _RIGHT, n_outputs, lam, entropy)
            - state[3]
        )
        if not (split_gain > min_gain and np.isfinite(split_gain)):
            continue
        n_left = np.int64(w[_BEST, n_outputs + 1])
        _partition_into(
            words[parity],
            gh,
            words[1 - parity],
            ghs[1 - parity],
            a,
            b,
            n_left,
            best_keys,
            best_bin,
            best_ml,
            missing_bin,
        )
        nodes[node, _N_FEATURE] = best_feature
        nodes[node, _N_BIN] = best_bin
        nodes[node, _N_MISSING_LEFT] = best_ml
        nodes[node, _N_LEFT], nodes[node, _N_RIGHT] = n_nodes, n_nodes + 1
        node_stats[node, n_stats] = split_gain
        d = nodes[node, _N_DEPTH] + 1
        _new_node(nodes, node_stats, n_nodes, a, a + n_left, d, known)
        _new_node(nodes, node_stats, n_nodes + 1, a + n_left, b, d, known)
        _set_row(node_stats, n_nodes, w, _BEST)
        _set_row(node_stats, n_nodes + 1, w, _RIGHT)
        # Right child on the stack first: the left subtree is grown first, as in sklearn.
        stack[n_stack] = n_nodes + 1
        stack[n_stack + 1] = n_nodes
        n_stack += 2
        n_nodes += 2
    return n_nodes


@njit(inline="always")
def _new_node(nodes, node_stats, i, start, stop, depth, constant):
    """Node i as a leaf over slots start:stop; its sums are the caller's to fill."""
    nodes[i, _N_FEATURE] = -1
    nodes[i, _N_BIN] = 0
    nodes[i, _N_MISSING_LEFT] = 0
    nodes[i, _N_LEFT] = nodes[i, _N_RIGHT] = -1
    nodes[i, _N_DEPTH] = depth
    nodes[i, _N_START], nodes[i, _N_STOP] = start, stop
    nodes[i, _N_CONSTANT] = constant
    for c in range(node_stats.shape[1]):
        node_stats[i, c] = 0.0


@njit(inline="always")
def _is_pure(stats, i, n_outputs, scale):
    """Whether classification node i holds one class: gradients are ``-weight * onehot / scale``
    and hessians ``weight`` (each times the same factor)."""
    h = stats[i, n_outputs]
    tol = 1e-12 * h
    if n_outputs == 1:
        g = -stats[i, 0] * scale
        return g <= tol or g >= h - tol
    total = 0.0
    for k in range(n_outputs):
        total -= stats[i, k] * scale
    if total > 1.5 * h:
        # Several outputs' one-hot columns side by side (they sum to n_groups * h): pure when
        # no more columns than outputs hold weight (one class per output).
        n_held = 0
        for k in range(n_outputs):
            n_held += -stats[i, k] * scale > tol
        return n_held * h <= total + tol * n_outputs
    for k in range(n_outputs):
        if -stats[i, k] * scale >= h - tol:
            return True
    return False


@njit
def _constant_target(gh, start, stop):
    """Whether the rows' targets ``-g / h`` (regression: gradients ``-w * y``, one column per
    output) are all equal: such a node is a leaf, as scikit-learn stops at zero impurity."""
    n_outputs = gh.shape[1] - 1
    for k in range(n_outputs):
        y0 = -gh[start, k] / gh[start, n_outputs]
        tol = 1e-12 * max(abs(y0), 1.0)
        for i in range(start + 1, stop):
            if abs(-gh[i, k] / gh[i, n_outputs] - y0) > tol:
                return False
    return True


def supports(params, sample_mask=None):
    """Whether :func:`grow_deep_tree` grows the tree ``params`` describe.

    It covers what forests use: depth-wise growth without a leaf budget, newton (lambda,
    gamma, min_child_weight, min_samples_leaf) and entropy criteria, per-node ``max_features``
    and both splitters; not L1 / max_delta_step, monotone or interaction constraints,
    column subsampling by level / node, or row masks.
    """
    return (
        sample_mask is None
        and params.max_leaves == 0
        and params.grow_policy == "depthwise"
        and params.reg_alpha == 0.0
        and params.max_delta_step == 0.0
        and (params.monotone_constraints is None or not np.any(params.monotone_constraints))
        and not params.interaction_constraints
        and params.colsample_bylevel >= 1.0
        and params.colsample_bynode >= 1.0
        and params.splitter in ("best", "random")
        and params.criterion in CRITERIA
    )


def bin_tables(bin_mapper):
    """Per-feature tables the grower reads: thresholds (p, n_bins) (``inf`` past a feature's
    last threshold) and bin centres (p, n_bins), each non-missing bin's representative value:
    the midpoint of its two thresholds (the one threshold for the first and last bins)."""
    n_bins = bin_mapper.missing_values_bin_idx_ + 1
    p = len(bin_mapper.bin_thresholds_)
    thresholds = np.full((p, n_bins), np.inf)
    centres = np.zeros((p, n_bins))
    for f, t in enumerate(bin_mapper.bin_thresholds_):
        thresholds[f, : t.size] = t
        if t.size == 0:
            continue
        centres[f, 0] = t[0]
        centres[f, 1 : t.size] = 0.5 * (t[:-1] + t[1:])
        centres[f, t.size] = t[-1]
    return thresholds, centres


class ForestContext:
    """What the trees grown on one binned matrix share: the bin tables, every row's bins as
    8-byte words (row-major, so a tree copies its rows with a few word moves each), and one
    workspace per thread, reused from tree to tree (fresh memory costs a page fault per
    4 KiB, which for a forest of small trees is a good part of the work)."""

    def __init__(self, X_binned, bin_mapper):
        self.thresholds, self.centres = bin_tables(bin_mapper)
        self.missing_bin = int(bin_mapper.missing_values_bin_idx_)
        n, p = X_binned.shape
        x = np.zeros((n, -(-p // 8) * 8), dtype=np.uint8)
        x[:, :p] = X_binned
        self.row_words = x.view(np.uint64)
        self._local = threading.local()

    def workspace(self, n_gh):
        """This thread's buffers for targets of ``n_gh`` columns (K gradients + hessian)."""
        ws = getattr(self._local, "workspace", None)
        if ws is None or ws["ghs"].shape[2] != n_gh:
            n, n_words = self.row_words.shape
            capacity = 2 * max(n, 1) + 1
            ws = dict(
                words=np.empty((2, n, n_words), dtype=np.uint64),
                ghs=np.empty((2, n, n_gh)),
                keys=np.empty(n, dtype=np.uint8),
                best_keys=np.empty(n, dtype=np.uint8),
                hist=np.empty((self.missing_bin + 1, n_gh + 1)),
                nodes=np.empty((capacity, _N_COLUMNS), dtype=np.int64),
                node_stats=np.empty((capacity, n_gh + 2)),
                stack=np.empty(capacity, dtype=np.int64),
            )
            self._local.workspace = ws
        return ws


@njit
def _load_rows(row_words, gradients, hessians, words, gh):
    """Copy the rows with a non-zero hessian (their bins and (g_0..g_{K-1}, h)) to the front
    of ``words`` and ``gh``; returns their count."""
    n_outputs = gradients.shape[1]
    n_words = row_words.shape[1]
    n = 0
    for r in range(hessians.size):
        h = hessians[r]
        if h != 0.0:
            if n_words == 2:
                words[n, 0] = row_words[r, 0]
                words[n, 1] = row_words[r, 1]
            else:
                for c in range(n_words):
                    words[n, c] = row_words[r, c]
            for k in range(n_outputs):
                gh[n, k] = gradients[r, k]
            gh[n, n_outputs] = h
            n += 1
    return n


def grow_deep_tree(
    X_binned, gradients, hessians, bin_mapper, params, seed, *, context=None, purity_scale=0.0
):
    """Grow one tree (``supports(params)`` must hold) on the calling thread, GIL released.

    X_binned, gradients, hessians and bin_mapper are as for :func:`.grower.grow_tree`; rows
    with zero hessian are left out. ``seed`` (int or sequence of ints) seeds the tree's own
    random stream. ``context`` is a :class:`ForestContext` of X_binned and bin_mapper, shared
    by the trees of a forest (and by threads).
    ``purity_scale`` > 0 stops at pure nodes of a classification tree whose gradients are
    ``-w * onehot / purity_scale`` and hessians ``w`` (both may carry one more common factor);
    0 stops at nodes whose single-output targets ``-g / h`` are all equal (regression).
    """
    g = np.asarray(gradients, dtype=np.float64)
    g = np.ascontiguousarray(g.reshape(g.shape[0], -1))
    h = np.ascontiguousarray(hessians, dtype=np.float64)
    p = X_binned.shape[1]
    k = g.shape[1]
    _check_params(params, p, k)
    if context is None:
        context = ForestContext(X_binned, bin_mapper)
    base = np.ones(p, dtype=bool) if params.feature_mask is None else params.feature_mask
    features = np.flatnonzero(base).astype(np.int64)
    max_features = features.size if params.max_features is None else params.max_features
    rng_state = np.random.SeedSequence(seed).generate_state(1, dtype=np.uint64)
    rng_state[0] |= np.uint64(1)
    ws = context.workspace(k + 1)
    words, ghs = ws["words"], ws["ghs"]
    n_rows = _load_rows(context.row_words, g, h, words[0], ghs[0])
    split_params = make_split_params(params, constrained=False)
    n = _grow(
        (words[0, :n_rows], words[1, :n_rows]),
        (ghs[0, :n_rows], ghs[1, :n_rows]),
        ws["keys"],
        ws["best_keys"],
        ws["hist"],
        ws["nodes"],
        ws["node_stats"],
        ws["stack"],
        features,
        context.missing_bin,
        context.centres,
        split_params,
        int(max_features),
        np.iinfo(np.int64).max if params.max_depth is None else int(params.max_depth),
        max(params.min_samples_split, 2 * params.min_samples_leaf),
        2 * params.min_child_weight,
        # As scikit-learn: any valid split of an impure node, unless a minimum gain is set.
        params.gamma if params.gamma > 0 else -np.inf,
        params.splitter == "random",
        float(purity_scale),
        rng_state,
    )
    nodes = ws["nodes"][:n]
    stats = ws["node_stats"][:n, : k + 2].copy()
    feature = nodes[:, _N_FEATURE].astype(np.int32)
    bin_threshold = nodes[:, _N_BIN].astype(np.uint8)
    infinite = np.full(n, np.inf)
    value = _node_values(stats, -infinite, infinite, split_params, params.criterion == "entropy")
    internal = feature >= 0
    threshold = np.zeros(n)
    threshold[internal] = context.thresholds[feature[internal], bin_threshold[internal]]
    return Tree(
        missing_bin=context.missing_bin,
        feature=feature,
        threshold=threshold,
        bin_threshold=bin_threshold,
        missing_go_left=nodes[:, _N_MISSING_LEFT].astype(bool),
        left=nodes[:, _N_LEFT],
        right=nodes[:, _N_RIGHT],
        value=value * params.learning_rate,
        gain=ws["node_stats"][:n, k + 2].copy(),
        cover=stats[:, k].copy(),
        n_samples=stats[:, k + 1].astype(np.int64),
        depth=nodes[:, _N_DEPTH],
    )
