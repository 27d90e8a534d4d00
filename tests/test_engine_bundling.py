"""bundling: exclusive feature bundles, their histograms and partitions, against the unbundled
engine (one binned column per feature) as the definition."""

import numpy as np
import pytest
import scipy.sparse as sp

from skextras._engine import bundling
from skextras._engine.binning import BinMapper
from skextras._engine.grower import TreeParams, grow_tree
from skextras._engine.histogram import PAIR_WIDTH, build_histograms


def _one_hot(n, cardinalities, seed=0, missing=0.0):
    """CSR one-hot matrix of random categoricals (one nonzero per categorical and row), some
    rows missing (NaN stored) in the first categorical's columns, and a label."""
    rng = np.random.default_rng(seed)
    blocks, score = [], np.zeros(n)
    for card in cardinalities:
        codes = rng.integers(0, card, n)
        effect = rng.normal(size=card)
        score += effect[codes]
        blocks.append(sp.csr_matrix((np.ones(n), (np.arange(n), codes)), shape=(n, card)))
    X = sp.hstack(blocks, format="csr")
    if missing:
        rows = np.flatnonzero(rng.random(n) < missing)
        X = X.tolil()
        X[rows, 0] = np.nan
        X = X.tocsr()
    y = (score + 0.5 * rng.normal(size=n) > 0).astype(np.int64)
    return X, y, score


def _random_sparse(n, p, density, seed):
    """CSR with features of varied density, a few dense ones, values from few distinct ones,
    NaN stored in some."""
    rng = np.random.default_rng(seed)
    X = rng.integers(1, 5, size=(n, p)).astype(np.float64)
    X[rng.random((n, p)) > density] = 0.0
    X[:, 0] = rng.normal(size=n)  # dense
    X[rng.random((n, p)) < 0.01] = np.nan
    return sp.csr_matrix(X)


def _unbundled(monkeypatch):
    monkeypatch.setattr(bundling, "SPARSE_FRACTION", -1.0)


def _decode(X_bundled, bundles):
    """Per-feature bins of a bundled matrix, by the definition of the encoding."""
    n = X_bundled.shape[0]
    out = np.empty((n, bundles.n_features), dtype=np.uint8)
    for f in range(bundles.n_features):
        col = X_bundled[:, bundles.column[f]]
        if bundles.offset[f] < 0:
            out[:, f] = np.where(col == bundles.raw_missing, bundles.missing_bin, col)
            continue
        mine = bundles.decode_feature[bundles.column[f], col] == f
        out[:, f] = np.where(mine, bundles.decode_bin[bundles.column[f], col], bundles.zero_bin[f])
    return out


@pytest.mark.parametrize("seed", range(4))
def test_bundles_conflict_free_and_decode_to_the_unbundled_bins(seed):
    X = _random_sparse(400, 40, density=0.03, seed=seed)
    mapper = BinMapper(max_bin=64, random_state=0).fit(X)
    per_feature = mapper.transform(X)
    X_bundled = mapper.transform(X, bundle=True)
    bundles = mapper.bundles_
    assert bundles is not None and bundles.n_columns < 40
    assert X_bundled.shape == (400, bundles.n_columns) and X_bundled.flags.f_contiguous
    # no row has two features of one bundle outside their zero bins
    outside = per_feature != bundles.zero_bin[None, :]
    for c in range(bundles.n_columns):
        members = np.flatnonzero((bundles.column == c) & (bundles.offset >= 0))
        if members.size:
            assert outside[:, members].sum(axis=1).max() <= 1
            assert bundles.column_n_used[c] <= bundling.MAX_BUNDLE_VALUES
    np.testing.assert_array_equal(_decode(X_bundled, bundles), per_feature)
    # the dense input bundles the same way
    np.testing.assert_array_equal(mapper.transform(X.toarray(), bundle=True), X_bundled)


def test_dense_continuous_data_gets_no_bundles():
    X = np.random.default_rng(0).normal(size=(300, 8))
    mapper = BinMapper(random_state=0).fit(X)
    out = mapper.transform(X, bundle=True)
    assert mapper.bundles_ is None
    np.testing.assert_array_equal(out, mapper.transform(X))


@pytest.mark.parametrize("exact", [True, False])
@pytest.mark.parametrize("masked", [False, True])
def test_expanded_histograms_equal_unbundled_histograms(exact, masked):
    n = 600
    X = _random_sparse(n, 30, density=0.05, seed=1)
    mapper = BinMapper(max_bin=32, random_state=0).fit(X)
    per_feature = mapper.transform(X)
    X_bundled = mapper.transform(X, bundle=True)
    bundles = mapper.bundles_
    rng = np.random.default_rng(2)
    if exact:  # dyadic values: every order of summation gives the same sums
        g = rng.integers(-40, 40, size=(n, 1)) / 8.0
        h = rng.integers(1, 20, size=n) / 4.0  # sample weights times hessians
    else:
        g = rng.normal(size=(n, 1))
        h = rng.uniform(0.1, 3.0, size=n)
    rows = np.flatnonzero(rng.random(n) < 0.7).astype(np.int32) if masked else None
    starts, stops = [0], [n if rows is None else rows.size]
    features = np.arange(30, dtype=np.int32)
    n_used = mapper.n_bins_non_missing_.astype(np.int64)
    for width in (PAIR_WIDTH, 4):
        expected = np.zeros((1, 30, 32, width))
        build_histograms(per_feature, rows, starts, stops, g, h, features, n_used, expected,
                         [0])  # fmt: skip
        columns, _ = bundles.columns_of(features)
        col_hists = np.zeros((1, bundles.n_columns, bundles.column_bins, width))
        build_histograms(X_bundled, rows, starts, stops, g, h, columns,
                         bundles.column_n_used, col_hists, [0])  # fmt: skip
        got = np.zeros((1, 30, bundles.n_hist_bins, width))
        bundling.expand_histograms(col_hists, np.array([0]), got, np.array([0]), features,
                                   bundles.tables())  # fmt: skip
        for f in range(30):
            used = n_used[f]
            want = np.concatenate([expected[0, f, :used], expected[0, f, -1:]])
            have = np.concatenate([got[0, f, :used], got[0, f, -1:]])
            if exact or bundles.offset[f] < 0:
                np.testing.assert_array_equal(have, want)
            else:
                np.testing.assert_allclose(have, want, rtol=1e-12, atol=1e-12)


def _same_structure(trees_a, trees_b):
    assert len(trees_a) == len(trees_b)
    for a, b in zip(trees_a, trees_b, strict=True):
        for name in ("feature", "bin_threshold", "missing_go_left", "left", "right"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        np.testing.assert_allclose(a.value, b.value, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "params",
    [
        TreeParams(max_depth=5, learning_rate=0.3),  # the one-call depth-wise grower
        TreeParams(max_depth=None, max_leaves=12, grow_policy="lossguide"),  # TreeGrower
        TreeParams(max_depth=4, min_samples_leaf=3, reg_alpha=0.1, colsample_bynode=0.8),
    ],
)
def test_grow_tree_on_bundles_equal_unbundled_tree(params):
    X, y, _ = _one_hot(800, [7, 3, 25, 60], seed=3, missing=0.05)
    mapper = BinMapper(random_state=0).fit(X)
    per_feature = mapper.transform(X)
    X_bundled = mapper.transform(X, bundle=True)
    assert X_bundled.shape[1] < per_feature.shape[1]
    rng = np.random.default_rng(4)
    g = rng.normal(size=800) - (y - 0.5)
    h = rng.uniform(0.2, 1.0, size=800)
    mask = rng.random(800) < 0.8
    for sample_mask in (None, mask):
        tree_b, leaf_b = grow_tree(X_bundled, g, h, mapper, params, np.random.RandomState(0),
                                   sample_mask, return_leaf_of_row=True)  # fmt: skip
        tree_u, leaf_u = grow_tree(per_feature, g, h, mapper, params, np.random.RandomState(0),
                                   sample_mask, return_leaf_of_row=True)  # fmt: skip
        assert tree_u.n_leaves > 4
        _same_structure([tree_b], [tree_u])
        np.testing.assert_array_equal(leaf_b, leaf_u)
        # the leaves of all rows through the decode tables, as on per-feature bins
        np.testing.assert_array_equal(
            bundling.apply_binned(tree_b, X_bundled, mapper), tree_u.apply_binned(per_feature)
        )


def _ensemble_trees(model):
    trees = model._trees
    return [t for stage in trees for t in (stage if isinstance(stage, list) else [stage])]


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("NewtonBoostingClassifier", {}),
        ("NewtonBoostingClassifier", {"subsample": 0.7, "colsample_bytree": 0.8}),
        ("NewtonBoostingRegressor", {"grow_policy": "lossguide", "max_leaves": 10}),
        ("GradientBoostingClassifier", {"subsample": 0.8}),
        ("GradientBoostingRegressor", {}),
    ],
)
def test_estimators_on_csr_one_hot_same_trees_with_and_without_bundling(name, kwargs, monkeypatch):
    import skextras.ensemble as ensemble

    X, y, score = _one_hot(700, [5, 3, 40, 12], seed=5, missing=0.03)
    target = score if name.endswith("Regressor") else y
    weight = np.random.default_rng(6).uniform(0.5, 2.0, size=700)
    cls = getattr(ensemble, name)
    kwargs = dict(kwargs, n_estimators=8, max_depth=4, random_state=0)
    found = []
    original = bundling.bin_bundled

    def spy(*args):
        out = original(*args)
        found.append(out[1])
        return out

    monkeypatch.setattr(bundling, "bin_bundled", spy)
    bundled = cls(**kwargs).fit(X, target, sample_weight=weight)
    assert found and found[-1] is not None and found[-1].n_columns < X.shape[1]
    with monkeypatch.context() as m:
        _unbundled(m)
        plain = cls(**kwargs).fit(X, target, sample_weight=weight)
    _same_structure(_ensemble_trees(bundled), _ensemble_trees(plain))
    np.testing.assert_allclose(bundled.predict(X), plain.predict(X), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kwargs", [{}, {"grow_policy": "lossguide", "max_leaves": 10}])
def test_threaded_growth_on_bundles_equals_one_thread(kwargs, monkeypatch):
    # Work thresholds at zero send every step of both growers (the one-call depth-wise grower
    # and TreeGrower) through the prange drivers, bundled partition included.
    import numba

    from skextras._engine import grower, histogram
    from skextras.ensemble import NewtonBoostingClassifier

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs two numba threads")
    X, y, _ = _one_hot(2_000, [5, 3, 40, 12], seed=7, missing=0.03)
    kwargs = dict(kwargs, n_estimators=4, max_depth=4, random_state=0)
    one = NewtonBoostingClassifier(n_jobs=1, **kwargs).fit(X, y)
    monkeypatch.setattr(grower, "_PARALLEL_MIN_ROWS", 0)
    monkeypatch.setattr(grower, "_PARALLEL_MIN_CANDIDATES", 0)
    monkeypatch.setattr(histogram, "_PARALLEL_MIN_CELLS", 0)
    two = NewtonBoostingClassifier(n_jobs=2, **kwargs).fit(X, y)
    _same_structure(_ensemble_trees(two), _ensemble_trees(one))
    np.testing.assert_array_equal(two.predict_proba(X), one.predict_proba(X))
