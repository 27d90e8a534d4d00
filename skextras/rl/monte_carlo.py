"""Model-free Monte Carlo prediction and control for tabular (Discrete) environments.

Every method estimates action values as (weighted) averages of sampled discounted returns:

* ``MonteCarloPrediction``: ``V(s)`` of a given policy, first- or every-visit.
* ``MonteCarloControl(method="exploring_starts")``: every episode starts from a uniformly
  drawn state-action pair and then follows the greedy policy (Sutton & Barto, Fig. 5.4;
  Zhao, Alg. 5.2).
* ``method="epsilon_soft"``: episodes start from the environment's start distribution (for
  :class:`~skextras.rl.GridWorld` without ``start``: uniform over the states, which an
  epsilon-soft method may use as well; the first action is epsilon-greedy like every other)
  and follow the epsilon-greedy policy of the current estimates. With ``glie=True`` the
  exploration of state ``s`` decays with the number ``n_k(s)`` of earlier episodes that
  visited it, ``epsilon_k(s) = epsilon / (1 + n_k(s) / glie_visits)`` (a GLIE schedule:
  ``sum_k epsilon_k(s) = inf`` over the visits of ``s``, ``epsilon_k(s) -> 0``; Singh,
  Jaakkola, Littman & Szepesvari 2000, "c / n_t(s)"), so the estimates tend to ``Q*`` rather
  than to the best epsilon-soft policy's values.
* ``method="off_policy"``: the behaviour policy ``b`` draws the first state-action pair
  uniformly and then acts epsilon-greedily; the target is the greedy policy ``pi``, estimated
  by weighted importance sampling (Sutton & Barto, Fig. 5.7): ``C += W``,
  ``Q += W / C (G - Q)`` with ``W = prod pi(a_j | s_j) / b(a_j | s_j)`` over the actions
  after the first (the first action needs no ratio: it is the one whose value is estimated).

The greedy policy is improved after every ``improve_every`` episodes. With
``returns="current_policy"`` the improvement is conservative: a state keeps its action unless
another action's estimate beats it by more than ``tie_tol`` (policy iteration would otherwise
cycle between tied actions, and with sampled estimates each such switch restarts the
averages); with ``returns="all"`` it is the plain greedy step. The final ``policy_`` is then
read off ``q_`` with the planners' rule (the lowest-numbered action within ``tie_tol`` of the
best), so a kept tied action does not decide the reported tie.

On the textbook grid all three methods recover value iteration's policy exactly, ties
included. For epsilon-soft control three choices make this possible within some 10^4
episodes (measured: 8000 episodes with the schedule of ``epsilon / b`` per batch of 50 left
3 to 4 states off, 20,000 left 2 to 4):

* **Per-state GLIE schedule.** An on-policy return of ``(s, a)`` carries the exploration of
  every later step; a global ``epsilon_k`` small enough for nearly exact returns (the bias of
  ``V`` is about ``15 epsilon`` here, mostly from exploring at the target) leaves the
  non-greedy actions of rarely visited states (``(4, 0)``, visited in one episode of 23)
  untried. Decaying with ``n_k(s)`` makes the target and the states on many paths nearly
  greedy within a few hundred episodes, so returns are nearly exact, while rarely visited
  states keep exploring.
* **Recency-weighted averages** (``recency``): the returns of episode ``k`` of ``n`` get
  weight ``(k / n)^recency`` in the average (``recency = 0``: the sample average). A
  non-greedy action is tried rarely; its plain average keeps returns from early, worse
  policies and larger exploration (too low: the greedy policy then never switches to it).
  With ``recency = 6`` a return from episode ``k / 2`` weighs 1/64 of one from episode
  ``k``, so a fresh return of a rarely tried action replaces its stale ones; it is still a
  Robbins-Monro step (``a_n ~ 7 / n`` for regular updates).
* **No restarts.** With ``returns="all"`` the averages continue across policy changes (a
  restart leaves a rarely tried action with one stale return) and the improvement is the
  plain greedy step.

The error is one-sided in a deterministic grid: every truncated return of ``(s, a)`` is at
most ``Q*(s, a)`` (no action sequence beats the optimal one), so the estimates of visited
pairs lie below ``Q*`` by the exploration in their returns. The
tie rule then returns value iteration's policy whenever the estimate of the lowest optimal
action is within ``tie_tol`` of ``Q*`` and ``tie_tol`` is below the smallest gap between the
best and a lower-numbered action minus that error (0.368 on the default grid, state (0, 2);
the 0.1 gaps of (0, 1) and (4, 0) are to higher-numbered actions).

``returns="current_policy"`` (the default) averages only the returns gathered since the
greedy policy last changed (all counts restart at each change): the textbook average over all
returns (``returns="all"``) keeps the returns of early, poor policies for ever, which on the
textbook grid biased exploring-starts values by up to 1.6 after 3000 episodes (5 states off
the optimal policy). With the default, exploring starts is Monte Carlo policy iteration, and
on a deterministic environment one return per pair is already the exact (truncated) value.

Continuing tasks have no episode end, so a return is truncated after ``horizon`` steps:
``G_t = sum_{j < horizon} gamma^j r_{t+j}``, which differs from the infinite return by at
most ``gamma^horizon max|r| / (1 - gamma)``; only steps with a full horizon ahead are used (in
an episode that terminates, every step is used with its exact return). Importance weights
cover the same window. Within one episode the updates are applied as one weighted average,
which equals the incremental updates applied in sequence.

Invariant: with the same ``random_state`` (which also seeds the environment through its first
``reset``) a fit is identical; greedy actions use the tie rule of the planners
(:func:`~skextras.rl.planning.greedy_policy`), so they agree with ``value_iteration`` on ties.
"""

import bisect
import math
from numbers import Integral, Real

import numpy as np
from gymnasium import spaces
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from skextras.rl.planning import greedy_policy, policy_matrix

_TRUNCATION_WEIGHT = 1e-3  # default horizon: the smallest h with gamma^h <= this


class _MonteCarlo(BaseEstimator):
    """Episode generation, truncated returns and weighted-average updates."""

    _common_constraints = {
        "gamma": [Interval(Real, 0, 1, closed="both"), None],
        "horizon": [Interval(Integral, 1, None, closed="left"), None],
        "episode_length": [Interval(Integral, 1, None, closed="left"), None],
        "first_visit": ["boolean"],
        "random_state": ["random_state"],
    }

    def _setup(self, env, n_episodes):
        self._validate_params()
        if not isinstance(n_episodes, Integral) or n_episodes < 1:
            raise ValueError(f"n_episodes must be a positive int, got n_episodes={n_episodes!r}")
        base = env.unwrapped
        if not isinstance(base.observation_space, spaces.Discrete) or not isinstance(
            base.action_space, spaces.Discrete
        ):
            raise ValueError("env must have Discrete observation and action spaces")
        gamma = self.gamma if self.gamma is not None else getattr(base, "gamma", None)
        if gamma is None:
            raise ValueError("gamma is needed: pass gamma= or use an env with a gamma attribute")
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got gamma={gamma!r}")
        self.gamma_ = float(gamma)
        if self.horizon is not None:
            self.horizon_ = int(self.horizon)
        elif self.gamma_ < 1.0:
            self.horizon_ = max(1, math.ceil(math.log(_TRUNCATION_WEIGHT) / math.log(self.gamma_)))
        else:
            self.horizon_ = None  # gamma = 1: only terminating episodes, exact returns
        self.episode_length_ = self.episode_length or 2 * (self.horizon_ or 100)
        self.n_states_ = int(base.observation_space.n)
        self.n_actions_ = int(base.action_space.n)
        self._rng = check_random_state(self.random_state)
        self._env_seed = int(self._rng.randint(np.iinfo(np.int32).max))

    def _episode(self, env, greedy, epsilon, start=None):
        """Run one episode; return states, actions, rewards, behaviour probs, terminated.

        ``start = (s, a)`` fixes the first state and action (exploring starts). Actions are
        epsilon-greedy with respect to ``greedy`` (the greedy action per state); ``epsilon``
        is a number or an array of one exploration rate per state.
        """
        options = None if start is None else {"state": int(start[0])}
        seed, self._env_seed = self._env_seed, None
        state, _ = env.reset(seed=seed, options=options)
        length, n_actions = self.episode_length_, self.n_actions_
        draws = self._rng.random_sample(length).tolist()
        random_actions = self._rng.randint(n_actions, size=length)
        per_state = np.ndim(epsilon) > 0
        state_epsilon = np.asarray(epsilon).tolist() if per_state else None
        states, actions, rewards = [], [], []
        terminated = False
        for t in range(length):
            if t == 0 and start is not None:
                action = int(start[1])
            else:
                explore = draws[t] < (state_epsilon[state] if per_state else epsilon)
                action = int(random_actions[t]) if explore else int(greedy[state])
            states.append(state)
            actions.append(action)
            state, reward, terminated, truncated, _ = env.step(action)
            rewards.append(float(reward))
            if terminated or truncated:
                break
        states, actions = np.array(states), np.array(actions)
        is_greedy = actions == greedy[states]
        step_epsilon = np.asarray(epsilon)[states] if per_state else epsilon
        behaviour = step_epsilon / n_actions + (1.0 - step_epsilon) * is_greedy
        return states, actions, np.array(rewards), behaviour, is_greedy, terminated

    def _returns(self, rewards, terminated):
        """Discounted returns of the usable steps: exact if terminated, else truncated."""
        gamma, horizon = self.gamma_, self.horizon_
        if terminated or horizon is None:
            if not terminated:
                raise ValueError(
                    f"gamma={gamma} >= 1 needs an episodic task, but an episode did not "
                    f"terminate within episode_length={self.episode_length_} steps"
                )
            returns = np.empty(len(rewards))
            running = 0.0
            for t in range(len(rewards) - 1, -1, -1):
                running = rewards[t] + gamma * running
                returns[t] = running
            return returns
        if len(rewards) < horizon:
            return np.empty(0)
        return np.correlate(rewards, gamma ** np.arange(horizon), mode="valid")

    def _windows(self, n_steps, terminated):
        """``(start, end)`` of each usable step's return window, ``end`` exclusive."""
        starts = np.arange(n_steps)
        if terminated or self.horizon_ is None:
            return starts, np.full(n_steps, n_steps)
        starts = starts[: max(n_steps - self.horizon_ + 1, 0)]
        return starts, starts + self.horizon_

    def _first_visits(self, keys):
        _, first = np.unique(keys, return_index=True)
        mask = np.zeros(len(keys), dtype=bool)
        mask[first] = True
        return mask

    @staticmethod
    def _average(estimates, weights_sum, keys, returns, weights):
        """Weighted running averages ``estimates[k]`` with cumulative weights ``weights_sum``."""
        flat_estimates, flat_sum = estimates.reshape(-1), weights_sum.reshape(-1)
        added_weight = np.bincount(keys, weights=weights, minlength=flat_sum.size)
        added_total = np.bincount(keys, weights=weights * returns, minlength=flat_sum.size)
        touched = added_weight > 0
        total = flat_sum[touched] + added_weight[touched]
        flat_estimates[touched] += (
            added_total[touched] - added_weight[touched] * flat_estimates[touched]
        ) / total
        flat_sum[touched] = total


def _improve(q_values, greedy, tie_tol):
    """Policy improvement that keeps each state's action unless another beats it by > tie_tol.

    Switching only on a strict improvement stops policy iteration from cycling between tied
    actions (Sutton & Barto, Exercise 4.4); with sampled estimates every such switch would
    also restart the averages (``returns="current_policy"``).
    """
    current = q_values[np.arange(len(greedy)), greedy]
    keep = current >= q_values.max(axis=1) - tie_tol
    return np.where(keep, greedy, greedy_policy(q_values, tie_tol))


class MonteCarloPrediction(_MonteCarlo):
    """State values of a fixed policy from sampled episodes (first- or every-visit MC).

    Parameters
    ----------
    policy : array-like of shape (n_states,) or (n_states, n_actions) or None, default=None
        An action per state, or action probabilities per state; ``None`` is the uniform
        random policy.
    first_visit : bool, default=True
        Average the return of the first visit to a state per episode only, or every visit.
    gamma : float in [0, 1] or None, default=None
        Discount; ``None`` reads ``env.unwrapped.gamma``. ``gamma = 1`` needs episodes that
        terminate within ``episode_length``.
    horizon : int or None, default=None
        Steps after which a return is truncated in a continuing task; ``None``: the smallest
        ``h`` with ``gamma^h <= 1e-3`` (66 for ``gamma = 0.9``).
    episode_length : int or None, default=None
        Maximum steps per episode; ``None``: ``2 * horizon``.
    random_state : int, RandomState instance or None, default=None
        Seeds the actions and, through the first ``reset``, the environment.

    Attributes
    ----------
    values_ : ndarray of shape (n_states,)
        Estimated state values (0 where a state was never visited).
    counts_ : ndarray of shape (n_states,)
        Returns averaged per state.

    Examples
    --------
    >>> import numpy as np
    >>> from skextras.rl import GridWorld, MonteCarloPrediction, policy_evaluation
    >>> env = GridWorld()
    >>> mc = MonteCarloPrediction(random_state=0).fit(env, n_episodes=200)  # uniform policy
    >>> exact = policy_evaluation(env, np.full((25, 5), 0.2))
    >>> mc.values_.shape, bool(np.abs(mc.values_ - exact).max() < 1.5)
    ((25,), True)
    """

    _parameter_constraints = {"policy": ["array-like", None], **_MonteCarlo._common_constraints}

    def __init__(
        self,
        policy=None,
        *,
        first_visit=True,
        gamma=None,
        horizon=None,
        episode_length=None,
        random_state=None,
    ):
        self.policy = policy
        self.first_visit = first_visit
        self.gamma = gamma
        self.horizon = horizon
        self.episode_length = episode_length
        self.random_state = random_state

    def fit(self, env, n_episodes=1000):
        """Estimate the values of ``policy`` on ``env`` from ``n_episodes`` episodes.

        Episodes start from ``env.reset()``'s start distribution.
        """
        self._setup(env, n_episodes)
        n_states, n_actions = self.n_states_, self.n_actions_
        if self.policy is None:
            probs = np.full((n_states, n_actions), 1.0 / n_actions)
        else:
            probs = policy_matrix(self.policy, n_states, n_actions)
        cumulative = np.cumsum(probs, axis=1).tolist()
        self.values_ = np.zeros(n_states)
        self.counts_ = np.zeros(n_states)
        for _ in range(n_episodes):
            states, rewards, terminated = self._policy_episode(env, cumulative)
            returns = self._returns(rewards, terminated)
            keys = states[: len(returns)]
            mask = self._first_visits(keys) if self.first_visit else slice(None)
            self._average(
                self.values_, self.counts_, keys[mask], returns[mask], np.ones(len(keys[mask]))
            )
        return self

    def _policy_episode(self, env, cumulative):
        seed, self._env_seed = self._env_seed, None
        state, _ = env.reset(seed=seed)
        draws = self._rng.random_sample(self.episode_length_).tolist()
        last = self.n_actions_ - 1
        states, rewards, terminated = [], [], False
        for t in range(self.episode_length_):
            action = min(bisect.bisect_right(cumulative[state], draws[t]), last)
            states.append(state)
            state, reward, terminated, truncated, _ = env.step(action)
            rewards.append(float(reward))
            if terminated or truncated:
                break
        return np.array(states), np.array(rewards), terminated


class MonteCarloControl(_MonteCarlo):
    """Optimal action values and greedy policy by Monte Carlo control.

    Parameters
    ----------
    method : {"exploring_starts", "epsilon_soft", "off_policy"}, default="exploring_starts"
        How episodes explore (see the module docstring).
    epsilon : float in [0, 1], default=0.1
        Exploration of the epsilon-greedy policy (``"epsilon_soft"``: the initial value; the
        behaviour policy of ``"off_policy"``). Unused by ``"exploring_starts"``.
    glie : bool, default=True
        ``"epsilon_soft"`` only: state ``s`` explores with
        ``epsilon / (1 + n(s) / glie_visits)``, ``n(s)`` the number of earlier episodes that
        visited ``s`` (greedy in the limit with infinite exploration); ``False``: a constant
        ``epsilon``.
    glie_visits : float > 0, default=20
        Episodes visiting a state after which its exploration is halved (``glie=True``).
    recency : float >= 0, default=0
        The returns of episode ``k`` (of ``n_episodes``) enter the averages with weight
        ``(k / n_episodes)^recency``: 0 is the sample average; larger values forget old returns
        faster (advised for ``"epsilon_soft"``: 6, with ``returns="all"``).
    improve_every : int, default=1
        Episodes between policy improvements: 1 is the textbook per-episode improvement;
        larger values evaluate each policy on a batch of episodes first.
    first_visit : bool, default=True
        Use only the first visit of a state-action pair per episode.
    gamma, horizon, episode_length, random_state
        As in :class:`MonteCarloPrediction`.
    tie_tol : float, default=1e-9
        Estimates closer than ``tie_tol`` count as tied. Greedy actions (improvements with
        ``returns="all"`` and the final ``policy_``) are the lowest-numbered action within
        ``tie_tol`` of the best estimate (the planners' rule); with
        ``returns="current_policy"`` an improvement keeps a state's action unless another
        beats it by more than ``tie_tol``. It is a statement about the estimates, not about
        ``Q*``: it reproduces the planners' ties only if the estimates of tied actions are
        within ``tie_tol`` of each other and no lower-numbered action comes within
        ``tie_tol`` of the best. With symmetric errors ``e`` on the default grid (distinct
        values 0.1 apart) that is e.g. 0.03 for ``e < 0.03``; with the one-sided errors of
        a deterministic grid (estimates below ``Q*``, see the module docstring) it is any
        ``tie_tol`` in ``(e, 0.368 - e)``, e.g. 0.15 for ``e < 0.15``.
    returns : {"current_policy", "all"}, default="current_policy"
        Average the returns gathered since the greedy policy last changed (improvements keep
        tied actions, see the module docstring), or all returns (improvements are plain
        greedy steps with the tie rule).

    Attributes
    ----------
    q_ : ndarray of shape (n_states, n_actions)
        Estimated action values (0 where a pair was never updated).
    policy_ : ndarray of shape (n_states,)
        Greedy action per state of the final ``q_`` (planners' tie rule with ``tie_tol``).
    values_ : ndarray of shape (n_states,)
        ``q_`` of the ``policy_`` actions.
    counts_ : ndarray of shape (n_states, n_actions)
        Cumulative weight of the averaged returns per pair: their number for on-policy
        methods with ``recency=0``, times the importance ratios (off-policy) and the recency
        weights otherwise.
    state_visits_ : ndarray of shape (n_states,)
        Episodes that visited each state (the ``n(s)`` of the GLIE schedule).
    n_episodes_ : int
        Episodes run.
    n_improvements_ : int
        Improvements that changed the greedy policy.

    Examples
    --------
    >>> from skextras.rl import GridWorld, MonteCarloControl, value_iteration
    >>> env = GridWorld()
    >>> mc = MonteCarloControl(random_state=0).fit(env, n_episodes=3000)
    >>> bool((mc.policy_ == value_iteration(env).policy).mean() > 0.9)
    True

    Epsilon-soft control with the per-state GLIE schedule (about 10 s on one core):

    >>> mc = MonteCarloControl("epsilon_soft", epsilon=1.0, recency=6, returns="all",
    ...                        tie_tol=0.15, random_state=0).fit(env, n_episodes=25_000)
    >>> bool((mc.policy_ == value_iteration(env).policy).all())
    True
    """

    _parameter_constraints = {
        "method": [StrOptions({"exploring_starts", "epsilon_soft", "off_policy"})],
        "epsilon": [Interval(Real, 0, 1, closed="both")],
        "glie": ["boolean"],
        "glie_visits": [Interval(Real, 0, None, closed="neither")],
        "recency": [Interval(Real, 0, None, closed="left")],
        "improve_every": [Interval(Integral, 1, None, closed="left")],
        "tie_tol": [Interval(Real, 0, None, closed="left")],
        "returns": [StrOptions({"current_policy", "all"})],
        **_MonteCarlo._common_constraints,
    }

    def __init__(
        self,
        method="exploring_starts",
        *,
        epsilon=0.1,
        glie=True,
        glie_visits=20.0,
        recency=0.0,
        improve_every=1,
        first_visit=True,
        gamma=None,
        horizon=None,
        episode_length=None,
        tie_tol=1e-9,
        returns="current_policy",
        random_state=None,
    ):
        self.returns = returns
        self.method = method
        self.epsilon = epsilon
        self.glie = glie
        self.glie_visits = glie_visits
        self.recency = recency
        self.improve_every = improve_every
        self.first_visit = first_visit
        self.gamma = gamma
        self.horizon = horizon
        self.episode_length = episode_length
        self.tie_tol = tie_tol
        self.random_state = random_state

    def fit(self, env, n_episodes=1000):
        """Run ``n_episodes`` episodes of Monte Carlo control on ``env``; returns self."""
        self._setup(env, n_episodes)
        n_states, n_actions = self.n_states_, self.n_actions_
        self.q_ = np.zeros((n_states, n_actions))
        self.counts_ = np.zeros((n_states, n_actions))
        self.state_visits_ = np.zeros(n_states)
        greedy = np.zeros(n_states, dtype=np.int64)
        self.n_improvements_ = 0
        restart = self.returns == "current_policy"
        for k in range(1, n_episodes + 1):
            if self.method == "exploring_starts":
                start = (self._rng.randint(n_states), self._rng.randint(n_actions))
                episode = self._episode(env, greedy, 0.0, start)
            elif self.method == "epsilon_soft":
                epsilon = self.epsilon
                if self.glie:  # epsilon_k(s) = epsilon / (1 + n_k(s) / glie_visits)
                    epsilon = self.epsilon / (1.0 + self.state_visits_ / self.glie_visits)
                episode = self._episode(env, greedy, epsilon)
            else:
                start = (self._rng.randint(n_states), self._rng.randint(n_actions))
                episode = self._episode(env, greedy, self.epsilon, start)
            self.state_visits_[np.unique(episode[0])] += 1.0
            self._update(episode, greedy, (k / n_episodes) ** self.recency)
            if k % self.improve_every and k < n_episodes:
                continue
            # A switch restarts the averages under returns="current_policy", so ties are kept
            # (conservative); otherwise the improvement is the plain greedy step.
            if restart:
                improved = _improve(self.q_, greedy, self.tie_tol)
            else:
                improved = greedy_policy(self.q_, self.tie_tol)
            if not np.array_equal(improved, greedy):
                self.n_improvements_ += 1
                if restart:
                    self.counts_[:] = 0.0
            greedy = improved
        self.policy_ = greedy_policy(self.q_, self.tie_tol)
        self.values_ = self.q_[np.arange(n_states), self.policy_]
        self.n_episodes_ = n_episodes
        return self

    def _update(self, episode, greedy, episode_weight=1.0):
        states, actions, rewards, behaviour, is_greedy, terminated = episode
        returns = self._returns(rewards, terminated)
        starts, ends = self._windows(len(rewards), terminated)
        keys = states[starts] * self.n_actions_ + actions[starts]
        if self.method == "off_policy":
            # W_t = prod_{t < j < end} pi(a_j|s_j) / b(a_j|s_j): zero unless every later action
            # in the window is greedy.
            ratio = np.where(is_greedy, 1.0 / behaviour, 0.0)
            log_ratio = np.concatenate([[0.0], np.cumsum(np.log(np.where(is_greedy, ratio, 1.0)))])
            misses = np.concatenate([[0], np.cumsum(~is_greedy)])
            weights = np.exp(log_ratio[ends] - log_ratio[starts + 1])
            weights[misses[ends] - misses[starts + 1] > 0] = 0.0
        else:
            weights = np.ones(len(starts))
        weights = weights * episode_weight
        if self.first_visit:
            mask = self._first_visits(keys)
            keys, returns, weights = keys[mask], returns[mask], weights[mask]
        self._average(self.q_, self.counts_, keys, returns, weights)

    def predict(self, obs):
        """Greedy action(s) for state index(es) ``obs`` (int or array of ints)."""
        check_is_fitted(self, "policy_")
        obs_array = np.asarray(obs)
        if not np.issubdtype(obs_array.dtype, np.integer) or np.any(
            (obs_array < 0) | (obs_array >= self.n_states_)
        ):
            raise ValueError(f"obs must be state indices in [0, {self.n_states_}), got {obs!r}")
        actions = self.policy_[obs_array]
        return int(actions) if actions.ndim == 0 else actions
