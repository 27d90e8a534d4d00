"""GradientBoosting*: scikit-learn's fit API around the stages (``monitor``, ``verbose``
output, ``init`` estimators without ``sample_weight``, sparse ``y``), each compared with
scikit-learn's own classes."""

import re

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.ensemble as sk
from sklearn.dummy import DummyRegressor
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skextras.ensemble import GradientBoostingClassifier, GradientBoostingRegressor


def _data(n=300, seed=0):
    """Integer features (few distinct values): engine bins hold one value each, so the trees
    are scikit-learn's."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 30, size=(n, 4)).astype(np.float64)
    y = np.sin(X[:, 0] / 5) * 2 + X[:, 1] / 10 + rng.normal(size=n) * 0.3
    return X, y


@pytest.mark.parametrize("stop_at", [0, 6])
@pytest.mark.parametrize("subsample", [1.0, 0.7])
def test_monitor_stops_and_trims_like_sklearn(stop_at, subsample):
    X, y = _data()
    seen = {"ours": [], "ref": []}

    def monitor(log):
        def call(i, est, frame):
            log.append((i, est.train_score_[i], "raw_predictions" in frame, frame["i"]))
            if subsample < 1:
                assert est.oob_improvement_[i] == est.oob_improvement_[i]  # readable
            assert est.estimators_[i, 0] is not None
            return i == stop_at

        return call

    params = dict(n_estimators=20, max_depth=3, subsample=subsample, random_state=0)
    ours = GradientBoostingRegressor(**params).fit(X, y, monitor=monitor(seen["ours"]))
    ref = sk.GradientBoostingRegressor(**params).fit(X, y, monitor=monitor(seen["ref"]))
    assert ours.estimators_.shape == ref.estimators_.shape == (stop_at + 1, 1)
    assert ours.n_estimators_ == ref.n_estimators_ == stop_at + 1
    assert ours.train_score_.shape == ref.train_score_.shape
    assert [s[0] for s in seen["ours"]] == [s[0] for s in seen["ref"]]
    assert all(s[2] and s[3] == s[0] for s in seen["ours"] + seen["ref"])
    if subsample == 1.0:  # the same trees: the same scores
        np.testing.assert_allclose(
            [s[1] for s in seen["ours"]], [s[1] for s in seen["ref"]], rtol=1e-9
        )
        np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-9, atol=1e-9)
    else:
        assert ours.oob_improvement_.shape == ref.oob_improvement_.shape == (stop_at + 1,)
        assert ours.oob_score_ == ours.oob_scores_[-1]


def test_monitor_returning_false_runs_every_stage():
    X, y = _data()
    calls = []
    model = GradientBoostingRegressor(n_estimators=7).fit(
        X, y, monitor=lambda i, est, frame: calls.append(i)
    )
    assert calls == list(range(7)) and model.estimators_.shape == (7, 1)


def _lines(text):
    return [line for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("verbose", [1, 2])
@pytest.mark.parametrize("subsample", [1.0, 0.8])
def test_verbose_output_is_printed_as_sklearn_prints_it(verbose, subsample, capsys):
    X, y = _data()
    params = dict(n_estimators=120, max_depth=2, subsample=subsample, random_state=0)
    sk.GradientBoostingRegressor(**params, verbose=verbose).fit(X, y)
    want = _lines(capsys.readouterr().out)
    GradientBoostingRegressor(**params, verbose=verbose).fit(X, y)
    got = _lines(capsys.readouterr().out)
    assert got[0] == want[0]
    header = "      Iter       Train Loss   Remaining Time "
    if subsample < 1:
        header = "      Iter       Train Loss      OOB Improve   Remaining Time "
    assert got[0] == header
    assert len(got) == len(want) == 1 + (19 if verbose == 1 else 120)  # 1-10, 20-100
    fields = 4 if subsample < 1 else 3
    pattern = r"\s+\d+" + r"\s+-?\d+\.\d{4}" * (fields - 2) + r"\s+\d+\.\d{2}[sm]$"
    for line, line_ref in zip(got[1:], want[1:], strict=True):
        assert re.fullmatch(pattern, line) and re.fullmatch(pattern, line_ref)
        assert len(line) == len(line_ref)
        assert line.split()[0] == line_ref.split()[0]
        if subsample == 1.0:  # same trees: same training loss
            assert line.split()[1] == line_ref.split()[1]


def test_verbose_zero_prints_nothing(capsys):
    X, y = _data()
    GradientBoostingRegressor(n_estimators=5).fit(X, y)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    "Ours, Ref, init",
    [
        (GradientBoostingRegressor, sk.GradientBoostingRegressor, KNeighborsRegressor()),
        (GradientBoostingClassifier, sk.GradientBoostingClassifier, KNeighborsClassifier()),
        (
            GradientBoostingRegressor,
            sk.GradientBoostingRegressor,
            make_pipeline(StandardScaler(), KNeighborsRegressor()),
        ),
    ],
)
def test_init_without_sample_weight_fits_when_weights_are_ones(Ours, Ref, init):
    X, y = _data()
    if Ours is GradientBoostingClassifier:
        y = (y > np.median(y)).astype(int)
    params = dict(n_estimators=5, max_depth=2, init=init)
    plain = Ours(**params).fit(X, y)
    ones = Ours(**params).fit(X, y, sample_weight=np.ones(y.size))
    ref = Ref(**params).fit(X, y)
    np.testing.assert_array_equal(ones.predict(X), plain.predict(X))
    np.testing.assert_allclose(plain.predict(X), ref.predict(X), rtol=1e-9, atol=1e-9)
    weights = np.linspace(0.5, 2.0, y.size)
    with pytest.raises(ValueError) as ours_error:
        Ours(**params).fit(X, y, sample_weight=weights)
    with pytest.raises(ValueError) as ref_error:
        Ref(**params).fit(X, y, sample_weight=weights)
    assert str(ours_error.value) == str(ref_error.value)
    assert "does not support sample weights" in str(ours_error.value)


def test_init_with_sample_weight_gets_the_weights():
    X, y = _data()
    w = np.where(y > 0, 5.0, 1.0)
    params = dict(n_estimators=3, max_depth=2, init=DummyRegressor())
    ours = GradientBoostingRegressor(**params).fit(X, y, sample_weight=w)
    ref = sk.GradientBoostingRegressor(**params).fit(X, y, sample_weight=w)
    assert ours.init_.constant_ == pytest.approx(ref.init_.constant_)


@pytest.mark.parametrize("Ours, Ref", [
    (GradientBoostingRegressor, sk.GradientBoostingRegressor),
    (GradientBoostingClassifier, sk.GradientBoostingClassifier),
])  # fmt: skip
def test_sparse_y_is_refused_with_sklearns_message(Ours, Ref):
    X, y = _data()
    y_sparse = sp.csr_matrix((y > 0).astype(float).reshape(-1, 1))
    with pytest.raises(TypeError) as ref_error:
        Ref(n_estimators=2).fit(X, y_sparse)
    with pytest.raises(TypeError, match="Sparse data was passed for y") as ours_error:
        Ours(n_estimators=2).fit(X, y_sparse)
    assert str(ours_error.value) == str(ref_error.value)
