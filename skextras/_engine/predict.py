"""Forest prediction on a packed node layout: every tree of an ensemble in one record array.

``PackedForest(trees)`` renumbers the internal nodes of all trees into one array of 20-byte
records (``threshold`` float64, ``feature`` int32, ``left`` / ``right`` int32) and moves the
leaves out of it: a child reference ``r >= 0`` is internal node ``r``, ``r < 0`` is leaf
``~r``, whose outputs are row ``~r`` of a dense ``values`` array (leaves only, tree after
tree, each tree's leaves in their original node order). A row's step then reads one record
(one cache line at most) instead of five arrays, and the leaves (half of the nodes) take no
room in the arrays a walk touches. Within a tree the internal nodes are ordered breadth-first
(level by level, left before right): the top levels, which every row passes, share a few
cache lines.

Missing values: ``feature`` holds ``f`` where missing values of feature ``f`` go right and
``~f`` where they go left, so a step needs no extra flag load. A row goes left iff
``x <= threshold`` or (``x`` is NaN and the flag says left): the tests of ``tree.Tree``.

Rows are walked in blocks of ``_BLOCK`` (16,384) rows; each block goes through the trees one
after the other, every row of the block through one tree before the next tree, so a tree's
nodes come into cache once per block (a deep forest does not fit in cache: 256-row blocks
over all trees were 3x slower). Within a tree, ``_LANES`` (16) rows walk at once, one step
each in turn, with a branch-free choice of child: their loads are independent, so the CPU
overlaps the cache misses one row's walk would wait on in series; a row that reaches its leaf
hands its lane to the next row. Threads take row ranges. Every row's outputs are summed over
the trees in tree order from 0.0, exactly as ``tree.predict_forest`` sums them, so the sums
are bit-identical to the per-tree path for every thread count and lane schedule.

One kernel (``_walk``, one signature: X float64 C-contiguous) writes either output: the sum of
the leaf outputs (``predict``; any per-leaf values, e.g. AdaBoost's weighted votes) or an
integer per row and tree (``apply``: the leaf's node id in its tree, or any per-leaf id).
Sparse input keeps the per-tree kernels of ``tree.py`` (binned input too: training only).

Leaf outputs are stored once each: where the leaves have few distinct outputs (classification
forests grown to purity: a few class distributions), ``values`` holds each distinct row once
(compared bit for bit) and ``value_rows`` a uint16 row number per leaf; otherwise one row per
leaf. ``apply``'s node ids are made per call from the trees, not held.

The layout costs about a fifth of the trees' own arrays (20 bytes per internal node and
2 bytes per leaf, or 8 K without distinct rows, against about 58 + 8 K bytes per node; 0.19x
for the flights classification forests, 0.24x for regression forests with distinct leaf
values), is made at the first prediction and cached for the estimator (``packed_forest``),
never saved.
Measured speed: docs/benchmarks.md ("Forest and AdaBoost prediction").
"""

import weakref

import numpy as np
import scipy.sparse as sp

from ._numba import njit, parallel_rows, threads
from .tree import apply_forest, predict_forest

NODE = np.dtype(
    [("threshold", np.float64), ("feature", np.int32), ("left", np.int32), ("right", np.int32)]
)

# Rows a block takes through each tree in turn, and rows walking a tree at once (see above;
# lanes were 2-3x faster than one row at a time on flights forests).
_BLOCK = 16384
_LANES = 16
_NO_SUMS = np.empty((0, 0))
_NO_LEAVES = np.empty((0, 0), dtype=np.int64)
_NO_ROWS = np.empty(0, dtype=np.uint16)
_NO_IDS = np.empty(0, dtype=np.int32)


@njit
def _first_of_each(bits, limit, rows, first):
    """Number the distinct rows of ``bits`` (n, K) uint64 in order of first appearance:
    ``rows[i]`` is row i's number, ``first[j]`` the first row numbered j. Returns the count,
    or -1 as soon as it would exceed ``limit`` (an open-addressing hash table of at least
    twice ``limit`` slots)."""
    n, k = bits.shape
    size = 1
    while size < 2 * limit:
        size *= 2
    slots = np.full(size, -1, dtype=np.int64)
    count = 0
    for i in range(n):
        h = np.uint64(0x9E3779B97F4A7C15)
        for c in range(k):
            h = (h ^ bits[i, c]) * np.uint64(0xBF58476D1CE4E5B9)
            h ^= h >> np.uint64(31)
        s = np.int64(h & np.uint64(size - 1))
        while True:
            j = slots[s]
            if j < 0:
                if count == limit:
                    return -1
                slots[s] = count
                first[count] = i
                rows[i] = count
                count += 1
                break
            same = True
            for c in range(k):
                if bits[first[j], c] != bits[i, c]:
                    same = False
                    break
            if same:
                rows[i] = j
                break
            s = (s + 1) & (size - 1)
    return count


def _distinct_rows(values):
    """(table, rows): each distinct row of ``values`` (n_leaves, K) once, compared bit for bit
    (0.0 and -0.0 stay apart), in order of first appearance, and the uint16 row of the table
    for each leaf (tables of at most 65,535 rows); or (``values``, empty) where the leaves
    have too many distinct outputs for that to save memory (leaf outputs of regression trees
    are mostly distinct; those of classification forests grown to purity are a few class
    distributions)."""
    n, k = values.shape
    # At most n / 8 distinct rows for K = 1 (table and index: <= 5/8 of ``values``' bytes),
    # n / 4 otherwise (<= 1/2 for K = 2, less for more outputs).
    limit = min(n // 8 if k == 1 else n // 4, 65535)
    if n == 0 or limit == 0:
        return values, _NO_ROWS
    bits = np.ascontiguousarray(values).view(np.uint64)
    rows = np.empty(n, dtype=np.uint16)
    first = np.empty(limit, dtype=np.int64)
    count = _first_of_each(bits, limit, rows, first)
    if count < 0:
        return values, _NO_ROWS
    return np.ascontiguousarray(values[first[:count]]), rows


@njit
def _walk(X, nodes, roots, values, value_rows, sums, leaf_ids, leaves, first, last):
    """Walk rows ``first..last-1`` of ``X`` through every tree.

    ``leaves`` empty: ``sums[i] += values[value_rows[leaf]]`` (``values[leaf]`` where
    ``value_rows`` is empty) tree after tree (each row's sum in tree order from the caller's
    zeros). Otherwise ``leaves[t, i] = leaf_ids[leaf]``, the leaf row ``i`` reaches in tree
    ``t`` (tree-major: each tree's writes are consecutive). One kernel for both outputs: one
    compilation.
    """
    write_leaves = leaves.size > 0
    indexed = value_rows.size > 0
    n_out = values.shape[1]
    refs = np.empty(_LANES, dtype=np.int64)
    rows = np.empty(_LANES, dtype=np.int64)
    for block in range(first, last, _BLOCK):
        stop = min(block + _BLOCK, last)
        for t in range(roots.size):
            root = roots[t]
            nxt = block
            active = 0
            for j in range(_LANES):
                # an idle lane: no row (-1) and a leaf reference (-1), so it never steps
                rows[j] = -1
                refs[j] = -1
                if nxt < stop:
                    rows[j] = nxt
                    refs[j] = root
                    nxt += 1
                    active += 1
            while active > 0:
                for j in range(_LANES):
                    ref = refs[j]
                    if ref >= 0:
                        node = nodes[ref]
                        code = node.feature
                        x = X[rows[j], code ^ (code >> 31)]
                        go_left = (x <= node.threshold) | ((x != x) & (code < 0))
                        right = np.int64(node.right)
                        refs[j] = right + (np.int64(node.left) - right) * np.int64(go_left)
                    elif rows[j] >= 0:
                        i = rows[j]
                        if write_leaves:
                            leaves[t, i] = leaf_ids[~ref]
                        else:
                            v = np.int64(value_rows[~ref]) if indexed else ~ref
                            for k in range(n_out):
                                sums[i, k] += values[v, k]
                        if nxt < stop:
                            rows[j] = nxt
                            refs[j] = root
                            nxt += 1
                        else:
                            rows[j] = -1
                            refs[j] = -1
                            active -= 1


@njit
def _pack(starts, left, right, feature, threshold, go_left, thr, code, to_left, to_right, roots):
    """Fill the packed records (field arrays ``thr``, ``code``, ``to_left``, ``to_right``) and
    ``roots`` from the stacked tree arrays (children local to their tree, ``starts`` the
    trees' first nodes): leaves numbered in node order, internal nodes breadth-first."""
    ref = np.empty(left.size, dtype=np.int64)
    n_leaves = 0
    for node in range(left.size):
        if left[node] == -1:
            ref[node] = ~n_leaves
            n_leaves += 1
    queue = np.empty(left.size, dtype=np.int64)
    n_internal = 0
    for t in range(starts.size - 1):
        s = starts[t]
        head = 0
        tail = 0
        if left[s] != -1:
            queue[0] = s
            tail = 1
        while head < tail:
            node = queue[head]
            head += 1
            ref[node] = n_internal + head - 1
            for child in (left[node] + s, right[node] + s):
                if left[child] != -1:
                    queue[tail] = child
                    tail += 1
        for k in range(tail):
            node = queue[k]
            r = n_internal + k
            thr[r] = threshold[node]
            f = feature[node]
            code[r] = ~f if go_left[node] else f
            to_left[r] = ref[left[node] + s]
            to_right[r] = ref[right[node] + s]
        n_internal += tail
        roots[t] = ref[s]


class PackedForest:
    """The trees of an ensemble packed for prediction on dense raw ``X``.

    Parameters
    ----------
    trees : list of skextras._engine.tree.Tree
        Fitted (or loaded and validated) trees, all with the same number of outputs K.

    Attributes
    ----------
    nodes : ndarray of NODE, shape (n_internal,)
        Internal nodes of every tree, tree after tree, each tree breadth-first.
    roots : ndarray of int32, shape (n_trees,)
        Reference of each tree's root (``~leaf`` where the tree is a single leaf).
    values : ndarray of float64, shape (n_values, K)
        Leaf outputs: each distinct one once (rows in bit order) where ``value_rows`` is not
        empty, else one row per leaf (tree after tree, each tree's leaves in their node order).
    value_rows : ndarray of uint16, shape (n_leaves,) or (0,)
        Row of ``values`` of each leaf (packed leaf order), or empty: row ``leaf`` itself.
    """

    def __init__(self, trees):
        self._trees = tuple(trees)
        starts = np.zeros(len(trees) + 1, dtype=np.int64)
        starts[1:] = np.cumsum([t.n_nodes for t in trees])
        left = np.concatenate([t.left for t in trees])
        is_leaf = left == -1
        n_internal = left.size - int(np.count_nonzero(is_leaf))
        self.nodes = np.empty(n_internal, dtype=NODE)
        self.roots = np.empty(len(trees), dtype=np.int32)
        _pack(
            starts,
            left,
            np.concatenate([t.right for t in trees]),
            np.concatenate([t.feature for t in trees]),
            np.concatenate([t.threshold for t in trees]),
            np.concatenate([t.missing_go_left for t in trees]),
            self.nodes["threshold"],
            self.nodes["feature"],
            self.nodes["left"],
            self.nodes["right"],
            self.roots,
        )
        self.values, self.value_rows = _distinct_rows(
            np.concatenate([t.value for t in trees])[is_leaf]
        )

    def built_from(self, trees):
        """Whether this layout was packed from exactly these tree objects, in this order."""
        return len(trees) == len(self._trees) and all(
            a is b for a, b in zip(trees, self._trees, strict=True)
        )

    @property
    def nbytes(self):
        """Bytes held by the packed arrays (the trees' own arrays not counted)."""
        return sum(a.nbytes for a in (self.nodes, self.roots, self.values, self.value_rows))

    def leaf_nodes(self):
        """Original (tree-local) node id of each packed leaf, int32: made for each ``apply``
        (a pass over the trees' ``left`` arrays), not held."""
        leaves = [np.flatnonzero(t.left == -1) for t in self._trees]
        return np.concatenate(leaves).astype(np.int32)

    def predict(self, X, n_threads=None, values=None):
        """Sum over the trees of each row's leaf outputs, shape (n, K), as
        ``tree.predict_forest(trees, X)`` (bit-identical: summed tree by tree from 0.0).

        ``values`` (float64, (n_leaves, K'), rows in packed leaf order, see ``leaf_nodes``)
        replaces the trees' leaf outputs, e.g. by each member's weighted vote; dense X only.
        """
        if values is None:
            if sp.issparse(X):
                return predict_forest(list(self._trees), X, n_threads)
            values, value_rows = self.values, self.value_rows
        else:
            value_rows = _NO_ROWS
        X = np.ascontiguousarray(X, dtype=np.float64)
        values = np.ascontiguousarray(values, dtype=np.float64)
        out = np.zeros((X.shape[0], values.shape[1]))
        self._run(X, n_threads, values, value_rows, out, _NO_IDS, _NO_LEAVES)
        return out

    def _run(self, X, n_threads, values, value_rows, sums, leaf_ids, leaves):
        with threads(n_threads):
            parallel_rows(
                _walk,
                X.shape[0],
                X,
                self.nodes,
                self.roots,
                values,
                value_rows,
                sums,
                leaf_ids,
                leaves,
            )

    def apply(self, X, n_threads=None, leaf_ids=None):
        """Leaf node id (local to each tree) of each row in each tree, int64 (n, n_trees), as
        ``tree.apply_forest(trees, X)``.

        ``leaf_ids`` (int32, (n_leaves,), packed leaf order) replaces the node ids, e.g. by
        ``np.arange(n_leaves)`` for the packed leaf index; dense X only.
        """
        if leaf_ids is None:
            if sp.issparse(X):
                return apply_forest(list(self._trees), X, n_threads)
            leaf_ids = self.leaf_nodes()
        X = np.ascontiguousarray(X, dtype=np.float64)
        out = np.empty((self.roots.size, X.shape[0]), dtype=np.int64)
        self._run(X, n_threads, self.values, self.value_rows, _NO_SUMS, leaf_ids, out)
        # a Fortran-ordered (n, n_trees) view, as scikit-learn's forests return it
        return out.T


# Layouts by estimator, held weakly: a layout lives as long as its estimator, and predict
# leaves the estimator's __dict__ (and so its pickles and clones) as fit left it.
_LAYOUTS = weakref.WeakKeyDictionary()


def packed_forest(owner, trees):
    """The ``PackedForest`` of ``trees`` cached for ``owner`` (an estimator), packed again when
    the trees changed (refit, warm start, a user's edit of ``estimators_``)."""
    packed = _LAYOUTS.get(owner)
    if packed is None or not packed.built_from(trees):
        packed = PackedForest(trees)
        _LAYOUTS[owner] = packed
    return packed
