"""Overhead of macro-actions: primitive env steps per second, wrapped against raw.

Steps ``macroact/ReacherSparse-v0`` (gymnasium ``Reacher-v5`` if that is not importable)
through ``MacroActionWrapper`` (one env) and ``MacroActionVecEnv`` (``--envs`` sub-envs),
and the raw env with the same primitive actions, decoded before the timed loop: the single
raw env in a plain loop that resets where the wrapped run resets, the vectorised raw envs
through ``DummyVecEnv``, the stepping mechanism an agent on primitive actions would use. The
model is an untrained FAVAE of the default config for ``H = --horizon`` with the env's action
bounds; the codes are uniform in [-1, 1]. Raw and wrapped runs alternate ``--repeats`` times
and the fastest of each counts, so the ratio wrapped/raw is measured under the same load.
The cost of one ``model.decode`` call (batch 1, or ``--envs``), timed on its own with warm
caches, is reported beside it: the wrapper adds it once per macro-action and it dominates the
overhead at small ``H`` (inside the loop, after MuJoCo steps, it runs 10-25% slower).

The closed-loop row runs an untrained ``ClosedLoopFAVAE`` (default config, observation
normaliser on [-1, 1]) through ``MacroActionWrapper``: the ladders are decoded once per macro
(its "decode" column) and the action head runs once per primitive step on the live
observation; the raw loop is the single-env one above.

    python benchmarks/wrapper_overhead.py [--steps 20000] [--envs 8] [--horizon 10] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import sys
import time

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.vec_env import DummyVecEnv

import macroact  # noqa: F401  (registers the macroact/ env ids)
from macroact.models.closed_loop import ClosedLoopFAVAE, ClosedLoopFAVAEConfig
from macroact.models.favae import FAVAE, FAVAEConfig
from macroact.wrapper import MacroActionVecEnv, MacroActionWrapper


def pick_env(env_id: str | None) -> tuple[str, str | None]:
    """The env id to use, and a note when the preferred one could not be made."""
    if env_id is not None:
        return env_id, None
    try:
        gym.make("macroact/ReacherSparse-v0").close()
        return "macroact/ReacherSparse-v0", None
    except Exception as e:  # the env module may not exist yet in this checkout
        return "Reacher-v5", (f"macroact/ReacherSparse-v0 could not be made ({type(e).__name__}: "
                              f"{e}); gymnasium Reacher-v5 (same dynamics, dense reward) used instead")


def decode_all(model: FAVAE, codes: np.ndarray, scale: float, low: np.ndarray,
               high: np.ndarray) -> np.ndarray:
    """What the wrappers execute for ``codes`` (..., latent_dim) with latents='all'."""
    flat = codes.reshape(-1, codes.shape[-1])
    seqs = np.concatenate([model.decode(torch.from_numpy(scale * flat[i:i + 1024])).numpy()
                           for i in range(0, len(flat), 1024)])
    return np.clip(seqs, low, high).reshape(codes.shape[:-1] + seqs.shape[1:])


def time_single_wrapped(env: MacroActionWrapper, codes: np.ndarray) -> tuple[int, float]:
    env.reset(seed=0)
    steps = 0
    t0 = time.perf_counter()
    for a in codes:
        _, _, terminated, truncated, info = env.step(a)
        steps += info["macro_steps"]
        if terminated or truncated:
            env.reset()
    return steps, time.perf_counter() - t0


def time_single_raw(env: gym.Env, seqs: np.ndarray) -> tuple[int, float]:
    env.reset(seed=0)
    steps = 0
    t0 = time.perf_counter()
    for seq in seqs:
        for action in seq:
            _, _, terminated, truncated, _ = env.step(action)
            steps += 1
            if terminated or truncated:
                env.reset()
                break
    return steps, time.perf_counter() - t0


def time_vec_wrapped(venv: MacroActionVecEnv, codes: np.ndarray) -> tuple[int, float]:
    venv.seed(0)
    venv.reset()
    steps = 0
    t0 = time.perf_counter()
    for a in codes:
        infos = venv.step(a)[3]
        steps += sum(info["macro_steps"] for info in infos)
    return steps, time.perf_counter() - t0


def time_vec_raw(venv: DummyVecEnv, seqs: np.ndarray) -> tuple[int, float]:
    venv.seed(0)
    venv.reset()
    t0 = time.perf_counter()
    for seq in seqs:  # (n_envs, H, A)
        for t in range(seq.shape[1]):
            venv.step(seq[:, t])
    return seqs.shape[0] * seqs.shape[1] * seqs.shape[2], time.perf_counter() - t0


def time_decode(decoder, batch: int, n_latents: int, calls: int = 300) -> float:
    """Median seconds of one decode on ``batch`` agent actions, through the path the wrapper
    uses (the dense fast path for short horizons, else ``model.decode``)."""
    a = np.zeros((batch, n_latents), np.float32)
    for _ in range(20):
        decoder.decode(a)
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        decoder.decode(a)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def best_of(repeats: int, raw, wrapped) -> tuple[float, float, list[float]]:
    """Fastest steps/s of each, alternating so both see the same machine load, and the
    wrapped/raw ratio of each back-to-back pair (their spread shows the machine's noise)."""
    raw_best = wrapped_best = 0.0
    ratios = []
    for _ in range(repeats):
        n, dt = raw()
        raw_sps = n / dt
        n, dt = wrapped()
        wrapped_sps = n / dt
        raw_best, wrapped_best = max(raw_best, raw_sps), max(wrapped_best, wrapped_sps)
        ratios.append(wrapped_sps / raw_sps)
    return raw_best, wrapped_best, ratios


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=20_000,
                   help="primitive steps per timed run (default 20000)")
    p.add_argument("--envs", type=int, default=8, help="sub-envs of the vectorised runs (default 8)")
    p.add_argument("--horizon", type=int, default=10, help="H, actions per macro (default 10)")
    p.add_argument("--repeats", type=int, default=3, help="alternating timed runs, best counts")
    p.add_argument("--scale", type=float, default=3.0, help="latent = scale * action")
    p.add_argument("--env", default=None, help="env id (default macroact/ReacherSparse-v0)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--out", default=None, help="also write the table (markdown) here")
    args = p.parse_args(argv)
    for name in ("steps", "envs", "horizon", "repeats", "threads"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    if args.horizon < 2:
        p.error(f"--horizon must be >= 2 (FAVAE's shortest sequence), got {args.horizon}")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    env_id, note = pick_env(args.env)
    make = lambda: gym.make(env_id)  # noqa: E731
    probe = make()
    low, high = probe.action_space.low, probe.action_space.high
    probe.close()
    model = FAVAE(FAVAEConfig(seq_len=args.horizon), n_features=low.shape[0])
    model.normalizer.set_bounds(low, high)
    model.eval()
    h, n_envs, dim = args.horizon, args.envs, model.latent_dim
    rng = np.random.default_rng(0)

    # Single env.
    codes = rng.uniform(-1, 1, (math.ceil(args.steps / h), dim)).astype(np.float32)
    seqs = decode_all(model, codes, args.scale, low, high)
    wrapped, raw = MacroActionWrapper(make(), model, scale=args.scale), make()
    single = best_of(args.repeats, lambda: time_single_raw(raw, seqs),
                     lambda: time_single_wrapped(wrapped, codes))

    # Vectorised.
    vcodes = rng.uniform(-1, 1, (math.ceil(args.steps / (h * n_envs)), n_envs, dim)).astype(np.float32)
    vseqs = decode_all(model, vcodes, args.scale, low, high)
    vwrapped = MacroActionVecEnv([make] * n_envs, model, scale=args.scale)
    vraw = DummyVecEnv([make] * n_envs)
    vec = best_of(args.repeats, lambda: time_vec_raw(vraw, vseqs),
                  lambda: time_vec_wrapped(vwrapped, vcodes))

    # Single env, closed loop: features once per macro, the head once per primitive step.
    obs_dim = wrapped.observation_space.shape[0]
    closed = ClosedLoopFAVAE(ClosedLoopFAVAEConfig(seq_len=h, obs_dim=obs_dim),
                             n_features=low.shape[0] + obs_dim)
    closed.normalizer.set_bounds(np.concatenate([low, -np.ones(obs_dim)]),
                                 np.concatenate([high, np.ones(obs_dim)]))
    closed.eval()
    cwrapped = MacroActionWrapper(make(), closed, scale=args.scale)
    closed_row = best_of(args.repeats, lambda: time_single_raw(raw, seqs),
                         lambda: time_single_wrapped(cwrapped, codes))
    runner = cwrapped._decoder.closed
    zero = np.zeros((1, dim), np.float32)
    t_begin = []
    for _ in range(300):
        t0 = time.perf_counter()
        runner.begin(zero)
        t_begin.append(time.perf_counter() - t0)

    dec1 = time_decode(wrapped._decoder, 1, dim)
    decn = time_decode(vwrapped._decoder, n_envs, dim)
    path = "dense fast path" if wrapped._decoder._bound is not None else "model.decode"
    rows = [("single env: MacroActionWrapper vs raw loop", *single, dec1),
            (f"{n_envs} envs: MacroActionVecEnv vs DummyVecEnv", *vec, decn),
            ("single env, closed loop (features per macro, head per step) vs raw loop",
             *closed_row, float(np.median(t_begin)))]
    lines = [f"Env {env_id}, H = {h}, untrained FAVAE (default config, latent_dim {dim}), "
             f"{args.steps} primitive steps per timed run, best of {args.repeats}; decoding "
             f"through the {path}; closed loop "
             f"{'on the numpy fast path' if runner.fast else 'through the model'}.", "",
             "| setting | raw steps/s | wrapped steps/s | wrapped/raw (best of each) "
             "| paired runs' ratios: median [min, max] | decode per macro (ms) "
             "| decode share of a wrapped macro |",
             "|---|---|---|---|---|---|---|"]
    for name, raw_sps, wrapped_sps, ratios, dec in rows:
        per_macro = h * (1 if name.startswith("single") else n_envs) / wrapped_sps
        lines.append(f"| {name} | {raw_sps:,.0f} | {wrapped_sps:,.0f} | "
                     f"{wrapped_sps / raw_sps:.2f} | {np.median(ratios):.2f} "
                     f"[{min(ratios):.2f}, {max(ratios):.2f}] | {1e3 * dec:.3f} | "
                     f"{dec / per_macro:.0%} |")
    if note:
        lines += ["", f"Note: {note}."]
    table = "\n".join(lines)
    print(table)
    if args.out:
        load = ", ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
        info = (f"Command: `python benchmarks/{os.path.basename(__file__)} "
                f"{' '.join(argv if argv is not None else sys.argv[1:])}`\n\n"
                f"Machine: {platform.platform()}, {platform.processor() or 'unknown CPU'}, "
                f"{os.cpu_count()} CPU cores (load average {load}), Python "
                f"{platform.python_version()}, torch {torch.__version__} "
                f"({torch.get_num_threads()} threads), gymnasium {gym.__version__}, "
                f"numpy {np.__version__}; {datetime.date.today().isoformat()}\n\n")
        with open(args.out, "w") as f:
            f.write("# Macro-action wrapper overhead\n\n" + info + table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
