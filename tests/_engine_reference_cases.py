"""The case matrix of the engine's bit-identity test, and the generator of its reference file.

``tests/data/engine/reference_trees.npz`` holds, for every case, the arrays of every tree an
estimator grew and its predictions, as the code of commit ``ae7497e`` (before the engine's
consolidation) computed them. ``tests/test_engine_reference.py`` refits each case with the
current code and asserts the arrays are equal to the last bit. To regenerate from that commit::

    git worktree add /tmp/engine_ref ae7497e
    cp tests/_engine_reference_cases.py /tmp/engine_ref/tests/
    cd /tmp/engine_ref && PYTHONPATH=$PWD python tests/_engine_reference_cases.py OUT.npz

(only an intended change of the trees may regenerate it from the current code.)
"""

import sys

import numpy as np

N_ROWS, N_FEATURES = 400, 6


def _data(kind, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(N_ROWS, N_FEATURES))
    X[:, 2] = np.round(X[:, 2] * 2)  # few distinct values: ties and empty bins
    score = X[:, 0] - 0.7 * X[:, 1] + 0.5 * X[:, 2] * X[:, 3] + 0.3 * rng.normal(size=N_ROWS)
    if kind == "binary":
        y = (score > 0).astype(np.int64)
    elif kind == "multiclass":
        y = np.digitize(score, [-0.7, 0.7])
    else:
        y = score
    return X, y


def _with_missing(X, seed=1):
    X = X.copy()
    rng = np.random.RandomState(seed)
    X[rng.random_sample(X.shape) < 0.1] = np.nan
    return X


def _weights(seed=2):
    return np.random.RandomState(seed).uniform(0.2, 3.0, size=N_ROWS)


# name -> (estimator class name, constructor kwargs, data kind, missing values, sample weights)
CASES = {}


def _case(name, cls, kwargs, kind="binary", missing=False, weighted=False):
    CASES[name] = (cls, kwargs, kind, missing, weighted)


_NB = dict(n_estimators=6, random_state=0)
for n_jobs in (1, 2):
    _case(f"newton_default_j{n_jobs}", "NewtonBoostingClassifier", dict(_NB, n_jobs=n_jobs))
    _case(
        f"newton_missing_weighted_j{n_jobs}",
        "NewtonBoostingClassifier",
        dict(_NB, n_jobs=n_jobs),
        missing=True,
        weighted=True,
    )
    _case(
        f"newton_sampled_j{n_jobs}",
        "NewtonBoostingClassifier",
        dict(
            _NB,
            subsample=0.7,
            colsample_bytree=0.8,
            colsample_bylevel=0.7,
            colsample_bynode=0.8,
            n_jobs=n_jobs,
        ),  # fmt: skip
        missing=True,
    )
    _case(
        f"newton_constraints_j{n_jobs}",
        "NewtonBoostingRegressor",
        dict(
            _NB,
            monotone_constraints=[1, -1, 0, 0, 0, 0],
            interaction_constraints=[[0, 1], [2, 3, 4]],
            n_jobs=n_jobs,
        ),  # fmt: skip
        kind="regression",
    )
    _case(
        f"newton_lossguide_j{n_jobs}",
        "NewtonBoostingClassifier",
        dict(_NB, grow_policy="lossguide", max_leaves=9, max_depth=0, n_jobs=n_jobs),
        missing=True,
    )
    _case(
        f"newton_multiclass_j{n_jobs}",
        "NewtonBoostingClassifier",
        dict(_NB, n_jobs=n_jobs),
        kind="multiclass",
        weighted=True,
    )
    _case(
        f"newton_l1_clip_j{n_jobs}",
        "NewtonBoostingRegressor",
        dict(
            _NB,
            reg_alpha=0.5,
            max_delta_step=0.3,
            gamma=0.1,
            min_child_weight=2.0,
            max_depth=10,
            n_jobs=n_jobs,
        ),  # fmt: skip
        kind="regression",
        missing=True,
    )
    _case(
        f"gb_binary_j{n_jobs}",
        "GradientBoostingClassifier",
        dict(n_estimators=5, subsample=0.8, max_features=4, random_state=0, n_jobs=n_jobs),
        missing=True,
        weighted=True,
    )
    _case(
        f"gb_multiclass_j{n_jobs}",
        "GradientBoostingClassifier",
        dict(n_estimators=4, max_leaf_nodes=6, random_state=0, n_jobs=n_jobs),
        kind="multiclass",
    )
    _case(
        f"gb_regression_cst_j{n_jobs}",
        "GradientBoostingRegressor",
        dict(
            n_estimators=5,
            monotonic_cst=[1, 0, 0, 0, 0, -1],
            interaction_cst=[[0, 1, 2], [3, 4, 5]],
            random_state=0,
            n_jobs=n_jobs,
        ),  # fmt: skip
        kind="regression",
    )
    _case(
        f"forest_missing_weighted_j{n_jobs}",
        "RandomForestClassifier",
        dict(n_estimators=5, random_state=0, n_jobs=n_jobs),
        missing=True,
        weighted=True,
    )
    _case(
        f"forest_entropy_multiclass_j{n_jobs}",
        "RandomForestClassifier",
        dict(
            n_estimators=4,
            criterion="entropy",
            max_samples=0.6,
            min_samples_leaf=2,
            random_state=0,
            n_jobs=n_jobs,
        ),  # fmt: skip
        kind="multiclass",
    )
    _case(
        f"forest_regression_j{n_jobs}",
        "RandomForestRegressor",
        dict(n_estimators=4, max_features=0.5, random_state=0, n_jobs=n_jobs),
        kind="regression",
        missing=True,
    )
    _case(
        f"forest_leaf_budget_monotone_j{n_jobs}",
        "RandomForestRegressor",
        dict(
            n_estimators=3,
            max_leaf_nodes=12,
            monotonic_cst=[1, 0, 0, 0, 0, 0],
            random_state=0,
            n_jobs=n_jobs,
        ),  # fmt: skip
        kind="regression",
    )
    _case(
        f"extra_trees_j{n_jobs}",
        "ExtraTreesClassifier",
        dict(n_estimators=4, random_state=0, n_jobs=n_jobs),
        missing=True,
        weighted=True,
    )
    _case(
        f"extra_trees_regression_j{n_jobs}",
        "ExtraTreesRegressor",
        dict(n_estimators=4, max_depth=6, random_state=0, n_jobs=n_jobs),
        kind="regression",
    )
_case("adaboost", "AdaBoostClassifier", dict(n_estimators=6, random_state=0), weighted=True)
_case("adaboost_multiclass", "AdaBoostClassifier", dict(n_estimators=5, random_state=0),
      kind="multiclass", missing=True)  # fmt: skip
_case("adaboost_regression", "AdaBoostRegressor", dict(n_estimators=5, random_state=0),
      kind="regression")  # fmt: skip
_case("hist_tree", "HistTreeClassifier", dict(max_depth=7, random_state=0), missing=True)
_case("hist_tree_max_features", "HistTreeRegressor",
      dict(max_features=3, max_leaf_nodes=20, random_state=0),
      kind="regression", weighted=True)  # fmt: skip
_case("hist_tree_impurity", "HistTreeClassifier",
      dict(min_impurity_decrease=0.01, criterion="entropy", random_state=0),
      kind="multiclass")  # fmt: skip


def _trees(obj, out, seen):
    """Every engine ``Tree`` reachable from ``obj``'s attributes, in a fixed order."""
    from skextras._engine.tree import Tree

    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, Tree):
        # a scikit-learn view of a tree (ensemble/_sklearn_tree.py) shares its arrays: one tree
        if id(obj.left) not in seen:
            seen.add(id(obj.left))
            out.append(obj)
    elif isinstance(obj, list | tuple):
        for item in obj:
            _trees(item, out, seen)
    elif isinstance(obj, np.ndarray) and obj.dtype == object:
        for item in obj.ravel():
            _trees(item, out, seen)
    elif isinstance(obj, dict):
        for key in sorted(obj, key=str):
            _trees(obj[key], out, seen)
    elif hasattr(obj, "get_params") and hasattr(obj, "__dict__"):
        for key in sorted(vars(obj)):
            if key.endswith("_") or key.startswith("_"):
                _trees(vars(obj)[key], out, seen)


def run_case(name):
    """{array name: array} of case ``name``: its trees' arrays and its predictions."""
    import skextras.ensemble as ensemble

    cls, kwargs, kind, missing, weighted = CASES[name]
    X, y = _data(kind)
    if missing:
        X = _with_missing(X)
    model = getattr(ensemble, cls)(**kwargs)
    fit_kwargs = {"sample_weight": _weights()} if weighted else {}
    model.fit(X, y, **fit_kwargs)
    X_test = _with_missing(_data(kind, seed=5)[0], seed=6)
    out = {"predict": np.asarray(model.predict(X_test))}
    if hasattr(model, "predict_proba"):
        out["predict_proba"] = model.predict_proba(X_test)
    trees = []
    _trees(model, trees, set())
    out["n_trees"] = np.array(len(trees))
    for i, tree in enumerate(trees):
        for key in tree.to_dict():
            out[f"tree{i}.{key}"] = np.asarray(getattr(tree, key))
    return out


def main(path):
    arrays = {}
    for name in CASES:
        for key, value in run_case(name).items():
            arrays[f"{name}/{key}"] = value
        print(name, flush=True)
    np.savez_compressed(path, **arrays)


if __name__ == "__main__":
    main(sys.argv[1])
