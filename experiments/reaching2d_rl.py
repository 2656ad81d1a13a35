"""Latent PPO against flat PPO on macroact/Reaching2D-v0 at 50,000 primitive env steps.

Runs the end-to-end pipeline (scripted demonstrations -> FAVAE on whole-episode action
sequences -> MacroActionWrapper -> PPO over latents; flat PPO on primitive actions with the
same budget and seeds) and writes ``experiments/results/reaching2d_rl.md``:

    python experiments/reaching2d_rl.py [--seeds 0 1 2] [--timesteps 50000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from macroact.reporting import command_line, machine, write_result
from macroact.commands import main as macroact

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--timesteps", type=int, default=50_000)
    p.add_argument("--favae-steps", type=int, default=3000)
    p.add_argument("--out", default="runs/reaching2d_rl")
    args = p.parse_args()
    argv = ["pipeline", "--env", "macroact/Reaching2D-v0", "--episodes", "200", "--horizon", "100",
            "--tail", "pad_zero", "--beta", "0.01", "--capacity", "0,0,0.99",
            "--favae-steps", str(args.favae_steps), "--timesteps", str(args.timesteps),
            "--seeds", ",".join(map(str, args.seeds)), "--out", args.out]
    t0 = time.perf_counter()
    if macroact(argv) != 0:
        return 1
    wall = time.perf_counter() - t0
    report = (Path(args.out) / "report.md").read_text()
    text = f"""# Latent PPO vs flat PPO on Reaching2D-v0

Regenerate: `{command_line()}` (runs `macroact {' '.join(argv)}`).

Machine: {machine()}. Total wall time {wall:.0f} s (demonstrations, FAVAE training, and
{len(args.seeds)} seeds of each agent).

Task: a point starts at (0, 0); the goal, one of (-0.1, 1) and (0.1, 1), is drawn per episode
and shown in the observation; reward 1 only within 0.05 of the goal; 100 steps of at most 0.02
per axis. Demonstrations: 200 episodes of the scripted demonstrator (the paper's 20 Reaching
arcs as displacements). FAVAE (L C): one whole-episode macro (H = 100, the 4-step tail after
success padded with zero displacement), beta 0.01, C = (0, 0, 0.99). Latent PPO chooses all 14
latents (scale 3) once per episode; flat PPO acts every step. Both: SB3 PPO, observations
normalised, budget counted in primitive env steps. Success: deterministic policy, 100 fresh
episodes after the budget is spent.

{report.split(chr(10), 2)[2]}
"""
    print(write_result(RESULTS / "reaching2d_rl.md", text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
