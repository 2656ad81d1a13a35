"""How precisely a latent policy must pick its code: the demonstrator's own codes with noise
(ReacherSparse-v0).

skill_ceiling.md shows that the closed-loop skill space can express the task: fed the
demonstrator's codes at every decision (``demo codes``), the DART models succeed on 0.95-0.97
of the eval episodes. The latent SAC agents trained over those spaces stay near 0.6-0.7 at
300,000 steps, and reacher_failures.md shows their failures are mostly near misses. This
script asks how fast that oracle degrades when its codes are off: every chosen code gets
Gaussian noise of std ``sigma`` (latent units; the agents' box is +-3) before clipping, on the
same eval episodes, for each model given (``--models``: directories of experiments/benchmark.py's
skill models under ``runs/benchmark/<env>``, each with its prior). A model whose oracle keeps its
success under larger noise leaves a latent policy more room for error.

Records: ``code_precision.jsonl`` (one per model and noise, per-episode successes and final
distances kept); report ``code_precision.md``::

    python experiments/code_precision.py          # about 10 minutes on one core
    python experiments/code_precision.py --report-only

The models are trained by ``python experiments/benchmark.py --table skills --env reacher
--agents cl_prior_sac_chunk_dart cl_prior_sac_chunk_dart3000 cl_prior_sac_chunk5_dart3000``.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

import numpy as np

from macroact.reporting import (RunLog, bootstrap_interval, command_line, machines,
                                markdown_table, notes_block, write_result)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "experiments" / "results"
STEM = "code_precision"
MODELS = ("closed_loop_chunk_dart0.2", "closed_loop_chunk_dart3000",
          "closed_loop_chunk5_dart3000")
NOISE = (0.0, 0.1, 0.2, 0.4, 0.8)


def skill_ceiling():
    """experiments/skill_ceiling.py as a module (its ``run_row``)."""
    spec = importlib.util.spec_from_file_location("experiments_skill_ceiling",
                                                  ROOT / "experiments" / "skill_ceiling.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_report(records: list[dict], commands: list[str]) -> str:
    """code_precision.md from the records (rows: model, then noise)."""
    from macroact.reporting import commands_sentence

    sc = skill_ceiling()
    rows = []
    for r in sorted(records, key=lambda r: (r["model"], r["code_noise"])):
        _, low, high = bootstrap_interval(r["successes"])
        rows.append([r["model"], r.get("horizon", ""), f"{r['code_noise']:g}",
                     f"{r['success_rate']:.2f}", f"[{low:.2f}, {high:.2f}]",
                     f"{np.median(r['final_distance']):.4f}",
                     f"{r['mean_primitive_steps']:.1f}", f"{r['clipped_dims']:.3f}",
                     "" if r.get("code_spread") is None else f"{r['code_spread']:.2f}"])
    n = records[0]["episodes"]
    lines = [
        "# How precisely a latent policy must pick its code (ReacherSparse-v0, issue 18)", "",
        commands_sentence(commands, f"{STEM}.jsonl"), "",
        f"Machine(s): {machines(records)}.", "",
        f"`demo codes` of experiments/skill_ceiling.py on {n} eval-stream episodes (block 0) "
        "of `macroact/ReacherSparse-v0`: at every decision the posterior mean of the "
        "demonstrator's next H (observation, action) steps from the current state, plus "
        "Gaussian noise of std sigma in every latent dim (seeded: the same draws for every "
        "model), clipped to the agents' box (+-3), decoded closed-loop through the agents' "
        "wrapper. Models (experiments/benchmark.py, runs/benchmark/reacher): "
        "`closed_loop_chunk_dart0.2` the skills table's DART model (1,000 demos, H = 10), "
        "`closed_loop_chunk_dart3000` on 3,000 DART demos (H = 10), "
        "`closed_loop_chunk5_dart3000` the same demos with H = 5. Interval: bootstrap over "
        "episodes. Clipped: fraction of the noisy codes' dims beyond the box. Spread: the "
        "noise-free codes' std over the decisions, mean over dims (what sigma compares to).",
        "",
        *markdown_table(["model", "H", "sigma", "success", "95% interval",
                         "median final distance (m)", "primitive steps", "clipped", "spread"],
                        rows), "",
        "The demo-using baseline on the same episodes, no learning:", "",
        "- " + sc.replay_line("reacher", what="the 1,000 noise-free demos of the skills table"),
        "- " + sc.replay_line("reacher", "skills_reacher.jsonl", "replay/replay_clean3000",
                              "the 3,000 noise-free demos of the same seeds and plans as the "
                              "DART demos"), "",
        "## Reading", "", notes_block(), ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=list(MODELS),
                   help="skill model directories under runs/benchmark/reacher")
    p.add_argument("--noise", type=float, nargs="+", default=list(NOISE),
                   help="code noise stds, latent units (default 0 0.1 0.2 0.4 0.8)")
    p.add_argument("--episodes", type=int, default=100, help="eval episodes per row")
    p.add_argument("--report-only", action="store_true", help="rebuild the report from records")
    args = p.parse_args(argv)
    if args.episodes < 1:
        raise SystemExit(f"--episodes must be >= 1, got {args.episodes}")
    bad = [s for s in args.noise if not (np.isfinite(s) and s >= 0)]
    if bad:
        raise SystemExit(f"--noise stds must be numbers >= 0, got {bad}")
    log = RunLog(RESULTS / f"{STEM}.jsonl")
    if not args.report_only:
        base = ROOT / "runs" / "benchmark" / "reacher"
        missing = [m for m in args.models
                   if not ((base / m / "model.pt").is_file() and (base / m / "prior.pt").is_file())]
        if missing:
            raise SystemExit(f"no model.pt and prior.pt in {missing} under runs/benchmark/"
                             "reacher; train them with experiments/benchmark.py (see --help)")
        sc = skill_ceiling()
        command = command_line()
        for m in args.models:
            for sigma in args.noise:
                t0 = time.perf_counter()
                rec = sc.run_row("demo codes", base / m, args.episodes, "eval", "reacher",
                                 code_noise=sigma)
                rec.update(key=f"{m}/{sigma:g}/{args.episodes}", model=m, command=command,
                           horizon=_horizon(base / m), seconds=time.perf_counter() - t0)
                log.put(rec)
                print(f"{m} sigma {sigma:g}: success {rec['success_rate']:.2f}", flush=True)
    records = log.records()
    if not records:
        raise SystemExit(f"no records in {log.path}; run without --report-only first")
    commands = list(dict.fromkeys(r["command"] for r in records))
    out = write_result(RESULTS / f"{STEM}.md", build_report(records, commands))
    print(f"wrote {out}")
    return 0


def _horizon(model_dir: Path) -> int:
    """The chunk length H of a saved skill model."""
    from macroact.models import load_model

    return int(load_model(model_dir / "model.pt").seq_len)


if __name__ == "__main__":
    raise SystemExit(main())
