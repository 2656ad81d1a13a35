"""RL benchmark: PPO over FAVAE macro-actions against flat PPO on Gripper and ReacherSparse.

For each environment and macro kind it collects scripted demonstrations, trains a ladder FAVAE
and a no-ladder FAVAE (14 latents, the same size) on their action chunks, and runs PPO with

- ``all``: every latent of the ladder model (14),
- ``active``: the ladder model's latents whose mean KL from the prior over the training chunks
  exceeds 0.1 nats (the wrapper's ``latents="active"`` rule),
- ``upper``: the ladder model's upper two ladders (``latents="ladders:1,2"``, 6 latents),
- ``noladder``: every latent of the no-ladder model (14),
- ``flat``: PPO on primitive actions (rl-zoo3-style settings; independent of the macro kind),

over ``--seeds``, each for ``--timesteps`` primitive env steps. Runs are cached in ``--out``
(a finished run with the same budget is not rerun), so a budget can be extended or a variant
added by running the command again; the report aggregates every finished run found there.
Writes ``experiments/results/rl.md`` and ``experiments/results/rl/*.png``:

    python experiments/rl_benchmark.py --envs gripper reacher --kinds episode chunk \\
        --variants all active upper noladder flat --seeds 0 1 2 --timesteps 1000000 --jobs 2
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from macroact.reporting import (command_line, load_episodes, machine, plot_success_curves,
                                summarise_runs, write_result)
from macroact.sweep import demos_path as _demos_path, macro_model_dir, prepare_macro_models

RESULTS = Path(__file__).resolve().parent / "results"
#: Env ids, demonstrations, macro kinds and PPO settings (shared with experiments/rl_bc.py).
SETTINGS = json.loads((Path(__file__).resolve().parent / "rl_benchmark.json").read_text())
ENVS: dict[str, str] = SETTINGS["envs"]
#: (env, macro kind) -> horizon H and the tail rule for the episode's last chunk.
MACROS = {(e, k): m for e, kinds in SETTINGS["macros"].items() for k, m in kinds.items()}
DEMO_EPISODES: dict[str, int] = SETTINGS["demo_episodes"]
VARIANTS = ("all", "active", "upper", "noladder", "flat")
FLAT: dict[str, dict] = SETTINGS["flat"]
LATENT: dict[str, dict] = SETTINGS["latent"]
WINDOW = 100  # training episodes in the rolling success rate


# --------------------------------------------------------------------------- aggregation
def summarise(group: list[dict[str, Any]]) -> dict[str, Any]:
    """Seed statistics of one (env, kind, variant, budget) group (NaN: a threshold not reached)."""
    return summarise_runs(group, thresholds=(0.8, 0.9), window=WINDOW)


def load_runs(root: Path) -> list[dict[str, Any]]:
    """Every finished run under ``root`` (``<env>/<kind>/<variant>/seed<k>/eval.json``)."""
    runs = []
    for ev_path in sorted(root.glob("*/*/*/seed*/eval.json")):
        d = ev_path.parent
        meta = json.loads((d / "agent.json").read_text())
        meta = meta.get("config", meta)  # the run config, saved whole
        rows = load_episodes(d / "episodes.csv")
        env, kind, variant = d.parts[-4], d.parts[-3], d.parts[-2]
        runs.append({"env": env, "kind": kind, "variant": variant, "seed": int(meta["seed"]),
                     "timesteps": int(meta["timesteps"]), "eval": json.loads(ev_path.read_text()),
                     "rows": rows, "dir": d})
    return runs


def group_runs(runs: list[dict[str, Any]]) -> dict[tuple, list[dict[str, Any]]]:
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in runs:
        groups.setdefault((r["env"], r["kind"], r["variant"], r["timesteps"]), []).append(r)
    for g in groups.values():
        g.sort(key=lambda r: r["seed"])
    return groups


def plot_groups(groups: dict[tuple, list[dict[str, Any]]], env: str, kind: str,
                path: Path, title: str = "") -> Path | None:
    """Rolling training success against primitive steps (mean over seeds, min-max band) of
    every variant of ``(env, kind)`` plus the env's flat runs; one PNG."""
    chosen = {k: g for k, g in groups.items()
              if k[0] == env and (k[1] == kind or k[2] == "flat")}
    if not any(k[1] == kind and k[2] != "flat" for k in chosen):
        return None  # no latent run of this macro kind
    colours = dict(zip(VARIANTS, ("C0", "C1", "C2", "C3", "k")))
    series = {}
    for (e, k, variant, steps), g in sorted(chosen.items(), key=lambda kv: VARIANTS.index(kv[0][2])):
        label = f"{variant} ({len(g)} seeds, eval {np.mean([r['eval']['success_rate'] for r in g]):.2f})"
        series[label] = ([r["rows"] for r in g], colours.get(variant))
    return plot_success_curves(series, max(k[3] for k in chosen), path,
                               title or f"{ENVS[env]}, {kind} macros", WINDOW)


def _fmt_steps(v: float) -> str:
    return "-" if np.isnan(v) else f"{v / 1000:.0f}k"


def table(groups: dict[tuple, list[dict[str, Any]]]) -> str:
    lines = ["| env | macro | variant | budget (primitive steps) | seeds | eval success mean "
             "(std; min-max) | training success, last 100 episodes | steps to 80% (per seed) "
             "| steps to 90% (per seed) | wall s per run |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    order = sorted(groups, key=lambda k: (k[0], k[1] if k[2] != "flat" else "~",
                                          VARIANTS.index(k[2]), k[3]))
    for key in order:
        env, kind, variant, budget = key
        s = summarise(groups[key])
        lines.append(
            f"| {env} | {'-' if variant == 'flat' else kind} | {variant} | {budget:,} | "
            f"{len(s['seeds'])} | {s['eval_mean']:.2f} ({s['eval_std']:.2f}; "
            f"{s['eval_min']:.2f}-{s['eval_max']:.2f}) | {s['train_mean']:.2f} | "
            f"{', '.join(_fmt_steps(h) for h in s['reach80'])} | "
            f"{', '.join(_fmt_steps(h) for h in s['reach90'])} | {s['wall_mean']:.0f} |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- preparation
def demos_path(out: Path, env: str) -> Path:
    return _demos_path(out, env, DEMO_EPISODES[env])


def favae_dir(out: Path, env: str, kind: str, ladder: bool) -> Path:
    return macro_model_dir(out, env, kind, ladder)


def prepare(out: Path, envs: list[str], kinds: list[str], beta: float, steps: int,
            jobs: int, need_noladder: bool,
            lr_schedule: str = "constant") -> dict[tuple, dict[str, Any]]:
    """Demonstrations and macro FAVAEs (``macroact.sweep.prepare_macro_models``)."""
    return prepare_macro_models(out, SETTINGS, envs, kinds, beta, steps, jobs, need_noladder,
                                lr_schedule)


# --------------------------------------------------------------------------- PPO runs
def _finished(spec: dict[str, Any]) -> bool:
    """Whether the run of ``spec`` exists with the same budget."""
    out = Path(spec["out"])
    return (out / "eval.json").is_file() and (out / "agent.json").is_file() and \
        json.loads((out / "agent.json").read_text())["timesteps"] == spec["timesteps"]


def _run_ppo(spec: dict[str, Any]) -> dict[str, Any]:
    from macroact.agents.ppo import PPORunConfig, train_ppo

    spec = dict(spec)
    if _finished(spec):
        return json.loads((Path(spec["out"]) / "eval.json").read_text())
    out = Path(spec.pop("out"))
    res = train_ppo(PPORunConfig(**spec), out)
    res.pop("episodes", None)
    print(f"{out}: success {res['success_rate']:.2f}, {res['wall_seconds']:.0f} s", flush=True)
    return res


def ppo_specs(out: Path, envs, kinds, variants, seeds, timesteps: int,
              favae: dict[tuple, dict[str, Any]]) -> list[dict[str, Any]]:
    specs = []
    for env in envs:
        for variant in variants:
            for kind in (["-"] if variant == "flat" else kinds):
                for seed in seeds:
                    d = out / env / ("flat" if variant == "flat" else kind) / variant / f"seed{seed}"
                    if variant == "flat":
                        specs.append(dict(out=str(d), env_id=ENVS[env], timesteps=timesteps,
                                          seed=seed, flat=True, **FLAT[env]))
                        continue
                    ladder = variant != "noladder"
                    if variant == "active" and favae[(env, kind, True)]["active"] == \
                            list(range(len(favae[(env, kind, True)]["kl"]))):
                        continue  # every latent is active: the runs of "all"
                    latents = {"all": "all", "noladder": "all", "upper": "ladders:1,2",
                               "active": favae[(env, kind, True)]["active"]}[variant]
                    specs.append(dict(out=str(d), env_id=ENVS[env], timesteps=timesteps,
                                      seed=seed, model=str(favae_dir(out, env, kind, ladder)),
                                      latents=latents, **LATENT[env]))
    # Longest first, so that parallel workers finish together.
    return sorted(specs, key=lambda s: (not s.get("flat", False), -s["timesteps"]))


# --------------------------------------------------------------------------- report
def report(out: Path, favae: dict[tuple, dict[str, Any]]) -> tuple[str, dict]:
    runs = load_runs(out)
    groups = group_runs(runs)
    figures = []
    for env, kind in MACROS:
        p = plot_groups(groups, env, kind, RESULTS / "rl" / f"{env}_{kind}.png")
        if p is not None and any(k[0] == env and k[1] == kind for k in groups):
            figures.append(f"![{env} {kind}](rl/{p.name})")
    log_path = out / "invocations.jsonl"
    invocations = [json.loads(line) for line in log_path.read_text().splitlines()] \
        if log_path.is_file() else []
    inv = "\n".join(f"- `{i['command']}`: {i['wall_seconds']:.0f} s wall ({i['runs']} new PPO "
                    f"runs, {i['jobs']} parallel jobs)" for i in invocations)
    missing = []
    for (env, kind) in MACROS:
        for variant in VARIANTS:
            k = "flat" if variant == "flat" else kind
            if variant == "flat" and kind != "episode":
                continue
            if not any(g[0] == env and g[1] == k and g[2] == variant for g in groups):
                if variant == "active" and (env, kind, True) in favae and \
                        len(favae[(env, kind, True)]["active"]) == len(favae[(env, kind, True)]["kl"]):
                    missing.append(f"{env} / {kind} / active: every latent is active, = `all`")
                else:
                    missing.append(f"{env} / {k} / {variant}")
    budgets = sorted({(g[0], g[3]) for g in groups})
    not_run = ("Budgets run: " + ", ".join(f"{e} {b:,}" for e, b in budgets) + " primitive "
               "steps per run (the issue asks for 1,000,000). Not run at all: "
               + "; ".join(missing) + ".")
    fav = ["| env | macro | model | H, tail | chunks | beta | Rec | MIG sampled / histogram | "
           "active dims (KL > 0.1) | |mu| 99% quantile | codes within +-3 | demo replay success "
           "| train s |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for (env, kind, ladder), s in sorted(favae.items()):
        fav.append(f"| {env} | {kind} | {'ladder' if ladder else 'no ladder'} | "
                   f"{s['horizon']}, {s['tail']} | {s['chunks']} | {s['beta']:g} | {s['rec']:.2f} | "
                   f"{s['mig_sampled']:.3f} / {s['mig_discrete']:.3f} | {len(s['active'])} "
                   f"{s['active']} | {s['mu_abs_q99']:.2f} | {s['mu_inside_scale']:.2f} | "
                   f"{s['replay_success']:.2f} | {s['train_seconds']:.0f} |")
    return f"""{table(groups)}

## FAVAE macro models

{chr(10).join(fav)}

## Not run

{not_run}

## Curves

{chr(10).join(figures)}

## Invocations

{inv}
""", groups


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--envs", nargs="+", default=["gripper", "reacher"], choices=sorted(ENVS))
    p.add_argument("--kinds", nargs="+", default=["episode", "chunk"],
                   choices=["episode", "chunk"],
                   help="macro kinds: whole-episode macros, chunked macros")
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--timesteps", type=int, default=1_000_000,
                   help="budget per run in primitive env steps")
    p.add_argument("--favae-beta", type=float, default=1.0)
    p.add_argument("--favae-steps", type=int, default=1500)
    p.add_argument("--jobs", type=int, default=2, help="runs in parallel (one core each)")
    p.add_argument("--out", default="runs/rl_benchmark")
    p.add_argument("--report-only", action="store_true",
                   help="rewrite the report from the finished runs in --out")
    p.add_argument("--prepare-only", action="store_true",
                   help="collect demonstrations and train the FAVAEs, run no PPO")
    args = p.parse_args()
    out = Path(args.out)
    t0 = time.perf_counter()
    need_noladder = "noladder" in args.variants
    favae = prepare(out, args.envs, args.kinds, args.favae_beta, args.favae_steps, args.jobs,
                    need_noladder) if not args.report_only else {}
    n_new = 0
    if args.prepare_only:
        with open(out / "invocations.jsonl", "a") as f:
            f.write(json.dumps({"command": command_line(), "runs": 0, "jobs": args.jobs,
                                "wall_seconds": time.perf_counter() - t0}) + "\n")
        print(json.dumps({f"{k}": {n: v for n, v in s.items() if n != "kl"}
                          for k, s in favae.items()}, indent=1))
        return 0
    if not args.report_only:
        specs = ppo_specs(out, args.envs, args.kinds, args.variants, args.seeds,
                          args.timesteps, favae)
        n_new = sum(not _finished(s) for s in specs)
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            list(pool.map(_run_ppo, specs))
        with open(out / "invocations.jsonl", "a") as f:
            f.write(json.dumps({"command": command_line(), "runs": n_new, "jobs": args.jobs,
                                "wall_seconds": time.perf_counter() - t0}) + "\n")
    # Every FAVAE summary in --out, not only this invocation's.
    for s_path in sorted((out / "favae").glob("*/summary.json")):
        s = json.loads(s_path.read_text())
        favae[(s["env"], s["kind"], s["ladder"])] = s
    body, groups = report(out, favae)
    text = HEADER.format(machine=machine()) + targets(groups) + replay_note(favae) + "\n## Results\n\n" + body
    print(write_result(RESULTS / "rl.md", text))
    return 0


HEADER = """# RL benchmark: PPO over FAVAE macro-actions against flat PPO

Machine: {machine}; every run uses one thread (`torch.set_num_threads(1)`), two runs in
parallel, on cores shared with other jobs (wall times are inflated by that load).

Regenerate (the full run: 1M primitive steps, every variant, both macro kinds, 3 seeds):

    python experiments/rl_benchmark.py --envs gripper reacher --kinds episode chunk \\
        --variants all active upper noladder flat --seeds 0 1 2 --timesteps 1000000 \\
        --favae-beta 0.1 --favae-steps 800 --jobs 2

The commands actually run, their budgets and wall times are listed under "Invocations" at the
end; only what is in the table was run. The FAVAEs were trained beforehand by
`python experiments/rl_benchmark.py --prepare-only --envs gripper reacher --kinds episode chunk
--variants all noladder --favae-beta 0.1 --favae-steps 800 --jobs 1` (seconds per model in the
FAVAE table; the Gripper whole-episode ladder model came from the beta pilot, same settings).

## Setup

- Demonstrations: 600 scripted `macroact/Gripper-v0` episodes (93-183 steps, all
  successful) and 1000 `macroact/ReacherSparse-v0` episodes (at most 33 steps), seed 0.
- Macro kinds: Gripper whole-episode H = 200 (tail `pad_last`: the demos' last action is
  "stand still, fingers open"), Gripper chunks H = 50 (stride 50, `pad_last`); ReacherSparse
  whole-episode H = 50 (`pad_zero`: zero torque), ReacherSparse chunks H = 10.
- FAVAE on the action chunks (Python API, `macroact.trainer.train`): ladder sizes (8, 4, 2),
  or one latent of 14 without the ladder; C = 0; beta = 0.1; 800 Adam steps, batch 128, lr
  1e-3; actions scaled into [-1, 1] by the env's action bounds. beta was chosen by a pilot on
  the Gripper whole-episode ladder model (800 steps each): beta = 1 gave Rec 3.64, 7 active
  latents and a demo replay success of 0.75; beta = 0.1 gave Rec 1.41, 14 active latents and
  replay success 0.89. The macros must be precise enough to grasp a 2.5 cm ball open-loop, so
  we took 0.1. "Demo replay success" (table below) encodes each demo's chunks, decodes the
  posterior means and executes them open-loop from the demo's own start state: what choosing
  codes can reach at best with that decoder, up to codes better than the demos' own.
- Latent PPO: SB3 PPO with `agents/ppo.py` LATENT_PPO (n_steps 16 x 4 envs, batch 64, 10
  epochs, lr 1e-3, gamma 0.99, GAE 0.95, clip 0.2), observations normalised, latent = 3 x
  action. Variant `active` = the ladder model's latents with mean KL > 0.1 nats over its
  training chunks (the wrapper's rule), passed as a list of dims; when every latent is
  active it is the `all` variant and is not run twice.
- Flat PPO, rl-zoo3 settings (`hyperparams/ppo.yml`): ReacherSparse uses the zoo's tuned
  Reacher entry (normalize, n_envs 1, n_steps 512, batch 32, gamma 0.9, lr 1.04e-4, ent
  7.5e-8, clip 0.3, 5 epochs, GAE 1.0, max_grad_norm 0.9, vf_coef 0.95); Gripper is no zoo
  env, so it gets the zoo's MuJoCo defaults as in `agents/ppo.py` FLAT_PPO (normalize, n_steps
  512 x 4 envs, batch 64, 10 epochs, lr 3e-4, gamma 0.99, GAE 0.95).
- Budgets are primitive env steps (a macro of n steps costs n). Success: the deterministic
  policy on 100 fresh episodes after training ("eval"); curves: rolling success of the last
  100 training episodes (stochastic policy), mean over seeds with the min-max band. "Steps to
  X%" is where that rolling rate (over a full window) first reaches X; "-" = never.

"""


def targets(groups: dict[tuple, list[dict[str, Any]]]) -> str:
    """The issue's two targets, judged on the finished runs."""
    lines = ["## Issue targets", "",
             "These judge PPO from scratch. PPO initialised by behaviour cloning on the same "
             "demonstrations is judged by experiments/rl_bc.py (results/rl_bc.md for Gripper, "
             "results/rl_bc_reacher.md for ReacherSparse).", ""]
    grip = {k: summarise(g) for k, g in groups.items()
            if k[0] == "gripper" and k[2] != "flat" and len(g) >= 3 and k[3] <= 1_000_000}
    flat = {k: summarise(g) for k, g in groups.items() if k[0] == "gripper" and k[2] == "flat"}
    if grip:
        k, s = max(grip.items(), key=lambda kv: kv[1]["eval_mean"])
        met = "MET" if s["eval_mean"] >= 0.8 else "MISSED"
        fl = "; ".join(f"flat PPO at {fk[3]:,} steps: {fs['eval_mean']:.2f}"
                       for fk, fs in flat.items())
        lines.append(f"- Gripper, best latent variant >= 80% success within 1M primitive steps "
                     f"(mean of 3 seeds): **{met}** at the budget run: best is {k[1]} / {k[2]} "
                     f"at {k[3]:,} steps with {s['eval_mean']:.2f} eval success "
                     f"({s['eval_min']:.2f}-{s['eval_max']:.2f}); {fl or 'flat PPO not run'}.")
    else:
        lines.append("- Gripper: no latent variant has 3 finished seeds; target not judged.")
    reach = {k: summarise(g) for k, g in groups.items() if k[0] == "reacher" and len(g) >= 3}
    rflat = [(k, s) for k, s in reach.items() if k[2] == "flat"]
    rlat = [(k, s) for k, s in reach.items() if k[2] != "flat"]
    if rflat and rlat:
        fk, fs = rflat[0]
        flat_text = (f"flat PPO reached 90% at {fs['reach90_mean']:,.0f} steps (mean of seeds)"
                     if not np.isnan(fs["reach90_mean"]) else
                     f"flat PPO did not reach 90% in all seeds within {fk[3]:,} steps (eval "
                     f"{fs['eval_mean']:.2f})")
        best_k, best_s = max(rlat, key=lambda kv: kv[1]["eval_mean"])
        if any(not np.isnan(s["reach90_mean"]) for _, s in rlat):
            k, s = min(((k, s) for k, s in rlat if not np.isnan(s["reach90_mean"])),
                       key=lambda kv: kv[1]["reach90_mean"])
            ok = np.isnan(fs["reach90_mean"]) or s["reach90_mean"] <= fs["reach90_mean"] / 3
            lat_text = f"{k[1]} / {k[2]} reached 90% at {s['reach90_mean']:,.0f} steps"
        else:
            ok = False
            lat_text = (f"no latent variant reached 90% within {best_k[3]:,} steps (best eval: "
                        f"{best_k[1]} / {best_k[2]}, {best_s['eval_mean']:.2f})")
        lines.append(f"- ReacherSparse, latent PPO at 90% success in at most a third of flat "
                     f"PPO's steps: **{'MET' if ok else 'MISSED'}** at the budget run: "
                     f"{lat_text}; {flat_text}.")
    else:
        lines.append("- ReacherSparse: latent and flat runs with 3 seeds are not both "
                     "finished; target not judged.")
    return "\n".join(lines) + "\n"


def replay_note(favae: dict[tuple, dict[str, Any]]) -> str:
    """What the decoders can reach at best: demo replay success per model."""
    parts = [f"{e} {k} {'ladder' if l else 'no ladder'} {s['replay_success']:.2f}"
             for (e, k, l), s in sorted(favae.items())]
    return ("\nDemo replay success of each macro decoder (the demos' own codes decoded and "
            "executed open-loop; a ceiling for policies that choose demo-like codes): "
            + "; ".join(parts) + ".\n")


if __name__ == "__main__":
    sys.exit(main())
