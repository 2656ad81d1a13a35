"""BC + SAC fine-tuning (agents/bc.py's pretrain_sac_actor, SACRunConfig.bc_demos): the clone,
its log-std, demos of another env id, the critic warm-up, and the `macroact sac --bc-init`
command."""

import json

import numpy as np
import pytest
import torch

import macroact  # noqa: F401  (registers the macroact/ ids)
from macroact.agents import common
from macroact.agents.bc import flat_bc_targets, load_bc_demos, pretrain_sac_actor
from macroact.agents.ppo import PPORunConfig
from macroact.agents.sac import SACRunConfig, load_sac_agent, train_sac
from macroact.commands import main as cli_main
from macroact.data.demos import collect

ENV = "macroact/Reaching2D-v1"
TINY = {"learning_starts": 0, "batch_size": 32, "buffer_size": 2000, "train_freq": 4,
        "policy_kwargs": {"net_arch": [32, 32]}}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def demos():
    return collect(ENV, 8, seed=0)


@pytest.fixture(scope="module")
def demos_path(demos, tmp_path_factory):
    return demos.save(tmp_path_factory.mktemp("demos") / "demos.npz")


def _sac(flat_obs_dim: int = 3, seed: int = 0):
    """A bare SB3 SAC on a Box env with 3-dim observations and 2-dim actions in [-2, 2]."""
    import gymnasium as gym
    from stable_baselines3 import SAC

    class Box(gym.Env):
        observation_space = gym.spaces.Box(-5.0, 5.0, (flat_obs_dim,), np.float32)
        action_space = gym.spaces.Box(-2.0, 2.0, (2,), np.float32)

        def reset(self, *, seed=None, options=None):
            return np.zeros(flat_obs_dim, np.float32), {}

        def step(self, action):
            return np.zeros(flat_obs_dim, np.float32), 0.0, True, False, {}

    return SAC("MlpPolicy", Box(), seed=seed, device="cpu", learning_starts=0,
               policy_kwargs={"net_arch": [64, 64]})


def _synthetic(n: int = 2000, noise: float = 0.3, seed: int = 0):
    """Observations and env-unit actions 2 * tanh(f(obs) + noise): a known clone and spread."""
    rng = np.random.default_rng(seed)
    obs = rng.uniform(-1, 1, (n, 3)).astype(np.float32)
    pre = np.stack([obs[:, 0] - 0.5 * obs[:, 1], 0.8 * obs[:, 2]], axis=1)
    acts = 2.0 * np.tanh(pre + noise * rng.standard_normal(pre.shape))
    return obs, acts.astype(np.float32), pre


def test_clone_fits_the_deterministic_action_and_the_demos_spread():
    obs, acts, pre = _synthetic()
    agent = _sac()
    info = pretrain_sac_actor(agent, obs, acts, epochs=30, batch_size=64, lr=1e-3)
    assert info["loss_after"] < 0.5 * info["loss_before"]
    assert info["nll_after"] < info["nll_before"]
    assert info["gradient_steps"] == 30 * int(np.ceil(len(obs) / 64))
    # The deterministic action is the clone (env units: scaled back from the actor's [-1, 1]).
    det, _ = agent.predict(obs[:200], deterministic=True)
    np.testing.assert_allclose(det, 2.0 * np.tanh(pre[:200]), atol=0.25)
    # The fitted std (before the squash) is the demos' noise, 0.3, within a loose band.
    assert 0.2 < info["std_after"] < 0.45


def test_clone_with_a_fixed_log_std_sets_the_head_to_that_constant():
    obs, acts, _ = _synthetic()
    agent = _sac()
    info = pretrain_sac_actor(agent, obs, acts, epochs=5, log_std=-2.5)
    assert info["std_after"] == pytest.approx(np.exp(-2.5), rel=1e-5)
    with torch.no_grad():
        _, log_std, _ = agent.actor.get_action_dist_params(torch.as_tensor(obs[:50]))
    assert torch.allclose(log_std, torch.full_like(log_std, -2.5))


def test_clone_refuses_wrong_shapes_and_ppo_policies():
    obs, acts, _ = _synthetic(n=50)
    with pytest.raises(ValueError, match=r"obs must have shape \(M, 3\)"):
        pretrain_sac_actor(_sac(), obs[:, :2], acts)
    with pytest.raises(ValueError, match=r"actions must have shape \(M, 2\)"):
        pretrain_sac_actor(_sac(), obs, acts[:, :1])
    from stable_baselines3 import PPO

    ppo = PPO("MlpPolicy", _sac().get_env(), device="cpu", n_steps=16, batch_size=16)
    with pytest.raises(ValueError, match="pretrain_policy"):
        pretrain_sac_actor(ppo, obs, acts)


def test_demos_of_another_env_need_that_env_named(demos_path):
    with pytest.raises(ValueError, match="bc_demos_env='macroact/Reaching2D-v1'"):
        load_bc_demos(demos_path, "macroact/ReacherSparse-v0")
    assert len(load_bc_demos(demos_path, "macroact/ReacherSparse-v0",
                             demos_env="macroact/Reaching2D-v1")) == 8
    with pytest.raises(ValueError, match="not bc_demos_env 'cube-single-v0'"):
        load_bc_demos(demos_path, "macroact/ReacherSparse-v0", demos_env="cube-single-v0")
    for cls in (SACRunConfig, PPORunConfig):
        with pytest.raises(ValueError, match="pass bc_demos"):
            cls(env_id=ENV, flat=True, bc_demos_env="cube-single-v0")
        with pytest.raises(ValueError, match="bc_epochs"):
            cls(env_id=ENV, flat=True, bc_demos=str(demos_path), bc_epochs=0)
    with pytest.raises(ValueError, match="pass one of them"):
        SACRunConfig(env_id=ENV, flat=False, model="m", prior=True, bc_demos=str(demos_path))


def _actor_critic(agent):
    actor = torch.cat([p.detach().flatten() for p in agent.actor.parameters()])
    critic = torch.cat([p.detach().flatten() for p in agent.critic.parameters()])
    return actor, critic


def test_bc_sac_run_clones_evaluates_and_warms_the_critic_up_first(demos, demos_path, tmp_path,
                                                                    monkeypatch):
    cloned = {}
    orig = pretrain_sac_actor

    def spy(agent, *a, **k):
        info = orig(agent, *a, **k)
        cloned["actor"], cloned["critic"] = _actor_critic(agent)
        return info

    monkeypatch.setattr("macroact.agents.bc.pretrain_sac_actor", spy)
    cfg = SACRunConfig(env_id=ENV, timesteps=300, seed=0, flat=True, sac=TINY,
                       bc_demos=str(demos_path), bc_epochs=2, bc_log_std=-2.5,
                       critic_warmup=10_000, checkpoint_every=0)
    res = train_sac(cfg, tmp_path / "warm", eval_episodes=3)
    bc = res["bc"]
    assert bc["episodes"] == 8 and bc["samples"] == len(flat_bc_targets(demos)[0])
    assert 0.0 <= bc["success_rate"] <= 1.0 and bc["loss_after"] < bc["loss_before"]
    agent, lcfg, _, stats = load_sac_agent(tmp_path / "warm")
    actor, critic = _actor_critic(agent)
    # The warm-up spans the whole run: the actor is still the clone, the critics learned.
    assert torch.equal(actor, cloned["actor"]) and not torch.equal(critic, cloned["critic"])
    assert lcfg.bc_demos == str(demos_path) and lcfg.critic_warmup == 10_000
    # The clone's observation statistics stay frozen (BC fitted them on the demo steps).
    assert stats["count"] == pytest.approx(1e-4 + bc["samples"])

    cfg = SACRunConfig(env_id=ENV, timesteps=300, seed=0, flat=True, sac=TINY,
                       bc_demos=str(demos_path), bc_epochs=2, checkpoint_every=0)
    train_sac(cfg, tmp_path / "cold", eval_episodes=1)
    actor, _ = _actor_critic(load_sac_agent(tmp_path / "cold")[0])
    assert not torch.equal(actor, cloned["actor"])  # no warm-up: SAC moved the clone


def test_resumed_bc_sac_run_keeps_the_clone_record(demos_path, tmp_path, monkeypatch):
    cfg = SACRunConfig(env_id=ENV, timesteps=400, seed=0, flat=True, sac=TINY,
                       bc_demos=str(demos_path), bc_epochs=1, checkpoint_every=200)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed after training")

    first = {}
    orig = common.evaluate_policy

    def crash_after_clone(*args, **kwargs):
        if "bc" in first:
            crash()
        first["bc"] = orig(*args, **kwargs)
        return first["bc"]

    monkeypatch.setattr(common, "evaluate_policy", crash_after_clone)
    with pytest.raises(KeyboardInterrupt):
        train_sac(cfg, tmp_path / "run", eval_episodes=2)
    monkeypatch.undo()
    cloned = pytest.importorskip("macroact.agents.bc")  # the clone must not run again
    calls = []
    monkeypatch.setattr(cloned, "pretrain_sac_actor", lambda *a, **k: calls.append(1))
    res = train_sac(cfg, tmp_path / "run", eval_episodes=2, resume=True)
    assert not calls and res["resumes"] == 1
    assert res["bc"]["success_rate"] == first["bc"]["success_rate"]


def test_sac_bc_init_command(demos_path, tmp_path, capsys):
    out = tmp_path / "cli"
    argv = ["sac", ENV, "--flat", "--bc-init", str(demos_path), "--bc-epochs", "1",
            "--bc-log-std", "-2.5", "--critic-warmup", "100", "--timesteps", "120",
            "--eval-episodes", "2", "--sac", "learning_starts=0,batch_size=32,buffer_size=500",
            "--out", str(out)]
    assert cli_main(argv) == 0
    text = capsys.readouterr().out
    assert "after BC, before SAC: success" in text and "flat SAC on" in text
    meta = json.loads((out / "agent.json").read_text())
    assert meta["config"]["bc_log_std"] == -2.5 and meta["config"]["critic_warmup"] == 100
    assert cli_main(["sac", ENV, "--flat", "--chunk", "5", "--bc-init", str(demos_path),
                     "--out", str(tmp_path / "x")]) == 2
    assert "drop bc_demos" in capsys.readouterr().err
