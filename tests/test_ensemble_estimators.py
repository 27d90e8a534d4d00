"""Every ensemble estimator is a scikit-learn citizen: check_estimator, pipelines, search."""

import numpy as np
import pytest
from sklearn.base import clone, is_regressor
from sklearn.datasets import make_classification, make_regression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import check_estimator

from skextras.ensemble import (
    AdaBoostClassifier,
    AdaBoostRegressor,
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistTreeClassifier,
    HistTreeRegressor,
    NewtonBoostingClassifier,
    NewtonBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)

ESTIMATORS = [
    RandomForestClassifier(n_estimators=5, random_state=0),
    RandomForestRegressor(n_estimators=5, random_state=0),
    ExtraTreesClassifier(n_estimators=5, random_state=0),
    ExtraTreesRegressor(n_estimators=5, random_state=0),
    GradientBoostingClassifier(n_estimators=5, random_state=0),
    GradientBoostingRegressor(n_estimators=5, random_state=0),
    AdaBoostClassifier(n_estimators=5, random_state=0),
    AdaBoostRegressor(n_estimators=5, random_state=0),
    HistTreeClassifier(random_state=0),
    HistTreeRegressor(random_state=0),
]


# Random draws make weights differ from repeated rows; the same checks are expected failures
# for scikit-learn's own forests and AdaBoost (meta-issue scikit-learn#16298).
_RANDOM_ROWS = "bootstrap draws rows, so weights are not equivalent to repeated rows"
EXPECTED_FAILURES = {
    "RandomForestClassifier": _RANDOM_ROWS,
    "RandomForestRegressor": _RANDOM_ROWS,
    "AdaBoostRegressor": "AdaBoost.R2 draws a weighted bootstrap: " + _RANDOM_ROWS,
}


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_check_estimator_passes(estimator):
    reason = EXPECTED_FAILURES.get(type(estimator).__name__)
    expected = {}
    if reason is not None:
        expected = {
            "check_sample_weight_equivalence_on_dense_data": reason,
            "check_sample_weight_equivalence_on_sparse_data": reason,
        }
    check_estimator(estimator, expected_failed_checks=expected)


@pytest.mark.parametrize("estimator", ESTIMATORS[:8:2], ids=lambda e: type(e).__name__)
def test_pipeline_and_grid_search_work(estimator):
    X, y = make_classification(200, random_state=0)
    pipe = make_pipeline(StandardScaler(), estimator)
    assert cross_val_score(pipe, X, y, cv=3).mean() > 0.7
    param = "n_estimators"
    search = GridSearchCV(estimator, {param: [3, 6]}, cv=2).fit(X, y)
    assert search.best_params_[param] in (3, 6)


# -- input mistakes that used to give silently wrong answers ---------------------------------

FITTERS = [
    *ESTIMATORS,
    NewtonBoostingClassifier(n_estimators=3),
    NewtonBoostingRegressor(n_estimators=3),
]
REGRESSORS = [e for e in FITTERS if is_regressor(e)]


def _data(estimator, n=60):
    X, y = make_regression(n, 3, noise=0.1, random_state=0)
    if not is_regressor(estimator):
        y = (y > np.median(y)).astype(int)
    return X, y


@pytest.mark.parametrize("estimator", FITTERS, ids=lambda e: type(e).__name__)
def test_negative_sample_weight_raises_value_error(estimator):
    X, y = _data(estimator)
    weight = np.ones(y.size)
    weight[::2] = -1.0
    with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
        clone(estimator).fit(X, y, sample_weight=weight)


@pytest.mark.parametrize(
    "estimator",
    [e for e in FITTERS if "n_jobs" in e.get_params()],
    ids=lambda e: type(e).__name__,
)
def test_n_jobs_zero_raises_invalid_parameter_error_naming_n_jobs(estimator):
    X, y = _data(estimator)
    with pytest.raises(InvalidParameterError, match="'n_jobs' parameter.*Got 0"):
        clone(estimator).set_params(n_jobs=0).fit(X, y)


@pytest.mark.parametrize("estimator", REGRESSORS, ids=lambda e: type(e).__name__)
def test_targets_whose_squares_overflow_raise_value_error_with_the_range(estimator):
    X, y = _data(estimator)
    with pytest.raises(ValueError, match=r"y: targets range over \[-\S+e\+30\d, 1e\+307\]"):
        clone(estimator).fit(X, y / np.abs(y).max() * 1e307)


@pytest.mark.parametrize("estimator", REGRESSORS, ids=lambda e: type(e).__name__)
def test_large_targets_below_the_overflow_bound_fit_the_scaled_model(estimator):
    # Squared-error splits are scale-invariant: y * 2**400 (~1e120) grows the same trees
    # (the second-order booster compares gains in float32, so it is held to 2**40).
    X, y = _data(estimator)
    newton = isinstance(estimator, NewtonBoostingRegressor)
    if newton:
        estimator = clone(estimator).set_params(reg_lambda=0.0)
    scale = 2.0 ** (40 if newton else 400)
    small = clone(estimator).fit(X, y).predict(X)
    large = clone(estimator).fit(X, y * scale).predict(X)
    np.testing.assert_allclose(large / scale, small, rtol=1e-9, atol=1e-9 * np.abs(small).max())


def test_newton_targets_whose_gains_overflow_float32_warn_with_the_range():
    X, y = _data(NewtonBoostingRegressor())
    with pytest.warns(RuntimeWarning, match=r"y: targets range over .*overflow float32"):
        NewtonBoostingRegressor(n_estimators=2).fit(X, y * 2.0**100)
