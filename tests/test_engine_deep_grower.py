"""deep_grower: the forests' whole-tree numba grower against the level-wise grower and sklearn."""

import numpy as np
import pytest
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from skextras._engine.binning import BinMapper
from skextras._engine.deep_grower import (
    ForestContext,
    _random_bin,
    _scan_random,
    bin_tables,
    grow_deep_tree,
    supports,
)
from skextras._engine.grower import TreeParams, grow_tree
from skextras._engine.split import make_split_params


def _data(n=1500, seed=0, missing=0.0, n_classes=3, continuous=False):
    """Integer features (exact bins: sklearn sees the same thresholds), or continuous ones
    (no ties between the gains of two features, whose order the two growers break apart)."""
    rng = np.random.RandomState(seed)
    X = rng.rand(n, 5) * 12 if continuous else rng.randint(0, 12, size=(n, 5)).astype(float)
    y = (np.floor(X[:, 1]) + 2 * np.floor(X[:, 3]) + rng.randint(0, 6, size=n)) % n_classes
    X[rng.rand(n) < missing, 2] = np.nan
    return X, y.astype(int)


def _targets(y, n_classes):
    return -np.eye(n_classes)[y], np.ones(y.size)


def _both(X, g, h, purity_scale=1.0, **kw):
    """(deep tree, level-wise tree) grown with the same parameters and all features.

    ``gamma`` defaults to the level-wise grower's minimum gain, which the deep grower (as
    scikit-learn) otherwise does not have."""
    mapper = BinMapper(max_bin=256)
    Xb = mapper.fit_transform(X)
    params = TreeParams(**{"reg_lambda": 0.0, "min_child_weight": 0.0, "gamma": 1e-6, **kw})
    deep = grow_deep_tree(Xb, g, h, mapper, params, 0, purity_scale=purity_scale)
    level = grow_tree(Xb, g, h, mapper, params, np.random.RandomState(0))
    return deep, level


@pytest.mark.parametrize("criterion", ["newton", "entropy"])
def test_deep_tree_matches_level_wise_tree(criterion):
    X, y = _data(continuous=True)
    g, h = _targets(y, 3)
    deep, level = _both(X, g, h, max_depth=4, criterion=criterion)
    np.testing.assert_allclose(deep.predict(X), level.predict(X), atol=1e-12)
    assert deep.n_leaves == level.n_leaves
    np.testing.assert_allclose(np.sort(deep.gain), np.sort(level.gain), rtol=1e-9)


def test_deep_tree_learns_missing_direction_like_level_wise_tree():
    X, y = _data(missing=0.3, n_classes=2, continuous=True)
    deep, level = _both(
        X, -(y == 1).astype(float), np.ones(y.size), max_depth=5, min_samples_leaf=40
    )
    np.testing.assert_allclose(deep.predict(X), level.predict(X), atol=1e-12)
    assert np.isnan(X).any()


def test_full_depth_gini_tree_matches_sklearn_decision_tree():
    # Unlimited depth, all features, pure-node stops, zero-gain splits of impure nodes:
    # sklearn's tree on integer features.
    X, y = _data(n=800, seed=3)
    g, h = _targets(y, 3)
    deep, _ = _both(X, g, h, max_depth=None, gamma=0.0)
    sk = DecisionTreeClassifier(random_state=0).fit(X, y)
    np.testing.assert_allclose(deep.predict(X), sk.predict_proba(X), atol=1e-12)
    assert deep.n_leaves == sk.get_n_leaves()


def test_regression_tree_stops_at_constant_targets_and_matches_sklearn():
    # At full depth every leaf holds equal targets or equal features: the training
    # predictions do not depend on how ties between splits were broken.
    rng = np.random.RandomState(4)
    X = rng.randint(0, 10, size=(600, 4)).astype(float)
    y = np.round(X[:, 0] * 0.5 + rng.randint(0, 3, 600))
    deep, _ = _both(X, -y, np.ones(y.size), purity_scale=0.0, max_depth=None, gamma=0.0)
    sk = DecisionTreeRegressor(random_state=0).fit(X, y)
    np.testing.assert_allclose(deep.predict(X)[:, 0], sk.predict(X), atol=1e-9)


def test_limits_and_sampled_features_are_respected():
    X, y = _data(n=3000)
    g, h = _targets(y, 3)
    mapper = BinMapper(max_bin=256)
    Xb = mapper.fit_transform(X)
    params = TreeParams(
        max_depth=7, min_samples_leaf=15, reg_lambda=0.0, min_child_weight=0.0, max_features=2
    )
    tree = grow_deep_tree(Xb, g, h, mapper, params, [1, 2], purity_scale=1.0)
    leaves = tree.left < 0
    assert tree.depth.max() <= 7
    assert tree.n_samples[leaves].min() >= 15
    again = grow_deep_tree(Xb, g, h, mapper, params, [1, 2], purity_scale=1.0)
    np.testing.assert_array_equal(tree.feature, again.feature)
    other = grow_deep_tree(Xb, g, h, mapper, params, [1, 3], purity_scale=1.0)
    assert not np.array_equal(tree.feature, other.feature)


def test_random_splitter_thresholds_lie_inside_the_node_range():
    rng = np.random.RandomState(5)
    X = rng.rand(2000, 3)
    y = X[:, 0] + rng.randn(2000) * 0.1
    mapper = BinMapper(max_bin=64)
    Xb = mapper.fit_transform(X)
    params = TreeParams(max_depth=None, reg_lambda=0.0, min_child_weight=0.0, splitter="random")
    context = ForestContext(Xb, mapper)
    tree = grow_deep_tree(Xb, -y, np.ones(y.size), mapper, params, 0, context=context)
    # Every split separates rows: both children hold some.
    internal = tree.left >= 0
    assert (tree.n_samples[tree.left[internal]] > 0).all()
    assert (tree.n_samples[tree.right[internal]] > 0).all()
    assert tree.n_leaves > 100


@pytest.mark.parametrize(
    "change",
    [
        dict(max_leaves=8, grow_policy="lossguide"),
        dict(monotone_constraints=np.array([1, 0, 0])),
        dict(interaction_constraints=[[0, 1]]),
        dict(reg_alpha=0.5),
        dict(colsample_bynode=0.5),
    ],
)
def test_unsupported_parameters_fall_back_to_the_level_wise_grower(change):
    assert supports(TreeParams())
    assert not supports(TreeParams(**change))


def _linear_random_bin(centres, f, lo, hi, u):
    """The threshold bin as first written: walk up from ``lo`` while the next centre (below
    ``hi``) is at most the drawn value."""
    if hi <= lo:
        return hi
    t = centres[f, lo] + u * (centres[f, hi] - centres[f, lo])
    chosen = lo
    while chosen + 1 < hi and centres[f, chosen + 1] <= t:
        chosen += 1
    return chosen


def test_random_threshold_bin_search_equals_the_linear_walk():
    rng = np.random.RandomState(6)
    X = np.column_stack([rng.rand(3000), rng.randint(0, 4, 3000), np.full(3000, 2.0)])
    mapper = BinMapper(max_bin=256)
    mapper.fit(X)
    centres = bin_tables(mapper)[1]
    n_bins = [t.size + 1 for t in mapper.bin_thresholds_]
    for _ in range(3000):
        f = rng.randint(3)
        lo, hi = np.sort(rng.randint(0, n_bins[f], size=2))
        u = rng.rand() if rng.rand() < 0.9 else rng.choice([0.0, np.nextafter(1.0, 0.0)])
        expected = _linear_random_bin(centres, f, lo, hi, u)
        assert _random_bin(centres, f, lo, hi, u) == expected


@pytest.mark.parametrize("n_outputs", [1, 3])
def test_random_threshold_pass_sums_the_rows_at_or_below_the_bin(n_outputs):
    # One pass over the node's rows: left sums (bins <= chosen) and missing sums, as the slow
    # loop below, summed in row order (so equal to the last bit).
    rng = np.random.RandomState(7)
    m, missing_bin = 700, 255
    keys = rng.randint(0, 40, size=m).astype(np.uint8)
    keys[rng.rand(m) < 0.1] = missing_bin
    gh = np.column_stack([rng.randn(m, n_outputs), rng.uniform(0.5, 2.0, m)])
    centres = np.tile(np.arange(256.0), (1, 1))
    split = make_split_params(TreeParams(reg_lambda=0.0, min_child_weight=0.0), False)
    n_stats = n_outputs + 2
    for u in rng.rand(20):
        w = np.zeros((7, n_stats))
        w[6] = np.r_[gh.sum(axis=0), m]  # the parent's sums
        state = np.array([-np.inf, 0.0, 0.0, 0.0])
        chosen = _random_bin(centres, 0, 3, 37, u)
        _scan_random(gh, 0, m, 3, 37, keys, centres, 0, u, missing_bin, True, w, split, state)
        left = np.zeros(n_stats)
        miss = np.zeros(n_stats)
        for i in range(m):
            if keys[i] <= chosen:
                left += np.r_[gh[i], 1.0]
            elif keys[i] == missing_bin:
                miss += np.r_[gh[i], 1.0]
        assert np.array_equal(w[3], left) and np.array_equal(w[4], miss)
