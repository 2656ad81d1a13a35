"""DSAE and FHVAE baselines: loss terms, shapes, gradients, training, persistence, checks."""

import math

import numpy as np
import pytest
import torch

from macroact.models.base import MODEL_REGISTRY, SequenceModel
from macroact.models import DSAE, FHVAE, DSAEConfig, FHVAEConfig
from macroact.data.paper import reaching2d


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def make(kind: str, length: int, n_features: int = 2, **kw):
    """A small model of ``kind`` for sequences of ``length`` steps."""
    kw.setdefault("hidden", 16)
    if kind == "dsae":
        return DSAE(DSAEConfig(seq_len=length, **kw), n_features)
    kw.setdefault("segment_len", min(10, length))
    kw.setdefault("n_labels", 3)
    return FHVAE(FHVAEConfig(seq_len=length, **kw), n_features)


def train_briefly(model, x, steps: int, labels=None, lr: float = 3e-3):
    """Adam on one batch for ``steps`` steps; the eval-mode loss terms before and after."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.eval()
    with torch.no_grad():
        before = model(x, labels=labels)
    model.train()
    for _ in range(steps):
        loss = model(x, labels=labels)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        after = model(x, labels=labels)
    return before, after


def labels_for(model, batch: int):
    return torch.arange(batch) % model.config.n_labels if model.needs_labels else None


@pytest.mark.parametrize("length", [20, 37, 100])
@pytest.mark.parametrize("kind", ["dsae", "fhvae"])
def test_forward_encode_reconstruct_shapes(kind, length):
    model = make(kind, length)
    x = torch.rand(4, length, 2) * 2 - 1
    out = model(x, progress=0.3, labels=labels_for(model, 4))
    kl_names = {"dsae": ["kl/f", "kl/z"], "fhvae": ["kl/z1", "kl/z2"]}[kind]
    assert sorted(k for k in out if k.startswith("kl/")) == kl_names
    for k, v in out.items():
        assert v.shape == () and torch.isfinite(v), k
    assert torch.allclose(out["kl"], sum(out[k] for k in kl_names))
    model.eval()
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (4, 14) == (4, model.latent_dim)
    assert torch.isfinite(mu).all() and torch.isfinite(logvar).all()
    assert model.reconstruct(x).shape == (4, length, 2)


@pytest.mark.parametrize("kind", ["dsae", "fhvae"])
def test_rec_is_squared_error_of_the_reconstruction(kind):
    model = make(kind, 30).eval()
    x = torch.rand(5, 30, 2) * 2 - 1
    out = model(x, labels=labels_for(model, 5))
    expected = (model.reconstruct_normalized(x) - x).pow(2).sum(dim=(1, 2)).mean()
    assert torch.allclose(out["rec"], expected, atol=1e-5)
    assert torch.equal(model(x, labels=labels_for(model, 5))["loss"], out["loss"])  # eval: no sampling


@pytest.mark.parametrize("kind", ["dsae", "fhvae"])
def test_gradients_reach_every_parameter(kind):
    model = make(kind, 25)
    x = torch.rand(6, 25, 2) * 2 - 1
    model(x, labels=labels_for(model, 6))["loss"].backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, f"no gradient reaches {name}"


def test_dsae_kl_terms_match_torch_distributions():
    model = make("dsae", 15, beta=2.0).eval()
    x = torch.rand(4, 15, 2) * 2 - 1
    with torch.no_grad():
        out = model(x)
    post = model.posterior(x)
    normal = torch.distributions.Normal
    q_f = normal(post.f_mu, (0.5 * post.f_logvar).exp())
    kl_f = torch.distributions.kl_divergence(q_f, normal(0.0, 1.0)).sum(1).mean()
    p_mu, p_logvar = model.prior(post.z_mu)
    q_z = normal(post.z_mu, (0.5 * post.z_logvar).exp())
    p_z = normal(p_mu, (0.5 * p_logvar).exp())
    kl_z = torch.distributions.kl_divergence(q_z, p_z).sum((1, 2)).mean()
    assert torch.allclose(out["kl/f"], kl_f, atol=1e-5)
    assert torch.allclose(out["kl/z"], kl_z, atol=1e-4)
    assert float(out["loss"]) == pytest.approx(float(out["rec"]) + 2.0 * float(out["kl"]), rel=1e-5)


def test_dsae_prior_is_causal():
    model = make("dsae", 12)
    z = torch.randn(2, 12, model.config.z_dim)
    mu, logvar = model.prior(z)
    z2 = z.clone()
    z2[:, 5] += 3.0
    mu2, logvar2 = model.prior(z2)
    # p(z_t | z_<t): steps up to and including 5 ignore z_5, later steps see it.
    assert torch.equal(mu[:, :6], mu2[:, :6]) and torch.equal(logvar[:, :6], logvar2[:, :6])
    assert not torch.allclose(mu[:, 6:], mu2[:, 6:])


def test_dsae_encode_summarises_dynamics_over_time():
    model = make("dsae", 16).eval()
    x = torch.rand(3, 16, 2) * 2 - 1
    post = model.posterior(x)
    mu, logvar = model.encode_normalized(x)
    f = model.config.f_dim
    assert torch.equal(mu[:, :f], post.f_mu) and torch.equal(logvar[:, :f], post.f_logvar)
    assert torch.allclose(mu[:, f:], post.z_mu.mean(1))
    assert torch.allclose(logvar[:, f:].exp(), post.z_logvar.exp().mean(1), rtol=1e-5)


@pytest.mark.parametrize("length", [10, 37, 40])
def test_fhvae_segments_cover_the_sequence(length):
    model = make("fhvae", length)
    x = torch.randn(2, length, 3)
    segs = model.segment(x)
    assert segs.shape == (2, model.n_segments(length), 10, 3) == (2, math.ceil(length / 10), 10, 3)
    assert torch.equal(segs[:, -1], x[:, -10:])  # the last segment ends at the last step
    assert torch.equal(model.stitch(segs, length), x)


def test_fhvae_loss_terms():
    model = make("fhvae", 30, alpha=0.7, beta=1.5).eval()
    x = torch.rand(4, 30, 2) * 2 - 1
    y = torch.tensor([0, 2, 1, 2])
    out = model(x, labels=y)
    post = model.posterior(x)
    sigma2 = model.config.z2_prior_std ** 2
    # -log p(y | z2): a softmax over every label's Gaussian log-likelihood of E[z2], per segment.
    p_y = torch.distributions.Normal(model.mu2, sigma2 ** 0.5)
    log_lik = p_y.log_prob(post.z2_mu.unsqueeze(2)).sum(-1)  # (batch, segments, labels)
    disc = torch.nn.functional.cross_entropy(log_lik.flatten(0, 1), y.repeat_interleave(3),
                                             reduction="sum") / 4
    assert torch.allclose(out["disc"], disc, atol=1e-4)
    prior = -torch.distributions.Normal(0.0, 1.0).log_prob(model.mu2[y]).sum(1).mean()
    assert torch.allclose(out["prior/mu2"], prior, atol=1e-5)
    q = torch.distributions.Normal(post.z2_mu, (0.5 * post.z2_logvar).exp())
    p = torch.distributions.Normal(model.mu2[y].unsqueeze(1), sigma2 ** 0.5)
    kl_z2 = torch.distributions.kl_divergence(q, p).sum((1, 2)).mean()
    assert torch.allclose(out["kl/z2"], kl_z2, atol=1e-4)
    expected = out["rec"] + 1.5 * out["kl"] + out["prior/mu2"] + 0.7 * out["disc"]
    assert torch.allclose(out["loss"], expected, rtol=1e-5)


def test_fhvae_gaussian_likelihood_reports_squared_error_as_rec():
    model = make("fhvae", 20, decoder_likelihood="gaussian").eval()
    x = torch.rand(3, 20, 2) * 2 - 1
    out = model(x, labels=torch.tensor([0, 1, 0]))
    assert torch.isfinite(out["nll"])
    assert torch.allclose(out["rec"], (model.reconstruct_normalized(x) - x).pow(2).sum((1, 2)).mean())
    assert not torch.allclose(out["loss"], out["rec"] + out["kl"] + out["prior/mu2"] + out["disc"])


@pytest.mark.parametrize("kind", ["dsae", "fhvae"])
def test_training_lowers_the_loss(kind):
    x, factors = reaching2d(100)
    x = torch.as_tensor(x[:, ::5])  # 20 sequences of length 20
    model = make(kind, 20, hidden=32, n_labels=2) if kind == "fhvae" else make(kind, 20, hidden=32)
    model.normalizer.fit(x)
    xn = model.normalizer(x)
    y = torch.as_tensor(factors[:, 0]) if model.needs_labels else None
    before, after = train_briefly(model, xn, 40, labels=y)
    assert float(after["loss"]) < 0.7 * float(before["loss"]), (before["loss"], after["loss"])
    assert float(after["rec"]) < float(before["rec"])


@pytest.mark.parametrize("kind", ["dsae", "fhvae"])
def test_save_load_round_trip(kind, tmp_path):
    model = make(kind, 24, n_features=3, beta=0.5)
    x = torch.randn(5, 24, 3) * 4 + 1
    model.normalizer.fit(x)
    path = tmp_path / "m.pt"
    model.save(path)
    loaded = SequenceModel.load(path)
    assert type(loaded) is type(model) and MODEL_REGISTRY[kind] is type(model)
    assert loaded.config == model.config and not loaded.training
    for k, v in model.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k]), k
    model.eval()
    assert torch.equal(model.reconstruct(x), loaded.reconstruct(x))
    assert torch.equal(model.encode(x)[0], loaded.encode(x)[0])


@pytest.mark.parametrize("labels, match", [
    (None, "needs one integer label per sequence"),
    (torch.tensor([0, 3]), "labels must lie in \\[0, 3\\).*n_labels=4"),
    (torch.tensor([-1, 0]), "labels must lie in"),
    (torch.tensor([0, 1, 2]), "shape \\(2,\\)"),
    (torch.tensor([0.0, 1.0]), "integers"),
])
def test_fhvae_rejects_bad_labels(labels, match):
    model = make("fhvae", 20)
    with pytest.raises(ValueError, match=match):
        model(torch.zeros(2, 20, 2), labels=labels)


def test_fhvae_rejects_sequences_shorter_than_a_segment():
    model = make("fhvae", 20, segment_len=20)
    with pytest.raises(ValueError, match="shorter than segment_len 20"):
        model(torch.zeros(2, 12, 2), labels=torch.tensor([0, 1]))


def test_fhvae_encode_needs_no_labels():
    model = make("fhvae", 20).eval()
    mu, _ = model.encode(np.zeros((2, 20, 2), dtype=np.float32))
    assert mu.shape == (2, 14)


@pytest.mark.parametrize("cls, kwargs, match", [
    (DSAEConfig, {"beta": -1.0}, "beta"),
    (DSAEConfig, {"beta": float("nan")}, "beta"),
    (DSAEConfig, {"f_dim": 0}, "f_dim"),
    (DSAEConfig, {"z_dim": 2.5}, "z_dim"),
    (DSAEConfig, {"seq_len": 0}, "seq_len"),
    (DSAEConfig, {"hidden": True}, "hidden"),
    (DSAEConfig, {"frame_channels": -1}, "frame_channels"),
    (DSAEConfig, {"frame_channels": 3, "frame_size": 20}, "multiple of 8"),
    (DSAEConfig, {"input_noise_std": -0.1}, "input_noise_std"),
    (FHVAEConfig, {"n_labels": 0}, "n_labels"),
    (FHVAEConfig, {"n_labels": 2, "segment_len": 200}, "segment_len 200 is longer than seq_len 100"),
    (FHVAEConfig, {"n_labels": 2, "z2_prior_std": 0.0}, "z2_prior_std"),
    (FHVAEConfig, {"n_labels": 2, "alpha": -0.1}, "alpha"),
    (FHVAEConfig, {"n_labels": 2, "beta": -1.0}, "beta"),
    (FHVAEConfig, {"n_labels": 2, "z1_dim": 0}, "z1_dim"),
    (FHVAEConfig, {"n_labels": 2, "decoder_likelihood": "laplace"}, "decoder_likelihood"),
])
def test_config_validation(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


def test_configs_round_trip_through_dicts():
    for cfg in (DSAEConfig(seq_len=50, f_dim=3), FHVAEConfig(n_labels=4, decoder_likelihood="gaussian")):
        assert type(cfg).from_dict(cfg.to_dict()) == cfg


def test_a_model_without_the_encode_reconstruct_api_cannot_be_built():
    class Half(SequenceModel):
        def encode_normalized(self, x):
            return x, x

    with pytest.raises(TypeError, match="reconstruct_normalized"):
        Half()


# -- DSAE on videos (the per-frame networks of macroact.models.frames) ------------------------------
def make_video_dsae(**kw):
    cfg = DSAEConfig(seq_len=4, hidden=16, frame_channels=3, frame_size=16, frame_base=4,
                     frame_features=8, **kw)
    return DSAE(cfg, n_features=3 * 16 * 16)


def test_video_dsae_takes_flat_clips_and_keeps_their_layout():
    model = make_video_dsae()
    x = torch.rand(5, 4, 3 * 16 * 16) * 2 - 1
    out = model(model.normalizer(x))
    assert set(out) == {"loss", "rec", "kl", "kl/f", "kl/z"}
    # the shared identity normalisation leaves frames in [-1, 1] untouched
    assert model.normalizer.fitted and torch.equal(model.normalizer(x), x)
    assert model.n_features == 768
    model.eval()
    mu, _ = model.encode(x)
    y = model.reconstruct(x)
    assert mu.shape == (5, 14) and y.shape == x.shape
    assert float(y.abs().max()) < 1.0  # the frame decoder ends in tanh
    assert any(isinstance(m, torch.nn.ConvTranspose2d) for m in model.decoder.modules())
    assert any(isinstance(m, torch.nn.Conv2d) for m in model.features.modules())


def test_video_dsae_rejects_clips_of_the_wrong_frame_size():
    with pytest.raises(ValueError, match="n_features=300 does not match frames"):
        DSAE(DSAEConfig(seq_len=4, frame_channels=3, frame_size=16), n_features=300)
    model = make_video_dsae().eval()
    with pytest.raises(ValueError):
        model.encode(np.zeros((2, 4, 700), dtype=np.float32))


def test_video_dsae_input_noise_only_reaches_the_encoder_in_training():
    model = make_video_dsae(input_noise_std=0.7)
    x = torch.rand(6, 4, 768) * 2 - 1
    seen = []
    model.features.register_forward_hook(lambda mod, inp, out: seen.append(inp[0].detach()))
    model.train()
    model(x)
    model.eval()
    with torch.no_grad():
        model(x)
    noise = seen[0] - x
    assert abs(float(noise.std()) - 0.7) < 0.05  # noisy encoder input in training
    assert torch.equal(seen[1], x)  # clean in eval mode
    quiet = make_video_dsae()
    quiet.load_state_dict(model.state_dict())
    quiet.eval()
    # rec targets the clean clips: in eval mode both models give the same loss
    with torch.no_grad():
        assert torch.allclose(model(x)["rec"], quiet(x)["rec"])


def test_video_dsae_trains_and_round_trips(tmp_path):
    model = make_video_dsae(input_noise_std=0.3)
    # clips of flat frames whose grey level moves over time: easy to learn in a few steps
    x = (torch.linspace(-0.8, 0.8, 8)[:, None, None] * torch.linspace(0.5, 1, 4)[None, :, None]
         ).expand(8, 4, 768).contiguous()
    before, after = train_briefly(model, x, 60)
    assert float(after["rec"]) < 0.8 * float(before["rec"])
    model.save(tmp_path / "m.pt")
    loaded = SequenceModel.load(tmp_path / "m.pt")
    assert loaded.config == model.config and loaded.n_features == 768
    assert torch.equal(loaded.reconstruct(x), model.reconstruct(x))
