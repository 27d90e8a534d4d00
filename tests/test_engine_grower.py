"""grow_tree: XGBoost's split / leaf formulas, growth policies, constraints, RF criteria."""

import numpy as np
import pytest
import scipy.sparse as sp
import xgboost as xgb
from sklearn.tree import DecisionTreeClassifier

from skextras._engine import grower, histogram
from skextras._engine.binning import BinMapper
from skextras._engine.grower import TreeParams, grow_tree
from skextras._engine.tree import Tree, predict_forest


def _few_values_data(n=3000, seed=0, missing=0.1):
    rng = np.random.RandomState(seed)
    X = rng.randint(0, 6, size=(n, 4)).astype(float)
    X[rng.rand(n) < missing, 1] = np.nan
    y = X[:, 0] + np.nan_to_num(X[:, 1], nan=4.0) * 0.5 - X[:, 2] * 0.3 + rng.randn(n) > 2.5
    return X, y.astype(float)


def _one_squared_error_tree(X, y, **kw):
    base = y.mean()
    kw = {"learning_rate": 0.3, **kw}
    bm = BinMapper(max_bin=256)
    Xb = bm.fit_transform(X)
    xgb_keys = {
        "max_depth",
        "reg_lambda",
        "reg_alpha",
        "gamma",
        "min_child_weight",
        "max_delta_step",
        "learning_rate",
        "monotone_constraints",
    }
    params = TreeParams(**kw)
    tree = grow_tree(Xb, base - y, np.ones_like(y), bm, params, np.random.RandomState(0))
    xparams = {k: v for k, v in kw.items() if k in xgb_keys}
    if "monotone_constraints" in xparams:
        xparams["monotone_constraints"] = tuple(int(c) for c in xparams["monotone_constraints"])
    booster = xgb.train(
        dict(tree_method="hist", base_score=base, max_bin=256, **xparams),
        xgb.DMatrix(X, label=y),
        num_boost_round=1,
    )
    return tree, booster, base


@pytest.mark.parametrize(
    "kw",
    [
        dict(max_depth=2),
        dict(max_depth=3, reg_lambda=5.0, learning_rate=0.3),
        dict(max_depth=2, gamma=15.0),
        dict(max_depth=3, min_child_weight=300.0),
        dict(max_depth=2, max_delta_step=0.05, reg_lambda=0.0),
        dict(max_depth=2, reg_alpha=30.0),
    ],
)
def test_tree_matches_xgboost_few_distinct_values(kw):
    X, y = _few_values_data()
    tree, booster, base = _one_squared_error_tree(X, y, **kw)
    df = booster.trees_to_dataframe()
    splits = df[df.Feature != "Leaf"]
    internal = tree.left != -1
    assert internal.sum() == len(splits)
    np.testing.assert_allclose(np.sort(tree.gain[internal]), np.sort(splits.Gain), rtol=1e-4)
    np.testing.assert_allclose(
        np.sort(tree.value[~internal, 0]), np.sort(df[df.Feature == "Leaf"].Gain), atol=1e-6
    )
    np.testing.assert_allclose(
        tree.predict(X)[:, 0] + base, booster.predict(xgb.DMatrix(X)), atol=1e-6
    )


def test_missing_default_direction_matches_xgboost():
    X, y = _few_values_data(missing=0.3, seed=3)
    tree, booster, base = _one_squared_error_tree(X, y, max_depth=3)
    X_missing = X.copy()
    X_missing[:, :] = np.nan
    X_missing[:, 0] = X[:, 0]
    np.testing.assert_allclose(
        tree.predict(X_missing)[:, 0] + base, booster.predict(xgb.DMatrix(X_missing)), atol=1e-6
    )


def test_monotone_constraint_matches_xgboost_and_is_monotone():
    X, y = _few_values_data(seed=5)
    tree, booster, base = _one_squared_error_tree(
        X, y, max_depth=3, monotone_constraints=np.array([0, 0, 1, 0])
    )
    np.testing.assert_allclose(
        tree.predict(X)[:, 0] + base, booster.predict(xgb.DMatrix(X)), atol=1e-6
    )
    grid = np.repeat(X[:200], 6, axis=0)
    grid[:, 2] = np.tile(np.arange(6.0), 200)
    pred = tree.predict(grid)[:, 0].reshape(200, 6)
    assert np.all(np.diff(pred, axis=1) >= -1e-12)


def _grow(X, g, h, **kw):
    bm = BinMapper(max_bin=64)
    Xb = bm.fit_transform(X)
    return grow_tree(Xb, g, h, bm, TreeParams(**kw), np.random.RandomState(0)), Xb, bm


def test_lossguide_respects_max_leaves_and_prefers_gain():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(3000, 5))
    y = X[:, 0] ** 2 + X[:, 1] + 0.1 * rng.normal(size=3000)
    tree, _, _ = _grow(
        X, -y, np.ones(3000), max_depth=None, max_leaves=9, grow_policy="lossguide", reg_lambda=0.0
    )
    assert tree.n_leaves == 9
    depthwise, _, _ = _grow(X, -y, np.ones(3000), max_depth=3, reg_lambda=0.0)
    sse = lambda t: np.sum((y - t.predict(X)[:, 0]) ** 2)  # noqa: E731
    assert depthwise.n_leaves == 8 and sse(tree) < sse(depthwise)


def test_gini_split_matches_sklearn_decision_tree():
    rng = np.random.RandomState(2)
    X = rng.randint(0, 8, size=(1500, 5)).astype(float)
    yc = (X[:, 1] + X[:, 3] + rng.randint(0, 4, size=1500)) % 3
    onehot = np.eye(3)[yc.astype(int)]
    for criterion in ("newton", "entropy"):
        tree, _, _ = _grow(
            X,
            -onehot,
            np.ones(1500),
            max_depth=3,
            reg_lambda=0.0,
            min_child_weight=0.0,
            criterion=criterion,
        )
        sk = DecisionTreeClassifier(
            max_depth=3, criterion="gini" if criterion == "newton" else "entropy"
        ).fit(X, yc)
        np.testing.assert_allclose(tree.predict(X), sk.predict_proba(X), atol=1e-12)


def test_histogram_subtraction_equals_direct_build():
    rng = np.random.RandomState(4)
    X = rng.normal(size=(4000, 6))
    X[rng.rand(4000, 6) < 0.05] = np.nan
    g = rng.normal(size=(4000, 2))
    h = rng.uniform(0.5, 1.5, size=4000)
    tree, Xb, bm = _grow(X, g, h, max_depth=4, reg_lambda=1.0)
    leaves = tree.apply_binned(Xb)
    for leaf in np.flatnonzero(tree.left == -1):
        rows = leaves == leaf
        np.testing.assert_allclose(tree.cover[leaf], h[rows].sum(), rtol=1e-10)
        np.testing.assert_allclose(
            tree.value[leaf], -g[rows].sum(axis=0) / (h[rows].sum() + 1.0), rtol=1e-10
        )


def test_interaction_constraints_paths_stay_in_one_set():
    rng = np.random.RandomState(6)
    X = rng.normal(size=(3000, 4))
    y = X[:, 0] * X[:, 1] + X[:, 2] * X[:, 3] + X[:, 0] * X[:, 3]
    sets = [[0, 1], [2, 3]]
    tree, _, _ = _grow(X, -y, np.ones(3000), max_depth=5, interaction_constraints=sets)
    path = tree.decision_path(X).toarray().astype(bool)
    for row in path[:300]:
        used = set(tree.feature[row & (tree.left != -1)].tolist())
        assert used <= {0, 1} or used <= {2, 3}


def test_sample_mask_max_features_random_splitter_deterministic():
    rng = np.random.RandomState(7)
    X = rng.normal(size=(2000, 8))
    y = X[:, 0] + X[:, 1]
    mask = rng.rand(2000) < 0.6
    kw = dict(max_depth=4, max_features=3, splitter="random")
    a, _, _ = _grow(X, -y, np.ones(2000), **kw)
    b, _, _ = _grow(X, -y, np.ones(2000), **kw)
    np.testing.assert_array_equal(a.feature, b.feature)
    bm = BinMapper(max_bin=64)
    Xb = bm.fit_transform(X)
    t = grow_tree(
        Xb,
        -y,
        np.ones(2000),
        bm,
        TreeParams(max_depth=3),
        np.random.RandomState(0),
        sample_mask=mask,
    )
    assert t.n_samples[0] == mask.sum()


def test_tree_predict_sparse_binned_dict_and_forest_agree():
    rng = np.random.RandomState(8)
    X = rng.normal(size=(1000, 5))
    X[rng.rand(1000, 5) < 0.5] = 0.0
    trees = []
    for seed in range(3):
        y = X[:, seed] - X[:, 4]
        tree, Xb, bm = _grow(X, -y, np.ones(1000), max_depth=4)
        trees.append(tree)
    tree = trees[0]
    np.testing.assert_array_equal(tree.predict(X), tree.predict(sp.csr_matrix(X)))
    np.testing.assert_array_equal(tree.predict(X), tree.predict_binned(Xb))
    np.testing.assert_array_equal(tree.apply(X), tree.apply(sp.csc_matrix(X)))
    again = Tree.from_dict(tree.to_dict())
    np.testing.assert_array_equal(again.predict(X), tree.predict(X))
    total = sum(t.predict(X) for t in trees)
    np.testing.assert_allclose(predict_forest(trees, X), total, rtol=1e-12)
    per_class = predict_forest(trees, X, tree_output=[0, 1, 1], n_outputs=2)
    np.testing.assert_allclose(
        per_class[:, 1], trees[1].predict(X)[:, 0] + trees[2].predict(X)[:, 0]
    )


@pytest.mark.parametrize("walk", ["fixed", "branching", "mixed"])
def test_fixed_depth_prediction_equals_node_by_node_walk(walk, monkeypatch):
    # unbalanced trees with missing values, several outputs per tree and trees added to
    # different columns: the same sums, bit for bit, however each tree is walked
    from skextras._engine import tree as tree_module

    rng = np.random.RandomState(3)
    X = rng.normal(size=(700, 6))
    X[rng.rand(700, 6) < 0.2] = np.nan
    trees = []
    for seed in range(5):
        y = np.nan_to_num(X[:, seed]) * (X[:, 5] > 1.0) + 0.1 * rng.randn(700)
        g = np.column_stack([-y, y**2]) if seed % 2 else -y
        tree, Xb, _ = _grow(X, g, np.ones(700), max_depth=None if seed == 0 else 2 + seed)
        trees.append(tree)
    layout = tree_module._fixed_depth_layout(trees)
    assert layout is not None
    depths = layout[1]
    if walk != "mixed":
        original = tree_module._fixed_depth_layout

        def forced(trees, binned=False):
            out = original(trees, binned)
            out[1][:] = -1 if walk == "branching" else [t.max_depth for t in trees]
            return out

        monkeypatch.setattr(tree_module, "_fixed_depth_layout", forced)
        depths = forced(trees)[1]
    else:
        assert depths[0] == trees[0].max_depth > 6  # unlimited depth, still at fixed depth
    for n_threads in (1, 2):
        X_test = np.vstack([X, rng.normal(size=(300, 6)) * 3])
        single = [t for t in trees if t.n_outputs == 1]
        got = predict_forest(single, X_test, n_threads, tree_output=[0, 2, 0], n_outputs=4)
        want = np.zeros_like(got)
        for t, k in zip(single, [0, 2, 0], strict=True):
            leaf = t.apply(X_test)  # the node-by-node walk of the other kernels
            want[:, k] += t.value[leaf, 0]
        np.testing.assert_array_equal(got, want)
        binned = predict_forest(
            single, Xb, n_threads, binned=True, tree_output=[0, 2, 0], n_outputs=4
        )
        want = np.zeros_like(binned)
        for t, k in zip(single, [0, 2, 0], strict=True):
            want[:, k] += t.value[t.apply_binned(Xb), 0]
        np.testing.assert_array_equal(binned, want)
        np.testing.assert_array_equal(
            binned, predict_forest(single, X, n_threads, False, [0, 2, 0], 4)
        )
        multi = [t for t in trees if t.n_outputs == 2]
        got = predict_forest(multi, X_test, n_threads, tree_output=[0, 2], n_outputs=4)
        want = np.zeros_like(got)
        for t, k in zip(multi, [0, 2], strict=True):
            want[:, k : k + 2] += t.value[t.apply(X_test)]
        np.testing.assert_array_equal(got, want)


def test_prediction_of_trees_without_adjacent_children_walks_node_by_node():
    rng = np.random.RandomState(4)
    X = rng.normal(size=(500, 3))
    tree, _, _ = _grow(X, -X[:, 0] * X[:, 1], np.ones(500), max_depth=3)
    d = tree.to_dict()
    # swap the children of the root: the same tree, its right child stored first
    left, right = tree.left[0], tree.right[0]
    for name in ("feature", "threshold", "bin_threshold", "missing_go_left", "left", "right",
                 "value", "gain", "cover", "n_samples", "depth"):  # fmt: skip
        a = np.array(d[name])
        a[[left, right]] = a[[right, left]]
        d[name] = a.tolist()
    relabel = np.arange(tree.n_nodes)
    relabel[[left, right]] = [right, left]
    for name in ("left", "right"):
        d[name] = [int(relabel[c]) if c != -1 else -1 for c in d[name]]
    d["left"][0], d["right"][0] = int(right), int(left)
    swapped = Tree.from_dict(d)
    from skextras._engine.tree import _fixed_depth_layout

    assert _fixed_depth_layout([swapped]) is None
    np.testing.assert_array_equal(swapped.predict(X), tree.predict(X))


@pytest.mark.parametrize("native", [True, False])
def test_grown_tree_same_for_any_thread_count_and_sample_mask_path(native, monkeypatch):
    # every threaded kernel splits its work, however small, on numba's threads (prange
    # drivers) or on Python threads
    from skextras._engine import _numba

    if native and not _numba.native_threads():
        pytest.skip("numba's threading layer is neither OpenMP nor TBB")
    monkeypatch.setattr(_numba, "native_threads", lambda: native)
    monkeypatch.setattr(histogram, "_PARALLEL_MIN_CELLS", 0)
    monkeypatch.setattr(grower, "_PARALLEL_MIN_ROWS", 0)
    monkeypatch.setattr(grower, "_PARALLEL_MIN_CANDIDATES", 0)
    rng = np.random.RandomState(3)
    n = 40_000
    X = rng.normal(size=(n, 6))
    X[rng.rand(n, 6) < 0.05] = np.nan
    g = rng.normal(size=n) + np.nan_to_num(X[:, 0])
    h = rng.uniform(0.5, 1.5, size=n)
    bm = BinMapper(random_state=0)
    Xb = bm.fit_transform(X)
    params = TreeParams(max_depth=6, colsample_bynode=0.8)
    trees = []
    for n_threads, mask in ((1, None), (2, None), (2, np.ones(n, dtype=bool))):
        tree, leaf = grow_tree(Xb, g, h, bm, params, np.random.RandomState(0), sample_mask=mask,
                               n_threads=n_threads, return_leaf_of_row=True)  # fmt: skip
        trees.append((tree.to_dict(), leaf))
    for d, leaf in trees[1:]:
        assert d == trees[0][0]
        np.testing.assert_array_equal(leaf, trees[0][1])
    np.testing.assert_array_equal(trees[0][1], Tree.from_dict(trees[0][0]).apply_binned(Xb))


@pytest.mark.parametrize("p", [6, histogram.WIDE_FEATURES + 8])
@pytest.mark.parametrize(
    "kw",
    [
        dict(max_depth=6),
        dict(max_depth=8, colsample_bynode=0.8, reg_alpha=1.0),
        dict(max_leaves=20, grow_policy="lossguide", max_depth=None),
        dict(max_depth=5, max_delta_step=0.3, monotone_constraints=[1, 0, 0, 0, 0, 0]),
    ],
)
def test_histograms_without_counts_grow_the_trees_of_counted_histograms(p, kw, monkeypatch):
    # The boosting case (one output, all hessians non-zero, min_child_weight > 0) builds
    # gradient/hessian histograms only; the trees must be those of counted histograms, up to
    # the last bits of the sums (ties between equal partitions may then resolve otherwise).
    rng = np.random.RandomState(3)
    n = 30_000
    X = rng.normal(size=(n, p))
    X[rng.rand(n, p) < 0.05] = np.nan
    g = rng.normal(size=n) + np.nan_to_num(X[:, 0])
    h = rng.uniform(0.5, 1.5, size=n)
    bm = BinMapper(random_state=0)
    Xb = bm.fit_transform(X)
    if "monotone_constraints" in kw:
        kw = {**kw, "monotone_constraints": np.array(kw["monotone_constraints"] + [0] * (p - 6))}
    params = TreeParams(**kw)
    assert grower._counts_from_rows(params, h, 1)
    compact = grow_tree(Xb, g, h, bm, params, np.random.RandomState(0), n_threads=2)
    monkeypatch.setattr(grower, "_counts_from_rows", lambda *args: False)
    counted = grow_tree(Xb, g, h, bm, params, np.random.RandomState(0), n_threads=2)
    assert compact.n_leaves == counted.n_leaves
    np.testing.assert_allclose(compact.predict(X), counted.predict(X), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np.sort(compact.gain), np.sort(counted.gain), rtol=1e-9)
    np.testing.assert_array_equal(np.sort(compact.n_samples), np.sort(counted.n_samples))


def test_histograms_without_counts_only_where_counts_are_not_needed():
    h = np.ones(10)
    assert grower._counts_from_rows(TreeParams(), h, 1)
    assert not grower._counts_from_rows(TreeParams(), h, 3)
    assert not grower._counts_from_rows(TreeParams(min_samples_leaf=5), h, 1)
    assert not grower._counts_from_rows(TreeParams(min_child_weight=0.0), h, 1)
    assert not grower._counts_from_rows(TreeParams(splitter="random"), h, 1)
    assert not grower._counts_from_rows(TreeParams(criterion="entropy"), h, 1)
    h[3] = 0.0  # an inert row (weight 0) must not be counted
    assert not grower._counts_from_rows(TreeParams(), h, 1)
