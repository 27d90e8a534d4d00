"""Online mean and quantile: the two textbook stochastic-approximation recursions.

* :class:`OnlineMean`: ``w_{k+1} = w_k - (w_k - x_k) / k`` is the running sample mean. A
  chunk of ``m`` samples is merged in one step, ``w <- w + (mean(chunk) - w) * m / (n + m)``,
  which equals ``m`` steps of the recursion in exact arithmetic and is the rounding-friendlier
  way to compute it; on the first chunk it *is* ``np.mean``, bit for bit. With a constant
  step ``s`` it is the exponential moving average ``w_k = (1 - s) w_{k-1} + s x_k``
  (``w_1 = x_1``), run as a first-order IIR filter, which tracks a drifting mean.
* :class:`OnlineQuantile`: the Robbins-Monro recursion for the root of
  ``E[1{X <= x}] - q = F(x) - q``: ``x_{k+1} = x_k - a_k (1{x_k >= X_k} - q)``. With
  Polyak-Ruppert averaging (the default) the estimate has the asymptotic variance of the
  sample quantile, ``q (1 - q) / (n f(x_q)^2)`` (``f`` the density), whatever the gain ``a``.

Invariant of both: ``partial_fit`` over chunks gives what one ``fit`` on the concatenation
gives (bit for bit for the quantile and the moving average; to rounding for the mean).
"""

from numbers import Real

import numpy as np
from scipy.signal import lfilter
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval

from skextras.online._stochastic_approximation import (
    _STEP_CONSTRAINTS,
    _as_samples,
    _StochasticApproximation,
)


class OnlineMean(BaseEstimator):
    """Running mean of a stream: exact (``step=None``) or exponentially weighted.

    Parameters
    ----------
    step : float in (0, 1] or None, default=None
        ``None``: the sample mean (step ``1/k``). A float: the constant step ``s`` of an
        exponential moving average (``w_1 = x_1``), whose memory is about ``1/s`` samples.

    Attributes
    ----------
    mean_ : float or ndarray of shape (n_features,)
        The current estimate (per column for 2-D input).
    n_samples_seen_ : int
        Number of samples seen.

    Examples
    --------
    >>> import numpy as np
    >>> from skextras.online import OnlineMean
    >>> x = np.arange(10.0)
    >>> OnlineMean().partial_fit(x[:3]).partial_fit(x[3:]).mean_
    4.5
    """

    _parameter_constraints = {"step": [Interval(Real, 0, 1, closed="right"), None]}

    def __init__(self, step=None):
        self.step = step

    def fit(self, X, y=None):
        """Mean of ``X`` (shape (n_samples,) or (n_samples, n_features)); returns self."""
        self._validate_params()
        self.__dict__.pop("mean_", None)
        return self.partial_fit(X)

    def partial_fit(self, X, y=None):
        """Merge the samples ``X`` into the running estimate; returns self."""
        if not hasattr(self, "mean_"):
            self._validate_params()
        X = _as_samples(X)
        if X.ndim > 2:
            raise ValueError(f"X must be 1-D or 2-D, got X.ndim={X.ndim}")
        if len(X) == 0:
            return self
        if not hasattr(self, "mean_"):
            self.n_samples_seen_ = 0
            mean = np.zeros(X.shape[1:])
        else:
            mean = np.asarray(self.mean_, dtype=np.float64)
        n, m = self.n_samples_seen_, len(X)
        if self.step is None:
            mean = mean + (np.mean(X, axis=0) - mean) * (m / (n + m))
        else:
            if n == 0:
                mean, X = X[0], X[1:]
            s = float(self.step)
            if len(X):
                filtered, _ = lfilter([s], [1.0, s - 1.0], X, axis=0, zi=[(1.0 - s) * mean])
                mean = filtered[-1]
        self.mean_ = float(mean) if np.ndim(mean) == 0 else np.array(mean)
        self.n_samples_seen_ = n + m
        return self

    def __sklearn_is_fitted__(self):
        return hasattr(self, "mean_")


class OnlineQuantile(_StochasticApproximation):
    """The ``q``-quantile of a stream by the Robbins-Monro recursion.

    ``x_{k+1} = x_k - a_k (1{X_k <= x_k} - q)`` with ``a_k = a / (k + A)**alpha``, averaged
    (Polyak-Ruppert) by default.

    Parameters
    ----------
    q : float in (0, 1)
        The quantile level.
    a : float, default=1.0
        Gain, in the units of the data. The averaged estimate is optimal for any ``a``
        asymptotically; ``a`` near ``1 / f(x_q)`` (about the data's scale) shortens the
        transient from ``x0``.
    A : float, default=0.0
        Shift of the steps.
    alpha : float, default=0.75
        Decay exponent of the steps; averaging needs it in ``(0.5, 1)`` to be optimal.
    averaging : bool, default=True
        Report the Polyak-Ruppert average of the iterates.
    x0 : float, array-like or None, default=None
        Starting point; ``None`` starts at the first sample.

    Attributes
    ----------
    quantile_ : float or ndarray of shape (n_features,)
        The estimate (per column for 2-D input).
    root_ : same as ``quantile_``
    n_iter_ : int
        Number of samples seen.

    Examples
    --------
    >>> import numpy as np
    >>> from skextras.online import OnlineQuantile
    >>> x = np.random.default_rng(0).normal(size=100_000)
    >>> bool(abs(OnlineQuantile(0.5).fit(x).quantile_ - np.median(x)) < 0.01)
    True
    """

    _parameter_constraints = {
        "q": [Interval(Real, 0, 1, closed="neither")],
        **{k: _STEP_CONSTRAINTS[k] for k in ("a", "A", "alpha", "averaging")},
        "x0": ["array-like", Real, None],
    }
    _keep_history = False
    step = "harmonic"
    max_iter = None
    tol = None

    def __init__(self, q, *, a=1.0, A=0.0, alpha=0.75, averaging=True, x0=None):
        self.q = q
        self.a = a
        self.A = A
        self.alpha = alpha
        self.averaging = averaging
        self.x0 = x0

    def _initialize(self):
        self._pending_start = self.x0 is None
        if self.x0 is None:
            self._shape, self._x, self._xbar = (), np.zeros(1), np.zeros(1)
            self.n_iter_, self.converged_ = 0, False
            return
        super()._initialize()

    def _run(self, samples):
        if self._pending_start:
            self._shape = samples.shape[1:]
            self._x = np.array(samples[0], dtype=np.float64).ravel()
            self._xbar = self._x.copy()
            self._pending_start = False
        steps = self._steps(self.n_iter_, len(samples))
        if self._x.size == 1:
            self._run_scalar(samples.ravel(), steps)
        else:
            self._run_vector(samples.reshape(len(samples), -1), steps)
        self.n_iter_ += len(samples)
        self._publish()
        self.quantile_ = self.root_

    def _run_scalar(self, samples, steps):
        # Python floats: about 10x faster than numpy scalars for this one-line recursion.
        x, xbar, k, q = float(self._x[0]), float(self._xbar[0]), self.n_iter_, float(self.q)
        for sample, a_k in zip(samples.tolist(), steps.tolist()):
            k += 1
            x -= a_k * ((sample <= x) - q)
            xbar += (x - xbar) / k
        self._x[0], self._xbar[0] = x, xbar

    def _run_vector(self, samples, steps):
        x, xbar, k = self._x, self._xbar, self.n_iter_
        for sample, a_k in zip(samples, steps):
            k += 1
            x = x - a_k * ((sample <= x) - self.q)
            xbar = xbar + (x - xbar) / k
        self._x, self._xbar = x, xbar

    def __sklearn_is_fitted__(self):
        return hasattr(self, "quantile_")
