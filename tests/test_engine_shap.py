"""TreeSHAP: exact Shapley values of the path-dependent (cover-weighted) tree expectation."""

import itertools
import math

import numpy as np

from skextras._engine.binning import BinMapper
from skextras._engine.grower import TreeParams, grow_tree
from skextras._engine.shap import shap_forest


def _conditional_expectation(tree, x, subset, node=0):
    """E[f(x) | x_S] with the covers as the distribution (the paper's Algorithm 1)."""
    if tree.left[node] == -1:
        return tree.value[node, 0]
    left, right = tree.left[node], tree.right[node]
    f = tree.feature[node]
    if f in subset:
        v = x[f]
        go_left = tree.missing_go_left[node] if np.isnan(v) else v <= tree.threshold[node]
        return _conditional_expectation(tree, x, subset, left if go_left else right)
    return (
        tree.cover[left] * _conditional_expectation(tree, x, subset, left)
        + tree.cover[right] * _conditional_expectation(tree, x, subset, right)
    ) / tree.cover[node]


def _brute_force_shapley(tree, x):
    used = sorted(set(tree.feature[tree.left != -1].tolist()))
    m = len(used)
    phi = np.zeros(x.size + 1)
    for f in used:
        others = [g for g in used if g != f]
        for k in range(m):
            weight = math.factorial(k) * math.factorial(m - k - 1) / math.factorial(m)
            for subset in itertools.combinations(others, k):
                s = set(subset)
                phi[f] += weight * (
                    _conditional_expectation(tree, x, s | {f})
                    - _conditional_expectation(tree, x, s)
                )
    phi[-1] = _conditional_expectation(tree, x, set())
    return phi


def test_shap_equals_brute_force_shapley_with_missing_and_repeated_features():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(2000, 5))
    X[rng.rand(2000, 5) < 0.15] = np.nan
    y = np.nan_to_num(X[:, 0]) ** 2 + np.nan_to_num(X[:, 1]) * np.nan_to_num(X[:, 2])
    bm = BinMapper(max_bin=32)
    Xb = bm.fit_transform(X)
    tree = grow_tree(Xb, -y, np.ones(2000), bm, TreeParams(max_depth=5), np.random.RandomState(0))
    assert tree.max_depth == 5
    phi = shap_forest([tree], X[:15], [0], 1)[:, 0, :]
    for i in range(15):
        np.testing.assert_allclose(phi[i], _brute_force_shapley(tree, X[i]), atol=1e-10)
    np.testing.assert_allclose(phi.sum(axis=1), tree.predict(X[:15])[:, 0], atol=1e-10)
