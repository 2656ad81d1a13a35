"""OGBench manipulation play data from OGBench's own oracles (``macroact[ogbench]``).

OGBench generates its ``play`` data sets (``cube-*``, ``scene-*``, ``puzzle-*``) with the
non-Markovian plan oracles shipped in ``ogbench.manipspace.oracles.plan``: each oracle plans
keyframes for one subtask (pick a cube and place it at a target, press a button, open a
drawer...), interpolates them and adds temporally smoothed Gaussian noise to the plan
(``noise=0.1``, ``noise_smoothing=0.5``); when the plan is done the env draws a new random
subtask (``set_new_target``; cubes are stacked on another cube with a probability drawn per
episode: 0 for single, U(0, 0.25) double, U(0.05, 0.35) triple, U(0.1, 0.5) quadruple,
U(0, 0.35) octuple, 0.5 otherwise), so an episode of 1001 steps strings several subtasks
together. The env runs with ``mode="data_collection"`` (random targets, privileged info for the
oracle) and ``terminate_at_goal=False``. ``OGBenchDemonstrator`` does exactly this inside
``macroact collect`` (``--demonstrator ogbench``), with ``env_defaults`` giving those env
kwargs and 1001-step episodes; anything passed as ``--env-kwargs`` goes on top.

Collect on the data-collection ids (``cube-single-v0``, ``scene-v0``, ``puzzle-3x3-v0``...);
the ``*-singletask-task{N}-v0`` ids are the evaluation tasks (task mode, no random
subtasks), on which the agents are then run with the same observations.

Differences from OGBench's generator: the oracles draw from NumPy's global generator, which
this demonstrator seeds from ``rng`` at every reset (so a seed fixes the data set); and the
``scene`` data's health check (re-running episodes whose cube leaves the camera's view) is not
applied. Factor labels: none (each subtask is drawn by the env mid-episode).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from macroact.extras import optional_import

PLAY_NOISE = 0.1
"""Plan noise of OGBench's play data (its generator's ``--noise``)."""
PLAY_NOISE_SMOOTHING = 0.5
"""Gaussian smoothing (in steps) of that noise (its ``--noise_smoothing``)."""
PLAY_EPISODE_STEPS = 1001
"""Steps per play-data episode."""

_P_STACK = {"single": (0.0, 0.0), "double": (0.0, 0.25), "triple": (0.05, 0.35),
            "quadruple": (0.1, 0.5), "octuple": (0.0, 0.35)}


class OGBenchDemonstrator:
    """OGBench's plan oracles with its play-data noise and random subtasks (see module docs).

    Args:
        env: A made OGBench manipspace env in ``mode="data_collection"``.
        rng: Seeds the oracles (through NumPy's global generator) and draws the stacking
            probability of each episode.
        noise: Plan noise (OGBench's play data: 0.1).
        noise_smoothing: Smoothing of the plan noise (0.5).
    """

    factor_names: tuple[str, ...] = ()
    env_defaults = {"mode": "data_collection", "terminate_at_goal": False,
                    "max_episode_steps": PLAY_EPISODE_STEPS}

    def __init__(self, env: Any, rng: np.random.Generator, noise: float = PLAY_NOISE,
                 noise_smoothing: float = PLAY_NOISE_SMOOTHING):
        optional_import("ogbench.manipspace", "ogbench", feature="the ogbench demonstrator")
        from ogbench.manipspace.oracles.plan.button_plan import ButtonPlanOracle
        from ogbench.manipspace.oracles.plan.cube_plan import CubePlanOracle
        from ogbench.manipspace.oracles.plan.drawer_plan import DrawerPlanOracle
        from ogbench.manipspace.oracles.plan.window_plan import WindowPlanOracle

        base = env.unwrapped
        kind = type(base).__name__
        if getattr(base, "_mode", None) != "data_collection":
            spec = env.spec.id if env.spec is not None else kind
            raise ValueError(f"the ogbench demonstrator records play data with mode="
                             f"'data_collection'; {spec} runs in mode {getattr(base, '_mode', None)!r}"
                             " (singletask ids are evaluation tasks: collect on e.g. "
                             "cube-single-v0)")
        for name, value in (("noise", noise), ("noise_smoothing", noise_smoothing)):
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        kw = {"env": env, "noise": float(noise), "noise_smoothing": float(noise_smoothing)}
        if kind == "CubeEnv":
            self.oracles = {"cube": CubePlanOracle(**kw)}
            self.p_stack_range = _P_STACK.get(getattr(base, "_env_type", ""), (0.5, 0.5))
        elif kind == "SceneEnv":
            self.oracles = {"cube": CubePlanOracle(**kw), "button": ButtonPlanOracle(**kw),
                            "drawer": DrawerPlanOracle(**kw), "window": WindowPlanOracle(**kw)}
            self.p_stack_range = (0.5, 0.5)
        elif kind == "PuzzleEnv":
            self.oracles = {"button": ButtonPlanOracle(gripper_always_closed=True, **kw)}
            self.p_stack_range = (0.5, 0.5)
        else:
            raise ValueError(f"the ogbench demonstrator knows the manipspace envs (CubeEnv, "
                             f"SceneEnv, PuzzleEnv), got {kind}")
        self.env, self.rng = env, rng
        self.oracle: Any = None
        self.p_stack = 0.0
        self.subtasks = 0

    def reset(self, obs: np.ndarray, info: dict[str, Any]) -> None:
        np.random.seed(int(self.rng.integers(2**31)))  # the oracles draw from np.random
        low, high = self.p_stack_range
        self.p_stack = float(self.rng.uniform(low, high)) if high > low else float(low)
        self.oracle = self.oracles[info["privileged/target_task"]]
        self.oracle.reset(obs, info)
        self.subtasks = 1
        return None

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        if self.oracle is None:
            raise RuntimeError("act() before reset(): call reset(obs, info) after env.reset")
        if self.oracle.done:  # the last subtask's plan has run out: the env draws a new one
            new_obs, new_info = self.env.unwrapped.set_new_target(p_stack=self.p_stack)
            self.oracle = self.oracles[new_info["privileged/target_task"]]
            self.oracle.reset(new_obs, new_info)
            self.subtasks += 1
        return np.clip(np.asarray(self.oracle.select_action(obs, info)), -1.0, 1.0)
