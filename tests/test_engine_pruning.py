"""pruning: minimal cost-complexity pruning of engine trees against scikit-learn's
``cost_complexity_pruning_path`` and ``ccp_alpha``, and the weakest-link definition."""

import numpy as np
import pytest
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from skextras._engine.pruning import prune_mask, prune_tree, pruning_path
from skextras.ensemble import (
    HistTreeClassifier,
    HistTreeRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)

DETERMINISTIC = dict(n_estimators=1, bootstrap=False, max_features=None, random_state=0)


def _data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 100, size=(n, 3)) * np.array([1.0, 1.25, 0.75])
    y = (X[:, 0] + X[:, 1] / 2 + 25 * rng.normal(size=n) > 75).astype(int)
    y += (X[:, 2] > 50) & (rng.random(n) < 0.5)
    return X, y, X[:, 0] / 10 + np.sin(X[:, 1] / 9) + rng.normal(size=n)


def _weakest_link(tree, alpha):
    """Weakest-link pruning as a slow loop over the definition: collapse the internal node of
    smallest (R(t) - R(T_t)) / (leaves - 1) while it is <= alpha (gains give R(t) - R(T_t))."""
    left, right, gain = tree.left.tolist(), tree.right.tolist(), tree.gain
    collapsed = set()

    def internal(node):
        return left[node] != -1 and node not in collapsed

    def subtree(node):
        if not internal(node):
            return 0.0, 1
        a, b = subtree(left[node]), subtree(right[node])
        return gain[node] + a[0] + b[0], a[1] + b[1]

    def nodes(node):
        yield node
        if internal(node):
            yield from nodes(left[node])
            yield from nodes(right[node])

    while internal(0):
        g = {t: subtree(t)[0] / (subtree(t)[1] - 1) for t in nodes(0) if internal(t)}
        best = min(g, key=lambda t: (g[t], t))
        if g[best] > alpha:
            break
        collapsed.add(best)
    return sorted(nodes(0))


def test_prune_mask_equals_weakest_link_loop():
    X, y, _ = _data()
    tree = RandomForestClassifier(**DETERMINISTIC).fit(X, y).estimators_[0]
    gains = np.sort(tree.gain[tree.gain > 0])
    for alpha in [0.0, *np.quantile(gains, [0.1, 0.5, 0.9]), gains[-1] * 2]:
        alive, _ = prune_mask(tree, alpha)
        assert np.flatnonzero(alive).tolist() == _weakest_link(tree, alpha)


@pytest.mark.parametrize("criterion", ["gini", "entropy"])
def test_pruning_path_equals_sklearn_classifier(criterion):
    X, y, _ = _data()
    w = np.random.default_rng(1).integers(1, 4, y.size).astype(float)
    forest = RandomForestClassifier(**DETERMINISTIC, criterion=criterion).fit(X, y, sample_weight=w)
    ref = DecisionTreeClassifier(criterion=criterion, random_state=0)
    expected = ref.cost_complexity_pruning_path(X, y, sample_weight=w)
    view = forest.estimators_[0]
    alphas, impurities = pruning_path(view, 1.0, w.sum(), view.tree_.impurity[0])
    np.testing.assert_allclose(alphas, expected.ccp_alphas, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(impurities, expected.impurities, rtol=1e-9, atol=1e-12)


def test_pruning_path_equals_sklearn_regressor():
    X, _, y = _data()
    forest = RandomForestRegressor(**DETERMINISTIC).fit(X, y)
    expected = DecisionTreeRegressor(random_state=0).cost_complexity_pruning_path(X, y)
    view = forest.estimators_[0]
    alphas, impurities = pruning_path(view, 1.0, y.size, view.tree_.impurity[0])
    np.testing.assert_allclose(alphas, expected.ccp_alphas, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(impurities, expected.impurities, rtol=1e-9, atol=1e-9)


def test_prune_tree_maps_rows_to_their_pruned_leaf():
    X, y, _ = _data()
    tree = RandomForestClassifier(**DETERMINISTIC).fit(X, y).estimators_[0]
    alpha = np.quantile(tree.gain[tree.gain > 0], 0.6)
    pruned, node_map = prune_tree(tree, alpha)
    assert 1 < pruned.n_nodes < tree.n_nodes
    np.testing.assert_array_equal(node_map[tree.apply(X)], pruned.apply(X))
    alive, collapsed = prune_mask(tree, alpha)
    np.testing.assert_array_equal(pruned.value, tree.value[alive])
    assert np.all(pruned.left[collapsed[alive]] == -1)
    unchanged, same_map = prune_tree(tree, 0.0)
    assert unchanged is tree and np.array_equal(same_map, np.arange(tree.n_nodes))


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_hist_tree_pruning_path_and_ccp_alpha_equal_sklearn(kind):
    X, y, y_reg = _data(300, seed=2)
    w = np.random.default_rng(3).uniform(0.5, 2.0, y.size)
    if kind == "classifier":
        ours, ref = HistTreeClassifier(max_depth=5), DecisionTreeClassifier(max_depth=5)
    else:
        ours, ref, y = HistTreeRegressor(max_depth=5), DecisionTreeRegressor(max_depth=5), y_reg
    ref.set_params(random_state=0)
    path = ours.cost_complexity_pruning_path(X, y, sample_weight=w)
    expected = ref.cost_complexity_pruning_path(X, y, sample_weight=w)
    np.testing.assert_allclose(path.ccp_alphas, expected.ccp_alphas, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(path.impurities, expected.impurities, rtol=1e-9, atol=1e-9)
    mids = (expected.ccp_alphas[1:] + expected.ccp_alphas[:-1]) / 2
    for alpha in mids[:: max(1, mids.size // 4)]:
        pruned = ours.set_params(ccp_alpha=alpha).fit(X, y, sample_weight=w)
        ref_pruned = ref.set_params(ccp_alpha=alpha).fit(X, y, sample_weight=w)
        assert pruned.tree_.n_leaves == ref_pruned.get_n_leaves()
        np.testing.assert_allclose(pruned.predict(X), ref_pruned.predict(X), atol=1e-12)
