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

The closed-loop rows run an untrained ``ClosedLoopFAVAE`` (default config, observation
normaliser on [-1, 1]) through ``MacroActionWrapper``: the ladders are decoded once per macro
(its "decode" column: the features and the head's feature part) and the action head runs once
per primitive step on the live observation. Its raw reference is either the single-env raw
loop above (the open-loop row's actions, as this benchmark reported before), or the raw env
replaying the primitive actions the closed loop executes (recorded in an untimed run from the
same seeds, so both runs follow the same trajectory): MuJoCo's step costs depend on the actions
(joint limits, contacts), so only the replay isolates the wrapper's own cost.

The PointMaze rows (``--maze-env``, Gymnasium-Robotics ``PointMaze_Large-v3``) use the env as
agents see it, ``macroact.envs.external.make_agent_env`` with the demos' env kwargs (flat
observations, ``info["is_success"]``), and a FAVAE and a closed-loop FAVAE of the default
configs trained for ``--maze-train-steps`` on ``--maze-demos`` episodes of the ``maze``
demonstrator (a few seconds: enough to decode demo-like motion, the cost of a decode does not
depend on the weights); both raw references replay the wrapped run's own primitive actions.

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


def executed_actions(env: MacroActionWrapper, codes: np.ndarray) -> np.ndarray:
    """The primitive actions ``(len(codes), H, A)`` that ``time_single_wrapped(env, codes)``
    executes (``env`` records them), for the raw loop to replay: a macro cut short by the
    episode's end is padded with zeros that ``time_single_raw`` never reaches, as it stops
    there too."""
    if not env.record_actions:
        raise ValueError("executed_actions needs a wrapper made with record_actions=True")
    env.reset(seed=0)
    low = env.env.action_space.low
    out = np.zeros((len(codes), env.horizon, low.shape[0]), env.env.action_space.dtype)
    for i, a in enumerate(codes):
        _, _, terminated, truncated, info = env.step(a)
        done = info["executed_actions"]
        out[i, :len(done)] = done
        if terminated or truncated:
            env.reset()
    return out


def time_begin(runner, n_latents: int, calls: int = 300) -> float:
    """Median seconds of the closed loop's per-macro work (features and the head's feature
    part) for one agent action, through the path the wrapper uses."""
    begin = runner._single.begin if runner._single is not None else runner.begin
    zero = np.zeros((1, n_latents), np.float32)
    for _ in range(20):
        begin(zero)
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        begin(zero)
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


def closed_model(horizon: int, low: np.ndarray, high: np.ndarray, obs_low: np.ndarray,
                 obs_high: np.ndarray) -> ClosedLoopFAVAE:
    """A ``ClosedLoopFAVAE`` of the default config with these action and observation bounds."""
    obs_dim = obs_low.shape[0]
    model = ClosedLoopFAVAE(ClosedLoopFAVAEConfig(seq_len=horizon, obs_dim=obs_dim),
                            n_features=low.shape[0] + obs_dim)
    model.normalizer.set_bounds(np.concatenate([low, obs_low]), np.concatenate([high, obs_high]))
    return model


def maze_models(env_id: str, episodes: int, horizon: int, steps: int):
    """The maze demonstrator's demos, and a FAVAE and a closed-loop FAVAE (default configs)
    trained on them for ``steps`` optimiser steps each (seed 0, in memory)."""
    from macroact.data.demos import chunk_actions
    from macroact.data.skills import packed_chunks
    from macroact.envs.external import collect_external
    from macroact.trainer import TrainConfig, train

    data = collect_external(env_id, episodes, demonstrator="maze")
    config = TrainConfig(steps=steps, seed=0, device="cpu", checkpoint_every=steps)
    chunks = chunk_actions(data, horizon, tail="pad_zero")
    torch.manual_seed(0)
    model = FAVAE(FAVAEConfig(seq_len=horizon), n_features=chunks.actions.shape[2])
    model.normalizer.set_bounds(data.low, data.high)
    train(model, chunks.actions, config, progress_bar=False)
    chunks, x = packed_chunks(data, horizon, tail="pad_zero")
    n_act = chunks.actions.shape[2]
    obs = x[..., n_act:].reshape(-1, x.shape[2] - n_act)
    torch.manual_seed(0)
    closed = closed_model(horizon, data.low, data.high, obs.min(0), obs.max(0))
    train(closed, x, config, progress_bar=False)
    return data, model.eval(), closed.eval(), len(chunks.actions)


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
    p.add_argument("--maze-env", default="PointMaze_Large-v3",
                   help="Gymnasium-Robotics maze id of the PointMaze rows ('none': no such rows)")
    p.add_argument("--maze-demos", type=int, default=20,
                   help="maze demonstrator episodes the PointMaze models train on (default 20)")
    p.add_argument("--maze-train-steps", type=int, default=300,
                   help="optimiser steps of each PointMaze model (default 300)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--out", default=None, help="also write the table (markdown) here")
    args = p.parse_args(argv)
    for name in ("steps", "envs", "horizon", "repeats", "threads", "maze_demos",
                 "maze_train_steps"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.horizon < 2:
        p.error(f"--horizon must be >= 2 (FAVAE's shortest sequence), got {args.horizon}")
    load_start = os.getloadavg() if hasattr(os, "getloadavg") else None
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
    rows = []  # (name, sub-envs per step, raw steps/s, wrapped steps/s, ratios, decode s)

    # Single env.
    codes = rng.uniform(-1, 1, (math.ceil(args.steps / h), dim)).astype(np.float32)
    seqs = decode_all(model, codes, args.scale, low, high)
    wrapped, raw = MacroActionWrapper(make(), model, scale=args.scale), make()
    single = best_of(args.repeats, lambda: time_single_raw(raw, seqs),
                     lambda: time_single_wrapped(wrapped, codes))
    rows.append((f"{env_id}, single env: MacroActionWrapper vs raw loop", 1, *single,
                 time_decode(wrapped._decoder, 1, dim)))

    # Vectorised.
    vcodes = rng.uniform(-1, 1, (math.ceil(args.steps / (h * n_envs)), n_envs, dim)).astype(np.float32)
    vseqs = decode_all(model, vcodes, args.scale, low, high)
    vwrapped = MacroActionVecEnv([make] * n_envs, model, scale=args.scale)
    vraw = DummyVecEnv([make] * n_envs)
    vec = best_of(args.repeats, lambda: time_vec_raw(vraw, vseqs),
                  lambda: time_vec_wrapped(vwrapped, vcodes))
    rows.append((f"{env_id}, {n_envs} envs: MacroActionVecEnv vs DummyVecEnv", n_envs, *vec,
                 time_decode(vwrapped._decoder, n_envs, dim)))

    # Single env, closed loop: features once per macro, the head once per primitive step.
    obs_dim = wrapped.observation_space.shape[0]
    closed = closed_model(h, low, high, -np.ones(obs_dim), np.ones(obs_dim)).eval()
    cwrapped = MacroActionWrapper(make(), closed, scale=args.scale)
    runner = cwrapped._decoder.closed
    cseqs = executed_actions(MacroActionWrapper(make(), closed, scale=args.scale,
                                                record_actions=True), codes)
    # Three runs alternate, so both references see the same load as the wrapped run.
    open_ref, replay_ref, closed_best, open_ratios, replay_ratios = 0.0, 0.0, 0.0, [], []
    for _ in range(args.repeats):
        n, dt = time_single_raw(raw, seqs)
        open_sps = n / dt
        n, dt = time_single_raw(raw, cseqs)
        replay_sps = n / dt
        n, dt = time_single_wrapped(cwrapped, codes)
        closed_sps = n / dt
        open_ref, replay_ref = max(open_ref, open_sps), max(replay_ref, replay_sps)
        closed_best = max(closed_best, closed_sps)
        open_ratios.append(closed_sps / open_sps)
        replay_ratios.append(closed_sps / replay_sps)
    t_begin = time_begin(runner, dim)
    rows.append((f"{env_id}, single env, closed loop vs raw loop (the open-loop row's actions)",
                 1, open_ref, closed_best, open_ratios, t_begin))
    rows.append((f"{env_id}, single env, closed loop vs raw env replaying the same actions", 1,
                 replay_ref, closed_best, replay_ratios, t_begin))
    fast = [runner.fast and runner._single is not None]

    # PointMaze, as agents see it: flat observations and info["is_success"].
    maze_line = None
    if args.maze_env.lower() != "none":
        try:
            from macroact.envs.external import make_agent_env

            data, mmodel, mclosed, n_chunks = maze_models(args.maze_env, args.maze_demos, h,
                                                          args.maze_train_steps)
        except ImportError as e:  # Gymnasium-Robotics is not installed
            note = ((note + "; ") if note else "") + (
                f"no PointMaze rows: {args.maze_env} could not be made ({type(e).__name__}: {e})")
        else:
            mmake = lambda: make_agent_env(args.maze_env, data.env_kwargs)  # noqa: E731
            mdim = mmodel.latent_dim  # the closed-loop model's ladders are the same
            mcodes = rng.uniform(-1, 1, (math.ceil(args.steps / h), mdim)).astype(np.float32)
            mseqs = decode_all(mmodel, mcodes, args.scale, data.low, data.high)
            mraw, mwrapped = mmake(), MacroActionWrapper(mmake(), mmodel, scale=args.scale)
            maze_open = best_of(args.repeats, lambda: time_single_raw(mraw, mseqs),
                                lambda: time_single_wrapped(mwrapped, mcodes))
            rows.append((f"{args.maze_env}, single env: MacroActionWrapper vs raw loop", 1,
                         *maze_open, time_decode(mwrapped._decoder, 1, mdim)))
            mcwrapped = MacroActionWrapper(mmake(), mclosed, scale=args.scale)
            mcseqs = executed_actions(MacroActionWrapper(mmake(), mclosed, scale=args.scale,
                                                         record_actions=True), mcodes)
            maze_closed = best_of(args.repeats, lambda: time_single_raw(mraw, mcseqs),
                                  lambda: time_single_wrapped(mcwrapped, mcodes))
            mrunner = mcwrapped._decoder.closed
            rows.append((f"{args.maze_env}, single env, closed loop vs raw env replaying the "
                         "same actions", 1, *maze_closed, time_begin(mrunner, mdim)))
            fast.append(mrunner.fast and mrunner._single is not None)
            maze_line = (f"{args.maze_env} rows: make_agent_env with the demos' env kwargs "
                         f"{data.env_kwargs}; both models trained for {args.maze_train_steps} "
                         f"steps on {n_chunks} chunks of {args.maze_demos} maze-demonstrator "
                         "episodes.")

    path = "dense fast path" if wrapped._decoder._bound is not None else "model.decode"
    lines = [f"H = {h}; {env_id} rows: untrained models (default configs, latent_dim {dim}); "
             f"{args.steps} primitive steps per timed run, best of {args.repeats}; open loop "
             f"decoding through the {path}; closed loop "
             f"{'on the one-env numpy fast path' if all(fast) else 'through the model'}.", ""]
    if maze_line:
        lines[0:1] = [lines[0], "", maze_line]
    lines += ["| setting | raw steps/s | wrapped steps/s | wrapped/raw (best of each) "
              "| paired runs' ratios: median [min, max] | decode per macro (ms) "
              "| decode share of a wrapped macro |",
              "|---|---|---|---|---|---|---|"]
    for name, n_sub, raw_sps, wrapped_sps, ratios, dec in rows:
        per_macro = h * n_sub / wrapped_sps
        lines.append(f"| {name} | {raw_sps:,.0f} | {wrapped_sps:,.0f} | "
                     f"{wrapped_sps / raw_sps:.2f} | {np.median(ratios):.2f} "
                     f"[{min(ratios):.2f}, {max(ratios):.2f}] | {1e3 * dec:.3f} | "
                     f"{dec / per_macro:.0%} |")
    if note:
        lines += ["", f"Note: {note}."]
    table = "\n".join(lines)
    print(table)
    if args.out:
        load_end = os.getloadavg() if hasattr(os, "getloadavg") else None
        fmt = lambda v: ", ".join(f"{x:.2f}" for x in v) if v else "n/a"  # noqa: E731
        cores = os.cpu_count() or 1
        # Our own run adds about 1 to the load; more than half a core busy before it started
        # means other jobs shared the CPU.
        loaded = load_start is not None and load_start[0] > 0.5
        state = (f"a loaded {cores}-core CPU (other jobs ran alongside: 1-minute load average "
                 f"{load_start[0]:.2f} before the run), so absolute steps/s are low and noisy; "
                 "the ratios come from back-to-back runs under the same load" if loaded
                 else f"an idle {cores}-core CPU")
        info = (f"Command: `python benchmarks/{os.path.basename(__file__)} "
                f"{' '.join(argv if argv is not None else sys.argv[1:])}`\n\n"
                f"Ran on {state}.\n\n"
                f"Machine: {platform.platform()}, {platform.processor() or 'unknown CPU'}, "
                f"{cores} CPU cores (load average {fmt(load_start)} before, {fmt(load_end)} "
                f"after), Python {platform.python_version()}, torch {torch.__version__} "
                f"({torch.get_num_threads()} threads), gymnasium {gym.__version__}, "
                f"numpy {np.__version__}; {datetime.date.today().isoformat()}\n\n")
        with open(args.out, "w") as f:
            f.write("# Macro-action wrapper overhead\n\n" + info + table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
