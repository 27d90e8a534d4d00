"""NewtonBoosting*: XGBoost's scikit-learn API (``XGBClassifier`` / ``XGBRegressor``) as
the reference: constructor keywords, aliases, ``kwargs``, prediction options, evaluation
callables and input conventions, each compared with xgboost itself."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import xgboost as xgb
from sklearn.base import clone

from skextras.ensemble import NewtonBoostingClassifier, NewtonBoostingRegressor


def _data(n=200, p=5, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, p)
    y = X[:, 0] + 0.5 * X[:, 1] ** 2 + 0.1 * rng.randn(n)
    return X, y


def _classes(X, k):
    return np.digitize(X[:, 0] + 0.3 * X[:, 2], np.linspace(-1, 1, k - 1)[: k - 1])


def _pair(**params):
    """Ours and XGBoost's regressor with the same parameters (XGBoost's max_bin excludes
    the missing bin)."""
    base = dict(dict(n_estimators=5, max_depth=3), **params)
    ours = NewtonBoostingRegressor(**base)
    ref = xgb.XGBRegressor(**base, max_bin=255, tree_method="hist")
    return ours, ref


# ------------------------------------------------------------------------------------------
# constructor

# XGBoost keywords of features this package does not have (categorical feature types,
# feature weights, multi-output strategies, random forests, gradient-based sampling)
_ABSENT = {
    "enable_categorical",
    "feature_types",
    "feature_weights",
    "max_cat_threshold",
    "max_cat_to_onehot",
    "multi_strategy",
    "num_parallel_tree",
    "sampling_method",
    "validate_parameters",
}


@pytest.mark.parametrize(
    "alias, value", [("eta", 0.1), ("lambda", 5.0), ("alpha", 3.0), ("min_split_loss", 2.0)]
)
def test_native_alias_gives_xgboosts_model(alias, value):
    X, y = _data()
    ours, ref = _pair(**{alias: value})
    ours.fit(X, y)
    ref.fit(X, y)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), atol=1e-5)
    assert ours.get_params()[alias] == value


def test_explicit_parameter_wins_over_its_alias_as_in_xgboost():
    X, y = _data()
    ours, ref = _pair(eta=0.1, learning_rate=0.5)
    np.testing.assert_allclose(ours.fit(X, y).predict(X), ref.fit(X, y).predict(X), atol=1e-5)


def test_alias_with_invalid_value_is_refused_naming_it():
    X, y = _data()
    with pytest.raises(ValueError, match="'eta'"):
        NewtonBoostingRegressor(eta=-1.0).fit(X, y)


def test_tree_method_hist_and_auto_are_the_default_model():
    X, y = _data()
    default = NewtonBoostingRegressor(n_estimators=3).fit(X, y).predict(X)
    for method in ("hist", "auto"):
        pred = NewtonBoostingRegressor(n_estimators=3, tree_method=method).fit(X, y).predict(X)
        np.testing.assert_array_equal(pred, default)


@pytest.mark.parametrize("method", ["exact", "approx", "gpu_hist"])
def test_tree_method_other_than_hist_is_refused_naming_hist(method):
    X, y = _data()
    with pytest.raises(ValueError, match=rf"tree_method='{method}'.*'hist'"):
        NewtonBoostingRegressor(tree_method=method).fit(X, y)


@pytest.mark.parametrize("device", ["cuda", "cuda:0", "gpu"])
def test_device_other_than_cpu_is_refused(device):
    X, y = _data()
    with pytest.raises(ValueError, match=rf"device='{device}'.*'cpu'"):
        NewtonBoostingRegressor(device=device).fit(X, y)
    NewtonBoostingRegressor(n_estimators=2, device="cpu").fit(X, y)


def test_booster_other_than_gbtree_is_refused():
    X, y = _data()
    with pytest.raises(ValueError, match="booster='gblinear'"):
        NewtonBoostingRegressor(booster="gblinear").fit(X, y)


def test_unknown_keyword_warns_at_fit_like_xgboost_and_survives_clone():
    X, y = _data()
    ours = NewtonBoostingRegressor(n_estimators=2, foo_bar=3)
    ref = xgb.XGBRegressor(n_estimators=2, foo_bar=3)
    assert ours.get_params()["foo_bar"] == ref.get_params()["foo_bar"] == 3
    copy = clone(ours)
    assert copy.get_params()["foo_bar"] == 3
    copy.set_params(foo_bar=4, other=1, max_depth=2)
    assert (copy.kwargs, copy.max_depth) == ({"foo_bar": 4, "other": 1}, 2)
    for model in (ours, ref):
        with pytest.warns(UserWarning, match=r'Parameters: \{ "foo_bar" \} are not used'):
            model.fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        NewtonBoostingRegressor(n_estimators=2, foo_bar=3, verbosity=0).fit(X, y)
        xgb.XGBRegressor(n_estimators=2, foo_bar=3, verbosity=0).fit(X, y)


def test_get_params_has_every_xgboost_keyword_used_by_tools():
    ours, ref = NewtonBoostingClassifier().get_params(), xgb.XGBClassifier().get_params()
    assert set(ref) - set(ours) == _ABSENT
    for name in ("missing", "tree_method", "device", "verbosity", "booster", "callbacks"):
        assert repr(ours[name]) == repr(ref[name]), name
    assert "kwargs" not in ours


def test_get_xgb_params_drops_the_wrapper_parameters_as_xgboost():
    ours = NewtonBoostingRegressor(eta=0.2, eval_metric=lambda y, p: 0.0)
    ref = xgb.XGBRegressor(eta=0.2, eval_metric=lambda y, p: 0.0)
    wrapper = {"n_estimators", "missing", "importance_type", "early_stopping_rounds"}
    for params in (ours.get_xgb_params(), ref.get_xgb_params()):
        assert not wrapper & set(params)
        assert params["eta"] == 0.2 and "eval_metric" not in params
    # XGBRegressor takes (and ignores) scale_pos_weight; ours is the classifier's only
    wrapper_only = {"enable_categorical", "feature_types", "feature_weights"}
    assert set(ref.get_xgb_params()) - set(ours.get_xgb_params()) == (_ABSENT - wrapper_only) | {
        "scale_pos_weight"
    }


@pytest.mark.parametrize("sparse", [False, True])
def test_missing_value_marks_missing_like_nan(sparse):
    X, y = _data()
    X[::7, 1] = np.nan
    X_marked = np.where(np.isnan(X), -999.0, X)
    if sparse:  # NaN / -999 stored explicitly
        X, X_marked = sp.csr_matrix(X), sp.csr_matrix(X_marked)
    nan_model = NewtonBoostingRegressor(n_estimators=5).fit(X, y)
    marked = NewtonBoostingRegressor(n_estimators=5, missing=-999.0).fit(X_marked, y)
    np.testing.assert_array_equal(marked.predict(X_marked), nan_model.predict(X))
    ref = xgb.XGBRegressor(n_estimators=5, missing=-999.0, max_bin=255).fit(X_marked, y)
    np.testing.assert_allclose(marked.predict(X_marked), ref.predict(X_marked), atol=1e-4)


def test_random_state_generator_is_deterministic_given_its_seed():
    X, y = _data()
    params = dict(n_estimators=5, subsample=0.5, colsample_bytree=0.6)

    def fit(seed):
        return NewtonBoostingRegressor(**params, random_state=np.random.default_rng(seed))

    np.testing.assert_array_equal(fit(0).fit(X, y).predict(X), fit(0).fit(X, y).predict(X))
    assert not np.array_equal(fit(0).fit(X, y).predict(X), fit(1).fit(X, y).predict(X))
    # XGBoost also accepts one
    xgb.XGBRegressor(**params, random_state=np.random.default_rng(0)).fit(X, y)


# ------------------------------------------------------------------------------------------
# results and prediction


def test_evals_result_best_iteration_and_best_score_match_xgboost():
    X, y = _data()
    params = dict(early_stopping_rounds=2, eval_metric="rmse", n_estimators=40)
    ours, ref = _pair(**params)
    # training rows with noisier targets: both libraries place the same rows in the same
    # leaves (thresholds between training values may differ), the score turns up at some round
    eval_set = [(X[:100], y[:100] + np.random.RandomState(5).randn(100))]
    ours.fit(X, y, eval_set=eval_set)
    ref.fit(X, y, eval_set=eval_set, verbose=False)
    assert ours.best_iteration == ref.best_iteration
    assert ours.n_estimators_ == ref.get_booster().num_boosted_rounds() < 40
    np.testing.assert_allclose(ours.best_score, ref.best_score, rtol=1e-5)
    np.testing.assert_allclose(
        ours.evals_result()["validation_0"]["rmse"],
        ref.evals_result()["validation_0"]["rmse"],
        rtol=1e-5,
    )
    no_eval = NewtonBoostingRegressor(n_estimators=2).fit(X, y)
    with pytest.raises(ValueError, match="eval_set"):
        no_eval.evals_result()


@pytest.mark.parametrize("kind", ["regression", "binary", "multiclass"])
def test_output_margin_and_iteration_range_match_xgboost(kind):
    X, y = _data()
    params = dict(n_estimators=6, max_depth=3)
    if kind == "regression":
        ours = NewtonBoostingRegressor(objective="reg:gamma", **params)
        ref = xgb.XGBRegressor(objective="reg:gamma", max_bin=255, **params)
        y = np.exp(y / 3)
    else:
        y = _classes(X, 2 if kind == "binary" else 3)
        ours = NewtonBoostingClassifier(**params)
        ref = xgb.XGBClassifier(max_bin=255, **params)
    ours.fit(X, y)
    ref.fit(X, y)
    for rounds in [(0, 0), (1, 4), (0, 6)]:
        got = ours.predict(X, output_margin=True, iteration_range=rounds)
        want = ref.predict(X, output_margin=True, iteration_range=rounds)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=1e-4)
        np.testing.assert_allclose(
            ours.predict(X, iteration_range=rounds), ref.predict(X, iteration_range=rounds),
            atol=1e-4,
        )  # fmt: skip
    with pytest.raises(ValueError, match="iteration_range"):
        ours.predict(X, iteration_range=(2, 9))


# ------------------------------------------------------------------------------------------
# evaluation


def _recording_metric(log):
    def my_metric(y_true, y_pred, sample_weight=None):
        log.append((np.array(y_true), np.array(y_pred), sample_weight))
        return float(np.mean(np.abs(np.asarray(y_pred).ravel()[: y_true.size] - y_true)))

    return my_metric


@pytest.mark.parametrize("objective", ["multi:softmax", "multi:softprob", "binary:logistic"])
def test_callable_eval_metric_gets_what_xgboost_gives_it(objective):
    X, _ = _data()
    y = _classes(X, 2 if objective == "binary:logistic" else 3)
    w = np.random.RandomState(1).rand(X.shape[0])
    logs = {"ours": [], "ref": []}
    params = dict(n_estimators=2, max_depth=2, objective=objective)
    ours = NewtonBoostingClassifier(**params, eval_metric=_recording_metric(logs["ours"]))
    ref = xgb.XGBClassifier(**params, max_bin=255, eval_metric=_recording_metric(logs["ref"]))
    fit = dict(eval_set=[(X, y), (X[:50], y[:50])], sample_weight_eval_set=[w, None])
    ours.fit(X, y, **fit)
    ref.fit(X, y, **fit, verbose=False)
    assert len(logs["ours"]) == len(logs["ref"]) == 4
    for (yt, yp, sw), (yt_ref, yp_ref, sw_ref) in zip(logs["ours"], logs["ref"], strict=True):
        np.testing.assert_array_equal(yt, yt_ref)
        assert yp.shape == yp_ref.shape
        np.testing.assert_allclose(yp, yp_ref, atol=1e-5)
        assert (sw is None) == (sw_ref is None)
        if sw is not None:
            np.testing.assert_allclose(sw, sw_ref, rtol=1e-6)
    assert list(ours.evals_result()["validation_0"]) == ["my_metric"]
    np.testing.assert_allclose(
        ours.evals_result()["validation_1"]["my_metric"],
        ref.evals_result()["validation_1"]["my_metric"],
        atol=1e-5,
    )


@pytest.mark.parametrize("verbose", [True, 3, False])
def test_verbose_prints_rounds_in_xgboosts_format(verbose, capsys):
    X, y = _data()
    ours, ref = _pair(n_estimators=5, eval_metric=["rmse", "mae"])
    eval_set = [(X, y), (X[:50], y[:50])]
    ref.fit(X, y, eval_set=eval_set, verbose=verbose)
    want = capsys.readouterr().out.splitlines()
    ours.fit(X, y, eval_set=eval_set, verbose=verbose)
    got = capsys.readouterr().out.splitlines()
    assert len(got) == len(want) == {True: 5, 3: 3, False: 0}[verbose]
    pattern = re.compile(r"\[(\d+)\]((?:\tvalidation_\d-\w+:-?\d+\.\d{5})+)$")
    for line, line_ref in zip(got, want, strict=True):
        a, b = pattern.match(line), pattern.match(line_ref)
        assert a and b and a.group(1) == b.group(1)
        names = [s.split(":")[0] for s in a.group(2).split("\t")[1:]]
        assert names == [s.split(":")[0] for s in b.group(2).split("\t")[1:]]
        scores = [float(s.split(":")[1]) for s in a.group(2).split("\t")[1:]]
        ref_scores = [float(s.split(":")[1]) for s in b.group(2).split("\t")[1:]]
        np.testing.assert_allclose(scores, ref_scores, atol=2e-5)


# ------------------------------------------------------------------------------------------
# input conventions


def test_pandas_series_is_one_feature_like_xgboost():
    X, y = _data()
    series = pd.Series(X[:, 0], name="a")
    ours = NewtonBoostingRegressor(n_estimators=3).fit(series, y)
    ref = xgb.XGBRegressor(n_estimators=3, max_bin=255).fit(series, y)
    assert ours.n_features_in_ == ref.n_features_in_ == 1
    assert list(ours.feature_names_in_) == list(ref.feature_names_in_) == ["a"]
    np.testing.assert_allclose(ours.predict(series), ref.predict(series), atol=1e-5)


@pytest.mark.parametrize("Estimator", [NewtonBoostingClassifier, NewtonBoostingRegressor])
def test_fit_none_raises_type_error_naming_nonetype(Estimator):
    with pytest.raises(TypeError, match="NoneType"):
        Estimator().fit(None, np.arange(4) % 2)
    with pytest.raises(TypeError, match="NoneType"):
        xgb.XGBRegressor().fit(None, np.arange(4) % 2)


def test_feature_name_mismatch_message_says_feature_names_mismatch():
    X, y = _data()
    frame = pd.DataFrame(X, columns=list("abcde"))
    other = frame.rename(columns={"e": "f"})
    ours = NewtonBoostingRegressor(n_estimators=2).fit(frame, y)
    ref = xgb.XGBRegressor(n_estimators=2).fit(frame, y)
    for model in (ours, ref):
        with pytest.raises(ValueError, match="feature_names mismatch") as info:
            model.predict(other)
        assert "expected e in input data" in str(info.value)
    with pytest.raises(ValueError, match="eval_set.*feature_names mismatch"):
        NewtonBoostingRegressor(n_estimators=2).fit(frame, y, eval_set=[(other, y)])
    # a new fit takes the new names
    assert list(ours.fit(other, y).feature_names_in_) == list("abcdf")


# ------------------------------------------------------------------------------------------
# quantile and multi-output regression


def _binned_exactly(n, seed):
    """200 levels per feature: both libraries bin every value alone, so the trees agree."""
    rng = np.random.RandomState(seed)
    X = np.round(rng.rand(n, 5) * 200) / 200
    noise = rng.standard_t(3, n) * (0.5 + X[:, 1])
    return X, 2 * X[:, 0] + noise, rng


@pytest.mark.parametrize("alpha", [0.5, 0.2, [0.1, 0.5, 0.9]])
def test_quantile_regression_matches_xgboost(alpha):
    X, y, _ = _binned_exactly(2000, 0)
    Xt, yt, _ = _binned_exactly(1000, 1)
    params = dict(objective="reg:quantileerror", quantile_alpha=alpha, n_estimators=20)
    ours = NewtonBoostingRegressor(**params, max_depth=4)
    ref = xgb.XGBRegressor(**params, max_depth=4, max_bin=255)
    ours.fit(X, y, eval_set=[(Xt, yt)])
    ref.fit(X, y, eval_set=[(Xt, yt)], verbose=False)
    got, want = ours.predict(Xt), ref.predict(Xt)
    assert got.shape == want.shape == ((1000,) if np.ndim(alpha) == 0 else (1000, 3))
    np.testing.assert_allclose(got, want, atol=1e-5)
    np.testing.assert_allclose(
        ours.evals_result()["validation_0"]["quantile"],
        ref.evals_result()["validation_0"]["quantile"],
        rtol=1e-6,
    )
    # the share of targets below each predicted quantile is near its alpha
    covered = np.mean(yt[:, None] <= got.reshape(1000, -1), axis=0)
    np.testing.assert_allclose(covered, np.atleast_1d(alpha), atol=0.05)


def test_quantile_start_is_xgboosts_weighted_quantile():
    X, y, rng = _binned_exactly(300, 2)
    w = rng.rand(300)
    params = dict(objective="reg:quantileerror", quantile_alpha=[0.25, 0.75], n_estimators=1)
    ours = NewtonBoostingRegressor(**params, learning_rate=1e-9).fit(X, y, sample_weight=w)
    ref = xgb.XGBRegressor(**params, learning_rate=1e-9, max_bin=255).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(ours.predict(X[:5]), ref.predict(X[:5]), rtol=1e-6)


def test_quantile_alpha_outside_zero_one_is_refused_naming_it():
    X, y, _ = _binned_exactly(50, 3)
    for alpha in ([0.5, 1.2], []):
        model = NewtonBoostingRegressor(objective="reg:quantileerror", quantile_alpha=alpha)
        with pytest.raises(ValueError, match="quantile_alpha"):
            model.fit(X, y)


@pytest.mark.parametrize("objective", ["reg:squarederror", "reg:absoluteerror"])
def test_two_dimensional_y_grows_one_tree_per_target_like_xgboost(objective, tmp_path):
    X, y, rng = _binned_exactly(1000, 4)
    Y = np.column_stack([y, 2 * X[:, 2] + rng.randn(1000), -y])
    Xt, yt, _ = _binned_exactly(400, 5)
    Yt = np.column_stack([yt, 2 * Xt[:, 2], -yt])
    params = dict(objective=objective, n_estimators=10, max_depth=4)
    ours = NewtonBoostingRegressor(**params).fit(X, Y, eval_set=[(Xt, Yt)])
    ref = xgb.XGBRegressor(**params, max_bin=255).fit(X, Y, eval_set=[(Xt, Yt)], verbose=False)
    assert ours.n_outputs_ == 3 and len(ours.apply(X[:1])[0]) == 30 == len(
        ref.get_booster().get_dump()
    )
    np.testing.assert_allclose(ours.predict(Xt), ref.predict(Xt), atol=1e-5)
    metric = "rmse" if objective == "reg:squarederror" else "mae"
    np.testing.assert_allclose(
        ours.evals_result()["validation_0"][metric],
        ref.evals_result()["validation_0"][metric],
        rtol=1e-6,
    )
    # each target's model is the single-target model of that column
    single = NewtonBoostingRegressor(**params).fit(X, Y[:, 1])
    np.testing.assert_allclose(ours.predict(Xt)[:, 1], single.predict(Xt), atol=1e-12)
    ours.save_model(tmp_path / "m.json")
    loaded = NewtonBoostingRegressor().load_model(tmp_path / "m.json")
    np.testing.assert_array_equal(loaded.predict(Xt), ours.predict(Xt))
