"""NewtonBoosting{Classifier,Regressor}: scikit-learn conformance and agreement with XGBoost.

XGBoost's ``max_bin`` counts non-missing bins only, ours includes the missing-value bin, so
``max_bin=256`` here is XGBoost's ``max_bin=255``: with that, both build identical bins on the
reference data and the models agree to float32 rounding.
"""

import numpy as np
import pytest
import scipy.sparse as sp
import xgboost as xgb
from sklearn.exceptions import NotFittedError
from sklearn.metrics import log_loss, mean_squared_error, roc_auc_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from skextras.ensemble import NewtonBoostingClassifier, NewtonBoostingRegressor


def _load(shared_data, name):
    folder = {
        "binary": "binary_classification",
        "regression": "regression",
        "multiclass": "multiclass_classification",
    }[name]
    train = np.loadtxt(shared_data / "lightgbm" / folder / f"{name}.train")
    test = np.loadtxt(shared_data / "lightgbm" / folder / f"{name}.test")
    return train[:, 1:], train[:, 0], test[:, 1:], test[:, 0]


def _mostly_equal(ours, ref, atol=1e-4, fraction=0.98):
    """Nearly all rows agree: over many rounds XGBoost's float32 gradients flip a rare tie."""
    diff = np.abs(np.asarray(ours) - np.asarray(ref)).reshape(len(ours), -1).max(axis=1)
    assert np.mean(diff < atol) >= fraction


def _xgb_params(params):
    out = dict(params, tree_method="hist", max_bin=params.get("max_bin", 256) - 1)
    return out


@parametrize_with_checks(
    [NewtonBoostingClassifier(n_estimators=10), NewtonBoostingRegressor(n_estimators=10)]
)
def test_sklearn_estimator_checks_pass(estimator, check):
    check(estimator)


# ------------------------------------------------------------------------------------------
# agreement with xgboost on the LightGBM reference data


@pytest.mark.parametrize("n_estimators", [5, pytest.param(100, marks=pytest.mark.slow)])
def test_binary_auc_matches_xgboost(shared_data, n_estimators):
    X, y, Xt, yt = _load(shared_data, "binary")
    params = dict(n_estimators=n_estimators, learning_rate=0.1, max_depth=6)
    ours = NewtonBoostingClassifier(**params).fit(X, y)
    ref = xgb.XGBClassifier(**_xgb_params(params)).fit(X, y)
    auc = roc_auc_score(yt, ours.predict_proba(Xt)[:, 1])
    auc_ref = roc_auc_score(yt, ref.predict_proba(Xt)[:, 1])
    assert abs(auc - auc_ref) <= 0.002
    _mostly_equal(ours.predict_proba(Xt), ref.predict_proba(Xt))


@pytest.mark.parametrize("n_estimators", [5, pytest.param(100, marks=pytest.mark.slow)])
def test_regression_rmse_matches_xgboost(shared_data, n_estimators):
    X, y, Xt, yt = _load(shared_data, "regression")
    params = dict(n_estimators=n_estimators, learning_rate=0.1, max_depth=6)
    ours = NewtonBoostingRegressor(**params).fit(X, y)
    ref = xgb.XGBRegressor(**_xgb_params(params)).fit(X, y)
    rmse = np.sqrt(mean_squared_error(yt, ours.predict(Xt)))
    rmse_ref = np.sqrt(mean_squared_error(yt, ref.predict(Xt)))
    assert abs(rmse - rmse_ref) <= 0.01 * rmse_ref
    _mostly_equal(ours.predict(Xt), ref.predict(Xt))


@pytest.mark.parametrize("n_estimators", [3, pytest.param(50, marks=pytest.mark.slow)])
def test_multiclass_logloss_matches_xgboost(shared_data, n_estimators):
    X, y, Xt, yt = _load(shared_data, "multiclass")
    params = dict(n_estimators=n_estimators, learning_rate=0.1, max_depth=4, base_score=0.5)
    ours = NewtonBoostingClassifier(**params).fit(X, y)
    ref = xgb.XGBClassifier(**_xgb_params(params)).fit(X, y)
    loss = log_loss(yt, ours.predict_proba(Xt))
    loss_ref = log_loss(yt, ref.predict_proba(Xt))
    assert abs(loss - loss_ref) <= 0.005
    _mostly_equal(ours.predict_proba(Xt), ref.predict_proba(Xt))


@pytest.mark.parametrize(
    "extra",
    [
        dict(gamma=5.0),
        dict(reg_alpha=20.0),
        dict(reg_lambda=0.0, max_delta_step=0.2),
        dict(min_child_weight=50.0),
        dict(grow_policy="lossguide", max_leaves=10, max_depth=0),
        dict(monotone_constraints=(1, 0, -1, 0, 0, 1) + (0,) * 22),
        dict(interaction_constraints=[[0, 1, 2], [3, 4, 5, 6]]),
    ],
)
def test_regularisation_and_constraints_match_xgboost(shared_data, extra):
    X, y, Xt, _ = _load(shared_data, "regression")
    params = dict(dict(n_estimators=3, learning_rate=0.5, max_depth=4, base_score=0.5), **extra)
    ours = NewtonBoostingRegressor(**params).fit(X, y)
    xgb_params = _xgb_params(params)
    if "interaction_constraints" in extra:
        xgb_params["interaction_constraints"] = str(extra["interaction_constraints"])
    ref = xgb.XGBRegressor(**xgb_params).fit(X, y)
    np.testing.assert_allclose(ours.predict(Xt), ref.predict(Xt), atol=1e-4)


def test_gamma_prunes_all_splits_when_larger_than_every_gain(shared_data):
    X, y, _, _ = _load(shared_data, "regression")
    model = NewtonBoostingRegressor(n_estimators=1, gamma=1e9).fit(X, y)
    assert model._trees[0].n_nodes == 1
    np.testing.assert_allclose(model.predict(X[:5]), y.mean())


def test_missing_values_default_direction_matches_xgboost(shared_data):
    X, y, Xt, _ = _load(shared_data, "binary")
    rng = np.random.RandomState(0)
    X = X.copy()
    X[rng.rand(*X.shape) < 0.2] = np.nan
    Xt = Xt.copy()
    Xt[rng.rand(*Xt.shape) < 0.5] = np.nan
    params = dict(n_estimators=5, learning_rate=0.3, max_depth=4, base_score=0.5)
    ours = NewtonBoostingClassifier(**params).fit(X, y)
    ref = xgb.XGBClassifier(**_xgb_params(params)).fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(Xt), ref.predict_proba(Xt), atol=1e-5)


@pytest.mark.parametrize(
    "objective",
    ["count:poisson", "reg:gamma", "reg:tweedie", "reg:pseudohubererror", "reg:absoluteerror"],
)
def test_objectives_match_xgboost(shared_data, objective):
    X, y, Xt, _ = _load(shared_data, "regression")
    params = dict(
        n_estimators=4, learning_rate=0.3, max_depth=3, base_score=1.0, objective=objective
    )
    ours = NewtonBoostingRegressor(**params).fit(X, y + 0.1)
    ref = xgb.XGBRegressor(**_xgb_params(params)).fit(X, y + 0.1)
    np.testing.assert_allclose(ours.predict(Xt), ref.predict(Xt), rtol=1e-4)


def test_sample_weight_and_scale_pos_weight_match_xgboost(shared_data):
    X, y, Xt, _ = _load(shared_data, "binary")
    w = np.loadtxt(shared_data / "lightgbm" / "binary_classification" / "binary.train.weight")
    params = dict(
        n_estimators=3, learning_rate=0.3, max_depth=3, base_score=0.5, scale_pos_weight=2.0
    )
    ours = NewtonBoostingClassifier(**params).fit(X, y, sample_weight=w)
    ref = xgb.XGBClassifier(**_xgb_params(params)).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(ours.predict_proba(Xt), ref.predict_proba(Xt), atol=1e-4)


def test_eval_metric_history_and_early_stopping_match_xgboost(shared_data):
    X, y, Xt, yt = _load(shared_data, "binary")
    params = dict(
        n_estimators=40,
        learning_rate=0.5,
        max_depth=6,
        base_score=0.5,
        early_stopping_rounds=3,
        eval_metric="logloss",
    )
    ours = NewtonBoostingClassifier(**params).fit(X, y, eval_set=[(Xt, yt)])
    ref = xgb.XGBClassifier(**_xgb_params(params)).fit(X, y, eval_set=[(Xt, yt)], verbose=False)
    np.testing.assert_allclose(
        ours.evals_result_["validation_0"]["logloss"],
        ref.evals_result()["validation_0"]["logloss"],
        atol=1e-5,
    )
    assert ours.best_iteration_ == ref.best_iteration
    np.testing.assert_allclose(ours.predict_proba(Xt), ref.predict_proba(Xt), atol=1e-4)


@pytest.mark.parametrize(
    "importance_type", ["weight", "gain", "total_gain", "cover", "total_cover"]
)
def test_feature_importances_match_xgboost(shared_data, importance_type):
    X, y, _, _ = _load(shared_data, "regression")
    params = dict(n_estimators=3, max_depth=3, base_score=0.5, importance_type=importance_type)
    ours = NewtonBoostingRegressor(**params).fit(X, y)
    ref = xgb.XGBRegressor(**_xgb_params(params)).fit(X, y)
    np.testing.assert_allclose(ours.feature_importances_, ref.feature_importances_, atol=1e-5)


def test_default_base_score_is_optimal_constant():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 3))
    y = rng.rand(200) < 0.3
    clf = NewtonBoostingClassifier(n_estimators=1, gamma=1e9).fit(X, y)
    np.testing.assert_allclose(clf.predict_proba(X)[:, 1], y.mean())
    reg = NewtonBoostingRegressor(n_estimators=1, gamma=1e9, objective="count:poisson")
    counts = rng.poisson(3.0, size=200)
    np.testing.assert_allclose(reg.fit(X, counts).predict(X), counts.mean())


# ------------------------------------------------------------------------------------------
# API behaviour


def test_custom_objective_equals_builtin_squared_error():
    rng = np.random.RandomState(1)
    X = rng.normal(size=(300, 4))
    y = X[:, 0] - 2 * X[:, 1] + rng.normal(size=300)

    def squared(y_true, raw):
        return raw - y_true, np.ones_like(raw)

    builtin = NewtonBoostingRegressor(n_estimators=5, base_score=0.0).fit(X, y)
    custom = NewtonBoostingRegressor(n_estimators=5, objective=squared).fit(X, y)
    np.testing.assert_allclose(custom.predict(X), builtin.predict(X), atol=1e-12)


def test_save_load_json_round_trip_identical(tmp_path):
    rng = np.random.RandomState(2)
    X = rng.normal(size=(300, 5))
    X[rng.rand(300, 5) < 0.1] = np.nan
    y = np.where(X[:, 0] > 0, "yes", np.where(X[:, 1] > 0, "no", "maybe"))
    clf = NewtonBoostingClassifier(n_estimators=5, max_depth=3).fit(X, y)
    path = tmp_path / "model.json"
    clf.save_model(path)
    text = path.read_text()
    assert '"estimator": "NewtonBoostingClassifier"' in text
    loaded = NewtonBoostingClassifier().load_model(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    assert loaded.get_params() == clf.get_params()


def test_deterministic_given_random_state():
    rng = np.random.RandomState(3)
    X = rng.normal(size=(400, 6))
    y = X[:, 0] + X[:, 1] * X[:, 2]
    kw = dict(
        n_estimators=5, subsample=0.7, colsample_bytree=0.8, colsample_bynode=0.7, random_state=7
    )
    a = NewtonBoostingRegressor(**kw).fit(X, y).predict(X)
    b = NewtonBoostingRegressor(**kw).fit(X, y).predict(X)
    c = NewtonBoostingRegressor(**{**kw, "random_state": 8}).fit(X, y).predict(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_staged_apply_sparse_and_decision_function_consistent():
    rng = np.random.RandomState(4)
    X = rng.normal(size=(300, 5))
    X[rng.rand(300, 5) < 0.6] = 0.0
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)
    clf = NewtonBoostingClassifier(n_estimators=4, max_depth=3).fit(X, y)
    staged = list(clf.staged_predict_proba(X))
    assert len(staged) == 4
    np.testing.assert_allclose(staged[-1], clf.predict_proba(X))
    np.testing.assert_array_equal(list(clf.staged_predict(X))[-1], clf.predict(X))
    assert clf.apply(X).shape == (300, 4 * 3)
    sparse = NewtonBoostingClassifier(n_estimators=4, max_depth=3).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(sparse.predict_proba(sp.csc_matrix(X)), clf.predict_proba(X))
    assert clf.decision_function(X).shape == (300, 3)


@pytest.mark.parametrize("Estimator", [NewtonBoostingClassifier, NewtonBoostingRegressor])
def test_bad_input_raises_clear_errors(Estimator):
    rng = np.random.RandomState(5)
    X = rng.normal(size=(50, 3))
    y = (X[:, 0] > 0).astype(float)
    with pytest.raises(NotFittedError):
        Estimator().predict(X)
    bad_y = y.copy()
    bad_y[3] = np.nan
    with pytest.raises(ValueError, match="y"):
        Estimator(n_estimators=2).fit(X, bad_y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        Estimator(n_estimators=2).fit(X, y[:-1])
    with pytest.raises(ValueError, match="sample_weight"):
        Estimator(n_estimators=2).fit(X, y, sample_weight=-np.ones(50))
    with pytest.raises(ValueError, match="objective"):
        Estimator(objective="reg:unknown").fit(X, y)
    strings = np.array([["a", "1.0", "2"]] * 50, dtype=object)
    with pytest.raises(ValueError, match="Encode string"):
        Estimator(n_estimators=2).fit(strings, y)
    fitted = Estimator(n_estimators=2).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        fitted.predict(X[:, :2])
    with pytest.raises(ValueError, match="early_stopping_rounds"):
        Estimator(early_stopping_rounds=2).fit(X, y)


def test_string_dataframe_column_named_in_error():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"num": [1.0, 2.0, 3.0, 4.0], "city": ["a", "b", "a", "c"]})
    with pytest.raises(ValueError, match="'city'"):
        NewtonBoostingRegressor(n_estimators=2).fit(df, [1.0, 2.0, 3.0, 4.0])


@pytest.mark.parametrize("dataset", ["regression", "multiclass"])
def test_pred_contribs_match_xgboost(shared_data, dataset):
    X, y, Xt, _ = _load(shared_data, dataset)
    params = dict(n_estimators=3, max_depth=4, base_score=0.5)
    Estimator = NewtonBoostingRegressor if dataset == "regression" else NewtonBoostingClassifier
    ours = Estimator(**params).fit(X, y)
    ref = (xgb.XGBRegressor if dataset == "regression" else xgb.XGBClassifier)(
        **_xgb_params(params)
    ).fit(X, y)
    phi = ours.predict(Xt[:100], pred_contribs=True)
    expected = ref.get_booster().predict(xgb.DMatrix(Xt[:100]), pred_contribs=True)
    np.testing.assert_allclose(phi, expected, atol=1e-5)
    margin = ours.decision_function(Xt[:100]) if dataset == "multiclass" else ours.predict(Xt[:100])
    np.testing.assert_allclose(phi.sum(axis=-1), margin, atol=1e-10)


def test_pandas_feature_names_in_constraints_and_saved_model(tmp_path):
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(6)
    df = pd.DataFrame(rng.normal(size=(400, 3)), columns=["age", "income", "noise"])
    y = df["age"] - df["income"] + 0.1 * rng.normal(size=400)
    model = NewtonBoostingRegressor(
        n_estimators=10,
        monotone_constraints={"age": 1, "income": -1},
        interaction_constraints=[["age"], ["income", "noise"]],
    ).fit(df, y, eval_set=[(df, y)])
    assert list(model.feature_names_in_) == ["age", "income", "noise"]
    grid = df.iloc[:50].copy()
    low, high = grid.copy(), grid.copy()
    low["age"], high["age"] = -1.0, 1.0
    assert np.all(model.predict(high) >= model.predict(low))
    path = tmp_path / "reg.json"
    model.save_model(path)
    loaded = NewtonBoostingRegressor().load_model(path)
    np.testing.assert_array_equal(loaded.predict(df), model.predict(df))
    assert list(loaded.feature_names_in_) == ["age", "income", "noise"]
    assert loaded.evals_result_ == model.evals_result_
    with pytest.raises(ValueError, match="unknown feature name"):
        NewtonBoostingRegressor(monotone_constraints={"height": 1}).fit(df, y)


def test_thread_count_does_not_change_the_model():
    rng = np.random.RandomState(9)
    X = rng.normal(size=(60_000, 5))
    X[rng.rand(60_000, 5) < 0.05] = np.nan
    y = (np.nan_to_num(X[:, 0]) + X[:, 1] ** 2 + rng.normal(size=60_000) > 1).astype(int)
    kw = dict(n_estimators=3, max_depth=4, random_state=0)
    one = NewtonBoostingClassifier(n_jobs=1, **kw).fit(X, y)
    two = NewtonBoostingClassifier(n_jobs=2, **kw).fit(X, y)
    np.testing.assert_array_equal(one.predict_proba(X), two.predict_proba(X))
    np.testing.assert_array_equal(one.apply(X), two.apply(X))
    np.testing.assert_array_equal(
        one.predict(X[:500], pred_contribs=True), two.predict(X[:500], pred_contribs=True)
    )


def test_metric_list_and_maximised_auc_early_stopping_match_xgboost(shared_data):
    X, y, Xt, yt = _load(shared_data, "binary")
    params = dict(
        n_estimators=30,
        learning_rate=0.8,
        max_depth=6,
        base_score=0.5,
        early_stopping_rounds=4,
        eval_metric=["error", "auc"],
    )
    ours = NewtonBoostingClassifier(**params).fit(X, y, eval_set=[(X, y), (Xt, yt)])
    ref = xgb.XGBClassifier(**_xgb_params(params)).fit(
        X, y, eval_set=[(X, y), (Xt, yt)], verbose=False
    )
    for name in ("validation_0", "validation_1"):
        for metric in ("error", "auc"):
            np.testing.assert_allclose(
                ours.evals_result_[name][metric], ref.evals_result()[name][metric], atol=1e-5
            )
    assert ours.best_iteration_ == ref.best_iteration


@pytest.mark.parametrize(
    "objective, metrics",
    [
        ("count:poisson", ["poisson-nloglik"]),
        ("reg:gamma", ["gamma-nloglik"]),
        ("reg:tweedie", ["tweedie-nloglik@1.5"]),
        ("reg:squarederror", ["rmse", "mae", "mape", "rmsle", "mphe"]),
    ],
)
def test_regression_eval_metrics_match_xgboost(shared_data, objective, metrics):
    X, y, Xt, yt = _load(shared_data, "regression")
    params = dict(
        n_estimators=3, max_depth=3, base_score=1.0, objective=objective, eval_metric=metrics
    )
    ours = NewtonBoostingRegressor(**params).fit(X, y + 0.1, eval_set=[(Xt, yt + 0.1)])
    ref = xgb.XGBRegressor(**_xgb_params(params)).fit(
        X, y + 0.1, eval_set=[(Xt, yt + 0.1)], verbose=False
    )
    for metric in metrics:
        np.testing.assert_allclose(
            ours.evals_result_["validation_0"][metric],
            ref.evals_result()["validation_0"][metric],
            rtol=1e-5,
        )


def _early_stopping_data(Estimator):
    rng = np.random.RandomState(11)
    X = rng.normal(size=(400, 5))
    signal = X[:, 0] + X[:, 1] * X[:, 2]
    if Estimator is NewtonBoostingClassifier:
        # three imbalanced classes with label noise, so the held-out loss turns up
        y = np.digitize(signal + rng.normal(scale=1.0, size=400), [0.8, 1.8])
    else:
        y = signal + rng.normal(scale=1.0, size=400)
    return X, y, rng.uniform(0.5, 2.0, size=400)


_STOPPING = dict(n_estimators=150, learning_rate=0.5, max_depth=4, subsample=0.8, random_state=3)


@pytest.mark.parametrize("Estimator", [NewtonBoostingClassifier, NewtonBoostingRegressor])
def test_n_iter_no_change_equals_the_same_split_passed_as_eval_set(Estimator):
    from sklearn.model_selection import train_test_split

    X, y, w = _early_stopping_data(Estimator)
    inner = Estimator(n_iter_no_change=4, validation_fraction=0.25, **_STOPPING)
    inner.fit(X, y, sample_weight=w)
    stratify = y if Estimator is NewtonBoostingClassifier else None
    X_tr, X_va, y_tr, y_va, w_tr, w_va = train_test_split(
        X, y, w, test_size=0.25, stratify=stratify, random_state=3
    )
    by_hand = Estimator(early_stopping_rounds=4, **_STOPPING)
    by_hand.fit(X_tr, y_tr, sample_weight=w_tr, eval_set=[(X_va, y_va)],
                sample_weight_eval_set=[w_va])  # fmt: skip
    assert inner.n_estimators_ < 150, "the held-out score should stop the boosting"
    assert inner.best_iteration_ == by_hand.best_iteration_
    assert inner.n_estimators_ == by_hand.n_estimators_
    assert inner.evals_result_ == by_hand.evals_result_
    assert inner.best_score_ == by_hand.best_score_
    np.testing.assert_array_equal(inner.apply(X), by_hand.apply(X))
    np.testing.assert_array_equal(inner.predict(X), by_hand.predict(X))


def test_n_iter_no_change_split_is_stratified_by_class():
    from sklearn.model_selection import train_test_split

    X, y, _ = _early_stopping_data(NewtonBoostingClassifier)
    inner = NewtonBoostingClassifier(n_iter_no_change=4, validation_fraction=0.25, **_STOPPING)
    inner.fit(X, y)
    scores = {}
    for stratify in (y, None):
        X_tr, X_va, y_tr, y_va = train_test_split(
            X, y, test_size=0.25, stratify=stratify, random_state=3
        )
        model = NewtonBoostingClassifier(early_stopping_rounds=4, **_STOPPING)
        scores[stratify is None] = model.fit(X_tr, y_tr, eval_set=[(X_va, y_va)]).evals_result_
    assert inner.evals_result_ == scores[False]
    assert inner.evals_result_ != scores[True]


@pytest.mark.parametrize("Estimator", [NewtonBoostingClassifier, NewtonBoostingRegressor])
def test_n_iter_no_change_is_deterministic_given_random_state(Estimator):
    X, y, _ = _early_stopping_data(Estimator)
    kw = {**_STOPPING, "n_iter_no_change": 4}
    a = Estimator(**kw).fit(X, y)
    b = Estimator(**kw).fit(X, y)
    c = Estimator(**{**kw, "random_state": 4}).fit(X, y)
    assert a.evals_result_ == b.evals_result_ and a.best_iteration_ == b.best_iteration_
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    assert a.evals_result_ != c.evals_result_


def test_n_iter_no_change_with_eval_set_acts_as_early_stopping_rounds():
    X, y, _ = _early_stopping_data(NewtonBoostingRegressor)
    eval_set = [(X[300:], y[300:])]
    a = NewtonBoostingRegressor(n_iter_no_change=4, **_STOPPING).fit(X[:300], y[:300],
                                                                    eval_set=eval_set)  # fmt: skip
    b = NewtonBoostingRegressor(early_stopping_rounds=4, **_STOPPING).fit(
        X[:300], y[:300], eval_set=eval_set
    )
    assert a.evals_result_ == b.evals_result_ and a.best_iteration_ == b.best_iteration_


def test_n_iter_no_change_stops_inside_a_pipeline():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y, _ = _early_stopping_data(NewtonBoostingClassifier)
    pipe = make_pipeline(
        StandardScaler(), NewtonBoostingClassifier(n_iter_no_change=4, **_STOPPING)
    )
    pipe.fit(X, y)
    booster = pipe[-1]
    assert booster.n_estimators_ < 150
    assert len(booster.evals_result_["validation_0"]["mlogloss"]) == booster.n_estimators_
    assert pipe.score(X, y) > 0.5


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_iter_no_change": 0}, "'n_iter_no_change' parameter"),
        ({"n_iter_no_change": 2.5}, "'n_iter_no_change' parameter"),
        ({"n_iter_no_change": 2, "validation_fraction": 0.0}, "'validation_fraction' parameter"),
        ({"n_iter_no_change": 2, "validation_fraction": 1.5}, "'validation_fraction' parameter"),
        ({"n_iter_no_change": 2, "validation_fraction": 400}, r"validation_fraction=400 cannot"),
        ({"n_iter_no_change": 2, "early_stopping_rounds": 3}, "disagree; give one of them"),
    ],
)
@pytest.mark.parametrize("Estimator", [NewtonBoostingClassifier, NewtonBoostingRegressor])
def test_n_iter_no_change_bad_parameters_raise_naming_them(Estimator, params, match):
    X, y, _ = _early_stopping_data(Estimator)
    with pytest.raises(ValueError, match=match):
        Estimator(n_estimators=2, **params).fit(X, y)


@pytest.mark.parametrize(
    ("eval_X", "match"),
    [
        (np.array([["a", "1.0", "2", "3", "4"]] * 10, dtype=object), r"eval_set\[0\]: X: "),
        (np.zeros((10, 3)), r"eval_set\[0\]: X: X has 3 features"),
    ],
)
def test_eval_set_that_fails_validation_names_eval_set(eval_X, match):
    X, y, _ = _early_stopping_data(NewtonBoostingRegressor)
    with pytest.raises(ValueError, match=match):
        NewtonBoostingRegressor(n_estimators=2).fit(X, y, eval_set=[(eval_X, np.zeros(10))])
    with pytest.raises(ValueError, match=r"eval_set\[0\] must be an \(X, y\) pair"):
        NewtonBoostingRegressor(n_estimators=2).fit(X, y, eval_set=[X])
