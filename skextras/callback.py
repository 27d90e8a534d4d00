"""Training callbacks: one protocol for every training loop of skextras.

A loop (the boosters' rounds, gradient boosting's stages, a torch estimator's epochs) calls

1. ``model = callback.before_training(model)`` once, before the first iteration;
2. ``stop = callback.after_iteration(model, iteration, evals_log)`` after each iteration
   (0-based), where ``evals_log`` is ``{data_name: {metric_name: [score per iteration]}}``;
   training stops after the iteration in which any callback returned True (every callback
   still sees that iteration);
3. ``model = callback.after_training(model)`` once at the end, also after a stop.

This is XGBoost's ``xgboost.callback.TrainingCallback`` protocol, with the estimator itself
as ``model``. Early stopping (:class:`EarlyStopping`) and evaluation logging
(:class:`EvaluationMonitor`) are callbacks like any user's: an estimator's
``early_stopping_rounds`` / ``n_iter_no_change`` / ``verbose`` only construct them, so there
is one early-stopping rule in the library. A callback's exception propagates out of ``fit``.

A model that supports ``EarlyStopping(save_best=True)`` has ``_checkpoint(iteration)``
(returns a snapshot: the boosters return the iteration, a torch estimator a copy of its
weights) and ``_restore_checkpoint(snapshot)`` (truncates the trees / loads the weights).
"""

from numbers import Integral, Real

__all__ = [
    "CallbackContainer",
    "EarlyStopping",
    "EvaluationMonitor",
    "ProgressBar",
    "TrainingCallback",
]

# Metric name prefixes that XGBoost maximises when ``maximize`` is not given.
_MAXIMIZED = ("auc", "aucpr", "pre", "pre@", "map", "ndcg", "auc@", "aucpr@", "map@", "ndcg@")


class TrainingCallback:
    """Base class of training callbacks; every hook defaults to doing nothing.

    Subclass it and override the hooks you need. The three hooks take the estimator being
    fitted as ``model``.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skextras.callback import TrainingCallback
    >>> from skextras.ensemble import NewtonBoostingRegressor
    >>> class StopAfter(TrainingCallback):
    ...     def __init__(self, n):
    ...         self.n, self.seen = n, []
    ...     def after_iteration(self, model, iteration, evals_log):
    ...         self.seen.append(iteration)
    ...         return iteration + 1 >= self.n
    ...
    >>> X, y = make_regression(n_samples=100, n_features=3, random_state=0)
    >>> callback = StopAfter(3)
    >>> model = NewtonBoostingRegressor(n_estimators=50, callbacks=[callback]).fit(X, y)
    >>> callback.seen, model.n_estimators_
    ([0, 1, 2], 3)
    """

    def before_training(self, model):
        """Run once before the first iteration; returns the model."""
        return model

    def after_iteration(self, model, iteration, evals_log):
        """Run after each iteration; return True to stop training.

        Parameters
        ----------
        model : estimator
            The estimator being fitted (its learned state so far).
        iteration : int
            0-based index of the iteration just finished (boosting round, stage, epoch).
        evals_log : dict
            ``{data_name: {metric_name: [score of each iteration so far]}}``; empty when the
            loop evaluates nothing.

        Returns
        -------
        stop : bool
        """
        return False

    def after_training(self, model):
        """Run once after the last iteration (also after a stop); returns the model."""
        return model


class EarlyStopping(TrainingCallback):
    """Stop when a validation score has not improved for ``rounds`` iterations.

    XGBoost's ``xgboost.callback.EarlyStopping``: the first iteration's score is the best
    so far; a later score improves on the best when it is lower by more than ``min_delta``
    (higher, when maximising); training stops once ``rounds`` iterations in a row did not
    improve. The model gets ``best_iteration_`` and ``best_score_``.

    Parameters
    ----------
    rounds : int or None
        Iterations without improvement that stop training; None never stops (only tracks
        the best iteration, e.g. with ``save_best``).
    metric_name : str, default=None
        Metric of ``evals_log`` to watch; None: the last metric of the data set.
    data_name : str, default=None
        Data set of ``evals_log`` to watch; None: the last one.
    maximize : bool, default=None
        Whether a higher score is better; None: True for XGBoost's maximised metrics
        (``auc``, ``aucpr``, ``map``, ``ndcg``, ``pre`` and their ``@`` forms), else False.
    save_best : bool, default=False
        At the end, keep the model of the best iteration (trees after it dropped, or the
        network's weights of that epoch restored) instead of the last one.
    min_delta : float, default=0.0
        Minimum absolute change of the score that counts as an improvement.
    window : bool, default=False
        scikit-learn's ``GradientBoosting*`` rule instead: stop at the first iteration whose
        score does not improve by more than ``min_delta`` on the worst of the ``rounds``
        scores before it (the first ``rounds`` iterations never stop).

    Attributes
    ----------
    best_iteration : int or None
        0-based iteration of the best score (None before the first evaluation).
    best_score : float or None
    current_rounds : int
        Iterations since the last improvement.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skextras.callback import EarlyStopping
    >>> from skextras.ensemble import NewtonBoostingRegressor
    >>> X, y = make_regression(n_samples=300, n_features=5, noise=10.0, random_state=0)
    >>> stop = EarlyStopping(rounds=3, save_best=True)
    >>> model = NewtonBoostingRegressor(n_estimators=200, callbacks=[stop])
    >>> model = model.fit(X[:200], y[:200], eval_set=[(X[200:], y[200:])])
    >>> model.n_estimators_ == model.best_iteration_ + 1
    True
    """

    def __init__(
        self,
        *,
        rounds,
        metric_name=None,
        data_name=None,
        maximize=None,
        save_best=False,
        min_delta=0.0,
        window=False,
    ):
        if rounds is not None and (
            isinstance(rounds, bool) or not isinstance(rounds, Integral) or rounds < 1
        ):
            raise ValueError(f"EarlyStopping: rounds must be an int >= 1 or None, got {rounds!r}")
        if isinstance(min_delta, bool) or not isinstance(min_delta, Real) or not min_delta >= 0:
            raise ValueError(f"EarlyStopping: min_delta must be >= 0, got {min_delta!r}")
        if window and rounds is None:
            raise ValueError("EarlyStopping: window=True needs rounds")
        self.rounds = rounds
        self.metric_name = metric_name
        self.data_name = data_name
        self.maximize = maximize
        self.save_best = save_best
        self.min_delta = min_delta
        self.window = window
        self._reset()

    def _reset(self):
        self.best_iteration = None
        self.best_score = None
        self.current_rounds = 0
        self._recent = []
        self._checkpoint = None

    def before_training(self, model):
        # A callback object reused for a second fit starts afresh (XGBoost's would not).
        self._reset()
        if self.save_best and not hasattr(model, "_checkpoint"):
            raise ValueError(
                f"EarlyStopping(save_best=True) is not supported by {type(model).__name__}"
            )
        return model

    def _watched(self, evals_log):
        if not evals_log:
            raise ValueError(
                "EarlyStopping needs at least one validation set: pass eval_set=[(X, y)] to "
                "fit (or validation_fraction where the estimator has it)"
            )
        data_name = self.data_name if self.data_name is not None else list(evals_log)[-1]
        if data_name not in evals_log:
            raise ValueError(
                f"EarlyStopping: no data set named data_name={data_name!r}; "
                f"evals_log has {list(evals_log)}"
            )
        log = evals_log[data_name]
        metric = self.metric_name if self.metric_name is not None else list(log)[-1]
        if metric not in log:
            raise ValueError(
                f"EarlyStopping: no metric named metric_name={metric!r} for {data_name!r}; "
                f"it has {list(log)}"
            )
        return metric, float(log[metric][-1])

    def _improves(self, score, reference, maximize):
        if maximize:
            return score - self.min_delta > reference
        return reference - self.min_delta > score

    def after_iteration(self, model, iteration, evals_log):
        metric, score = self._watched(evals_log)
        maximize = self.maximize
        if maximize is None:
            maximize = metric != "mape" and metric.startswith(_MAXIMIZED)
        if self.window:
            return self._window_stop(score, iteration, maximize, model)
        if self.best_score is None or self._improves(score, self.best_score, maximize):
            self._record_best(model, iteration, score)
            self.current_rounds = 0
        else:
            self.current_rounds += 1
        return self.rounds is not None and self.current_rounds >= self.rounds

    def _window_stop(self, score, iteration, maximize, model):
        recent = self._recent
        worst = None
        if len(recent) == self.rounds:
            worst = min(recent) if maximize else max(recent)
        # sklearn's own comparison (score + tol < worst), for the same stage in float64
        if worst is not None and not (
            score - self.min_delta > worst if maximize else score + self.min_delta < worst
        ):
            return True
        recent.append(score)
        del recent[: -self.rounds]
        if self.best_score is None or self._improves(score, self.best_score, maximize):
            self._record_best(model, iteration, score)
        return False

    def _record_best(self, model, iteration, score):
        self.best_iteration, self.best_score = iteration, score
        model.best_iteration_, model.best_score_ = iteration, score
        if self.save_best:
            self._checkpoint = model._checkpoint(iteration)

    def after_training(self, model):
        if self._checkpoint is not None:
            model._restore_checkpoint(self._checkpoint)
            model.best_iteration_, model.best_score_ = self.best_iteration, self.best_score
        self._checkpoint = None
        return model


class EvaluationMonitor(TrainingCallback):
    """Print the latest scores every ``period`` iterations, as XGBoost prints them.

    Each line is ``[iteration]`` followed by ``\\t<data>-<metric>:<score>`` for every data set
    and metric of ``evals_log`` (scores with 5 decimals). When ``period`` skips the last
    iteration, its line is printed at the end of training.

    Parameters
    ----------
    period : int, default=1
        Iterations between printed lines (iterations 0, period, 2 * period, ...).
    logger : callable, default=print
        Called with each line (no trailing newline).

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skextras.callback import EvaluationMonitor
    >>> from skextras.ensemble import NewtonBoostingRegressor
    >>> X, y = make_regression(n_samples=100, n_features=3, random_state=0)
    >>> lines = []
    >>> monitor = EvaluationMonitor(period=2, logger=lines.append)
    >>> model = NewtonBoostingRegressor(n_estimators=5, callbacks=[monitor])
    >>> model = model.fit(X[:80], y[:80], eval_set=[(X[80:], y[80:])])
    >>> [line.split()[0] for line in lines]
    ['[0]', '[2]', '[4]']
    >>> name, score = lines[-1].split()[1].split(":")
    >>> name
    'validation_0-rmse'
    >>> float(score) == round(model.evals_result_["validation_0"]["rmse"][-1], 5)
    True
    """

    def __init__(self, period=1, logger=None):
        if isinstance(period, bool) or not isinstance(period, Integral) or period < 1:
            raise ValueError(f"EvaluationMonitor: period must be an int >= 1, got {period!r}")
        self.period = period
        self.logger = logger
        self._latest = None

    def _log(self, line):
        if self.logger is None:
            print(line, flush=True)
        else:
            self.logger(line)

    def before_training(self, model):
        self._latest = None
        return model

    def after_iteration(self, model, iteration, evals_log):
        if not evals_log:
            return False
        line = f"[{iteration}]" + "".join(
            f"\t{data}-{metric}:{float(scores[-1]):.5f}"
            for data, log in evals_log.items()
            for metric, scores in log.items()
        )
        if iteration % self.period == 0:
            self._log(line)
            self._latest = None
        else:
            self._latest = line
        return False

    def after_training(self, model):
        if self._latest is not None:
            self._log(self._latest)
            self._latest = None
        return model


class ProgressBar(TrainingCallback):
    """A tqdm progress bar over the iterations of a long fit, with the latest score.

    The bar counts iterations up to ``total`` (default: the model's ``n_estimators``, or
    ``max_epochs`` for a torch estimator); its postfix shows the last metric of the last data
    set of ``evals_log``. ``NewtonBoosting*.fit(verbose="progress")`` adds one. Needs the
    optional ``tqdm`` package (``pip install "skextras[plot]"``), imported when training
    starts, never by ``import skextras``.

    Parameters
    ----------
    total : int, default=None
        Iterations the bar counts to (None: read from the model).
    desc : str, default=None
        Label of the bar (None: the model's class name).
    **tqdm_kwargs : dict
        Passed to ``tqdm.auto.tqdm`` (e.g. ``file``, ``leave``, ``mininterval``).

    Examples
    --------
    >>> import io
    >>> from sklearn.datasets import make_regression
    >>> from skextras.callback import ProgressBar
    >>> from skextras.ensemble import NewtonBoostingRegressor
    >>> X, y = make_regression(n_samples=100, n_features=3, random_state=0)
    >>> out = io.StringIO()
    >>> bar = ProgressBar(file=out, mininterval=0)
    >>> model = NewtonBoostingRegressor(n_estimators=5, callbacks=[bar])
    >>> model = model.fit(X[:80], y[:80], eval_set=[(X[80:], y[80:])])
    >>> "5/5" in out.getvalue(), "validation_0-rmse" in out.getvalue()
    (True, True)
    """

    def __init__(self, total=None, desc=None, **tqdm_kwargs):
        self.total = total
        self.desc = desc
        self.tqdm_kwargs = tqdm_kwargs
        self._bar = None

    def before_training(self, model):
        try:
            from tqdm.auto import tqdm
        except ImportError:
            raise ImportError(
                'ProgressBar needs the tqdm package: pip install "skextras[plot]"'
            ) from None
        total = self.total
        if total is None:
            total = getattr(model, "n_estimators", None) or getattr(model, "max_epochs", None)
        desc = self.desc if self.desc is not None else type(model).__name__
        self._bar = tqdm(total=total, desc=desc, **self.tqdm_kwargs)
        return model

    def after_iteration(self, model, iteration, evals_log):
        if self._bar is None:
            return False
        if evals_log:
            data, log = list(evals_log.items())[-1]
            if log:
                metric, scores = list(log.items())[-1]
                if scores:
                    self._bar.set_postfix_str(f"{data}-{metric}={float(scores[-1]):.5g}")
        # iterations are absolute (warm starts): move the bar to iteration + 1
        self._bar.update(max(iteration + 1 - self._bar.n, 0))
        return False

    def after_training(self, model):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        return model


class CallbackContainer:
    """Runs a list of callbacks in order; what a training loop holds.

    Parameters
    ----------
    callbacks : list of TrainingCallback

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from skextras.callback import CallbackContainer, EarlyStopping
    >>> stop = EarlyStopping(rounds=2)
    >>> container = CallbackContainer([stop])
    >>> model = container.before_training(SimpleNamespace())
    >>> log = {"validation_0": {"rmse": []}}
    >>> for iteration, score in enumerate([3.0, 2.0, 2.5, 2.4, 1.0]):
    ...     log["validation_0"]["rmse"].append(score)
    ...     if container.after_iteration(model, iteration, log):
    ...         break
    ...
    >>> iteration
    3
    >>> model = container.after_training(model)
    >>> model.best_iteration_, model.best_score_
    (1, 2.0)
    """

    def __init__(self, callbacks):
        for cb in callbacks:
            if not all(hasattr(cb, hook) for hook in _HOOKS):
                raise TypeError(
                    f"callbacks: {cb!r} is not a TrainingCallback (it needs the methods "
                    f"{', '.join(_HOOKS)}; subclass skextras.callback.TrainingCallback)"
                )
        self.callbacks = list(callbacks)

    def before_training(self, model):
        for cb in self.callbacks:
            model = cb.before_training(model)
        return model

    def after_iteration(self, model, iteration, evals_log):
        # Every callback sees every iteration, the one that stops included.
        stops = [bool(cb.after_iteration(model, iteration, evals_log)) for cb in self.callbacks]
        return any(stops)

    def after_training(self, model):
        for cb in self.callbacks:
            model = cb.after_training(model)
        return model


_HOOKS = ("before_training", "after_iteration", "after_training")


def check_callbacks(callbacks):
    """The user's ``callbacks`` parameter as a fresh list (None: empty).

    Raises TypeError naming ``callbacks`` when it is not a list of callback objects.
    """
    if callbacks is None:
        return []
    if not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"callbacks must be a list of callbacks, got {type(callbacks).__name__}")
    return list(callbacks)
