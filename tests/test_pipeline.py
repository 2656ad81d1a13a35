"""The main job end to end at a tiny budget: files, report rows, held-out evaluation, reruns."""

import json

import pytest

from macroact.agents.pipeline import AGENTS, PipelineConfig, run_pipeline, write_report
from macroact.commands import main


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    out = tmp_path_factory.mktemp("pipeline")
    cfg = PipelineConfig(episodes=12, favae_steps=10, timesteps=600, seeds=(0, 1), bc_epochs=2,
                         eval_episodes=4)
    record = run_pipeline(cfg, out, log=lambda msg: None)
    return out, record


def test_pipeline_writes_every_part(done):
    out, record = done
    names = {p.name for p in out.iterdir()}
    assert {"demos.npz", "favae", "replay.json", "report.md", "curves.png",
            "pipeline.json"} <= names
    assert {f"{k}_s{s}" for k in ("bc", "bc_ppo", "flat_ppo", "latent_ppo") for s in (0, 1)} <= names
    assert set(record["results"]) == set(AGENTS)
    for key, runs in record["results"].items():
        assert len(runs) == (1 if key == "replay" else 2)
        assert all(0.0 <= r["success_rate"] <= 1.0 for r in runs)
    assert all(r["primitive_steps"] == 0 for r in record["results"]["bc"])
    assert all(r["primitive_steps"] >= 600 for r in record["results"]["flat_ppo"])


def test_evaluation_starts_are_held_out(done):
    out, _ = done
    replay = json.loads((out / "replay.json").read_text())
    assert replay["streams"] == ["eval"] and replay["exact_start_matches"] == 0


def test_report_rebuilds_from_the_record(done, tmp_path):
    out, record = done
    text = (out / "report.md").read_text()
    for label in AGENTS.values():
        assert label in text
    write_report(json.loads((out / "pipeline.json").read_text()), tmp_path)
    assert (tmp_path / "report.md").read_text() == text


def test_a_finished_pipeline_is_not_overwritten_silently(done, capsys):
    out, _ = done
    assert main(["pipeline", "--episodes", "12", "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    with pytest.raises(ValueError, match="seeds must name"):
        PipelineConfig(seeds=())


def test_report_only_rebuilds_from_the_record(done, tmp_path, capsys):
    import shutil

    out, _ = done
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    (copy / "report.md").unlink()
    assert main(["pipeline", "--report-only", "--out", str(copy)]) == 0
    assert (copy / "report.md").read_text() == (out / "report.md").read_text()
    assert main(["pipeline", "--report-only", "--out", str(tmp_path / "none")]) == 2
