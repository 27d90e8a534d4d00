"""Forest parity features: skextras vs scikit-learn on multi-output y, ccp_alpha, max_leaf_nodes.

Data: synthetic, 20 features (``make_classification`` columns); three classification outputs
(2, 3 and 4 classes, each a noisy function of a few features) or three regression targets;
80 / 20 train / test split. Each case runs our forest and scikit-learn's with the same
parameters and 2 threads, side by side in this one process (``--threads``, default 2).

    python benchmarks/forest_parity.py            # 20k and 100k train rows, 100 trees
    python benchmarks/forest_parity.py --quick    # 20k train rows, 50 trees
    python benchmarks/forest_parity.py --smoke    # tiny sizes (seconds, CI)

Prints one table: fit seconds, predict seconds on the test rows (fastest of 3 calls), the
score (mean accuracy over outputs / R^2 averaged over outputs / accuracy) and the fit and
predict speed-ups of ours over scikit-learn (peer seconds / our seconds).
"""

import numpy as np
from _common import parse_args, print_table, timed


def data(n, kind, seed=0):
    """(X_train, X_test, y_train, y_test) with 20 features."""
    from sklearn.datasets import make_classification

    X, _ = make_classification(n_samples=n, n_features=20, n_informative=8, random_state=seed)
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=(n, 3))
    if kind == "multi_regression":
        y = np.column_stack(
            [X[:, 0] + X[:, 1] * X[:, 2], np.sin(X[:, 3]) * 2 + X[:, 4], X[:, 5] ** 2]
        )
        y = y + noise
    else:
        scores = np.column_stack([X[:, 0] + X[:, 1], X[:, 2] - X[:, 3], X[:, 4] * X[:, 5]])
        scores = scores + noise
        y = np.column_stack(
            [
                scores[:, 0] > 0,
                np.digitize(scores[:, 1], [-1.0, 1.0]),
                np.digitize(scores[:, 2], np.quantile(scores[:, 2], [0.25, 0.5, 0.75])),
            ]
        ).astype(int)
        if kind != "multi_classification":
            y = y[:, 0]
    n_test = n // 5
    return X[n_test:], X[:n_test], y[n_test:], y[:n_test]


CASES = [
    ("multi-output clf", "multi_classification", {}),
    ("multi-output reg", "multi_regression", {}),
    ("ccp_alpha=2e-4", "classification", {"ccp_alpha": 2e-4}),
    ("max_leaf_nodes=64", "classification", {"max_leaf_nodes": 64}),
]


def score(kind, y_true, y_pred):
    from sklearn.metrics import r2_score

    if kind == "multi_regression":
        return r2_score(y_true, y_pred)
    return float(np.mean(y_true == y_pred))


def run(factory, kind, split, repeats):
    """(fit seconds, fastest predict seconds of ``repeats`` calls, test score)."""
    X, X_test, y, y_test = split
    model, fit = timed(factory().fit, X, y)
    calls = [timed(model.predict, X_test) for _ in range(repeats)]
    return fit, min(t for _, t in calls), score(kind, y_test, calls[0][0])


def main():
    import sklearn.ensemble as sk

    import skextras.ensemble as ours

    args = parse_args(__doc__.splitlines()[0])
    if args.smoke:
        sizes, n_trees, repeats = [1500], 5, 1
    elif args.quick:
        sizes, n_trees, repeats = [25_000], 50, 3
    else:
        sizes, n_trees, repeats = [25_000, 125_000], 100, 3

    print(f"synthetic data, 20 features; {n_trees} trees; {args.threads} threads")
    rows = []
    for n in sizes:
        for name, kind, extra in CASES:
            split = data(n, kind)
            family = "Regressor" if kind == "multi_regression" else "Classifier"
            params = dict(n_estimators=n_trees, n_jobs=args.threads, random_state=0, **extra)
            # Load our compiled kernels first: numba's one-time cost is not the fit's.
            mine = getattr(ours, "RandomForest" + family)
            run(lambda c=mine, p=params: c(**p), kind, tuple(a[:500] for a in split), 1)
            own = None
            for impl, cls in [
                ("skextras", mine),
                ("sklearn", getattr(sk, "RandomForest" + family)),
            ]:
                fit, predict, s = run(lambda c=cls, p=params: c(**p), kind, split, repeats)
                own = own or (fit, predict)
                row = dict(case=name, impl=impl, n_train=n - n // 5, fit_s=fit, predict_s=predict)
                row.update(score=s, fit_x=fit / own[0], predict_x=predict / own[1])
                rows.append(row)
    print_table(
        rows, ["case", "impl", "n_train", "fit_s", "predict_s", "score", "fit_x", "predict_x"]
    )
    print("fit_x / predict_x = scikit-learn seconds / our seconds (same case, same size)")


if __name__ == "__main__":
    main()
