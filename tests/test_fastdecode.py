"""The dense fast path equals the FAVAE decoder it was folded from."""

import numpy as np
import pytest
import torch

from macroact.models.fastdecode import DenseDecoder
from macroact.models.favae import FAVAE, FAVAEConfig


@pytest.mark.parametrize("cfg", [
    dict(seq_len=10),
    dict(seq_len=10, decoder_batchnorm=True),
    dict(seq_len=37, ladder=False),
    dict(seq_len=9, kernel_size=3, channels=(8, 16, 16)),
])
def test_dense_decoder_matches_model(cfg):
    torch.manual_seed(0)
    model = FAVAE(FAVAEConfig(**cfg), 3)
    model.normalizer.set_bounds([-1, -2, 0], [1, 2, 5])
    model.train()
    model(torch.randn(8, cfg["seq_len"], 3))  # non-trivial BatchNorm statistics
    model.eval()
    with torch.no_grad():
        for g in model.gates.values():
            g.add_(torch.randn_like(g))
    dense = DenseDecoder.from_model(model)
    assert dense is not None
    dims = list(range(model.latent_dim))
    inf = np.full(3, np.inf, np.float32)
    bound = dense.bind(dims, np.zeros(model.latent_dim, np.float32), 1.0, -inf, inf, np.float32)
    assert bound is not None
    z = np.random.default_rng(0).normal(size=(5, model.latent_dim)).astype(np.float32) * 2
    np.testing.assert_allclose(bound(z), model.decode(torch.as_tensor(z)).numpy(), atol=2e-5)
    assert not model.training


def test_size_limit():
    model = FAVAE(FAVAEConfig(seq_len=10), 2)
    assert DenseDecoder.from_model(model, max_entries=10) is None


@pytest.mark.parametrize("dims, anchor", [(list(range(14)), False), ([1, 9, 13], True),
                                          ([0, 8, 12], False)])
def test_bound_decoder_matches_code_then_model_then_clip(dims, anchor):
    torch.manual_seed(1)
    model = FAVAE(FAVAEConfig(seq_len=10), 2)
    model.normalizer.set_bounds([-3.0, -1.0], [3.0, 1.0])
    model.eval()
    with torch.no_grad():
        for g in model.gates.values():
            g.add_(torch.randn_like(g))
    rng = np.random.default_rng(0)
    base = rng.normal(size=14).astype(np.float32) if anchor else np.zeros(14, np.float32)
    low, high = np.array([-0.05, -0.02], np.float32), np.array([0.05, 0.02], np.float32)
    bound = DenseDecoder.from_model(model).bind(dims, base, 2.5, low, high, np.float64)
    a = rng.uniform(-1, 1, (6, len(dims))).astype(np.float32)
    z = np.repeat(base[None], 6, axis=0)
    z[:, dims] = 2.5 * a
    expected = np.clip(model.decode(torch.as_tensor(z)).numpy(), low, high)
    got = bound(a)
    assert got.shape == (6, 10, 2) and got.dtype == np.float64
    np.testing.assert_allclose(got, expected, atol=2e-5)
    assert (got == high).any() and (got == low).any()  # the bounds do clip here
    assert np.array_equal(base, np.zeros(14, np.float32)) or anchor  # caller's anchor untouched


def test_only_a_favae_is_folded():
    from macroact.models.framed import FramedFAVAE, FramedFAVAEConfig

    class SubFAVAE(FAVAE):
        name = ""  # not registered

    framed = FramedFAVAE(FramedFAVAEConfig(frame_size=8, frame_base=4, frame_features=8,
                                           favae={"seq_len": 8, "channels": [8, 8, 8]}))
    assert hasattr(framed, "decode_ladders")  # duck typing would have taken it
    assert DenseDecoder.from_model(framed) is None
    assert DenseDecoder.from_model(SubFAVAE(FAVAEConfig(seq_len=10), 2)) is None


def test_leaky_slope_is_read_from_the_model():
    torch.manual_seed(0)
    model = FAVAE(FAVAEConfig(seq_len=10), 2).eval()
    for m in model.modules():
        if isinstance(m, torch.nn.LeakyReLU):
            m.negative_slope = 0.2
    dense = DenseDecoder.from_model(model)
    assert dense.slope == 0.2
    lim = np.full(2, np.inf, np.float32)
    bound = dense.bind(list(range(14)), np.zeros(14, np.float32), 1.0, -lim, lim, np.float32)
    z = np.random.default_rng(1).normal(size=(4, 14)).astype(np.float32)
    np.testing.assert_allclose(bound(z), model.decode(torch.as_tensor(z)).numpy(), atol=2e-5)
    model.decoder[0][0].act[-1].negative_slope = 0.3  # two slopes: not foldable
    assert DenseDecoder.from_model(model) is None


def test_bind_falls_back_with_a_warning_when_the_weights_drifted():
    torch.manual_seed(0)
    model = FAVAE(FAVAEConfig(seq_len=10), 2).eval()
    dense = DenseDecoder.from_model(model)
    with torch.no_grad():
        model.injects[0].weight.add_(1.0)  # the folded matrices are now stale
    lim = np.full(2, np.inf, np.float32)
    with pytest.warns(UserWarning, match="differs from model.decode"):
        assert dense.bind(list(range(14)), np.zeros(14, np.float32), 1.0, -lim, lim,
                          np.float32) is None
