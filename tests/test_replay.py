"""Nearest-demo replay: choice of the demo, open-loop replay, evaluation on the eval stream."""

import gymnasium as gym
import numpy as np
import pytest

import macroact  # noqa: F401  (registers the macroact/ ids)
from macroact.agents.replay import NearestDemoReplay, evaluate_replay
from macroact.data.demos import EpisodeData, collect
from macroact.seeding import seeds


def make_demos(first_obs, n_steps=3, act_dim=2, success=None, env_id="macroact/Reaching2D-v1"):
    """EpisodeData whose episode i starts at ``first_obs[i]`` and acts ``i + step / 10``."""
    first_obs = np.asarray(first_obs, dtype=np.float32)
    n = len(first_obs)
    obs = [np.vstack([o, np.tile(o, (n_steps, 1))]) for o in first_obs]
    actions = [np.full((n_steps, act_dim), i, np.float32) + np.arange(n_steps)[:, None] / 10
               for i in range(n)]
    return EpisodeData(
        observations=obs, actions=actions, rewards=[np.zeros(n_steps) for _ in range(n)],
        terminations=[np.zeros(n_steps, bool) for _ in range(n)],
        truncations=[np.zeros(n_steps, bool) for _ in range(n)],
        factors=np.zeros((n, 0), np.int64), success=np.ones(n, bool) if success is None
        else success, factor_names=(), env_id=env_id, low=-np.ones(act_dim),
        high=np.ones(act_dim))


def test_nearest_uses_standardised_distances_and_ignores_constant_dims():
    # Dim 0 spans thousands, dim 1 units, dim 2 never changes.
    demos = make_demos([[0.0, 0.0, 5.0], [1000.0, 1.0, 5.0], [2000.0, 0.0, 5.0],
                        [3000.0, 1.0, 5.0]])
    replay = NearestDemoReplay(demos)
    assert replay.active.tolist() == [True, True, False]
    query = np.array([1400.0, 0.0, -99.0])
    # Raw Euclidean distance picks demo 1 (400 away in dim 0, 1 in dim 1). In standard
    # deviations demo 1 is 2.0 away in dim 1 and demo 2 only 0.54 in dim 0: demo 2 is nearest.
    assert int(np.argmin(np.linalg.norm(replay.first_obs - query, axis=1))) == 1
    assert replay.nearest(query) == 2
    z = (query[:2] - replay.mean[:2]) / replay.std[:2]
    expected = np.linalg.norm((replay.first_obs[:, :2] - replay.mean[:2]) / replay.std[:2] - z,
                              axis=1)
    np.testing.assert_allclose(replay.distances(query), expected)
    # The constant dim neither counts nor yields NaN.
    assert np.all(np.isfinite(replay.distances(query)))
    # Each demo's own start is nearest to itself.
    assert [replay.nearest(o[0]) for o in demos.observations] == [0, 1, 2, 3]


def test_replay_plays_the_chosen_actions_open_loop_then_rests():
    demos = make_demos([[0.0, 0.0], [1.0, 1.0]], n_steps=3)
    replay = NearestDemoReplay(demos)
    with pytest.raises(RuntimeError, match="reset"):
        replay.act()
    assert replay.reset(np.array([0.9, 1.2])) == 1
    played = [replay.act(np.full(2, 123.0)) for _ in range(5)]  # observations are ignored
    np.testing.assert_array_equal(played[:3], demos.actions[1])
    np.testing.assert_array_equal(played[3:], np.zeros((2, 2)))
    assert replay.reset(np.array([0.1, -0.2])) == 0
    np.testing.assert_array_equal(replay.act(), demos.actions[0][0])


def test_only_successful_demos_are_chosen_by_default():
    demos = make_demos([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]], success=[True, False, True])
    replay = NearestDemoReplay(demos)
    assert len(replay.demos) == 2
    np.testing.assert_array_equal(replay.first_obs, [[0.0, 0.0], [2.0, 0.0]])
    assert len(NearestDemoReplay(demos, only_successful=False).demos) == 3


def test_clear_errors_on_empty_demos_and_mismatched_shapes():
    empty = make_demos(np.zeros((0, 2)))
    with pytest.raises(ValueError, match="no episode"):
        NearestDemoReplay(empty)
    with pytest.raises(ValueError, match="EpisodeData"):
        NearestDemoReplay({"observations": []})
    with pytest.raises(ValueError, match="none of the 2 demos"):
        NearestDemoReplay(make_demos([[0.0, 0.0], [1.0, 1.0]], success=[False, False]))
    replay = NearestDemoReplay(make_demos([[0.0, 0.0], [1.0, 1.0]]))
    with pytest.raises(ValueError, match=r"shape \(3,\).*shape \(2,\)"):
        replay.nearest(np.zeros(3))
    with pytest.raises(ValueError, match="NaN"):
        replay.nearest(np.array([np.nan, 0.0]))
    # Recorded in Reaching2D-v1 (5 observation dims) with 3: refused before any episode.
    three_dims = make_demos([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    with pytest.raises(ValueError, match=r"observes shape \(5,\)"):
        evaluate_replay("macroact/Reaching2D-v1", three_dims, n_episodes=1)
    wrong_actions = make_demos([[0.0] * 5, [1.0] * 5], act_dim=3)
    with pytest.raises(ValueError, match=r"acts with shape \(2,\)"):
        evaluate_replay("macroact/Reaching2D-v1", wrong_actions, n_episodes=1)


def test_evaluate_replay_argument_checks():
    demos = collect("macroact/Reaching2D-v1", episodes=2, seed=0)
    with pytest.raises(ValueError, match="recorded in 'macroact/Reaching2D-v1'"):
        evaluate_replay("macroact/Reaching2D-v0", demos, n_episodes=1)
    with pytest.raises(ValueError, match="n_episodes"):
        evaluate_replay("macroact/Reaching2D-v1", demos, n_episodes=0)
    with pytest.raises(ValueError, match="seeds must be 2"):
        evaluate_replay("macroact/Reaching2D-v1", demos, n_episodes=2, seeds=[0])
    with pytest.raises(ValueError, match="seeds must be 1"):
        evaluate_replay("macroact/Reaching2D-v1", demos, n_episodes=1, seeds=[-3])
    with pytest.raises(ValueError, match="run_seed"):
        evaluate_replay("macroact/Reaching2D-v1", demos, n_episodes=1, run_seed=10**6)


def test_replaying_demos_from_their_own_starts_reproduces_them():
    demos = collect("macroact/Reaching2D-v1", episodes=8, seed=0)
    assert demos.success.all()
    result = evaluate_replay("macroact/Reaching2D-v1", demos, n_episodes=8,
                             seeds=seeds("demo", 8))
    assert result["demo_index"] == list(range(8))
    assert result["exact_start_matches"] == 8 and result["streams"] == ["demo"]
    assert result["success_rate"] == 1.0 and result["returns"] == [1.0] * 8
    assert result["lengths"] == demos.episode_lengths.tolist()


def test_on_the_paper_task_replay_is_a_lookup_table():
    # Reaching2D-v0 has two starts: replay solves every held-out episode (the finding).
    demos = collect("macroact/Reaching2D-v0", episodes=20, seed=0)
    result = evaluate_replay("macroact/Reaching2D-v0", demos, n_episodes=20)
    assert result["success_rate"] == 1.0
    assert result["exact_start_matches"] == 20  # every eval start is a demo start


def test_evaluate_replay_holds_out_the_eval_stream_on_a_varied_task():
    demos = collect("macroact/Reaching2D-v1", episodes=30, seed=0)
    result = evaluate_replay("macroact/Reaching2D-v1", demos, n_episodes=20)
    assert result["seeds"] == seeds("eval", 20).tolist() and result["streams"] == ["eval"]
    assert result["exact_start_matches"] == 0 and result["n_demos"] == 30
    assert len(result["successes"]) == len(result["returns"]) == 20
    assert result["success_rate"] == np.mean(result["successes"])
    assert result["mean_return"] == np.mean(result["returns"])
    # Deterministic: the same call gives the same result.
    assert evaluate_replay("macroact/Reaching2D-v1", demos, n_episodes=20) == result
    # Each episode replayed the demo nearest to its start.
    replay = NearestDemoReplay(demos)
    env = gym.make("macroact/Reaching2D-v1")
    for seed, index in zip(result["seeds"][:5], result["demo_index"]):
        assert replay.nearest(env.reset(seed=seed)[0]) == index


def test_replay_command_reports_and_writes_json(tmp_path, capsys):
    from macroact.commands import main as cli_main

    path = tmp_path / "demos.npz"
    collect("macroact/Reaching2D-v1", episodes=6, seed=0).save(path)
    out = tmp_path / "replay.json"
    assert cli_main(["replay", "macroact/Reaching2D-v1", "--demos", str(path), "--episodes",
                     "4", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "nearest-demo replay on macroact/Reaching2D-v1" in printed
    import json

    res = json.loads(out.read_text())
    assert res["episodes"] == 4 and res["streams"] == ["eval"]
    assert res["seeds"] == seeds("eval", 4).tolist() and res["exact_start_matches"] == 0
    assert cli_main(["replay", "macroact/Reaching2D-v1", "--demos",
                     str(tmp_path / "none.npz")]) == 2
    assert "is not a file" in capsys.readouterr().err
