"""Closed-loop FAVAE, its wrapper path, the skill prior and prior-guided SAC (issue 18)."""

from __future__ import annotations

import json
import math
import zipfile

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

from macroact.models.closed_loop import ClosedLoopFAVAE, ClosedLoopFAVAEConfig
from macroact.models.losses import gaussian_kl
from macroact.models.prior import PriorTrainConfig, SkillPrior, SkillPriorConfig, fit_prior
from macroact.wrapper import MacroActionVecEnv, MacroActionWrapper

pytestmark = pytest.mark.usefixtures("one_torch_thread")


TINY = dict(channels=(8, 8, 8), latent_dims=(2, 2, 2), feature_dim=8, head_hidden=(32,))


# -- a 1-D point that a push can disturb ----------------------------------------------------------
STEP, GAIN, H = 0.3, 2.0, 10


def demo_chunks(n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Feedback demos ``a = clip(GAIN (g - x))``: actions (n, H, 1), observations (n, H, 2)."""
    x = rng.uniform(-1, 1, n)
    g = rng.uniform(-0.5, 0.5, n)
    acts, obs = np.zeros((n, H, 1), np.float32), np.zeros((n, H, 2), np.float32)
    for t in range(H):
        obs[:, t] = np.stack([x, g], 1)
        a = np.clip(GAIN * (g - x), -1, 1)
        acts[:, t, 0] = a
        x = x + STEP * a
    return acts, obs


class PushedPoint(gym.Env):
    """x' = x + STEP a; at step ``push_at`` the state is pushed by ``push``."""

    observation_space = spaces.Box(-np.inf, np.inf, (2,), np.float64)
    action_space = spaces.Box(-1.0, 1.0, (1,), np.float32)

    def __init__(self, x0: float, goal: float, push_at: int = 5, push: float = 0.5):
        self.x0, self.goal, self.push_at, self.push = x0, goal, push_at, push

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x, self.t = self.x0, 0
        return np.array([self.x, self.goal]), {}

    def step(self, action):
        self.x += STEP * float(action[0])
        self.t += 1
        if self.t == self.push_at:
            self.x += self.push
        return np.array([self.x, self.goal]), 0.0, False, False, {}


@pytest.fixture(scope="module")
def point_model():
    from macroact.trainer import TrainConfig, train

    torch.manual_seed(0)
    acts, obs = demo_chunks(512, np.random.default_rng(0))
    packed = np.concatenate([acts, obs], -1)
    model = ClosedLoopFAVAE(ClosedLoopFAVAEConfig(seq_len=H, obs_dim=2, beta=0.01, **TINY), 3)
    model.normalizer.set_bounds([-1, -2, -1], [1, 2, 1])
    train(model, packed, TrainConfig(steps=250, batch_size=128, lr=5e-3, device="cpu"),
          progress_bar=False)
    return model.eval()


def test_closed_loop_recovers_from_a_push_open_loop_does_not(point_model):
    rng = np.random.default_rng(1)
    acts, obs = demo_chunks(5, rng)
    closed_err, open_err = [], []
    for i in range(5):
        x0, goal = float(obs[i, 0, 0]), float(obs[i, 0, 1])
        demo_end = x0 + STEP * acts[i, :, 0].sum()  # where the undisturbed demo ends
        mu, _ = point_model.encode(np.concatenate([acts[i:i + 1], obs[i:i + 1]], -1))
        env = MacroActionWrapper(PushedPoint(x0, goal), point_model, scale=1.0)
        env.reset()
        end, *_ = env.step(mu[0].numpy())
        closed_err.append(abs(end[0] - demo_end))
        # The best an open-loop decoder can do: replay the demo's own actions exactly.
        replay = PushedPoint(x0, goal)
        replay.reset()
        for a in acts[i]:
            end, *_ = replay.step(a)
        open_err.append(abs(end[0] - demo_end))
    assert max(closed_err) < 0.15, closed_err
    assert min(open_err) > 0.45, open_err


# -- KL ------------------------------------------------------------------------------------------
def test_analytic_kl_matches_monte_carlo():
    g = torch.Generator().manual_seed(0)
    mu_q, lv_q = torch.randn(3, generator=g), torch.randn(3, generator=g) * 0.5
    mu_p, lv_p = torch.randn(3, generator=g), torch.randn(3, generator=g) * 0.5
    q = torch.distributions.Normal(mu_q, (0.5 * lv_q).exp())
    p = torch.distributions.Normal(mu_p, (0.5 * lv_p).exp())
    z = q.sample((400_000,))
    mc = (q.log_prob(z) - p.log_prob(z)).sum(-1).mean()
    analytic = gaussian_kl(mu_q, lv_q, mu_p, lv_p).sum()
    assert float(analytic) == pytest.approx(float(mc), rel=0.02, abs=0.01)


def test_prior_density_of_agent_matches_prior_log_prob():
    from macroact.agents.sac_prior import prior_log_density

    prior = SkillPrior(SkillPriorConfig(obs_dim=3, latent_dim=4, hidden=(8,), components=3))
    z, s = torch.randn(6, 4), torch.randn(6, 3)
    assert torch.allclose(prior_log_density(prior, z, s), prior.log_prob(z, s), atol=1e-5)
    # A marginal over some dims of a Gaussian: the Gaussian density of those dims.
    g = SkillPrior(SkillPriorConfig(obs_dim=3, latent_dim=4, hidden=(8,)))
    mu, lv = g.gaussian(s)
    dims = torch.tensor([2, 0])
    expected = torch.distributions.Normal(mu[:, dims], (0.5 * lv[:, dims]).exp()) \
        .log_prob(z[:, :2]).sum(-1)
    assert torch.allclose(prior_log_density(g, z[:, :2], s, dims), expected, atol=1e-5)


# -- prior ---------------------------------------------------------------------------------------
def test_prior_recovers_the_conditional_mean(tmp_path):
    rng = np.random.default_rng(0)
    s = rng.uniform(-1, 1, (2000, 2)).astype(np.float32)
    mean = np.stack([s[:, 0] + s[:, 1], 2 * s[:, 0] - 1], 1)
    mu = mean + 0.05 * rng.standard_normal(mean.shape)
    logvar = np.full_like(mu, math.log(0.01))
    prior, history = fit_prior(s, mu, logvar, SkillPriorConfig(2, 2, hidden=(32, 32)),
                               PriorTrainConfig(steps=600, lr=5e-3))
    test = rng.uniform(-0.9, 0.9, (200, 2)).astype(np.float32)
    want = np.stack([test[:, 0] + test[:, 1], 2 * test[:, 0] - 1], 1)
    with torch.no_grad():
        got, lv = prior.gaussian(torch.from_numpy(test))
    assert np.abs(got.numpy() - want).mean() < 0.05
    assert float(lv.exp().mean().sqrt()) < 0.3  # about the posteriors' spread, not N(0, 1)
    prior.save(tmp_path / "prior.pt")
    again = SkillPrior.load(tmp_path)
    z = torch.from_numpy(want)
    assert torch.equal(again.log_prob(z, torch.from_numpy(test)),
                       prior.log_prob(z, torch.from_numpy(test)))


# -- the wrapper's closed-loop path --------------------------------------------------------------
class Recorder(gym.Env):
    """Deterministic dynamics that depend on the actions; records what it is sent."""

    observation_space = spaces.Box(-np.inf, np.inf, (3,), np.float64)
    action_space = spaces.Box(-0.9, 0.9, (2,), np.float32)

    def __init__(self, end: int = 100):
        self.end = end
        self.actions: list[np.ndarray] = []
        self.observations: list[np.ndarray] = []

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.obs, self.t = np.array([0.1, -0.2, 0.3]) * (1 + (seed or 0)), 0
        return self.obs.copy(), {}

    def step(self, action):
        self.observations.append(self.obs.copy())
        self.actions.append(np.array(action, copy=True))
        self.t += 1
        self.obs = 0.5 * self.obs + np.array([action[0], action[1], 0.1 * self.t])
        return self.obs.copy(), float(action[0]), self.t >= self.end, False, {}


def random_closed_model(seed: int = 0) -> ClosedLoopFAVAE:
    torch.manual_seed(seed)
    model = ClosedLoopFAVAE(ClosedLoopFAVAEConfig(seq_len=6, obs_dim=3, **TINY), 5)
    model.normalizer.set_bounds([-1, -1, -2, -2, -1], [1, 1, 2, 2, 1])
    with torch.no_grad():
        model.head[-1].weight.mul_(20)  # saturate, so clipping to +-0.9 happens
    return model.eval()


def expected_actions(model, z, observations) -> np.ndarray:
    feats = model.decode_features(torch.as_tensor(z)[None])
    out = [model.act(feats[:, t], torch.as_tensor(o, dtype=torch.float32)[None])[0].numpy()
           for t, o in enumerate(observations)]
    return np.clip(np.stack(out), -0.9, 0.9)


@pytest.mark.parametrize("fast", [False, True])
def test_wrapper_executes_head_on_live_observations(fast):
    model = random_closed_model()
    rec = Recorder()
    env = MacroActionWrapper(rec, model, scale=2.0, record_actions=True, fast_decode=fast)
    assert (env._decoder.closed.fast) == fast
    env.reset(seed=0)
    a = np.linspace(-1, 1, model.latent_dim).astype(np.float32)
    for _ in range(2):
        start = len(rec.actions)
        _, reward, _, _, info = env.step(a)
        executed = np.stack(rec.actions[start:])
        want = expected_actions(model, 2.0 * a, rec.observations[start:])
        assert info["macro_steps"] == 6
        assert np.array_equal(info["executed_actions"], executed)
        assert np.abs(executed).max() == pytest.approx(0.9)  # clipping happened
        if fast:
            np.testing.assert_allclose(executed, want, atol=1e-5)
        else:
            assert np.array_equal(executed, want)
        assert reward == pytest.approx(float(executed[:, 0].sum()))
    with pytest.raises(ValueError, match="live observation"):
        env.decode(a)


def test_vec_env_closed_loop_matches_single_wrappers_and_stops_each_env():
    model = random_closed_model(1)
    ends = [3, 100, 8]
    venv = MacroActionVecEnv([lambda e=e: Recorder(e) for e in ends], model, scale=2.0,
                             record_actions=True)
    venv.seed(0)
    venv.reset()
    rng = np.random.default_rng(0)
    acts = rng.uniform(-1, 1, (2, 3, model.latent_dim)).astype(np.float32)
    singles = [MacroActionWrapper(Recorder(e), model, scale=2.0, record_actions=True) for e in ends]
    for i, s in enumerate(singles):
        s.reset(seed=i)
    for k in range(2):
        _, rewards, dones, infos = venv.step(acts[k])
        for i, s in enumerate(singles):
            _, r, term, trunc, info = s.step(acts[k, i])
            np.testing.assert_allclose(infos[i]["executed_actions"], info["executed_actions"],
                                       atol=1e-6)
            assert infos[i]["macro_steps"] == info["macro_steps"]
            assert dones[i] == (term or trunc)
            if dones[i]:
                assert "terminal_observation" in infos[i]
                s.reset(seed=None)
    # second macro: env 0 ends every episode after 3 steps, env 2 its first at step 8
    assert [info["macro_steps"] for info in infos] == [3, 6, 2]


def test_closed_loop_save_load_round_trip(tmp_path):
    model = random_closed_model()
    model.save(tmp_path / "model.pt")
    from macroact.models import load_model

    again = load_model(tmp_path)
    assert isinstance(again, ClosedLoopFAVAE)
    z = torch.randn(2, model.latent_dim)
    o = torch.randn(2, 3)
    f = model.decode_features(z)
    assert torch.equal(again.decode_features(z), f)
    assert torch.equal(again.act(f[:, 0], o), model.act(f[:, 0], o))


def test_observation_noise_changes_training_only_and_is_saved(tmp_path):
    """``obs_noise`` perturbs what the head reads in training; evaluation, the wrapper's
    ``act`` and a reloaded model see the observations as given."""
    torch.manual_seed(0)
    x = torch.rand(8, 6, 5) * 2 - 1
    plain = random_closed_model()
    noisy = ClosedLoopFAVAE(ClosedLoopFAVAEConfig(seq_len=6, obs_dim=3, obs_noise=0.3, **TINY), 5)
    noisy.load_state_dict(plain.state_dict())
    noisy.eval()
    assert torch.equal(noisy(x)["rec"], plain(x)["rec"])
    assert torch.equal(noisy.reconstruct_normalized(x), plain.reconstruct_normalized(x))
    plain.train(), noisy.train()
    torch.manual_seed(1)
    rec_plain = plain(x)["rec"]
    torch.manual_seed(1)
    rec_noisy = noisy(x)["rec"]
    assert not torch.equal(rec_noisy, rec_plain)
    f, o = noisy.decode_features(torch.randn(2, noisy.latent_dim))[:, 0], torch.randn(2, 3)
    assert torch.equal(noisy.act(f, o), plain.act(f, o))  # the wrapper's path, in train mode too
    noisy.save(tmp_path / "model.pt")
    from macroact.models import load_model

    again = load_model(tmp_path)
    assert again.config.obs_noise == 0.3
    assert torch.equal(again(x)["rec"], plain.eval()(x)["rec"])  # loaded in eval mode


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf"), "0.1", True])
def test_observation_noise_must_be_a_finite_non_negative_number(bad):
    with pytest.raises(ValueError, match="obs_noise"):
        ClosedLoopFAVAEConfig(seq_len=6, obs_dim=3, obs_noise=bad)


# -- prior-guided agents ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def prior_run(tmp_path_factory):
    """An untrained closed-loop model on Reaching2D-v1 with a skill prior beside it."""
    import macroact  # noqa: F401  (registers the env ids)

    env = gym.make("macroact/Reaching2D-v1")
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    low, high = env.action_space.low, env.action_space.high
    torch.manual_seed(0)
    model = ClosedLoopFAVAE(ClosedLoopFAVAEConfig(seq_len=5, obs_dim=obs_dim, **TINY),
                            act_dim + obs_dim)
    model.normalizer.set_bounds(np.concatenate([low, -np.ones(obs_dim)]),
                                np.concatenate([high, 2 * np.ones(obs_dim)]))
    run = tmp_path_factory.mktemp("prior_run")
    model.save(run / "model.pt")
    rng = np.random.default_rng(0)
    s = rng.uniform(-1, 1, (64, obs_dim))
    prior, _ = fit_prior(s, rng.standard_normal((64, model.latent_dim)) * 0.3,
                         np.full((64, model.latent_dim), -2.0),
                         SkillPriorConfig(obs_dim, model.latent_dim, hidden=(16,)),
                         PriorTrainConfig(steps=20))
    prior.save(run / "prior.pt")
    return run


def test_prior_sac_smoke_and_round_trip(prior_run, tmp_path):
    from macroact.agents.sac import SACRunConfig, evaluate_sac, load_sac_agent, train_sac

    cfg = SACRunConfig(env_id="macroact/Reaching2D-v1", timesteps=150, flat=False,
                       model=str(prior_run), prior=True, prior_init_steps=30, checkpoint_every=0,
                       sac={"learning_starts": 10, "batch_size": 16, "train_freq": 1})
    out = tmp_path / "agent"
    res = train_sac(cfg, out, eval_episodes=2)
    assert res["prior_init"]["kl_after"] < res["prior_init"]["kl_before"]
    assert res["primitive_steps"] >= 150
    tr = res["training"]  # what the updates did, for the results' records
    assert tr["target_kl"] == cfg.prior_target_kl and tr["gradient_steps"] > 0
    assert np.isfinite(tr["prior_kl"]) and tr["alpha"] > 0
    assert (out / "prior.pt").is_file() and (out / "favae.pt").is_file()
    with zipfile.ZipFile(out / "agent.zip") as z:
        assert "prior" not in json.loads(z.read("data"))  # never pickled into the agent
    agent, cfg2, model2, stats = load_sac_agent(out)
    assert cfg2.prior and stats is None and isinstance(model2, ClosedLoopFAVAE)
    again = evaluate_sac(out, episodes=2)
    assert again["success_rate"] == res["success_rate"]
    assert again["mean_return"] == pytest.approx(res["mean_return"])


def test_a_target_kl_below_what_the_policy_reaches_at_the_prior_warns(prior_run, tmp_path):
    from macroact.agents.sac import SACRunConfig, train_sac

    cfg = SACRunConfig(env_id="macroact/Reaching2D-v1", timesteps=40, flat=False,
                       model=str(prior_run), prior=True, prior_init_steps=30, checkpoint_every=0,
                       prior_target_kl=0.0, sac={"learning_starts": 10, "batch_size": 16})
    with pytest.warns(RuntimeWarning, match="prior_target_kl=0 is below the KL"):
        res = train_sac(cfg, None, eval_episodes=1)
    assert res["prior_init"]["kl_after"] > 0.0


def test_ppo_prior_term_is_the_kl_and_runs(prior_run, tmp_path):
    from macroact.agents.ppo import PPORunConfig, load_agent, train_ppo
    from macroact.agents.ppo_prior import PriorActorCriticPolicy, attach_prior

    cfg = PPORunConfig(env_id="macroact/Reaching2D-v1", timesteps=64, model=str(prior_run),
                       prior=True, prior_weight=0.1, n_envs=2, tail="drop",
                       ppo={"n_steps": 8, "batch_size": 8, "n_epochs": 1})
    res = train_ppo(cfg, tmp_path / "ppo", eval_episodes=1)
    assert res["primitive_steps"] >= 64 and (tmp_path / "ppo" / "prior.pt").is_file()
    agent, *_ = load_agent(tmp_path / "ppo")  # loads as a plain MlpPolicy
    # The analytic term equals a Monte Carlo estimate of KL over z = scale * a.
    prior = SkillPrior.load(prior_run)
    policy = PriorActorCriticPolicy(agent.observation_space, agent.action_space, lambda _: 1e-3)
    policy.load_state_dict(agent.policy.state_dict())
    attach_prior(policy, prior, scale=3.0)
    obs = torch.rand(4, agent.observation_space.shape[0])
    with torch.no_grad():
        dist = policy.get_distribution(obs)
        kl = policy.prior_kl(dist, obs)
        a = dist.distribution.sample((20000,))  # (S, B, k)
        log_q = dist.distribution.log_prob(a).sum(-1) - a.shape[-1] * math.log(3.0)
        log_p = torch.stack([prior.log_prob(3.0 * a[:, b], obs[b].expand(len(a), -1))
                             for b in range(4)], 1)
        mc = (log_q - log_p).mean(0)
        _, _, neg = policy.evaluate_actions(obs, a[0])
    np.testing.assert_allclose(kl.numpy(), mc.numpy(), rtol=0.05, atol=0.05)
    assert torch.allclose(neg, -kl)


def test_cli_closed_loop_train_prior_and_encode(tmp_path, capsys):
    from macroact.commands import main
    from macroact.data.demos import collect

    collect("macroact/Reaching2D-v0", episodes=4, seed=0).save(tmp_path / "demos.npz")
    run = tmp_path / "cl"
    assert main(["train", "--demos", str(tmp_path / "demos.npz"), "--closed-loop", "--steps",
                 "5", "--no-progress", "--channels", "8,8,8", "--feature-dim", "4",
                 "--head-hidden", "8", "--obs-noise", "0.05", "--out", str(run)]) == 0
    from macroact.models import load_model

    assert load_model(run).config.obs_noise == 0.05
    recorded = json.loads((run / "run.json").read_text())
    assert recorded["model"] == "closed_loop_favae" and recorded["data"]["horizon"] == 10
    assert main(["prior", str(run), "--demos", str(tmp_path / "demos.npz"), "--steps", "5",
                 "--hidden", "8"]) == 0
    assert main(["encode", str(run), str(tmp_path / "demos.npz"), "--prior", "--out",
                 str(tmp_path / "codes.npz")]) == 0
    assert "mean prior log-likelihood" in capsys.readouterr().out
    with np.load(tmp_path / "codes.npz") as f:
        assert f["prior_logp"].shape == (len(f["mu"]),) and np.isfinite(f["prior_logp"]).all()
    assert main(["train", "--dataset", "reaching2d", "--closed-loop", "--out",
                 str(tmp_path / "bad")]) == 2


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_env_hot_path_equals_the_general_fast_path(seed):
    """The one-env closed-loop path (_SingleEnvPath) sends exactly the actions of the general
    numpy path it replaces, clipping and episode ends included."""
    model = random_closed_model(seed)
    envs, recs = [], []
    for single in (True, False):
        rec = Recorder(7)  # ends an episode mid-macro
        env = MacroActionWrapper(rec, model, scale=2.0, record_actions=True)
        runner = env._decoder.closed
        assert runner.fast and runner._single is not None
        if not single:
            runner._single = None
        env.reset(seed=seed)
        envs.append(env)
        recs.append(rec)
    acts = np.random.default_rng(seed).uniform(-1, 1, (5, model.latent_dim)).astype(np.float32)
    for a in acts:
        out = [env.step(a) for env in envs]
        (o1, r1, t1, u1, i1), (o2, r2, t2, u2, i2) = out
        assert np.array_equal(i1["executed_actions"], i2["executed_actions"])
        assert np.array_equal(o1, o2) and r1 == r2 and (t1, u1) == (t2, u2)
        assert i1["macro_steps"] == i2["macro_steps"]
        if t1 or u1:
            for env in envs:
                env.reset()
    assert np.array_equal(np.stack(recs[0].actions), np.stack(recs[1].actions))


def test_one_env_hot_path_refuses_nan_features_before_acting():
    model = random_closed_model()
    rec = Recorder()
    env = MacroActionWrapper(rec, model, scale=2.0)
    single = env._decoder.closed._single
    assert single is not None
    env.reset(seed=0)
    env.step(np.zeros(model.latent_dim, np.float32))
    sent = len(rec.actions)
    single.w_inj[...] = np.nan  # weights gone bad after the wrapper was built
    with pytest.raises(ValueError, match="decoded NaN or inf features"):
        env.step(np.zeros(model.latent_dim, np.float32))
    assert len(rec.actions) == sent


def _two_mode_prior(top_mean: float, other_mean: float, top_weight: float = 0.7):
    """A 2-Gaussian prior over one latent dim, the same at every state (zero weights, set
    biases): log-weights, then (mean, log-variance) of each component."""
    prior = SkillPrior(SkillPriorConfig(obs_dim=3, latent_dim=1, hidden=(4,), components=2))
    last = prior.net[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(torch.tensor([math.log(top_weight), math.log(1 - top_weight),
                                      top_mean, math.log(0.04), other_mean, math.log(0.04)]))
    return prior


def test_prior_density_of_the_top_component():
    from macroact.agents.sac_prior import prior_log_density

    prior = _two_mode_prior(1.5, -1.5)
    z, s = torch.tensor([[1.4], [-1.5], [0.0]]), torch.zeros(3, 3)
    top = torch.distributions.Normal(1.5, 0.2).log_prob(z[:, 0])
    assert torch.allclose(prior_log_density(prior, z, s, top=True), top, atol=1e-5)
    # the whole mixture gives the other mode its weight; the top component alone does not
    whole = prior_log_density(prior, z, s)
    assert whole[1] > top[1] + 10 and torch.allclose(whole[0], top[0] + math.log(0.7),
                                                     atol=1e-3)


def test_policy_fitted_to_the_top_component_starts_on_that_mode():
    from macroact.agents.sac_prior import PriorSAC, init_at_prior

    class Still(gym.Env):
        observation_space = gym.spaces.Box(-1, 1, (3,), np.float32)
        action_space = gym.spaces.Box(-1, 1, (1,), np.float32)

        def reset(self, *, seed=None, options=None):
            return np.zeros(3, np.float32), {}

        def step(self, action):
            return np.zeros(3, np.float32), 0.0, True, False, {}

    states = np.random.default_rng(0).uniform(-1, 1, (256, 3)).astype(np.float32)
    for top_mean in (1.5, -1.5):
        agent = PriorSAC("MlpPolicy", Still(), prior=_two_mode_prior(top_mean, -top_mean),
                         scale=3.0, seed=0, device="cpu")
        with pytest.raises(ValueError, match="'mixture' or 'top'"):
            init_at_prior(agent, states, steps=1, component="largest")
        info = init_at_prior(agent, states, steps=400, component="top")
        z = 3.0 * agent.predict(states[:16], deterministic=True)[0][:, 0]
        assert np.all(np.abs(z - top_mean) < 0.3), z  # on the top mode, not between the modes
        assert info["kl_after"] < info["kl_before"]


def test_sac_config_rejects_an_unknown_prior_init_component():
    from macroact.agents.sac import SACRunConfig

    with pytest.raises(ValueError, match="prior_init_component must be 'mixture' or 'top'"):
        SACRunConfig(env_id="macroact/Reaching2D-v1", prior_init_component="best")
