"""FAVAE model: shapes, loss terms, gradients, persistence, input checks."""

import numpy as np
import pytest
import torch

from macroact.models.base import SequenceModel
from macroact.data.paper import reaching2d
from macroact.models.favae import FAVAE, FAVAEConfig


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.mark.parametrize("length", [8, 37, 100, 1000])
@pytest.mark.parametrize("ladder", [True, False])
def test_shapes_for_many_lengths(length, ladder):
    model = FAVAE(FAVAEConfig(seq_len=length, ladder=ladder), n_features=3)
    x = torch.randn(4, length, 3)
    out = model(model.normalizer(x))
    assert out["loss"].shape == () and torch.isfinite(out["loss"])
    model.eval()
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (4, 14)
    assert model.reconstruct(x).shape == (4, length, 3)
    assert model.decode(mu).shape == (4, length, 3)
    n_ladders = 3 if ladder else 1
    assert [k for k in out if k.startswith("kl/")] == [f"kl/l{i}" for i in range(n_ladders)]


def test_ladder_structure_matches_paper_defaults():
    cfg = FAVAEConfig()
    assert cfg.latent_dims == (8, 4, 2) and cfg.levels == 3
    model = FAVAE(cfg, 2)
    assert [s.stop - s.start for s in model.ladder_slices] == [8, 4, 2]
    convs = [m for m in model.encoder.modules() if isinstance(m, torch.nn.Conv1d)]
    deconvs = [m for m in model.decoder.modules() if isinstance(m, torch.nn.ConvTranspose1d)]
    assert len(convs) == 6 and len(deconvs) == 6
    no_ladder = FAVAEConfig(ladder=False)
    assert no_ladder.latent_dims == (14,)
    # Gates: one per ladder below the top, a Hadamard parameter initialised to 0.1.
    assert sorted(model.gates.keys()) == ["0", "1"]
    assert torch.allclose(model.gates["0"], torch.full_like(model.gates["0"], 0.1))


def test_kl_matches_torch_distributions():
    model = FAVAE(FAVAEConfig(seq_len=32, beta=1.0), 2)
    model.eval()
    x = model.normalizer(torch.randn(6, 32, 2))
    out = model(x)
    for i, (mu, logvar) in enumerate(model.encode_ladders(x)):
        q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
        p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
        expected = torch.distributions.kl_divergence(q, p).sum(1).mean()
        assert torch.allclose(out[f"kl/l{i}"], expected, atol=1e-5)


def test_loss_is_rec_plus_beta_times_capacity_gaps():
    cfg = FAVAEConfig(seq_len=32, beta=2.5, capacity=(1.0, 0.5, 3.0))
    model = FAVAE(cfg, 2)
    model.eval()
    with torch.no_grad():
        out = model(model.normalizer(torch.randn(5, 32, 2)))
    gaps = [abs(float(out[f"kl/l{i}"]) - c) for i, c in enumerate(cfg.capacity)]
    assert np.allclose([float(out[f"kl_gap/l{i}"]) for i in range(3)], gaps, atol=1e-6)
    assert float(out["loss"]) == pytest.approx(float(out["rec"]) + 2.5 * sum(gaps), rel=1e-5)


def test_capacity_warmup_is_linear_then_fixed():
    model = FAVAE(FAVAEConfig(seq_len=16, capacity=(2.0, 0.0, 4.0), capacity_warmup=0.5), 1)
    assert model.capacities(0.0) == [0.0, 0.0, 0.0]
    assert model.capacities(0.25) == pytest.approx([1.0, 0.0, 2.0])
    assert model.capacities(0.9) == pytest.approx([2.0, 0.0, 4.0])
    fixed = FAVAE(FAVAEConfig(seq_len=16, capacity=(2.0, 0.0, 4.0)), 1)
    assert fixed.capacities(0.0) == [2.0, 0.0, 4.0]


def test_beta_zero_is_plain_reconstruction():
    model = FAVAE(FAVAEConfig(seq_len=16, beta=0.0, capacity=(5.0, 5.0, 5.0)), 2)
    out = model(model.normalizer(torch.randn(3, 16, 2)))
    assert torch.allclose(out["loss"], out["rec"])


def test_gradients_reach_every_ladder():
    model = FAVAE(FAVAEConfig(seq_len=50, beta=1.0), 2)
    x = model.normalizer(torch.randn(8, 50, 2))
    model(x)["loss"].backward()
    for i in range(3):
        g_head = model.heads[i].weight.grad
        g_inject = model.injects[i].weight.grad
        assert g_head is not None and g_head.abs().sum() > 0, f"no gradient to ladder {i} encoder"
        assert g_inject is not None and g_inject.abs().sum() > 0, f"no gradient to ladder {i} decoder"
    for key, gate in model.gates.items():
        assert gate.grad is not None and gate.grad.abs().sum() > 0, f"no gradient to gate {key}"


def test_overfits_reaching_tenfold():
    x, _ = reaching2d(100)
    model = FAVAE(FAVAEConfig(seq_len=100, beta=0.0), 2)
    model.normalizer.fit(torch.as_tensor(x))
    xn = model.normalizer(torch.as_tensor(x))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.eval()
    with torch.no_grad():
        before = float(model(xn)["rec"])
    model.train()
    for _ in range(300):
        loss = model(xn)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        after = float(model(xn)["rec"])
    assert after <= before / 10, (before, after)


def test_save_load_round_trip(tmp_path):
    model = FAVAE(FAVAEConfig(seq_len=20, beta=0.3, capacity=(1.0, 0.0, 2.0)), 3)
    x = torch.randn(5, 20, 3) * 4 + 1
    model.normalizer.fit(x)
    model.train()
    model(model.normalizer(x))  # move BatchNorm running statistics away from their init
    model.eval()
    path = tmp_path / "m.pt"
    model.save(path)
    loaded = FAVAE.load(path)
    assert loaded.config == model.config
    for k, v in model.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k]), k
    assert torch.equal(model.reconstruct(x), loaded.reconstruct(x))
    assert torch.equal(model.encode(x)[0], loaded.encode(x)[0])
    assert isinstance(SequenceModel.load(path), FAVAE)
    raw = torch.load(path, weights_only=True)
    assert set(raw["versions"]) >= {"macroact", "torch", "numpy"}


def test_normalisation_maps_data_into_unit_range():
    model = FAVAE(FAVAEConfig(seq_len=10), 2)
    x = torch.stack([torch.linspace(-5, 3, 10), torch.full((10,), 7.0)], -1)[None]
    model.normalizer.fit(x)
    y = model.normalizer(x)
    assert y[..., 0].min() == -1 and y[..., 0].max() == 1
    assert torch.all(y[..., 1] == 0)  # constant feature
    assert torch.allclose(model.normalizer.inverse(y)[..., 0], x[..., 0])


@pytest.mark.parametrize("bad, match", [
    (torch.zeros(20, 2), "shape \\(batch, time, features\\)"),
    (torch.zeros(2, 20, 3), "2 features but the model was built for 3|3 features but the model was built for 2"),
    (torch.zeros(2, 21, 2), "length 21"),
])
def test_bad_input_shapes_raise(bad, match):
    model = FAVAE(FAVAEConfig(seq_len=20), 2)
    with pytest.raises(ValueError, match=match):
        model.encode(bad)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_input_raises(value):
    model = FAVAE(FAVAEConfig(seq_len=20), 2)
    x = torch.zeros(2, 20, 2)
    x[1, 3, 0] = value
    with pytest.raises(ValueError, match="NaN or inf"):
        model.reconstruct(x)


def test_loaded_model_rejects_other_feature_count(tmp_path):
    FAVAE(FAVAEConfig(seq_len=20), 2).save(tmp_path / "m.pt")
    model = FAVAE.load(tmp_path / "m.pt")
    with pytest.raises(ValueError, match="3 features but the model was built for 2"):
        model.encode(np.zeros((1, 20, 3), dtype=np.float32))


@pytest.mark.parametrize("kwargs, match", [
    ({"capacity": (1.0, 2.0)}, "capacity"),
    ({"ladder": False, "capacity": (1.0, 0.0, 0.0)}, "single latent"),
    ({"beta": -1.0}, "beta"),
    ({"seq_len": 1}, "seq_len"),
    ({"kernel_size": 4}, "kernel_size"),
    ({"latent_dims": (8, 4)}, "latent_dims"),
    ({"capacity_warmup": 2.0}, "capacity_warmup"),
])
def test_config_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FAVAEConfig(**kwargs)


def test_decode_rejects_wrong_latent_size():
    model = FAVAE(FAVAEConfig(seq_len=16), 2)
    with pytest.raises(ValueError, match="shape \\(batch, 14\\)"):
        model.decode(torch.zeros(3, 5))
