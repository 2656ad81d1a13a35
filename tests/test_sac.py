"""SAC (agents/sac.py): a tiny run that checkpoints, resumes with its replay buffer, saves,
loads without unpickling, and the `macroact sac` / `macroact rollout` commands."""

import json

import numpy as np
import pytest

import macroact  # noqa: F401  (registers the macroact/ ids)
from macroact.agents import common
from macroact.agents.sac import SACRunConfig, evaluate_sac, load_sac_agent, train_sac
from macroact.commands import main as cli_main

ENV = "macroact/Reaching2D-v1"
TINY = {"learning_starts": 50, "batch_size": 32, "buffer_size": 2000, "train_freq": 4,
        "policy_kwargs": {"net_arch": [16, 16]}}


def test_config_reads_the_settings_file_and_checks_its_fields():
    cfg = SACRunConfig(env_id=ENV, sac={"learning_rate": 1e-3})
    s = cfg.sac_settings()
    assert s["learning_rate"] == 1e-3 and s["ent_coef"] == "auto" and "train_freq" in s
    with pytest.raises(ValueError, match="timesteps"):
        SACRunConfig(env_id=ENV, timesteps=0)
    with pytest.raises(ValueError, match="needs a FAVAE"):
        SACRunConfig(env_id=ENV, flat=False)
    assert "replay buffer" in SACRunConfig.__doc__ or "checkpoint_every" in SACRunConfig.__doc__


def test_interrupted_run_resumes_from_its_checkpoint_with_the_replay_buffer(tmp_path,
                                                                            monkeypatch):
    cfg = SACRunConfig(env_id=ENV, timesteps=500, checkpoint_every=200, sac=TINY)
    out = tmp_path / "sac"

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed after training")

    monkeypatch.setattr(common, "evaluate_policy", crash)
    with pytest.raises(KeyboardInterrupt):
        train_sac(cfg, out, eval_episodes=2)
    monkeypatch.undo()
    state = json.loads((out / "checkpoint" / "state.json").read_text())
    assert state["primitive"] == 400
    # Only the files the state names remain (the 200-step checkpoint's were removed).
    assert sorted(p.name for p in (out / "checkpoint").iterdir()) == sorted(
        ["state.json", state["files"]["agent"], state["files"]["buffer"]])
    assert state["files"]["buffer"].endswith(".npz")
    # Another config may not resume this run.
    other = SACRunConfig(env_id=ENV, timesteps=600, checkpoint_every=200, sac=TINY)
    with pytest.raises(ValueError, match="another config"):
        train_sac(other, out, eval_episodes=2, resume=True)

    seen = {}
    from macroact.agents import sac as sac_module

    orig = sac_module.load_replay_buffer

    def spy(buffer, path):
        orig(buffer, path)
        seen["size"] = buffer.size()

    monkeypatch.setattr(sac_module, "load_replay_buffer", spy)
    # A checkpoint written before a field with a default existed resumes with that default.
    old = dict(state, config={k: v for k, v in state["config"].items()
                              if k not in ("residual_prior_std", "demo_replay")})
    (out / "checkpoint" / "state.json").write_text(json.dumps(old))
    res = train_sac(cfg, out, eval_episodes=2, resume=True)
    # Every transition counted before the checkpoint came back (checkpoints are written
    # when a rollout's transitions are stored).
    assert seen["size"] == state["primitive"]
    assert res["primitive_steps"] == 500 and res["resumes"] == 1
    # The update count carries over the resume and keeps counting: one per train_freq steps
    # past learning_starts, at most.
    steps_done = res["training"]["gradient_steps"]
    assert state["n_updates"] < steps_done <= (500 - TINY["learning_starts"]) // TINY["train_freq"]
    assert res["training"]["alpha"] > 0 and "prior_kl" not in res["training"]
    assert res["eval_stream"] == "eval" and len(res["successes"]) == 2
    steps = [r[0] for r in res["episodes"]]
    assert steps == sorted(steps) and steps[-1] <= 500 and len(steps) >= 4  # 100-step episodes
    assert not (out / "checkpoint").exists()  # finished: the buffer is gone
    for name in ("agent.zip", "agent.json", "episodes.csv", "eval.json"):
        assert (out / name).is_file()

    # Loading rebuilds the agent from agent.json and tensors only; same policy, same result.
    agent, lcfg, model, stats = load_sac_agent(out)
    assert lcfg.flat and model is None and stats is not None
    again = evaluate_sac(out, episodes=2)
    assert again["successes"] == res["successes"]
    assert again["mean_return"] == pytest.approx(res["mean_return"])



def test_replay_buffer_files_round_trip_without_pickle_and_refuse_another_shape(tmp_path):
    from gymnasium import spaces
    from stable_baselines3.common.buffers import ReplayBuffer

    from macroact.agents.sac import load_replay_buffer, save_replay_buffer

    obs_space = spaces.Box(-1, 1, (3,), np.float32)
    act_space = spaces.Box(-1, 1, (2,), np.float32)
    rng = np.random.default_rng(0)
    buf = ReplayBuffer(8, obs_space, act_space, device="cpu")
    for _ in range(11):  # wraps around: full, write position 3
        buf.add(rng.normal(size=(1, 3)), rng.normal(size=(1, 3)), rng.normal(size=(1, 2)),
                rng.normal(size=1), np.array([rng.random() < 0.3]), [{}])
    save_replay_buffer(buf, tmp_path / "b.npz")
    with np.load(tmp_path / "b.npz", allow_pickle=False) as f:  # plain arrays only
        assert not any(f[k].dtype == object for k in f.files)
    again = ReplayBuffer(8, obs_space, act_space, device="cpu")
    load_replay_buffer(again, tmp_path / "b.npz")
    assert (again.pos, again.full) == (3, True)
    for k in ("observations", "next_observations", "actions", "rewards", "dones", "timeouts"):
        np.testing.assert_array_equal(getattr(again, k), getattr(buf, k))
    other = ReplayBuffer(8, spaces.Box(-1, 1, (4,), np.float32), act_space, device="cpu")
    with pytest.raises(ValueError, match="observations is float32"):
        load_replay_buffer(other, tmp_path / "b.npz")


def test_a_crash_while_checkpointing_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    from macroact.agents import sac as sac_module

    cfg = SACRunConfig(env_id=ENV, timesteps=500, checkpoint_every=200, sac=TINY)
    out = tmp_path / "sac"
    orig, calls = sac_module.save_replay_buffer, []

    def dies_on_the_second_checkpoint(buffer, path):
        calls.append(path)
        if len(calls) == 2:  # the agent's new zip is written, the buffer is not
            raise KeyboardInterrupt("killed while checkpointing")
        orig(buffer, path)

    monkeypatch.setattr(sac_module, "save_replay_buffer", dies_on_the_second_checkpoint)
    with pytest.raises(KeyboardInterrupt):
        train_sac(cfg, out, eval_episodes=2)
    monkeypatch.undo()
    ckpt = out / "checkpoint"
    state = json.loads((ckpt / "state.json").read_text())
    assert state["primitive"] == 200 and (ckpt / state["files"]["buffer"]).is_file()
    assert not list(ckpt.glob(".*.tmp"))  # no half-written file left behind
    res = train_sac(cfg, out, eval_episodes=2, resume=True)
    assert res["primitive_steps"] == 500 and res["resumes"] == 1
    # The update count carries over the resume and keeps counting: one per train_freq steps
    # past learning_starts, at most.
    steps_done = res["training"]["gradient_steps"]
    assert state["n_updates"] < steps_done <= (500 - TINY["learning_starts"]) // TINY["train_freq"]
    assert res["training"]["alpha"] > 0 and "prior_kl" not in res["training"]

    # A checkpoint whose state names no files (an older macroact's pickle) is refused.
    old = tmp_path / "old" / "checkpoint"
    old.mkdir(parents=True)
    (old / "state.json").write_text(json.dumps({"config": cfg.to_dict(), "primitive": 200}))
    (old / "replay_buffer.pkl").write_bytes(b"not read")
    with pytest.raises(ValueError, match="older macroact"):
        train_sac(cfg, tmp_path / "old", eval_episodes=2, resume=True)

def test_sac_and_rollout_commands(tmp_path, capsys):
    out = tmp_path / "cli_sac"
    argv = ["sac", ENV, "--flat", "--timesteps", "150", "--eval-episodes", "2", "--sac",
            "learning_starts=50,batch_size=32,buffer_size=1000", "--out", str(out)]
    assert cli_main(argv) == 0
    assert "flat SAC on macroact/Reaching2D-v1" in capsys.readouterr().out
    meta = json.loads((out / "agent.json").read_text())
    assert meta["algo"] == "sac" and meta["sac"]["buffer_size"] == 1000
    assert cli_main(["rollout", str(out), "--episodes", "2"]) == 0
    assert "success" in capsys.readouterr().out
    assert cli_main(["sac", ENV, "--no-flat", "--out", str(tmp_path / "x")]) == 2
    assert "needs --model" in capsys.readouterr().err


def test_training_envs_draw_from_the_train_stream_and_evaluation_from_eval():
    import gymnasium as gym

    from macroact.seeding import seeds, stream_of

    venv = common.make_env(ENV, True, 2, seed=3, normalize_obs=False)
    first = [int(s) for s in seeds("train", 2, 3)]
    assert all(stream_of(s) == "train" for s in first)
    obs = venv.reset()
    env = gym.make(ENV)
    for i, s in enumerate(first):
        np.testing.assert_array_equal(obs[i], env.reset(seed=s)[0])
    with pytest.raises(ValueError, match="'eval' or 'tune'"):
        common.evaluate_policy(lambda o, deterministic: (np.zeros(2), None), ENV, True,
                               episodes=1, stream="demo")
