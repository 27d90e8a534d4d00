"""Exact planning on a tabular model: value iteration, policy iteration, policy evaluation.

The model is read from ``env.unwrapped.P`` in the gymnasium toy-text convention:
``P[s][a]`` (or ``P[s, a]``) is a list of ``(p, s', r)`` or ``(p, s', r, terminated)``; a
terminating transition contributes its reward and no continuation value. It is turned once
into dense arrays ``T[s, a, s']`` and expected rewards ``R[s, a]``; every planner is then a
few lines of numpy on them.

Invariants:

* Value iteration stops when ``gamma / (1 - gamma) * ||V_{k+1} - V_k||_inf <= tol``, which
  bounds ``||V_{k+1} - V*||_inf`` by ``tol`` (the Bellman operator is a gamma-contraction).
* Policy iteration evaluates each policy exactly (one linear solve) and stops when the
  greedy policy repeats, so its values are exact to rounding.
* Greedy actions use one tie rule everywhere (:func:`greedy_policy`): the lowest-numbered
  action whose value is within ``atol`` of the best. Monte Carlo agents use the same rule.
"""

from collections import namedtuple
from numbers import Real

import numpy as np

Plan = namedtuple("Plan", ["values", "q_values", "policy", "n_iter"])
Plan.__doc__ = """Result of a planner.

values : ndarray of shape (n_states,)
    Optimal state values ``V*``.
q_values : ndarray of shape (n_states, n_actions)
    Optimal action values ``Q* = R + gamma T V*``.
policy : ndarray of shape (n_states,), dtype=int64
    A greedy (optimal) action per state, ties to the lowest action number.
n_iter : int
    Sweeps (value iteration) or improvement steps (policy iteration).
"""

TIE_ATOL = 1e-9  # planners' tie tolerance: well above rounding, far below reward scales


def tabular_model(env, gamma=None):
    """Dense model of a tabular environment.

    Parameters
    ----------
    env : gymnasium.Env
        An environment (wrappers are looked through) with a ``P`` attribute.
    gamma : float in [0, 1) or None, default=None
        Discount; ``None`` reads ``env.unwrapped.gamma``.

    Returns
    -------
    T : ndarray of shape (n_states, n_actions, n_states)
        Transition probabilities of continuing transitions.
    R : ndarray of shape (n_states, n_actions)
        Expected immediate reward.
    gamma : float

    Examples
    --------
    >>> from skextras.rl import GridWorld, tabular_model
    >>> T, R, gamma = tabular_model(GridWorld())
    >>> T.shape, R.shape, gamma
    ((25, 5, 25), (25, 5), 0.9)
    """
    base = env.unwrapped
    P = getattr(base, "P", None)
    if P is None:
        raise ValueError(f"env must expose its model as env.P, {type(base).__name__} does not")
    gamma = _check_gamma(getattr(base, "gamma", None) if gamma is None else gamma)
    n_states, n_actions = base.observation_space.n, base.action_space.n
    T = np.zeros((n_states, n_actions, n_states))
    R = np.zeros((n_states, n_actions))
    for s in range(n_states):
        for a in range(n_actions):
            for outcome in P[s][a]:
                p, s_next, r = outcome[:3]
                R[s, a] += p * r
                if not (len(outcome) > 3 and outcome[3]):
                    T[s, a, s_next] += p
    return T, R, gamma


def greedy_policy(q_values, atol=TIE_ATOL):
    """Greedy actions of ``q_values`` (n_states, n_actions): the lowest action number whose
    value is within ``atol`` of the row maximum.

    Examples
    --------
    >>> import numpy as np
    >>> from skextras.rl import greedy_policy
    >>> greedy_policy(np.array([[1.0, 2.0, 2.0], [0.0, -1.0, 0.5]]))
    array([1, 2])
    """
    q_values = np.asarray(q_values, dtype=np.float64)
    best = q_values.max(axis=1, keepdims=True)
    return np.argmax(q_values >= best - atol, axis=1).astype(np.int64)


def value_iteration(env, gamma=None, tol=1e-10, max_iter=100_000):
    """Optimal values and a greedy policy by value iteration (Bellman optimality sweeps).

    Parameters
    ----------
    env : gymnasium.Env
        Tabular environment with a model ``P`` (see :func:`tabular_model`).
    gamma : float in [0, 1) or None, default=None
        Discount; ``None`` uses ``env.gamma``.
    tol : float, default=1e-10
        Bound on ``||V - V*||_inf`` at return.
    max_iter : int, default=100_000
        Maximum number of sweeps.

    Returns
    -------
    Plan
        ``values, q_values, policy, n_iter``.

    Examples
    --------
    >>> from skextras.rl import GridWorld, value_iteration
    >>> plan = value_iteration(GridWorld())
    >>> plan.values[:5].round(2)
    array([5.83, 5.58, 6.2 , 6.48, 5.83])
    """
    T, R, gamma = tabular_model(env, gamma)
    if not isinstance(tol, Real) or tol <= 0:
        raise ValueError(f"tol must be a positive float, got tol={tol!r}")
    values, n_iter = np.zeros(len(R)), 0
    while n_iter < max_iter:
        n_iter += 1
        updated = (R + gamma * T @ values).max(axis=1)
        delta = np.max(np.abs(updated - values))
        values = updated
        if gamma * delta <= tol * (1.0 - gamma):
            break
    q_values = R + gamma * T @ values
    return Plan(values, q_values, greedy_policy(q_values), n_iter)


def policy_evaluation(env, policy, gamma=None):
    """Exact values of a policy: the solution of ``V = R_pi + gamma T_pi V``.

    Parameters
    ----------
    env : gymnasium.Env
        Tabular environment with a model ``P``.
    policy : array-like of shape (n_states,) or (n_states, n_actions)
        An action per state, or action probabilities per state.
    gamma : float in [0, 1) or None, default=None
        Discount; ``None`` uses ``env.gamma``.

    Returns
    -------
    values : ndarray of shape (n_states,)

    Examples
    --------
    >>> import numpy as np
    >>> from skextras.rl import GridWorld, policy_evaluation
    >>> uniform = np.full((25, 5), 0.2)  # every action with probability 1/5
    >>> policy_evaluation(GridWorld(), uniform)[:5].round(2)
    array([-3.85, -3.81, -3.64, -3.12, -3.24])
    """
    T, R, gamma = tabular_model(env, gamma)
    probs = policy_matrix(policy, *R.shape)
    T_pi = np.einsum("sa,sat->st", probs, T)
    R_pi = np.sum(probs * R, axis=1)
    return np.linalg.solve(np.eye(len(R)) - gamma * T_pi, R_pi)


def policy_iteration(env, gamma=None, max_iter=1000):
    """Optimal values and policy by policy iteration (exact evaluation, greedy improvement).

    Starts from action 0 everywhere; stops when the greedy policy repeats.

    Returns
    -------
    Plan
        ``values, q_values, policy, n_iter``.

    Examples
    --------
    >>> import numpy as np
    >>> from skextras.rl import GridWorld, policy_iteration, value_iteration
    >>> env = GridWorld()
    >>> np.allclose(policy_iteration(env).values, value_iteration(env).values)
    True
    """
    T, R, gamma = tabular_model(env, gamma)
    policy = np.zeros(len(R), dtype=np.int64)
    rows, n_iter = np.arange(len(R)), 0
    while n_iter < max_iter:
        n_iter += 1
        values = np.linalg.solve(np.eye(len(R)) - gamma * T[rows, policy], R[rows, policy])
        q_values = R + gamma * T @ values
        improved = greedy_policy(q_values)
        # Keep the current action while it is still greedy: no cycling between tied actions.
        keep = q_values[rows, policy] >= q_values.max(axis=1) - TIE_ATOL
        improved = np.where(keep, policy, improved)
        if np.array_equal(improved, policy):
            break
        policy = improved
    return Plan(values, q_values, greedy_policy(q_values), n_iter)


def policy_matrix(policy, n_states, n_actions):
    """Action probabilities (n_states, n_actions) of a deterministic or stochastic policy."""
    policy = np.asarray(policy)
    if policy.shape == (n_states,):
        if not np.issubdtype(policy.dtype, np.integer) or np.any(
            (policy < 0) | (policy >= n_actions)
        ):
            raise ValueError(f"policy must hold actions in [0, {n_actions}), got {policy!r}")
        return np.eye(n_actions)[policy]
    if policy.shape == (n_states, n_actions):
        probs = policy.astype(np.float64)
        if np.any(probs < 0) or not np.allclose(probs.sum(axis=1), 1.0):
            raise ValueError("policy probabilities must be non-negative and sum to 1 per state")
        return probs
    raise ValueError(
        f"policy must have shape ({n_states},) or ({n_states}, {n_actions}), "
        f"got shape {policy.shape}"
    )


def _check_gamma(gamma):
    if gamma is None:
        raise ValueError("gamma is needed: pass gamma= or give the environment a gamma attribute")
    if not isinstance(gamma, Real) or not 0.0 <= gamma < 1.0:
        raise ValueError(
            f"gamma must be in [0, 1) for a continuing (discounted) task, got gamma={gamma!r}"
        )
    return float(gamma)
