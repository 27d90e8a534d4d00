"""Single histogram trees on the engine, and the sklearn-to-engine parameter translation.

Every ensemble in this package grows its trees through :func:`grow` with targets prepared by
:func:`class_targets` or :func:`regression_targets`:

- classification (gini): gradients ``-w * onehot(y)``, hessians ``w``, ``reg_lambda = 0``; the
  engine's gain is then ``N_t`` times scikit-learn's gini decrease and leaf values are the
  weighted class fractions. Binary problems use the single column ``-w * y``: its gain is half
  the two-column gain, so ``gamma`` is halved and the leaf value is ``P(classes_[1])``.
- regression (squared error): gradients ``-w * y``, hessians ``w``: leaf values are weighted
  means and the gain is ``N_t`` times the variance decrease (= ``friedman_mse`` improvement).
"""

from dataclasses import replace
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context, clone
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from skextras._engine.binning import BinMapper
from skextras._engine.deep_grower import grow_deep_tree, supports
from skextras._engine.grower import TreeParams, grow_tree
from skextras._engine.pruning import prune_tree, pruning_path
from skextras.ensemble._base import (
    HistInputMixin,
    check_sample_weight,
)
from skextras.ensemble._base import check_X_y as _check_X_y

# Children must carry some weight; relative to the node's total so normalised weights work.
_MIN_CHILD_WEIGHT_REL = 1e-10


def check_X_y(estimator, X, y):
    """Validate training data (``_base.check_X_y``, the ensembles' one checker)."""
    return _check_X_y(estimator, X, y)[:2]


def fit_bin_mapper(X, sample_weight, max_bin, seed):
    """Bin edges from the rows with positive weight (zero-weight rows must not move them)."""
    mapper = BinMapper(max_bin=max_bin, random_state=seed)
    positive = np.asarray(sample_weight) > 0
    mapper.fit(X if positive.all() else X[np.flatnonzero(positive)])
    return mapper


def resolve_max_features(max_features, n_features):
    """sklearn's ``max_features`` (str / int / float / None) as a feature count."""
    if max_features is None:
        return n_features
    if max_features == "sqrt":
        return max(1, int(np.sqrt(n_features)))
    if max_features == "log2":
        return max(1, int(np.log2(n_features)))
    if isinstance(max_features, Integral):
        if max_features > n_features:
            raise ValueError(f"max_features={max_features} must be <= n_features={n_features}.")
        return int(max_features)
    return max(1, int(max_features * n_features))


# Size and split limits every tree-growing estimator takes under scikit-learn's names.
SPLIT_CONSTRAINTS = {
    "max_depth": [Interval(Integral, 1, None, closed="left"), None],
    "min_samples_split": [
        Interval(Integral, 2, None, closed="left"),
        Interval(Real, 0.0, 1.0, closed="right"),
    ],
    "min_samples_leaf": [
        Interval(Integral, 1, None, closed="left"),
        Interval(Real, 0.0, 1.0, closed="neither"),
    ],
    "max_features": [
        Interval(Integral, 1, None, closed="left"),
        Interval(Real, 0.0, 1.0, closed="right"),
        StrOptions({"sqrt", "log2"}),
        None,
    ],
    "max_leaf_nodes": [Interval(Integral, 2, None, closed="left"), None],
    "min_impurity_decrease": [Interval(Real, 0.0, None, closed="left")],
    "max_bin": [Interval(Integral, 3, 256, closed="both")],
}
_SPLIT_PARAMS = (
    "max_depth",
    "min_samples_split",
    "min_samples_leaf",
    "max_features",
    "max_leaf_nodes",
    "min_impurity_decrease",
)


def split_params(estimator):
    """The estimator's size and split limits, as keywords for :func:`make_tree_params`."""
    return {name: getattr(estimator, name) for name in _SPLIT_PARAMS}


def make_tree_params(
    *,
    total_weight,
    max_depth=None,
    min_samples_split=2,
    min_samples_leaf=1,
    min_weight_fraction_leaf=0.0,
    max_features=None,
    max_leaf_nodes=None,
    min_impurity_decrease=0.0,
    n_samples=1,
    n_features=1,
    criterion="gini",
    splitter="best",
    gain_scale=1.0,
    monotonic_cst=None,
    interaction_cst=None,
):
    """Translate scikit-learn tree parameters into the engine's :class:`TreeParams`.

    ``min_samples_split`` / ``min_samples_leaf`` given as fractions are turned into counts as
    scikit-learn does; ``min_impurity_decrease`` (a decrease weighted by ``N_t / N``) becomes
    the engine's ``gamma = min_impurity_decrease * N * gain_scale``.
    """
    if isinstance(min_samples_split, Real) and not isinstance(min_samples_split, Integral):
        min_samples_split = max(2, int(np.ceil(min_samples_split * n_samples)))
    if isinstance(min_samples_leaf, Real) and not isinstance(min_samples_leaf, Integral):
        min_samples_leaf = max(1, int(np.ceil(min_samples_leaf * n_samples)))
    min_child_weight = max(min_weight_fraction_leaf, _MIN_CHILD_WEIGHT_REL) * total_weight
    n_max_features = resolve_max_features(max_features, n_features)
    monotone = None
    if monotonic_cst is not None:
        monotone = np.asarray(monotonic_cst, dtype=np.int8)
    return TreeParams(
        max_depth=max_depth,
        max_leaves=0 if max_leaf_nodes is None else int(max_leaf_nodes),
        grow_policy="depthwise" if max_leaf_nodes is None else "lossguide",
        min_child_weight=min_child_weight,
        min_samples_leaf=int(min_samples_leaf),
        min_samples_split=int(min_samples_split),
        gamma=min_impurity_decrease * total_weight * gain_scale,
        reg_lambda=0.0,
        reg_alpha=0.0,
        learning_rate=1.0,
        max_features=None if n_max_features >= n_features else n_max_features,
        splitter=splitter,
        criterion="entropy" if criterion in ("entropy", "log_loss") else "newton",
        monotone_constraints=monotone,
        interaction_constraints=interaction_cst,
    )


def class_targets(y_codes, weight, n_classes, criterion):
    """Engine targets for a classification tree: gradients (n,) or (n, K), hessians (n,)."""
    if n_classes == 2 and criterion == "gini":
        return -weight * (y_codes == 1), weight
    onehot = np.zeros((y_codes.shape[0], n_classes))
    onehot[np.arange(y_codes.shape[0]), y_codes] = 1.0
    return -weight[:, None] * onehot, weight


def gain_scale_for(n_classes, criterion):
    """Engine gain / sklearn gain: the single-column binary gini gain is half the gini gain."""
    return 0.5 if (n_classes == 2 and criterion == "gini") else 1.0


def values_to_proba(values, n_classes):
    """Leaf values (n, 1) or (n, K) of class fractions as probabilities (n, n_classes)."""
    if values.shape[1] == 1 and n_classes == 2:
        p = values[:, 0]
        return np.column_stack([1.0 - p, p])
    return values


def _pow2(x):
    """The power of two nearest to ``x`` (> 0) in log scale."""
    return float(2.0 ** np.round(np.log2(x)))


def _engine_cache(cache, X_binned):
    """``grow_tree``'s per-ensemble arguments, made once per ``cache`` dict."""
    if cache is None:
        return {}
    if "X_binned_rows" not in cache:
        cache["X_binned_rows"] = np.ascontiguousarray(X_binned)
        cache["workspace"] = {}
    return {"X_binned_rows": cache["X_binned_rows"], "workspace": cache["workspace"]}


class _LazyRandomState:
    """``RandomState(SeedSequence(seed))``, made on first use: most trees (all features, best
    thresholds) draw nothing, and making one costs about as much as growing a small tree."""

    def __init__(self, seed):
        self._seed = seed
        self._rng = None

    def __getattr__(self, name):
        if self._rng is None:
            self._rng = np.random.RandomState(np.random.SeedSequence(self._seed).generate_state(4))
        return getattr(self._rng, name)


def grow(
    X_binned,
    gradients,
    hessians,
    bin_mapper,
    params,
    seed,
    sample_mask=None,
    n_threads=1,
    return_leaf_of_row=False,
    deep=None,
    cache=None,
):
    """Grow one engine tree with its own random stream derived from ``seed``.

    The engine only splits when the gain exceeds a small absolute epsilon (XGBoost's), so
    the targets are first rescaled to about unit mean hessian and unit root-mean-square
    gradient (split choice is invariant to both); the tree's values, gains and covers are
    mapped back. The factors are powers of two, so the round trip is exact. With
    ``return_leaf_of_row`` also returns the leaf id of every training row (-1 outside the mask).
    ``cache``: a dict the caller keeps for all the trees it grows on ``X_binned`` (boosting):
    the level-wise grower's row-major copy of the bins and histogram memory live in it.
    ``deep`` (forests) grows the tree in one numba call on this thread when the engine's
    deep grower supports ``params``: a dict with ``context`` (a ``ForestContext`` of X_binned)
    and ``classification`` (stop at pure nodes).
    """
    g = np.asarray(gradients, dtype=np.float64)
    h = np.asarray(hessians, dtype=np.float64)
    if sample_mask is None:
        # Rows with zero hessian carry zero gradient in every caller: no masking needed.
        n_active = max(int(np.count_nonzero(h)), 1)
        h_sum = h.sum()
        # Not np.vdot: BLAS threads spin after the call and steal the cores from the grower.
        g2 = float(np.square(g).sum())
    else:
        n_active = max(int(np.count_nonzero(sample_mask & (h > 0))), 1)
        h_sum = h[sample_mask].sum()
        g2 = float(np.sum(g[sample_mask] ** 2))
    a = _pow2(n_active / h_sum) if h_sum > 0 else 1.0
    g2 *= a * a
    c = _pow2(np.sqrt(g2 / (h_sum * a))) if g2 > 0 and h_sum > 0 else 1.0
    # Gains scale as g^2 / h (newton), or as g for entropy (its sum_k c_k log(c_k / h) terms
    # in log(g / h) cancel between a node and its children).
    gain_factor = a / c if params.criterion == "entropy" else a / (c * c)
    scaled = replace(
        params,
        min_child_weight=params.min_child_weight * a,
        gamma=params.gamma * gain_factor,
    )
    g = np.ascontiguousarray(g if a == c else g * (a / c))
    h = np.ascontiguousarray(h if a == 1.0 else h * a)
    if deep is not None and not return_leaf_of_row and supports(scaled, sample_mask):
        purity_scale = c if deep["classification"] else 0.0
        out = grow_deep_tree(
            X_binned,
            g,
            h,
            bin_mapper,
            scaled,
            seed,
            context=deep["context"],
            purity_scale=purity_scale,
        )
    else:
        out = grow_tree(
            X_binned,
            g,
            h,
            bin_mapper,
            scaled,
            _LazyRandomState(seed),
            sample_mask=sample_mask,
            n_threads=n_threads,
            return_leaf_of_row=return_leaf_of_row,
            **_engine_cache(cache, X_binned),
        )
    tree = out[0] if return_leaf_of_row else out
    tree.value = tree.value * c
    tree.gain = tree.gain / gain_factor
    tree.cover = tree.cover / a
    return out


class _BaseHistTree(HistInputMixin, BaseEstimator):
    """A single tree grown by the histogram engine (the default AdaBoost base)."""

    _parameter_constraints: dict = {
        **SPLIT_CONSTRAINTS,
        "random_state": ["random_state"],
        "ccp_alpha": [Interval(Real, 0.0, None, closed="left")],
    }

    def _bin(self, X, sample_weight):
        """Bin X once: returns (X_binned, bin_mapper, cache) for repeated ``_fit_binned``
        calls (``cache``: the engine's per-ensemble memory, see ``grow``)."""
        mapper = fit_bin_mapper(X, sample_weight, self.max_bin, _seed_of(self.random_state))
        return mapper.transform(X), mapper, {}

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the tree on (X, y) with optional sample weights.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; NaN marks a missing value.
        y : array-like of shape (n_samples,)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights.

        Returns
        -------
        self : object
        """
        X, y = check_X_y(self, X, y)
        y = self._encode_y(y)
        sample_weight = check_sample_weight(sample_weight, X)
        self._fit_binned(self._bin(X, sample_weight), y, sample_weight, encoded=True)
        return self

    def _grow_pruned(self, X_binned, g, h, mapper, params, cache, gain_scale):
        """Grow the tree (``tree_``), prune it for ``ccp_alpha`` (see
        :mod:`skextras._engine.pruning`) and return the leaf id of every training row."""
        seed = _seed_of(self.random_state)
        self.tree_, leaves = grow(
            X_binned, g, h, mapper, params, seed, return_leaf_of_row=True, cache=cache
        )
        self._gain_scale = gain_scale
        self._total_weight = float(np.sum(h))
        if self.ccp_alpha > 0:
            self.tree_, node_map = prune_tree(
                self.tree_, self.ccp_alpha * gain_scale * self._total_weight
            )
            leaves = np.where(leaves >= 0, node_map[np.maximum(leaves, 0)], -1)
        return leaves

    def cost_complexity_pruning_path(self, X, y, sample_weight=None):
        """The pruning path of minimal cost-complexity pruning, as scikit-learn's trees give it.

        Fits a clone without pruning on (X, y) and runs weakest-link pruning on it.

        Parameters
        ----------
        X, y, sample_weight
            The training data, as for ``fit``.

        Returns
        -------
        ccp_path : sklearn.utils.Bunch
            ``ccp_alphas`` (effective alphas of the subtrees, increasing, from 0) and
            ``impurities`` (sum of the weighted leaf impurities of each subtree).
        """
        tree = clone(self).set_params(ccp_alpha=0.0).fit(X, y, sample_weight)
        alphas, impurities = pruning_path(
            tree.tree_, tree._gain_scale, tree._total_weight, tree._root_impurity(y, sample_weight)
        )
        return Bunch(ccp_alphas=alphas, impurities=impurities)

    def _params(self, total_weight, n_samples, n_features, gain_scale=1.0):
        return make_tree_params(
            total_weight=total_weight,
            **split_params(self),
            n_samples=n_samples,
            n_features=n_features,
            criterion=getattr(self, "criterion", "squared_error"),
            gain_scale=gain_scale,
        )

    @property
    def feature_importances_(self):
        """Normalised total gain per feature, shape (n_features,)."""
        check_is_fitted(self)
        return tree_importances(self.tree_, self.n_features_in_)

    def apply(self, X):
        """Leaf node id of each row, shape (n_samples,)."""
        check_is_fitted(self)
        return self.tree_.apply(self._check_X(X, reset=False))


def tree_importances(tree, n_features):
    """Impurity importances of one tree: total gain per feature, normalised to sum 1."""
    internal = tree.left >= 0
    imp = np.bincount(tree.feature[internal], weights=tree.gain[internal], minlength=n_features)
    total = imp.sum()
    return imp / total if total > 0 else imp


def _seed_of(random_state):
    """An int seed from sklearn's random_state forms (None / int / RandomState)."""
    if isinstance(random_state, Integral):
        return int(random_state)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


class HistTreeClassifier(ClassifierMixin, _BaseHistTree):
    """A classification tree grown from feature histograms by the shared engine.

    Splits maximise the gini (or entropy) decrease over ``max_bin`` quantile bins per
    feature; missing values get their own bin and a learned default direction.

    Parameters
    ----------
    criterion : {"gini", "entropy", "log_loss"}, default="gini"
        Impurity whose weighted decrease ranks the splits.
    max_depth : int or None, default=None
        Maximum depth (None: grow until the other limits stop it).
    min_samples_split : int or float, default=2
        Minimum rows in a node to split it (float: fraction of the rows).
    min_samples_leaf : int or float, default=1
        Minimum rows in each child (float: fraction of the rows).
    max_features : int, float, {"sqrt", "log2"} or None, default=None
        Features drawn at each node.
    max_leaf_nodes : int or None, default=None
        Grow best-first up to this many leaves.
    min_impurity_decrease : float, default=0.0
        A split is made only if its weighted impurity decrease exceeds this.
    max_bin : int, default=256
        Bins per feature, including the missing-value bin.
    random_state : int, RandomState instance or None, default=None
        Seeds binning subsample and feature draws.
    ccp_alpha : float, default=0.0
        Complexity parameter of minimal cost-complexity pruning (scikit-learn's; 0: none).

    Attributes
    ----------
    tree_ : skextras._engine.tree.Tree
        The fitted tree as flat arrays; ``tree_.value`` holds class fractions.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features seen in ``fit``.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skextras.ensemble import HistTreeClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> HistTreeClassifier(max_depth=2).fit(X, y).score(X, y) > 0.9
    True
    """

    _parameter_constraints: dict = {
        **_BaseHistTree._parameter_constraints,
        "criterion": [StrOptions({"gini", "entropy", "log_loss"})],
    }

    def __init__(
        self,
        *,
        criterion="gini",
        max_depth=None,
        min_samples_split=2,
        min_samples_leaf=1,
        max_features=None,
        max_leaf_nodes=None,
        min_impurity_decrease=0.0,
        max_bin=256,
        random_state=None,
        ccp_alpha=0.0,
    ):
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.max_leaf_nodes = max_leaf_nodes
        self.min_impurity_decrease = min_impurity_decrease
        self.max_bin = max_bin
        self.random_state = random_state
        self.ccp_alpha = ccp_alpha

    def _encode_y(self, y):
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        return codes

    def _fit_binned(self, binned, y, sample_weight, encoded=False):
        """Fit on pre-binned data ``binned = (X_binned, bin_mapper, cache)``; returns the leaf id of
        every training row. ``encoded``: ``y`` already holds codes into a preset ``classes_``.
        """
        self._validate_params()
        X_binned, mapper, cache = binned
        if not encoded:
            y = self._encode_y(y)
        n_classes = len(self.classes_)
        self.n_features_in_ = X_binned.shape[1]
        g, h = class_targets(y, sample_weight, max(n_classes, 2), self.criterion)
        gain_scale = gain_scale_for(max(n_classes, 2), self.criterion)
        params = self._params(sample_weight.sum(), X_binned.shape[0], X_binned.shape[1], gain_scale)
        return self._grow_pruned(X_binned, g, h, mapper, params, cache, gain_scale)

    def _root_impurity(self, y, sample_weight):
        """Impurity of the root: gini / entropy of the weighted class fractions."""
        fractions = values_to_proba(self.tree_.value[:1], max(len(self.classes_), 2))[0]
        if self.criterion == "gini":
            return float(1.0 - np.sum(fractions**2))
        fractions = fractions[fractions > 0]
        return float(-np.sum(fractions * np.log2(fractions)))

    def _node_predictions(self):
        """The class each node predicts, shape (n_nodes,)."""
        if len(self.classes_) == 1:
            return np.repeat(self.classes_, self.tree_.n_nodes)
        proba = values_to_proba(self.tree_.value, len(self.classes_))
        return self.classes_[np.argmax(proba, axis=1)]

    def predict_proba(self, X):
        """Class probabilities (weighted class fractions of the leaf), shape (n, n_classes)."""
        check_is_fitted(self)
        values = self.tree_.predict(self._check_X(X, reset=False))
        if len(self.classes_) == 1:
            return np.ones((values.shape[0], 1))
        return values_to_proba(values, len(self.classes_))

    def predict(self, X):
        """Most probable class, shape (n_samples,)."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class HistTreeRegressor(RegressorMixin, _BaseHistTree):
    """A squared-error regression tree grown from feature histograms by the shared engine.

    Parameters
    ----------
    max_depth : int or None, default=None
        Maximum depth (None: grow until the other limits stop it).
    min_samples_split : int or float, default=2
        Minimum rows in a node to split it (float: fraction of the rows).
    min_samples_leaf : int or float, default=1
        Minimum rows in each child (float: fraction of the rows).
    max_features : int, float, {"sqrt", "log2"} or None, default=None
        Features drawn at each node.
    max_leaf_nodes : int or None, default=None
        Grow best-first up to this many leaves.
    min_impurity_decrease : float, default=0.0
        A split is made only if its weighted variance decrease exceeds this.
    max_bin : int, default=256
        Bins per feature, including the missing-value bin.
    random_state : int, RandomState instance or None, default=None
        Seeds binning subsample and feature draws.
    ccp_alpha : float, default=0.0
        Complexity parameter of minimal cost-complexity pruning (scikit-learn's; 0: none).

    Attributes
    ----------
    tree_ : skextras._engine.tree.Tree
        The fitted tree as flat arrays; ``tree_.value`` holds leaf means.
    n_features_in_ : int
        Number of features seen in ``fit``.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skextras.ensemble import HistTreeRegressor
    >>> X, y = make_regression(n_samples=100, n_features=3, random_state=0)
    >>> HistTreeRegressor(max_depth=3).fit(X, y).predict(X[:2]).shape
    (2,)
    """

    def __init__(
        self,
        *,
        max_depth=None,
        min_samples_split=2,
        min_samples_leaf=1,
        max_features=None,
        max_leaf_nodes=None,
        min_impurity_decrease=0.0,
        max_bin=256,
        random_state=None,
        ccp_alpha=0.0,
    ):
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.max_leaf_nodes = max_leaf_nodes
        self.min_impurity_decrease = min_impurity_decrease
        self.max_bin = max_bin
        self.random_state = random_state
        self.ccp_alpha = ccp_alpha

    def _encode_y(self, y):
        return np.asarray(y, dtype=np.float64)

    def _fit_binned(self, binned, y, sample_weight, encoded=False):
        """Fit on pre-binned data ``binned = (X_binned, bin_mapper, cache)``; returns the leaf id of
        every training row."""
        self._validate_params()
        X_binned, mapper, cache = binned
        y = self._encode_y(y)
        self.n_features_in_ = X_binned.shape[1]
        params = self._params(sample_weight.sum(), X_binned.shape[0], X_binned.shape[1])
        return self._grow_pruned(
            X_binned, -sample_weight * y, sample_weight, mapper, params, cache, 1.0
        )

    def _root_impurity(self, y, sample_weight):
        """Impurity of the root: the weighted variance of y."""
        y = np.asarray(y, dtype=np.float64)
        w = np.ones_like(y) if sample_weight is None else np.asarray(sample_weight, float)
        mean = np.average(y, weights=w)
        return float(np.average((y - mean) ** 2, weights=w))

    def _node_predictions(self):
        """The value each node predicts, shape (n_nodes,)."""
        return self.tree_.value[:, 0]

    def predict(self, X):
        """Leaf mean of each row, shape (n_samples,)."""
        check_is_fitted(self)
        return self.tree_.predict(self._check_X(X, reset=False))[:, 0]
