"""Environments with scripted demonstrators, registered under the ``macroact/`` namespace.

Importing ``macroact`` registers them with Gymnasium::

    >>> import gymnasium as gym
    >>> import macroact
    >>> env = gym.make("macroact/Reaching2D-v0")

``-v0`` ids are the FAVAE paper's tasks, with few start states; ``-v1`` ids draw goals,
object positions and start jitter continuously at reset (``ENVS[id].start_states`` tells
which). Every environment has a scripted demonstrator (see ``make_demonstrator``) that
``macroact collect`` uses to record demonstrations with their factor labels.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any, NamedTuple

import gymnasium as gym


class EnvEntry(NamedTuple):
    """How one ``macroact/`` id is registered, and what its demonstrations can be compared to.

    Attributes:
        entry_point: ``"module:Class"`` of the environment.
        max_episode_steps: The ``TimeLimit`` that ``gym.make`` adds.
        demonstrator: ``"module:Class"`` of its scripted demonstrator.
        kwargs: Constructor keyword arguments of the id (e.g. ``{"varied": True}``).
        start_states: The number of distinct first observations a reset can produce when it
            is finite and small (the paper's tasks: 2 for Reaching2D-v0, 48 for Gripper-v0),
            else ``None`` (continuous draws). With a finite start set every evaluation
            episode necessarily starts where some demonstration did, so held-out starts need
            a varied (``None``) env; seed streams (``macroact.seeding``) stay disjoint either
            way.
    """

    entry_point: str
    max_episode_steps: int
    demonstrator: str
    kwargs: dict[str, Any] = {}
    start_states: int | None = None


ENVS: dict[str, EnvEntry] = {
    "macroact/Reaching2D-v0": EnvEntry(
        "macroact.envs.reaching2d:Reaching2DEnv", 100,
        "macroact.envs.reaching2d:Reaching2DDemonstrator", start_states=2),
    "macroact/Reaching2D-v1": EnvEntry(
        "macroact.envs.reaching2d:Reaching2DEnv", 100,
        "macroact.envs.reaching2d:Reaching2DDemonstrator", kwargs={"varied": True}),
    "macroact/ReacherSparse-v0": EnvEntry(
        "macroact.envs.reacher_sparse:ReacherSparseEnv", 50,
        "macroact.envs.reacher_sparse:ReacherDemonstrator"),
    "macroact/Gripper-v0": EnvEntry(
        "macroact.envs.gripper:GripperEnv", 400,
        "macroact.envs.gripper:GripperDemonstrator", start_states=48),
    "macroact/Gripper-v1": EnvEntry(
        "macroact.envs.gripper:GripperEnv", 400,
        "macroact.envs.gripper:GripperDemonstrator", kwargs={"varied": True}),
}
"""Every registered id. ``-v0`` are the paper's tasks (few start states); ``-v1`` the varied
ones, whose resets draw continuous goals, object positions and start jitter."""


def register_envs() -> None:
    """Register every environment of the package with Gymnasium (idempotent).

    Gymnasium reads a higher version as a newer release and warns that ``-v0`` "is out of
    date"; here ``-v0`` and ``-v1`` are two tasks (the paper's and the varied one), so that
    one warning is filtered for the ``macroact/`` ids (and no other warning).
    """
    warnings.filterwarnings("ignore", message=r".*environment macroact/[\w-]+-v0 is out of date",
                            category=DeprecationWarning)
    for env_id, entry in ENVS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry.entry_point,
                         max_episode_steps=entry.max_episode_steps, kwargs=dict(entry.kwargs))


def has_finite_starts(env_id: str) -> bool:
    """Whether ``env_id``'s resets draw from a small finite set of first observations.

    Args:
        env_id: A key of ``ENVS``.

    Returns:
        True for the paper's tasks (``ENVS[env_id].start_states`` is set), False for envs with
        continuous reset draws.

    Raises:
        ValueError: If ``env_id`` is not one of ``ENVS``.

    Example:
        >>> has_finite_starts("macroact/Reaching2D-v0"), has_finite_starts("macroact/Reaching2D-v1")
        (True, False)
    """
    if env_id not in ENVS:
        raise ValueError(f"unknown env id {env_id!r}; known: {sorted(ENVS)}")
    return ENVS[env_id].start_states is not None


def _load(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def make_demonstrator(env_id: str, env: gym.Env, **kwargs: Any) -> Any:
    """The scripted demonstrator of ``env_id``, bound to ``env`` (a made env of that id).

    A demonstrator has ``factor_names`` (tuple of str), ``factor_sizes`` (tuple of int),
    ``reset(obs, info, rng) -> factors`` (int64 array, one label per factor, chosen for the
    episode just reset) and ``act(obs) -> action``. ``kwargs`` go to its constructor (e.g.
    ``replan=True`` for the Gripper's).
    """
    if env_id not in ENVS:
        raise ValueError(f"no scripted demonstrator for {env_id!r}; known: {sorted(ENVS)}")
    cls = _load(ENVS[env_id].demonstrator)
    try:
        return cls(env, **kwargs)
    except TypeError as e:
        raise ValueError(f"{env_id}'s demonstrator {cls.__name__} does not take "
                         f"{sorted(kwargs)}: {e}") from None


register_envs()
