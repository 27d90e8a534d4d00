"""Grow a depth-wise boosting tree in one numba call.

``TreeGrower`` steers each level from Python. For the trees of second-order boosting (depth 6,
a few hundred thousand rows) that is about 1 ms of Python and kernel calls per tree, against
5-8 ms of work. Here the same steps run in one ``nogil`` numba call, with the same kernels in
the same order, so that the tree is the same to the last bit:

* the root's histogram and sums, built in row chunks and added in chunk order;
* per level: the partition of the splitting nodes, the histograms of the smaller children
  from their rows (one batch), the larger ones as parent minus smaller, and the best splits of
  the children that may split;
* the leaf id of every row.

Each step's kernel runs on numba's threads through its ``prange`` driver when ``threaded``
(see ``_numba.threaded``; None compiles none of the drivers), on the calling thread otherwise.

``applies`` says which trees: one output, XGBoost's criterion and histograms without counts
(``grower._counts_from_rows``), depth-wise growth to at most ``MAX_DEPTH`` without a leaf
budget, without per-level or per-node feature sampling and without constraints. The others
go through ``TreeGrower``.
"""

from collections import namedtuple

import numpy as np

from ._numba import balanced_groups, cumulative_sizes, njit
from .bundling import build_nodes, partition_bundled, partition_bundled_parallel
from .histogram import n_row_chunks, subtract_histograms
from .partition import (
    fill_leaf_of_row,
    fill_leaf_of_row_parallel,
    partition_nodes,
    partition_nodes_parallel,
)
from .split import find_splits_range, find_splits_range_parallel, leaf_weight

# The thread count and work thresholds of one tree, one named bundle of ints (a numba named
# tuple): ``numba.get_num_threads()``, ``histogram.CHUNK_ROWS``, and the work below which a
# step stays on one thread: ``grower._PARALLEL_MIN_ROWS`` (partition, leaf ids),
# ``grower._PARALLEL_MIN_CANDIDATES`` (split search), ``histogram._PARALLEL_MIN_CELLS``.
Limits = namedtuple("Limits", "n_threads chunk_rows min_rows min_candidates min_cells")

# Node arrays are sized for a full tree of this depth (8191 nodes); deeper trees are grown by
# ``TreeGrower``, whose nodes are made as they come.
MAX_DEPTH = 12


def applies(params, n_outputs, counts_from_rows, constrained):
    """Whether a tree of ``params`` (``grower.TreeParams``) can be grown here."""
    return (
        n_outputs == 1
        and counts_from_rows
        and not constrained
        and not params.interaction_constraints
        and params.grow_policy == "depthwise"
        and not params.max_leaves
        and params.max_depth is not None
        and params.max_depth <= MAX_DEPTH
        and params.colsample_bylevel >= 1.0
        and params.colsample_bynode >= 1.0
        and params.max_features is None
    )


@njit
def _take_slots(store, free, n_free, k):
    """``k`` free histogram slots (popped from ``free[:n_free]``), the store grown fourfold
    when too few are left; returns ``(store, free, n_free, slots)``."""
    if n_free < k:
        old = store.shape[0]
        capacity = max(4 * old, old + k - n_free)
        grown = np.empty((capacity, *store.shape[1:]))
        grown[:old] = store
        free_grown = np.empty(capacity, dtype=np.int64)
        free_grown[:n_free] = free[:n_free]
        for s in range(capacity - 1, old - 1, -1):
            free_grown[n_free] = s
            n_free += 1
        store, free = grown, free_grown
    slots = np.empty(k, dtype=np.int64)
    for j in range(k):
        n_free -= 1
        slots[j] = free[n_free]
    return store, free, n_free, slots


@njit
def _may_split(depth, stats, max_depth, min_split_rows, min_split_hessian):
    """``TreeGrower._can_split`` of a node of this depth and (G, H, rows) ``stats``."""
    return depth < max_depth and stats[2] >= min_split_rows and stats[1] >= min_split_hessian


@njit
def _release(free, n_free, slot, node):
    """Hand ``node``'s histogram slot back to the free list; returns the new ``n_free``."""
    free[n_free] = slot[node]
    slot[node] = -1
    return n_free + 1


@njit
def _search(nodes, slot, stats, store, features, n_used, missing_bin, params, limits, state,
            threaded):  # fmt: skip
    """Best splits of ``nodes``; returns their gains, features, bins, missing-value directions
    and left sums (``split.find_splits_range``), shared between threads by node."""
    n_threads, min_candidates = limits.n_threads, limits.min_candidates
    n = nodes.size
    n_features = features.size
    candidates = np.empty(n * n_features, dtype=np.int32)
    offsets = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        candidates[i * n_features : (i + 1) * n_features] = features
        offsets[i + 1] = offsets[i] + n_features
    gains = np.empty(n)
    best_features = np.empty(n, dtype=np.int64)
    bins = np.empty(n, dtype=np.int64)
    missing_left = np.empty(n, dtype=np.bool_)
    lefts = np.empty((n, 3))
    args = (store, slot[nodes], candidates, offsets, state[0], n_used, missing_bin)
    args2 = (stats[nodes], params, state[1], state[2], state[3])
    out = (gains, best_features, bins, missing_left, lefts)
    bounds = balanced_groups(offsets, n_threads if offsets[-1] >= min_candidates else 1)
    if threaded is not None:
        if threaded and bounds.size > 2:
            find_splits_range_parallel(bounds, *args, *args2, *out)
            return out
    for t in range(bounds.size - 1):
        find_splits_range(*args, *args2, *out, bounds[t], bounds[t + 1])
    return out


@njit
def _partition_level(X, rows, buffer, starts, stops, features, bins, missing_left, missing_bin,
                     limits, threaded, bundles):  # fmt: skip
    """``partition.partition_nodes`` of a level, shared between threads by rows; returns the
    left counts (``bundles``: see ``grow_depthwise``)."""
    n_threads, min_rows = limits.n_threads, limits.min_rows
    n_left = np.empty(starts.size, dtype=np.int64)
    cumulative = cumulative_sizes(starts, stops)
    bounds = balanced_groups(cumulative, n_threads if cumulative[-1] >= min_rows else 1)
    if bundles is not None:
        args = (X, rows, starts, stops, features, bins, missing_left, bundles[0], buffer, n_left)
        if threaded is not None:
            if threaded and bounds.size > 2:
                partition_bundled_parallel(bounds, *args)
                return n_left
        for t in range(bounds.size - 1):
            partition_bundled(*args, bounds[t], bounds[t + 1])
        return n_left
    args = (X, rows, starts, stops, features, bins, missing_left, missing_bin, buffer, n_left)
    if threaded is not None:
        if threaded and bounds.size > 2:
            partition_nodes_parallel(bounds, *args)
            return n_left
    for t in range(bounds.size - 1):
        partition_nodes(*args, bounds[t], bounds[t + 1])
    return n_left


@njit
def _fill_leaves(rows, start, stop, left, n_nodes, leaf_of_row, limits, threaded):
    """``leaf_of_row[rows[start[j]:stop[j]]] = j`` for every leaf j (threads by rows)."""
    n_threads, min_rows = limits.n_threads, limits.min_rows
    leaves = np.flatnonzero(left[:n_nodes] == -1)
    starts, stops = start[leaves], stop[leaves]
    cumulative = cumulative_sizes(starts, stops)
    bounds = balanced_groups(cumulative, n_threads if cumulative[-1] >= min_rows else 1)
    args = (rows, starts, stops, leaves.astype(np.int32), leaf_of_row)
    if threaded is not None:
        if threaded and bounds.size > 2:
            fill_leaf_of_row_parallel(bounds, *args)
            return
    for t in range(bounds.size - 1):
        fill_leaf_of_row(*args, bounds[t], bounds[t + 1])


@njit
def grow_depthwise(
    X, X_rows, g, h, rows, buffer, all_rows, features, all_features, n_used, missing_bin,
    params, max_depth, min_split_rows, min_split_hessian, min_gain, store, scratch, limits,
    leaf_of_row, threaded, bundles=None,
):  # fmt: skip
    """Grow one tree (see the module docstring).

    X, X_rows: the binned matrix in Fortran and C order; g: float64 (n, 1), h: float64 (n,);
    rows: int32 rows used (``0..n-1`` if ``all_rows``), buffer: int32 as many; features:
    int32 candidate features (``0..p-1`` if ``all_features``); n_used: int64 (p,) bins before
    the missing values' bin ``missing_bin``; params: ``split.SplitParams``; a node
    splits while its depth < ``max_depth``, its rows >= ``min_split_rows`` and its hessian sum
    >= ``min_split_hessian``, by a gain > ``min_gain``; store: float64 (slots, p, n_bins, 2)
    histograms, kept between trees (grown and returned when too small); scratch: chunk
    histograms for ``rows.size // limits.chunk_rows`` chunks; limits: the tree's ``Limits``;
    leaf_of_row: int32 (n,), filled with the leaf of each row used; threaded: whether the
    steps may run on numba's threads (``_numba.threaded``: None compiles the serial code
    only); bundles: None, or for bundled columns ``X`` (``bundling``) the tuple
    ``(FeatureBundles.tables(), columns, all_columns)`` (the columns of ``features``):
    histograms are built over the columns and expanded (``bundling.build_nodes``), ``store``
    has ``missing_bin + 1`` bins per feature, ``scratch`` is sized for the columns, and nodes
    are partitioned through the decode tables.

    Returns ``(store, feature, bin, missing_left, left, right, gain, stats, depth, value)``:
    the nodes' arrays in ``TreeGrower``'s order, ``stats`` (G, H, rows), ``value`` XGBoost's
    leaf weights before the learning rate.
    """
    n_threads, chunk_rows, min_cells = limits.n_threads, limits.chunk_rows, limits.min_cells
    m = rows.size
    max_nodes = max(1, min(2 ** (max_depth + 1) - 1, 2 * m - 1))
    start = np.zeros(max_nodes, dtype=np.int64)
    stop = np.zeros(max_nodes, dtype=np.int64)
    depth = np.zeros(max_nodes, dtype=np.int32)
    stats = np.zeros((max_nodes, 3))
    feature = np.full(max_nodes, -1, dtype=np.int32)
    bin_ = np.zeros(max_nodes, dtype=np.uint8)
    missing_left = np.zeros(max_nodes, dtype=np.bool_)
    left = np.full(max_nodes, -1, dtype=np.int32)
    right = np.full(max_nodes, -1, dtype=np.int32)
    gain = np.zeros(max_nodes)
    left_sums = np.zeros((max_nodes, 3))
    slot = np.full(max_nodes, -1, dtype=np.int64)
    # what every split search reads besides the histograms: no random thresholds, no
    # monotone constraints, unbounded weights
    state = (np.empty(0), np.zeros(n_used.size, dtype=np.int8), np.full(max_nodes, -np.inf),
             np.full(max_nodes, np.inf))  # fmt: skip
    free = np.arange(store.shape[0] - 1, -1, -1)
    n_free = store.shape[0]

    stop[0] = m
    store, free, n_free, taken = _take_slots(store, free, n_free, 1)
    slot[0] = taken[0]
    chunk_sums = np.zeros((n_row_chunks(m, chunk_rows), 3))
    build_nodes(X_rows, rows, all_rows, g, h, features, all_features, n_used, store, scratch,
                start[:1], stop[:1], slot[:1], chunk_sums, n_threads, threaded, chunk_rows,
                min_cells, bundles)  # fmt: skip
    stats[0] = chunk_sums[0]
    for c in range(1, chunk_sums.shape[0]):
        stats[0] += chunk_sums[c]
    n_nodes = 1
    can_split = np.zeros(max_nodes, dtype=np.bool_)
    can_split[0] = _may_split(0, stats[0], max_depth, min_split_rows, min_split_hessian)
    candidates = np.zeros(1 if can_split[0] else 0, dtype=np.int64)
    no_sums = np.zeros((0, 3))
    while True:
        level = np.empty(candidates.size, dtype=np.int64)
        n_level = 0
        if candidates.size > 0:
            found = _search(candidates, slot, stats, store, features, n_used, missing_bin,
                            params, limits, state, threaded)  # fmt: skip
            for i in range(candidates.size):
                node = candidates[i]
                if found[0][i] > min_gain and np.isfinite(found[0][i]):
                    gain[node] = found[0][i]
                    feature[node] = found[1][i]
                    bin_[node] = found[2][i]
                    missing_left[node] = found[3][i]
                    left_sums[node] = found[4][i]
                    level[n_level] = node
                    n_level += 1
                else:  # a leaf: its histogram's slot is free for the next level
                    n_free = _release(free, n_free, slot, node)
        if n_level == 0:
            break
        level = level[:n_level]
        n_left = _partition_level(X, rows, buffer, start[level], stop[level], feature[level],
                                  bin_[level], missing_left[level], missing_bin,
                                  limits, threaded, bundles)  # fmt: skip
        built = np.empty(n_level, dtype=np.int64)
        n_built = 0
        parents = np.empty(n_level, dtype=np.int64)
        larger = np.empty(n_level, dtype=np.int64)
        n_sub = 0
        candidates = np.empty(2 * n_level, dtype=np.int64)
        n_candidates = 0
        for i in range(n_level):
            node = level[i]
            lc, rc = n_nodes, n_nodes + 1
            n_nodes += 2
            left[node], right[node] = lc, rc
            mid = start[node] + n_left[i]
            start[lc], stop[lc], start[rc], stop[rc] = start[node], mid, mid, stop[node]
            depth[lc] = depth[rc] = depth[node] + 1
            stats[lc, 0], stats[lc, 1] = left_sums[node, 0], left_sums[node, 1]
            stats[lc, 2] = n_left[i]
            for c in range(3):
                stats[rc, c] = stats[node, c] - stats[lc, c]
            for child in (lc, rc):
                can_split[child] = _may_split(
                    depth[child], stats[child], max_depth, min_split_rows, min_split_hessian
                )
                if can_split[child]:
                    candidates[n_candidates] = child
                    n_candidates += 1
            keeps_parent = False
            if can_split[lc] or can_split[rc]:
                small, large = (lc, rc) if mid - start[node] <= stop[node] - mid else (rc, lc)
                built[n_built] = small
                n_built += 1
                if can_split[large]:
                    parents[n_sub] = node
                    larger[n_sub] = large
                    n_sub += 1
                    keeps_parent = True
            if not keeps_parent:
                n_free = _release(free, n_free, slot, node)
        built = built[:n_built]
        store, free, n_free, taken = _take_slots(store, free, n_free, n_built)
        slot[built] = taken
        build_nodes(X_rows, rows, False, g, h, features, all_features, n_used, store,
                    scratch, start[built], stop[built], taken, no_sums, n_threads, threaded,
                    chunk_rows, min_cells, bundles)  # fmt: skip
        parents, larger = parents[:n_sub], larger[:n_sub]
        smaller = np.where(left[parents] == larger, right[parents], left[parents])
        subtract_histograms(store, slot[parents], slot[smaller], features, n_used)
        slot[larger] = slot[parents]
        slot[parents] = -1
        # small children that may not split held their histograms for the subtraction only
        for j in range(n_built):
            if not can_split[built[j]]:
                n_free = _release(free, n_free, slot, built[j])
        candidates = candidates[:n_candidates]
    _fill_leaves(rows, start, stop, left, n_nodes, leaf_of_row, limits, threaded)
    value = np.zeros((n_nodes, 1))
    for i in range(n_nodes):
        value[i, 0] = leaf_weight(stats[i, 0], stats[i, 1], params, -np.inf, np.inf)
    return (store, feature[:n_nodes], bin_[:n_nodes], missing_left[:n_nodes],
            left[:n_nodes], right[:n_nodes], gain[:n_nodes], stats[:n_nodes], depth[:n_nodes],
            value)  # fmt: skip
