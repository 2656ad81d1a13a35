"""Snapshots of SAC and PPO runs (``snapshot_every``), loading them with the observation
statistics of their moment (``load_sac_agent``/``load_agent``/``evaluate_saved(weights=)``) and
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


@pytest.fixture(scope="module")
def ppo_run(tmp_path_factory):
    """A tiny flat PPO run of 768 steps (rollouts of 2 envs x 64) keeping a snapshot every 256."""
    from macroact.agents.ppo import PPORunConfig, train_ppo

    out = tmp_path_factory.mktemp("ppo_run")
    res = train_ppo(PPORunConfig(env_id=ENV, timesteps=768, seed=0, flat=True, n_envs=2,
                                 ppo=dict(n_steps=64, batch_size=64, n_epochs=1),
                                 snapshot_every=256), out, eval_episodes=3)
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


def test_groups_join_seeds_and_the_figure_is_drawn_from_them(curve, tmp_path):
    """Runs that differ only in ``_s<seed>`` form one group (the budget and settings tag stay
    in its key); the report names the figure only when one was drawn."""
    def rec(name, points):
        return dict(agent_dir=name, points=points)

    recs = [rec("a_t1_s0_b100000_gradient_steps5", [[50_000, 0.4], [100_000, 0.8]]),
            rec("a_t1_s12_b100000_gradient_steps5", [[50_001, 0.6], [100_000, 0.9]]),
            rec("a_t1_s0_b300000", [[150_000, 0.7], [300_000, 1.0]]),
            rec("flat_sac_t0_s3_b100000", [[100_000, 0.1]])]
    groups = curve.group_curves(recs)
    assert list(groups) == ["a_t1_b100000_gradient_steps5", "a_t1_b300000", "flat_sac_t0_b100000"]
    assert groups["a_t1_b100000_gradient_steps5"] == [recs[0]["points"], recs[1]["points"]]
    other = {**recs[3], "env_id": "macroact/Gripper-v1"}  # the same directory, another env
    assert list(curve.group_curves([{**recs[3], "env_id": ENV}, other])) == [
        f"{ENV}: flat_sac_t0_b100000", "macroact/Gripper-v1: flat_sac_t0_b100000"]
    png = curve.plot_groups(recs, tmp_path / "c.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    full = [{**r, "env_id": ENV, "episodes": 3, "first_at_target": math.nan,
             "success_rate": 0.5, "recorded_success_rate": 0.5, "machine": "box"} for r in recs]
    assert "![evaluation success along the runs](c.png)" in curve.build_report(full, ["x"], "c.png")
    assert "![" not in curve.build_report(full, ["x"])


def test_first_reaching():
    curve = load_experiment("eval_curve")
    assert curve.first_reaching([[10, 0.5], [20, 0.9], [30, 1.0]]) == 20
    assert curve.first_reaching([[10, 0.95], [20, 0.5]]) == 10
    assert math.isnan(curve.first_reaching([[10, 0.89]]))


def test_refusals(curve, tmp_path):
    from macroact.agents.sac import SACRunConfig

    from macroact.agents.ppo import PPORunConfig

    for bad in (-1, 2.5, True):
        with pytest.raises(ValueError, match="snapshot_every must be an integer >= 0"):
            SACRunConfig(env_id=ENV, snapshot_every=bad)
    with pytest.raises(ValueError, match="snapshot_every must be an integer >= 0"):
        PPORunConfig(env_id=ENV, flat=True, snapshot_every=-5)
    (tmp_path / "agent.json").write_text(json.dumps({"algo": "dqn", "config": {}}))
    with pytest.raises(SystemExit, match="not a SAC or PPO agent directory"):
        curve.run_agent(tmp_path, 1)
    (tmp_path / "agent.json").write_text(json.dumps({"algo": "sac", "config": {}}))
    with pytest.raises(SystemExit, match="has no snapshots"):
        curve.run_agent(tmp_path, 1)


def test_snapshots_keep_the_observation_statistics_of_their_moment(run):
    """A normalising run's snapshot is evaluated with the statistics it was trained under,
    not the final ones; without them it is refused, not evaluated with the wrong inputs."""
    from macroact.agents.sac import load_sac_agent

    out, _ = run
    first = sorted((out / "snapshots").glob("agent-*.zip"))[0]
    kept = json.loads(first.with_name(first.name.replace("agent-", "obs_stats-"))
                      .with_suffix(".json").read_text())
    final = json.loads((out / "agent.json").read_text())["obs_stats"]
    *_, stats = load_sac_agent(out, weights=first)
    assert stats == kept and stats["count"] < final["count"]
    assert load_sac_agent(out, weights=out / "agent.zip")[3] == final
    lone = out.parent / "lone_snapshot" / "agent-000000200.zip"
    lone.parent.mkdir()
    lone.write_bytes(first.read_bytes())
    with pytest.raises(ValueError, match="its statistics.*does not exist"):
        load_sac_agent(out, weights=lone)


def test_ppo_snapshots_load_and_run_agent_replays_the_final_agent(curve, ppo_run):
    """PPO keeps snapshots as SAC does (at each rollout end past a multiple of 256 steps, with
    their statistics); eval_curve evaluates them and replays the final agent exactly."""
    from macroact.agents.ppo import load_agent

    out, res = ppo_run
    steps = [s for s, _ in curve.snapshots(out)]
    assert steps == [256, 512]  # rollouts end every 128 steps; none at the 768 budget
    first = curve.snapshots(out)[0][1]
    agent, _, _, stats = load_agent(out, weights=first)
    assert stats["count"] < json.loads((out / "agent.json").read_text())["obs_stats"]["count"]
    params = torch.cat([p.detach().flatten() for p in agent.policy.parameters()])
    final = torch.cat([p.detach().flatten() for p in load_agent(out)[0].policy.parameters()])
    assert not torch.equal(params, final)
    rec = curve.run_agent(out, 3)
    assert [p[0] for p in rec["points"]] == [256, 512, 768]
    assert rec["success_rate"] == rec["recorded_success_rate"] == res["success_rate"]


@pytest.mark.parametrize("which", ["run", "ppo_run"])
def test_cli_rollout_evaluates_a_snapshot(which, request, capsys):
    """`macroact rollout AGENT_DIR --weights SNAPSHOT` scores what evaluate_saved(weights=)
    scores; a snapshot that does not exist is named, with the fix."""
    from macroact.agents.saved import evaluate_saved
    from macroact.cli import main

    out, _ = request.getfixturevalue(which)
    snap = sorted((out / "snapshots").glob("agent-*.zip"))[0]
    assert main(["rollout", str(out), "--weights", str(snap), "--episodes", "3"]) == 0
    expected = evaluate_saved(out, 3, weights=snap)
    assert (f"success {expected['success_rate']:.2f}, return {expected['mean_return']:.3f}, "
            f"{expected['mean_primitive_steps']:.1f} primitive steps") in capsys.readouterr().out
    assert main(["rollout", str(out), "--weights", str(out / "snapshots" / "agent-7.zip")]) == 2
    assert "agent-7.zip' do not exist; pass a snapshot the run kept" in capsys.readouterr().err
