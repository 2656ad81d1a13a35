"""MuJoCo Reacher with a success-only reward, and a scripted demonstrator with varied plans.

Registered as ``macroact/ReacherSparse-v0`` (``gym.make`` adds ``TimeLimit(50)``)::

    >>> import gymnasium as gym
    >>> import macroact
    >>> env = gym.make("macroact/ReacherSparse-v0")
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape, env.action_space
    ((10,), Box(-1.0, 1.0, (2,), float32))
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import gymnasium as gym
import numpy as np

#: Reacher-v5's arm (reacher.xml): upper link 0.1 m, fingertip 0.11 m beyond the elbow.
LINK1, LINK2 = 0.1, 0.11
#: Planned elbow angles stay inside this bound (the joint limit is 3.0 rad).
ELBOW_MAX = 2.95
FACTOR_NAMES = ("elbow", "via", "speed")
FACTOR_SIZES = (2, 2, 2)


class ReacherSparseEnv(gym.Wrapper):
    """Gymnasium's ``Reacher-v5`` with reward 1.0 on reaching the target, and 0 otherwise.

    The episode terminates when the fingertip comes within ``success_radius`` of the target
    (``info["is_success"]``); observation (Reacher-v5's 10 dims, ``obs[8:10]`` being
    fingertip minus target), action (two torques in [-1, 1]), start state and target
    distribution are Reacher-v5's. The inner env's dense terms stay in ``info``
    (``reward_dist``, ``reward_ctrl``); ``info["distance"]`` is the fingertip-target
    distance and ``info["state_features"]`` the fingertip position (x, y).

    The inner env is made without a time limit; ``gym.make("macroact/ReacherSparse-v0")``
    adds ``TimeLimit(50)`` as for Reacher-v5. A start already within the radius (a target
    next to the initial fingertip, very rare) is reported by ``reset``'s ``is_success`` but
    only ends the episode at the first step.

    Args:
        success_radius: Fingertip-target distance (m) that counts as reaching.
        terminate_on_success: End the episode on reaching (the task's default). ``False``
            keeps it running to the time limit, every step within the radius rewarded 1.0:
            for demonstrations that also show the demonstrator settling on the target and
            holding it (``collect(..., env_kwargs={"terminate_on_success": False})``).
        **kwargs: Passed to ``gym.make("Reacher-v5", ...)`` (e.g. ``render_mode``,
            ``frame_skip``, ``xml_file``).

    Example:
        >>> env = ReacherSparseEnv()
        >>> obs, info = env.reset(seed=0)
        >>> obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        >>> reward, terminated, info["is_success"]
        (0.0, False, False)
    """

    def __init__(self, success_radius: float = 0.02, terminate_on_success: bool = True,
                 **kwargs: Any):
        if not (np.isfinite(success_radius) and success_radius > 0):
            raise ValueError(f"success_radius must be a positive number, got {success_radius!r}")
        if not isinstance(terminate_on_success, (bool, np.bool_)):
            raise ValueError(f"terminate_on_success must be True or False, got "
                             f"{terminate_on_success!r}")
        # The bare Reacher-v5: the registered TimeLimit (or the user's) and checks go outside.
        spec = dataclasses.replace(gym.spec("Reacher-v5"), max_episode_steps=None,
                                   order_enforce=False, disable_env_checker=True)
        super().__init__(gym.make(spec, **kwargs))
        # Like any env built by hand, no spec until gym.make sets ours on env.unwrapped.
        self.env.unwrapped.spec = None
        self.success_radius = float(success_radius)
        self.terminate_on_success = bool(terminate_on_success)

    @property
    def spec(self) -> gym.envs.registration.EnvSpec | None:
        """The spec ``gym.make`` gave this environment (``None`` when built by hand).

        This wrapper is the registered entry point, not a wrapper added on top of one, so it
        does not append itself to the spec; ``env.spec.make()`` then rebuilds it once.
        """
        return self.env.unwrapped.spec

    def _augment(self, obs: np.ndarray, info: dict[str, Any]) -> bool:
        distance = float(np.linalg.norm(obs[8:10]))
        success = distance < self.success_radius
        info["is_success"] = success
        info["distance"] = distance
        info["state_features"] = self.env.unwrapped.get_body_com("fingertip")[:2].copy()
        return success

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset Reacher-v5 (random arm pose near zero, random target within 0.2 m)."""
        obs, info = self.env.reset(seed=seed, options=options)
        self._augment(obs, info)
        return obs, info

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Apply the torques; reward 1.0 and terminate once the fingertip is on the target
        (``terminate_on_success=False``: reward 1.0 on every step on it, no termination)."""
        obs, _, terminated, truncated, info = self.env.step(action)
        success = self._augment(obs, info)
        end = terminated or (success and self.terminate_on_success)
        return obs, float(success), bool(end), bool(truncated), info


def _wrap_near(angle: float, reference: float) -> float:
    """``angle`` plus a multiple of 2 pi, within pi of ``reference`` (joint 0 is unlimited)."""
    return reference + (angle - reference + np.pi) % (2.0 * np.pi) - np.pi


def inverse_kinematics(target: np.ndarray, elbow: int) -> np.ndarray:
    """Joint angles ``(2,)`` that put the fingertip on ``target`` (x, y).

    Args:
        target: Fingertip position (m).
        elbow: 0 for the positive elbow angle, 1 for the negative one (the mirror solution).

    Targets closer to the base than the elbow limit allows (r < 0.023 m) get the
    nearest reachable point in the same direction.

    Example:
        >>> q = inverse_kinematics(np.array([0.1, 0.1]), elbow=0)
        >>> np.round(forward_kinematics(q), 6).tolist()
        [0.1, 0.1]
    """
    r2 = float(target @ target)
    cos2 = np.clip((r2 - LINK1**2 - LINK2**2) / (2 * LINK1 * LINK2), np.cos(ELBOW_MAX), 1.0)
    q2 = np.arccos(cos2) * (1.0 if elbow == 0 else -1.0)
    q1 = np.arctan2(target[1], target[0]) - np.arctan2(LINK2 * np.sin(q2),
                                                       LINK1 + LINK2 * np.cos(q2))
    return np.array([q1, q2])


def forward_kinematics(q: np.ndarray) -> np.ndarray:
    """Fingertip position ``(2,)`` of joint angles ``q`` ``(2,)``."""
    return np.array([LINK1 * np.cos(q[0]) + LINK2 * np.cos(q[0] + q[1]),
                     LINK1 * np.sin(q[0]) + LINK2 * np.sin(q[0] + q[1])])


def _min_jerk(q0: np.ndarray, q1: np.ndarray, duration: float,
              t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    s = min(max(t / duration, 0.0), 1.0)
    d = q1 - q0
    pos = 10 * s**3 - 15 * s**4 + 6 * s**5
    vel = (30 * s**2 - 60 * s**3 + 30 * s**4) / duration
    acc = (60 * s - 180 * s**2 + 120 * s**3) / duration**2
    return q0 + pos * d, vel * d, acc * d


class ReacherDemonstrator:
    """Scripted demonstrator for ``ReacherSparseEnv``: a joint-space plan tracked by PD control.

    At ``reset`` it plans minimum-jerk joint trajectories from the arm's pose to an inverse
    kinematics solution for the target; ``act`` tracks the plan with computed-torque PD
    control (the joints' armature, 1 kg m^2, dominates the inertia, so the nominal inertia
    is the identity; the joint damping of 1 is compensated). Factors, each drawn uniformly:

    - ``elbow`` (2): 0 = positive elbow angle, 1 = negative (the two IK solutions; both
      exist for every Reacher-v5 target).
    - ``via`` (2): 0 = straight joint-space move; 1 = via a folded posture (elbow at
      +-2.4 rad, shoulder half way), so the fingertip first pulls in, then reaches out.
    - ``speed`` (2): 0 = fast (0.35 s per move), 1 = slow (0.6 s); a via plan spends 60 %
      of that on each of its two moves. A move lasts at least as long as the torque limit
      allows (peak acceleration 120 rad/s^2 of the 200 available).

    The plans end within 0.72 s (36 steps) of the 50-step limit. The plan's time is read
    from the simulator clock, so ``act`` may be called any number of times per step.
    Measured: 100 % success over 1000 episodes (``collect("macroact/ReacherSparse-v0", 1000)``,
    23 steps on average, at most 33).

    Args:
        env: A ``ReacherSparseEnv`` (or Reacher-v5), possibly wrapped.

    Example:
        >>> import gymnasium as gym
        >>> env = gym.make("macroact/ReacherSparse-v0")
        >>> demo = ReacherDemonstrator(env)
        >>> obs, info = env.reset(seed=0)
        >>> factors = demo.reset(obs, info, np.random.default_rng(0))
        >>> done = False
        >>> while not done:
        ...     obs, r, term, trunc, info = env.step(demo.act(obs))
        ...     done = term or trunc
        >>> info["is_success"]
        True
    """

    factor_names = FACTOR_NAMES
    factor_sizes = FACTOR_SIZES
    durations = (0.35, 0.6)
    via_fraction = 0.6
    via_elbow = 2.4
    max_acceleration = 120.0
    natural_frequency = 20.0  # rad/s; critically damped tracking
    gear = 200.0  # torque per unit action (reacher.xml)
    damping = 1.0  # joint damping (reacher.xml)

    def __init__(self, env: gym.Env):
        base = env.unwrapped
        if not (hasattr(base, "data") and hasattr(base, "get_body_com")
                and base.data.qpos.shape == (4,)):
            raise ValueError(f"ReacherDemonstrator drives MuJoCo Reacher, got "
                             f"{type(base).__name__}; make macroact/ReacherSparse-v0")
        self.env = env
        self.segments: list[tuple[float, np.ndarray, np.ndarray, float]] = []
        self.factors: np.ndarray | None = None

    def reset(self, obs: np.ndarray, info: dict[str, Any], rng: np.random.Generator,
              factors: Any = None) -> np.ndarray:
        """Plan this episode's motion (call right after ``env.reset``).

        Args:
            obs: The first observation (unused; the state is read from the simulator).
            info: The reset info (unused).
            rng: Draws the factors.
            factors: Optional ``(elbow, via, speed)`` labels to use instead of drawing.

        Returns:
            int64 ``(3,)``: ``elbow``, ``via``, ``speed``.
        """
        if factors is None:
            factors = [int(rng.integers(s)) for s in FACTOR_SIZES]
        factors = np.asarray(factors).reshape(-1)
        if factors.shape != (3,) or not np.issubdtype(factors.dtype, np.integer) \
                or np.any(factors < 0) or np.any(factors >= np.array(FACTOR_SIZES)):
            raise ValueError(f"factors must be 3 integers (elbow, via, speed) below "
                             f"{FACTOR_SIZES}, got {factors.tolist()}")
        elbow, via, speed = (int(f) for f in factors)
        data = self.env.unwrapped.data
        q0 = data.qpos[:2].copy()
        goal = inverse_kinematics(data.qpos[2:4].copy(), elbow)
        goal[0] = _wrap_near(goal[0], q0[0])
        duration = self.durations[speed]
        if via == 0:
            points, times = [q0, goal], [duration]
        else:
            sign = 1.0 if elbow == 0 else -1.0
            mid = np.array([(q0[0] + goal[0]) / 2, sign * self.via_elbow])
            points, times = [q0, mid, goal], [self.via_fraction * duration] * 2
        self.segments, start = [], float(data.time)
        for a, b, t in zip(points[:-1], points[1:], times):
            # A min-jerk move of distance D over T peaks at 5.77 D / T^2.
            t = max(t, float(np.sqrt(5.77 * np.abs(b - a).max() / self.max_acceleration)))
            self.segments.append((start, a, b, t))
            start += t
        self.factors = factors.astype(np.int64)
        return self.factors.copy()

    def reference(self, time: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Planned joint angles, velocities and accelerations ``(2,)`` each at ``time`` (s)."""
        if not self.segments:
            raise RuntimeError("call reset(obs, info, rng) after env.reset before act")
        for start, a, b, duration in self.segments:
            if time < start + duration:
                return _min_jerk(a, b, duration, time - start)
        end = self.segments[-1][2]
        return end, np.zeros(2), np.zeros(2)

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Torques ``(2,)`` float32 in [-1, 1] that track the plan."""
        data = self.env.unwrapped.data
        q, qd = data.qpos[:2], data.qvel[:2]
        q_ref, qd_ref, qdd_ref = self.reference(float(data.time))
        w = self.natural_frequency
        torque = qdd_ref + w**2 * (q_ref - q) + 2 * w * (qd_ref - qd) + self.damping * qd
        return np.clip(torque / self.gear, -1.0, 1.0).astype(np.float32)


def all_factors() -> np.ndarray:
    """Every ``(elbow, via, speed)`` combination, int64 ``(8, 3)``, last factor fastest."""
    return np.array(list(itertools.product(*(range(s) for s in FACTOR_SIZES))), np.int64)
