"""The Dask booster on a LocalCluster against the local booster: the same trees.

One cluster (2 worker processes, 1 thread each) serves the module; it starts and stops here.
"""

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from skextras.ensemble import (
    ExtraTreesRegressor,
    NewtonBoostingClassifier,
    NewtonBoostingRegressor,
    RandomForestClassifier,
)

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")

from skextras.ensemble.dask import (  # noqa: E402
    DaskNewtonBoostingClassifier,
    DaskNewtonBoostingRegressor,
    _import_distributed,
)

PARAMS = dict(n_estimators=4, max_depth=4, n_jobs=1, random_state=0)
# Uneven partitions, two of them empty: 2 000 rows.
CHUNKS = (0, 300, 900, 0, 500, 300)


def _cluster(n_workers=2):
    return distributed.LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
    )


@pytest.fixture(scope="module")
def client():
    with _cluster() as cluster, distributed.Client(cluster) as c:
        yield c


def _data(task, seed=0, n=2000):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 6))
    X[:, 5] = rng.randint(0, 4, n)  # few distinct values: one bin each
    X[rng.random_sample(X.shape) < 0.1] = np.nan
    signal = np.nan_to_num(X[:, 0]) + np.sin(np.nan_to_num(X[:, 1])) + 0.3 * np.nan_to_num(X[:, 5])
    if task == "regression":
        y = signal + rng.normal(scale=0.3, size=n)
    elif task == "binary":
        y = np.where(signal + rng.normal(size=n) > 0.5, "yes", "no")
    else:
        y = np.digitize(signal + rng.normal(scale=0.5, size=n), [-0.5, 0.5, 1.5])
    w = rng.uniform(0.2, 2.0, n)
    w[rng.random_sample(n) < 0.05] = 0.0  # rows that must not move the bin edges
    return X, y, w


def _dask(*arrays):
    return [None if a is None else da.from_array(a, chunks=(CHUNKS, *a.shape[1:])) for a in arrays]


def _assert_same_trees(ours, local):
    assert len(ours._trees) == len(local._trees)
    for i, (a, b) in enumerate(zip(ours._trees, local._trees)):
        for name in ("feature", "bin_threshold", "missing_go_left", "left", "right", "n_samples"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=f"{i}")
        np.testing.assert_allclose(a.threshold, b.threshold, rtol=0, atol=0)
        np.testing.assert_allclose(a.value, b.value, rtol=0, atol=1e-6, err_msg=f"tree {i}")
        np.testing.assert_allclose(a.cover, b.cover, rtol=1e-9)
    np.testing.assert_allclose(ours._init_margin, local._init_margin, rtol=1e-12)


CASES = {
    "regression": (DaskNewtonBoostingRegressor, NewtonBoostingRegressor, {}),
    "binary": (DaskNewtonBoostingClassifier, NewtonBoostingClassifier, {}),
    "multiclass": (DaskNewtonBoostingClassifier, NewtonBoostingClassifier, {}),
    "binary_lossguide": (
        DaskNewtonBoostingClassifier,
        NewtonBoostingClassifier,
        dict(grow_policy="lossguide", max_leaves=7, colsample_bynode=0.6, scale_pos_weight=2.0),
    ),
}


# The default run covers each task once; --runslow adds the other weightings.
DEFAULT_RUN = {("regression", True), ("multiclass", False), ("binary_lossguide", True)}


@pytest.mark.parametrize(
    "case, weighted",
    [
        pytest.param(
            case,
            weighted,
            id=f"{case}-{'weighted' if weighted else 'unweighted'}",
            marks=() if (case, weighted) in DEFAULT_RUN else pytest.mark.slow,
        )
        for case in CASES
        for weighted in (False, True)
    ],
)
def test_trees_equal_local_booster_with_missing_values_and_uneven_partitions(
    client, case, weighted
):
    dask_cls, local_cls, extra = CASES[case]
    X, y, w = _data(case.split("_")[0])
    w = w if weighted else None
    params = {**PARAMS, **extra}
    local = local_cls(**params).fit(X, y, sample_weight=w)
    ours = dask_cls(**params, client=client).fit(*_dask(X, y, w))
    _assert_same_trees(ours, local)
    (Xd,) = _dask(X)
    if hasattr(local, "classes_"):
        np.testing.assert_array_equal(ours.predict(Xd).compute(), local.predict(X))
    else:
        np.testing.assert_allclose(ours.predict(Xd).compute(), local.predict(X), atol=1e-9)
    if hasattr(local, "predict_proba"):
        proba = ours.predict_proba(Xd)
        assert isinstance(proba, da.Array)
        np.testing.assert_allclose(proba.compute(), local.predict_proba(X), atol=1e-9)
        np.testing.assert_array_equal(ours.classes_, local.classes_)


def test_trees_equal_local_booster_when_max_bin_samples_rows(client, monkeypatch):
    """More rows than the bin sample (shrunk to 500 here): the same rows are drawn."""
    from skextras._engine import binning

    monkeypatch.setattr(binning.BinMapper.__init__, "__defaults__", (256, None, 500, None, None))
    X, y, _ = _data("regression")
    params = dict(PARAMS, n_estimators=2)
    local = NewtonBoostingRegressor(**params).fit(X, y)
    ours = DaskNewtonBoostingRegressor(**params, client=client).fit(*_dask(X, y))
    _assert_same_trees(ours, local)


@pytest.mark.parametrize("stopping", ["early_stopping_rounds", "n_iter_no_change"])
def test_eval_set_and_early_stopping_match_local_booster(client, stopping):
    X, y, _ = _data("binary")
    Xv, yv, _ = _data("binary", seed=1, n=400)
    params = dict(PARAMS, n_estimators=30, learning_rate=1.0, **{stopping: 3})
    local = NewtonBoostingClassifier(**params).fit(X, y, eval_set=[(Xv, yv)])
    ours = DaskNewtonBoostingClassifier(**params, client=client)
    ours.fit(*_dask(X, y), eval_set=[(da.from_array(Xv, chunks=200), yv)])
    assert ours.best_iteration_ == local.best_iteration_
    np.testing.assert_allclose(
        ours.evals_result_["validation_0"]["logloss"],
        local.evals_result_["validation_0"]["logloss"],
        rtol=1e-9,
    )


def test_to_local_and_save_model_give_the_same_model(client, tmp_path):
    X, y, _ = _data("regression")
    ours = DaskNewtonBoostingRegressor(**PARAMS, client=client).fit(*_dask(X, y))
    local = ours.to_local()
    assert type(local) is NewtonBoostingRegressor
    assert local.get_params() == {k: v for k, v in ours.get_params().items() if k != "client"}
    path = tmp_path / "model.json"
    ours.save_model(path)
    loaded = NewtonBoostingRegressor().load_model(path)
    again = DaskNewtonBoostingRegressor().load_model(path)
    (Xd,) = _dask(X)
    np.testing.assert_array_equal(loaded.predict(X), local.predict(X))
    np.testing.assert_array_equal(again.predict(Xd).compute(), local.predict(X))
    np.testing.assert_allclose(
        local.predict(X), NewtonBoostingRegressor(**PARAMS).fit(X, y).predict(X), atol=1e-9
    )


def test_dataframe_input_sets_feature_names(client):
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    X, y, _ = _data("regression")
    names = [f"f{j}" for j in range(X.shape[1])]
    frame = pd.DataFrame(X, columns=names)
    local = NewtonBoostingRegressor(**PARAMS).fit(frame, y)
    Xd = dd.from_pandas(frame, npartitions=3)
    yd = dd.from_pandas(pd.Series(y), npartitions=3)
    ours = DaskNewtonBoostingRegressor(**PARAMS, client=client).fit(Xd, yd)
    _assert_same_trees(ours, local)
    assert list(ours.feature_names_in_) == names
    np.testing.assert_allclose(ours.predict(Xd).compute(), local.predict(frame), atol=1e-9)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(subsample=0.5), "subsample=0.5"),
        (dict(objective="reg:absoluteerror"), "reg:absoluteerror"),
        (dict(objective="reg:pseudohubererror"), "reg:pseudohubererror"),
        (dict(n_iter_no_change=3), r"n_iter_no_change=3 without eval_set: .* pass fit\(eval_set"),
    ],
)
def test_unsupported_parameters_raise_naming_them(client, params, match):
    X, y, _ = _data("regression")
    with pytest.raises(ValueError, match=match):
        DaskNewtonBoostingRegressor(**params, client=client).fit(*_dask(X, y))


def test_bad_input_raises_naming_it(client):
    X, y, w = _data("regression")
    with pytest.raises(TypeError, match="X must be a dask array"):
        DaskNewtonBoostingRegressor(client=client).fit(X, y)
    Xd = da.from_array(X, chunks=(500, 6))
    bad_w = da.from_array(-w, chunks=500)
    with pytest.raises(ValueError, match="sample_weight has negative values"):
        DaskNewtonBoostingRegressor(client=client).fit(Xd, da.from_array(y, chunks=500), bad_w)
    with pytest.raises(ValueError, match="1 class"):
        DaskNewtonBoostingClassifier(client=client).fit(Xd, da.zeros(X.shape[0], chunks=500))


def test_missing_dask_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r'pip install "skextras\[dask\]"'):
        _import_distributed()


def test_import_skextras_does_not_import_dask():
    code = (
        "import sys, skextras, skextras.ensemble, skextras.ensemble.dask; "
        "assert not any(m.split('.')[0] in ('dask', 'distributed') for m in sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=os.environ)


@pytest.mark.slow  # about 70 s a case on the shared 2-core machine (joblib-dask start-up)
@pytest.mark.parametrize(
    "forest, task",
    [(RandomForestClassifier, "binary"), (ExtraTreesRegressor, "regression")],
)
@pytest.mark.parametrize("deep", [True, False], ids=["whole_tree_grower", "level_grower"])
def test_forest_under_joblib_dask_backend_grows_the_trees_of_one_job(client, forest, task, deep):
    """The forests' per-tree work runs as Dask tasks (seen in the task stream)."""
    import joblib

    X, y, _ = _data(task)
    # max_leaf_nodes sends the trees to the level-by-level grower
    params = dict(n_estimators=6, random_state=0, max_leaf_nodes=None if deep else 12)
    reference = forest(**params, n_jobs=1).fit(X, y)
    with distributed.get_task_stream(client) as stream, joblib.parallel_backend("dask"):
        ours = forest(**params, n_jobs=-1).fit(X, y)
    assert any("grow_trees" in str(t["key"]) or "batch" in str(t["key"]) for t in stream.data)
    for a, b in zip(ours.estimators_, reference.estimators_):
        a, b = getattr(a, "tree_", a), getattr(b, "tree_", b)
        for name in ("feature", "threshold", "left", "right", "value"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


@pytest.mark.slow
def test_killed_worker_during_fit_raises_not_a_different_model():
    X, y, _ = _data("regression", n=4000)
    Xd, yd = da.from_array(X, chunks=500), da.from_array(y, chunks=500)
    with _cluster() as cluster, distributed.Client(cluster) as c:
        pids = c.run(os.getpid)
        victim = sorted(pids)[-1]
        model = DaskNewtonBoostingRegressor(n_estimators=500, max_depth=6, n_jobs=1, client=c)

        def kill():
            time.sleep(3.0)
            os.kill(pids[victim], 9)

        threading.Thread(target=kill, daemon=True).start()
        with pytest.raises(RuntimeError, match="lost during fit"):
            model.fit(Xd, yd)
        assert not hasattr(model, "_trees")
