"""Where trained ReacherSparse-v0 agents fail: how close each failed evaluation episode came.

Issue 18's ReacherSparse target (closed-loop latent SAC with the skill prior above flat BC +
PPO fine-tune at 300,000 steps) is missed: the latent agent scores 0.6-0.7 where BC + fine-tune
reaches 0.91-1.00 (skills.md, long-budget diagnostic). This script replays saved agent
directories (SAC or PPO) on the episodes they were evaluated on (eval stream, run seed 0,
deterministic actions: the resets of their ``eval.json``), follows the fingertip-target
distance at every primitive step (``info["distance"]``) and sorts each failed episode by its
closest approach (``classify``):

- ``near miss``: it came within ``NEAR`` of the target (2.5 times the 0.02 success radius) but
  never inside the radius;
- ``far``: it never came within ``NEAR``.

Beside the classes: the closest approach and the final distance of the failures (medians), and
the fraction of episodes whose closest approach lies within wider radii (``RADII``), which
reads what the agent would score if the task forgave that much imprecision (an episode that
ends on success at 0.02 counts at every wider radius).

Records: ``reacher_failures.jsonl`` (per agent directory: its eval success and per-episode
closest approach, final distance and length); report ``reacher_failures.md``::

    python experiments/reacher_failures.py runs/benchmark/reacher/runs/RUN [RUN ...]
    python experiments/reacher_failures.py --report-only

Agent directories are the ones ``python experiments/benchmark.py --table skills --env reacher
[--long 300000]`` writes (``runs/`` is git-ignored: rerun that first on a new checkout).
"""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "experiments" / "results"
STEM = "reacher_failures"
ENV_ID = "macroact/ReacherSparse-v0"
NEAR = 0.05              # metres: a failure that came this close is a near miss
RADII = (0.03, 0.05)     # wider success radii read off the closest approaches
CLASSES = ("success", "near miss", "far")


class DistanceTracker(gym.Wrapper):
    """Follows the fingertip-target distance at every primitive step."""

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self.distances = [float(info["distance"])] if "distance" in info else []
        return obs, info

    def step(self, action):
        obs, r, term, trunc, info = self.env.step(action)
        self.distances.append(float(info["distance"]))
        return obs, r, term, trunc, info


def classify(success: bool, closest: float, near: float = NEAR) -> str:
    """The class of one episode: ``closest`` is its smallest fingertip-target distance (m)."""
    if success:
        return "success"
    return "near miss" if closest < near else "far"


def run_agent(agent_dir: Path, episodes: int) -> dict:
    """Replay a saved agent on ``episodes`` eval-stream episodes (run seed 0) and classify each;
    the success rate must match what its training run recorded when ``episodes`` does."""
    import macroact  # noqa: F401  (registers the envs)
    from macroact.agents.saved import replay_record

    env_id = json.loads((agent_dir / "agent.json").read_text())["config"].get("env_id")
    if env_id != ENV_ID:
        raise SystemExit(f"{agent_dir} is an agent for {env_id!r}, not {ENV_ID}; pass "
                         "ReacherSparse-v0 agent directories")

    def episode(tracker: DistanceTracker, success: bool) -> dict:
        d = np.asarray(tracker.distances)
        closest = float(d.min())
        return dict(cls=classify(success, closest), closest=round(closest, 4),
                    final=round(float(d[-1]), 4), steps=int(len(d) - 1),
                    closest_step=int(d.argmin()))

    return replay_record(agent_dir, episodes, DistanceTracker, episode)


def summary_row(record: dict) -> list:
    """One report row: counts per class, the failures' medians, success at wider radii."""
    eps = record["per_episode"]
    fails = [e for e in eps if e["cls"] != "success"]
    med = (lambda k: f"{np.median([e[k] for e in fails]):.3f}" if fails else "")
    within = [np.mean([e["cls"] == "success" or e["closest"] < r for e in eps]) for r in RADII]
    return [record["agent_dir"], record["episodes"], f"{record['success_rate']:.2f}",
            "n/a" if record["recorded_success_rate"] is None
            else f"{record['recorded_success_rate']:.2f}",
            *(sum(e["cls"] == c for e in eps) for c in CLASSES[1:]), med("closest"),
            med("final"), *(f"{w:.2f}" for w in within)]


def build_report(records: list[dict], commands: list[str]) -> str:
    """reacher_failures.md from the records; ``commands``: the commands that made them, in
    order (each record keeps its own)."""
    from macroact.reporting import commands_sentence, machines, markdown_table, notes_block

    lines = [
        "# Where the ReacherSparse-v0 agents fail (issue 18)", "",
        commands_sentence(commands, f"{STEM}.jsonl"), "",
        f"Machine(s): {machines(records)}.", "",
        "Each saved agent replayed on its evaluation episodes (eval stream, run seed 0, "
        "deterministic actions: the resets of its `eval.json`); the fingertip-target distance "
        "followed at every primitive step. A failed episode is a near miss when its closest "
        f"approach came within {NEAR} m of the target (the success radius is 0.02 m), else "
        "far. `replayed` must equal `recorded` (the training run's evaluation); a difference "
        "would mean the replay is not the evaluation. The last columns: the fraction of "
        "episodes whose closest approach lies within a wider radius (successes included).", "",
        *markdown_table(["agent directory", "episodes", "replayed success", "recorded success",
                         *CLASSES[1:], "failures: median closest approach (m)",
                         "failures: median final distance (m)",
                         *(f"within {r} m" for r in RADII)],
                        [summary_row(r) for r in records]), "",
        "## Reading", "", notes_block(), ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    from macroact.reporting import replay_agents_main

    return replay_agents_main(argv, __doc__, RESULTS / f"{STEM}.jsonl", RESULTS / f"{STEM}.md",
                              run_agent, build_report, "ReacherSparse-v0 agents",
                              "experiments/benchmark.py --table skills --env reacher --long 300000")


if __name__ == "__main__":
    raise SystemExit(main())
