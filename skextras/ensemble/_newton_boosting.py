"""XGBoost-style second-order gradient boosting: NewtonBoostingClassifier / Regressor.

Each round computes the objective's gradients and hessians at the current raw scores, grows
one histogram tree per output on them (``skextras._engine``) and adds the tree's leaf values to
the training rows' scores through the rows' leaf assignment. Parameter names and meanings are
XGBoost's; split gain, leaf weight, ``gamma`` and ``max_delta_step`` follow specs/trees.md.
"""

import functools
import inspect
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    RegressorMixin,
    _fit_context,
    is_classifier,
)
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from .._engine._numba import threads
from .._engine.binning import BinMapper
from .._engine.bundling import predict_binned
from .._engine.grower import TreeParams, add_leaf_values, grow_tree
from .._engine.objectives import (
    REGRESSION_OBJECTIVES,
    Custom,
    Logistic,
    MultiTarget,
    Softmax,
)
from .._engine.shap import shap_forest
from .._engine.tree import apply_forest, predict_forest
from ..callback import (
    CallbackContainer,
    EarlyStopping,
    EvaluationMonitor,
    ProgressBar,
    check_callbacks,
)
from ._base import (
    IMPORTANCE_TYPES,
    N_JOBS_CONSTRAINT,
    HistInputMixin,
    check_target_range,
    check_X,
    check_X_y,
    feature_importances,
    load_model_json,
    resolve_metrics,
    resolve_n_threads,
    save_model_json,
    staged_raw_predictions,
    warn_float32_gains,
)
from ._persistence import check_loaded_params
from ._plot import TreesToDataFrameMixin

_DEFAULT_METRIC = {
    "reg:squarederror": "rmse",
    "reg:absoluteerror": "mae",
    "reg:pseudohubererror": "mphe",
    "count:poisson": "poisson-nloglik",
    "reg:gamma": "gamma-nloglik",
    "reg:tweedie": "tweedie-nloglik",
    "binary:logistic": "logloss",
    "multi:softprob": "mlogloss",
    "multi:softmax": "mlogloss",
    "rank:ndcg": "ndcg@32",
    "rank:pairwise": "ndcg@32",
    "rank:map": "map@32",
    "reg:quantileerror": "quantile",
}


# XGBoost's tree methods: "hist" (and "auto", its default) is what the engine grows.
_TREE_METHODS = ("auto", "hist", "exact", "approx", "gpu_hist")
# native names XGBoost accepts through **kwargs -> the scikit-learn parameter they set
_ALIASES = {
    "eta": "learning_rate",
    "lambda": "reg_lambda",
    "alpha": "reg_alpha",
    "min_split_loss": "gamma",
}
_ALIAS_OF = {target: alias for alias, target in _ALIASES.items()}
# parameters of the scikit-learn wrapper that are not booster parameters (get_xgb_params)
_WRAPPER_PARAMS = {
    "importance_type",
    "kwargs",
    "missing",
    "n_estimators",
    "early_stopping_rounds",
    "callbacks",
    "n_iter_no_change",
    "validation_fraction",
}


def _signature_default(cls, name):
    return inspect.signature(cls.__init__).parameters[name].default


def _as_random_state(random_state):
    """``random_state`` as ``check_random_state`` takes it: a numpy Generator gives a seed
    drawn from it (XGBoost's convention: each fit draws a new one, deterministically)."""
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(np.iinfo(np.int32).max))
    return random_state


def _on_class_labels(eval_metric):
    """``eval_metric`` with each callable given the predicted class labels (float, (n,))
    instead of the probabilities: what XGBoost passes to one under ``multi:softmax``."""

    def wrap(metric):
        if not callable(metric):
            return metric

        @functools.wraps(metric)
        def on_labels(y_true, proba, **kwargs):
            return metric(y_true, np.argmax(proba, axis=1).astype(np.float64), **kwargs)

        return on_labels

    if isinstance(eval_metric, list):
        return [wrap(m) for m in eval_metric]
    return wrap(eval_metric)


def _fraction():
    return [Interval(Real, 0, 1, closed="right")]


class _LocalRounds:
    """The training rows of one process for ``_BaseNewtonBoosting._run_rounds``: binned
    features, targets, weights and raw scores ``raw`` (n, K)."""

    def __init__(self, est, X_binned, y, sample_weight, objective, bin_mapper, n_threads):
        self.est = est
        self.X_binned = X_binned
        self.X_binned_rows = np.ascontiguousarray(X_binned)
        # (rows, features): X_binned may hold bundled columns (``bundling``)
        self.shape = (X_binned.shape[0], len(bin_mapper.bin_thresholds_))
        self.y = y
        self.sample_weight = sample_weight
        self.objective = objective
        self.bin_mapper = bin_mapper
        self.n_threads = n_threads
        self.workspace = {}
        self.raw = None

    def start_round(self, rng):
        n, k_out = self.shape[0], self.objective.n_outputs
        margin = self.raw[:, 0] if k_out == 1 else self.raw
        with threads(self.n_threads):
            g, h = self.objective.gradient_hessian(self.y, margin, self.sample_weight)
        self.g = g.reshape(n, k_out)
        self.h = h.reshape(n, k_out)
        subsample = self.est.subsample
        self.mask = rng.random_sample(n) < subsample if subsample < 1 else None

    def grow(self, k, params, rng):
        tree, leaf = grow_tree(
            self.X_binned,
            self.g[:, k],
            self.h[:, k],
            self.bin_mapper,
            params,
            rng,
            sample_mask=self.mask,
            n_threads=self.n_threads,
            return_leaf_of_row=True,
            X_binned_rows=self.X_binned_rows,
            workspace=self.workspace,
        )
        if hasattr(self.objective, "leaf_values"):
            self.est._refresh_leaves(
                self.objective, tree, leaf, self.y, self.raw[:, k], self.sample_weight, k
            )
        if self.mask is None:
            with threads(self.n_threads):
                add_leaf_values(self.raw, k, leaf, tree.value)
        else:
            out = predict_binned(tree, self.X_binned, self.bin_mapper, self.n_threads)
            self.raw[:, k] += out[:, 0]
        return tree


class _BaseNewtonBoosting(TreesToDataFrameMixin, HistInputMixin, BaseEstimator):
    _parameter_constraints = {
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "max_depth": [Interval(Integral, 0, None, closed="left"), None],
        "max_leaves": [Interval(Integral, 0, None, closed="left")],
        "grow_policy": [StrOptions({"depthwise", "lossguide"})],
        "min_child_weight": [Interval(Real, 0, None, closed="left")],
        "gamma": [Interval(Real, 0, None, closed="left")],
        "reg_lambda": [Interval(Real, 0, None, closed="left")],
        "reg_alpha": [Interval(Real, 0, None, closed="left")],
        "max_delta_step": [Interval(Real, 0, None, closed="left")],
        "subsample": _fraction(),
        "colsample_bytree": _fraction(),
        "colsample_bylevel": _fraction(),
        "colsample_bynode": _fraction(),
        "max_bin": [Interval(Integral, 3, 256, closed="both")],
        "base_score": [Real, None],
        "eval_metric": [str, list, callable, None],
        "early_stopping_rounds": [Interval(Integral, 1, None, closed="left"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), None],
        "validation_fraction": [
            Interval(Real, 0, 1, closed="neither"),
            Interval(Integral, 1, None, closed="left"),
        ],
        "monotone_constraints": ["array-like", dict, None],
        "interaction_constraints": [list, None],
        "importance_type": [StrOptions(set(IMPORTANCE_TYPES))],
        "random_state": ["random_state", np.random.Generator],
        "n_jobs": N_JOBS_CONSTRAINT,
        "callbacks": [list, None],
        "tree_method": [StrOptions(set(_TREE_METHODS)), None],
        "missing": [Real, None],
        "verbosity": [Interval(Integral, 0, 3, closed="both"), None],
        "device": [str, None],
        "booster": [StrOptions({"gbtree", "gblinear", "dart"}), None],
    }

    def __init__(
        self,
        *,
        objective,
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
        n_iter_no_change=None,
        validation_fraction=0.1,
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
        self.objective = objective
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.max_leaves = max_leaves
        self.grow_policy = grow_policy
        self.min_child_weight = min_child_weight
        self.gamma = gamma
        self.reg_lambda = reg_lambda
        self.reg_alpha = reg_alpha
        self.max_delta_step = max_delta_step
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.colsample_bylevel = colsample_bylevel
        self.colsample_bynode = colsample_bynode
        self.max_bin = max_bin
        self.base_score = base_score
        self.eval_metric = eval_metric
        self.early_stopping_rounds = early_stopping_rounds
        self.n_iter_no_change = n_iter_no_change
        self.validation_fraction = validation_fraction
        self.monotone_constraints = monotone_constraints
        self.interaction_constraints = interaction_constraints
        self.importance_type = importance_type
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.callbacks = callbacks
        self.tree_method = tree_method
        self.missing = missing
        self.verbosity = verbosity
        self.device = device
        self.booster = booster
        if kwargs:
            # XGBoost's convention: other keywords (native aliases such as ``eta``,
            # ``lambda``; unknown names) live in ``kwargs`` and are reported by get_params.
            self.kwargs = kwargs

    # -- XGBoost's parameter conventions ------------------------------------------------------
    def get_params(self, deep=True):
        """Parameters of this estimator, including the keywords kept in ``kwargs``
        (native aliases such as ``eta`` / ``lambda`` and unknown names), as XGBoost's
        ``get_params`` reports them."""
        params = super().get_params(deep=deep)
        params.update(getattr(self, "kwargs", None) or {})
        return params

    def set_params(self, **params):
        """Set parameters; names that are not parameters of this class are kept in
        ``kwargs`` (XGBoost's convention: checked, or warned about, at ``fit``)."""
        names = set(self._get_param_names())
        extra = {k: v for k, v in params.items() if k not in names and "__" not in k}
        super().set_params(**{k: v for k, v in params.items() if k not in extra})
        if extra:
            self.kwargs = {**(getattr(self, "kwargs", None) or {}), **extra}
        return self

    def get_xgb_params(self):
        """The booster's parameters: ``get_params()`` without the scikit-learn wrapper's
        own (``n_estimators``, ``missing``, ``importance_type``, ``early_stopping_rounds``,
        ``callbacks``, ...) and without callables, as ``XGBModel.get_xgb_params``."""
        return {
            k: v
            for k, v in self.get_params(deep=False).items()
            if k not in _WRAPPER_PARAMS and not callable(v)
        }

    def _param(self, name):
        """The value used for ``name``: the parameter itself, or its native alias given in
        ``kwargs`` (``eta`` for ``learning_rate``, ...) when the parameter keeps its default
        (XGBoost: an explicit scikit-learn name wins over the alias)."""
        value = getattr(self, name)
        kwargs = getattr(self, "kwargs", None) or {}
        alias = _ALIAS_OF[name]
        if alias in kwargs and value == _signature_default(type(self), name):
            return kwargs[alias]
        return value

    def _check_xgb_params(self):
        """Validate the XGBoost-only parameters and ``kwargs`` (run by ``fit``)."""
        if self.tree_method in ("exact", "approx", "gpu_hist"):
            raise ValueError(
                f"tree_method={self.tree_method!r} is not supported: {type(self).__name__} "
                "grows histogram trees only; use tree_method='hist' (or None / 'auto', the "
                "same)"
            )
        if self.booster not in (None, "gbtree"):
            raise ValueError(
                f"booster={self.booster!r} is not supported: {type(self).__name__} boosts "
                "trees only; use booster='gbtree' (or None)"
            )
        if self.device is not None and self.device.split(":")[0].lower() != "cpu":
            raise ValueError(
                f"device={self.device!r} is not supported: {type(self).__name__} trains on "
                "the CPU only; use device='cpu' (or None)"
            )
        kwargs = getattr(self, "kwargs", None) or {}
        if not isinstance(kwargs, dict):
            raise TypeError(f"kwargs must be a dict of parameters, got {type(kwargs).__name__}")
        for alias, value in kwargs.items():
            if alias in _ALIASES:
                validate_parameter_constraints(
                    {alias: self._parameter_constraints[_ALIASES[alias]]},
                    {alias: value},
                    caller_name=type(self).__name__,
                )
        unused = [k for k in kwargs if k not in _ALIASES]
        if unused and self.verbosity != 0:
            names = ", ".join(f'"{k}"' for k in unused)
            warnings.warn(
                f"{type(self).__name__}: Parameters: {{ {names} }} are not used.",
                UserWarning,
                stacklevel=3,
            )

    def _input(self, X, reset=False):
        """XGBoost's input conventions before validation: a pandas Series is one feature
        column; None and other non-data objects are a TypeError naming their type; a
        DataFrame whose column names differ from the fitted ones is refused with XGBoost's
        "feature_names mismatch" message."""
        if X is None or isinstance(X, (str, bytes, dict, set)):
            raise TypeError(
                f"X: not supported type for data: {type(X).__name__} (expected an array-like, "
                "a pandas DataFrame / Series or a scipy sparse matrix)"
            )
        if type(X).__name__ == "Series" and hasattr(X, "to_frame"):
            X = X.to_frame()
        fitted = None if reset else getattr(self, "feature_names_in_", None)
        columns = getattr(X, "columns", None)
        if fitted is not None and columns is not None:
            given = [str(c) for c in columns]
            if given != list(fitted):
                missing = [c for c in fitted if c not in given]
                extra = [c for c in given if c not in set(fitted)]
                message = f"feature_names mismatch: {list(fitted)} {given}"
                if missing:
                    message += f"\nexpected {', '.join(missing)} in input data"
                if extra:
                    message += "\ntraining data did not have the following fields: " + ", ".join(
                        extra
                    )
                raise ValueError(message)
        return X

    def _missing_to_nan(self, X):
        """``missing`` values of validated X as NaN (a copy; X itself is never changed)."""
        missing = self.missing
        if missing is None or np.isnan(missing):
            return X
        if sp.issparse(X):
            X = X.copy()
            X.data[X.data == missing] = np.nan
            return X
        return np.where(X == missing, np.nan, X)

    def _check_X(self, X, reset=False):
        X = check_X(self, self._input(X, reset), reset=reset)
        return self._missing_to_nan(X)

    def _check_X_y(self, X, y, sample_weight=None, **kwargs):
        X, y, sample_weight = check_X_y(self, self._input(X, True), y, sample_weight, **kwargs)
        return self._missing_to_nan(X), y, sample_weight

    def evals_result(self):
        """The evaluation history ``{"validation_i": {metric: [score per round]}}`` of the
        last fit, as XGBoost's ``evals_result()``; ValueError without ``eval_set``."""
        check_is_fitted(self, "_trees")
        if not self.evals_result_:
            raise ValueError("No evaluation result, `eval_set` is not used during training.")
        return self.evals_result_

    @property
    def best_iteration(self):
        """``best_iteration_`` (XGBoost's name): the 0-based round used for prediction."""
        check_is_fitted(self, "_trees")
        return self.best_iteration_

    @property
    def best_score(self):
        """``best_score_`` (XGBoost's name): the score of ``best_iteration`` on the last
        metric of the last eval set; AttributeError when no eval set was given."""
        check_is_fitted(self, "_trees")
        if not hasattr(self, "best_score_"):
            raise AttributeError("`best_score` is only defined when an eval_set is given.")
        return self.best_score_

    # -- parameters that need the data ------------------------------------------------------
    def _feature_index(self, key, name):
        names = getattr(self, "feature_names_in_", None)
        if isinstance(key, str):
            if names is None or key not in names:
                raise ValueError(f"{name}: unknown feature name {key!r}")
            return int(np.flatnonzero(names == key)[0])
        if not 0 <= int(key) < self.n_features_in_:
            raise ValueError(f"{name}: feature index {key!r} out of range")
        return int(key)

    def _monotone(self):
        mc = self.monotone_constraints
        if mc is None:
            return None
        out = np.zeros(self.n_features_in_, dtype=np.int8)
        if isinstance(mc, dict):
            for key, c in mc.items():
                out[self._feature_index(key, "monotone_constraints")] = c
            values = np.asarray(list(mc.values()))
        else:
            values = np.asarray(mc).ravel()
            if values.size != self.n_features_in_:
                raise ValueError(
                    f"monotone_constraints has {values.size} values, X has "
                    f"{self.n_features_in_} features"
                )
            out[:] = values
        if not np.isin(values, (-1, 0, 1)).all():
            raise ValueError(f"monotone_constraints values must be -1, 0 or 1, got {mc!r}")
        return out

    def _interactions(self):
        ic = self.interaction_constraints
        if not ic:
            return None
        return [[self._feature_index(f, "interaction_constraints") for f in group] for group in ic]

    def _tree_params(self):
        return TreeParams(
            max_depth=None if self.max_depth in (None, 0) else self.max_depth,
            max_leaves=self.max_leaves,
            grow_policy=self.grow_policy,
            min_child_weight=self.min_child_weight,
            min_samples_leaf=1,
            min_samples_split=2,
            gamma=self._param("gamma"),
            reg_lambda=self._param("reg_lambda"),
            reg_alpha=self._param("reg_alpha"),
            max_delta_step=self.max_delta_step,
            learning_rate=self._param("learning_rate"),
            colsample_bylevel=self.colsample_bylevel,
            colsample_bynode=self.colsample_bynode,
            monotone_constraints=self._monotone(),
            interaction_constraints=self._interactions(),
        )

    # -- training -----------------------------------------------------------------------------
    def _initial_margin(self, objective, y, sample_weight):
        if self.base_score is None:
            return np.atleast_1d(objective.init_score(y, sample_weight)).astype(np.float64)
        if isinstance(objective, (Custom, Softmax)):
            # Softmax margins are defined up to a constant: XGBoost uses base_score itself.
            return np.full(objective.n_outputs, float(self.base_score))
        return np.atleast_1d(objective.link(np.float64(self.base_score))) * np.ones(
            objective.n_outputs
        )

    def _prepare_eval_sets(self, eval_set, sample_weight_eval_set):
        sets = []
        if eval_set is None:
            return sets
        weights = sample_weight_eval_set or [None] * len(eval_set)
        if len(weights) != len(eval_set):
            raise ValueError("sample_weight_eval_set must have one entry per eval_set entry")
        for i, (pair, we) in enumerate(zip(eval_set, weights, strict=True)):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise ValueError(f"eval_set[{i}] must be an (X, y) pair, got {type(pair).__name__}")
            Xe, ye = pair
            try:
                Xe = self._check_X(Xe)
            except (ValueError, TypeError) as exc:
                raise type(exc)(f"eval_set[{i}]: X: {exc}") from exc
            ye = self._encode_eval_y(np.asarray(ye))
            if ye.shape[0] != Xe.shape[0]:
                raise ValueError(
                    f"eval_set: X has {Xe.shape[0]} rows but y has {ye.shape[0]} values"
                )
            we = None if we is None else np.asarray(we, dtype=np.float64)
            sets.append((Xe, ye, we))
        return sets

    def _boost(self, X, y, sample_weight, objective, eval_sets, verbose, bin_weight):
        rng = check_random_state(self._fit_random_state)
        n_threads = resolve_n_threads(self.n_jobs)
        bin_mapper = BinMapper(
            max_bin=self.max_bin, random_state=rng.randint(2**31 - 1), n_threads=n_threads
        )
        # sparse features that never meet in a row share a column (``bundling``)
        X_binned = bin_mapper.fit_transform(X, bin_weight, bundle=True)
        trainer = _LocalRounds(self, X_binned, y, sample_weight, objective, bin_mapper, n_threads)
        self._init_margin = self._initial_margin(objective, y, sample_weight)
        trainer.raw = np.tile(self._init_margin, (X.shape[0], 1))
        self._run_rounds(trainer, objective, eval_sets, verbose, rng, n_threads)

    def _run_rounds(self, trainer, objective, eval_sets, verbose, rng, n_threads):
        """The boosting loop over ``trainer``, which holds the training rows: per round
        ``trainer.start_round(rng)`` (gradients; row subsample drawn from ``rng``), then per
        output k ``trainer.grow(k, params, rng)`` -> Tree (training scores updated). The
        random stream is drawn in the same order whoever holds the rows. Each round ends
        with the callbacks (``skextras.callback``): the user's, then the evaluation monitor
        (``verbose``) and early stopping (``early_stopping_rounds`` / ``n_iter_no_change``)."""
        n, p = trainer.shape
        k_out = objective.n_outputs
        params = self._tree_params()
        eval_metric = self.eval_metric
        if self.objective == "multi:softmax":
            eval_metric = _on_class_labels(eval_metric)
        metrics = resolve_metrics(
            eval_metric, _DEFAULT_METRIC.get(objective.name, "rmse"), self._extra_metrics(objective)
        )
        raw_eval = [np.tile(self._init_margin, (Xe.shape[0], 1)) for Xe, _, _ in eval_sets]
        self.evals_result_ = {
            f"validation_{i}": {name: [] for name, _, _ in metrics} for i in range(len(eval_sets))
        }
        self._trees, self._tree_output = [], []
        self.n_outputs_ = k_out
        for name in ("best_iteration_", "best_score_"):
            self.__dict__.pop(name, None)
        callbacks = CallbackContainer(self._callbacks(metrics, verbose))
        callbacks.before_training(self)
        for it in range(self.n_estimators):
            trainer.start_round(rng)
            params.feature_mask = self._bytree_mask(rng, p)
            for k in range(k_out):
                tree = trainer.grow(k, params, rng)
                for re, (Xe, _, _) in zip(raw_eval, eval_sets, strict=True):
                    re[:, k] += tree.predict(Xe, n_threads)[:, 0]
                self._trees.append(tree)
                self._tree_output.append(k)
            self.n_estimators_ = it + 1
            self._evaluate(objective, metrics, eval_sets, raw_eval)
            if callbacks.after_iteration(self, it, self.evals_result_):
                break
        callbacks.after_training(self)
        if not hasattr(self, "best_iteration_"):
            self.best_iteration_ = self.n_estimators_ - 1
            if eval_sets:
                self.best_score_ = self.evals_result_[f"validation_{len(eval_sets) - 1}"][
                    metrics[-1][0]
                ][-1]
        self._objective_name = objective.name

    def _callbacks(self, metrics, verbose):
        """The user's ``callbacks``, then the ones ``verbose`` and the stopping rounds ask for."""
        callbacks = check_callbacks(self.callbacks)
        if isinstance(verbose, str):
            if verbose != "progress":
                raise ValueError(f'verbose must be a bool, an int or "progress", got {verbose!r}')
            callbacks.append(ProgressBar())
        elif verbose:
            callbacks.append(EvaluationMonitor(period=1 if verbose is True else int(verbose)))
        rounds = self._stopping_rounds()
        if rounds:
            callbacks.append(EarlyStopping(rounds=rounds, maximize=metrics[-1][2]))
        return callbacks

    def _checkpoint(self, iteration):
        return iteration

    def _restore_checkpoint(self, iteration):
        """``save_best``: drop the rounds after ``iteration``."""
        self.n_estimators_ = iteration + 1
        kept = self.n_estimators_ * self.n_outputs_
        self._trees, self._tree_output = self._trees[:kept], self._tree_output[:kept]

    def _extra_metrics(self, objective):
        """Metrics that depend on the objective's parameters: ``quantile`` (the pinball
        loss of each ``quantile_alpha``, averaged over rows and quantiles, as XGBoost's)."""
        alphas = getattr(objective, "alphas", None)
        if alphas is None:
            return {}

        def pinball(y, p, w):
            alpha = np.tile(alphas, y.size // alphas.size)
            d = y - p
            loss = np.where(d >= 0, alpha * d, (alpha - 1.0) * d)
            return float(np.average(loss, weights=w))

        return {"quantile": (pinball, False)}

    def _refresh_leaves(self, objective, tree, leaf_of_row, y, raw, sample_weight, output=0):
        leaves = np.flatnonzero(tree.left == -1)
        values = objective.leaf_values(y, raw, sample_weight, leaf_of_row, leaves, output=output)
        tree.value[leaves, 0] = values * self._param("learning_rate")

    def _bytree_mask(self, rng, p):
        if self.colsample_bytree >= 1:
            return None
        mask = np.zeros(p, dtype=bool)
        mask[rng.choice(p, max(1, int(self.colsample_bytree * p)), replace=False)] = True
        return mask

    def _evaluate(self, objective, metrics, eval_sets, raw_eval):
        """Append this round's scores on every eval set to ``evals_result_``."""
        for i, ((_, ye, we), re) in enumerate(zip(eval_sets, raw_eval, strict=True)):
            pred = objective.inverse_link(re[:, 0] if re.shape[1] == 1 else re)
            if pred.ndim == 2 and not is_classifier(self):
                # several regression outputs: the metrics of XGBoost's multi-target models
                # average over every (row, output) entry, a row's weight on each
                k = pred.shape[1]
                ye = np.broadcast_to(ye.reshape(ye.shape[0], -1), pred.shape).ravel()
                we = None if we is None else np.repeat(we, k)
                pred = pred.ravel()
            for name, func, _ in metrics:
                self.evals_result_[f"validation_{i}"][name].append(func(ye, pred, we))

    def _stopping_rounds(self):
        """Rounds without improvement that stop boosting: early_stopping_rounds or
        n_iter_no_change (the same rule; two different values are an error)."""
        rounds, no_change = self.early_stopping_rounds, self.n_iter_no_change
        if rounds is not None and no_change is not None and rounds != no_change:
            raise ValueError(
                f"early_stopping_rounds={rounds} and n_iter_no_change={no_change} disagree; "
                "give one of them"
            )
        return rounds if rounds is not None else no_change

    def _validation_split(self, X, y, sample_weight, bin_weight):
        """Hold out ``validation_fraction`` of the rows for ``n_iter_no_change``: the split of
        ``train_test_split(..., random_state=random_state)``, stratified for a classifier."""
        try:
            train, val = train_test_split(
                np.arange(X.shape[0]),
                test_size=self.validation_fraction,
                stratify=y if is_classifier(self) else None,
                random_state=self._fit_random_state,
            )
        except ValueError as exc:
            raise ValueError(
                f"validation_fraction={self.validation_fraction!r} cannot split {X.shape[0]} "
                f"rows for n_iter_no_change: {exc}"
            ) from None

        def take(a, rows):
            return None if a is None else a[rows]

        eval_sets = [(X[val], y[val], take(bin_weight, val))]
        return X[train], y[train], take(sample_weight, train), take(bin_weight, train), eval_sets

    def _fit(self, X, y, sample_weight, eval_set, sample_weight_eval_set, verbose, bin_weight=None):
        """Boost; ``bin_weight`` (default: sample_weight) weights the bin quantiles and, for
        the internal validation split, the held-out rows' scores."""
        self._check_xgb_params()
        self._fit_random_state = _as_random_state(self.random_state)
        self._stopping_rounds()
        if self.early_stopping_rounds is not None and not eval_set:
            raise ValueError(
                "early_stopping_rounds needs at least one validation set in fit(eval_set=...); "
                "n_iter_no_change=... holds one out of the training data instead"
            )
        objective = self._make_objective(y)
        if bin_weight is None:
            bin_weight = sample_weight
        if self.n_iter_no_change is not None and not eval_set:
            X, y, sample_weight, bin_weight, eval_sets = self._validation_split(
                X, y, sample_weight, bin_weight
            )
        else:
            eval_sets = self._prepare_eval_sets(eval_set, sample_weight_eval_set)
        self._boost(X, y, sample_weight, objective, eval_sets, verbose, bin_weight)
        return self

    # -- prediction -----------------------------------------------------------------------------
    def _used_trees(self, iteration_range=None):
        """The trees of rounds ``[start, stop)`` of ``iteration_range``; None or (0, 0)
        (XGBoost's "all") use the rounds up to ``best_iteration_``."""
        if iteration_range is None or tuple(iteration_range) == (0, 0):
            start, stop = 0, self.best_iteration_ + 1
        else:
            try:
                start, stop = (int(i) for i in iteration_range)
            except (TypeError, ValueError):
                raise ValueError(
                    f"iteration_range must be a pair (start, stop) of ints, got {iteration_range!r}"
                ) from None
            if not 0 <= start < stop <= self.n_estimators_:
                raise ValueError(
                    f"iteration_range={tuple(iteration_range)!r} must satisfy 0 <= start < "
                    f"stop <= n_estimators_={self.n_estimators_}"
                )
        k = self.n_outputs_
        return self._trees[start * k : stop * k], self._tree_output[start * k : stop * k]

    def _raw_predict(self, X, iteration_range=None):
        check_is_fitted(self, "_trees")
        X = self._check_X(X)
        trees, outputs = self._used_trees(iteration_range)
        raw = predict_forest(
            trees,
            X,
            resolve_n_threads(self.n_jobs),
            tree_output=outputs,
            n_outputs=self.n_outputs_,
        )
        return raw + self._init_margin

    def _contributions(self, X, iteration_range=None):
        """TreeSHAP contributions to the margin, XGBoost's ``pred_contribs=True`` layout."""
        check_is_fitted(self, "_trees")
        X = self._check_X(X)
        trees, outputs = self._used_trees(iteration_range)
        phi = shap_forest(trees, X, outputs, self.n_outputs_, resolve_n_threads(self.n_jobs))
        phi[:, :, -1] += self._init_margin
        return phi[:, 0, :] if self.n_outputs_ == 1 else phi

    def _staged_raw(self, X):
        check_is_fitted(self, "_trees")
        X = self._check_X(X)
        trees, outputs = self._used_trees((0, self.n_estimators_))
        yield from staged_raw_predictions(
            trees,
            outputs,
            self.n_outputs_,
            X,
            self.n_outputs_,
            self._init_margin,
            resolve_n_threads(self.n_jobs),
        )

    def apply(self, X):
        """Leaf index of every row in every tree, shape (n_samples, n_trees).

        Trees are ordered by round, then by class (multiclass: ``n_classes`` trees per round).
        """
        check_is_fitted(self, "_trees")
        X = self._check_X(X)
        return apply_forest(self._trees, X, resolve_n_threads(self.n_jobs))

    @property
    def feature_importances_(self):
        """Normalised importances of ``importance_type`` (XGBoost's definitions)."""
        check_is_fitted(self, "_trees")
        return feature_importances(self._trees, self.n_features_in_, self.importance_type)

    # -- persistence ------------------------------------------------------------------------
    _LEARNED = (
        "n_features_in_",
        "best_iteration_",
        "n_estimators_",
        "n_outputs_",
        "evals_result_",
        "_init_margin",
        "_tree_output",
        "_objective_name",
    )

    def save_model(self, path):
        """Save parameters, learned attributes and trees as a readable JSON document."""
        check_is_fitted(self, "_trees")
        learned = {name: getattr(self, name) for name in self._LEARNED}
        for name in ("feature_names_in_", "classes_", "best_score_"):
            if hasattr(self, name):
                learned[name] = getattr(self, name)
        save_model_json(path, type(self).__name__, self.get_params(), learned, self._trees)

    def load_model(self, path):
        """Load a model written by ``save_model`` into this estimator; returns self.

        The file is checked completely (parameters, learned attributes, every index of
        every tree) before anything is assigned: a file that fails raises ValueError naming
        it and leaves this estimator unchanged.
        """
        params, learned, trees = load_model_json(path, type(self).__name__)
        if isinstance(params.get("missing"), float) and np.isnan(params["missing"]):
            params["missing"] = np.nan  # the default object itself, so get_params compares equal
        model = type(self)()
        try:
            model.set_params(**params)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path}: {exc}") from None
        check_loaded_params(model, path)
        model._restore_state(learned, trees)
        self.__dict__.clear()
        self.__dict__.update(model.__dict__)
        return self

    def _restore_state(self, learned, trees):
        """Learned attributes from a checked ``LearnedState`` and validated trees."""
        known = {*self._LEARNED, "feature_names_in_", "classes_", "best_score_"}
        unknown = sorted(set(learned.names()) - known)
        if unknown:
            raise ValueError(f"{learned.source}: unknown learned fields {unknown}")
        self.n_features_in_ = learned.raw("n_features_in_")
        if "feature_names_in_" in learned:
            self.feature_names_in_ = np.asarray(learned.raw("feature_names_in_"), dtype=object)
        objectives = set(REGRESSION_OBJECTIVES)
        k = learned.integer("n_outputs_", 1, 10**6) if isinstance(self, RegressorMixin) else 1
        if is_classifier(self):
            self.classes_ = learned.classes()
            if self.classes_.size < 2:
                raise learned._error("classes_", "must hold at least 2 classes", self.classes_)
            k = 1 if self.classes_.size == 2 else self.classes_.size
            objectives = {Logistic.name, Softmax.name}
        self.n_outputs_ = learned.integer("n_outputs_", k, k)
        self._objective_name = learned.raw("_objective_name")
        if self._objective_name not in objectives:
            raise learned._error(
                "_objective_name", f"must be one of {sorted(objectives)}", self._objective_name
            )
        learned.check_width(trees, (1,), "boosting (one output per tree)")
        if not trees or len(trees) % k:
            raise ValueError(
                f"{learned.source}: {len(trees)} trees is not a positive multiple of n_outputs_={k}"
            )
        self.n_estimators_ = learned.integer("n_estimators_", len(trees) // k, len(trees) // k)
        self.best_iteration_ = learned.integer("best_iteration_", 0, self.n_estimators_ - 1)
        self._init_margin = learned.array("_init_margin", (k,))
        outputs = learned.array("_tree_output", (len(trees),))
        if not np.isin(outputs, np.arange(k)).all():
            raise learned._error(
                "_tree_output",
                f"must hold integers in [0, {k - 1}]",
                outputs[~np.isin(outputs, np.arange(k))][0].item(),
            )
        self._tree_output = outputs.astype(np.int64).tolist()
        self.evals_result_ = learned.raw("evals_result_")
        if not isinstance(self.evals_result_, dict):
            raise learned._error("evals_result_", "must be a JSON object", self.evals_result_)
        if "best_score_" in learned:
            self.best_score_ = learned.real("best_score_", allow_nan=True)
        self._trees = trees


class NewtonBoostingRegressor(RegressorMixin, _BaseNewtonBoosting):
    """Second-order (XGBoost-style) gradient boosted trees for regression.

    Parameters use XGBoost's names and meanings. Trees are grown on quantile-binned features
    (``max_bin`` bins incl. one for missing values); a split is made when its loss reduction
    ``S_L + S_R - S_parent`` exceeds ``gamma``, with ``S = T(G)^2 / (H + reg_lambda)`` and
    leaf weights ``-T(G) / (H + reg_lambda)`` (``T``: L1 soft threshold by ``reg_alpha``)
    clipped to ``max_delta_step``, times ``learning_rate``.

    Parameters
    ----------
    objective : str or callable, default="reg:squarederror"
        ``"reg:squarederror"``, ``"reg:absoluteerror"`` (sign gradient, unit hessian),
        ``"reg:pseudohubererror"``, ``"count:poisson"``, ``"reg:gamma"``, ``"reg:tweedie"``
        (variance power 1.5), ``"reg:quantileerror"`` (pinball loss of ``quantile_alpha``;
        leaf values refreshed to the alpha-quantile of the leaf's residuals, as XGBoost),
        or ``f(y_true, raw) -> (grad, hess)``. A 2-d ``y`` (n_samples, n_targets) fits one
        tree per target per round with the objective applied to each column (XGBoost's
        default ``multi_strategy="one_output_per_tree"``); ``predict`` then returns
        (n_samples, n_targets).
    n_estimators : int, default=100
        Boosting rounds.
    learning_rate : float, default=0.3
    max_depth : int, default=6
        0 or None: no depth limit (use ``max_leaves``).
    max_leaves : int, default=0
        Maximum leaves per tree (0: no limit).
    grow_policy : {"depthwise", "lossguide"}, default="depthwise"
    min_child_weight : float, default=1.0
        Minimum hessian sum in each child.
    gamma : float, default=0.0
        Minimum loss reduction to make a split.
    reg_lambda, reg_alpha : float, default=1.0, 0.0
        L2 and L1 regularisation of leaf weights.
    max_delta_step : float, default=0.0
        Leaf weights are clipped to ``+-max_delta_step`` when > 0.
    subsample : float, default=1.0
        Fraction of rows drawn (without replacement) for each round.
    colsample_bytree, colsample_bylevel, colsample_bynode : float, default=1.0
        Fractions of features drawn per tree, then per depth level, then per node.
    max_bin : int, default=256
        Bins per feature including the missing-value bin.
    base_score : float, default=None
        Initial prediction (output space); None: the objective's optimal constant.
    eval_metric : str, callable or list, default=None
        Metrics on ``eval_set`` (XGBoost's names, e.g. ``"rmse"``, ``"mae"``); the last one
        drives early stopping. A callable is ``f(y_true, y_pred) -> float`` (lower is better).
    early_stopping_rounds : int, default=None
        Stop when the last metric on the last eval set has not improved for this many rounds;
        predictions then use the rounds up to ``best_iteration_``.
    n_iter_no_change : int, default=None
        Early stopping as scikit-learn's ``HistGradientBoosting*`` does it, usable where no
        ``eval_set`` can be passed (inside a ``Pipeline``, ``GridSearchCV``): without
        ``eval_set``, ``fit`` holds out ``validation_fraction`` of the rows (stratified by
        class for the classifier) and stops when the last metric on them has not improved
        for this many rounds, as ``early_stopping_rounds`` does on an ``eval_set``. The
        split is ``train_test_split(X, y, sample_weight, test_size=validation_fraction,
        stratify=y (classifier), random_state=random_state)``: with an int
        ``random_state``, passing that split by hand as ``eval_set`` gives the same trees.
        With an ``eval_set`` it is the number of rounds for ``early_stopping_rounds`` (give
        one of the two, or equal values). None: no early stopping without ``eval_set``.
    validation_fraction : float in (0, 1) or int >= 1, default=0.1
        The held-out share of the rows (an int: their number) for ``n_iter_no_change``;
        unused otherwise.
    monotone_constraints : array-like of {-1, 0, 1} or dict, default=None
        Per feature (index or name in a dict): 1 increasing, -1 decreasing, 0 free.
    interaction_constraints : list of lists, default=None
        Groups of features (indices or names) allowed to interact along a tree path.
    importance_type : {"gain", "weight", "cover", "total_gain", "total_cover"}, default="gain"
    random_state : int, RandomState, numpy Generator or None, default=None
        A Generator gives a seed drawn from it at each ``fit`` (XGBoost's convention).
    n_jobs : int, default=None
        Threads: None is 1 unless inside ``joblib.parallel_config(n_jobs=...)``, -1 all
        cores, -2 all but one (scikit-learn's meaning, the same in every ensemble).
    callbacks : list of :class:`~skextras.callback.TrainingCallback`, default=None
        Called before training, after every round (``after_iteration(model, iteration,
        evals_log)`` returning True stops boosting) and after training, as XGBoost's
        ``callbacks``; ``evals_log`` is ``evals_result_``. ``early_stopping_rounds`` and
        ``verbose`` add an :class:`~skextras.callback.EarlyStopping` and an
        :class:`~skextras.callback.EvaluationMonitor` after them. Not saved by ``save_model``.
    tree_method : {None, "auto", "hist"}, default=None
        XGBoost's keyword: every value grows histogram trees; "exact", "approx" and
        "gpu_hist" are refused at ``fit`` (ValueError naming what is supported).
    missing : float, default=np.nan
        The value that marks a missing entry in ``X`` (besides NaN), at fit and predict.
    verbosity : int in [0, 3] or None, default=None
        0 silences the warning about unused keywords; otherwise unused.
    device : {None, "cpu"}, default=None
        XGBoost's keyword; "cuda" / "gpu" are refused at ``fit``.
    booster : {None, "gbtree"}, default=None
        XGBoost's keyword; "gblinear" and "dart" are refused at ``fit``.
    quantile_alpha : float or list of float in (0, 1), default=None
        Quantile(s) of ``"reg:quantileerror"`` (None: 0.5). A list fits one model with one
        output per quantile (``predict`` returns (n_samples, n_quantiles)); the default
        ``eval_metric`` is then ``"quantile"`` (the pinball loss averaged over quantiles).
    **kwargs : dict
        Other XGBoost keywords, kept in ``kwargs`` and reported by ``get_params`` as XGBoost
        does: the native aliases ``eta`` (``learning_rate``), ``lambda`` (``reg_lambda``),
        ``alpha`` (``reg_alpha``) and ``min_split_loss`` (``gamma``), used when the
        scikit-learn name keeps its default; any other name warns at ``fit`` that it is
        not used (XGBoost's behaviour), and ``set_params`` / ``clone`` keep it.

    Attributes
    ----------
    best_iteration_ : int
        Round (0-based) used for prediction; also ``best_iteration`` (XGBoost's name).
    best_score_ : float
        Score of ``best_iteration_`` (with an ``eval_set``); also ``best_score``.
    evals_result_ : dict
        ``{"validation_i": {metric: [score per round]}}``; ``evals_result()`` returns it.
    n_outputs_ : int
        Outputs (trees per round): 1, the number of targets, or of quantiles.
    feature_importances_ : ndarray (n_features_in_,)
    n_features_in_, feature_names_in_ : as in scikit-learn.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skextras.ensemble import NewtonBoostingRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, random_state=0)
    >>> model = NewtonBoostingRegressor(n_estimators=20, max_depth=3).fit(X, y)
    >>> model.predict(X[:2]).shape
    (2,)
    """

    _parameter_constraints = {
        **_BaseNewtonBoosting._parameter_constraints,
        "objective": [StrOptions(set(REGRESSION_OBJECTIVES)), callable],
        "quantile_alpha": [Interval(Real, 0, 1, closed="neither"), list, tuple, np.ndarray, None],
    }

    def __init__(
        self,
        *,
        objective="reg:squarederror",
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
        n_iter_no_change=None,
        validation_fraction=0.1,
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
        quantile_alpha=None,
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
            n_iter_no_change=n_iter_no_change,
            validation_fraction=validation_fraction,
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
        self.quantile_alpha = quantile_alpha

    def _make_objective(self, y):
        n_targets = 1 if y.ndim == 1 else y.shape[1]
        if callable(self.objective):
            return Custom(self.objective, n_targets)
        cls = REGRESSION_OBJECTIVES[self.objective]
        if self.objective == "count:poisson" and self.max_delta_step > 0:
            objective = cls(max_delta_step=self.max_delta_step)
        elif self.objective == "reg:quantileerror":
            objective = cls(self._quantile_alphas())
            if objective.n_outputs > 1 and n_targets > 1:
                raise ValueError(
                    f"quantile_alpha={self.quantile_alpha!r} with a 2-d y of {n_targets} "
                    "columns: several quantiles need a 1-d y (as in XGBoost)"
                )
        else:
            objective = cls()
        objective.validate_target(y)
        return objective if n_targets == 1 else MultiTarget(objective, n_targets)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _quantile_alphas(self):
        """``quantile_alpha`` as a 1-d array of values in (0, 1) (default 0.5)."""
        if self.quantile_alpha is None:
            return np.array([0.5])
        alphas = np.atleast_1d(np.asarray(self.quantile_alpha, dtype=np.float64))
        if alphas.ndim != 1 or alphas.size == 0 or not np.all((alphas > 0) & (alphas < 1)):
            raise ValueError(
                f"quantile_alpha must be a number in (0, 1) or a non-empty list of them, got "
                f"{self.quantile_alpha!r}"
            )
        return alphas

    def _encode_eval_y(self, y):
        return y.astype(np.float64)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self, X, y, sample_weight=None, eval_set=None, sample_weight_eval_set=None, verbose=False
    ):
        """Fit the boosted trees.

        Parameters
        ----------
        X : array-like or sparse (n_samples, n_features); NaN marks missing values.
        y : array-like (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like (n_samples,), default=None
        eval_set : list of (X, y), default=None
            Validation sets scored every round (``evals_result_``, early stopping).
        sample_weight_eval_set : list of array-like, default=None
        verbose : bool, int or "progress", default=False
            Print the validation scores every round (an int: every ``verbose`` rounds), in
            XGBoost's format (:class:`~skextras.callback.EvaluationMonitor`); "progress":
            a tqdm progress bar instead (:class:`~skextras.callback.ProgressBar`, needs
            ``tqdm``).
        """
        X, y, sample_weight = self._check_X_y(X, y, sample_weight, multi_output=True)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        for column in y.reshape(y.shape[0], -1).T:
            check_target_range(column, sample_weight)
            warn_float32_gains(column, sample_weight)
        return self._fit(
            X, y.astype(np.float64), sample_weight, eval_set, sample_weight_eval_set, verbose
        )

    def predict(self, X, iteration_range=None, pred_contribs=False, *, output_margin=False):
        """Predicted target (output space: e.g. the mean for log-link objectives).

        Parameters
        ----------
        X : array-like or sparse (n_samples, n_features)
        iteration_range : (int, int), default=None
            Use the trees of rounds ``[start, stop)`` only; None or (0, 0): the rounds up
            to ``best_iteration_`` (XGBoost's meaning).
        pred_contribs : bool, default=False
            Return the exact SHAP values (TreeSHAP, node covers as the background) of each
            feature to the margin instead, shape (n_samples, n_features + 1); the last
            column is the expected margin, and each row sums to the margin.
        output_margin : bool, default=False
            Return the raw margin (before the objective's inverse link) instead.
        """
        if pred_contribs:
            return self._contributions(X, iteration_range)
        raw = self._raw_predict(X, iteration_range)
        raw = raw[:, 0] if raw.shape[1] == 1 else raw
        return raw if output_margin else self._inverse_link(raw)

    def _inverse_link(self, raw):
        if self._objective_name in REGRESSION_OBJECTIVES:
            return REGRESSION_OBJECTIVES[self._objective_name]().inverse_link(raw)
        return raw

    def staged_predict(self, X):
        """Predictions after each boosting round (generator)."""
        for raw in self._staged_raw(X):
            yield self._inverse_link(raw[:, 0] if raw.shape[1] == 1 else raw)


class NewtonBoostingClassifier(ClassifierMixin, _BaseNewtonBoosting):
    """Second-order (XGBoost-style) gradient boosted trees for classification.

    Binary targets use the logistic loss (one tree per round); more classes use the softmax
    loss with one tree per class per round, as XGBoost's ``multi:softprob``. The parameters are
    those of :class:`NewtonBoostingRegressor`, plus ``scale_pos_weight`` (weight multiplier of
    the positive class in binary problems); ``objective`` is ``"binary:logistic"`` (switched to
    ``"multi:softprob"`` for more than two classes), ``"multi:softprob"``, ``"multi:softmax"``
    or a callable ``f(y_true, raw) -> (grad, hess)`` on class indices and raw margins ((n,) or
    (n, n_classes)). The default ``eval_metric`` is ``"logloss"`` / ``"mlogloss"``.

    Attributes
    ----------
    classes_ : ndarray (n_classes,)
    best_iteration_, evals_result_, feature_importances_, n_features_in_, feature_names_in_

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from skextras.ensemble import NewtonBoostingClassifier
    >>> X, y = make_classification(n_samples=200, random_state=0)
    >>> clf = NewtonBoostingClassifier(n_estimators=20, max_depth=3).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    _parameter_constraints = {
        **_BaseNewtonBoosting._parameter_constraints,
        "objective": [StrOptions({"binary:logistic", "multi:softprob", "multi:softmax"}), callable],
        "scale_pos_weight": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        *,
        objective="binary:logistic",
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
        scale_pos_weight=1.0,
        base_score=None,
        eval_metric=None,
        early_stopping_rounds=None,
        n_iter_no_change=None,
        validation_fraction=0.1,
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
            n_iter_no_change=n_iter_no_change,
            validation_fraction=validation_fraction,
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
        self.scale_pos_weight = scale_pos_weight

    def _make_objective(self, y):
        n_classes = self.classes_.size
        if callable(self.objective):
            return Custom(self.objective, 1 if n_classes == 2 else n_classes)
        if n_classes == 2 and self.objective == "binary:logistic":
            return Logistic()
        return Softmax(n_classes)

    def _encode_eval_y(self, y):
        unknown = np.setdiff1d(y, self.classes_)
        if unknown.size:
            raise ValueError(f"eval_set: y has labels {unknown!r} not seen in training")
        return np.searchsorted(self.classes_, y).astype(np.float64)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self, X, y, sample_weight=None, eval_set=None, sample_weight_eval_set=None, verbose=False
    ):
        """Fit the boosted trees (see :meth:`NewtonBoostingRegressor.fit`)."""
        X, y, sample_weight = self._check_X_y(X, y, sample_weight)
        check_classification_targets(y)
        encoder = LabelEncoder()
        y_enc = encoder.fit_transform(y).astype(np.float64)
        self.classes_ = encoder.classes_
        if self.classes_.size < 2:
            raise ValueError(
                f"y has 1 class ({self.classes_[0]!r}); a classifier needs at least 2 classes"
            )
        bin_weight = sample_weight
        if self.classes_.size == 2 and self.scale_pos_weight != 1.0:
            # XGBoost scales the positive rows' gradients, not their weight in the bin sketch.
            base = np.ones(y_enc.size) if sample_weight is None else sample_weight
            sample_weight = np.where(y_enc == 1, base * self.scale_pos_weight, base)
        return self._fit(
            X, y_enc, sample_weight, eval_set, sample_weight_eval_set, verbose, bin_weight
        )

    def decision_function(self, X, iteration_range=None):
        """Raw margins: (n,) for two classes, (n, n_classes) otherwise."""
        raw = self._raw_predict(X, iteration_range)
        return raw[:, 0] if raw.shape[1] == 1 else raw

    def _proba(self, raw):
        if raw.shape[1] == 1:
            p = Logistic().inverse_link(raw[:, 0])
            return np.column_stack([1.0 - p, p])
        return Softmax(raw.shape[1]).inverse_link(raw)

    def predict_proba(self, X, iteration_range=None):
        """Class probabilities (n, n_classes)."""
        return self._proba(self._raw_predict(X, iteration_range))

    def predict(self, X, iteration_range=None, pred_contribs=False, *, output_margin=False):
        """Most probable class.

        With ``pred_contribs=True``, the SHAP values of each feature to the margin instead:
        (n_samples, n_features + 1) for two classes, (n_samples, n_classes, n_features + 1)
        otherwise; the last column is the expected margin (XGBoost's layout). With
        ``output_margin=True``, the raw margins instead (as :meth:`decision_function`).
        ``iteration_range`` as in :meth:`NewtonBoostingRegressor.predict`.
        """
        if pred_contribs:
            return self._contributions(X, iteration_range)
        if output_margin:
            return self.decision_function(X, iteration_range)
        proba = self.predict_proba(X, iteration_range)
        return self.classes_[np.argmax(proba, axis=1)]

    def staged_predict_proba(self, X):
        """Class probabilities after each boosting round (generator)."""
        for raw in self._staged_raw(X):
            yield self._proba(raw)

    def staged_predict(self, X):
        """Predicted classes after each boosting round (generator)."""
        for proba in self.staged_predict_proba(X):
            yield self.classes_[np.argmax(proba, axis=1)]
