"""AdaBoostRegressor: integer ``sample_weight`` equals repeated rows (scikit-learn's
``check_sample_weight_equivalence`` checks, and the same property on data where boosting
runs many rounds), deterministic given ``random_state``."""

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.ensemble as sk
from sklearn.tree import DecisionTreeRegressor
from sklearn.utils import shuffle
from sklearn.utils.estimator_checks import (
    check_sample_weight_equivalence_on_dense_data,
    check_sample_weight_equivalence_on_sparse_data,
)

from skextras.ensemble import AdaBoostRegressor


@pytest.mark.parametrize(
    "check",
    [check_sample_weight_equivalence_on_dense_data, check_sample_weight_equivalence_on_sparse_data],
)
@pytest.mark.parametrize("n_estimators", [5, 50])
def test_sklearn_sample_weight_equivalence_checks_pass(check, n_estimators):
    check("AdaBoostRegressor", AdaBoostRegressor(n_estimators=n_estimators))


def _weighted_and_repeated(seed, n=80):
    rng = np.random.RandomState(seed)
    X = rng.rand(n, 5)
    y = 3 * X[:, 0] + rng.randn(n)
    sw = rng.randint(0, 5, size=n)  # zeros included: rows removed
    X_repeated, y_repeated = X.repeat(sw, axis=0), y.repeat(sw)
    X_weighted, y_weighted, sw = shuffle(X, y, sw, random_state=seed)
    return X, (X_weighted, y_weighted, sw), (X_repeated, y_repeated)


@pytest.mark.parametrize(
    "seed, base, container, loss",
    [
        (0, None, np.asarray, "linear"),
        (1, None, sp.csr_matrix, "square"),
        (2, DecisionTreeRegressor(max_depth=3), np.asarray, "exponential"),
        (3, DecisionTreeRegressor(max_depth=3), sp.csr_matrix, "linear"),
    ],
)
def test_integer_sample_weight_equals_repeated_rows_over_many_rounds(seed, base, container, loss):
    X, (Xw, yw, sw), (Xr, yr) = _weighted_and_repeated(seed)
    params = dict(n_estimators=20, loss=loss, random_state=0)
    weighted = AdaBoostRegressor(base, **params).fit(container(Xw), yw, sample_weight=sw)
    repeated = AdaBoostRegressor(base, **params).fit(container(Xr), yr)
    assert len(weighted.estimators_) == len(repeated.estimators_) == 20
    np.testing.assert_allclose(weighted.estimator_weights_, repeated.estimator_weights_, 1e-10)
    np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-10, atol=1e-10)


def test_weights_of_one_keep_sklearns_draw():
    X, y = np.random.RandomState(0).rand(200, 4), np.random.RandomState(1).rand(200)
    base = DecisionTreeRegressor(max_depth=3)
    ones = AdaBoostRegressor(base, n_estimators=10, random_state=2)
    ones.fit(X, y, sample_weight=np.ones(200))
    ref = sk.AdaBoostRegressor(base, n_estimators=10, random_state=2).fit(X, y)
    np.testing.assert_allclose(ones.predict(X), ref.predict(X), atol=1e-12)


def test_weighted_fit_is_deterministic_given_random_state():
    X, (Xw, yw, sw), _ = _weighted_and_repeated(3)
    fits = [
        AdaBoostRegressor(n_estimators=10, random_state=5).fit(Xw, yw, sample_weight=sw)
        for _ in range(2)
    ]
    np.testing.assert_array_equal(fits[0].predict(X), fits[1].predict(X))
    other = AdaBoostRegressor(n_estimators=10, random_state=6).fit(Xw, yw, sample_weight=sw)
    assert not np.array_equal(fits[0].predict(X), other.predict(X))
