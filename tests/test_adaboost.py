"""AdaBoost (SAMME / R2): exactness against scikit-learn, the engine fast path, quality parity."""

import numpy as np
import pytest
import sklearn.ensemble as sk
from _ensemble_data import flights_sample, lightgbm_set
from sklearn.datasets import make_classification, make_regression
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from skextras.ensemble import AdaBoostClassifier, AdaBoostRegressor, HistTreeClassifier


def _integer_data(n_classes, seed=0):
    """Few distinct values per feature: every engine bin is one value, as in sklearn's trees."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 30, size=(600, 6)).astype(np.float64)
    logits = X[:, :3] @ rng.normal(size=(3, n_classes)) / 10 + rng.normal(size=(600, n_classes))
    return X, np.argmax(logits, axis=1)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("seed", [0, 7])
def test_estimator_weights_match_sklearn_with_sklearn_tree(n_classes, seed):
    X, y = make_classification(
        400, n_features=8, n_informative=5, n_classes=n_classes, random_state=seed
    )
    base = DecisionTreeClassifier(max_depth=2, max_features=0.6)
    ours = AdaBoostClassifier(base, n_estimators=25, random_state=seed).fit(X, y)
    ref = sk.AdaBoostClassifier(base, n_estimators=25, random_state=seed).fit(X, y)
    np.testing.assert_allclose(ours.estimator_weights_, ref.estimator_weights_, atol=1e-10)
    np.testing.assert_allclose(ours.estimator_errors_, ref.estimator_errors_, atol=1e-10)
    np.testing.assert_allclose(ours.decision_function(X), ref.decision_function(X), atol=1e-10)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-10)
    for a, b in zip(ours.staged_predict(X), ref.staged_predict(X), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("loss", ["linear", "square", "exponential"])
def test_regressor_matches_sklearn_with_sklearn_tree(loss):
    X, y = make_regression(300, n_features=6, noise=5.0, random_state=1)
    base = DecisionTreeRegressor(max_depth=3)
    ours = AdaBoostRegressor(base, n_estimators=20, loss=loss, random_state=3).fit(X, y)
    ref = sk.AdaBoostRegressor(base, n_estimators=20, loss=loss, random_state=3).fit(X, y)
    np.testing.assert_allclose(ours.estimator_weights_, ref.estimator_weights_, atol=1e-10)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), atol=1e-10)
    staged = list(ours.staged_predict(X))
    np.testing.assert_allclose(staged[-1], ours.predict(X))


@pytest.mark.parametrize("n_classes", [2, 3])
def test_default_base_equals_sklearn_stumps_when_bins_are_exact(n_classes):
    X, y = _integer_data(n_classes)
    ours = AdaBoostClassifier(n_estimators=30, random_state=0).fit(X, y)
    ref = sk.AdaBoostClassifier(n_estimators=30, random_state=0).fit(X, y)
    np.testing.assert_allclose(ours.estimator_weights_, ref.estimator_weights_, atol=1e-10)
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))


def test_default_regressor_base_equals_sklearn_when_bins_are_exact():
    rng = np.random.default_rng(0)
    # 8 values per feature: every weighted bootstrap draw holds each value, so sklearn's
    # thresholds (midpoints of the values in the draw) separate the same rows as our bins.
    X = rng.integers(0, 8, size=(400, 4)).astype(np.float64)
    y = X[:, 0] * 2 - X[:, 1] + rng.normal(size=400)
    ours = AdaBoostRegressor(n_estimators=15, random_state=0).fit(X, y)
    ref = sk.AdaBoostRegressor(n_estimators=15, random_state=0).fit(X, y)
    np.testing.assert_allclose(ours.estimator_weights_, ref.estimator_weights_, atol=1e-10)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), atol=1e-10)


def test_engine_base_is_used_through_the_fast_path():
    X, y = make_classification(300, random_state=0)
    model = AdaBoostClassifier(HistTreeClassifier(max_depth=2), n_estimators=5).fit(X, y)
    assert all(isinstance(m, HistTreeClassifier) for m in model.estimators_)
    assert all(m.tree_.max_depth <= 2 for m in model.estimators_)


def test_missing_values_are_handled_by_the_default_base():
    X, y = make_classification(500, random_state=0)
    X[::7, 0] = np.nan
    model = AdaBoostClassifier(n_estimators=10, random_state=0).fit(X, y)
    assert model.score(X, y) > 0.8


def test_staged_score_ends_at_score():
    X, y = make_classification(300, random_state=2)
    model = AdaBoostClassifier(n_estimators=10, random_state=0).fit(X, y)
    scores = list(model.staged_score(X, y))
    assert len(scores) == len(model.estimators_)
    assert scores[-1] == pytest.approx(model.score(X, y))


def test_learning_rate_zero_is_rejected():
    with pytest.raises(ValueError, match="learning_rate"):
        AdaBoostClassifier(learning_rate=0).fit([[0.0], [1.0]], [0, 1])


def test_regressor_loss_is_validated():
    with pytest.raises(ValueError, match="loss"):
        AdaBoostRegressor(loss="huber").fit([[0.0], [1.0]], [0.0, 1.0])


def test_classifier_quality_matches_sklearn_on_lightgbm_binary(shared_data):
    X, y, X_test, y_test = lightgbm_set(shared_data, "binary")
    ours = AdaBoostClassifier(n_estimators=50, random_state=0).fit(X, y)
    ref = sk.AdaBoostClassifier(n_estimators=50, random_state=0).fit(X, y)
    a = roc_auc_score(y_test, ours.decision_function(X_test))
    b = roc_auc_score(y_test, ref.decision_function(X_test))
    assert a >= b - 0.005, (a, b)


def test_classifier_quality_matches_sklearn_on_lightgbm_multiclass(shared_data):
    # Stumps are near chance on these 5 balanced classes (accuracy ~0.25), so the comparison
    # uses depth-3 bases, and 3-fold accuracy over train + test because 500 test rows are
    # too few to resolve 0.005.
    X, y, X_test, y_test = lightgbm_set(shared_data, "multiclass")
    X, y = np.vstack([X, X_test]), np.concatenate([y, y_test])
    ours = AdaBoostClassifier(HistTreeClassifier(max_depth=3), n_estimators=20, random_state=0)
    ref = sk.AdaBoostClassifier(
        DecisionTreeClassifier(max_depth=3), n_estimators=20, random_state=0
    )
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    a = cross_val_score(ours, X, y, cv=cv).mean()
    b = cross_val_score(ref, X, y, cv=cv).mean()
    assert a >= b - 0.005, (a, b)


def test_regressor_quality_matches_sklearn_on_lightgbm_regression(shared_data):
    # AdaBoost.R2 fits each member on a random weighted bootstrap: average over 3 seeds.
    X, y, X_test, y_test = lightgbm_set(shared_data, "regression")
    a, b = [], []
    for seed in range(3):
        ours = AdaBoostRegressor(n_estimators=20, random_state=seed).fit(X, y)
        ref = sk.AdaBoostRegressor(n_estimators=20, random_state=seed).fit(X, y)
        a.append(r2_score(y_test, ours.predict(X_test)))
        b.append(r2_score(y_test, ref.predict(X_test)))
    assert np.mean(a) >= np.mean(b) - 0.005, (a, b)


def test_classifier_quality_matches_sklearn_on_flights():
    X, y, X_test, y_test = flights_sample()
    ours = AdaBoostClassifier(n_estimators=50, random_state=0).fit(X, y)
    ref = sk.AdaBoostClassifier(n_estimators=50, random_state=0).fit(X, y)
    a = roc_auc_score(y_test, ours.decision_function(X_test))
    b = roc_auc_score(y_test, ref.decision_function(X_test))
    assert a >= b - 0.005, (a, b)


@pytest.mark.parametrize(
    "cls,base", [(AdaBoostClassifier, HistTreeClassifier(max_depth=2)), (AdaBoostRegressor, None)]
)
def test_save_model_load_model_round_trip(tmp_path, cls, base):
    X, y = make_classification(300, n_classes=3, n_informative=4, random_state=0)
    model = cls(base, n_estimators=8, random_state=0).fit(X, y)
    path = tmp_path / "ada.json"
    model.save_model(path)
    loaded = cls().load_model(path)
    np.testing.assert_allclose(loaded.predict(X), model.predict(X))
    np.testing.assert_allclose(loaded.estimator_weights_, model.estimator_weights_)


def test_save_model_refuses_sklearn_base(tmp_path):
    X, y = make_classification(100, random_state=0)
    model = AdaBoostClassifier(DecisionTreeClassifier(max_depth=1), n_estimators=3).fit(X, y)
    with pytest.raises(ValueError, match="pickle"):
        model.save_model(tmp_path / "ada.json")
