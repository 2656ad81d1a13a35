"""The raw-chunk baseline: ChunkActionWrapper's exact actions, rewards and episode ends, both
env checkers, its config (kind "chunk") and a `macroact sac --chunk 5` run that saves and loads."""

import json

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

import macroact  # noqa: F401  (registers the macroact/ ids)
from macroact.agents import common, hyperparams
from macroact.agents.ppo import PPORunConfig
from macroact.agents.sac import SACRunConfig
from macroact.chunk_wrapper import ChunkActionWrapper
from macroact.commands import main as cli_main
from test_wrapper import HIGH, LOW, RecordingEnv, _check_both

H = 5
ENV = "macroact/Reaching2D-v1"


def _expected(a, h=H):
    """The reference map: [-1, 1] onto [LOW, HIGH], step-major, clipped (float64)."""
    seq = LOW + (np.asarray(a, np.float64).reshape(h, 2) + 1) / 2 * (HIGH - LOW)
    return np.clip(seq, LOW, HIGH)


# -- what reaches the env ------------------------------------------------------------------
def test_sends_the_chunk_scaled_to_the_bounds_and_clipped():
    env = ChunkActionWrapper(RecordingEnv(), H, record_actions=True)
    assert env.action_space == spaces.Box(-1.0, 1.0, (H * 2,), np.float32)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    for i in range(3):
        a = rng.uniform(-1.5, 1.5, H * 2).astype(np.float32)  # some beyond [-1, 1]: clipped
        obs, _, _, _, info = env.step(a)
        sent = np.stack(env.unwrapped.actions[-H:])
        np.testing.assert_allclose(sent, _expected(a), rtol=0, atol=1e-6)
        assert sent.dtype == np.float32 and (sent >= LOW).all() and (sent <= HIGH).all()
        np.testing.assert_array_equal(info["executed_actions"], sent)
        np.testing.assert_array_equal(env.decode(a), sent)
        np.testing.assert_array_equal(obs[1:], sent[-1])  # the last primitive observation
        assert info["macro_steps"] == H and info["t"] == (i + 1) * H
    # Row t is primitive step t; -1 and 1 land exactly on the bounds, beyond them too.
    np.testing.assert_array_equal(env.decode([-1, 1, 1, -1, 0, 0, 3, -3, 1, 1]),
                                  [[-2, 0.5], [1, 0], [-0.5, 0.25], [1, 0], [1, 0.5]])


def test_rewards_are_summed_exactly_and_discounted_on_request():
    env = ChunkActionWrapper(RecordingEnv(), H)
    env.reset(seed=0)
    zero = np.zeros(H * 2, np.float32)
    assert env.step(zero)[1] == sum(range(1, H + 1))  # rewards 1..H
    assert env.step(zero)[1] == sum(range(H + 1, 2 * H + 1))
    env = ChunkActionWrapper(RecordingEnv(terminate_at=2), H, reward="discounted", gamma=0.9)
    env.reset(seed=0)
    assert env.step(zero)[1] == pytest.approx(1 + 0.9 * 2)


def test_stops_at_termination_or_truncation_mid_chunk():
    env = ChunkActionWrapper(RecordingEnv(terminate_at=3), H, record_actions=True)
    env.reset(seed=0)
    a = np.linspace(-1, 1, H * 2, dtype=np.float32)
    obs, reward, terminated, truncated, info = env.step(a)
    assert (terminated, truncated, info["macro_steps"]) == (True, False, 3)
    assert reward == 1 + 2 + 3 and info["is_success"] is True
    assert len(env.unwrapped.actions) == 3  # the chunk's last two rows never ran
    np.testing.assert_allclose(info["executed_actions"], _expected(a)[:3], atol=1e-6)
    assert obs[0] == pytest.approx(3 + env.unwrapped.offset)

    env = ChunkActionWrapper(RecordingEnv(truncate_at=H + 2), H)
    env.reset(seed=0)
    assert env.step(a)[2:4] == (False, False)
    _, reward, terminated, truncated, info = env.step(a)
    assert (terminated, truncated, info["macro_steps"]) == (False, True, 2)
    assert reward == (H + 1) + (H + 2) and len(env.unwrapped.actions) == H + 2


def test_env_checkers_pass_and_the_spec_rebuilds_the_wrapper():
    _check_both(ChunkActionWrapper(RecordingEnv(truncate_at=100), H, record_actions=True))
    pendulum = ChunkActionWrapper(gym.make("Pendulum-v1"), 4)
    _check_both(pendulum)
    rebuilt = gym.make(pendulum.spec)
    assert isinstance(rebuilt, ChunkActionWrapper) and rebuilt.horizon == 4
    assert rebuilt.action_space.shape == (4,)


@pytest.mark.parametrize("kwargs, match", [
    ({"horizon": 0}, "horizon must be an integer >= 1"),
    ({"horizon": 2.0}, "horizon must be an integer >= 1"),
    ({"horizon": True}, "horizon must be an integer >= 1"),
    ({"horizon": 2, "reward": "mean"}, "reward must be one of"),
    ({"horizon": 2, "gamma": 0.9}, "only used with reward='discounted'"),
    ({"horizon": 2, "reward": "discounted"}, "needs gamma in"),
])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ChunkActionWrapper(RecordingEnv(), **kwargs)


def test_unsuitable_envs_and_actions_raise():
    with pytest.raises(ValueError, match="infinite in dims \\[1\\].*ClipAction"):
        ChunkActionWrapper(RecordingEnv(high=[1.0, np.inf]), 2)
    with pytest.raises(ValueError, match="Discrete action space"):
        ChunkActionWrapper(gym.make("CartPole-v1"), 2)
    with pytest.warns(UserWarning, match="chunk horizon H=300 exceeds Pendulum-v1's"):
        ChunkActionWrapper(gym.make("Pendulum-v1"), 300)
    env = ChunkActionWrapper(RecordingEnv(), H)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="shape \\(10,\\) \\(horizon 5 x action_dim 2"):
        env.step(np.zeros((H, 2), np.float32))
    with pytest.raises(ValueError, match="NaN or inf"):
        env.step(np.full(H * 2, np.nan, np.float32))
    assert env.unwrapped.actions == []  # nothing was sent


# -- the agent option --------------------------------------------------------------------------
def test_chunk_config_has_its_own_settings_table_and_checks():
    cfg = SACRunConfig(env_id=ENV, chunk=H)
    assert cfg.kind == "chunk" and not cfg.one_step_actions
    assert cfg.sac_settings() == hyperparams.settings("sac", ENV, "chunk")
    assert hyperparams.load("ppo")["default"]["chunk"]
    assert SACRunConfig(env_id=ENV).one_step_actions
    assert SACRunConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="chunk must be an integer >= 0"):
        SACRunConfig(env_id=ENV, chunk=-1)
    with pytest.raises(ValueError, match="--flat --chunk H"):
        PPORunConfig(env_id=ENV, chunk=H)  # PPO is latent by default
    with pytest.raises(ValueError, match="--flat --chunk H"):
        SACRunConfig(env_id=ENV, chunk=H, flat=False, model="run")
    with pytest.raises(ValueError, match="drop bc_demos"):
        PPORunConfig(env_id=ENV, flat=True, chunk=H, bc_demos="d.npz")


def test_training_env_and_evaluation_count_primitive_steps():
    venv = common.make_env(ENV, True, 2, seed=0, normalize_obs=False, chunk=H)
    assert venv.action_space.shape == (H * 2,)
    venv.reset()
    _, _, _, infos = venv.step(np.zeros((2, H * 2), np.float32))
    assert [i["macro_steps"] for i in infos] == [H, H]
    # On symmetric bounds a zero chunk is H zero actions: the same episodes as flat zeros,
    # counted in primitive steps.
    chunked = common.evaluate_policy(lambda o, deterministic: (np.zeros(H * 2), None), ENV,
                                     True, episodes=2, chunk=H)
    flat = common.evaluate_policy(lambda o, deterministic: (np.zeros(2), None), ENV, True,
                                  episodes=2)
    assert chunked["mean_primitive_steps"] == flat["mean_primitive_steps"] > H
    assert chunked["mean_return"] == pytest.approx(flat["mean_return"])


def test_sac_chunk_command_trains_saves_and_rolls_out(tmp_path, capsys):
    out = tmp_path / "chunk_sac"
    argv = ["sac", ENV, "--chunk", str(H), "--timesteps", "300", "--eval-episodes", "2",
            "--sac", "learning_starts=20,batch_size=16,buffer_size=500,train_freq=4",
            "--out", str(out)]
    assert cli_main(argv) == 0
    assert "raw-chunk SAC (H=5) on macroact/Reaching2D-v1" in capsys.readouterr().out
    meta = json.loads((out / "agent.json").read_text())
    assert meta["config"]["chunk"] == H and meta["sac"]["learning_starts"] == 20
    result = json.loads((out / "eval.json").read_text())
    assert 300 <= result["primitive_steps"] < 300 + H  # counted by info["macro_steps"]
    assert cli_main(["rollout", str(out), "--episodes", "2"]) == 0
    assert "primitive steps per episode (2 episodes)" in capsys.readouterr().out


def test_ppo_chunk_command_implies_flat(tmp_path, capsys):
    out = tmp_path / "chunk_ppo"
    argv = ["ppo", ENV, "--chunk", str(H), "--timesteps", "100", "--n-envs", "1",
            "--eval-episodes", "1", "--out", str(out)]
    assert cli_main(argv) == 0
    assert "raw-chunk PPO (H=5) on macroact/Reaching2D-v1" in capsys.readouterr().out
    assert json.loads((out / "agent.json").read_text())["config"]["flat"] is True
    assert cli_main(["rollout", str(out), "--episodes", "1"]) == 0
    assert cli_main(["ppo", ENV, "--no-flat", "--chunk", "5", "--out", str(tmp_path / "x")]) == 2
    assert "needs --model" in capsys.readouterr().err
