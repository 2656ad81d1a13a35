"""experiments/skill_ceiling.py: the demonstrator's look-ahead leaves the env as it found it,
and the report reads its records."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import load_experiment


@pytest.fixture(scope="module")
def ceiling():
    return load_experiment("skill_ceiling")


def test_demo_chunk_restores_the_state_and_replays_exactly(ceiling):
    import gymnasium as gym

    import macroact  # noqa: F401
    from macroact.envs import make_demonstrator

    env = gym.make("macroact/ReacherSparse-v0")
    base = env.unwrapped
    demo = make_demonstrator("macroact/ReacherSparse-v0", env)
    obs, info = env.reset(seed=3)
    demo.reset(obs, info, np.random.default_rng(0))
    for _ in range(4):  # start mid-episode, with the arm moving
        obs = env.step(demo.act(obs))[0]
    qpos, qvel, t = base.data.qpos.copy(), base.data.qvel.copy(), base.data.time
    chunk = ceiling.demo_chunk(base, demo, ceiling.StateSnapshot(base), obs, 10)
    assert chunk.shape == (10, 2 + 10)
    np.testing.assert_array_equal(base.data.qpos, qpos)
    np.testing.assert_array_equal(base.data.qvel, qvel)
    assert base.data.time == t
    np.testing.assert_array_equal(chunk[0, 2:], obs.astype(np.float32))  # packed as float32
    # The chunk's actions, stepped for real, give the chunk's observations: the look-ahead
    # started from the true state and the restore left nothing behind.
    for k in range(10):
        np.testing.assert_allclose(chunk[k, 2:], obs, rtol=0, atol=1e-6)
        obs = env.step(chunk[k, :2])[0]
    # and the demonstrator moved the arm (a chunk of zeros would pass the checks above)
    assert np.abs(chunk[:, :2]).max() > 0.01


def _rec(row, decoder, noise, stream, successes):
    return {"row": row, "decoder": decoder, "action_noise": noise, "stream": stream,
            "episodes": len(successes), "successes": successes,
            "success_rate": float(np.mean(successes)), "final_distance": [0.01] * len(successes),
            "mean_primitive_steps": 25.0, "clipped_dims": None if decoder is None else 0.125,
            "machine": "test box"}


def test_report_lists_every_row_and_the_tune_stream_choice(ceiling):
    ok = lambda k: [True] * k + [False] * (10 - k)  # noqa: E731
    recs = []
    for stream in ceiling.STREAMS:
        recs.append(_rec("demonstrator", None, 0.0, stream, ok(10)))
        for noise, k in ((0.0, 6), (0.1, 8), (0.2, 9 if stream == "tune" else 7), (0.3, 9)):
            recs.append(_rec("demo codes", "closed-loop", noise, stream, ok(k)))
            recs.append(_rec("prior mean", "closed-loop", noise, stream, ok(2)))
        # a mixture prior's row never decides the noise, even when it scores highest
        recs.append({**_rec("demo codes", "closed-loop", 0.1, stream, ok(10)),
                     "prior_components": 8})
        recs.append({**_rec("prior mean", "closed-loop", 0.2, stream, ok(5)),
                     "prior_components": 8})
    # tune: 0.2 and 0.3 tie at 0.9, the smaller wins; the eval stream never decides
    assert ceiling.chosen_noise(recs) == 0.2
    text = ceiling.build_report(recs, "python experiments/skill_ceiling.py", dart_noise=0.2)
    eval_part, tune_part = text.split("## Tune stream")
    assert eval_part.count("| demo codes | closed-loop |") == 4
    assert "| demo codes | closed-loop | DART 0.2 | 0.70 | [" in eval_part
    assert "| demo codes | closed-loop | DART 0.2 | 0.90 | [" in tune_part
    assert "| demonstrator | primitive actions |  | 1.00 | [1.00, 1.00] |" in eval_part
    assert "| clean | 0.60 |" in eval_part and "| 0.125 |" in eval_part
    assert "**0.2**" in text and "(the same)" in text
    assert "| prior mean (8-Gaussian prior) | closed-loop | DART 0.2 | 0.50 |" in eval_part
    assert "DIFFERENT" in ceiling.build_report(recs, "x", dart_noise=0.1)
    assert "Command: `python experiments/skill_ceiling.py`" in text
    assert "<!-- notes -->" in text


def test_chosen_noise_needs_tune_stream_dart_records(ceiling):
    recs = [_rec("demo codes", "closed-loop", 0.1, "eval", [True]),
            _rec("demo codes", "closed-loop", 0.0, "tune", [True])]
    assert ceiling.chosen_noise(recs) is None


def test_gripper_look_ahead_restores_env_attributes_and_leaves_the_script_alone(ceiling):
    """The Gripper's position target lives outside MuJoCo's state and its script has stages:
    the look-ahead restores the one and leaves the other as found, and its chunk replays."""
    import gymnasium as gym

    import macroact  # noqa: F401
    from macroact.envs import make_demonstrator

    env = gym.make("macroact/Gripper-v1")
    base = env.unwrapped
    demo = make_demonstrator("macroact/Gripper-v1", env)
    obs, info = env.reset(seed=5)
    demo.reset(obs, info, np.random.default_rng(1))
    for _ in range(30):  # moving towards the ball, past the first stage boundary or not
        obs = env.step(demo.act(obs))[0]
    stage, timer = demo._stage, demo._timer
    target, qpos = base.ee_target.copy(), base.data.qpos.copy()
    chunk = ceiling.demo_chunk(base, demo, ceiling.StateSnapshot(base), obs, 50)
    assert chunk.shape == (50, 3 + 19)
    assert (demo._stage, demo._timer) == (stage, timer)
    np.testing.assert_array_equal(base.ee_target, target)
    np.testing.assert_array_equal(base.data.qpos, qpos)
    for k in range(50):
        np.testing.assert_allclose(chunk[k, 3:], obs, rtol=0, atol=1e-6)
        obs = env.step(chunk[k, :3])[0]
    assert np.abs(chunk[:, :2]).max() > 0.05  # the script moved the gripper


def test_watched_env_shows_the_demonstrator_every_executed_step(ceiling):
    import gymnasium as gym

    import macroact  # noqa: F401

    seen = []

    class Recorder:
        def act(self, obs):
            seen.append(np.array(obs))
            return np.zeros(3, np.float32)

    env = ceiling.watched(gym.make("macroact/Gripper-v1"), [Recorder()])
    obs, _ = env.reset(seed=0)
    first = obs.copy()
    for _ in range(3):
        obs = env.step(np.array([0.5, 0.0, -1.0], np.float32))[0]
    assert len(seen) == 3
    np.testing.assert_array_equal(seen[0], first)  # the observation the step was taken from
    assert not np.array_equal(seen[2], first)


def test_env_spec_reads_the_benchmark_table(ceiling):
    """The id, demo count and chunk horizon come from experiments/benchmark.py's ENVS, so
    the report cannot drift from the models it describes."""
    bench = ceiling.benchmark()
    for name in ceiling.ENV_SPECS:
        spec = ceiling.env_spec(name, bench)
        table = bench.ENVS[name]
        assert spec["env_id"] == table["env_id"]
        assert spec["horizon"] == table["macros"]["chunk"]["horizon"]
        assert spec["demos"] == f"{table['demos']:,}"
    bench.ENVS["gripper"] = {**bench.ENVS["gripper"], "demos": 1234}
    assert ceiling.env_spec("gripper", bench)["demos"] == "1,234"


@pytest.fixture(scope="module")
def tiny_skill_dir(tmp_path_factory):
    """An untrained closed-loop model (H = 5) and a Gaussian prior for ReacherSparse-v0."""
    import torch

    from macroact.models.closed_loop import ClosedLoopFAVAE, ClosedLoopFAVAEConfig
    from macroact.models.prior import SkillPrior, SkillPriorConfig

    d = tmp_path_factory.mktemp("skill")
    torch.manual_seed(0)
    model = ClosedLoopFAVAE(ClosedLoopFAVAEConfig(seq_len=5, obs_dim=10), n_features=12)
    model.normalizer.set_bounds(np.r_[-np.ones(2), -np.ones(10)], np.r_[np.ones(2), np.ones(10)])
    model.eval()
    model.save(d / "model.pt")
    prior = SkillPrior(SkillPriorConfig(obs_dim=10, latent_dim=model.latent_dim, hidden=(8,)))
    prior.obs_normalizer.fit(torch.randn(20, 10))
    prior.save(d / "prior.pt")
    return d


def test_code_noise_perturbs_the_chosen_codes_only(ceiling, tiny_skill_dir):
    """Noise is added after the code is chosen: the codes' spread is the same with and without
    it, and a noise far wider than the box pushes most dims past it (clipped)."""
    clean = ceiling.run_row("demo codes", tiny_skill_dir, 2, "eval")
    noisy = ceiling.run_row("demo codes", tiny_skill_dir, 2, "eval", code_noise=50.0)
    assert clean["code_noise"] == 0.0 and noisy["code_noise"] == 50.0
    assert clean["clipped_dims"] < 0.5 < noisy["clipped_dims"]
    assert clean["code_spread"] > 0 and noisy["code_spread"] > 0
    again = ceiling.run_row("demo codes", tiny_skill_dir, 2, "eval", code_noise=50.0)
    assert again["successes"] == noisy["successes"]  # seeded noise
    assert again["final_distance"] == noisy["final_distance"]


def test_code_precision_report_lists_models_by_noise():
    precision = load_experiment("code_precision")
    recs = [dict(_rec("demo codes", "closed-loop", 0.0, "eval", [True, False]), model=m,
                 code_noise=s, horizon=h, code_spread=1.5, command="cmd")
            for m, h in (("b_model", 5), ("a_model", 10)) for s in (0.4, 0.0)]
    text = precision.build_report(recs, ["cmd"])
    rows = [line for line in text.splitlines() if line.startswith("| a_model")
            or line.startswith("| b_model")]
    assert [r.split(" | ")[:3] for r in rows] == [["| a_model", "10", "0"],
                                                  ["| a_model", "10", "0.4"],
                                                  ["| b_model", "5", "0"],
                                                  ["| b_model", "5", "0.4"]]
    assert "| 0.50 |" in rows[0] and "1.50" in rows[0] and "`cmd`" in text
    with pytest.raises(SystemExit, match="stds must be numbers >= 0"):
        precision.main(["--noise", "-1"])
    with pytest.raises(SystemExit, match="no model.pt and prior.pt"):
        precision.main(["--models", "no_such_model"])
