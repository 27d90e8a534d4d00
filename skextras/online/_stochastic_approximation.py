"""Robbins-Monro root finding and Kiefer-Wolfowitz minimisation from noisy evaluations.

Both run one recursion, written once in :class:`_StochasticApproximation`::

    x_{k+1} = x_k - a_k * G(x_k, xi_k),      a_k = a / (k + A) ** alpha,   k = 1, 2, ...

where ``xi_k`` is the k-th sample of the stream and ``G`` is a noisy estimate of the function
whose root is sought: ``g(x, xi)`` itself for Robbins-Monro (1951), a central finite
difference of ``f`` with width ``c_k = c / k ** gamma`` for Kiefer-Wolfowitz (1952).

Invariants:

* The step counter ``k`` and the iterate carry over between ``partial_fit`` calls, so feeding
  a stream in chunks gives bit-identical iterates to one ``fit`` on the concatenation.
* Convergence with probability one needs ``sum a_k = inf`` and ``sum a_k^2 < inf``
  (``alpha`` in ``(0.5, 1]``); KW also needs ``sum a_k c_k < inf`` and
  ``sum (a_k / c_k)^2 < inf``. Step settings that break them warn (a constant step is the
  legitimate choice for tracking a drifting root, but it does not converge).
* With ``averaging=True`` the estimate is the Polyak-Ruppert mean of the iterates
  ``x_1 .. x_n``: with ``alpha`` in ``(0.5, 1)`` its variance reaches the optimal
  ``G^-1 S G^-T / n`` (``G = g'(root)``, ``S`` the noise covariance) without knowing ``G``
  (Polyak & Juditsky, 1992), where the last iterate only reaches ``O(a_n)``.
"""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions

_STEP_CONSTRAINTS = {
    "step": [StrOptions({"harmonic"}), Interval(Real, 0, None, closed="neither"), callable],
    "a": [Interval(Real, 0, None, closed="neither")],
    "A": [Interval(Real, 0, None, closed="left")],
    "alpha": [Interval(Real, 0, None, closed="neither")],
    "averaging": ["boolean"],
    "max_iter": [Interval(Integral, 1, None, closed="left"), None],
    "tol": [Interval(Real, 0, None, closed="left"), None],
}


class _StochasticApproximation(BaseEstimator):
    """The shared recursion: steps, averaging, stopping, history and ``partial_fit``.

    Subclasses define ``_direction(x, sample, k)`` (the noisy estimate ``G``), may extend
    ``_check_steps`` and set ``_keep_history``.
    """

    _keep_history = True

    def fit(self, X, y=None):
        """Run the recursion from ``x0`` over the samples ``X`` (one update per sample).

        Parameters
        ----------
        X : array-like of shape (n_samples,) or (n_samples, ...)
            The stream: ``X[k]`` is the noise ``xi_k`` passed to the function.
        y : None
            Ignored.

        Returns
        -------
        self : object
        """
        self._validate_params()
        self._check_steps()
        for name in ("root_", "n_iter_", "history_"):
            self.__dict__.pop(name, None)
        return self.partial_fit(X)

    def partial_fit(self, X, y=None):
        """Continue the recursion over more samples; the step counter carries on.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or (n_samples, ...)
            The next samples of the stream.
        y : None
            Ignored.

        Returns
        -------
        self : object
        """
        if not hasattr(self, "n_iter_"):
            self._validate_params()
            self._check_steps()
            self._initialize()
        samples = _as_samples(X)
        if self.max_iter is not None:
            samples = samples[: max(self.max_iter - self.n_iter_, 0)]
        if len(samples) and not self.converged_:
            self._run(samples)
        return self

    def _initialize(self):
        x0 = np.asarray(self.x0, dtype=np.float64)
        self._shape = x0.shape
        self._x = x0.ravel().copy()
        self._xbar = self._x.copy()
        self._buffer = np.empty((0, self._x.size))
        self.n_iter_ = 0
        self.converged_ = False
        self._publish()

    def _steps(self, k0, n):
        """Steps ``a_k`` for ``k = k0 + 1 .. k0 + n`` (one array; a callable is called per k)."""
        k = np.arange(k0 + 1, k0 + n + 1, dtype=np.float64)
        if callable(self.step):
            return np.array([float(self.step(int(i))) for i in k])
        if self.step == "harmonic":
            return self.a / (k + self.A) ** self.alpha
        return np.full(n, float(self.step))

    def _check_steps(self):
        if self.step == "harmonic" and not 0.5 < self.alpha <= 1.0:
            warnings.warn(
                f"alpha={self.alpha} is outside (0.5, 1]: the steps a / (k + A)**alpha violate "
                "sum a_k = inf, sum a_k^2 < inf and the iterates need not converge",
                ConvergenceWarning,
            )
        elif isinstance(self.step, Real) and not isinstance(self.step, bool):
            warnings.warn(
                f"step={self.step} is constant: sum a_k^2 = inf, so the iterates track the root "
                "but keep a variance of order step instead of converging",
                ConvergenceWarning,
            )

    def _run(self, samples):
        steps = self._steps(self.n_iter_, len(samples))
        history = np.empty((len(samples), self._x.size)) if self._keep_history else None
        x, xbar, k = self._x, self._xbar, self.n_iter_
        for i, sample in enumerate(samples):
            k += 1
            previous = xbar if self.averaging else x
            x = x - steps[i] * self._direction(x, sample, k)
            xbar = xbar + (x - xbar) / k
            if history is not None:
                history[i] = x
            moved = np.max(np.abs((xbar if self.averaging else x) - previous))
            if self.tol is not None and moved < self.tol:
                self.converged_ = True
                break
        self._x, self._xbar, self.n_iter_ = x, xbar, k
        if history is not None:
            self._buffer = np.concatenate([self._buffer, history[: i + 1]])
        self._publish()

    def _publish(self):
        estimate = self._xbar if self.averaging and self.n_iter_ else self._x
        estimate = estimate.reshape(self._shape)
        self.root_ = float(estimate) if estimate.ndim == 0 else estimate.copy()
        if self._keep_history:
            self.history_ = self._buffer.reshape((len(self._buffer), *self._shape))


class RobbinsMonro(_StochasticApproximation):
    """Root of ``E[g(x, xi)] = 0`` from noisy evaluations (Robbins & Monro, 1951).

    The recursion is ``x_{k+1} = x_k - a_k g(x_k, xi_k)`` with ``a_k = a / (k + A)**alpha``,
    so ``g`` must increase through the root (``g'(root)`` positive definite); pass ``-g``
    otherwise.

    Parameters
    ----------
    func : callable or None, default=None
        ``func(x, sample) -> g``: a noisy evaluation at ``x`` (float, or array of the shape of
        ``x0``) given one sample of the stream. ``None`` means ``g(x, xi) = x - xi``, whose
        root is the mean of the stream.
    step : {"harmonic"}, float or callable, default="harmonic"
        ``"harmonic"``: ``a_k = a / (k + A)**alpha``; a float: a constant step (tracking,
        warns); a callable: ``step(k) -> a_k`` for ``k = 1, 2, ...``.
    a : float, default=1.0
        Gain of the harmonic steps. The last iterate converges at rate ``1/sqrt(k)`` when
        ``alpha = 1`` only if ``a g'(root) > 1/2``; averaging removes that condition.
    A : float, default=0.0
        Shift of the harmonic steps (damps the first, largest steps).
    alpha : float, default=1.0
        Decay exponent of the harmonic steps; warns outside ``(0.5, 1]``.
    averaging : bool, default=False
        Return the Polyak-Ruppert average of the iterates ``x_1 .. x_n`` as ``root_``.
    x0 : float or array-like, default=0.0
        Starting point; its shape is the shape of ``root_``.
    max_iter : int or None, default=None
        Maximum number of updates over all ``fit`` / ``partial_fit`` calls; ``None``: one
        update per sample.
    tol : float or None, default=None
        Stop once an update moves the estimate by less than ``tol`` (max norm). Noisy
        updates can be small by chance: meant for low-noise problems.

    Attributes
    ----------
    root_ : float or ndarray of the shape of ``x0``
        The estimate: the last iterate, or the averaged one.
    n_iter_ : int
        Number of updates made.
    history_ : ndarray of shape (n_iter_, *x0.shape)
        The iterates ``x_1 .. x_n`` (not averaged).
    converged_ : bool
        Whether ``tol`` stopped the recursion.

    Examples
    --------
    >>> import numpy as np
    >>> from skextras.online import RobbinsMonro
    >>> rng = np.random.default_rng(0)
    >>> rm = RobbinsMonro(lambda x, xi: x - 3.0 + xi).fit(rng.normal(size=10_000))
    >>> round(rm.root_, 1)
    3.0
    """

    _parameter_constraints = {
        "func": [callable, None],
        **_STEP_CONSTRAINTS,
        "x0": ["array-like", Real],
    }

    def __init__(
        self,
        func=None,
        *,
        step="harmonic",
        a=1.0,
        A=0.0,
        alpha=1.0,
        averaging=False,
        x0=0.0,
        max_iter=None,
        tol=None,
    ):
        self.func = func
        self.step = step
        self.a = a
        self.A = A
        self.alpha = alpha
        self.averaging = averaging
        self.x0 = x0
        self.max_iter = max_iter
        self.tol = tol

    def _direction(self, x, sample, k):
        if self.func is None:
            return x - sample
        return np.asarray(self.func(x.reshape(self._shape), sample), dtype=np.float64).ravel()


class KieferWolfowitz(_StochasticApproximation):
    """Minimise ``E[f(x, xi)]`` from noisy function values (Kiefer & Wolfowitz, 1952).

    The gradient is estimated by central differences of width ``c_k = c / k**gamma``:
    ``G_i = (f(x + c_k e_i, xi_k) - f(x - c_k e_i, xi_k)) / (2 c_k)``, both evaluations with
    the same sample (common random numbers, which cancel noise that does not depend on
    ``x``), then ``x_{k+1} = x_k - a_k G``.

    Parameters
    ----------
    func : callable
        ``func(x, sample) -> float``: a noisy value of the objective at ``x``.
    step, a, A, averaging, x0, max_iter, tol
        As in :class:`RobbinsMonro`.
    alpha : float, default=1.0
        Decay exponent of the harmonic steps.
    c : float, default=1.0
        Initial finite-difference width, in the units of ``x``.
    gamma : float, default=1/6
        Decay exponent of the widths. With harmonic steps, warns unless ``alpha <= 1``,
        ``alpha + gamma > 1`` and ``alpha - gamma > 1/2`` (the KW conditions).

    Attributes
    ----------
    root_ : float or ndarray
        The estimated minimiser.
    n_iter_, history_, converged_
        As in :class:`RobbinsMonro`.

    Examples
    --------
    >>> import numpy as np
    >>> from skextras.online import KieferWolfowitz
    >>> rng = np.random.default_rng(0)
    >>> kw = KieferWolfowitz(lambda x, xi: (x - 3.0) ** 2 + xi * x, a=0.5, x0=0.0)
    >>> round(float(kw.fit(rng.normal(size=5000)).root_), 1)
    3.0
    """

    _parameter_constraints = {
        "func": [callable],
        **_STEP_CONSTRAINTS,
        "x0": ["array-like", Real],
        "c": [Interval(Real, 0, None, closed="neither")],
        "gamma": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        func,
        *,
        step="harmonic",
        a=1.0,
        A=0.0,
        alpha=1.0,
        c=1.0,
        gamma=1.0 / 6.0,
        averaging=False,
        x0=0.0,
        max_iter=None,
        tol=None,
    ):
        self.func = func
        self.step = step
        self.a = a
        self.A = A
        self.alpha = alpha
        self.c = c
        self.gamma = gamma
        self.averaging = averaging
        self.x0 = x0
        self.max_iter = max_iter
        self.tol = tol

    def _check_steps(self):
        super()._check_steps()
        if self.step == "harmonic" and not (
            self.alpha + self.gamma > 1.0 and self.alpha - self.gamma > 0.5
        ):
            warnings.warn(
                f"alpha={self.alpha}, gamma={self.gamma} violate the Kiefer-Wolfowitz conditions "
                "sum a_k c_k < inf and sum (a_k / c_k)^2 < inf "
                "(need alpha + gamma > 1 and alpha - gamma > 1/2)",
                ConvergenceWarning,
            )

    def _direction(self, x, sample, k):
        width = self.c / k**self.gamma
        grad = np.empty_like(x)
        for i in range(x.size):
            up, down = x.copy(), x.copy()
            up[i] += width
            down[i] -= width
            grad[i] = (self._value(up, sample) - self._value(down, sample)) / (2.0 * width)
        return grad

    def _value(self, x, sample):
        return float(self.func(x.reshape(self._shape), sample))


def _as_samples(X):
    samples = np.asarray(X, dtype=np.float64)
    if samples.ndim == 0:
        raise ValueError(f"X must be a sequence of samples, got a scalar X={X!r}")
    return samples
