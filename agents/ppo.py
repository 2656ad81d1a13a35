"""stable-baselines3 PPO over learned macro-actions, and flat PPO on the same env.

The budget is counted in *primitive* env steps, so latent and flat agents are compared at
equal interaction: a macro step that executes ``n`` primitive steps costs ``n``. Training
logs to TensorBoard the primitive steps, the episode success rate and return
(``primitive/...`` scalars indexed by primitive steps), and writes ``episodes.csv``
(one row per finished training episode) for plots.

An agent directory holds ``agent.zip`` (SB3 PPO), ``agent.json`` (env id, settings, and the
path of its FAVAE, also copied to ``favae.pt``), ``episodes.csv``, ``eval.json`` and ``tb/``.
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from macroact.agents import common

@dataclasses.dataclass
class PPORunConfig(common.AgentRunConfig):
    """One PPO run over latents (``flat=False``) or primitive actions (``flat=True``).

    The fields of ``agents.common.AgentRunConfig`` (env, budget, action space), plus:

    Attributes:
        ppo: SB3 PPO arguments that override the env's settings in agents/hyperparams/ppo.toml
            (KEY=VALUE,...).
        bc_log_std: policy log-std after cloning ('none' keeps SB3's 0.0; -2.5 keeps a
            clone's exploration noise small for fine-tuning).
        bc_factors: clone only the demos with these factor labels (NAME=LABEL,...), e.g.
            elbow=1,via=0: one plan of a demonstrator that draws plans at random, since a
            Gaussian policy cloned on several plans learns their average.
        prior: add prior_weight * KL(policy || skill prior) to PPO's loss, in place of its
            entropy bonus (agents/ppo_prior.py), with the prior beside the model
            (RUN_DIR/prior.pt, from `macroact prior`); observations are then not normalised.
        prior_weight: weight of the KL-to-prior term (PPO's ent_coef).
    """

    ALGO = "ppo"

    ppo: dict = dataclasses.field(default_factory=dict)
    bc_log_std: float | None = -1.0
    bc_factors: dict | None = None
    prior: bool = False
    prior_weight: float = 0.01

    def ppo_settings(self) -> dict[str, Any]:
        """SB3 PPO arguments: the env's settings (agents/hyperparams/ppo.toml), then ``ppo``."""
        return self.algo_settings()

    def __post_init__(self):
        super().__post_init__()
        if self.timesteps < (0 if self.bc_demos is not None else 1):
            raise ValueError(f"timesteps (primitive env steps) must be >= 1 (>= 0 with bc_demos: "
                             f"the clone alone), got {self.timesteps}")
        if self.bc_factors is not None and (not isinstance(self.bc_factors, dict)
                                            or not self.bc_factors):
            raise ValueError(f"bc_factors must be a non-empty dict of factor name -> label, got "
                             f"{self.bc_factors!r}")
        if self.bc_factors is not None and self.bc_demos is None:
            raise ValueError("bc_factors selects among the bc_demos episodes; pass bc_demos too")
        if self.prior and self.flat:
            raise ValueError("a skill prior is over latent codes: prior needs latent PPO")
        if not (math.isfinite(self.prior_weight) and self.prior_weight >= 0):
            raise ValueError(f"prior_weight must be a number >= 0, got {self.prior_weight!r}")


def _load_favae(path: str | Path):
    from macroact.models.base import SequenceModel
    from macroact.models.favae import FAVAE

    model = SequenceModel.load(path)
    if not isinstance(model, FAVAE) and not getattr(model, "closed_loop", False):
        raise ValueError(f"{str(path)!r} holds a {model.name} model; macro-actions need a FAVAE "
                         "or a closed-loop FAVAE (macroact train --closed-loop)")
    return model


def _active_data(cfg: PPORunConfig, model) -> np.ndarray | None:
    if cfg.latents != "active":
        return None
    if cfg.data is None:
        raise ValueError("latents='active' needs the demonstrations the FAVAE was trained on: "
                         "pass data=DEMOS.npz (--demos)")
    from macroact.data.demos import EpisodeData
    from macroact.data.skills import model_inputs

    # Measure KL on the chunks the model was trained on: same horizon and tail rule (with
    # their observations for a closed-loop model).
    return model_inputs(model, EpisodeData.load(cfg.data), tail=cfg.tail)[1]


def make_env(cfg: PPORunConfig, model=None, chunks: np.ndarray | None = None):
    """The (vectorised, monitored) env an agent of ``cfg`` trains on (``agents.common``:
    reset with seeds of the ``train`` stream, run ``cfg.seed``)."""
    return common.make_env(cfg.env_id, cfg.flat, cfg.n_envs, cfg.seed, model=model,
                           latents=cfg.latents, scale=cfg.scale, chunks=chunks,
                           normalize_obs=cfg.normalize_obs and not cfg.prior, chunk=cfg.chunk,
                           env_kwargs=cfg.env_kwargs)


# Shared with agents/sac.py; the old private names stay for existing callers.
_obs_stats = common.obs_stats
_ObsNormalizer = common.ObsNormalizer
PrimitiveStepCallback = common.PrimitiveStepCallback


def train_ppo(cfg: PPORunConfig, out_dir: str | Path | None = None, eval_episodes: int = 100,
              verbose: int = 0, eval_stream: str = "eval") -> dict[str, Any]:
    """Train PPO for ``cfg.timesteps`` primitive env steps, evaluate, and save.

    Returns a summary dict: ``success_rate`` and ``mean_return`` of ``eval_episodes``
    deterministic evaluation episodes, ``primitive_steps`` used, ``wall_seconds``, and
    ``curve`` (primitive steps, rolling training success) points.

    With ``cfg.bc_demos`` the policy is first behaviour-cloned on those demonstrations
    (``agents/bc.py``: latent targets = the demos' FAVAE codes of the agent's latent dims,
    chunked with ``cfg.tail``, divided by ``cfg.scale``; flat targets = the demos' actions) and
    evaluated (``bc``: its loss and ``success_rate`` of ``eval_episodes`` deterministic
    episodes) before PPO. Cloning uses no env steps: the primitive-step budget is unchanged;
    ``cfg.timesteps=0``
    (with ``bc_demos``) gives the clone alone.

    Training envs are reset with seeds of the ``train`` stream; evaluation episodes come from
    ``eval_stream``: ``"eval"`` for reported numbers, ``"tune"`` for tuning trials.
    """
    import torch
    from stable_baselines3 import PPO

    torch.set_num_threads(1)
    cfg = cfg.resolved()
    model = None if cfg.flat else _load_favae(cfg.model)
    chunks = None if cfg.flat else _active_data(cfg, model)
    venv = make_env(cfg, model, chunks)
    params = cfg.ppo_settings()
    # A minibatch larger than the rollout would be truncated; fit it to n_steps * n_envs.
    params["batch_size"] = min(params["batch_size"], params["n_steps"] * cfg.n_envs)
    out = Path(out_dir) if out_dir is not None else None
    writer = None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(out / "tb"))
    policy = "MlpPolicy"
    if cfg.prior:
        from macroact.agents.ppo_prior import PriorActorCriticPolicy

        policy = PriorActorCriticPolicy
        params["ent_coef"] = cfg.prior_weight
    agent = PPO(policy, venv, seed=cfg.seed, verbose=verbose, device="cpu",
                tensorboard_log=str(out / "tb") if out is not None else None, **params)
    if cfg.prior:
        from macroact.agents.ppo_prior import attach_prior
        from macroact.models.prior import SkillPrior

        src = Path(cfg.model)
        attach_prior(agent.policy, SkillPrior.load(src if src.is_dir() else src.parent),
                     cfg.scale, venv.get_attr("latent_dims")[0])
    bc_info = None
    if cfg.bc_demos is not None:
        bc_info = _bc_init(agent, cfg, model, venv, eval_episodes, chunks, eval_stream)
        if cfg.bc_freeze_obs_stats and hasattr(venv, "obs_rms"):
            venv.training = False
    callback = PrimitiveStepCallback(
        cfg.timesteps, cfg.one_step_actions, writer, critic_warmup=cfg.critic_warmup,
        on_rollout_end=common.snapshot_hook(out, cfg.snapshot_every, cfg.timesteps, 0, agent, venv))
    t0 = time.perf_counter()
    # learn() counts macro steps; the callback stops it at the primitive-step budget.
    if cfg.timesteps > 0:
        agent.learn(total_timesteps=cfg.timesteps, callback=callback, progress_bar=False)
    wall = time.perf_counter() - t0
    obs_stats = _obs_stats(venv)
    result = evaluate_agent(agent, cfg, model, chunks, episodes=eval_episodes, obs_stats=obs_stats,
                            stream=eval_stream)
    result.update(primitive_steps=callback.primitive, wall_seconds=wall,
                  train_episodes=len(callback.rows),
                  final_train_success=float(np.mean([r[1] for r in callback.rows[-100:]]))
                  if callback.rows else 0.0)
    if bc_info is not None:
        result["bc"] = bc_info
    if out is not None:
        # The whole run config, plus the PPO arguments it resolved to and the observation
        # statistics: load_agent rebuilds the agent from these alone.
        meta = {"config": cfg.to_dict(), "ppo": params, "obs_stats": obs_stats}
        common.copy_model_files(cfg, out, meta)
        common.write_agent_dir(out, agent, meta, result, callback.rows)
        writer.close()
    result["episodes"] = callback.rows
    return result


def _bc_init(agent, cfg: PPORunConfig, model, venv, eval_episodes: int, chunks,
             eval_stream: str = "eval") -> dict[str, Any]:
    """Behaviour-clone ``agent`` on ``cfg.bc_demos`` and evaluate it (no env steps counted)."""
    from macroact.agents.bc import (flat_bc_targets, latent_bc_targets, load_bc_demos,
                                    pretrain_policy)

    demos = load_bc_demos(cfg.bc_demos, cfg.env_id, cfg.bc_demos_env, cfg.bc_factors)
    t0 = time.perf_counter()
    if cfg.flat:
        obs, acts = flat_bc_targets(demos)
    else:
        dims = venv.get_attr("latent_dims", [0])[0]
        obs, acts = latent_bc_targets(model, demos, cfg.tail, cfg.scale, dims)
    info = pretrain_policy(agent, obs, acts, epochs=cfg.bc_epochs, batch_size=cfg.bc_batch_size,
                           lr=cfg.bc_lr, seed=cfg.seed, log_std=cfg.bc_log_std)
    info["seconds"] = time.perf_counter() - t0
    info["episodes"] = len(demos)
    ev = evaluate_agent(agent, cfg, model, chunks, episodes=eval_episodes,
                        obs_stats=_obs_stats(venv), stream=eval_stream)
    info.update(success_rate=ev["success_rate"], mean_return=ev["mean_return"])
    return info


def evaluate_agent(agent, cfg: PPORunConfig, model=None, chunks=None, episodes: int = 100,
                   deterministic: bool = True, record: bool = False,
                   obs_stats: dict[str, Any] | None = None, stream: str = "eval",
                   run_seed: int = 0) -> dict[str, Any]:
    """Success rate, mean return and mean primitive steps over ``episodes`` fresh episodes.

    Episodes are reset with ``macroact.seeding.seeds(stream, episodes, run_seed)``: the
    ``eval`` stream (the same episodes for every agent and seed of a comparison) for reported
    numbers, ``tune`` for tuning trials; never a demonstration's or a training env's seed.
    ``obs_stats`` are the observation statistics the agent was trained with (frozen here).
    """
    return common.evaluate_policy(agent.predict, cfg.env_id, cfg.flat, model, cfg.latents,
                                  cfg.scale, chunks, episodes=episodes, stream=stream,
                                  run_seed=run_seed, stats=obs_stats,
                                  deterministic=deterministic, record=record,
                                  record_actions=record, chunk=cfg.chunk,
                                  env_kwargs=cfg.env_kwargs)


def registered_env_id(env_id: Any, env_module: str | None = None, where: str = "agent.json") -> str:
    """A saved env id, accepted only if Gymnasium's registry holds it.

    ``gym.make("module:Env-v0")`` imports ``module``: an id read from a file must not choose
    what is imported. ``env_module`` (given by the user, e.g. ``--env-module``) is imported
    first, so that ids it registers become usable.
    """
    if env_module is not None:
        import importlib

        importlib.import_module(env_module)
    import gymnasium as gym

    if isinstance(env_id, str) and ":" not in env_id and env_id not in gym.registry:
        from macroact.envs.external import register_provider

        # Only this package's fixed list of providers (Gymnasium-Robotics, OGBench) can be
        # imported here, by a pattern of the id; never a module named by the file.
        register_provider(env_id)

    if not isinstance(env_id, str) or env_id not in gym.registry:
        hint = "" if env_module else "; if a module registers it, pass that module (--env-module)"
        raise ValueError(f"{where} names env id {env_id!r}, which is not a registered Gymnasium "
                         f"id{hint}")
    return env_id


def inside(base: Path, name: Any, what: str) -> Path:
    """``base / name``, refused unless it lies inside ``base`` (a saved path stays in its folder)."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"{what} must be a file name inside {str(base)!r}, got {name!r}")
    path = (base / name).resolve()
    if not path.is_relative_to(base.resolve()):
        raise ValueError(f"{what} {name!r} points outside {str(base)!r}; a saved agent may only "
                         "use files inside its own directory")
    return path


def load_agent(agent_dir: str | Path, env_module: str | None = None,
               weights: str | Path | None = None):
    """An agent directory's PPO, its run config, its FAVAE (None for flat agents) and its
    observation statistics (None without).

    ``weights``: a snapshot of the same run (``snapshots/agent-<steps>.zip``, see
    ``snapshot_every``) to load instead of its final ``agent.zip``, with the observation
    statistics kept beside it (``common.snapshot_obs_stats``).

    Nothing is unpickled: ``PPO.load`` would unpickle the zip's ``data`` entry (spaces,
    schedules), so the agent is rebuilt instead from ``agent.json`` (env id and the PPO
    settings it was trained with) and only its tensors are read from ``agent.zip``
    (``torch.load(..., weights_only=True)`` inside SB3's ``load_from_zip_file``). The saved
    agent is data: its env id is used only if registered (``registered_env_id``; import
    ``env_module`` to register more) and its model file must lie inside ``agent_dir``.
    """
    from stable_baselines3 import PPO
    from stable_baselines3.common.save_util import load_from_zip_file

    from macroact.io import CorruptFileError, read_json

    agent_dir = Path(agent_dir)
    meta_path = agent_dir / "agent.json"
    if not meta_path.is_file():
        raise FileNotFoundError(f"{str(agent_dir)!r} is not an agent directory (no agent.json); "
                                "pass the --out of `macroact ppo`")
    meta = read_json(meta_path, "agent record")
    if not isinstance(meta, dict) or "config" not in meta or not isinstance(meta["config"], dict):
        raise ValueError(f"{str(meta_path)!r} has no 'config' entry (written by an older "
                         "macroact, or damaged); retrain the agent with `macroact ppo`")
    registered_env_id(meta["config"].get("env_id"), env_module, str(meta_path))
    cfg = PPORunConfig.from_dict(meta["config"])
    cfg = dataclasses.replace(
        cfg, n_envs=1, normalize_obs=False,
        model=None if cfg.flat else str(inside(agent_dir, meta.get("favae"), "its model file")))
    model = None if cfg.flat else _load_favae(cfg.model)
    # One plain env gives the spaces; the saved obs_stats stand in for VecNormalize.
    venv = make_env(cfg, model, None if cfg.flat else _active_data(cfg, model))
    params = meta.get("ppo")
    if not isinstance(params, dict) or not all(isinstance(params.get(k), int)
                                               for k in ("batch_size", "n_steps")):
        raise ValueError(f"{str(meta_path)!r} has no valid 'ppo' settings; the file is damaged")
    params = dict(params)
    params["batch_size"] = min(params["batch_size"], params["n_steps"])
    try:
        agent = PPO("MlpPolicy", venv, seed=cfg.seed, device="cpu", **params)
    except TypeError as e:
        raise ValueError(f"{str(meta_path)!r} has PPO settings SB3 does not accept ({e})") from None
    stats = meta.get("obs_stats")
    zip_path = agent_dir / "agent.zip"
    if weights is not None:
        zip_path = Path(weights)
        stats = common.snapshot_obs_stats(zip_path, stats)
    if not zip_path.is_file():
        raise FileNotFoundError(f"{str(zip_path)!r} does not exist; the agent directory is "
                                "incomplete")
    try:
        _, tensors, _ = load_from_zip_file(zip_path, load_data=False, device="cpu")
    except Exception as e:  # zipfile, pickle and torch raise many kinds on a damaged file
        if isinstance(e, (PermissionError, IsADirectoryError)):
            raise
        raise CorruptFileError(f"{str(zip_path)!r} cannot be read ({type(e).__name__}: "
                               f"{' '.join(str(e).split())[:200]}); it is truncated or damaged") from None
    if not tensors:
        raise ValueError(f"{str(zip_path)!r} holds no policy parameters; "
                         "pass an agent directory written by `macroact ppo`")
    from macroact.models.base import check_finite_state

    if isinstance(tensors.get("policy"), dict):
        check_finite_state(tensors["policy"], f"{str(zip_path)!r}")
    try:
        agent.set_parameters(tensors, exact_match=True, device="cpu")
    except (ValueError, RuntimeError, KeyError) as e:
        raise ValueError(f"{str(zip_path)!r} does not fit the agent in agent.json ({e}); it is "
                         "damaged or from another run") from None
    cfg.normalize_obs = stats is not None
    return agent, cfg, model, stats
