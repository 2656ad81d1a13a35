"""2D Reaching: a point moves from the origin to one of the paper's two goals.

The environment is the control version of the FAVAE paper's 2D Reaching data set: the data
set's arcs are what ``Reaching2DDemonstrator`` traces, step by step, as displacements.

Registered as ``macroact/Reaching2D-v0`` (``gym.make`` adds ``TimeLimit(100)``)::

    >>> import gymnasium as gym
    >>> import macroact
    >>> env = gym.make("macroact/Reaching2D-v0")
    >>> obs, info = env.reset(seed=0, options={"goal": 1})
    >>> obs.tolist()
    [0.0, 0.0, 0.10000000149011612, 1.0, 0.0]
"""

from __future__ import annotations

import itertools
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from macroact.data.paper import reaching_arc

#: The paper's goals, indexed by the ``goal`` factor label.
GOALS = np.array([[-0.1, 1.0], [0.1, 1.0]])
#: Demonstrator factors, in the column order of the authors' ``label`` arrays.
FACTOR_NAMES = ("goal", "side", "curvature")
FACTOR_SIZES = (2, 2, 5)


class Reaching2DEnv(gym.Env):
    """A point in the plane that must reach one of two goals, with a sparse success reward.

    Each step moves the point by ``max_step * action``; the point starts at (0, 0) and the
    episode's goal is one of the paper's two goals, (-0.1, 1) and (+0.1, 1), drawn uniformly
    or set by ``reset(options={"goal": 0 or 1})``. Reaching within ``success_radius`` of the
    goal gives reward 1.0 and ends the episode (``terminated=True``, ``info["is_success"]``);
    every other step gives 0.

    Observation ``(5,)`` float32: position (2), goal (2), time fraction ``t / horizon``
    (1, clipped at 1). Action ``(2,)`` float32 in [-1, 1]. ``info["state_features"]`` is
    the position (float64, 2), the quantity the paper's data sets record.

    The episode *terminates* after ``horizon`` steps (100). This is a finite-horizon task:
    the time fraction is part of the observation, so the last state is a true terminal state
    and agents must not bootstrap a value past it (SB3 bootstraps past ``truncated``, and an
    agent deciding once per episode, as a whole-episode macro does, has never seen a state
    near the end whose value it could bootstrap from). ``gym.make`` also adds a ``TimeLimit``
    of 100 steps, which then fires together with the termination. The point stays inside the
    square ``|x|, |y| <= bound``.

    Args:
        max_step: Largest displacement per step along each axis (action 1.0 moves this far).
        success_radius: Distance to the goal that counts as reaching it.
        horizon: Episode length: the time feature runs from 0 to 1 and the episode terminates.
        bound: Half-width of the square that confines the point (and bounds the observation).
        render_mode: ``None`` or ``"rgb_array"`` (a 128x128 top view).

    Example:
        >>> env = Reaching2DEnv()
        >>> obs, info = env.reset(seed=0, options={"goal": 0})
        >>> obs, reward, terminated, truncated, info = env.step(np.array([0.0, 1.0], np.float32))
        >>> info["state_features"].tolist(), reward, terminated
        ([0.0, 0.02], 0.0, False)
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 25}

    def __init__(self, max_step: float = 0.02, success_radius: float = 0.05, horizon: int = 100,
                 bound: float = 2.0, render_mode: str | None = None):
        if not (np.isfinite(max_step) and max_step > 0):
            raise ValueError(f"max_step must be a positive number, got {max_step!r}")
        if not (np.isfinite(success_radius) and success_radius > 0):
            raise ValueError(f"success_radius must be a positive number, got {success_radius!r}")
        if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
            raise ValueError(f"horizon must be an integer >= 1, got {horizon!r}")
        if not (np.isfinite(bound) and bound > np.abs(GOALS).max()):
            raise ValueError(f"bound must exceed the goals' coordinates (1.0), got {bound!r}; "
                             "the goals must lie inside the square")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or one of "
                             f"{self.metadata['render_modes']}, got {render_mode!r}")
        self.max_step = float(max_step)
        self.success_radius = float(success_radius)
        self.horizon = int(horizon)
        self.bound = float(bound)
        self.render_mode = render_mode
        self.action_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        b = np.float32(self.bound)
        self.observation_space = spaces.Box(
            low=np.array([-b, -b, -b, -b, 0.0], np.float32),
            high=np.array([b, b, b, b, 1.0], np.float32), dtype=np.float32)
        self.goal_index = 0
        self.goal = GOALS[0].copy()
        self.position = np.zeros(2)
        self.t = 0

    def _obs(self) -> np.ndarray:
        time = min(self.t / self.horizon, 1.0)
        return np.array([*self.position, *self.goal, time], dtype=np.float32)

    def _distance(self) -> float:
        return float(np.linalg.norm(self.position - self.goal))

    def _info(self, success: bool) -> dict[str, Any]:
        return {"is_success": success, "goal_index": self.goal_index,
                "state_features": self.position.copy()}

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Start at (0, 0) with a new goal.

        Args:
            seed: Seeds ``self.np_random`` (the goal draw).
            options: ``{"goal": 0 or 1}`` picks the goal instead of drawing it.

        Returns:
            The first observation and ``info`` (``is_success``, ``goal_index``,
            ``state_features``).
        """
        super().reset(seed=seed)
        options = options or {}
        unknown = set(options) - {"goal"}
        if unknown:
            raise ValueError(f"unknown reset options {sorted(unknown)}; the only option is 'goal'")
        goal = options.get("goal")
        if goal is None:
            goal = int(self.np_random.integers(len(GOALS)))
        elif isinstance(goal, bool) or not isinstance(goal, (int, np.integer)) \
                or not 0 <= goal < len(GOALS):
            raise ValueError(f"options['goal'] must be 0 (goal (-0.1, 1)) or 1 (goal (0.1, 1)), "
                             f"got {goal!r}")
        self.goal_index = int(goal)
        self.goal = GOALS[self.goal_index].copy()
        self.position = np.zeros(2)
        self.t = 0
        return self._obs(), self._info(self._distance() < self.success_radius)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Move by ``max_step * clip(action, -1, 1)``; reward 1.0 and terminate on reaching."""
        action = np.asarray(action, dtype=np.float64).reshape(-1)
        if action.shape != (2,):
            raise ValueError(f"action must have 2 elements (dx, dy), got shape {action.shape}")
        self.position = np.clip(self.position + self.max_step * np.clip(action, -1.0, 1.0),
                                -self.bound, self.bound)
        self.t += 1
        success = self._distance() < self.success_radius
        return (self._obs(), float(success), bool(success or self.t >= self.horizon), False,
                self._info(success))

    def render(self) -> np.ndarray | None:
        """An ``(128, 128, 3)`` uint8 top view of the region around the goals, or ``None``."""
        if self.render_mode != "rgb_array":
            return None
        size = 128
        # View x in [-0.6, 0.6], y in [-0.1, 1.1]: the start, both goals and every demo arc.
        ys, xs = np.mgrid[0:size, 0:size]
        wx = -0.6 + 1.2 * (xs + 0.5) / size
        wy = 1.1 - 1.2 * (ys + 0.5) / size
        img = np.full((size, size, 3), 255, np.uint8)
        for i, g in enumerate(GOALS):
            disc = np.hypot(wx - g[0], wy - g[1]) < self.success_radius
            img[disc] = (220, 60, 60) if i == self.goal_index else (240, 190, 190)
        dot = np.hypot(wx - self.position[0], wy - self.position[1]) < 0.02
        img[dot] = (40, 90, 200)
        return img


def _check_labels(goal: int, side: int, curvature: int) -> None:
    for name, value, size in zip(FACTOR_NAMES, (goal, side, curvature), FACTOR_SIZES):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
                or not 0 <= value < size:
            raise ValueError(f"{name} label must be an integer in [0, {size}), got {value!r}")


def arc_positions(goal: int, side: int, curvature: int, length: int = 100) -> np.ndarray:
    """The ``length + 1`` positions ``(length + 1, 2)`` of a demonstration, start and goal included.

    The paper's arc from (0, 0) to the goal (see ``macroact.data.paper.reaching_arc``: centre
    ``G/2 + k (1, -gx)``, constant angular speed along the shorter arc), at ``length`` equal
    angle steps: position ``t`` lies at angle fraction ``t / length``. The authors' length-100
    arrays instead hold the fractions ``10 t / 999`` (every 10th of 1000 points), so they share
    these arcs but not these exact points.
    """
    _check_labels(goal, side, curvature)
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 1:
        raise ValueError(f"length must be an integer >= 1, got {length!r}")
    return reaching_arc(int(goal), int(side), int(curvature), n_points=int(length) + 1)


def reference_actions(length: int = 100, max_step: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    """The demonstrator's open-loop actions for all 20 factor combinations.

    Args:
        length: Steps per demonstration; the actions of each end exactly at the goal.
        max_step: The environment's ``max_step`` (actions are displacements / ``max_step``).

    Returns:
        ``actions`` float32 ``(20, length, 2)`` (``diff(arc_positions) / max_step``) and
        ``factors`` int64 ``(20, 3)``, columns ``goal``, ``side``, ``curvature`` in the
        authors' row order (goal slowest, curvature fastest), as ``macroact.data.paper.reaching2d``.

    Raises:
        ValueError: If ``max_step`` is so small that an action leaves [-1, 1].

    Example:
        >>> actions, factors = reference_actions()
        >>> actions.shape, factors[:3].tolist()
        ((20, 100, 2), [[0, 0, 0], [0, 0, 1], [0, 0, 2]])
    """
    if not (np.isfinite(max_step) and max_step > 0):
        raise ValueError(f"max_step must be a positive number, got {max_step!r}")
    factors = np.array(list(itertools.product(*(range(s) for s in FACTOR_SIZES))), np.int64)
    actions = np.stack([np.diff(arc_positions(*f, length=length), axis=0) for f in factors])
    actions /= max_step
    if np.abs(actions).max() > 1.0:
        raise ValueError(f"with max_step={max_step} and length={length} the arcs need actions up "
                         f"to {np.abs(actions).max():.3f}, outside [-1, 1]; raise max_step or "
                         "length")
    return actions.astype(np.float32), factors


class Reaching2DDemonstrator:
    """Scripted demonstrator for ``Reaching2DEnv``: follows one of the paper's 20 arcs.

    Factors: ``goal`` (2, the env's goal of the episode), ``side`` (2) and ``curvature`` (5),
    the latter two drawn uniformly. The plan is the arc's ``horizon + 1`` positions at equal
    angle steps (``arc_positions``); each action moves to the next one,
    ``(p[t+1] - position) / max_step``, so the actions equal ``reference_actions`` and the
    last one lands exactly on the goal. The episode usually ends earlier, on entering the
    success radius (after 96 of the 100 steps with the defaults).

    Args:
        env: A ``Reaching2DEnv``, possibly wrapped (it is read through ``env.unwrapped``).

    Example:
        >>> import gymnasium as gym
        >>> env = gym.make("macroact/Reaching2D-v0")
        >>> demo = Reaching2DDemonstrator(env)
        >>> obs, info = env.reset(seed=0)
        >>> factors = demo.reset(obs, info, np.random.default_rng(0))
        >>> done = False
        >>> while not done:
        ...     obs, r, term, trunc, info = env.step(demo.act(obs))
        ...     done = term or trunc
        >>> info["is_success"]
        True
    """

    factor_names = FACTOR_NAMES
    factor_sizes = FACTOR_SIZES

    def __init__(self, env: gym.Env):
        # Duck-typed: the same class may be imported under two module names (doctests).
        base = env.unwrapped
        if not all(hasattr(base, a) for a in ("goal_index", "position", "t", "horizon",
                                                "max_step")):
            raise ValueError(f"Reaching2DDemonstrator drives a Reaching2DEnv, got "
                             f"{type(base).__name__}; make macroact/Reaching2D-v0")
        self.env = env
        self.factors: np.ndarray | None = None
        self.plan: np.ndarray | None = None

    def reset(self, obs: np.ndarray, info: dict[str, Any], rng: np.random.Generator,
              factors: Any = None) -> np.ndarray:
        """Pick this episode's arc (call right after ``env.reset``).

        Args:
            obs: The first observation (unused; the state is read from the env).
            info: The reset info (unused).
            rng: Draws ``side`` and ``curvature``.
            factors: Optional ``(side, curvature)`` or ``(goal, side, curvature)`` labels to
                use instead of drawing (``goal`` must match the env's goal).

        Returns:
            int64 ``(3,)``: ``goal``, ``side``, ``curvature``.
        """
        base = self.env.unwrapped
        goal = base.goal_index
        if factors is None:
            side, curvature = int(rng.integers(2)), int(rng.integers(5))
        else:
            factors = [int(f) for f in np.asarray(factors).reshape(-1)]
            if len(factors) == 3:
                if factors[0] != goal:
                    raise ValueError(f"factors ask for goal {factors[0]} but the episode's goal "
                                     f"is {goal}; reset the env with options={{'goal': "
                                     f"{factors[0]}}}")
                factors = factors[1:]
            if len(factors) != 2:
                raise ValueError(f"factors must be (side, curvature) or (goal, side, curvature), "
                                 f"got {len(factors)} values")
            side, curvature = factors
        _check_labels(goal, side, curvature)
        self.plan = arc_positions(goal, side, curvature, length=base.horizon)
        self.factors = np.array([goal, side, curvature], np.int64)
        return self.factors.copy()

    def act(self, obs: np.ndarray) -> np.ndarray:
        """The displacement to the plan's next point, in action units (float32 ``(2,)``).

        Closed loop on the env's float64 position, so float32 rounding of the actions does not
        accumulate; after the plan's last point it holds still.
        """
        if self.plan is None:
            raise RuntimeError("call reset(obs, info, rng) after env.reset before act")
        base = self.env.unwrapped
        target = self.plan[min(base.t + 1, len(self.plan) - 1)]
        action = (target - base.position) / base.max_step
        return np.clip(action, -1.0, 1.0).astype(np.float32)
