"""GridWorld: the textbook layout and values, the gymnasium API, and step == P."""

import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("gymnasium")
from gymnasium.utils.env_checker import check_env  # noqa: E402

from skextras.rl import GridWorld, value_iteration  # noqa: E402

# S. Zhao, Mathematical Foundations of Reinforcement Learning, the 5x5 example (Fig. 3.x /
# 4.x): optimal state values with r_boundary = r_forbidden = -1, r_target = 1, gamma = 0.9,
# printed to one decimal in the book.
BOOK_OPTIMAL_VALUES = np.array(
    [
        [5.8, 5.6, 6.2, 6.5, 5.8],
        [6.5, 7.2, 8.0, 7.2, 6.5],
        [7.2, 8.0, 10.0, 8.0, 7.2],
        [8.0, 10.0, 10.0, 10.0, 8.0],
        [7.2, 9.0, 10.0, 9.0, 8.1],
    ]
)


def test_default_layout_is_the_textbook_grid():
    env = GridWorld()
    assert env.shape == (5, 5) and env.target == (3, 2) and env.gamma == 0.9
    assert set(env.forbidden) == {(1, 1), (1, 2), (2, 2), (3, 1), (3, 3), (4, 1)}
    assert env.render_mode is None and env.n_actions == 5


def test_optimal_values_of_default_layout_match_the_book():
    values = value_iteration(GridWorld()).values.reshape(5, 5)
    np.testing.assert_allclose(values, BOOK_OPTIMAL_VALUES, atol=0.05)
    assert values[3, 2] == pytest.approx(1 / (1 - 0.9), abs=1e-9)  # stay on target forever


@pytest.mark.parametrize(
    "cell, action, next_cell, reward",
    [
        ((0, 0), 0, (0, 0), -1.0),  # up into the wall: stay, r_boundary
        ((0, 0), 3, (0, 0), -1.0),  # left into the wall
        ((0, 0), 1, (0, 1), 0.0),  # plain move
        ((0, 1), 2, (1, 1), -1.0),  # entering a forbidden cell is allowed and penalised
        ((1, 1), 4, (1, 1), -1.0),  # staying on a forbidden cell is penalised again
        ((2, 2), 2, (3, 2), 1.0),  # leaving a forbidden cell onto the target
        ((3, 2), 4, (3, 2), 1.0),  # staying on the target earns r_target
        ((4, 4), 2, (4, 4), -1.0),  # bottom-right corner, down
    ],
)
def test_step_follows_the_textbook_rules(cell, action, next_cell, reward):
    env = GridWorld()
    state, info = env.reset(seed=0, options={"state": env.state(cell)})
    assert info["cell"] == cell
    next_state, r, terminated, truncated, info = env.step(action)
    assert (env.cell(next_state), r, terminated, truncated) == (next_cell, reward, False, False)
    assert env.P[state, action] == [(1.0, next_state, reward)]


def test_step_samples_the_transition_model_with_slip():
    env = GridWorld(slip=0.4)
    state = env.state((0, 1))
    outcomes = {(s, r): p for p, s, r in env.P[state, 2]}
    assert sum(outcomes.values()) == pytest.approx(1.0)
    n = 20_000
    counts = dict.fromkeys(outcomes, 0)
    env.reset(seed=1)
    for _ in range(n):
        env.reset(options={"state": state})
        s, r, *_ = env.step(2)
        counts[(s, r)] += 1
    for key, p in outcomes.items():
        assert abs(counts[key] / n - p) < 4 * np.sqrt(p * (1 - p) / n)


def test_slip_model_is_the_mixture_of_intended_and_uniform_actions():
    env = GridWorld(slip=0.5)
    # down from (0, 1): intended down w.p. 0.5 + 0.1, each other action w.p. 0.1; up and
    # stay both keep... up bumps (stay, -1), stay stays (0).
    outcomes = {(env.cell(s), r): p for p, s, r in env.P[env.state((0, 1)), 2]}
    assert outcomes == pytest.approx(
        {
            ((1, 1), -1.0): 0.6,
            ((0, 1), -1.0): 0.1,
            ((0, 2), 0.0): 0.1,
            ((0, 0), 0.0): 0.1,
            ((0, 1), 0.0): 0.1,
        }
    )


def test_env_passes_the_gymnasium_checker():
    check_env(GridWorld(max_episode_steps=20), skip_render_check=True)


def test_reset_is_seeded_and_truncation_counts_steps():
    env = GridWorld(max_episode_steps=3)
    starts = [env.reset(seed=7)[0] for _ in range(3)]
    assert len(set(starts)) == 1
    results = [env.step(4)[3] for _ in range(3)]
    assert results == [False, False, True]
    assert GridWorld(start=(4, 0)).reset()[0] == 20


def test_render_as_text_and_rgb_array():
    env = GridWorld(render_mode="ansi", start=(0, 0))
    env.reset()
    text = env.render()
    assert text.splitlines()[0] == "A . . . ." and text.splitlines()[3] == ". # T # ."
    image = GridWorld(render_mode="rgb_array", start=(0, 0))
    image.reset()
    frame = image.render()
    assert frame.shape == (160, 160, 3) and frame.dtype == np.uint8
    assert tuple(frame[3 * 32 + 16, 2 * 32 + 16]) == (80, 200, 230)  # the target's colour
    assert tuple(frame[16, 16]) == (30, 60, 200)  # the agent


@pytest.mark.parametrize(
    "params, name",
    [
        (dict(gamma=1.0), "gamma"),
        (dict(gamma=-0.1), "gamma"),
        (dict(slip=1.5), "slip"),
        (dict(target=(5, 0)), "target"),
        (dict(forbidden=[(0, 9)]), "forbidden"),
        (dict(shape=(0, 3)), "shape"),
        (dict(render_mode="human"), "render_mode"),
        (dict(reward_target=float("nan")), "reward_target"),
    ],
)
def test_bad_parameters_raise_value_error_naming_them(params, name):
    with pytest.raises(ValueError, match=name):
        GridWorld(**params)


def test_bad_action_and_start_state_raise():
    env = GridWorld()
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(5)
    with pytest.raises(ValueError, match="state"):
        env.reset(options={"state": 25})


def _run_python(code):
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)


def test_import_rl_does_not_import_torch():
    out = _run_python(
        "import sys, skextras.rl\nskextras.rl.GridWorld\nassert 'torch' not in sys.modules"
    )
    assert out.returncode == 0, out.stderr


def test_import_rl_without_gymnasium_names_the_extra():
    out = _run_python(
        "import sys; sys.modules['gymnasium'] = None\n"
        "try:\n    import skextras.rl\nexcept ImportError as e:\n    print(e)\n"
    )
    assert 'pip install "skextras[rl]"' in out.stdout, out.stderr
