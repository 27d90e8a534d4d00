"""Per-node gradient / hessian / count histograms.

A node's histogram is a float64 array of shape (n_features, n_bins, K + 2): for each feature and
bin, the K gradient sums, the hessian sum and the row count. Rows with hessian 0 are not
counted: they are the inert rows of a bootstrap (weight 0), as scikit-learn's trees ignore them.
Only the features listed in ``features`` are written, and of feature f only its first
``n_bins_non_missing[f]`` bins and the missing-value bin (the last): the others are never read
by the split finder, and skipping them matters for deep trees, whose nodes have few rows.
The larger child of a split gets its histogram as parent minus the smaller child's, which
halves the work per level.
"""

from functools import partial

import numba
import numpy as np

from ._numba import njit, run_in_threads


@njit
def _gather(rows, gradients, hessians):
    """Gradients and hessians of ``rows`` in one contiguous (n_rows, K + 1) array."""
    n_outputs = gradients.shape[1]
    gh = np.empty((rows.size, n_outputs + 1))
    for i in range(rows.size):
        r = rows[i]
        for k in range(n_outputs):
            gh[i, k] = gradients[r, k]
        gh[i, n_outputs] = hessians[r]
    return gh


@njit
def _feature_histogram(col, rows, gh, hf, n_used):
    n_outputs = gh.shape[1] - 1
    hf[:n_used, :] = 0.0
    hf[-1, :] = 0.0
    if n_outputs == 1:
        for i in range(rows.size):
            b = col[rows[i]]
            hf[b, 0] += gh[i, 0]
            hf[b, 1] += gh[i, 1]
            if gh[i, 1] != 0.0:
                hf[b, 2] += 1.0
    else:
        for i in range(rows.size):
            b = col[rows[i]]
            for c in range(n_outputs + 1):
                hf[b, c] += gh[i, c]
            if gh[i, n_outputs] != 0.0:
                hf[b, n_outputs + 1] += 1.0


@njit
def _build_tasks(
    X_binned, rows, gh, starts, stops, gh_starts, features, n_used, hists, slots, first, last
):
    # Tasks are (feature, node) pairs, feature-major, so that a contiguous range of tasks
    # covers whole features of every node: equal ranges are equal work.
    n_nodes = starts.size
    for task in range(first, last):
        f = features[task // n_nodes]
        j = task % n_nodes
        g0 = gh_starts[j]
        node_rows = rows[starts[j] : stops[j]]
        gh_node = gh[g0 : g0 + node_rows.size]
        _feature_histogram(X_binned[:, f], node_rows, gh_node, hists[slots[j], f], n_used[f])


# Below this many (row, feature) cells the histograms are built on one thread: handing work
# to other threads costs more than it saves.
_PARALLEL_MIN_CELLS = 200_000


def build_histograms(
    X_binned, rows, starts, stops, gradients, hessians, features, n_bins_non_missing, hists, slots
):
    """Fill ``hists[slots[j], f]`` for every node j (rows ``rows[starts[j]:stops[j]]``) and f in
    ``features``.

    X_binned: uint8 (n, p) Fortran; rows: int32 row indices; gradients: (n, K); hessians: (n,);
    n_bins_non_missing: int64 (p,); hists: float64 (n_slots, p, n_bins, K + 2), the missing
    values' bin last; slots: int64 (n_nodes,). Large batches are split across
    ``numba.get_num_threads()`` threads (set by ``_numba.threads``) by (feature, node).
    """
    starts = np.asarray(starts, dtype=np.int64)
    stops = np.asarray(stops, dtype=np.int64)
    sizes = stops - starts
    gh_starts = np.zeros(starts.size, dtype=np.int64)
    gh_starts[1:] = np.cumsum(sizes)[:-1]
    node_rows = (
        rows[starts[0] : stops[0]]
        if starts.size == 1
        else np.concatenate([rows[a:b] for a, b in zip(starts, stops, strict=True)])
    )
    n_tasks = features.size * starts.size
    n_threads = (
        numba.get_num_threads() if node_rows.size * features.size >= _PARALLEL_MIN_CELLS else 1
    )
    n_threads = min(n_threads, n_tasks)
    gh = _gather(node_rows, gradients, hessians)
    bounds = np.linspace(0, n_tasks, n_threads + 1).astype(np.int64)
    args = (X_binned, rows, gh, starts, stops, gh_starts, features)
    args += (n_bins_non_missing, hists, slots)
    run_in_threads(
        [partial(_build_tasks, *args, bounds[t], bounds[t + 1]) for t in range(n_threads)]
    )


@njit
def subtract_histograms(hists, parent_slots, child_slots, features, n_bins_non_missing):
    """``hists[parent_slots[j]] -= hists[child_slots[j]]`` for every j: in place, the parent's
    histogram becomes the sibling's. Only features in ``features`` and the bins that are
    read (the first ``n_bins_non_missing[f]`` and the missing one, last) are updated."""
    missing_bin, n_stats = hists.shape[2] - 1, hists.shape[3]
    for j in range(parent_slots.size):
        out = hists[parent_slots[j]]
        child = hists[child_slots[j]]
        for fi in range(features.size):
            f = features[fi]
            for b in range(n_bins_non_missing[f]):
                for c in range(n_stats):
                    out[f, b, c] = out[f, b, c] - child[f, b, c]
            for c in range(n_stats):
                out[f, missing_bin, c] = out[f, missing_bin, c] - child[f, missing_bin, c]


@njit
def node_sums(rows, gradients, hessians):
    """(gradient sums (K,), hessian sum, row count) over ``rows``."""
    n_outputs = gradients.shape[1]
    sum_g = np.zeros(n_outputs)
    sum_h = 0.0
    count = 0.0
    for i in range(rows.size):
        r = rows[i]
        for k in range(n_outputs):
            sum_g[k] += gradients[r, k]
        sum_h += hessians[r]
        if hessians[r] != 0.0:
            count += 1.0
    return sum_g, sum_h, count
