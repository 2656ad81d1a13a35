"""The main job end to end: demonstrations -> FAVAE -> wrapped env -> agents -> report.

On a task whose starts vary (``macroact/Reaching2D-v1`` by default), ``run_pipeline``

1. records demonstrations (``macroact.data.demos.collect``, the ``demo`` seed stream);
2. trains a FAVAE on their action chunks (``macroact.trainer.train``);
3. evaluates, on the same 100 episodes of the ``eval`` stream (no evaluation start equals a
   demonstration's), the agents that use the demonstrations and those that do not:
   nearest-demo replay (no learning), flat BC (the clone alone), flat BC + PPO fine-tuning,
   flat PPO from scratch and PPO over the FAVAE's latents, every PPO agent with the same
   budget of primitive env steps and the settings of ``agents/hyperparams/ppo.toml``;
4. writes ``report.md`` (success per agent and seed, mean with a 95% interval over seeds)
   and ``curves.png`` (rolling training success against primitive env steps).

The output directory holds ``demos.npz``, ``favae/`` (a training run), one agent directory
per agent and seed, ``replay.json``, ``report.md``, ``curves.png`` and ``pipeline.json`` (the
config and every result, from which the report is written).
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np

from macroact.config import Config

#: Agent rows of the report, in order: key -> label.
AGENTS = {
    "replay": "nearest-demo replay (no learning)",
    "bc": "flat BC (clone alone, no env steps)",
    "bc_ppo": "flat BC + PPO fine-tuning",
    "flat_ppo": "flat PPO from scratch",
    "latent_ppo": "PPO over FAVAE latents",
}


@dataclasses.dataclass
class PipelineConfig(Config):
    """Settings of the main job.

    Attributes:
        env_id: Gymnasium id of the task; its demonstrator records the demos.
        episodes: demonstration episodes to record.
        horizon: macro length H in primitive steps (100: one macro per Reaching2D episode).
        tail: what to do with an episode's last partial chunk: drop | pad_last | pad_zero.
        beta: weight of FAVAE's capacity term.
        capacity: FAVAE's target KL C per ladder (nats), lower to upper.
        favae_steps: FAVAE optimiser steps.
        timesteps: budget of each PPO agent in primitive env steps.
        seeds: agent seeds (each PPO agent and the clone run once per seed).
        latents: latent dims the latent agent drives: all | active | ladders:I,J | dims.
        bc_epochs: behaviour-cloning epochs of the flat clone.
        eval_episodes: evaluation episodes (the eval seed stream, the same for every agent).
    """

    env_id: str = "macroact/Reaching2D-v1"
    episodes: int = 200
    horizon: int = 100
    tail: Literal["drop", "pad_last", "pad_zero"] = "pad_zero"
    beta: float = 0.01
    capacity: tuple[float, ...] = (0.0, 0.0, 0.99)
    favae_steps: int = 3000
    timesteps: int = 50_000
    seeds: tuple[int, ...] = (0,)
    latents: Any = "all"
    bc_epochs: int = 50
    eval_episodes: int = 100

    def __post_init__(self):
        self.seeds = tuple(int(s) for s in self.seeds)
        self.capacity = tuple(float(c) for c in self.capacity)
        for name in ("episodes", "horizon", "favae_steps", "timesteps", "bc_epochs",
                     "eval_episodes"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        if not self.seeds:
            raise ValueError("seeds must name at least one seed, e.g. (0,)")


def _train_favae(cfg: PipelineConfig, demos_path: Path, out: Path, log,
                 overwrite: bool) -> None:
    import torch

    from macroact.data.demos import EpisodeData, chunk_actions
    from macroact.models.favae import FAVAE, FAVAEConfig
    from macroact.trainer import TrainConfig, train

    demos = EpisodeData.load(demos_path)
    chunks = chunk_actions(demos, cfg.horizon, tail=cfg.tail)
    if len(chunks.actions) == 0:
        raise ValueError(f"no action chunk of length {cfg.horizon} in the demos; lower horizon")
    torch.manual_seed(0)
    model = FAVAE(FAVAEConfig(seq_len=cfg.horizon, beta=cfg.beta, capacity=cfg.capacity),
                  chunks.actions.shape[2])
    model.normalizer.set_bounds(demos.low, demos.high)
    log(f"FAVAE: {len(chunks.actions)} chunks of {cfg.horizon} steps, {cfg.favae_steps} steps "
        f"-> {out}")
    train(model, chunks.actions, TrainConfig(steps=cfg.favae_steps, seed=0, lr_schedule="cosine"),
          out_dir=out, progress_bar=False, overwrite=overwrite,
          data_spec={"demos": str(demos_path.resolve()), "horizon": cfg.horizon, "stride": None,
                     "tail": cfg.tail})


def _agent_runs(cfg: PipelineConfig, demos: Path, favae: Path) -> dict[str, dict[str, Any]]:
    """PPO run configs of the learning agents, by agent key."""
    from macroact.agents.ppo import PPORunConfig

    common = dict(env_id=cfg.env_id, timesteps=cfg.timesteps)
    bc = dict(bc_demos=str(demos), bc_epochs=cfg.bc_epochs, bc_log_std=-2.5)
    return {
        "bc": PPORunConfig(flat=True, **{**common, "timesteps": 0}, **bc),
        "bc_ppo": PPORunConfig(flat=True, **common, **bc),
        "flat_ppo": PPORunConfig(flat=True, **common),
        "latent_ppo": PPORunConfig(model=str(favae), latents=cfg.latents, data=str(demos),
                                   tail=cfg.tail, **common),
    }


def run_pipeline(cfg: PipelineConfig, out: str | Path, log=print,
                 overwrite: bool = False) -> dict[str, Any]:
    """Run the main job into ``out``; returns the results that ``report.md`` shows.

    ``out`` must not hold a finished pipeline unless ``overwrite`` is set.
    """
    from macroact.agents.ppo import train_ppo
    from macroact.agents.replay import evaluate_replay
    from macroact.data.demos import EpisodeData, collect
    from macroact.io import atomic_write_text

    out = Path(out)
    if (out / "pipeline.json").exists() and not overwrite:
        raise ValueError(f"{str(out)!r} holds a finished pipeline (pipeline.json); pass "
                         "--overwrite to replace it or choose another --out")
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {str(out)!r} is a file; the pipeline writes a directory")
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    demos_path = out / "demos.npz"
    log(f"collect: {cfg.episodes} demonstrations of {cfg.env_id} -> {demos_path}")
    demos = collect(cfg.env_id, cfg.episodes, seed=0)
    demos.save(demos_path)
    timings["collect"] = time.perf_counter() - t0
    t = time.perf_counter()
    _train_favae(cfg, demos_path, out / "favae", log, overwrite)
    timings["favae"] = time.perf_counter() - t

    results: dict[str, list[dict[str, Any]]] = {}
    t = time.perf_counter()
    rep = evaluate_replay(cfg.env_id, EpisodeData.load(demos_path), n_episodes=cfg.eval_episodes)
    atomic_write_text(json.dumps(rep, indent=2), out / "replay.json")
    results["replay"] = [{"seed": None, "success_rate": rep["success_rate"],
                          "primitive_steps": 0, "wall_seconds": time.perf_counter() - t}]
    log(f"  {AGENTS['replay']}: success {rep['success_rate']:.2f}")
    for seed in cfg.seeds:
        for key, run in _agent_runs(cfg, demos_path, out / "favae").items():
            run = dataclasses.replace(run, seed=seed)
            log(f"{AGENTS[key]}, seed {seed}: {run.timesteps} primitive steps -> "
                f"{out / f'{key}_s{seed}'}")
            res = train_ppo(run, out / f"{key}_s{seed}", eval_episodes=cfg.eval_episodes)
            results.setdefault(key, []).append(
                {"seed": seed, "success_rate": res["success_rate"],
                 "primitive_steps": res["primitive_steps"], "wall_seconds": res["wall_seconds"],
                 "episodes": [list(r[:2]) for r in res["episodes"]]})
            log(f"  success {res['success_rate']:.2f}")
    timings["agents"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    import torch

    from macroact.reporting import machine

    record = {"config": cfg.to_dict(), "out": str(out),
              "machine": f"{machine()}, {torch.get_num_threads()} torch threads for FAVAE",
              "results": results, "timings": timings,
              "demo_success_rate": float(demos.success_rate)}
    atomic_write_text(json.dumps(record, indent=2), out / "pipeline.json")
    write_report(record, out)
    return record


def command(cfg: PipelineConfig, out: str | Path) -> str:
    """The ``macroact pipeline`` command line that runs ``cfg`` into ``out``."""
    default = PipelineConfig()
    flags = []
    for f in dataclasses.fields(PipelineConfig):
        value = getattr(cfg, f.name)
        if value != getattr(default, f.name):
            text = ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
            flags.append(f"--{'env' if f.name == 'env_id' else f.name.replace('_', '-')} {text}")
    return " ".join(["macroact pipeline", *flags, "--out", str(out)])


def write_report(record: dict[str, Any], out: str | Path) -> Path:
    """``report.md`` and ``curves.png`` in ``out`` from a ``pipeline.json`` record."""
    from macroact.io import atomic_write_text
    from macroact.reporting import markdown_table, t_interval

    out = Path(out)
    cfg = PipelineConfig.from_dict(record["config"])
    results = record["results"]
    rows = []
    for key, label in AGENTS.items():
        runs = results.get(key, [])
        if not runs:
            continue
        rates = [r["success_rate"] for r in runs]
        mean, lo, hi = t_interval(rates)
        interval = "(one seed)" if len(rates) < 2 else f"[{lo:.2f}, {hi:.2f}]"
        if key == "replay":
            interval = "(deterministic, no seed)"
        per_seed = ", ".join(f"{r:.2f}" for r in rates)
        steps = max(r["primitive_steps"] for r in runs)
        rows.append([label, f"{mean:.2f}", interval, per_seed, f"{steps:,}",
                     f"{np.mean([r['wall_seconds'] for r in runs]):.0f}"])
    tm = record["timings"]
    lines = [f"# macroact pipeline on {cfg.env_id}", "",
             f"Command: `{command(cfg, record.get('out', out))}`; `macroact pipeline "
             "--report-only --out DIR` rebuilds this file and curves.png from DIR/pipeline.json.",
             "",
             f"Machine: {record['machine']}." if "machine" in record else "", "",
             f"{cfg.episodes} demonstrations (demonstrator success "
             f"{record['demo_success_rate']:.2f}), FAVAE over H = {cfg.horizon} action chunks "
             f"({cfg.favae_steps} steps, beta {cfg.beta}, C {list(cfg.capacity)}), PPO budget "
             f"{cfg.timesteps:,} primitive env steps per agent, seeds {list(cfg.seeds)}. "
             f"Every agent is evaluated deterministically on the same {cfg.eval_episodes} "
             "episodes of the eval seed stream, none of which starts where a demonstration did.",
             "", f"Wall time: collect {tm['collect']:.0f} s, FAVAE {tm['favae']:.0f} s, agents "
             f"{tm['agents']:.0f} s, total {tm['total']:.0f} s.", ""]
    lines += markdown_table(["agent", "eval success (mean)", "95% interval over seeds",
                             "per seed", "primitive steps", "wall s per run"], rows)
    lines += ["", "Learning curves: `curves.png` (rolling success of the last 100 training "
              "episodes, mean over seeds; the clone and replay learn nothing in env steps and "
              "are drawn at their evaluation success).", ""]
    atomic_write_text("\n".join(lines), out / "report.md")
    _plot(record, cfg, out / "curves.png")
    return out / "report.md"


def _plot(record: dict[str, Any], cfg: PipelineConfig, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from macroact.reporting import aggregate_curves, on_grid, rolling_success, save_figure

    grid = np.linspace(0, cfg.timesteps, 101)
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    colours = {"bc_ppo": "tab:green", "flat_ppo": "tab:orange", "latent_ppo": "tab:blue",
               "bc": "tab:olive", "replay": "tab:gray"}
    for key, runs in record["results"].items():
        if key in ("bc", "replay"):
            level = float(np.mean([r["success_rate"] for r in runs]))
            ax.axhline(level, ls="--", lw=1, color=colours[key],
                       label=f"{AGENTS[key]} (eval {level:.2f})")
            continue
        curves = [on_grid(*rolling_success(np.asarray(r["episodes"], float).reshape(-1, 2)),
                          grid) for r in runs]
        agg = aggregate_curves(curves)
        ax.plot(grid, agg["mean"], color=colours.get(key), label=AGENTS[key])
        ax.fill_between(grid, agg["min"], agg["max"], color=colours.get(key), alpha=0.15)
    ax.set_xlabel("primitive env steps")
    ax.set_ylabel("training success (rolling 100 episodes)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"macroact pipeline: {cfg.env_id}", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    save_figure(fig, path, dpi=100)
