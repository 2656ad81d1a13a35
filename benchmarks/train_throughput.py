"""FAVAE training throughput against the machine's dense-matmul roofline.

For each sequence length (100, 1000) and batch size (128, 512) the script times full
optimiser steps (forward, backward, Adam) of the default ladder FAVAE on random data, counts
the FLOPs of one step with ``torch.utils.flop_counter.FlopCounterMode`` and reports
sequences/s and achieved GFLOP/s (minimum and median over ``--repeats`` timed repeats after a
warm-up). The reference is a float32 square matmul timed in the same process, between the
model's repeats, so that both see the same load: the ratio says how much of what the cores do
on dense work the model gets. Thread settings and the device are printed with the table.

    python benchmarks/train_throughput.py --out benchmarks/results/train_throughput.md
    python benchmarks/train_throughput.py --device cuda --precision bf16   # on a GPU

``--profile`` adds the operators that take the time (``torch.profiler``) for the largest row.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from typing import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from macroact.models.favae import FAVAE, FAVAEConfig


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _timed(fn: Callable[[], None], device: torch.device, iters: int) -> float:
    """Seconds per call of ``fn`` over ``iters`` calls."""
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    _sync(device)
    return (time.perf_counter() - t0) / iters


def matmul_step(device: torch.device, n: int, dtype: torch.dtype) -> tuple[Callable[[], None], float]:
    """A dense ``n x n`` matmul and its FLOPs (2 n^3)."""
    g = torch.Generator(device="cpu").manual_seed(0)
    a = torch.randn(n, n, generator=g).to(device, dtype)
    b = torch.randn(n, n, generator=g).to(device, dtype)
    out = torch.empty(n, n, device=device, dtype=dtype)
    return (lambda: torch.mm(a, b, out=out)), 2.0 * n ** 3


def favae_step(device: torch.device, length: int, batch: int,
               precision: str) -> tuple[Callable[[], None], float]:
    """One optimiser step of the default ladder FAVAE and its FLOPs (counted once)."""
    torch.manual_seed(0)
    model = FAVAE(FAVAEConfig(seq_len=length, beta=1.0, capacity=(1.0, 0.5, 1.0)), 2).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(batch, length, 2, device=device) * 2 - 1
    model.train()
    autocast = precision == "bf16"

    def step() -> None:
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=autocast):
            loss = model(x)["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    with FlopCounterMode(display=False) as counter:
        step()
    return step, float(counter.get_total_flops())


def measure(step: Callable[[], None], ref: Callable[[], None], device: torch.device,
            repeats: int, min_seconds: float) -> tuple[list[float], list[float]]:
    """Seconds per call of ``step`` and of ``ref``, ``repeats`` each, interleaved."""
    for _ in range(3):  # warm-up: allocator, kernels, caches
        step()
        ref()
    # Calls per repeat so that one repeat lasts about min_seconds.
    iters_step = max(1, round(min_seconds / max(_timed(step, device, 1), 1e-6)))
    iters_ref = max(1, round(min_seconds / max(_timed(ref, device, 1), 1e-6)))
    t_step, t_ref = [], []
    for _ in range(repeats):
        t_step.append(_timed(step, device, iters_step))
        t_ref.append(_timed(ref, device, iters_ref))
    return t_step, t_ref


def profile_table(step: Callable[[], None], rows: int = 12) -> str:
    """The operators that take the time in ``step`` (self CPU time), as text."""
    from torch.profiler import ProfilerActivity, profile

    step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(3):
            step()
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lengths", type=int, nargs="+", default=[100, 1000],
                   help="sequence lengths (default 100 1000)")
    p.add_argument("--batches", type=int, nargs="+", default=[128, 512],
                   help="batch sizes (default 128 512)")
    p.add_argument("--repeats", type=int, default=5, help="timed repeats per row (default 5)")
    p.add_argument("--seconds", type=float, default=1.0,
                   help="length of one timed repeat in seconds (default 1)")
    p.add_argument("--matmul", type=int, default=2048, help="side of the reference matmul")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument("--precision", choices=("fp32", "tf32", "bf16"), default="fp32",
                   help="fp32; tf32 (CUDA matmuls in TF32); bf16 (autocast, and a bf16 "
                        "reference matmul)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default: torch's choice)")
    p.add_argument("--profile", action="store_true",
                   help="append the top operators of the largest row (torch.profiler)")
    p.add_argument("--out", default=None, help="also write the report (markdown) here")
    args = p.parse_args(argv)
    if args.repeats < 1 or args.seconds <= 0:
        p.error(f"--repeats must be >= 1 and --seconds > 0, got {args.repeats}, {args.seconds}")
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda was asked for but no CUDA GPU is available")
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.precision == "tf32":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    ref_dtype = torch.bfloat16 if args.precision == "bf16" else torch.float32
    ref, ref_flops = matmul_step(device, args.matmul, ref_dtype)

    lines = ["| length | batch | GFLOP per step | sequences/s (median) | sequences/s (min) | "
             "GFLOP/s (median) | GFLOP/s (min) | matmul GFLOP/s (median) | ratio (median) |",
             "|---|---|---|---|---|---|---|---|---|"]
    largest = None
    for length in args.lengths:
        for batch in args.batches:
            step, flops = favae_step(device, length, batch, args.precision)
            t_step, t_ref = measure(step, ref, device, args.repeats, args.seconds)
            sps = [batch / t for t in t_step]
            gf = [flops / t / 1e9 for t in t_step]
            ref_gf = statistics.median(ref_flops / t / 1e9 for t in t_ref)
            med_gf = statistics.median(gf)
            lines.append(f"| {length} | {batch} | {flops / 1e9:.2f} | {statistics.median(sps):,.0f} "
                         f"| {min(sps):,.0f} | {med_gf:.1f} | {min(gf):.1f} | {ref_gf:.1f} "
                         f"| {med_gf / ref_gf:.2f} |")
            print(lines[-1], flush=True)
            largest = step
    table = "\n".join(lines)
    gpu = f", GPU {torch.cuda.get_device_name()}" if device.type == "cuda" else ""
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    info = (f"Machine: {platform.platform()}, {os.cpu_count()} CPU cores"
            + (f" (load average {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f})" if load else "")
            + f", Python {platform.python_version()}, torch {torch.__version__}, "
            f"{torch.get_num_threads()} torch threads (interop {torch.get_num_interop_threads()}), "
            f"device {device}{gpu}, precision {args.precision}; reference: {args.matmul}x"
            f"{args.matmul} {str(ref_dtype).replace('torch.', '')} matmul; {args.repeats} repeats "
            f"of about {args.seconds:g} s per row after 3 warm-up steps; FLOPs of one step "
            "(forward, backward) counted by torch.utils.flop_counter (Adam's elementwise update "
            "is not counted).")
    report = f"{info}\n\n{table}\n"
    if args.profile and largest is not None:
        report += ("\nTop operators of the last row (self CPU time, 3 steps):\n\n```\n"
                   + profile_table(largest) + "\n```\n")
    print(report)
    if args.out:
        from macroact.io import atomic_write_text

        command = f"python benchmarks/{os.path.basename(__file__)} {' '.join(argv or sys.argv[1:])}"
        atomic_write_text(f"# FAVAE training throughput\n\nCommand: `{command.strip()}`\n\n"
                          + report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
