"""A custom PointMaze ``maze_map`` on the command line, end to end (issue 19).

The chain a user runs, each step through ``macroact.commands.main`` with the maze as JSON text:
``collect`` (maze demonstrator, the task's goal cell left out of the demos' goals), ``train``
(open- and closed-loop FAVAE), ``prior``, then agents in the task maze (its ``"r"`` and ``"g"``
cells fix the start and the goal): latent SAC with the prior, flat PPO (its map read from a
file, ``maze_map=@FILE``) and raw-chunk SAC, evaluated again by ``rollout``. Budgets are tiny:
the tests check where things happen (cells, kwargs, episode lengths), not what agents learn.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from macroact.commands import main
from macroact.extras import has_extra

pytestmark = pytest.mark.skipif(
    not has_extra("gymnasium_robotics"),
    reason='needs the robotics extra: pip install "macroact[robotics]"')

ENV = "PointMaze_UMaze-v3"  # its own 5 x 5 map is replaced by every maze_map below
# A 5 x 6 ring (10 open cells): the demos' maze, and the task on the same geometry.
DEMO_MAZE = [[1, 1, 1, 1, 1, 1],
             [1, 0, 0, 0, 0, 1],
             [1, 0, 1, 1, 0, 1],
             [1, 0, 0, 0, 0, 1],
             [1, 1, 1, 1, 1, 1]]
TASK_MAZE = [[1, 1, 1, 1, 1, 1],
             [1, "r", 0, 0, 0, 1],
             [1, 0, 1, 1, 0, 1],
             [1, 0, 0, 0, "g", 1],
             [1, 1, 1, 1, 1, 1]]
START, GOAL = (1, 1), (3, 4)
EPISODE = 100  # the task's time limit, below UMaze's own 300
TASK_KWARGS = (f"maze_map={json.dumps(TASK_MAZE, separators=(',', ':'))},"
               f"continuing_task=false,max_episode_steps={EPISODE}")
TINY_SAC = ["--timesteps", "200", "--checkpoint-every", "0", "--eval-episodes", "2",
            "--sac", "learning_starts=50,batch_size=16,buffer_size=1000"]


def centre(cell: tuple[int, int], maze=DEMO_MAZE) -> np.ndarray:
    """A cell's centre in PointMaze's frame (scaling 1, origin at the map's centre), computed
    here rather than asked of the env, so that a wrong map cannot agree with itself."""
    rows, cols = len(maze), len(maze[0])
    return np.array([cell[1] + 0.5 - cols / 2, rows / 2 - cell[0] - 0.5])


def cells_of(xy: np.ndarray, maze=DEMO_MAZE) -> set[tuple[int, int]]:
    """The ``(row, col)`` cells holding the points ``xy`` (..., 2)."""
    rows, cols = len(maze), len(maze[0])
    xy = np.asarray(xy).reshape(-1, 2)
    i = np.floor(rows / 2 - xy[:, 1]).astype(int)
    j = np.floor(xy[:, 0] + cols / 2).astype(int)
    return set(zip(i.tolist(), j.tolist()))


def open_set(maze) -> set[tuple[int, int]]:
    return {(i, j) for i, row in enumerate(maze) for j, v in enumerate(row) if v != 1}


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """Demos, both FAVAEs with their priors, and the three agents, made once."""
    root = tmp_path_factory.mktemp("maze_e2e")
    p = {name: root / name for name in ("demos.npz", "open", "closed", "sac_prior_closed",
                                        "sac_prior_open", "ppo_flat", "sac_chunk")}
    demo_map = json.dumps(DEMO_MAZE, separators=(",", ":"))
    assert main(["collect", ENV, "--demonstrator", "maze", "--env-kwargs",
                 f"maze_map={demo_map},max_episode_steps=150", "--demonstrator-kwargs",
                 f"exclude_goal_cells=[[{GOAL[0]},{GOAL[1]}]]", "--episodes", "20",
                 "--out", str(p["demos.npz"])]) == 0
    demos = str(p["demos.npz"])
    small = ["--horizon", "10", "--tail", "pad_last", "--steps", "5", "--no-progress",
             "--channels", "8,8,8"]
    assert main(["train", "--demos", demos, *small, "--out", str(p["open"])]) == 0
    assert main(["train", "--demos", demos, *small, "--closed-loop", "--feature-dim", "4",
                 "--head-hidden", "8", "--out", str(p["closed"])]) == 0
    for kind in ("open", "closed"):
        assert main(["prior", str(p[kind]), "--demos", demos, "--steps", "5",
                     "--hidden", "8"]) == 0
        assert main(["sac", ENV, "--model", str(p[kind]), "--prior", "--demos", demos,
                     "--prior-init-steps", "10", "--env-kwargs", TASK_KWARGS, *TINY_SAC,
                     "--out", str(p[f"sac_prior_{kind}"])]) == 0
    # KEY=@FILE: the same task with its map read from a JSON file.
    (root / "task.json").write_text(json.dumps(TASK_MAZE, indent=1))
    from_file = f"maze_map=@{root / 'task.json'},continuing_task=false,max_episode_steps={EPISODE}"
    assert main(["ppo", ENV, "--flat", "--env-kwargs", from_file, "--timesteps", "128",
                 "--n-envs", "2", "--n-steps", "32", "--batch-size", "32", "--eval-episodes",
                 "2", "--out", str(p["ppo_flat"])]) == 0
    assert main(["sac", ENV, "--chunk", "5", "--env-kwargs", TASK_KWARGS, *TINY_SAC,
                 "--out", str(p["sac_chunk"])]) == 0
    return p


def test_demos_stay_in_the_custom_maze_and_never_aim_at_the_task_goal(chain):
    from macroact.data.demos import EpisodeData
    from macroact.envs.maze import open_cells

    data = EpisodeData.load(chain["demos.npz"])
    assert data.env_kwargs["maze_map"] == DEMO_MAZE and len(data.observations) == 20
    assert data.success_rate == 1.0
    obs = np.concatenate(data.observations)
    assert obs.shape[1] == 8  # x, y, vx, vy, achieved x, y, desired x, y
    assert cells_of(obs[:, :2]) <= open_set(DEMO_MAZE)
    goals = cells_of(obs[:, 6:8])
    assert GOAL not in goals and len(goals) >= 4  # goals are drawn over the ring, not fixed
    cells = open_cells(DEMO_MAZE)
    assert {cells[k] for k in data.factors[:, 1]} == goals
    # Each episode ends where it aimed: within the env's success radius of its goal.
    assert all(np.linalg.norm(o[-1, :2] - o[-1, 6:8]) < 0.45 for o in data.observations)


def test_models_and_priors_read_the_maze_demos(chain):
    from macroact.models.prior import SkillPrior

    for kind, closed in (("open", False), ("closed", True)):
        run = json.loads((chain[kind] / "run.json").read_text())
        assert run["data"]["horizon"] == 10 and run["data"].get("closed_loop", False) == closed
        assert SkillPrior.load(chain[kind]).config.obs_dim == 8  # p(z | flat maze observation)


@pytest.mark.parametrize("name", ["sac_prior_closed", "sac_prior_open", "ppo_flat", "sac_chunk"])
def test_agents_train_and_act_in_the_task_maze(chain, name):
    meta = json.loads((chain[name] / "agent.json").read_text())
    kwargs = meta["config"]["env_kwargs"]
    assert kwargs == {"maze_map": TASK_MAZE, "continuing_task": False,
                      "max_episode_steps": EPISODE}
    result = json.loads((chain[name] / "eval.json").read_text())
    assert 0 < result["mean_primitive_steps"] <= EPISODE  # the task's time limit, not UMaze's
    if name.startswith("sac_prior"):
        assert (chain[name] / "prior.pt").is_file()
        assert result["prior_init"]["kl_after"] < result["prior_init"]["kl_before"]

    # The saved agent rebuilds its env from agent.json alone: the "r" and "g" cells of the
    # task maze fix every reset (the env adds up to 0.25 of noise per axis).
    if name.startswith("ppo"):
        from macroact.agents.ppo import load_agent

        agent = load_agent(chain[name], env_module="gymnasium_robotics")[0]
    else:
        from macroact.agents.sac import load_sac_agent

        agent = load_sac_agent(chain[name])[0]
    env = agent.get_env().envs[0]
    for seed in range(5):
        obs, _ = env.reset(seed=seed)
        assert obs.shape == (8,)
        assert np.abs(obs[:2] - centre(START)).max() <= 0.25 + 1e-6
        assert np.abs(obs[6:8] - centre(GOAL)).max() <= 0.25 + 1e-6
    env.close()


def test_rollout_evaluates_in_the_task_maze(chain, capsys):
    for name, extra in (("sac_prior_closed", []), ("sac_chunk", []),
                        ("ppo_flat", [])):
        assert main(["rollout", str(chain[name]), "--episodes", "2", *extra]) == 0
        out = capsys.readouterr().out
        steps = re.search(r"([\d.]+) primitive steps per episode", out)
        assert out.startswith(f"{ENV}: success") and 0 < float(steps.group(1)) <= EPISODE


def test_ppo_rollout_in_a_fresh_process_needs_no_env_module(chain):
    # In this process gymnasium_robotics is imported already; a user's shell starts bare.
    res = subprocess.run([sys.executable, "-m", "macroact", "rollout", str(chain["ppo_flat"]),
                          "--episodes", "1"], capture_output=True, text=True,
                         env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert res.returncode == 0, res.stderr[-500:]


def test_wall_cells_given_to_the_demonstrator_fail_in_one_line(tmp_path, capsys):
    demo_map = json.dumps(DEMO_MAZE, separators=(",", ":"))
    for kwargs, named in (("exclude_goal_cells=[[0,0]]", "exclude_goal_cells [(0, 0)]"),
                          ("goal_cells=[[2,2]]", "goal_cells [(2, 2)]")):
        assert main(["collect", ENV, "--demonstrator", "maze", "--env-kwargs",
                     f"maze_map={demo_map}", "--demonstrator-kwargs", kwargs, "--episodes", "1",
                     "--out", str(tmp_path / "x.npz")]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and named in err and "wall" in err
    assert not (tmp_path / "x.npz").exists()




@pytest.mark.parametrize("command", ["collect", "sac"])
@pytest.mark.parametrize("text", [
    pytest.param("[[1,1,1],[1,0,1]", id="unclosed-json"),
    pytest.param("[[1,1,1],[1,0,1],[1,1,1,]]", id="trailing-comma"),
    pytest.param('[[1,1,1],[1,"x",1],[1,1,1]]', id="unknown-marker"),
])
def test_a_bad_maze_map_fails_in_one_line_naming_it(tmp_path, capsys, command, text):
    if command == "collect":
        argv = ["collect", ENV, "--demonstrator", "maze", "--env-kwargs", f"maze_map={text}",
                "--episodes", "1", "--out", str(tmp_path / "x.npz")]
    else:
        argv = ["sac", ENV, "--flat", "--env-kwargs", f"maze_map={text}", "--timesteps", "10",
                "--eval-episodes", "1", "--out", str(tmp_path / "agent")]
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's one-line error (after its usage lines)
        code = e.code
    last = (capsys.readouterr().err.strip().splitlines() or [""])[-1]
    assert code == 2 and last.startswith(f"macroact {command}: error:") and "maze_map" in last
    assert not (tmp_path / "x.npz").exists() and not (tmp_path / "agent").exists()
