"""SAC snapshots (SACRunConfig.snapshot_every), loading them (load_sac_agent(weights=)) and
experiments/eval_curve.py, which evaluates them along a run."""

from __future__ import annotations

import json
import math

import pytest
import torch

from conftest import TINY_SAC, load_experiment

ENV = "macroact/ReacherSparse-v0"


@pytest.fixture(scope="module")
def curve():
    return load_experiment("eval_curve")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny flat SAC run of 700 steps that keeps a snapshot every 200 (and no checkpoint)."""
    from macroact.agents.sac import SACRunConfig, train_sac

    out = tmp_path_factory.mktemp("sac_run")
    res = train_sac(SACRunConfig(env_id=ENV, timesteps=700, seed=0, flat=True, sac=TINY_SAC,
                                 checkpoint_every=0, snapshot_every=200), out, eval_episodes=3)
    return out, res


def _actor(agent):
    return torch.cat([p.detach().flatten() for p in agent.actor.parameters()])


def test_snapshots_are_kept_at_each_multiple_and_load_as_weights(curve, run):
    from macroact.agents.sac import load_sac_agent

    out, _ = run
    snaps = curve.snapshots(out)
    steps = [s for s, _ in snaps]
    # The first rollout end at or past 200, 400 and 600 (train_freq 4: within 4 steps), none
    # at the end (the final agent is agent.zip); the checkpoint directory is gone.
    assert len(steps) == 3 and not (out / "checkpoint").exists()
    for k, s in zip((200, 400, 600), steps):
        assert k <= s < k + 4
    final = _actor(load_sac_agent(out)[0])
    assert torch.equal(_actor(load_sac_agent(out, weights=out / "agent.zip")[0]), final)
    first = _actor(load_sac_agent(out, weights=snaps[0][1])[0])
    assert not torch.equal(first, final)  # 500 steps of updates lie between them


def test_run_agent_evaluates_every_snapshot_and_replays_the_final_agent(curve, run):
    out, res = run
    rec = curve.run_agent(out, 3)
    assert [p[0] for p in rec["points"]] == [s for s, _ in curve.snapshots(out)] + [700]
    assert rec["success_rate"] == rec["recorded_success_rate"] == res["success_rate"]
    assert all(0 <= p[1] <= 1 for p in rec["points"]) and rec["budget"] == 700
    text = curve.build_report([{**rec, "machine": "box"}], ["cmd"])
    assert f"| {out.name} | {ENV} | 3 |" in text and "`cmd`" in text


def test_first_reaching():
    curve = load_experiment("eval_curve")
    assert curve.first_reaching([[10, 0.5], [20, 0.9], [30, 1.0]]) == 20
    assert curve.first_reaching([[10, 0.95], [20, 0.5]]) == 10
    assert math.isnan(curve.first_reaching([[10, 0.89]]))


def test_refusals(curve, tmp_path):
    from macroact.agents.sac import SACRunConfig

    with pytest.raises(ValueError, match="snapshot_every must be >= 0"):
        SACRunConfig(env_id=ENV, snapshot_every=-1)
    (tmp_path / "agent.json").write_text(json.dumps({"algo": "ppo", "config": {}}))
    with pytest.raises(SystemExit, match="not a SAC agent directory"):
        curve.run_agent(tmp_path, 1)
    (tmp_path / "agent.json").write_text(json.dumps({"algo": "sac", "config": {}}))
    with pytest.raises(SystemExit, match="has no snapshots"):
        curve.run_agent(tmp_path, 1)
