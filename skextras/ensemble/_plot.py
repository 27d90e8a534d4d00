"""Model inspection for the boosted ensembles: XGBoost's ``trees_to_dataframe`` table and the
``plot_importance`` / ``plot_tree`` / ``plot_metric`` figures (extra ``plot``: matplotlib,
imported by the plotting functions only; no graphviz).

Split semantics: our trees send ``x <= threshold`` left, XGBoost's ``x < split``; the table
reports XGBoost's ``split = nextafter(threshold, +inf)`` (the smallest float above the
threshold), so ``x < Split`` routes every float64 exactly as our trees do.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from skextras._engine.tree import Tree

_DATAFRAME_COLUMNS = [
    "Tree",
    "Node",
    "ID",
    "Feature",
    "Split",
    "Yes",
    "No",
    "Missing",
    "Gain",
    "Cover",
    "Category",
]


def _matplotlib():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - the plot extra is missing
        raise ImportError('plotting needs matplotlib: pip install "skextras[plot]"') from exc
    return plt


def _feature_names(model):
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        return [str(n) for n in names]
    return [f"f{i}" for i in range(model.n_features_in_)]


def _boosted_trees(model):
    """The fitted engine trees of a NewtonBoosting model, in XGBoost's order."""
    check_is_fitted(model, "_trees")
    return model._trees


def trees_to_dataframe(model):
    """XGBoost's ``Booster.trees_to_dataframe()`` table of a fitted NewtonBoosting model.

    One row per node of every tree (trees in boosting order, then class, as XGBoost
    numbers them), with columns ``Tree, Node, ID, Feature, Split, Yes, No, Missing, Gain,
    Cover, Category``: ``Feature`` is the feature name (``f{i}`` without names) or
    ``"Leaf"``; ``Split`` the XGBoost threshold (go to ``Yes`` iff ``x < Split``);
    ``Missing`` the child that missing values go to; ``Gain`` the split's loss reduction,
    or the leaf value at leaves; ``Cover`` the hessian sum; ``Category`` NaN (no
    categorical splits).

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> import numpy as np
    >>> from skextras.ensemble import NewtonBoostingRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.rand(100, 3)
    >>> y = 2 * X[:, 1] + 0.1 * rng.rand(100)
    >>> model = NewtonBoostingRegressor(n_estimators=3, max_depth=1).fit(X, y)
    >>> from skextras.ensemble import trees_to_dataframe
    >>> df = trees_to_dataframe(model)
    >>> df.shape
    (9, 11)
    >>> list(df.columns)
    ['Tree', 'Node', 'ID', 'Feature', 'Split', 'Yes', 'No', 'Missing', 'Gain', 'Cover', 'Category']
    >>> root = df.iloc[0]
    >>> root.Feature, root.ID, root.Yes, root.No
    ('f1', '0-0', '0-1', '0-2')
    >>> bool(np.isclose(df.Cover[df.Node == 0].iloc[0], len(X)))
    True
    """
    import pandas as pd

    names = _feature_names(model)
    frames = []
    for t, tree in enumerate(_boosted_trees(model)):
        leaf = tree.left == -1
        node = np.arange(tree.n_nodes)

        def ids(nodes, t=t):
            return np.array([f"{t}-{n}" for n in nodes], dtype=object)

        missing = np.where(tree.missing_go_left, tree.left, tree.right)
        frame = pd.DataFrame(
            {
                "Tree": t,
                "Node": node,
                "ID": ids(node),
                "Feature": np.where(
                    leaf, "Leaf", np.array(names, dtype=object)[np.maximum(tree.feature, 0)]
                ),
                "Split": np.where(leaf, np.nan, np.nextafter(tree.threshold, np.inf)),
                "Yes": np.where(leaf, np.nan, ids(tree.left)),
                "No": np.where(leaf, np.nan, ids(tree.right)),
                "Missing": np.where(leaf, np.nan, ids(missing)),
                "Gain": np.where(leaf, tree.value[:, 0], tree.gain),
                "Cover": tree.cover,
                "Category": np.nan,
            }
        )
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)[_DATAFRAME_COLUMNS]


class TreesToDataFrameMixin:
    """``trees_to_dataframe()`` on the NewtonBoosting estimators."""

    def trees_to_dataframe(self):
        """XGBoost's node table of the fitted trees (see
        :func:`skextras.ensemble.trees_to_dataframe`); a pandas DataFrame."""
        return trees_to_dataframe(self)


def plot_importance(
    model,
    ax=None,
    *,
    importance_type="weight",
    max_num_features=None,
    height=0.2,
    title="Feature importance",
    xlabel=None,
    ylabel="Features",
    show_values=True,
    grid=True,
):
    """Horizontal bar chart of a fitted ensemble's feature importances, largest on top.

    Parameters
    ----------
    model : fitted skextras ensemble
        NewtonBoosting*, or any estimator with ``feature_importances_``.
    ax : matplotlib Axes, default=None
        Axes to draw on (a new figure when None).
    importance_type : str, default="weight"
        NewtonBoosting* only, XGBoost's ``get_score`` values (``_base.booster_scores``):
        the bars equal ``xgboost.plot_importance``'s; other ensembles plot their
        normalised impurity importances.
    max_num_features : int, default=None
        Keep the largest this many (None: every feature with a non-zero importance).
    height : float, default=0.2
        Bar height.
    title, xlabel, ylabel : str
        Labels (``xlabel`` None: the importance type).
    show_values : bool, default=True
        Write each value beside its bar.
    grid : bool, default=True

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import numpy as np
    >>> from skextras.ensemble import NewtonBoostingRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.rand(100, 3)
    >>> y = 2 * X[:, 1] + 0.1 * rng.rand(100)
    >>> model = NewtonBoostingRegressor(n_estimators=3, max_depth=1).fit(X, y)
    >>> import matplotlib.pyplot as plt
    >>> from skextras.ensemble import plot_importance
    >>> ax = plot_importance(model)
    >>> [label.get_text() for label in ax.get_yticklabels()]
    ['f1']
    >>> plt.close(ax.figure)
    """
    plt = _matplotlib()
    check_is_fitted(model)
    if hasattr(model, "_trees") and hasattr(model, "importance_type"):
        from skextras.ensemble._base import booster_scores

        scores = booster_scores(model._trees, model.n_features_in_, importance_type)
    else:
        scores = np.asarray(model.feature_importances_, dtype=np.float64)
        importance_type = "impurity decrease"
    names = np.array(_feature_names(model), dtype=object)
    keep = np.flatnonzero(scores > 0)
    if keep.size == 0:
        raise ValueError("every feature importance is 0: the model has no splits to plot")
    keep = keep[np.argsort(scores[keep], kind="stable")]
    if max_num_features is not None:
        keep = keep[-int(max_num_features) :]
    if ax is None:
        _, ax = plt.subplots(1, 1)
    positions = np.arange(keep.size)
    ax.barh(positions, scores[keep], align="center", height=height)
    if show_values:
        for y, value in zip(positions, scores[keep], strict=True):
            ax.text(value + 0.01 * scores[keep].max(), y, f"{value:.3g}", va="center")
    ax.set_yticks(positions)
    ax.set_yticklabels(names[keep])
    ax.set_title(title)
    ax.set_xlabel(importance_type if xlabel is None else xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(grid)
    return ax


def _tree_at(model, tree_index):
    """The ``tree_index``'th tree as a scikit-learn estimator view (for sklearn's drawer)."""
    from skextras.ensemble._sklearn_tree import _SklearnView, sklearn_view

    if hasattr(model, "_trees") and isinstance(model._trees[0], Tree):
        trees = model._trees  # NewtonBoosting: flat, XGBoost's order
    else:
        trees = list(np.ravel(model.estimators_))
    if not -len(trees) <= tree_index < len(trees):
        raise ValueError(f"tree_index={tree_index} is out of range for {len(trees)} trees")
    tree = trees[tree_index]
    if isinstance(tree, _SklearnView):
        return tree
    return sklearn_view(tree, model, 1, "squared_error")


def plot_tree(model, tree_index=0, ax=None, *, feature_names=None, precision=3, fontsize=None):
    """Draw one tree of a fitted ensemble with matplotlib (no graphviz).

    Nodes show the split (``feature <= threshold``), the training rows reaching them and
    the node value (leaf values of boosted trees include the learning rate); drawn by
    ``sklearn.tree.plot_tree`` on the tree's scikit-learn view.

    Parameters
    ----------
    model : fitted skextras forest, gradient boosting or NewtonBoosting estimator
    tree_index : int, default=0
        Which tree (boosting: round-major, then class, as ``trees_to_dataframe``).
    ax : matplotlib Axes, default=None
    feature_names : list of str, default=None
        Defaults to ``feature_names_in_`` or ``f{i}``.
    precision : int, default=3
    fontsize : int, default=None

    Returns
    -------
    list of matplotlib Annotation
        One per node, and the edge labels.

    Examples
    --------
    >>> import numpy as np
    >>> from skextras.ensemble import NewtonBoostingRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.rand(100, 3)
    >>> y = 2 * X[:, 1] + 0.1 * rng.rand(100)
    >>> model = NewtonBoostingRegressor(n_estimators=3, max_depth=1).fit(X, y)
    >>> import matplotlib.pyplot as plt
    >>> from skextras.ensemble import plot_tree
    >>> annotations = plot_tree(model, tree_index=0)
    >>> [a.get_text().splitlines()[0] for a in annotations[:2]]
    ['f1 <= 0.484', 'samples = 50']
    >>> plt.close("all")
    """
    _matplotlib()
    from sklearn.tree import plot_tree as sklearn_plot_tree

    check_is_fitted(model)
    tree = _tree_at(model, tree_index)
    names = _feature_names(model) if feature_names is None else list(feature_names)
    impurity = not np.isnan(tree.tree_.impurity).any()
    return sklearn_plot_tree(
        tree,
        feature_names=names,
        impurity=impurity,
        precision=precision,
        fontsize=fontsize,
        ax=ax,
    )


def plot_metric(
    model, metric=None, ax=None, *, title="Metric during training", xlabel="Iterations"
):
    """Plot the evaluation history of a fitted NewtonBoosting model (``evals_result_``),
    one line per validation set.

    Parameters
    ----------
    model : fitted NewtonBoosting estimator, or its ``evals_result_`` dict
    metric : str, default=None
        Which metric (None: the only one recorded; an error names them when there are
        several).
    ax : matplotlib Axes, default=None

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from skextras.ensemble import NewtonBoostingRegressor, plot_metric
    >>> rng = np.random.RandomState(0)
    >>> X = rng.rand(100, 3)
    >>> y = 2 * X[:, 1] + 0.1 * rng.rand(100)
    >>> model = NewtonBoostingRegressor(n_estimators=4, max_depth=1)
    >>> model = model.fit(X[:80], y[:80], eval_set=[(X[80:], y[80:])])
    >>> ax = plot_metric(model)
    >>> list(model.evals_result_), ax.get_ylabel()
    (['validation_0'], 'rmse')
    >>> line = ax.get_lines()[0]
    >>> bool(np.allclose(line.get_ydata(), model.evals_result_["validation_0"]["rmse"]))
    True
    >>> plt.close(ax.figure)
    """
    plt = _matplotlib()
    history = model if isinstance(model, dict) else getattr(model, "evals_result_", None)
    if not history or not any(history.values()):
        raise ValueError("no evaluation history: fit with eval_set=[(X_val, y_val)] to record one")
    recorded = sorted({name for results in history.values() for name in results})
    if metric is None:
        if len(recorded) > 1:
            raise ValueError(f"several metrics were recorded {recorded}; pass metric=...")
        metric = recorded[0]
    elif metric not in recorded:
        raise ValueError(f"metric={metric!r} was not recorded; recorded: {recorded}")
    if ax is None:
        _, ax = plt.subplots(1, 1)
    for name, results in history.items():
        if metric in results:
            ax.plot(np.arange(len(results[metric])), results[metric], label=name)
    ax.legend(loc="best")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(metric)
    ax.grid(True)
    return ax
