"""Planners against the Bellman equations written as slow loops over the model P."""

import numpy as np
import pytest

gymnasium = pytest.importorskip("gymnasium")

from skextras.rl import (  # noqa: E402
    GridWorld,
    greedy_policy,
    policy_evaluation,
    policy_iteration,
    tabular_model,
    value_iteration,
)


def slow_value_iteration(P, n_states, n_actions, gamma, sweeps=400):
    """Value iteration as in the textbook: loops over states, actions and outcomes."""
    values = [0.0] * n_states
    for _ in range(sweeps):
        new = []
        for s in range(n_states):
            best = -np.inf
            for a in range(n_actions):
                q = 0.0
                for outcome in P[s][a]:
                    p, s_next, r = outcome[:3]
                    done = len(outcome) > 3 and outcome[3]
                    q += p * (r + (0.0 if done else gamma * values[s_next]))
                best = max(best, q)
            new.append(best)
        values = new
    return np.array(values)


@pytest.mark.parametrize("slip", [0.0, 0.3])
def test_value_iteration_solves_the_bellman_optimality_equation(slip):
    env = GridWorld(slip=slip)
    plan = value_iteration(env)
    reference = slow_value_iteration(env.P, env.n_states, env.n_actions, env.gamma)
    np.testing.assert_allclose(plan.values, reference, atol=1e-10)


def test_policy_iteration_agrees_with_value_iteration_to_1e_10():
    for env in (GridWorld(), GridWorld(slip=0.2, gamma=0.95)):
        vi, pi = value_iteration(env), policy_iteration(env)
        np.testing.assert_allclose(pi.values, vi.values, atol=1e-10)
        np.testing.assert_array_equal(pi.policy, vi.policy)


def test_value_iteration_on_frozen_lake_with_terminal_transitions():
    env = gymnasium.make("FrozenLake-v1", map_name="4x4")
    P = env.unwrapped.P
    plan = value_iteration(env, gamma=0.95)
    reference = slow_value_iteration(P, 16, 4, 0.95, sweeps=2000)
    np.testing.assert_allclose(plan.values, reference, atol=1e-10)


def test_policy_evaluation_is_the_fixed_point_of_the_bellman_expectation():
    env = GridWorld(slip=0.1)
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(5), size=25)
    values = policy_evaluation(env, probs)
    # Iterate V <- sum_a pi(a|s) sum_{s'} p (r + gamma V(s')) with loops.
    reference = np.zeros(25)
    for _ in range(250):
        reference = np.array(
            [
                sum(
                    probs[s, a] * sum(p * (r + 0.9 * reference[t]) for p, t, r in env.P[s, a])
                    for a in range(5)
                )
                for s in range(25)
            ]
        )
    np.testing.assert_allclose(values, reference, atol=1e-9)  # 0.9^250 * 10 < 1e-10


def test_optimal_policy_is_greedy_with_lowest_action_on_ties():
    plan = value_iteration(GridWorld())
    # (2, 1): right and down both lead through a forbidden cell to the target (Q = 8).
    s = 2 * 5 + 1
    assert plan.q_values[s, 1] == pytest.approx(plan.q_values[s, 2], abs=1e-12)
    assert plan.policy[s] == 1
    assert plan.policy[3 * 5 + 2] == 4  # stay on the target
    q = np.array([[1.0, 2.0, 2.0 - 1e-12, 0.0], [3.0, 3.0, 3.0, 3.0]])
    np.testing.assert_array_equal(greedy_policy(q), [1, 0])
    np.testing.assert_array_equal(greedy_policy(q, atol=0.5), [1, 0])


def test_tabular_model_rows_are_distributions():
    T, R, gamma = tabular_model(GridWorld(slip=0.25))
    np.testing.assert_allclose(T.sum(axis=2), 1.0)
    assert R.shape == (25, 5) and gamma == 0.9


@pytest.mark.parametrize("gamma", [1.0, 1.5, -0.5])
def test_gamma_outside_continuing_range_raises(gamma):
    with pytest.raises(ValueError, match="gamma"):
        value_iteration(GridWorld(), gamma=gamma)


def test_bad_policy_shape_raises():
    with pytest.raises(ValueError, match="policy"):
        policy_evaluation(GridWorld(), np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match="policy"):
        policy_evaluation(GridWorld(), np.full(25, 7))
