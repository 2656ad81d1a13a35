"""experiments/gripper_failures.py: the failure classes and the per-step ball tracking."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import load_experiment

W, RIM = 0.085, 0.06  # Gripper's basket inner half-width and rim height


@pytest.fixture(scope="module")
def failures():
    return load_experiment("gripper_failures")


@pytest.mark.parametrize("args, expected", [
    ((True, 0.0, 0.0, 1.0, 1.0), "success"),  # success wins over everything else
    ((False, 0.01, 0.0, 0.0, 0.02), "never lifted"),
    ((False, 0.01, 0.05, 0.0, 0.02), "never lifted, the other ball lifted instead"),
    ((False, 0.2, 0.0, 0.3, 0.2), "still carried at the end"),
    ((False, 0.2, 0.0, 0.02, 0.03), "in its basket, not released"),
    ((False, 0.2, 0.0, -0.02, 0.03), "in its basket, not released"),
    ((False, 0.2, 0.0, 0.1, 0.03), "dropped outside its basket"),
    ((False, 0.2, 0.0, -0.1, 0.03), "dropped outside its basket"),
])
def test_classify(failures, args, expected):
    assert failures.classify(*args, inner_half_width=W, rim=RIM) == expected


def test_tracker_follows_a_demonstrated_pick_and_place(failures):
    """The scripted demonstrator's successful episode: the target ball rose well above LIFT
    and ends inside its basket below the rim; the other ball never rose."""
    import gymnasium as gym

    import macroact  # noqa: F401
    from macroact.envs import make_demonstrator

    env = failures.BallTracker(gym.make("macroact/Gripper-v1"))
    demo = make_demonstrator("macroact/Gripper-v1", env.unwrapped)
    obs, info = env.reset(seed=2)
    demo.reset(obs, info, np.random.default_rng(0))
    assert env.rise.tolist() == [0.0, 0.0]
    done, success = False, False
    while not done:
        obs, _, term, trunc, info = env.step(demo.act(obs))
        success = success or info["is_success"]
        done = term or trunc
    assert success
    colour = env.unwrapped.target_colour
    assert env.rise[colour] > 2 * failures.LIFT
    assert env.rise[1 - colour] < failures.LIFT
    x, z = (env.last[i] for i in failures._BALL_XZ[colour])
    offset = x - env.last[failures._BASKET_X[colour]]
    assert abs(offset) < W and z < RIM
    # the same final state without the success flag reads as not released
    assert failures.classify(False, env.rise[colour], env.rise[1 - colour], offset, z,
                             W, RIM) == "in its basket, not released"
