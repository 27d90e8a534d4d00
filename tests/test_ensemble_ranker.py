"""NewtonBoostingRanker against XGBoost's XGBRanker (same parameters, same metric code), and
the ranking metrics against XGBoost's own evaluation and a slow definition."""

import numpy as np
import pytest
from sklearn.datasets import load_svmlight_file

from skextras._engine.objectives import LambdaRank
from skextras.ensemble import NewtonBoostingRanker
from skextras.ensemble._rank_metrics import ranking_score

xgb = pytest.importorskip("xgboost")


@pytest.fixture(scope="module")
def lambdarank(shared_data):
    """LightGBM's lambdarank example: (X_train, y_train, qid_train, X_test, y_test, qid_test)."""
    folder = shared_data / "lightgbm" / "lambdarank"
    X, y = load_svmlight_file(str(folder / "rank.train"))
    Xt, yt = load_svmlight_file(str(folder / "rank.test"), n_features=X.shape[1])
    sizes = [np.loadtxt(folder / f"rank.{part}.query", dtype=int) for part in ("train", "test")]
    qids = [np.repeat(np.arange(s.size), s) for s in sizes]
    return X.toarray(), y, qids[0], Xt.toarray(), yt, qids[1]


def _small_queries(seed=0, n_queries=30, size=12):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_queries * size, 5))
    y = np.clip(np.round(X[:, 0] + 0.5 * X[:, 1] + rng.normal(0, 0.5, X.shape[0]) + 1), 0, 4)
    return X, y, np.repeat(np.arange(n_queries), size)


PARAMS = dict(n_estimators=30, learning_rate=0.1, max_depth=4)


@pytest.mark.parametrize(
    "objective",
    ["rank:ndcg", pytest.param("rank:pairwise", marks=pytest.mark.slow),
     pytest.param("rank:map", marks=pytest.mark.slow)],
)  # fmt: skip
def test_test_ndcg_at_10_matches_xgboost_on_lambdarank_set(lambdarank, objective):
    X, y, qid, Xt, yt, qidt = lambdarank
    if objective == "rank:map":
        y, yt = (y > 0).astype(float), (yt > 0).astype(float)
    params = dict(objective=objective, **PARAMS)
    ours = NewtonBoostingRanker(**params).fit(X, y, qid=qid)
    ref = xgb.XGBRanker(tree_method="hist", **params).fit(X, y, qid=qid)
    ndcg_ours = ranking_score("ndcg", yt, ours.predict(Xt), qidt, 10)
    ndcg_ref = ranking_score("ndcg", yt, ref.predict(Xt), qidt, 10)
    assert abs(ndcg_ours - ndcg_ref) <= 0.005


def _slow_lambdas(y, s, k=32):
    """XGBoost's topk LambdaMART lambdas of one query, pair by pair (exp gain, both
    normalisations)."""
    order = np.argsort(-s, kind="stable")
    n = y.size
    ideal = np.sort(y)[::-1][:k]
    idcg = sum((2.0**v - 1) / np.log2(r + 2) for r, v in enumerate(ideal))
    g, h = np.zeros(n), np.zeros(n)
    total = 0.0
    for i in range(min(n, k)):
        for j in range(i + 1, n):
            a, b = order[i], order[j]
            if y[a] == y[b]:
                continue
            (hi, rh), (lo, rl) = sorted([(a, i), (b, j)], key=lambda t: -y[t[0]])
            swap = abs((2.0 ** y[hi] - 2.0 ** y[lo]) * (1 / np.log2(rh + 2) - 1 / np.log2(rl + 2)))
            delta = swap / idcg / (abs(s[hi] - s[lo]) + 0.01)
            sig = 1 / (1 + np.exp(-(s[hi] - s[lo])))
            lam = (sig - 1) * delta
            g[hi] += lam
            g[lo] -= lam
            hess = 2 * max(sig * (1 - sig), 1e-16) * delta
            h[hi] += hess
            h[lo] += hess
            total -= 2 * lam
    norm = np.log2(1 + total) / total if total > 0 else 1.0
    return g * norm, h * norm


def test_ndcg_lambdas_equal_pairwise_definition():
    X, y, qid = _small_queries()
    s = np.random.default_rng(3).normal(size=y.size)
    ptr = np.r_[0, np.cumsum(np.bincount(qid))]
    g, h = LambdaRank("rank:ndcg", ptr).gradient_hessian(y, s)
    for q in range(ptr.size - 1):
        rows = slice(ptr[q], ptr[q + 1])
        g_ref, h_ref = _slow_lambdas(y[rows], s[rows])
        np.testing.assert_allclose(g[rows], g_ref, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(h[rows], h_ref, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("metric", ["ndcg@5", "map@5", "ndcg", "pre@3"])
def test_eval_metric_equals_xgboost_evaluation(metric):
    X, y, qid = _small_queries(1)
    Xv, yv, qv = _small_queries(2, n_queries=10)
    if metric.startswith(("map", "pre")):
        y, yv = (y > 1).astype(float), (yv > 1).astype(float)
    ref = xgb.XGBRanker(tree_method="hist", eval_metric=metric, **PARAMS)
    ref.fit(X, y, qid=qid, eval_set=[(Xv, yv)], eval_qid=[qv])
    history = ref.evals_result()["validation_0"][metric]
    name, _, k = metric.partition("@")
    ours = ranking_score(name, yv, ref.predict(Xv), qv, int(k) if k else None)
    np.testing.assert_allclose(ours, history[-1], rtol=1e-5)


def test_group_sizes_and_unsorted_qid_give_the_same_model():
    X, y, qid = _small_queries()
    by_qid = NewtonBoostingRanker(**PARAMS).fit(X, y, qid=qid)
    perm = np.random.default_rng(0).permutation(y.size)
    shuffled = NewtonBoostingRanker(**PARAMS).fit(X[perm], y[perm], qid=qid[perm])
    by_group = NewtonBoostingRanker(**PARAMS).fit(X, y, group=np.bincount(qid))
    np.testing.assert_array_equal(by_qid.predict(X), by_group.predict(X))
    # Rows of a query change order: the ranking of each query is learned the same way.
    assert abs(by_qid.score(X, y, qid=qid) - shuffled.score(X, y, qid=qid)) < 0.02


def test_early_stopping_on_ndcg_keeps_the_best_round():
    X, y, qid = _small_queries()
    Xv, yv, qv = _small_queries(5, n_queries=10)
    model = NewtonBoostingRanker(
        n_estimators=60,
        learning_rate=0.3,
        max_depth=4,
        eval_metric="ndcg@5",
        early_stopping_rounds=5,
    ).fit(X, y, qid=qid, eval_set=[(Xv, yv)], eval_qid=[qv])
    history = model.evals_result_["validation_0"]["ndcg@5"]
    assert model.best_iteration_ == int(np.argmax(history))
    best = ranking_score("ndcg", yv, model.predict(Xv), qv, 5)
    np.testing.assert_allclose(best, max(history), rtol=1e-12)


def test_bad_queries_and_labels_are_refused():
    X, y, qid = _small_queries()
    with pytest.raises(ValueError, match="exactly one of group= or qid="):
        NewtonBoostingRanker().fit(X, y)
    with pytest.raises(ValueError, match="group must hold positive query sizes"):
        NewtonBoostingRanker().fit(X, y, group=[5, 5])
    with pytest.raises(ValueError, match="rank:map needs binary relevance"):
        NewtonBoostingRanker(objective="rank:map").fit(X, y, qid=qid)
    with pytest.raises(ValueError, match="integer relevance labels"):
        NewtonBoostingRanker().fit(X, y + 0.5, qid=qid)
    with pytest.raises(ValueError, match="one finite non-negative weight per query"):
        NewtonBoostingRanker().fit(X, y, qid=qid, sample_weight=np.ones(3))


def test_mean_pair_method_is_deterministic_and_learns():
    X, y, qid = _small_queries()
    params = dict(PARAMS, lambdarank_pair_method="mean", lambdarank_num_pair_per_sample=4)
    a = NewtonBoostingRanker(random_state=1, **params).fit(X, y, qid=qid)
    b = NewtonBoostingRanker(random_state=1, **params).fit(X, y, qid=qid)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    untrained = ranking_score("ndcg", y, np.zeros(y.size), qid, 10)
    assert a.score(X, y, qid=qid) > untrained + 0.1


def test_ranker_callbacks_survive_clone_and_stop_like_fewer_rounds():
    from sklearn.base import clone

    from skextras.callback import TrainingCallback

    class StopAt(TrainingCallback):
        def after_iteration(self, model, iteration, evals_log):
            return iteration + 1 >= 4

    X, y, qid = _small_queries()
    ranker = clone(NewtonBoostingRanker(n_estimators=10, callbacks=[StopAt()]))
    assert isinstance(ranker.get_params()["callbacks"][0], StopAt)
    stopped = ranker.fit(X, y, qid=qid)
    fewer = NewtonBoostingRanker(n_estimators=4).fit(X, y, qid=qid)
    np.testing.assert_array_equal(stopped.predict(X), fewer.predict(X))
