"""Loading saved tree models: skextras ``load_model`` (validated) vs xgboost and LightGBM.

``load_model`` checks every index of every tree before a kernel may see it
(``skextras/_engine/tree_validation.py``). This script measures what that costs: the same
file read by ``load_model`` and by the unchecked parse it replaced (``json.loads`` +
``Tree.from_dict`` per tree), beside xgboost's and LightGBM's loaders of a model of the
same size (trees, depth), side by side in this one process. Each load is timed as the best
of a few repeats.

    python benchmarks/model_loading.py            # 50k rows: 1000 boosted trees, 10-tree forest
    python benchmarks/model_loading.py --quick    # 20k rows: 300 boosted trees, 20-tree forest
    python benchmarks/model_loading.py --smoke    # seconds: what CI runs
"""

import json
import os
import tempfile
from pathlib import Path

from _common import parse_args, print_table, timed
from sklearn.datasets import make_classification

REPEATS = 3


def best_of(func, *args):
    return min(timed(func, *args)[1] for _ in range(REPEATS))


def unchecked_parse(path):
    """What ``load_model`` did before validation: parse and build the trees, no checks."""
    from skextras._engine.tree import Tree

    doc = json.loads(Path(path).read_text())
    return [Tree.from_dict(d) for d in doc["trees"]]


def boosted_rows(X, y, n_trees, threads, folder):
    from skextras.ensemble import NewtonBoostingClassifier

    params = dict(n_estimators=n_trees, max_depth=6, learning_rate=0.1)
    ours = NewtonBoostingClassifier(**params, n_jobs=threads).fit(X, y)
    path = folder / "newton.json"
    ours.save_model(path)
    label = f"boosted {n_trees} trees, depth 6"
    nodes = sum(t.n_nodes for t in ours._trees)
    rows = [
        {"model": label, "library": "skextras load_model", "load s": best_of(
            NewtonBoostingClassifier().load_model, path)},
        {"model": label, "library": "skextras unchecked parse", "load s": best_of(
            unchecked_parse, path)},
    ]  # fmt: skip
    for r in rows:
        r["nodes"], r["file MB"] = nodes, os.path.getsize(path) / 1e6
    rows.extend(peer_rows(X, y, params, threads, folder, label))
    return rows


def peer_rows(X, y, params, threads, folder, label):
    """xgboost (JSON) and LightGBM (text) loaders of a model of the same size, if installed."""
    rows = []
    try:
        import xgboost as xgb
    except ImportError:
        xgb = None
    if xgb is not None:
        model = xgb.XGBClassifier(**params, tree_method="hist", n_jobs=threads).fit(X, y)
        path = folder / "xgb.json"
        model.save_model(path)
        nodes = int(model.get_booster().trees_to_dataframe().shape[0])
        seconds = best_of(xgb.XGBClassifier().load_model, path)
        rows.append({"model": label, "library": "xgboost load_model", "load s": seconds,
                     "nodes": nodes, "file MB": os.path.getsize(path) / 1e6})  # fmt: skip
    try:
        import lightgbm as lgb
    except ImportError:
        lgb = None
    if lgb is not None:
        model = lgb.LGBMClassifier(
            n_estimators=params["n_estimators"],
            max_depth=params["max_depth"],
            num_leaves=2 ** params["max_depth"],
            learning_rate=params["learning_rate"],
            n_jobs=threads,
            verbose=-1,
        ).fit(X, y)
        path = folder / "lgb.txt"
        model.booster_.save_model(path)
        nodes = int(model.booster_.trees_to_dataframe().shape[0])
        seconds = best_of(lambda p: lgb.Booster(model_file=str(p)), path)
        rows.append({"model": label, "library": "lightgbm Booster(model_file)",
                     "load s": seconds, "nodes": nodes,
                     "file MB": os.path.getsize(path) / 1e6})  # fmt: skip
    return rows


def forest_rows(X, y, n_trees, threads, folder):
    from skextras.ensemble import RandomForestClassifier

    forest = RandomForestClassifier(n_estimators=n_trees, n_jobs=threads, random_state=0)
    forest.fit(X, y)
    path = folder / "forest.json"
    forest.save_model(path)
    label = f"forest {n_trees} trees, full depth"
    base = {"model": label, "nodes": sum(t.n_nodes for t in forest.estimators_),
            "file MB": os.path.getsize(path) / 1e6}  # fmt: skip
    return [
        {**base, "library": "skextras load_model",
         "load s": best_of(RandomForestClassifier().load_model, path)},
        {**base, "library": "skextras unchecked parse", "load s": best_of(unchecked_parse, path)},
    ]  # fmt: skip


def main():
    args = parse_args(__doc__.splitlines()[0])
    if args.smoke:
        n_rows, n_boost, n_forest = 2_000, 10, 5
    elif args.quick:
        n_rows, n_boost, n_forest = 20_000, 300, 20
    else:
        n_rows, n_boost, n_forest = 50_000, 1000, 10
    X, y = make_classification(n_rows, 20, n_informative=10, random_state=0)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # Compile (or load from numba's cache) the kernels before any clock runs.
        boosted_rows(X[:500], y[:500], 2, args.threads, folder)
        rows = boosted_rows(X, y, n_boost, args.threads, folder)
        rows += forest_rows(X, y, n_forest, args.threads, folder)
    for r in rows:
        ours = next(
            o["load s"]
            for o in rows
            if o["model"] == r["model"] and o["library"] == "skextras load_model"
        )
        r["vs skextras load_model"] = f"{r['load s'] / ours:.2f}x"
        r["us / node"] = 1e6 * r["load s"] / r["nodes"]
    print(f"\n{n_rows:,} rows x 20 features, {args.threads} threads, best of {REPEATS} loads\n")
    columns = ["model", "library", "nodes", "file MB", "load s", "us / node",
               "vs skextras load_model"]  # fmt: skip
    print_table(rows, columns)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
