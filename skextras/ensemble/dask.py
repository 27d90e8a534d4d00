"""The second-order booster on a Dask ``distributed`` cluster, with the local booster's trees.

Algorithm
---------
The training rows stay on the workers that hold their partitions. Each worker joins its
partitions (in partition order) into one block and keeps it in its process: the raw features
until they are binned, then the binned features, targets, weights, gradients and raw scores.
The client runs the local booster's loop (``_BaseNewtonBoosting._run_rounds``) and its
level-by-level tree driver (``_engine.grower.TreeGrower``) with two steps replaced:

* histograms of a batch of nodes: every block builds the histograms of its rows
  (``_engine.histogram.build_histograms``); the blocks' histograms are summed by a tree
  reduction of Dask tasks (pairwise sums, on the workers), and the client receives the sum,
  subtracts siblings and finds the splits with the local code, once;
* splitting a batch of nodes: the client sends each node's (feature, bin, missing direction),
  every block partitions its rows (``_engine.grower._partition_level``) and returns its
  left-row counts, summed in the same way.

Gradients, hessians, raw scores and rows never leave their worker. Per tree level the network
carries one histogram per built node and worker (``p * max_bin * 2`` float64, or 4 columns
when the tree needs per-bin counts) and a few integers per node.

Bin edges are exact, the local booster's own: the local ``BinMapper`` computes XGBoost-style
weighted quantiles of 200 000 rows (of positive weight) drawn with a seeded ``RandomState``.
The client draws the same row positions (it needs only each partition's count of such rows),
each block sends the drawn rows' values and weights, and the client fits the same
``BinMapper`` on them. A mergeable sketch would give edges close to these but not equal,
hence trees that differ from the local booster's. Cost: the sample (at most
``200 000 * p`` float64, 45 MB at p = 28) and, on the client, the permutation of the eligible
row positions that ``RandomState.choice`` draws (8 bytes per row).

Invariants: on the same data (rows in partition order) with the same parameters, the trees
are the local booster's: the same features, bins and missing directions; node sums and leaf
values differ only by the order of floating-point additions (about 1e-12 relative). The
histogram sums are added in a fixed order, so a fit is deterministic given ``random_state``.

Failures: tasks on a block are pinned to its worker (loosely: if the worker is gone, they run
elsewhere). A task that does not find its block raises ``RuntimeError`` naming the lost
block, so a worker lost during ``fit`` stops the fit with that error; it never goes on with
fewer rows.

Not supported (``ValueError`` in ``fit``): ``subsample < 1`` (the round's row draw is a
stream over all rows), ``reg:absoluteerror`` (median leaf values) and, without
``base_score``, ``reg:pseudohubererror`` (median start); sparse partitions.
"""

import inspect
import uuid

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._engine._numba import threads
from .._engine.binning import BinMapper
from .._engine.grower import TreeGrower, _partition_level, add_leaf_values
from .._engine.histogram import build_histograms
from .._engine.objectives import AbsoluteError, Custom, Objective, Softmax
from ._base import resolve_n_threads
from ._newton_boosting import (
    NewtonBoostingClassifier,
    NewtonBoostingRegressor,
    _as_random_state,
)

__all__ = ["DaskNewtonBoostingClassifier", "DaskNewtonBoostingRegressor"]


def _import_distributed():
    try:
        import dask  # noqa: F401
        import distributed
    except ImportError as exc:
        raise ImportError(
            'The Dask estimators need dask and distributed: pip install "skextras[dask]"'
        ) from exc
    return distributed


# -- worker side: the blocks of this process, by (fit key, block index) ---------------------
_BLOCKS = {}


def _block(key):
    try:
        return _BLOCKS[key]
    except KeyError:
        raise RuntimeError(
            f"training block {key[1]} of Dask fit {key[0]} is not on this worker: the worker "
            "that held it was lost during fit (its rows are gone); fit again"
        ) from None


def _stack(parts, name):
    """The partitions joined; numbers as float64, checked finite (X: NaN allowed)."""
    out = np.concatenate([np.asarray(part) for part in parts]) if parts else np.empty(0)
    if name == "y" and out.dtype.kind not in "biuf":
        return out  # class labels
    out = out.astype(np.float64, copy=False)
    finite = np.isfinite(out[~np.isnan(out)]) if name == "X" else np.isfinite(out)
    if not finite.all():
        raise ValueError(f"{name} contains {'infinity' if name == 'X' else 'NaN or infinity'}")
    return out


def _load(key, xs, ys, ws, n_features):
    """Join a worker's partitions into block ``key``; returns the partitions' row counts and
    counts of rows of positive weight."""
    sizes = [len(x) for x in xs]
    X = _stack(xs, "X").reshape(sum(sizes), n_features)
    y = _stack(ys, "y")
    w = None if ws is None else _stack(ws, "sample_weight")
    for name, values in (("y", y), ("sample_weight", w)):
        if values is not None and values.size != X.shape[0]:
            raise ValueError(
                f"{name} has {values.size} values in partitions of X with {X.shape[0]} rows; "
                "give X and y (and sample_weight) the same row partitions"
            )
    if w is not None and np.any(w < 0):
        raise ValueError("sample_weight has negative values")
    _BLOCKS[key] = {"X": X, "y": y, "w": w, "w_grad": w, "sizes": sizes}
    if w is None:
        return sizes, sizes
    bounds = np.cumsum([0, *sizes])
    return sizes, [int(np.count_nonzero(w[a:b] > 0)) for a, b in zip(bounds, bounds[1:])]


def _labels(key):
    return np.unique(_block(key)["y"])


def _float_targets(key):
    b = _block(key)
    if b["y"].dtype.kind not in "biuf":
        raise ValueError(f"y must be numeric for a regressor, got dtype {b['y'].dtype}")
    b["y"] = b["y"].astype(np.float64)


def _encode(key, classes, scale_pos_weight):
    """Class indices as targets; positive rows' gradient weights times ``scale_pos_weight``."""
    b = _block(key)
    b["y"] = np.searchsorted(classes, b["y"]).astype(np.float64)
    if scale_pos_weight != 1.0:
        base = np.ones(b["y"].size) if b["w"] is None else b["w"]
        b["w_grad"] = np.where(b["y"] == 1, base * scale_pos_weight, base)
        if b["w"] is None:
            # as the local booster: without sample weights, these weight the bin quantiles
            b["w"] = b["w_grad"]


def _target_sums(key, objective):
    """(sum w y, sum w), or per-class weights then sum w for softmax; validates the targets."""
    b = _block(key)
    y, w = b["y"], b["w_grad"]
    objective.validate_target(y)
    w = np.ones(y.size) if w is None else w
    if isinstance(objective, Softmax):
        counts = np.bincount(y.astype(np.intp), weights=w, minlength=objective.n_outputs)
        return np.append(counts, w.sum())
    return np.array([np.dot(w, y), w.sum()])


def _sample(key, picks):
    """The rows ``picks[i]`` (positions among the rows of positive weight) of partition i."""
    b = _block(key)
    starts = np.cumsum([0, *b["sizes"]])
    rows = []
    for start, stop, pick in zip(starts, starts[1:], picks):
        eligible = (
            np.arange(start, stop)
            if b["w"] is None
            else start + np.flatnonzero(b["w"][start:stop] > 0)
        )
        rows.append(eligible[pick])
    rows = np.concatenate(rows).astype(np.intp)
    return b["X"][rows], None if b["w"] is None else b["w"][rows]


def _bin(key, bin_mapper, init_margin, n_jobs):
    b = _block(key)
    bin_mapper.n_threads = resolve_n_threads(n_jobs)
    b["X_binned"] = bin_mapper.transform(b.pop("X"))
    b["X_rows"] = np.ascontiguousarray(b["X_binned"])
    b["raw"] = np.tile(init_margin, (b["y"].size, 1))
    b["scratch"] = {}


def _gradients(key, objective, n_jobs):
    """Gradients and hessians at the raw scores; returns, per output, whether every hessian
    is non-zero (the grower's histogram layout depends on it)."""
    b = _block(key)
    n, k_out = b["raw"].shape
    if n == 0:
        b["g"] = b["h"] = np.empty((0, k_out))
        return np.ones(k_out, dtype=bool)
    margin = b["raw"][:, 0] if k_out == 1 else b["raw"]
    with threads(resolve_n_threads(n_jobs)):
        g, h = objective.gradient_hessian(b["y"], margin, b["w_grad"])
    b["g"] = g.reshape(n, k_out)
    b["h"] = h.reshape(n, k_out)
    return np.all(b["h"] != 0, axis=0)


def _build(key, k, nodes, features, n_bins_non_missing, shape, root, n_jobs):
    """Histograms (len(nodes), *shape) of the block's rows in ``nodes``, and the root's sums
    (gradient, hessian, count) when ``root`` (which starts a tree for output k)."""
    b = _block(key)
    n = b["y"].size
    if root:
        b["rows"] = np.arange(n, dtype=np.int32)
        b["buffer"] = np.empty(n, dtype=np.int32)
        b["ranges"] = {0: (0, n)}
        b["gk"] = np.ascontiguousarray(b["g"][:, k : k + 1])
        b["hk"] = np.ascontiguousarray(b["h"][:, k])
    hists = np.zeros((len(nodes), *shape))
    sums = np.zeros(3)
    ranges = [b["ranges"][node] for node in nodes]
    used = [j for j, (start, stop) in enumerate(ranges) if stop > start]
    if used:
        with threads(resolve_n_threads(n_jobs)):
            build_histograms(
                b["X_binned"],
                b["rows"],
                [ranges[j][0] for j in used],
                [ranges[j][1] for j in used],
                b["gk"],
                b["hk"],
                features,
                n_bins_non_missing,
                hists,
                np.array(used, dtype=np.int64),
                b["X_rows"],
                sums if root else None,
                b["scratch"],
            )
    return hists, sums


def _split(key, nodes, features, bins, missing_left, first_child, missing_bin, n_jobs):
    """Partition the block's rows of ``nodes``; children get ids first_child + 2i (left) and
    first_child + 2i + 1; returns the left-row counts."""
    b = _block(key)
    ranges = [b["ranges"][node] for node in nodes]
    starts = np.array([r[0] for r in ranges], dtype=np.int64)
    stops = np.array([r[1] for r in ranges], dtype=np.int64)
    if b["y"].size == 0:
        n_left = np.zeros(len(nodes), dtype=np.int64)
    else:
        with threads(resolve_n_threads(n_jobs)):
            n_left = _partition_level(
                b["X_binned"], b["rows"], starts, stops, features, bins, missing_left,
                missing_bin, b["buffer"],
            )  # fmt: skip
    for i, (start, stop, left) in enumerate(zip(starts, stops, n_left)):
        b["ranges"][first_child + 2 * i] = (int(start), int(start + left))
        b["ranges"][first_child + 2 * i + 1] = (int(start + left), int(stop))
    return n_left


def _add_tree(key, k, leaves, value, n_jobs):
    """Add a tree's leaf values to the raw scores of output k of the block's rows."""
    b = _block(key)
    leaf_of_row = np.full(b["y"].size, -1, dtype=np.int32)
    for leaf in leaves:
        start, stop = b["ranges"][leaf]
        leaf_of_row[b["rows"][start:stop]] = leaf
    with threads(resolve_n_threads(n_jobs)):
        add_leaf_values(b["raw"], k, leaf_of_row, value)


def _add(a, b):
    return tuple(x + y for x, y in zip(a, b))


def _drop(key):
    for name in [name for name in _BLOCKS if name[0] == key]:
        del _BLOCKS[name]


# -- client side ------------------------------------------------------------------------------
class _Blocks:
    """The blocks of one fit: one per worker holding partitions of X."""

    def __init__(self, client, workers, n_jobs):
        self.client = client
        self.workers = workers
        self.key = uuid.uuid4().hex
        self.n_jobs = n_jobs

    def submit(self, func, *args, per_block=None):
        """``func((key, i), *args[, per_block[i]])`` on block i's worker, for every block."""
        return [
            self.client.submit(
                func,
                (self.key, i),
                *args,
                *(() if per_block is None else (per_block[i],)),
                workers=[worker],
                allow_other_workers=True,
                pure=False,
            )
            for i, worker in enumerate(self.workers)
        ]

    def gather(self, func, *args, per_block=None):
        return self.client.gather(self.submit(func, *args, per_block=per_block))

    def sum(self, func, *args):
        """Sum of ``func``'s results over the blocks, by a tree reduction of Dask tasks (in a
        fixed pairing order, so the floating-point sums do not depend on timing)."""
        futures = self.submit(func, *args)
        while len(futures) > 1:
            pairs = [
                self.client.submit(_add, a, b, pure=False)
                for a, b in zip(futures[0::2], futures[1::2])
            ]
            futures = pairs + futures[len(pairs) * 2 :]
        return futures[0].result()

    def drop(self):
        self.client.run(_drop, self.key)


class _DaskGrower(TreeGrower):
    """``TreeGrower`` whose rows are the blocks' rows: histograms and partitions are asked
    of the workers; everything else (sampling, subtraction, split search) is the local code.
    Node ranges on the client are global row counts, which pick the same smaller child."""

    def __init__(self, blocks, k, n_rows, nonzero_hessians, bin_mapper, params, rng, workspace):
        p = len(bin_mapper.bin_thresholds_)
        super().__init__(
            np.empty((0, p), dtype=np.uint8, order="F"),
            # one stand-in row: the single output, and the histogram layout of the hessians
            np.zeros((1, 1)),
            np.array([1.0 if nonzero_hessians else 0.0]),
            bin_mapper,
            params,
            rng,
            workspace=workspace,
        )
        self.blocks = blocks
        self.k = k
        self.n_rows = n_rows

    def _one_call(self):
        return False

    def _build_hists(self, nodes, sums=None):
        if not nodes:
            return
        hists, root_sums = self.blocks.sum(
            _build,
            self.k,
            [node.id for node in nodes],
            self.base_features,
            self.n_bins_non_missing,
            self.hist_store.shape[1:],
            sums is not None,
            self.blocks.n_jobs,
        )
        slots = self._take_slots(len(nodes))
        self.hist_store[slots] = hists
        for node, slot in zip(nodes, slots, strict=True):
            node.hist = slot
        if sums is not None:
            sums[:] = root_sums

    def _split_nodes(self, nodes):
        (n_left,) = self.blocks.sum(
            _split_counts,
            [node.id for node in nodes],
            np.array([node.split[1] for node in nodes], dtype=np.int64),
            np.array([node.split[2] for node in nodes], dtype=np.uint8),
            np.array([node.split[3] for node in nodes], dtype=np.bool_),
            len(self.nodes),
            self.missing_bin,
            self.blocks.n_jobs,
        )
        return [
            (node, *self._make_children(node, k))
            for node, k in zip(nodes, n_left.tolist(), strict=True)
        ]


def _split_counts(key, *args):
    return (_split(key, *args),)


class _DaskRounds:
    """The blocks as ``_run_rounds`` sees training rows (``_newton_boosting._LocalRounds``)."""

    def __init__(self, blocks, objective, bin_mapper, shape):
        self.blocks = blocks
        self.objective = objective
        self.bin_mapper = bin_mapper
        self.shape = shape
        self.workspace = {}

    def start_round(self, rng):
        flags = self.blocks.gather(_gradients, self.objective, self.blocks.n_jobs)
        self.nonzero = np.all(flags, axis=0)

    def grow(self, k, params, rng):
        grower = _DaskGrower(
            self.blocks,
            k,
            self.shape[0],
            bool(self.nonzero[k]),
            self.bin_mapper,
            params,
            rng,
            self.workspace,
        )
        with threads(resolve_n_threads(self.blocks.n_jobs)):
            tree = grower.grow()
        leaves = np.flatnonzero(tree.left == -1)
        self.blocks.gather(_add_tree, k, leaves, tree.value, self.blocks.n_jobs)
        return tree


def _is_array(collection):
    import dask.array as da

    return isinstance(collection, da.Array)


def _n_partitions(collection):
    return len(collection.chunks[0]) if _is_array(collection) else collection.npartitions


def _partitions(collection, name):
    """Delayed partitions (in row order) of a dask array, DataFrame or Series."""
    if _is_array(collection):
        if collection.ndim == 2:
            collection = collection.rechunk({1: -1})
        return list(collection.to_delayed().ravel())
    if hasattr(collection, "to_delayed") and hasattr(collection, "npartitions"):
        return list(collection.to_delayed())
    raise TypeError(
        f"{name} must be a dask array, DataFrame or Series, got {type(collection).__name__}"
    )


def _align(X, other, name):
    """``other`` rechunked to X's row chunks (dask arrays), or checked to have X's number of
    partitions (DataFrames)."""
    if other is None:
        return None
    if _is_array(X) and _is_array(other):
        if other.ndim != 1:
            raise ValueError(f"{name} must be 1-dimensional, got shape {other.shape}")
        return other.rechunk({0: X.chunks[0]})
    if _n_partitions(other) != _n_partitions(X):
        raise ValueError(
            f"{name} has {_n_partitions(other)} partitions, X has {_n_partitions(X)}; "
            "give them the same partitions"
        )
    return other


def _dask_init(local_cls):
    """An ``__init__`` with the parameters of ``local_cls`` plus ``client``."""
    signature = inspect.signature(local_cls.__init__)
    client = inspect.Parameter("client", inspect.Parameter.KEYWORD_ONLY, default=None)

    def __init__(self, *, client=None, **params):
        local_cls.__init__(self, **params)
        self.client = client

    # ``client`` goes before the local class's ``**kwargs`` (XGBoost's other keywords)
    params = [p for p in signature.parameters.values() if p.kind != p.VAR_KEYWORD]
    var_keyword = [p for p in signature.parameters.values() if p.kind == p.VAR_KEYWORD]
    __init__.__signature__ = signature.replace(parameters=[*params, client, *var_keyword])
    __init__.__doc__ = f"Parameters of :class:`{local_cls.__name__}`, plus ``client``."
    return __init__


class _DaskNewtonBoosting:
    """Fit on dask collections; predict to dask collections (see the module docstring)."""

    _local_class = None

    def _client(self):
        distributed = _import_distributed()
        return self.client if self.client is not None else distributed.default_client()

    def _place(self, client, X, y, sample_weight):
        """Load the partitions into one block per worker holding partitions of X."""
        _partitions(X, "X")
        if X.ndim != 2:
            raise ValueError(f"X must be 2-dimensional, got {X.ndim} dimensions")
        y = _align(X, y, "y")
        sample_weight = _align(X, sample_weight, "sample_weight")
        columns = getattr(X, "columns", None)
        if columns is not None and all(isinstance(c, str) for c in columns):
            self.feature_names_in_ = np.asarray(list(columns), dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.n_features_in_ = int(X.shape[1])
        parts = [client.compute(_partitions(c, name)) if c is not None else None
                 for c, name in ((X, "X"), (y, "y"), (sample_weight, "sample_weight"))]  # fmt: skip
        _import_distributed().wait([f for futures in parts if futures for f in futures])
        who_has = client.who_has(parts[0])
        by_worker = {}
        for i, future in enumerate(parts[0]):
            holders = sorted(who_has[future.key]) or [None]
            by_worker.setdefault(holders[0], []).append(i)
        workers = sorted(by_worker, key=lambda w: by_worker[w][0])
        blocks = _Blocks(client, workers, self.n_jobs)
        order = [by_worker[w] for w in workers]

        def pick(futures, i):
            return None if futures is None else [futures[j] for j in order[i]]

        counts = client.gather(
            [
                client.submit(
                    _load,
                    (blocks.key, i),
                    pick(parts[0], i),
                    pick(parts[1], i),
                    pick(parts[2], i),
                    self.n_features_in_,
                    workers=[worker],
                    allow_other_workers=True,
                    pure=False,
                )
                for i, worker in enumerate(workers)
            ]
        )
        return blocks, order, counts

    def _check_supported(self, objective):
        if self.subsample < 1:
            raise ValueError(
                f"subsample={self.subsample!r} is not supported by the Dask estimators "
                "(the row draw of a round is one stream over all rows); use subsample=1.0"
            )
        median_start = type(objective).init_score not in (Objective.init_score,)
        if isinstance(objective, AbsoluteError) or (
            median_start
            and self.base_score is None
            and not isinstance(objective, (Custom, Softmax))
        ):
            raise ValueError(
                f"objective={objective.name!r} is not supported by the Dask estimators "
                "(its start or leaf values are weighted medians); give base_score or use "
                "another objective"
            )

    def _dask_margin(self, blocks, objective):
        if self.base_score is not None or isinstance(objective, Custom):
            return self._initial_margin(objective, np.zeros(1), None)
        sums = np.sum(blocks.gather(_target_sums, objective), axis=0)
        if sums[-1] <= 0:
            raise ValueError("sample_weight must have a positive sum")
        if isinstance(objective, Softmax):
            return np.asarray(objective.link(sums[:-1] / sums[-1]), dtype=np.float64)
        return np.atleast_1d(objective.link(sums[0] / sums[1])).astype(np.float64)

    def _bin_mapper(self, blocks, order, counts, rng):
        """The local booster's bin edges from the same sampled rows (module docstring)."""
        bin_mapper = BinMapper(
            max_bin=self.max_bin,
            random_state=rng.randint(2**31 - 1),
            n_threads=resolve_n_threads(self.n_jobs),
        )
        n_parts = sum(len(o) for o in order)
        positive = np.zeros(n_parts, dtype=np.int64)
        for o, (_, pos) in zip(order, counts):
            positive[o] = pos
        m = int(positive.sum())
        chosen = np.arange(m)
        if bin_mapper.subsample is not None and m > bin_mapper.subsample:
            draw = np.random.RandomState(bin_mapper.random_state)
            chosen = np.sort(draw.choice(m, bin_mapper.subsample, replace=False))
        bounds = np.cumsum([0, *positive])
        picks = [chosen[(chosen >= a) & (chosen < b)] - a for a, b in zip(bounds, bounds[1:])]
        samples = blocks.gather(_sample, per_block=[[picks[j] for j in o] for o in order])
        samples = self._reorder(samples, order, picks)
        X_sample = np.concatenate([s[0] for s in samples])
        w_sample = None if samples[0][1] is None else np.concatenate([s[1] for s in samples])
        return bin_mapper.fit(X_sample, w_sample)

    @staticmethod
    def _reorder(samples, order, picks):
        """Sample rows per partition, in partition order, from per-block samples."""
        pieces = {}
        for o, (Xs, ws) in zip(order, samples, strict=True):
            start = 0
            for j in o:
                stop = start + picks[j].size
                pieces[j] = (Xs[start:stop], None if ws is None else ws[start:stop])
                start = stop
        return [pieces[j] for j in sorted(pieces)]

    def _dask_fit(self, X, y, sample_weight, eval_set, sample_weight_eval_set, verbose):
        client = self._client()
        self._stopping_rounds()
        if self.early_stopping_rounds is not None and not eval_set:
            raise ValueError(
                "early_stopping_rounds needs at least one validation set in fit(eval_set=...)"
            )
        if self.n_iter_no_change is not None and not eval_set:
            raise ValueError(
                f"n_iter_no_change={self.n_iter_no_change} without eval_set: the Dask "
                "estimators hold out no rows of a distributed X; pass fit(eval_set=...) "
                "(n_iter_no_change then acts as early_stopping_rounds)"
            )
        blocks, order, counts = self._place(client, X, y, sample_weight)
        try:
            n_rows = int(sum(sum(c[0]) for c in counts))
            if n_rows == 0:
                raise ValueError("X has 0 rows")
            self._encode_blocks(blocks)
            objective = self._make_dask_objective()
            self._check_supported(objective)
            if eval_set is not None:
                eval_set = [tuple(_local(a) for a in pair) for pair in eval_set]
            if sample_weight_eval_set is not None:
                sample_weight_eval_set = [_local(w) for w in sample_weight_eval_set]
            eval_sets = self._prepare_eval_sets(eval_set, sample_weight_eval_set)
            self._check_xgb_params()
            rng = check_random_state(_as_random_state(self.random_state))
            bin_mapper = self._bin_mapper(blocks, order, counts, rng)
            self._init_margin = self._dask_margin(blocks, objective)
            blocks.gather(_bin, bin_mapper, self._init_margin, self.n_jobs)
            trainer = _DaskRounds(blocks, objective, bin_mapper, (n_rows, self.n_features_in_))
            n_threads = resolve_n_threads(self.n_jobs)
            self._run_rounds(trainer, objective, eval_sets, verbose, rng, n_threads)
        except BaseException:
            # A failed fit leaves no partial model behind.
            for name in ("_trees", "_tree_output"):
                self.__dict__.pop(name, None)
            raise
        finally:
            blocks.drop()
        return self

    # -- results ------------------------------------------------------------------------------
    def to_local(self):
        """The fitted local estimator (``NewtonBoosting*``) with the same trees."""
        check_is_fitted(self, "_trees")
        params = {k: v for k, v in self.get_params().items() if k != "client"}
        local = self._local_class(**params)
        names = (*self._LEARNED, "_trees", "feature_names_in_", "classes_", "best_score_")
        for name in names:
            if hasattr(self, name):
                setattr(local, name, getattr(self, name))
        return local

    def save_model(self, path):
        """Save as the local estimator does (a local estimator's ``load_model`` reads it)."""
        self.to_local().save_model(path)

    def load_model(self, path):
        """Load a model written by ``save_model`` (of this or the local class); returns self."""
        local = self._local_class().load_model(path)
        self.set_params(**local.get_params())
        for name, value in vars(local).items():
            if name.endswith("_") or name.startswith("_"):
                setattr(self, name, value)
        return self

    def _map_rows(self, X, method, n_columns, dtype, **kwargs):
        """``method`` of the local estimator on each row partition of the dask collection X;
        a dask array ((n,) when ``n_columns`` is None, else (n, n_columns))."""
        local = self.to_local()

        def block(part):
            if part.shape[0] == 0:  # an empty partition
                shape = (0,) if n_columns is None else (0, n_columns)
                return np.empty(shape, dtype=dtype)
            return getattr(local, method)(part, **kwargs)

        array = X.rechunk({1: -1}) if _is_array(X) else X.to_dask_array()
        if n_columns is None:
            return array.map_blocks(block, drop_axis=1, dtype=dtype)
        return array.map_blocks(block, chunks=(array.chunks[0], (n_columns,)), dtype=dtype)


def _local(value):
    """A dask collection computed to memory (validation sets are scored on the client)."""
    return value.compute() if hasattr(value, "compute") else value


class DaskNewtonBoostingRegressor(_DaskNewtonBoosting, NewtonBoostingRegressor):
    """:class:`NewtonBoostingRegressor` trained on a Dask cluster, with the same trees.

    Parameters are those of :class:`NewtonBoostingRegressor`, plus ``client``
    (``distributed.Client``; None: the default client). ``fit`` takes dask arrays or
    DataFrames whose partitions stay on the workers (``y`` and ``sample_weight`` with the
    partitions of ``X``); ``eval_set`` is computed to the client and scored there each round.
    ``predict`` returns a dask array; ``to_local()`` the fitted local estimator. Not
    supported: ``subsample < 1``, ``reg:absoluteerror``, and ``reg:pseudohubererror``
    without ``base_score``.

    Examples
    --------
    One in-process worker (``processes=False``) and two partitions of 100 rows: the trees
    are those of :class:`NewtonBoostingRegressor` fitted on the same rows.

    >>> import dask.array as da
    >>> import numpy as np
    >>> from distributed import Client, LocalCluster
    >>> from skextras.ensemble import NewtonBoostingRegressor
    >>> from skextras.ensemble.dask import DaskNewtonBoostingRegressor
    >>> cluster = LocalCluster(n_workers=1, processes=False, dashboard_address=None)
    >>> client = Client(cluster)
    >>> rng = np.random.RandomState(0)
    >>> X = rng.rand(200, 3)
    >>> y = X[:, 0] + 0.1 * rng.rand(200)
    >>> X_dask, y_dask = da.from_array(X, chunks=100), da.from_array(y, chunks=100)
    >>> params = dict(n_estimators=5, max_depth=2)
    >>> model = DaskNewtonBoostingRegressor(**params, client=client).fit(X_dask, y_dask)
    >>> pred = model.predict(X_dask).compute()
    >>> pred.shape
    (200,)
    >>> local = NewtonBoostingRegressor(**params).fit(X, y).predict(X)
    >>> bool(np.allclose(pred, local, rtol=1e-10, atol=1e-12))
    True
    >>> client.close()
    >>> cluster.close()
    """

    _local_class = NewtonBoostingRegressor
    _parameter_constraints = {
        **NewtonBoostingRegressor._parameter_constraints,
        "client": "no_validation",
    }
    __init__ = _dask_init(NewtonBoostingRegressor)

    def _encode_blocks(self, blocks):
        blocks.gather(_float_targets)

    def _make_dask_objective(self):
        return self._make_objective(np.zeros(0))

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self, X, y, sample_weight=None, eval_set=None, sample_weight_eval_set=None, verbose=False
    ):
        """Fit on dask collections (see :meth:`NewtonBoostingRegressor.fit`)."""
        return self._dask_fit(X, y, sample_weight, eval_set, sample_weight_eval_set, verbose)

    def predict(self, X, iteration_range=None):
        """Predicted targets of the rows of a dask array / DataFrame, as a dask array."""
        return self._map_rows(X, "predict", None, np.float64, iteration_range=iteration_range)


class DaskNewtonBoostingClassifier(_DaskNewtonBoosting, NewtonBoostingClassifier):
    """:class:`NewtonBoostingClassifier` trained on a Dask cluster, with the same trees.

    Parameters are those of :class:`NewtonBoostingClassifier`, plus ``client``; see
    :class:`DaskNewtonBoostingRegressor` for the data. ``predict`` and ``predict_proba``
    return dask arrays.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from distributed import Client, LocalCluster
    >>> from skextras.ensemble import NewtonBoostingClassifier
    >>> from skextras.ensemble.dask import DaskNewtonBoostingClassifier
    >>> cluster = LocalCluster(n_workers=1, processes=False, dashboard_address=None)
    >>> client = Client(cluster)
    >>> rng = np.random.RandomState(0)
    >>> X = rng.rand(200, 3)
    >>> y = (X[:, 0] + 0.2 * rng.rand(200) > 0.6).astype(int)
    >>> X_dask, y_dask = da.from_array(X, chunks=100), da.from_array(y, chunks=100)
    >>> params = dict(n_estimators=5, max_depth=2)
    >>> model = DaskNewtonBoostingClassifier(**params, client=client).fit(X_dask, y_dask)
    >>> proba = model.predict_proba(X_dask).compute()
    >>> proba.shape
    (200, 2)
    >>> local = NewtonBoostingClassifier(**params).fit(X, y).predict_proba(X)
    >>> bool(np.allclose(proba, local, rtol=1e-10, atol=1e-12))
    True
    >>> client.close()
    >>> cluster.close()
    """

    _local_class = NewtonBoostingClassifier
    _parameter_constraints = {
        **NewtonBoostingClassifier._parameter_constraints,
        "client": "no_validation",
    }
    __init__ = _dask_init(NewtonBoostingClassifier)

    def _encode_blocks(self, blocks):
        labels = blocks.gather(_labels)
        self.classes_ = np.unique(np.concatenate(labels))
        if self.classes_.size < 2:
            raise ValueError(
                f"y has {self.classes_.size} class(es); a classifier needs at least 2 classes"
            )
        spw = self.scale_pos_weight if self.classes_.size == 2 else 1.0
        blocks.gather(_encode, self.classes_, spw)

    def _make_dask_objective(self):
        return self._make_objective(None)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self, X, y, sample_weight=None, eval_set=None, sample_weight_eval_set=None, verbose=False
    ):
        """Fit on dask collections (see :meth:`NewtonBoostingClassifier.fit`)."""
        return self._dask_fit(X, y, sample_weight, eval_set, sample_weight_eval_set, verbose)

    def predict_proba(self, X, iteration_range=None):
        """Class probabilities (n, n_classes) of the rows of a dask collection (dask array)."""
        return self._map_rows(
            X, "predict_proba", self.classes_.size, np.float64, iteration_range=iteration_range
        )

    def predict(self, X, iteration_range=None):
        """Most probable class of the rows of a dask collection (dask array)."""
        return self._map_rows(
            X, "predict", None, self.classes_.dtype, iteration_range=iteration_range
        )
