"""What the skill space can express: the demonstrator's own codes, decoded (ReacherSparse-v0,
Gripper-v1).

Issue 18's closed-loop latent SAC with the skill prior stays near 0.6 evaluation success on
``macroact/ReacherSparse-v0`` at 300,000 steps, where flat BC + PPO fine-tune reaches 0.9
(``experiments/results/skills.md``). This script asks whether a perfect latent policy could do
better: on 100 episodes of a seed stream it acts through the same wrapper the agents use
(latent = 3 x action in [-1, 1], all latent dims), choosing at every decision

- ``demo codes``: the code the model's encoder gives the scripted demonstrator's next H
  (observation, action) steps from the current state (simulated on the MuJoCo state, which is
  then restored), its posterior mean clipped to the agent's latent box; an oracle policy;
- ``prior mean``: the mean of the skill prior p(z | s) at the current observation (of its
  most probable component for a mixture), near where latent SAC + prior starts (no RL);

for the skills table's closed-loop and open-loop models, and for closed-loop models trained
the same way on demonstrations collected with DART's action noise (``--action-noise``; the
benchmark's ``prepare_closed_loop``) with a Gaussian prior and, for the chosen noise, a
mixture prior (``PRIOR_COMPONENTS`` Gaussians), beside the demonstrator on primitive actions.
Every row runs on the tune stream (where the DART noise level of the skills table's
``*_dart`` agents is chosen: the highest tune-stream ``demo codes`` success) and on the eval
stream (reported). Records: ``skill_ceiling.jsonl`` (per-episode successes and final
distances kept); report: ``skill_ceiling.md``; with ``--env gripper`` (``macroact/Gripper-v1``,
the same rows and procedure): ``skill_ceiling_gripper.{jsonl,md}``::

    python experiments/skill_ceiling.py              # about 5 minutes on one core
    python experiments/skill_ceiling.py --env gripper
    python experiments/skill_ceiling.py --report-only

The skills table's models are read from ``runs/benchmark/<env>`` (trained there first if
missing, as ``python experiments/benchmark.py --table skills --env <env>`` would).

The look-ahead runs a copy of the demonstrator (``copy.copy``: its per-step state, such as the
Gripper script's stage and timer, is rebound on the copy only) on the live simulator, then
restores the MuJoCo state and the env's own attributes (the Gripper's position target). The
real demonstrator watches the executed steps (``watched``: it is shown every observation the
agent's macro acts from), so a stateful script's stages follow what the macro really did.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np

from macroact.reporting import (RunLog, bootstrap_interval, command_line, machine,
                                markdown_table, notes_block, write_result)

ROOT = Path(__file__).resolve().parents[1]

RESULTS = ROOT / "experiments" / "results"
# Per env: the file stem of its records and report, its title and its success in words; its
# id, demo count and chunk horizon come from experiments/benchmark.py's ENVS (``env_spec``).
ENV_SPECS = {
    "reacher": dict(stem="skill_ceiling", title="ReacherSparse-v0",
                    success="fingertip within 0.02 of the target within 50 steps"),
    "gripper": dict(stem="skill_ceiling_gripper", title="Gripper-v1",
                    success="the target ball released inside the basket of its colour "
                            "within 400 steps"),
}
SCALE = 3.0          # the agents' latent box: latent = SCALE * action, action in [-1, 1]
STREAMS = ("tune", "eval")
KINDS = ("demo codes", "prior mean")


def benchmark():
    """experiments/benchmark.py as a module (its model-building functions and settings)."""
    spec = importlib.util.spec_from_file_location("experiments_benchmark",
                                                  ROOT / "experiments" / "benchmark.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def env_spec(env_name: str, bench=None) -> dict:
    """ENV_SPECS[env_name] with the env id, demo count and chunk horizon of the benchmark's
    ENVS entry (``bench``: experiments/benchmark.py as a module; loaded when None)."""
    bench = benchmark() if bench is None else bench
    table = bench.ENVS[env_name]
    return {**ENV_SPECS[env_name], "env_id": table["env_id"], "demos": f"{table['demos']:,}",
            "horizon": table["macros"]["chunk"]["horizon"]}


class StateSnapshot:
    """Save and restore a MuJoCo env's full integration state (time, qpos, qvel, controls,
    mocap, warm start) and its own attributes (an array copied, anything else rebound)."""

    def __init__(self, base):
        import mujoco

        self._mujoco = mujoco
        self.base = base
        self.spec = mujoco.mjtState.mjSTATE_INTEGRATION
        self.state = np.empty(mujoco.mj_stateSize(base.model, self.spec))
        self.attrs: dict = {}

    def save(self) -> None:
        self._mujoco.mj_getState(self.base.model, self.base.data, self.state, self.spec)
        self.attrs = {k: v.copy() if isinstance(v, np.ndarray) else v
                      for k, v in vars(self.base).items()}

    def restore(self) -> None:
        self._mujoco.mj_setState(self.base.model, self.base.data, self.state, self.spec)
        self._mujoco.mj_forward(self.base.model, self.base.data)
        vars(self.base).update(self.attrs)


def watched(env, demo_ref: list):
    """``env`` wrapped (between it and the agents' wrapper) so that ``demo_ref[0].act(obs)`` is
    shown every observation a primitive action is taken from (its output unused): a stateful
    script advances with the executed steps."""
    import gymnasium as gym

    class _Watch(gym.Wrapper):
        def reset(self, **kwargs):
            obs, info = self.env.reset(**kwargs)
            self._obs = obs
            return obs, info

        def step(self, action):
            if demo_ref and demo_ref[0] is not None:
                demo_ref[0].act(self._obs)
            out = self.env.step(action)
            self._obs = out[0]
            return out

    return _Watch(env)


def demo_chunk(base, demo, snapshot: StateSnapshot, obs: np.ndarray, horizon: int) -> np.ndarray:
    """The demonstrator's next ``horizon`` (action, observation) steps from the current state,
    packed ``(H, A + O)`` as the closed-loop model trains on; the env's state is restored after
    and ``demo`` itself is left as it was (a shallow copy acts)."""
    snapshot.save()
    ghost = copy.copy(demo)
    steps = []
    for _ in range(horizon):
        action = np.clip(ghost.act(obs), -1.0, 1.0).astype(np.float32)
        steps.append(np.concatenate([action, obs]).astype(np.float32))
        obs = base.step(action)[0]
    snapshot.restore()
    return np.stack(steps)


def run_row(kind: str | None, model_dir: Path | None, episodes: int,
            stream: str = "eval", env_name: str = "reacher", code_noise: float = 0.0) -> dict:
    """Success, final distance and steps of one row on ``episodes`` episodes of ``stream``
    (block 0): the demonstrator (``kind`` None) or ``kind`` through the model and prior in
    ``model_dir``; ``code_noise`` > 0: Gaussian noise of that std (latent units) added to
    every chosen code before clipping (seeded: the same draws in every row)."""
    import gymnasium as gym
    import torch

    import macroact  # noqa: F401  (registers the envs)
    from macroact.agents.common import base_env
    from macroact.envs import make_demonstrator
    from macroact.models import load_model
    from macroact.models.prior import SkillPrior
    from macroact.seeding import seeds
    from macroact.wrapper import MacroActionWrapper

    env_id = env_spec(env_name)["env_id"]
    demo_ref: list = []  # the demonstrator the watching wrapper shows each step to
    reset_seeds = [int(s) for s in seeds(stream, episodes, 0)]
    rng = np.random.default_rng(0)  # the demonstrator's plans: the same in every row
    noise_rng = np.random.default_rng(1)  # the code noise
    if model_dir is None:
        env = gym.make(env_id)
        model = prior = None
    else:
        model = load_model(model_dir / "model.pt")
        prior = SkillPrior.load(model_dir / "prior.pt")
        env = MacroActionWrapper(watched(base_env(env_id), demo_ref), model, latents="all",
                                 scale=SCALE)
    base = env.unwrapped
    demo = make_demonstrator(env_id, env)
    demo_ref.append(demo)
    snapshot = StateSnapshot(base)
    closed = bool(getattr(model, "closed_loop", False))
    n_act = base.action_space.shape[0]  # primitive action dims
    successes, distances, lengths, clipped, codes, chosen = [], [], [], [], 0, []
    for seed in reset_seeds:
        obs, info = env.reset(seed=seed)
        demo.reset(obs, info, rng)
        done, steps, success = False, 0, False
        while not done:
            if model is None:
                action = demo.act(obs)
            else:
                with torch.no_grad():
                    if kind == "demo codes":
                        x = demo_chunk(base, demo, snapshot, obs, model.seq_len)
                        x = x if closed else x[:, :n_act]  # open loop: actions only
                        z = model.encode(torch.as_tensor(x[None]))[0][0].cpu().numpy()
                    else:  # the mean of the most probable component
                        log_w, mu, _ = prior(torch.as_tensor(obs[None], dtype=torch.float32))
                        z = mu[0, int(log_w[0].argmax())].cpu().numpy()
                chosen.append(z)
                if code_noise:
                    z = z + code_noise * noise_rng.standard_normal(z.shape)
                clipped.append(int(np.sum(np.abs(z) > SCALE)))
                codes += 1
                action = np.clip(z / SCALE, -1.0, 1.0).astype(np.float32)
            obs, _, term, trunc, info = env.step(action)
            steps += int(info.get("macro_steps", 1))
            success = success or bool(info.get("is_success", False))
            done = term or trunc
        successes.append(success)
        distances.append(float(info["distance"]) if "distance" in info else None)
        lengths.append(steps)
    env.close()
    dims = model.latent_dim if model is not None else 0
    return {"row": kind or "demonstrator",
            "decoder": None if model is None else "closed-loop" if closed else "open-loop",
            "env": env_id, "episodes": episodes, "stream": stream, "run_seed": 0,
            "scale": SCALE, "model": None if model_dir is None else _shown(model_dir),
            "code_noise": code_noise,
            # the chosen codes' spread before the noise: their std over decisions, mean over dims
            "code_spread": float(np.std(chosen, axis=0).mean()) if chosen else None,
            "success_rate": float(np.mean(successes)),
            "successes": [bool(s) for s in successes], "final_distance": distances,
            "mean_primitive_steps": float(np.mean(lengths)), "decisions": codes,
            "clipped_dims": (float(np.sum(clipped)) / (codes * dims)) if codes else None,
            "machine": machine()}


def _shown(path: Path) -> str:
    """``path`` relative to the repository when inside it (no machine paths in records)."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def chosen_noise(records: list[dict]) -> float | None:
    """The DART noise whose closed-loop model scores the highest tune-stream ``demo codes``
    success (ties: the smaller noise); None without such records."""
    cands = [(r["success_rate"], -r["action_noise"], r["action_noise"]) for r in records
             if r["stream"] == "tune" and r["row"] == "demo codes"
             and r.get("prior_components", 1) == 1
             and r["decoder"] == "closed-loop" and r["action_noise"] > 0]
    return max(cands)[2] if cands else None


def _table(records: list[dict], stream: str) -> list[str]:
    with_distance = all(d is not None for r in records for d in r["final_distance"])
    rows = []
    for rec in records:
        if rec["stream"] != stream:
            continue
        _, low, high = bootstrap_interval(rec["successes"])
        dist = np.asarray(rec["final_distance"])
        clip = rec["clipped_dims"]
        noise = rec["action_noise"]
        k = rec.get("prior_components", 1)
        rows.append([rec["row"] + (f" ({k}-Gaussian prior)" if k > 1 else ""),
                     rec["decoder"] or "primitive actions",
                     "" if rec["decoder"] is None else f"DART {noise:g}" if noise else "clean",
                     f"{rec['success_rate']:.2f}", f"[{low:.2f}, {high:.2f}]",
                     *([f"{np.median(dist):.4f}", f"{np.percentile(dist, 90):.4f}"]
                       if with_distance else []),
                     f"{rec['mean_primitive_steps']:.1f}",
                     "" if clip is None else f"{clip:.3f}"])
    return markdown_table(["policy", "decoder", "model's demos", "success", "95% interval",
                           *(["median final distance", "90th pct final distance"]
                             if with_distance else []),
                           "primitive steps", "clipped"], rows)


def replay_line(env_name: str = "reacher", log: str | None = None, key: str = "replay",
                what: str = "the benchmark's demo-using baseline") -> str:
    """Nearest-demo replay on the same eval episodes, from its record (``key`` in the run log
    ``log`` under experiments/results; default: the benchmark table's)."""
    log = log or f"benchmark_{env_name}.jsonl"
    rec = RunLog(RESULTS / log).get(key)
    if rec is None:
        return (f"Nearest-demo replay ({what}): no record `{key}` in {log} (run "
                f"`python experiments/benchmark.py --env {env_name}`).")
    _, low, high = bootstrap_interval(rec["successes"])
    n = len(rec["successes"])
    return (f"Nearest-demo replay ({what}, same {n} eval-stream episodes, {log}): "
            f"{rec['success_rate']:.2f} [{low:.2f}, {high:.2f}].")


def build_report(records: list[dict], command: str, dart_noise: float | None = None,
                 env_name: str = "reacher", bench=None) -> str:
    """The report (skill_ceiling.md for ReacherSparse) from the records; ``dart_noise``: the
    benchmark's DART_NOISE; ``bench``: experiments/benchmark.py as a module (loaded when
    None)."""
    spec = env_spec(env_name, bench)
    machines = sorted({r["machine"] for r in records})
    chosen = chosen_noise(records)
    if chosen is None:
        choice = "No DART model was evaluated on the tune stream."
    else:
        choice = (f"Chosen on the tune stream (highest `demo codes` success of the closed-loop "
                  f"models trained on DART demos; ties: the smaller noise): **{chosen:g}**. ")
        if dart_noise is not None:
            choice += (f"experiments/benchmark.py's DART_NOISE (the skills table's `*_dart` "
                       f"agents): {dart_noise:g}"
                       + (" (the same)." if dart_noise == chosen else " (DIFFERENT: update it)."))
    n = records[0]["episodes"]
    lines = [
        f"# What the skill space can express on {spec['title']} (issue 18)", "",
        f"Command: `{command}` (records: {spec['stem']}.jsonl; `--report-only` rebuilds this "
        "file from them).", "",
        f"{n} episodes (block 0) of the eval stream (reported) and of the tune stream "
        f"(selection) of `{spec['env_id']}` (success: {spec['success']}), acted through the "
        "agents' wrapper (latent = 3 x action, action in [-1, 1], all latent dims, "
        f"H = {spec['horizon']} primitive steps per decision). `demo codes`: at every "
        "decision, the posterior mean of the demonstrator's next H (observation, action) steps "
        "from the current state (simulated, then the MuJoCo state and the env's attributes "
        "restored; a stateful script's stages follow the executed steps), clipped to the "
        "latent box: what a perfect latent policy could pick with the encoder's help. `prior "
        "mean`: the mean of the skill prior p(z | s) at the current observation (for a mixture: "
        "of its most probable component), near where latent SAC + prior starts. Models: the "
        "skills table's (experiments/results/skills.md, 'Skill models'): `clean` = trained on "
        f"the table's {spec['demos']} demonstrations; `DART s` = the same "
        f"closed-loop model and prior trained on {spec['demos']} demonstrations of the same "
        "seeds and "
        "plans executed with Gaussian action noise of std s (a fraction of the action range's "
        "half), the demonstrator's own actions recorded (DART: Laskey et al., CoRL 2017). "
        "Interval: bootstrap over episodes. "
        + ("Final distance: fingertip-target distance when the episode ended (m). "
           if env_name == "reacher" else "")
        + "Clipped: fraction of the chosen codes' dims beyond the box (+-3).",
        "", f"Machine: {'; '.join(machines)}.", "",
        "## Eval stream", "", *_table(records, "eval"), "", replay_line(env_name), "",
        "## Tune stream (selection of the DART noise)", "", *_table(records, "tune"), "",
        choice, "", "## Reading", "", notes_block(), ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env", default="reacher", choices=sorted(ENV_SPECS),
                   help="the skills table's env (default reacher)")
    p.add_argument("--episodes", type=int, default=100, help="episodes per row and stream")
    p.add_argument("--action-noise", type=float, nargs="*", default=[0.1, 0.2, 0.3],
                   help="DART noise levels of the extra closed-loop models (default 0.1 0.2 0.3)")
    p.add_argument("--report-only", action="store_true", help="rebuild the report from records")
    args = p.parse_args(argv)
    if args.episodes < 1:
        raise SystemExit(f"--episodes must be >= 1, got {args.episodes}")
    bad = [n for n in args.action_noise if not (np.isfinite(n) and n > 0)]
    if bad:
        raise SystemExit(f"--action-noise levels must be positive numbers, got {bad}")
    env = args.env
    records_path = RESULTS / f"{ENV_SPECS[env]['stem']}.jsonl"
    bench = benchmark()
    if args.report_only:
        if not records_path.is_file():
            raise SystemExit(f"no records in {records_path}; run without --report-only first")
        records = [json.loads(line) for line in records_path.read_text().splitlines() if line]
        command = records[0]["command"]
    else:
        command = command_line()
        rep = bench._reporting()
        log = rep.RunLog(RESULTS / f"skills_{env}.jsonl")
        tail = bench.ENVS[env]["macros"]["chunk"]["tail"]
        models = [(bench.prepare_favae(env, "chunk",
                                       rep.RunLog(RESULTS / f"benchmark_{env}.jsonl")), 0.0)]
        models += [(bench.prepare_closed_loop(env, "chunk", log, n), n)
                   for n in [0.0, *args.action_noise]]
        models = [(path, noise, 1) for path, noise in models]
        k = bench.PRIOR_COMPONENTS  # and a mixture prior for the chosen DART model
        models.append((bench.mixture_dir(bench.prepare_closed_loop(
            env, "chunk", log, bench.DART_NOISE), k), bench.DART_NOISE, k))
        for path, noise, k in models:
            bench.prepare_prior(env, path, tail, f"prior/{path.parent.name}", log, noise, k)
        records = []
        for stream in STREAMS:
            rows = [(None, None, 0.0, 1)] + [(kind, path.parent, n, k)
                                             for path, n, k in models for kind in KINDS
                                             if k == 1 or kind == "prior mean"]
            for kind, model_dir, noise, k in rows:
                t0 = time.perf_counter()
                rec = run_row(kind, model_dir, args.episodes, stream, env)
                rec.update(action_noise=noise, prior_components=k,
                           seconds=time.perf_counter() - t0, command=command)
                records.append(rec)
                print(f"{stream} {rec['row']} / {rec['decoder'] or 'primitive'} / noise "
                      f"{noise:g}: success {rec['success_rate']:.2f}", flush=True)
        from macroact.io import atomic_write_text

        atomic_write_text("".join(json.dumps(r) + "\n" for r in records), records_path)
    out = write_result(RESULTS / f"{ENV_SPECS[env]['stem']}.md",
                       build_report(records, command, getattr(bench, "DART_NOISE", None), env,
                                    bench))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
