"""Random forests and extra trees: quality parity with scikit-learn, bagging options, API."""

import numpy as np
import pytest
import sklearn.ensemble as sk
from _ensemble_data import flights_sample, lightgbm_set
from sklearn.datasets import make_classification, make_regression
from sklearn.metrics import r2_score, recall_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score

from skextras.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)

PAIRS_CLF = [
    (RandomForestClassifier, sk.RandomForestClassifier),
    (ExtraTreesClassifier, sk.ExtraTreesClassifier),
]
PAIRS_REG = [
    (RandomForestRegressor, sk.RandomForestRegressor),
    (ExtraTreesRegressor, sk.ExtraTreesRegressor),
]


# Same parameters for both libraries; leaves of >= 20 rows keep the tests short. A forest's
# test score moves by about +-0.005 from one seed to the next on these 500-row test sets, so
# scores are averaged over two seeds of 60 trees each.
PARITY = dict(n_estimators=60, min_samples_leaf=20, n_jobs=2)
SEEDS = (0, 1)


def _pairs(pairs):
    return [pytest.param(*pairs[0], id="RandomForest"), pytest.param(*pairs[1], id="ExtraTrees")]


def _mean_scores(ours_cls, ref_cls, score, X, y):
    """Mean over SEEDS of score(fitted model) for ours and for scikit-learn's."""
    a = [score(ours_cls(**PARITY, random_state=s).fit(X, y)) for s in SEEDS]
    b = [score(ref_cls(**PARITY, random_state=s).fit(X, y)) for s in SEEDS]
    return np.mean(a), np.mean(b)


@pytest.mark.parametrize("ours_cls,ref_cls", _pairs(PAIRS_CLF))
def test_classifier_quality_matches_sklearn_on_lightgbm_binary(shared_data, ours_cls, ref_cls):
    X, y, X_test, y_test = lightgbm_set(shared_data, "binary")

    def score(model):
        return roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])

    a, b = _mean_scores(ours_cls, ref_cls, score, X, y)
    assert a >= b - 0.005, (a, b)


@pytest.mark.parametrize("ours_cls,ref_cls", _pairs(PAIRS_CLF))
def test_classifier_quality_matches_sklearn_on_lightgbm_multiclass(shared_data, ours_cls, ref_cls):
    # Accuracy ~0.45 on 5 classes: 500 test rows give it a spread of about +-0.02, so the
    # comparison is 3-fold accuracy over train + test.
    X, y, X_test, y_test = lightgbm_set(shared_data, "multiclass")
    X, y = np.vstack([X, X_test]), np.concatenate([y, y_test])
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    a = cross_val_score(ours_cls(**PARITY, random_state=0), X, y, cv=cv).mean()
    b = cross_val_score(ref_cls(**PARITY, random_state=0), X, y, cv=cv).mean()
    assert a >= b - 0.005, (a, b)


@pytest.mark.parametrize("ours_cls,ref_cls", _pairs(PAIRS_REG))
def test_regressor_quality_matches_sklearn_on_lightgbm_regression(shared_data, ours_cls, ref_cls):
    X, y, X_test, y_test = lightgbm_set(shared_data, "regression")
    a, b = _mean_scores(ours_cls, ref_cls, lambda m: r2_score(y_test, m.predict(X_test)), X, y)
    assert a >= b - 0.005, (a, b)


def test_classifier_quality_matches_sklearn_on_flights():
    X, y, X_test, y_test = flights_sample()
    a, b = _mean_scores(
        RandomForestClassifier,
        sk.RandomForestClassifier,
        lambda m: roc_auc_score(y_test, m.predict_proba(X_test)[:, 1]),
        X,
        y,
    )
    assert a >= b - 0.005, (a, b)


def test_oob_score_close_to_sklearn():
    X, y = make_classification(2000, n_features=10, n_informative=6, random_state=0)
    ours = RandomForestClassifier(n_estimators=60, oob_score=True, random_state=0).fit(X, y)
    ref = sk.RandomForestClassifier(n_estimators=60, oob_score=True, random_state=0).fit(X, y)
    assert abs(ours.oob_score_ - ref.oob_score_) < 0.02
    assert ours.oob_decision_function_.shape == (2000, 2)
    np.testing.assert_allclose(ours.oob_decision_function_.sum(axis=1), 1.0)


def test_regressor_oob_prediction_scores_r2():
    X, y = make_regression(800, n_features=5, noise=1.0, random_state=0)
    model = RandomForestRegressor(n_estimators=40, oob_score=True, random_state=0).fit(X, y)
    assert model.oob_score_ == pytest.approx(r2_score(y, model.oob_prediction_))
    assert model.oob_score_ > 0.7


def test_balanced_class_weight_raises_minority_recall():
    X, y = make_classification(3000, weights=[0.93], flip_y=0.02, random_state=0)
    kw = dict(n_estimators=30, min_samples_leaf=20, random_state=0)
    plain = RandomForestClassifier(**kw).fit(X, y)
    for cw in ("balanced", "balanced_subsample"):
        weighted = RandomForestClassifier(class_weight=cw, **kw).fit(X, y)
        assert recall_score(y, weighted.predict(X)) > recall_score(y, plain.predict(X))


def test_class_weight_dict_equals_sample_weight():
    X, y = make_classification(500, random_state=0)
    a = RandomForestClassifier(10, class_weight={0: 1.0, 1: 3.0}, random_state=0).fit(X, y)
    b = RandomForestClassifier(10, random_state=0).fit(X, y, sample_weight=np.where(y, 3.0, 1.0))
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X))


@pytest.mark.parametrize("cls", [RandomForestClassifier, ExtraTreesRegressor])
def test_warm_start_equals_one_fit_and_threads_do_not_change_result(cls):
    X, y = make_classification(400, random_state=0)
    one = cls(n_estimators=10, random_state=0).fit(X, y)
    warm = cls(n_estimators=5, warm_start=True, random_state=0).fit(X, y)
    warm.set_params(n_estimators=10).fit(X, y)
    threaded = cls(n_estimators=10, n_jobs=2, random_state=0).fit(X, y)
    np.testing.assert_allclose(warm.predict(X), one.predict(X))
    np.testing.assert_allclose(threaded.predict(X), one.predict(X))


def test_apply_and_decision_path_agree():
    X, y = make_classification(200, random_state=0)
    model = RandomForestClassifier(n_estimators=4, max_depth=4, random_state=0).fit(X, y)
    leaves = model.apply(X)
    indicator, ptr = model.decision_path(X)
    assert leaves.shape == (200, 4)
    assert indicator.shape == (200, ptr[-1])
    for t in range(4):
        block = indicator[:, ptr[t] : ptr[t + 1]].toarray()
        assert np.all(block[np.arange(200), leaves[:, t]] == 1)
        assert np.all(block.sum(axis=1) == model.estimators_[t].depth[leaves[:, t]] + 1)


def test_feature_importances_rank_informative_features_first():
    X, y = make_classification(
        1000, n_features=8, n_informative=2, n_redundant=0, shuffle=False, random_state=0
    )
    model = RandomForestClassifier(n_estimators=30, random_state=0).fit(X, y)
    imp = model.feature_importances_
    assert imp.sum() == pytest.approx(1.0)
    assert set(np.argsort(imp)[-2:]) == {0, 1}


def test_missing_values_are_routed_not_rejected():
    X, y = make_classification(1500, n_features=6, random_state=0)
    X_nan = X.copy()
    X_nan[np.random.default_rng(0).random(X.shape) < 0.1] = np.nan
    model = RandomForestClassifier(n_estimators=30, random_state=0).fit(X_nan[:1000], y[:1000])
    assert model.score(X_nan[1000:], y[1000:]) > 0.8


def test_sparse_input_equals_dense():
    from scipy import sparse

    X, y = make_classification(300, random_state=0)
    X[X < 0.5] = 0.0
    dense = RandomForestClassifier(8, random_state=0).fit(X, y)
    sp = RandomForestClassifier(8, random_state=0).fit(sparse.csr_matrix(X), y)
    np.testing.assert_allclose(sp.predict_proba(sparse.csr_matrix(X)), dense.predict_proba(X))


def test_monotonic_cst_regressor_is_monotone():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(600, 2))
    y = np.sin(6 * X[:, 0]) + X[:, 0] * 2 + rng.normal(scale=0.3, size=600)
    model = RandomForestRegressor(n_estimators=10, monotonic_cst=[1, 0], random_state=0).fit(X, y)
    grid = np.column_stack([np.linspace(0, 1, 300), np.full(300, 0.3)])
    assert np.all(np.diff(model.predict(grid)) >= -1e-12)


def test_entropy_criterion_fits():
    X, y = make_classification(500, n_classes=3, n_informative=4, random_state=0)
    model = ExtraTreesClassifier(n_estimators=20, criterion="entropy", random_state=0).fit(X, y)
    assert model.score(X, y) > 0.95


def test_max_samples_without_bootstrap_is_rejected():
    with pytest.raises(ValueError, match="`max_sample` cannot be set"):
        RandomForestClassifier(bootstrap=False, max_samples=0.5).fit([[0.0], [1.0]], [0, 1])


def test_oob_without_bootstrap_is_rejected():
    with pytest.raises(ValueError, match="Out of bag"):
        ExtraTreesClassifier(oob_score=True).fit([[0.0], [1.0]], [0, 1])


@pytest.mark.parametrize("cls", [RandomForestClassifier, ExtraTreesRegressor])
def test_save_model_load_model_round_trip(tmp_path, cls):
    X, y = make_classification(300, random_state=0)
    model = cls(n_estimators=5, random_state=0).fit(X, y)
    path = tmp_path / "forest.json"
    model.save_model(path)
    loaded = cls().load_model(path)
    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_allclose(loaded.feature_importances_, model.feature_importances_)


def test_max_samples_draws_smaller_bootstraps():
    X, y = make_classification(400, random_state=0)
    model = RandomForestClassifier(n_estimators=3, max_samples=0.25, random_state=0).fit(X, y)
    assert all(t.n_samples[0] <= 100 for t in model.estimators_)
    full = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y)
    assert all(t.n_samples[0] > 200 for t in full.estimators_)
