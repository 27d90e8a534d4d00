"""Deep deterministic policy gradient (Lillicrap et al., 2016) for Box action spaces.

A deterministic actor ``mu(s)`` (tanh output scaled to the action bounds) and a critic
``Q(s, a)`` learn off-policy from a replay buffer. Each gradient step on a uniform batch:

* critic: minimise ``(Q(s, a) - y)^2`` with ``y = r + gamma (1 - terminated) Q'(s', mu'(s'))``,
  where ``Q'`` and ``mu'`` are the target networks (truncated episodes still bootstrap);
* actor: minimise ``-Q(s, mu(s))`` (the deterministic policy gradient), with the critic's
  parameters untouched by this step;
* targets: ``theta' <- tau theta + (1 - tau) theta'`` (Polyak averaging).

Exploration adds Gaussian or Ornstein-Uhlenbeck noise (in units of half the action range)
to the actor's action, clipped to the bounds; the first ``learning_starts`` steps act
uniformly at random. Devices and seeding reuse the torch estimators' helpers
(:func:`skextras.nn._base.resolve_device`, :func:`skextras.nn._base.seeded_torch`), so a fit
with the same ``random_state`` is identical on CPU.
"""

import copy
import time
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

try:
    import torch
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        'skextras.rl.DDPG needs torch: install it with pip install "skextras[torch]"'
    ) from exc

from gymnasium import spaces

from skextras.nn._base import resolve_device, seeded_torch
from skextras.nn.mlp import MLP


class _Actor(torch.nn.Module):
    def __init__(self, n_obs, n_act, hidden, low, high):
        super().__init__()
        self.net = MLP(n_obs, n_act, hidden)
        self.register_buffer("center", torch.as_tensor((high + low) / 2, dtype=torch.float32))
        self.register_buffer("scale", torch.as_tensor((high - low) / 2, dtype=torch.float32))

    def forward(self, obs):
        return self.center + self.scale * torch.tanh(self.net(obs))


class _Critic(torch.nn.Module):
    def __init__(self, n_obs, n_act, hidden):
        super().__init__()
        self.net = MLP(n_obs + n_act, 1, hidden)

    def forward(self, obs, act):
        return self.net(torch.cat([obs, act], dim=-1)).squeeze(-1)


class ReplayBuffer:
    """Fixed-capacity ring buffer of transitions ``(s, a, r, s', terminated)``."""

    def __init__(self, capacity, n_obs, n_act):
        self.obs = np.zeros((capacity, n_obs), dtype=np.float32)
        self.act = np.zeros((capacity, n_act), dtype=np.float32)
        self.reward = np.zeros(capacity, dtype=np.float32)
        self.next_obs = np.zeros((capacity, n_obs), dtype=np.float32)
        self.terminated = np.zeros(capacity, dtype=np.float32)
        self.capacity, self.size, self._next = capacity, 0, 0

    def add(self, obs, act, reward, next_obs, terminated):
        i = self._next
        self.obs[i], self.act[i], self.reward[i] = obs, act, reward
        self.next_obs[i], self.terminated[i] = next_obs, terminated
        self._next = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, rng, batch_size):
        idx = rng.randint(self.size, size=batch_size)
        return (
            self.obs[idx],
            self.act[idx],
            self.reward[idx],
            self.next_obs[idx],
            self.terminated[idx],
        )


class DDPG(BaseEstimator):
    """Deep deterministic policy gradient agent (needs torch).

    Parameters
    ----------
    actor_hidden, critic_hidden : tuple of int, default=(256, 256)
        Hidden widths of the actor and critic MLPs (ReLU).
    actor_lr, critic_lr : float, default=1e-3
        Adam learning rates.
    tau : float in (0, 1], default=0.005
        Polyak coefficient of the target-network updates.
    gamma : float in [0, 1], default=0.99
        Discount.
    buffer_size : int, default=1_000_000
        Replay buffer capacity (transitions).
    batch_size : int, default=256
        Transitions per gradient step.
    learning_starts : int, default=1000
        Uniform random steps before learning and acting with the actor.
    train_freq : int, default=1
        Environment steps between rounds of ``gradient_steps`` updates.
    gradient_steps : int, default=1
        Updates per round.
    noise : {"gaussian", "ou"}, default="gaussian"
        Exploration noise: independent Gaussian, or an Ornstein-Uhlenbeck process
        (``theta=0.15``, ``dt=1e-2``) reset at every episode.
    noise_std : float, default=0.1
        Noise scale in units of half the action range.
    random_state : int, RandomState instance or None, default=None
        Seeds the networks, the noise, the replay sampling and (first ``reset``) the env.
    device : {"cpu", "cuda", "auto"} or str, default="cpu"
        Where the networks train.

    Attributes
    ----------
    actor_, critic_, actor_target_, critic_target_ : torch.nn.Module
    episode_returns_ : list of float
        Undiscounted returns of the finished training episodes.
    evaluations_ : list of (int, float, float)
        ``(timestep, mean return, training seconds)`` of the evaluations run by ``fit`` with
        ``eval_env``; the seconds exclude the evaluations themselves.
    n_timesteps_ : int
        Environment steps taken.
    device_ : torch.device

    Examples
    --------
    >>> import gymnasium as gym
    >>> from skextras.rl import DDPG
    >>> env = gym.make("Pendulum-v1")
    >>> model = DDPG(learning_starts=100, batch_size=32, random_state=0).fit(env, 300)
    >>> obs, _ = env.reset(seed=0)
    >>> model.predict(obs).shape
    (1,)
    """

    _parameter_constraints = {
        "actor_hidden": [tuple, list],
        "critic_hidden": [tuple, list],
        "actor_lr": [Interval(Real, 0, None, closed="neither")],
        "critic_lr": [Interval(Real, 0, None, closed="neither")],
        "tau": [Interval(Real, 0, 1, closed="right")],
        "gamma": [Interval(Real, 0, 1, closed="both")],
        "buffer_size": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_starts": [Interval(Integral, 0, None, closed="left")],
        "train_freq": [Interval(Integral, 1, None, closed="left")],
        "gradient_steps": [Interval(Integral, 1, None, closed="left")],
        "noise": [StrOptions({"gaussian", "ou"})],
        "noise_std": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "device": [str, torch.device],
    }

    def __init__(
        self,
        actor_hidden=(256, 256),
        critic_hidden=(256, 256),
        *,
        actor_lr=1e-3,
        critic_lr=1e-3,
        tau=0.005,
        gamma=0.99,
        buffer_size=1_000_000,
        batch_size=256,
        learning_starts=1000,
        train_freq=1,
        gradient_steps=1,
        noise="gaussian",
        noise_std=0.1,
        random_state=None,
        device="cpu",
    ):
        self.actor_hidden = actor_hidden
        self.critic_hidden = critic_hidden
        self.actor_lr = actor_lr
        self.critic_lr = critic_lr
        self.tau = tau
        self.gamma = gamma
        self.buffer_size = buffer_size
        self.batch_size = batch_size
        self.learning_starts = learning_starts
        self.train_freq = train_freq
        self.gradient_steps = gradient_steps
        self.noise = noise
        self.noise_std = noise_std
        self.random_state = random_state
        self.device = device

    # ------------------------------------------------------------------ setup
    def _initialize(self, env):
        """Networks, targets and optimisers for ``env``'s spaces (``device_`` set by fit)."""
        obs_space, act_space = env.observation_space, env.action_space
        if not isinstance(act_space, spaces.Box) or not isinstance(obs_space, spaces.Box):
            raise ValueError(
                "DDPG needs Box observation and action spaces, got "
                f"{type(obs_space).__name__} and {type(act_space).__name__}"
            )
        self.n_obs_ = int(np.prod(obs_space.shape))
        self.n_act_ = int(np.prod(act_space.shape))
        self.action_low_ = act_space.low.astype(np.float32).ravel()
        self.action_high_ = act_space.high.astype(np.float32).ravel()
        self.actor_ = _Actor(
            self.n_obs_, self.n_act_, tuple(self.actor_hidden), self.action_low_, self.action_high_
        ).to(self.device_)
        self.critic_ = _Critic(self.n_obs_, self.n_act_, tuple(self.critic_hidden)).to(self.device_)
        self.actor_target_ = copy.deepcopy(self.actor_).requires_grad_(False)
        self.critic_target_ = copy.deepcopy(self.critic_).requires_grad_(False)
        self._actor_optimizer = torch.optim.Adam(self.actor_.parameters(), lr=self.actor_lr)
        self._critic_optimizer = torch.optim.Adam(self.critic_.parameters(), lr=self.critic_lr)

    # ------------------------------------------------------------------ learning
    def _train_step(self, batch):
        """One critic step, one actor step and the soft target update on ``batch``.

        ``batch`` is ``(obs, act, reward, next_obs, terminated)`` as arrays or tensors.
        Returns ``(critic_loss, actor_loss)`` as floats.
        """
        obs, act, reward, next_obs, terminated = (
            torch.as_tensor(np.asarray(x), dtype=torch.float32, device=self.device_) for x in batch
        )
        with torch.no_grad():
            next_q = self.critic_target_(next_obs, self.actor_target_(next_obs))
            target = reward + self.gamma * (1.0 - terminated) * next_q
        critic_loss = torch.nn.functional.mse_loss(self.critic_(obs, act), target)
        self._critic_optimizer.zero_grad(set_to_none=True)
        critic_loss.backward()
        self._critic_optimizer.step()

        self.critic_.requires_grad_(False)
        actor_loss = -self.critic_(obs, self.actor_(obs)).mean()
        self._actor_optimizer.zero_grad(set_to_none=True)
        actor_loss.backward()
        self._actor_optimizer.step()
        self.critic_.requires_grad_(True)

        with torch.no_grad():
            for net, target_net in (
                (self.actor_, self.actor_target_),
                (self.critic_, self.critic_target_),
            ):
                for p, p_target in zip(net.parameters(), target_net.parameters()):
                    p_target.mul_(1.0 - self.tau).add_(p, alpha=self.tau)
        return float(critic_loss.detach()), float(actor_loss.detach())

    def fit(self, env, total_timesteps, eval_env=None, eval_freq=5000, n_eval_episodes=10):
        """Train on ``env`` for ``total_timesteps`` environment steps.

        Parameters
        ----------
        env : gymnasium.Env
            Environment with Box observation and action spaces.
        total_timesteps : int
            Environment steps.
        eval_env : gymnasium.Env or None, default=None
            When given, the deterministic policy is evaluated on it every ``eval_freq`` steps
            and at the end (``evaluations_``).
        eval_freq : int, default=5000
            Steps between evaluations.
        n_eval_episodes : int, default=10
            Episodes per evaluation.

        Returns
        -------
        self : object
        """
        if not isinstance(total_timesteps, Integral) or total_timesteps < 1:
            raise ValueError(
                f"total_timesteps must be a positive int, got total_timesteps={total_timesteps!r}"
            )
        self._validate_params()
        self.device_ = resolve_device(self.device)
        rng = check_random_state(self.random_state)
        env_seed = int(rng.randint(np.iinfo(np.int32).max))
        self.episode_returns_, self.evaluations_ = [], []
        with seeded_torch(rng, self.device_):
            self._initialize(env)
            buffer = ReplayBuffer(min(self.buffer_size, total_timesteps), self.n_obs_, self.n_act_)
            half_range = (self.action_high_ - self.action_low_) / 2
            obs, _ = env.reset(seed=env_seed)
            started = time.perf_counter()
            ou_state, episode_return = np.zeros(self.n_act_), 0.0
            for t in range(1, total_timesteps + 1):
                if t <= self.learning_starts:
                    action = rng.uniform(self.action_low_, self.action_high_)
                else:
                    action = self._act(obs)
                    if self.noise == "ou":
                        ou_state += -0.15 * ou_state * 1e-2 + self.noise_std * 0.1 * rng.normal(
                            size=self.n_act_
                        )
                        action = action + half_range * ou_state
                    else:
                        action = action + half_range * self.noise_std * rng.normal(size=self.n_act_)
                    action = np.clip(action, self.action_low_, self.action_high_)
                next_obs, reward, terminated, truncated, _ = env.step(
                    action.astype(np.float32).reshape(env.action_space.shape)
                )
                buffer.add(np.ravel(obs), action, reward, np.ravel(next_obs), terminated)
                episode_return += float(reward)
                obs = next_obs
                if terminated or truncated:
                    self.episode_returns_.append(episode_return)
                    obs, _ = env.reset()
                    ou_state, episode_return = np.zeros(self.n_act_), 0.0
                if t > self.learning_starts and t % self.train_freq == 0:
                    for _ in range(self.gradient_steps):
                        self._train_step(buffer.sample(rng, self.batch_size))
                if eval_env is not None and (t % eval_freq == 0 or t == total_timesteps):
                    paused = time.perf_counter()
                    returns = evaluate_policy(self, eval_env, n_eval_episodes, seed=t)
                    self.evaluations_.append((t, float(np.mean(returns)), paused - started))
                    started += time.perf_counter() - paused
        self.n_timesteps_ = total_timesteps
        return self

    def _act(self, obs):
        with torch.no_grad():
            obs = torch.as_tensor(
                np.asarray(obs, dtype=np.float32).reshape(1, -1), device=self.device_
            )
            return self.actor_(obs)[0].cpu().numpy().astype(np.float64)

    def predict(self, obs):
        """Deterministic action(s) ``mu(obs)``: shape (n_act,) for one observation, else
        (n_obs_rows, n_act)."""
        check_is_fitted(self, "actor_")
        obs = np.asarray(obs, dtype=np.float32)
        single = obs.ndim <= 1
        obs = obs.reshape(1 if single else len(obs), -1)
        if obs.shape[1] != self.n_obs_:
            raise ValueError(f"obs must have {self.n_obs_} features, got {obs.shape[1]}")
        with torch.no_grad():
            actions = self.actor_(torch.as_tensor(obs, device=self.device_)).cpu().numpy()
        return actions[0] if single else actions


def evaluate_policy(model, env, n_episodes=10, seed=None):
    """Undiscounted returns of ``n_episodes`` episodes of ``model.predict`` on ``env``.

    Parameters
    ----------
    model : object with ``predict(obs) -> action``
    env : gymnasium.Env
    n_episodes : int, default=10
    seed : int or None, default=None
        Seeds the first ``reset``; later episodes continue the env's generator.

    Returns
    -------
    returns : ndarray of shape (n_episodes,)
    """
    returns = np.zeros(n_episodes)
    for i in range(n_episodes):
        obs, _ = env.reset(seed=seed if i == 0 else None)
        done = False
        while not done:
            action = np.asarray(model.predict(obs)).reshape(env.action_space.shape)
            obs, reward, terminated, truncated, _ = env.step(action)
            returns[i] += float(reward)
            done = terminated or truncated
    return returns
