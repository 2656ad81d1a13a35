"""Where latent SAC + prior starts on ReacherSparse-v0: the skill prior's mean and the
demonstrator's own codes, acted through the H = 5 closed-loop models of the skills table.

Latent SAC with the skill prior starts its policy at the prior p(z | s) (issue 18), so the
prior's mean, acted deterministically, is about where its evaluation success starts; the
demonstrator's codes (``skill_ceiling.py``'s ``demo codes``: the posterior mean of the
demonstrator's next H steps from the live state) are what a perfect latent policy could reach.
This script measures both for each (macro, demo set) pair of ``MODELS``: the models and
priors ``experiments/benchmark.py`` trains for the skills table (trained first if missing,
recorded in skills_reacher.jsonl), on 100 episodes of the tune stream and of the eval stream
(block 0). Records: ``prior_start.jsonl`` (one per model, kind and stream; per-episode
successes and final distances kept; a record is not run again); report: ``prior_start.md``,
beside nearest-demo replay of each demo set on the same eval episodes (from its records)::

    python experiments/prior_start.py              # about 20 minutes on one core
    python experiments/prior_start.py --report-only
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from macroact.reporting import (RunLog, bootstrap_interval, command_line, markdown_table,
                                notes_block, write_result)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "experiments" / "results"
ENV = "reacher"
KINDS = ("prior mean", "demo codes")
STREAMS = ("tune", "eval")
# (macro of benchmark.ENVS["reacher"], demo set: a DART noise or a DEMO_SETS name), in the
# report's order: the action head and the demos that end at the target or hold it, then the
# bottleneck (beta) with which the codes carry nothing and the head acts alone.
FEW_DEMOS = (30, 100, 300)  # the benchmark's few-held-demo sets (benchmark.FEW_DEMOS)
OBS_NOISE = (0.05, 0.1, 0.2, 0.4)  # the head's training noise levels (benchmark.OBS_NOISE)
MODELS = (("chunk5", 0.2), ("chunk5_h256", 0.2), ("chunk5_s6k", "dart_hold"),
          ("chunk5_s6k_h256", "dart_hold"), ("chunk5_s6k_b0.1", "dart_hold"),
          ("chunk5_s6k_b1", "dart_hold"), ("chunk5_s6k_h256_b0.1", "dart_hold"),
          ("chunk5_s6k_h256_b1", "dart_hold"),
          # the larger-head model on the first 30, 100 and 300 of the held demos
          *(("chunk5_s6k_h256", f"dart_hold{n}") for n in FEW_DEMOS),
          # and on the first 30 with the lowest ladder's capacity at the full set's KL
          ("chunk5_s6k_h256_c3.5", "dart_hold30"),
          # and on the first 30 with noise on the observations its head reads in training
          *((f"chunk5_s6k_h256_on{s}", "dart_hold30") for s in OBS_NOISE))


def _ceiling():
    """experiments/skill_ceiling.py as a module: its ``run_row`` (the rows), ``benchmark()``
    (the models) and ``replay_line`` (the demo-using baseline)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("experiments_skill_ceiling",
                                                  ROOT / "experiments" / "skill_ceiling.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def model_key(macro: str, demo_set: float | str, bench=None) -> str:
    """The record's model name: the benchmark's ``closed_loop/<macro><demo tag>`` key."""
    bench = bench or _ceiling().benchmark()
    return f"closed_loop/{macro}{bench._dart(demo_set)}"


# Nearest-demo replay of each demo set on the same eval episodes (the protocol's demo-using
# baseline): (run log under experiments/results, record key, what it replays).
REPLAYS = (("benchmark_reacher.jsonl", "replay", "the 1,000 noise-free terminated demos"),
           ("skills_reacher.jsonl", "replay/replay_clean_hold",
            "the noise-free demos held on the target"),
           ("skills_reacher.jsonl", "replay/replay_dart_hold",
            "the DART demos held on the target, their recorded actions"),
           *(("skills_reacher.jsonl", f"replay/replay_clean_hold{n}",
              f"the first {n} noise-free demos held on the target") for n in FEW_DEMOS))


def describe(macro: str, demo_set: float | str, macros: dict, favae: dict) -> dict:
    """What a model differs in: its demos, action head (with its training noise on the
    observations, where it has one), beta and training steps."""
    spec = macros[macro]
    if not isinstance(demo_set, str):
        demos = f"DART {demo_set:g} demos"
    elif demo_set.startswith("dart_hold"):
        n = demo_set.removeprefix("dart_hold")
        demos = f"the first {n} DART demos held on the target" if n else \
            "DART demos held on the target"
    else:
        demos = demo_set
    head = "x".join(str(h) for h in spec.get("head_hidden", (64,)))
    if spec.get("obs_noise"):
        head += f", obs noise {spec['obs_noise']:g}"
    return {"demos": demos, "head": head,
            "beta": spec.get("beta", favae["beta"]), "steps": spec.get("steps", favae["steps"])}


def build_report(records: list[dict], command: str, kl: dict[str, float],
                 replays: tuple[str, ...] = ()) -> str:
    """prior_start.md from the records; ``kl``: each model's final KL (nats, from its
    training record) where known; ``replays``: nearest-demo replay's lines
    (``skill_ceiling.replay_line``)."""
    rows = []
    for stream in STREAMS:
        for rec in records:
            if rec["stream"] != stream:
                continue
            _, low, high = bootstrap_interval(rec["successes"])
            dist = np.asarray(rec["final_distance"], dtype=float)
            d = rec["model_settings"]
            rows.append([stream, rec["model_key"], d["demos"], d["head"], f"{d['beta']:g}",
                         f"{d['steps']:,}",
                         f"{kl[rec['model_key']]:.2f}" if rec["model_key"] in kl else "",
                         rec["row"], f"{rec['success_rate']:.2f}", f"[{low:.2f}, {high:.2f}]",
                         f"{np.median(dist):.4f}", f"{rec['mean_primitive_steps']:.1f}"])
    machines = sorted({r["machine"] for r in records})
    n = records[0]["episodes"] if records else 0
    return "\n".join([
        "# Where latent SAC + prior starts on ReacherSparse-v0 (issue 18)", "",
        f"Command: `{command}` (records: prior_start.jsonl; `--report-only` rebuilds this file "
        "from them).", "",
        f"{n} episodes (block 0) of each stream of `macroact/ReacherSparse-v0`, acted through "
        "the agents' wrapper (latent = 3 x action, H = 5). `prior mean`: the skill prior's mean "
        "at the live observation at every decision, where latent SAC + prior starts its policy; "
        "`demo codes`: the posterior mean of the scripted demonstrator's next 5 steps from the "
        "live state (skill_ceiling.py), what a perfect latent policy could pick. Models: the "
        "skills table's closed-loop FAVAEs (records in skills_reacher.jsonl), trained on 1,000 "
        "demos of the demo stream (or the first n of them where `demos` says so); `head`: "
        "the action head's hidden layers; `KL`: the model's final KL summed over ladders "
        "(nats; 0 means the codes carry nothing and the head acts on the observation alone). "
        "Interval: bootstrap over episodes; final distance: fingertip-target distance at the "
        "episode's end (m).", "",
        f"Machine: {'; '.join(machines)}.", "",
        *markdown_table(["stream", "model", "demos", "head", "beta", "steps", "KL", "policy",
                         "success", "95% interval", "median final distance",
                         "primitive steps"], rows),
        "", *[f"- {line}" for line in replays],
        "", "## Reading", "", notes_block(), ""])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--episodes", type=int, default=100, help="episodes per row and stream")
    p.add_argument("--report-only", action="store_true", help="rebuild the report from records")
    args = p.parse_args(argv)
    if args.episodes < 1:
        raise SystemExit(f"--episodes must be >= 1, got {args.episodes}")
    ceiling = _ceiling()
    bench = ceiling.benchmark()
    skills_log = RunLog(RESULTS / f"skills_{ENV}.jsonl")
    log = RunLog(RESULTS / "prior_start.jsonl")
    macros, favae = bench.ENVS[ENV]["macros"], bench.ENVS[ENV]["favae"]
    if not args.report_only:
        import torch

        torch.set_num_threads(1)
        command = command_line()
        for macro, demo_set in MODELS:
            path = bench.prepare_closed_loop(ENV, macro, skills_log, demo_set)
            bench.prepare_prior(ENV, path, macros[macro]["tail"], f"prior/{path.parent.name}",
                                skills_log, demo_set)
            name = model_key(macro, demo_set, bench)
            for stream in STREAMS:
                for kind in KINDS:
                    key = f"{name}/{kind}/{stream}/{args.episodes}"
                    if log.get(key) is not None:
                        continue
                    t0 = time.perf_counter()
                    rec = ceiling.run_row(kind, path.parent, args.episodes, stream, ENV)
                    log.put({"key": key, **rec, "model_key": name,
                             "model_settings": describe(macro, demo_set, macros, favae),
                             "seconds": time.perf_counter() - t0, "command": command})
                    print(f"{key}: {rec['success_rate']:.2f}", flush=True)
    records = log.records()
    if not records:
        raise SystemExit("no records in prior_start.jsonl; run without --report-only first")
    kl = {r["key"]: r["final"]["kl"] for r in skills_log.records()
          if r.get("kind") == "closed_loop" and "kl" in r.get("final", {})}
    replays = tuple(ceiling.replay_line(ENV, log_name, key, what)
                    for log_name, key, what in REPLAYS)
    out = write_result(RESULTS / "prior_start.md",
                       build_report(records, records[0]["command"], kl, replays))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
