"""The command line: help, one-line errors, and a small train -> evaluate -> traverse run."""

import json
import subprocess
import sys

import pytest

from macroact.commands import COMMANDS, build_parser, main


def test_every_command_has_help(capsys):
    build_parser()
    assert {"train", "evaluate", "traverse"} <= set(COMMANDS)
    for name in COMMANDS:
        with pytest.raises(SystemExit) as e:
            main([name, "--help"])
        assert e.value.code == 0
        assert "usage: macroact " + name in capsys.readouterr().out


@pytest.mark.parametrize("argv, match", [
    (["train", "--out", "x"], "say what to train on"),
    (["train", "--dataset", "nope", "--out", "x"], "unknown dataset 'nope'"),
    (["train", "--dataset", "reaching2d", "--capacity", "1,2", "--out", "x"], "capacity"),
    (["train", "--dataset", "reaching2d", "--length", "50", "--out", "x"], "length must be one of"),
    (["evaluate", "no_such_run"], "not a run directory"),
])
def test_bad_arguments_give_one_line(tmp_path, capsys, argv, match, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and match in err and "Traceback" not in err


def test_bad_type_is_reported_by_argparse(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "--dataset", "reaching2d", "--beta", "lots", "--out", "x"])
    assert e.value.code == 2
    assert "invalid float value: 'lots'" in capsys.readouterr().err


def test_train_evaluate_traverse(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--dataset", "reaching2d", "--length", "100", "--beta", "0.1",
                 "--capacity", "0,0,0.99", "--steps", "30", "--log-every", "10",
                 "--no-progress", "--out", str(run)]) == 0
    assert main(["evaluate", str(run), "--mig-samples", "500"]) == 0
    out = capsys.readouterr().out
    assert "Rec" in out and "MIG" in out and "goal" in out and "curvature" in out
    metrics = json.loads((run / "metrics.json").read_text())
    assert {"rec", "mig_discrete", "mig_sampled"} <= set(metrics)
    assert main(["traverse", str(run), "--values=-2,0,2"]) == 0
    assert (run / "traversal.png").stat().st_size > 1000
    # --resume continues to a larger step budget from the saved checkpoint.
    assert main(["train", "--resume", "--steps", "40", "--no-progress", "--out", str(run)]) == 0


def test_console_script_entry_point():
    res = subprocess.run([sys.executable, "-m", "macroact.cli", "--help"], capture_output=True, text=True)
    assert res.returncode == 0 and "train" in res.stdout


def test_seeded_train_commands_give_identical_models(tmp_path):
    import torch

    from macroact.models.base import SequenceModel

    states = []
    for i, prior in enumerate((1, 2)):
        torch.manual_seed(prior)  # a different global RNG state before each command
        run = tmp_path / f"run{i}"
        assert main(["train", "--dataset", "reaching2d", "--length", "100", "--steps", "3",
                     "--seed", "5", "--no-progress", "--out", str(run)]) == 0
        states.append(SequenceModel.load(run / "model.pt").state_dict())
    assert states[0].keys() == states[1].keys()
    for k, v in states[0].items():
        assert torch.equal(v, states[1][k]), k


def test_bc_factors_flag_parses_labels_and_rejects_bad_ones(capsys):
    from macroact.agents.cli import _factor_labels

    assert _factor_labels("elbow=1, via=0") == {"elbow": 1, "via": 0}
    with pytest.raises(SystemExit) as e:
        main(["ppo", "macroact/ReacherSparse-v0", "--flat", "--bc-factors", "elbow=up",
              "--out", "x"])
    assert e.value.code == 2
    assert "--bc-factors must be NAME=LABEL pairs" in capsys.readouterr().err


def test_every_flag_of_every_command_has_help():
    import argparse

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = [(name, a.option_strings or a.dest) for name, sp in sub.choices.items()
               for a in sp._actions if not a.help or a.help == argparse.SUPPRESS]
    assert missing == []
    # Config fields carry their documentation, defaults and choices into --help.
    text = sub.choices["train"].format_help()
    assert "latent size per ladder" in text and "Choices: constant, cosine" in text
