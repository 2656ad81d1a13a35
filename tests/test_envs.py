"""Environments: API checkers, sparse success reward, time limits, and scripted demonstrators."""

import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import macroact  # noqa: F401  (registers the macroact/ ids)
from macroact.envs import make_demonstrator
from macroact.envs.reacher_sparse import (ReacherDemonstrator, ReacherSparseEnv, all_factors,
                                          forward_kinematics, inverse_kinematics)
from macroact.envs.reaching2d import (GOALS, Reaching2DDemonstrator, Reaching2DEnv,
                                      arc_positions, reference_actions)

DATA = Path(__file__).parent / "data"
REACHING, REACHER = "macroact/Reaching2D-v0", "macroact/ReacherSparse-v0"


def run_episode(env, demo, seed, rng, factors=None):
    """One demonstrator episode: (factors, rewards, terminations, truncations, last info)."""
    obs, info = env.reset(seed=seed)
    f = demo.reset(obs, info, rng, factors=factors)
    rewards, terms, truncs = [], [], []
    done = False
    while not done:
        action = demo.act(obs)
        assert env.action_space.contains(action)
        obs, r, term, trunc, info = env.step(action)
        rewards.append(r)
        terms.append(term)
        truncs.append(trunc)
        done = term or trunc
    return f, np.array(rewards), np.array(terms), np.array(truncs), info


@pytest.mark.parametrize("make", [Reaching2DEnv, lambda: gym.make(REACHING).unwrapped,
                                  ReacherSparseEnv])
def test_env_checkers(make):
    with warnings.catch_warnings():
        # ReacherSparseEnv wraps the MuJoCo env, whose Box is unbounded (Reacher-v5's own).
        warnings.filterwarnings("ignore", message=".*different from the unwrapped.*")
        warnings.filterwarnings("ignore", message=".*infinity.*")
        warnings.filterwarnings("ignore", message=".*not having a spec.*")
        gym_check_env(make(), skip_render_check=True)
    sb3_check_env(make(), warn=True)


@pytest.mark.parametrize("env_id", [REACHING, REACHER])
def test_registered_envs_pass_sb3_checker_and_round_trip_their_spec(env_id):
    env = gym.make(env_id)
    sb3_check_env(env, warn=True)
    remade = env.spec.make()
    assert remade.spec.id == env_id and type(remade.unwrapped) is type(env.unwrapped)


# ---------------------------------------------------------------- Reaching2D

def test_reaching2d_reset_goal_option_and_observation():
    env = Reaching2DEnv()
    for goal in (0, 1):
        obs, info = env.reset(seed=0, options={"goal": goal})
        np.testing.assert_allclose(obs, [0.0, 0.0, *GOALS[goal], 0.0], atol=1e-7)
        assert info["goal_index"] == goal and not info["is_success"]
    drawn = {int(env.reset(seed=s)[1]["goal_index"]) for s in range(20)}
    assert drawn == {0, 1}
    for bad in ({"goal": 2}, {"goal": True}, {"target": 0}):
        with pytest.raises(ValueError):
            env.reset(options=bad)
    with pytest.raises(ValueError, match="max_step"):
        Reaching2DEnv(max_step=0.0)


def test_reaching2d_rewards_only_on_success():
    env = Reaching2DEnv()
    env.reset(seed=0, options={"goal": 1})
    for _ in range(30):  # wander away from the goal: never rewarded
        obs, r, term, trunc, info = env.step(np.array([1.0, -1.0], np.float32))
        assert (r, term, trunc, info["is_success"]) == (0.0, False, False, False)
    env.reset(seed=0, options={"goal": 1})
    env.position = GOALS[1] - np.array([0.0, 0.051])  # just outside the radius
    _, r, term, _, _ = env.step(np.zeros(2, np.float32))
    assert (r, term) == (0.0, False)
    _, r, term, _, info = env.step(np.array([0.0, 0.1], np.float32))  # 0.002 closer: inside
    assert (r, term, info["is_success"]) == (1.0, True, True)


def test_reaching2d_terminates_at_its_horizon_and_stays_in_the_box():
    env = gym.make(REACHING)
    env.reset(seed=0)
    for t in range(1, 101):
        obs, r, term, trunc, info = env.step(np.zeros(2, np.float32))
        # A finite-horizon task: the end is a termination (the TimeLimit fires with it).
        assert term == (t == 100) and r == 0.0 and not info["is_success"]
    assert obs[4] == 1.0
    bare = Reaching2DEnv(horizon=300)
    bare.reset(seed=0)
    for t in range(1, 301):
        obs, _, term, trunc, _ = bare.step(np.array([1.0, 1.0], np.float32))
        assert term == (t == 300) and not trunc and bare.observation_space.contains(obs)


def test_reference_actions_trace_the_arcs_and_end_at_the_goal():
    actions, factors = reference_actions(100)
    assert actions.shape == (20, 100, 2) and actions.dtype == np.float32
    assert np.abs(actions).max() <= 1.0
    with np.load(DATA / "2d_reaching_100.npz") as f:
        np.testing.assert_array_equal(factors, f["label"])  # the authors' row order
    positions = np.cumsum(actions.astype(np.float64) * 0.02, axis=1)
    for a, (g, s, c) in zip(positions, factors):
        np.testing.assert_allclose(a, arc_positions(g, s, c, 100)[1:], atol=1e-6)
        np.testing.assert_allclose(a[-1], GOALS[g], atol=1e-6)


def test_arcs_share_the_authors_geometry_but_not_their_sample_points():
    with np.load(DATA / "2d_reaching_100.npz") as f:
        state, label = f["state"], f["label"]
    with np.load(DATA / "2d_reaching_1000.npz") as f:
        state1000 = f["state"]
    k_table = {0: [10, 8.75, 7.5, 6.25, 5], 1: [-5, -6.25, -7.5, -8.75, -10]}  # the authors' arrays: k per curvature
    for i, (g, s, c) in enumerate(label):
        gx = GOALS[g][0]
        centre = GOALS[g] / 2 + k_table[s][c] * np.array([1.0, -gx])
        radius = np.linalg.norm(centre)
        ours = arc_positions(g, s, c, 100)
        for points in (ours, state[i], state1000[i]):
            np.testing.assert_allclose(np.linalg.norm(points - centre, axis=1), radius, rtol=1e-9)
        # Same end points as the authors' 1000-point arc: the origin and the goal.
        np.testing.assert_allclose(ours[[0, -1]], state1000[i][[0, -1]], atol=1e-12)
        # Our p_t sits at angle fraction t/100, the authors' at 10t/999: close, not equal.
        gap = np.linalg.norm(ours[:100] - state[i], axis=1).max()
        assert 1e-4 < gap < 2e-3


def test_reaching2d_demonstrator_always_succeeds():
    env = gym.make(REACHING)
    demo = make_demonstrator(REACHING, env)
    assert isinstance(demo, Reaching2DDemonstrator)
    rng = np.random.default_rng(0)
    seen = set()
    for seed in range(20):
        f, rewards, terms, truncs, info = run_episode(env, demo, seed, rng)
        assert f.dtype == np.int64 and f[0] == info["goal_index"]
        assert np.all((0 <= f) & (f < np.array(demo.factor_sizes)))
        assert info["is_success"] and terms[-1] and not truncs.any()
        assert rewards.sum() == 1.0 and rewards[-1] == 1.0 and not terms[:-1].any()
        seen.add(tuple(f))
    assert len(seen) > 8  # the plans vary


def test_reaching2d_demonstrator_actions_equal_reference_actions():
    env = Reaching2DEnv(success_radius=1e-9)  # never succeeds: all 100 actions run
    demo = Reaching2DDemonstrator(env)
    reference, factors = reference_actions(100)
    for row in (0, 13):
        g, s, c = factors[row]
        obs, info = env.reset(seed=0, options={"goal": int(g)})
        demo.reset(obs, info, np.random.default_rng(0), factors=factors[row])
        acts = []
        for _ in range(100):
            acts.append(demo.act(obs))
            obs, *_ = env.step(acts[-1])
        np.testing.assert_allclose(np.array(acts), reference[row], atol=1e-5)
        np.testing.assert_allclose(env.position, GOALS[g], atol=1e-6)
    with pytest.raises(ValueError, match="goal"):
        demo.reset(obs, info, np.random.default_rng(0), factors=(1 - g, 0, 0))


# ---------------------------------------------------------------- ReacherSparse

def test_reacher_sparse_reward_and_truncation():
    env = gym.make(REACHER)
    env.reset(seed=0)
    for t in range(1, 51):
        _, r, term, trunc, info = env.step(np.zeros(2, np.float32))
        assert r == float(info["distance"] < 0.02) == float(info["is_success"])
        assert term == info["is_success"]
        if term:
            break
        assert trunc == (t == 50)
    assert info["state_features"].shape == (2,)
    with pytest.raises(ValueError, match="success_radius"):
        ReacherSparseEnv(success_radius=-1.0)
    with pytest.raises(ValueError, match="terminate_on_success"):
        ReacherSparseEnv(terminate_on_success="no")


def test_reacher_sparse_without_termination_runs_to_the_time_limit_and_holds():
    """Demos collected with ``terminate_on_success=False`` reach the target, stay on it, and
    every step on it is rewarded; with the default the same plan ends at the first one."""
    ends = {}
    for terminate in (True, False):
        env = gym.make(REACHER, terminate_on_success=terminate)
        demo = make_demonstrator(REACHER, env)
        f, rewards, terms, truncs, info = run_episode(env, demo, 0, np.random.default_rng(0),
                                                      all_factors()[0])
        ends[terminate] = (len(rewards), rewards, terms, truncs, info)
    n, rewards, terms, truncs, info = ends[True]
    assert terms[-1] and rewards.sum() == 1.0 and n < 50
    n_hold, rewards, terms, truncs, info = ends[False]
    assert n_hold == 50 and truncs[-1] and not terms.any()
    assert rewards[n - 1] == 1.0 and rewards[:n - 1].sum() == 0.0  # the same first success
    assert rewards[n:].mean() > 0.9 and info["is_success"]  # held on the target


def test_inverse_kinematics_reaches_targets_with_both_elbows():
    rng = np.random.default_rng(0)
    for target in rng.uniform(-0.14, 0.14, size=(20, 2)):
        q_up, q_down = inverse_kinematics(target, 0), inverse_kinematics(target, 1)
        assert q_up[1] > 0 > q_down[1]
        for q in (q_up, q_down):
            np.testing.assert_allclose(forward_kinematics(q), target, atol=1e-9)


def test_reacher_demonstrator_succeeds_with_every_plan():
    env = gym.make(REACHER)
    demo = make_demonstrator(REACHER, env)
    assert isinstance(demo, ReacherDemonstrator)
    rng = np.random.default_rng(0)
    plans = all_factors()
    results = []
    for seed in range(24):  # each of the 8 plans three times
        f, rewards, terms, truncs, info = run_episode(env, demo, seed, rng, plans[seed % 8])
        np.testing.assert_array_equal(f, plans[seed % 8])
        results.append(info["is_success"])
        assert rewards.sum() == float(info["is_success"]) and terms[-1] == info["is_success"]
    assert np.mean(results) >= 0.9
    with pytest.raises(ValueError, match="factors"):
        demo.reset(None, {}, rng, factors=(0, 2, 0))
