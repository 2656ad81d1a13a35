"""Demonstrations: Minari-shaped recording, save/load round trips and action chunking."""

import numpy as np
import pytest

from macroact.data.demos import Chunks, EpisodeData, chunk_actions, collect

REACHING, REACHER = "macroact/Reaching2D-v0", "macroact/ReacherSparse-v0"


def synthetic(lengths, act_dim=2, low=-1.0, high=1.0):
    """Episodes whose action (i, t) holds (i + 1) * 1000 + t in every dimension."""
    acts = [np.full((n, act_dim), 0.0) + ((i + 1) * 1000 + np.arange(n))[:, None]
            for i, n in enumerate(lengths)]
    return EpisodeData(
        observations=[np.zeros((n + 1, 3), np.float32) for n in lengths], actions=acts,
        rewards=[np.zeros(n) for n in lengths],
        terminations=[np.arange(n) == n - 1 for n in lengths],
        truncations=[np.zeros(n, bool) for n in lengths],
        factors=np.arange(len(lengths))[:, None], success=np.ones(len(lengths), bool),
        factor_names=("id",), env_id="synthetic", low=np.full(act_dim, low),
        high=np.full(act_dim, high))


@pytest.fixture(scope="module")
def reaching():
    return collect(REACHING, episodes=3, seed=0)


def test_collect_has_minari_shapes(reaching):
    data = reaching
    assert len(data) == 3 and data.factor_names == ("goal", "side", "curvature")
    assert data.factors.shape == (3, 3) and data.factors.dtype == np.int64
    for obs, act, rew, term, trunc, states in zip(data.observations, data.actions, data.rewards,
                                                  data.terminations, data.truncations,
                                                  data.states):
        n = len(act)
        assert obs.shape == (n + 1, 5) and act.shape == (n, 2) and act.dtype == np.float32
        assert rew.shape == term.shape == trunc.shape == (n,)
        assert states.shape == (n + 1, 2)  # reset info and every step carry state_features
        np.testing.assert_allclose(states[:, :2], obs[:, :2], atol=1e-6)
        assert term[-1] and not term[:-1].any() and rew.sum() == 1.0
    assert data.success_rate == 1.0
    np.testing.assert_array_equal(data.low, [-1, -1])
    # The goal factor is the env's goal, seen in the observation.
    for f, obs in zip(data.factors, data.observations):
        assert np.isclose(obs[0, 2], (-0.1, 0.1)[f[0]])


def test_collect_is_seeded():
    a = collect(REACHER, episodes=2, seed=5)
    b = collect(REACHER, episodes=2, seed=5)
    np.testing.assert_array_equal(a.factors, b.factors)
    for x, y in zip(a.observations, b.observations):
        np.testing.assert_array_equal(x, y)
    assert a.observations[0].shape[1] == 10 and a.success.all()


def test_save_load_round_trip(reaching, tmp_path):
    path = reaching.save(tmp_path / "demos.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demos.npz"]  # no temp file left
    back = EpisodeData.load(path)
    assert (back.env_id, back.factor_names, back.seed) == (REACHING, reaching.factor_names, 0)
    for name in ("observations", "actions", "rewards", "terminations", "truncations", "states"):
        for x, y in zip(getattr(reaching, name), getattr(back, name), strict=True):
            assert x.dtype == y.dtype
            np.testing.assert_array_equal(x, y)
    for name in ("factors", "success", "low", "high"):
        np.testing.assert_array_equal(getattr(reaching, name), getattr(back, name))


def test_load_rejects_foreign_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        EpisodeData.load(tmp_path / "missing.npz")
    np.savez(tmp_path / "other.npz", sequences=np.zeros((2, 3, 2)))
    with pytest.raises(ValueError, match="not written by EpisodeData.save"):
        EpisodeData.load(tmp_path / "other.npz")


def test_chunks_never_cross_episode_ends_and_follow_the_stride():
    data = synthetic([25, 7, 40])
    chunks = chunk_actions(data, horizon=10, stride=5)
    assert isinstance(chunks, Chunks) and chunks.actions.shape[1:] == (10, 2)
    assert chunks.actions.dtype == np.float32
    # Episode 0: starts 0, 5, 10, 15; episode 1 (7 < 10) dropped; episode 2: 0..30.
    np.testing.assert_array_equal(chunks.episode, [0] * 4 + [2] * 7)
    np.testing.assert_array_equal(chunks.start, [0, 5, 10, 15, 0, 5, 10, 15, 20, 25, 30])
    values = chunks.actions[:, :, 0]
    np.testing.assert_array_equal(values // 1000 - 1, np.repeat(chunks.episode[:, None], 10, 1))
    np.testing.assert_array_equal(values % 1000, chunks.start[:, None] + np.arange(10))
    np.testing.assert_array_equal(chunks.factors[:, 0], chunks.episode)
    assert (chunks.length == 10).all() and chunks.valid.all()


def test_default_stride_is_the_horizon():
    chunks = chunk_actions(synthetic([25]), horizon=10)
    np.testing.assert_array_equal(chunks.start, [0, 10])


def test_episodes_shorter_than_the_horizon_give_no_chunk_under_drop():
    chunks = chunk_actions(synthetic([25, 7]), horizon=30)
    assert len(chunks) == 0 and chunks.actions.shape == (0, 30, 2)
    assert chunks.factors.shape == (0, 1) and chunks.valid.shape == (0, 30)


@pytest.mark.parametrize("tail, pad", [("pad_last", 24.0), ("pad_zero", 0.0)])
def test_tail_rules_pad_one_chunk_per_episode(tail, pad):
    data = synthetic([25, 7])
    chunks = chunk_actions(data, horizon=10, tail=tail)
    np.testing.assert_array_equal(chunks.episode, [0, 0, 0, 1])
    np.testing.assert_array_equal(chunks.start, [0, 10, 20, 0])
    np.testing.assert_array_equal(chunks.length, [10, 10, 5, 7])
    tail_chunk = chunks.actions[2, :, 0]
    np.testing.assert_array_equal(tail_chunk[:5], 1000 + np.arange(20, 25))
    np.testing.assert_array_equal(tail_chunk[5:], pad + (1000 if tail == "pad_last" else 0))
    short = chunks.actions[3, :, 0]
    np.testing.assert_array_equal(short[:7], 2000 + np.arange(7))
    assert chunks.valid[3].tolist() == [True] * 7 + [False] * 3
    # An episode that splits evenly gets no padded chunk.
    assert len(chunk_actions(synthetic([20]), horizon=10, tail=tail)) == 2


def test_chunking_real_demonstrations(reaching):
    chunks = chunk_actions(reaching, horizon=16, stride=8, tail="pad_zero")
    assert chunks.factors.shape == (len(chunks), 3)
    for c, e, s, n in zip(chunks.actions, chunks.episode, chunks.start, chunks.length):
        np.testing.assert_array_equal(c[:n], reaching.actions[e][s:s + n])


@pytest.mark.parametrize("kwargs, match", [
    (dict(horizon=0), "horizon"),
    (dict(horizon=2.5), "horizon"),
    (dict(horizon=4, stride=0), "stride"),
    (dict(horizon=4, tail="pad"), "tail"),
])
def test_chunk_actions_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        chunk_actions(synthetic([25, 7]), **kwargs)


def test_pad_zero_needs_zero_inside_the_action_bounds():
    with pytest.raises(ValueError, match="pad_last"):
        chunk_actions(synthetic([5], low=0.5, high=2.0), horizon=4, tail="pad_zero")
    with pytest.raises(ValueError, match="EpisodeData"):
        chunk_actions([np.zeros((5, 2))], horizon=4)


@pytest.mark.parametrize("kwargs, match", [
    (dict(env_id="Reacher-v5", episodes=1), "unknown env id"),
    (dict(env_id=REACHING, episodes=0), "episodes"),
    (dict(env_id=REACHING, episodes=1, seed=-1), "seed"),
    (dict(env_id=REACHING, episodes=1, env_kwargs={"max_episode_steps": -1}), "time limit"),
])
def test_collect_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        collect(**kwargs)


def test_episode_data_checks_its_fields():
    good = synthetic([3, 4])
    with pytest.raises(ValueError, match="n \\+ 1"):
        EpisodeData(**{**vars(good), "observations": [np.zeros((3, 3)), np.zeros((5, 3))]})
    with pytest.raises(ValueError, match="factor_names"):
        EpisodeData(**{**vars(good), "factor_names": ("a", "b")})
    with pytest.raises(ValueError, match="episodes"):
        EpisodeData(**{**vars(good), "rewards": [np.zeros(3)]})


def test_select_keeps_whole_episodes_in_order(reaching):
    sub = reaching.select([2, 0])
    assert len(sub) == 2 and sub.env_id == reaching.env_id
    for field in ("observations", "actions", "rewards", "terminations", "truncations", "states"):
        np.testing.assert_array_equal(getattr(sub, field)[0], getattr(reaching, field)[2])
        np.testing.assert_array_equal(getattr(sub, field)[1], getattr(reaching, field)[0])
    np.testing.assert_array_equal(sub.factors, reaching.factors[[2, 0]])
    mask = np.zeros(len(reaching), bool)
    mask[1] = True
    np.testing.assert_array_equal(reaching.select(mask).actions[0], reaching.actions[1])
    with pytest.raises(ValueError, match="outside"):
        reaching.select([len(reaching)])
    with pytest.raises(ValueError, match="boolean mask must have shape"):
        reaching.select(mask[:-1])


def test_where_picks_the_episodes_with_the_labels(reaching):
    goal = int(reaching.factors[0, 0])
    sub = reaching.where(goal=goal)
    expected = np.flatnonzero(reaching.factors[:, 0] == goal)
    assert 0 < len(sub) == len(expected) <= len(reaching)
    assert np.all(sub.factors[:, 0] == goal)
    np.testing.assert_array_equal(sub.actions[-1], reaching.actions[expected[-1]])
    both = reaching.where(goal=goal, side=int(reaching.factors[0, 1]))
    assert np.all(both.factors[:, :2] == reaching.factors[0, :2])
    with pytest.raises(ValueError, match="unknown factor names \\['elbow'\\]"):
        reaching.where(elbow=0)
    with pytest.raises(ValueError, match="no episode has the labels"):
        reaching.where(goal=99)
    with pytest.raises(ValueError, match="integer label"):
        reaching.where(goal=0.5)


def _replay(data, i):
    """Observations of episode ``i``'s recorded actions executed from its reset seed."""
    import gymnasium as gym

    from macroact.seeding import seeds

    env = gym.make(data.env_id)
    obs, _ = env.reset(seed=int(seeds("demo", len(data), data.seed)[i]))
    out = [obs]
    for a in data.actions[i]:
        out.append(env.step(a)[0])
    return np.stack(out)


def test_action_noise_executes_noisy_actions_and_records_the_demonstrators():
    clean = collect(REACHER, episodes=3, seed=2)
    noisy = collect(REACHER, episodes=3, seed=2, action_noise=0.2)
    assert (clean.action_noise, noisy.action_noise) == (0.0, 0.2)
    np.testing.assert_array_equal(clean.factors, noisy.factors)  # the same plans
    for i in range(3):
        np.testing.assert_array_equal(clean.observations[i][0], noisy.observations[i][0])
        # Recorded actions replay the clean demos exactly, but not the noisy ones: the env
        # executed other actions than the recorded ones.
        np.testing.assert_array_equal(_replay(clean, i), clean.observations[i])
        replayed = _replay(noisy, i)
        n = min(len(replayed), len(noisy.observations[i]))
        assert np.abs(replayed[:n] - noisy.observations[i][:n]).max() > 1e-3
        assert np.all(np.abs(noisy.actions[i]) <= 1.0)
    assert noisy.success.all()  # the demonstrator corrects for the noise


def test_action_noise_survives_save_and_load(tmp_path):
    noisy = collect(REACHING, episodes=2, seed=0, action_noise=0.1)
    back = EpisodeData.load(noisy.save(tmp_path / "d.npz"))
    assert back.action_noise == 0.1 and back.select([1]).action_noise == 0.1


@pytest.mark.parametrize("noise", [-0.1, float("nan"), True, "0.1"])
def test_action_noise_must_be_a_non_negative_number(noise):
    with pytest.raises(ValueError, match="action_noise"):
        collect(REACHING, episodes=1, action_noise=noise)
    with pytest.raises(ValueError, match="action_noise"):
        EpisodeData(**{**vars(synthetic([2])), "action_noise": noise})


def test_bursts_execute_random_actions_in_some_episodes_and_record_the_demonstrators(
        tmp_path):
    clean = collect(REACHER, episodes=6, seed=1)
    assert collect(REACHER, episodes=6, seed=1, bursts=0.0).collection == {}
    burst = collect(REACHER, episodes=6, seed=1, bursts=1.0, burst_steps=5, burst_within=5)
    assert burst.collection == {"bursts": 1.0, "burst_steps": 5, "burst_within": 5}
    np.testing.assert_array_equal(clean.factors, burst.factors)  # the same plans
    for i in range(6):  # every episode (14 steps or more) was pushed off its course
        replayed = _replay(burst, i)
        n = min(len(replayed), len(burst.observations[i]))
        assert np.abs(replayed[:n] - burst.observations[i][:n]).max() > 1e-3
    half = collect(REACHER, episodes=40, seed=1, bursts=0.5, burst_steps=5, burst_within=5)
    pushed = [not np.array_equal(a, b) for a, b in
              zip(half.actions, collect(REACHER, episodes=40, seed=1).actions)]
    assert 8 <= sum(pushed) <= 32  # about half of the episodes
    back = EpisodeData.load(burst.save(tmp_path / "b.npz"))
    assert back.collection == burst.collection and back.select([0]).collection == \
        burst.collection


@pytest.mark.parametrize("kwargs, match", [
    ({"bursts": 1.5}, "bursts must be a fraction"), ({"bursts": True}, "bursts"),
    ({"bursts": 0.5, "burst_steps": 0}, "burst_steps must be an integer >= 1"),
    ({"bursts": 0.5, "burst_within": 2.5}, "burst_within must be an integer >= 1"),
    ({"demonstrator_kwargs": {"replan": True}}, "does not take \\['replan'\\]")])
def test_collect_names_bad_burst_and_demonstrator_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        collect(REACHING, episodes=1, **kwargs)


def test_cli_collect_action_noise(tmp_path, capsys):
    from macroact.commands import main

    out = tmp_path / "d.npz"
    assert main(["collect", REACHING, "--episodes", "2", "--action-noise", "0.1",
                 "--out", str(out)]) == 0
    assert EpisodeData.load(out).action_noise == 0.1
    assert main(["collect", REACHING, "--episodes", "1", "--action-noise", "0.1",
                 "--demonstrator", "maze", "--out", str(tmp_path / "e.npz")]) == 2
    assert "--demonstrator-kwargs" in capsys.readouterr().err
    assert not (tmp_path / "e.npz").exists()


def test_cli_collect_bursts_and_a_replanning_demonstrator(tmp_path, capsys):
    from macroact.commands import main

    out = tmp_path / "g.npz"
    assert main(["collect", "macroact/Gripper-v1", "--episodes", "2", "--bursts", "1",
                 "--burst-steps", "5", "--demonstrator-kwargs", "replan=true",
                 "--out", str(out)]) == 0
    assert EpisodeData.load(out).collection == {
        "demonstrator_kwargs": {"replan": True}, "bursts": 1.0, "burst_steps": 5,
        "burst_within": 100}
    assert main(["collect", REACHING, "--episodes", "1", "--bursts", "2",
                 "--out", str(tmp_path / "h.npz")]) == 2
    assert "bursts must be a fraction" in capsys.readouterr().err
    assert not (tmp_path / "h.npz").exists()
