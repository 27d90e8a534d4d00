"""NewtonBoostingRanker: XGBoost's ``XGBRanker`` on the second-order booster.

Rows are grouped into queries (``qid`` per row, or ``group`` sizes); training sorts the rows
by query (stably), so each query is a contiguous range the LambdaMART objective
(``skextras._engine.objectives.LambdaRank``) walks in parallel. The trees, the split
search and everything after the gradients are those of ``NewtonBoostingRegressor``.
Evaluation metrics ``ndcg@k`` / ``map@k`` (and ``ndcg``, ``map``, ``pre@k``) follow
XGBoost's definitions, computed per query and averaged.
"""

from numbers import Integral

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from .._engine.objectives import RANK_OBJECTIVES, LambdaRank
from ._newton_boosting import _BaseNewtonBoosting
from ._rank_metrics import METRIC_NAME, query_bounds, ranking_score


def _check_queries(n, group, qid, name="qid"):
    """qid (n,) from either ``qid`` or ``group`` (query sizes), with clear errors."""
    if (group is None) == (qid is None):
        raise ValueError(f"give exactly one of group= or {name}= (got both or neither)")
    if qid is not None:
        qid = np.asarray(qid).ravel()
        if qid.shape[0] != n:
            raise ValueError(f"{name} has {qid.shape[0]} values but X has {n} rows")
        return qid
    group = np.asarray(group).ravel()
    if group.size == 0 or np.any(group < 1) or group.sum() != n:
        raise ValueError(
            f"group must hold positive query sizes summing to the {n} rows of X, "
            f"got sizes summing to {int(group.sum()) if group.size else 0}"
        )
    return np.repeat(np.arange(group.size), group.astype(np.int64))


class NewtonBoostingRanker(_BaseNewtonBoosting):
    """Learning to rank with second-order gradient boosted trees: XGBoost's ``XGBRanker``.

    ``fit(X, y, qid=...)`` (a query id per row) or ``fit(X, y, group=...)`` (query sizes,
    rows in query order); ``y`` holds relevance degrees. Objectives: ``"rank:ndcg"``
    (LambdaMART), ``"rank:map"`` (binary labels) and ``"rank:pairwise"`` (RankNet), with
    XGBoost's pair construction and normalisation (see
    :class:`skextras._engine.objectives.LambdaRank`). The other parameters are those of
    :class:`NewtonBoostingRegressor`.

    Parameters
    ----------
    objective : {"rank:ndcg", "rank:map", "rank:pairwise"}, default="rank:ndcg"
    lambdarank_pair_method : {"topk", "mean"}, default="topk"
        "topk": each of the model's top ``lambdarank_num_pair_per_sample`` documents of a
        query is paired with every document below it; "mean": every document is paired
        with ``lambdarank_num_pair_per_sample`` random documents of another label.
    lambdarank_num_pair_per_sample : int, default=None
        Truncation level (topk, default 32) or pairs per document (mean, default 1).
    ndcg_exp_gain : bool, default=True
        NDCG gain ``2**label - 1`` (labels must be integers 0..31); False: ``label``.
    lambdarank_normalization : bool, default=True
        Scale a query's lambdas by ``log2(1 + L) / L`` (topk) or ``1 / pairs`` (mean).
    lambdarank_score_normalization : bool, default=True
        Divide a pair's metric change by ``|s_i - s_j| + 0.01``.
    n_estimators, learning_rate, max_depth, ... :
        As :class:`NewtonBoostingRegressor`. ``eval_metric`` also takes ``"ndcg@k"``,
        ``"map@k"``, ``"pre@k"``, ``"ndcg"``, ``"map"`` (default: ``"ndcg@32"``, or
        ``"map@32"`` for rank:map, XGBoost's defaults with topk pairs).

    Attributes
    ----------
    best_iteration_, evals_result_, feature_importances_, n_features_in_ :
        As :class:`NewtonBoostingRegressor`.

    Examples
    --------
    >>> import numpy as np
    >>> from skextras.ensemble import NewtonBoostingRanker
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 4))
    >>> y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 1)
    >>> qid = np.repeat(np.arange(20), 10)
    >>> ranker = NewtonBoostingRanker(n_estimators=10, max_depth=3).fit(X, y, qid=qid)
    >>> ranker.predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints = {
        **_BaseNewtonBoosting._parameter_constraints,
        "objective": [StrOptions(set(RANK_OBJECTIVES))],
        "lambdarank_pair_method": [StrOptions({"topk", "mean"})],
        "lambdarank_num_pair_per_sample": [Interval(Integral, 1, None, closed="left"), None],
        "ndcg_exp_gain": ["boolean"],
        "lambdarank_normalization": ["boolean"],
        "lambdarank_score_normalization": ["boolean"],
    }

    def __init__(
        self,
        *,
        objective="rank:ndcg",
        lambdarank_pair_method="topk",
        lambdarank_num_pair_per_sample=None,
        ndcg_exp_gain=True,
        lambdarank_normalization=True,
        lambdarank_score_normalization=True,
        n_estimators=100,
        learning_rate=0.3,
        max_depth=6,
        max_leaves=0,
        grow_policy="depthwise",
        min_child_weight=1.0,
        gamma=0.0,
        reg_lambda=1.0,
        reg_alpha=0.0,
        max_delta_step=0.0,
        subsample=1.0,
        colsample_bytree=1.0,
        colsample_bylevel=1.0,
        colsample_bynode=1.0,
        max_bin=256,
        base_score=None,
        eval_metric=None,
        early_stopping_rounds=None,
        monotone_constraints=None,
        interaction_constraints=None,
        importance_type="gain",
        random_state=None,
        n_jobs=None,
        callbacks=None,
        tree_method=None,
        missing=np.nan,
        verbosity=None,
        device=None,
        booster=None,
        **kwargs,
    ):
        super().__init__(
            objective=objective,
            n_estimators=n_estimators,
            learning_rate=learning_rate,
            max_depth=max_depth,
            max_leaves=max_leaves,
            grow_policy=grow_policy,
            min_child_weight=min_child_weight,
            gamma=gamma,
            reg_lambda=reg_lambda,
            reg_alpha=reg_alpha,
            max_delta_step=max_delta_step,
            subsample=subsample,
            colsample_bytree=colsample_bytree,
            colsample_bylevel=colsample_bylevel,
            colsample_bynode=colsample_bynode,
            max_bin=max_bin,
            base_score=base_score,
            eval_metric=eval_metric,
            early_stopping_rounds=early_stopping_rounds,
            monotone_constraints=monotone_constraints,
            interaction_constraints=interaction_constraints,
            importance_type=importance_type,
            random_state=random_state,
            n_jobs=n_jobs,
            callbacks=callbacks,
            tree_method=tree_method,
            missing=missing,
            verbosity=verbosity,
            device=device,
            booster=booster,
            **kwargs,
        )
        self.lambdarank_pair_method = lambdarank_pair_method
        self.lambdarank_num_pair_per_sample = lambdarank_num_pair_per_sample
        self.ndcg_exp_gain = ndcg_exp_gain
        self.lambdarank_normalization = lambdarank_normalization
        self.lambdarank_score_normalization = lambdarank_score_normalization

    def _make_objective(self, y):
        seed = self.random_state if isinstance(self.random_state, Integral) else 0
        objective = LambdaRank(
            self.objective,
            self._group_ptr,
            self._group_weight,
            pair_method=self.lambdarank_pair_method,
            num_pairs=self.lambdarank_num_pair_per_sample,
            exp_gain=self.ndcg_exp_gain,
            normalization=self.lambdarank_normalization,
            score_normalization=self.lambdarank_score_normalization,
            seed=seed,
        )
        objective.validate_target(y)
        return objective

    def _default_metric(self):
        k = self.lambdarank_num_pair_per_sample or 32
        metric = "map" if self.objective == "rank:map" else "ndcg"
        return f"{metric}@{k}" if self.lambdarank_pair_method == "topk" else metric

    def _encode_eval_y(self, y):
        return np.asarray(y, dtype=np.float64)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self,
        X,
        y,
        *,
        group=None,
        qid=None,
        sample_weight=None,
        eval_set=None,
        eval_group=None,
        eval_qid=None,
        sample_weight_eval_set=None,
        verbose=False,
    ):
        """Fit the ranker.

        Parameters
        ----------
        X : array-like or sparse (n_samples, n_features); NaN marks missing values.
        y : array-like (n_samples,)
            Relevance degree of each document.
        group : array-like of int (n_queries,), default=None
            Query sizes, rows in query order (give ``group`` or ``qid``).
        qid : array-like (n_samples,), default=None
            Query id of each row (any order: rows are sorted by qid, stably).
        sample_weight : array-like (n_queries,), default=None
            One weight per query (XGBoost's convention), in increasing qid order.
        eval_set : list of (X, y), default=None
            Validation sets scored every round with ``eval_metric``.
        eval_group, eval_qid : list of array-like, default=None
            Queries of each ``eval_set`` entry, as ``group`` / ``qid``.
        sample_weight_eval_set : list of array-like, default=None
            Unused by the ranking metrics (accepted for XGBoost compatibility).
        verbose : bool, default=False
            Print the validation scores every round.
        """
        X, y, _ = self._check_X_y(X, y, None, y_numeric=True)
        qid = _check_queries(X.shape[0], group, qid)
        order, self._group_ptr = query_bounds(qid)
        n_queries = self._group_ptr.size - 1
        self._group_weight = None
        if sample_weight is not None:
            w = np.asarray(sample_weight, dtype=np.float64).ravel()
            if w.size != n_queries or np.any(w < 0) or not np.all(np.isfinite(w)):
                raise ValueError(
                    f"sample_weight must hold one finite non-negative weight per query "
                    f"({n_queries}), got {w.size} values"
                )
            self._group_weight = w
        X, y = X[order], np.asarray(y, dtype=np.float64)[order]
        if eval_set is not None:
            eval_set = self._eval_with_queries(eval_set, eval_group, eval_qid)
        return self._fit(X, y, None, eval_set, sample_weight_eval_set, verbose)

    def _eval_with_queries(self, eval_set, eval_group, eval_qid):
        groups = eval_group or [None] * len(eval_set)
        qids = eval_qid or [None] * len(eval_set)
        if len(groups) != len(eval_set) or len(qids) != len(eval_set):
            raise ValueError("eval_group / eval_qid need one entry per eval_set entry")
        out = []
        for i, ((Xe, ye), ge, qe) in enumerate(zip(eval_set, groups, qids, strict=True)):
            qe = _check_queries(len(ye), ge, qe, name=f"eval_qid[{i}]")
            out.append((Xe, np.column_stack([np.asarray(ye, dtype=np.float64), qe])))
        return out

    def predict(self, X, iteration_range=None, output_margin=False):
        """Ranking scores (higher: ranked first), shape (n_samples,)."""
        return self._raw_predict(X, iteration_range)[:, 0]

    def score(self, X, y, *, group=None, qid=None):
        """Mean NDCG over the queries (``ndcg@32``, or the full list with "mean" pairs)."""
        qid = _check_queries(len(y), group, qid)
        metric = METRIC_NAME.match(self._default_metric().replace("map", "ndcg"))
        k = int(metric.group(3)) if metric.group(3) else None
        return ranking_score("ndcg", y, self.predict(X), qid, k)
