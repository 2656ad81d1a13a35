"""The dense fast path equals the FAVAE decoder it was folded from."""

import numpy as np
import pytest
import torch

from macroact.fastdecode import DenseDecoder
from macroact.favae import FAVAE, FAVAEConfig


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
    z = np.random.default_rng(0).normal(size=(5, model.latent_dim)).astype(np.float32) * 2
    np.testing.assert_allclose(dense(z), model.decode(torch.as_tensor(z)).numpy(), atol=2e-5)
    assert not model.training


def test_size_limit():
    model = FAVAE(FAVAEConfig(seq_len=10), 2)
    assert DenseDecoder.from_model(model, max_entries=10) is None
