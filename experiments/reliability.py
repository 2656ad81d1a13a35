"""Inputs and faults a hostile user would try, each run as a real ``macroact`` process.

Every case runs ``python -m macroact ...`` in a fresh child process (so that a native crash or a
hang shows as such) on a small workspace: a tiny data set, a trained run, demonstrations and a
saved agent, some of them damaged on purpose. Each case has the outcome it should have and an
optional check of what is left on disk (a run still loadable, no file written, no module
imported). The table in ``experiments/results/reliability.md`` lists every case and what
happened::

    python experiments/reliability.py            # about 3 minutes on 2 cores

Outcomes: ``error (one line)`` is the promised ``macroact CMD: error: ...`` with exit status 2;
``ok`` a success; ``TRACEBACK``, ``NATIVE CRASH``, ``SILENT RESULT`` (exit 0 where the input
should have been refused, or a non-finite number in the output) and ``LOST RUN`` (the check of
what is on disk failed) are failures, and the script exits 1 if any occurs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--channels", "4,4,4", "--latent-dims", "2,2,2", "--batch-size", "4", "--device", "cpu",
        "--no-progress", "--checkpoint-every", "2"]


def macroact(*argv, timeout=300, env=None):
    """Run ``python -m macroact ARGV``; (exit status, stdout, stderr, seconds)."""
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "macroact", *map(str, argv)], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr, time.perf_counter() - t0


def outcome(rc: int, out: str, err: str, command: str, expect: str) -> str:
    lines = err.strip().splitlines()
    if rc < 0 or rc in (134, 139):
        return "NATIVE CRASH"
    if "Traceback" in err:
        return "TRACEBACK"
    if rc == 2 and len(lines) == 1 and lines[0].startswith(f"macroact {command}: error: "):
        # A clear error where the input was fine is a refusal of good input, not a success.
        return "REFUSED GOOD INPUT" if expect == "ok" else "error (one line)"
    if rc == 0:
        if expect == "error" or any(w in out.lower().split() for w in ("nan", "inf", "-inf")):
            return "SILENT RESULT"
        return "ok"
    return f"UNEXPECTED (exit {rc})"


def write_data(path, scale=1.0, n=12, seed=0, nan=False, empty=False):
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.normal(size=(n, 8, 2)), axis=1) * scale
    if nan:
        x[0, 0, 0] = np.nan
    if empty:
        x = x[:0]
    np.savez(path, sequences=x, factors=rng.integers(0, 3, size=(len(x), 2)))
    return path


def damage(path: Path, how: str) -> Path:
    raw = path.read_bytes()
    rng = np.random.default_rng(0)
    if how == "truncate":
        path.write_bytes(raw[:len(raw) // 2])
    elif how == "random":
        path.write_bytes(rng.integers(0, 256, size=len(raw), dtype=np.uint8).tobytes())
    return path


def nan_weight(model_path: Path, name: str, value: float) -> Path:
    import torch

    ckpt = torch.load(model_path, weights_only=True)
    ckpt["state_dict"][name] = torch.full_like(ckpt["state_dict"][name], value)
    torch.save(ckpt, model_path)
    return model_path


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(ROOT / "experiments/results/reliability.md"))
    args = p.parse_args()
    from macroact.reporting import command_line

    ws = Path(tempfile.mkdtemp(prefix="macroact_reliability_"))
    data = write_data(ws / "data.npz")
    train = ["train", "--dataset", data, "--steps", 4, *TINY]

    def fresh_run(name: str) -> Path:
        out = ws / name
        rc, _, err, _ = macroact(*train, "--out", out)
        assert rc == 0, err
        return out

    base = fresh_run("run")
    rc, _, err, _ = macroact("collect", "macroact/Reaching2D-v0", "--episodes", 3, "--out",
                             ws / "demos.npz")
    assert rc == 0, err
    # A tiny saved agent (library call: the set-up is not under test).
    import torch

    from macroact.agents.ppo import PPORunConfig, train_ppo
    from macroact.models.favae import FAVAE, FAVAEConfig

    torch.manual_seed(0)
    fav = FAVAE(FAVAEConfig(seq_len=8, channels=(4, 4, 4)), 2)
    fav.normalizer.set_bounds([-1.0, -1.0], [1.0, 1.0])
    fav.save(ws / "favae.pt")
    train_ppo(PPORunConfig(env_id="macroact/Reaching2D-v0", timesteps=64, model=str(ws / "favae.pt"),
                           n_envs=1, ppo={"n_steps": 16, "batch_size": 16}), ws / "agent",
              eval_episodes=1)

    def agent_copy(name: str, edit=None, damage_file=None) -> Path:
        d = ws / name
        shutil.copytree(ws / "agent", d)
        if edit is not None:
            meta = json.loads((d / "agent.json").read_text())
            edit(meta)
            (d / "agent.json").write_text(json.dumps(meta))
        if damage_file is not None:
            damage(d / damage_file[0], damage_file[1])
        return d

    def run_copy(name: str) -> Path:
        d = ws / name
        shutil.copytree(base, d)
        return d

    def still_evaluates(run: Path):
        def check():
            rc, _, err, _ = macroact("evaluate", run)
            return None if rc == 0 else f"the run no longer evaluates: {err.strip()[-200:]}"
        return check

    def no_file(path: Path):
        return lambda: f"{path.name} was written" if path.exists() else None

    planted = ws / "planted"
    planted.mkdir()
    (planted / "planted_module.py").write_text(
        "import pathlib\npathlib.Path(__file__).with_name('IMPORTED').write_text('yes')\n")
    env_planted = dict(os.environ, PYTHONPATH=f"{planted}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")

    read_only = ws / "read_only"
    read_only.mkdir()
    os.chmod(read_only, 0o555)
    a_file = ws / "a_file"
    a_file.write_text("x")

    # (fault or input, argv, expected, check after, environment)
    cases: list[tuple[str, list, str, object, object]] = []
    add = lambda *c: cases.append(c + (None,) * (5 - len(c)))  # noqa: E731

    # run directories
    occupied = run_copy("occupied")
    add("train into a directory holding a finished run", [*train, "--seed", 5, "--out", occupied],
        "error", still_evaluates(occupied))
    add("train --overwrite into a directory holding a run",
        [*train, "--seed", 5, "--overwrite", "--out", run_copy("replaced")], "ok")
    add("train --resume and --overwrite together",
        [*train, "--resume", "--overwrite", "--out", run_copy("both")], "error")
    # resume
    add("resume with changed --lr and --seed",
        ["train", "--resume", "--lr", "0.01", "--seed", 4, "--out", run_copy("r1")], "error")
    add("resume with a smaller --steps", ["train", "--resume", "--steps", 2, "--out", run_copy("r2")],
        "error")
    add("resume on another data set",
        ["train", "--resume", "--dataset", write_data(ws / "other.npz", seed=3), "--steps", 6,
         "--out", run_copy("r3")], "error")
    add("resume with a larger --steps",
        ["train", "--resume", "--steps", 6, "--no-progress", "--out", run_copy("r4")], "ok")
    add("resume a directory without a run", ["train", "--resume", "--out", ws / "nothing"], "error")
    # data
    add("data with values near float32's limit (1e37)",
        ["train", "--dataset", write_data(ws / "big.npz", scale=1e37), "--steps", 4, *TINY,
         "--out", ws / "big"], "error")
    add("data with a NaN", ["train", "--dataset", write_data(ws / "nan.npz", nan=True), "--steps",
                            4, *TINY, "--out", ws / "nan"], "error")
    add("an empty data set", ["train", "--dataset", write_data(ws / "empty.npz", empty=True),
                              "--steps", 4, *TINY, "--out", ws / "empty"], "error")
    add("--label-factor out of range (FHVAE)",
        ["train", "--dataset", data, "--model", "fhvae", "--label-factor", 9, "--steps", 2,
         "--device", "cpu", "--no-progress", "--out", ws / "fh"], "error")
    add("a diverging loss (--lr 1e30)", [*train[:-len(TINY)], *TINY, "--lr", "1e30", "--steps", 20,
                                          "--out", ws / "diverge"], "error")
    # sizes
    add("--kernel-size 999 (sequences of 100)",
        ["train", "--dataset", "reaching2d", "--kernel-size", 999, "--steps", 2, "--device", "cpu",
         "--no-progress", "--out", ws / "k999"], "error")
    add("--conv-stride 999", ["train", "--dataset", "reaching2d", "--conv-stride", 999, "--steps", 2,
                              "--device", "cpu", "--no-progress", "--out", ws / "s999"], "error")
    add("--latent-dims 100000000,4,2",
        ["train", "--dataset", "reaching2d", "--latent-dims", "100000000,4,2", "--steps", 2,
         "--device", "cpu", "--no-progress", "--out", ws / "huge"], "error")
    # output paths
    add("train --out on a file", [*train, "--out", a_file], "error")
    add("train --out under a file", [*train, "--out", a_file / "run"], "error")
    add("train --out in a read-only directory"
        + (" (run as root: root may write there)" if os.geteuid() == 0 else ""),
        [*train, "--out", read_only / "run"], "ok" if os.geteuid() == 0 else "error")
    add("collect --out on a directory",
        ["collect", "macroact/Reaching2D-v0", "--episodes", 2, "--out", ws], "error")
    add("encode --out on a directory", ["encode", ws / "favae.pt", ws / "demos.npz", "--out", ws],
        "error")
    # model files
    m = run_copy("nanw")
    nan_weight(m / "model.pt", "encoder.0.0.weight", float("nan"))
    add("evaluate a model.pt with a NaN weight", ["evaluate", m], "error", no_file(m / "metrics.json"))
    add("encode with a model.pt with a NaN weight",
        ["encode", m, ws / "demos.npz", "--out", ws / "codes_nan.npz"], "error",
        no_file(ws / "codes_nan.npz"))
    m = run_copy("infb")
    nan_weight(m / "model.pt", "normalizer.high", float("inf"))
    add("evaluate a model.pt with an infinite normaliser bound", ["evaluate", m], "error")
    m = run_copy("bigb")
    nan_weight(m / "model.pt", "normalizer.high", 3e38)
    add("evaluate a model.pt with normaliser bounds that overflow", ["evaluate", m], "error")
    for name, how, argv in (
            ("model.pt", "truncate", ["evaluate", "{d}"]),
            ("model.pt", "random", ["encode", "{d}", ws / "demos.npz", "--out", ws / "c.npz"]),
            ("checkpoint.pt", "truncate", ["train", "--resume", "--steps", 6, "--out", "{d}"]),
            ("run.json", "truncate", ["evaluate", "{d}"])):
        d = run_copy(f"bad_{name}_{how}")
        damage(d / name, how)
        add(f"{how} {name} ({argv[0]})", [str(a).replace("{d}", str(d)) for a in argv], "error")
    demos = damage(Path(shutil.copy(ws / "demos.npz", ws / "demos_cut.npz")), "truncate")
    add("truncated demonstrations (train --demos)",
        ["train", "--demos", demos, "--horizon", 8, "--steps", 2, *TINY, "--out", ws / "d"], "error")
    add("random bytes as a data set (train)",
        ["train", "--dataset", damage(Path(shutil.copy(data, ws / "noise.npz")), "random"),
         "--steps", 2, *TINY, "--out", ws / "noise"], "error")
    # agents
    add("rollout of a saved agent", ["rollout", ws / "agent", "--episodes", 2], "ok")
    add("rollout with agent.zip truncated",
        ["rollout", agent_copy("a_zip", damage_file=("agent.zip", "truncate")), "--episodes", 1],
        "error")
    add("rollout with agent.json random bytes",
        ["rollout", agent_copy("a_json", damage_file=("agent.json", "random")), "--episodes", 1],
        "error")
    add("rollout with favae.pt truncated",
        ["rollout", agent_copy("a_fav", damage_file=("favae.pt", "truncate")), "--episodes", 1],
        "error")
    add("agent.json env id 'planted_module:Evil-v0' (module on the path)",
        ["rollout", agent_copy("a_env", edit=lambda m: m["config"].update(
            env_id="planted_module:Evil-v0")), "--episodes", 1], "error",
        lambda: "the planted module was imported" if (planted / "IMPORTED").exists() else None,
        env_planted)
    add("agent.json model path '../run/model.pt'",
        ["rollout", agent_copy("a_path", edit=lambda m: m.update(favae="../run/model.pt")),
         "--episodes", 1], "error")
    add("ppo on an unknown env id",
        ["ppo", "macroact/NoSuchEnv-v0", "--flat", "--timesteps", 10, "--out", ws / "ppo"], "error")
    # two trainings at once, and a kill during the writes
    cases.append(("two trainings into one directory at once", "concurrent", "one ok, one error",
                  None, None))
    cases.append(("SIGKILL during training (a checkpoint every step), then --resume", "kill", "ok",
                  None, None))
    cases.append(("files written under umask 022", "modes", "ok", None, None))

    rows, failures = [], 0
    for label, argv, expect, check, env in cases:
        if argv == "concurrent":
            out = ws / "shared"
            procs = [subprocess.Popen([sys.executable, "-m", "macroact", "train", "--dataset",
                                       str(data), "--steps", "40", *map(str, TINY), "--seed",
                                       str(s), "--out", str(out)], cwd=ROOT, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                     for s in (1, 2)]
            res = [(p.wait(), *p.communicate()) for p in procs]
            kinds = sorted(outcome(rc, o, e, "train", "either") for rc, o, e in res)
            winner = [i for i, r in enumerate(res) if r[0] == 0]
            seed_ok = len(winner) == 1 and json.loads((out / "run.json").read_text())[
                "train_config"]["seed"] == (1, 2)[winner[0]]
            result = " + ".join(kinds) if kinds == ["error (one line)", "ok"] and seed_ok \
                else f"LOST RUN ({kinds})"
            message = [e for rc, _, e in res if rc != 0]
            message = message[0].strip() if message else ""
            command = "train x2"
        elif argv == "kill":
            out = ws / "killed"
            cmd = ["train", "--dataset", str(data), "--steps", "60", *map(str, TINY[:-1]), "1",
                   "--out", str(out)]
            proc = subprocess.Popen([sys.executable, "-m", "macroact", *cmd], cwd=ROOT,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            while not (out / "checkpoint.pt").exists() and proc.poll() is None:
                time.sleep(0.02)
            time.sleep(0.1)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            rc, o, e, _ = macroact("train", "--resume", "--no-progress", "--out", out)
            result = outcome(rc, o, e, "train", "ok")
            if result == "ok" and still_evaluates(out)() is not None:
                result = "LOST RUN"
            message = f"killed, resumed from step {json.loads((out / 'run.json').read_text())['resumed'][0]['from_step']}" \
                if result == "ok" else e.strip()
            command = "train; kill -9; train --resume"
        elif argv == "modes":
            modes = {p.name: oct(p.stat().st_mode & 0o777) for p in base.iterdir() if p.is_file()
                     and not p.name.startswith(".")}
            result = "ok" if set(modes.values()) == {"0o644"} else "UNREADABLE FILES"
            message = ", ".join(f"{k} {v}" for k, v in sorted(modes.items()))
            command = "train"
        else:
            argv = [str(a) for a in argv]
            rc, o, e, secs = macroact(*argv, env=env)
            result = outcome(rc, o, e, argv[0], expect)
            if check is not None and result in ("ok", "error (one line)"):
                problem = check()
                if problem:
                    result = f"LOST RUN ({problem})"
            message = e.strip().splitlines()[-1] if e.strip() else o.strip().splitlines()[-1]
            command = argv[0]
        failures += result not in ("ok", "error (one line)", "error (one line) + ok")
        short = message.replace(str(ws), "WS").replace("|", "\\|")
        short = short if len(short) <= 200 else short[:197] + "..."
        rows.append(f"| {len(rows) + 1} | {label} | `{command}` | {expect} | **{result}** | {short} |")
        print(rows[-1], flush=True)
    os.chmod(read_only, 0o755)
    shutil.rmtree(ws, ignore_errors=True)

    text = "\n".join([
        f"`{command_line()}` wrote this file.",
        "",
        "# Reliability: inputs and faults tried, and what happened",
        "",
        "Each case is a fresh `python -m macroact` process on a tiny workspace; WS is that "
        "temporary folder.",
        "",
        f"{len(rows)} cases; {len(rows) - failures} behaved as promised (a success, or one line "
        "`macroact CMD: error: ...` with exit status 2 and nothing lost on disk); "
        f"{failures} did not (a traceback, a native crash, a silent result, a lost run or good "
        "input refused).",
        "",
        "| # | input or fault | command | expected | outcome | message (last line) |",
        "|---|---|---|---|---|---|",
        *rows, ""])
    Path(args.out).write_text(text)
    print(f"wrote {args.out}: {failures} failures in {len(rows)} cases")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
