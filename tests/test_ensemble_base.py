"""skextras.ensemble._base: one input checker and one thread resolver for every ensemble."""

import joblib
import numba
import numpy as np
import pytest
from sklearn.datasets import make_classification

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
from skextras.ensemble._base import resolve_n_threads

_THREADED = [
    NewtonBoostingClassifier(n_estimators=3, max_depth=2),
    NewtonBoostingRegressor(n_estimators=3, max_depth=2),
    GradientBoostingClassifier(n_estimators=3, max_depth=2),
    GradientBoostingRegressor(n_estimators=3, max_depth=2),
    RandomForestClassifier(n_estimators=3, max_depth=2),
    RandomForestRegressor(n_estimators=3, max_depth=2),
    ExtraTreesClassifier(n_estimators=3, max_depth=2),
    ExtraTreesRegressor(n_estimators=3, max_depth=2),
]
_ALL = [
    *_THREADED,
    AdaBoostClassifier(n_estimators=3),
    AdaBoostRegressor(n_estimators=3),
    HistTreeClassifier(max_depth=2),
    HistTreeRegressor(max_depth=2),
]


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=120, n_features=5, random_state=0)
    return X, y


def _cap(n):
    return max(1, min(n, numba.config.NUMBA_NUM_THREADS))


def test_resolve_n_threads_has_scikit_learns_meaning():
    assert resolve_n_threads(None) == 1
    assert resolve_n_threads(1) == 1
    assert resolve_n_threads(3) == _cap(3)
    assert resolve_n_threads(-1) == _cap(joblib.cpu_count())
    assert resolve_n_threads(-2) == _cap(joblib.cpu_count() - 1)
    with joblib.parallel_config(n_jobs=2):
        assert resolve_n_threads(None) == _cap(2)
        assert resolve_n_threads(1) == 1


@pytest.mark.parametrize("estimator", _THREADED, ids=lambda e: type(e).__name__)
def test_every_ensemble_resolves_n_jobs_through_the_one_resolver(estimator, data, monkeypatch):
    X, y = data
    seen = []
    original = joblib.effective_n_jobs

    def recording(n_jobs=-1):
        seen.append(n_jobs)
        return original(n_jobs)

    monkeypatch.setattr(joblib, "effective_n_jobs", recording)
    for n_jobs in (None, 2, -1):
        seen.clear()
        model = estimator.set_params(n_jobs=n_jobs).fit(X, y)
        model.predict(X)
        assert seen and set(seen) == {n_jobs}


@pytest.mark.parametrize("estimator", _THREADED, ids=lambda e: type(e).__name__)
def test_predictions_do_not_depend_on_n_jobs_or_parallel_config(estimator, data):
    X, y = data
    one = estimator.set_params(n_jobs=None, random_state=0).fit(X, y).predict(X)
    with joblib.parallel_config(n_jobs=2):
        two = estimator.set_params(n_jobs=None, random_state=0).fit(X, y).predict(X)
    np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("estimator", _ALL, ids=lambda e: type(e).__name__)
def test_every_fit_runs_in_fit_context(estimator):
    # sklearn.base._fit_context wraps fit (functools.wraps): it validates the parameters
    assert hasattr(type(estimator).fit, "__wrapped__")


@pytest.mark.parametrize("estimator", _ALL, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize(
    ("weight", "match"),
    [
        (np.nan, "sample_weight contains NaN"),
        (np.inf, "sample_weight contains (NaN or )?infinity"),
        (-1.0, "Negative values in data passed to `sample_weight`"),
    ],
)
def test_every_ensemble_checks_sample_weight_the_same_way(estimator, data, weight, match):
    X, y = data
    w = np.ones(len(y))
    w[3] = weight
    with pytest.raises(ValueError, match=match):
        estimator.fit(X, y, sample_weight=w)


@pytest.mark.parametrize("estimator", _ALL, ids=lambda e: type(e).__name__)
def test_every_ensemble_refuses_a_zero_weight_sum(estimator, data):
    X, y = data
    with pytest.raises(ValueError, match="(?i)sample.weight.*(positive sum|non-zero)"):
        estimator.fit(X, y, sample_weight=np.zeros(len(y)))


@pytest.mark.parametrize("estimator", _THREADED, ids=lambda e: type(e).__name__)
def test_every_ensemble_names_a_string_column(estimator):
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0] * 5, "city": ["x", "y", "z", "w"] * 5})
    y = [0, 1] * 10
    with pytest.raises(ValueError, match="column 'city'"):
        estimator.fit(X, y)
