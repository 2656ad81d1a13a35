"""Saved agent directories, SAC or PPO, replayed on their evaluation episodes.

``evaluate_saved`` evaluates a directory written by ``macroact sac`` or ``macroact ppo``
(deterministic actions, run seed 0, the eval stream's resets of its ``eval.json``);
``replay_record`` keeps what a watching wrapper saw of each episode beside the success rate the
training run recorded (experiments/gripper_failures.py, reacher_failures.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import gymnasium as gym
import numpy as np

from macroact.agents import common
from macroact.agents.ppo import _active_data, load_agent
from macroact.agents.sac import evaluate_sac
from macroact.io import read_json


def evaluate_saved(agent_dir: str | Path, episodes: int = 100, stream: str = "eval",
                   base_wrapper: Callable[[gym.Env], gym.Env] | None = None,
                   on_episode_end: Callable[[gym.Env, bool], Any] | None = None,
                   weights: str | Path | None = None) -> dict[str, Any]:
    """``evaluate_policy`` for a saved agent directory, SAC (``macroact sac``) or PPO
    (``macroact ppo``), deterministic actions, run seed 0: the episodes of its ``eval.json``
    when ``stream`` is ``"eval"`` and ``episodes`` its count. ``weights``: one of the run's
    snapshots (``snapshots/agent-<steps>.zip``) in place of its final agent."""
    meta_path = Path(agent_dir) / "agent.json"
    meta = read_json(meta_path, "agent record") if meta_path.is_file() else {}
    if isinstance(meta, dict) and meta.get("algo") == "sac":
        return evaluate_sac(agent_dir, episodes, stream, base_wrapper=base_wrapper,
                            on_episode_end=on_episode_end, weights=weights)
    agent, cfg, model, stats = load_agent(agent_dir, weights=weights)
    return common.evaluate_policy(agent.predict, cfg.env_id, cfg.flat, model, cfg.latents,
                                  cfg.scale, None if cfg.flat else _active_data(cfg, model),
                                  episodes=episodes, stream=stream, stats=stats,
                                  chunk=cfg.chunk, env_kwargs=cfg.env_kwargs,
                                  base_wrapper=base_wrapper, on_episode_end=on_episode_end)


def replay_record(agent_dir: str | Path, episodes: int,
                  base_wrapper: Callable[[gym.Env], gym.Env],
                  on_episode_end: Callable[[gym.Env, bool], dict[str, Any]]) -> dict[str, Any]:
    """Replay a saved agent (``evaluate_saved``, eval stream) and keep what
    ``on_episode_end`` says of each episode (a dict with ``"cls"``, ``"success"`` for a
    success), beside the success rate its training run recorded (``eval.json``)."""
    agent_dir = Path(agent_dir)
    res = evaluate_saved(agent_dir, episodes, "eval", base_wrapper=base_wrapper,
                         on_episode_end=on_episode_end)
    per_episode = res["episode_extras"]
    recorded = json.loads((agent_dir / "eval.json").read_text())
    return dict(key=agent_dir.name, agent_dir=agent_dir.name, episodes=episodes,
                success_rate=float(np.mean([e["cls"] == "success" for e in per_episode])),
                recorded_success_rate=recorded.get("success_rate"),
                recorded_episodes=recorded.get("eval_episodes"), per_episode=per_episode)
