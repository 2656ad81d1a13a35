"""FramedFAVAE: shapes in both layouts, loss terms, gradients, noise, persistence, input checks."""

import json

import numpy as np
import pytest
import torch

from macroact.models.base import SequenceModel
from macroact.models.favae import FAVAEConfig
from macroact.models.framed import FramedFAVAE, FramedFAVAEConfig
from macroact.trainer import TrainConfig, evaluate, train

T, S = 8, 16  # clip length, frame side


def small_config(ladder: bool = True, **kwargs) -> FramedFAVAEConfig:
    favae = {"seq_len": T, "ladder": ladder, "channels": [8, 8, 8], "beta": 2.0,
             "capacity": [1.0, 0.5, 0.25] if ladder else [1.5]}
    favae.update(kwargs.pop("favae", {}))
    return FramedFAVAEConfig(frame_size=S, frame_base=4, frame_features=8, favae=favae, **kwargs)


def clips(n: int = 4, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, T, 3, S, S, generator=g) * 2 - 1


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.mark.parametrize("ladder", [True, False])
def test_shapes_in_both_layouts(ladder):
    model = FramedFAVAE(small_config(ladder))
    x = clips()
    out = model(x)
    n_ladders = 3 if ladder else 1
    assert [k for k in out if k.startswith("kl/")] == [f"kl/l{i}" for i in range(n_ladders)]
    assert {"loss", "rec", "kl"} <= set(out) and out["loss"].shape == ()
    model.eval()
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (4, 14) == (4, model.latent_dim)
    assert model.reconstruct(x).shape == x.shape
    flat = x.reshape(4, T, -1)
    assert model.n_features == 3 * S * S
    assert model.reconstruct(flat).shape == flat.shape
    torch.testing.assert_close(model.encode(flat)[0], mu)
    assert model.decode(mu).shape == (4, T, 3, S, S)
    assert model.decode(mu).abs().max() <= 1.0  # tanh output, identity normaliser


def test_loss_is_pixel_rec_plus_beta_times_capacity_gaps():
    model = FramedFAVAE(small_config()).eval()
    x = clips()
    with torch.no_grad():
        out = model(x)
    xhat = model.reconstruct_normalized(x)
    torch.testing.assert_close(out["rec"], (xhat - x).pow(2).sum(dim=(1, 2, 3, 4)).mean())
    caps = model.config.favae.capacity
    gaps = [abs(float(out[f"kl/l{i}"]) - c) for i, c in enumerate(caps)]
    expected = float(out["rec"]) + model.config.favae.beta * sum(gaps)
    assert float(out["loss"]) == pytest.approx(expected, rel=1e-5)
    for i, (mu, lv) in enumerate(model.encode_ladders(x)):
        q = torch.distributions.Normal(mu, (0.5 * lv).exp())
        p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
        torch.testing.assert_close(out[f"kl/l{i}"],
                                   torch.distributions.kl_divergence(q, p).sum(1).mean())


def test_gradients_reach_frame_networks_and_time_model():
    model = FramedFAVAE(small_config())
    model(clips())["loss"].backward()
    for part in (model.frame_encoder, model.favae, model.frame_decoder):
        grads = [p.grad for p in part.parameters() if p.requires_grad]
        assert grads and all(g is not None for g in grads)
        assert any(float(g.abs().sum()) > 0 for g in grads)


def test_input_noise_reaches_encoder_only_in_training_and_rec_targets_clean_frames():
    model = FramedFAVAE(small_config(input_noise_std=0.5))
    seen = []
    model.frame_encoder.register_forward_pre_hook(lambda m, args: seen.append(args[0].clone()))
    x = clips(8)
    model(x)
    noise = seen[-1] - x
    assert float(noise.std()) == pytest.approx(0.5, rel=0.05)
    model.eval()
    out = model(x)
    torch.testing.assert_close(seen[-1], x)
    # In eval mode the loss uses the clean input; the target is the clean frames either way.
    torch.testing.assert_close(out["rec"], (model.reconstruct_normalized(x) - x).pow(2)
                               .flatten(1).sum(1).mean())


def test_save_load_round_trip(tmp_path):
    model = FramedFAVAE(small_config(input_noise_std=0.3))
    train(model, clips(6).reshape(6, T, -1).numpy(), TrainConfig(steps=2, batch_size=3, device="cpu"),
          progress_bar=False)
    model.eval()
    path = tmp_path / "model.pt"
    model.save(path)
    for loader in (FramedFAVAE.load, SequenceModel.load):
        loaded = loader(path)
        assert isinstance(loaded, FramedFAVAE) and not loaded.training
        assert loaded.config == model.config
        assert isinstance(loaded.config.favae, FAVAEConfig)
        sd, ld = model.state_dict(), loaded.state_dict()
        assert sd.keys() == ld.keys() and all(torch.equal(sd[k], ld[k]) for k in sd)
        x = clips(3, seed=1)
        torch.testing.assert_close(loaded.encode(x)[0], model.encode(x)[0])
        torch.testing.assert_close(loaded.reconstruct(x), model.reconstruct(x))


def test_config_json_round_trip():
    cfg = small_config(input_noise_std=0.7)
    again = FramedFAVAEConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg and again.seq_len == T and again.frame_shape == (3, S, S)


def test_trainer_step_changes_weights_and_evaluate_gives_mig():
    model = FramedFAVAE(small_config())
    x = clips(6).reshape(6, T, -1).numpy()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    train(model, x, TrainConfig(steps=2, batch_size=6, device="cpu"), progress_bar=False)
    after = model.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before if after[k].is_floating_point())
    # The identity normaliser stays as built: training must not refit it to the data.
    assert model.normalizer.low.tolist() == [-1.0] and model.normalizer.high.tolist() == [1.0]
    factors = np.array([[0, 1], [1, 0], [0, 0], [1, 1], [0, 1], [1, 0]])
    sd = {k: v.clone() for k, v in model.state_dict().items()}
    res = evaluate(model, x, factors, mig_samples=200)
    assert np.isfinite(res["rec"]) and 0 <= res["mig_sampled"] <= 1
    assert all(torch.equal(sd[k], v) for k, v in model.state_dict().items())  # eval changes nothing


@pytest.mark.parametrize("bad, match", [
    (torch.zeros(2, T, 3, 8, 8), "frames of shape"),
    (torch.zeros(2, T, 1, S, S), "frames of shape"),
    (torch.zeros(2, T + 1, 3, S, S), "frames per clip"),
    (torch.zeros(T, 3, S, S), "must have shape"),
    (torch.zeros(2, T, 100), "flat frames have 100"),
    (torch.full((2, T, 3, S, S), float("nan")), "NaN"),
])
def test_bad_inputs_raise_clear_errors(bad, match):
    model = FramedFAVAE(small_config()).eval()
    with pytest.raises(ValueError, match=match):
        model.encode(bad)
    with pytest.raises(ValueError, match=match):
        model(bad)


def test_bad_configs_and_codes_raise():
    with pytest.raises(ValueError, match="multiple of 8"):
        FramedFAVAEConfig(frame_size=20)
    with pytest.raises(ValueError, match="input_noise_std"):
        FramedFAVAEConfig(input_noise_std=-0.1)
    with pytest.raises(ValueError, match="frame_features"):
        FramedFAVAEConfig(frame_features=0)
    with pytest.raises(ValueError, match="favae must be"):
        FramedFAVAEConfig(favae=[8])
    with pytest.raises(ValueError, match="unknown FAVAEConfig fields"):
        FramedFAVAEConfig(favae={"seq_len": 8, "kernel": 3})
    with pytest.raises(ValueError, match="does not match"):
        FramedFAVAE(small_config(), n_features=100)
    model = FramedFAVAE(small_config()).eval()
    with pytest.raises(ValueError, match="NaN"):
        model.decode(torch.full((1, 14), float("nan")))
    with pytest.raises(ValueError, match="latent codes must have shape"):
        model.decode(torch.zeros(1, 5))
