"""XGBoost's ranking metrics (``ndcg@k``, ``map@k``, ``pre@k``) over queries, for
``NewtonBoostingRanker``'s ``eval_metric`` and ``score``."""

import re

import numpy as np

METRIC_NAME = re.compile(r"^(ndcg|map|pre)(@(\d+))?(-)?$")


def query_bounds(qid):
    """Row order (stable sort by qid) and the query pointer of the sorted rows."""
    order = np.argsort(qid, kind="stable")
    sorted_qid = qid[order]
    starts = np.flatnonzero(np.r_[True, sorted_qid[1:] != sorted_qid[:-1]])
    return order, np.r_[starts, qid.size].astype(np.int64)


def ranking_score(metric, y, pred, qid, k=None, minus=False):
    """Mean over queries of XGBoost's ``ndcg@k``, ``map@k`` or ``pre@k`` (k=None: the
    whole list). Documents are ranked by decreasing ``pred`` (ties: input order).

    ndcg uses the gain ``2**label - 1`` and the discount ``1 / log2(rank + 2)``; a query
    without relevant documents scores 1 (0 with ``minus``, XGBoost's ``ndcg-``).
    map: the sum of the precision at the rank of each relevant document in the top k,
    divided by min(relevant documents of the query, k) (1, or 0 with ``minus``, without
    relevant documents); pre: relevant documents in the top k over k.
    """
    order, ptr = query_bounds(np.asarray(qid))
    y = np.asarray(y, dtype=np.float64)[order]
    pred = np.asarray(pred, dtype=np.float64)[order]
    scores = np.empty(ptr.size - 1)
    for q in range(ptr.size - 1):
        yq, pq = y[ptr[q] : ptr[q + 1]], pred[ptr[q] : ptr[q + 1]]
        top = yq[np.argsort(-pq, kind="stable")][:k]
        if metric == "ndcg":
            ideal = np.sort(yq)[::-1][:k]
            discount = 1.0 / np.log2(np.arange(top.size) + 2.0)
            idcg = np.sum((2.0**ideal - 1.0) * discount)
            dcg = np.sum((2.0**top - 1.0) * discount)
            scores[q] = dcg / idcg if idcg > 0 else (0.0 if minus else 1.0)
        elif metric == "map":
            rel = (top > 0).astype(np.float64)
            n_relevant = np.count_nonzero(yq > 0)
            if n_relevant:
                precision = np.cumsum(rel) / np.arange(1.0, top.size + 1.0)
                scores[q] = np.sum(precision * rel) / min(n_relevant, k or yq.size)
            else:
                scores[q] = 0.0 if minus else 1.0
        else:
            scores[q] = np.sum(top > 0) / (k if k else yq.size)
    return float(scores.mean())


def resolve_rank_metric(name):
    """``(name, f(y_qid, pred, w), greater_is_better)`` for a ranking metric name, where
    ``y_qid`` is (n, 2): labels and query ids; None if ``name`` is not one."""
    match = METRIC_NAME.match(name) if isinstance(name, str) else None
    if match is None:
        return None
    metric, k, minus = match.group(1), match.group(3), bool(match.group(4))
    k = int(k) if k else None

    def score(y_qid, pred, w):
        return ranking_score(metric, y_qid[:, 0], pred, y_qid[:, 1], k, minus)

    return name, score, True
