"""Dask boosting: skextras DaskNewtonBoosting vs the local booster vs xgboost.dask.

One process: a LocalCluster of 2 worker processes (``--threads`` threads each) holds a
synthetic Higgs-like set (28 features) in partitions made on the workers; the Dask booster
and ``xgboost.dask`` train on it there, the local booster on the same rows gathered to this
process with the same threads. Reported: fit time, its ratio to the local booster, bytes the
workers sent per tree (Dask's ``transfer_outgoing_bytes_total``: histograms to the reduction
and to the client, for xgboost its allreduce is outside Dask and not counted), peak memory
per worker process (RSS, sampled every 0.2 s), test AUC, and whether the Dask trees equal
the local ones. Numba kernels are warmed up (compiled or loaded from cache) before timing.

    python benchmarks/dask_scale.py            # full: 10M x 28 in 20 partitions, 20 trees
    python benchmarks/dask_scale.py --quick    # 1M x 28 in 20 partitions, 10 trees
    python benchmarks/dask_scale.py --smoke    # seconds: 20k x 28 in 4 partitions, 3 trees
"""

import threading
import time

import numpy as np
from _common import make_higgs_like, parse_args, print_table, timed
from sklearn.metrics import roc_auc_score


def _block(block_info=None):
    """One partition of the Higgs-like rows, seeded by its index (made on a worker)."""
    (start, stop), _ = block_info[None]["array-location"]
    X, y = make_higgs_like(stop - start, random_state=block_info[None]["chunk-location"][0])
    return np.column_stack([X, y])


class _PeakMemory:
    """Peak RSS of each worker process while the block runs (sampled every 0.2 s)."""

    def __init__(self, client):
        self.client = client
        self.peak = {}
        self._stop = threading.Event()

    def _sample(self):
        import psutil

        def rss():
            return psutil.Process().memory_info().rss

        while not self._stop.is_set():
            for worker, value in self.client.run(rss).items():
                self.peak[worker] = max(self.peak.get(worker, 0), value)
            time.sleep(0.2)

    def __enter__(self):
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def _sent_bytes(client):
    def sent(dask_worker):
        return dask_worker.transfer_outgoing_bytes_total

    return sum(client.run(sent).values())


def _measure(client, fit):
    before = _sent_bytes(client)
    with _PeakMemory(client) as memory:
        model, seconds = timed(fit)
    return model, seconds, _sent_bytes(client) - before, max(memory.peak.values(), default=0)


def main():
    args = parse_args(__doc__.splitlines()[0])
    import dask.array as da
    from distributed import Client, LocalCluster

    from skextras.ensemble import NewtonBoostingClassifier
    from skextras.ensemble.dask import DaskNewtonBoostingClassifier

    n_rows = 20_000 if args.smoke else (1_000_000 if args.quick else 10_000_000)
    n_parts = 4 if args.smoke else 20
    n_trees = 3 if args.smoke else (10 if args.quick else 20)
    params = dict(n_estimators=n_trees, max_depth=6, learning_rate=0.1, max_bin=256, random_state=0)
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=args.threads, processes=True, dashboard_address=None
    )
    client = Client(cluster)
    try:
        size = -(-n_rows // n_parts)
        chunks = ((size,) * (n_rows // size) + ((n_rows % size,) if n_rows % size else ()), (29,))
        data = da.map_blocks(_block, chunks=chunks, dtype=np.float64).persist()
        X, y = data[:, :28], data[:, 28]
        X_test, y_test = make_higgs_like(50_000 if not args.smoke else 5_000, random_state=10**6)
        warm = np.column_stack(make_higgs_like(3_000, random_state=1))
        warm_d = da.from_array(warm, chunks=(1_000, 29))
        DaskNewtonBoostingClassifier(**params, n_jobs=args.threads).set_params(n_estimators=2).fit(
            warm_d[:, :28], warm_d[:, 28]
        )
        NewtonBoostingClassifier(**params, n_jobs=args.threads).set_params(n_estimators=2).fit(
            warm[:, :28], warm[:, 28]
        )

        rows = []
        dask_model, seconds, sent, peak = _measure(
            client,
            lambda: DaskNewtonBoostingClassifier(**params, n_jobs=args.threads).fit(X, y),
        )
        rows.append(("skextras dask", dask_model, seconds, sent, peak))
        try:
            from xgboost import dask as dxgb

            xgb_model, seconds, sent, peak = _measure(
                client,
                lambda: dxgb.DaskXGBClassifier(
                    **params, tree_method="hist", n_jobs=args.threads
                ).fit(X, y),
            )
            rows.append(("xgboost.dask hist", xgb_model, seconds, sent, peak))
        except ImportError:
            print("xgboost not installed: pip install 'skextras[bench]'")
        gathered = data.compute()
        X_local, y_local = gathered[:, :28], gathered[:, 28]
        local, seconds = timed(
            NewtonBoostingClassifier(**params, n_jobs=args.threads).fit, X_local, y_local
        )
        del gathered, X_local
        same = all(
            np.array_equal(a.feature, b.feature)
            and np.array_equal(a.bin_threshold, b.bin_threshold)
            for a, b in zip(dask_model._trees, local._trees)
        )
        table = [
            {
                "library": "skextras local",
                "fit s": seconds,
                "vs local": "1.00x",
                "test AUC": roc_auc_score(y_test, local.predict_proba(X_test)[:, 1]),
            }
        ]
        for name, model, fit_s, sent_bytes, peak_bytes in rows:
            if hasattr(model, "to_local"):
                proba = model.to_local().predict_proba(X_test)[:, 1]
            else:
                proba = model.get_booster().inplace_predict(X_test)
            table.append(
                {
                    "library": name,
                    "fit s": fit_s,
                    "vs local": f"{fit_s / seconds:.2f}x",
                    "MB sent / tree": sent_bytes / n_trees / 1e6,
                    "peak MB / worker": peak_bytes / 1e6,
                    "test AUC": roc_auc_score(y_test, proba),
                    "trees = local": str(same) if name == "skextras dask" else "",
                }
            )
    finally:
        client.close()
        cluster.close()
    print(
        f"\n{n_rows:,} x 28 rows in {n_parts} partitions, 2 workers x {args.threads} threads; "
        f"{n_trees} trees, max_depth 6, 256 bins\n"
    )
    columns = ["library", "fit s", "vs local", "MB sent / tree", "peak MB / worker",
               "test AUC", "trees = local"]  # fmt: skip
    print_table(table, columns)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
