"""Residual corrections over a frozen skill policy (macroact/residual.py, agents/sac.py)."""

from __future__ import annotations

import json
import shutil

import gymnasium as gym
import numpy as np
import pytest
import torch

import macroact  # noqa: F401  (registers the macroact/ ids)
from macroact.agents.sac import SACRunConfig, evaluate_sac, train_sac
from macroact.commands import main as cli_main
from macroact.models.closed_loop import ClosedLoopFAVAE, ClosedLoopFAVAEConfig
from macroact.models.favae import FAVAE, FAVAEConfig
from macroact.residual import ResidualSkillWrapper
from macroact.wrapper import MacroActionWrapper

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ENV = "macroact/Reaching2D-v1"
H = 8
TINY = {"learning_starts": 20, "batch_size": 16, "buffer_size": 1000, "train_freq": 4,
        "policy_kwargs": {"net_arch": [16, 16]}}


def _model(closed: bool):
    torch.manual_seed(0)
    env = gym.make(ENV)
    low, high = env.action_space.low, env.action_space.high
    obs_dim = env.observation_space.shape[0]
    if not closed:
        model = FAVAE(FAVAEConfig(seq_len=H, channels=(8, 8, 8), latent_dims=(2, 2, 2)),
                      n_features=2)
        model.normalizer.set_bounds(low, high)
        return model.eval()
    model = ClosedLoopFAVAE(ClosedLoopFAVAEConfig(seq_len=H, obs_dim=obs_dim, channels=(8, 8, 8),
                                                  latent_dims=(2, 2, 2), feature_dim=8,
                                                  head_hidden=(16,)), 2 + obs_dim)
    model.normalizer.set_bounds(np.concatenate([low, -np.ones(obs_dim)]),
                                np.concatenate([high, 2 * np.ones(obs_dim)]))
    return model.eval()


class _Recorder(gym.Wrapper):
    """Keeps every action the env received."""

    def __init__(self, env):
        super().__init__(env)
        self.actions = []

    def step(self, action):
        self.actions.append(np.array(action, copy=True))
        return self.env.step(action)


class _Policy:
    """A skill policy whose code depends on the observation; counts its calls."""

    def __init__(self, k: int):
        self.w = np.random.default_rng(0).normal(size=(k, 4)).astype(np.float32)
        self.calls = 0

    def __call__(self, obs):
        self.calls += 1
        return np.tanh(self.w @ np.asarray(obs, np.float32)[:4])


@pytest.mark.parametrize("closed", [False, True], ids=["open_loop", "closed_loop"])
def test_zero_residual_executes_the_macro_wrappers_actions_exactly(closed):
    model = _model(closed)
    policy = _Policy(model.latent_dim)
    res = ResidualSkillWrapper(_Recorder(gym.make(ENV)), policy, model, residual_scale=0.5)
    ref_rec = _Recorder(gym.make(ENV))
    ref = MacroActionWrapper(ref_rec, model, fast_decode=True)
    obs, _ = res.reset(seed=5)
    ref_obs, _ = ref.reset(seed=5)
    rewards, ref_rewards, macros = [], [], 0
    done = False
    while not done and macros < 4:
        # the skill policy sees the same observation in both
        np.testing.assert_array_equal(obs[:len(ref_obs)], np.asarray(ref_obs, np.float32))
        ref_obs, r, term, trunc, info = ref.step(policy(ref_obs))
        ref_rewards.append(r)
        for t in range(info["macro_steps"]):
            assert obs[-1] == pytest.approx(t / H)
            obs, r, term_r, trunc_r, info_r = res.step(np.zeros(2, np.float32))
            rewards.append(r)
            np.testing.assert_array_equal(info_r["base_action"], res.env.actions[-1])
        assert (term_r, trunc_r) == (term, trunc)
        done = term or trunc
        macros += 1
    np.testing.assert_array_equal(np.stack(res.env.actions), np.stack(ref_rec.actions))
    assert sum(rewards) == pytest.approx(sum(ref_rewards))
    # one code per macro in each, and the residual wrapper's next one after a full macro
    assert policy.calls == 2 * macros + (info["macro_steps"] == H)


def test_a_correction_is_added_in_action_units_and_clipped_to_the_bounds():
    model = _model(True)
    env = ResidualSkillWrapper(_Recorder(gym.make(ENV)), _Policy(model.latent_dim), model,
                               residual_scale=0.5)
    low, high = env.env.action_space.low, env.env.action_space.high
    obs, _ = env.reset(seed=1)
    for r in ([1.0, -1.0], [0.3, 0.0], [-1.0, 1.0]):
        base = obs[-3:-1]  # the decoded action this step corrects
        obs, *_, info = env.step(np.array(r, np.float32))
        np.testing.assert_allclose(info["base_action"], base, rtol=1e-6)
        want = np.clip(base + 0.5 * (high - low) / 2 * np.array(r), low, high)
        np.testing.assert_allclose(env.env.actions[-1], want, rtol=1e-5, atol=1e-6)
    # out-of-range corrections are clipped to [-1, 1] first
    base = obs[-3:-1]
    env.step(np.array([5.0, -5.0], np.float32))
    want = np.clip(base + 0.5 * (high - low) / 2 * np.array([1.0, -1.0]), low, high)
    np.testing.assert_allclose(env.env.actions[-1], want, rtol=1e-5, atol=1e-6)


@pytest.mark.filterwarnings("ignore:.*different from the unwrapped version")
def test_the_wrapped_env_passes_gymnasiums_and_sb3s_checkers():
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    model = _model(True)
    env = ResidualSkillWrapper(gym.make(ENV), _Policy(model.latent_dim), model)
    check_env(env, skip_render_check=True)
    sb3_check_env(env, warn=False)
    assert env.observation_space.shape == (gym.make(ENV).observation_space.shape[0] + 3,)


def test_bad_inputs_are_named():
    model = _model(True)
    policy = _Policy(model.latent_dim)
    for bad in (0.0, 2.5, True, float("nan")):
        with pytest.raises(ValueError, match="residual_scale"):
            ResidualSkillWrapper(gym.make(ENV), policy, model, residual_scale=bad)
    with pytest.raises(TypeError, match="skill_policy"):
        ResidualSkillWrapper(gym.make(ENV), "policy", model)
    env = ResidualSkillWrapper(gym.make(ENV), policy, model)
    with pytest.raises(ValueError, match="reset"):
        env.step(np.zeros(2, np.float32))
    env.reset(seed=0)
    with pytest.raises(ValueError, match="2 finite values"):
        env.step(np.zeros(3, np.float32))
    wrong = ResidualSkillWrapper(gym.make(ENV), lambda o: np.zeros(2), model)
    with pytest.raises(ValueError, match="shape"):  # the model has 6 latent dims
        wrong.reset(seed=0)


@pytest.fixture(scope="module")
def skill_agent(tmp_path_factory):
    """A tiny closed-loop latent SAC agent saved to a directory (the skill policy)."""
    root = tmp_path_factory.mktemp("skill")
    model = _model(True)
    model.save(root / "model.pt")
    out = root / "agent"
    train_sac(SACRunConfig(env_id=ENV, flat=False, model=str(root / "model.pt"),
                           timesteps=100, sac=TINY, checkpoint_every=0), out, eval_episodes=2)
    return out


def test_residual_sac_trains_saves_its_skill_agent_and_reloads_on_its_own(skill_agent,
                                                                        tmp_path, capsys):
    src = tmp_path / "skill_copy"
    shutil.copytree(skill_agent, src)
    cfg = SACRunConfig(env_id=ENV, residual=str(src), residual_scale=0.3, timesteps=120,
                       sac=TINY, checkpoint_every=0)
    out = tmp_path / "res"
    res = train_sac(cfg, out, eval_episodes=3)
    assert res["primitive_steps"] == 120  # one primitive step per residual action
    meta = json.loads((out / "agent.json").read_text())
    assert meta["skill"] == "skill" and (out / "skill" / "agent.zip").is_file()
    shutil.rmtree(src)  # the agent directory loads from its own copy
    again = evaluate_sac(out, episodes=3)
    assert again["successes"] == res["successes"]
    assert again["mean_return"] == pytest.approx(res["mean_return"])
    # `macroact rollout` runs it over its skill too (the residual's observation holds the
    # skill's decoded action: without the wrapper the policy could not even read it)
    assert cli_main(["rollout", str(out), "--episodes", "3"]) == 0
    assert (f"{ENV}: success {res['success_rate']:.2f}, return {res['mean_return']:.3f}, "
            f"{res['mean_primitive_steps']:.1f} primitive steps") in capsys.readouterr().out


def test_residual_config_refuses_what_it_cannot_combine(skill_agent):
    with pytest.raises(ValueError, match="flat=True"):
        SACRunConfig(env_id=ENV, flat=False, model="m.pt", residual=str(skill_agent))
    with pytest.raises(ValueError, match="chunk"):
        SACRunConfig(env_id=ENV, chunk=4, residual=str(skill_agent))
    with pytest.raises(ValueError, match="residual_scale"):
        SACRunConfig(env_id=ENV, residual=str(skill_agent), residual_scale=0.0)
    with pytest.raises(ValueError, match="no agent.json"):
        train_sac(SACRunConfig(env_id=ENV, residual=str(skill_agent.parent), timesteps=10,
                               sac=TINY))


def test_sac_residual_command(skill_agent, tmp_path, capsys):
    out = tmp_path / "cli"
    argv = ["sac", ENV, "--residual", str(skill_agent), "--residual-scale", "0.4",
            "--timesteps", "60", "--eval-episodes", "2", "--sac",
            "learning_starts=10,batch_size=16,buffer_size=500", "--out", str(out)]
    assert cli_main(argv) == 0
    assert f"residual SAC over {skill_agent} on {ENV}: success" in capsys.readouterr().out
    meta = json.loads((out / "agent.json").read_text())
    assert meta["config"]["flat"] is True and meta["config"]["residual_scale"] == 0.4
    assert cli_main(["sac", ENV, "--residual", str(skill_agent), "--chunk", "4",
                     "--out", str(tmp_path / "x")]) == 2
    assert "drop ['chunk']" in capsys.readouterr().err


def test_a_residual_prior_starts_the_corrections_near_zero_and_tunes_their_kl(skill_agent,
                                                                             tmp_path):
    cfg = SACRunConfig(env_id=ENV, residual=str(skill_agent), residual_prior_std=0.2,
                       prior_target_kl=1.0, prior_init_steps=200, timesteps=80, sac=TINY,
                       checkpoint_every=0)
    res = train_sac(cfg, tmp_path / "res", eval_episodes=2)
    init = res["prior_init"]
    assert init["kl_after"] < init["kl_before"] and init["kl_after"] < 1.0
    assert res["training"]["target_kl"] == 1.0 and res["training"]["prior_kl"] is not None
    agent = evaluate_sac(tmp_path / "res", episodes=2)
    assert agent["successes"] == res["successes"]
    with pytest.raises(ValueError, match="residual=SKILL_DIR"):
        SACRunConfig(env_id=ENV, residual_prior_std=0.2)
    with pytest.raises(ValueError, match="residual_prior_std must be > 0"):
        SACRunConfig(env_id=ENV, residual=str(skill_agent), residual_prior_std=0.0)
