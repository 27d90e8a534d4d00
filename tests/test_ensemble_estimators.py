"""Every ensemble estimator is a scikit-learn citizen: check_estimator, pipelines, search."""

import pytest
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
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


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_check_estimator_passes(estimator):
    check_estimator(estimator)


@pytest.mark.parametrize("estimator", ESTIMATORS[:8:2], ids=lambda e: type(e).__name__)
def test_pipeline_and_grid_search_work(estimator):
    X, y = make_classification(200, random_state=0)
    pipe = make_pipeline(StandardScaler(), estimator)
    assert cross_val_score(pipe, X, y, cv=3).mean() > 0.7
    param = "n_estimators"
    search = GridSearchCV(estimator, {param: [3, 6]}, cv=2).fit(X, y)
    assert search.best_params_[param] in (3, 6)
