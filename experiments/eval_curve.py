"""Evaluation success along a long run: its kept snapshots replayed on its eval episodes.

Issue 18 counts the primitive steps an agent needs to reach 0.9 *evaluation* success. The
benchmark records only the final evaluation and a rolling training success, which SAC's
stochastic training policy keeps below what its deterministic evaluation scores. A
``--long N`` run of experiments/benchmark.py (SAC or PPO) keeps its weights every N/20
primitive steps (``snapshot_every``: ``RUN/snapshots/agent-<steps>.zip``, with the observation
statistics of that moment when the run normalises observations); this script evaluates each
snapshot as the run evaluated its final agent (deterministic actions, run seed 0, the
eval-stream episodes of its ``eval.json``, the snapshot's own statistics) and reports the
first snapshot at or above 0.9.
The final agent is replayed too: its success must equal the one the run recorded.

Records: ``eval_curve.jsonl`` (per run directory: the (steps, success) points); report
``eval_curve.md`` with its figure ``eval_curve.png``::

    python experiments/eval_curve.py runs/benchmark/reacher/runs/RUN [RUN ...]
    python experiments/eval_curve.py --report-only

Run directories are the ones ``python experiments/benchmark.py --table skills --env E --long N``
writes (``runs/`` is git-ignored: rerun that first on a new checkout).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "experiments" / "results"
STEM = "eval_curve"
TARGET = 0.9             # issue 18's evaluation success
_SNAPSHOT = re.compile(r"agent-(\d+)\.zip")


def snapshots(run_dir: Path) -> list[tuple[int, Path]]:
    """The run's kept snapshots as (primitive steps, path), in step order."""
    found = []
    for p in (run_dir / "snapshots").glob("agent-*.zip"):
        m = _SNAPSHOT.fullmatch(p.name)
        if m:
            found.append((int(m.group(1)), p))
    return sorted(found)


def first_reaching(points: list[list[float]], target: float = TARGET) -> float:
    """The primitive steps of the first point whose success is at least ``target`` (NaN when
    none is)."""
    for steps, success in points:
        if success >= target:
            return float(steps)
    return math.nan


def run_agent(run_dir: Path, episodes: int) -> dict:
    """Evaluate every snapshot of a saved SAC or PPO run, then its final agent."""
    from macroact.agents.saved import evaluate_saved  # (importing macroact registers the envs)

    meta = json.loads((run_dir / "agent.json").read_text())
    algo = meta.get("algo") or ("ppo" if "ppo" in meta else None)
    if algo not in ("sac", "ppo"):
        raise SystemExit(f"{run_dir} is not a SAC or PPO agent directory (algo {algo!r}); "
                         "train one with experiments/benchmark.py --long N")
    snaps = snapshots(run_dir)
    if not snaps:
        raise SystemExit(f"{run_dir} has no snapshots/agent-<steps>.zip; train it with "
                         "experiments/benchmark.py --table skills --long N")
    recorded = json.loads((run_dir / "eval.json").read_text())
    points = []
    for steps, path in snaps:
        res = evaluate_saved(run_dir, episodes, "eval", weights=path)
        points.append([steps, float(res["success_rate"])])
        print(f"  {run_dir.name} at {steps:,}: {res['success_rate']:.2f}", flush=True)
    final = evaluate_saved(run_dir, episodes, "eval")
    budget = int(meta["config"]["timesteps"])
    points.append([budget, float(final["success_rate"])])
    return dict(key=run_dir.name, agent_dir=run_dir.name, env_id=meta["config"]["env_id"],
                episodes=episodes, budget=budget, points=points,
                success_rate=float(final["success_rate"]),
                recorded_success_rate=recorded.get("success_rate"),
                recorded_episodes=recorded.get("eval_episodes"),
                first_at_target=first_reaching(points))


_SEED = re.compile(r"_s\d+(?=_b\d+)")


def group_curves(records: list[dict]) -> dict[str, list[list[list[float]]]]:
    """The records' curves per run group, in first-seen order: runs of one env whose
    directories differ only in the seed (``_s<seed>``) form one group, keyed by that
    directory without it (prefixed by the env id when the records span several envs)."""
    several = len({r.get("env_id") for r in records}) > 1
    groups: dict[str, list[list[list[float]]]] = {}
    for r in records:
        key = _SEED.sub("", r["agent_dir"], count=1)
        groups.setdefault(f"{r.get('env_id')}: {key}" if several else key, []).append(
            r["points"])
    return groups


def plot_groups(records: list[dict], path: Path, zoom: int = 300_000) -> Path:
    """Evaluation success against primitive steps, one line per run group (``group_curves``:
    the mean over its seeds, each seed's curve interpolated linearly at every step any of
    them was evaluated at within the range all cover; the seeds' range shaded), over the
    first ``zoom`` steps and over every run's whole budget."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from macroact.reporting import save_figure

    fig, axes = plt.subplots(1, 2, figsize=(12.0, 4.4))
    for label, curves in group_curves(records).items():
        cs = [np.asarray(c, dtype=float) for c in curves]
        lo, hi = max(c[0, 0] for c in cs), min(c[-1, 0] for c in cs)
        steps = np.unique(np.concatenate([c[:, 0] for c in cs]))
        steps = steps[(steps >= lo) & (steps <= hi)]
        ys = np.array([np.interp(steps, c[:, 0], c[:, 1]) for c in cs])
        for ax in axes:
            line, = ax.plot(steps, ys.mean(0), marker=".", ms=3,
                            label=f"{label} ({len(curves)} seed(s))")
            ax.fill_between(steps, ys.min(0), ys.max(0), color=line.get_color(), alpha=0.12)
    for ax, title in zip(axes, (f"first {zoom:,} primitive steps", "whole budgets")):
        ax.axhline(TARGET, color="k", lw=0.8, ls="--")
        ax.set_xlabel("primitive env steps")
        ax.set_ylabel("evaluation success (100 eval-stream episodes)")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].set_xlim(0, zoom)
    axes[1].legend(fontsize=6, loc="lower right")
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)


def build_report(records: list[dict], commands: list[str], figure: str | None = None) -> str:
    """eval_curve.md from the records; ``commands``: the commands that made them;
    ``figure``: the name of the figure ``plot_groups`` drew from them, if any."""
    from macroact.reporting import commands_sentence, machines, markdown_table, notes_block

    rows = []
    for r in records:
        hit = r["first_at_target"]
        rows.append([r["agent_dir"], r["env_id"], r["episodes"],
                     "not reached" if hit is None or math.isnan(hit) else f"{hit:,.0f}",
                     f"{max(s for _, s in r['points']):.2f}",
                     f"{r['success_rate']:.2f}",
                     "n/a" if r["recorded_success_rate"] is None
                     else f"{r['recorded_success_rate']:.2f}"])
    curves = [f"- `{r['agent_dir']}`: " + ", ".join(f"{s:,.0f} {v:.2f}" for s, v in r["points"])
              for r in records]
    lines = [
        "# Evaluation success along long runs (issue 18)", "",
        commands_sentence(commands, f"{STEM}.jsonl"), "",
        f"Machine(s): {machines(records)}.", "",
        "Each run's kept snapshots (every 1/20 of its budget, the first rollout end at or past "
        "each multiple) and its final agent, each evaluated as the run evaluated its final "
        "agent: deterministic actions, run seed 0, the eval-stream episodes of its `eval.json`, "
        "the observation statistics of that moment where the run normalises observations. "
        f"`first at {TARGET}`: the primitive steps of the first snapshot scoring at least "
        f"{TARGET}. `replayed final` must equal `recorded final` (the run's own evaluation). "
        "These evaluations only measure; nothing is chosen from them.", "",
        *markdown_table(["run directory", "env", "episodes", f"first at {TARGET}",
                         "best point", "replayed final", "recorded final"], rows), "",
        *([f"![evaluation success along the runs]({figure})", "",
           "Lines: the mean over a run group's seeds (directories that differ only in `_s<seed>`),"
           " each seed's curve interpolated at the group's snapshot steps; shading: the seeds' "
           f"range; dashed: {TARGET}.", ""]
          if figure else []),
        "Curves (primitive steps, eval success):", "", *curves, "",
        "## Reading", "", notes_block(), ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    from macroact.reporting import replay_agents_main

    def report(records: list[dict], commands: list[str]) -> str:
        figure = plot_groups(records, RESULTS / f"{STEM}.png").name if records else None
        return build_report(records, commands, figure)

    return replay_agents_main(argv, __doc__, RESULTS / f"{STEM}.jsonl", RESULTS / f"{STEM}.md",
                              run_agent, report, "long run directories (SAC or PPO)",
                              "experiments/benchmark.py --table skills --env E --long N")


if __name__ == "__main__":
    raise SystemExit(main())
