"""experiments/prior_start.py: its model names, settings and report."""

from __future__ import annotations

import pytest

from conftest import load_experiment


@pytest.fixture(scope="module")
def ps():
    return load_experiment("prior_start")


def _rec(key, stream, kind, successes, settings):
    return {"key": f"{key}/{kind}/{stream}/4", "model_key": key, "stream": stream, "row": kind,
            "episodes": len(successes), "successes": successes,
            "success_rate": sum(successes) / len(successes),
            "final_distance": [0.01, 0.03, 0.015, 0.05][:len(successes)],
            "mean_primitive_steps": 30.0, "model_settings": settings, "machine": "test box",
            "command": "python experiments/prior_start.py"}


def test_model_keys_and_settings_follow_the_benchmark(ps):
    bench = load_experiment("benchmark")
    macros, favae = bench.ENVS["reacher"]["macros"], bench.ENVS["reacher"]["favae"]
    assert ps.FEW_DEMOS == bench.FEW_DEMOS
    assert ps.OBS_NOISE == bench.OBS_NOISE
    for macro, demo_set in ps.MODELS:  # every listed model is one the benchmark can train
        assert macro in macros
        assert bench._demo_settings(demo_set) is not None
    assert ps.model_key("chunk5", 0.2) == "closed_loop/chunk5_dart0.2"
    assert ps.model_key("chunk5_s6k", "dart_hold") == "closed_loop/chunk5_s6k_dart_hold"
    assert ps.describe("chunk5", 0.2, macros, favae) == {
        "demos": "DART 0.2 demos", "head": "64", "beta": favae["beta"],
        "steps": favae["steps"]}
    assert ps.describe("chunk5_s6k_h256_b1", "dart_hold", macros, favae) == {
        "demos": "DART demos held on the target", "head": "256x256", "beta": 1.0,
        "steps": 6000}
    assert ps.describe("chunk5_s6k_h256", "dart_hold30", macros, favae)["demos"] == \
        "the first 30 DART demos held on the target"
    assert ps.describe("chunk5_s6k_h256_on0.1", "dart_hold30", macros, favae)["head"] == \
        "256x256, obs noise 0.1"


def test_report_lists_each_stream_with_intervals_and_the_models_kl(ps):
    settings = {"demos": "DART 0.2 demos", "head": "64", "beta": 0.01, "steps": 3000}
    records = [_rec("closed_loop/a", "eval", "prior mean", [True, False, False, False],
                    settings),
               _rec("closed_loop/a", "tune", "demo codes", [True, True, True, True], settings)]
    text = ps.build_report(records, "python experiments/prior_start.py", {"closed_loop/a": 3.5},
                           ("Nearest-demo replay (x): 0.33 [0.24, 0.42].",))
    assert "- Nearest-demo replay (x): 0.33 [0.24, 0.42]." in text
    assert text.startswith("# Where latent SAC + prior starts")
    assert "Command: `python experiments/prior_start.py`" in text
    lines = [line for line in text.splitlines() if line.startswith("| tune")
             or line.startswith("| eval")]
    assert lines[0].startswith("| tune") and lines[1].startswith("| eval")  # tune first
    assert "| 1.00 | [1.00, 1.00] |" in lines[0] and "| 3.50 |" in lines[0]
    assert "| 0.25 |" in lines[1]
    assert "<!-- notes -->" in text and "test box" in text
