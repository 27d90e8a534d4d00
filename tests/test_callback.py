"""skextras.callback: the training-callback protocol, checked against XGBoost's own callbacks.

XGBoost's ``EarlyStopping`` and ``EvaluationMonitor`` are run on the very score sequences our
estimators log (replayed through a stand-in booster), so the stopping rule, the best
iteration and the printed lines are compared with the reference implementation itself.
"""

from pathlib import Path

import _fit_api_reference as ref
import numpy as np
import pytest
import xgboost as xgb
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression

from skextras.callback import (
    CallbackContainer,
    EarlyStopping,
    EvaluationMonitor,
    TrainingCallback,
)
from skextras.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    NewtonBoostingClassifier,
    NewtonBoostingRegressor,
)

_SMALL = {"max_depth": 3, "random_state": 0}


class StopAt(TrainingCallback):
    """Stops after iteration ``k - 1``, i.e. after k iterations; records what it saw."""

    def __init__(self, k):
        self.k = k

    def before_training(self, model):
        self.seen = []
        return model

    def after_iteration(self, model, iteration, evals_log):
        self.seen.append(iteration)
        return iteration + 1 >= self.k


class Boom(TrainingCallback):
    def after_iteration(self, model, iteration, evals_log):
        if iteration == 2:
            raise RuntimeError("boom at iteration 2")
        return False


def _regression():
    return make_regression(n_samples=300, n_features=6, noise=20.0, random_state=0)


def _classification():
    return make_classification(n_samples=300, n_features=6, random_state=0)


_ESTIMATORS = [
    (NewtonBoostingRegressor, _regression),
    (NewtonBoostingClassifier, _classification),
    (GradientBoostingRegressor, _regression),
    (GradientBoostingClassifier, _classification),
]


def _outputs(model, X):
    return model.predict_proba(X) if hasattr(model, "predict_proba") else model.predict(X)


@pytest.mark.parametrize(("Estimator", "data"), _ESTIMATORS)
def test_user_callback_stopping_at_k_equals_n_estimators_k(Estimator, data):
    X, y = data()
    stop = StopAt(7)
    stopped = Estimator(n_estimators=30, callbacks=[stop], **_SMALL).fit(X, y)
    direct = Estimator(n_estimators=7, **_SMALL).fit(X, y)
    assert stop.seen == list(range(7))
    assert stopped.n_estimators_ == 7
    np.testing.assert_array_equal(_outputs(stopped, X), _outputs(direct, X))


@pytest.mark.parametrize(("Estimator", "data"), _ESTIMATORS)
def test_callback_exception_propagates_out_of_fit(Estimator, data):
    X, y = data()
    with pytest.raises(RuntimeError, match="boom at iteration 2"):
        Estimator(n_estimators=5, callbacks=[Boom()], **_SMALL).fit(X, y)


@pytest.mark.parametrize(("Estimator", "data"), _ESTIMATORS)
def test_callbacks_survive_clone_and_get_params(Estimator, data):
    X, y = data()
    stop = EarlyStopping(rounds=4, min_delta=0.5, save_best=True)
    model = Estimator(n_estimators=5, callbacks=[stop, StopAt(3)], **_SMALL)
    copy = clone(model)
    copied = copy.get_params()["callbacks"]
    assert [type(c) for c in copied] == [EarlyStopping, StopAt]
    assert copied[0] is not stop
    assert vars(copied[0]) == vars(stop)
    copy.set_params(callbacks=[StopAt(2)])
    assert copy.fit(X, y).n_estimators_ == 2


def test_callbacks_that_are_not_callbacks_raise_naming_the_parameter():
    X, y = _regression()
    with pytest.raises(TypeError, match="callbacks"):
        NewtonBoostingRegressor(n_estimators=2, callbacks=[object()]).fit(X, y)
    with pytest.raises(ValueError, match="'callbacks' parameter"):
        GradientBoostingRegressor(n_estimators=2, callbacks=StopAt(1)).fit(X, y)


@pytest.mark.parametrize(
    ("rounds", "min_delta"), [(0, 0.0), (2.5, 0.0), (True, 0.0), (2, -1.0), (2, np.nan)]
)
def test_early_stopping_bad_arguments_raise_naming_them(rounds, min_delta):
    with pytest.raises(ValueError, match="rounds|min_delta"):
        EarlyStopping(rounds=rounds, min_delta=min_delta)


# ------------------------------------------------------------------------------------------
# the stopping rule and the printout against XGBoost's callbacks


class _Booster:
    """What XGBoost's EarlyStopping touches on a Booster."""

    def __init__(self):
        self.attrs = {}

    def num_boosted_rounds(self):
        return 0

    def set_attr(self, **kwargs):
        self.attrs.update(kwargs)


def _replay_xgboost(callback, log):
    """Feed XGBoost's ``callback`` the log one iteration at a time; iterations run."""
    model = callback.before_training(_Booster())
    n = len(next(iter(next(iter(log.values())).values())))
    for it in range(n):
        partial = {d: {m: v[: it + 1] for m, v in ms.items()} for d, ms in log.items()}
        if callback.after_iteration(model, it, partial):
            return it + 1, model.attrs
    return n, model.attrs


def _replay_ours(callback, log):
    class Model:
        pass

    model = Model()
    container = CallbackContainer([callback])
    container.before_training(model)
    n = len(next(iter(next(iter(log.values())).values())))
    for it in range(n):
        partial = {d: {m: v[: it + 1] for m, v in ms.items()} for d, ms in log.items()}
        if container.after_iteration(model, it, partial):
            return it + 1, model
    return n, model


def _noisy_log(seed):
    """Two eval sets, two metrics; scores that fall, plateau and wander (ties included)."""
    rng = np.random.default_rng(seed)
    walk = np.round(1.0 / (1 + np.arange(60)) + np.cumsum(rng.normal(0, 0.01, 60)), 2)
    auc = np.round(0.6 + np.cumsum(rng.normal(0.002, 0.01, 60)), 2)
    return {
        "validation_0": {"rmse": list(walk + 0.1), "auc": list(auc - 0.05)},
        "validation_1": {"rmse": list(walk), "auc": list(auc)},
    }


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(
    "kw",
    [
        {"rounds": 3},
        {"rounds": 5, "min_delta": 0.01},
        {"rounds": 4, "metric_name": "rmse"},
        {"rounds": 4, "metric_name": "auc", "maximize": True, "min_delta": 0.005},
        {"rounds": 2, "data_name": "validation_0", "metric_name": "rmse"},
        {"rounds": 6},  # the last metric is auc: maximised by name, as in XGBoost
    ],
)
def test_early_stopping_rule_equals_xgboost_early_stopping(seed, kw):
    log = _noisy_log(seed)
    n_ref, attrs = _replay_xgboost(xgb.callback.EarlyStopping(**kw), log)
    n_ours, model = _replay_ours(EarlyStopping(**kw), log)
    assert n_ours == n_ref
    assert model.best_iteration_ == int(attrs["best_iteration"])
    assert model.best_score_ == float(attrs["best_score"])


def test_early_stopping_best_iteration_equals_xgboost_fit():
    # integer features (one value per bin in both libraries): the two fits agree to float32
    rng = np.random.default_rng(1)
    X = rng.integers(0, 20, size=(600, 4)).astype(np.float64)
    y = np.round(np.sin(X[:, 0] / 3) + X[:, 1] / 10 + rng.normal(0, 0.5, 600), 1)
    params = {"n_estimators": 200, "learning_rate": 0.5, "max_depth": 3, "base_score": 0.0}
    held_out = {"eval_set": [(X[400:], y[400:])]}
    ours = NewtonBoostingRegressor(early_stopping_rounds=4, **params)
    ours.fit(X[:400], y[:400], **held_out)
    ref = xgb.XGBRegressor(early_stopping_rounds=4, tree_method="hist", max_bin=255, **params)
    ref.fit(X[:400], y[:400], verbose=False, **held_out)
    np.testing.assert_allclose(
        ours.evals_result_["validation_0"]["rmse"],
        ref.evals_result()["validation_0"]["rmse"],
        rtol=1e-5,
    )
    assert ours.best_iteration_ == ref.best_iteration < params["n_estimators"] - 5
    assert ours.n_estimators_ == ref.get_booster().num_boosted_rounds()

    best = EarlyStopping(rounds=4, save_best=True)
    ours_best = NewtonBoostingRegressor(callbacks=[best], **params)
    ours_best.fit(X[:400], y[:400], **held_out)
    ref_best = xgb.XGBRegressor(
        callbacks=[xgb.callback.EarlyStopping(rounds=4, save_best=True)],
        tree_method="hist",
        max_bin=255,
        **params,
    ).fit(X[:400], y[:400], verbose=False, **held_out)
    assert ours_best.n_estimators_ == ref_best.get_booster().num_boosted_rounds()
    assert ours_best.best_iteration_ == ref_best.best_iteration


@pytest.mark.parametrize(("Estimator", "data"), _ESTIMATORS[:2])
def test_save_best_keeps_exactly_the_model_of_the_best_iteration(Estimator, data):
    X, y = data()
    fit = {"eval_set": [(X[200:], y[200:])]}
    kw = {"n_estimators": 100, "learning_rate": 0.8, **_SMALL}
    best = Estimator(callbacks=[EarlyStopping(rounds=3, save_best=True)], **kw)
    best.fit(X[:200], y[:200], **fit)
    last = Estimator(early_stopping_rounds=3, **kw).fit(X[:200], y[:200], **fit)
    k = best.best_iteration_ + 1
    assert best.n_estimators_ == k < last.n_estimators_
    assert best.best_iteration_ == last.best_iteration_
    direct = Estimator(**{**kw, "n_estimators": k}).fit(X[:200], y[:200])
    np.testing.assert_array_equal(_outputs(best, X), _outputs(direct, X))
    np.testing.assert_array_equal(_outputs(best, X), _outputs(last, X))


def test_save_best_truncates_gradient_boosting_to_the_best_stage():
    X, y = _regression()
    kw = {"n_estimators": 200, "learning_rate": 0.9, "n_iter_no_change": 5, **_SMALL}
    best = GradientBoostingRegressor(
        callbacks=[EarlyStopping(rounds=None, data_name="validation_0", save_best=True)], **kw
    ).fit(X, y)
    last = GradientBoostingRegressor(**kw).fit(X, y)
    assert best.n_estimators_ == best.best_iteration_ + 1 < last.n_estimators_
    assert best.train_score_.shape == (best.n_estimators_,)
    # the same held-out split, cut at the best stage by n_estimators
    direct = GradientBoostingRegressor(**{**kw, "n_estimators": best.n_estimators_}).fit(X, y)
    np.testing.assert_array_equal(best.predict(X), direct.predict(X))


def test_gradient_boosting_n_iter_no_change_stops_where_sklearn_stops():
    import sklearn.ensemble as sk

    rng = np.random.default_rng(0)
    X = rng.integers(0, 40, size=(800, 5)).astype(np.float64)
    y = np.sin(X[:, 0] / 6) * 3 + X[:, 1] / 10 + rng.standard_t(3, size=800)
    for tol in (1e-4, 1e-2):
        kw = {"n_estimators": 300, "learning_rate": 0.3, "n_iter_no_change": 3, "tol": tol}
        ours = GradientBoostingRegressor(random_state=0, **kw).fit(X, y)
        ref = sk.GradientBoostingRegressor(random_state=0, **kw).fit(X, y)
        assert ours.n_estimators_ == ref.n_estimators_ < 300


def _lines(capsys):
    return capsys.readouterr().out.splitlines()


@pytest.mark.parametrize("period", [1, 3])
def test_evaluation_monitor_prints_what_xgboost_prints(capsys, period):
    X, y = _classification()
    fit = {"eval_set": [(X[:100], y[:100]), (X[200:], y[200:])]}
    model = NewtonBoostingClassifier(
        n_estimators=8,
        eval_metric=["logloss", "error"],
        callbacks=[EvaluationMonitor(period=period)],
        **_SMALL,
    ).fit(X[:200], y[:200], **fit)
    ours = _lines(capsys)
    _replay_xgboost_monitor(xgb.callback.EvaluationMonitor(period=period), model.evals_result_)
    assert ours == _lines(capsys)
    assert len(ours) == (8 if period == 1 else 4)  # 0, 3, 6 and the last one, 7


def _replay_xgboost_monitor(monitor, log):
    """Feed XGBoost's EvaluationMonitor the log one iteration at a time (it prints)."""
    n = len(next(iter(next(iter(log.values())).values())))
    for it in range(n):
        monitor.after_iteration(
            None, it, {d: {m: v[: it + 1] for m, v in ms.items()} for d, ms in log.items()}
        )
    monitor.after_training(None)


def test_verbose_fit_prints_the_evaluation_monitor_lines(capsys):
    X, y = _regression()
    fit = {"eval_set": [(X[200:], y[200:])]}
    model = NewtonBoostingRegressor(n_estimators=4, **_SMALL).fit(X, y, verbose=True, **fit)
    printed = _lines(capsys)
    _replay_xgboost_monitor(xgb.callback.EvaluationMonitor(), model.evals_result_)
    assert printed == _lines(capsys)
    assert printed[0].startswith("[0]\tvalidation_0-rmse:")


def test_early_stopping_without_eval_data_raises():
    X, y = _regression()
    with pytest.raises(ValueError, match="at least one validation set"):
        NewtonBoostingRegressor(n_estimators=3, callbacks=[EarlyStopping(rounds=2)]).fit(X, y)


def test_early_stopping_unknown_names_raise_naming_them():
    X, y = _regression()
    fit = {"eval_set": [(X, y)]}
    with pytest.raises(ValueError, match="data_name='valid'"):
        NewtonBoostingRegressor(
            n_estimators=3, callbacks=[EarlyStopping(rounds=2, data_name="valid")]
        ).fit(X, y, **fit)
    with pytest.raises(ValueError, match="metric_name='auc'"):
        NewtonBoostingRegressor(
            n_estimators=3, callbacks=[EarlyStopping(rounds=2, metric_name="auc")]
        ).fit(X, y, **fit)


def test_an_early_stopping_object_reused_for_a_second_fit_starts_afresh():
    X, y = _regression()
    stop = EarlyStopping(rounds=3)
    fit = {"eval_set": [(X[200:], y[200:])]}
    model = NewtonBoostingRegressor(n_estimators=60, learning_rate=0.9, callbacks=[stop])
    first = model.fit(X[:200], y[:200], **fit).n_estimators_
    second = model.fit(X[:200], y[:200], **fit).n_estimators_
    assert first == second < 60


# ------------------------------------------------------------------------------------------
# the default paths give the numbers of the code before the callback protocol


def test_default_paths_are_bit_identical_to_the_code_before_callbacks():
    saved = np.load(Path(__file__).parent / "data" / "ensemble" / "fit_api_reference.npz")
    for name, make, (X, y), kwargs in ref.cases():
        pred, n = ref.outputs(make().fit(X, y, **kwargs), X)
        assert n == int(saved[name + "_n_estimators"]), name
        if name.startswith("ada_"):
            # AdaBoost's SAMME probabilities are now summed member by member, scikit-learn's
            # order (tests/test_engine_predict.py): same trees, sums differ in the last bit
            np.testing.assert_array_max_ulp(pred, saved[name], maxulp=2)
            continue
        np.testing.assert_array_equal(pred, saved[name], err_msg=name)


# ------------------------------------------------------------------------------------------
# ProgressBar (tqdm)


def test_progress_bar_counts_iterations_and_shows_the_last_score():
    tqdm = pytest.importorskip("tqdm")
    import io

    from skextras.callback import ProgressBar

    X, y = make_regression(n_samples=120, n_features=4, random_state=0)
    out = io.StringIO()
    bar = ProgressBar(file=out, mininterval=0, desc="boost")
    model = NewtonBoostingRegressor(n_estimators=7, callbacks=[bar])
    model.fit(X[:90], y[:90], eval_set=[(X[90:], y[90:])])
    text = out.getvalue()
    last = model.evals_result_["validation_0"]["rmse"][-1]
    assert "boost" in text and "7/7" in text and f"validation_0-rmse={last:.5g}" in text
    assert bar._bar is None and tqdm.__version__
    # verbose="progress" adds one; the model is the plain fit's
    plain = NewtonBoostingRegressor(n_estimators=7).fit(X, y)
    with_bar = NewtonBoostingRegressor(n_estimators=7).fit(X, y, verbose="progress")
    np.testing.assert_array_equal(with_bar.predict(X), plain.predict(X))
    with pytest.raises(ValueError, match="verbose"):
        NewtonBoostingRegressor(n_estimators=2).fit(X, y, verbose="loud")


def test_progress_bar_follows_gradient_boosting_warm_start():
    pytest.importorskip("tqdm")
    import io

    from skextras.callback import ProgressBar
    from skextras.ensemble import GradientBoostingRegressor

    X, y = make_regression(n_samples=100, n_features=3, random_state=1)
    out = io.StringIO()
    bar = ProgressBar(file=out, mininterval=0)
    model = GradientBoostingRegressor(n_estimators=3, warm_start=True, callbacks=[bar])
    model.fit(X, y).set_params(n_estimators=6).fit(X, y)
    assert "3/3" in out.getvalue() and "6/6" in out.getvalue()
