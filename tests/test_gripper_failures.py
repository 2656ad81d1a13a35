"""experiments/gripper_failures.py: the failure classes and the per-step ball tracking."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import load_experiment
from macroact.envs.gripper import BASKET_INNER_HALF_WIDTH as W, BASKET_RIM as RIM


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


def test_evaluate_policy_watches_every_primitive_step_under_a_macro():
    """``base_wrapper`` sits under the action wrapper (it sees each primitive step of a raw
    chunk) and ``on_episode_end`` reports per episode what it saw."""
    import gymnasium as gym

    from macroact.agents.common import evaluate_policy

    class Count(gym.Wrapper):
        def reset(self, **kw):
            self.n = 0
            return self.env.reset(**kw)

        def step(self, action):
            self.n += 1
            return self.env.step(action)

    def predict(obs, deterministic=True):
        return np.zeros(4 * 2, np.float32), None  # a raw chunk of 4 primitive actions

    res = evaluate_policy(predict, "macroact/Reaching2D-v1", True, episodes=3, chunk=4,
                          base_wrapper=Count, on_episode_end=lambda base, ok: (base.n, ok))
    assert [ok for _, ok in res["episode_extras"]] == res["successes"]
    steps = [n for n, _ in res["episode_extras"]]
    assert min(steps) > 4  # more than one decision's primitive steps, all seen
    assert np.mean(steps) == res["mean_primitive_steps"]
    assert "episode_extras" not in evaluate_policy(predict, "macroact/Reaching2D-v1", True,
                                                   episodes=1, chunk=4)
