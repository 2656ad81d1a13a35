"""The RL benchmark's own aggregation, table and plot code (experiments/rl_benchmark.py)."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments"))
rb = pytest.importorskip("rl_benchmark")


def test_rolling_success_uses_the_last_window_episodes():
    rows = np.array([[10, 0], [20, 1], [30, 1], [40, 0]])
    steps, rate = rb.rolling_success(rows, window=2)
    assert steps.tolist() == [10, 20, 30, 40]
    assert rate.tolist() == [0.0, 0.5, 1.0, 0.5]


def test_on_grid_holds_the_last_value_and_is_nan_before_the_first():
    out = rb.on_grid(np.array([10.0, 20.0]), np.array([0.25, 0.75]), np.array([0, 10, 15, 25]))
    assert np.isnan(out[0])
    assert out[1:].tolist() == [0.25, 0.25, 0.75]


def test_first_crossing_needs_a_full_window():
    # One early success would read as 100% over a one-episode window.
    rows = np.array([[5, 1], [10, 0], [15, 1], [20, 1]])
    assert rb.first_crossing(rows, 0.9, window=2) == 20.0
    assert rb.first_crossing(rows, 0.9, window=3) is None
    assert rb.first_crossing(np.zeros((0, 4)), 0.5) is None


def test_aggregate_ignores_nan_seeds():
    agg = rb.aggregate([np.array([np.nan, 0.0, 1.0]), np.array([np.nan, 0.5, 0.0])])
    assert np.isnan(agg["mean"][0])
    assert agg["mean"][1:].tolist() == [0.25, 0.5]
    assert agg["min"][1:].tolist() == [0.0, 0.0]
    assert agg["max"][1:].tolist() == [0.5, 1.0]


def _write_run(root: Path, env: str, kind: str, variant: str, seed: int, success: list[int],
               eval_rate: float, timesteps: int = 1000) -> None:
    d = root / env / kind / variant / f"seed{seed}"
    d.mkdir(parents=True)
    (d / "agent.json").write_text(json.dumps({"seed": seed, "timesteps": timesteps}))
    (d / "eval.json").write_text(json.dumps({"success_rate": eval_rate, "wall_seconds": 3.0,
                                             "final_train_success": float(np.mean(success))}))
    with open(d / "episodes.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["primitive_steps", "success", "return", "macro_length"])
        for i, s in enumerate(success):
            w.writerow([100 * (i + 1), s, float(s), 100])


def test_load_group_summarise_table_and_plot(tmp_path, monkeypatch):
    root = tmp_path / "runs"
    for seed, rate in ((0, 1.0), (1, 0.5)):
        _write_run(root, "reacher", "episode", "all", seed, [0] * 3 + [1] * 7, rate)
    _write_run(root, "reacher", "flat", "flat", 0, [0] * 10, 0.0)
    runs = rb.load_runs(root)
    assert sorted((r["variant"], r["seed"]) for r in runs) == [("all", 0), ("all", 1),
                                                               ("flat", 0)]
    groups = rb.group_runs(runs)
    assert set(groups) == {("reacher", "episode", "all", 1000), ("reacher", "flat", "flat", 1000)}
    s = rb.summarise(groups[("reacher", "episode", "all", 1000)])
    assert s["eval_mean"] == 0.75 and s["eval_min"] == 0.5 and s["eval_max"] == 1.0
    # Window 100 is never full with 10 episodes: no crossing is claimed.
    assert s["reach90"] == [None, None] and s["reach90_mean"] is None
    text = rb.table(groups)
    assert "| reacher | episode | all | 1,000 | 2 | 0.75 (0.25; 0.50-1.00)" in text
    assert "| reacher | - | flat |" in text
    png = rb.plot_groups(groups, "reacher", "episode", tmp_path / "curve.png")
    assert png is not None and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert rb.plot_groups(groups, "gripper", "episode", tmp_path / "none.png") is None
