"""Gripper: pick the ball of the target colour and put it into the basket of that colour.

The supplement's robot experiment (there in PyBullet), rebuilt in MuJoCo in a vertical x-z
plane: an end-effector with two parallel fingers, a red and a blue ball on a table, and a red
and a blue open-top basket. The four objects sit in four slots along the table, a random
permutation per episode, and a target colour is drawn per episode. ``GripperDemonstrator``
scripts the task from goal positions with the supplement's three plan factors (reach the
ball, reach the basket, place) and labels each episode with its eight factors.

``macroact/Gripper-v0`` is that task (48 possible first observations: colour x slot order).
``macroact/Gripper-v1`` (``GripperEnv(varied=True)``) draws the same target colour and order
of the four objects along the table, but places them at continuous positions (uniform over
the layouts in ``VARIED_X_RANGE`` with ``VARIED_MIN_SPACING`` between neighbours) and
jitters the gripper's start by up to ``VARIED_START_JITTER``, so first observations do not
repeat; the demonstrator reads the actual positions.

Objects are numbered red first: ball 1 and basket 1 are red, ball 2 and basket 2 are blue.
Heights ``z`` are measured from the table top; every body moves only in the x-z plane.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium import spaces

__all__ = ["GripperEnv", "GripperDemonstrator"]

SLOT_X: tuple[float, ...] = (-0.375, -0.125, 0.125, 0.375)
"""x (m) of the four table slots that the balls and baskets are placed in."""

BALL_RADIUS = 0.025
BASKET_INNER_HALF_WIDTH = 0.085  # half the gap between the inner faces of the basket walls
BASKET_RIM = 0.06                # height of the basket walls above the table
FINGER_TRAVEL = 0.065            # each finger closes this far from fully open (they then meet)
START = (0.0, 0.4)               # gripper (x, z) at reset, fingers open
BASKET_HALF_WIDTH = 0.09         # outer half-width of a basket's floor

VARIED_X_RANGE: tuple[float, float] = (-0.42, 0.42)
"""x range (m) of the object centres in the varied task (Gripper-v1)."""
VARIED_MIN_SPACING = 0.19
"""Smallest distance (m) between neighbouring object centres in the varied task: an open
finger beside a ball then clears a neighbouring basket's wall by 2.5 cm."""
VARIED_START_JITTER: tuple[float, float] = (0.05, 0.03)
"""Half-widths (m) of the gripper's uniform start jitter around ``START`` in x and z."""

# Gripper x, z: the point midway between the fingertips' grasp faces (a grasped ball's centre).
_XML = f"""
<mujoco model="macroact_gripper">
  <compiler angle="radian" autolimits="true"/>
  <option timestep="0.004" integrator="implicitfast" cone="elliptic" impratio="10"/>
  <default>
    <geom friction="1 0.005 0.0001" solref="0.01 1" rgba="0.6 0.6 0.6 1"/>
    <default class="finger">
      <geom type="box" size="0.005 0.02 0.04" mass="0.02" friction="1.5 0.005 0.0001"
            rgba="0.2 0.2 0.2 1"/>
    </default>
    <default class="basket">
      <geom type="box"/>
    </default>
  </default>
  <worldbody>
    <geom name="table" type="box" pos="0 0 -0.02" size="0.6 0.1 0.02"/>
    <geom name="wall_left" type="box" pos="-0.58 0 0.2" size="0.02 0.1 0.2"/>
    <geom name="wall_right" type="box" pos="0.58 0 0.2" size="0.02 0.1 0.2"/>
    <body name="gripper" gravcomp="1">
      <joint name="gripper_x" type="slide" axis="1 0 0"/>
      <joint name="gripper_z" type="slide" axis="0 0 1"/>
      <geom name="palm" type="box" pos="0 0 0.06" size="0.085 0.02 0.01" mass="0.5"
            rgba="0.2 0.2 0.2 1"/>
      <body name="finger_left" gravcomp="1">
        <joint name="finger_left" type="slide" axis="1 0 0" range="0 {FINGER_TRAVEL}"/>
        <geom name="finger_left" class="finger" pos="-0.07 0 0.02"/>
      </body>
      <body name="finger_right" gravcomp="1">
        <joint name="finger_right" type="slide" axis="-1 0 0" range="0 {FINGER_TRAVEL}"/>
        <geom name="finger_right" class="finger" pos="0.07 0 0.02"/>
      </body>
    </body>
    <body name="red_ball">
      <joint name="red_ball_x" type="slide" axis="1 0 0"/>
      <joint name="red_ball_z" type="slide" axis="0 0 1"/>
      <joint name="red_ball_roll" type="hinge" axis="0 1 0" damping="1e-4"/>
      <geom name="red_ball" type="sphere" size="{BALL_RADIUS}" mass="0.05" rgba="0.9 0.1 0.1 1"/>
    </body>
    <body name="blue_ball">
      <joint name="blue_ball_x" type="slide" axis="1 0 0"/>
      <joint name="blue_ball_z" type="slide" axis="0 0 1"/>
      <joint name="blue_ball_roll" type="hinge" axis="0 1 0" damping="1e-4"/>
      <geom name="blue_ball" type="sphere" size="{BALL_RADIUS}" mass="0.05" rgba="0.1 0.1 0.9 1"/>
    </body>
    <body name="red_basket" mocap="true">
      <geom class="basket" pos="0 0 0.0025" size="0.09 0.04 0.0025" rgba="0.9 0.4 0.4 1"/>
      <geom class="basket" pos="-0.0875 0 0.03" size="0.0025 0.04 0.03" rgba="0.9 0.4 0.4 1"/>
      <geom class="basket" pos="0.0875 0 0.03" size="0.0025 0.04 0.03" rgba="0.9 0.4 0.4 1"/>
    </body>
    <body name="blue_basket" mocap="true">
      <geom class="basket" pos="0 0 0.0025" size="0.09 0.04 0.0025" rgba="0.4 0.4 0.9 1"/>
      <geom class="basket" pos="-0.0875 0 0.03" size="0.0025 0.04 0.03" rgba="0.4 0.4 0.9 1"/>
      <geom class="basket" pos="0.0875 0 0.03" size="0.0025 0.04 0.03" rgba="0.4 0.4 0.9 1"/>
    </body>
  </worldbody>
  <actuator>
    <position name="gripper_x" joint="gripper_x" kp="2000" kv="66"/>
    <position name="gripper_z" joint="gripper_z" kp="2000" kv="66"/>
    <position name="finger_left" joint="finger_left" kp="100" kv="3"
              ctrlrange="0 {FINGER_TRAVEL}"/>
    <position name="finger_right" joint="finger_right" kp="100" kv="3"
              ctrlrange="0 {FINGER_TRAVEL}"/>
  </actuator>
</mujoco>
"""

_OBS_NAMES: tuple[str, ...] = (
    "gripper_x", "gripper_z", "finger_opening",
    "red_ball_x", "red_ball_z", "blue_ball_x", "blue_ball_z",
    "red_basket_x", "red_basket_z", "blue_basket_x", "blue_basket_z",
    "gripper_vx", "gripper_vz", "red_ball_vx", "red_ball_vz", "blue_ball_vx", "blue_ball_vz",
    "target_red", "target_blue",
)
_STATE_FEATURE_NAMES: tuple[str, ...] = (
    "gripper_x", "gripper_z", "finger_left", "finger_right",
    "basket1_x", "basket1_z", "basket2_x", "basket2_z",
    "ball1_x", "ball1_z", "ball2_x", "ball2_z",
)
_COLOURS = ("red", "blue")
_OPTION_KEYS = frozenset({"target", "slots"})


def _check_varied(x_range: Any, min_spacing: Any, start_jitter: Any,
                  workspace_low: np.ndarray, workspace_high: np.ndarray
                  ) -> tuple[np.ndarray, float, np.ndarray]:
    """Validate the varied task's layout ranges; returns them as arrays/floats."""
    x_range = np.asarray(VARIED_X_RANGE if x_range is None else x_range, dtype=np.float64)
    if x_range.shape != (2,) or not np.all(np.isfinite(x_range)) or x_range[0] >= x_range[1] \
            or x_range[0] < workspace_low[0] or x_range[1] > workspace_high[0]:
        raise ValueError(f"x_range must be (low, high) with {workspace_low[0]} <= low < high <= "
                         f"{workspace_high[0]} (the gripper's reach), got {x_range.tolist()!r}")
    spacing = VARIED_MIN_SPACING if min_spacing is None else min_spacing
    if isinstance(spacing, bool) or not isinstance(spacing, (int, float, np.integer,
                                                             np.floating)) \
            or not 2 * BASKET_HALF_WIDTH <= spacing <= (x_range[1] - x_range[0]) / 3:
        raise ValueError(f"min_spacing must lie in [{2 * BASKET_HALF_WIDTH}, "
                         f"{(x_range[1] - x_range[0]) / 3:.4f}] (baskets must not overlap and "
                         f"four objects must fit in x_range), got {min_spacing!r}")
    jitter = np.asarray(VARIED_START_JITTER if start_jitter is None else start_jitter,
                        dtype=np.float64)
    start = np.asarray(START)
    if jitter.shape != (2,) or not np.all(np.isfinite(jitter)) or np.any(jitter < 0) \
            or np.any(start - jitter < workspace_low) or np.any(start + jitter > workspace_high):
        raise ValueError(f"start_jitter must be (x, z) half-widths >= 0 that keep the start "
                         f"{START} inside the workspace {workspace_low.tolist()} .. "
                         f"{workspace_high.tolist()}, got {start_jitter!r}")
    return x_range, float(spacing), jitter


def _check_options(options: dict[str, Any] | None) -> tuple[int | None, tuple[int, ...] | None]:
    """Validate ``reset(options=...)``: returns the fixed target colour and slots, or None."""
    if options is None:
        return None, None
    if not isinstance(options, dict):
        raise ValueError(f"options must be a dict with keys {sorted(_OPTION_KEYS)}, "
                         f"got {options!r}")
    unknown = set(options) - _OPTION_KEYS
    if unknown:
        raise ValueError(f"unknown reset options {sorted(unknown)}; known: {sorted(_OPTION_KEYS)}")
    target = options.get("target")
    if target is not None:
        if isinstance(target, (bool, np.bool_)) or not isinstance(target, (int, np.integer)) \
                or int(target) not in (0, 1):
            raise ValueError(f"options['target'] must be 0 (red) or 1 (blue), got {target!r}")
        target = int(target)
    slots = options.get("slots")
    if slots is not None:
        values = np.asarray(slots)
        if values.shape != (4,) or not np.issubdtype(values.dtype, np.integer) \
                or sorted(values.tolist()) != [0, 1, 2, 3]:
            raise ValueError(
                f"options['slots'] must be a permutation of 0..3 giving the slots of the red "
                f"ball, blue ball, red basket and blue basket, got {slots!r}")
        slots = tuple(int(v) for v in values)
    return target, slots


class GripperEnv(gym.Env):
    """Put the ball of the target colour into the basket of the same colour (MuJoCo, 2D).

    An end-effector with two fingers moves in the vertical x-z plane above a table. A red and a
    blue ball (radius 2.5 cm) and a red and a blue open-top basket (17 cm wide inside, 6 cm
    tall, static) occupy the four slots ``SLOT_X`` in a random permutation; the target colour
    is drawn per episode. The reward is sparse: 1.0 on the step where the target ball rests
    inside the basket of its colour (centre within the basket walls and below the rim, speed
    below 5 cm/s, no finger touching it), and the episode then terminates with
    ``info["is_success"] = True``; 0.0 otherwise. ``gymnasium.make("macroact/Gripper-v0")``
    adds a 400-step time limit.

    Observation, float32 ``(19,)``, metres and m/s (names in ``GripperEnv.obs_names``):
    gripper x, z, finger opening (gap between the fingers' inner faces, 0.13 when open);
    red ball x, z; blue ball x, z; red basket x, z; blue basket x, z (centre of its floor, z =
    0); gripper vx, vz; red ball vx, vz; blue ball vx, vz; target colour one-hot (red, blue).
    Positions and velocities are clipped to the observation bounds.

    Action, ``Box(-1, 1, (3,))``: ``dx, dz`` move the gripper's position target by up to
    ``max_step`` metres per step (the target is held within ``max_lead`` of the gripper, so
    pushing against an obstacle does not wind it up, and within the workspace); the third
    entry commands the fingers from -1 (open) to +1 (closed), as a position target.

    Each step runs ``frame_skip`` MuJoCo steps of 4 ms (20 ms per step by default).

    With ``varied=True`` (``macroact/Gripper-v1``) the target colour and the left-to-right
    order of the four objects are drawn as before (``slots`` then gives each object's rank
    along the table), but the objects' x positions are drawn uniformly over the layouts with
    centres in ``x_range`` at least ``min_spacing`` apart, and the gripper starts uniformly
    within ``start_jitter`` (x, z) of ``START``. These draws come after the colour and order
    draws, so the varied task shares them with the fixed one seed for seed.

    ``info`` holds ``"is_success"`` and ``"state_features"``: float32 ``(12,)``, the
    supplement's features in its order (names in ``GripperEnv.state_feature_names``): gripper
    x, z; left and right finger closure (m, 0 = open); basket 1 (red) x, z; basket 2 (blue)
    x, z; ball 1 (red) x, z; ball 2 (blue) x, z.

    ``reset(options={"target": 0 or 1, "slots": [r_ball, b_ball, r_basket, b_basket]})``
    fixes the target colour (0 red, 1 blue) and/or the slots (a permutation of 0..3); either
    key may be left out to draw it.

    Args:
        max_step: largest move (m) of the gripper's position target per step, at ``|dx| = 1``;
            the gripper follows it within about two steps.
        frame_skip: MuJoCo steps per environment step.
        max_lead: largest distance (m) between the position target and the gripper.
        render_mode: only None (the environment is headless).
        varied: draw continuous object positions and a jittered start (the v1 task).
        x_range: ``(low, high)`` of the object centres, default ``VARIED_X_RANGE``; only with
            ``varied=True``.
        min_spacing: smallest distance between neighbouring objects, default
            ``VARIED_MIN_SPACING``; only with ``varied=True``.
        start_jitter: ``(x, z)`` half-widths of the start jitter, default
            ``VARIED_START_JITTER``; only with ``varied=True``.

    Raises:
        ValueError: on invalid arguments, or layout arguments without ``varied=True``.

    Example:
        >>> env = GripperEnv()
        >>> obs, info = env.reset(seed=0, options={"target": 1, "slots": [0, 1, 2, 3]})
        >>> obs.shape, obs[-2:].tolist(), info["state_features"].shape
        ((19,), [0.0, 1.0], (12,))
        >>> obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        >>> float(reward), info["is_success"]
        (0.0, False)
    """

    metadata = {"render_modes": []}
    obs_names = _OBS_NAMES
    state_feature_names = _STATE_FEATURE_NAMES
    workspace_low = np.array([-0.45, BALL_RADIUS])
    workspace_high = np.array([0.45, 0.45])
    success_speed = 0.05

    def __init__(self, max_step: float = 0.02, frame_skip: int = 5, max_lead: float = 0.03,
                 render_mode: str | None = None, varied: bool = False, x_range: Any = None,
                 min_spacing: float | None = None, start_jitter: Any = None) -> None:
        if not max_step > 0:
            raise ValueError(f"max_step must be > 0 metres, got {max_step!r}")
        if isinstance(frame_skip, bool) or not isinstance(frame_skip, (int, np.integer)) \
                or frame_skip < 1:
            raise ValueError(f"frame_skip must be an int >= 1, got {frame_skip!r}")
        if not max_lead >= max_step:
            raise ValueError(f"max_lead must be >= max_step={max_step!r} so that a full action "
                             f"moves the target, got {max_lead!r}")
        if render_mode is not None:
            raise ValueError(f"GripperEnv is headless and renders nothing; got render_mode="
                             f"{render_mode!r}, pass render_mode=None")
        if not isinstance(varied, (bool, np.bool_)):
            raise ValueError(f"varied must be True or False, got {varied!r}")
        if not varied and not (x_range is None and min_spacing is None and start_jitter is None):
            raise ValueError(f"x_range={x_range!r}, min_spacing={min_spacing!r} and start_jitter="
                             f"{start_jitter!r} only apply to the varied task; pass varied=True "
                             "(or make macroact/Gripper-v1)")
        self.varied = bool(varied)
        if self.varied:
            self.x_range, self.min_spacing, self.start_jitter = _check_varied(
                x_range, min_spacing, start_jitter, self.workspace_low, self.workspace_high)
        else:
            self.x_range, self.min_spacing, self.start_jitter = None, None, None
        self.max_step = float(max_step)
        self.frame_skip = int(frame_skip)
        self.max_lead = float(max_lead)
        self.render_mode = render_mode

        self.model = mujoco.MjModel.from_xml_string(_XML)
        self.data = mujoco.MjData(self.model)
        model = self.model

        def qpos_adr(name: str) -> int:
            return int(model.jnt_qposadr[model.joint(name).id])

        def dof_adr(name: str) -> int:
            return int(model.jnt_dofadr[model.joint(name).id])

        # Each planar body's x and z slides sit next to each other in qpos and qvel.
        self._qpos_gripper = qpos_adr("gripper_x")
        self._qpos_fingers = [qpos_adr("finger_left"), qpos_adr("finger_right")]
        self._qpos_balls = [qpos_adr("red_ball_x"), qpos_adr("blue_ball_x")]
        self._dof_gripper = dof_adr("gripper_x")
        self._dof_balls = [dof_adr("red_ball_x"), dof_adr("blue_ball_x")]
        self._mocap_baskets = [int(model.body_mocapid[model.body(f"{c}_basket").id])
                               for c in _COLOURS]
        self._ball_geoms = [model.geom(f"{c}_ball").id for c in _COLOURS]
        self._finger_geoms = frozenset(model.geom(n).id for n in ("finger_left", "finger_right"))

        self.action_space = spaces.Box(-1.0, 1.0, shape=(3,), dtype=np.float32)
        high = np.array([1.0, 1.0, 2 * FINGER_TRAVEL] + [1.0] * 8 + [10.0] * 6 + [1.0, 1.0])
        low = -high
        low[2] = 0.0
        low[-2:] = 0.0
        self.observation_space = spaces.Box(low.astype(np.float32), high.astype(np.float32),
                                            dtype=np.float32)
        self._obs_low, self._obs_high = low, high

        self._target_colour = 0
        self._slots: tuple[int, ...] = (0, 1, 2, 3)
        self._slot_x = np.array(SLOT_X, dtype=np.float64)
        self._start = np.array(START, dtype=np.float64)
        self._ee_target = np.array(START, dtype=np.float64)

    @property
    def dt(self) -> float:
        """Simulated seconds per environment step."""
        return float(self.model.opt.timestep) * self.frame_skip

    @property
    def target_colour(self) -> int:
        """The episode's target colour: 0 red, 1 blue."""
        return self._target_colour

    @property
    def slots(self) -> tuple[int, ...]:
        """The episode's slots (indices into ``SLOT_X``) of red ball, blue ball, red basket,
        blue basket; in the varied task, their ranks from left to right."""
        return self._slots

    @property
    def slot_x(self) -> np.ndarray:
        """x ``(4,)`` of the episode's slots, left to right: ``SLOT_X``, or the varied draw."""
        return self._slot_x.copy()

    @property
    def start(self) -> np.ndarray:
        """The gripper's start ``(x, z)`` of the episode: ``START``, or the varied draw."""
        return self._start.copy()

    @property
    def ee_target(self) -> np.ndarray:
        """The gripper's current position target ``(x, z)`` (a copy)."""
        return self._ee_target.copy()

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode: draw the target colour and the slot permutation (and, in the
        varied task, the object positions and the gripper's start).

        Args:
            seed: seeds ``self.np_random`` (Gymnasium's convention).
            options: optional ``{"target": 0 or 1, "slots": permutation of 0..3}`` fixing the
                target colour and the slots of red ball, blue ball, red basket, blue basket.

        Returns:
            The first observation ``(19,)`` and the info dict.

        Raises:
            ValueError: if ``options`` has an unknown key or an invalid value.
        """
        target, slots = _check_options(options)
        super().reset(seed=seed)
        # Draw both always, so that fixing one leaves the other's draw unchanged.
        drawn_target = int(self.np_random.integers(2))
        drawn_slots = tuple(int(s) for s in self.np_random.permutation(4))
        self._target_colour = drawn_target if target is None else target
        self._slots = drawn_slots if slots is None else slots
        if self.varied:
            # Uniform over the layouts with gaps >= min_spacing: sorted uniform offsets on the
            # slack that the minimal gaps leave (a bijection with the ordered layouts).
            low, high = self.x_range
            slack = (high - low) - 3 * self.min_spacing
            offsets = np.sort(self.np_random.uniform(0.0, slack, size=4))
            self._slot_x = low + self.min_spacing * np.arange(4) + offsets
            self._start = np.asarray(START) + self.np_random.uniform(-self.start_jitter,
                                                                     self.start_jitter)
        slot_x, start = self._slot_x, self._start

        model, data = self.model, self.data
        mujoco.mj_resetData(model, data)
        g = self._qpos_gripper
        data.qpos[g:g + 2] = start
        for colour in range(2):
            b = self._qpos_balls[colour]
            data.qpos[b:b + 2] = (slot_x[self._slots[colour]], BALL_RADIUS)
            data.mocap_pos[self._mocap_baskets[colour]] = (slot_x[self._slots[2 + colour]], 0, 0)
        self._ee_target = np.array(start, dtype=np.float64)
        data.ctrl[:2] = self._ee_target
        data.ctrl[2:] = 0.0
        mujoco.mj_forward(model, data)
        return self._observation(), self._info(False)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Move the gripper's position target, command the fingers and simulate one step.

        Args:
            action: ``(3,)`` in [-1, 1]: dx, dz (fractions of ``max_step``), finger command
                (-1 open .. +1 closed). Values outside [-1, 1] are clipped.

        Returns:
            observation ``(19,)``, reward (1.0 on success, else 0.0), terminated (on success),
            truncated (always False; the registered env adds a time limit), info.
        """
        a = np.asarray(action, dtype=np.float64)
        if a.shape != (3,) or not np.all(np.isfinite(a)):
            raise ValueError(f"action must be 3 finite numbers (dx, dz, fingers), got {action!r}")
        a = np.clip(a, -1.0, 1.0)
        data = self.data
        g = self._qpos_gripper
        position = data.qpos[g:g + 2]
        target = self._ee_target + self.max_step * a[:2]
        target = np.clip(target, position - self.max_lead, position + self.max_lead)
        self._ee_target = np.clip(target, self.workspace_low, self.workspace_high)
        data.ctrl[:2] = self._ee_target
        data.ctrl[2:] = 0.5 * (a[2] + 1.0) * FINGER_TRAVEL
        mujoco.mj_step(self.model, data, nstep=self.frame_skip)
        success = self._success()
        return self._observation(), float(success), success, False, self._info(success)

    def _observation(self) -> np.ndarray:
        data = self.data
        qpos, qvel = data.qpos, data.qvel
        g, (fl, fr) = self._qpos_gripper, self._qpos_fingers
        rb, bb = self._qpos_balls
        rB, bB = self._mocap_baskets
        dg, (drb, dbb) = self._dof_gripper, self._dof_balls
        obs = np.concatenate([
            qpos[g:g + 2], [2 * FINGER_TRAVEL - qpos[fl] - qpos[fr]],
            qpos[rb:rb + 2], qpos[bb:bb + 2],
            data.mocap_pos[rB, ::2], data.mocap_pos[bB, ::2],
            qvel[dg:dg + 2], qvel[drb:drb + 2], qvel[dbb:dbb + 2],
            np.eye(2)[self._target_colour],
        ])
        return np.clip(obs, self._obs_low, self._obs_high).astype(np.float32)

    def _state_features(self) -> np.ndarray:
        data = self.data
        qpos = data.qpos
        g, (fl, fr) = self._qpos_gripper, self._qpos_fingers
        rb, bb = self._qpos_balls
        rB, bB = self._mocap_baskets
        return np.concatenate([
            qpos[g:g + 2], [qpos[fl], qpos[fr]],
            data.mocap_pos[rB, ::2], data.mocap_pos[bB, ::2],
            qpos[rb:rb + 2], qpos[bb:bb + 2],
        ]).astype(np.float32)

    def _info(self, success: bool) -> dict[str, Any]:
        return {"is_success": bool(success), "state_features": self._state_features()}

    def _success(self) -> bool:
        """Whether the target ball rests, released, inside the basket of its colour."""
        data = self.data
        colour = self._target_colour
        b = self._qpos_balls[colour]
        x, z = data.qpos[b:b + 2]
        basket_x = data.mocap_pos[self._mocap_baskets[colour], 0]
        if abs(x - basket_x) >= BASKET_INNER_HALF_WIDTH or z >= BASKET_RIM:
            return False
        d = self._dof_balls[colour]
        if np.hypot(data.qvel[d], data.qvel[d + 1]) >= self.success_speed:
            return False
        ball = self._ball_geoms[colour]
        for geom1, geom2 in data.contact.geom[:data.ncon]:
            if (geom1 == ball and geom2 in self._finger_geoms) or \
                    (geom2 == ball and geom1 in self._finger_geoms):
                return False
        return True


class GripperDemonstrator:
    """Scripted picks and places for ``GripperEnv``, with the supplement's eight factors.

    Factors (``factor_names``, sizes in ``factor_sizes``): target colour (0 red, 1 blue); the
    slots of the red ball, blue ball, red basket and blue basket (0..3, read from the
    environment); and three plans drawn per episode with the ``rng`` given to ``reset``:

    - ``reach_ball_plan``: 0 perpendicular (move over the ball, then descend onto it) or
      1 oblique (straight line from the start to the ball; in the varied task to
      ``approach_height`` above it, then straight down, because neighbours may stand closer
      than the fixed slots and a finger would catch a basket's wall on the slant);
    - ``reach_basket_plan``: 0 perpendicular (lift the ball high, then move across) or
      1 oblique (lift it clear of the obstacles, then a straight line up to above the basket);
    - ``place_plan``: 0 drop (open the fingers above the basket) or 1 gentle (lower the ball
      into the basket, open, then retreat upwards).

    The script is a list of waypoints for the gripper's position target, computed at reset
    from the observed positions, followed along straight lines at ``reach_speed`` (empty
    hand) or ``carry_speed`` (ball in hand), as fractions of the env's ``max_step``.

    With ``replan=True`` the script also corrects from states off its plan, as DART's
    supervisor must (its labels are only corrective where the supervisor re-plans): the
    descent follows a rolling ball, and whenever the ball is off-centre between the lowered
    fingers, is not in the hand where the plan carries it (a missed grasp, a drop), or the
    plan has ended ``settle_steps`` steps ago without a success, it plans again from the live
    state: lift clear of the baskets and open, move over the ball where it is, wait for it to
    settle, descend, grasp, then the episode's carry and place plans (at most ``max_replans``
    times). On an undisturbed episode it acts exactly as without it.

    Args:
        env: a made ``macroact/Gripper-v0`` or ``-v1`` (possibly wrapped) or a ``GripperEnv``;
            it reads the actual positions from the first observation, so it handles the
            varied task's continuous layouts.
        reach_speed: speed of empty-handed moves, in (0, 1].
        carry_speed: speed of moves with the ball in hand, in (0, 1].
        replan: re-plan from the live state after a missed grasp, a drop or a failed place.

    Example:
        >>> env = GripperEnv()
        >>> demo = GripperDemonstrator(env)
        >>> obs, info = env.reset(seed=0)
        >>> factors = demo.reset(obs, info, np.random.default_rng(0))
        >>> for t in range(400):
        ...     obs, reward, terminated, truncated, info = env.step(demo.act(obs))
        ...     if terminated:
        ...         break
        >>> factors.shape, float(reward), info["is_success"]
        ((8,), 1.0, True)
    """

    factor_names: tuple[str, ...] = (
        "target_colour", "red_ball_slot", "blue_ball_slot", "red_basket_slot",
        "blue_basket_slot", "reach_ball_plan", "reach_basket_plan", "place_plan")
    factor_sizes: tuple[int, ...] = (2, 4, 4, 4, 4, 2, 2, 2)

    carry_height = 0.2   # ball centre above the table when carried high (perpendicular plan)
    clear_height = 0.1   # ball centre when lifted just clear of baskets and balls (oblique)
    place_height = 0.2   # ball centre above the basket where placing starts
    gentle_height = 0.035  # ball centre where the gentle plan opens the fingers
    approach_height = 0.05  # varied task, oblique reach: gripper this far above the ball first
    tolerance = 0.004    # distance (m) at which a waypoint counts as reached
    grasp_steps = 10     # steps to close the fingers on the ball
    release_steps = 10   # steps to open them
    held_distance = 0.03  # replan: the ball counts as in hand within this of the grasp point
    settle_steps = 25    # replan: steps after the plan's end before a failed place is retried
    moved_distance = 0.01  # replan: the descent follows a ball this far off its goal, and
    # re-plans when the ball is this far off-centre between the lowered fingers
    settled_speed = 0.05  # replan: the descent waits until the ball is slower than this (m/s)
    max_replans = 10     # replan: re-plans per episode before the script gives up
    regrasp_fingers = -0.4  # replan: finger command over and down onto the ball (a 9 cm gap,
    # not the full 13: a ball dropped beside a basket leaves less room for the fingers)

    def __init__(self, env: gym.Env, reach_speed: float = 1.0, carry_speed: float = 0.5,
                 replan: bool = False) -> None:
        if not isinstance(replan, bool):
            raise ValueError(f"replan must be True or False, got {replan!r}")
        if not isinstance(env.unwrapped, GripperEnv):
            raise ValueError(f"GripperDemonstrator drives a GripperEnv, got "
                             f"{type(env.unwrapped).__name__}; make macroact/Gripper-v0")
        for name, speed in (("reach_speed", reach_speed), ("carry_speed", carry_speed)):
            if not 0 < speed <= 1:
                raise ValueError(f"{name} must be in (0, 1], got {speed!r}")
        self.env = env.unwrapped
        self.reach_speed = float(reach_speed)
        self.carry_speed = float(carry_speed)
        self.replan = replan
        self._plan: list[tuple[str, Any, float, float]] = []
        self._stage = 0
        self._timer = 0
        self._plans = (0, 0)      # the episode's reach-basket and place plans
        self._carried = (0, 0)    # replan: stage range [first, last) with the ball in hand
        self._descent = -1        # replan: stage that descends onto the ball
        self._over = -1           # replan: stage that moves over the ball (re-plans only)
        self._idle = 0            # replan: steps since the plan ended
        self.replans = 0          # replan: re-plans in the current episode

    def reset(self, obs: np.ndarray, info: dict[str, Any],
              rng: np.random.Generator) -> np.ndarray:
        """Plan the episode just reset and return its factor labels.

        Args:
            obs: the episode's first observation ``(19,)``.
            info: the reset info (unused; the labels come from the environment's state).
            rng: draws the three plan factors.

        Returns:
            int64 ``(8,)``: one label per entry of ``factor_names``.
        """
        env = self.env
        reach_ball, reach_basket, place = (int(p) for p in rng.integers(2, size=3))
        colour = env.target_colour
        ball_x, ball_z = float(obs[3 + 2 * colour]), float(obs[4 + 2 * colour])
        basket_x = float(obs[7 + 2 * colour])
        start_z = float(obs[1])
        reach = self.reach_speed
        # Each stage: ("move", (x, z), finger command, speed) or ("wait", steps, command, 0).
        plan: list[tuple[str, Any, float, float]] = []
        if reach_ball == 0:
            plan.append(("move", (ball_x, start_z), -1.0, reach))
        elif env.varied:
            plan.append(("move", (ball_x, ball_z + self.approach_height), -1.0, reach))
        self._plans = (reach_basket, place)
        self._set_plan(plan, ball_x, ball_z, basket_x)
        self.replans = 0
        return np.array([colour, *env.slots, reach_ball, reach_basket, place], dtype=np.int64)

    def _set_plan(self, approach: list[tuple[str, Any, float, float]], ball_x: float,
                  ball_z: float, basket_x: float, fingers: float = -1.0) -> None:
        """Start ``approach`` (moves up to the ball) + descent with the fingers at
        ``fingers``, grasp, carry and place."""
        reach, carry = self.reach_speed, self.carry_speed
        reach_basket, place = self._plans
        plan = list(approach)
        self._descent = len(plan)
        plan.append(("move", (ball_x, ball_z), fingers, reach))
        plan.append(("wait", self.grasp_steps, 1.0, 0.0))
        first = len(plan)
        if reach_basket == 0:
            plan.append(("move", (ball_x, self.carry_height), 1.0, carry))
            plan.append(("move", (basket_x, self.carry_height), 1.0, carry))
        else:
            plan.append(("move", (ball_x, self.clear_height), 1.0, carry))
        plan.append(("move", (basket_x, self.place_height), 1.0, carry))
        if place == 1:
            plan.append(("move", (basket_x, self.gentle_height), 1.0, carry))
        self._carried = (first, len(plan))
        plan.append(("wait", self.release_steps, -1.0, 0.0))
        plan.append(("move", (basket_x, self.place_height), -1.0, reach))
        self._plan, self._stage, self._timer, self._idle = plan, 0, 0, 0
        self._over = -1

    def _target(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """The target ball's position and velocity ``(2,)`` and its basket's x in ``obs``."""
        c = 2 * self.env.target_colour
        return (np.asarray(obs[3 + c:5 + c], dtype=np.float64),
                np.asarray(obs[13 + c:15 + c], dtype=np.float64), float(obs[7 + c]))

    def _replan(self, obs: np.ndarray) -> None:
        """Plan again from the live state: lift clear, move over the ball, then as at reset."""
        (ball_x, ball_z), _, basket_x = self._target(obs)
        ball_x, ball_z = float(ball_x), float(ball_z)
        safe = max(float(obs[1]), self.carry_height)
        self._set_plan([("move", (float(obs[0]), safe), -1.0, self.reach_speed),
                        ("move", (ball_x, safe), self.regrasp_fingers, self.reach_speed)],
                       ball_x, ball_z, basket_x, self.regrasp_fingers)
        self._over = 1
        self.replans += 1

    def _needs_replan(self, obs: np.ndarray) -> bool:
        """Whether the target ball is out of hand where the plan carries it, or the plan
        ended ``settle_steps`` ago with the ball outside its basket."""
        ball, _, basket_x = self._target(obs)
        first, last = self._carried
        if self._stage == self._descent:  # fingers about the ball, but it is off-centre
            low = float(obs[1]) - ball[1] < self.approach_height
            return bool(low and abs(ball[0] - float(obs[0])) > self.moved_distance)
        if first <= self._stage < last:
            return bool(np.linalg.norm(ball - np.asarray(obs[:2])) > self.held_distance)
        if self._stage >= len(self._plan):
            self._idle += 1
            inside = abs(ball[0] - basket_x) < BASKET_INNER_HALF_WIDTH and ball[1] < BASKET_RIM
            return self._idle > self.settle_steps and not inside
        return False

    def act(self, obs: np.ndarray) -> np.ndarray:
        """The action ``(3,)`` float32 for observation ``obs`` (zero motion once done)."""
        position = np.asarray(obs[:2], dtype=np.float64)
        if self.replan and self._needs_replan(obs):
            self._replan(obs)
            if self.replans > self.max_replans:  # give up: hold still, fingers open
                self._plan, self._stage = [], 0
        while self._stage < len(self._plan):
            kind, goal, fingers, speed = self._plan[self._stage]
            if kind == "wait":
                if self._timer < goal:
                    self._timer += 1
                    return np.array([0.0, 0.0, fingers], dtype=np.float32)
            else:
                goal = np.asarray(goal)
                if self.replan and self._stage == self._over:
                    # Over the ball where it is now; descend only once it has settled.
                    ball, velocity, _ = self._target(obs)
                    goal = np.array([ball[0], goal[1]])
                    if np.linalg.norm(goal - position) <= self.tolerance:
                        if np.linalg.norm(velocity) >= self.settled_speed:
                            return np.array([0.0, 0.0, fingers], dtype=np.float32)
                        self._plan[self._descent] = ("move", tuple(ball), fingers,
                                                     self.reach_speed)
                if self.replan and self._stage == self._descent:  # follow a rolling ball
                    ball = self._target(obs)[0]
                    if np.linalg.norm(ball - goal) > self.moved_distance:
                        goal = ball
                if np.linalg.norm(goal - position) > self.tolerance:
                    # Steer the position target (not the lagging gripper) along the line.
                    step = (goal - self.env.ee_target) / self.env.max_step
                    largest = np.abs(step).max()
                    if largest > speed:
                        step *= speed / largest
                    return np.array([step[0], step[1], fingers], dtype=np.float32)
            self._stage += 1
            self._timer = 0
        return np.array([0.0, 0.0, -1.0], dtype=np.float32)
