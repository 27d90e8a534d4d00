"""Per-node gradient / hessian / count histograms.

A node's histogram is a float64 array of shape (n_features, n_bins, K + 2): for each feature and
bin, the K gradient sums, the hessian sum and the row count. Rows with hessian 0 are not
counted: they are the inert rows of a bootstrap (weight 0), as scikit-learn's trees ignore them.
Only the features listed in ``features`` are written (the others are never read by the split
finder). The larger child of a split gets its histogram as parent minus the smaller child's,
which halves the work per level.
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
def _feature_histogram(col, rows, gh, hf):
    n_outputs = gh.shape[1] - 1
    hf[:, :] = 0.0
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
def _build_tasks(X_binned, rows, gh, starts, stops, gh_starts, features, hists, first, last):
    # Tasks are (feature, node) pairs, feature-major, so that a contiguous range of tasks
    # covers whole features of every node: equal ranges are equal work.
    n_nodes = starts.size
    for task in range(first, last):
        f = features[task // n_nodes]
        j = task % n_nodes
        g0 = gh_starts[j]
        node_rows = rows[starts[j] : stops[j]]
        _feature_histogram(X_binned[:, f], node_rows, gh[g0 : g0 + node_rows.size], hists[j, f])


# Below this many (row, feature) cells the histograms are built on one thread: handing work
# to other threads costs more than it saves.
_PARALLEL_MIN_CELLS = 200_000


def build_histograms(X_binned, rows, starts, stops, gradients, hessians, features, hists):
    """Fill ``hists[j, f]`` for every node j (rows ``rows[starts[j]:stops[j]]``), f in features.

    X_binned: uint8 (n, p) Fortran; rows: int32 row indices; gradients: (n, K); hessians: (n,);
    hists: float64 (n_nodes, p, n_bins, K + 2). Large batches are split across
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
    args = (X_binned, rows, gh, starts, stops, gh_starts, features, hists)
    run_in_threads(
        [partial(_build_tasks, *args, bounds[t], bounds[t + 1]) for t in range(n_threads)]
    )


@njit
def subtract_histogram(parent, child, features, out):
    """``out[f] = parent[f] - child[f]`` for ``f in features`` (the sibling's histogram)."""
    n_bins, n_stats = parent.shape[1], parent.shape[2]
    for fi in range(features.size):
        f = features[fi]
        for b in range(n_bins):
            for c in range(n_stats):
                out[f, b, c] = parent[f, b, c] - child[f, b, c]


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
