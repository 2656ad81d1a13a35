"""experiments/reacher_failures.py: the failure classes, the per-step distance tracking, and
the replay of saved SAC and PPO agents (agents.saved.evaluate_saved)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import TINY_SAC, load_experiment

ENV = "macroact/ReacherSparse-v0"


@pytest.fixture(scope="module")
def failures():
    return load_experiment("reacher_failures")


@pytest.mark.parametrize("success, closest, expected", [
    (True, 0.015, "success"),
    (True, 0.3, "success"),     # the env's success flag wins
    (False, 0.03, "near miss"),
    (False, 0.0499, "near miss"),
    (False, 0.05, "far"),
    (False, 0.2, "far"),
])
def test_classify(failures, success, closest, expected):
    assert failures.classify(success, closest) == expected


def test_tracker_follows_a_demonstrated_reach(failures):
    """The scripted demonstrator's episode ends on success: the last tracked distance is the
    closest and inside the 0.02 radius, the first is the reset's."""
    import gymnasium as gym

    import macroact  # noqa: F401
    from macroact.envs import make_demonstrator

    env = failures.DistanceTracker(gym.make(ENV))
    demo = make_demonstrator(ENV, env.unwrapped)
    obs, info = env.reset(seed=3)
    start = info["distance"]
    demo.reset(obs, info, np.random.default_rng(0))
    done, steps = False, 0
    while not done:
        obs, _, term, trunc, info = env.step(demo.act(obs))
        done, steps = term or trunc, steps + 1
    assert info["is_success"] and len(env.distances) == steps + 1
    assert env.distances[0] == start > 0.02
    assert min(env.distances) == env.distances[-1] < 0.02


def test_summary_row_counts_classes_and_wider_radii(failures):
    eps = [dict(cls="success", closest=0.01, final=0.01),
           dict(cls="near miss", closest=0.025, final=0.08),
           dict(cls="near miss", closest=0.045, final=0.1),
           dict(cls="far", closest=0.2, final=0.3)]
    rec = dict(agent_dir="a", episodes=4, success_rate=0.25, recorded_success_rate=0.25,
               per_episode=eps)
    row = failures.summary_row(rec)
    assert row[:6] == ["a", 4, "0.25", "0.25", 2, 1]
    assert row[6] == "0.045" and row[7] == "0.100"  # medians over the three failures
    assert row[8:] == ["0.50", "0.75"]  # within 0.03: success + 0.025; within 0.05: + 0.045
    text = failures.build_report([{**rec, "machine": "box"}], ["cmd"])
    assert "| a | 4 | 0.25 | 0.25 | 2 | 1 |" in text and "`cmd`" in text


@pytest.mark.parametrize("algo", ["sac", "ppo"])
def test_run_agent_replays_a_saved_agent_exactly(failures, tmp_path, algo):
    """A tiny flat agent trained and saved; the replay reproduces its recorded evaluation
    (the same eval-stream resets, deterministic actions) and classifies every episode."""
    if algo == "sac":
        from macroact.agents.sac import SACRunConfig, train_sac

        res = train_sac(SACRunConfig(env_id=ENV, timesteps=300, seed=0, flat=True, sac=TINY_SAC,
                                     checkpoint_every=0), tmp_path, eval_episodes=4)
    else:
        from macroact.agents.ppo import PPORunConfig, train_ppo

        res = train_ppo(PPORunConfig(env_id=ENV, timesteps=256, seed=0, flat=True, n_envs=1,
                                     ppo={"n_steps": 128, "batch_size": 64}), tmp_path,
                        eval_episodes=4)
    rec = failures.run_agent(tmp_path, 4)
    assert rec["success_rate"] == rec["recorded_success_rate"] == res["success_rate"]
    assert len(rec["per_episode"]) == 4
    for e in rec["per_episode"]:
        assert e["cls"] in failures.CLASSES and 0 <= e["closest"] <= e["final"] + 1e-9
        assert 1 <= e["steps"] <= 50 and 0 <= e["closest_step"] <= e["steps"]


def test_run_agent_refuses_another_envs_agent(failures, tmp_path):
    (tmp_path / "agent.json").write_text(json.dumps({"config": {"env_id": "macroact/Gripper-v1"}}))
    with pytest.raises(SystemExit, match="not macroact/ReacherSparse-v0"):
        failures.run_agent(tmp_path, 1)
    with pytest.raises(SystemExit, match="no agent.json"):
        failures.main([str(tmp_path / "missing")])
