"""The maze demonstrator: breadth-first paths over any maze_map, PD tracking on PointMaze."""

import re

import numpy as np
import pytest

from macroact.commands import main
from macroact.envs.maze import open_cells, shortest_path
from macroact.extras import has_extra

needs_robotics = pytest.mark.skipif(
    not has_extra("gymnasium_robotics"),
    reason='needs the robotics extra: pip install "macroact[robotics]"')

RING = [[1, 1, 1, 1, 1, 1, 1],
        [1, 0, 0, 0, 0, 0, 1],
        [1, 0, 1, 1, 1, 0, 1],
        [1, 0, 0, "g", 1, 0, 1],
        [1, 1, 1, 1, 1, 1, 1]]


def test_shortest_path_is_breadth_first_over_open_cells():
    assert (3, 3) in open_cells(RING) and (2, 2) not in open_cells(RING)
    path = shortest_path(RING, (3, 1), (3, 5))
    assert path[0] == (3, 1) and path[-1] == (3, 5) and len(path) == 9
    assert all(abs(a[0] - b[0]) + abs(a[1] - b[1]) == 1 for a, b in zip(path, path[1:]))
    assert shortest_path(RING, (1, 1), (1, 1)) == [(1, 1)]
    with pytest.raises(ValueError, match="wall"):
        shortest_path(RING, (0, 0), (1, 1))
    split = [[1, 1, 1, 1], [1, 0, 1, 1], [1, 1, 0, 1], [1, 1, 1, 1]]
    with pytest.raises(ValueError, match="no path"):
        shortest_path(split, (1, 1), (2, 2))


@needs_robotics
def test_maze_demonstrator_reaches_random_goal_cells_on_pointmaze():
    from macroact.envs.external import collect_external

    data = collect_external("PointMaze_Medium-v3", 12, seed=0, demonstrator="maze")
    assert data.success_rate == 1.0
    assert data.factor_names == ("start_cell", "goal_cell")
    assert len(np.unique(data.factors[:, 1])) > 3  # goals are drawn, not fixed
    assert np.all(data.factors[:, 0] != data.factors[:, 1])
    assert data.observations[0].shape[1] == 8  # x, y, vx, vy, achieved (2), desired (2)
    assert data.env_kwargs == {"continuing_task": False}
    assert all(t[-1] for t in data.terminations)  # each episode ends at its goal
    again = collect_external("PointMaze_Medium-v3", 12, seed=0, demonstrator="maze")
    assert all(np.array_equal(a, b) for a, b in zip(data.actions, again.actions))


@needs_robotics
def test_custom_maze_map_and_excluded_goals():
    from macroact.envs.external import collect_external
    from macroact.envs.maze import open_cells

    data = collect_external("PointMaze_UMaze-v3", 10, seed=1, demonstrator="maze",
                            env_kwargs={"maze_map": RING, "max_episode_steps": 300},
                            demonstrator_kwargs={"exclude_goal_cells": [[3, 1], [3, 5]],
                                                 "noise": 0.3})
    cells = open_cells(RING)
    goals = {cells[g] for g in data.factors[:, 1]}
    assert data.success_rate == 1.0 and not goals & {(3, 1), (3, 5)}
    assert data.env_kwargs["maze_map"] == RING
    with pytest.raises(ValueError, match="walls"):
        collect_external("PointMaze_UMaze-v3", 1, demonstrator="maze",
                         demonstrator_kwargs={"goal_cells": [[0, 0]]})


@needs_robotics
def test_custom_maze_map_on_the_command_line_collect_and_train(tmp_path, capsys):
    demos, run = tmp_path / "maze.npz", tmp_path / "run"
    maze = "[[1,1,1,1,1],[1,0,0,0,1],[1,0,1,0,1],[1,0,0,0,1],[1,1,1,1,1]]"
    assert main(["collect", "PointMaze_UMaze-v3", "--demonstrator", "maze", "--env-kwargs",
                 f"maze_map={maze},max_episode_steps=200", "--episodes", "8",
                 "--out", str(demos)]) == 0
    assert "success rate 1.00" in capsys.readouterr().out
    assert main(["train", "--demos", str(demos), "--horizon", "10", "--tail", "pad_last",
                 "--steps", "3", "--no-progress", "--out", str(run)]) == 0
    assert (run / "model.pt").is_file()


def test_task_maze_map_marks_one_start_and_one_goal_and_checks_them():
    from macroact.envs.maze import check_maze_map, task_maze_map

    maze = [[1, 1, 1, 1, 1], [1, "r", 0, "g", 1], [1, 0, 1, "c", 1], [1, 1, 1, 1, 1]]
    task = task_maze_map(maze, (2, 1), (2, 3))
    assert task == [[1, 1, 1, 1, 1], [1, 0, 0, 0, 1], [1, "r", 1, "g", 1], [1, 1, 1, 1, 1]]
    assert maze[1][1] == "r"  # the input is left alone
    assert check_maze_map(task) == task
    for start, goal, match in (((1, 1), (1, 1), "same cell"), ((0, 0), (1, 3), "wall"),
                               ((1, 1), (9, 9), "outside")):
        with pytest.raises(ValueError, match=match):
            task_maze_map(maze, start, goal)


@pytest.mark.parametrize("bad, named", [
    ("[[1,1],[1,0]]", "not a list of rows"),
    ([[1, 1, 1], [1, 0]], "row 1 has 2 cells"),
    ([[1, 1, 1], [1, "x", 1]], "cell (1, 1) is 'x'"),
    ([[1, 1, 1], [1, True, 1]], "cell (1, 1) is True"),
    ([[1, 1], [1, 1]], "no open cell"),
])
def test_check_maze_map_names_what_is_wrong(bad, named):
    from macroact.envs.maze import check_maze_map

    with pytest.raises(ValueError, match=re.escape(named)):
        check_maze_map(bad)
