"""Reports (macroact.reporting): learning curves, run logs, results files with kept notes, and
the RL benchmark driver's table over them."""

from __future__ import annotations


import numpy as np
import pytest

from macroact import reporting as rp



def test_rolling_success_uses_the_last_window_episodes():
    rows = np.array([[10, 0], [20, 1], [30, 1], [40, 0]])
    steps, rate = rp.rolling_success(rows, window=2)
    assert steps.tolist() == [10, 20, 30, 40]
    assert rate.tolist() == [0.0, 0.5, 1.0, 0.5]


def test_on_grid_holds_the_last_value_and_is_nan_before_the_first():
    out = rp.on_grid(np.array([10.0, 20.0]), np.array([0.25, 0.75]), np.array([0, 10, 15, 25]))
    assert np.isnan(out[0])
    assert out[1:].tolist() == [0.25, 0.25, 0.75]


def test_first_crossing_needs_a_full_window_and_is_nan_when_never_reached():
    # One early success would read as 100% over a one-episode window.
    rows = np.array([[5, 1], [10, 0], [15, 1], [20, 1]])
    assert rp.first_crossing(rows, 0.9, window=2) == 20.0
    assert np.isnan(rp.first_crossing(rows, 0.9, window=3))
    assert np.isnan(rp.first_crossing(np.zeros((0, 4)), 0.5))


def test_aggregate_curves_ignores_nan_seeds():
    agg = rp.aggregate_curves([np.array([np.nan, 0.0, 1.0]), np.array([np.nan, 0.5, 0.0])])
    assert np.isnan(agg["mean"][0])
    assert agg["mean"][1:].tolist() == [0.25, 0.5]
    assert agg["min"][1:].tolist() == [0.0, 0.0]
    assert agg["max"][1:].tolist() == [0.5, 1.0]


def test_notes_survive_regeneration(tmp_path):
    path = tmp_path / "r.md"
    rp.write_result(path, f"# R\n\nbody 1\n\n{rp.notes_block()}\n")
    text = path.read_text()
    assert text.endswith("<!-- notes -->\n<!-- /notes -->\n")
    path.write_text(text.replace("<!-- /notes -->", "typed by hand\n<!-- /notes -->"))
    rp.write_result(path, f"# R\n\nbody 2\n\n{rp.notes_block()}\n")
    assert path.read_text() == "# R\n\nbody 2\n\n<!-- notes -->\ntyped by hand\n<!-- /notes -->\n"
    # A script that drops its notes block does not drop the notes.
    rp.write_result(path, "# R\n\nbody 3\n")
    assert path.read_text().endswith("<!-- notes -->\ntyped by hand\n<!-- /notes -->\n")
    assert "body 3" in path.read_text()


def test_run_log_keeps_the_latest_record_per_key_and_skips_a_torn_last_line(tmp_path):
    log = rp.RunLog(tmp_path / "runs.jsonl")
    assert log.records() == [] and log.get("a") is None
    log.put({"key": "a", "v": 1})
    log.put({"key": "b", "v": 2})
    log.put({"key": "a", "v": 3})
    assert log.records() == [{"key": "a", "v": 3}, {"key": "b", "v": 2}]
    assert log.get("a") == {"key": "a", "v": 3} and log.keys() == {"a", "b"}
    with pytest.raises(ValueError, match="key"):
        log.put({"v": 4})
    with open(log.path, "a") as f:
        f.write('{"key": "c", "v"')  # a crash mid-write
    with pytest.warns(UserWarning, match="torn"):
        assert [r["key"] for r in log.records()] == ["a", "b"]
    with pytest.warns(UserWarning, match="torn"):
        log.compact()  # drops the torn line and the replaced record
    assert log.path.read_text().count("\n") == 2


def test_machines_names_where_the_runs_ran():
    assert rp.machines([{"machine": "m1"}, {"machine": "m2"}, {"machine": "m1"}]) == "m1; m2"
    assert rp.machines([]) == rp.machine()


