"""AdaBoost: SAMME for classification, AdaBoost.R2 for regression.

The boosting recursions are scikit-learn's (same seeds drawn in the same order), so with the
same base estimator and ``random_state`` the ensembles are identical. One exception, on
purpose: AdaBoost.R2's weighted bootstrap, for weighted data or data with repeated rows, draws
groups of equal rows in an order fixed by their content, so that an integer ``sample_weight``
gives the same ensemble as repeating rows (``AdaBoostRegressor._plan_draws``); scikit-learn's
draw depends on the row order and the row count and does not. The default base is the
engine's histogram tree; it gets a fast path that bins ``X`` once and grows every tree from the
binned matrix with the boosting weights as hessians.
"""

import warnings
from contextlib import nullcontext
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    RegressorMixin,
    _fit_context,
    clone,
    is_classifier,
    is_regressor,
)
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_is_fitted,
    has_fit_parameter,
    validate_data,
)
from threadpoolctl import threadpool_limits

from skextras._engine.predict import packed_forest
from skextras._engine.tree import apply_forest
from skextras.ensemble._base import check_sample_weight
from skextras.ensemble._persistence import JSONPersistMixin
from skextras.ensemble._tree import HistTreeClassifier, HistTreeRegressor, check_X_y

_MAX_INT = np.iinfo(np.int32).max


def _mix64(z):
    """splitmix64's finaliser on uint64 arrays (wrapping arithmetic)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _row_keys(X, y):
    """A 64-bit key per row from its (column, value) entries and its target: equal rows get
    equal keys, dense or sparse (zeros add nothing), whatever the row order. The features
    part is ``sum_j bits(x_j) * c_j mod 2**64`` with fixed odd words ``c_j`` (one pass, a
    wrapping integer matrix-vector product), then mixed with the target's bits; distinct
    rows collide with probability ~n**2 / 2**64."""
    n, p = X.shape
    words = _mix64(np.arange(p, dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15))
    words |= np.uint64(1)
    if sp.issparse(X):
        X = sp.csr_matrix(X)
        values = np.ascontiguousarray(X.data, dtype=np.float64).view(np.uint64)
        entry = values * words[X.indices]
        key = np.zeros(n, dtype=np.uint64)
        rows = np.flatnonzero(np.diff(X.indptr))
        if rows.size:
            key[rows] = np.add.reduceat(entry, X.indptr[rows])
    else:
        X = np.ascontiguousarray(X, dtype=np.float64)
        key = X.view(np.uint64) @ words
    target = np.ascontiguousarray(np.asarray(y, dtype=np.float64)).view(np.uint64)
    return _mix64(key ^ _mix64(target ^ np.uint64(0xD6E8FEB86659FD93)))


def _set_random_states(estimator, random_state):
    """Seed every ``*random_state`` parameter of ``estimator`` (sklearn's draw order)."""
    to_set = {}
    for key in sorted(estimator.get_params(deep=True)):
        if key == "random_state" or key.endswith("__random_state"):
            to_set[key] = random_state.randint(_MAX_INT)
    if to_set:
        estimator.set_params(**to_set)


class _BaseAdaBoost(JSONPersistMixin, BaseEstimator):
    """The boosting loop shared by SAMME and AdaBoost.R2 (scikit-learn's recursion)."""

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
    }

    def _uses_engine(self):
        return self.estimator is None or isinstance(
            self.estimator, (HistTreeClassifier, HistTreeRegressor)
        )

    def _check_X_y(self, X, y):
        if self._fast:
            return check_X_y(self, X, y)
        return validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            allow_nd=True,
            dtype=None,
            y_numeric=is_regressor(self),
        )

    def _check_X(self, X, reset):
        if self._fast:
            return validate_data(
                self,
                X,
                accept_sparse=["csr", "csc"],
                dtype=np.float64,
                ensure_all_finite="allow-nan",
                reset=reset,
            )
        return validate_data(
            self, X, accept_sparse=["csr", "csc"], allow_nd=True, dtype=None, reset=reset
        )

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None):
        """Build a boosted ensemble from the training set (X, y).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training samples. NaN marks a missing value when the base is the engine tree.
        y : array-like of shape (n_samples,)
            Class labels (classifier) or real targets (regressor).
        sample_weight : array-like of shape (n_samples,), default=None
            Initial sample weights; uniform if None.

        Returns
        -------
        self : object
            The fitted ensemble.
        """
        self._fast = self._uses_engine()
        X, y = self._check_X_y(X, y)
        y = self._check_y(y)
        sample_weight = check_sample_weight(sample_weight, X)
        self._plan_draws(X, y, sample_weight)
        sample_weight = sample_weight / sample_weight.sum()

        self.estimator_ = self._make_base()
        if not has_fit_parameter(self.estimator_, "sample_weight"):
            raise ValueError(f"{type(self.estimator_).__name__} doesn't support sample_weight.")
        data = self._prepare(X, sample_weight)
        self.estimators_ = []
        self.estimator_weights_ = np.zeros(self.n_estimators, dtype=np.float64)
        self.estimator_errors_ = np.ones(self.n_estimators, dtype=np.float64)
        # With engine trees, one BLAS thread: an n-vector BLAS call would wake OpenBLAS threads
        # that spin against the engine's (ms per call on a busy machine). A user's base
        # estimator keeps its BLAS threads.
        blas = threadpool_limits(limits=1, user_api="blas") if self._fast else nullcontext()
        with blas:
            self._boost_loop(data, y, sample_weight, check_random_state(self.random_state))
        for name in ("_codes", "_draws"):
            self.__dict__.pop(name, None)
        return self

    def _plan_draws(self, X, y, sample_weight):
        """Prepare the members' training draws (AdaBoost.R2's bootstrap; none for SAMME)."""

    def _boost_loop(self, data, y, sample_weight, random_state):
        epsilon = np.finfo(np.float64).eps
        zero_weight = sample_weight == 0.0
        for iboost in range(self.n_estimators):
            # Clip tiny weights (sklearn issue #20320) but keep the originally-zero ones at 0.
            sample_weight = np.clip(sample_weight, epsilon, None)
            sample_weight[zero_weight] = 0.0
            sample_weight, weight, error = self._boost(iboost, data, y, sample_weight, random_state)
            if sample_weight is None:
                break
            self.estimator_weights_[iboost] = weight
            self.estimator_errors_[iboost] = error
            if error == 0:
                break
            total = np.sum(sample_weight)
            if not np.isfinite(total):
                warnings.warn(
                    f"Sample weights overflowed at iteration {iboost}; iterations stopped. "
                    "Try lowering learning_rate.",
                    stacklevel=3,
                )
                break
            if total <= 0:
                break
            if iboost < self.n_estimators - 1:
                sample_weight /= total

    def _make_base(self):
        if self.estimator is None:
            return self._default_base()
        return clone(self.estimator)

    def _prepare(self, X, sample_weight):
        """Bin X once for the engine fast path; otherwise pass X through."""
        if not self._fast:
            return X
        return self.estimator_._bin(X, sample_weight)

    def _fit_member(self, data, y, sample_weight, random_state):
        """Fit a fresh copy of the base on weighted data; return it and its training predictions."""
        member = clone(self.estimator_)
        _set_random_states(member, random_state)
        if self._fast:
            member.classes_ = self.classes_
            leaves = member._fit_binned(data, self._codes, sample_weight, encoded=True)
            return member, member._node_predictions()[leaves]
        member.fit(data, y, sample_weight=sample_weight)
        return member, member.predict(data)

    def _learned_state(self):
        if not self._fast:
            raise ValueError(
                "save_model stores engine trees; with a scikit-learn base estimator use "
                "pickle / joblib instead."
            )
        learned = {
            "estimator_weights_": self.estimator_weights_,
            "estimator_errors_": self.estimator_errors_,
        }
        if hasattr(self, "classes_"):
            learned.update(classes_=self.classes_, n_classes_=self.n_classes_)
        return learned, [m.tree_ for m in self.estimators_]

    def _restore_state(self, learned, trees):
        """Learned attributes from a checked ``LearnedState`` and validated trees."""
        if not trees:
            raise ValueError(f"{learned.source}: AdaBoost needs at least one tree")
        self._fast = True
        self.estimator_weights_ = learned.array("estimator_weights_", (None,))
        self.estimator_errors_ = learned.array("estimator_errors_", (self.estimator_weights_.size,))
        if self.estimator_weights_.size < len(trees):
            raise learned._error(
                "estimator_weights_",
                f"needs one weight per tree ({len(trees)})",
                self.estimator_weights_.size,
            )
        widths = (1,)
        if is_classifier(self):
            self.classes_ = learned.classes()
            self.n_classes_ = learned.integer("n_classes_", self.classes_.size, self.classes_.size)
            n = self.n_classes_
            widths = (n, 1) if n <= 2 else (n,)
        learned.check_width(trees, widths, f"{type(self).__name__} with these classes")
        self.estimator_ = self._make_base()
        if is_classifier(self.estimator_) != is_classifier(self):
            raise ValueError(
                f"{learned.source}: parameter 'estimator' must be a "
                f"{'classifier' if is_classifier(self) else 'regressor'} for "
                f"{type(self).__name__} (got {self.estimator_!r})"
            )
        self.estimators_ = []
        for tree in trees:
            member = clone(self.estimator_)
            member.tree_, member.n_features_in_ = tree, self.n_features_in_
            if hasattr(self, "classes_"):
                member.classes_ = self.classes_
            self.estimators_.append(member)

    @property
    def feature_importances_(self):
        """Weighted mean of the members' ``feature_importances_``, shape (n_features,)."""
        check_is_fitted(self)
        if not self.estimators_:
            raise ValueError("Estimator not fitted, call `fit` first.")
        norm = self.estimator_weights_.sum()
        try:
            return (
                sum(
                    w * est.feature_importances_
                    for est, w in zip(self.estimators_, self.estimator_weights_, strict=False)
                )
                / norm
            )
        except AttributeError as exc:
            raise AttributeError(
                "Unable to compute feature importances since the base estimator has no "
                "feature_importances_ attribute."
            ) from exc

    def _packed(self):
        """The members' trees packed for prediction (cached until the members change)."""
        return packed_forest(self, [m.tree_ for m in self.estimators_])

    def _leaf_predictions(self):
        """Each member's prediction at each of its leaves, in the packed leaf order."""
        return np.concatenate([m._node_predictions()[m.tree_.left == -1] for m in self.estimators_])

    def _member_predictions(self, X, limit=None):
        """Predictions of the first ``limit`` members, shape (n_samples, n_members)."""
        members = self.estimators_[:limit]
        if not self._fast:
            return np.column_stack([m.predict(X) for m in members])
        if sp.issparse(X):
            leaves = apply_forest([m.tree_ for m in members], X)
            return np.column_stack(
                [m._node_predictions()[leaves[:, i]] for i, m in enumerate(members)]
            )
        outputs = self._leaf_predictions()
        leaves = self._packed().apply(X, leaf_ids=np.arange(outputs.size, dtype=np.int32))
        return outputs[leaves[:, : len(members)]]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = self.estimator is None or isinstance(
            self.estimator, (HistTreeClassifier, HistTreeRegressor)
        )
        return tags


class AdaBoostClassifier(ClassifierMixin, _BaseAdaBoost):
    """Multi-class AdaBoost (SAMME) over any scikit-learn classifier.

    Parameters
    ----------
    estimator : object, default=None
        Base classifier supporting ``sample_weight``. None means the engine's depth-1
        histogram tree (``HistTreeClassifier(max_depth=1)``), fitted on ``X`` binned once.
    n_estimators : int, default=50
        Maximum number of boosting rounds; fewer when a member fits perfectly or is no
        better than chance.
    learning_rate : float, default=1.0
        Multiplies each member's weight ``log((1 - err) / err) + log(K - 1)``.
    random_state : int, RandomState instance or None, default=None
        Seeds every member's ``random_state`` (drawn as scikit-learn draws them).

    Attributes
    ----------
    estimator_ : estimator
        The unfitted base estimator the members are cloned from.
    estimators_ : list of estimators
        The fitted members.
    estimator_weights_ : ndarray of shape (n_estimators,)
        SAMME weight of each member (0 for rounds not run).
    estimator_errors_ : ndarray of shape (n_estimators,)
        Weighted training error of each member (1 for rounds not run).
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_classes_ : int
        Number of classes.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of str
        Feature names seen in ``fit`` (pandas input only).

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from skextras.ensemble import AdaBoostClassifier
    >>> X, y = make_classification(n_samples=200, random_state=0)
    >>> clf = AdaBoostClassifier(n_estimators=20, random_state=0).fit(X, y)
    >>> clf.predict(X[:3]).shape
    (3,)
    """

    def __init__(self, estimator=None, *, n_estimators=50, learning_rate=1.0, random_state=None):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.random_state = random_state

    def _default_base(self):
        return HistTreeClassifier(max_depth=1)

    def _check_y(self, y):
        check_classification_targets(y)
        self.classes_, self._codes = np.unique(y, return_inverse=True)
        self.n_classes_ = len(self.classes_)
        return y

    def _boost(self, iboost, data, y, sample_weight, random_state):
        member, y_predict = self._fit_member(data, y, sample_weight, random_state)
        self.estimators_.append(member)
        if iboost == 0:
            self.classes_ = getattr(member, "classes_", self.classes_)
            self.n_classes_ = len(self.classes_)
        incorrect = y_predict != y
        error = np.mean(np.average(incorrect, weights=sample_weight, axis=0))
        if error <= 0:
            return sample_weight, 1.0, 0.0
        n_classes = self.n_classes_
        if error >= 1.0 - 1.0 / n_classes:
            self.estimators_.pop(-1)
            if not self.estimators_:
                raise ValueError(
                    "The base classifier is worse than random on the training data; "
                    "AdaBoostClassifier cannot be fit."
                )
            return None, None, None
        weight = self.learning_rate * (np.log((1.0 - error) / error) + np.log(n_classes - 1.0))
        if iboost != self.n_estimators - 1:
            sample_weight = np.exp(np.log(sample_weight) + weight * incorrect * (sample_weight > 0))
        return sample_weight, weight, error

    def _votes(self, X):
        """Yield each member's SAMME vote matrix (n, K): w for its class, -w/(K-1) else."""
        K = self.n_classes_
        preds = self._member_predictions(X)
        for i, w in enumerate(self.estimator_weights_[: preds.shape[1]]):
            hit = preds[:, i, None] == self.classes_[None, :]
            yield np.where(hit, w, -w / (K - 1))

    def decision_function(self, X):
        """Weighted SAMME votes.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        score : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Binary: positive means ``classes_[1]``; otherwise one column per class.
        """
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        if self.n_classes_ == 1:
            return np.zeros((X.shape[0], 1))
        K = self.n_classes_
        if self._fast and not sp.issparse(X):
            # Each leaf's SAMME vote (w for the member's class, -1 / (K - 1) * w for the
            # others), summed over the members in order by the packed walk: scikit-learn's
            # sum, bit for bit.
            w = np.repeat(
                self.estimator_weights_[: len(self.estimators_)],
                [m.tree_.n_leaves for m in self.estimators_],
            )
            codes = np.searchsorted(self.classes_, self._leaf_predictions())
            votes = np.where(
                np.arange(K)[None, :] == codes[:, None], w[:, None], -1 / (K - 1) * w[:, None]
            )
            pred = self._packed().predict(X, values=votes)
        else:
            preds = self._member_predictions(X)
            w = self.estimator_weights_[: preds.shape[1]]
            # A member votes w for its class and -w / (K - 1) for the others.
            hits = np.column_stack([(preds == c) @ w for c in self.classes_])
            pred = hits * (K / (K - 1)) - w.sum() / (K - 1)
        return self._binary_fold(pred / self.estimator_weights_.sum())

    def _binary_fold(self, pred):
        if self.n_classes_ == 2:
            pred = pred.copy()
            pred[:, 0] *= -1
            return pred.sum(axis=1)
        return pred

    def staged_decision_function(self, X):
        """Decision function after each boosting round (generator of arrays)."""
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        pred, norm = None, 0.0
        for w, votes in zip(self.estimator_weights_, self._votes(X), strict=False):
            norm += w
            pred = votes if pred is None else pred + votes
            yield self._binary_fold(pred / norm)

    def predict(self, X):
        """Predict class labels, shape (n_samples,)."""
        pred = self.decision_function(X)
        if self.n_classes_ == 2:
            return self.classes_.take(pred > 0, axis=0)
        return self.classes_.take(np.argmax(pred, axis=1), axis=0)

    def staged_predict(self, X):
        """Class labels after each boosting round (generator)."""
        for pred in self.staged_decision_function(X):
            if self.n_classes_ == 2:
                yield self.classes_.take(pred > 0, axis=0)
            else:
                yield self.classes_.take(np.argmax(pred, axis=1), axis=0)

    def _proba(self, decision):
        if self.n_classes_ == 2:
            decision = np.vstack([-decision, decision]).T / 2
        else:
            decision = decision / (self.n_classes_ - 1)
        decision = decision - decision.max(axis=1, keepdims=True)
        proba = np.exp(decision)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict_proba(self, X):
        """Class probabilities, softmax of the decision over (K - 1), shape (n, n_classes)."""
        check_is_fitted(self)
        if self.n_classes_ == 1:
            check_is_fitted(self)
            X = self._check_X(X, reset=False)
            return np.ones((X.shape[0], 1))
        return self._proba(self.decision_function(X))

    def predict_log_proba(self, X):
        """Logarithm of ``predict_proba``."""
        return np.log(self.predict_proba(X))

    def staged_predict_proba(self, X):
        """Class probabilities after each boosting round (generator)."""
        for decision in self.staged_decision_function(X):
            yield self._proba(decision)

    def staged_score(self, X, y, sample_weight=None):
        """Accuracy after each boosting round (generator of floats)."""
        from sklearn.metrics import accuracy_score

        for pred in self.staged_predict(X):
            yield accuracy_score(y, pred, sample_weight=sample_weight)


class AdaBoostRegressor(RegressorMixin, _BaseAdaBoost):
    """AdaBoost.R2 (Drucker 1997) over any scikit-learn regressor.

    Each round fits the base on a weighted bootstrap of the training set, scores every row's
    relative error with the chosen loss, and reweights; prediction is the weighted median.
    Fitting with an integer ``sample_weight`` gives the same ensemble as fitting on the rows
    repeated that many times (weight 0: the row removed), in any row order: the bootstrap
    draws groups of equal rows, ``sum(sample_weight)`` draws. Unweighted data without
    repeated rows is drawn exactly as scikit-learn draws it.

    Parameters
    ----------
    estimator : object, default=None
        Base regressor. None means the engine's depth-3 histogram tree
        (``HistTreeRegressor(max_depth=3)``), fitted on ``X`` binned once.
    n_estimators : int, default=50
        Maximum number of boosting rounds.
    learning_rate : float, default=1.0
        Shrinks each member's weight ``log(1 / beta)`` and the reweighting exponent.
    loss : {"linear", "square", "exponential"}, default="linear"
        How the error (scaled to [0, 1] by the largest error) is turned into a loss.
    random_state : int, RandomState instance or None, default=None
        Seeds the members and the weighted bootstrap draws (as scikit-learn draws them).

    Attributes
    ----------
    estimator_ : estimator
        The unfitted base estimator the members are cloned from.
    estimators_ : list of estimators
        The fitted members.
    estimator_weights_ : ndarray of shape (n_estimators,)
        Weight ``learning_rate * log(1 / beta)`` of each member.
    estimator_errors_ : ndarray of shape (n_estimators,)
        Weighted average loss of each member.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of str
        Feature names seen in ``fit`` (pandas input only).

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skextras.ensemble import AdaBoostRegressor
    >>> X, y = make_regression(n_samples=200, n_features=4, random_state=0)
    >>> reg = AdaBoostRegressor(n_estimators=20, random_state=0).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
    """

    _parameter_constraints: dict = {
        **_BaseAdaBoost._parameter_constraints,
        "loss": [StrOptions({"linear", "square", "exponential"})],
    }

    def __init__(
        self,
        estimator=None,
        *,
        n_estimators=50,
        learning_rate=1.0,
        loss="linear",
        random_state=None,
    ):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.loss = loss
        self.random_state = random_state

    def _default_base(self):
        return HistTreeRegressor(max_depth=3)

    def _check_y(self, y):
        return np.asarray(y, dtype=np.float64)

    def _plan_draws(self, X, y, sample_weight):
        """How the weighted bootstrap of each round is drawn (see :meth:`_draw`).

        Rows with equal features and target form one group. When every group is one row of
        weight 1 (unweighted data without repeated rows), the draw is scikit-learn's: ``n``
        rows by their boosting weights, in the rows' order. Otherwise the groups are drawn,
        in an order fixed by their content (a hash of the features and target), by their
        summed boosting weight; the draw size is the total weight when every weight is an
        integer (the number of rows of the data with each row repeated that many times),
        ``n`` otherwise. So integer ``sample_weight`` gives the same draws, hence the same
        ensemble, as repeating the rows (rows of weight 0 as removing them), in any order.
        """
        n = y.shape[0]
        keys = _row_keys(X, y)
        unique, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        if unique.size == n and np.all(sample_weight == 1.0):
            self._draws = None
            return
        integral = np.all(sample_weight == np.round(sample_weight))
        size = int(round(sample_weight.sum())) if integral else n
        self._draws = (inverse.reshape(-1), first, max(size, 1))

    def _draw(self, sample_weight, random_state):
        """Bootstrap counts per row for one member (weights of ``_fit_binned`` / repeats)."""
        n = sample_weight.shape[0]
        if self._draws is None:
            idx = random_state.choice(np.arange(n), size=n, replace=True, p=sample_weight)
            return np.bincount(idx, minlength=n), idx
        inverse, first, size = self._draws
        mass = np.bincount(inverse, weights=sample_weight, minlength=first.size)
        picks = random_state.choice(first.size, size=size, replace=True, p=mass / mass.sum())
        group_counts = np.bincount(picks, minlength=first.size)
        counts = np.zeros(n, dtype=np.int64)
        counts[first] = group_counts  # one row carries its group's draws
        # the drawn rows in group order: the same sequence whatever the rows' order
        return counts, np.repeat(first, group_counts)

    def _fit_bootstrap(self, data, y, sample_weight, random_state):
        """Fit a member on a weighted bootstrap draw (sklearn's draw for unweighted data
        without repeated rows; see :meth:`_plan_draws`)."""
        member = clone(self.estimator_)
        _set_random_states(member, random_state)
        counts, idx = self._draw(sample_weight, random_state)
        if self._fast:
            leaves = member._fit_binned(data, y, counts.astype(np.float64))
            return member, member._node_predictions()[leaves]
        member.fit(_safe_indexing(data, idx), _safe_indexing(y, idx))
        return member, member.predict(data)

    def _boost(self, iboost, data, y, sample_weight, random_state):
        member, y_predict = self._fit_bootstrap(data, y, sample_weight, random_state)
        self.estimators_.append(member)
        mask = sample_weight > 0
        w = sample_weight[mask]
        err = np.abs(y_predict - y)[mask]
        err_max = err.max()
        if err_max != 0:
            err /= err_max
        if self.loss == "square":
            err **= 2
        elif self.loss == "exponential":
            err = 1.0 - np.exp(-err)
        error = (w * err).sum()
        if error <= 0:
            return sample_weight, 1.0, 0.0
        if error >= 0.5:
            if len(self.estimators_) > 1:
                self.estimators_.pop(-1)
            return None, None, None
        beta = error / (1.0 - error)
        weight = self.learning_rate * np.log(1.0 / beta)
        if iboost != self.n_estimators - 1:
            sample_weight[mask] *= np.power(beta, (1.0 - err) * self.learning_rate)
        return sample_weight, weight, error

    def _median_predict(self, X, limit):
        preds = self._member_predictions(X, limit)
        order = np.argsort(preds, axis=1)
        cdf = np.cumsum(self.estimator_weights_[order], axis=1)
        at_median = cdf >= 0.5 * cdf[:, -1][:, None]
        rows = np.arange(X.shape[0])
        return preds[rows, order[rows, at_median.argmax(axis=1)]]

    def predict(self, X):
        """Weighted-median prediction of the members, shape (n_samples,)."""
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        return self._median_predict(X, len(self.estimators_))

    def staged_predict(self, X):
        """Weighted-median prediction after each boosting round (generator)."""
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        for i in range(1, len(self.estimators_) + 1):
            yield self._median_predict(X, i)

    def staged_score(self, X, y, sample_weight=None):
        """R² after each boosting round (generator of floats)."""
        from sklearn.metrics import r2_score

        for pred in self.staged_predict(X):
            yield r2_score(y, pred, sample_weight=sample_weight)
