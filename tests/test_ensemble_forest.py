"""Forest parity with scikit-learn's RandomForest* / ExtraTrees*: multi-output ``y``, the
weight / impurity / pruning limits, ``max_samples`` and the error messages, each checked
against scikit-learn's own classes (node for node where the trees are deterministic:
all features, no bootstrap, fewer distinct values per feature than bins)."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from _tree_compare import assert_same_tree
from sklearn import ensemble as sk
from sklearn.exceptions import DataConversionWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.class_weight import compute_sample_weight

from skextras import ensemble
from skextras.ensemble import (
    RandomForestClassifier,
    RandomForestRegressor,
)

DETERMINISTIC = dict(n_estimators=1, bootstrap=False, max_features=None, random_state=0)


def _X(n=240, p=4, seed=0):
    """Features with fewer distinct (float32-exact) values than bins, on a different grid per
    feature (the histogram trees see every threshold; gains of two features rarely tie)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 120, size=(n, p)) * (1.0 + np.arange(p) / 8.0)


def _labels(X, seed=0):
    """Two string-labelled outputs (2 and 3 classes) that depend on X, with label noise."""
    rng = np.random.default_rng(seed)
    a = np.where(X[:, 0] + 20 * rng.normal(size=len(X)) > 60, "yes", "no")
    b = np.array(["low", "mid", "top"])[
        np.digitize(X[:, 1] + X[:, 2] / 2 + 30 * rng.normal(size=len(X)), [80, 130])
    ]
    return np.column_stack([a, b])


def _targets(X, seed=0):
    rng = np.random.default_rng(seed)
    return np.column_stack(
        [(X[:, 0] - X[:, 1] / 2) / 10, np.sin(X[:, 2] / 20) * 5 + X[:, 3] / 30]
    ) + rng.normal(size=(len(X), 2))


def _weights(n, seed):
    """Row weights without ties between the gains of different partitions."""
    return np.random.default_rng(seed).uniform(0.5, 2.0, n)


def _message(exc_info):
    return str(exc_info.value)


def _same_error(ours, ref, *args, **kwargs):
    """Both raise ValueError with the same message."""
    with pytest.raises(ValueError) as expected:
        ref.fit(*args, **kwargs)
    with pytest.raises(ValueError) as got:
        ours.fit(*args, **kwargs)
    assert _message(got) == _message(expected)


# -- multi-output -------------------------------------------------------------------------------
@pytest.mark.parametrize("criterion", ["gini", "entropy"])
def test_multioutput_classifier_tree_equals_sklearn_node_for_node(criterion):
    X = _X()
    y = _labels(X)
    w = _weights(len(X), 1)
    params = dict(DETERMINISTIC, criterion=criterion, max_depth=6)
    ours = RandomForestClassifier(**params).fit(X, y, sample_weight=w)
    ref = sk.RandomForestClassifier(**params).fit(X, y, sample_weight=w)
    tree, ref_tree = ours.estimators_[0], ref.estimators_[0]
    assert tree.tree_.node_count == ref_tree.tree_.node_count
    assert tree.tree_.n_outputs == 2 and list(tree.tree_.n_classes) == [2, 3]
    assert_same_tree(tree, ref_tree, X)
    pred, ref_pred = ours.predict(X), ref.predict(X)
    for j, (p, q) in enumerate(zip(ours.predict_proba(X), ref.predict_proba(X), strict=True)):
        np.testing.assert_allclose(p, q, atol=1e-12)
        # Equal predictions wherever the two most probable classes do not tie.
        top2 = np.sort(q, axis=1)[:, -2:]
        clear = top2[:, 1] - top2[:, 0] > 1e-9
        assert clear.mean() > 0.9
        np.testing.assert_array_equal(pred[clear, j], ref_pred[clear, j])


def test_multioutput_full_depth_tree_stops_where_every_output_is_pure():
    X = _X()
    y = _labels(X)
    w = _weights(len(X), 0)
    ours = RandomForestClassifier(**DETERMINISTIC).fit(X, y, sample_weight=w)
    ref = DecisionTreeClassifier(random_state=0).fit(X, y, sample_weight=w)
    assert_same_tree(ours.estimators_[0], ref, X)
    assert ours.estimators_[0].tree_.node_count == ref.tree_.node_count


def test_multioutput_regressor_tree_equals_sklearn_node_for_node():
    X = _X()
    y = _targets(X)
    w = _weights(len(X), 2)
    ours = RandomForestRegressor(**DETERMINISTIC, max_depth=7).fit(X, y, sample_weight=w)
    ref = sk.RandomForestRegressor(**DETERMINISTIC, max_depth=7).fit(X, y, sample_weight=w)
    assert ours.estimators_[0].tree_.n_outputs == 2
    assert_same_tree(ours.estimators_[0], ref.estimators_[0], X)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-9, atol=1e-9)


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_multioutput_classifier_attributes_have_sklearn_types_and_shapes():
    X = _X()
    y = _labels(X)
    ours = RandomForestClassifier(5, random_state=0).fit(X, y)
    ref = sk.RandomForestClassifier(5, random_state=0).fit(X, y)
    assert ours.n_outputs_ == ref.n_outputs_ == 2
    assert ours.n_classes_ == ref.n_classes_
    for a, b in zip(ours.classes_, ref.classes_, strict=True):
        np.testing.assert_array_equal(a, b)
    pred, ref_pred = ours.predict(X[:7]), ref.predict(X[:7])
    assert pred.shape == ref_pred.shape and pred.dtype == ref_pred.dtype
    proba, log_proba = ours.predict_proba(X[:7]), ours.predict_log_proba(X[:7])
    assert [p.shape for p in proba] == [p.shape for p in ref.predict_proba(X[:7])]
    for p, lp in zip(proba, log_proba, strict=True):
        np.testing.assert_allclose(p.sum(axis=1), 1.0)
        np.testing.assert_allclose(np.exp(lp), p)
    member = ours.estimators_[0]
    assert member.predict(X[:7]).shape == (7, 2)
    assert [p.shape for p in member.predict_proba(X[:7])] == [(7, 2), (7, 3)]


def _mean_accuracy(y_true, y_pred):
    return np.mean([accuracy_score(y_true[:, j], y_pred[:, j]) for j in range(y_true.shape[1])])


@pytest.mark.parametrize(
    "name, make_y, score, tolerance",
    [
        ("RandomForestClassifier", _labels, _mean_accuracy, 0.03),
        ("ExtraTreesClassifier", _labels, _mean_accuracy, 0.03),
        ("RandomForestRegressor", _targets, r2_score, 0.02),
        ("ExtraTreesRegressor", _targets, r2_score, 0.02),
    ],
)
def test_multioutput_quality_equals_sklearn_within_noise(name, make_y, score, tolerance):
    X, Xt = _X(600, seed=3), _X(600, seed=4)
    y, yt = make_y(X, seed=3), make_y(Xt, seed=4)
    ours = getattr(ensemble, name)(40, random_state=0).fit(X, y).predict(Xt)
    ref = getattr(sk, name)(40, random_state=0).fit(X, y).predict(Xt)
    assert abs(score(yt, ours) - score(yt, ref)) < tolerance


def _oob_mean(forest, X, member_output):
    """The OOB definition as a loop: mean of the members' outputs over the trees whose
    bootstrap draw left the row out."""
    n = len(X)
    sums, counts = 0.0, np.zeros(n)
    for tree, samples in zip(forest.estimators_, forest.estimators_samples_, strict=True):
        oob = np.ones(n, dtype=bool)
        oob[samples] = False
        sums = sums + member_output(tree, X) * oob.reshape((n,) + (1,) * 2)
        counts += oob
    return sums / counts.reshape((n,) + (1,) * 2)


def test_multilabel_oob_decision_function_follows_sklearn_definition():
    X = _X(300)
    y = np.column_stack([X[:, 0] > 60, X[:, 1] + X[:, 2] > 150]).astype(int)
    ours = RandomForestClassifier(25, oob_score=True, random_state=0).fit(X, y)
    ref = sk.RandomForestClassifier(25, oob_score=True, random_state=0).fit(X, y)
    assert ours.oob_decision_function_.shape == ref.oob_decision_function_.shape == (300, 2, 2)
    expected = _oob_mean(ours, X, lambda t, X: np.stack(t.predict_proba(X), axis=-1))
    np.testing.assert_allclose(ours.oob_decision_function_, expected, atol=1e-12)
    assert ours.oob_score_ == accuracy_score(y, np.argmax(expected, axis=1))
    assert abs(ours.oob_score_ - ref.oob_score_) < 0.06


def test_multioutput_regressor_oob_prediction_follows_sklearn_definition():
    X = _X(300)
    y = _targets(X)
    ours = RandomForestRegressor(25, oob_score=True, random_state=0).fit(X, y)
    ref = sk.RandomForestRegressor(25, oob_score=True, random_state=0).fit(X, y)
    assert ours.oob_prediction_.shape == ref.oob_prediction_.shape == (300, 2)
    expected = _oob_mean(ours, X, lambda t, X: t.predict(X)[:, :, None])[:, :, 0]
    np.testing.assert_allclose(ours.oob_prediction_, expected, rtol=1e-12)
    assert ours.oob_score_ == pytest.approx(r2_score(y, expected), rel=1e-12)
    assert abs(ours.oob_score_ - ref.oob_score_) < 0.03


def test_multiclass_multioutput_oob_is_refused_with_sklearn_message():
    X = _X()
    kw = dict(n_estimators=3, oob_score=True, random_state=0)
    _same_error(RandomForestClassifier(**kw), sk.RandomForestClassifier(**kw), X, _labels(X))


def test_class_weight_list_of_dicts_equals_sklearn_sample_weights():
    X = _X()
    y = _labels(X)
    cw = [{"no": 1.0, "yes": 3.0}, {"low": 2.0, "mid": 1.0, "top": 0.5}]
    weighted = RandomForestClassifier(**DETERMINISTIC, class_weight=cw).fit(X, y)
    ref = sk.RandomForestClassifier(**DETERMINISTIC, class_weight=cw).fit(X, y)
    assert_same_tree(weighted.estimators_[0], ref.estimators_[0], X)
    by_rows = RandomForestClassifier(**DETERMINISTIC).fit(
        X, y, sample_weight=compute_sample_weight(cw, y)
    )
    for p, q in zip(weighted.predict_proba(X), by_rows.predict_proba(X), strict=True):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("class_weight", ["balanced", "balanced_subsample"])
def test_balanced_class_weight_per_output_equals_sklearn(class_weight):
    X = _X()
    y = _labels(X)
    w = np.random.default_rng(5).integers(1, 3, len(X)).astype(float)
    kw = dict(DETERMINISTIC, class_weight=class_weight, max_depth=5)
    ours = RandomForestClassifier(**kw).fit(X, y, sample_weight=w)
    ref = sk.RandomForestClassifier(**kw).fit(X, y, sample_weight=w)
    assert_same_tree(ours.estimators_[0], ref.estimators_[0], X)


@pytest.mark.parametrize(
    "class_weight", [[{"no": 1.0, "yes": 2.0}], {"no": 1.0, "yes": 2.0}, "balanced_subsample"]
)
def test_bad_multioutput_class_weight_raises_sklearn_message(class_weight):
    X = _X()
    y = _labels(X)
    if class_weight == "balanced_subsample":
        # Allowed: recomputed per bootstrap draw; both fit.
        RandomForestClassifier(3, class_weight=class_weight, random_state=0).fit(X, y)
        return
    kw = dict(n_estimators=2, class_weight=class_weight, random_state=0)
    _same_error(RandomForestClassifier(**kw), sk.RandomForestClassifier(**kw), X, y)


def test_column_vector_y_warns_and_fits_one_output():
    X = _X()
    y = (X[:, 0] > 60).astype(int)[:, None]
    with pytest.warns(DataConversionWarning, match="A column-vector y was passed"):
        model = RandomForestClassifier(3, random_state=0).fit(X, y)
    assert model.n_outputs_ == 1 and model.predict(X).shape == (len(X),)
    np.testing.assert_array_equal(model.classes_, [0, 1])


def test_multioutput_save_load_round_trip(tmp_path):
    X = _X()
    for model, y in [
        (RandomForestClassifier(4, random_state=0), _labels(X)),
        (RandomForestRegressor(4, random_state=0), _targets(X)),
    ]:
        model.fit(X, y)
        model.save_model(tmp_path / "m.json")
        loaded = type(model)().load_model(tmp_path / "m.json")
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
        assert loaded.n_outputs_ == 2


def test_monotonic_cst_with_multiple_outputs_raises_sklearn_message():
    X = _X()
    kw = dict(n_estimators=2, monotonic_cst=[1, 0, 0, 0], random_state=0)
    _same_error(RandomForestRegressor(**kw), sk.RandomForestRegressor(**kw), X, _targets(X))


# -- limits -------------------------------------------------------------------------------------
def _binary(X):
    return X[:, 0] + X[:, 1] / 2 + 30 * np.random.default_rng(7).normal(size=len(X)) > 90


def _assert_limit_equals_sklearn(family, limit, X, y, w):
    """The limited tree equals scikit-learn's node for node, and the limit binds there."""
    ours = getattr(ensemble, "RandomForest" + family)(**DETERMINISTIC, **limit)
    ref = getattr(sk, "RandomForest" + family)(**DETERMINISTIC, **limit).fit(X, y, w)
    full = getattr(sk, "RandomForest" + family)(**DETERMINISTIC).fit(X, y, w)
    ours.fit(X, y, sample_weight=w)
    assert ref.estimators_[0].tree_.node_count < full.estimators_[0].tree_.node_count
    assert ours.estimators_[0].tree_.node_count == ref.estimators_[0].tree_.node_count
    assert_same_tree(ours.estimators_[0], ref.estimators_[0], X)


@pytest.mark.parametrize(
    "limit",
    [
        dict(min_weight_fraction_leaf=0.04),
        dict(min_impurity_decrease=0.004),
        dict(min_impurity_decrease=0.01, criterion="entropy"),
    ],
)
@pytest.mark.parametrize("kind", ["binary", "multiclass", "multioutput"])
def test_classifier_limits_equal_sklearn_node_for_node(limit, kind):
    X = _X()
    y = {"binary": _binary(X), "multiclass": _labels(X)[:, 1], "multioutput": _labels(X)}[kind]
    _assert_limit_equals_sklearn("Classifier", limit, X, y, _weights(len(X), 3))


@pytest.mark.parametrize(
    "limit", [dict(min_weight_fraction_leaf=0.03), dict(min_impurity_decrease=0.2)]
)
@pytest.mark.parametrize("n_outputs", [1, 2])
def test_regressor_limits_equal_sklearn_node_for_node(limit, n_outputs):
    X = _X()
    y = _targets(X)[:, :n_outputs].squeeze()
    _assert_limit_equals_sklearn("Regressor", limit, X, y, _weights(len(X), 4))


@pytest.mark.parametrize("max_leaf_nodes", [5, 40, 60])
@pytest.mark.parametrize("kind", ["multiclass", "multioutput", "regression", "multi_regression"])
def test_max_leaf_nodes_best_first_tree_equals_sklearn_node_for_node(max_leaf_nodes, kind):
    X = _X()
    cls, ref_cls = (
        (RandomForestRegressor, sk.RandomForestRegressor)
        if "regression" in kind
        else (RandomForestClassifier, sk.RandomForestClassifier)
    )
    y = {
        "multiclass": _labels(X)[:, 1],
        "multioutput": _labels(X),
        "regression": _targets(X)[:, 0],
        "multi_regression": _targets(X),
    }[kind]
    w = _weights(len(X), 8)
    kw = dict(DETERMINISTIC, max_leaf_nodes=max_leaf_nodes)
    ours = cls(**kw).fit(X, y, sample_weight=w)
    ref = ref_cls(**kw).fit(X, y, sample_weight=w)
    assert ours.estimators_[0].tree_.node_count == ref.estimators_[0].tree_.node_count
    assert_same_tree(ours.estimators_[0], ref.estimators_[0], X)


def test_friedman_mse_is_squared_error_with_sklearn_future_warning():
    X = _X()
    y = _targets(X)
    with pytest.warns(FutureWarning) as expected:
        ref = sk.RandomForestRegressor(**DETERMINISTIC, criterion="friedman_mse").fit(X, y)
    with pytest.warns(FutureWarning) as got:
        ours = RandomForestRegressor(**DETERMINISTIC, criterion="friedman_mse").fit(X, y)
    assert str(got[0].message) == str(expected[0].message)
    plain = RandomForestRegressor(**DETERMINISTIC).fit(X, y)
    np.testing.assert_array_equal(ours.predict(X), plain.predict(X))
    assert_same_tree(ours.estimators_[0], ref.estimators_[0], X)


def test_limits_are_relative_to_each_bootstrap_tree_weight():
    """With bootstrap, a tree's limits use its own total weight (bootstrap counts times
    weights), as scikit-learn's trees receive it: every leaf keeps the weight fraction."""
    X = _X()
    y = _binary(X)
    forest = RandomForestClassifier(5, min_weight_fraction_leaf=0.1, random_state=0).fit(X, y)
    for tree in forest:
        t = tree.tree_
        leaves = t.children_left == -1
        assert np.all(t.weighted_n_node_samples[leaves] >= 0.1 * t.weighted_n_node_samples[0])


@pytest.mark.parametrize("max_samples", [50, 400, 0.37])
def test_max_samples_draw_size_equals_sklearn(max_samples):
    X = _X()
    y = _binary(X)
    ours = RandomForestClassifier(3, max_samples=max_samples, random_state=0).fit(X, y)
    ref = sk.RandomForestClassifier(3, max_samples=max_samples, random_state=0).fit(X, y)
    assert [s.size for s in ours.estimators_samples_] == [s.size for s in ref.estimators_samples_]
    for tree, samples in zip(ours, ours.estimators_samples_, strict=True):
        assert tree.tree_.weighted_n_node_samples[0] == samples.size


# -- errors -------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", ["RandomForestClassifier", "RandomForestRegressor"])
def test_sparse_y_is_refused_with_sklearn_message(cls):
    X = _X()
    y = sp.csr_matrix((X[:, :2] > 60).astype(float))
    _same_error(getattr(ensemble, cls)(), getattr(sk, cls)(), X, y)


@pytest.mark.parametrize(
    "params",
    [
        dict(bootstrap=False, max_samples=10),
        dict(bootstrap=False, oob_score=True),
        dict(criterion="gini_index"),
        dict(max_samples=-1),
        dict(min_weight_fraction_leaf=0.7),
        dict(ccp_alpha=-0.1),
        dict(class_weight="weighted"),
        dict(n_estimators=0),
    ],
)
def test_bad_parameters_raise_sklearn_messages(params):
    X = _X(60)
    y = _binary(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError) as expected:
            sk.RandomForestClassifier(**params).fit(X, y)
        with pytest.raises(ValueError) as got:
            RandomForestClassifier(**params).fit(X, y)
    # Constraint messages name the class and list the options in their own order.
    expected = _message(expected).replace("{", "").replace("}", "")
    got = _message(got).replace("{", "").replace("}", "")
    if "must be" in expected and "parameter of" in expected:
        assert got.split(" must be")[0] == expected.split(" must be")[0]
        assert got.rsplit("Got ", 1)[1] == expected.rsplit("Got ", 1)[1]
    else:
        assert got == expected


def test_warm_start_with_fewer_trees_raises_sklearn_message():
    X = _X(60)
    y = _binary(X)
    ours = RandomForestClassifier(3, warm_start=True).fit(X, y)
    ref = sk.RandomForestClassifier(3, warm_start=True).fit(X, y)
    ours.set_params(n_estimators=2)
    ref.set_params(n_estimators=2)
    _same_error(ours, ref, X, y)


# -- ccp_alpha ----------------------------------------------------------------------------------
def _alphas_between(path):
    """ccp_alpha values strictly between consecutive effective alphas of a pruning path (no
    tie with a node's effective alpha), a few of them."""
    alphas = path.ccp_alphas
    # Splits of zero gain have effective alphas of rounding size (1e-18): left out.
    alphas = np.unique(alphas[alphas > 1e-9 * alphas.max()])
    mids = (alphas[:-1] + alphas[1:]) / 2
    return mids[np.linspace(0, mids.size - 1, 4).astype(int)]


@pytest.mark.parametrize("kind", ["binary", "multiclass", "multioutput", "entropy"])
def test_ccp_alpha_pruned_classifier_equals_sklearn_node_for_node(kind):
    X = _X()
    y = {"binary": _binary(X), "entropy": _labels(X)[:, 1]}.get(
        kind, _labels(X)[:, 1] if kind == "multiclass" else _labels(X)
    )
    criterion = "entropy" if kind == "entropy" else "gini"
    w = _weights(len(X), 6)
    path = DecisionTreeClassifier(criterion=criterion, random_state=0).cost_complexity_pruning_path(
        X, y, sample_weight=w
    )
    for alpha in _alphas_between(path):
        kw = dict(DETERMINISTIC, criterion=criterion, ccp_alpha=alpha)
        ours = RandomForestClassifier(**kw).fit(X, y, sample_weight=w)
        ref = sk.RandomForestClassifier(**kw).fit(X, y, sample_weight=w)
        assert ours.estimators_[0].tree_.node_count == ref.estimators_[0].tree_.node_count
        assert_same_tree(ours.estimators_[0], ref.estimators_[0], X)


@pytest.mark.parametrize("n_outputs", [1, 2])
def test_ccp_alpha_pruned_regressor_equals_sklearn_node_for_node(n_outputs):
    X = _X()
    y = _targets(X)[:, :n_outputs].squeeze()
    from sklearn.tree import DecisionTreeRegressor

    path = DecisionTreeRegressor(random_state=0).cost_complexity_pruning_path(X, y)
    for alpha in _alphas_between(path):
        kw = dict(DETERMINISTIC, ccp_alpha=alpha)
        ours = RandomForestRegressor(**kw).fit(X, y)
        ref = sk.RandomForestRegressor(**kw).fit(X, y)
        assert ours.estimators_[0].tree_.node_count == ref.estimators_[0].tree_.node_count
        assert_same_tree(ours.estimators_[0], ref.estimators_[0], X)
        np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-9, atol=1e-9)
