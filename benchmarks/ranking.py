"""Learning to rank: skextras NewtonBoostingRanker vs xgboost XGBRanker and LightGBM LGBMRanker.

One process, the same hyper-parameters for everyone (objective, trees, depth, learning rate,
bins, threads); test NDCG@10 of every model is computed by the same function
(``skextras.ensemble._rank_metrics.ranking_score``, XGBoost's definition). Data: LightGBM's
lambdarank example (``../shared/data/lightgbm/lambdarank``) and a synthetic graded-relevance
set with many queries. skextras is warmed up on a two-tree fit first (numba compile time is
paid once per installation with ``cache=True``).

    python benchmarks/ranking.py            # full: lambdarank + synthetic 5000 queries x 40
    python benchmarks/ranking.py --quick    # lambdarank + synthetic 1000 queries x 40
    python benchmarks/ranking.py --smoke    # seconds: what CI runs
"""

from pathlib import Path

import numpy as np
from _common import parse_args, print_table, timed
from threadpoolctl import threadpool_limits

from skextras.ensemble import NewtonBoostingRanker
from skextras.ensemble._rank_metrics import ranking_score

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "lightgbm" / "lambdarank"


def lambdarank_split(folder):
    """LightGBM's example: (X, y, qid) for train and test, or None without shared data."""
    from sklearn.datasets import load_svmlight_file

    if not folder.is_dir():
        return None
    X, y = load_svmlight_file(str(folder / "rank.train"))
    Xt, yt = load_svmlight_file(str(folder / "rank.test"), n_features=X.shape[1])
    sizes = [np.loadtxt(folder / f"rank.{p}.query", dtype=int) for p in ("train", "test")]
    qid, qidt = (np.repeat(np.arange(s.size), s) for s in sizes)
    return (X.toarray(), y, qid), (Xt.toarray(), yt, qidt)


def synthetic_split(n_queries, size=40, n_features=30, random_state=0):
    """Graded relevance 0..4 from a noisy non-linear score of the features, per query."""
    rng = np.random.default_rng(random_state)
    n = n_queries * size
    X = rng.standard_normal((n, n_features))
    score = X[:, 0] + np.tanh(X[:, 1] * X[:, 2]) + 0.5 * (X[:, 3] > 0.5) + rng.normal(0, 0.7, n)
    y = np.digitize(score, np.quantile(score, [0.5, 0.75, 0.9, 0.97])).astype(np.float64)
    qid = np.repeat(np.arange(n_queries), size)
    test = qid >= int(0.8 * n_queries)
    return (X[~test], y[~test], qid[~test]), (X[test], y[test], qid[test])


def contenders(objective, n_trees, threads):
    """(name, factory, fit keywords maker) for each installed library."""
    common = dict(n_estimators=n_trees, max_depth=6, learning_rate=0.1)
    found = [
        (
            "skextras",
            lambda: NewtonBoostingRanker(
                objective=objective, n_jobs=threads, random_state=0, **common
            ),
        )
    ]
    try:
        from xgboost import XGBRanker

        found.append(
            (
                "xgboost hist",
                lambda: XGBRanker(
                    objective=objective,
                    tree_method="hist",
                    n_jobs=threads,
                    random_state=0,
                    **common,
                ),
            )
        )
    except ImportError:
        pass
    try:
        from lightgbm import LGBMRanker

        if objective == "rank:ndcg":
            found.append(
                (
                    "lightgbm lambdarank",
                    lambda: LGBMRanker(
                        num_leaves=64, n_jobs=threads, random_state=0, verbose=-1, **common
                    ),
                )
            )
    except ImportError:
        pass
    return found


def run_one(name, factory, train, test, threads):
    X, y, qid = train
    Xt, yt, qidt = test
    model = factory()
    if name.startswith("lightgbm"):
        fit_kwargs = {"group": np.bincount(qid)[np.unique(qid)]}
    else:
        fit_kwargs = {"qid": qid}
    with threadpool_limits(limits=threads):
        _, fit_s = timed(model.fit, X, y, **fit_kwargs)
        pred = model.predict(Xt)
    return {
        "library": name,
        "fit s": fit_s,
        "test NDCG@10": ranking_score("ndcg", yt, pred, qidt, 10),
    }


def main():
    def extra(parser):
        parser.add_argument("--lambdarank", type=Path, default=SHARED, help="data folder")

    args = parse_args(__doc__.splitlines()[0], extra)
    n_trees = 10 if args.smoke else 100
    n_queries = 100 if args.smoke else (1000 if args.quick else 5000)
    sets = [
        ("lambdarank", lambdarank_split(args.lambdarank)),
        ("synthetic", synthetic_split(n_queries)),
    ]
    rows = []
    for data_name, split in sets:
        if split is None:
            print(f"{data_name}: skipped (../shared/data not found)")
            continue
        train, test = split
        for objective in ("rank:ndcg", "rank:pairwise"):
            found = contenders(objective, n_trees, args.threads)
            warm = found[0][1]().set_params(n_estimators=2)
            warm.fit(train[0], train[1], qid=train[2])
            results = [run_one(name, f, train, test, args.threads) for name, f in found]
            ours = results[0]
            for r in results:
                r["data"] = f"{data_name} {len(train[1]):,}x{train[0].shape[1]}"
                r["objective"] = objective
                r["fit vs skextras"] = f"{r['fit s'] / ours['fit s']:.2f}x"
                r["NDCG - skextras"] = f"{r['test NDCG@10'] - ours['test NDCG@10']:+.4f}"
            rows.extend(results)
    print(f"\n{n_trees} trees, max_depth 6, learning_rate 0.1, 256 bins, {args.threads} threads\n")
    columns = ["data", "objective", "library", "fit s", "test NDCG@10", "fit vs skextras",
               "NDCG - skextras"]  # fmt: skip
    print_table(rows, columns)
    return 0 if rows else 1


if __name__ == "__main__":
    raise SystemExit(main())
