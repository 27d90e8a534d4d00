"""The packed prediction layout predicts exactly what the per-tree kernels of tree.py predict."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_classification, make_regression

from skextras._engine.predict import PackedForest, _distinct_rows
from skextras._engine.tree import Tree, apply_forest, predict_forest
from skextras.ensemble import (
    AdaBoostClassifier,
    AdaBoostRegressor,
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)

# 5000 rows: two threads get a row range each (parallel_rows gives a thread >= 2048 rows),
# and no lane or block boundary falls on a multiple of 16 rows.
N_TEST = 5003


def _data(kind, n=2000 + N_TEST, nan_fraction=0.1, seed=0):
    """Train / test split with NaNs in the features (missing values take learned directions)."""
    if kind == "regression":
        X, y = make_regression(n_samples=n, n_features=8, noise=5.0, random_state=seed)
    else:
        n_classes = 3 if kind == "multiclass" else 2
        X, y = make_classification(
            n_samples=n, n_features=8, n_informative=5, n_classes=n_classes, random_state=seed
        )
    rng = np.random.default_rng(seed)
    X[rng.random(X.shape) < nan_fraction] = np.nan
    return X[N_TEST:], y[N_TEST:], X[:N_TEST], y[:N_TEST]


FORESTS = [
    pytest.param((RandomForestClassifier, "binary"), id="rf-binary"),
    pytest.param((ExtraTreesClassifier, "multiclass"), id="et-multiclass"),
    pytest.param((RandomForestClassifier, "multiclass"), id="rf-multiclass"),
    pytest.param((RandomForestRegressor, "regression"), id="rf-regression"),
    pytest.param((ExtraTreesRegressor, "regression"), id="et-regression"),
]


@pytest.fixture(scope="module", params=FORESTS)
def fitted(request):
    cls, kind = request.param
    X, y, X_test, _ = _data(kind)
    model = cls(n_estimators=12, max_features=0.5, random_state=0).fit(X, y)
    return model, X_test


@pytest.mark.parametrize("n_threads", [1, 2])
def test_packed_predict_equals_per_tree_path_bitwise(fitted, n_threads):
    model, X_test = fitted
    trees = model.estimators_
    packed = PackedForest(trees)
    expected = predict_forest(trees, X_test, n_threads)
    assert np.array_equal(packed.predict(X_test, n_threads), expected)


@pytest.mark.parametrize("n_threads", [1, 2])
def test_packed_apply_equals_per_tree_leaf_ids(fitted, n_threads):
    model, X_test = fitted
    trees = model.estimators_
    expected = apply_forest(trees, X_test, n_threads)
    assert np.array_equal(PackedForest(trees).apply(X_test, n_threads), expected)
    assert np.array_equal(model.apply(X_test), expected)


def test_forest_predict_equals_mean_of_per_tree_outputs(fitted):
    model, X_test = fitted
    mean = predict_forest(model.estimators_, X_test) / len(model.estimators_)
    if hasattr(model, "predict_proba"):
        proba = model.predict_proba(X_test)
        expected = mean if mean.shape[1] > 1 else np.column_stack([1 - mean[:, 0], mean[:, 0]])
        assert np.array_equal(proba, expected)
    else:
        assert np.array_equal(model.predict(X_test), mean[:, 0])


def test_forest_sparse_input_predicts_as_dense(fitted):
    model, X_test = fitted
    X_sparse = np.nan_to_num(X_test)
    X_sparse[np.abs(X_sparse) < 0.5] = 0.0
    dense = model.predict(X_sparse)
    assert np.array_equal(model.predict(sp.csr_matrix(X_sparse)), dense)
    assert np.array_equal(model.apply(sp.csr_matrix(X_sparse)), model.apply(X_sparse))


def test_predict_leaves_estimator_state_unchanged(fitted):
    model, X_test = fitted
    before = dict(vars(model))
    model.predict(X_test)
    model.apply(X_test)
    assert vars(model).keys() == before.keys()
    assert all(vars(model)[k] is v for k, v in before.items())


def test_pickle_round_trip_predicts_identically(fitted):
    model, X_test = fitted
    before = model.predict(X_test)
    state = pickle.dumps(model)
    assert b"PackedForest" not in state
    loaded = pickle.loads(state)
    assert np.array_equal(loaded.predict(X_test), before)
    assert np.array_equal(loaded.apply(X_test), model.apply(X_test))


def test_save_load_round_trip_predicts_identically(fitted, tmp_path):
    model, X_test = fitted
    path = tmp_path / "model.json"
    model.save_model(path)
    loaded = type(model)().load_model(path)
    assert np.array_equal(loaded.predict(X_test), model.predict(X_test))
    assert np.array_equal(loaded.apply(X_test), model.apply(X_test))


def test_layout_is_repacked_after_warm_start_adds_trees():
    X, y, X_test, _ = _data("binary")
    model = RandomForestClassifier(n_estimators=3, warm_start=True, random_state=0).fit(X, y)
    model.predict_proba(X_test)
    model.set_params(n_estimators=6).fit(X, y)
    mean = predict_forest(model.estimators_, X_test)[:, 0] / 6
    assert np.array_equal(model.predict_proba(X_test)[:, 1], mean)


def test_single_leaf_trees_predict_their_value():
    leaf = Tree(
        feature=[-1],
        threshold=[0.0],
        bin_threshold=[0],
        missing_go_left=[False],
        left=[-1],
        right=[-1],
        value=[[2.5]],
        gain=[0.0],
        cover=[1.0],
        n_samples=[1],
        depth=[0],
    )
    X, y, X_test, _ = _data("regression")
    deep = RandomForestRegressor(n_estimators=2, random_state=0).fit(X, y).estimators_
    trees = [leaf, *deep, leaf]
    packed = PackedForest(trees)
    assert np.array_equal(packed.predict(X_test), predict_forest(trees, X_test))
    assert np.array_equal(packed.apply(X_test), apply_forest(trees, X_test))


def test_packed_layout_of_a_classification_forest_is_at_most_a_fifth_of_the_tree_arrays():
    X, y, _, _ = _data("binary", nan_fraction=0.0)
    trees = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y).estimators_
    packed = PackedForest(trees)
    tree_bytes = sum(a.nbytes for t in trees for a in vars(t).values() if hasattr(a, "nbytes"))
    assert packed.value_rows.size == sum(t.n_leaves for t in trees)
    assert packed.nbytes <= 0.2 * tree_bytes


def test_distinct_leaf_values_are_each_stored_once_bit_for_bit():
    rng = np.random.default_rng(0)
    values = rng.integers(0, 3, size=(4000, 2)) / 2.0
    values[::7, 1] = -0.0  # -0.0 and 0.0 are different rows: a sum may keep the sign
    table, rows = _distinct_rows(values)
    # the definition: distinct rows of the bit patterns, numbered by first appearance
    seen = {}
    for row in values.view(np.uint64):
        seen.setdefault(tuple(row), len(seen))
    assert table.shape == (len(seen), 2) and rows.dtype == np.uint16
    assert np.array_equal(table[rows].view(np.uint64), values.view(np.uint64))
    assert [seen[tuple(r)] for r in table.view(np.uint64)] == list(range(len(seen)))


def test_mostly_distinct_leaf_values_keep_one_row_per_leaf():
    values = np.random.default_rng(0).normal(size=(1000, 1))
    table, rows = _distinct_rows(values)
    assert table is values and rows.size == 0


def _samme_decision(model, X):
    """scikit-learn's SAMME decision function, written as its loop over the members."""
    K = model.n_classes_
    classes = model.classes_[:, None]
    pred = sum(
        np.where((m.predict(X) == classes).T, w, -1 / (K - 1) * w)
        for m, w in zip(model.estimators_, model.estimator_weights_, strict=False)
    )
    pred /= model.estimator_weights_.sum()
    if K == 2:
        pred[:, 0] *= -1
        return pred.sum(axis=1)
    return pred


@pytest.mark.parametrize("kind", ["binary", "multiclass"])
def test_adaboost_decision_equals_samme_sum_over_members(kind):
    X, y, X_test, _ = _data(kind)
    model = AdaBoostClassifier(n_estimators=15, random_state=0).fit(X, y)
    assert np.array_equal(model.decision_function(X_test), _samme_decision(model, X_test))
    expected = _samme_decision(model, sp.csr_matrix(np.nan_to_num(X_test)))
    sparse = model.decision_function(sp.csr_matrix(np.nan_to_num(X_test)))
    assert np.allclose(sparse, expected, rtol=0, atol=1e-12)


def test_adaboost_regressor_member_predictions_equal_each_member():
    X, y, X_test, _ = _data("regression")
    model = AdaBoostRegressor(n_estimators=10, random_state=0).fit(X, y)
    X_checked = model._check_X(X_test, reset=False)
    expected = np.column_stack([m.predict(X_test) for m in model.estimators_])
    assert np.array_equal(model._member_predictions(X_checked), expected)
    assert np.array_equal(model._member_predictions(X_checked, 4), expected[:, :4])
    loaded = pickle.loads(pickle.dumps(model))
    assert np.array_equal(loaded.predict(X_test), model.predict(X_test))
