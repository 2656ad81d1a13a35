"""Demonstration transitions in SAC's replay buffer (agents/demo_replay.py, ``demo_replay``)."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3.common.buffers import ReplayBuffer

import macroact  # noqa: F401  (registers the macroact/ ids)
from macroact.agents import common
from macroact.agents.demo_replay import demo_transitions, fill_replay_buffer
from macroact.agents.sac import SACRunConfig, train_sac
from macroact.data.demos import collect
from macroact.data.skills import model_inputs
from macroact.evaluation.encode import encode_chunks
from macroact.models.closed_loop import ClosedLoopFAVAE, ClosedLoopFAVAEConfig
from macroact.models.favae import FAVAE, FAVAEConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ENV = "macroact/Reaching2D-v1"
TINY = {"learning_starts": 50, "batch_size": 32, "buffer_size": 2000, "train_freq": 4,
        "policy_kwargs": {"net_arch": [16, 16]}}


@pytest.fixture(scope="module")
def demos():
    data = collect(ENV, episodes=4, seed=3)
    assert all(t[-1] for t in data.terminations)  # the demonstrator reaches every goal
    return data


def _models(demos):
    torch.manual_seed(0)
    open_loop = FAVAE(FAVAEConfig(seq_len=16, channels=(8, 8, 8), latent_dims=(2, 2, 2)),
                      n_features=2).eval()
    obs_dim = demos.observations[0].shape[1]
    closed = ClosedLoopFAVAE(ClosedLoopFAVAEConfig(seq_len=16, obs_dim=obs_dim,
                                                   channels=(8, 8, 8), latent_dims=(2, 2, 2),
                                                   feature_dim=8, head_hidden=(16,)),
                             2 + obs_dim).eval()
    closed.normalizer.set_bounds(np.concatenate([demos.low, -np.ones(obs_dim)]),
                                 np.concatenate([demos.high, 2 * np.ones(obs_dim)]))
    return open_loop, closed


def test_flat_transitions_are_the_demo_steps_in_the_agents_action_units(demos):
    t = demo_transitions(demos)
    n = sum(len(a) for a in demos.actions)
    assert {k: len(v) for k, v in t.items()} == dict.fromkeys(t, n)
    acts = np.concatenate(demos.actions)
    back = demos.low + (t["actions"] + 1) / 2 * (demos.high - demos.low)
    np.testing.assert_allclose(back, acts, atol=1e-5)
    assert np.abs(t["actions"]).max() < 1.0  # inside tanh's range
    np.testing.assert_allclose(t["rewards"], np.concatenate(demos.rewards), rtol=1e-6)
    np.testing.assert_allclose(t["observations"],
                               np.concatenate([o[:-1] for o in demos.observations]), rtol=1e-6)
    np.testing.assert_allclose(t["next_observations"],
                               np.concatenate([o[1:] for o in demos.observations]), rtol=1e-6)
    ends = np.cumsum([len(a) for a in demos.actions]) - 1
    assert set(np.flatnonzero(t["dones"])) == set(ends)  # every demo ends at a termination
    assert not t["timeouts"].any()


@pytest.mark.parametrize("which", ["open_loop", "closed_loop"])
@pytest.mark.parametrize("tail", ["pad_zero", "pad_last"])
def test_latent_transitions_are_the_wrappers_decisions_over_each_demo(demos, which, tail):
    model = dict(zip(("open_loop", "closed_loop"), _models(demos)))[which]
    dims, scale = [4, 0, 1], 2.0
    t = demo_transitions(demos, model, tail=tail, scale=scale, latent_dims=dims)
    chunks, x, first = model_inputs(model, demos, tail=tail)
    assert len(t["actions"]) == len(chunks) == sum(-(-len(a) // 16) for a in demos.actions)
    mu = encode_chunks(model, x)["mu"]
    np.testing.assert_allclose(t["actions"], np.clip(mu[:, dims] / scale, -1, 1), atol=1e-6)
    np.testing.assert_allclose(t["observations"], first)
    for e in range(len(demos)):
        rows = np.flatnonzero(chunks.episode == e)
        # The decisions partition the episode: rewards add up to its return, each decision
        # starts where the last one ended, and only the last one ends the episode, terminally.
        assert t["rewards"][rows].sum() == pytest.approx(demos.rewards[e].sum(), rel=1e-6)
        np.testing.assert_allclose(t["next_observations"][rows[:-1]],
                                   t["observations"][rows[1:]])
        np.testing.assert_allclose(t["next_observations"][rows[-1]], demos.observations[e][-1],
                                   rtol=1e-6)
        assert t["dones"][rows].tolist() == [False] * (len(rows) - 1) + [True]
        assert not t["timeouts"][rows].any()


def test_a_demo_cut_off_without_termination_bootstraps_through_its_end(demos):
    cut = copy.deepcopy(demos)
    cut.actions[0] = cut.actions[0][:20]
    for k in ("rewards", "terminations", "truncations"):
        getattr(cut, k)[0] = getattr(cut, k)[0][:20]
    cut.observations[0] = cut.observations[0][:21]
    t = demo_transitions(cut)
    assert t["dones"][19] and t["timeouts"][19]  # done for the buffer, but SB3 bootstraps
    model = _models(cut)[0]
    lt = demo_transitions(cut, model, tail="pad_zero")
    assert lt["dones"][1] and lt["timeouts"][1] and not lt["dones"][0]  # 16 + 4 steps


def test_bad_inputs_are_named(demos):
    model = _models(demos)[0]
    with pytest.raises(ValueError, match="EpisodeData"):
        demo_transitions({"actions": []})
    with pytest.raises(ValueError, match="latent_dims"):
        demo_transitions(demos, model, latent_dims=[99])
    with pytest.raises(ValueError, match="scale"):
        demo_transitions(demos, model, scale=0)
    wide = FAVAE(FAVAEConfig(seq_len=16, channels=(8, 8, 8)), n_features=3)
    with pytest.raises(ValueError, match="3-dim actions"):
        demo_transitions(demos, wide)
    with pytest.raises(ValueError, match="demo_replay"):
        SACRunConfig(env_id=ENV, flat=True, chunk=4, demo_replay="d.npz")


def _buffer(n_rows: int, obs_dim: int, act_dim: int, n_envs: int = 1) -> ReplayBuffer:
    return ReplayBuffer(n_rows, spaces.Box(-np.inf, np.inf, (obs_dim,), np.float32),
                        spaces.Box(-1, 1, (act_dim,), np.float32), device="cpu", n_envs=n_envs,
                        handle_timeout_termination=True)


def test_fill_replay_buffer_keeps_every_field_and_refuses_what_does_not_fit(demos):
    t = demo_transitions(demos)
    n, obs_dim = len(t["actions"]), t["observations"].shape[1]
    t["timeouts"][3] = t["dones"][3] = True  # one timeout: stored so that SB3 bootstraps
    buf = _buffer(n + 10, obs_dim, 2)
    assert fill_replay_buffer(buf, t) == n and buf.pos == n
    np.testing.assert_allclose(buf.observations[:n, 0], t["observations"])
    np.testing.assert_allclose(buf.next_observations[:n, 0], t["next_observations"])
    np.testing.assert_allclose(buf.actions[:n, 0], t["actions"])
    np.testing.assert_allclose(buf.rewards[:n, 0], t["rewards"])
    assert buf.dones[:n, 0].astype(bool).tolist() == t["dones"].tolist()
    assert buf.timeouts[:n, 0].astype(bool).tolist() == t["timeouts"].tolist()
    batch = buf._get_samples(np.array([3, int(np.flatnonzero(t["dones"])[-1])]))
    assert batch.dones[:, 0].tolist() == [0.0, 1.0]  # the timeout bootstraps, the end does not
    two = _buffer(n + 10, obs_dim, 2, n_envs=2)  # (n + 10) // 2 rows of two
    assert fill_replay_buffer(two, t) == n // 2 * 2 and two.pos == n // 2
    np.testing.assert_allclose(two.observations[0], t["observations"][:2])
    with pytest.raises(ValueError, match="buffer_size"):
        fill_replay_buffer(_buffer(n - 1, obs_dim, 2), t)
    with pytest.raises(ValueError, match="agent's env"):
        fill_replay_buffer(_buffer(n + 10, obs_dim + 1, 2), t)


def _killed(*args, **kwargs):
    raise KeyboardInterrupt("killed")


def test_sac_starts_with_the_demos_in_its_buffer_and_keeps_them_on_resume(demos, tmp_path,
                                                                          monkeypatch):
    path = tmp_path / "demos.npz"
    demos.save(path)
    n = sum(len(a) for a in demos.actions)
    cfg = SACRunConfig(env_id=ENV, timesteps=300, checkpoint_every=200, sac=TINY,
                       demo_replay=str(path))
    out = tmp_path / "sac"
    with monkeypatch.context() as m:  # killed after training, before its evaluation
        m.setattr(common, "evaluate_policy", _killed)
        with pytest.raises(KeyboardInterrupt):
            train_sac(cfg, out, eval_episodes=2)
    state = json.loads((out / "checkpoint" / "state.json").read_text())
    assert state["demo_replay"] == {"transitions": n, "episodes": len(demos),
                                    "mean_reward": pytest.approx(
                                        float(np.mean(np.concatenate(demos.rewards)))),
                                    "terminal": len(demos)}
    with np.load(out / "checkpoint" / state["files"]["buffer"]) as f:
        # The demos come first, then the run's own 200 steps.
        t = demo_transitions(demos)
        np.testing.assert_allclose(f["observations"][:n, 0], t["observations"])
        np.testing.assert_allclose(f["actions"][:n, 0], t["actions"])
        assert int(f["pos"]) == n + 200
    res = train_sac(cfg, out, eval_episodes=2, resume=True)
    assert res["demo_replay"]["transitions"] == n and res["resumes"] == 1
    other = tmp_path / "other.npz"
    collect("macroact/Reaching2D-v0", episodes=1, seed=0).save(other)
    with pytest.raises(ValueError, match="Reaching2D-v0"):
        train_sac(SACRunConfig(env_id=ENV, timesteps=100, sac=TINY, demo_replay=str(other)),
                  tmp_path / "bad", eval_episodes=1)
