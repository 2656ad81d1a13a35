"""Demonstrators for external envs: the protocol, flat observations, kwargs, OGBench's oracles."""

import json
import textwrap

import gymnasium as gym
import numpy as np
import pytest

from macroact.commands import main
from macroact.envs.external import (FlattenObservation, collect_external, flatten_observation,
                                    observation_layout, parse_kwargs, resolve_demonstrator)
from macroact.extras import MissingExtraError, has_extra, optional_import

needs_ogbench = pytest.mark.skipif(not has_extra("ogbench.manipspace"),
                                   reason='needs the ogbench extra: pip install "macroact[ogbench]"')


def test_parse_kwargs_keeps_json_lists_and_reads_files(tmp_path):
    assert parse_kwargs("a=1,maze_map=[[1,1],[1,0]],b=x,c=true") == {
        "a": 1, "maze_map": [[1, 1], [1, 0]], "b": "x", "c": True}
    f = tmp_path / "m.json"
    f.write_text(json.dumps([[1, "g"], [1, 0]]))
    assert parse_kwargs(f"maze_map=@{f}") == {"maze_map": [[1, "g"], [1, 0]]}
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_kwargs("a=1,oops")
    with pytest.raises(ValueError, match="no such file"):
        parse_kwargs(f"m=@{tmp_path / 'none.json'}")


def test_dict_observations_flatten_goal_keys_first_then_sorted():
    space = gym.spaces.Dict({"desired_goal": gym.spaces.Box(-1, 1, (2,)),
                             "zeta": gym.spaces.Box(-1, 1, (1,)),
                             "alpha": gym.spaces.Tuple((gym.spaces.Box(-1, 1, (2, 2)),
                                                        gym.spaces.Discrete(3))),
                             "observation": gym.spaces.Box(-1, 1, (3,)),
                             "achieved_goal": gym.spaces.Box(-1, 1, (2,))})
    assert observation_layout(space) == [("observation", 3), ("achieved_goal", 2),
                                         ("desired_goal", 2), ("alpha.0", 4), ("alpha.1", 1),
                                         ("zeta", 1)]
    obs = {"observation": [1, 2, 3], "achieved_goal": [4, 5], "desired_goal": [6, 7],
           "alpha": (np.array([[8, 9], [10, 11]]), 12), "zeta": [13]}
    np.testing.assert_array_equal(flatten_observation(obs, space), np.arange(1, 14))


class _GoalEnv(gym.Env):
    """A 1D goal-conditioned env with a Dict observation (success within 0.05 of the goal)."""

    observation_space = gym.spaces.Dict({
        "observation": gym.spaces.Box(-2, 2, (1,), np.float64),
        "achieved_goal": gym.spaces.Box(-2, 2, (1,), np.float64),
        "desired_goal": gym.spaces.Box(-2, 2, (1,), np.float64)})
    action_space = gym.spaces.Box(-0.1, 0.1, (1,), np.float32)

    def __init__(self, goal_range=1.0):
        self.goal_range = goal_range

    def _obs(self):
        return {"observation": self.x.copy(), "achieved_goal": self.x.copy(),
                "desired_goal": self.goal.copy()}

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.x = np.zeros(1)
        self.goal = self.np_random.uniform(-self.goal_range, self.goal_range, 1)
        return self._obs(), {"is_success": False}

    def step(self, action):
        self.x = np.clip(self.x + np.asarray(action, np.float64), -2, 2)
        done = bool(abs(self.x - self.goal)[0] < 0.05)
        return self._obs(), float(done), done, False, {"is_success": done}


class GreedyDemo:
    """A user's demonstrator: step towards the goal; its label is the goal's side."""

    factor_names = ("side",)

    def __init__(self, env, rng, gain=1.0):
        self.gain = gain

    def reset(self, obs, info):
        return [int(obs["desired_goal"][0] > 0)]

    def act(self, obs, info):
        return np.clip(self.gain * (obs["desired_goal"] - obs["observation"]), -0.1, 0.1)


def _registered(env_id: str, entry_point):
    """Register ``env_id`` (40-step limit) for one test, then remove it."""
    gym.register(env_id, entry_point=entry_point, max_episode_steps=40)
    yield env_id
    gym.registry.pop(env_id, None)


@pytest.fixture
def goal_env():
    yield from _registered("test_external/Goal-v0", _GoalEnv)


def test_user_demonstrator_on_a_dict_observation_env(goal_env):
    data = collect_external(goal_env, 6, seed=3, demonstrator=GreedyDemo,
                            demonstrator_kwargs={"gain": 2.0}, env_kwargs={"goal_range": 0.8})
    assert data.success_rate == 1.0 and data.factor_names == ("side",)
    for obs, side in zip(data.observations, data.factors[:, 0]):
        assert obs.shape[1] == 3  # observation, achieved_goal, desired_goal
        assert side == int(obs[0, 2] > 0)
        assert abs(obs[-1, 1] - obs[-1, 2]) < 0.05
    again = collect_external(goal_env, 6, seed=3, demonstrator=GreedyDemo,
                             demonstrator_kwargs={"gain": 2.0}, env_kwargs={"goal_range": 0.8})
    assert all(np.array_equal(a, b) for a, b in zip(data.actions, again.actions))
    assert data.env_kwargs == {"goal_range": 0.8}
    wrapped = FlattenObservation(gym.make(goal_env))
    obs, _ = wrapped.reset(seed=0)
    assert obs.shape == (3,) and wrapped.observation_space.shape == (3,)


def test_module_callable_demonstrator_from_the_command_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "my_demos.py").write_text(textwrap.dedent("""
        import numpy as np

        class Still:
            factor_names = ("k",)

            def __init__(self, env, rng, k=0):
                self.k = k

            def reset(self, obs, info):
                return [self.k]

            def act(self, obs, info):
                return np.zeros(2)
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "d.npz"
    assert main(["collect", "macroact/Reaching2D-v0", "--demonstrator", "my_demos:Still",
                 "--demonstrator-kwargs", "k=4", "--episodes", "2", "--out", str(out)]) == 0
    from macroact.data.demos import EpisodeData

    data = EpisodeData.load(out)
    assert data.factors.tolist() == [[4], [4]] and data.success_rate == 0.0
    assert all(np.all(a == 0) for a in data.actions)
    assert main(["collect", "macroact/Reaching2D-v0", "--demonstrator", "my_demos:Nope",
                 "--episodes", "1", "--out", str(tmp_path / "e.npz")]) == 2
    assert "has no attribute 'Nope'" in capsys.readouterr().err


def test_own_demonstrator_through_the_external_path_matches_collect():
    from macroact.data.demos import collect

    a = collect("macroact/Reaching2D-v0", 3, seed=2)
    b = collect_external("macroact/Reaching2D-v0", 3, seed=2)
    assert all(np.array_equal(x, y) for x, y in zip(a.actions, b.actions))
    assert np.array_equal(a.factors, b.factors)


def test_bad_demonstrators_and_missing_extras_are_named():
    with pytest.raises(ValueError, match="unknown demonstrator"):
        resolve_demonstrator("mazes")
    with pytest.raises(ValueError, match="no module"):
        resolve_demonstrator("no_such_module_xyz:make")
    with pytest.raises(MissingExtraError, match=r'pip install "macroact\[robotics\]"'):
        optional_import("no_such_module_xyz", "robotics")
    with pytest.raises(ValueError, match="no scripted demonstrator"):
        collect_external("CartPole-v1", 1)


def test_missing_extra_is_one_line_on_the_command_line(tmp_path, monkeypatch, capsys):
    import macroact.envs.external as external

    monkeypatch.setattr(external, "_PROVIDERS", ((r"^PointMaze", "no_such_module_xyz",
                                                  "robotics"),))
    assert main(["collect", "PointMaze_Fake-v3", "--demonstrator", "maze", "--episodes", "1",
                 "--out", str(tmp_path / "d.npz")]) == 2
    err = capsys.readouterr().err
    assert 'pip install "macroact[robotics]"' in err and "Traceback" not in err


@needs_ogbench
def test_ogbench_demonstrator_records_play_data():
    data = collect_external("cube-single-v0", 1, seed=0, demonstrator="ogbench",
                            env_kwargs={"max_episode_steps": 120})
    assert data.env_kwargs["mode"] == "data_collection"
    assert data.observations[0].shape == (121, 28) and data.actions[0].shape == (120, 5)
    assert np.abs(data.actions[0]).max() <= 1.0 and data.factor_names == ()
    again = collect_external("cube-single-v0", 1, seed=0, demonstrator="ogbench",
                             env_kwargs={"max_episode_steps": 120})
    np.testing.assert_array_equal(data.actions[0], again.actions[0])
    with pytest.raises(ValueError, match="data_collection"):
        collect_external("cube-single-singletask-task1-v0", 1, demonstrator="ogbench",
                         env_kwargs={"mode": "task"})


class _SuccessKeyEnv(_GoalEnv):
    """_GoalEnv reporting success as OGBench and PointMaze do: ``info["success"]`` only."""

    def reset(self, seed=None, options=None):
        obs, _ = super().reset(seed=seed, options=options)
        return obs, {"success": False}

    def step(self, action):
        obs, r, term, trunc, info = super().step(action)
        return obs, r, term, trunc, {"success": info["is_success"]}


@pytest.fixture
def success_key_env():
    yield from _registered("test_external/SuccessKey-v0", _SuccessKeyEnv)


def test_agent_env_flattens_like_collect_and_reports_is_success(success_key_env):
    from macroact.envs.external import make_agent_env

    env = make_agent_env(success_key_env, {"goal_range": 0.5})
    obs, info = env.reset(seed=4)
    raw = gym.make(success_key_env, goal_range=0.5)
    raw_obs, _ = raw.reset(seed=4)
    np.testing.assert_array_equal(obs, flatten_observation(raw_obs, raw.observation_space))
    assert env.observation_space.shape == (3,) and info["is_success"] is False
    goal = obs[2]
    for _ in range(40):
        obs, _, term, trunc, info = env.step(np.clip([goal - obs[0]], -0.1, 0.1))
        if term or trunc:
            break
    assert term and info["is_success"] is True and info["success"] is True
    assert abs(obs[2]) <= 0.5  # the kwarg reached the env
    flat = make_agent_env("Pendulum-v1")  # a Box env is not flattened
    assert not isinstance(flat.env, FlattenObservation)


def test_agents_train_and_evaluate_in_an_env_made_with_kwargs(success_key_env, tmp_path):
    """env_kwargs reach the training envs, the evaluation episodes and agent.json; success is
    read from info["success"]."""
    from macroact.agents.common import evaluate_policy
    from macroact.agents.sac import SACRunConfig, evaluate_sac, train_sac

    cfg = SACRunConfig(env_id=success_key_env, timesteps=300, env_kwargs={"goal_range": 0.01},
                       sac={"learning_starts": 50, "batch_size": 32}, checkpoint_every=0)
    res = train_sac(cfg, tmp_path / "sac", eval_episodes=3)
    assert res["primitive_steps"] == 300
    meta = json.loads((tmp_path / "sac" / "agent.json").read_text())
    assert meta["config"]["env_kwargs"] == {"goal_range": 0.01}
    assert evaluate_sac(tmp_path / "sac", episodes=3)["eval_episodes"] == 3

    def towards_goal(obs, deterministic=True):
        return np.clip([obs[2] - obs[0]], -0.1, 0.1), None

    near = evaluate_policy(towards_goal, success_key_env, flat=True, episodes=5,
                           env_kwargs={"goal_range": 0.01})
    assert near["success_rate"] == 1.0 and near["mean_primitive_steps"] == 1.0
    far = evaluate_policy(towards_goal, success_key_env, flat=True, episodes=5,
                          env_kwargs={"goal_range": 1.5})
    assert far["mean_primitive_steps"] > 1.0
    with pytest.raises(ValueError, match="env_kwargs must be a dict"):
        SACRunConfig(env_id=success_key_env, env_kwargs="goal_range=1")


def test_agent_env_kwargs_flag_takes_json_and_names_bad_pairs(capsys):
    with pytest.raises(SystemExit):
        main(["sac", "Pendulum-v1", "--flat", "--env-kwargs", "g", "--timesteps", "10"])
    assert "KEY=VALUE" in capsys.readouterr().err
