"""PPO over latents and flat PPO: a short real run, saving, loading, and the CLI."""

import json

import numpy as np
import pytest
import torch

from macroact.agents.ppo import PPORunConfig, evaluate_agent, load_agent, train_ppo
from macroact.commands import main
from macroact.models.favae import FAVAE, FAVAEConfig

ENV = "macroact/Reaching2D-v0"


@pytest.fixture(scope="module")
def favae_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("favae")
    torch.manual_seed(0)
    model = FAVAE(FAVAEConfig(seq_len=20), n_features=2)
    model.normalizer.set_bounds([-1.0, -1.0], [1.0, 1.0])
    model.eval()
    model.save(d / "model.pt")
    return d


def test_latent_ppo_smoke_run_saves_a_loadable_agent(favae_dir, tmp_path):
    cfg = PPORunConfig(env_id=ENV, timesteps=3000, seed=0, model=str(favae_dir), n_envs=2)
    res = train_ppo(cfg, tmp_path, eval_episodes=5)
    # The budget is counted in primitive steps; each macro runs 20 of them here.
    assert 3000 <= res["primitive_steps"] < 3000 + 2 * 20 * 16
    assert 0.0 <= res["success_rate"] <= 1.0 and res["eval_episodes"] == 5
    assert {p.name for p in tmp_path.iterdir()} >= {"agent.zip", "agent.json", "favae.pt",
                                                    "episodes.csv", "eval.json", "tb"}
    meta = json.loads((tmp_path / "agent.json").read_text())
    assert meta["favae"] == "favae.pt" and meta["config"]["env_id"] == ENV and meta["obs_stats"]
    rows = np.loadtxt(tmp_path / "episodes.csv", delimiter=",", skiprows=1)
    assert len(rows) == res["train_episodes"] > 0
    assert np.all(np.diff(rows[:, 0]) >= 0)  # primitive-step counter is monotone
    assert set(np.unique(rows[:, 3])) <= {5.0}  # 100-step episodes = 5 macros of 20 steps
    agent, cfg2, model, stats = load_agent(tmp_path)
    assert cfg2.model.endswith("favae.pt") and model.config.seq_len == 20
    again = evaluate_agent(agent, cfg2, model, episodes=5, obs_stats=stats)
    assert again["success_rate"] == res["success_rate"]  # deterministic, same seeds
    # The rebuilt agent acts exactly as SB3's own (unpickling) loader's copy of it.
    from stable_baselines3 import PPO

    reference = PPO.load(tmp_path / "agent.zip", device="cpu")
    obs = np.random.default_rng(0).normal(size=(32, *agent.observation_space.shape))
    obs = obs.astype(np.float32)
    assert np.array_equal(agent.predict(obs, deterministic=True)[0],
                          reference.predict(obs, deterministic=True)[0])


def test_load_agent_unpickles_nothing(favae_dir, tmp_path, monkeypatch):
    import pickle

    import cloudpickle

    train_ppo(PPORunConfig(env_id=ENV, timesteps=500, seed=0, model=str(favae_dir), n_envs=1),
              tmp_path, eval_episodes=1)

    def refuse(*args, **kwargs):
        raise AssertionError("load_agent unpickled something")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(cloudpickle, "loads", refuse)
    agent, cfg, _, _ = load_agent(tmp_path)
    assert cfg.env_id == ENV and agent.policy is not None


def test_load_agent_rejects_a_directory_without_agent_json(tmp_path):
    with pytest.raises(FileNotFoundError, match="not an agent directory"):
        load_agent(tmp_path)


def test_flat_ppo_counts_every_primitive_step(tmp_path):
    cfg = PPORunConfig(env_id=ENV, timesteps=1024, seed=0, flat=True, n_envs=2,
                       ppo=dict(n_steps=256, batch_size=64))
    res = train_ppo(cfg, None, eval_episodes=2)
    assert res["primitive_steps"] == 1024
    assert res["mean_primitive_steps"] <= 100


def test_run_config_errors():
    with pytest.raises(ValueError, match="needs a FAVAE"):
        PPORunConfig(env_id=ENV)
    with pytest.raises(ValueError, match="timesteps"):
        PPORunConfig(env_id=ENV, flat=True, timesteps=0)


def test_cli_ppo_and_rollout(favae_dir, tmp_path, capsys):
    out = tmp_path / "agent"
    assert main(["ppo", ENV, "--model", str(favae_dir), "--timesteps", "2000", "--n-envs", "1",
                 "--eval-episodes", "3", "--out", str(out)]) == 0
    assert "latent PPO" in capsys.readouterr().out
    assert main(["rollout", str(out), "--episodes", "3", "--plot", str(tmp_path / "r.png")]) == 0
    assert "success" in capsys.readouterr().out and (tmp_path / "r.png").exists()
    assert main(["ppo", ENV, "--out", str(tmp_path / "x")]) == 2
    assert "needs --model" in capsys.readouterr().err
    assert main(["rollout", str(tmp_path)]) == 2
    assert "not an agent directory" in capsys.readouterr().err


def test_cli_ppo_passes_fine_tuning_settings(tmp_path, capsys):
    out = tmp_path / "flat"
    assert main(["ppo", ENV, "--flat", "--timesteps", "256", "--n-envs", "1", "--eval-episodes",
                 "1", "--learning-rate", "1e-4", "--n-steps", "128", "--batch-size", "32",
                 "--clip-range", "0.1", "--critic-warmup", "100", "--bc-log-std", "-2.5",
                 "--out", str(out)]) == 0
    meta = json.loads((out / "agent.json").read_text())
    assert meta["ppo"]["learning_rate"] == 1e-4 and meta["ppo"]["n_steps"] == 128
    assert meta["ppo"]["batch_size"] == 32 and meta["ppo"]["clip_range"] == 0.1
    assert meta["config"]["critic_warmup"] == 100 and meta["config"]["bc_log_std"] == -2.5
    assert meta["config"]["bc_freeze_obs_stats"] is True
    capsys.readouterr()
    assert main(["ppo", ENV, "--flat", "--learning-rate", "0", "--out", str(tmp_path / "x")]) == 2
    assert "--learning-rate must be > 0" in capsys.readouterr().err
    assert main(["ppo", ENV, "--flat", "--critic-warmup", "-5", "--out", str(tmp_path / "x")]) == 2
    assert "critic_warmup" in capsys.readouterr().err


def test_latent_config_takes_the_models_tail_rule(tmp_path, favae_dir):
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.pt").write_bytes((favae_dir / "model.pt").read_bytes())
    (run / "run.json").write_text(json.dumps(
        {"data": {"demos": "d.npz", "horizon": 20, "stride": None, "tail": "pad_last"}}))
    assert PPORunConfig(env_id=ENV, model=str(run)).resolved().tail == "pad_last"
    assert PPORunConfig(env_id=ENV, model=str(run / "model.pt")).resolved().tail == "pad_last"
    with pytest.raises(ValueError, match="--tail drop contradicts the tail rule pad_last"):
        PPORunConfig(env_id=ENV, model=str(run), tail="drop").resolved()
    # A model with no run record keeps the old default; flat agents need none.
    assert PPORunConfig(env_id=ENV, model=str(favae_dir)).resolved().tail == "pad_zero"
    assert PPORunConfig(env_id=ENV, flat=True).resolved().tail is None
    # SAC shares the rule (agents.common.AgentRunConfig).
    from macroact.agents.sac import SACRunConfig

    assert SACRunConfig(env_id=ENV, flat=False, model=str(run)).resolved().tail == "pad_last"
    with pytest.raises(ValueError, match="contradicts"):
        SACRunConfig(env_id=ENV, flat=False, model=str(run), tail="drop").resolved()
