"""Maze demonstrator for Gymnasium-Robotics PointMaze (any ``maze_map``; ``macroact[robotics]``).

Navigation between random cells, as in SPiRL's maze data and D4RL's ``maze2d`` sets: before
each reset the demonstrator draws a start cell and a goal cell among the open cells of the
env's ``maze_map`` (its own or one passed as an env kwarg) and hands them to the env as
``options={"reset_cell", "goal_cell"}`` (the env adds its position noise); at reset it finds
the shortest cell path by breadth-first search over the grid, and then tracks the centres of
the path's cells, ending on the exact goal position, with a PD controller

    action = kp * (waypoint - position) - kd * velocity,  clipped to [-1, 1],

plus Gaussian action noise, clipped again. D4RL's maze data were generated the same way: a
waypoint controller with gains 10 and 1 (its ``d_gain`` of -1 on the velocity), waypoints
jittered within 0.2 of a cell, and, for the noisy sets, N(0, 0.5^2) noise on every action
component; those are the defaults here. A waypoint counts as passed within ``switch_radius`` of
its centre (D4RL waited for the ball to stop there; not stopping makes the paths smooth and the
episodes short).

``env_defaults`` sets ``continuing_task=False``, so an episode ends when the ball is within
0.45 of the goal (the env's success radius) and the data hold one start-to-goal navigation
per episode; pass ``continuing_task=True`` to keep the env's own behaviour.

Factor labels: ``start_cell`` and ``goal_cell``, indices into ``open_cells(maze_map)``
(row-major order).

Example:
    >>> maze = [[1, 1, 1, 1, 1], [1, 0, 0, 0, 1], [1, 1, 1, 0, 1], [1, 1, 1, 1, 1]]
    >>> open_cells(maze)
    [(1, 1), (1, 2), (1, 3), (2, 3)]
    >>> shortest_path(maze, (1, 1), (2, 3))
    [(1, 1), (1, 2), (1, 3), (2, 3)]
"""

from __future__ import annotations

from collections import deque
from typing import Any, Sequence

import numpy as np

Cell = tuple[int, int]


def _is_open(value: Any) -> bool:
    return not (value == 1 or value == "1")


def open_cells(maze_map: Sequence[Sequence[Any]]) -> list[Cell]:
    """Every non-wall cell ``(row, col)`` of a Gymnasium-Robotics ``maze_map``, row-major.

    Walls are ``1``; ``0`` and the markers ``"r"``, ``"g"``, ``"c"`` are open.
    """
    return [(i, j) for i, row in enumerate(maze_map) for j, v in enumerate(row) if _is_open(v)]


def shortest_path(maze_map: Sequence[Sequence[Any]], start: Cell, goal: Cell) -> list[Cell]:
    """The cells of a shortest 4-connected path from ``start`` to ``goal``, both included.

    Breadth-first search; neighbours are tried down, up, right, left, so ties break the same
    way every time.

    Raises:
        ValueError: If either cell is a wall or outside the map, or no path joins them.
    """
    rows = len(maze_map)
    start, goal = (int(start[0]), int(start[1])), (int(goal[0]), int(goal[1]))
    for name, (i, j) in (("start", start), ("goal", goal)):
        if not (0 <= i < rows and 0 <= j < len(maze_map[i])) or not _is_open(maze_map[i][j]):
            raise ValueError(f"{name} cell {(i, j)} is a wall or outside the maze")
    parent: dict[Cell, Cell | None] = {start: None}
    queue = deque([start])
    while queue:
        cell = queue.popleft()
        if cell == goal:
            break
        i, j = cell
        for nxt in ((i + 1, j), (i - 1, j), (i, j + 1), (i, j - 1)):
            a, b = nxt
            if nxt not in parent and 0 <= a < rows and 0 <= b < len(maze_map[a]) \
                    and _is_open(maze_map[a][b]):
                parent[nxt] = cell
                queue.append(nxt)
    if goal not in parent:
        raise ValueError(f"no path from {start} to {goal}: the maze is not connected there")
    path = [goal]
    while parent[path[-1]] is not None:
        path.append(parent[path[-1]])
    return path[::-1]


MAZE_VALUES = (0, 1, "r", "g", "c")
"""What a Gymnasium-Robotics ``maze_map`` cell may hold: wall 1, open 0, reset ``"r"``, goal
``"g"``, either ``"c"``."""


def check_maze_map(maze_map: Any) -> list[list[Any]]:
    """``maze_map`` as a list of rows, refused unless it is a rectangular grid of
    ``MAZE_VALUES`` with at least one open cell.

    Raises:
        ValueError: Naming the first bad row or cell and what a maze_map holds.
    """
    hint = ("a maze_map is a rectangular list of rows of 1 (wall), 0 (open), \"r\" (reset), "
            "\"g\" (goal) or \"c\" (either), e.g. [[1,1,1,1],[1,\"r\",\"g\",1],[1,1,1,1]]")
    if not isinstance(maze_map, (list, tuple)) or not maze_map \
            or not all(isinstance(row, (list, tuple)) for row in maze_map):
        raise ValueError(f"maze_map={maze_map!r} is not a list of rows; {hint}")
    width = len(maze_map[0])
    for i, row in enumerate(maze_map):
        if len(row) != width:
            raise ValueError(f"maze_map row {i} has {len(row)} cells, row 0 has {width}; {hint}")
        for j, v in enumerate(row):
            if isinstance(v, bool) or v not in MAZE_VALUES:
                raise ValueError(f"maze_map cell ({i}, {j}) is {v!r}; {hint}")
    if not open_cells(maze_map):
        raise ValueError(f"maze_map has no open cell; {hint}")
    return [list(row) for row in maze_map]


def task_maze_map(maze_map: Sequence[Sequence[Any]], start: Cell, goal: Cell) -> list[list[Any]]:
    """A copy of ``maze_map`` for one downstream task: the reset cell ``"r"`` at ``start`` and
    the goal cell ``"g"`` at ``goal``, every other open cell ``0``.

    Passed as the env kwarg ``maze_map``, it fixes the task's start and goal cells (the env
    still adds its position noise, so starts vary within the cell).

    Example:
        >>> maze = [[1, 1, 1, 1, 1], [1, 0, 0, 0, 1], [1, 1, 1, 1, 1]]
        >>> task_maze_map(maze, (1, 1), (1, 3))
        [[1, 1, 1, 1, 1], [1, 'r', 0, 'g', 1], [1, 1, 1, 1, 1]]

    Raises:
        ValueError: If the cells are walls, outside the map, equal, or not joined by a path.
    """
    start, goal = (int(start[0]), int(start[1])), (int(goal[0]), int(goal[1]))
    if start == goal:
        raise ValueError(f"start and goal are the same cell {start}; give two cells")
    shortest_path(maze_map, start, goal)  # refuses walls, outside cells and unjoined cells
    out: list[list[Any]] = [[1 if not _is_open(v) else 0 for v in row] for row in maze_map]
    out[start[0]][start[1]] = "r"
    out[goal[0]][goal[1]] = "g"
    return out


def env_maze_map(env_id: str, **env_kwargs: Any) -> list[list[Any]]:
    """The ``maze_map`` a Gymnasium-Robotics maze env is made with (its own, or the kwarg's)."""
    import gymnasium as gym

    from macroact.extras import optional_import

    optional_import("gymnasium_robotics", "robotics", feature=f"environment {env_id!r}")
    env = gym.make(env_id, **env_kwargs)
    try:
        maze = getattr(env.unwrapped, "maze", None)
        if maze is None:
            raise ValueError(f"{env_id!r} is not a Gymnasium-Robotics maze env (no maze_map)")
        return [list(row) for row in maze.maze_map]
    finally:
        env.close()


def _cells(value: Any, name: str) -> set[Cell] | None:
    if value is None:
        return None
    cells = {(int(c[0]), int(c[1])) for c in value}
    if not cells and name != "exclude_goal_cells":
        raise ValueError(f"{name} is empty; give at least one (row, col) cell or leave it out")
    return cells


class MazeDemonstrator:
    """Shortest-path navigation with a noisy PD controller on a PointMaze (see the module docs).

    Args:
        env: A made PointMaze env (``PointMaze_*-v3``, any ``maze_map``).
        rng: The generator of every random choice (cells, waypoint jitter, action noise).
        noise: Standard deviation of the Gaussian action noise (D4RL's noisy sets: 0.5);
            0 for clean demonstrations.
        kp: Proportional gain on the waypoint error (D4RL: 10).
        kd: Damping gain on the velocity (D4RL: 1).
        waypoint_jitter: Each intermediate waypoint is drawn uniformly from a square of this
            side (in cells) around its cell's centre (D4RL: side 0.2, off-centre).
        switch_radius: Distance, in cells, at which the next waypoint is taken.
        start_cells: Cells ``(row, col)`` a start is drawn from (default every open cell).
        goal_cells: Cells a goal is drawn from (default every open cell).
        exclude_goal_cells: Cells never drawn as a goal (e.g. a downstream task's goal).
    """

    factor_names = ("start_cell", "goal_cell")
    env_defaults = {"continuing_task": False}

    def __init__(self, env: Any, rng: np.random.Generator, noise: float = 0.5,
                 kp: float = 10.0, kd: float = 1.0, waypoint_jitter: float = 0.2,
                 switch_radius: float = 0.4, start_cells: Any = None, goal_cells: Any = None,
                 exclude_goal_cells: Any = ()):
        maze = getattr(env.unwrapped, "maze", None)
        if maze is None or not hasattr(maze, "maze_map"):
            raise ValueError(f"the maze demonstrator needs a Gymnasium-Robotics maze env "
                             f"(PointMaze_*), got {env.unwrapped!r}")
        for name, value in (("noise", noise), ("kp", kp), ("kd", kd),
                            ("waypoint_jitter", waypoint_jitter), ("switch_radius", switch_radius)):
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        self.env, self.rng, self.maze = env, rng, maze
        self.noise, self.kp, self.kd = float(noise), float(kp), float(kd)
        self.jitter, self.switch = float(waypoint_jitter), float(switch_radius)
        self.cells = open_cells(maze.maze_map)
        self.index = {c: k for k, c in enumerate(self.cells)}
        starts, goals = _cells(start_cells, "start_cells"), _cells(goal_cells, "goal_cells")
        excluded = _cells(exclude_goal_cells, "exclude_goal_cells") or set()
        for name, chosen in (("start_cells", starts), ("goal_cells", goals),
                             ("exclude_goal_cells", excluded)):
            bad = sorted((chosen or set()) - set(self.cells))
            if bad:
                raise ValueError(f"{name} {bad} are walls or outside this maze_map")
        self.starts = sorted(starts) if starts is not None else list(self.cells)
        self.goals = [c for c in (sorted(goals) if goals is not None else self.cells)
                      if c not in excluded]
        if not self.goals or (len(self.goals) == 1 and self.starts == self.goals):
            raise ValueError("no goal cell is left to draw (goal_cells minus exclude_goal_cells "
                             "must hold a cell other than the start)")
        self.waypoints: list[np.ndarray] = []
        self.target = 0

    @property
    def scale(self) -> float:
        return float(self.maze.maze_size_scaling)

    def reset_options(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """The next episode's ``reset_cell`` and ``goal_cell``: distinct, joined by a path."""
        for _ in range(1000):
            start = self.starts[int(rng.integers(len(self.starts)))]
            goal = self.goals[int(rng.integers(len(self.goals)))]
            if goal == start:
                continue
            try:
                shortest_path(self.maze.maze_map, start, goal)
            except ValueError:
                continue
            return {"reset_cell": np.array(start), "goal_cell": np.array(goal)}
        raise ValueError("found no start and goal cells joined by a path in 1000 draws; "
                         "check start_cells, goal_cells and the maze_map")

    def _cell_of(self, xy: np.ndarray) -> Cell:
        i, j = (int(v) for v in self.maze.cell_xy_to_rowcol(np.asarray(xy)))
        if (i, j) not in self.index:  # noise put the point on a wall's edge: nearest open cell
            centres = np.array([self.maze.cell_rowcol_to_xy(np.array(c)) for c in self.cells])
            i, j = self.cells[int(np.argmin(np.linalg.norm(centres - xy, axis=1)))]
        return i, j

    def reset(self, obs: dict[str, np.ndarray], info: dict[str, Any]) -> list[int]:
        position, goal = np.asarray(obs["achieved_goal"]), np.asarray(obs["desired_goal"])
        start_cell, goal_cell = self._cell_of(position), self._cell_of(goal)
        path = shortest_path(self.maze.maze_map, start_cell, goal_cell)
        jitter = self.rng.uniform(-self.jitter / 2, self.jitter / 2, (max(len(path) - 2, 0), 2))
        self.waypoints = [self.maze.cell_rowcol_to_xy(np.array(c)) + d * self.scale
                          for c, d in zip(path[1:-1], jitter)] + [goal.copy()]
        self.target = 0
        return [self.index[start_cell], self.index[goal_cell]]

    def act(self, obs: dict[str, np.ndarray], info: dict[str, Any]) -> np.ndarray:
        state = np.asarray(obs["observation"])
        position, velocity = state[:2], state[2:4]
        if not self.waypoints:
            raise RuntimeError("act() before reset(): call reset(obs, info) after env.reset")
        self.waypoints[-1] = np.asarray(obs["desired_goal"], dtype=np.float64).copy()
        while self.target < len(self.waypoints) - 1 and \
                np.linalg.norm(self.waypoints[self.target] - position) < self.switch * self.scale:
            self.target += 1
        error = self.waypoints[self.target] - position
        action = np.clip(self.kp * error - self.kd * velocity, -1.0, 1.0)
        if self.noise > 0:
            action = np.clip(action + self.rng.normal(0.0, self.noise, 2), -1.0, 1.0)
        return action
