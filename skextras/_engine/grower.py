"""Grow one tree from binned features, gradients and hessians.

Rows live in one index array; each node owns a contiguous slice of it, which a split partitions
in place (left rows first). Only the smaller child's histogram is built from rows; the larger
one is the parent's minus the smaller's. Depth-wise growth expands nodes level by level (FIFO);
loss-guided growth always expands the open node with the largest gain (best-first), which is
how ``max_leaves`` trees are grown in LightGBM and XGBoost's ``grow_policy="lossguide"``.
Each level is steered from Python here; the common boosting tree, where ``depthwise.applies``,
is grown instead in one numba call that runs the same kernels in the same order (same tree).
"""

import heapq
import math
from dataclasses import dataclass, field

import numba
import numpy as np
from numba import prange

from . import _numba, bundling, depthwise, histogram
from ._numba import cumulative_sizes, njit, parallel_groups, parallel_rows, threads
from .histogram import (
    HIST_WIDTH,
    PAIR_WIDTH,
    build_histograms,
    chunk_scratch,
    subtract_histograms,
)
from .partition import (
    fill_leaf_of_row,
    fill_leaf_of_row_parallel,
    partition_nodes,
    partition_nodes_parallel,
)
from .split import (
    CRITERIA,
    find_splits_range,
    find_splits_range_parallel,
    leaf_weight,
    make_split_params,
)
from .tree import Tree


@dataclass
class TreeParams:
    """Hyper-parameters of one tree (see ENGINE_CONTRACT.md and specs/trees.md)."""

    max_depth: int | None = 6
    max_leaves: int = 0
    grow_policy: str = "depthwise"
    min_child_weight: float = 1.0
    min_samples_leaf: int = 1
    min_samples_split: int = 2
    gamma: float = 0.0
    reg_lambda: float = 1.0
    reg_alpha: float = 0.0
    max_delta_step: float = 0.0
    learning_rate: float = 1.0
    feature_mask: np.ndarray | None = None
    colsample_bylevel: float = 1.0
    colsample_bynode: float = 1.0
    max_features: int | None = None
    splitter: str = "best"
    criterion: str = "newton"
    monotone_constraints: np.ndarray | None = None
    interaction_constraints: list | None = field(default=None)


# A split must reduce the loss by more than this (XGBoost's kRtEps) to be made.
_MIN_GAIN = 1e-6


def _partition_level(
    X, rows, starts, stops, features, bins, missing_left, missing_bin, buffer, bundles=None
):
    """``partition`` of the nodes of one level; returns the left counts (``bundles``: the
    ``FeatureBundles`` of a bundled ``X``).

    Nodes are shared between ``numba.get_num_threads()`` threads in contiguous groups of
    about equal rows (small levels stay on one thread).
    """
    n_left = np.empty(starts.size, dtype=np.int64)
    cumulative = cumulative_sizes(starts, stops)
    if bundles is not None:
        args = (X, rows, starts, stops, features, bins, missing_left, bundles.tables())
        parallel_groups(
            bundling.partition_bundled,
            cumulative,
            *args,
            buffer,
            n_left,
            min_total=_PARALLEL_MIN_ROWS,
            driver=bundling.partition_bundled_parallel,
        )
        return n_left
    args = (X, rows, starts, stops, features, bins, missing_left, missing_bin, buffer, n_left)
    parallel_groups(
        partition_nodes,
        cumulative,
        *args,
        min_total=_PARALLEL_MIN_ROWS,
        driver=partition_nodes_parallel,
    )
    return n_left


# Below this many rows a level is partitioned on one thread: a hand-off to the pool costs
# about 50 us, the work of 50 000 rows.
_PARALLEL_MIN_ROWS = 200_000


# Below this many candidate (node, feature) pairs a level's splits are searched on one thread
# (about 1 us each; a hand-off to the pool costs about 50 us).
_PARALLEL_MIN_CANDIDATES = 256


def _find_best_splits(threaded, hists, slots, features, offsets, rand_u, *args):
    """``find_best_split`` of node i = 0, 1, ... (histogram ``hists[slots[i]]``, candidates
    ``features[offsets[i]:offsets[i + 1]]``, node sums ``stats[i]``; ``args`` are
    ``n_bins_non_missing, missing_bin, stats, params, monotone, lower, upper``); returns the
    per-node gains, features, bins, missing_left flags and left sums (n_nodes, K + 2).

    Nodes are shared between threads in groups of about equal candidate counts, unless
    ``threaded`` is None (``TreeGrower._threaded``).
    """
    n_nodes = slots.size
    stats = args[2]
    out = (
        np.empty(n_nodes),
        np.empty(n_nodes, dtype=np.int64),
        np.empty(n_nodes, dtype=np.int64),
        np.empty(n_nodes, dtype=np.bool_),
        np.empty_like(stats),
    )
    args = (hists, slots, features, offsets, rand_u, *args, *out)
    if threaded is None:
        find_splits_range(*args, 0, n_nodes)
        return out
    parallel_groups(
        find_splits_range,
        offsets,
        *args,
        min_total=_PARALLEL_MIN_CANDIDATES,
        driver=find_splits_range_parallel,
    )
    return out


@njit
def _node_values(stats, lower, upper, params, entropy):
    """Values (n_nodes, K) of nodes from their ``stats`` rows (G_0..G_{K-1}, H, count):
    class frequencies for the entropy criterion, XGBoost's leaf weights otherwise."""
    n_outputs = stats.shape[1] - 2
    value = np.zeros((stats.shape[0], n_outputs))
    for i in range(stats.shape[0]):
        h = stats[i, n_outputs]
        for k in range(n_outputs):
            if entropy:
                value[i, k] = -stats[i, k] / h if h > 0 else 0.0
            else:
                value[i, k] = leaf_weight(stats[i, k], h, params, lower[i], upper[i])
    return value


@njit
def _all_nonzero(values):
    # a count, not an early return: the loop then runs in SIMD lanes (4x faster)
    zeros = 0
    for i in range(np.uint64(values.size)):
        zeros += values[i] == 0.0
    return zeros == 0


def _counts_from_rows(params, hessians, n_outputs):
    """Whether the nodes' row counts can come from their rows, not from the histograms.

    Histograms then hold gradients and hessians only (``PAIR_WIDTH``), XGBoost's own layout:
    for one output, XGBoost's criterion, no random thresholds (drawn among occupied bins), no
    ``min_samples_leaf`` and no inert rows (hessian 0, which the counts leave out). The split
    finder then checks children by their hessian sums alone, as XGBoost does; a positive
    ``min_child_weight`` rejects the one kind of child a count of 1 would have rejected more:
    a side without rows whose subtracted histogram holds rounding residues (``1e-16`` sums).
    The trees are those of counted histograms, to the last bits of the sums.
    """
    return (
        n_outputs == 1
        and params.criterion == "newton"
        and params.splitter == "best"
        and params.min_samples_leaf <= 1
        and params.min_child_weight > 0.0
        and _all_nonzero(hessians)
    )


class _Node:
    __slots__ = (
        "id",
        "start",
        "stop",
        "depth",
        "stats",
        "lower",
        "upper",
        "path_features",
        "hist",
        "split",
        "children",
    )

    def __init__(self, node_id, start, stop, depth, stats, lower, upper, path_features):
        self.id = node_id
        self.start = start
        self.stop = stop
        self.depth = depth
        self.stats = stats
        self.lower = lower
        self.upper = upper
        self.path_features = path_features
        self.hist = None
        self.split = None
        self.children = None


def _check_params(params, n_features, n_outputs):
    if params.grow_policy not in ("depthwise", "lossguide"):
        raise ValueError(
            f"grow_policy must be 'depthwise' or 'lossguide', got {params.grow_policy!r}"
        )
    if params.splitter not in ("best", "random"):
        raise ValueError(f"splitter must be 'best' or 'random', got {params.splitter!r}")
    if params.criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {sorted(CRITERIA)}, got {params.criterion!r}")
    if params.monotone_constraints is not None:
        mono = np.asarray(params.monotone_constraints)
        if mono.shape != (n_features,) or not np.isin(mono, (-1, 0, 1)).all():
            raise ValueError(
                f"monotone_constraints must hold {n_features} values in {{-1, 0, 1}}, got {mono!r}"
            )
        if n_outputs > 1 and np.any(mono != 0):
            raise ValueError("monotone_constraints need single-output trees")


class TreeGrower:
    """Grows one tree; see ``grow_tree``."""

    def __init__(
        self,
        X_binned,
        gradients,
        hessians,
        bin_mapper,
        params,
        rng,
        sample_mask=None,
        n_threads=None,
        X_binned_rows=None,
        workspace=None,
    ):
        self.X = X_binned
        # Histograms read rows, partitions read columns: each gets the order it streams.
        self.X_rows = np.ascontiguousarray(X_binned) if X_binned_rows is None else X_binned_rows
        g = np.asarray(gradients, dtype=np.float64)
        self.gradients = g.reshape(g.shape[0], -1)
        self.hessians = np.ascontiguousarray(hessians, dtype=np.float64)
        self.n_outputs = self.gradients.shape[1]
        self.params = params
        self.rng = rng
        self.n_threads = n_threads
        n, p = X_binned.shape
        # Bundled columns (``bundling``): histograms are built over the columns and expanded
        # to the features, nodes partitioned through the bundles' decode tables.
        self.bundles = None
        if bundling.is_bundled(X_binned, bin_mapper):
            self.bundles = bin_mapper.bundles_
            p = self.bundles.n_features
        _check_params(params, p, self.n_outputs)
        self.n_bins_non_missing = np.asarray(bin_mapper.n_bins_non_missing_, dtype=np.int64)
        self.missing_bin = int(bin_mapper.missing_values_bin_idx_)
        self.bin_thresholds = bin_mapper.bin_thresholds_
        self.n_bins = self.missing_bin + 1
        # bins per feature of the histograms (missing last): fewer for bundled data
        self.hist_bins = self.n_bins if self.bundles is None else self.bundles.n_hist_bins
        self.all_rows = sample_mask is None
        if self.all_rows:
            self.rows = np.arange(n, dtype=np.int32)
        else:
            self.rows = np.flatnonzero(sample_mask).astype(np.int32)
        self.buffer = np.empty(self.rows.size, dtype=np.int32)
        # Rows of the root; a grower whose rows live elsewhere (Dask workers) sets its own.
        self.n_rows = self.rows.size
        base = np.ones(p, dtype=bool) if params.feature_mask is None else params.feature_mask
        self.base_features = np.flatnonzero(base).astype(np.int32)
        self.monotone = np.zeros(p, dtype=np.int8)
        if params.monotone_constraints is not None:
            self.monotone[:] = params.monotone_constraints
        self.constrained = bool(np.any(self.monotone != 0))
        self.interaction_sets = (
            None
            if not params.interaction_constraints
            else [frozenset(int(f) for f in s) for s in params.interaction_constraints]
        )
        self.split_params = make_split_params(params, self.constrained)
        self.max_depth = math.inf if params.max_depth is None else params.max_depth
        self.min_split_rows = max(params.min_samples_split, 2 * params.min_samples_leaf)
        self.min_split_hessian = 2 * params.min_child_weight
        self.min_gain = max(params.gamma, _MIN_GAIN)
        self.level_features = {}
        self.nodes = []
        # Histograms live in one growing store of slots, recycled as nodes close: fresh
        # memory costs a page fault per 4 KiB, more than building a small node's histogram.
        # A caller growing many trees keeps the store in ``workspace`` for the next tree.
        self.counts_from_rows = _counts_from_rows(params, self.hessians, self.n_outputs)
        n_stats = HIST_WIDTH if self.n_outputs == 1 else self.n_outputs + 2
        shape = (p, self.hist_bins, PAIR_WIDTH if self.counts_from_rows else n_stats)
        store = None if workspace is None else workspace.get("hist_store")
        if store is None or store.shape[1:] != shape:
            store = np.empty((0, *shape))
        self.hist_store = store
        self.free_slots = list(range(store.shape[0] - 1, -1, -1))
        self.workspace = workspace
        self.scratch = {} if workspace is None else workspace
        self._leaf_of_row = None

    # -- feature sampling ---------------------------------------------------------------
    def _choose(self, features, k):
        """``np.sort(rng.choice(features, k, replace=False))`` without ``choice``'s overhead:
        legacy ``choice`` without replacement takes the first k of ``rng.permutation``, so
        the draws and the random stream are the same."""
        return np.sort(features[self.rng.permutation(features.size)[:k]])

    def _sample(self, features, fraction):
        if fraction >= 1.0 or features.size == 0:
            return features
        return self._choose(features, max(1, int(fraction * features.size)))

    def _candidate_features(self, node):
        level = self.level_features.get(node.depth)
        if level is None:
            level = self._sample(self.base_features, self.params.colsample_bylevel)
            self.level_features[node.depth] = level
        features = self._sample(level, self.params.colsample_bynode)
        if self.interaction_sets is not None and node.path_features:
            features = self._allowed(features, node.path_features)
        max_features = self.params.max_features
        if max_features is not None and max_features < features.size:
            features = self._choose(features, max_features)
        return features

    def _allowed(self, features, path_features):
        """Candidate ``features`` allowed under the interaction constraints below a path."""
        # XGBoost's rule: features already on the path, plus every feature of each
        # constraint set that contains the whole path.
        allowed = set(path_features)
        for s in self.interaction_sets:
            if path_features <= s:
                allowed |= s
        return np.array([f for f in features if f in allowed], dtype=np.int32)

    # -- histograms and splits --------------------------------------------------------------
    def _take_slots(self, n):
        """``n`` free histogram slots, growing the store fourfold when too few are left.

        Pages of the store that are never written cost nothing, while growing copies the
        store: a large factor makes fewer copies."""
        store = self.hist_store
        missing = n - len(self.free_slots)
        if missing > 0:
            capacity = max(4 * store.shape[0], store.shape[0] + missing)
            self.hist_store = np.empty((capacity, *store.shape[1:]))
            self.hist_store[: store.shape[0]] = store
            self.free_slots.extend(range(capacity - 1, store.shape[0] - 1, -1))
            if self.workspace is not None:
                self.workspace["hist_store"] = self.hist_store
        return [self.free_slots.pop() for _ in range(n)]

    def _build_hists(self, nodes, sums=None):
        """Histograms of ``nodes`` from their rows, in one batch (``sums``: see
        ``build_histograms``)."""
        if not nodes:
            return
        slots = self._take_slots(len(nodes))
        # The root of a tree on all rows has rows 0..n-1: no index array to read.
        root = self.all_rows and len(nodes) == 1 and nodes[0].id == 0
        slots = np.array(slots, dtype=np.int64)
        # bundled data: histograms of the columns, then expanded to the features
        features, n_used, store, built = self.base_features, self.n_bins_non_missing, None, slots
        if self.bundles is not None:
            features, _ = self.bundles.columns_of(self.base_features)
            n_used = self.bundles.column_n_used
            store, built = self._column_store(len(nodes)), np.arange(len(nodes), dtype=np.int64)
        build_histograms(
            self.X,
            None if root else self.rows,
            [node.start for node in nodes],
            [node.stop for node in nodes],
            self.gradients,
            self.hessians,
            features,
            n_used,
            self.hist_store if store is None else store,
            built,
            self.X_rows,
            sums,
            self.scratch,
        )
        if store is not None:
            bundling.expand_histograms(
                store, built, self.hist_store, slots, self.base_features, self.bundles.tables()
            )
        for node, slot in zip(nodes, slots.tolist(), strict=True):
            node.hist = slot

    def _column_store(self, n_nodes):
        """Histograms of ``n_nodes`` nodes over the bundled columns, kept in the scratch."""
        b = self.bundles
        shape = (b.n_columns, b.column_bins, self.hist_store.shape[3])
        store = self.scratch.get("bundle_hists")
        if store is None or store.shape[0] < n_nodes or store.shape[1:] != shape:
            store = np.empty((n_nodes, *shape))
            self.scratch["bundle_hists"] = store
        return store

    def _can_split(self, node):
        stats = node.stats
        return (
            node.depth < self.max_depth
            and stats[-1] >= self.min_split_rows
            and stats[-2] >= self.min_split_hessian
        )

    def _find_splits(self, nodes):
        """Best splits of ``nodes`` (histograms built) in one numba call; each node's candidate
        features (and random thresholds) are drawn in turn, in the order of ``nodes``."""
        if not nodes:
            return
        random = self.params.splitter == "random"
        features, rand_u = [], []
        for node in nodes:
            features.append(self._candidate_features(node))
            if random:
                rand_u.append(self.rng.random_sample(features[-1].size))
        offsets = np.zeros(len(nodes) + 1, dtype=np.int64)
        np.cumsum([f.size for f in features], out=offsets[1:])
        gains, best_features, bins, missing_left, lefts = _find_best_splits(
            self._threaded(),
            self.hist_store,
            np.array([node.hist for node in nodes], dtype=np.int64),
            np.concatenate(features).astype(np.int32),
            offsets,
            np.concatenate(rand_u) if random else np.empty(0),
            self.n_bins_non_missing,
            self.hist_bins - 1,
            np.array([node.stats for node in nodes]),
            self.split_params,
            self.monotone,
            np.array([node.lower for node in nodes]),
            np.array([node.upper for node in nodes]),
        )
        for i, node in enumerate(nodes):
            gain = float(gains[i])
            if gain > self.min_gain and math.isfinite(gain):
                split = (gain, int(best_features[i]), int(bins[i]), bool(missing_left[i]))
                node.split = (*split, lefts[i])

    def _release_hist(self, node):
        if node.hist is not None:
            self.free_slots.append(node.hist)
        node.hist = None

    # -- growth ---------------------------------------------------------------------------
    def _make_node(self, start, stop, depth, stats, lower, upper, path_features):
        node = _Node(len(self.nodes), start, stop, depth, stats, lower, upper, path_features)
        self.nodes.append(node)
        return node

    def _weights(self, stats, lower, upper):
        k = self.n_outputs
        if self.params.criterion == "entropy":
            h = stats[k]
            return -stats[:k] / h if h > 0 else np.zeros(k)
        return np.array(
            [leaf_weight(stats[j], stats[k], self.split_params, lower, upper) for j in range(k)]
        )

    def _split_nodes(self, nodes):
        """Partition the rows of ``nodes`` by their splits and create their children."""
        n_left = _partition_level(
            self.X,
            self.rows,
            np.array([node.start for node in nodes], dtype=np.int64),
            np.array([node.stop for node in nodes], dtype=np.int64),
            np.array([node.split[1] for node in nodes], dtype=np.int64),
            np.array([node.split[2] for node in nodes], dtype=np.uint8),
            np.array([node.split[3] for node in nodes], dtype=np.bool_),
            self.missing_bin,
            self.buffer,
            self.bundles,
        )
        return [
            (node, *self._make_children(node, k))
            for node, k in zip(nodes, n_left.tolist(), strict=True)
        ]

    def _make_children(self, node, n_left):
        _, feature, _, _, left_stats = node.split
        if self.counts_from_rows:
            left_stats[-1] = n_left
        right_stats = node.stats - left_stats
        lower_l, upper_l, lower_r, upper_r = node.lower, node.upper, node.lower, node.upper
        c = self.monotone[feature] if self.constrained else 0
        if c != 0:
            w_l = self._weights(left_stats, node.lower, node.upper)[0]
            w_r = self._weights(right_stats, node.lower, node.upper)[0]
            mid = (w_l + w_r) / 2.0
            if c > 0:
                upper_l, lower_r = mid, mid
            else:
                lower_l, upper_r = mid, mid
        # Paths matter only to interaction constraints: skip the per-node set otherwise.
        path = node.path_features
        if self.interaction_sets is not None:
            path = path | {feature}
        mid_row = node.start + n_left
        left = self._make_node(
            node.start, mid_row, node.depth + 1, left_stats, lower_l, upper_l, path
        )
        right = self._make_node(
            mid_row, node.stop, node.depth + 1, right_stats, lower_r, upper_r, path
        )
        node.children = (left.id, right.id)
        return left, right

    def _prepare_children(self, splits):
        """Histograms and best splits of the children of ``splits`` [(parent, left, right)].

        The smaller child of each split is built from its rows (all of them in one batch),
        the larger one, if it may split, as parent minus smaller, in the parent's slot.
        """
        built, subtracted = [], []
        for parent, left, right in splits:
            need = [child for child in (left, right) if self._can_split(child)]
            if need:
                left_smaller = left.stop - left.start <= right.stop - right.start
                small, large = (left, right) if left_smaller else (right, left)
                built.append(small)
                if large in need:
                    subtracted.append((parent, small, large))
                    continue
            self._release_hist(parent)
        self._build_hists(built)
        subtract_histograms(
            self.hist_store,
            np.array([parent.hist for parent, _, _ in subtracted], dtype=np.int64),
            np.array([small.hist for _, small, _ in subtracted], dtype=np.int64),
            self.base_features,
            self.n_bins_non_missing,
        )
        for parent, _, large in subtracted:
            large.hist, parent.hist = parent.hist, None
        self._find_splits(
            [
                child
                for _, left, right in splits
                for child in (left, right)
                if child.hist is not None and self._can_split(child)
            ]
        )
        for _, left, right in splits:
            for child in (left, right):
                if child.split is None:
                    self._release_hist(child)

    def _one_call(self):
        """Whether ``grow`` hands the whole tree to ``depthwise.grow_depthwise``."""
        applies = depthwise.applies(
            self.params, self.n_outputs, self.counts_from_rows, self.constrained
        )
        # numba's threads are reached from numba code only where they are native
        return applies and self._threaded() is not False

    def _threaded(self):
        """``_numba.threaded`` of this tree: None (serial kernels only) below
        ``histogram._PARALLEL_MIN_CELLS`` (row, feature) cells, where no step of the tree is
        worth sharing between threads; split searches of many small nodes then run on one
        thread too."""
        cells = self.rows.size * self.base_features.size
        return _numba.threaded(cells, histogram._PARALLEL_MIN_CELLS)

    def grow(self):
        if self._one_call():
            return self._grow_one_call()
        p = self.params
        stats = np.empty(self.n_outputs + 2)
        root = self._make_node(0, self.n_rows, 0, stats, -np.inf, np.inf, frozenset())
        # The root's sums come with its histogram (one pass over the rows, not two), added
        # chunk by chunk as the histogram's bins: the same with or without ``sample_mask``.
        self._build_hists([root], sums=stats)
        if self._can_split(root):
            self._find_splits([root])
        else:
            self._release_hist(root)
        lossguide = p.grow_policy == "lossguide"
        open_nodes = []
        counter = 0

        def push(node):
            nonlocal counter
            if node.split is not None:
                key = -node.split[0] if lossguide else 0.0
                heapq.heappush(open_nodes, (key, counter, node))
                counter += 1

        push(root)
        n_leaves = 1
        while open_nodes:
            budget = p.max_leaves - n_leaves if p.max_leaves else len(open_nodes)
            if budget <= 0:
                break
            # Depth-wise growth splits a whole level at once (one batch of histograms).
            batch = [heapq.heappop(open_nodes)[2]]
            while (
                not lossguide
                and open_nodes
                and len(batch) < budget
                and open_nodes[0][2].depth == batch[0].depth
            ):
                batch.append(heapq.heappop(open_nodes)[2])
            splits = self._split_nodes(batch)
            n_leaves += len(splits)
            self._prepare_children(splits)
            for _, left, right in splits:
                push(left)
                push(right)
        for _, _, node in open_nodes:
            node.split = None
            self._release_hist(node)
        return self._to_tree()

    def _to_tree(self):
        nodes = self.nodes
        n = len(nodes)
        feature = np.full(n, -1, dtype=np.int32)
        bin_threshold = np.zeros(n, dtype=np.uint8)
        missing_go_left = np.zeros(n, dtype=bool)
        left = np.full(n, -1, dtype=np.int32)
        right = np.full(n, -1, dtype=np.int32)
        gain = np.zeros(n)
        stats = np.array([nd.stats for nd in nodes])
        value = _node_values(
            stats,
            np.array([nd.lower for nd in nodes]),
            np.array([nd.upper for nd in nodes]),
            self.split_params,
            self.params.criterion == "entropy",
        )
        for node in nodes:
            if node.children is not None:
                g, f, b, ml, _ = node.split
                feature[node.id] = f
                bin_threshold[node.id] = b
                missing_go_left[node.id] = ml
                left[node.id], right[node.id] = node.children
                gain[node.id] = g
        depth = np.array([nd.depth for nd in nodes], dtype=np.int32)
        return self._make_tree(feature, bin_threshold, missing_go_left, left, right, gain, stats,
                               depth, value)  # fmt: skip

    def _make_tree(self, feature, bin_threshold, missing_go_left, left, right, gain, stats, depth,
                   value):  # fmt: skip
        """The ``Tree`` of these node arrays (``stats``: G_0..G_{K-1}, H, count; ``value``
        before the learning rate): thresholds are the split bins' upper edges."""
        k = self.n_outputs
        threshold = np.zeros(feature.size)
        for i in np.flatnonzero(feature >= 0).tolist():
            thresholds = self.bin_thresholds[feature[i]]
            b = bin_threshold[i]
            threshold[i] = thresholds[b] if b < thresholds.size else np.inf
        return Tree(
            missing_bin=self.missing_bin,
            feature=feature,
            threshold=threshold,
            bin_threshold=bin_threshold,
            missing_go_left=missing_go_left,
            left=left,
            right=right,
            value=value * self.params.learning_rate,
            gain=gain,
            cover=stats[:, k].copy(),
            n_samples=stats[:, k + 1].astype(np.int64),
            depth=depth,
        )

    def _grow_one_call(self):
        """The tree ``grow`` makes, grown by ``depthwise.grow_depthwise`` in one numba call."""
        p = self.hist_store.shape[1]
        threaded = self._threaded()
        limits = depthwise.Limits(
            numba.get_num_threads(),
            histogram.CHUNK_ROWS,
            _PARALLEL_MIN_ROWS,
            _PARALLEL_MIN_CANDIDATES,
            histogram._PARALLEL_MIN_CELLS,
        )
        self._leaf_of_row = np.full(self.X.shape[0], -1, dtype=np.int32)
        out = depthwise.grow_depthwise(
            self.X,
            self.X_rows,
            self.gradients,
            self.hessians,
            self.rows,
            self.buffer,
            self.all_rows,
            self.base_features,
            self.base_features.size == p,
            self.n_bins_non_missing,
            self.hist_bins - 1,
            self.split_params,
            self.params.max_depth,
            self.min_split_rows,
            float(self.min_split_hessian),
            float(self.min_gain),
            self.hist_store,
            chunk_scratch(self.scratch, self.rows.size, self._built_shape()),
            limits,
            self._leaf_of_row,
            threaded,
            self._bundle_args(),
        )
        self.hist_store = out[0]
        if self.workspace is not None:
            self.workspace["hist_store"] = out[0]
        return self._make_tree(*out[1:])

    def _built_shape(self):
        """Shape of one histogram built from rows: of the features, or of the bundled
        columns."""
        if self.bundles is None:
            return self.hist_store.shape[1:]
        n_stats = self.hist_store.shape[3]
        return (self.bundles.n_columns, self.bundles.column_bins, n_stats)

    def _bundle_args(self):
        """``depthwise.grow_depthwise``'s ``bundles`` argument: None, or the decode tables and
        the columns of the candidate features."""
        if self.bundles is None:
            return None
        return (self.bundles.tables(), *self.bundles.columns_of(self.base_features))

    def leaf_of_row(self):
        """Leaf id of every training row used (-1 for rows outside ``sample_mask``)."""
        if self._leaf_of_row is not None:
            return self._leaf_of_row
        leaves = [nd for nd in self.nodes if nd.children is None]
        out = np.full(self.X.shape[0], -1, dtype=np.int32)
        starts = np.array([nd.start for nd in leaves], dtype=np.int64)
        stops = np.array([nd.stop for nd in leaves], dtype=np.int64)
        ids = np.array([nd.id for nd in leaves], dtype=np.int32)
        cumulative = cumulative_sizes(starts, stops)
        args = (self.rows, starts, stops, ids, out)
        parallel_groups(
            fill_leaf_of_row,
            cumulative,
            *args,
            min_total=_PARALLEL_MIN_ROWS,
            driver=fill_leaf_of_row_parallel,
        )
        return out


@njit
def _add_leaf_values(raw, k, leaf_of_row, value, first, last):
    for i in range(first, last):
        raw[i, k] += value[leaf_of_row[i], 0]


@njit(parallel=True)
def _add_leaf_values_parallel(bounds, *args):
    """``_add_leaf_values`` over the ranges of ``bounds``, one a thread (``run_ranges``)."""
    for t in prange(bounds.size - 1):
        _add_leaf_values(*args, bounds[t], bounds[t + 1])


def add_leaf_values(raw, k, leaf_of_row, value):
    """``raw[:, k] += value[leaf_of_row, 0]`` (every row in a leaf) on threads, without the
    temporaries of the numpy expression; the sums are the same."""
    parallel_rows(
        _add_leaf_values,
        raw.shape[0],
        raw,
        k,
        leaf_of_row,
        value,
        min_rows=50_000,
        driver=_add_leaf_values_parallel,
    )


def grow_tree(
    X_binned,
    gradients,
    hessians,
    bin_mapper,
    params,
    rng,
    sample_mask=None,
    n_threads=None,
    return_leaf_of_row=False,
    X_binned_rows=None,
    workspace=None,
):
    """Grow one tree (see ENGINE_CONTRACT.md).

    Parameters
    ----------
    X_binned : uint8 ndarray (n, p), Fortran order, from ``bin_mapper.transform``.
    gradients : float64 (n,) or (n, K); hessians : float64 (n,), sample weights multiplied in.
    bin_mapper : fitted BinMapper; params : TreeParams; rng : numpy RandomState.
    sample_mask : bool (n,) or None, rows to use.
    n_threads : threads for the numba kernels (``n_jobs`` semantics).
    return_leaf_of_row : also return the leaf id of every row used (int32 (n,), -1 elsewhere),
        which saves boosting a prediction pass over the training data.
    X_binned_rows : ``np.ascontiguousarray(X_binned)``, if the caller grows many trees on
        the same data (made per tree otherwise).
    workspace : dict or None; the same dict passed for every tree of an ensemble keeps the
        histogram memory between trees (fresh memory costs a page fault per 4 KiB).

    Returns
    -------
    Tree, or (Tree, leaf_of_row).
    """
    with threads(n_threads):
        grower = TreeGrower(
            X_binned,
            gradients,
            hessians,
            bin_mapper,
            params,
            rng,
            sample_mask,
            n_threads,
            X_binned_rows,
            workspace,
        )
        tree = grower.grow()
        if return_leaf_of_row:
            return tree, grower.leaf_of_row()
    return tree
