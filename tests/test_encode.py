"""Offline encoding of demonstrations into latent codes."""

import numpy as np
import pytest
import torch

from macroact.commands import main
from macroact.data.demos import EpisodeData, chunk_actions, collect
from macroact.evaluation.encode import encode_chunks, encode_file
from macroact.models.favae import FAVAE, FAVAEConfig
from macroact.trainer import TrainConfig, train


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("enc")
    demos = collect("macroact/Reaching2D-v0", 12, seed=0)
    demos.save(d / "demos.npz")
    chunks = chunk_actions(demos, 24, tail="drop")
    torch.manual_seed(0)
    model = FAVAE(FAVAEConfig(seq_len=24, beta=0.01), 2)
    model.normalizer.set_bounds(demos.low, demos.high)
    train(model, chunks.actions, TrainConfig(steps=150, seed=0, device="cpu"),
          out_dir=d / "run", progress_bar=False)
    return d, model, chunks


def test_encode_file_round_trip(trained, tmp_path):
    d, model, chunks = trained
    out = encode_file(d / "run", d / "demos.npz", tmp_path / "codes.npz", batch_size=7)
    with np.load(out) as f:
        codes = {k: f[k] for k in f.files}
    n = len(chunks.actions)
    assert codes["mu"].shape == codes["logvar"].shape == (n, 14)
    assert [codes[f"mu_l{i}"].shape[1] for i in range(3)] == [8, 4, 2]
    np.testing.assert_array_equal(codes["episode"], chunks.episode)
    np.testing.assert_array_equal(codes["start"], chunks.start)
    np.testing.assert_array_equal(codes["factors"], chunks.factors)
    # Decoding the codes gives the model's reconstructions; rec_error is their error.
    decoded = model.decode(torch.as_tensor(codes["mu"])).numpy()
    np.testing.assert_allclose(decoded, model.reconstruct(chunks.actions).numpy(), atol=1e-5)
    xn = model.normalizer(torch.as_tensor(chunks.actions))
    dn = model.normalizer(torch.as_tensor(decoded))
    np.testing.assert_allclose(codes["rec_error"], (dn - xn).pow(2).sum((1, 2)).numpy(), rtol=1e-4, atol=1e-6)


def test_batching_does_not_change_codes(trained):
    _, model, chunks = trained
    a = encode_chunks(model, chunks.actions, batch_size=3)
    b = encode_chunks(model, chunks.actions, batch_size=1000)
    np.testing.assert_allclose(a["mu"], b["mu"], atol=1e-6)


def test_cli_encode_and_errors(trained, tmp_path, capsys):
    d, _, _ = trained
    assert main(["encode", str(d / "run"), str(d / "demos.npz"), "--out", str(tmp_path / "c.npz")]) == 0
    assert (tmp_path / "c.npz").exists()
    assert main(["encode", str(d / "run"), str(tmp_path / "missing.npz"), "--out", "x.npz"]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(ValueError, match="batch_size"):
        encode_chunks(FAVAE(FAVAEConfig(seq_len=24), 2), np.zeros((1, 24, 2), np.float32), 0)


def test_encode_takes_the_runs_tail_rule_and_refuses_another(trained, tmp_path, capsys):
    d, _, _ = trained
    run = tmp_path / "padded"
    assert main(["train", "--demos", str(d / "demos.npz"), "--horizon", "20", "--tail",
                 "pad_zero", "--steps", "5", "--device", "cpu", "--no-progress",
                 "--out", str(run)]) == 0
    demos = EpisodeData.load(d / "demos.npz")
    padded = chunk_actions(demos, 20, tail="pad_zero")
    assert len(padded.actions) > len(chunk_actions(demos, 20, tail="drop").actions)
    # No --tail: the run's pad_zero, so every padded chunk is encoded.
    assert main(["encode", str(run), str(d / "demos.npz"), "--out", str(tmp_path / "c.npz")]) == 0
    with np.load(tmp_path / "c.npz") as f:
        assert len(f["mu"]) == len(padded.actions)
    capsys.readouterr()
    assert main(["encode", str(run), str(d / "demos.npz"), "--tail", "drop",
                 "--out", str(tmp_path / "d.npz")]) == 2
    err = capsys.readouterr().err
    assert "--tail drop" in err and "pad_zero" in err
    assert not (tmp_path / "d.npz").exists()
