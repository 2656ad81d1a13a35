"""Trainer: seeded determinism, exact resume, checkpoints, non-finite loss handling."""

import json

import numpy as np
import pytest
import torch

from macroact.models.base import SequenceModel
from macroact.models.favae import FAVAE, FAVAEConfig
from macroact.trainer import NonFiniteLossError, TrainConfig, train


def _data(n=24, t=16, d=2, seed=0):
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.normal(size=(n, t, d)), axis=1).astype(np.float32)


def _model():
    return FAVAE(FAVAEConfig(seq_len=16, beta=0.5, capacity=(0.5, 0.2, 1.0)), 2)


def _cfg(**kw):
    base = dict(steps=40, batch_size=8, seed=3, device="cpu", log_every=10, checkpoint_every=10)
    base.update(kw)
    return TrainConfig(**base)


def test_training_changes_weights_and_eval_does_not():
    x = _data()
    model = _model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    train(model, x, _cfg(steps=5), progress_bar=False)
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, before[k])]
    assert any("encoder" in k for k in changed) and any("decoder" in k for k in changed)
    after = {k: v.clone() for k, v in model.state_dict().items()}
    model.eval()
    model.reconstruct(x)
    assert all(torch.equal(v, after[k]) for k, v in model.state_dict().items())


def test_seeded_runs_are_identical():
    x = _data()
    torch.manual_seed(1)
    a = _model()
    torch.manual_seed(1)
    b = _model()
    torch.manual_seed(123)  # the trainer reseeds batches and noise: prior global state is moot
    train(a, x, _cfg(), progress_bar=False)
    train(b, x, _cfg(), progress_bar=False)
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k]), k


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_interrupted_and_resumed_run_ends_with_same_weights(tmp_path, schedule):
    x = _data()
    torch.manual_seed(0)
    full = _model()
    train(full, x, _cfg(lr_schedule=schedule), out_dir=tmp_path / "full", progress_bar=False)

    torch.manual_seed(0)
    part = _model()
    # Kill the run after 20 of 40 steps (a checkpoint is written at 20), resume in a new model.
    cfg_half = _cfg(steps=40, checkpoint_every=10, lr_schedule=schedule)
    _train_until(part, x, cfg_half, tmp_path / "part", stop_after=20)
    torch.manual_seed(999)
    resumed = _model()
    train(resumed, x, cfg_half, out_dir=tmp_path / "part", resume=True, progress_bar=False)
    for k, v in full.state_dict().items():
        assert torch.equal(v, resumed.state_dict()[k]), k
    loaded = SequenceModel.load(tmp_path / "part")
    assert torch.equal(loaded.reconstruct(x), full.eval().reconstruct(x))


def _train_until(model, x, cfg, out, stop_after):
    """Run ``train`` and kill it (an exception from the optimiser) after ``stop_after`` steps."""
    calls = {"n": 0}
    original = torch.optim.Adam.step

    def step(self, *a, **k):
        calls["n"] += 1
        if calls["n"] > stop_after:
            raise KeyboardInterrupt
        return original(self, *a, **k)

    torch.optim.Adam.step = step
    try:
        with pytest.raises(KeyboardInterrupt):
            train(model, x, cfg, out_dir=out, progress_bar=False)
    finally:
        torch.optim.Adam.step = original
    assert torch.load(out / "checkpoint.pt", weights_only=True)["step"] == stop_after


def test_run_directory_contents(tmp_path):
    x = _data()
    train(_model(), x, _cfg(), out_dir=tmp_path, progress_bar=False, data_spec={"dataset": "toy"})
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["model"] == "favae" and run["data"] == {"dataset": "toy"}
    assert run["model_config"]["capacity"] == [0.5, 0.2, 1.0]
    assert (tmp_path / "model.pt").is_file() and (tmp_path / "checkpoint.pt").is_file()
    assert any((tmp_path / "tb").iterdir())
    assert not list(tmp_path.glob(".*.tmp"))


def test_non_finite_loss_names_the_step_and_keeps_checkpoint(tmp_path):
    x = _data()
    model = _model()
    original = FAVAE.forward
    calls = {"n": 0}

    def forward(self, *a, **k):
        out = original(self, *a, **k)
        calls["n"] += 1
        if calls["n"] == 26:
            out["loss"] = out["loss"] * float("nan")
        return out

    FAVAE.forward = forward
    try:
        with pytest.raises(NonFiniteLossError, match="step 25.*step 20"):
            train(model, x, _cfg(), out_dir=tmp_path, progress_bar=False)
    finally:
        FAVAE.forward = original
    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert ckpt["step"] == 20
    assert all(torch.isfinite(v).all() for v in ckpt["model"]["state_dict"].values()
               if v.is_floating_point())


def test_cosine_schedule_decays_the_learning_rate(monkeypatch):
    seen = []
    original = torch.optim.Adam.step

    def step(self, *a, **k):
        seen.append(self.param_groups[0]["lr"])
        return original(self, *a, **k)

    monkeypatch.setattr(torch.optim.Adam, "step", step)
    train(_model(), _data(), _cfg(steps=10, lr=1e-3, lr_schedule="cosine"), progress_bar=False)
    assert seen[0] == pytest.approx(1e-3)
    assert all(a > b for a, b in zip(seen, seen[1:]))
    assert seen[-1] == pytest.approx(1e-3 * 0.5 * (1 + np.cos(np.pi * 9 / 10)))
    seen.clear()
    train(_model(), _data(), _cfg(steps=10, lr=1e-3), progress_bar=False)
    assert seen == [pytest.approx(1e-3)] * 10


def test_resume_without_checkpoint_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        train(_model(), _data(), _cfg(), out_dir=tmp_path, resume=True, progress_bar=False)


def test_bad_train_config_and_data():
    with pytest.raises(ValueError, match="steps"):
        TrainConfig(steps=0)
    with pytest.raises(ValueError, match="lr_schedule.*'linear'"):
        TrainConfig(lr_schedule="linear")
    with pytest.raises(ValueError, match="device"):
        train(_model(), _data(), _cfg(device="tpu"), progress_bar=False)
    bad = _data()
    bad[0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or inf"):
        train(_model(), bad, _cfg(), progress_bar=False)


def test_trainer_parts_and_callbacks_give_the_same_weights_as_train(tmp_path):
    from macroact.trainer import Callback, Trainer

    x = _data()
    torch.manual_seed(0)
    whole = _model()
    history = train(whole, x, _cfg(eval_every=20), out_dir=tmp_path / "whole", progress_bar=False)

    class Recorder(Callback):
        def __init__(self):
            self.calls = []

        def on_start(self, trainer):
            self.calls.append(("start", trainer.step))

        def on_log(self, trainer, step, scalars):
            self.calls.append(("log", step))

        def on_eval(self, trainer, step, result):
            self.calls.append(("eval", step))

        def on_checkpoint(self, trainer, step):
            self.calls.append(("checkpoint", step))

        def on_end(self, trainer):
            self.calls.append(("end", trainer.step))

    torch.manual_seed(0)
    parts = _model()
    rec = Recorder()
    trainer = Trainer(parts, x, _cfg(eval_every=20), out_dir=tmp_path / "run", progress_bar=False,
                      callbacks=[rec])
    assert trainer.run() == history
    for k, v in whole.state_dict().items():
        assert torch.equal(v, parts.state_dict()[k]), k
    assert rec.calls[0] == ("start", 0) and rec.calls[-1] == ("end", 40)
    assert [c for c in rec.calls if c[0] == "eval"] == [("eval", 20), ("eval", 40)]
    assert [s for name, s in rec.calls if name == "checkpoint"] == [10, 20, 30, 40]

    torch.manual_seed(0)
    stepped = _model()
    manual = Trainer(stepped, x, _cfg(), progress_bar=False)  # one step at a time
    for _ in range(40):
        terms = manual.train_step()
        assert torch.isfinite(terms["loss"])
    manual.close()
    torch.manual_seed(0)
    reference = _model()
    train(reference, x, _cfg(), progress_bar=False)
    for k, v in reference.state_dict().items():
        assert torch.equal(v, stepped.state_dict()[k]), k


def test_plateau_stop_ends_a_run_whose_rec_stopped_improving(tmp_path):
    from macroact.trainer import PlateauStop

    # The stopping rule on a scripted rec: improves, then flat.
    class Fake:
        stop_reason = None

    fake, stop = Fake(), PlateauStop(patience=30, tol=0.01, smoothing=1.0)
    for step, rec in zip(range(10, 200, 10), [10, 8, 6, 5, 5, 5, 5, 5, 5, 5, 5]):
        stop.on_log(fake, step, {"rec": float(rec)})
        if fake.stop_reason:
            break
    assert step == 70 and "since step 40" in fake.stop_reason

    # In a run: a learning rate of ~0 leaves rec flat, so the run stops early and says so.
    model = _model()
    hist = train(model, _data(), _cfg(steps=400, lr=1e-12, plateau_patience=50, log_every=5),
                 out_dir=tmp_path / "run", progress_bar=False)
    last = hist[-1]["step"]
    assert 50 <= last < 400
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["stopped_early"]["step"] == last and "plateau" in run["stopped_early"]["reason"]
    assert SequenceModel.load(tmp_path / "run").config == model.config
    # Off by default: the same run goes to its step budget.
    full = train(_model(), _data(), _cfg(steps=60, lr=1e-12, log_every=5), progress_bar=False)
    assert full[-1]["step"] == 60
    with pytest.raises(ValueError, match="plateau_patience"):
        TrainConfig(plateau_patience=-1)


def test_resume_accepts_a_run_recorded_before_a_new_field_existed(tmp_path):
    x = _data()
    train(_model(), x, _cfg(steps=20), out_dir=tmp_path / "run", progress_bar=False)
    path = tmp_path / "run" / "run.json"
    run = json.loads(path.read_text())
    for name in ("plateau_patience", "plateau_tol"):  # as written before these fields existed
        del run["train_config"][name]
    path.write_text(json.dumps(run))
    hist = train(_model(), x, _cfg(steps=30), out_dir=tmp_path / "run", resume=True,
                 progress_bar=False)
    assert hist[-1]["step"] == 30
