"""2D Reaching: a point moves from the origin to one of the paper's two goals.

The environment is the control version of the FAVAE paper's 2D Reaching data set: the data
set's arcs are what ``Reaching2DDemonstrator`` traces, step by step, as displacements.

Registered as ``macroact/Reaching2D-v0`` (the paper's task: start (0, 0), two goals) and
``macroact/Reaching2D-v1`` (``varied=True``: the goal is drawn uniformly over
``GOAL_REGION`` and the start jitters within ``START_JITTER`` of the origin, so first
observations do not repeat); ``gym.make`` adds ``TimeLimit(100)``::

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
#: Demonstrator factors of the varied task: the plan only (the goal is continuous).
VARIED_FACTOR_NAMES = ("side", "curvature")
VARIED_FACTOR_SIZES = (2, 5)
#: Reaching2D-v1's goal region ``((x_low, x_high), (y_low, y_high))``: around the paper's goals.
GOAL_REGION = ((-0.3, 0.3), (0.8, 1.2))
#: Reaching2D-v1's start: uniform in ``[-START_JITTER, START_JITTER]^2`` around the origin.
START_JITTER = 0.05
#: The arc-centre offsets of the paper's curvature labels (``macroact.data.paper``'s
#: ``_CURVATURE_K``; ``tests/test_envs_varied.py`` checks that ``arc_between`` from the origin
#: reproduces ``reaching_arc``).
_ARC_K = (10.0, 8.75, 7.5, 6.25, 5.0)


class Reaching2DEnv(gym.Env):
    """A point in the plane that must reach a goal, with a sparse success reward.

    Each step moves the point by ``max_step * action``. In the paper's task (``varied=False``,
    ``macroact/Reaching2D-v0``) the point starts at (0, 0) and the episode's goal is one of the
    paper's two goals, (-0.1, 1) and (+0.1, 1), drawn uniformly or set by
    ``reset(options={"goal": 0 or 1})``: only two first observations exist. In the varied task
    (``varied=True``, ``macroact/Reaching2D-v1``) the goal is drawn uniformly over
    ``goal_region`` and the start uniformly over the square of half-width ``start_jitter``
    around the origin, so no two resets share a first observation. Reaching within
    ``success_radius`` of the goal gives reward 1.0 and ends the episode
    (``terminated=True``, ``info["is_success"]``); every other step gives 0.

    Observation ``(5,)`` float32: position (2), goal (2), time fraction ``t / horizon``
    (1, clipped at 1). Action ``(2,)`` float32 in [-1, 1]. ``info["state_features"]`` is
    the position (float64, 2), the quantity the paper's data sets record;
    ``info["goal_index"]`` is the goal's index into ``GOALS`` (-1 in the varied task).

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
        varied: Draw the goal and the start continuously (the v1 task) instead of the
            paper's two goals from (0, 0).
        goal_region: ``((x_low, x_high), (y_low, y_high))`` of the varied goal draw
            (default ``GOAL_REGION``); only with ``varied=True``.
        start_jitter: Half-width of the varied start square around the origin (default
            ``START_JITTER``; 0 keeps the start at the origin); only with ``varied=True``.

    Raises:
        ValueError: On a non-positive ``max_step`` or ``success_radius``, a ``horizon`` below
            1, goals outside ``bound``, a ``goal_region`` that is not a box, lies within
            ``success_radius`` of a start, or needs steps longer than ``max_step`` to reach in
            ``horizon`` steps, or ``goal_region``/``start_jitter`` without ``varied=True``.

    Example:
        >>> env = Reaching2DEnv()
        >>> obs, info = env.reset(seed=0, options={"goal": 0})
        >>> obs, reward, terminated, truncated, info = env.step(np.array([0.0, 1.0], np.float32))
        >>> info["state_features"].tolist(), reward, terminated
        ([0.0, 0.02], 0.0, False)
        >>> varied = Reaching2DEnv(varied=True)
        >>> obs, info = varied.reset(seed=0)
        >>> bool(-0.3 <= obs[2] <= 0.3 and 0.8 <= obs[3] <= 1.2), info["goal_index"]
        (True, -1)
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 25}

    def __init__(self, max_step: float = 0.02, success_radius: float = 0.05, horizon: int = 100,
                 bound: float = 2.0, render_mode: str | None = None, varied: bool = False,
                 goal_region: Any = None, start_jitter: float | None = None):
        if not (np.isfinite(max_step) and max_step > 0):
            raise ValueError(f"max_step must be a positive number, got {max_step!r}")
        if not (np.isfinite(success_radius) and success_radius > 0):
            raise ValueError(f"success_radius must be a positive number, got {success_radius!r}")
        if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
            raise ValueError(f"horizon must be an integer >= 1, got {horizon!r}")
        if not isinstance(varied, (bool, np.bool_)):
            raise ValueError(f"varied must be True or False, got {varied!r}")
        if not varied and (goal_region is not None or start_jitter is not None):
            raise ValueError(f"goal_region={goal_region!r} and start_jitter={start_jitter!r} "
                             "only apply to the varied task; pass varied=True (or make "
                             "macroact/Reaching2D-v1)")
        self.varied = bool(varied)
        if self.varied:
            region = np.asarray(GOAL_REGION if goal_region is None else goal_region, np.float64)
            jitter = START_JITTER if start_jitter is None else start_jitter
            if region.shape != (2, 2) or not np.all(np.isfinite(region)) \
                    or not np.all(region[:, 0] < region[:, 1]):
                raise ValueError(f"goal_region must be ((x_low, x_high), (y_low, y_high)) with "
                                 f"finite low < high, got {goal_region!r}")
            if isinstance(jitter, bool) or not isinstance(jitter, (int, float, np.floating,
                                                                     np.integer)) \
                    or not (np.isfinite(jitter) and jitter >= 0):
                raise ValueError(f"start_jitter must be a number >= 0, got {start_jitter!r}")
            self.goal_region = region
            self.start_jitter = float(jitter)
            # Closest goal to any start: the per-axis gaps between the two boxes.
            gap = np.maximum(0.0, np.maximum(region[:, 0] - self.start_jitter,
                                             -self.start_jitter - region[:, 1]))
            if np.hypot(*gap) <= success_radius:
                raise ValueError(f"goal_region {region.tolist()} comes within success_radius="
                                 f"{success_radius} of a start (jitter {self.start_jitter}); "
                                 "move the region away from the origin")
            farthest = np.abs(region).max(axis=1) + self.start_jitter
            # The demonstrator's most curved arc is 1.0017 times its chord; keep a margin.
            if 1.01 * np.hypot(*farthest) > horizon * max_step:
                raise ValueError(f"the farthest goal of goal_region {region.tolist()} is "
                                 f"{np.hypot(*farthest):.3f} from a start, more than horizon * "
                                 f"max_step = {horizon * max_step:.3f} allows; shrink the region "
                                 "or raise max_step or horizon")
            reach = np.abs(region).max()
        else:
            self.goal_region = None
            self.start_jitter = 0.0
            reach = np.abs(GOALS).max()
        if not (np.isfinite(bound) and bound > reach):
            raise ValueError(f"bound must exceed the goals' coordinates ({reach}), got "
                             f"{bound!r}; the goals must lie inside the square")
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
        self.goal_index = -1 if self.varied else 0
        self.goal = self.goal_region.mean(axis=1) if self.varied else GOALS[0].copy()
        self.start = np.zeros(2)
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
        """Start a new episode: the paper's start and goal draw, or the varied one.

        Args:
            seed: Seeds ``self.np_random`` (the goal and start draws).
            options: Paper task: ``{"goal": 0 or 1}`` picks the goal instead of drawing it.
                Varied task: ``{"goal": (x, y)}`` (inside ``goal_region``) and/or
                ``{"start": (x, y)}`` (inside the jitter square) fix them; both are drawn
                anyway, so fixing one leaves the other's draw unchanged.

        Returns:
            The first observation and ``info`` (``is_success``, ``goal_index``,
            ``state_features``).

        Raises:
            ValueError: On an unknown option or an option value outside its range.
        """
        super().reset(seed=seed)
        options = options or {}
        if self.varied:
            return self._reset_varied(options)
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
        self.start = np.zeros(2)
        self.position = np.zeros(2)
        self.t = 0
        return self._obs(), self._info(self._distance() < self.success_radius)

    def _reset_varied(self, options: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
        unknown = set(options) - {"goal", "start"}
        if unknown:
            raise ValueError(f"unknown reset options {sorted(unknown)}; the varied task takes "
                             "'goal' and 'start' (each an (x, y) pair)")
        region, jitter = self.goal_region, self.start_jitter
        goal = self.np_random.uniform(region[:, 0], region[:, 1])
        start = self.np_random.uniform(-jitter, jitter, size=2)
        for name, drawn, low, high in (("goal", goal, region[:, 0], region[:, 1]),
                                       ("start", start, -jitter, jitter)):
            if options.get(name) is None:
                continue
            low, high = np.broadcast_to(low, 2), np.broadcast_to(high, 2)
            try:
                value = np.asarray(options[name], dtype=np.float64)
            except (TypeError, ValueError):
                value = np.full(1, np.nan)
            if value.shape != (2,) or not np.all((low <= value) & (value <= high)):
                raise ValueError(f"options[{name!r}] must be an (x, y) pair with x in "
                                 f"[{low[0]}, {high[0]}] and y in [{low[1]}, {high[1]}], got "
                                 f"{options[name]!r}")
            drawn[:] = value
        self.goal_index = -1
        self.goal = goal
        self.start = start
        self.position = start.copy()
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
        if self.varied:
            # A square view around the start square and the goal region, 0.15 margin.
            low = np.minimum(-self.start_jitter, self.goal_region[:, 0]) - 0.15
            high = np.maximum(self.start_jitter, self.goal_region[:, 1]) + 0.15
            width = float((high - low).max())
            centre = (low + high) / 2
            left, top = float(centre[0] - width / 2), float(centre[1] + width / 2)
            goals, highlight = [self.goal], 0
        else:
            # View x in [-0.6, 0.6], y in [-0.1, 1.1]: the start, both goals and every demo arc.
            width, left, top = 1.2, -0.6, 1.1
            goals, highlight = GOALS, self.goal_index
        ys, xs = np.mgrid[0:size, 0:size]
        wx = left + width * (xs + 0.5) / size
        wy = top - width * (ys + 0.5) / size
        img = np.full((size, size, 3), 255, np.uint8)
        for i, g in enumerate(goals):
            disc = np.hypot(wx - g[0], wy - g[1]) < self.success_radius
            img[disc] = (220, 60, 60) if i == highlight else (240, 190, 190)
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


def arc_between(start: Any, goal: Any, side: int, curvature: int,
                n_points: int = 101) -> np.ndarray:
    """The paper's arc family between any start and goal: ``n_points`` positions ``(n, 2)``.

    With chord ``d = goal - start`` and its normal ``p = (d_y, -d_x)``, the centre is
    ``start + d / 2 + k p``, ``k`` set by the ``side`` and ``curvature`` labels as in the
    paper; the points lie at equal angle steps along the shorter arc, both end points
    included. From the origin to one of ``GOALS`` this is ``reaching_arc`` (the paper's
    centre ``G/2 + k (1, -gx)``); elsewhere it is the same shape, scaled and rotated with the
    chord. ``Reaching2DDemonstrator`` traces it in the varied task.

    Args:
        start: ``(2,)`` first point.
        goal: ``(2,)`` last point; must differ from ``start``.
        side: 0 or 1 (which side of the chord the arc bulges to).
        curvature: 0..4 (0 the straightest of its side).
        n_points: Number of points, >= 2.

    Returns:
        float64 ``(n_points, 2)``.

    Example:
        >>> arc = arc_between((0.0, 0.0), (0.2, 1.0), side=0, curvature=4, n_points=5)
        >>> arc.shape, bool(np.allclose(arc[[0, -1]], [[0.0, 0.0], [0.2, 1.0]]))
        ((5, 2), True)
    """
    _check_labels(0, side, curvature)
    if isinstance(n_points, bool) or not isinstance(n_points, (int, np.integer)) or n_points < 2:
        raise ValueError(f"n_points must be an integer >= 2, got {n_points!r}")
    start = np.asarray(start, dtype=np.float64)
    goal = np.asarray(goal, dtype=np.float64)
    if start.shape != (2,) or goal.shape != (2,) or not np.all(np.isfinite([start, goal])):
        raise ValueError(f"start and goal must be finite (x, y) pairs, got {start!r}, {goal!r}")
    d = goal - start
    if not np.any(d):
        raise ValueError(f"start and goal coincide at {start.tolist()}; no arc joins them")
    k = _ARC_K[curvature] if side == 0 else -_ARC_K[::-1][curvature]
    c = start + d / 2 + k * np.array([d[1], -d[0]])
    a0 = np.arctan2(start[1] - c[1], start[0] - c[0])
    a1 = np.arctan2(goal[1] - c[1], goal[0] - c[0])
    delta = (a1 - a0 + np.pi) % (2 * np.pi) - np.pi  # shorter arc
    angles = a0 + delta * np.linspace(0.0, 1.0, int(n_points))
    r = np.hypot(*(start - c))
    return np.stack([c[0] + r * np.cos(angles), c[1] + r * np.sin(angles)], axis=-1)


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

    In the varied task (``macroact/Reaching2D-v1``) the goal is continuous and not a factor:
    ``factor_names`` are ``("side", "curvature")``, the plan factors the demonstrator draws,
    and the plan is ``arc_between`` the episode's actual start and goal.

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
        if not all(hasattr(base, a) for a in ("goal_index", "goal", "position", "t",
                                                "horizon", "max_step")):
            raise ValueError(f"Reaching2DDemonstrator drives a Reaching2DEnv, got "
                             f"{type(base).__name__}; make macroact/Reaching2D-v0")
        self.env = env
        self.varied = bool(getattr(base, "varied", False))
        if self.varied:
            self.factor_names, self.factor_sizes = VARIED_FACTOR_NAMES, VARIED_FACTOR_SIZES
        self.factors: np.ndarray | None = None
        self.plan: np.ndarray | None = None

    def reset(self, obs: np.ndarray, info: dict[str, Any], rng: np.random.Generator,
              factors: Any = None) -> np.ndarray:
        """Pick this episode's arc (call right after ``env.reset``).

        Args:
            obs: The first observation (unused; the state is read from the env).
            info: The reset info (unused).
            rng: Draws ``side`` and ``curvature``.
            factors: Optional ``(side, curvature)`` or, in the paper's task, ``(goal, side,
                curvature)`` labels to use instead of drawing (``goal`` must match the env's
                goal).

        Returns:
            int64 ``(3,)``: ``goal``, ``side``, ``curvature``; in the varied task ``(2,)``:
            ``side``, ``curvature``.

        Raises:
            ValueError: If ``factors`` has the wrong length, a label out of range, or a goal
                other than the episode's.
        """
        base = self.env.unwrapped
        goal = base.goal_index
        if factors is None:
            side, curvature = int(rng.integers(2)), int(rng.integers(5))
        else:
            factors = [int(f) for f in np.asarray(factors).reshape(-1)]
            if len(factors) == 3 and not self.varied:
                if factors[0] != goal:
                    raise ValueError(f"factors ask for goal {factors[0]} but the episode's goal "
                                     f"is {goal}; reset the env with options={{'goal': "
                                     f"{factors[0]}}}")
                factors = factors[1:]
            if len(factors) != 2:
                expected = ("(side, curvature); the varied task's goal is continuous, not a "
                            "label" if self.varied else
                            "(side, curvature) or (goal, side, curvature)")
                raise ValueError(f"factors must be {expected}, got {len(factors)} values")
            side, curvature = factors
        if self.varied:
            _check_labels(0, side, curvature)
            self.plan = arc_between(base.start, base.goal, side, curvature,
                                    n_points=base.horizon + 1)
            self.factors = np.array([side, curvature], np.int64)
        else:
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
