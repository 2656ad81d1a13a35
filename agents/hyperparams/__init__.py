"""Per-env agent settings as data, in rl-zoo3's style: one file per algorithm.

``ppo.toml`` (and any ``ALGO.toml`` beside it) holds ``[default.KIND]`` tables and
``["ENV_ID".KIND]`` overrides, ``KIND`` being ``flat``, ``latent`` (over a FAVAE's latents) or
``chunk`` (flat, in raw chunks of H primitive actions: ``AgentRunConfig.chunk``)::

    >>> settings("ppo", "macroact/Reaching2D-v0", "latent")["n_steps"]
    16

Files are read as TOML (no code runs); the experiments and the command line read the same
files, and every run records the settings it used.
"""

from __future__ import annotations

import sys
from importlib import resources
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

KINDS = ("flat", "latent", "chunk")


def algorithms() -> list[str]:
    """The algorithms that have a settings file here (``ppo``, ...)."""
    return sorted(p.name[:-5] for p in resources.files(__name__).iterdir()
                  if p.name.endswith(".toml"))


def load(algo: str) -> dict[str, Any]:
    """The whole settings file of ``algo`` as nested dicts."""
    if algo not in algorithms():
        raise ValueError(f"no settings file for {algo!r}; known: {algorithms()}")
    return tomllib.loads(resources.files(__name__).joinpath(f"{algo}.toml").read_text())


def settings(algo: str, env_id: str, kind: str) -> dict[str, Any]:
    """``algo``'s settings for ``kind`` agents on ``env_id``: the defaults, then the env's."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    table = load(algo)
    out = dict(table.get("default", {}).get(kind, {}))
    out.update(table.get(env_id, {}).get(kind, {}))
    return out
