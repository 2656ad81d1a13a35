"""Environments with scripted demonstrators, registered under the ``macroact/`` namespace.

Importing ``macroact`` registers them with Gymnasium::

    >>> import gymnasium as gym
    >>> import macroact
    >>> env = gym.make("macroact/Reaching2D-v0")

Every environment has a scripted demonstrator (see ``make_demonstrator``) that
``macroact collect`` uses to record demonstrations with their factor labels.
"""

from __future__ import annotations

import importlib
from typing import Any

import gymnasium as gym

# env id -> (entry point, max_episode_steps, demonstrator "module:Class")
ENVS: dict[str, tuple[str, int, str]] = {
    "macroact/Reaching2D-v0": (
        "macroact.envs.reaching2d:Reaching2DEnv", 100,
        "macroact.envs.reaching2d:Reaching2DDemonstrator"),
    "macroact/ReacherSparse-v0": (
        "macroact.envs.reacher_sparse:ReacherSparseEnv", 50,
        "macroact.envs.reacher_sparse:ReacherDemonstrator"),
    "macroact/Gripper-v0": (
        "macroact.envs.gripper:GripperEnv", 400,
        "macroact.envs.gripper:GripperDemonstrator"),
}


def register_envs() -> None:
    """Register every environment of the package with Gymnasium (idempotent)."""
    for env_id, (entry_point, max_steps, _) in ENVS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry_point, max_episode_steps=max_steps)


def _load(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def make_demonstrator(env_id: str, env: gym.Env) -> Any:
    """The scripted demonstrator of ``env_id``, bound to ``env`` (a made env of that id).

    A demonstrator has ``factor_names`` (tuple of str), ``factor_sizes`` (tuple of int),
    ``reset(obs, info, rng) -> factors`` (int64 array, one label per factor, chosen for the
    episode just reset) and ``act(obs) -> action``.
    """
    if env_id not in ENVS:
        raise ValueError(f"no scripted demonstrator for {env_id!r}; known: {sorted(ENVS)}")
    return _load(ENVS[env_id][2])(env)


register_envs()
