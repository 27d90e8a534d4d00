"""The fitted tree as flat arrays, and numba prediction on raw, sparse and binned features."""

import numpy as np
import scipy.sparse as sp

from ._numba import njit, parallel_rows, threads

_ARRAYS = {
    "feature": np.int32,
    "threshold": np.float64,
    "bin_threshold": np.uint8,
    "missing_go_left": np.bool_,
    "left": np.int32,
    "right": np.int32,
    "value": np.float64,
    "gain": np.float64,
    "cover": np.float64,
    "n_samples": np.int64,
    "depth": np.int32,
}


# Rows are walked in blocks, each block through one tree after the other: a tree's arrays then
# stay in cache while its block of rows goes through it (a deep forest does not fit in cache).
_BLOCK = 1024


@njit
def _leaf_dense(X, i, node, feature, threshold, missing_go_left, left, right):
    while left[node] != -1:
        x = X[i, feature[node]]
        if np.isnan(x):
            node = left[node] if missing_go_left[node] else right[node]
        elif x <= threshold[node]:
            node = left[node]
        else:
            node = right[node]
    return node


@njit
def _csr_value(indptr, indices, data, i, j):
    """X[i, j] of a CSR matrix with sorted indices (implicit entries are 0.0)."""
    lo = indptr[i]
    hi = indptr[i + 1]
    while lo < hi:
        mid = (lo + hi) // 2
        if indices[mid] < j:
            lo = mid + 1
        else:
            hi = mid
    if lo < indptr[i + 1] and indices[lo] == j:
        return data[lo]
    return 0.0


@njit
def _leaf_csr(indptr, indices, data, i, node, feature, threshold, missing_go_left, left, right):
    while left[node] != -1:
        x = _csr_value(indptr, indices, data, i, feature[node])
        if np.isnan(x):
            node = left[node] if missing_go_left[node] else right[node]
        elif x <= threshold[node]:
            node = left[node]
        else:
            node = right[node]
    return node


@njit
def _leaf_binned(X, i, node, feature, bin_threshold, missing_go_left, left, right, missing_bin):
    while left[node] != -1:
        b = X[i, feature[node]]
        if b == missing_bin:
            node = left[node] if missing_go_left[node] else right[node]
        elif b <= bin_threshold[node]:
            node = left[node]
        else:
            node = right[node]
    return node


@njit
def _apply_dense(X, starts, feature, threshold, missing_go_left, left, right, out, first, last):
    """Leaf (local node id) of every row in every tree: out (n, n_trees)."""
    for block in range(first, last, _BLOCK):
        for t in range(starts.size - 1):
            for i in range(block, min(block + _BLOCK, last)):
                s = starts[t]
                out[i, t] = (
                    _leaf_dense(X, i, s, feature, threshold, missing_go_left, left, right) - s
                )


@njit
def _apply_csr(
    indptr,
    indices,
    data,
    starts,
    feature,
    threshold,
    missing_go_left,
    left,
    right,
    out,
    first,
    last,
):
    for block in range(first, last, _BLOCK):
        for t in range(starts.size - 1):
            for i in range(block, min(block + _BLOCK, last)):
                s = starts[t]
                leaf = _leaf_csr(
                    indptr, indices, data, i, s, feature, threshold, missing_go_left, left, right
                )
                out[i, t] = leaf - s


@njit
def _apply_binned(
    X, starts, feature, bin_threshold, missing_go_left, left, right, missing_bin, out, first, last
):
    for block in range(first, last, _BLOCK):
        for t in range(starts.size - 1):
            for i in range(block, min(block + _BLOCK, last)):
                s = starts[t]
                leaf = _leaf_binned(
                    X, i, s, feature, bin_threshold, missing_go_left, left, right, missing_bin
                )
                out[i, t] = leaf - s


@njit
def _predict_dense(
    X,
    starts,
    feature,
    threshold,
    missing_go_left,
    left,
    right,
    value,
    tree_output,
    out,
    first,
    last,
):
    for block in range(first, last, _BLOCK):
        for t in range(starts.size - 1):
            for i in range(block, min(block + _BLOCK, last)):
                leaf = _leaf_dense(
                    X, i, starts[t], feature, threshold, missing_go_left, left, right
                )
                for k in range(value.shape[1]):
                    out[i, tree_output[t] + k] += value[leaf, k]


# Rows a fixed-depth walk (``_predict_fixed``) moves through a tree level by level:
# their steps are independent, so the CPU overlaps them.
_ROWS_IN_FLIGHT = 64


@njit(inline="always")
def _step(x, missing, row, p, node, layout):
    """The child of ``node`` row ``row`` goes to; a leaf of the ``_fixed_depth_layout`` is its
    own child. Branch-free: children are adjacent, left first. Raw values (``missing`` NaN)
    or bins (``missing`` the missing values' bin, above every bin threshold); ``layout``:
    (feature, threshold, missing_go_left, left)."""
    feature, threshold, missing_go_left, left = layout
    v = x[row * p + np.uint64(feature[node])]
    is_missing = (v != v) | (v == missing)
    go_left = ((v <= threshold[node]) & ~is_missing) | (is_missing & missing_go_left[node])
    return np.uint64(left[node]) + np.uint64(1) - np.uint64(go_left)


@njit(error_model="numpy")
def _predict_fixed(
    X,
    missing,
    starts,
    depths,
    feature,
    threshold,
    missing_go_left,
    left,
    value,
    tree_output,
    out,
    first,
    last,
):
    """``_predict_dense`` or ``_predict_binned`` on a ``_fixed_depth_layout``: trees with
    ``depths[t] >= 0`` are walked ``depths[t]`` steps by every row, without a branch per node
    (one would be mispredicted every other time: 3-4x slower), the others node by node to
    their leaf. The trees add to each row in the same order: the same sums."""
    layout = (feature, threshold, missing_go_left, left)
    nodes = np.empty(_ROWS_IN_FLIGHT, dtype=np.uint64)
    p = np.uint64(X.shape[1])
    x = X.reshape(-1)
    for block in range(first, last, _ROWS_IN_FLIGHT):
        row0 = np.uint64(block)
        n_rows = np.uint64(min(_ROWS_IN_FLIGHT, last - block))
        for t in range(starts.size - 1):
            root = np.uint64(starts[t])
            if depths[t] >= 0:
                for j in range(n_rows):
                    nodes[j] = root
                for _ in range(depths[t]):
                    for j in range(n_rows):
                        nodes[j] = _step(x, missing, row0 + j, p, nodes[j], layout)
            else:
                for j in range(n_rows):
                    node = root
                    child = _step(x, missing, row0 + j, p, node, layout)
                    while child != node:
                        node = child
                        child = _step(x, missing, row0 + j, p, node, layout)
                    nodes[j] = node
            column = tree_output[t]
            if value.shape[1] == 1:
                for j in range(n_rows):
                    out[row0 + j, column] += value[nodes[j], 0]
            else:
                for j in range(n_rows):
                    for k in range(value.shape[1]):
                        out[row0 + j, column + k] += value[nodes[j], k]


def _fixed_depth_layout(trees, binned=False):
    """The stacked trees for ``_predict_fixed`` (``binned``: with bin thresholds), or None
    where a tree's children are not adjacent (left, then right).

    Leaves become their own children (threshold +inf or bin 255, missing values left: every
    row stays). A tree is walked at fixed depth (its depth) unless its training rows reached
    leaves less than a quarter as deep on average: a branching step costs about 4 fixed steps
    (measured on forests of depth 30-40 whose rows stop at depth 16 on average, 2x faster at
    fixed depth).
    """
    starts, a, left, right = _stack(trees)
    internal = left != -1
    if not np.array_equal(right[internal], left[internal] + 1):
        return None
    leaf = np.flatnonzero(~internal)
    left[leaf] = leaf
    feature = a["feature"].copy()
    threshold = a["bin_threshold" if binned else "threshold"].copy()
    missing_go_left = a["missing_go_left"].copy()
    feature[leaf] = 0
    threshold[leaf] = 255 if binned else np.inf
    missing_go_left[leaf] = True
    depths = np.empty(len(trees), dtype=np.int64)
    for t, tree in enumerate(trees):
        leaves = tree.left == -1
        leaf_depths = tree.depth[leaves]
        deepest = int(leaf_depths.max(initial=0))
        mean = np.average(leaf_depths, weights=tree.n_samples[leaves] + 1.0)
        depths[t] = deepest if 4.0 * mean >= deepest else -1
    return starts, depths, feature, threshold, missing_go_left, left


@njit
def _predict_csr(
    indptr,
    indices,
    data,
    starts,
    feature,
    threshold,
    missing_go_left,
    left,
    right,
    value,
    tree_output,
    out,
    first,
    last,
):
    for block in range(first, last, _BLOCK):
        for t in range(starts.size - 1):
            for i in range(block, min(block + _BLOCK, last)):
                leaf = _leaf_csr(
                    indptr,
                    indices,
                    data,
                    i,
                    starts[t],
                    feature,
                    threshold,
                    missing_go_left,
                    left,
                    right,
                )
                for k in range(value.shape[1]):
                    out[i, tree_output[t] + k] += value[leaf, k]


@njit
def _predict_binned(
    X,
    starts,
    feature,
    bin_threshold,
    missing_go_left,
    left,
    right,
    missing_bin,
    value,
    tree_output,
    out,
    first,
    last,
):
    for block in range(first, last, _BLOCK):
        for t in range(starts.size - 1):
            for i in range(block, min(block + _BLOCK, last)):
                leaf = _leaf_binned(
                    X,
                    i,
                    starts[t],
                    feature,
                    bin_threshold,
                    missing_go_left,
                    left,
                    right,
                    missing_bin,
                )
                for k in range(value.shape[1]):
                    out[i, tree_output[t] + k] += value[leaf, k]


class Tree:
    """A fitted decision tree stored as flat arrays; node 0 is the root.

    Internal node ``i`` sends a row left iff ``x[feature[i]] <= threshold[i]`` (binned:
    ``bin <= bin_threshold[i]``); missing values (NaN, or the missing bin) go left iff
    ``missing_go_left[i]``. Leaves have ``left == right == -1`` and ``feature == -1``.
    ``value`` (n_nodes, K) is the node's output already multiplied by the learning rate (the
    leaf values are the predictions; internal nodes hold the value they would have as leaves).
    ``gain`` is the split's loss reduction (0 at leaves), ``cover`` the hessian sum,
    ``n_samples`` the number of training rows, ``depth`` the node depth.
    """

    def __init__(self, missing_bin=255, **arrays):
        self.missing_bin = int(missing_bin)
        for name, dtype in _ARRAYS.items():
            setattr(self, name, np.asarray(arrays[name], dtype=dtype))
        if self.value.ndim == 1:
            self.value = self.value.reshape(-1, 1)

    @property
    def n_nodes(self):
        return self.left.size

    @property
    def n_leaves(self):
        return int(np.count_nonzero(self.left == -1))

    @property
    def n_outputs(self):
        return self.value.shape[1]

    @property
    def max_depth(self):
        return int(self.depth.max(initial=0))

    def apply(self, X, n_threads=None):
        """Leaf node id of each row of X (float ndarray or scipy.sparse), shape (n,)."""
        return apply_forest([self], X, n_threads)[:, 0]

    def apply_binned(self, X_binned, n_threads=None):
        """Leaf node id of each row of the uint8 binned X, shape (n,)."""
        return apply_forest([self], X_binned, n_threads, binned=True)[:, 0]

    def predict(self, X, n_threads=None):
        """Output (n, K) for raw X (float ndarray, NaN = missing, or scipy.sparse)."""
        return predict_forest([self], X, n_threads)

    def predict_binned(self, X_binned, n_threads=None):
        """Output (n, K) for uint8 binned X."""
        return predict_forest([self], X_binned, n_threads, binned=True)

    def decision_path(self, X, n_threads=None):
        """CSR indicator (n, n_nodes) of the nodes each row passes through."""
        leaves = self.apply(X, n_threads)
        parent = np.full(self.n_nodes, -1, dtype=np.int64)
        internal = np.flatnonzero(self.left != -1)
        parent[self.left[internal]] = internal
        parent[self.right[internal]] = internal
        paths = []
        for leaf in range(self.n_nodes):
            path = []
            node = leaf
            while node != -1:
                path.append(node)
                node = parent[node]
            paths.append(np.array(path[::-1], dtype=np.int64))
        lengths = self.depth[leaves].astype(np.int64) + 1
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        indices = np.concatenate([paths[leaf] for leaf in leaves]) if leaves.size else []
        data = np.ones(indptr[-1], dtype=np.int8)
        return sp.csr_matrix((data, indices, indptr), shape=(leaves.size, self.n_nodes))

    def to_dict(self):
        """JSON-able dict (lists and Python scalars only)."""
        d = {name: getattr(self, name).tolist() for name in _ARRAYS}
        d["missing_bin"] = self.missing_bin
        return d

    @classmethod
    def from_dict(cls, d):
        """Inverse of ``to_dict``."""
        arrays = {name: d[name] for name in _ARRAYS}
        value = np.asarray(arrays["value"], dtype=np.float64)
        arrays["value"] = value.reshape(len(d["left"]), -1)
        return cls(missing_bin=d["missing_bin"], **arrays)


def _stack(trees):
    starts = np.zeros(len(trees) + 1, dtype=np.int64)
    starts[1:] = np.cumsum([t.n_nodes for t in trees])
    # Child ids become global so that a walk never leaves its tree's block.
    offsets = np.repeat(starts[:-1], [t.n_nodes for t in trees])
    left = np.concatenate([t.left for t in trees]).astype(np.int64)
    right = np.concatenate([t.right for t in trees]).astype(np.int64)
    internal = left != -1
    left[internal] += offsets[internal]
    right[internal] += offsets[internal]
    stacked = {
        name: np.concatenate([getattr(t, name) for t in trees])
        for name in ("feature", "threshold", "bin_threshold", "missing_go_left")
    }
    return starts, stacked, left, right


def _walk_forest(kernels, trees, X, n_threads, binned, extra):
    """Run one of ``kernels`` (keys "binned", "csr", "dense") over the rows of X.

    Every kernel takes the row data, then the stacked trees' split arrays, then ``extra``
    (the outputs and whatever the kernel writes them from).
    """
    starts, a, left, right = _stack(trees)
    if binned:
        kernel, data = kernels["binned"], (np.asarray(X),)
        split = (a["bin_threshold"], a["missing_go_left"], left, right, trees[0].missing_bin)
    else:
        if sp.issparse(X):
            X = _sorted_csr(X)
            kernel = kernels["csr"]
            data = (X.indptr, X.indices, X.data.astype(np.float64, copy=False))
        else:
            kernel, data = kernels["dense"], (np.ascontiguousarray(X, dtype=np.float64),)
        split = (a["threshold"], a["missing_go_left"], left, right)
    with threads(n_threads):
        parallel_rows(kernel, X.shape[0], *data, starts, a["feature"], *split, *extra)


_APPLY_KERNELS = {"binned": _apply_binned, "csr": _apply_csr, "dense": _apply_dense}
_PREDICT_KERNELS = {"binned": _predict_binned, "csr": _predict_csr, "dense": _predict_dense}


def apply_forest(trees, X, n_threads=None, binned=False):
    """Leaf node ids (n, n_trees) of each row in each tree (ids local to each tree)."""
    out = np.empty((X.shape[0], len(trees)), dtype=np.int64)
    if trees:
        _walk_forest(_APPLY_KERNELS, trees, X, n_threads, binned, (out,))
    return out


def predict_forest(trees, X, n_threads=None, binned=False, tree_output=None, n_outputs=None):
    """Sum of the trees' outputs for X, shape (n, n_outputs).

    By default every tree adds its K values to columns 0..K-1. ``tree_output`` (int, one per
    tree) makes tree t add to columns ``tree_output[t]..tree_output[t]+K-1`` of an output with
    ``n_outputs`` columns (one single-output tree per class in softmax boosting).
    """
    k = trees[0].n_outputs if trees else 1
    if tree_output is None:
        tree_output = np.zeros(len(trees), dtype=np.int64)
    tree_output = np.asarray(tree_output, dtype=np.int64)
    if n_outputs is None:
        n_outputs = int(tree_output.max(initial=0)) + k
    out = np.zeros((X.shape[0], n_outputs))
    if not trees:
        return out
    value = np.concatenate([t.value for t in trees])
    layout = None if sp.issparse(X) else _fixed_depth_layout(trees, binned)
    if layout is None:
        _walk_forest(_PREDICT_KERNELS, trees, X, n_threads, binned, (value, tree_output, out))
        return out
    if binned:
        X, missing = np.ascontiguousarray(X, dtype=np.uint8), np.uint8(trees[0].missing_bin)
    else:
        X, missing = np.ascontiguousarray(X, dtype=np.float64), np.nan
    with threads(n_threads):
        parallel_rows(_predict_fixed, X.shape[0], X, missing, *layout, value, tree_output, out)
    return out


def _sorted_csr(X):
    X = sp.csr_matrix(X)
    if not X.has_sorted_indices:
        X = X.sorted_indices()
    return X
