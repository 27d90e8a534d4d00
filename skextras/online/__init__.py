"""Stochastic approximation: estimate a root, a minimum, a mean or a quantile one sample at a
time (numpy only).

* :class:`RobbinsMonro` finds the root of ``E[g(x, noise)] = 0`` from noisy evaluations.
* :class:`KieferWolfowitz` minimises ``E[f(x, noise)]`` from noisy function values.
* :class:`OnlineMean` and :class:`OnlineQuantile` are the two classic special cases, with
  ``partial_fit`` for streams.
"""

from skextras.online._stats import OnlineMean, OnlineQuantile
from skextras.online._stochastic_approximation import KieferWolfowitz, RobbinsMonro

__all__ = ["KieferWolfowitz", "OnlineMean", "OnlineQuantile", "RobbinsMonro"]
