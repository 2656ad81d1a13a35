"""FAVAE (L C) on 2D Reaching, length 100, trained and evaluated through the CLI.

Regenerates ``experiments/results/reaching100.md``:

    python experiments/reaching100.py [--beta 0.01] [--steps 10000] [--lr-schedule cosine] [--seed 0]

It runs ``macroact train``, ``macroact evaluate`` and ``macroact traverse`` as a user would
and records the wall time of training on this machine.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from macroact.reporting import command_line, machine, write_result

RESULTS = Path(__file__).resolve().parent / "results"


def _train_cmd(args, beta: float, run_dir: str) -> list[str]:
    return ["macroact", "train", "--dataset", "reaching2d", "--length", "100",
            "--beta", str(beta), "--capacity", args.capacity, "--steps", str(args.steps),
            "--lr-schedule", args.lr_schedule, "--seed", str(args.seed), "--device", "cpu",
            "--no-progress", "--out", run_dir]


def _finished(run_dir: Path, beta: float, args) -> bool:
    """A finished run of exactly this configuration (reused by the beta scan)."""
    try:
        run = json.loads((run_dir / "run.json").read_text())
        json.loads((run_dir / "metrics.json").read_text())["mig_sampled_degenerate"]
    except (OSError, KeyError, ValueError):
        return False
    m, t = run["model_config"], run["train_config"]
    return (m["beta"] == beta and m["capacity"] == [float(c) for c in args.capacity.split(",")]
            and t["steps"] == args.steps and t["lr_schedule"] == args.lr_schedule
            and t["seed"] == args.seed and run["data"] == {"dataset": "reaching2d", "length": 100})


def _scan_row(beta: float, run_dir: Path, wall: str) -> str:
    m = json.loads((run_dir / "metrics.json").read_text())
    deg = "yes" if m["mig_sampled_degenerate"] else "no"
    return (f"| {beta:g} | {m['rec']:.4f} | {m['mig_sampled']:.3f} | {deg} | "
            f"{m['mig_discrete']:.3f} | {wall} |")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--beta", type=float, default=0.01)
    p.add_argument("--capacity", default="0,0,0.99", help="C per ladder (the authors' supplement: 0,0,0.99)")
    p.add_argument("--steps", type=int, default=10000)
    p.add_argument("--lr-schedule", default="cosine", choices=("constant", "cosine"),
                   help="cosine (default) decays Adam's lr 1e-3 to 0; the paper used constant")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--run-dir", default="runs/reaching100")
    p.add_argument("--scan-betas", default="0.001,0.003,0.03,0.1",
                   help="other betas trained the same way for the scan table ('' for none); "
                        "finished runs of the same configuration in RUN_DIR_beta<B> are reused")
    args = p.parse_args()
    shutil.rmtree(args.run_dir, ignore_errors=True)
    train = _train_cmd(args, args.beta, args.run_dir)
    t0 = time.perf_counter()
    subprocess.run(train, check=True)
    wall = time.perf_counter() - t0
    ev = subprocess.run(["macroact", "evaluate", args.run_dir], check=True,
                        capture_output=True, text=True).stdout
    subprocess.run(["macroact", "traverse", args.run_dir, "--out", str(RESULTS / "reaching100")],
                   check=True)
    metrics = json.loads((Path(args.run_dir) / "metrics.json").read_text())
    scan = [_scan_row(args.beta, Path(args.run_dir), f"{wall:.0f}")]
    for beta in [float(b) for b in args.scan_betas.split(",") if b.strip()]:
        run_dir = Path(f"{args.run_dir}_beta{beta:g}")
        if _finished(run_dir, beta, args):
            scan_wall = "earlier run"
        else:
            shutil.rmtree(run_dir, ignore_errors=True)
            t1 = time.perf_counter()
            subprocess.run(_train_cmd(args, beta, str(run_dir)), check=True)
            subprocess.run(["macroact", "evaluate", str(run_dir)], check=True, capture_output=True)
            scan_wall = f"{time.perf_counter() - t1:.0f}"
        scan.append(_scan_row(beta, run_dir, scan_wall))
    scan_table = "\n".join(sorted(scan, key=lambda r: float(r.split("|")[1])))
    degenerate = metrics["mig_sampled_degenerate"]
    text = f"""# FAVAE (L C) on 2D Reaching, length 100

Regenerate: `{command_line()}`

Training command (run by the script): `{' '.join(train)}`

Machine: {machine()}. Training wall time: {wall:.0f} s for {args.steps} steps (batch = all 20
sequences), process start and the final evaluation included. Learning rate: Adam 1e-3,
schedule `{args.lr_schedule}` (the paper used a constant rate; our run of this script with
`--lr-schedule constant` ended at
Rec 0.0187, because the reconstruction keeps oscillating at lr 1e-3; a half-cosine decay to 0
lets it settle).

| metric | ours | paper (Table 2, FAVAE (L C)) |
|---|---|---|
| Rec | {metrics['rec']:.4f} | 0.008 (14) |
| MIG, sampling estimator (Chen et al., 10,000 samples of q(z\\|x)) | {metrics['mig_sampled']:.3f}{" (degenerate)" if degenerate else ""} | 0.28 (11) |
| MIG, histogram estimator (disentanglement_lib, 20 bins, 20 points) | {metrics['mig_discrete']:.3f} | |

Rec is the squared error summed over time and both features in the model's [-1, 1] data
scaling, averaged over the 20 sequences, with posterior means (eval mode). The paper does not
state its reduction; ours is the training objective's reconstruction term. With 20 sequences
the histogram estimator is heavily biased with N = 20 sequences; the paper's 10,000 samples point to the
sampling estimator. One seed: this is a check of the CLI path, not a Table 2 entry.

{"**Degenerate run:** every factor's top latent (sampling estimator) is one latent, so the high MIG measures a code that holds all three factors in one latent, not disentanglement; the paper excluded such runs from its tables. " if degenerate else ""}Non-degenerate FAVAE (L C) numbers over 3 seeds are in `table2.md`.

Traversals: `reaching100/traversal.png`.

## Beta scan (same command, other betas; seed {args.seed})

| beta | Rec | MIG s | degenerate | MIG h | train + evaluate wall s |
|---|---|---|---|---|---|
{scan_table}

## `macroact evaluate` output

```
{ev.strip()}
```
"""
    print(write_result(RESULTS / "reaching100.md", text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
