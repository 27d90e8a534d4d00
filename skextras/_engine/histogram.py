"""Per-node gradient / hessian / count histograms.

A node's histogram is a float64 array of shape (n_features, n_bins, K + 2): for each feature and
bin, the K gradient sums, the hessian sum and the row count. Rows with hessian 0 are not
counted: they are the inert rows of a bootstrap (weight 0), as scikit-learn's trees ignore them.
Only the features listed in ``features`` are written (the others are never read by the split
finder). The larger child of a split gets its histogram as parent minus the smaller child's,
which halves the work per level.
"""

import numpy as np
from numba import prange

from ._numba import njit, pnjit


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


@pnjit
def build_histogram(X_binned, rows, gradients, hessians, features, hist):
    """Fill ``hist[f]`` for ``f in features`` from the rows ``rows``.

    X_binned: uint8 (n, p) Fortran; rows: int32 row indices; gradients: (n, K); hessians: (n,).
    """
    gh = _gather(rows, gradients, hessians)
    n_outputs = gradients.shape[1]
    n_rows = rows.size
    for fi in prange(features.size):
        f = features[fi]
        col = X_binned[:, f]
        hf = hist[f]
        hf[:, :] = 0.0
        if n_outputs == 1:
            for i in range(n_rows):
                b = col[rows[i]]
                hf[b, 0] += gh[i, 0]
                hf[b, 1] += gh[i, 1]
                if gh[i, 1] != 0.0:
                    hf[b, 2] += 1.0
        else:
            for i in range(n_rows):
                b = col[rows[i]]
                for c in range(n_outputs + 1):
                    hf[b, c] += gh[i, c]
                if gh[i, n_outputs] != 0.0:
                    hf[b, n_outputs + 1] += 1.0


@pnjit
def subtract_histogram(parent, child, features, out):
    """``out[f] = parent[f] - child[f]`` for ``f in features`` (the sibling's histogram)."""
    for fi in prange(features.size):
        f = features[fi]
        out[f] = parent[f] - child[f]


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
