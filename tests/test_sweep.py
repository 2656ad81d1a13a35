"""Grid sweeps (macroact.sweep): one JSONL record per cell, resumable, the aggregation, the
``macroact sweep`` command, and the Table 2 driver's beta choice and table builder."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from macroact import sweep
from macroact.commands import main as macroact
from macroact.reporting import RunLog

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


def load_script(name: str):
    """An experiment script as a module, loaded from its file path (the import path is left alone)."""
    spec = importlib.util.spec_from_file_location(f"experiments_{name}", EXPERIMENTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def pt():
    return load_script("paper_table2")


@pytest.fixture
def tiny_data(tmp_path):
    rng = np.random.default_rng(0)
    factors = np.array([[i % 2, i // 2 % 2] for i in range(8)], dtype=np.int64)
    t = np.linspace(0, 1, 16)
    x = np.stack([np.stack([t * (1 + f[0]), t ** (1 + f[1])], -1) for f in factors])
    x = x + 0.01 * rng.standard_normal(x.shape)
    path = tmp_path / "tiny.npz"
    np.savez(path, sequences=x.astype(np.float32), factors=factors)
    return path


def _cells(data):
    common = dict(dataset=str(data), length=16, seed=0, steps=3, batch_size=4, mig_samples=200)
    return [sweep.Cell(model="favae", beta=0.1, label="FAVAE (L C)",
                       config={"ladder": True, "capacity": [0.5, 0.0, 0.1]}, **common),
            sweep.Cell(model="favae", beta=0.0, label="FAVAE (- -)",
                       config={"ladder": False}, **common)]


def test_grid_writes_one_record_per_cell_and_skips_finished_cells(tiny_data, tmp_path):
    log = tmp_path / "runs.jsonl"
    cells = _cells(tiny_data)
    lines = []
    results = sweep.run_grid(cells, log, workers=1, progress=lines.append)
    assert "2 to run" in lines[0] and len(lines) == 3
    saved = RunLog(log).records()
    assert [r["key"] for r in saved] == [c.key for c in cells]
    for cell, res, rec in zip(cells, results, saved):
        assert rec == res and rec["cell"] == cell.to_dict()
        assert np.isfinite(rec["rec"]) and 0 <= rec["mig_sampled"] <= 1
        assert len(rec["sampled_top_latent"]) == 2 and isinstance(rec["machine"], str)
        assert rec["sampled_degenerate"] == (len(set(rec["sampled_top_latent"])) == 1)
    assert results[0]["latent_dims"] == [8, 4, 2] and results[1]["latent_dims"] == [14]
    assert results[0]["cell"]["config"]["capacity"] == [0.5, 0.0, 0.1]

    before = log.read_text()
    lines.clear()
    again = sweep.run_grid(cells + [cells[0]], log, workers=1, progress=lines.append)
    assert lines == ["2 cells, 2 done, 0 to run"] and log.read_text() == before
    assert [r["rec"] for r in again] == [r["rec"] for r in results + results[:1]]

    # A changed budget is a different cell: it runs instead of reading a stale record.
    changed = sweep.Cell.from_dict({**cells[1].to_dict(), "steps": 4})
    assert changed.key != cells[1].key
    lines.clear()
    sweep.run_grid([changed], log, workers=1, progress=lines.append)
    assert lines[0] == "1 cells, 0 done, 1 to run" and len(RunLog(log).records()) == 3


def test_sweep_command_runs_a_product_grid(tiny_data, tmp_path, capsys):
    log = tmp_path / "cli.jsonl"
    argv = ["sweep", "--log", str(log), "--dataset", str(tiny_data), "--length", "16",
            "--beta", "0.1", "1", "--steps", "2", "--batch-size", "4", "--set", "ladder=false"]
    assert macroact(argv) == 0
    recs = RunLog(log).records()
    assert sorted(r["cell"]["beta"] for r in recs) == [0.1, 1.0]
    assert all(r["cell"]["config"] == {"ladder": False} for r in recs)
    assert "'n': 1" in capsys.readouterr().out
    assert macroact(argv[:-2] + ["--set", "ladder"]) == 2  # not FIELD=JSON
    assert "FIELD=JSON" in capsys.readouterr().err


def test_address_without_ray_says_how_to_install_it(monkeypatch, tmp_path, capsys):
    # Ray is an optional extra; asking for it without it must say how to install it. Ray's
    # absence is simulated, so the test runs whether or not Ray is installed here.
    monkeypatch.setattr(sweep, "_ray_available", lambda: False)
    with pytest.raises(ImportError, match=r"macroact\[sweep\]"):
        sweep.run_grid([], tmp_path / "unused.jsonl", address="auto")
    assert macroact(["sweep", "--log", str(tmp_path / "x.jsonl"), "--address", "auto"]) == 2
    assert "macroact[sweep]" in capsys.readouterr().err


def test_cell_validation():
    with pytest.raises(ValueError, match="model must be one of"):
        sweep.Cell(model="vae", dataset="reaching2d", length=100, beta=1, seed=0, steps=1)
    with pytest.raises(ValueError, match="beta"):
        sweep.Cell(model="favae", dataset="reaching2d", length=100, beta=-1, seed=0, steps=1)
    with pytest.raises(ValueError, match="steps"):
        sweep.Cell(model="favae", dataset="reaching2d", length=100, beta=1, seed=0, steps=0)
    with pytest.raises(ValueError, match="sets itself"):
        sweep.Cell(model="favae", dataset="reaching2d", length=100, beta=1, seed=0, steps=1,
                   config={"beta": 2})


def _fake(label, beta, seed, mig_s, mig_d, rec, top, deg=None):
    deg = len(set(top)) == 1 if deg is None else deg
    return {"cell": {"label": label, "dataset": "wavy_reaching2d", "length": 100, "beta": beta,
                     "seed": seed}, "mig_sampled": mig_s, "mig_discrete": mig_d, "rec": rec,
            "sampled_top_latent": top, "discrete_top_latent": [0, 1, 2],
            "sampled_degenerate": deg, "discrete_degenerate": False}


def test_aggregate_mean_std_and_the_recorded_degenerate_flags():
    results = [_fake("A", 0.1, 0, 0.2, 0.1, 1.0, [3, 3, 3]),
               _fake("A", 0.1, 1, 0.4, 0.3, 3.0, [3, 4, 3]),
               _fake("A", 0.1, 2, 0.6, 0.5, 5.0, [13, 13, 13]),
               _fake("A", 1.0, 0, 0.9, 0.9, 9.0, [0, 1, 2]),
               _fake("B", 0.1, 0, 0.5, 0.5, 2.0, [1, 1, 1], deg=False)]
    agg = sweep.aggregate(results)
    assert set(agg) == {("A", "wavy_reaching2d", 100, 0.1), ("A", "wavy_reaching2d", 100, 1.0),
                        ("B", "wavy_reaching2d", 100, 0.1)}
    row = agg[("A", "wavy_reaching2d", 100, 0.1)]
    assert row["n"] == 3 and row["seeds"] == [0, 1, 2]
    assert row["mig_sampled_mean"] == pytest.approx(0.4)
    assert row["mig_sampled_std"] == pytest.approx(np.std([0.2, 0.4, 0.6]))
    assert row["mig_discrete_mean"] == pytest.approx(0.3)
    assert row["rec_mean"] == pytest.approx(3.0) and row["rec_std"] == pytest.approx(np.sqrt(8 / 3))
    assert row["degenerate"] == [True, False, True] and row["n_degenerate"] == 2
    assert agg[("A", "wavy_reaching2d", 100, 1.0)]["n_degenerate"] == 0
    # The flag is MIGResult.degenerate's, recorded at run time: a shared top latent among
    # factors that take one value only (B) is not degenerate, and nothing recomputes it.
    assert agg[("B", "wavy_reaching2d", 100, 0.1)]["n_degenerate"] == 0
    assert sweep.aggregate(results, degenerate_from="discrete")[
        ("A", "wavy_reaching2d", 100, 0.1)]["n_degenerate"] == 0
    assert not hasattr(sweep, "is_degenerate")  # one rule: metrics.MIGResult.degenerate


def test_lr_schedule_enters_the_key_only_when_not_constant():
    base = dict(model="favae", dataset="reaching2d", length=100, beta=0.1, seed=0, steps=5)
    constant = sweep.Cell(**base)
    assert "lr_schedule" not in constant.to_dict()  # keys of results stored before the field
    assert sweep.Cell.from_dict(constant.to_dict()) == constant
    cosine = sweep.Cell(**base, lr_schedule="cosine")
    assert cosine.to_dict()["lr_schedule"] == "cosine" and cosine.key != constant.key
    assert sweep.Cell.from_dict(cosine.to_dict()) == cosine


def test_table2_log_keys_are_the_cells_keys():
    # The kept Table 2 log: every record's key is its cell's key, so the driver finds it.
    recs = RunLog(EXPERIMENTS / "results" / "table2_runs.jsonl").records()
    assert len(recs) >= 260
    for r in recs[:20]:
        assert sweep.Cell.from_dict(r["cell"]).key == r["key"]


def test_paper_table2_beta_choice_skips_degenerate_runs(pt):
    col = ("wavy_reaching2d", 100)
    results = [_fake("FAVAE (L C)", b, 0, m, 0.0, 1.0, top)
               for b, m, top in [(0.01, 0.3, [0, 1, 2]), (0.1, 0.9, [2, 2, 2]),
                                 (1.0, 0.5, [0, 4, 2])]]
    assert pt.choose_beta(results, "FAVAE (L C)", col, 0) == (1.0, False)
    only_degenerate = [r for r in results if r["sampled_degenerate"]]
    assert pt.choose_beta(only_degenerate, "FAVAE (L C)", col, 0) == (0.1, True)
    cell = pt.favae_cell("FAVAE (- C)", col, 0.1, 0)
    assert cell.to_dict()["config"] == {"capacity": [7.84], "ladder": False}
    assert pt.alias_of("FAVAE (- C)", ("reaching2d", 100)) == "FAVAE (- -)"
    assert pt.alias_of("FAVAE (- C)", col) is None


def test_table2_builder_on_synthetic_runs(pt, monkeypatch, tmp_path):
    monkeypatch.setattr(pt, "RESULTS", tmp_path)
    col = ("wavy_reaching2d", 100)

    def run(label, beta, seed, mig, rec, top):
        cell = pt.favae_cell(label, col, beta, seed).to_dict()
        assert pt.in_budget(cell)
        return {"cell": cell, "mig_sampled": mig, "mig_discrete": mig / 2, "rec": rec,
                "sampled_top_latent": top, "discrete_top_latent": top, "total_seconds": 1.0,
                "sampled_degenerate": len(set(top)) == 1, "machine": "test machine"}

    results = [run("FAVAE (L C)", 0.1, 0, 0.5, 2.0, [13, 1, 2, 3, 4]),
               run("FAVAE (L C)", 1.0, 0, 0.9, 9.0, [13, 13, 13, 13, 13]),  # degenerate: skipped
               run("FAVAE (L C)", 0.1, 1, 0.3, 4.0, [12, 9, 0, 1, 2]),
               run("FAVAE (L C)", 0.1, 2, 0.1, 6.0, [5, 5, 5, 5, 5])]
    chosen = pt.choose_all(results, [0, 1, 2])
    assert chosen[("FAVAE (L C)", col)] == (0.1, False)
    assert chosen[("FAVAE (L -)", col)] is None
    pt.write_table2(results, chosen, [0, 1, 2], wall=1.0)
    table2 = (tmp_path / "table2.md").read_text()
    assert "Machine: test machine, shared" in table2
    row = next(line for line in table2.splitlines()
               if line.startswith("| FAVAE (L C) | 0.1 | 3 (1) |"))
    assert "0.30 (0.16)" in row and "4.000 (1.633)" in row and "0.42 (0.17)" in row
    assert "| 0.40 (0.10), 2 runs |" in row  # seed 2 is degenerate: the paper's rule drops it
    assert "| FAVAE (L -) | | | not run (budget) |" in table2
    assert table2.count("degenerate: all factor information in one latent") == 2
    pt.write_table3(results, chosen, 3)
    table3 = (tmp_path / "table3.md").read_text()
    goal = next(line for line in table3.splitlines() if line.startswith("| goal (5) |"))
    assert goal.startswith("| goal (5) | 1 | 0 | 2 | Factor 1 | 3 | 0 | 7 |")
