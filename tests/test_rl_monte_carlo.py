"""Monte Carlo prediction and control against exact planning on the textbook GridWorld."""

import numpy as np
import pytest

pytest.importorskip("gymnasium")

from skextras.rl import (  # noqa: E402
    GridWorld,
    MonteCarloControl,
    MonteCarloPrediction,
    policy_evaluation,
    tabular_model,
    value_iteration,
)
from skextras.rl.monte_carlo import _improve  # noqa: E402
from skextras.rl.planning import greedy_policy  # noqa: E402

# Truncating returns after 66 steps (gamma^66 <= 1e-3) loses at most 0.9^66 * 10 = 0.0095.
TRUNCATION = 0.0096
# The smallest gap between a best and a distinct second-best optimal action value on the
# default grid is 0.1 (state (0, 1)); tied actions agree exactly. A tie tolerance of 0.03
# therefore keeps every tie and breaks no distinct pair.
TIE_TOL = 0.03
# Epsilon-soft estimates lie below Q* (the exploration after the first step costs); only the
# gaps down to lower-numbered actions (>= 0.368) then limit the tie tolerance (test below).
EPSILON_SOFT_TIE_TOL = 0.15


@pytest.fixture(scope="module")
def optimal():
    return value_iteration(GridWorld())


def test_optimal_q_gaps_justify_the_tie_tolerance(optimal):
    q = np.sort(optimal.q_values, axis=1)[:, ::-1]
    gaps = q[:, 0] - q[:, 1]
    assert gaps[gaps > 1e-9].min() == pytest.approx(0.1, abs=1e-9)


def test_exploring_starts_finds_the_optimal_policy_and_values(optimal):
    mc = MonteCarloControl("exploring_starts", tie_tol=TIE_TOL, random_state=0)
    mc.fit(GridWorld(), n_episodes=2000)
    np.testing.assert_array_equal(mc.policy_, optimal.policy)
    np.testing.assert_allclose(mc.values_, optimal.values, atol=TRUNCATION)
    np.testing.assert_array_equal(mc.predict(np.arange(25)), optimal.policy)
    assert mc.predict(17) == 4


@pytest.mark.slow
def test_off_policy_weighted_importance_sampling_finds_the_optimal_policy(optimal):
    mc = MonteCarloControl("off_policy", epsilon=0.02, tie_tol=TIE_TOL, random_state=0)
    mc.fit(GridWorld(), n_episodes=4000)
    np.testing.assert_array_equal(mc.policy_, optimal.policy)
    np.testing.assert_allclose(mc.values_, optimal.values, atol=TRUNCATION)


def test_epsilon_soft_returns_estimate_the_behaviour_policy_values():
    # epsilon = 1 without GLIE: the behaviour is uniform whatever the estimates, so the
    # averages of all returns converge to Q of the uniform policy, R + gamma T V_uniform.
    env = GridWorld()
    uniform = np.full((25, 5), 0.2)
    T, R, gamma = tabular_model(env)
    q_uniform = R + gamma * T @ policy_evaluation(env, uniform)
    mc = MonteCarloControl(
        "epsilon_soft", epsilon=1.0, glie=False, returns="all", first_visit=False, random_state=0
    ).fit(env, n_episodes=600)
    # Returns of the uniform policy have sd of about 2.5; every pair gets >= 150 of them.
    assert mc.counts_.min() >= 150
    np.testing.assert_allclose(mc.q_, q_uniform, atol=0.6)
    assert np.mean(np.abs(mc.q_ - q_uniform)) < 0.15


def test_epsilon_soft_improves_the_policy_only_after_each_batch():
    env = GridWorld()
    batched = MonteCarloControl("epsilon_soft", improve_every=25, random_state=0).fit(env, 100)
    per_episode = MonteCarloControl("epsilon_soft", random_state=0).fit(env, 100)
    assert 1 <= batched.n_improvements_ <= 4 < per_episode.n_improvements_
    # One batch of the whole run: every episode follows the initial policy (action 0) with
    # exploration epsilon, and the final improvement is greedy in the resulting estimates.
    single = MonteCarloControl("epsilon_soft", improve_every=100, random_state=0).fit(env, 100)
    assert single.n_improvements_ == 1
    np.testing.assert_array_equal(single.policy_, np.argmax(single.q_, axis=1))


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_epsilon_soft_glie_finds_the_optimal_policy(optimal, seed):
    # Per-state GLIE exploration, recency-weighted averages, plain greedy improvement; about
    # 10 s per seed on one core. Errors measured on seeds 0-5: at most 0.08.
    mc = MonteCarloControl(
        "epsilon_soft",
        epsilon=1.0,
        glie=True,
        recency=6,
        returns="all",
        tie_tol=EPSILON_SOFT_TIE_TOL,
        random_state=seed,
    ).fit(GridWorld(), n_episodes=25_000)
    # In a deterministic grid no truncated return exceeds Q*: the errors are one-sided.
    assert np.all(mc.q_ <= optimal.q_values + 1e-12)
    np.testing.assert_array_equal(mc.policy_, optimal.policy)
    np.testing.assert_allclose(mc.values_, optimal.values, atol=0.1)
    # GLIE: the target (in every episode) is nearly greedy, rare states still explore.
    epsilon = 1.0 / (1.0 + mc.state_visits_ / mc.glie_visits)
    assert epsilon[17] < 1e-3 and epsilon[20] > 5e-3


def test_epsilon_soft_tie_tolerance_is_below_the_gaps_to_lower_numbered_actions(optimal):
    # With estimates at most Q* and the lowest optimal action within e of Q*, the rule
    # "lowest action within tie_tol of the best" returns value iteration's policy when
    # e < tie_tol < gap - e, gap the smallest distance from the best value down to a
    # lower-numbered non-optimal action: 0.368 at (0, 2); the 0.1 gaps are upwards.
    q, best = optimal.q_values, optimal.values[:, None]
    lower = np.arange(5)[None, :] < optimal.policy[:, None]
    gaps = (best - q)[lower]
    assert gaps.min() == pytest.approx(0.368, abs=1e-9)
    assert EPSILON_SOFT_TIE_TOL < gaps.min() - EPSILON_SOFT_TIE_TOL
    # A perturbation of Q* within those bounds keeps the policy.
    rng = np.random.default_rng(0)
    perturbed = q - rng.uniform(0, EPSILON_SOFT_TIE_TOL * 0.99, size=q.shape)
    np.testing.assert_array_equal(greedy_policy(perturbed, EPSILON_SOFT_TIE_TOL), optimal.policy)


def test_episode_explores_with_the_epsilon_of_each_state():
    # Exploration only in the start cell (0, 0): every other state follows the greedy action.
    env = GridWorld(start=(0, 0))
    mc = MonteCarloControl("epsilon_soft", episode_length=400, random_state=0)
    mc._setup(env, 1)
    epsilon = np.zeros(25)
    epsilon[0] = 1.0
    greedy = np.full(25, 4)  # stay
    states, actions, _, behaviour, is_greedy, _ = mc._episode(env, greedy, epsilon)
    assert np.all(actions[states != 0] == 4)
    assert 0 < np.sum(states == 0) < len(states)
    np.testing.assert_allclose(behaviour, np.where(states == 0, 0.2, 1.0))
    np.testing.assert_array_equal(is_greedy, actions == 4)


def test_recency_weights_returns_by_episode_index():
    # Two one-step updates of the same pair with episode weights 1 and 3: Q = (G1 + 3 G2) / 4.
    mc = MonteCarloControl("epsilon_soft", horizon=1)
    mc.gamma_, mc.horizon_, mc.n_actions_ = 0.9, 1, 2
    mc.q_, mc.counts_ = np.zeros((1, 2)), np.zeros((1, 2))
    greedy = np.array([0])
    for reward, weight in [(2.0, 1.0), (6.0, 3.0)]:
        episode = (np.array([0]), np.array([1]), np.array([reward]), None, None, False)
        mc._update(episode, greedy, weight)
    assert mc.q_[0, 1] == pytest.approx((2.0 + 3 * 6.0) / 4)
    assert mc.counts_[0, 1] == pytest.approx(4.0)


def test_improvement_keeps_an_action_unless_another_beats_it_by_more_than_tie_tol():
    q = np.array([[1.0, 1.02, 0.5], [1.0, 1.05, 0.0], [2.0, 1.0, 2.0]])
    current = np.array([1, 0, 2])
    # State 0: the current action is the best; action 0 is within tie_tol, which the planners'
    # rule (lowest index) would pick. State 1: the current action is beaten by 0.05 > 0.03.
    # State 2: an exact tie with action 0 keeps the current action.
    np.testing.assert_array_equal(_improve(q, current, 0.03), [1, 1, 2])
    np.testing.assert_array_equal(greedy_policy(q, 0.03), [0, 1, 0])


def test_final_policy_uses_the_planners_tie_rule():
    # With these settings the last conservative improvement keeps a tied higher-numbered
    # action in one state; policy_ must still be the planners' choice.
    mc = MonteCarloControl("epsilon_soft", improve_every=50, tie_tol=0.3, random_state=0)
    mc.fit(GridWorld(), n_episodes=300)
    np.testing.assert_array_equal(mc.policy_, greedy_policy(mc.q_, 0.3))
    np.testing.assert_array_equal(mc.values_, mc.q_[np.arange(25), mc.policy_])


def test_off_policy_weights_are_the_importance_ratios_of_the_window():
    # Window of 3 steps after the first action: W = prod 1 / b(greedy) if all greedy, else 0.
    mc = MonteCarloControl("off_policy", epsilon=0.5, horizon=3, first_visit=False)
    mc.gamma_, mc.horizon_, mc.n_actions_ = 0.5, 3, 2
    mc.q_, mc.counts_ = np.zeros((2, 2)), np.zeros((2, 2))
    states = np.array([0, 1, 0, 1, 0])
    actions = np.array([1, 0, 0, 0, 1])
    greedy = np.array([0, 0])
    is_greedy = actions == greedy[states]
    behaviour = 0.5 / 2 + 0.5 * is_greedy
    rewards = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    mc._update((states, actions, rewards, behaviour, is_greedy, False), greedy)
    # Windows t = 0, 1, 2 (three steps each). t = 0: later actions (0 at s1, 0 at s0) are
    # greedy -> W = (1/0.75)^2, G = 1 + 0.5*2 + 0.25*4 = 3. t = 1: later actions (0 at s0,
    # 0 at s1) greedy -> W = (1/0.75)^2, G = 2 + 2 + 2 = 6. t = 2: action 1 at s0 at step 4 is
    # not greedy -> W = 0.
    assert mc.q_[0, 1] == pytest.approx(3.0)
    assert mc.q_[1, 0] == pytest.approx(6.0)
    assert mc.counts_[0, 1] == pytest.approx((1 / 0.75) ** 2)
    assert mc.counts_[0, 0] == 0.0


@pytest.mark.parametrize("first_visit", [True, False])
def test_prediction_of_the_optimal_policy_is_exact_in_a_deterministic_grid(optimal, first_visit):
    env = GridWorld()
    mp = MonteCarloPrediction(optimal.policy, first_visit=first_visit, random_state=0)
    mp.fit(env, n_episodes=200)
    np.testing.assert_allclose(mp.values_, optimal.values, atol=TRUNCATION)


def test_prediction_of_the_uniform_policy_converges_to_its_values():
    env = GridWorld()
    exact = policy_evaluation(env, np.full((25, 5), 0.2))
    mp = MonteCarloPrediction(first_visit=False, random_state=1).fit(env, n_episodes=300)
    # sd of one return about 2.5, >= 500 returns per state, correlated within an episode.
    assert mp.counts_.min() >= 500
    np.testing.assert_allclose(mp.values_, exact, atol=0.5)
    assert np.mean(np.abs(mp.values_ - exact)) < 0.15


def test_fit_is_deterministic_given_random_state():
    env = GridWorld(slip=0.2)
    a = MonteCarloControl("epsilon_soft", epsilon=0.3, random_state=3).fit(env, 50)
    b = MonteCarloControl("epsilon_soft", epsilon=0.3, random_state=3).fit(env, 50)
    c = MonteCarloControl("epsilon_soft", epsilon=0.3, random_state=4).fit(env, 50)
    np.testing.assert_array_equal(a.q_, b.q_)
    assert not np.array_equal(a.q_, c.q_)


@pytest.mark.parametrize(
    "params, name",
    [
        (dict(epsilon=1.5), "'epsilon'"),
        (dict(epsilon=-0.1), "'epsilon'"),
        (dict(method="sarsa"), "'method'"),
        (dict(gamma=1.5), "'gamma'"),
        (dict(horizon=0), "'horizon'"),
        (dict(returns="recent"), "'returns'"),
        (dict(improve_every=0), "'improve_every'"),
        (dict(glie_visits=0), "'glie_visits'"),
        (dict(recency=-1.0), "'recency'"),
    ],
)
def test_bad_parameters_raise_value_error_naming_them(params, name):
    with pytest.raises(ValueError, match=name):
        MonteCarloControl(**params).fit(GridWorld(), n_episodes=1)


def test_gamma_one_on_a_continuing_task_raises():
    with pytest.raises(ValueError, match="gamma=1.0"):
        MonteCarloControl(gamma=1.0, episode_length=10).fit(GridWorld(), n_episodes=2)


def test_predict_rejects_unknown_states():
    mc = MonteCarloControl(random_state=0).fit(GridWorld(), n_episodes=5)
    with pytest.raises(ValueError, match="obs"):
        mc.predict(25)
