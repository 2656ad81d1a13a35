"""stable-baselines3 SAC on primitive actions (``flat=True``) or over a FAVAE's latents.

The budget is counted in primitive env steps, as for PPO (``agents/ppo.py``), and the shared
parts (training envs on the ``train`` seed stream, the primitive-step callback, evaluation on
the ``eval`` stream, the agent directory) live in ``agents/common.py``.

SAC runs are long (one gradient step per env step is ~80 env steps/s on a 2-core CPU), so a
run with an output directory writes a checkpoint every ``checkpoint_every`` primitive steps
into ``OUT/checkpoint/``: the network and optimiser tensors (``agent-<steps>.zip``), the replay
buffer (``replay-<steps>.npz``: its arrays and write position) and a JSON state
(``state.json``: the two file names, primitive steps, training episodes, SB3's step and update
counters, observation statistics). ``train_sac(..., resume=True)`` (``macroact sac --resume``)
continues from it.

Crash safety: each file is written to a temporary name and renamed into place, and
``state.json`` is written last and names the files it goes with, so a run killed at any moment
leaves the previous checkpoint or the new one whole; older files are deleted after the new
state is in place. Nothing is unpickled on resume: the buffer is read with
``np.load(allow_pickle=False)`` into the agent's own freshly built buffer (shapes and dtypes
checked), and only tensors are read from the zip (``torch.load(weights_only=True)`` inside
SB3's ``load_from_zip_file``); the agent itself is rebuilt from the config.

A resumed run is not bit-identical to an uninterrupted one: its envs restart episodes from
fresh seeds of the run's train-stream block, and random number streams restart.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
import warnings
from pathlib import Path
from typing import Any, Literal

import numpy as np

from macroact.agents import common
from macroact.io import atomic_write, atomic_write_text

__all__ = ["SACRunConfig", "train_sac", "load_sac_agent", "evaluate_sac", "save_replay_buffer",
           "load_replay_buffer"]


@dataclasses.dataclass
class SACRunConfig(common.AgentRunConfig):
    """One SAC run on primitive actions (``flat=True``) or over latents (``flat=False``).

    The fields of ``agents.common.AgentRunConfig`` (env, budget, action space; here flat, one
    env and 20,000 steps by default), plus:

    Attributes:
        sac: SB3 SAC arguments that override the env's settings in agents/hyperparams/sac.toml
            (KEY=VALUE,...), e.g. train_freq=4,gradient_steps=1.
        checkpoint_every: primitive env steps between checkpoints (agent, replay buffer,
            counters) in OUT/checkpoint/; 0 writes none.
        prior: latent SAC guided by the skill prior beside the model (RUN_DIR/prior.pt, from
            `macroact prior`): the entropy bonus becomes the KL to the prior with a tuned weight
            (SPiRL, agents/sac_prior.py), the policy starts at the prior. Best with a chunked
            model (H about 10). Observations are not normalised (the prior has its own scaling).
        prior_target_kl: target KL divergence from the prior per decision (nats).
        prior_init_steps: Adam steps fitting the policy to the prior before training, on the
            --demos chunk-start states (or on reset states without --demos).
        prior_init_component: what the policy is fitted to before training: 'mixture' (the
            whole prior) or 'top' (its most probable component at each state; for a mixture
            prior, so that the policy starts on one demonstrated mode, not between them).
        bc_log_std: with bc_demos, the actor's log-std (before its tanh) after cloning, the
            same for every state (e.g. -2.5: exploration starts close to the clone); 'none'
            fits it to the demos' spread by likelihood.
        demo_replay: demonstrations (.npz of env_id) whose transitions fill the replay buffer
            before the first env step (agents/demo_replay.py: flat, one per demo step;
            latent, one per macro decision, the chunk's code as the action), so that SAC
            learns from their rewards without cloning them. The buffer must hold them at the
            start; once it is full, SB3 overwrites its oldest rows, the demos first.
        residual: the directory of a saved latent SAC agent (the skill policy): this flat
            agent then acts on every primitive step with a correction to the action the
            skill agent's decoded macro gives there (
            macroact.residual.ResidualSkillWrapper; a copy of it is kept in OUT/skill/, so
            that the agent directory loads on its own); the skill agent is frozen and
            deterministic, and its own training steps are not in this run's budget.
        residual_scale: with residual, the largest correction as a fraction of half the
            action range.
        residual_prior_std: with residual, replace SAC's entropy bonus by the KL to a
            zero-mean Gaussian of this std over the agent's action (agents/sac_prior.py,
            ZeroMeanPrior), with prior_target_kl and an automatically tuned weight as for a
            skill prior, the policy first fitted to it on reset states (prior_init_steps):
            the corrections stay near "none" unless the critic finds them worth their KL.

    With ``bc_demos`` (``--bc-init``) the actor is first behaviour-cloned on the demos
    (``agents.bc.pretrain_sac_actor``: least squares on the deterministic action, the log-std
    by likelihood or ``bc_log_std``; flat targets: the demos' actions, latent: their FAVAE
    codes) and the clone evaluated, as BC + PPO does; SAC then fine-tunes it. SB3's SAC acts
    at random for its first ``learning_starts`` steps: pass ``--sac learning_starts=0`` to
    collect them with the clone.
    """

    ALGO = "sac"

    timesteps: int = 20_000
    flat: bool = True
    n_envs: int = 1
    sac: dict = dataclasses.field(default_factory=dict)
    checkpoint_every: int = 10_000
    prior: bool = False
    prior_target_kl: float = 5.0
    prior_init_steps: int = 500
    prior_init_component: Literal["mixture", "top"] = "mixture"
    bc_log_std: float | None = None
    demo_replay: str | None = None
    residual: str | None = None
    residual_scale: float = 0.2
    residual_prior_std: float | None = None

    def sac_settings(self) -> dict[str, Any]:
        """SB3 SAC arguments: the env's settings (agents/hyperparams/sac.toml), then ``sac``."""
        return self.algo_settings()

    def __post_init__(self):
        super().__post_init__()
        if self.timesteps < 1:
            raise ValueError(f"timesteps (primitive env steps) must be >= 1, got {self.timesteps}")
        if self.checkpoint_every < 0:
            raise ValueError(f"checkpoint_every must be >= 0, got {self.checkpoint_every}")
        if self.prior and self.flat:
            raise ValueError("a skill prior is over latent codes: prior needs latent SAC "
                             "(flat=False with model=RUN_DIR)")
        if self.prior and self.bc_demos is not None:
            raise ValueError("prior starts the policy at the skill prior and bc_demos at a "
                             "clone of the demos: pass one of them")
        if self.prior_init_steps < 0:
            raise ValueError(f"prior_init_steps must be >= 0, got {self.prior_init_steps}")
        if self.demo_replay is not None and self.chunk:
            raise ValueError(f"demo_replay adds primitive or macro transitions, not raw chunks of "
                             f"{self.chunk}: drop demo_replay (--demo-replay) or chunk")
        if self.residual is not None:
            clash = [name for name, on in (("chunk", self.chunk), ("bc_demos", self.bc_demos),
                                           ("demo_replay", self.demo_replay)) if on]
            if not self.flat or clash:
                raise ValueError(f"residual={self.residual!r} trains a flat agent of primitive "
                                 f"corrections: pass flat=True (--flat) and drop "
                                 f"{clash or ['model']}")
            if self.residual_prior_std is not None and not self.residual_prior_std > 0:
                raise ValueError(f"residual_prior_std must be > 0 (the std of the zero-mean "
                                 f"prior over corrections), got {self.residual_prior_std}")
            if not 0 < self.residual_scale <= 2:
                raise ValueError(f"residual_scale must be in (0, 2] (a fraction of half the "
                                 f"action range), got {self.residual_scale}; e.g. 0.2")
        if self.residual_prior_std is not None and self.residual is None:
            raise ValueError(f"residual_prior_std={self.residual_prior_std} is the prior of a "
                             "residual agent: pass residual=SKILL_DIR too, or drop it")
        if self.prior_init_component not in ("mixture", "top"):
            raise ValueError(f"prior_init_component must be 'mixture' or 'top', got "
                             f"{self.prior_init_component!r}")


def _model_and_chunks(cfg: SACRunConfig):
    if cfg.flat:
        return None, None
    from macroact.agents.ppo import _active_data, _load_favae

    model = _load_favae(cfg.model)
    return model, _active_data(cfg, model)


def _build(cfg: SACRunConfig, venv, params: dict[str, Any], tb: str | None = None,
           prior=None, model=None):
    from stable_baselines3 import SAC

    params = dict(params)
    policy_kwargs = params.pop("policy_kwargs", None)
    kwargs = {"policy_kwargs": dict(policy_kwargs)} if policy_kwargs else {}
    if prior is not None:
        from macroact.agents.sac_prior import PriorSAC

        dims = venv.get_attr("latent_dims")[0] if model is not None else None
        # A residual agent's prior is over its own action (scale 1).
        scale = 1.0 if cfg.residual is not None else cfg.scale
        return PriorSAC("MlpPolicy", venv, prior=prior, scale=scale, latent_dims=dims,
                        target_kl=cfg.prior_target_kl, seed=cfg.seed, device="cpu",
                        tensorboard_log=tb, **kwargs, **params)
    return SAC("MlpPolicy", venv, seed=cfg.seed, device="cpu", tensorboard_log=tb,
               **kwargs, **params)


def _set_tensors(agent, zip_path: Path) -> None:
    """Load network and optimiser tensors (no pickle) and SAC's entropy coefficient."""
    import torch
    from stable_baselines3.common.save_util import load_from_zip_file

    _, tensors, variables = load_from_zip_file(zip_path, load_data=False, device="cpu")
    if not tensors:
        raise ValueError(f"{str(zip_path)!r} holds no policy parameters")
    agent.set_parameters(tensors, exact_match=False, device="cpu")
    if variables and "log_ent_coef" in variables and agent.log_ent_coef is not None:
        with torch.no_grad():
            agent.log_ent_coef.copy_(variables["log_ent_coef"])


# The arrays of SB3's ReplayBuffer that a checkpoint keeps (next_observations is absent when
# the buffer was built with optimize_memory_usage).
_BUFFER_ARRAYS = ("observations", "next_observations", "actions", "rewards", "dones",
                  "timeouts")


def save_replay_buffer(buffer, path: Path) -> None:
    """Write an SB3 ``ReplayBuffer``'s arrays and write position to ``path`` (``.npz``,
    atomically); ``load_replay_buffer`` reads it back without unpickling."""
    from stable_baselines3.common.buffers import ReplayBuffer

    if type(buffer) is not ReplayBuffer:
        raise TypeError(f"checkpoints keep SB3's ReplayBuffer, not {type(buffer).__name__} "
                        "(dict observations are flattened by macroact's envs)")
    arrays = {k: getattr(buffer, k) for k in _BUFFER_ARRAYS if getattr(buffer, k, None)
              is not None}
    arrays.update(pos=np.asarray(buffer.pos, np.int64), full=np.asarray(buffer.full))
    atomic_write(path, lambda f: np.savez(f, **arrays))


def load_replay_buffer(buffer, path: Path) -> None:
    """Fill ``buffer`` (the agent's own, freshly built) from a ``save_replay_buffer`` file.

    Raises ``ValueError`` naming the array when the file's arrays do not match the buffer's
    names, shapes or dtypes (another env, buffer size or config wrote it)."""
    with np.load(path, allow_pickle=False) as f:
        data = {k: f[k] for k in f.files}
    want = {k for k in _BUFFER_ARRAYS if getattr(buffer, k, None) is not None}
    got = set(data) - {"pos", "full"}
    if got != want or "pos" not in data or "full" not in data:
        raise ValueError(f"{str(path)!r} holds arrays {sorted(data)}, the agent's replay buffer "
                         f"needs {sorted(want | {'pos', 'full'})}; resume with the config that "
                         "wrote it or start a new run directory")
    for k in sorted(want):
        have = getattr(buffer, k)
        if data[k].shape != have.shape or data[k].dtype != have.dtype:
            raise ValueError(f"{str(path)!r}: {k} is {data[k].dtype}{list(data[k].shape)}, the "
                             f"agent's replay buffer has {have.dtype}{list(have.shape)}; resume "
                             "with the config that wrote it or start a new run directory")
    pos = int(data["pos"])
    if not 0 <= pos <= buffer.buffer_size:
        raise ValueError(f"{str(path)!r}: write position {pos} is outside the buffer's "
                         f"{buffer.buffer_size} rows")
    for k in want:
        getattr(buffer, k)[...] = data[k]
    buffer.pos, buffer.full = pos, bool(data["full"])


def _write_checkpoint(ckpt: Path, agent, state: dict[str, Any]) -> None:
    """A crash-safe checkpoint (see the module docstring): new files, then ``state.json``
    naming them, then the old files are removed."""
    ckpt.mkdir(parents=True, exist_ok=True)
    step = int(state["primitive"])
    files = {"agent": f"agent-{step:09d}.zip", "buffer": f"replay-{step:09d}.npz"}
    atomic_write(ckpt / files["agent"], lambda f: agent.save(f))
    save_replay_buffer(agent.replay_buffer, ckpt / files["buffer"])
    atomic_write_text(json.dumps(dict(state, files=files)), ckpt / "state.json")
    for old in ckpt.iterdir():
        if old.name != "state.json" and old.name not in files.values():
            old.unlink()


def _read_checkpoint(ckpt: Path) -> dict[str, Any] | None:
    """The state of the checkpoint in ``ckpt``, or None when there is none."""
    if not (ckpt / "state.json").is_file():
        return None
    state = json.loads((ckpt / "state.json").read_text())
    files = state.get("files")
    if not isinstance(files, dict) or any(not (ckpt / files.get(k, "")).is_file()
                                          for k in ("agent", "buffer")):
        raise ValueError(f"{ckpt}/state.json names no agent and replay-buffer files that exist "
                         f"(files: {files}); it was written by an older macroact or damaged: "
                         "start a new run directory")
    return state


def _training_summary(agent) -> dict[str, Any]:
    """What the updates did: gradient steps taken, the final entropy (or, with a prior, KL)
    weight alpha, and with a prior the latest mean KL to it and its target."""
    log_alpha = getattr(agent, "log_ent_coef", None)
    alpha = float(log_alpha.detach().exp().item()) if log_alpha is not None \
        else float(agent.ent_coef_tensor.item())
    out = {"gradient_steps": int(agent._n_updates), "alpha": alpha}
    if hasattr(agent, "target_kl"):
        out.update(prior_kl=agent.last_prior_kl, target_kl=agent.target_kl)
    return out


def train_sac(cfg: SACRunConfig, out_dir: str | Path | None = None, eval_episodes: int = 100,
              verbose: int = 0, eval_stream: str = "eval", resume: bool = False
              ) -> dict[str, Any]:
    """Train SAC for ``cfg.timesteps`` primitive env steps, evaluate, and save.

    Returns the summary ``train_ppo`` returns (``success_rate``, ``mean_return``,
    ``primitive_steps``, ``wall_seconds``, ``train_episodes``, ``final_train_success``,
    ``episodes`` rows) and ``training`` (gradient steps, final alpha; with a prior, the
    latest KL to it and its target); evaluation episodes come from ``eval_stream`` (``"eval"``, or
    ``"tune"`` for tuning trials). With ``resume`` and a checkpoint in ``OUT/checkpoint/``,
    training continues from it (same config required) with its replay buffer.
    """
    import torch

    torch.set_num_threads(1)
    cfg = cfg.resolved()
    out = Path(out_dir) if out_dir is not None else None
    ckpt = out / "checkpoint" if out is not None else None
    state = None
    if resume:
        if ckpt is None:
            raise ValueError("resume needs the run's out_dir")
        state = _read_checkpoint(ckpt)
        if state is not None:
            # Through from_dict: fields added since the checkpoint was written take their
            # defaults; through JSON: tuples and lists compare equal.
            saved = SACRunConfig.from_dict(state["config"]).to_dict()
            if json.loads(json.dumps(saved)) != json.loads(json.dumps(cfg.to_dict())):
                raise ValueError(f"{ckpt} was written by another config ({state['config']}); "
                                 "resume with the same settings or start a new run directory")
    model, chunks = _model_and_chunks(cfg)
    resumes = 0 if state is None else state["resumes"] + 1
    wrap = _residual_wrapper(cfg)
    venv = common.make_env(cfg.env_id, cfg.flat, cfg.n_envs, cfg.seed, model=model,
                           latents=cfg.latents, scale=cfg.scale, chunks=chunks,
                           normalize_obs=cfg.normalize_obs and not cfg.prior,
                           seed_offset=resumes * cfg.n_envs, chunk=cfg.chunk,
                           env_kwargs=cfg.env_kwargs, agent_wrapper=wrap)
    params = cfg.sac_settings()
    prior = _load_prior(cfg) if cfg.prior else None
    if cfg.residual_prior_std is not None:
        from macroact.agents.sac_prior import ZeroMeanPrior

        prior = ZeroMeanPrior(cfg.residual_prior_std, venv.action_space.shape[0])
    writer = None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(out / "tb"))
    agent = _build(cfg, venv, params, str(out / "tb") if out is not None else None,
                   prior=prior, model=model)
    start, rows, wall_before = 0, [], 0.0
    prior_init = None
    if prior is not None and state is None and cfg.prior_init_steps > 0:
        from macroact.agents.sac_prior import init_at_prior

        prior_init = init_at_prior(agent, _prior_states(cfg, model, wrap),
                                   steps=cfg.prior_init_steps,
                                   seed=cfg.seed, component=cfg.prior_init_component)
        if prior_init["kl_after"] > cfg.prior_target_kl:
            # alpha grows while the KL stays above its target: a target the policy cannot
            # reach makes alpha (and the critic's targets) grow without bound.
            warnings.warn(
                f"prior_target_kl={cfg.prior_target_kl:g} is below the KL the policy reached "
                f"when fitted to the prior ({prior_init['kl_after']:.3g} nats per decision); "
                "the KL weight alpha will keep growing. Raise prior_target_kl above it.",
                RuntimeWarning, stacklevel=2)
    demo_info = None
    if cfg.demo_replay is not None and state is None:
        demo_info = _fill_demo_replay(agent, cfg, model, venv)
    bc_info = None
    if cfg.bc_demos is not None and state is None:
        bc_info = _bc_init(agent, cfg, model, venv, chunks, eval_episodes, eval_stream)
    if state is not None:
        _set_tensors(agent, ckpt / state["files"]["agent"])
        load_replay_buffer(agent.replay_buffer, ckpt / state["files"]["buffer"])
        agent.num_timesteps = int(state["num_timesteps"])
        agent._n_updates = int(state["n_updates"])
        common.set_obs_stats(venv, state["obs_stats"])
        start, rows, wall_before = state["primitive"], state["rows"], state["wall_seconds"]
        bc_info = state.get("bc")
        demo_info = state.get("demo_replay")
    if cfg.bc_demos is not None and cfg.bc_freeze_obs_stats and hasattr(venv, "obs_rms"):
        venv.training = False
    t0 = time.perf_counter()
    next_ckpt = [start + cfg.checkpoint_every]
    snapshot = common.snapshot_hook(out, cfg.snapshot_every, cfg.timesteps, start, agent, venv)

    def checkpoint(cb) -> None:
        if ckpt is None or cfg.checkpoint_every <= 0 or cb.primitive < next_ckpt[0] \
                or cb.primitive >= cfg.timesteps:
            return
        next_ckpt[0] = cb.primitive + cfg.checkpoint_every
        _write_checkpoint(ckpt, agent, {
            "config": cfg.to_dict(), "primitive": cb.primitive, "rows": cb.rows,
            "num_timesteps": agent.num_timesteps, "n_updates": agent._n_updates,
            "obs_stats": common.obs_stats(venv), "resumes": resumes, "bc": bc_info,
            "demo_replay": demo_info,
            "wall_seconds": wall_before + time.perf_counter() - t0})

    def on_rollout_end(cb) -> None:
        snapshot(cb)
        checkpoint(cb)

    callback = common.PrimitiveStepCallback(cfg.timesteps, cfg.one_step_actions, writer,
                                            critic_warmup=cfg.critic_warmup,
                                            on_rollout_end=on_rollout_end,
                                            start=start, rows=rows)
    if start < cfg.timesteps:
        # learn() counts (macro) steps; the callback stops it at the primitive-step budget.
        agent.learn(total_timesteps=cfg.timesteps, callback=callback, progress_bar=False,
                    reset_num_timesteps=state is None)
    wall = wall_before + time.perf_counter() - t0
    stats = common.obs_stats(venv)
    result = common.evaluate_policy(agent.predict, cfg.env_id, cfg.flat, model, cfg.latents,
                                    cfg.scale, chunks, episodes=eval_episodes,
                                    stream=eval_stream, stats=stats, chunk=cfg.chunk,
                                    env_kwargs=cfg.env_kwargs, agent_wrapper=wrap)
    if prior_init is not None:
        result["prior_init"] = prior_init
    if bc_info is not None:
        result["bc"] = bc_info
    if demo_info is not None:
        result["demo_replay"] = demo_info
    result.update(primitive_steps=callback.primitive, wall_seconds=wall,
                  train_episodes=len(callback.rows), resumes=resumes,
                  training=_training_summary(agent),
                  final_train_success=float(np.mean([r[1] for r in callback.rows[-100:]]))
                  if callback.rows else 0.0)
    if out is not None:
        meta = {"algo": "sac", "config": cfg.to_dict(), "sac": params, "obs_stats": stats}
        common.copy_model_files(cfg, out, meta)
        if cfg.residual is not None:
            _copy_skill_agent(cfg.residual, out, meta)
        common.write_agent_dir(out, agent, meta, result, callback.rows)
        writer.close()
        if ckpt.is_dir():
            shutil.rmtree(ckpt)  # finished: the replay buffer is not needed any more
    result["episodes"] = [list(r) for r in callback.rows]
    return result


def _fill_demo_replay(agent, cfg: SACRunConfig, model, venv) -> dict[str, Any]:
    """Put ``cfg.demo_replay``'s transitions into the agent's replay buffer (no env steps)."""
    from macroact.agents.bc import load_bc_demos
    from macroact.agents.demo_replay import demo_transitions, fill_replay_buffer

    demos = load_bc_demos(cfg.demo_replay, cfg.env_id)
    dims = None if cfg.flat else venv.get_attr("latent_dims")[0]
    trans = demo_transitions(demos, None if cfg.flat else model, tail=cfg.tail or "pad_zero",
                             scale=cfg.scale, latent_dims=dims)
    n = fill_replay_buffer(agent.replay_buffer, trans)
    return {"transitions": n, "episodes": len(demos),
            "mean_reward": float(np.mean(trans["rewards"][:n])),
            "terminal": int(np.sum(trans["dones"][:n] & ~trans["timeouts"][:n]))}


def _bc_init(agent, cfg: SACRunConfig, model, venv, chunks, eval_episodes: int,
             eval_stream: str) -> dict[str, Any]:
    """Behaviour-clone the actor on ``cfg.bc_demos`` and evaluate the clone (no env steps)."""
    from macroact.agents.bc import (flat_bc_targets, latent_bc_targets, load_bc_demos,
                                    pretrain_sac_actor)

    demos = load_bc_demos(cfg.bc_demos, cfg.env_id, cfg.bc_demos_env)
    t0 = time.perf_counter()
    if cfg.flat:
        obs, acts = flat_bc_targets(demos)
    else:
        obs, acts = latent_bc_targets(model, demos, cfg.tail, cfg.scale,
                                      venv.get_attr("latent_dims")[0])
    info = pretrain_sac_actor(agent, obs, acts, epochs=cfg.bc_epochs,
                              batch_size=cfg.bc_batch_size, lr=cfg.bc_lr, seed=cfg.seed,
                              log_std=cfg.bc_log_std)
    info.update(seconds=time.perf_counter() - t0, episodes=len(demos))
    ev = common.evaluate_policy(agent.predict, cfg.env_id, cfg.flat, model, cfg.latents,
                                cfg.scale, chunks, episodes=eval_episodes, stream=eval_stream,
                                stats=common.obs_stats(venv), chunk=cfg.chunk,
                                env_kwargs=cfg.env_kwargs)
    info.update(success_rate=ev["success_rate"], mean_return=ev["mean_return"])
    return info


SKILL_DIR = "skill"
"""Where a residual agent directory keeps a copy of its skill agent (so it loads on its own)."""


def _residual_wrapper(cfg: SACRunConfig):
    """A residual agent's env wrapper (None without ``residual``): a function wrapping a
    primitive env in ``macroact.residual.ResidualSkillWrapper`` over the saved latent SAC agent
    ``cfg.residual``, which is loaded once and shared, and acts deterministically."""
    if cfg.residual is None:
        return None
    from macroact.agents.ppo import _active_data
    from macroact.residual import ResidualSkillWrapper

    skill_dir = Path(cfg.residual)
    if not (skill_dir / "agent.json").is_file():
        raise ValueError(f"residual={str(skill_dir)!r} holds no agent.json; pass the directory "
                         "of a latent SAC agent saved by `macroact sac --model RUN_DIR --out DIR`")
    agent, skill_cfg, model, stats = load_sac_agent(skill_dir)
    if skill_cfg.flat:
        raise ValueError(f"the agent in {str(skill_dir)!r} is flat: a residual corrects the "
                         "decoded actions of a latent agent (macroact sac --model RUN_DIR)")
    chunks = _active_data(skill_cfg, model)
    norm = common.ObsNormalizer(stats)

    def policy(obs):
        return agent.predict(norm(obs), deterministic=True)[0]

    def wrap(env):
        return ResidualSkillWrapper(env, policy, model, latents=skill_cfg.latents,
                                    scale=skill_cfg.scale, data=chunks,
                                    residual_scale=cfg.residual_scale)

    return wrap


def _copy_skill_agent(skill_dir: str | Path, out: Path, meta: dict[str, Any]) -> None:
    """Copy a residual agent's skill agent into ``out/skill/`` and name the copy in ``meta``."""
    from macroact.io import read_json

    src, dst = Path(skill_dir), out / SKILL_DIR
    dst.mkdir(parents=True, exist_ok=True)
    skill_meta = read_json(src / "agent.json", "agent record")
    names = ["agent.json", "agent.zip"] + [skill_meta[k] for k in ("favae", "prior")
                                           if isinstance(skill_meta.get(k), str)]
    for name in names:
        shutil.copyfile(src / name, dst / name)
    meta["skill"] = SKILL_DIR
    meta["skill_source"] = str(src.resolve())


def _load_prior(cfg: SACRunConfig):
    """The skill prior beside the run's model (RUN_DIR/prior.pt)."""
    from macroact.models.prior import SkillPrior

    src = Path(cfg.model)
    return SkillPrior.load(src if src.is_dir() else src.parent)


def _prior_states(cfg: SACRunConfig, model, wrap=None) -> np.ndarray:
    """States to fit the policy to the prior on: the demos' chunk starts (``--demos``), else
    256 reset observations of the train stream (no env steps; through ``wrap``, a residual
    agent's wrapper, when given)."""
    if cfg.data is not None and cfg.residual is None:
        from macroact.data.demos import EpisodeData
        from macroact.data.skills import model_inputs

        return model_inputs(model, EpisodeData.load(cfg.data), tail=cfg.tail)[2]
    from macroact.seeding import seeds

    env = common.base_env(cfg.env_id, cfg.env_kwargs)
    if wrap is not None:
        env = wrap(env)
    try:
        return np.stack([env.reset(seed=int(s))[0] for s in seeds("train", 256, cfg.seed)])
    finally:
        env.close()


def load_sac_agent(agent_dir: str | Path, weights: str | Path | None = None):
    """An agent directory's SAC, its run config, its FAVAE (None for flat agents) and its
    observation statistics; nothing is unpickled (see the module docstring).

    ``weights``: a snapshot of the same run (``snapshots/agent-<steps>.zip``, see
    ``snapshot_every``) to load instead of its final ``agent.zip``, with the observation
    statistics kept beside it (``common.snapshot_obs_stats``)."""
    from macroact.agents.ppo import inside, registered_env_id
    from macroact.io import read_json

    agent_dir = Path(agent_dir)
    meta = read_json(agent_dir / "agent.json", "agent record")
    if not isinstance(meta, dict) or not isinstance(meta.get("config"), dict):
        raise ValueError(f"{str(agent_dir / 'agent.json')!r} has no 'config' entry (damaged, or "
                         "not a SAC agent); retrain the agent with `macroact sac`")
    registered_env_id(meta["config"].get("env_id"), where=str(agent_dir / "agent.json"))
    cfg = SACRunConfig.from_dict(meta["config"])
    cfg = dataclasses.replace(
        cfg, n_envs=1, normalize_obs=False,
        model=None if cfg.flat else str(inside(agent_dir, meta.get("favae"), "its model file")))
    if cfg.residual is not None:
        cfg = dataclasses.replace(cfg, residual=str(inside(agent_dir, meta.get("skill"),
                                                           "its skill agent")))
    model, chunks = _model_and_chunks(cfg)
    venv = common.make_env(cfg.env_id, cfg.flat, 1, cfg.seed, model=model, latents=cfg.latents,
                           scale=cfg.scale, chunks=chunks, normalize_obs=False, chunk=cfg.chunk,
                           env_kwargs=cfg.env_kwargs, agent_wrapper=_residual_wrapper(cfg))
    params = dict(meta["sac"])
    params["buffer_size"] = 1  # evaluation only: no replay memory needed
    params["learning_starts"] = 0
    agent = _build(cfg, venv, params)
    stats = meta.get("obs_stats")
    if weights is not None:
        stats = common.snapshot_obs_stats(Path(weights), stats)
    _set_tensors(agent, agent_dir / "agent.zip" if weights is None else Path(weights))
    cfg.normalize_obs = stats is not None
    return agent, cfg, model, stats


def evaluate_sac(agent_dir: str | Path, episodes: int = 100, stream: str = "eval",
                 deterministic: bool = True, base_wrapper=None,
                 on_episode_end=None, weights: str | Path | None = None) -> dict[str, Any]:
    """Evaluate a saved SAC agent directory on ``episodes`` episodes of ``stream``
    (``base_wrapper``, ``on_episode_end``: as in ``common.evaluate_policy``; ``weights``: as
    in ``load_sac_agent``)."""
    agent, cfg, model, stats = load_sac_agent(agent_dir, weights)
    from macroact.agents.ppo import _active_data

    chunks = None if cfg.flat else _active_data(cfg, model)
    return common.evaluate_policy(agent.predict, cfg.env_id, cfg.flat, model, cfg.latents,
                                  cfg.scale, chunks, episodes=episodes, stream=stream,
                                  stats=stats, deterministic=deterministic, chunk=cfg.chunk,
                                  env_kwargs=cfg.env_kwargs, base_wrapper=base_wrapper,
                                  on_episode_end=on_episode_end,
                                  agent_wrapper=_residual_wrapper(cfg))
