"""Reinforcement-learning speed and quality: Monte Carlo control on GridWorld, DDPG on
Pendulum-v1 side by side with Stable-Baselines3's DDPG.

GridWorld: episodes per second of each Monte Carlo control method on the default 5x5 grid,
with the number of states whose greedy action differs from value iteration's and the largest
value error. Pendulum-v1: both DDPGs get the same budget of environment steps, the same
networks (64, 64), learning rates, batch size, tau, gamma, learning starts and Gaussian
exploration noise (0.1 of half the action range); the table gives environment steps per
second of training (evaluations excluded), the training seconds until the mean return of an
evaluation (deterministic policy) first reaches -250, and the final mean return of 10
evaluation episodes. Both run on one torch thread by default (``--threads``).

    python benchmarks/rl.py                  # full: 20,000 Pendulum steps, 3000-25,000 MC episodes
    python benchmarks/rl.py --quick          # minutes
    python benchmarks/rl.py --quick --smoke  # seconds (CI)
"""

import sys
import time

import numpy as np
from _common import parse_args, print_table

try:
    import gymnasium
    import torch

    from skextras.rl import DDPG, GridWorld, MonteCarloControl, value_iteration
    from skextras.rl.ddpg import evaluate_policy
except ImportError:  # the benchmark needs the rl and torch extras; CI smoke runs must pass
    print('benchmarks/rl.py: needs pip install "skextras[rl,torch]"; skipped')
    sys.exit(0)

try:
    import stable_baselines3
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.noise import NormalActionNoise
except ImportError:
    stable_baselines3 = None

TARGET_RETURN = -250.0
# Settings and full-mode episodes per method: those of the tests that recover value
# iteration's policy (tests/test_rl_monte_carlo.py).
MC_SETTINGS = {
    "exploring_starts": (3000, dict(tie_tol=0.03)),
    "epsilon_soft": (25_000, dict(epsilon=1.0, recency=6, returns="all", tie_tol=0.15)),
    "off_policy": (3000, dict(epsilon=0.02, tie_tol=0.03)),
}


def monte_carlo_rows(fraction):
    """One fit per method on ``fraction`` of its full-mode episodes, seed 0."""
    env = GridWorld()
    optimal = value_iteration(env)
    rows = []
    for method, (full_episodes, settings) in MC_SETTINGS.items():
        n_episodes = max(1, round(full_episodes * fraction))
        agent = MonteCarloControl(method, random_state=0, **settings)
        start = time.perf_counter()
        agent.fit(env, n_episodes=n_episodes)
        seconds = time.perf_counter() - start
        rows.append(
            {
                "method": method,
                "tie_tol": settings["tie_tol"],
                "episodes": n_episodes,
                "episodes/s": n_episodes / seconds,
                "states off the optimal policy": int(np.sum(agent.policy_ != optimal.policy)),
                "max |V - V*|": float(np.max(np.abs(agent.values_ - optimal.values))),
            }
        )
    return rows


def ddpg_settings(args):
    return dict(
        hidden=(64, 64),
        learning_rate=1e-3,
        batch_size=64 if args.smoke else 256,
        tau=0.005,
        gamma=0.99,
        learning_starts=100 if args.smoke else 1000,
        noise_std=0.1,
    )


def ours(args, settings, seed):
    agent = DDPG(
        settings["hidden"],
        settings["hidden"],
        actor_lr=settings["learning_rate"],
        critic_lr=settings["learning_rate"],
        batch_size=settings["batch_size"],
        tau=settings["tau"],
        gamma=settings["gamma"],
        learning_starts=settings["learning_starts"],
        noise_std=settings["noise_std"],
        random_state=seed,
    )
    agent.fit(
        gymnasium.make("Pendulum-v1"),
        args.steps,
        eval_env=gymnasium.make("Pendulum-v1"),
        eval_freq=args.eval_freq,
        n_eval_episodes=args.eval_episodes,
    )
    return agent, agent.evaluations_


class _Evaluations(BaseCallback if stable_baselines3 else object):
    """Evaluate SB3's deterministic policy every ``freq`` steps, off the training clock."""

    def __init__(self, env, freq, n_episodes):
        super().__init__()
        self.env, self.freq, self.n_episodes, self.evaluations = env, freq, n_episodes, []

    def _on_training_start(self):
        self.started = time.perf_counter()

    def _on_step(self):
        if self.num_timesteps % self.freq == 0:
            self._evaluate()
        return True

    def _on_training_end(self):
        if not self.evaluations or self.evaluations[-1][0] != self.num_timesteps:
            self._evaluate()

    def _evaluate(self):
        paused = time.perf_counter()
        returns = evaluate_policy(_SB3Policy(self.model), self.env, self.n_episodes, seed=0)
        self.evaluations.append((self.num_timesteps, float(returns.mean()), paused - self.started))
        self.started += time.perf_counter() - paused


class _SB3Policy:
    def __init__(self, model):
        self.model = model

    def predict(self, obs):
        return self.model.predict(obs, deterministic=True)[0]


def sb3(args, settings, seed):
    env = gymnasium.make("Pendulum-v1")
    model = stable_baselines3.DDPG(
        "MlpPolicy",
        env,
        learning_rate=settings["learning_rate"],
        buffer_size=args.steps,
        learning_starts=settings["learning_starts"],
        batch_size=settings["batch_size"],
        tau=settings["tau"],
        gamma=settings["gamma"],
        action_noise=NormalActionNoise(np.zeros(1), settings["noise_std"] * np.ones(1)),
        policy_kwargs=dict(net_arch=list(settings["hidden"])),
        seed=seed,
        device="cpu",
    )
    callback = _Evaluations(gymnasium.make("Pendulum-v1"), args.eval_freq, args.eval_episodes)
    model.learn(args.steps, callback=callback)
    return model, callback.evaluations


def ddpg_rows(args):
    settings = ddpg_settings(args)
    runs = {"skextras DDPG": ours}
    if stable_baselines3 is not None:
        runs["SB3 DDPG"] = sb3
    rows = []
    for name, run in runs.items():
        for seed in range(args.seeds):
            _, evaluations = run(args, settings, seed)
            steps, final, seconds = evaluations[-1]
            reached = [s for _, ret, s in evaluations if ret >= TARGET_RETURN]
            rows.append(
                {
                    "implementation": name,
                    "seed": seed,
                    "steps": steps,
                    "steps/s": steps / seconds,
                    f"s to {TARGET_RETURN:.0f}": reached[0] if reached else "not reached",
                    "final return": final,
                }
            )
    return rows


def main():
    args = parse_args(__doc__.splitlines()[0])
    args.threads = 1 if args.threads == 2 else args.threads  # tiny networks: one thread
    torch.set_num_threads(args.threads)
    if args.smoke:
        fraction, args.steps, args.eval_freq, args.eval_episodes, args.seeds = 0.01, 300, 300, 1, 1
    elif args.quick:
        fraction, args.steps, args.eval_freq, args.eval_episodes, args.seeds = (
            0.2,
            6000,
            2000,
            5,
            1,
        )
    else:
        fraction, args.steps, args.eval_freq, args.eval_episodes, args.seeds = (
            1.0,
            20_000,
            2000,
            10,
            1,
        )
    sb3_version = "missing" if stable_baselines3 is None else stable_baselines3.__version__
    print(
        f"gymnasium {gymnasium.__version__}, torch {torch.__version__} ({args.threads} thread), "
        f"stable-baselines3 {sb3_version}"
    )
    print("\nMonte Carlo control on GridWorld (5x5, gamma 0.9)")
    print_table(
        monte_carlo_rows(fraction),
        [
            "method",
            "tie_tol",
            "episodes",
            "episodes/s",
            "states off the optimal policy",
            "max |V - V*|",
        ],
    )
    print(f"\nDDPG on Pendulum-v1, {args.steps} steps, networks (64, 64)")
    print_table(
        ddpg_rows(args),
        ["implementation", "seed", "steps", "steps/s", f"s to {TARGET_RETURN:.0f}", "final return"],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
