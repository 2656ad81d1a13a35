"""Where trained Gripper-v1 agents fail: each evaluation episode's failure, by what the target
ball did.

Issue 18's Gripper target (0.8 success within 1M primitive steps) is missed by the best latent
agent (closed-loop SAC + skill prior on DART demos, about 0.74). Its knobs do not move it on
seed 0 (skills.md, long-budget diagnostics: four gradient steps per decision 0.76, target KL 5
nats 0.72, against 0.70 with the chosen trial). This script replays saved SAC agent directories
on the episodes they were evaluated on (eval stream, run seed 0: the same resets as their
``eval.json``), follows the state at every primitive step (``info["state_features"]``: the
gripper, the baskets and both balls) and sorts each failed episode into the first matching
class (``classify``):

- ``never lifted``: the target ball never rose ``LIFT`` above its start (not grasped, or
  grasped and lost at once); ``... the other ball lifted instead`` when the other ball rose;
- ``in its basket, not released``: the episode ended with the target ball inside its basket
  (between the inner walls, below the rim) without the success check passing (still touched
  by a finger, or still moving);
- ``still carried at the end``: the target ball ended above the rim height;
- ``dropped outside its basket``: it ended below the rim outside its basket.

Records: ``gripper_failures.jsonl`` (per agent directory: its eval success, per-episode classes
and the lift and final offsets); report ``gripper_failures.md``::

    python experiments/gripper_failures.py runs/benchmark/gripper/runs/RUN [RUN ...]
    python experiments/gripper_failures.py --report-only

Agent directories are the ones ``python experiments/benchmark.py --table skills --env gripper
--long 1000000`` writes (``runs/`` is git-ignored: rerun that first on a new checkout).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import gymnasium as gym
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "experiments" / "results"
STEM = "gripper_failures"
LIFT = 0.03  # metres above the ball's start: lifted (the ball's radius is 0.025)
CLASSES = ("success", "never lifted", "never lifted, the other ball lifted instead",
           "in its basket, not released", "still carried at the end",
           "dropped outside its basket")
# Indices into Gripper's info["state_features"] (envs/gripper.py, _state_features): gripper
# (x, z), fingers (2), red basket (x, z), blue basket (x, z), red ball (x, z), blue ball (x, z).
_BASKET_X = (4, 6)
_BALL_XZ = ((8, 9), (10, 11))


class BallTracker(gym.Wrapper):
    """Follows both balls at every primitive step: their highest rise above the start and the
    last state features."""

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        f = np.asarray(info["state_features"], dtype=np.float64)
        self.start = f.copy()
        self.rise = np.zeros(2)
        self.last = f
        return obs, info

    def step(self, action):
        obs, r, term, trunc, info = self.env.step(action)
        f = np.asarray(info["state_features"], dtype=np.float64)
        for colour, (_, z) in enumerate(_BALL_XZ):
            self.rise[colour] = max(self.rise[colour], f[z] - self.start[z])
        self.last = f
        return obs, r, term, trunc, info


def classify(success: bool, target_rise: float, other_rise: float, offset_x: float,
             final_z: float, inner_half_width: float, rim: float) -> str:
    """The class of one episode (see the module docstring): ``target_rise``/``other_rise`` are
    the balls' highest rise above their start, ``offset_x`` the target ball's final distance
    from its basket's centre, ``final_z`` its final height."""
    if success:
        return "success"
    if target_rise < LIFT:
        return ("never lifted, the other ball lifted instead" if other_rise >= LIFT
                else "never lifted")
    if final_z >= rim:
        return "still carried at the end"
    if abs(offset_x) < inner_half_width:
        return "in its basket, not released"
    return "dropped outside its basket"


def run_agent(agent_dir: Path, episodes: int) -> dict:
    """Replay a saved SAC agent on ``episodes`` eval-stream episodes (run seed 0) and classify
    each; the success rate must match what its training run recorded when ``episodes`` does."""
    import macroact  # noqa: F401  (registers the envs)
    from macroact.agents.saved import replay_record
    from macroact.envs.gripper import BASKET_INNER_HALF_WIDTH, BASKET_RIM

    env_id = json.loads((agent_dir / "agent.json").read_text())["config"].get("env_id")
    if env_id != "macroact/Gripper-v1":
        raise SystemExit(f"{agent_dir} is an agent for {env_id!r}, not macroact/Gripper-v1; "
                         "pass Gripper-v1 agent directories")

    def episode(tracker: BallTracker, success: bool) -> dict:
        colour = int(tracker.unwrapped.target_colour)
        x, z = (tracker.last[i] for i in _BALL_XZ[colour])
        offset = float(x - tracker.last[_BASKET_X[colour]])
        return dict(cls=classify(success, tracker.rise[colour], tracker.rise[1 - colour], offset,
                                 float(z), BASKET_INNER_HALF_WIDTH, BASKET_RIM),
                    target_rise=round(float(tracker.rise[colour]), 4), offset_x=round(offset, 4),
                    final_z=round(float(z), 4))

    return replay_record(agent_dir, episodes, BallTracker, episode)


def build_report(records: list[dict], commands: list[str]) -> str:
    """gripper_failures.md from the records; ``commands``: the commands that made them, in
    order (each record keeps its own)."""
    from macroact.envs.gripper import BASKET_INNER_HALF_WIDTH
    from macroact.reporting import commands_sentence, machines, markdown_table, notes_block

    rows = []
    for r in records:
        counts = Counter(e["cls"] for e in r["per_episode"])
        dropped = [abs(e["offset_x"]) for e in r["per_episode"]
                   if e["cls"] == "dropped outside its basket"]
        rows.append([r["agent_dir"], r["episodes"], f"{r['success_rate']:.2f}",
                     "n/a" if r["recorded_success_rate"] is None
                     else f"{r['recorded_success_rate']:.2f}",
                     *(counts.get(c, 0) for c in CLASSES[1:]),
                     f"{np.median(dropped):.2f}" if dropped else ""])
    total = Counter(e["cls"] for r in records for e in r["per_episode"])
    failed = sum(v for k, v in total.items() if k != "success")
    lines = [
        "# Where the Gripper-v1 agents fail (issue 18)", "",
        commands_sentence(commands, f"{STEM}.jsonl"), "",
        f"Machine(s): {machines(records)}.", "",
        "Each saved agent replayed on its evaluation episodes (eval stream, run seed 0, "
        "deterministic actions: the resets of its `eval.json`); every failed episode sorted "
        f"into the first matching class by what the target ball did (lifted: rose {LIFT} m "
        "above its start at some primitive step; the basket: between its inner walls, below "
        f"its rim; its inner walls stand {BASKET_INNER_HALF_WIDTH} m from its centre). "
        "`replayed` must equal `recorded` (the training run's evaluation); a difference would "
        "mean the replay is not the evaluation.", "",
        *markdown_table(["agent directory", "episodes", "replayed success", "recorded success",
                         *CLASSES[1:], "dropped: median distance from the basket's centre "
                         "(m)"], rows), "",
        f"All agents together: {failed} failed episodes; "
        + ", ".join(f"{c}: {total.get(c, 0)}" for c in CLASSES[1:]) + ".", "",
        "## Reading", "", notes_block(), ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    from macroact.reporting import replay_agents_main

    return replay_agents_main(argv, __doc__, RESULTS / f"{STEM}.jsonl", RESULTS / f"{STEM}.md",
                              run_agent, build_report, "Gripper-v1 SAC agents",
                              "experiments/benchmark.py --table skills --env gripper "
                              "--long 1000000")


if __name__ == "__main__":
    raise SystemExit(main())
