"""Macro-action wrappers: exact actions sent, episode ends, rewards, latent choice, checkers."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3.common.vec_env import DummyVecEnv

from macroact.models.dsae import DSAE, DSAEConfig
from macroact.models.favae import FAVAE, FAVAEConfig
from macroact.wrapper import MacroActionVecEnv, MacroActionWrapper, mean_latent_kl

H = 8
LOW = np.array([-2.0, 0.0], np.float32)
HIGH = np.array([1.0, 0.5], np.float32)


@pytest.fixture(autouse=True)
def _torch():
    torch.set_num_threads(1)
    torch.manual_seed(0)


class RecordingEnv(gym.Env):
    """Records every action; reward at the t-th step of an episode is t (1, 2, 3, ...).

    Terminates (with ``is_success``) at step ``terminate_at`` and truncates at ``truncate_at``
    when given. The observation is (t + a random offset drawn at reset, the last action).
    """

    metadata = {"render_modes": []}

    def __init__(self, terminate_at=None, truncate_at=None, low=LOW, high=HIGH):
        self.action_space = spaces.Box(np.asarray(low, np.float32), np.asarray(high, np.float32))
        self.observation_space = spaces.Box(-np.inf, np.inf, (3,), np.float32)
        self.terminate_at, self.truncate_at = terminate_at, truncate_at
        self.actions = []
        self.t, self.offset = 0, 0.0

    def _obs(self, action):
        return np.array([self.t + self.offset, *action], np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        self.offset = float(self.np_random.uniform(-1, 1))
        return self._obs(np.zeros(2)), {"offset": self.offset}

    def step(self, action):
        self.actions.append(np.array(action, copy=True))
        self.t += 1
        terminated = self.terminate_at is not None and self.t >= self.terminate_at
        truncated = self.truncate_at is not None and self.t >= self.truncate_at
        return self._obs(action), float(self.t), terminated, truncated, \
            {"t": self.t, "is_success": terminated}


def make_model(h=H, n_features=2, low=LOW, high=HIGH):
    model = FAVAE(FAVAEConfig(seq_len=h), n_features=n_features)
    model.normalizer.set_bounds(low, high)
    return model.eval()


class DecodeSpy:
    """Replaces ``model.decode``; counts calls and keeps the codes it was given."""

    def __init__(self, model):
        self.decode, self.calls, self.codes = model.decode, 0, []
        model.decode = self

    def __call__(self, z, *args, **kwargs):
        self.calls += 1
        self.codes.append(torch.as_tensor(z).clone())
        return self.decode(z, *args, **kwargs)


@pytest.fixture
def model():
    return make_model()


# -- what reaches the env ------------------------------------------------------------------
def test_sends_exactly_the_decoded_clipped_actions():
    wide = make_model(low=[-6.0, -3.0], high=[5.0, 3.0])
    with pytest.warns(UserWarning, match="well beyond"):
        env = MacroActionWrapper(RecordingEnv(), wide, scale=2.0, record_actions=True,
                                 fast_decode=False)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    sent, expected_all = [], []
    for _ in range(3):
        a = rng.uniform(-1, 1, 14).astype(np.float32)
        decoded = wide.decode(torch.from_numpy(2.0 * a)[None])[0].numpy()
        expected = np.clip(decoded, LOW, HIGH)
        obs, _, _, _, info = env.step(a)
        expected_all.append(expected)
        sent.append(np.stack(env.unwrapped.actions[-H:]))
        np.testing.assert_array_equal(info["executed_actions"], expected)
        np.testing.assert_array_equal(obs[1:], expected[-1])  # last primitive observation
        assert info["macro_steps"] == H and info["t"] == len(env.unwrapped.actions)
    np.testing.assert_array_equal(np.stack(sent), np.stack(expected_all))
    assert len(env.unwrapped.actions) == 3 * H
    decoded_any = np.stack(expected_all)
    assert (decoded_any == LOW).any() or (decoded_any == HIGH).any(), "no action was clipped"
    np.testing.assert_array_equal(env.decode(a), expected_all[-1])


def test_stops_at_termination_and_passes_success(model):
    env = MacroActionWrapper(RecordingEnv(terminate_at=3), model)
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    assert (terminated, truncated, info["macro_steps"]) == (True, False, 3)
    assert info["is_success"] is True and info["t"] == 3
    assert reward == 1 + 2 + 3
    assert len(env.unwrapped.actions) == 3
    assert obs[0] == pytest.approx(3 + env.unwrapped.offset)


def test_stops_at_truncation(model):
    env = MacroActionWrapper(RecordingEnv(truncate_at=H + 4), model)
    env.reset(seed=0)
    *_, terminated, truncated, info = env.step(np.zeros(14, np.float32))
    assert (terminated, truncated, info["macro_steps"]) == (False, False, H)
    _, reward, terminated, truncated, info = env.step(np.zeros(14, np.float32))
    assert (terminated, truncated, info["macro_steps"]) == (False, True, 4)
    assert reward == sum(range(H + 1, H + 5))
    assert info["is_success"] is False and len(env.unwrapped.actions) == H + 4


def test_discounted_reward(model):
    env = MacroActionWrapper(RecordingEnv(), model, reward="discounted", gamma=0.5)
    env.reset(seed=0)
    _, reward, *_ = env.step(np.zeros(14, np.float32))
    assert reward == pytest.approx(sum(0.5 ** t * (t + 1) for t in range(H)))
    _, reward, *_ = env.step(np.zeros(14, np.float32))  # rewards H+1..2H, discount restarts
    assert reward == pytest.approx(sum(0.5 ** t * (H + t + 1) for t in range(H)))
    env = MacroActionWrapper(RecordingEnv(terminate_at=2), model, reward="discounted", gamma=0.9)
    env.reset(seed=0)
    assert env.step(np.zeros(14, np.float32))[1] == pytest.approx(1 + 0.9 * 2)


# -- which latents the action drives ----------------------------------------------------------
@pytest.mark.parametrize("spec, dims", [
    ("all", tuple(range(14))),
    ("ladders:1,2", tuple(range(8, 14))),
    ({"ladders": [2, 0]}, (12, 13) + tuple(range(8))),
    ([0, 3, 9], (0, 3, 9)),
    (np.array([13, 1]), (13, 1)),
])
def test_latent_selection_sets_the_chosen_dims(model, spec, dims):
    env = MacroActionWrapper(RecordingEnv(), model, latents=spec, scale=3.0, fast_decode=False)
    assert env.latent_dims == dims
    assert env.action_space == spaces.Box(-1.0, 1.0, (len(dims),), np.float32)
    spy = DecodeSpy(model)
    env.reset(seed=0)
    a = np.linspace(-1, 1, len(dims), dtype=np.float32)
    env.step(a)
    expected = np.zeros(14, np.float32)
    expected[list(dims)] = 3.0 * a
    assert spy.calls == 1
    np.testing.assert_allclose(spy.codes[0].numpy(), expected[None], rtol=0, atol=1e-6)


def test_anchor_fills_the_other_dims(model):
    anchor = np.arange(14, dtype=np.float32) / 10
    env = MacroActionWrapper(RecordingEnv(), model, latents=[2, 5], anchor=anchor, scale=2.0,
                             fast_decode=False)
    spy = DecodeSpy(model)
    env.reset(seed=0)
    env.step(np.array([0.5, -1.0], np.float32))
    expected = anchor.copy()
    expected[[2, 5]] = [1.0, -2.0]
    np.testing.assert_allclose(spy.codes[0].numpy()[0], expected, atol=1e-6)


def test_active_latents_from_data(model):
    data = np.random.default_rng(0).uniform(LOW, HIGH, (64, H, 2)).astype(np.float32)
    kl = mean_latent_kl(model, data, batch_size=16)
    mu, logvar = model.encode(data)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    ref = torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0)).mean(0)
    np.testing.assert_allclose(kl, ref.numpy(), rtol=1e-4, atol=1e-6)
    threshold = float(np.median(kl))
    env = MacroActionWrapper(RecordingEnv(), model, latents="active", data=data,
                             kl_threshold=threshold)
    assert env.latent_dims == tuple(np.flatnonzero(kl > threshold))
    assert 0 < len(env.latent_dims) < 14 and env.action_space.shape == (len(env.latent_dims),)
    np.testing.assert_allclose(env.latent_kl, kl)
    with pytest.raises(ValueError, match="no latent dim has mean KL above"):
        MacroActionWrapper(RecordingEnv(), model, latents="active", data=data, kl_threshold=1e9)
    with pytest.raises(ValueError, match="needs the training data"):
        MacroActionWrapper(RecordingEnv(), model, latents="active")
    with pytest.raises(ValueError, match="features but the model was built for 2"):
        MacroActionWrapper(RecordingEnv(), model, latents="active", data=data[..., :1])


# -- env checkers and SB3 ---------------------------------------------------------------------
def _check_both(env):
    from gymnasium.utils.env_checker import check_env as gym_check
    from stable_baselines3.common.env_checker import check_env as sb3_check

    # Expected: the wrapper is what we check, and the fake env's observations are unbounded.
    expected = ("is different from the unwrapped version", "observation space m")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gym_check(env, skip_render_check=True)
        sb3_check(env)
    unexpected = [str(w.message) for w in caught if not any(e in str(w.message) for e in expected)]
    assert not unexpected


def test_env_checkers_pass_on_a_wrapped_fake_env(model):
    _check_both(MacroActionWrapper(RecordingEnv(truncate_at=100), model, latents="ladders:2",
                                   record_actions=True))


def test_env_checkers_pass_on_wrapped_pendulum():
    model = make_model(h=5, n_features=1, low=[-2.0], high=[2.0])
    _check_both(MacroActionWrapper(gym.make("Pendulum-v1"), model, latents=[0, 12, 13]))


def test_ppo_smoke_on_wrapped_env():
    from stable_baselines3 import PPO

    model = make_model(h=5, n_features=1, low=[-2.0], high=[2.0])
    env = MacroActionWrapper(gym.make("Pendulum-v1"), model, latents="ladders:1,2")
    agent = PPO("MlpPolicy", env, n_steps=64, batch_size=32, seed=0, device="cpu").learn(512)
    obs, _ = env.reset(seed=1)
    action, _ = agent.predict(obs, deterministic=True)
    assert action.shape == (6,) and env.action_space.contains(action)
    venv = MacroActionVecEnv([lambda: gym.make("Pendulum-v1")] * 2, model, latents="ladders:1,2")
    agent = PPO("MlpPolicy", venv, n_steps=16, batch_size=16, n_epochs=1, seed=0,
                device="cpu").learn(32)
    assert agent.predict(venv.reset())[0].shape == (2, 6)


# -- the vectorised variant ---------------------------------------------------------------------
def test_vec_env_equals_separate_wrappers_with_one_decode_per_step(model):
    ends = [dict(terminate_at=3), dict(terminate_at=11), dict(truncate_at=13), {}]
    kw = dict(latents="ladders:0,2", record_actions=True, fast_decode=False)
    ref = DummyVecEnv([lambda e=e: MacroActionWrapper(RecordingEnv(**e), model, **kw) for e in ends])
    vec = MacroActionVecEnv([lambda e=e: RecordingEnv(**e) for e in ends], model, **kw)
    assert vec.action_space == ref.action_space and vec.latent_dims == ref.get_attr("latent_dims")[0]
    ref.seed(7)
    vec.seed(7)
    np.testing.assert_array_equal(ref.reset(), vec.reset())
    assert ref.reset_infos == vec.reset_infos
    spy = DecodeSpy(model)
    rng = np.random.default_rng(0)
    n_done = 0
    for step in range(5):
        actions = rng.uniform(-1, 1, (len(ends), 10)).astype(np.float32)
        calls = spy.calls
        r_obs, r_rew, r_done, r_info = ref.step(actions)
        assert spy.calls == calls + len(ends)
        v_obs, v_rew, v_done, v_info = vec.step(actions)
        assert spy.calls == calls + len(ends) + 1  # one batched decode for all sub-envs
        # Batched and single decodes round differently in float32 (~1e-7).
        np.testing.assert_allclose(v_obs, r_obs, rtol=0, atol=1e-5)
        np.testing.assert_allclose(v_rew, r_rew, rtol=0, atol=1e-5)
        np.testing.assert_array_equal(v_done, r_done)
        for ri, vi in zip(r_info, v_info):
            assert sorted(ri) == sorted(vi)
            for key in ("macro_steps", "t", "is_success", "TimeLimit.truncated"):
                assert ri[key] == vi[key], key
            np.testing.assert_allclose(vi["executed_actions"], ri["executed_actions"], atol=1e-5)
            if "terminal_observation" in ri:
                np.testing.assert_allclose(vi["terminal_observation"], ri["terminal_observation"],
                                           atol=1e-5)
        assert vec.reset_infos == ref.reset_infos
        n_done += int(v_done.sum())
    assert n_done >= 3
    # Each sub-env received exactly the primitive actions of its own macro steps, no more.
    for r_env, v_env in zip(ref.envs, vec.envs):
        assert len(r_env.unwrapped.actions) == len(v_env.actions)


def test_vec_env_rejects_bad_actions_and_mixed_envs(model):
    vec = MacroActionVecEnv([RecordingEnv, RecordingEnv], model, latents=[0, 1])
    vec.reset()
    with pytest.raises(ValueError, match=r"shape \(2, 2\)"):
        vec.step(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="same actions"):
        MacroActionVecEnv([RecordingEnv, lambda: RecordingEnv(low=[-1, -1], high=[1, 1])], model)


# -- construction checks ----------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, error, match", [
    (dict(latents="ladders:3"), ValueError, r"ladders \[3\] do not exist"),
    (dict(latents="ladders:a"), ValueError, "could not read ladder indices"),
    (dict(latents="ladders:"), ValueError, "could not read ladder indices"),
    (dict(latents={"ladders": []}), ValueError, "ladders is empty"),
    (dict(latents={"dims": [1]}), ValueError, "single key 'ladders'"),
    (dict(latents=[14]), ValueError, r"latent dims \[14\] are out of range"),
    (dict(latents=[-1]), ValueError, "out of range"),
    (dict(latents=[]), ValueError, "latent dims is empty"),
    (dict(latents=[1, 1]), ValueError, "repeat an index"),
    (dict(latents=[1.0]), ValueError, "must be integers"),
    (dict(latents="bogus"), ValueError, "latents must be 'all'"),
    (dict(latents=3), TypeError, "got a int"),
    (dict(scale=0.0), ValueError, "scale must be a positive number"),
    (dict(scale=-1), ValueError, "scale must be a positive number"),
    (dict(scale=float("nan")), ValueError, "scale must be a positive number"),
    (dict(reward="mean"), ValueError, "reward must be one of"),
    (dict(reward="discounted"), ValueError, r"needs gamma in \(0, 1\]"),
    (dict(reward="discounted", gamma=0.0), ValueError, r"needs gamma in \(0, 1\]"),
    (dict(reward="discounted", gamma=1.5), ValueError, r"needs gamma in \(0, 1\]"),
    (dict(gamma=0.9), ValueError, "only used with reward='discounted'"),
    (dict(anchor=np.zeros(3)), ValueError, r"anchor must be a full latent code of shape \(14,\)"),
    (dict(anchor=np.full(14, np.nan)), ValueError, "anchor contains NaN"),
    (dict(kl_threshold=-1.0), ValueError, "kl_threshold must be a number >= 0"),
])
def test_bad_arguments_raise(model, kwargs, error, match):
    with pytest.raises(error, match=match):
        MacroActionWrapper(RecordingEnv(), model, **kwargs)


def test_incompatible_env_or_model_raises(model):
    with pytest.raises(ValueError, match="Discrete action space"):
        MacroActionWrapper(gym.make("CartPole-v1"), model)
    with pytest.raises(ValueError, match="model decodes 2-dim actions but Pendulum-v1 takes "
                                         "1-dim actions; train on Pendulum-v1 demos"):
        MacroActionWrapper(gym.make("Pendulum-v1"), model)
    with pytest.raises(TypeError, match="must be a FAVAE"):
        MacroActionWrapper(RecordingEnv(), object())
    with pytest.raises(TypeError, match="cannot decode a latent code"):
        MacroActionWrapper(RecordingEnv(), DSAE(DSAEConfig(seq_len=H, hidden=8), n_features=2))
    far = make_model(low=[5.0, 5.0], high=[6.0, 6.0])
    with pytest.raises(ValueError, match="do not overlap"):
        MacroActionWrapper(RecordingEnv(), far)
    unfitted = FAVAE(FAVAEConfig(seq_len=H), n_features=2).eval()
    with pytest.warns(UserWarning, match="never set"):
        MacroActionWrapper(RecordingEnv(low=[-1, -1], high=[1, 1]), unfitted)
    short = make_model(h=H, n_features=1, low=[-2.0], high=[2.0])
    with pytest.warns(UserWarning, match="exceeds Pendulum-v1's max_episode_steps=4"):
        MacroActionWrapper(gym.make("Pendulum-v1", max_episode_steps=4), short)


def test_bad_step_actions_raise(model):
    env = MacroActionWrapper(RecordingEnv(), model, latents=[0, 1])
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action must have shape \(2,\)"):
        env.step(np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="NaN or inf"):
        env.step(np.array([0.0, np.nan], np.float32))
    assert env.unwrapped.actions == []


def test_model_from_path_and_spec_rebuild(model, tmp_path):
    path = tmp_path / "favae.pt"
    pendulum_model = make_model(h=5, n_features=1, low=[-2.0], high=[2.0])
    pendulum_model.save(path)
    env = MacroActionWrapper(gym.make("Pendulum-v1"), str(path), latents="ladders:2")
    assert isinstance(env.model, FAVAE) and not env.model.training
    a = np.array([0.3, -0.7], np.float32)
    z = torch.cat([torch.zeros(12), torch.from_numpy(3.0 * a)])[None]
    expected = pendulum_model.decode(z)
    np.testing.assert_allclose(env.decode(a), np.clip(expected[0].numpy(), -2, 2), atol=1e-6)
    rebuilt = gym.make(env.spec)
    assert isinstance(rebuilt, MacroActionWrapper) and rebuilt.latent_dims == (12, 13)
    np.testing.assert_array_equal(rebuilt.decode(a), env.decode(a))


# -- the dense fast path -------------------------------------------------------------------------
@pytest.mark.parametrize("spec, anchor", [("all", None), ("ladders:1,2", None), ([2, 5], "ramp")])
def test_fast_decode_sends_the_same_actions_as_the_model(spec, anchor):
    wide = make_model(low=[-6.0, -3.0], high=[5.0, 3.0])
    with torch.no_grad():  # make the gates matter
        for g in wide.gates.values():
            g.add_(torch.randn(g.shape, generator=torch.Generator().manual_seed(0)))
    anchor = np.arange(14, dtype=np.float32) / 10 if anchor == "ramp" else None
    envs = []
    for fast in (True, False):
        with pytest.warns(UserWarning, match="well beyond"):
            envs.append(MacroActionWrapper(RecordingEnv(), wide, latents=spec, anchor=anchor,
                                           scale=2.0, record_actions=True, fast_decode=fast))
    fast_env, torch_env = envs
    assert fast_env._decoder._bound is not None and torch_env._decoder._bound is None
    rng = np.random.default_rng(1)
    for env in envs:
        env.reset(seed=0)
    for _ in range(3):
        a = rng.uniform(-1, 1, fast_env.action_space.shape).astype(np.float32)
        _, r_fast, _, _, i_fast = fast_env.step(a)
        _, r_torch, _, _, i_torch = torch_env.step(a)
        np.testing.assert_allclose(i_fast["executed_actions"], i_torch["executed_actions"],
                                   rtol=0, atol=1e-5)
        # what the env received is exactly what the wrapper reports it executed
        np.testing.assert_array_equal(np.stack(fast_env.unwrapped.actions[-H:]),
                                      i_fast["executed_actions"])


def test_fast_vec_env_decodes_once_per_step(model):
    vec = MacroActionVecEnv([lambda: RecordingEnv()] * 3, model, latents="all")
    bound = vec._decoder._bound
    assert bound is not None
    calls = []

    def spy(a):
        calls.append(a.shape)
        return bound(a)

    vec._decoder._bound = spy
    vec.reset()
    vec.step(np.zeros((3, 14), np.float32))
    assert calls == [(3, 14)]


def test_long_horizons_fall_back_to_the_model():
    from macroact.models.fastdecode import DenseDecoder

    assert DenseDecoder.from_model(FAVAE(FAVAEConfig(seq_len=1000), 2)) is None
