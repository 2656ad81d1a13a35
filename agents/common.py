"""What the SB3 agents (``agents/ppo.py``, ``agents/sac.py``) share.

- ``make_env``: the vectorised, monitored training env (flat, or wrapped with a FAVAE's
  macro-actions), reset with seeds of the ``train`` stream (``macroact.seeding``).
- ``PrimitiveStepCallback``: counts primitive env steps (a macro of ``n`` steps costs ``n``),
  logs success and return by them, stops ``learn`` at the budget.
- ``evaluate_policy``: deterministic (or sampled) episodes with seeds from the ``eval`` stream
  (or ``tune`` for tuning trials), the training observation statistics frozen.
- ``obs_stats`` / ``ObsNormalizer``: VecNormalize statistics as plain JSON and their use on
  single observations (no pickle involved).
- ``write_agent_dir``: ``agent.zip``, ``agent.json``, ``episodes.csv`` and ``eval.json``.

Seeds: a run with ``seed`` s trains in envs reset with ``seeds("train", n_envs, s)`` and is
evaluated on ``seeds("eval", episodes, eval_run)`` (``eval_run`` 0 by default, so every agent
of a comparison meets the same evaluation episodes); tuning trials evaluate on the ``tune``
stream instead. No evaluation episode reuses a demonstration's seed (``collect`` draws from
the ``demo`` stream).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
import dataclasses
from typing import Any, Callable, Literal

import gymnasium as gym
import numpy as np

from macroact.config import Config
from macroact.io import atomic_write, atomic_write_text
from macroact.seeding import seeds as stream_seeds

__all__ = ["make_env", "PrimitiveStepCallback", "evaluate_policy", "obs_stats", "ObsNormalizer",
           "write_agent_dir", "curve_points", "EVAL_STREAMS", "snapshot_hook",
           "snapshot_obs_stats"]

EVAL_STREAMS = ("eval", "tune")
"""Streams an agent may be evaluated on: ``eval`` for reported numbers, ``tune`` for trials."""



@dataclasses.dataclass
class AgentRunConfig(Config):
    """What every agent run shares: the env, the budget, the action space (flat or latents).

    ``PPORunConfig`` and ``SACRunConfig`` add their algorithm's fields; ``ALGO`` names the
    settings file (``agents/hyperparams/ALGO.toml``) and the config field of SB3 overrides.

    Attributes:
        env_id: Gymnasium id of the env, e.g. macroact/Reaching2D-v1.
        timesteps: budget in primitive env steps (a macro of n primitive steps costs n).
        seed: seeds the agent and its training envs (train stream block ``seed``).
        flat: act on primitive actions instead of a FAVAE's latents.
        model: FAVAE run directory or model.pt whose latents are the action space (latent
            agents only).
        latents: latent dims the agent drives: all | active | ladders:I,J | dims like 0,3,9.
        scale: latent = scale * agent action (the agent acts in [-1, 1]).
        n_envs: parallel envs collecting experience.
        data: demonstrations .npz the FAVAE was trained on (needed by latents=active).
        tail: how the FAVAE's training chunks were cut: drop | pad_last | pad_zero (for
            latents=active and BC targets); default: the rule in the model's run.json
            (pad_zero when it has none), and another value is an error.
        normalize_obs: running mean/std of observations (SB3 VecNormalize), as rl-zoo3 does
            for MuJoCo tasks; frozen at evaluation.
        env_kwargs: keyword arguments of gym.make for the env (KEY=VALUE,..., values as JSON,
            KEY=@FILE reads one from a file), e.g. a PointMaze maze_map with its r and g cells
            for a fixed start and goal; Dict observations are flattened in the order
            `macroact collect` records them (macroact.envs.external).
        chunk: raw-chunk baseline: a flat agent whose action is H primitive actions side by
            side (H x action_dim values in [-1, 1] mapped onto the env's bounds, no FAVAE),
            executed open loop (macroact.chunk_wrapper); 0: one primitive action per decision.
            Needs flat (which --chunk H implies on the command line); settings come from the
            chunk tables of the settings file.
        bc_demos: behaviour-clone the policy on these demonstrations (.npz) before RL (BC +
            fine-tuning); uses no env steps, so the primitive-step budget is unchanged.
        bc_demos_env: the env id bc_demos were recorded in when it is not env_id: another env
            with the same observations and actions (e.g. OGBench's play env cube-single-v0
            for its singletask tasks); default: they must be of env_id.
        bc_epochs: epochs of behaviour cloning.
        bc_batch_size: minibatch size of behaviour cloning.
        bc_lr: Adam learning rate of behaviour cloning.
        bc_freeze_obs_stats: keep the observation statistics BC fitted: running updates from
            the agent's own experience would shift the cloned policy's inputs under it.
        critic_warmup: primitive env steps (in the budget) in which the agent trains only its
            critic (PPO's value function, SAC's Q-functions; SAC's entropy coefficient still
            adapts), so that a cloned policy is first judged by a fitted critic.
        snapshot_every: keep the agent's weights every this many primitive env steps in
            OUT/snapshots/agent-<steps>.zip, with the observation statistics of that moment in
            obs_stats-<steps>.json when observations are normalised (at the first rollout end
            at or past each multiple; never deleted, unlike SAC's checkpoints), for an
            evaluation-success curve (``agents.saved.evaluate_saved(..., weights=)``,
            experiments/eval_curve.py); 0 keeps none.
    """

    ALGO = ""

    env_id: str
    timesteps: int = 50_000
    seed: int = 0
    flat: bool = False
    model: str | None = None
    latents: Any = "all"
    scale: float = 3.0
    n_envs: int = 4
    data: str | None = None
    tail: Literal["drop", "pad_last", "pad_zero"] | None = None
    normalize_obs: bool = True
    env_kwargs: dict = dataclasses.field(default_factory=dict)
    chunk: int = 0
    bc_demos: str | None = None
    bc_demos_env: str | None = None
    bc_epochs: int = 200
    bc_batch_size: int = 64
    bc_lr: float = 1e-3
    bc_freeze_obs_stats: bool = True
    critic_warmup: int = 0
    snapshot_every: int = 0

    def __post_init__(self):
        if isinstance(self.chunk, bool) or not isinstance(self.chunk, int) or self.chunk < 0:
            raise ValueError(f"chunk must be an integer >= 0 (primitive actions per raw chunk; "
                             f"0: off), got {self.chunk!r}")
        if self.chunk and (not self.flat or self.model is not None):
            raise ValueError(f"chunk={self.chunk} acts in raw action chunks without a FAVAE: "
                             "pass flat=True and no model (--flat --chunk H), or chunk=0 for "
                             "latent actions")
        if not self.flat and self.model is None:
            raise ValueError(f"latent {self.ALGO.upper()} needs a FAVAE: pass model=RUN_DIR "
                             "(or flat=True)")
        if self.n_envs < 1:
            raise ValueError(f"n_envs must be >= 1, got {self.n_envs}")
        if self.bc_epochs < 1 or self.bc_batch_size < 1 or not self.bc_lr > 0:
            raise ValueError(f"bc_epochs and bc_batch_size must be >= 1 and bc_lr > 0, got "
                             f"{self.bc_epochs}, {self.bc_batch_size} and {self.bc_lr}")
        if self.chunk and self.bc_demos is not None:
            raise ValueError(f"bc_demos clones one primitive action per observation, but "
                             f"chunk={self.chunk} makes each action {self.chunk} of them: drop "
                             "bc_demos (--bc-init) or chunk")
        if isinstance(self.snapshot_every, bool) or not isinstance(self.snapshot_every, int) \
                or self.snapshot_every < 0:
            raise ValueError(f"snapshot_every must be an integer >= 0 (primitive env steps; 0: "
                             f"no snapshots), got {self.snapshot_every!r}")
        if self.critic_warmup < 0:
            raise ValueError(f"critic_warmup (primitive env steps) must be >= 0, got "
                             f"{self.critic_warmup}")
        if self.bc_demos_env is not None and self.bc_demos is None:
            raise ValueError(f"bc_demos_env={self.bc_demos_env!r} names the env of bc_demos; "
                             "pass bc_demos (--bc-init) too")
        if not isinstance(self.env_kwargs, dict):
            raise ValueError(f"env_kwargs must be a dict of gym.make keyword arguments, got "
                             f"{self.env_kwargs!r}")

    @property
    def kind(self) -> str:
        """``"flat"``, ``"chunk"`` (flat with ``chunk`` > 0) or ``"latent"``: which table of the
        settings file applies."""
        if self.chunk:
            return "chunk"
        return "flat" if self.flat else "latent"

    @property
    def one_step_actions(self) -> bool:
        """Whether each agent action is one primitive step (flat without chunks), so that
        primitive steps are counted without ``info["macro_steps"]``."""
        return self.flat and not self.chunk

    def resolved(self):
        """This config with the settings stored with its model filled in (the tail rule)."""
        if self.flat or self.model is None:
            return self
        from macroact.evaluation.encode import resolve_tail

        return dataclasses.replace(self, tail=resolve_tail(self.model, self.tail,
                                                           default="pad_zero"))

    def algo_settings(self) -> dict[str, Any]:
        """SB3 arguments: the env's settings (agents/hyperparams/ALGO.toml), then the run's
        overrides (the ``ALGO`` field)."""
        from macroact.agents import hyperparams

        params = hyperparams.settings(self.ALGO, self.env_id, self.kind)
        params.pop("n_envs", None)
        params.update(getattr(self, self.ALGO))
        return params

def make_env(env_id: str, flat: bool, n_envs: int, seed: int, model=None, latents: Any = "all",
             scale: float = 3.0, chunks: np.ndarray | None = None, normalize_obs: bool = True,
             seed_offset: int = 0, chunk: int = 0, env_kwargs: dict[str, Any] | None = None,
             agent_wrapper: Callable[[gym.Env], gym.Env] | None = None):
    """The (vectorised, monitored, optionally VecNormalize-d) env an agent trains on.

    Env ``i`` is reset with ``seeds("train", seed_offset + n_envs, seed)[seed_offset + i]``:
    the training envs of run ``seed`` draw from the train stream only. ``seed_offset`` lets a
    resumed run start from fresh seeds of its block. A flat env with ``chunk`` H > 0 takes raw
    chunks of H primitive actions (``macroact.chunk_wrapper.ChunkActionWrapper``, action
    ``(H * action_dim,)``); ``chunks`` are unrelated: a latent agent's ``(N, H, A)`` training
    chunks for ``latents="active"``. ``env_kwargs`` go to ``gym.make`` (``base_env``: flat
    observations and ``info["is_success"]`` for external envs). ``agent_wrapper`` wraps the
    primitive env before the action wrapper (a residual agent's
    ``macroact.residual.ResidualSkillWrapper``).
    """
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv

    first = [int(s) for s in stream_seeds("train", seed_offset + n_envs, seed)[seed_offset:]]

    def make(rank: int):
        def thunk():
            env = base_env(env_id, env_kwargs)
            if agent_wrapper is not None:
                env = agent_wrapper(env)
            env = _action_wrapped(env, flat, chunk, model, latents, scale, chunks)
            env = Monitor(env, info_keywords=("is_success",))
            env.reset(seed=first[rank])
            env.action_space.seed(first[rank])
            return env
        return thunk

    venv = DummyVecEnv([make(i) for i in range(n_envs)])
    venv.seed(first[0])  # DummyVecEnv seeds env i with first[0] + i at its next reset
    if normalize_obs:
        from stable_baselines3.common.vec_env import VecNormalize

        # Observation normalisation as rl-zoo3 uses for MuJoCo tasks: the goal coordinates of
        # Reaching2D differ by 0.2 and an unnormalised MLP barely tells them apart.
        venv = VecNormalize(venv, norm_obs=True, norm_reward=False)
    return venv


def base_env(env_id: str, env_kwargs: dict[str, Any] | None = None) -> gym.Env:
    """The env before any action wrapper: ``gym.make(env_id, **env_kwargs)``, with flat
    observations and ``info["is_success"]`` for external envs (PointMaze, OGBench, yours)."""
    from macroact.envs.external import make_agent_env

    return make_agent_env(env_id, env_kwargs)


def _action_wrapped(env: gym.Env, flat: bool, chunk: int, model, latents: Any, scale: float,
                    chunks, record_actions: bool = False) -> gym.Env:
    """``env`` with the agent's action space: primitive actions, raw chunks of ``chunk``
    primitive actions (flat, ``chunk`` > 0) or a FAVAE's latents (not flat)."""
    if flat:
        if not chunk:
            return env
        from macroact.chunk_wrapper import ChunkActionWrapper

        return ChunkActionWrapper(env, chunk, record_actions=record_actions)
    from macroact.wrapper import MacroActionWrapper

    return MacroActionWrapper(env, model, latents=latents, scale=scale, data=chunks,
                              record_actions=record_actions)


def obs_stats(venv) -> dict[str, Any] | None:
    """The VecNormalize observation statistics of ``venv`` as plain JSON (None without)."""
    rms = getattr(venv, "obs_rms", None)
    if rms is None:
        return None
    return {"mean": rms.mean.tolist(), "var": rms.var.tolist(), "count": float(rms.count),
            "clip_obs": float(venv.clip_obs), "epsilon": float(venv.epsilon)}


def set_obs_stats(venv, stats: dict[str, Any] | None) -> None:
    """Put saved statistics (``obs_stats``) back into a VecNormalize ``venv``."""
    if stats is None or getattr(venv, "obs_rms", None) is None:
        return
    venv.obs_rms.mean = np.asarray(stats["mean"], dtype=np.float64)
    venv.obs_rms.var = np.asarray(stats["var"], dtype=np.float64)
    venv.obs_rms.count = float(stats["count"])


SNAPSHOTS = "snapshots"
"""The folder of an agent directory that holds its snapshots (``snapshot_hook``)."""


def snapshot_hook(out: Path | None, every: int, budget: int, start: int, agent,
                  venv) -> Callable[[Any], None]:
    """A rollout-end hook (``PrimitiveStepCallback(on_rollout_end=...)``) that keeps the agent's
    weights at the first rollout end at or past each multiple of ``every`` primitive steps
    after ``start`` and before ``budget`` (the final agent is ``agent.zip``):
    ``out/snapshots/agent-<steps>.zip``, and, when ``venv`` normalises observations, their
    statistics of that moment in ``obs_stats-<steps>.json``, written first, so that a kept zip
    always has them. Does nothing when ``out`` is None or ``every`` is 0."""
    next_at = [(start // every + 1) * every if every else 0]

    def snapshot(cb) -> None:
        if out is None or not every or cb.primitive < next_at[0] or cb.primitive >= budget:
            return
        next_at[0] = (cb.primitive // every + 1) * every
        folder = out / SNAPSHOTS
        folder.mkdir(parents=True, exist_ok=True)
        stats = obs_stats(venv)
        if stats is not None:
            atomic_write_text(json.dumps(stats), folder / f"obs_stats-{cb.primitive:09d}.json")
        atomic_write(folder / f"agent-{cb.primitive:09d}.zip", lambda f: agent.save(f))

    return snapshot


def snapshot_obs_stats(weights: Path, final: dict[str, Any] | None) -> dict[str, Any] | None:
    """The observation statistics to evaluate snapshot ``weights`` (``.../agent-<steps>.zip``)
    with: those kept beside it; ``final`` (the run's final statistics) for the final
    ``agent.zip`` and for a run that does not normalise observations (``final`` is None). A
    normalising run's snapshot without them is refused: the final statistics would evaluate
    it with inputs it was not trained on."""
    from macroact.io import read_json

    weights = Path(weights)
    if not weights.is_file():
        raise FileNotFoundError(f"weights {str(weights)!r} do not exist; pass a snapshot the run "
                                "kept (AGENT_DIR/snapshots/agent-<steps>.zip)")
    if final is None or weights.name == "agent.zip":  # the final agent: its own statistics
        return final
    path = weights.with_name(weights.name.replace("agent-", "obs_stats-", 1)).with_suffix(".json")
    if not weights.name.startswith("agent-") or not path.is_file():
        raise ValueError(f"{str(weights)!r} is a snapshot of a run that normalises observations, "
                         f"but {str(path)!r} (its statistics) does not exist; evaluate a snapshot "
                         "kept by snapshot_every (agents/common.py), or the final agent.zip")
    stats = read_json(path, "observation statistics")
    if not isinstance(stats, dict) or not {"mean", "var", "count"} <= set(stats):
        raise ValueError(f"{str(path)!r} holds no observation statistics (mean, var, count); "
                         "the file is damaged")
    return stats


class ObsNormalizer:
    """Applies saved VecNormalize statistics to single observations (no pickle involved)."""

    def __init__(self, stats: dict[str, Any] | None):
        self.stats = stats

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        if self.stats is None:
            return obs
        s = self.stats
        z = (obs - np.asarray(s["mean"])) / np.sqrt(np.asarray(s["var"]) + s["epsilon"])
        return np.clip(z, -s["clip_obs"], s["clip_obs"]).astype(np.float32)


class PrimitiveStepCallback:
    """Counts primitive env steps, logs success and return by them, stops at the budget.

    ``rows`` holds one ``(primitive steps, success, return, macro length)`` per finished
    training episode. ``critic_warmup`` trains the critic alone (PPO's value function, SAC's
    Q-functions) for that many primitive steps. ``on_rollout_end(callback)``, if given, runs
    when a rollout's transitions are stored (SAC checkpoints there: the replay buffer then
    holds every counted step). ``start`` and ``rows`` let a resumed run continue its counts.
    ``flat`` means one primitive step per action (``AgentRunConfig.one_step_actions``);
    otherwise each step adds ``info["macro_steps"]``.
    """

    def __new__(cls, *args, **kwargs):
        from stable_baselines3.common.callbacks import BaseCallback

        class _Callback(BaseCallback):
            def __init__(self, budget: int, flat: bool, writer, window: int = 100,
                         critic_warmup: int = 0, on_rollout_end: Callable | None = None,
                         start: int = 0, rows: list | None = None):
                super().__init__()
                self.budget, self.flat, self.writer, self.window = budget, flat, writer, window
                self.critic_warmup = critic_warmup
                self.on_rollout_end_hook = on_rollout_end
                self.primitive = int(start)
                self.rows: list[tuple[int, int, float, int]] = [tuple(r) for r in rows or []]

            def _on_rollout_end(self) -> None:
                if self.on_rollout_end_hook is not None:
                    self.on_rollout_end_hook(self)
                if self.critic_warmup <= 0:
                    return
                # The update that follows trains the actor only after the warm-up: frozen
                # parameters get no gradient, so Adam leaves them unchanged.
                frozen = self.primitive < self.critic_warmup
                policy = self.model.policy
                if hasattr(policy, "actor"):  # SAC: the actor's loss also reaches the
                    params = list(policy.actor.parameters())  # critics, so backward runs
                else:
                    params = [*policy.mlp_extractor.policy_net.parameters(),
                              *policy.action_net.parameters()]
                    if hasattr(policy, "log_std"):
                        params.append(policy.log_std)
                for param in params:
                    param.requires_grad_(not frozen)

            def _on_step(self) -> bool:
                infos, dones = self.locals["infos"], self.locals["dones"]
                for info, done in zip(infos, dones):
                    self.primitive += 1 if self.flat else int(info.get("macro_steps", 1))
                    if done and "episode" in info:
                        success = int(bool(info.get("is_success", False)))
                        self.rows.append((self.primitive, success, float(info["episode"]["r"]),
                                          int(info["episode"]["l"])))
                        recent = self.rows[-self.window:]
                        if self.writer is not None:
                            self.writer.add_scalar("primitive/success_rate",
                                                   np.mean([r[1] for r in recent]), self.primitive)
                            self.writer.add_scalar("primitive/return",
                                                   np.mean([r[2] for r in recent]), self.primitive)
                self.logger.record("rollout/primitive_steps", self.primitive)
                return self.primitive < self.budget

        return _Callback(*args, **kwargs)


def evaluate_policy(predict: Callable, env_id: str, flat: bool, model=None, latents: Any = "all",
                    scale: float = 3.0, chunks=None, episodes: int = 100, stream: str = "eval",
                    run_seed: int = 0, stats: dict[str, Any] | None = None,
                    deterministic: bool = True, record: bool = False,
                    record_actions: bool = False, chunk: int = 0,
                    env_kwargs: dict[str, Any] | None = None,
                    base_wrapper: Callable[[gym.Env], gym.Env] | None = None,
                    on_episode_end: Callable[[gym.Env, bool], Any] | None = None,
                    agent_wrapper: Callable[[gym.Env], gym.Env] | None = None
                    ) -> dict[str, Any]:
    """Success rate, mean return and mean primitive steps of ``episodes`` fresh episodes.

    Episode ``i`` is reset with ``seeds(stream, episodes, run_seed)[i]``; ``stream`` is
    ``"eval"`` for reported numbers and ``"tune"`` for tuning trials. ``predict(obs,
    deterministic=...)`` is SB3's ``agent.predict``; ``stats`` are the observation statistics
    the agent was trained with (frozen here). ``chunk`` H > 0 (with ``flat``): the agent acts
    in raw chunks of H primitive actions, as in ``make_env``. Primitive steps are counted by
    ``info["macro_steps"]`` for every agent whose action spans several steps.
    ``base_wrapper`` wraps the primitive env under the agent's action wrapper (to watch every
    primitive step); ``on_episode_end(base, success)`` is called after each episode with that
    wrapped primitive env, and what it returns is listed under ``"episode_extras"``.
    ``agent_wrapper``: as in ``make_env``, over ``base_wrapper``.
    """
    if stream not in EVAL_STREAMS:
        raise ValueError(f"agents are evaluated on the 'eval' or 'tune' stream, not {stream!r}")
    norm = ObsNormalizer(stats)
    base = base_env(env_id, env_kwargs)
    if base_wrapper is not None:
        base = base_wrapper(base)
    env = agent_wrapper(base) if agent_wrapper is not None else base
    env = _action_wrapped(env, flat, chunk, model, latents, scale, chunks,
                          record_actions=record_actions)
    extras = []
    one_step = flat and not chunk
    successes, returns, lengths, trajectories = [], [], [], []
    reset_seeds = [int(s) for s in stream_seeds(stream, episodes, run_seed)]
    for seed in reset_seeds:
        obs, _ = env.reset(seed=seed)
        done, ret, steps, success = False, 0.0, 0, False
        traj = [np.asarray(obs)]
        while not done:
            action, _ = predict(norm(obs), deterministic=deterministic)
            obs, r, term, trunc, info = env.step(action)
            ret += float(r)
            steps += 1 if one_step else int(info.get("macro_steps", 1))
            success = success or bool(info.get("is_success", False))
            done = term or trunc
            traj.append(np.asarray(obs))
        successes.append(success)
        returns.append(ret)
        lengths.append(steps)
        trajectories.append(np.stack(traj))
        if on_episode_end is not None:
            extras.append(on_episode_end(base, success))
    env.close()
    out = {"success_rate": float(np.mean(successes)), "mean_return": float(np.mean(returns)),
           "mean_primitive_steps": float(np.mean(lengths)), "eval_episodes": episodes,
           "eval_stream": stream, "eval_run_seed": run_seed,
           "successes": [bool(s) for s in successes]}
    if on_episode_end is not None:
        out["episode_extras"] = extras
    if record:
        out["trajectories"] = trajectories
    return out


def curve_points(rows, budget: int, points: int = 50, window: int = 100) -> list[list[float]]:
    """A compact learning curve: rolling training success (last ``window`` episodes) at
    ``points`` evenly spaced primitive-step marks up to ``budget`` (NaN-free: marks before the
    first finished episode are left out). Returns ``[[step, success], ...]``."""
    rows = np.asarray(rows, dtype=np.float64).reshape(-1, 4) if len(rows) else np.zeros((0, 4))
    if len(rows) == 0:
        return []
    steps, success = rows[:, 0], rows[:, 1]
    c = np.concatenate([[0.0], np.cumsum(success)])
    out = []
    for mark in np.linspace(budget / points, budget, points):
        n = int(np.searchsorted(steps, mark, side="right"))
        if n == 0:
            continue
        lo = max(0, n - window)
        out.append([int(round(mark)), round(float((c[n] - c[lo]) / (n - lo)), 4)])
    return out


def copy_model_files(cfg: "AgentRunConfig", out: Path, meta: dict[str, Any]) -> None:
    """Copy a latent agent's FAVAE (and its skill prior, with ``cfg.prior``) into ``out`` and
    name them in ``meta``, so that the agent directory loads on its own."""
    if cfg.flat:
        return
    import shutil

    src = Path(cfg.model)
    src = src / "model.pt" if src.is_dir() else src
    shutil.copyfile(src, out / "favae.pt")
    meta["favae"] = "favae.pt"
    meta["favae_source"] = str(src.resolve())
    if getattr(cfg, "prior", False):
        from macroact.models.prior import PRIOR_FILE

        shutil.copyfile(src.parent / PRIOR_FILE, out / PRIOR_FILE)
        meta["prior"] = PRIOR_FILE


def write_agent_dir(out: Path, agent, meta: dict[str, Any], result: dict[str, Any],
                    rows) -> None:
    """Write an agent directory: ``agent.zip`` (SB3), ``agent.json`` (``meta``: the run
    config, the SB3 arguments and the observation statistics), ``episodes.csv`` and
    ``eval.json``."""
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "agent.zip", lambda f: agent.save(f))
    atomic_write_text(json.dumps(meta, indent=2), out / "agent.json")
    with open(out / "episodes.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["primitive_steps", "success", "return", "macro_length"])
        w.writerows(rows)
    atomic_write_text(json.dumps(result, indent=2), out / "eval.json")
