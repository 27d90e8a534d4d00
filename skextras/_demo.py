"""``skextras demo``: the estimators on bundled real data, beside their peers.

Each estimator runs inside a ``Pipeline`` (constant-feature filter, then the model) tuned by a
small ``GridSearchCV`` on the training split; the table gives the cross-validated AUC of the
best setting, the test AUC of the refitted pipeline and the wall time of the whole search.
Peers (scikit-learn, XGBoost, LightGBM) run the same search where they are installed. Our
estimators are first fitted once on a few rows, off the clock: the first run after an install
compiles their numba kernels (cached afterwards), and that time is printed on its own.
"""

import time

import numpy as np
from sklearn.feature_selection import VarianceThreshold
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline

from skextras.datasets import load_agaricus, load_higgs_sample


def _candidates(n_trees):
    """(family, library, estimator factory, grid) for ours and each installed peer."""
    from sklearn import ensemble as sk

    from skextras import ensemble as ours

    depth_grid = {"model__max_depth": [3, 6]}
    rows = [
        ("second-order boosting", "skextras",
         lambda: ours.NewtonBoostingClassifier(n_estimators=n_trees, random_state=0), depth_grid),
        ("gradient boosting", "skextras",
         lambda: ours.GradientBoostingClassifier(n_estimators=n_trees, random_state=0),
         depth_grid),
        ("gradient boosting", "sklearn",
         lambda: sk.GradientBoostingClassifier(n_estimators=n_trees, random_state=0),
         depth_grid),
        ("random forest", "skextras",
         lambda: ours.RandomForestClassifier(n_estimators=n_trees, random_state=0),
         {"model__max_features": ["sqrt", 0.5]}),
        ("random forest", "sklearn",
         lambda: sk.RandomForestClassifier(n_estimators=n_trees, random_state=0),
         {"model__max_features": ["sqrt", 0.5]}),
        ("adaboost (stumps)", "skextras",
         lambda: ours.AdaBoostClassifier(n_estimators=n_trees, random_state=0),
         {"model__learning_rate": [0.5, 1.0]}),
        ("adaboost (stumps)", "sklearn",
         lambda: sk.AdaBoostClassifier(n_estimators=n_trees, random_state=0),
         {"model__learning_rate": [0.5, 1.0]}),
    ]  # fmt: skip
    try:
        from xgboost import XGBClassifier

        rows.insert(1, ("second-order boosting", "xgboost",
                        lambda: XGBClassifier(n_estimators=n_trees, tree_method="hist",
                                              random_state=0), depth_grid))  # fmt: skip
    except ImportError:
        pass
    try:
        from lightgbm import LGBMClassifier

        rows.insert(2, ("second-order boosting", "lightgbm",
                        lambda: LGBMClassifier(n_estimators=n_trees, random_state=0,
                                               verbose=-1), depth_grid))  # fmt: skip
    except ImportError:
        pass
    return rows


def _datasets():
    higgs_train, higgs_test = (load_higgs_sample(subset=s) for s in ("train", "test"))
    mush_train, mush_test = (load_agaricus(subset=s) for s in ("train", "test"))
    return [
        ("higgs sample", higgs_train.data, higgs_train.target, higgs_test.data, higgs_test.target),
        ("agaricus (sparse)", mush_train.data, mush_train.target, mush_test.data,
         mush_test.target),
    ]  # fmt: skip


def _search(factory, grid, X, y):
    pipe = Pipeline([("select", VarianceThreshold()), ("model", factory())])
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    return GridSearchCV(pipe, grid, scoring="roc_auc", cv=cv).fit(X, y)


def run_demo(quick=False):
    """Run the demo and print its table; returns 0."""
    n_trees = 30 if quick else 100
    header = ("data", "estimator", "library", "best setting", "CV AUC", "test AUC", "search s")
    lines = []
    compile_seconds = 0.0
    for data_name, X, y, X_test, y_test in _datasets():
        few = np.concatenate([np.flatnonzero(y == c)[:250] for c in np.unique(y)])
        for family, library, factory, grid in _candidates(n_trees):
            if library == "skextras":
                start = time.perf_counter()
                factory().set_params(n_estimators=2).fit(X[few], y[few])
                compile_seconds += time.perf_counter() - start
            start = time.perf_counter()
            search = _search(factory, grid, X, y)
            seconds = time.perf_counter() - start
            test_auc = roc_auc_score(y_test, search.predict_proba(X_test)[:, 1])
            best = ", ".join(f"{k.split('__')[1]}={v}" for k, v in search.best_params_.items())
            lines.append((data_name, family, library, best, f"{search.best_score_:.4f}",
                          f"{test_auc:.4f}", f"{seconds:.2f}"))  # fmt: skip
            print(" | ".join(lines[-1]), flush=True)
    print()
    _print(header, lines)
    print(f"\nnumba compilation and warm-up fits (off the clock): {compile_seconds:.1f} s")
    return 0


def _print(header, lines):
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for line in lines:
        print("  ".join(v.ljust(w) for v, w in zip(line, widths)))
