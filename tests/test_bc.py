"""Behaviour-cloning initialisation of PPO (agents/bc.py): targets, pretraining, errors."""

import json

import numpy as np
import pytest
import torch

from macroact.agents.bc import flat_bc_targets, latent_bc_targets, pretrain_policy
from macroact.agents.ppo import PPORunConfig, load_agent, make_env, train_ppo
from macroact.data.demos import collect
from macroact.models.favae import FAVAE, FAVAEConfig

ENV = "macroact/Reaching2D-v0"


@pytest.fixture(scope="module")
def demos():
    return collect(ENV, 8, seed=0)


@pytest.fixture(scope="module")
def favae():
    torch.manual_seed(0)
    model = FAVAE(FAVAEConfig(seq_len=20), n_features=2)
    model.normalizer.set_bounds([-1.0, -1.0], [1.0, 1.0])
    return model.eval()


@pytest.fixture(scope="module")
def favae_dir(favae, tmp_path_factory):
    d = tmp_path_factory.mktemp("favae")
    favae.save(d / "model.pt")
    return d


def _agent(cfg, model=None):
    from stable_baselines3 import PPO

    venv = make_env(cfg, model)
    return PPO("MlpPolicy", venv, seed=0, device="cpu", n_steps=16, batch_size=16)


def test_latent_targets_shapes_and_range(favae, demos):
    dims = [0, 3, 9]
    obs, acts = latent_bc_targets(favae, demos, "pad_zero", 0.05, dims)
    n_chunks = sum(-(-len(a) // 20) for a in demos.actions)
    assert obs.shape == (n_chunks, demos.observations[0].shape[1]) and acts.shape == (n_chunks, 3)
    assert acts.min() >= -1.0 and acts.max() <= 1.0
    assert np.any(np.abs(acts) == 1.0)  # a tiny scale clips
    np.testing.assert_array_equal(obs[0], demos.observations[0][0])
    np.testing.assert_array_equal(obs[1], demos.observations[0][20])
    # Dims are taken in the given order; unclipped values are mu / scale.
    _, wide = latent_bc_targets(favae, demos, "pad_zero", 1000.0, [9, 0])
    _, wide2 = latent_bc_targets(favae, demos, "pad_zero", 1000.0, [0, 9])
    np.testing.assert_allclose(wide[:, ::-1], wide2)


def test_flat_targets_are_every_step(demos):
    obs, acts = flat_bc_targets(demos)
    n = sum(len(a) for a in demos.actions)
    assert obs.shape == (n, demos.observations[0].shape[1]) and acts.shape == (n, 2)
    np.testing.assert_array_equal(obs[1], demos.observations[0][1])
    np.testing.assert_array_equal(acts[1], demos.actions[0][1])


def test_latent_pretraining_fits_targets(favae, demos):
    cfg = PPORunConfig(env_id=ENV, model="unused", n_envs=1)
    agent = _agent(cfg, favae)
    obs, acts = latent_bc_targets(favae, demos, "pad_zero", 0.2, list(range(favae.latent_dim)))
    info = pretrain_policy(agent, obs, acts, epochs=300, batch_size=16, lr=3e-3, seed=0)
    assert info["loss_after"] < info["loss_before"] / 10
    assert float(agent.policy.log_std.detach().mean()) == pytest.approx(-1.0)
    # The VecNormalize statistics now describe the BC observations.
    np.testing.assert_allclose(agent.get_env().obs_rms.mean, obs.mean(0), atol=1e-3)


def test_flat_pretraining_fits_targets_and_is_seeded(demos):
    cfg = PPORunConfig(env_id=ENV, flat=True, n_envs=1)
    obs, acts = flat_bc_targets(demos)
    infos = []
    for _ in range(2):
        agent = _agent(cfg)
        infos.append(pretrain_policy(agent, obs, acts, epochs=60, batch_size=64, lr=3e-3,
                                     seed=1, log_std=None))
    assert infos[0]["loss_after"] < infos[0]["loss_before"] / 10
    assert infos[0]["loss_after"] == infos[1]["loss_after"]
    assert float(agent.policy.log_std.detach().mean()) == 0.0  # kept


def test_bad_inputs_raise(favae, demos):
    with pytest.raises(ValueError, match="latent_dims"):
        latent_bc_targets(favae, demos, "pad_zero", 3.0, [99])
    with pytest.raises(ValueError, match="scale"):
        latent_bc_targets(favae, demos, "pad_zero", 0.0, [0])
    with pytest.raises(ValueError, match="EpisodeData"):
        flat_bc_targets(np.zeros((3, 2)))
    agent = _agent(PPORunConfig(env_id=ENV, flat=True, n_envs=1))
    obs, acts = flat_bc_targets(demos)
    with pytest.raises(ValueError, match="actions must have shape"):
        pretrain_policy(agent, obs, acts[:, :1], epochs=1)
    with pytest.raises(ValueError, match="obs must have shape"):
        pretrain_policy(agent, obs[:, :2], acts, epochs=1)
    with pytest.raises(ValueError, match="same"):
        pretrain_policy(agent, obs, acts[:-1], epochs=1)


def test_train_ppo_with_bc_init_records_it(favae_dir, demos, tmp_path):
    path = demos.save(tmp_path / "demos.npz")
    cfg = PPORunConfig(env_id=ENV, timesteps=600, seed=0, model=str(favae_dir), n_envs=2,
                       bc_demos=str(path), bc_epochs=5)
    res = train_ppo(cfg, tmp_path / "agent", eval_episodes=3)
    assert 0.0 <= res["bc"]["success_rate"] <= 1.0
    assert res["bc"]["loss_after"] <= res["bc"]["loss_before"]
    assert res["primitive_steps"] < 600 + 2 * 20 * 16  # BC used no env steps
    assert json.loads((tmp_path / "agent" / "agent.json").read_text())["config"]["bc_demos"] == str(path)
    _, cfg2, _, _ = load_agent(tmp_path / "agent")
    assert cfg2.bc_demos == str(path)


def _actor_critic_params(agent):
    p = agent.policy
    actor = torch.cat([x.detach().flatten() for m in (p.mlp_extractor.policy_net, p.action_net)
                       for x in m.parameters()] + [p.log_std.detach().flatten()])
    critic = torch.cat([x.detach().flatten() for m in (p.mlp_extractor.value_net, p.value_net)
                        for x in m.parameters()])
    return actor, critic


@pytest.mark.parametrize("warmup", [0, 10_000])
def test_critic_warmup_trains_only_the_value_function(warmup, tmp_path):
    from stable_baselines3 import PPO

    cfg = PPORunConfig(env_id=ENV, timesteps=512, seed=0, flat=True, n_envs=1,
                       ppo=dict(n_steps=128, batch_size=64, n_epochs=2), critic_warmup=warmup)
    train_ppo(cfg, tmp_path, eval_episodes=1)
    trained, _, _, _ = load_agent(tmp_path)
    fresh = PPO("MlpPolicy", make_env(cfg), seed=0, device="cpu", n_steps=128)
    actor, critic = _actor_critic_params(trained)
    actor0, critic0 = _actor_critic_params(fresh)
    assert not torch.equal(critic, critic0)  # the value function learned either way
    assert torch.equal(actor, actor0) == (warmup >= 512)


@pytest.mark.parametrize("freeze", [True, False])
def test_bc_obs_statistics_stay_at_the_bc_fit_when_frozen(freeze, favae_dir, demos, tmp_path):
    path = demos.save(tmp_path / "demos.npz")
    cfg = PPORunConfig(env_id=ENV, timesteps=600, seed=0, model=str(favae_dir), n_envs=2,
                       bc_demos=str(path), bc_epochs=2, bc_freeze_obs_stats=freeze)
    train_ppo(cfg, tmp_path / "agent", eval_episodes=1)
    stats = json.loads((tmp_path / "agent" / "agent.json").read_text())["obs_stats"]
    n_bc = sum(-(-len(a) // 20) for a in demos.actions)  # one BC sample per 20-step chunk
    if freeze:
        assert stats["count"] == pytest.approx(1e-4 + n_bc)
    else:
        assert stats["count"] > n_bc + 10  # PPO's rollouts kept updating them


def test_critic_warmup_must_be_non_negative():
    with pytest.raises(ValueError, match="critic_warmup"):
        PPORunConfig(env_id=ENV, flat=True, critic_warmup=-1)


def test_bc_factors_clone_only_the_matching_episodes(favae_dir, demos, tmp_path):
    path = demos.save(tmp_path / "demos.npz")
    goal = int(demos.factors[0, 0])
    keep = np.flatnonzero(demos.factors[:, 0] == goal)
    assert 0 < len(keep) < len(demos)  # the fixture's goals differ, so this selects
    cfg = PPORunConfig(env_id=ENV, timesteps=100, seed=0, model=str(favae_dir), n_envs=2,
                       bc_demos=str(path), bc_epochs=2, bc_factors={"goal": goal})
    res = train_ppo(cfg, tmp_path / "agent", eval_episodes=1)
    n_bc = sum(-(-len(demos.actions[i]) // 20) for i in keep)
    assert res["bc"]["episodes"] == len(keep) and res["bc"]["samples"] == n_bc
    meta = json.loads((tmp_path / "agent" / "agent.json").read_text())
    assert meta["config"]["bc_factors"] == {"goal": goal}
    assert meta["obs_stats"]["count"] == pytest.approx(1e-4 + n_bc)


def test_bc_factors_are_checked(demos, tmp_path):
    path = str(demos.save(tmp_path / "demos.npz"))
    with pytest.raises(ValueError, match="pass bc_demos too"):
        PPORunConfig(env_id=ENV, flat=True, bc_factors={"goal": 0})
    with pytest.raises(ValueError, match="non-empty dict"):
        PPORunConfig(env_id=ENV, flat=True, bc_demos=path, bc_factors={})
    cfg = PPORunConfig(env_id=ENV, flat=True, bc_demos=path, bc_factors={"speed": 0},
                       timesteps=10, n_envs=1)
    with pytest.raises(ValueError, match="unknown factor names \\['speed'\\]"):
        train_ppo(cfg, tmp_path / "agent", eval_episodes=1)
