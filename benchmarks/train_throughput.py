"""Training throughput of FAVAE: sequences per second at lengths 100 and 1000.

Measures optimiser steps (forward, backward, Adam) on random data with the default ladder
config, batch 128, on the CPU and on CUDA when present, and prints a table. All rows are
measured in one run, so their ratios are comparable.

    python benchmarks/train_throughput.py [--steps 20] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import torch

from macroact.models.favae import FAVAE, FAVAEConfig


def measure(device: str, length: int, batch: int, steps: int, ladder: bool = True) -> float:
    torch.manual_seed(0)
    model = FAVAE(FAVAEConfig(seq_len=length, ladder=ladder, beta=1.0,
                              capacity=(1.0, 0.5, 1.0) if ladder else (1.0,)), 2).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(batch, length, 2, device=device) * 2 - 1
    model.train()

    def step():
        loss = model(x)["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(3):  # warm-up: allocator, kernels
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    return steps * batch / (time.perf_counter() - t0)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=20, help="timed steps per row (default 20)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    p.add_argument("--out", default=None, help="also write the table (markdown) here")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rows = []
    for device in devices:
        for length in (100, 1000):
            for ladder in (True, False):
                sps = measure(device, length, args.batch, args.steps, ladder)
                rows.append((device, length, "L" if ladder else "-", sps))
                print(f"{device:5s} T={length:5d} {'ladder' if ladder else 'no-ladder':9s} "
                      f"{sps:10.1f} seq/s", flush=True)
    base = {(r[1], r[2]): r[3] for r in rows if r[0] == "cpu"}
    lines = ["| device | length | model | sequences/s | ratio to CPU |", "|---|---|---|---|---|"]
    for device, length, kind, sps in rows:
        lines.append(f"| {device} | {length} | FAVAE ({kind}) | {sps:.1f} | {sps / base[(length, kind)]:.2f} |")
    table = "\n".join(lines)
    print(table)
    if args.out:
        info = (f"Command: `python benchmarks/{os.path.basename(__file__)} {' '.join(argv or sys.argv[1:])}`\n\n"
                f"Machine: {platform.platform()}, {os.cpu_count()} CPU cores, torch {torch.__version__}, "
                f"{torch.get_num_threads()} torch threads, batch {args.batch}, {args.steps} timed steps per row"
                + (f", GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ", no GPU")
                + "\n\n")
        with open(args.out, "w") as f:
            f.write("# FAVAE training throughput\n\n" + info + table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
