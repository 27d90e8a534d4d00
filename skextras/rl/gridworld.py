"""The grid world of S. Zhao, *Mathematical Foundations of Reinforcement Learning* (2025),
as a ``gymnasium.Env`` with its exact tabular model.

States are the cells, numbered row-major (``s = row * n_cols + col``, row 0 at the top);
actions are 0 up, 1 right, 2 down, 3 left, 4 stay. A move that would leave the grid keeps the
state and earns ``reward_boundary``; otherwise the reward depends on the cell entered:
``reward_target`` on the target (staying on it earns it again), ``reward_forbidden`` on a
forbidden cell (entering is allowed, only penalised; staying on one is penalised again), 0
elsewhere. The task is continuing (never ``terminated``); ``max_episode_steps`` only
truncates. With ``slip > 0`` the executed action is, with probability ``slip``, drawn
uniformly from the five actions.

Invariant: ``step`` samples exactly from ``P[s, a]``, the list of ``(p, s', r)`` triples the
planners read, so a planner's values are the values of the environment the agents see.
With the default layout value iteration gives the book's optimal values (10 at the target,
5.8 at the top-left corner, up to rounding to one decimal).
"""

import bisect
import operator
from numbers import Integral, Real

import gymnasium
import numpy as np
from gymnasium import spaces

ACTIONS = ("up", "right", "down", "left", "stay")
_MOVES = np.array([(-1, 0), (0, 1), (1, 0), (0, -1), (0, 0)])
_FORBIDDEN = ((1, 1), (1, 2), (2, 2), (3, 1), (3, 3), (4, 1))
_COLOURS = {  # RGB of the cell kinds in render("rgb_array")
    "free": (255, 255, 255),
    "forbidden": (255, 170, 60),
    "target": (80, 200, 230),
    "agent": (30, 60, 200),
    "grid": (120, 120, 120),
}


class GridWorld(gymnasium.Env):
    """The 5x5 textbook grid world (default) or any rectangular layout.

    Parameters
    ----------
    shape : (int, int), default=(5, 5)
        Rows and columns.
    forbidden : sequence of (row, col), default=((1, 1), (1, 2), (2, 2), (3, 1), (3, 3), (4, 1))
        Forbidden cells, 0-based.
    target : (row, col), default=(3, 2)
        The target cell.
    reward_forbidden, reward_boundary, reward_target : float, default=-1, -1, 1
        Rewards for entering a forbidden cell, bumping into the boundary, entering (or
        staying on) the target.
    gamma : float in [0, 1), default=0.9
        Discount of the (continuing) task, read by planners and agents.
    slip : float in [0, 1], default=0.0
        Probability that the executed action is drawn uniformly from the five actions.
    start : (row, col) or None, default=None
        Start cell of ``reset``; ``None`` draws it uniformly over all cells.
        ``reset(options={"state": s})`` starts at state ``s`` (exploring starts).
    max_episode_steps : int or None, default=None
        Truncate episodes after this many steps.
    render_mode : {"ansi", "rgb_array"} or None, default=None
        What ``render()`` returns: a text grid or an RGB image (32 pixels per cell).

    Attributes
    ----------
    P : ndarray of shape (n_states, 5), dtype=object
        ``P[s, a]`` is the list of ``(p, s', r)`` outcomes of action ``a`` in state ``s``.
    n_states, n_actions : int

    Examples
    --------
    >>> from skextras.rl import GridWorld
    >>> env = GridWorld(render_mode="ansi")
    >>> env.reset(seed=0, options={"state": 0})
    (0, {'cell': (0, 0)})
    >>> env.step(1)  # action 1 moves right: (state, reward, terminated, truncated, info)
    (1, 0.0, False, False, {'cell': (0, 1)})
    >>> print(env.render())
    . A . . .
    . # # . .
    . . # . .
    . # T # .
    . # . . .
    <BLANKLINE>
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(
        self,
        shape=(5, 5),
        forbidden=_FORBIDDEN,
        target=(3, 2),
        reward_forbidden=-1.0,
        reward_boundary=-1.0,
        reward_target=1.0,
        gamma=0.9,
        slip=0.0,
        start=None,
        max_episode_steps=None,
        render_mode=None,
    ):
        self.shape = _check_shape(shape)
        self.forbidden = tuple(self._check_cell(c, "forbidden") for c in forbidden)
        self.target = self._check_cell(target, "target")
        for name, value in [
            ("reward_forbidden", reward_forbidden),
            ("reward_boundary", reward_boundary),
            ("reward_target", reward_target),
        ]:
            if not isinstance(value, Real) or not np.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {name}={value!r}")
        self.reward_forbidden = float(reward_forbidden)
        self.reward_boundary = float(reward_boundary)
        self.reward_target = float(reward_target)
        if not isinstance(gamma, Real) or not 0.0 <= gamma < 1.0:
            raise ValueError(
                f"gamma must be in [0, 1) for this continuing task, got gamma={gamma!r}"
            )
        self.gamma = float(gamma)
        if not isinstance(slip, Real) or not 0.0 <= slip <= 1.0:
            raise ValueError(f"slip must be in [0, 1], got slip={slip!r}")
        self.slip = float(slip)
        self.start = None if start is None else self._check_cell(start, "start")
        if max_episode_steps is not None and (
            not isinstance(max_episode_steps, Integral) or max_episode_steps < 1
        ):
            raise ValueError(
                f"max_episode_steps must be a positive int or None, got {max_episode_steps!r}"
            )
        self.max_episode_steps = max_episode_steps
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']} or None, "
                f"got render_mode={render_mode!r}"
            )
        self.render_mode = render_mode

        self.n_states = self.shape[0] * self.shape[1]
        self.n_actions = len(ACTIONS)
        self.observation_space = spaces.Discrete(self.n_states)
        self.action_space = spaces.Discrete(self.n_actions)
        self.P = self._build_model()
        self._cumulative = [
            [np.cumsum([p for p, _, _ in self.P[s, a]]).tolist() for a in range(self.n_actions)]
            for s in range(self.n_states)
        ]
        self._state = None
        self._elapsed = 0

    # ------------------------------------------------------------------ model
    def cell(self, state):
        """``(row, col)`` of a state index."""
        return divmod(int(state), self.shape[1])

    def state(self, cell):
        """State index of a ``(row, col)`` cell."""
        return int(cell[0]) * self.shape[1] + int(cell[1])

    def _move(self, state, action):
        """Deterministic outcome ``(s', r)`` of executing ``action`` in ``state``."""
        row, col = self.cell(state)
        row, col = row + _MOVES[action][0], col + _MOVES[action][1]
        if not (0 <= row < self.shape[0] and 0 <= col < self.shape[1]):
            return state, self.reward_boundary
        if (row, col) == self.target:
            return self.state((row, col)), self.reward_target
        if (row, col) in self.forbidden:
            return self.state((row, col)), self.reward_forbidden
        return self.state((row, col)), 0.0

    def _build_model(self):
        P = np.empty((self.n_states, self.n_actions), dtype=object)
        for s in range(self.n_states):
            for a in range(self.n_actions):
                outcomes = {}
                for executed in range(self.n_actions):
                    p = self.slip / self.n_actions + (1.0 - self.slip) * (executed == a)
                    if p > 0.0:
                        key = self._move(s, executed)
                        outcomes[key] = outcomes.get(key, 0.0) + p
                P[s, a] = [(p, s_next, r) for (s_next, r), p in outcomes.items()]
        return P

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed=None, options=None):
        """Start an episode: ``(state, info)``; ``options={"state": s}`` fixes the start."""
        super().reset(seed=seed)
        if options is not None and options.get("state") is not None:
            state = options["state"]
            if not isinstance(state, Integral) or not 0 <= state < self.n_states:
                raise ValueError(
                    f"options['state'] must be a state index in [0, {self.n_states}), got {state!r}"
                )
            self._state = int(state)
        elif self.start is not None:
            self._state = self.state(self.start)
        else:
            self._state = int(self.np_random.integers(self.n_states))
        self._elapsed = 0
        return self._state, {"cell": self.cell(self._state)}

    def step(self, action):
        """Take ``action``: ``(state, reward, terminated=False, truncated, info)``."""
        if self._state is None:
            raise RuntimeError("call reset() before step()")
        try:
            index = operator.index(action)
        except TypeError:
            index = -1
        if not 0 <= index < self.n_actions:
            raise ValueError(f"action must be an int in [0, {self.n_actions}), got {action!r}")
        outcomes = self.P[self._state, index]
        if len(outcomes) == 1:
            _, s_next, reward = outcomes[0]
        else:
            cumulative = self._cumulative[self._state][index]
            i = min(bisect.bisect_right(cumulative, self.np_random.random()), len(outcomes) - 1)
            _, s_next, reward = outcomes[i]
        self._state = s_next
        self._elapsed += 1
        truncated = self.max_episode_steps is not None and self._elapsed >= self.max_episode_steps
        return s_next, reward, False, truncated, {"cell": self.cell(s_next)}

    def render(self):
        """The grid as text (``"ansi"``) or as an RGB array of shape (32 rows, 32 cols, 3)."""
        if self.render_mode == "rgb_array":
            return self._render_rgb()
        if self.render_mode == "ansi":
            return self._render_text()
        gymnasium.logger.warn("render() needs render_mode='ansi' or 'rgb_array'")
        return None

    def _kind(self, cell):
        if cell == self.target:
            return "target"
        return "forbidden" if cell in self.forbidden else "free"

    def _render_text(self):
        symbols = {"free": ".", "forbidden": "#", "target": "T"}
        agent = None if self._state is None else self.cell(self._state)
        rows = []
        for r in range(self.shape[0]):
            cells = [
                "A" if (r, c) == agent else symbols[self._kind((r, c))]
                for c in range(self.shape[1])
            ]
            rows.append(" ".join(cells))
        return "\n".join(rows) + "\n"

    def _render_rgb(self, size=32):
        image = np.empty((self.shape[0] * size, self.shape[1] * size, 3), dtype=np.uint8)
        for r in range(self.shape[0]):
            for c in range(self.shape[1]):
                block = image[r * size : (r + 1) * size, c * size : (c + 1) * size]
                block[:] = _COLOURS[self._kind((r, c))]
                block[0, :] = block[:, 0] = _COLOURS["grid"]
        if self._state is not None:
            r, c = self.cell(self._state)
            quarter = size // 4
            image[
                r * size + quarter : (r + 1) * size - quarter,
                c * size + quarter : (c + 1) * size - quarter,
            ] = _COLOURS["agent"]
        return image

    def _check_cell(self, cell, name):
        try:
            row, col = (int(v) for v in cell)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a (row, col) pair, got {name}={cell!r}") from None
        if not (0 <= row < self.shape[0] and 0 <= col < self.shape[1]):
            raise ValueError(f"{name}={cell!r} is outside the grid of shape {self.shape}")
        return row, col


def _check_shape(shape):
    try:
        rows, cols = (int(v) for v in shape)
    except (TypeError, ValueError):
        raise ValueError(f"shape must be (n_rows, n_cols), got shape={shape!r}") from None
    if rows < 1 or cols < 1:
        raise ValueError(f"shape must have positive sizes, got shape={shape!r}")
    return rows, cols
