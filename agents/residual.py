"""Residual SAC over a saved skill agent (``macroact sac ENV --residual SKILL_DIR``).

A flat SAC agent that acts on every primitive step through ``macroact.residual.
ResidualSkillWrapper``: the saved latent SAC agent in ``SKILL_DIR`` (``macroact sac --model
RUN_DIR``, with or without ``--prior``) picks a code every ``H`` steps, deterministically and
frozen, and the residual agent adds a bounded correction to each decoded action. The skill
agent's budget is not part of the residual run's: a comparison at a total budget adds the two.

The residual agent directory keeps a copy of the skill agent in ``OUT/skill/`` (its
``agent.json``, ``agent.zip`` and model files), so it loads on its own.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable

import gymnasium as gym

__all__ = ["skill_wrapper", "copy_skill_agent", "SKILL_DIR"]

SKILL_DIR = "skill"
"""Where a residual agent directory keeps its skill agent."""


def skill_wrapper(skill_dir: str | Path, residual_scale: float
                  ) -> Callable[[gym.Env], gym.Env]:
    """A function wrapping a primitive env in ``ResidualSkillWrapper`` over the saved latent
    SAC agent in ``skill_dir``; the agent and its model are loaded once and shared.

    Raises:
        ValueError: ``skill_dir`` holds no agent, or a flat or raw-chunk agent (it has no
            latent codes to decode).
    """
    from macroact.agents.common import ObsNormalizer
    from macroact.agents.ppo import _active_data
    from macroact.agents.sac import load_sac_agent
    from macroact.residual import ResidualSkillWrapper

    skill_dir = Path(skill_dir)
    if not (skill_dir / "agent.json").is_file():
        raise ValueError(f"residual={str(skill_dir)!r} holds no agent.json; pass the directory "
                         "of a latent SAC agent saved by `macroact sac --model RUN_DIR --out DIR`")
    agent, cfg, model, stats = load_sac_agent(skill_dir)
    if cfg.flat:
        raise ValueError(f"the agent in {str(skill_dir)!r} is flat: a residual corrects the "
                         "decoded actions of a latent agent (macroact sac --model RUN_DIR)")
    chunks = _active_data(cfg, model)
    norm = ObsNormalizer(stats)

    def policy(obs):
        return agent.predict(norm(obs), deterministic=True)[0]

    def wrap(env: gym.Env) -> gym.Env:
        return ResidualSkillWrapper(env, policy, model, latents=cfg.latents, scale=cfg.scale,
                                    data=chunks, residual_scale=residual_scale)

    return wrap


def copy_skill_agent(skill_dir: str | Path, out: Path, meta: dict[str, Any]) -> None:
    """Copy the skill agent's files into ``out/skill/`` and name the copy in ``meta``."""
    from macroact.io import read_json

    src = Path(skill_dir)
    dst = out / SKILL_DIR
    dst.mkdir(parents=True, exist_ok=True)
    skill_meta = read_json(src / "agent.json", "agent record")
    names = ["agent.json", "agent.zip"] + [skill_meta[k] for k in ("favae", "prior")
                                           if isinstance(skill_meta.get(k), str)]
    for name in names:
        shutil.copyfile(src / name, dst / name)
    meta["skill"] = SKILL_DIR
    meta["skill_source"] = str(src.resolve())
