"""DDPG: the update equations on a tiny case, seeding, validation; Pendulum-v1 (slow)."""

import copy
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")
gymnasium = pytest.importorskip("gymnasium")
pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("torch_one_thread")]

from skextras.rl import DDPG  # noqa: E402
from skextras.rl.ddpg import ReplayBuffer, evaluate_policy  # noqa: E402


@pytest.fixture
def pendulum():
    env = gymnasium.make("Pendulum-v1")
    yield env
    env.close()


def tiny_batch(rng, n=6):
    return (
        rng.normal(size=(n, 3)).astype(np.float32),
        rng.uniform(-2, 2, size=(n, 1)).astype(np.float32),
        rng.normal(size=n).astype(np.float32),
        rng.normal(size=(n, 3)).astype(np.float32),
        np.array([0, 1, 0, 0, 1, 0], dtype=np.float32)[:n],
    )


def test_train_step_follows_the_ddpg_update_equations(pendulum):
    agent = DDPG((5,), (7,), tau=0.1, gamma=0.9, actor_lr=0.01, critic_lr=0.02, random_state=0)
    agent.device_ = torch.device("cpu")
    with torch.random.fork_rng():
        torch.manual_seed(0)
        agent._initialize(pendulum)
    # Make the targets differ from the online networks, as they do after training.
    with torch.no_grad():
        for p in (*agent.actor_target_.parameters(), *agent.critic_target_.parameters()):
            p.add_(0.1)
    actor, critic = copy.deepcopy(agent.actor_), copy.deepcopy(agent.critic_)
    actor_t, critic_t = copy.deepcopy(agent.actor_target_), copy.deepcopy(agent.critic_target_)
    batch = tiny_batch(np.random.default_rng(0))
    s, a, r, s2, d = (torch.tensor(x) for x in batch)

    agent._train_step(batch)

    # Reference, written from the equations: y = r + gamma (1 - d) Q'(s', mu'(s')).
    y = r + 0.9 * (1 - d) * critic_t(s2, actor_t(s2)).detach()
    critic_opt = torch.optim.Adam(critic.parameters(), lr=0.02)
    ((critic(s, a) - y) ** 2).mean().backward()
    critic_opt.step()
    actor_opt = torch.optim.Adam(actor.parameters(), lr=0.01)
    (-critic(s, actor(s)).mean()).backward()  # critic already updated; only actor steps
    actor_opt.step()
    for online, target in ((actor, actor_t), (critic, critic_t)):
        for p, p_t in zip(online.parameters(), target.parameters()):
            p_t.data = 0.1 * p.data + 0.9 * p_t.data
    for mine, ref in (
        (agent.actor_, actor),
        (agent.critic_, critic),
        (agent.actor_target_, actor_t),
        (agent.critic_target_, critic_t),
    ):
        for p, q in zip(mine.parameters(), ref.parameters()):
            torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7)


def test_actor_output_stays_within_the_action_bounds(pendulum):
    agent = DDPG((8,), (8,), learning_starts=50, batch_size=16, random_state=0)
    agent.fit(pendulum, total_timesteps=120)
    actions = agent.predict(np.random.default_rng(0).normal(scale=50, size=(200, 3)))
    assert actions.shape == (200, 1)
    assert actions.min() >= -2.0 and actions.max() <= 2.0
    assert agent.predict(np.zeros(3)).shape == (1,)


@pytest.mark.parametrize("noise", ["gaussian", "ou"])
def test_fit_is_deterministic_given_random_state(pendulum, noise):
    def weights(seed):
        agent = DDPG((8,), (8,), learning_starts=30, batch_size=8, noise=noise, random_state=seed)
        agent.fit(pendulum, total_timesteps=80)
        return torch.cat([p.flatten() for p in agent.actor_.parameters()]), agent

    first, agent = weights(1)
    torch.testing.assert_close(first, weights(1)[0], rtol=0, atol=0)
    assert not torch.equal(first, weights(2)[0])
    assert agent.n_timesteps_ == 80


def test_replay_buffer_overwrites_the_oldest_transition():
    buffer = ReplayBuffer(3, 1, 1)
    for i in range(5):
        buffer.add([i], [i], float(i), [i + 1], False)
    assert buffer.size == 3
    assert sorted(buffer.reward.tolist()) == [2.0, 3.0, 4.0]


def test_evaluations_are_recorded_when_an_eval_env_is_given(pendulum):
    agent = DDPG((8,), (8,), learning_starts=20, batch_size=8, random_state=0)
    agent.fit(
        pendulum, 200, eval_env=gymnasium.make("Pendulum-v1"), eval_freq=200, n_eval_episodes=1
    )
    assert [t for t, _, _ in agent.evaluations_] == [200]
    assert agent.episode_returns_ and agent.episode_returns_[0] < 0


@pytest.mark.parametrize(
    "params, name",
    [
        (dict(tau=0.0), "'tau'"),
        (dict(tau=1.5), "'tau'"),
        (dict(gamma=1.5), "'gamma'"),
        (dict(noise="pink"), "'noise'"),
        (dict(batch_size=0), "'batch_size'"),
    ],
)
def test_bad_parameters_raise_value_error_naming_them(pendulum, params, name):
    with pytest.raises(ValueError, match=name):
        DDPG(**params).fit(pendulum, 10)


def test_discrete_actions_are_rejected():
    with pytest.raises(ValueError, match="Box"):
        DDPG().fit(gymnasium.make("CartPole-v1"), 10)


@pytest.mark.slow
def test_pendulum_mean_return_reaches_minus_250_within_20000_steps(pendulum):
    start = time.perf_counter()
    agent = DDPG((64, 64), (64, 64), learning_starts=1000, random_state=0)
    agent.fit(pendulum, total_timesteps=20_000)
    returns = evaluate_policy(agent, gymnasium.make("Pendulum-v1"), n_episodes=10, seed=123)
    print(
        f"Pendulum-v1 DDPG: mean return {returns.mean():.1f} in {time.perf_counter() - start:.0f} s"
    )
    assert returns.mean() >= -250
