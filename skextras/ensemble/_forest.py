"""Random forests and extremely randomised trees on the shared histogram engine (Breiman 2001).

``X`` is binned once; each tree is grown by the engine on that uint8 matrix with its bootstrap
counts multiplied into the gradients and hessians (rows drawn 0 times are inert), so no row
is ever copied. Trees are grown on a thread pool (the engine's kernels release the GIL).

Multi-output ``y`` (n_samples, k) as scikit-learn defines it: a classification tree is grown
on the k outputs' one-hot class columns side by side (sum_j C_j engine outputs sharing one
weight column), so the engine's gini / entropy gain is the sum over outputs of each output's
gain, k times scikit-learn's (which averages the outputs' impurities), and each leaf holds
per-output class fractions (each output's block sums to 1). A regression tree has one engine
output per target. ``min_impurity_decrease`` and ``ccp_alpha`` are mapped onto the engine's
gain with that factor k (and the binary single-column factor 1/2), relative to each tree's
total weight (bootstrap counts included), as scikit-learn's trees see it.
"""

import threading
import warnings
from dataclasses import replace
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from joblib.parallel import get_active_backend
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.exceptions import DataConversionWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions
from sklearn.utils.class_weight import compute_class_weight, compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted

from skextras._engine._numba import run_in_threads
from skextras._engine.deep_grower import ForestContext, supports
from skextras._engine.predict import packed_forest
from skextras._engine.pruning import best_first_tree, prune_tree
from skextras.ensemble._base import (
    N_JOBS_CONSTRAINT,
    HistInputMixin,
    check_monotonic_cst,
    check_sample_weight,
    check_X_y,
    resolve_n_threads,
)
from skextras.ensemble._persistence import JSONPersistMixin
from skextras.ensemble._sklearn_tree import ForestSklearnMixin, attach_forest_views, forest_view
from skextras.ensemble._tree import (
    SPLIT_CONSTRAINTS,
    _seed_of,
    class_targets,
    fit_bin_mapper,
    gain_scale_for,
    grow,
    make_tree_params,
    split_params,
    tree_importances,
    values_to_proba,
)

_TREE_CONSTRAINTS = {
    **SPLIT_CONSTRAINTS,
    "min_weight_fraction_leaf": [Interval(Real, 0.0, 0.5, closed="both")],
    "monotonic_cst": ["array-like", None],
    "ccp_alpha": [Interval(Real, 0.0, None, closed="left")],
}

# scikit-learn's trees split a node when ``improvement + EPSILON >= min_impurity_decrease``.
_EPSILON = float(np.finfo(np.float64).eps)


def _bootstrap_indices(bagging, i, n_samples):
    """Row indices drawn for tree ``i`` (None without bootstrap): one stream per tree, so
    results do not depend on n_jobs or on warm-start increments."""
    if bagging is None:
        return None
    seed, n_draw = bagging
    return np.random.default_rng([seed, i, 0]).integers(0, n_samples, n_draw)


def _dask_backend():
    """Whether joblib's Dask backend is active (``with joblib.parallel_backend("dask")``)."""
    return type(get_active_backend()[0]).__name__ == "DaskDistributedBackend"


def _grow_trees_remote(tree_ids, deep_classification, **task):
    """``_grow_trees`` in another process: the whole-tree grower's ``ForestContext`` (per-thread
    workspaces, which do not pickle) is made there; ``deep_classification`` None: no context."""
    if deep_classification is not None:
        context = ForestContext(task["X_binned"], task["mapper"])
        task["deep"] = dict(context=context, classification=deep_classification)
    return _grow_trees(tree_ids, **task)


def _grow_trees(
    tree_ids,
    X_binned,
    y,
    weight,
    params,
    mapper,
    seed,
    bagging,
    balanced_subsample,
    targets,
    deep=None,
    limits=None,
):
    """Grow the trees ``tree_ids`` (a worker's share): bootstrap counts times weights.
    ``deep``: the engine's whole-tree numba grower options (see ``_tree.grow``).
    ``limits``: (per_tree, ccp_alpha_gain, max_leaves): whether ``params``' weight limits
    (made for the forest's total weight) are rescaled to each tree's total weight,
    ``ccp_alpha`` times the gain scale (0: no pruning), and the best-first leaf budget the
    fully grown trees are cut to (0: none)."""
    per_tree, ccp_alpha_gain, max_leaves = limits or (False, 0.0, 0)
    total = float(np.sum(weight))
    trees = []
    for i in tree_ids:
        idx = _bootstrap_indices(bagging, i, y.shape[0])
        w = weight
        if idx is not None:
            counts = np.bincount(idx, minlength=y.shape[0]).astype(np.float64)
            if balanced_subsample:
                counts *= compute_sample_weight("balanced", y, indices=idx)
            w = weight * counts
        if targets[0] == "class":
            g, h = class_targets(y, w, targets[1], targets[2])
        elif targets[0] == "outputs":
            g, h = output_class_targets(y, w, targets[1])
        else:
            g, h = (-w[:, None] * y if y.ndim == 2 else -w * y), w
        tree_params = params
        if per_tree:
            ratio = float(np.sum(w)) / total
            tree_params = replace(
                params,
                min_child_weight=params.min_child_weight * ratio,
                gamma=params.gamma * ratio,
            )
        tree = grow(X_binned, g, h, mapper, tree_params, [seed, int(i), 1], deep=deep)
        if max_leaves:
            tree = best_first_tree(tree, max_leaves)[0]
        if ccp_alpha_gain > 0:
            tree = prune_tree(tree, ccp_alpha_gain * float(np.sum(w)))[0]
        trees.append(tree)
    return trees


def output_class_targets(y_codes, weight, n_classes):
    """Engine targets of a multi-output classification tree: the outputs' one-hot class
    columns side by side (gradients (n, sum(n_classes))), hessians ``weight``."""
    offsets = np.concatenate([[0], np.cumsum(n_classes)[:-1]]).astype(np.intp)
    onehot = np.zeros((y_codes.shape[0], int(np.sum(n_classes))))
    onehot[np.arange(y_codes.shape[0])[:, None], offsets + y_codes] = 1.0
    return -weight[:, None] * onehot, weight


def _as_outputs(estimator, y):
    """scikit-learn's forest handling of a 2-d ``y``: a column vector is raveled with a
    DataConversionWarning; sets ``n_outputs_``; returns 1-d y for one output."""
    y = np.atleast_1d(y)
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected. Please change the "
            "shape of y to (n_samples,), for example using ravel().",
            DataConversionWarning,
            stacklevel=3,
        )
        y = y[:, 0]
    estimator.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
    return y


class _BaseForest(ForestSklearnMixin, HistInputMixin, JSONPersistMixin, BaseEstimator):
    """What random forests and extra trees share: bagging, threading, OOB, introspection."""

    _parameter_constraints: dict = {
        **_TREE_CONSTRAINTS,
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "bootstrap": ["boolean"],
        "oob_score": ["boolean", callable],
        "n_jobs": N_JOBS_CONSTRAINT,
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "max_samples": [
            None,
            Interval(RealNotInt, 0.0, None, closed="neither"),
            Interval(Integral, 1, None, closed="left"),
        ],
    }
    _splitter = "best"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # scikit-learn's MultiOutputMixin
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Grow the forest on (X, y).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; NaN marks a missing value (each split learns where it goes).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels or real targets (one column per output).
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights, multiplied with the bootstrap counts and class weights.

        Returns
        -------
        self : object
        """
        if sp.issparse(y):
            raise ValueError("sparse multilabel-indicator for y is not supported.")
        X, y, sample_weight = check_X_y(self, X, y, sample_weight, multi_output=True)
        y_original = _as_outputs(self, y)
        y = self._encode_y(y_original)
        sample_weight = check_sample_weight(sample_weight, X)
        if not self.bootstrap and self.max_samples is not None:
            raise ValueError(
                "`max_sample` cannot be set if `bootstrap=False`. Either switch to "
                "`bootstrap=True` or set `max_sample=None`."
            )
        if self.oob_score and not self.bootstrap:
            raise ValueError("Out of bag estimation only available if bootstrap=True")
        if self.oob_score:
            self._check_oob_target(y)
        self._check_monotonic()
        if self.criterion == "friedman_mse":
            warnings.warn(
                'Value `"friedman_mse"` for `criterion` is deprecated and will be removed in '
                '1.11. It maps to `"squared_error"` as both were always equivalent. Use '
                '`criterion="squared_error"` to remove this warning.',
                FutureWarning,
            )
        weight = sample_weight * self._class_weight(y_original, sample_weight)
        warm = self.warm_start and hasattr(self, "_bin_mapper")
        if not warm:
            self.estimators_ = []
            self._seed = _seed_of(self.random_state)
            self._bin_mapper = fit_bin_mapper(X, weight, self.max_bin, self._seed)
        X_binned = self._bin_mapper.transform(X)
        n_more = self.n_estimators - len(self.estimators_)
        if n_more < 0:
            raise ValueError(
                f"n_estimators={self.n_estimators} must be larger or equal to "
                f"len(estimators_)={len(self.estimators_)} when warm_start==True"
            )
        if n_more == 0:
            warnings.warn(
                "Warm-start fitting without increasing n_estimators does not fit new trees."
            )
        params = self._tree_params(weight, X_binned.shape)
        start = len(self.estimators_)
        self.estimators_ += self._grow_all(
            X_binned, y, weight, params, range(start, start + n_more)
        )
        attach_forest_views(self, X_binned, y, weight, start)
        if self.oob_score and self.estimators_:
            self._set_oob_score(X_binned, y)
        return self

    def _n_bootstrap(self, n_samples):
        """Rows drawn per tree: scikit-learn's rule (an int is the count itself, above
        n_samples too; a float a fraction of the rows, at least 1)."""
        if self.max_samples is None:
            return n_samples
        if isinstance(self.max_samples, Integral):
            return int(self.max_samples)
        return max(int(self.max_samples * n_samples), 1)

    def _bagging(self, n_samples):
        """What a worker needs to redraw any tree's bootstrap: (seed, draw size), or None."""
        if not self.bootstrap:
            return None
        return self._seed, self._n_bootstrap(n_samples)

    def _draw(self, i, n_samples):
        """Bootstrap indices of tree ``i`` (None without bootstrap)."""
        return _bootstrap_indices(self._bagging(n_samples), i, n_samples)

    def _grow_all(self, X_binned, y, weight, params, tree_ids):
        """Grow the trees ``tree_ids``. Trees the engine grows in one GIL-free numba call run
        on threads; otherwise (constraints, leaf budgets) n_jobs > 1 uses worker processes,
        because the level-wise grower's per-node bookkeeping is Python."""
        targets = self._target_spec()
        max_leaves = 0
        unbudgeted = replace(params, max_leaves=0, grow_policy="depthwise")
        if params.max_leaves and supports(unbudgeted):
            # scikit-learn's best-first tree: the full tree cut to its first expansions.
            max_leaves, params = params.max_leaves, unbudgeted
        task = dict(
            X_binned=X_binned,
            y=y,
            weight=weight,
            params=params,
            mapper=self._bin_mapper,
            seed=self._seed,
            bagging=self._bagging(y.shape[0]),
            balanced_subsample=getattr(self, "class_weight", None) == "balanced_subsample",
            targets=targets,
            limits=self._limits() + (max_leaves,),
        )
        deep = supports(params)
        if deep:
            task["deep"] = dict(
                context=ForestContext(X_binned, self._bin_mapper),
                classification=targets[0] != "regression",
            )
        if _dask_backend():
            # One task a tree on the cluster; a tree's draws depend on (seed, tree index)
            # only, so the trees are those of n_jobs=1.
            shared = {k: v for k, v in task.items() if k != "deep"}
            classification = task["deep"]["classification"] if deep else None
            parts = Parallel()(
                delayed(_grow_trees_remote)([i], classification, **shared) for i in tree_ids
            )
            return [part[0] for part in parts]
        n_jobs = min(resolve_n_threads(self.n_jobs), len(tree_ids))
        if n_jobs <= 1:
            return _grow_trees(list(tree_ids), **task)
        if not deep:
            chunks = [list(c) for c in np.array_split(np.asarray(tree_ids), n_jobs) if len(c)]
            parts = Parallel(n_jobs=n_jobs)(delayed(_grow_trees)(c, **task) for c in chunks)
            return [tree for part in parts for tree in part]
        # Each thread takes the next tree when it is done with one: trees differ in size.
        ids = list(tree_ids)
        pending = iter(ids)
        lock = threading.Lock()
        trees = {}

        def worker():
            while True:
                with lock:
                    i = next(pending, None)
                if i is None:
                    return
                trees[i] = _grow_trees([i], **task)[0]

        run_in_threads([worker] * n_jobs)
        return [trees[i] for i in ids]

    def _limits(self):
        """``_grow_trees``' ``limits``: per-tree weight limits and minimum gain, and ccp_alpha
        in gain units per unit of tree weight."""
        per_tree = self.min_weight_fraction_leaf > 0 or self.min_impurity_decrease > 0
        return per_tree, self.ccp_alpha * self._gain_scale()

    def _tree_params(self, weight, shape):
        limits = split_params(self)
        # The engine splits when gain > gamma; scikit-learn when improvement + EPSILON >= it.
        if self.min_impurity_decrease > 0:
            limits["min_impurity_decrease"] = max(self.min_impurity_decrease - _EPSILON, 0.0)
        return make_tree_params(
            total_weight=weight.sum(),
            **limits,
            min_weight_fraction_leaf=self.min_weight_fraction_leaf,
            n_samples=shape[0],
            n_features=shape[1],
            criterion=self.criterion,
            splitter=self._splitter,
            gain_scale=self._gain_scale(),
            monotonic_cst=self.monotonic_cst,
        )

    def _check_monotonic(self):
        if self.monotonic_cst is not None and self.n_outputs_ > 1:
            raise ValueError("Monotonicity constraints are not supported with multiple outputs.")
        check_monotonic_cst(self)

    def _check_oob_target(self, y):
        """scikit-learn's refusal of OOB scores it cannot define (multiclass-multioutput)."""
        y_type = type_of_target(y)
        if y_type == "unknown" or (
            isinstance(self, ClassifierMixin) and y_type == "multiclass-multioutput"
        ):
            raise ValueError(
                "The type of target cannot be used to compute OOB estimates. Got "
                f"{y_type} while only the following are supported: continuous, "
                "continuous-multioutput, binary, multiclass, multilabel-indicator."
            )

    def _oob_sums(self, X_binned, n_outputs):
        n = X_binned.shape[0]
        sums = np.zeros((n, n_outputs))
        counts = np.zeros(n)
        for i, tree in enumerate(self.estimators_):
            oob = np.bincount(self._draw(i, n), minlength=n) == 0
            if oob.any():
                sums[oob] += self._tree_output(tree.predict_binned(X_binned[oob]))
                counts[oob] += 1
        if (counts == 0).any():
            warnings.warn(
                "Some inputs do not have OOB scores. This probably means too few trees were "
                "used to compute any reliable OOB estimates."
            )
        return sums / np.maximum(counts, 1)[:, None]

    def _learned_state(self):
        learned = {"seed": self._seed}
        n_outputs = getattr(self, "n_outputs_", 1)
        if n_outputs > 1:
            learned["n_outputs_"] = n_outputs
        if hasattr(self, "classes_") and n_outputs > 1:
            learned.update({f"classes_{j}": c for j, c in enumerate(self.classes_)})
        elif hasattr(self, "classes_"):
            learned.update(classes_=self.classes_, n_classes_=self.n_classes_)
        if hasattr(self, "oob_score_"):
            learned["oob_score_"] = self.oob_score_
        return learned, self.estimators_

    def _restore_state(self, learned, trees):
        """Learned attributes from a checked ``LearnedState`` and validated trees."""
        if not trees:
            raise ValueError(f"{learned.source}: a forest needs at least one tree")
        self._seed = learned.integer("seed", 0)
        n_outputs = learned.integer("n_outputs_", 2) if "n_outputs_" in learned else 1
        self.n_outputs_ = n_outputs
        widths = (n_outputs,)
        if isinstance(self, ClassifierMixin) and n_outputs > 1:
            self.classes_ = [learned.classes(f"classes_{j}") for j in range(n_outputs)]
            self.n_classes_ = [c.size for c in self.classes_]
            widths = (sum(self.n_classes_),)
        elif isinstance(self, ClassifierMixin):
            self.classes_ = learned.classes()
            self.n_classes_ = learned.integer("n_classes_", self.classes_.size, self.classes_.size)
            n_eff = self._n_classes_eff()
            widths = (n_eff, 1) if n_eff == 2 else (n_eff,)
        learned.check_width(trees, widths, f"{type(self).__name__} with these classes")
        if "oob_score_" in learned:
            self.oob_score_ = learned.real("oob_score_", allow_nan=True)
        self.estimators_ = [forest_view(self, tree) for tree in trees]

    def _check_X_predict(self, X):
        check_is_fitted(self)
        return self._check_X(X, reset=False)

    def _mean_output(self, X):
        X = self._check_X_predict(X)
        packed = packed_forest(self, self.estimators_)
        return packed.predict(X, n_threads=resolve_n_threads(self.n_jobs)) / len(self.estimators_)

    def apply(self, X):
        """Leaf id of each row in each tree, shape (n_samples, n_estimators)."""
        X = self._check_X_predict(X)
        packed = packed_forest(self, self.estimators_)
        return packed.apply(X, n_threads=resolve_n_threads(self.n_jobs))

    def decision_path(self, X):
        """Node indicator of the paths, as scikit-learn's forests return it.

        Returns
        -------
        indicator : scipy.sparse.csr_matrix of shape (n_samples, n_nodes_total)
            1 where a row passes through a node; tree ``i`` owns columns
            ``n_nodes_ptr[i]:n_nodes_ptr[i + 1]``.
        n_nodes_ptr : ndarray of shape (n_estimators + 1,)
        """
        X = self._check_X_predict(X)
        paths = [tree.decision_path(X) for tree in self.estimators_]
        n_nodes_ptr = np.concatenate([[0], np.cumsum([p.shape[1] for p in paths])])
        return sp.hstack(paths).tocsr(), n_nodes_ptr

    @property
    def feature_importances_(self):
        """Mean impurity-decrease importance over trees, normalised to sum 1."""
        check_is_fitted(self)
        per_tree = [
            tree_importances(t, self.n_features_in_) for t in self.estimators_ if t.n_nodes > 1
        ]
        if not per_tree:
            return np.zeros(self.n_features_in_)
        mean = np.mean(per_tree, axis=0)
        return mean / mean.sum()


class _ForestClassifierMixin(ClassifierMixin):
    """Class encoding, class weights, gini/entropy targets and probability averaging."""

    def _encode_y(self, y):
        check_classification_targets(y)
        if y.ndim == 1:
            self.classes_, codes = np.unique(y, return_inverse=True)
            self.n_classes_ = len(self.classes_)
            return codes
        codes = np.empty(y.shape, dtype=np.intp)
        self.classes_ = []
        for j in range(y.shape[1]):
            classes, codes[:, j] = np.unique(y[:, j], return_inverse=True)
            self.classes_.append(classes)
        self.n_classes_ = [c.size for c in self.classes_]
        return codes

    def _class_weight(self, y, sample_weight):
        """Row weights from ``class_weight`` (scikit-learn's ``compute_sample_weight`` on the
        original labels; "balanced" weighs the classes by their sample-weight sums)."""
        cw = self.class_weight
        if cw is None:
            return 1.0
        if isinstance(cw, (dict, list)):
            return compute_sample_weight(cw, y)
        if self.warm_start:
            warnings.warn(
                'class_weight presets "balanced" or "balanced_subsample" are not recommended '
                "for warm_start if the fitted data differs from the full dataset. In order to "
                'use "balanced" weights, use compute_class_weight ("balanced", classes, y). In '
                "place of y you can use a large enough sample of the full training set target "
                "to properly estimate the class frequency distributions. Pass the resulting "
                "weights as the class_weight parameter."
            )
        if cw == "balanced_subsample" and self.bootstrap:
            return 1.0  # recomputed on each bootstrap draw
        columns = y.reshape(y.shape[0], -1)
        classes = [self.classes_] if self.n_outputs_ == 1 else self.classes_
        per_output = []
        for j, classes_j in enumerate(classes):
            weights = compute_class_weight(
                "balanced", classes=classes_j, y=columns[:, j], sample_weight=sample_weight
            )
            per_output.append(dict(zip(classes_j, weights, strict=True)))
        return compute_sample_weight(per_output[0] if self.n_outputs_ == 1 else per_output, y)

    def _check_monotonic(self):
        super()._check_monotonic()
        if self.monotonic_cst is not None and self.n_classes_ > 2:
            raise ValueError(
                "Monotonicity constraints are not supported with multiclass classification."
            )
        if self.monotonic_cst is not None and self.criterion != "gini":
            raise ValueError(
                f"monotonic_cst needs criterion='gini' (the single-output binary tree), "
                f"got criterion={self.criterion!r}."
            )

    def _n_classes_eff(self):
        """Engine outputs of a single-output tree (at least 2: class 1 vs the rest)."""
        return max(self.n_classes_, 2)

    def _multi(self):
        return getattr(self, "n_outputs_", 1) > 1

    def _output_slices(self):
        """Each output's columns in the engine's values (multi-output)."""
        stops = np.cumsum(self.n_classes_)
        return [slice(int(b - c), int(b)) for b, c in zip(stops, self.n_classes_, strict=True)]

    def _gain_scale(self):
        if self._multi():
            return float(self.n_outputs_)
        return gain_scale_for(self._n_classes_eff(), self.criterion)

    def _target_spec(self):
        if self._multi():
            return ("outputs", tuple(self.n_classes_), self.criterion)
        return ("class", self._n_classes_eff(), self.criterion)

    def _tree_output(self, values):
        if self._multi():
            return values
        return values_to_proba(values, self._n_classes_eff())

    def _value_width(self):
        return sum(self.n_classes_) if self._multi() else self._n_classes_eff()

    def predict_proba(self, X):
        """Mean over trees of the leaf class fractions.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes), or a list of n_outputs such arrays
            Columns in the order of ``classes_`` (of each output).
        """
        check_is_fitted(self)
        proba = self._tree_output(self._mean_output(X))
        if self._multi():
            return [proba[:, s] for s in self._output_slices()]
        if self.n_classes_ == 1:
            return np.ones((proba.shape[0], 1))
        return proba

    def predict_log_proba(self, X):
        """Logarithm of ``predict_proba`` (a list for several outputs)."""
        proba = self.predict_proba(X)
        if isinstance(proba, list):
            return [np.log(p) for p in proba]
        return np.log(proba)

    def predict(self, X):
        """Class with the highest mean probability, shape (n_samples,) or
        (n_samples, n_outputs)."""
        proba = self.predict_proba(X)
        if not self._multi():
            return self.classes_[np.argmax(proba, axis=1)]
        out = np.empty((proba[0].shape[0], self.n_outputs_), dtype=self.classes_[0].dtype)
        for j, p in enumerate(proba):
            out[:, j] = self.classes_[j].take(np.argmax(p, axis=1))
        return out

    def _set_oob_score(self, X_binned, y):
        sums = self._oob_sums(X_binned, self._value_width())
        if self._multi():
            # scikit-learn's layout: (n_samples, n_classes, n_outputs).
            oob = np.zeros((sums.shape[0], max(self.n_classes_), self.n_outputs_))
            for j, s in enumerate(self._output_slices()):
                oob[:, : s.stop - s.start, j] = sums[:, s]
            self.oob_decision_function_ = oob
        else:
            self.oob_decision_function_ = sums
        pred = np.argmax(self.oob_decision_function_, axis=1)
        score = self.oob_score if callable(self.oob_score) else accuracy_score
        self.oob_score_ = score(y, pred)


class _ForestRegressorMixin(RegressorMixin):
    """Squared-error targets and mean prediction."""

    def _encode_y(self, y):
        return np.asarray(y, dtype=np.float64)

    def _class_weight(self, y, sample_weight):
        return 1.0

    def _gain_scale(self):
        return float(getattr(self, "n_outputs_", 1))

    def _target_spec(self):
        return ("regression",)

    def _tree_output(self, values):
        return values

    def predict(self, X):
        """Mean over trees of the leaf means, shape (n_samples,) or (n_samples, n_outputs)."""
        mean = self._mean_output(X)
        return mean if getattr(self, "n_outputs_", 1) > 1 else mean[:, 0]

    def _set_oob_score(self, X_binned, y):
        n_outputs = getattr(self, "n_outputs_", 1)
        sums = self._oob_sums(X_binned, n_outputs)
        self.oob_prediction_ = sums if n_outputs > 1 else sums[:, 0]
        score = self.oob_score if callable(self.oob_score) else r2_score
        self.oob_score_ = score(y, self.oob_prediction_)


_CLASSIFIER_CONSTRAINTS = {
    **_BaseForest._parameter_constraints,
    "criterion": [StrOptions({"gini", "entropy", "log_loss"})],
    "class_weight": [StrOptions({"balanced", "balanced_subsample"}), dict, list, None],
}
_REGRESSOR_CONSTRAINTS = {
    **_BaseForest._parameter_constraints,
    "criterion": [StrOptions({"squared_error", "friedman_mse"})],
}

_COMMON_DOC = """
    n_estimators : int, default=100
        Number of trees.
    max_depth : int or None, default=None
        Maximum tree depth; None grows until leaves are pure or the other limits stop it.
    min_samples_split : int or float, default=2
        Minimum rows to split a node (float: fraction of the rows).
    min_samples_leaf : int or float, default=1
        Minimum rows in each child (float: fraction of the rows).
    min_weight_fraction_leaf : float, default=0.0
        Minimum fraction of the tree's total sample weight (bootstrap counts included) in
        each child.
    max_features : {{"sqrt", "log2"}}, int, float or None, default={max_features}
        Features drawn at each node (float: fraction; None: all).
    max_leaf_nodes : int or None, default=None
        Grow best-first up to this many leaves.
    min_impurity_decrease : float, default=0.0
        A split is made only if ``N_t / N * (impurity - N_t_R / N_t * right_impurity -
        N_t_L / N_t * left_impurity)`` reaches this (weighted counts; N of the tree's rows,
        bootstrap counts included; impurities averaged over the outputs).
    bootstrap : bool, default={bootstrap}
        Grow each tree on a bootstrap draw (as per-row counts) instead of all rows.
    oob_score : bool or callable, default=False
        Score the out-of-bag predictions (accuracy / R², or ``callable(y, pred)``).
    n_jobs : int or None, default=None
        Trees grown in parallel threads (None: 1 unless inside
        ``joblib.parallel_config(n_jobs=...)``, -1: all cores); also prediction threads.
        Inside ``with joblib.parallel_backend("dask"):`` the trees are grown as tasks on the
        Dask cluster instead (one a tree; the same trees as ``n_jobs=1``).
    random_state : int, RandomState instance or None, default=None
        Seeds binning, bootstrap draws and feature draws.
    verbose : int, default=0
        Accepted for scikit-learn compatibility; nothing is printed.
    warm_start : bool, default=False
        Keep the fitted trees and add ``n_estimators - len(estimators_)`` new ones.
    ccp_alpha : float, default=0.0
        Complexity parameter of minimal cost-complexity pruning, applied to each grown tree
        (scikit-learn's weakest-link pruning: the subtree with the largest cost complexity
        smaller than ``ccp_alpha`` is kept; 0: no pruning).
    max_samples : int, float or None, default=None
        Bootstrap draw size: an int is the number of rows drawn (it may exceed n_samples), a
        float the fraction ``int(max_samples * n_samples)`` (at least 1); None: n_samples.
    max_bin : int, default=256
        Histogram bins per feature, including the missing-value bin.
    monotonic_cst : array-like of int of shape (n_features,), default=None
        -1 / 0 / 1: decreasing / free / increasing constraint per feature (binary
        classification with gini, or regression)."""

_ATTRS_DOC = """
    estimators_ : list of skextras._engine.tree.Tree
        The fitted trees as flat arrays (``feature``, ``threshold``, ``left``, ``right``,
        ``value``, ``gain``, ``cover``, ``n_samples``, ``missing_go_left``); each has
        ``predict``, ``apply``, ``decision_path`` and ``to_dict``.
    feature_importances_ : ndarray of shape (n_features,)
        Mean impurity decrease per feature, normalised.
    oob_score_ : float
        Out-of-bag score (only with ``oob_score``).
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of str
        Feature names seen in ``fit`` (pandas input only)."""


def _forest_doc(
    summary, kind, criterion_doc, max_features, bootstrap, extra_params, extra_attrs, example
):
    return (
        f"{summary}\n\n    Parameters\n    ----------\n{criterion_doc}"
        + _COMMON_DOC.format(max_features=max_features, bootstrap=bootstrap)
        + extra_params
        + "\n\n    Attributes\n    ----------"
        + _ATTRS_DOC
        + extra_attrs
        + f"\n\n    Examples\n    --------\n{example}"
    )


_CLF_CRITERION = """    criterion : {"gini", "entropy", "log_loss"}, default="gini"
        Impurity whose decrease ranks splits ("log_loss" is "entropy")."""
_REG_CRITERION = """    criterion : {"squared_error", "friedman_mse"}, default="squared_error"
        Variance decrease, averaged over the outputs. "friedman_mse" is deprecated, as in
        scikit-learn 1.9: it is "squared_error" (fit warns with scikit-learn's
        FutureWarning)."""
_CLF_EXTRA = """
    class_weight : dict, list of dict, "balanced", "balanced_subsample" or None, default=None
        Class weights multiplied into the sample weights (a list: one dict per output, the
        row weight is their product); "balanced" weighs classes inversely to their sample
        weight sums, "balanced_subsample" recomputes them on each bootstrap draw."""
_CLF_ATTRS = """
    classes_ : ndarray of shape (n_classes,) or list of n_outputs such arrays
        Class labels (of each output).
    n_classes_ : int or list of int
        Number of classes (of each output).
    n_outputs_ : int
        Number of outputs (columns of a 2-d ``y``).
    oob_decision_function_ : ndarray of shape (n_samples, n_classes) or \
(n_samples, n_classes, n_outputs)
        Out-of-bag class probabilities (only with ``oob_score``; several outputs need the
        same number of classes, scikit-learn's multilabel-indicator targets)."""
_REG_ATTRS = """
    n_outputs_ : int
        Number of outputs (columns of a 2-d ``y``).
    oob_prediction_ : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        Out-of-bag predictions (only with ``oob_score``)."""


def _example(name, maker, args):
    return f"""    >>> from sklearn.datasets import {maker}
    >>> from skextras.ensemble import {name}
    >>> X, y = {maker}(n_samples=200, {args}random_state=0)
    >>> model = {name}(n_estimators=10, random_state=0).fit(X, y)
    >>> model.predict(X[:3]).shape
    (3,)
"""


class RandomForestClassifier(_ForestClassifierMixin, _BaseForest):
    _parameter_constraints = _CLASSIFIER_CONSTRAINTS

    def __init__(
        self,
        n_estimators=100,
        *,
        criterion="gini",
        max_depth=None,
        min_samples_split=2,
        min_samples_leaf=1,
        min_weight_fraction_leaf=0.0,
        max_features="sqrt",
        max_leaf_nodes=None,
        min_impurity_decrease=0.0,
        bootstrap=True,
        oob_score=False,
        n_jobs=None,
        random_state=None,
        verbose=0,
        warm_start=False,
        class_weight=None,
        ccp_alpha=0.0,
        max_samples=None,
        max_bin=256,
        monotonic_cst=None,
    ):
        self.n_estimators = n_estimators
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.min_weight_fraction_leaf = min_weight_fraction_leaf
        self.max_features = max_features
        self.max_leaf_nodes = max_leaf_nodes
        self.min_impurity_decrease = min_impurity_decrease
        self.bootstrap = bootstrap
        self.oob_score = oob_score
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.class_weight = class_weight
        self.ccp_alpha = ccp_alpha
        self.max_samples = max_samples
        self.max_bin = max_bin
        self.monotonic_cst = monotonic_cst


class ExtraTreesClassifier(RandomForestClassifier):
    _splitter = "random"

    def __init__(
        self,
        n_estimators=100,
        *,
        criterion="gini",
        max_depth=None,
        min_samples_split=2,
        min_samples_leaf=1,
        min_weight_fraction_leaf=0.0,
        max_features="sqrt",
        max_leaf_nodes=None,
        min_impurity_decrease=0.0,
        bootstrap=False,
        oob_score=False,
        n_jobs=None,
        random_state=None,
        verbose=0,
        warm_start=False,
        class_weight=None,
        ccp_alpha=0.0,
        max_samples=None,
        max_bin=256,
        monotonic_cst=None,
    ):
        super().__init__(
            n_estimators,
            criterion=criterion,
            max_depth=max_depth,
            min_samples_split=min_samples_split,
            min_samples_leaf=min_samples_leaf,
            min_weight_fraction_leaf=min_weight_fraction_leaf,
            max_features=max_features,
            max_leaf_nodes=max_leaf_nodes,
            min_impurity_decrease=min_impurity_decrease,
            bootstrap=bootstrap,
            oob_score=oob_score,
            n_jobs=n_jobs,
            random_state=random_state,
            verbose=verbose,
            warm_start=warm_start,
            class_weight=class_weight,
            ccp_alpha=ccp_alpha,
            max_samples=max_samples,
            max_bin=max_bin,
            monotonic_cst=monotonic_cst,
        )


class RandomForestRegressor(_ForestRegressorMixin, _BaseForest):
    _parameter_constraints = _REGRESSOR_CONSTRAINTS

    def __init__(
        self,
        n_estimators=100,
        *,
        criterion="squared_error",
        max_depth=None,
        min_samples_split=2,
        min_samples_leaf=1,
        min_weight_fraction_leaf=0.0,
        max_features=1.0,
        max_leaf_nodes=None,
        min_impurity_decrease=0.0,
        bootstrap=True,
        oob_score=False,
        n_jobs=None,
        random_state=None,
        verbose=0,
        warm_start=False,
        ccp_alpha=0.0,
        max_samples=None,
        max_bin=256,
        monotonic_cst=None,
    ):
        self.n_estimators = n_estimators
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.min_weight_fraction_leaf = min_weight_fraction_leaf
        self.max_features = max_features
        self.max_leaf_nodes = max_leaf_nodes
        self.min_impurity_decrease = min_impurity_decrease
        self.bootstrap = bootstrap
        self.oob_score = oob_score
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.ccp_alpha = ccp_alpha
        self.max_samples = max_samples
        self.max_bin = max_bin
        self.monotonic_cst = monotonic_cst


class ExtraTreesRegressor(RandomForestRegressor):
    _splitter = "random"

    def __init__(
        self,
        n_estimators=100,
        *,
        criterion="squared_error",
        max_depth=None,
        min_samples_split=2,
        min_samples_leaf=1,
        min_weight_fraction_leaf=0.0,
        max_features=1.0,
        max_leaf_nodes=None,
        min_impurity_decrease=0.0,
        bootstrap=False,
        oob_score=False,
        n_jobs=None,
        random_state=None,
        verbose=0,
        warm_start=False,
        ccp_alpha=0.0,
        max_samples=None,
        max_bin=256,
        monotonic_cst=None,
    ):
        super().__init__(
            n_estimators,
            criterion=criterion,
            max_depth=max_depth,
            min_samples_split=min_samples_split,
            min_samples_leaf=min_samples_leaf,
            min_weight_fraction_leaf=min_weight_fraction_leaf,
            max_features=max_features,
            max_leaf_nodes=max_leaf_nodes,
            min_impurity_decrease=min_impurity_decrease,
            bootstrap=bootstrap,
            oob_score=oob_score,
            n_jobs=n_jobs,
            random_state=random_state,
            verbose=verbose,
            warm_start=warm_start,
            ccp_alpha=ccp_alpha,
            max_samples=max_samples,
            max_bin=max_bin,
            monotonic_cst=monotonic_cst,
        )


_RF = "Random forest: bagged trees, best split among ``max_features`` drawn features per node."
_ET = "Extremely randomised trees: one random threshold bin per drawn feature, best of those."
RandomForestClassifier.__doc__ = _forest_doc(
    "A random forest classifier on the shared histogram engine.\n\n    " + _RF,
    "classifier",
    _CLF_CRITERION,
    '"sqrt"',
    "True",
    _CLF_EXTRA,
    _CLF_ATTRS,
    _example("RandomForestClassifier", "make_classification", ""),
)
ExtraTreesClassifier.__doc__ = _forest_doc(
    "An extra-trees classifier on the shared histogram engine.\n\n    " + _ET,
    "classifier",
    _CLF_CRITERION,
    '"sqrt"',
    "False",
    _CLF_EXTRA,
    _CLF_ATTRS,
    _example("ExtraTreesClassifier", "make_classification", ""),
)
RandomForestRegressor.__doc__ = _forest_doc(
    "A random forest regressor on the shared histogram engine.\n\n    " + _RF,
    "regressor",
    _REG_CRITERION,
    "1.0",
    "True",
    "",
    _REG_ATTRS,
    _example("RandomForestRegressor", "make_regression", "n_features=4, "),
)
ExtraTreesRegressor.__doc__ = _forest_doc(
    "An extra-trees regressor on the shared histogram engine.\n\n    " + _ET,
    "regressor",
    _REG_CRITERION,
    "1.0",
    "False",
    "",
    _REG_ATTRS,
    _example("ExtraTreesRegressor", "make_regression", "n_features=4, "),
)
