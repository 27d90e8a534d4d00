"""Per-node gradient / hessian / count histograms.

A node's histogram is a float64 array of shape (n_features, n_bins, K + 2): for each feature and
bin, the K gradient sums, the hessian sum and the row count. Rows with hessian 0 are not
counted: they are the inert rows of a bootstrap (weight 0), as scikit-learn's trees ignore them.
Only the features listed in ``features`` are written (the others are never read by the split
finder). The larger child of a split gets its histogram as parent minus the smaller child's,
which halves the work per level.
"""

import numba
import numpy as np
from numba import prange

from ._numba import njit, pnjit


@njit
def _gather_block(rows, gradients, hessians, gh, start, stop):
    n_outputs = gradients.shape[1]
    for i in range(start, stop):
        r = rows[i]
        for k in range(n_outputs):
            gh[i, k] = gradients[r, k]
        gh[i, n_outputs] = hessians[r]


_GATHER_BLOCK = 65536


@pnjit
def _gather_parallel(rows, gradients, hessians, gh):
    for block in prange((rows.size + _GATHER_BLOCK - 1) // _GATHER_BLOCK):
        start = block * _GATHER_BLOCK
        _gather_block(rows, gradients, hessians, gh, start, min(start + _GATHER_BLOCK, rows.size))


def _gather(rows, gradients, hessians, parallel):
    """Gradients and hessians of ``rows`` in one contiguous (n_rows, K + 1) array."""
    gh = np.empty((rows.size, gradients.shape[1] + 1))
    if parallel:
        _gather_parallel(rows, gradients, hessians, gh)
    else:
        _gather_block(rows, gradients, hessians, gh, 0, rows.size)
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


@pnjit
def _build_parallel(X_binned, rows, gh, starts, stops, gh_starts, features, hists):
    # One parallel region for all the nodes of a level: tasks are (feature, node) pairs,
    # feature-major so that threads get balanced shares of every node.
    n_nodes = starts.size
    for task in prange(features.size * n_nodes):
        f = features[task // n_nodes]
        j = task % n_nodes
        g0 = gh_starts[j]
        node_rows = rows[starts[j] : stops[j]]
        _feature_histogram(X_binned[:, f], node_rows, gh[g0 : g0 + node_rows.size], hists[j, f])


@njit
def _build_serial(X_binned, rows, gh, starts, stops, gh_starts, features, hists):
    for j in range(starts.size):
        g0 = gh_starts[j]
        node_rows = rows[starts[j] : stops[j]]
        for fi in range(features.size):
            f = features[fi]
            _feature_histogram(X_binned[:, f], node_rows, gh[g0 : g0 + node_rows.size], hists[j, f])


# Below this many (row, feature) cells the histograms are built on one thread: waking the
# pool costs more than it saves.
_PARALLEL_MIN_CELLS = 200_000


def build_histograms(X_binned, rows, starts, stops, gradients, hessians, features, hists):
    """Fill ``hists[j, f]`` for every node j (rows ``rows[starts[j]:stops[j]]``), f in features.

    X_binned: uint8 (n, p) Fortran; rows: int32 row indices; gradients: (n, K); hessians: (n,);
    hists: float64 (n_nodes, p, n_bins, K + 2). Large batches are split across threads by
    (feature, node) (``_numba.threads`` sets how many).
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
    n_cells = node_rows.size * features.size
    parallel = n_cells >= _PARALLEL_MIN_CELLS and numba.get_num_threads() > 1
    gh = _gather(node_rows, gradients, hessians, parallel and node_rows.size >= 2 * _GATHER_BLOCK)
    build = _build_parallel if parallel else _build_serial
    build(X_binned, rows, gh, starts, stops, gh_starts, features, hists)


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
