"""Exact SHAP values of tree ensembles: TreeSHAP (Lundberg, Erion & Lee 2018, Algorithm 2).

For each row, the contribution of every feature to the tree's output, with node covers
(hessian sums) as the background distribution, as XGBoost's ``pred_contribs=True``. The last
column holds the expected output (the cover-weighted mean of the leaf values).
"""

import numpy as np
import scipy.sparse as sp

from ._numba import njit, parallel_rows, threads

# Path element fields, stored as columns of a float64 (max_depth + 2, 4) array per level.
_FEATURE, _ZERO, _ONE, _WEIGHT = range(4)


@njit
def _extend(path, depth, zero_fraction, one_fraction, feature):
    path[depth, _FEATURE] = feature
    path[depth, _ZERO] = zero_fraction
    path[depth, _ONE] = one_fraction
    path[depth, _WEIGHT] = 1.0 if depth == 0 else 0.0
    for i in range(depth - 1, -1, -1):
        path[i + 1, _WEIGHT] += one_fraction * path[i, _WEIGHT] * (i + 1) / (depth + 1)
        path[i, _WEIGHT] = zero_fraction * path[i, _WEIGHT] * (depth - i) / (depth + 1)


@njit
def _unwind(path, depth, index):
    one_fraction = path[index, _ONE]
    zero_fraction = path[index, _ZERO]
    next_one = path[depth, _WEIGHT]
    for i in range(depth - 1, -1, -1):
        if one_fraction != 0.0:
            saved = path[i, _WEIGHT]
            path[i, _WEIGHT] = next_one * (depth + 1) / ((i + 1) * one_fraction)
            next_one = saved - path[i, _WEIGHT] * zero_fraction * (depth - i) / (depth + 1)
        else:
            path[i, _WEIGHT] = path[i, _WEIGHT] * (depth + 1) / (zero_fraction * (depth - i))
    for i in range(index, depth):
        path[i, _FEATURE] = path[i + 1, _FEATURE]
        path[i, _ZERO] = path[i + 1, _ZERO]
        path[i, _ONE] = path[i + 1, _ONE]


@njit
def _unwound_sum(path, depth, index):
    one_fraction = path[index, _ONE]
    zero_fraction = path[index, _ZERO]
    next_one = path[depth, _WEIGHT]
    total = 0.0
    for i in range(depth - 1, -1, -1):
        if one_fraction != 0.0:
            part = next_one * (depth + 1) / ((i + 1) * one_fraction)
            total += part
            next_one = path[i, _WEIGHT] - part * zero_fraction * (depth - i) / (depth + 1)
        else:
            total += path[i, _WEIGHT] / zero_fraction / ((depth - i) / (depth + 1))
    return total


@njit
def _tree_shap(x, root, feature, threshold, missing_go_left, left, right, value, cover, phi, paths):
    """Algorithm 2 of the TreeSHAP paper with an explicit stack instead of recursion.

    A frame at ``level`` extends a copy of its parent's path (``paths[level - 1]``) into
    ``paths[level]``; descendants only write deeper levels, so both children of a node can be
    stacked at once and still copy the parent's path unchanged.
    """
    stack_size = 2 * paths.shape[0] + 2
    s_node = np.empty(stack_size, dtype=np.int64)
    s_level = np.empty(stack_size, dtype=np.int64)
    s_depth = np.empty(stack_size, dtype=np.int64)
    s_zero = np.empty(stack_size)
    s_one = np.empty(stack_size)
    s_feature = np.empty(stack_size)
    top = 0
    s_node[0], s_level[0], s_depth[0] = root, 0, 0
    s_zero[0], s_one[0], s_feature[0] = 1.0, 1.0, -1.0
    while top >= 0:
        node, level, depth = s_node[top], s_level[top], s_depth[top]
        zero_fraction, one_fraction, parent_feature = s_zero[top], s_one[top], s_feature[top]
        top -= 1
        path = paths[level]
        if level > 0:
            path[: depth + 1] = paths[level - 1, : depth + 1]
        _extend(path, depth, zero_fraction, one_fraction, parent_feature)
        if left[node] == -1:
            for i in range(1, depth + 1):
                w = _unwound_sum(path, depth, i)
                phi[int(path[i, _FEATURE])] += w * (path[i, _ONE] - path[i, _ZERO]) * value[node]
            continue
        f = feature[node]
        v = x[f]
        goes_left = missing_go_left[node] if np.isnan(v) else v <= threshold[node]
        hot = left[node] if goes_left else right[node]
        cold = right[node] if goes_left else left[node]
        incoming_zero = 1.0
        incoming_one = 1.0
        index = 0
        while index <= depth and int(path[index, _FEATURE]) != f:
            index += 1
        if index != depth + 1:
            incoming_zero = path[index, _ZERO]
            incoming_one = path[index, _ONE]
            _unwind(path, depth, index)
            depth -= 1
        for child, one in ((cold, 0.0), (hot, incoming_one)):
            top += 1
            s_node[top], s_level[top], s_depth[top] = child, level + 1, depth + 1
            s_zero[top] = cover[child] / cover[node] * incoming_zero
            s_one[top], s_feature[top] = one, f


@njit
def _shap_dense(
    X,
    expected,
    starts,
    tree_output,
    max_depth,
    feature,
    threshold,
    missing_go_left,
    left,
    right,
    value,
    cover,
    out,
    first,
    last,
):
    n, p = X.shape
    n_trees = starts.size - 1
    for i in range(first, last):
        paths = np.zeros((max_depth + 2, max_depth + 2, 4))
        for t in range(n_trees):
            k = tree_output[t]
            paths[:, :, _FEATURE] = -1.0
            _tree_shap(
                X[i],
                starts[t],
                feature,
                threshold,
                missing_go_left,
                left,
                right,
                value,
                cover,
                out[i, k],
                paths,
            )
            out[i, k, p] += expected[t]


def shap_forest(trees, X, tree_output, n_outputs, n_threads=None):
    """SHAP contributions (n, n_outputs, n_features + 1) of the single-output ``trees``.

    ``tree_output[t]`` is the output column tree ``t`` adds to; the last feature slot holds
    the sum of the trees' expected values (add the base margin to it).
    """
    n, p = X.shape
    out = np.zeros((n, n_outputs, p + 1))
    if not trees:
        return out
    starts = np.zeros(len(trees) + 1, dtype=np.int64)
    starts[1:] = np.cumsum([t.n_nodes for t in trees])
    offsets = np.repeat(starts[:-1], [t.n_nodes for t in trees])
    left = np.concatenate([t.left for t in trees]).astype(np.int64)
    right = np.concatenate([t.right for t in trees]).astype(np.int64)
    internal = left != -1
    left[internal] += offsets[internal]
    right[internal] += offsets[internal]
    cat = lambda name: np.concatenate([getattr(t, name) for t in trees])  # noqa: E731
    value = np.concatenate([t.value[:, 0] for t in trees])
    max_depth = max(t.max_depth for t in trees)
    # Covers add up from children to parents, so a tree's mean output over its training
    # distribution is the cover-weighted mean of its leaf values.
    expected = np.array(
        [np.sum((t.cover * t.value[:, 0])[t.left == -1]) / t.cover[0] for t in trees]
    )
    tree_output = np.asarray(tree_output, dtype=np.int64)
    chunk = 4096
    with threads(n_threads):
        for lo in range(0, n, chunk):
            block = X[lo : lo + chunk]
            block = block.toarray() if sp.issparse(block) else block
            parallel_rows(
                _shap_dense,
                min(chunk, n - lo),
                np.ascontiguousarray(block, dtype=np.float64),
                expected,
                starts,
                tree_output,
                max_depth,
                cat("feature"),
                cat("threshold"),
                cat("missing_go_left"),
                left,
                right,
                value,
                cat("cover"),
                out[lo : lo + chunk],
            )
    return out
