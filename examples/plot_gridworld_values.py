"""
GridWorld values: value iteration, Monte Carlo and Robbins-Monro
================================================================

Left: the optimal state values of the 5x5 grid world of S. Zhao, *Mathematical Foundations of
Reinforcement Learning* (gamma 0.9), by value iteration, beside the values Monte Carlo
control with exploring starts finds, and the exact values of the uniform random policy beside
every-visit Monte Carlo prediction. Right: Robbins-Monro iterates on ``E[x - 2 + noise] = 0``
with harmonic steps, slower ``1/k^0.6`` steps and their Polyak-Ruppert average. This is the
figure of the online / RL guide (``docs/images/online_rl.png``).
"""

import matplotlib.pyplot as plt
import numpy as np

from skextras.online import RobbinsMonro
from skextras.rl import (
    GridWorld,
    MonteCarloControl,
    MonteCarloPrediction,
    policy_evaluation,
    value_iteration,
)

env = GridWorld()
optimal = value_iteration(env)
control = MonteCarloControl(tie_tol=0.03, random_state=0).fit(env, n_episodes=2000)
uniform = MonteCarloPrediction(first_visit=False, random_state=0).fit(env, n_episodes=300)
uniform_exact = policy_evaluation(env, np.full((25, 5), 0.2))

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
states = np.arange(25)
left.plot(states, optimal.values, "k_", markersize=14, label="value iteration V*")
left.plot(states, control.values_, "o", mfc="none", label="MC exploring starts (2000 ep.)")
left.plot(states, uniform_exact, "k_", markersize=14, alpha=0.4, label="exact V (uniform policy)")
left.plot(states, uniform.values_, "x", label="MC prediction, uniform policy (300 ep.)")
left.set_xlabel("state (row-major cell index)")
left.set_ylabel("state value")
left.set_title("GridWorld (Zhao 5x5, gamma 0.9)")
left.legend(fontsize=8, loc="center right")

theta, n = 2.0, 5000
noise = np.random.default_rng(0).normal(scale=2.0, size=n)
steps = np.arange(1, n + 1)
for alpha, averaging, label in [
    (1.0, False, "a_k = 1/k"),
    (0.6, False, "a_k = 1/k^0.6, last iterate"),
    (0.6, True, "a_k = 1/k^0.6, Polyak average"),
]:
    rm = RobbinsMonro(lambda x, e: x - theta + e, alpha=alpha, x0=-3.0).fit(noise)
    path = rm.history_
    if averaging:
        path = np.cumsum(path) / steps
    right.plot(steps, path, label=label, lw=1)
right.axhline(theta, color="k", lw=0.8)
right.set_xscale("log")
right.set_ylim(theta - 2, theta + 2)
right.set_xlabel("iteration k")
right.set_ylabel("x_k")
right.set_title("Robbins-Monro on E[x - 2 + noise] = 0, noise sd 2")
right.legend(fontsize=8)
fig.tight_layout()
plt.show()
