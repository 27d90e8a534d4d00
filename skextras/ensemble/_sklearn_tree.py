"""scikit-learn's view of the engine's fitted trees: ``tree_``, ``get_depth`` and the tools
that read them (``sklearn.tree.plot_tree``, ``export_text``, ``export_graphviz``, SHAP).

Every tree in a forest's or gradient boosting's ``estimators_`` is an engine
:class:`~skextras._engine.tree.Tree` (the arrays the ensemble predicts with) that is also a
:class:`~sklearn.tree.DecisionTreeClassifier` / :class:`~sklearn.tree.DecisionTreeRegressor`
whose ``tree_`` is a genuine ``sklearn.tree._tree.Tree`` built from the same arrays, so the
tools that check ``isinstance`` (``export_text``, ``shap.TreeExplainer``) accept it.

The mapping is exact, node for node (same ids, same order):

- a split sends ``x`` left iff ``x <= threshold`` in both (the engine's thresholds are real
  values, not bins); NaN follows ``missing_go_left`` (sklearn's ``missing_go_to_left``). Leaves
  get ``TREE_LEAF`` (-1) children and ``TREE_UNDEFINED`` (-2) feature and threshold.
- ``value`` has scikit-learn >= 1.4's meaning: class fractions of the (weighted, bootstrap
  counted) training rows for classifiers, the target mean for regression trees; the engine's
  single binary column ``P(classes_[1])`` becomes ``[1 - p, p]``. Gradient boosting trees
  hold ``learning_rate * update``; their view divides the learning rate out, as scikit-learn's
  trees hold the update alone.
- ``n_node_samples`` counts the distinct training rows with positive weight in the node (a
  bootstrap row drawn twice counts once), ``weighted_n_node_samples`` their weight times
  bootstrap count: scikit-learn's meanings.
- ``impurity``: gini / entropy of the class fractions; for regression trees the weighted
  variance of the target (forests: ``y``; gradient boosting: the stage's residuals),
  from moments the ensemble records at fit time with :func:`record_moments`. Multi-output
  trees average the outputs' impurities, and hold ``value`` of shape
  (node_count, n_outputs, max_n_classes) (classes past an output's count are 0), as
  scikit-learn's do.

Predictions of the view (``predict``, ``apply``, ``decision_path``) walk the engine's float64
arrays, so they equal the ensemble's. ``sklearn.tree._tree.Tree.predict`` and SHAP cast ``X``
to float32 first, as scikit-learn does: they agree with the engine whenever ``X`` holds
float32 values (the case for any data a scikit-learn tree could have been fit on).
"""

import numpy as np
import scipy.sparse as sp
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.tree._tree import NODE_DTYPE, TREE_LEAF, TREE_UNDEFINED
from sklearn.tree._tree import Tree as SklearnTree
from sklearn.utils.validation import validate_data

from skextras._engine.tree import Tree, apply_forest

# Columns of ``Tree.moments`` (n_nodes, 2 + 2k): rows with positive weight, sum w, then
# sum w t and sum w t^2 of each of the k targets.
_COUNT, _WEIGHT = range(2)


def record_moments(tree, leaves, target, weight):
    """Store on ``tree`` the per-node moments of ``target`` over the rows that reach it.

    Parameters
    ----------
    tree : skextras._engine.tree.Tree
    leaves : ndarray of int of shape (n_samples,)
        Leaf id of every training row (rows with zero weight are ignored).
    target : ndarray of shape (n_samples,) or (n_samples, k)
        The values the tree was fit to (``y`` or a boosting stage's residuals).
    weight : ndarray of shape (n_samples,)
        Row weights times bootstrap counts.
    """
    n = tree.n_nodes
    weight = np.asarray(weight, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64).reshape(weight.size, -1)
    weighted = weight[:, None] * target
    moments = np.column_stack(
        [
            np.bincount(leaves, weights=(weight > 0).astype(np.float64), minlength=n),
            np.bincount(leaves, weights=weight, minlength=n),
        ]
        + [np.bincount(leaves, weights=weighted[:, k], minlength=n) for k in range(target.shape[1])]
        + [
            np.bincount(leaves, weights=weighted[:, k] * target[:, k], minlength=n)
            for k in range(target.shape[1])
        ]
    )
    # Rows only end in leaves: internal nodes are the sums of their children, deepest first.
    internal = np.flatnonzero(tree.left != -1)
    for depth in range(int(tree.depth.max(initial=0)), -1, -1):
        nodes = internal[tree.depth[internal] == depth]
        moments[nodes] = moments[tree.left[nodes]] + moments[tree.right[nodes]]
    tree.moments = moments


def forest_moments(trees, X_binned, y, weights):
    """:func:`record_moments` for forest trees fit on ``y`` with per-tree row ``weights``
    (an iterable of arrays: sample weight times bootstrap counts)."""
    leaves = apply_forest(trees, X_binned, binned=True)
    for t, (tree, w) in enumerate(zip(trees, weights, strict=True)):
        record_moments(tree, leaves[:, t], y, w)


def _class_impurity(fractions, criterion):
    if criterion == "gini":
        return 1.0 - np.sum(fractions * fractions, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(fractions > 0, fractions * np.log2(fractions), 0.0)
    return -terms.sum(axis=1)


def _node_values(tree, n_classes, value_scale):
    """``value`` (n_nodes, n_outputs, max_n_classes) in scikit-learn's layout and meaning.
    ``n_classes``: an int (one output; 1 for regression) or the list of each output's class
    count (multi-output classification); regression outputs are the value's columns."""
    value = tree.value * value_scale + 0.0  # -0.0 (a negated zero gradient sum) prints as 0
    if isinstance(n_classes, list):
        out = np.zeros((value.shape[0], len(n_classes), max(n_classes)))
        stops = np.cumsum(n_classes)
        for j, (stop, c) in enumerate(zip(stops, n_classes, strict=True)):
            out[:, j, :c] = value[:, stop - c : stop]
        return out
    if n_classes == 2 and value.shape[1] == 1:
        value = np.column_stack([1.0 - value[:, 0], value[:, 0]])
    if n_classes <= 1:
        return np.ascontiguousarray(value[:, :, None], dtype=np.float64)
    return np.ascontiguousarray(value[:, None, :], dtype=np.float64)


def to_sklearn_tree(tree, n_features, n_classes=1, criterion="squared_error", value_scale=1.0):
    """A ``sklearn.tree._tree.Tree`` with the nodes of the engine ``tree`` (see module doc).

    Parameters
    ----------
    tree : skextras._engine.tree.Tree
    n_features : int
    n_classes : int or list of int, default=1
        Classes of a classification tree (a list: of each output); 1 for regression (the
        value's columns are the outputs).
    criterion : str, default="squared_error"
        "gini" or "entropy" / "log_loss" (impurity from the class fractions), otherwise the
        weighted variance from ``tree.moments`` (NaN where the tree has none, e.g. after a
        JSON load).
    value_scale : float, default=1.0
        Factor applied to the engine's node values.
    """
    n = tree.n_nodes
    leaf = tree.left == -1
    value = _node_values(tree, n_classes, value_scale)
    moments = getattr(tree, "moments", None)
    nodes = np.empty(n, dtype=NODE_DTYPE)
    nodes["left_child"] = np.where(leaf, TREE_LEAF, tree.left)
    nodes["right_child"] = np.where(leaf, TREE_LEAF, tree.right)
    nodes["feature"] = np.where(leaf, TREE_UNDEFINED, tree.feature)
    nodes["threshold"] = np.where(leaf, float(TREE_UNDEFINED), tree.threshold)
    nodes["missing_go_to_left"] = tree.missing_go_left
    if moments is not None:
        nodes["n_node_samples"] = moments[:, _COUNT]
        nodes["weighted_n_node_samples"] = moments[:, _WEIGHT]
    else:
        nodes["n_node_samples"] = tree.n_samples
        nodes["weighted_n_node_samples"] = tree.cover
    n_outputs = value.shape[1]
    if criterion in ("gini", "entropy", "log_loss"):
        per_output = [_class_impurity(value[:, j, :], criterion) for j in range(n_outputs)]
        nodes["impurity"] = per_output[0] if n_outputs == 1 else np.mean(per_output, axis=0)
    elif moments is not None:
        w = np.maximum(moments[:, _WEIGHT], np.finfo(float).tiny)[:, None]
        k = (moments.shape[1] - 2) // 2
        mean = moments[:, 2 : 2 + k] / w
        variance = np.maximum(moments[:, 2 + k :] / w - mean * mean, 0.0)
        nodes["impurity"] = variance[:, 0] if k == 1 else variance.mean(axis=1)
    else:
        nodes["impurity"] = np.nan
    if isinstance(n_classes, list):
        classes = np.asarray(n_classes, dtype=np.intp)
    else:
        classes = np.full(n_outputs, max(n_classes, 1), dtype=np.intp)
    sk = SklearnTree(n_features, classes, n_outputs)
    sk.__setstate__({"max_depth": tree.max_depth, "node_count": n, "nodes": nodes, "values": value})
    return sk


class _SklearnView:
    """What the classifier and regressor views share: ``tree_`` (built on first use), the
    scikit-learn tree methods, and predictions that walk the engine's arrays."""

    def __getattr__(self, name):
        # Only reached when ``tree_`` is not yet in the instance dict.
        if name != "tree_" or "_view" not in self.__dict__:
            raise AttributeError(name)
        n_classes, value_scale = self._view
        self.tree_ = to_sklearn_tree(
            self, self.n_features_in_, n_classes, self.criterion, value_scale
        )
        return self.tree_

    def __sklearn_is_fitted__(self):
        return True

    def fit(self, X, y, sample_weight=None, check_input=True):
        """Not supported: the tree is a view of a fitted ensemble's member."""
        raise TypeError(
            f"{type(self).__name__} is a member of a fitted skextras ensemble; refit the "
            "ensemble (or clone its `estimator`) instead of the member."
        )

    def _check(self, X, check_input):
        if not check_input:
            return X
        X = validate_data(
            self,
            X,
            accept_sparse="csr",
            dtype=np.float64,
            ensure_all_finite="allow-nan",
            reset=False,
        )
        return X

    def _values(self, X, check_input):
        """(n_samples, n_outputs, max_n_classes) leaf values of the rows."""
        X = self._check(X, check_input)
        return _node_values(self, self._view[0], self._view[1])[Tree.apply(self, X)]

    def apply(self, X, check_input=True):
        """Leaf id of each row, shape (n_samples,) (the engine's walk on float64 ``X``)."""
        return apply_forest([self], self._check(X, check_input))[:, 0]

    def decision_path(self, X, check_input=True):
        """CSR indicator (n_samples, node_count) of the nodes each row passes through."""
        return sp.csr_matrix(Tree.decision_path(self, self._check(X, check_input)))

    def get_depth(self):
        """Depth of the tree (the root alone has depth 0)."""
        return self.max_depth

    def get_n_leaves(self):
        """Number of leaves."""
        return self.n_leaves


class ForestTreeClassifier(_SklearnView, Tree, DecisionTreeClassifier):
    """A classification tree of a fitted skextras ensemble, seen as a fitted
    :class:`sklearn.tree.DecisionTreeClassifier` (see the module docstring).

    ``classes_`` are the encoded classes ``0.0 .. n_classes - 1`` as in scikit-learn's forests
    (``predict`` returns one of them); ``max_depth`` is the depth of the fitted tree.
    """

    __init__ = DecisionTreeClassifier.__init__

    def predict_proba(self, X, check_input=True):
        """Class fractions of the leaf of each row, shape (n_samples, n_classes) (a list of
        n_outputs such arrays for several outputs)."""
        values = self._values(X, check_input)
        if self.n_outputs_ == 1:
            return values[:, 0, :]
        return [values[:, j, :c] for j, c in enumerate(self.n_classes_)]

    def predict(self, X, check_input=True):
        """Encoded class with the largest leaf fraction, shape (n_samples,) or
        (n_samples, n_outputs)."""
        proba = self.predict_proba(X, check_input)
        if self.n_outputs_ == 1:
            return self.classes_[np.argmax(proba, axis=1)]
        return np.column_stack(
            [c[np.argmax(p, axis=1)] for c, p in zip(self.classes_, proba, strict=True)]
        )


class ForestTreeRegressor(_SklearnView, Tree, DecisionTreeRegressor):
    """A regression tree of a fitted skextras ensemble, seen as a fitted
    :class:`sklearn.tree.DecisionTreeRegressor` (see the module docstring);
    ``max_depth`` is the depth of the fitted tree."""

    __init__ = DecisionTreeRegressor.__init__

    def predict(self, X, check_input=True):
        """Leaf value of each row, shape (n_samples,) or (n_samples, n_outputs)."""
        values = self._values(X, check_input)[:, :, 0]
        return values[:, 0] if self.n_outputs_ == 1 else values


_SKLEARN_PARAMS = {
    "splitter": "best",
    "min_samples_split": 2,
    "min_samples_leaf": 1,
    "min_weight_fraction_leaf": 0.0,
    "max_features": None,
    "max_leaf_nodes": None,
    "random_state": None,
    "min_impurity_decrease": 0.0,
    "ccp_alpha": 0.0,
    "monotonic_cst": None,
}


def sklearn_view(tree, ensemble, n_classes=1, criterion="squared_error", value_scale=1.0):
    """``tree`` as a :class:`ForestTreeClassifier` (``n_classes >= 2``, or a list of each
    output's class count) or :class:`ForestTreeRegressor` (its value's columns are the
    outputs): a new object sharing the engine arrays (no copy), with the ensemble's tree
    parameters. Views are returned unchanged."""
    if isinstance(tree, _SklearnView):
        return tree
    multi = isinstance(n_classes, list)
    cls = ForestTreeClassifier if multi or n_classes >= 2 else ForestTreeRegressor
    view = cls.__new__(cls)
    view.__dict__.update(tree.__dict__)
    for name, default in _SKLEARN_PARAMS.items():
        setattr(view, name, getattr(ensemble, name, default))
    if isinstance(view, ForestTreeClassifier) and multi:
        view.class_weight = None
        view.classes_ = [np.arange(c, dtype=np.float64) for c in n_classes]
        view.n_classes_ = np.asarray(n_classes, dtype=np.intp)
    elif isinstance(view, ForestTreeClassifier):
        view.class_weight = None
        view.classes_ = np.arange(n_classes, dtype=np.float64)
        view.n_classes_ = n_classes
    view.criterion = criterion
    view.splitter = getattr(ensemble, "_splitter", "best")
    view.n_features_in_ = ensemble.n_features_in_
    if hasattr(ensemble, "feature_names_in_"):
        view.feature_names_in_ = ensemble.feature_names_in_
    view.n_outputs_ = len(n_classes) if multi else (1 if n_classes >= 2 else tree.value.shape[1])
    view.max_features_ = view.n_features_in_
    view._view = (n_classes, value_scale)
    return view


def attach_forest_views(forest, X_binned, y, weight, start):
    """Turn the forest's trees ``estimators_[start:]`` (just grown on ``X_binned``) into
    scikit-learn views; regression trees first get their target moments (impurity).
    ``weight``: the row weights the trees were grown with, before bootstrap counts."""
    n = X_binned.shape[0]
    forest._n_samples = n
    new = forest.estimators_[start:]
    regression = not hasattr(forest, "classes_")
    if regression and new:
        weight = np.broadcast_to(np.asarray(weight, dtype=np.float64), (n,))
        draws = (forest._draw(i, n) for i in range(start, start + len(new)))
        weights = (weight if d is None else weight * np.bincount(d, minlength=n) for d in draws)
        forest_moments(new, X_binned, y, weights)
    forest.estimators_[start:] = [forest_view(forest, tree) for tree in new]


def forest_view(forest, tree):
    """``sklearn_view`` of one tree of ``forest`` (classifier: its effective class count)."""
    if hasattr(forest, "classes_"):
        multi = getattr(forest, "n_outputs_", 1) > 1
        n_classes = list(forest.n_classes_) if multi else forest._n_classes_eff()
        return sklearn_view(tree, forest, n_classes, forest.criterion)
    return sklearn_view(tree, forest, 1, forest.criterion)


class EnsembleSequenceMixin:
    """scikit-learn's ``BaseEnsemble`` container protocol: ``len(model)``, ``model[i]`` and
    iteration over ``estimators_``."""

    def __len__(self):
        """Number of estimators in the ensemble."""
        return len(self.estimators_)

    def __getitem__(self, index):
        """The ``index``'th estimator (``estimators_[index]``)."""
        return self.estimators_[index]

    def __iter__(self):
        """Iterate over ``estimators_``."""
        return iter(self.estimators_)


class ForestSklearnMixin(EnsembleSequenceMixin):
    """``estimator`` / ``estimator_`` (the tree template) and ``estimators_samples_`` of
    scikit-learn's forests."""

    @property
    def estimator(self):
        """The unfitted template of the members: a DecisionTreeClassifier / Regressor."""
        if hasattr(self, "classes_") or hasattr(type(self), "predict_proba"):
            return DecisionTreeClassifier(criterion=self.criterion)
        return DecisionTreeRegressor(criterion=self.criterion)

    @property
    def estimator_(self):
        """The template of the fitted members (``estimator``)."""
        return self.estimator

    @property
    def estimators_samples_(self):
        """The training row indices each tree was grown on: its bootstrap draw (with
        repeats, in draw order), or all rows without bootstrap; list of int arrays."""
        if not hasattr(self, "_n_samples"):
            raise AttributeError(
                "estimators_samples_ is only known for a forest fitted in this session "
                "(the training set size is not saved with the model)."
            )
        n = self._n_samples
        return [
            np.arange(n) if (d := self._draw(i, n)) is None else d
            for i in range(len(self.estimators_))
        ]
