"""Friedman gradient boosting on the shared histogram engine.

Each stage grows, per output, one least-squares tree on the negative gradient (engine targets
``g = -w * r``, ``h = w``, ``lambda = 0``: the gain is scikit-learn's ``friedman_mse``
improvement), then replaces the leaf values with the loss's line search over the in-bag rows
(``_losses``) times ``learning_rate``. ``X`` is binned once; the raw scores of the training
rows are updated from the leaf ids, so prediction on raw ``X`` is only needed for new data.

With ``monotonic_cst`` the trees are grown on the loss's Newton targets (``h = w * hessian``)
instead, so that the engine's monotone-bounded leaf values are the line-search values
themselves (squared error, log-loss, exponential; the quantile-type losses have no Newton
form and do not take constraints).
"""

import time
from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    RegressorMixin,
    _fit_context,
    clone,
    is_classifier,
)
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from skextras._engine._numba import njit
from skextras._engine.bundling import apply_binned
from skextras._engine.tree import predict_forest
from skextras.callback import (
    CallbackContainer,
    EarlyStopping,
    TrainingCallback,
    check_callbacks,
)
from skextras.ensemble._base import (
    N_JOBS_CONSTRAINT,
    HistInputMixin,
    check_monotonic_cst,
    check_sample_weight,
    check_X_y,
    resolve_n_threads,
)
from skextras.ensemble._forest import _TREE_CONSTRAINTS
from skextras.ensemble._losses import LeafFit, make_loss, run_blocks
from skextras.ensemble._persistence import JSONPersistMixin
from skextras.ensemble._sklearn_tree import EnsembleSequenceMixin, record_moments, sklearn_view
from skextras.ensemble._tree import (
    _seed_of,
    fit_bin_mapper,
    grow,
    make_tree_params,
    split_params,
)

_NEWTON_LOSSES = ("squared_error", "log_loss", "exponential")


@njit
def _add_leaf_values(raw, k, values, leaves):
    """``raw[:, k] += values[leaves]`` without the gathered temporary."""
    for i in range(leaves.shape[0]):
        raw[i, k] += values[leaves[i]]


def _add_tree(raw, k, values, leaves, n_threads):
    """``_add_leaf_values`` over row blocks on ``n_threads`` threads."""

    def task(b, start, stop):
        _add_leaf_values(raw[start:stop], k, values, leaves[start:stop])

    run_blocks(task, leaves.shape[0], n_threads)


def interaction_groups(interaction_cst, n_features):
    """sklearn-style ``interaction_cst`` as a list of feature-index lists (or None).

    "pairwise" allows every pair, "no_interactions" makes each feature its own group; features
    missing from explicit groups form one extra group, as in HistGradientBoosting.
    """
    if interaction_cst is None:
        return None
    if interaction_cst == "no_interactions":
        return [[j] for j in range(n_features)]
    if interaction_cst == "pairwise":
        return [[i, j] for i in range(n_features) for j in range(i + 1, n_features)]
    groups = [sorted({int(j) for j in group}) for group in interaction_cst]
    bad = [j for g in groups for j in g if not 0 <= j < n_features]
    if bad:
        raise ValueError(
            f"interaction_cst holds feature indices {bad} outside [0, {n_features - 1}]."
        )
    rest = sorted(set(range(n_features)) - {j for g in groups for j in g})
    return groups + ([rest] if rest else [])


def _fit_init(init, X, y, sample_weight):
    """Fit the ``init`` estimator, with ``sample_weight`` when given. An estimator whose
    ``fit`` takes no ``sample_weight`` is fitted without it when every weight is 1 (the
    same fit), else refused with scikit-learn's message."""
    if sample_weight is None:
        init.fit(X, y)
        return
    message = f"The initial estimator {type(init).__name__} does not support sample weights."
    try:
        init.fit(X, y, sample_weight=sample_weight)
    except (TypeError, ValueError) as exc:
        # a plain estimator's TypeError, or a Pipeline refusing fit parameters without a
        # step name
        unsupported = (
            "unexpected keyword argument 'sample_weight'"
            if isinstance(exc, TypeError)
            else "stepname__parameter"
        )
        if unsupported not in str(exc):
            raise
        if not np.all(sample_weight == 1.0):
            raise ValueError(message) from exc
        init.fit(X, y)


class _VerboseReporter(TrainingCallback):
    """scikit-learn's ``verbose`` output of gradient boosting: a header, then one line per
    reported stage (``Iter``, ``Train Loss``, ``OOB Improve`` when ``subsample < 1``,
    ``Remaining Time``); ``verbose=1`` reports stages 1-10, then every 10th up to 100,
    every 100th up to 1000, ...; ``verbose > 1`` every stage."""

    def __init__(self, verbose, begin):
        self.verbose = verbose
        self.begin = begin

    def before_training(self, model):
        fields = ["Iter", "Train Loss"]
        self.formats = ["{iter:>10d}", "{train_score:>16.4f}"]
        if model.subsample < 1:
            fields.append("OOB Improve")
            self.formats.append("{oob_impr:>16.4f}")
        fields.append("Remaining Time")
        self.formats.append("{remaining_time:>16s}")
        print(("%10s " + "%16s " * (len(fields) - 1)) % tuple(fields))
        self.period = 1
        self.start = time.time()
        return model

    def after_iteration(self, model, iteration, evals_log):
        done = iteration - self.begin + 1
        if done % self.period:
            return False
        left = (model.n_estimators - iteration - 1) * (time.time() - self.start) / done
        left = f"{left / 60:.2f}m" if left > 60 else f"{left:.2f}s"
        oob = model.oob_improvement_[iteration] if model.subsample < 1 else 0
        print(
            " ".join(self.formats).format(
                iter=iteration + 1,
                train_score=model.train_score_[iteration],
                oob_impr=oob,
                remaining_time=left,
            )
        )
        if self.verbose == 1 and done // (self.period * 10) > 0:
            self.period *= 10
        return False


class _Monitor(TrainingCallback):
    """``fit(monitor=...)``: ``monitor(i, model, frame)`` with the loop's ``locals()``
    (``frame``, set by the loop each stage); True stops boosting."""

    def __init__(self, monitor):
        self.monitor = monitor
        self.frame = {}

    def after_iteration(self, model, iteration, evals_log):
        return bool(self.monitor(iteration, model, self.frame))


class _BaseGradientBoosting(EnsembleSequenceMixin, HistInputMixin, JSONPersistMixin, BaseEstimator):
    _parameter_constraints: dict = {
        **_TREE_CONSTRAINTS,
        "learning_rate": [Interval(Real, 0.0, None, closed="left")],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "subsample": [Interval(Real, 0.0, 1.0, closed="right")],
        "init": [StrOptions({"zero"}), None, HasMethods(["fit", "predict"])],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "validation_fraction": [Interval(Real, 0.0, 1.0, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), None],
        "tol": [Interval(Real, 0.0, None, closed="left")],
        "interaction_cst": [list, tuple, StrOptions({"pairwise", "no_interactions"}), None],
        "n_jobs": N_JOBS_CONSTRAINT,
        "callbacks": [list, None],
    }

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, monitor=None):
        """Fit the boosted ensemble.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; NaN marks a missing value.
        y : array-like of shape (n_samples,)
            Class labels or real targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights.
        monitor : callable, default=None
            scikit-learn's monitor: called after each stage ``i`` (0-based) as
            ``monitor(i, self, locals())``, with ``train_score_`` (and with ``subsample <
            1`` ``oob_improvement_`` / ``oob_scores_``) and ``estimators_`` holding the
            stages so far; ``locals()`` is the stage loop's variables (``raw_predictions``,
            ``sample_weight``, ``sample_mask``, ...). Returning True stops boosting after
            stage ``i``; ``estimators_`` then holds ``i + 1`` stages.

        Returns
        -------
        self : object
        """
        weighted = sample_weight is not None
        X, y, sample_weight = check_X_y(self, X, y, sample_weight)
        y = self._encode_y(y)
        sample_weight = check_sample_weight(sample_weight, X)
        self._loss = self._make_loss()
        self._check_constraints()
        if self.n_iter_no_change is not None:
            X, X_val, y, y_val, sample_weight, w_val = train_test_split(
                X,
                y,
                sample_weight,
                random_state=self.random_state,
                test_size=self.validation_fraction,
                stratify=y if self._loss.is_classification else None,
            )
            if self._loss.is_classification and np.unique(y).size != self.n_classes_:
                raise ValueError(
                    "The training data after the early stopping split is missing some "
                    "classes. Try using another random seed."
                )
            val = (X_val, y_val, w_val)
        else:
            val = None
        warm = self.warm_start and hasattr(self, "_bin_mapper")
        if not warm:
            self._init_state(X, y, sample_weight, weighted)
        elif self.n_estimators < len(self._trees):
            raise ValueError(
                f"n_estimators={self.n_estimators} must be larger or equal to "
                f"estimators_.shape[0]={len(self._trees)} when warm_start==True"
            )
        # sparse features that never meet in a row share a column (``bundling``)
        X_binned = self._bin_mapper.transform(X, bundle=True)
        raw = self._raw_predict(X)
        # One BLAS thread: any n-vector BLAS call would wake OpenBLAS threads that spin against
        # the engine's threads (up to 10 ms per call on a busy 2-core machine, against 10 us).
        with threadpool_limits(limits=1, user_api="blas"):
            n_stages = self._fit_stages(X_binned, y, sample_weight, raw, val, monitor)
        self._finish(n_stages)
        return self

    def _init_state(self, X, y, sample_weight, weighted):
        self._seed = _seed_of(self.random_state)
        self._rng = np.random.default_rng([self._seed, 1])
        self._bin_mapper = fit_bin_mapper(X, sample_weight, self.max_bin, self._seed)
        if self.init is None:
            self.init_ = None
            self._init_raw = self._loss.init_raw(y, sample_weight, weighted)
        elif self.init == "zero":
            self.init_ = "zero"
            self._init_raw = np.zeros(self.n_trees_per_iteration_)
        else:
            self.init_ = clone(self.init)
            labels = self.classes_[y] if self._loss.is_classification else y
            _fit_init(self.init_, X, labels, sample_weight if weighted else None)
        self._trees = []
        self.train_score_ = np.zeros(0)
        if self.subsample < 1.0:
            self.oob_improvement_ = np.zeros(0)
            self.oob_scores_ = np.zeros(0)

    def _raw_init(self, X):
        n = X.shape[0]
        if self.init_ is None or self.init_ == "zero":
            return np.tile(self._init_raw, (n, 1)).astype(np.float64)
        if self._loss.is_classification:
            p = self.init_.predict_proba(X)
            return self._loss.link(p if self.n_trees_per_iteration_ > 1 else p[:, 1])
        return self._loss.link(np.asarray(self.init_.predict(X), dtype=np.float64))

    def _raw_predict(self, X, n_stages=None):
        raw = self._raw_init(X)
        trees = [t for stage in self._trees[:n_stages] for t in stage]
        if trees:
            raw += predict_forest(
                trees,
                X,
                n_threads=resolve_n_threads(self.n_jobs),
                tree_output=self._tree_outputs(len(trees)),
                n_outputs=self.n_trees_per_iteration_,
            )
        return raw

    def _tree_outputs(self, n_trees):
        return np.tile(
            np.arange(self.n_trees_per_iteration_), n_trees // self.n_trees_per_iteration_
        )

    def _fit_stages(self, X_binned, y, weight, raw, val, monitor=None):
        n = y.shape[0]
        loss = self._loss
        params = self._params(weight, (n, len(self._bin_mapper.bin_thresholds_)))
        n_inbag = max(1, int(self.subsample * n))
        val_raw = self._raw_predict(val[0]) if val is not None else None
        begin = len(self._trees)
        scores, oob_scores = [], []
        evals_log = {"train": {self.loss: scores}}
        if val is not None:
            evals_log["validation_0"] = {self.loss: []}
        for name in ("best_iteration_", "best_score_"):
            self.__dict__.pop(name, None)
        reported = (self.train_score_, getattr(self, "oob_improvement_", None))
        reported += (getattr(self, "oob_scores_", None), [])
        monitor_callback = None if monitor is None else _Monitor(monitor)
        callbacks = self._callbacks()
        if self.verbose:
            callbacks.append(_VerboseReporter(self.verbose, begin))
        if monitor_callback is not None:
            callbacks.append(monitor_callback)
        callbacks = CallbackContainer(callbacks + self._early_stopping())
        callbacks.before_training(self)
        prev_oob = None
        # The negative gradient at ``raw``, computed with each stage's score when the loss
        # allows it (one pass over the rows instead of two).
        neg = np.empty((n, self.n_trees_per_iteration_))
        fresh = False
        n_threads = resolve_n_threads(self.n_jobs)
        cache = {}  # the engine's row-major bins and histogram memory, for every stage's trees
        for stage in range(begin, self.n_estimators):
            mask = None
            if self.subsample < 1.0:
                mask = np.zeros(n, dtype=bool)
                mask[self._rng.choice(n, n_inbag, replace=False)] = True
                if prev_oob is None:
                    prev_oob = loss.scores(y, raw, weight, mask, n_threads=n_threads)[1]
            if not fresh:
                loss.prepare_stage(y, raw, weight)
                loss.scores(y, raw, weight, neg_out=neg, n_threads=n_threads)
            trees = self._fit_stage(
                stage, X_binned, y, weight, raw, neg, mask, params, n_threads, cache
            )
            self._trees.append(trees)
            fresh = loss.gradient_after_score
            train, oob = loss.scores(y, raw, weight, mask, neg if fresh else None, n_threads)
            scores.append(train)
            if mask is not None:
                oob_scores.append((prev_oob - oob, oob))
                prev_oob = oob
            if val is not None:
                val_raw += self._stage_raw(trees, val[0])
                evals_log["validation_0"][self.loss].append(loss.score(val[1], val_raw, val[2]))
            if self.verbose or monitor_callback is not None:
                self._report(reported, scores, oob_scores, monitor_callback is not None)
            if monitor_callback is not None:
                # scikit-learn's names for the stage loop's variables, for the monitor
                i, raw_predictions, sample_weight, sample_mask = stage, raw, weight, mask
                monitor_callback.frame = locals()
                del i, raw_predictions, sample_weight, sample_mask
            if callbacks.after_iteration(self, stage, evals_log):
                break
        self._report(reported, scores, oob_scores)
        callbacks.after_training(self)
        return len(self._trees)

    def _report(self, reported, scores, oob_scores, with_estimators=False):
        """Publish the scores of the stages so far (``reported``: the arrays of earlier
        fits, then the views of this fit's stages) as ``train_score_``, ``oob_*``; with
        ``with_estimators``, ``estimators_`` too (for a monitor)."""
        train, improvement, oob, views = reported
        self.train_score_ = np.concatenate([train, scores])
        if self.subsample < 1.0 and oob_scores:
            new_improvement, new_oob = np.array(oob_scores).T
            self.oob_improvement_ = np.concatenate([improvement, new_improvement])
            self.oob_scores_ = np.concatenate([oob, new_oob])
        if with_estimators:
            for stage in self._trees[len(views) :]:
                views.append(
                    [
                        sklearn_view(
                            tree,
                            self,
                            criterion="friedman_mse",
                            value_scale=1.0 / self.learning_rate,
                        )
                        for tree in stage
                    ]
                )
            self.estimators_ = np.empty((len(views), self.n_trees_per_iteration_), dtype=object)
            self.estimators_[:] = views

    def _callbacks(self):
        """The user's ``callbacks``."""
        return check_callbacks(self.callbacks)

    def _early_stopping(self):
        """Early stopping for ``n_iter_no_change`` (after the user's callbacks, ``verbose``
        and ``monitor``, as scikit-learn orders them): scikit-learn's rule (a stage must
        beat the worst of the ``n_iter_no_change`` before it by ``tol``),
        :class:`~skextras.callback.EarlyStopping` with ``window=True``."""
        if self.n_iter_no_change is None:
            return []
        return [
            EarlyStopping(
                rounds=self.n_iter_no_change,
                data_name="validation_0",
                maximize=False,
                min_delta=self.tol,
                window=True,
            )
        ]

    def _checkpoint(self, stage):
        return stage

    def _restore_checkpoint(self, stage):
        """``save_best``: drop the stages after ``stage``."""
        self._trees = self._trees[: stage + 1]
        for name in ("train_score_", "oob_improvement_", "oob_scores_"):
            if hasattr(self, name):
                setattr(self, name, getattr(self, name)[: stage + 1])

    def _fit_stage(self, stage, X_binned, y, weight, raw, neg, mask, params, n_threads, cache):
        """Grow the stage's trees on ``neg`` (the negative gradient at the stage's start) and
        add them to ``raw`` in place."""
        w = weight if mask is None else weight * mask
        X_oob = None if mask is None else X_binned[~mask]
        grad = np.empty(y.shape[0])
        trees = []
        for k in range(self.n_trees_per_iteration_):
            r = neg[:, k]
            h = w * self._newton_hessian(y, raw, r, k) if self._newton else w
            np.negative(np.multiply(w, r, out=grad), out=grad)
            tree, leaves = grow(
                X_binned,
                grad,
                h,
                self._bin_mapper,
                params,
                [self._seed, stage, k],
                sample_mask=mask,
                n_threads=n_threads,
                return_leaf_of_row=True,
                cache=cache,
            )
            if mask is not None:
                leaves[~mask] = apply_binned(tree, X_oob, self._bin_mapper, n_threads=1)
            if self._newton:
                update = tree.value[:, 0] * self._newton_scale()
            else:
                fit = LeafFit(leaves, tree.n_nodes, tree.value[:, 0], tree.cover, mask, n_threads)
                update = self._loss.line_search(fit, y, raw[:, k], r, w, k)
            tree.value = (self.learning_rate * update).reshape(-1, 1)
            _add_tree(raw, k, tree.value[:, 0], leaves, n_threads)
            record_moments(tree, leaves, r, w)
            trees.append(tree)
        return trees

    def _newton_hessian(self, y, raw, neg_k, k):
        name = self.loss
        if name == "squared_error":
            return np.ones(y.shape[0])
        if name == "exponential":
            return np.abs(neg_k)
        proba = self._loss.proba(raw)
        p = proba[:, k] if self.n_trees_per_iteration_ > 1 else proba[:, 1]
        return p * (1 - p)

    def _newton_scale(self):
        K = self.n_trees_per_iteration_
        return (K - 1) / K if K > 1 else 1.0

    def _stage_raw(self, trees, X):
        return predict_forest(
            trees,
            X,
            n_threads=resolve_n_threads(self.n_jobs),
            tree_output=np.arange(len(trees)),
            n_outputs=self.n_trees_per_iteration_,
        )

    def _finish(self, n_stages):
        self._trees = self._trees[:n_stages]
        self.n_estimators_ = n_stages
        self.estimators_ = np.empty((n_stages, self.n_trees_per_iteration_), dtype=object)
        for i, stage in enumerate(self._trees):
            for k, tree in enumerate(stage):
                self.estimators_[i, k] = sklearn_view(
                    tree, self, criterion="friedman_mse", value_scale=1.0 / self.learning_rate
                )
        if self.subsample < 1.0:
            self.oob_score_ = self.oob_scores_[-1] if self.oob_scores_.size else np.nan

    def _params(self, weight, shape):
        return make_tree_params(
            total_weight=weight.sum(),
            **split_params(self),
            min_weight_fraction_leaf=self.min_weight_fraction_leaf,
            n_samples=shape[0],
            n_features=shape[1],
            criterion="squared_error",
            monotonic_cst=self.monotonic_cst,
            interaction_cst=interaction_groups(self.interaction_cst, shape[1]),
        )

    @property
    def _newton(self):
        return self.monotonic_cst is not None

    def _check_constraints(self):
        if self.monotonic_cst is None:
            return
        check_monotonic_cst(self)
        if self.loss not in _NEWTON_LOSSES:
            raise ValueError(
                f"monotonic_cst is supported with loss in {_NEWTON_LOSSES}, got loss={self.loss!r}."
            )

    def _learned_state(self):
        if self.init_ not in (None, "zero"):
            raise ValueError("save_model supports init=None or 'zero', not an init estimator.")
        learned = {
            "init_": self.init_,
            "init_raw": self._init_raw,
            "n_trees_per_iteration_": self.n_trees_per_iteration_,
            "train_score_": self.train_score_,
        }
        if hasattr(self, "classes_"):
            learned.update(classes_=self.classes_, n_classes_=self.n_classes_)
        for name in ("oob_improvement_", "oob_scores_", "oob_score_"):
            if hasattr(self, name):
                learned[name] = getattr(self, name)
        return learned, [tree for stage in self._trees for tree in stage]

    def _restore_state(self, learned, trees):
        """Learned attributes from a checked ``LearnedState`` and validated trees."""
        self.init_ = learned.raw("init_")
        if self.init_ not in (None, "zero"):
            raise learned._error("init_", "must be null or 'zero'", self.init_)
        expected = 1
        if is_classifier(self):
            self.classes_ = learned.classes()
            self.n_classes_ = learned.integer("n_classes_", self.classes_.size, self.classes_.size)
            expected = 1 if self.n_classes_ <= 2 else self.n_classes_
        self.n_trees_per_iteration_ = K = learned.integer(
            "n_trees_per_iteration_", expected, expected
        )
        self._init_raw = learned.array("init_raw", (K,))
        self.train_score_ = learned.array("train_score_", (None,), allow_nan=True)
        learned.check_width(trees, (1,), "gradient boosting (one output per tree)")
        if len(trees) % K:
            raise ValueError(
                f"{learned.source}: {len(trees)} trees is not a multiple of "
                f"n_trees_per_iteration_={K}"
            )
        for name in ("oob_improvement_", "oob_scores_"):
            if name in learned:
                setattr(self, name, learned.array(name, (None,), allow_nan=True))
        if "oob_score_" in learned:
            self.oob_score_ = learned.real("oob_score_", allow_nan=True)
        self._loss = self._make_loss()
        self._trees = [trees[i : i + K] for i in range(0, len(trees), K)]
        self._finish(len(self._trees))

    def _raw_checked(self, X):
        check_is_fitted(self)
        return self._raw_predict(self._check_X(X, reset=False))

    def _staged_raw(self, X):
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        raw = self._raw_init(X)
        for stage in self._trees:
            raw = raw + self._stage_raw(stage, X)
            yield raw

    @property
    def feature_importances_(self):
        """Impurity importances: gain per feature over the trees, normalised to sum 1."""
        check_is_fitted(self)
        total = np.zeros(self.n_features_in_)
        n_relevant = 0
        for stage in self._trees:
            stage_sum = np.zeros(self.n_features_in_)
            for tree in stage:
                internal = tree.left >= 0
                stage_sum += np.bincount(
                    tree.feature[internal],
                    weights=tree.gain[internal],
                    minlength=self.n_features_in_,
                ) / max(tree.cover[0], 1e-300)
            if any(t.n_nodes > 1 for t in stage):
                total += stage_sum / len(stage)
                n_relevant += 1
        if n_relevant == 0 or total.sum() == 0:
            return np.zeros(self.n_features_in_)
        return total / total.sum()

    def apply(self, X):
        """Leaf id of each row in each tree, shape (n_samples, n_estimators_, K)."""
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        out = np.empty((X.shape[0], *self.estimators_.shape), dtype=np.int64)
        for i, stage in enumerate(self._trees):
            for k, tree in enumerate(stage):
                out[:, i, k] = tree.apply(X)
        return out


class GradientBoostingClassifier(ClassifierMixin, _BaseGradientBoosting):
    """Friedman gradient boosting for classification on the shared histogram engine.

    Trees are fit to the negative gradient of the log-loss (one tree per class for K > 2)
    or exponential loss, and their leaves are set by one Newton step per leaf, exactly as in
    scikit-learn's ``GradientBoostingClassifier``; splits are searched over ``max_bin``
    histogram bins instead of every distinct value.

    Parameters
    ----------
    loss : {"log_loss", "exponential"}, default="log_loss"
        Binomial / multinomial deviance, or the AdaBoost exponential loss (binary only).
    learning_rate : float, default=0.1
        Shrinks each tree's contribution.
    n_estimators : int, default=100
        Number of boosting stages.
    subsample : float, default=1.0
        Fraction of rows drawn (without replacement) for each stage; < 1 also reports
        ``oob_improvement_``.
    min_samples_split : int or float, default=2
        Minimum rows to split a node (float: fraction).
    min_samples_leaf : int or float, default=1
        Minimum rows per child (float: fraction).
    min_weight_fraction_leaf : float, default=0.0
        Minimum fraction of the total weight per child.
    max_depth : int or None, default=3
        Maximum depth of each tree.
    min_impurity_decrease : float, default=0.0
        Minimum weighted squared-error decrease to split.
    init : estimator, "zero" or None, default=None
        Initial model: None is the class prior, "zero" raw zeros, or an estimator with
        ``predict_proba``.
    random_state : int, RandomState instance or None, default=None
        Seeds binning, subsampling, feature draws and the early-stopping split.
    max_features : {"sqrt", "log2"}, int, float or None, default=None
        Features drawn per node.
    verbose : int, default=0
        Print the progress as scikit-learn does: a header ``Iter  Train Loss  [OOB
        Improve]  Remaining Time``, then a line per stage (1: stages 1-10, then every
        10th, every 100th, ...; > 1: every stage).
    max_leaf_nodes : int or None, default=None
        Grow best-first up to this many leaves.
    warm_start : bool, default=False
        Keep the fitted stages and add more up to ``n_estimators``.
    validation_fraction : float, default=0.1
        Held-out fraction (stratified) for early stopping.
    n_iter_no_change : int or None, default=None
        Stop when the validation loss has not improved by ``tol`` for this many stages.
    tol : float, default=1e-4
        Early-stopping tolerance.
    max_bin : int, default=256
        Histogram bins per feature, including the missing-value bin.
    monotonic_cst : array-like of int of shape (n_features,), default=None
        -1 / 0 / 1 constraint on the positive-class score per feature (binary, or per class
        score for K > 2); trees are then grown on Newton targets.
    interaction_cst : list of lists of int, "pairwise", "no_interactions" or None, default=None
        Groups of features allowed to interact along a branch.
    n_jobs : int or None, default=None
        Threads for histogram building and prediction: None is 1 unless inside
        ``joblib.parallel_config(n_jobs=...)``, -1 all cores, -2 all but one.
    callbacks : list of :class:`~skextras.callback.TrainingCallback`, default=None
        Called before training, after every stage (``after_iteration(model, stage,
        evals_log)`` returning True stops) and after training. ``evals_log`` holds
        ``{"train": {loss: [...]}}`` and, with ``n_iter_no_change``, the held-out loss as
        ``"validation_0"``; ``n_iter_no_change`` adds an
        :class:`~skextras.callback.EarlyStopping` after them.

    Attributes
    ----------
    estimators_ : ndarray of Tree of shape (n_estimators_, K)
        The fitted trees (engine flat arrays; values include the learning rate).
    n_estimators_ : int
        Number of stages fitted (fewer with early stopping).
    train_score_ : ndarray of shape (n_estimators_,)
        Training (in-bag) loss after each stage.
    oob_improvement_ : ndarray of shape (n_estimators_,)
        Out-of-bag loss decrease of each stage (``subsample < 1``).
    oob_scores_ : ndarray of shape (n_estimators_,)
        Out-of-bag loss after each stage (``subsample < 1``).
    oob_score_ : float
        Last out-of-bag loss (``subsample < 1``).
    init_ : estimator, "zero" or None
        The fitted init estimator (None: the constant prior).
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_classes_ : int
        Number of classes.
    n_trees_per_iteration_ : int
        1 for binary problems, K otherwise.
    feature_importances_ : ndarray of shape (n_features,)
        Normalised impurity importances.
    n_features_in_ : int
        Number of features seen in ``fit``.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from skextras.ensemble import GradientBoostingClassifier
    >>> X, y = make_classification(n_samples=200, random_state=0)
    >>> clf = GradientBoostingClassifier(n_estimators=20, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    _parameter_constraints: dict = {
        **_BaseGradientBoosting._parameter_constraints,
        "loss": [StrOptions({"log_loss", "exponential"})],
    }

    def __init__(
        self,
        *,
        loss="log_loss",
        learning_rate=0.1,
        n_estimators=100,
        subsample=1.0,
        min_samples_split=2,
        min_samples_leaf=1,
        min_weight_fraction_leaf=0.0,
        max_depth=3,
        min_impurity_decrease=0.0,
        init=None,
        random_state=None,
        max_features=None,
        verbose=0,
        max_leaf_nodes=None,
        warm_start=False,
        validation_fraction=0.1,
        n_iter_no_change=None,
        tol=1e-4,
        max_bin=256,
        monotonic_cst=None,
        interaction_cst=None,
        n_jobs=None,
        callbacks=None,
    ):
        self.loss = loss
        self.learning_rate = learning_rate
        self.n_estimators = n_estimators
        self.subsample = subsample
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.min_weight_fraction_leaf = min_weight_fraction_leaf
        self.max_depth = max_depth
        self.min_impurity_decrease = min_impurity_decrease
        self.init = init
        self.random_state = random_state
        self.max_features = max_features
        self.verbose = verbose
        self.max_leaf_nodes = max_leaf_nodes
        self.warm_start = warm_start
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.max_bin = max_bin
        self.monotonic_cst = monotonic_cst
        self.interaction_cst = interaction_cst
        self.n_jobs = n_jobs
        self.callbacks = callbacks

    def _encode_y(self, y):
        check_classification_targets(y)
        # np.unique without the inverse hashes instead of sorting all rows: several times faster.
        classes = np.unique(y)
        codes = np.searchsorted(classes, y)
        if self.warm_start and hasattr(self, "classes_"):
            if not np.array_equal(classes, self.classes_):
                raise ValueError("warm_start needs the same classes as the first fit.")
        self.classes_ = classes
        self.n_classes_ = len(classes)
        if self.n_classes_ < 2:
            raise ValueError(
                f"y contains {self.n_classes_} class; GradientBoostingClassifier needs at "
                "least 2 classes."
            )
        self.n_trees_per_iteration_ = 1 if self.n_classes_ == 2 else self.n_classes_
        return codes

    def _make_loss(self):
        return make_loss(self.loss, self.n_classes_)

    def decision_function(self, X):
        """Raw scores, shape (n_samples,) for binary problems else (n_samples, n_classes)."""
        raw = self._raw_checked(X)
        return raw[:, 0] if raw.shape[1] == 1 else raw

    def staged_decision_function(self, X):
        """Raw scores after each stage (generator)."""
        for raw in self._staged_raw(X):
            yield raw[:, 0] if raw.shape[1] == 1 else raw

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes)."""
        raw = self._raw_checked(X)
        return self._loss.proba(raw)

    def predict_log_proba(self, X):
        """Logarithm of ``predict_proba``."""
        return np.log(self.predict_proba(X))

    def staged_predict_proba(self, X):
        """Class probabilities after each stage (generator)."""
        for raw in self._staged_raw(X):
            yield self._loss.proba(raw)

    def predict(self, X):
        """Most probable class, shape (n_samples,)."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def staged_predict(self, X):
        """Predicted classes after each stage (generator)."""
        for proba in self.staged_predict_proba(X):
            yield self.classes_[np.argmax(proba, axis=1)]

    def staged_score(self, X, y, sample_weight=None):
        """Accuracy after each stage (generator of floats)."""
        for pred in self.staged_predict(X):
            yield accuracy_score(y, pred, sample_weight=sample_weight)


class GradientBoostingRegressor(RegressorMixin, _BaseGradientBoosting):
    """Friedman gradient boosting for regression on the shared histogram engine.

    Trees are fit to the negative gradient of the loss; leaves are set by the loss's line
    search (mean, median, huber step, quantile), exactly as scikit-learn's
    ``GradientBoostingRegressor``; splits are searched over ``max_bin`` histogram bins.

    Parameters
    ----------
    loss : {"squared_error", "absolute_error", "huber", "quantile"}, default="squared_error"
        Loss to minimise.
    learning_rate : float, default=0.1
        Shrinks each tree's contribution.
    n_estimators : int, default=100
        Number of boosting stages.
    subsample : float, default=1.0
        Fraction of rows drawn (without replacement) for each stage.
    min_samples_split : int or float, default=2
        Minimum rows to split a node (float: fraction).
    min_samples_leaf : int or float, default=1
        Minimum rows per child (float: fraction).
    min_weight_fraction_leaf : float, default=0.0
        Minimum fraction of the total weight per child.
    max_depth : int or None, default=3
        Maximum depth of each tree.
    min_impurity_decrease : float, default=0.0
        Minimum weighted squared-error decrease to split.
    init : estimator, "zero" or None, default=None
        Initial model: None is the loss's optimal constant (mean, median or alpha-quantile).
    random_state : int, RandomState instance or None, default=None
        Seeds binning, subsampling, feature draws and the early-stopping split.
    max_features : {"sqrt", "log2"}, int, float or None, default=None
        Features drawn per node.
    alpha : float, default=0.9
        Quantile of the "quantile" loss, and of ``|residual|`` for huber's delta.
    verbose : int, default=0
        Print the progress as scikit-learn does: a header ``Iter  Train Loss  [OOB
        Improve]  Remaining Time``, then a line per stage (1: stages 1-10, then every
        10th, every 100th, ...; > 1: every stage).
    max_leaf_nodes : int or None, default=None
        Grow best-first up to this many leaves.
    warm_start : bool, default=False
        Keep the fitted stages and add more up to ``n_estimators``.
    validation_fraction : float, default=0.1
        Held-out fraction for early stopping.
    n_iter_no_change : int or None, default=None
        Stop when the validation loss has not improved by ``tol`` for this many stages.
    tol : float, default=1e-4
        Early-stopping tolerance.
    max_bin : int, default=256
        Histogram bins per feature, including the missing-value bin.
    monotonic_cst : array-like of int of shape (n_features,), default=None
        -1 / 0 / 1 constraint per feature (squared error only).
    interaction_cst : list of lists of int, "pairwise", "no_interactions" or None, default=None
        Groups of features allowed to interact along a branch.
    n_jobs : int or None, default=None
        Threads for histogram building and prediction: None is 1 unless inside
        ``joblib.parallel_config(n_jobs=...)``, -1 all cores, -2 all but one.
    callbacks : list of :class:`~skextras.callback.TrainingCallback`, default=None
        Called before training, after every stage (``after_iteration(model, stage,
        evals_log)`` returning True stops) and after training. ``evals_log`` holds
        ``{"train": {loss: [...]}}`` and, with ``n_iter_no_change``, the held-out loss as
        ``"validation_0"``; ``n_iter_no_change`` adds an
        :class:`~skextras.callback.EarlyStopping` after them.

    Attributes
    ----------
    estimators_ : ndarray of Tree of shape (n_estimators_, 1)
        The fitted trees (engine flat arrays; values include the learning rate).
    n_estimators_ : int
        Number of stages fitted (fewer with early stopping).
    train_score_ : ndarray of shape (n_estimators_,)
        Training (in-bag) loss after each stage.
    oob_improvement_ : ndarray of shape (n_estimators_,)
        Out-of-bag loss decrease of each stage (``subsample < 1``).
    oob_scores_ : ndarray of shape (n_estimators_,)
        Out-of-bag loss after each stage (``subsample < 1``).
    oob_score_ : float
        Last out-of-bag loss (``subsample < 1``).
    init_ : estimator, "zero" or None
        The fitted init estimator (None: the constant).
    feature_importances_ : ndarray of shape (n_features,)
        Normalised impurity importances.
    n_features_in_ : int
        Number of features seen in ``fit``.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skextras.ensemble import GradientBoostingRegressor
    >>> X, y = make_regression(n_samples=200, n_features=4, random_state=0)
    >>> reg = GradientBoostingRegressor(n_estimators=20, random_state=0).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
    """

    _parameter_constraints: dict = {
        **_BaseGradientBoosting._parameter_constraints,
        "loss": [StrOptions({"squared_error", "absolute_error", "huber", "quantile"})],
        "alpha": [Interval(Real, 0.0, 1.0, closed="neither")],
    }

    def __init__(
        self,
        *,
        loss="squared_error",
        learning_rate=0.1,
        n_estimators=100,
        subsample=1.0,
        min_samples_split=2,
        min_samples_leaf=1,
        min_weight_fraction_leaf=0.0,
        max_depth=3,
        min_impurity_decrease=0.0,
        init=None,
        random_state=None,
        max_features=None,
        alpha=0.9,
        verbose=0,
        max_leaf_nodes=None,
        warm_start=False,
        validation_fraction=0.1,
        n_iter_no_change=None,
        tol=1e-4,
        max_bin=256,
        monotonic_cst=None,
        interaction_cst=None,
        n_jobs=None,
        callbacks=None,
    ):
        self.loss = loss
        self.learning_rate = learning_rate
        self.n_estimators = n_estimators
        self.subsample = subsample
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.min_weight_fraction_leaf = min_weight_fraction_leaf
        self.max_depth = max_depth
        self.min_impurity_decrease = min_impurity_decrease
        self.init = init
        self.random_state = random_state
        self.max_features = max_features
        self.alpha = alpha
        self.verbose = verbose
        self.max_leaf_nodes = max_leaf_nodes
        self.warm_start = warm_start
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.max_bin = max_bin
        self.monotonic_cst = monotonic_cst
        self.interaction_cst = interaction_cst
        self.n_jobs = n_jobs
        self.callbacks = callbacks

    def _encode_y(self, y):
        self.n_trees_per_iteration_ = 1
        return np.asarray(y, dtype=np.float64)

    def _make_loss(self):
        return make_loss(self.loss, alpha=self.alpha)

    def predict(self, X):
        """Predicted values, shape (n_samples,)."""
        return self._raw_checked(X)[:, 0]

    def staged_predict(self, X):
        """Predictions after each stage (generator)."""
        for raw in self._staged_raw(X):
            yield raw[:, 0]

    def staged_score(self, X, y, sample_weight=None):
        """R² after each stage (generator of floats)."""
        for pred in self.staged_predict(X):
            yield r2_score(y, pred, sample_weight=sample_weight)
