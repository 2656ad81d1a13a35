"""Tests for the Gripper environment and its scripted demonstrator."""

from __future__ import annotations

import itertools
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import macroact  # noqa: F401  (registers macroact/Gripper-v0)
from macroact.envs import make_demonstrator
from macroact.envs.gripper import SLOT_X, GripperDemonstrator, GripperEnv

ENV_ID = "macroact/Gripper-v0"


def _place_ball(env: GripperEnv, colour: int, x: float, z: float) -> None:
    """Teleport a ball (0 red, 1 blue) to rest at ``(x, z)``, away from the gripper."""
    model, data = env.model, env.data
    adr = model.jnt_qposadr[model.joint(f"{('red', 'blue')[colour]}_ball_x").id]
    dof = model.jnt_dofadr[model.joint(f"{('red', 'blue')[colour]}_ball_x").id]
    data.qpos[adr:adr + 2] = (x, z)
    data.qvel[dof:dof + 3] = 0.0


def test_env_checkers_pass():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the checkers warn on any doubtful detail
        gym_check_env(GripperEnv(), skip_render_check=True)
        sb3_check_env(GripperEnv(), warn=True)


def test_registered_env_has_400_step_limit():
    env = gym.make(ENV_ID)
    assert env.spec.max_episode_steps == 400
    assert isinstance(env.unwrapped, GripperEnv)


def test_demonstrator_succeeds_with_every_plan_combination():
    env = gym.make(ENV_ID)
    demo = make_demonstrator(ENV_ID, env)
    assert isinstance(demo, GripperDemonstrator)
    assert len(demo.factor_names) == len(demo.factor_sizes) == 8
    plans_seen = set()
    all_plans = set(itertools.product((0, 1), repeat=3))
    for seed in range(40):  # at least 10 episodes, until every plan combination ran
        if seed >= 10 and plans_seen == all_plans:
            break
        obs, info = env.reset(seed=seed)
        factors = demo.reset(obs, info, np.random.default_rng(seed))
        assert factors.dtype == np.int64 and factors.shape == (8,)
        assert np.all((factors >= 0) & (factors < np.array(demo.factor_sizes)))
        assert factors[0] == env.unwrapped.target_colour
        assert tuple(factors[1:5]) == env.unwrapped.slots
        plans_seen.add(tuple(factors[5:].tolist()))
        rewards = []
        terminated = truncated = False
        while not (terminated or truncated):
            action = demo.act(obs)
            assert env.action_space.contains(action)
            obs, reward, terminated, truncated, info = env.step(action)
            rewards.append(reward)
        assert terminated and not truncated and info["is_success"], f"seed {seed} failed"
        assert rewards[-1] == 1.0 and not any(rewards[:-1])
    assert plans_seen == all_plans


def test_reward_only_when_target_ball_rests_in_its_basket():
    env = GripperEnv()
    # Red target; red ball in slot 0, blue ball in 1, red basket in 2, blue basket in 3.
    env.reset(seed=0, options={"target": 0, "slots": [0, 1, 2, 3]})
    no_op = np.array([0.0, 0.0, -1.0], dtype=np.float32)
    _place_ball(env, 1, SLOT_X[2], 0.03)  # the other ball in the target's basket: no reward
    _place_ball(env, 0, SLOT_X[3], 0.03)  # the target ball in the other basket: no reward
    for _ in range(20):
        _, reward, terminated, _, info = env.step(no_op)
        assert reward == 0.0 and not terminated and not info["is_success"]
    _place_ball(env, 0, SLOT_X[2] + 0.04, 0.2)  # dropped into its own basket
    for _ in range(100):
        _, reward, terminated, _, info = env.step(no_op)
        if terminated:
            break
        assert reward == 0.0 and not info["is_success"]
    assert terminated and reward == 1.0 and info["is_success"]


def test_observation_shows_target_colour_and_layout():
    env = GripperEnv()
    for target in (0, 1):
        obs, info = env.reset(seed=1, options={"target": target, "slots": [3, 0, 2, 1]})
        assert env.observation_space.contains(obs)
        np.testing.assert_array_equal(obs[-2:], np.eye(2)[target])
        np.testing.assert_allclose(obs[[3, 5, 7, 9]], np.array(SLOT_X)[[3, 0, 2, 1]], atol=1e-6)
        features = info["state_features"]
        assert features.shape == (12,) and len(env.state_feature_names) == 12
        # basket 1 (red) x, basket 2 (blue) x, ball 1 (red) x, ball 2 (blue) x
        np.testing.assert_allclose(features[[4, 6, 8, 10]], obs[[7, 9, 3, 5]], atol=1e-6)
    _, _, _, _, info = env.step(env.action_space.sample())
    assert info["state_features"].shape == (12,)


def test_reset_options_fix_layout_and_seed_draws_it():
    env = GripperEnv()
    options = {"target": 1, "slots": (2, 0, 3, 1)}
    for seed in (0, 1, 2):
        env.reset(seed=seed, options=options)
        assert env.target_colour == 1 and env.slots == (2, 0, 3, 1)
    env.reset(seed=5, options={"target": 0})
    slots = env.slots
    env.reset(seed=5)
    assert env.slots == slots  # fixing the target leaves the drawn slots unchanged
    assert sorted(slots) == [0, 1, 2, 3]


@pytest.mark.parametrize("options, named", [
    ({"target": 2}, "2"),
    ({"target": True}, "True"),
    ({"slots": [0, 0, 1, 2]}, "[0, 0, 1, 2]"),
    ({"slots": [0, 1, 2]}, "[0, 1, 2]"),
    ({"colour": 1}, "colour"),
])
def test_bad_reset_options_raise(options, named):
    with pytest.raises(ValueError, match=named.replace("[", r"\[").replace("]", r"\]")):
        GripperEnv().reset(options=options)


def test_bad_constructor_arguments_raise():
    with pytest.raises(ValueError, match="-0.1"):
        GripperEnv(max_step=-0.1)
    with pytest.raises(ValueError, match="human"):
        GripperEnv(render_mode="human")
    with pytest.raises(ValueError, match="CartPoleEnv"):
        GripperDemonstrator(gym.make("CartPole-v1"))


def test_seeded_episodes_are_deterministic():
    def rollout() -> np.ndarray:
        env = GripperEnv()
        env.action_space.seed(3)
        observations = [env.reset(seed=3)[0]]
        for _ in range(30):
            observations.append(env.step(env.action_space.sample())[0])
        return np.stack(observations)

    np.testing.assert_array_equal(rollout(), rollout())
