"""Reinforcement learning on the gymnasium API (needs the ``rl`` extra:
``pip install "skextras[rl]"``).

* :class:`GridWorld`: the 5x5 grid world of S. Zhao, *Mathematical Foundations of
  Reinforcement Learning*, as a ``gymnasium.Env`` with its exact transition model ``P``.
* :func:`value_iteration`, :func:`policy_iteration`, :func:`policy_evaluation`: exact
  planners on that model.
* :class:`MonteCarloPrediction`, :class:`MonteCarloControl`: model-free Monte Carlo methods
  (exploring starts, epsilon-soft with GLIE, off-policy with weighted importance sampling).
* :class:`DDPG`: deep deterministic policy gradient (needs torch as well; imported lazily).
"""

import importlib

try:
    import gymnasium  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        'skextras.rl needs gymnasium: install it with pip install "skextras[rl]"'
    ) from exc

from skextras.rl.gridworld import GridWorld
from skextras.rl.monte_carlo import MonteCarloControl, MonteCarloPrediction
from skextras.rl.planning import (
    greedy_policy,
    policy_evaluation,
    policy_iteration,
    tabular_model,
    value_iteration,
)

__all__ = [
    "DDPG",
    "GridWorld",
    "MonteCarloControl",
    "MonteCarloPrediction",
    "greedy_policy",
    "policy_evaluation",
    "policy_iteration",
    "tabular_model",
    "value_iteration",
]


def __getattr__(name):
    # DDPG needs torch; importing skextras.rl must not.
    if name == "DDPG":
        return importlib.import_module("skextras.rl.ddpg").DDPG
    raise AttributeError(f"module 'skextras.rl' has no attribute {name!r}")
