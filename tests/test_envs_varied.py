"""The varied tasks macroact/Reaching2D-v1 and macroact/Gripper-v1, and their demonstrators."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import macroact  # noqa: F401  (registers the macroact/ ids)
from macroact.data.demos import collect
from macroact.data.paper import reaching_arc
from macroact.envs import ENVS, has_finite_starts, make_demonstrator
from macroact.envs.gripper import (BASKET_HALF_WIDTH, SLOT_X, START, VARIED_MIN_SPACING,
                                   VARIED_START_JITTER, VARIED_X_RANGE, GripperDemonstrator,
                                   GripperEnv)
from macroact.envs.reaching2d import (GOAL_REGION, GOALS, START_JITTER, Reaching2DDemonstrator,
                                      Reaching2DEnv, arc_between)

REACHING_V1, GRIPPER_V1 = "macroact/Reaching2D-v1", "macroact/Gripper-v1"
VARIED = (REACHING_V1, GRIPPER_V1)


def first_observations(env_id, seeds):
    """float32 ``(len(seeds), obs_dim)``: the first observation of ``env.reset(seed=s)``."""
    env = gym.make(env_id)
    return np.stack([env.reset(seed=int(s))[0] for s in seeds])


@pytest.mark.parametrize("make", [lambda: Reaching2DEnv(varied=True),
                                  lambda: gym.make(REACHING_V1).unwrapped,
                                  lambda: GripperEnv(varied=True),
                                  lambda: gym.make(GRIPPER_V1).unwrapped])
def test_varied_envs_pass_both_env_checkers(make):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the checkers warn on any doubtful detail
        gym_check_env(make(), skip_render_check=True)
        sb3_check_env(make(), warn=True)


@pytest.mark.parametrize("env_id", VARIED)
def test_registered_varied_envs_pass_sb3_checker_and_keep_their_kwargs(env_id):
    env = gym.make(env_id)
    sb3_check_env(env, warn=True)
    assert env.unwrapped.varied and env.spec.kwargs == {"varied": True}
    assert env.spec.max_episode_steps == ENVS[env_id].max_episode_steps
    assert env.spec.make().unwrapped.varied
    assert not has_finite_starts(env_id)
    assert not gym.make(env_id.replace("-v1", "-v0")).unwrapped.varied


@pytest.mark.parametrize("env_id", VARIED)
def test_10000_resets_never_share_a_first_observation(env_id):
    obs = first_observations(env_id, range(10_000))
    assert obs.shape[0] == 10_000
    assert len(np.unique(obs, axis=0)) == 10_000
    # ... and the same seed gives the same first observation again.
    np.testing.assert_array_equal(first_observations(env_id, [17, 9_999]), obs[[17, 9_999]])


# ---------------------------------------------------------------- Reaching2D-v1

def test_reaching2d_v1_draws_goals_over_the_region_and_jitters_the_start():
    obs = first_observations(REACHING_V1, range(2_000))
    start, goal, time = obs[:, :2], obs[:, 2:4], obs[:, 4]
    (xl, xh), (yl, yh) = GOAL_REGION
    eps = 1e-6  # float32 rounding of the observation
    assert np.all((goal[:, 0] >= xl - eps) & (goal[:, 0] <= xh + eps))
    assert np.all((goal[:, 1] >= yl - eps) & (goal[:, 1] <= yh + eps))
    assert np.all(np.abs(start) <= START_JITTER + eps) and np.all(time == 0)
    # Spread over the whole region and square, not a few points.
    assert goal[:, 0].min() < xl + 0.05 and goal[:, 0].max() > xh - 0.05
    assert goal[:, 1].min() < yl + 0.05 and goal[:, 1].max() > yh - 0.05
    assert np.abs(start).max(axis=0).min() > 0.9 * START_JITTER


def test_reaching2d_v1_reset_options_and_argument_checks():
    env = Reaching2DEnv(varied=True)
    obs, info = env.reset(seed=3, options={"goal": (0.2, 1.1), "start": (0.01, -0.02)})
    np.testing.assert_allclose(obs, [0.01, -0.02, 0.2, 1.1, 0.0], atol=1e-7)
    assert info["goal_index"] == -1 and not info["is_success"]
    # Fixing the goal leaves the start's draw unchanged, and vice versa.
    drawn, _ = env.reset(seed=3)
    fixed_goal, _ = env.reset(seed=3, options={"goal": (0.0, 1.0)})
    np.testing.assert_array_equal(fixed_goal[:2], drawn[:2])
    for bad in ({"goal": (0.5, 1.0)}, {"start": (0.2, 0.0)}, {"goal": 1}, {"target": 0}):
        with pytest.raises(ValueError, match="goal|start|unknown"):
            env.reset(options=bad)
    with pytest.raises(ValueError, match="varied=True"):
        Reaching2DEnv(goal_region=((-0.1, 0.1), (0.9, 1.1)))
    with pytest.raises(ValueError, match="success_radius"):
        Reaching2DEnv(varied=True, goal_region=((-0.1, 0.1), (0.0, 0.5)))
    with pytest.raises(ValueError, match="max_step"):
        Reaching2DEnv(varied=True, max_step=0.01)  # the far goals need longer steps
    with pytest.raises(ValueError, match="goal_region"):
        Reaching2DEnv(varied=True, goal_region=((0.1, -0.1), (0.9, 1.1)))
    with pytest.raises(ValueError, match="start_jitter"):
        Reaching2DEnv(varied=True, start_jitter=-0.1)
    # v0 keeps its one option and its two goals.
    with pytest.raises(ValueError, match="only option"):
        Reaching2DEnv().reset(options={"start": (0.0, 0.0)})


def test_arc_between_generalises_the_papers_arcs():
    for g in (0, 1):
        for side in (0, 1):
            for curvature in range(5):
                np.testing.assert_allclose(
                    arc_between((0.0, 0.0), GOALS[g], side, curvature, n_points=1000),
                    reaching_arc(g, side, curvature, n_points=1000), atol=1e-12)
    start, goal = np.array([0.03, -0.04]), np.array([-0.25, 1.15])
    for side in (0, 1):
        arc = arc_between(start, goal, side, 4, n_points=101)
        np.testing.assert_allclose(arc[[0, -1]], [start, goal], atol=1e-12)
        # Equal steps along the arc, which bulges left of the chord (side 0) or right (side 1).
        steps = np.linalg.norm(np.diff(arc, axis=0), axis=1)
        np.testing.assert_allclose(steps, steps[0], rtol=1e-9)
        d, m = goal - start, arc[50] - start
        bulge = d[0] * m[1] - d[1] * m[0]
        assert bulge > 0 if side == 0 else bulge < 0
    with pytest.raises(ValueError, match="coincide"):
        arc_between(start, start, 0, 0)


def test_reaching2d_v1_demonstrator_traces_an_arc_from_the_actual_start_to_the_goal():
    env = Reaching2DEnv(varied=True, success_radius=1e-9)  # never succeeds: all steps run
    demo = Reaching2DDemonstrator(env)
    assert demo.factor_names == ("side", "curvature") and demo.factor_sizes == (2, 5)
    obs, info = env.reset(seed=5)
    start, goal = env.start.copy(), env.goal.copy()
    np.testing.assert_allclose(obs[:2], start, atol=1e-7)
    factors = demo.reset(obs, info, np.random.default_rng(0), factors=(1, 3))
    assert factors.tolist() == [1, 3]
    positions = [env.position.copy()]
    for _ in range(env.horizon):
        action = demo.act(obs)
        assert env.action_space.contains(action)
        obs, *_ = env.step(action)
        positions.append(env.position.copy())
    np.testing.assert_allclose(np.array(positions), arc_between(start, goal, 1, 3, 101),
                               atol=1e-6)
    with pytest.raises(ValueError, match="continuous"):
        demo.reset(obs, info, np.random.default_rng(0), factors=(0, 1, 3))


def test_reaching2d_v1_demonstrator_succeeds_and_labels_its_plans():
    data = collect(REACHING_V1, episodes=50, seed=0)
    assert data.success_rate >= 0.9
    assert data.factor_names == ("side", "curvature")
    assert set(data.factors[:, 0]) == {0, 1} and len(set(data.factors[:, 1])) == 5
    assert len({o[0].tobytes() for o in data.observations}) == 50


def test_reaching2d_v1_renders_the_drawn_goal():
    env = Reaching2DEnv(varied=True, render_mode="rgb_array")
    env.reset(seed=0, options={"goal": (0.3, 1.2)})
    img = env.render()
    assert img.shape == (128, 128, 3) and img.dtype == np.uint8
    red = np.all(img == (220, 60, 60), axis=-1)
    assert red.sum() > 10
    # The goal at the region's right end lies right of the image centre.
    assert np.nonzero(red)[1].mean() > 64


# ---------------------------------------------------------------- Gripper-v1

def test_gripper_v1_layouts_are_continuous_spaced_and_keep_the_drawn_order():
    v0, v1 = GripperEnv(), GripperEnv(varied=True)
    low, high = VARIED_X_RANGE
    for seed in range(300):
        obs0, _ = v0.reset(seed=seed)
        obs1, _ = v1.reset(seed=seed)
        # Colour and object order are drawn first, so both tasks share them seed for seed.
        assert (v1.target_colour, v1.slots) == (v0.target_colour, v0.slots)
        np.testing.assert_array_equal(obs0[-2:], obs1[-2:])
        xs = v1.slot_x
        assert low - 1e-12 <= xs[0] and xs[-1] <= high + 1e-12
        assert np.all(np.diff(xs) >= VARIED_MIN_SPACING - 1e-12)
        # Ball and basket x in the observation sit at their drawn rank's position.
        for i, column in enumerate((3, 5, 7, 9)):
            assert obs1[column] == np.float32(xs[v1.slots[i]])
        assert np.all(np.abs(v1.start - START) <= np.array(VARIED_START_JITTER) + 1e-12)
        np.testing.assert_array_equal(obs1[:2], v1.start.astype(np.float32))
        np.testing.assert_array_equal(v1.ee_target, v1.start)
    np.testing.assert_array_equal(v0.slot_x, SLOT_X)
    np.testing.assert_array_equal(v0.start, START)


def test_gripper_v1_argument_checks():
    with pytest.raises(ValueError, match="varied=True"):
        GripperEnv(min_spacing=0.2)
    with pytest.raises(ValueError, match="min_spacing"):
        GripperEnv(varied=True, min_spacing=2 * BASKET_HALF_WIDTH - 0.01)
    with pytest.raises(ValueError, match="x_range"):
        GripperEnv(varied=True, x_range=(-0.5, 0.4))
    with pytest.raises(ValueError, match="start_jitter"):
        GripperEnv(varied=True, start_jitter=(0.0, 0.1))  # z above the workspace
    with pytest.raises(ValueError, match="varied"):
        GripperEnv(varied="yes")


def test_gripper_v1_demonstrator_succeeds_and_reads_the_actual_positions():
    env = gym.make(GRIPPER_V1)
    demo = make_demonstrator(GRIPPER_V1, env)
    assert isinstance(demo, GripperDemonstrator)
    rng = np.random.default_rng(0)
    successes, plans = [], set()
    for seed in range(50):
        obs, info = env.reset(seed=seed)
        factors = demo.reset(obs, info, rng)
        base = env.unwrapped
        assert factors[0] == base.target_colour and tuple(factors[1:5]) == base.slots
        plans.add(tuple(factors[5:]))
        # The first waypoint heads for the target ball where it actually lies.
        ball_x = base.slot_x[base.slots[base.target_colour]]
        assert demo._plan[0][1][0] == pytest.approx(ball_x, abs=1e-6)
        done = False
        while not done:
            obs, reward, terminated, truncated, info = env.step(demo.act(obs))
            done = terminated or truncated
        successes.append(info["is_success"])
    assert np.mean(successes) >= 0.9
    assert len(plans) == 8


def _disturbed_episode(seed, replan, drop_steps=15):
    """Gripper-v1 episode ``seed`` with the fingers forced open for ``drop_steps`` steps once
    the target ball is carried 0.1 m above the table (a drop); success and re-plans."""
    env = gym.make(GRIPPER_V1)
    demo = make_demonstrator(GRIPPER_V1, env, replan=replan)
    obs, info = env.reset(seed=seed)
    demo.reset(obs, info, np.random.default_rng(seed))
    colour, forced = env.unwrapped.target_colour, 0
    for _ in range(400):
        action = demo.act(obs)
        if forced < drop_steps and (forced or obs[4 + 2 * colour] > 0.1):
            action, forced = np.array([0.0, 0.0, -1.0], np.float32), forced + 1
        obs, _, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            break
    assert forced == drop_steps  # the drop happened
    return info["is_success"], demo.replans


def test_replanning_gripper_demonstrator_recovers_dropped_balls():
    fixed = [_disturbed_episode(seed, replan=False) for seed in range(10)]
    replanned = [_disturbed_episode(seed, replan=True) for seed in range(10)]
    assert sum(ok for ok, _ in fixed) <= 1 and all(n == 0 for _, n in fixed)
    assert sum(ok for ok, _ in replanned) >= 6
    assert all(1 <= n <= GripperDemonstrator.max_replans + 1 for _, n in replanned)


def test_replanning_gripper_demonstrator_acts_as_the_script_on_undisturbed_episodes():
    plain = collect(GRIPPER_V1, episodes=20, seed=3)
    replanning = collect(GRIPPER_V1, episodes=20, seed=3, demonstrator_kwargs={"replan": True})
    assert plain.success.all()
    for a, b in zip(plain.actions, replanning.actions):
        np.testing.assert_array_equal(a, b)
    assert replanning.collection == {"demonstrator_kwargs": {"replan": True}}
    with pytest.raises(ValueError, match="replan must be True or False"):
        GripperDemonstrator(gym.make(GRIPPER_V1), replan=1)
    with pytest.raises(ValueError, match="does not take \\['retry'\\]"):
        make_demonstrator(GRIPPER_V1, gym.make(GRIPPER_V1), retry=True)
