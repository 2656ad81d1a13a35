"""Benchmark of macro-actions against demo-using and from-scratch baselines (issue 17).

One table per env (``--env reaching2d | reacher | gripper``): nearest-demo replay, flat BC,
flat BC + PPO fine-tuning, flat PPO, flat SAC, latent PPO over FAVAE macros (whole-episode H
and chunked H), latent BC (the clone alone) and latent BC + PPO fine-tuning.

Protocol (fixed before any run):

- Seeds (``macroact.seeding``): demonstrations from the demo stream (data set 0); every agent
  trains in envs of the train stream (block = the run's seed); tuning trials are judged on 100
  episodes of the tune stream; reported numbers are 100 episodes of the eval stream (block 0:
  the same episodes for every agent and seed). Nothing is chosen on eval episodes.
- Budget: the same number of primitive env steps (``ENVS[env]["budget"]``) for every RL agent
  of a table; a macro of n primitive steps costs n. Cloning uses no env steps.
- Tuning: every trained agent gets the same procedure: ``len(TRIALS[agent]) == 2`` trial
  configurations, fixed here, each trained once (train-stream block ``TUNE_SEED``) at the full
  budget and evaluated on the tune stream; the trial with the higher tune success wins (ties:
  higher tune return, then the first trial). The chosen settings are written to
  ``agents/hyperparams/{ppo,sac}.toml`` (between BEGIN/END benchmark markers) and every trial
  is a record in the table's JSONL.
- Behaviour cloning: the same number of minibatch updates (``BC_UPDATES`` of 64) for every
  cloned agent, latent or flat (epochs = ceil(updates * 64 / samples)).
- FAVAE: one model per env and horizon, trained once (seed 0) on the demonstrations and
  shared by every latent agent of the table (not tuned).
- Interval: rows with seeds give the mean over seeds and a 95% Student-t interval on the
  per-seed success rates (df = seeds - 1); replay, which has no seed (it is deterministic given
  the demos), gives its success over the 100 episodes with a 95% percentile bootstrap interval
  over episodes (10,000 resamples). Intervals are clipped to [0, 1].

Records: one JSONL per table, ``experiments/results/benchmark_<env>.jsonl``, one record per
finished run (key ``run/<agent>/<seed>``, ``tune/<agent>/<trial>``, ``replay``,
``favae/<macro>``), each with its eval (or tune) successes and a compact learning curve
(rolling training success at 50 primitive-step marks). The script skips finished runs, and
with ``--report-only`` (or when every run has a record) it rebuilds the Markdown table and the
learning-curve PNG from the records without training.

Run: ``python experiments/benchmark.py --env reaching2d`` (then ``reacher``, ``gripper``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# --out-root moves results, runs and the hyperparameter tables written (e.g. to a checkout
# other than the one whose code runs).
OUT_ROOT = ROOT
RESULTS = ROOT / "experiments" / "results"
RUNS = ROOT / "runs" / "benchmark"

ENVS: dict[str, dict[str, Any]] = {
    "reaching2d": dict(env_id="macroact/Reaching2D-v1", demos=200, budget=30_000,
                       macros={"whole": dict(horizon=100, tail="pad_zero"),
                               "chunk": dict(horizon=25, tail="pad_zero")},
                       favae=dict(beta=0.01, capacity=(0.0, 0.0, 0.99), steps=3000,
                                  lr_schedule="constant")),
    "reacher": dict(env_id="macroact/ReacherSparse-v0", demos=1000, budget=30_000,
                    macros={"whole": dict(horizon=50, tail="pad_zero"),
                            "chunk": dict(horizon=10, tail="pad_zero")},
                    favae=dict(beta=0.01, capacity=(0.0, 0.0, 0.0), steps=3000,
                               lr_schedule="constant")),
    "gripper": dict(env_id="macroact/Gripper-v1", demos=600, budget=30_000,
                    macros={"whole": dict(horizon=200, tail="pad_last"),
                            "chunk": dict(horizon=50, tail="pad_last")},
                    favae=dict(beta=0.1, capacity=(0.0, 0.0, 0.0), steps=3000,
                               lr_schedule="cosine")),
}

SEEDS = (0, 1, 2, 3, 4)
TUNE_SEED = 100          # train-stream block of the tuning trials (not a reported seed)
EVAL_EPISODES = 100
BC_UPDATES = 3000
BC_BATCH = 64

# Agents: algorithm, flat or latent (and which macro), cloned or not, and the two trial
# configurations ("params": SB3 arguments over the toml defaults; "cfg": run-config fields).
_FT = [  # fine-tuning a clone: the README's Gripper recipe, and its ReacherSparse one
    {"params": {"learning_rate": 1e-4, "clip_range": 0.1}, "cfg": {"bc_log_std": -2.5}},
    {"params": {"learning_rate": 1e-5, "clip_range": 0.1}, "cfg": {"bc_log_std": -4.5}},
]
AGENTS: dict[str, dict[str, Any]] = {
    "flat_bc_ft": dict(algo="ppo", flat=True, bc=True, trials=_FT),
    "flat_ppo": dict(algo="ppo", flat=True, trials=[
        {"params": {}, "cfg": {}},
        {"params": {"n_steps": 128, "learning_rate": 1e-3}, "cfg": {}}]),
    "flat_sac": dict(algo="sac", flat=True, trials=[
        {"params": {}, "cfg": {}},
        {"params": {"train_freq": 32, "gradient_steps": 4, "learning_rate": 1e-3}, "cfg": {}}]),
    "latent_ppo_whole": dict(algo="ppo", flat=False, macro="whole", trials=[
        {"params": {}, "cfg": {}},
        {"params": {"n_steps": 64, "learning_rate": 3e-4}, "cfg": {}}]),
    "latent_ppo_chunk": dict(algo="ppo", flat=False, macro="chunk", trials=[
        {"params": {}, "cfg": {}},
        {"params": {"n_steps": 64, "learning_rate": 3e-4}, "cfg": {}}]),
    "latent_bc_ft": dict(algo="ppo", flat=False, macro="whole", bc=True, trials=_FT),
}

# Table rows: label, where the number comes from (agent, field).
ROWS = [
    ("nearest-demo replay (no learning)", "replay", None),
    ("flat BC (clone alone)", "flat_bc_ft", "bc"),
    ("flat BC + PPO fine-tune", "flat_bc_ft", "final"),
    ("flat PPO from scratch", "flat_ppo", "final"),
    ("flat SAC from scratch", "flat_sac", "final"),
    ("latent PPO, whole-episode H", "latent_ppo_whole", "final"),
    ("latent PPO, chunked H", "latent_ppo_chunk", "final"),
    ("latent BC (clone alone), whole-episode H", "latent_bc_ft", "bc"),
    ("latent BC + PPO fine-tune, whole-episode H", "latent_bc_ft", "final"),
]

# Two-sided 95% Student-t quantiles t_{0.975, df}.
_T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
         9: 2.262, 10: 2.228}


# --------------------------------------------------------------------------- reporting helpers
def _reporting():
    """macroact.reporting (results writer that keeps notes blocks, RunLog, command line)."""
    from macroact import reporting

    return reporting


def t_interval(values) -> tuple[float, float, float]:
    """Mean and 95% Student-t interval of per-seed values (clipped to [0, 1])."""
    v = np.asarray(values, dtype=np.float64)
    m = float(v.mean())
    if len(v) < 2:
        return m, float("nan"), float("nan")
    half = _T975.get(len(v) - 1, 1.96) * float(v.std(ddof=1)) / math.sqrt(len(v))
    return m, max(0.0, m - half), min(1.0, m + half)


def bootstrap_interval(successes, resamples: int = 10_000, seed: int = 0):
    """Mean and 95% percentile-bootstrap interval over episodes."""
    x = np.asarray(successes, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), size=(resamples, len(x)))].mean(axis=1)
    return float(x.mean()), float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


# --------------------------------------------------------------------------- preparation
def demos_path(env: str) -> Path:
    return RUNS / env / f"demos_{ENVS[env]['demos']}.npz"


def prepare_demos(env: str):
    from macroact.data.demos import EpisodeData, collect

    path = demos_path(env)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        collect(ENVS[env]["env_id"], ENVS[env]["demos"], seed=0).save(path)
    return EpisodeData.load(path)


def prepare_favae(env: str, macro: str, log) -> Path:
    """Train (once) the FAVAE over ``macro`` chunks of the env's demos; returns model.pt."""
    import torch

    from macroact.data.demos import chunk_actions
    from macroact.models.favae import FAVAE, FAVAEConfig
    from macroact.trainer import TrainConfig, train

    spec, fav = ENVS[env]["macros"][macro], ENVS[env]["favae"]
    path = RUNS / env / f"favae_{macro}" / "model.pt"
    key = f"favae/{macro}"
    if path.is_file() and log.get(key) is not None:
        return path
    data = prepare_demos(env)
    chunks = chunk_actions(data, spec["horizon"], tail=spec["tail"])
    torch.manual_seed(0)
    model = FAVAE(FAVAEConfig(seq_len=spec["horizon"], beta=fav["beta"],
                              capacity=tuple(fav["capacity"])),
                  n_features=chunks.actions.shape[2])
    model.normalizer.set_bounds(data.low, data.high)
    t0 = time.perf_counter()
    hist = train(model, chunks.actions,
                 TrainConfig(steps=fav["steps"], seed=0, device="cpu",
                             checkpoint_every=fav["steps"], lr_schedule=fav["lr_schedule"]),
                 progress_bar=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    last = hist[-1] if hist else {}
    log.put({"key": key, "kind": "favae", "macro": macro, **spec, **fav,
             "capacity": list(fav["capacity"]), "chunks": int(len(chunks)),
             "final": {k: float(v) for k, v in last.items()
                       if isinstance(v, (int, float)) and math.isfinite(float(v))},
             "wall_seconds": time.perf_counter() - t0, "machine": _reporting().machine()})
    return path


# --------------------------------------------------------------------------- runs
def bc_epochs(env: str, agent: str, demos) -> int:
    """Epochs that give BC_UPDATES minibatch updates on this agent's cloning samples."""
    from macroact.data.demos import chunk_actions

    if AGENTS[agent]["flat"]:
        samples = sum(len(a) for a in demos.actions)
    else:
        spec = ENVS[env]["macros"][AGENTS[agent]["macro"]]
        samples = len(chunk_actions(demos, spec["horizon"], tail=spec["tail"]))
    return max(1, math.ceil(BC_UPDATES * BC_BATCH / samples))


def full_settings(algo: str, flat: bool, trial: dict[str, Any]) -> dict[str, Any]:
    """A trial's whole SB3 settings: the toml's [default.KIND] table, then the trial's.

    Passed whole, so that the env tables this script writes into the toml (the chosen
    settings) never leak into another agent's runs.
    """
    from macroact.agents import hyperparams

    out = dict(hyperparams.load(algo).get("default", {}).get("flat" if flat else "latent", {}))
    out.pop("n_envs", None)
    out.update(trial["params"])
    return out


def run_agent(env: str, agent: str, trial: int, seed: int, stream: str, log) -> dict[str, Any]:
    """Train one agent with trial ``trial``'s settings; evaluate on ``stream``."""
    spec, a = ENVS[env], AGENTS[agent]
    t = a["trials"][trial]
    out = RUNS / env / ("tune" if stream == "tune" else "runs") / f"{agent}_t{trial}_s{seed}"
    demos = prepare_demos(env)
    common = dict(env_id=spec["env_id"], timesteps=spec["budget"], seed=seed, flat=a["flat"])
    if not a["flat"]:
        m = spec["macros"][a["macro"]]
        common.update(model=str(prepare_favae(env, a["macro"], log)), tail=m["tail"],
                      data=str(demos_path(env)))
    t0 = time.perf_counter()
    if a["algo"] == "sac":
        from macroact.agents.sac import SACRunConfig, train_sac

        cfg = SACRunConfig(**common, sac=full_settings("sac", a["flat"], t), **t["cfg"])
        res = train_sac(cfg, out, eval_episodes=EVAL_EPISODES, eval_stream=stream,
                        resume=True)
        settings = cfg.sac_settings()
    else:
        from macroact.agents.ppo import PPORunConfig, train_ppo

        extra = {}
        if a.get("bc"):
            extra = dict(bc_demos=str(demos_path(env)), bc_epochs=bc_epochs(env, agent, demos),
                         bc_batch_size=BC_BATCH)
        cfg = PPORunConfig(**common, ppo=full_settings("ppo", a["flat"], t), **extra,
                           **t["cfg"])
        res = train_ppo(cfg, out, eval_episodes=EVAL_EPISODES, eval_stream=stream)
        settings = cfg.ppo_settings()
    from macroact.agents.common import curve_points

    rec = {"agent": agent, "trial": trial, "seed": seed, "stream": stream,
           "env_id": spec["env_id"], "budget": spec["budget"], "settings": settings,
           "config": cfg.to_dict(), "success_rate": res["success_rate"],
           "mean_return": res["mean_return"], "successes": res["successes"],
           "primitive_steps": res["primitive_steps"], "train_episodes": res["train_episodes"],
           "final_train_success": res["final_train_success"],
           "wall_seconds": res["wall_seconds"], "total_seconds": time.perf_counter() - t0,
           "curve": curve_points(res["episodes"], spec["budget"]),
           "machine": _reporting().machine()}
    if "bc" in res:
        rec["bc"] = {k: v for k, v in res["bc"].items() if k != "trajectories"}
    return rec


def chosen_trial(log, agent: str) -> int | None:
    """The winning trial of ``agent`` from its tune records (None until all are done)."""
    recs = [log.get(f"tune/{agent}/{i}") for i in range(len(AGENTS[agent]["trials"]))]
    if any(r is None for r in recs):
        return None
    return max(range(len(recs)),
               key=lambda i: (recs[i]["success_rate"], recs[i]["mean_return"], -i))


def write_toml_choices(env: str, log) -> None:
    """Write the chosen settings into the hyperparameter files (between markers)."""
    import tomllib

    env_id = ENVS[env]["env_id"]
    for algo in ("ppo", "sac"):
        path = OUT_ROOT / "agents" / "hyperparams" / f"{algo}.toml"
        text = path.read_text()
        begin = f"# BEGIN benchmark {env_id}"
        end = f"# END benchmark {env_id}"
        lines = [begin, f"# Chosen by experiments/benchmark.py --env {env} on tune-stream "
                 "episodes (2 trials per agent, the records' tune/* entries in "
                 f"experiments/results/benchmark_{env}.jsonl)."]
        for agent, a in AGENTS.items():
            if a["algo"] != algo:
                continue
            i = chosen_trial(log, agent)
            if i is None:
                continue
            rec = log.get(f"tune/{agent}/{i}")
            table = {"flat_ppo": "flat", "latent_ppo_whole": "latent",
                     "flat_sac": "flat"}.get(agent, f"benchmark-{agent}")
            lines.append(f'["{env_id}"."{table}"]')
            lines.append(f"# agent {agent}: trial {i} of {len(a['trials'])}, tune success "
                         f"{rec['success_rate']:.2f}")
            for k, v in sorted(rec["settings"].items()):
                lines.append(f"{k} = {json.dumps(v)}")
            for k, v in sorted(AGENTS[agent]["trials"][i]["cfg"].items()):
                lines.append(f"# run config: {k} = {json.dumps(v)}")
        lines.append(end)
        block = "\n".join(lines) + "\n"
        if begin in text:
            pre, rest = text.split(begin, 1)
            post = rest.split(end, 1)[1].lstrip("\n")
            text = pre + block + post
        else:
            text = text.rstrip("\n") + "\n\n" + block
        tomllib.loads(text)  # must stay valid TOML
        path.write_text(text)


# --------------------------------------------------------------------------- report
def build_report(env: str, log, argv: list[str]) -> None:
    rep = _reporting()
    spec = ENVS[env]
    recs = log.records()
    runs = {}
    for r in recs:
        if r["key"].startswith("run/"):
            runs.setdefault(r["agent"], []).append(r)
    rows, curves, means = [], {}, {}
    for label, agent, field in ROWS:
        if agent == "replay":
            r = log.get("replay")
            if r is None:
                rows.append([label, "not run (time)", "", "", ""])
                continue
            m, lo, hi = bootstrap_interval(r["successes"])
            means[label] = (m, lo, hi)
            rows.append([label, f"{m:.2f}", f"[{lo:.2f}, {hi:.2f}] (bootstrap, episodes)",
                         "1 (deterministic)", "0"])
            continue
        group = sorted(runs.get(agent, []), key=lambda r: r["seed"])
        if not group:
            rows.append([label, "not run (time)", "", "", ""])
            continue
        vals = [g["bc"]["success_rate"] if field == "bc" else g["success_rate"] for g in group]
        m, lo, hi = t_interval(vals)
        means[label] = (m, lo, hi)
        per = ", ".join(f"{v:.2f}" for v in vals)
        steps = "0" if field == "bc" else f"{spec['budget']:,}"
        iv = f"[{lo:.2f}, {hi:.2f}]" if len(vals) > 1 else "n/a"
        rows.append([label, f"{m:.2f}", iv, f"{len(vals)} ({per})", steps])
        if field == "final":
            curves[label] = [np.asarray(g["curve"], dtype=np.float64).reshape(-1, 2)
                             for g in group]
    # tuning table
    trows = []
    for agent, a in AGENTS.items():
        ch = chosen_trial(log, agent)
        for i, t in enumerate(a["trials"]):
            r = log.get(f"tune/{agent}/{i}")
            desc = ", ".join(f"{k}={v}" for k, v in {**t["params"], **t["cfg"]}.items()) \
                or "toml defaults"
            trows.append([agent, i, desc, "not run (time)" if r is None else
                          f"{r['success_rate']:.2f}", "" if r is None else
                          f"{r['mean_return']:.3f}", "**chosen**" if ch == i else ""])
    fav = [r for r in recs if r["key"].startswith("favae/")]
    png = RESULTS / f"benchmark_{env}.png"
    if curves:
        plot_curves(curves, spec["budget"], png, f"{spec['env_id']}: rolling training success "
                    f"(mean over seeds, min-max band)")
    cmd = f"python experiments/benchmark.py --env {env}"
    lines = [f"# Benchmark: {spec['env_id']}", "", f"Command: `{cmd}` (rebuilds this file and "
             f"`benchmark_{env}.png` from `benchmark_{env}.jsonl` without training; runs "
             "without a record are trained first). This file was written by "
             f"`{rep.command_line()}`.", "",
             f"Machine(s): {rep.machines(recs)}; one run at a time, one torch thread, on cores "
             "shared with other jobs (wall seconds are inflated by that load).", "",
             f"{spec['demos']} demonstrations (demo stream, data set 0); every RL agent gets "
             f"{spec['budget']:,} primitive env steps; each seed's agent is evaluated on the "
             f"same {EVAL_EPISODES} eval-stream episodes (deterministic actions). Success: mean "
             "over seeds with a 95% Student-t interval over the per-seed rates (df = seeds - 1, "
             "clipped to [0, 1]); replay has no seed and gets a 95% percentile bootstrap "
             "interval over its episodes. Protocol: see the docstring of "
             "experiments/benchmark.py.", ""]
    lines += rep.markdown_table(["agent", "eval success", "95% interval", "seeds (per seed)",
                                 "primitive env steps"], rows)
    latent = {k: v for k, v in means.items() if k.startswith("latent")}
    demo = {k: v for k, v in means.items()
            if k.startswith(("nearest-demo", "flat BC"))}
    if latent and demo:
        bl, (bm, blo, bhi) = max(latent.items(), key=lambda kv: kv[1][0])
        dl, (dm, dlo, dhi) = max(demo.items(), key=lambda kv: kv[1][0])
        verdict = ("the latent agent wins" if blo > dhi else "the demo-using baseline wins"
                   if dlo > bhi else "the intervals overlap")
        lines += ["", f"Best latent agent: {bl}, {bm:.2f} [{blo:.2f}, {bhi:.2f}]; best "
                  f"demo-using baseline: {dl}, {dm:.2f} [{dlo:.2f}, {dhi:.2f}]: {verdict}."]
    lines += ["", f"![learning curves](benchmark_{env}.png)", "", "## Tuning trials", "",
              f"Each trained agent: {len(next(iter(AGENTS.values()))['trials'])} trial "
              f"configurations, one run each (train-stream block {TUNE_SEED}) at the full "
              f"budget, judged on {EVAL_EPISODES} tune-stream episodes; the chosen settings are "
              "in agents/hyperparams/ppo.toml and sac.toml.", ""]
    lines += rep.markdown_table(["agent", "trial", "settings over the toml defaults",
                                 "tune success", "tune return", ""], trows)
    if fav:
        lines += ["", "## FAVAE macro models", ""]
        lines += rep.markdown_table(
            ["macro", "H", "tail", "beta", "capacity", "steps", "chunks", "final rec", "s"],
            [[f["macro"], f["horizon"], f["tail"], f["beta"], f["capacity"], f["steps"],
              f["chunks"], f"{f['final'].get('rec', float('nan')):.3g}",
              f"{f['wall_seconds']:.0f}"] for f in fav])
    walls = sum(r.get("total_seconds", r.get("wall_seconds", 0.0)) for r in recs)
    lines += ["", f"Training and evaluation time of all records: {walls:,.0f} s.", "",
              "## Reading", "", rep.notes_block(), ""]
    rep.write_result(RESULTS / f"benchmark_{env}.md", "\n".join(lines))


def plot_curves(curves: dict[str, list[np.ndarray]], budget: int, path: Path, title: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = np.linspace(budget / 50, budget, 50)
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for label, runs in curves.items():
        ys = []
        for c in runs:
            y = np.full(len(grid), np.nan)
            if len(c):
                idx = np.searchsorted(c[:, 0], grid, side="right") - 1
                ok = idx >= 0
                y[ok] = c[idx[ok], 1]
            ys.append(y)
        a = np.vstack(ys)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean, lo, hi = np.nanmean(a, 0), np.nanmin(a, 0), np.nanmax(a, 0)
        line, = ax.plot(grid, mean, label=label)
        ax.fill_between(grid, lo, hi, color=line.get_color(), alpha=0.15)
    ax.set_xlabel("primitive env steps")
    ax.set_ylabel("training success (rolling 100 episodes)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    _reporting().save_figure(fig, path, dpi=100)


# --------------------------------------------------------------------------- driver
def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--env", required=True, choices=sorted(ENVS))
    p.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    p.add_argument("--agents", nargs="+", default=["replay", *AGENTS],
                   choices=["replay", *AGENTS], help="which rows to run (default: all)")
    p.add_argument("--report-only", action="store_true", help="rebuild from records only")
    p.add_argument("--smoke", action="store_true",
                   help="a tiny end-to-end check (budget 300, 3 episodes, 20 demos) written to "
                        "runs/benchmark_smoke/, leaving results and the toml files alone")
    p.add_argument("--out-root", default=None,
                   help="repository root that receives results, runs and the chosen settings "
                        "(default: this script's)")
    args = p.parse_args(argv)
    global RESULTS, RUNS, EVAL_EPISODES, BC_UPDATES, OUT_ROOT
    if args.out_root:
        OUT_ROOT = Path(args.out_root).resolve()
        RESULTS = OUT_ROOT / "experiments" / "results"
        RUNS = OUT_ROOT / "runs" / "benchmark"
    if args.smoke:
        RESULTS = RUNS = ROOT / "runs" / "benchmark_smoke"
        EVAL_EPISODES, BC_UPDATES = 3, 20
        ENVS[args.env] = dict(ENVS[args.env], budget=300, demos=20,
                              favae=dict(ENVS[args.env]["favae"], steps=20))
    import torch

    torch.set_num_threads(1)
    rep = _reporting()
    log = rep.RunLog(RESULTS / f"benchmark_{args.env}.jsonl")
    spec = ENVS[args.env]
    if not args.report_only:
        if "replay" in args.agents and log.get("replay") is None:
            from macroact.agents.replay import evaluate_replay

            t0 = time.perf_counter()
            res = evaluate_replay(spec["env_id"], prepare_demos(args.env),
                                  n_episodes=EVAL_EPISODES)
            log.put({"key": "replay", "agent": "replay", "env_id": spec["env_id"],
                     "success_rate": res["success_rate"], "mean_return": res["mean_return"],
                     "successes": res["successes"], "n_demos": res["n_demos"],
                     "exact_start_matches": res["exact_start_matches"],
                     "streams": res["streams"], "total_seconds": time.perf_counter() - t0,
                     "machine": rep.machine()})
            print(f"replay: {res['success_rate']:.2f}", flush=True)
        agents = [a for a in args.agents if a != "replay"]
        # Tuning first (every agent's trials), then the reported seeds.
        for agent in agents:
            for i in range(len(AGENTS[agent]["trials"])):
                key = f"tune/{agent}/{i}"
                if log.get(key) is None:
                    rec = run_agent(args.env, agent, i, TUNE_SEED, "tune", log)
                    log.put({"key": key, **rec})
                    print(f"{key}: tune success {rec['success_rate']:.2f} "
                          f"({rec['total_seconds']:.0f} s)", flush=True)
        if not args.smoke:
            write_toml_choices(args.env, log)
        for seed in args.seeds:
            for agent in agents:
                key = f"run/{agent}/{seed}"
                if log.get(key) is None:
                    i = chosen_trial(log, agent)
                    rec = run_agent(args.env, agent, i, seed, "eval", log)
                    log.put({"key": key, **rec})
                    print(f"{key}: eval success {rec['success_rate']:.2f}"
                          + (f" (clone {rec['bc']['success_rate']:.2f})" if "bc" in rec else "")
                          + f" ({rec['total_seconds']:.0f} s)", flush=True)
            build_report(args.env, log, argv)
    build_report(args.env, log, argv)
    print(f"wrote {RESULTS / f'benchmark_{args.env}.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
