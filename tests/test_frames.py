"""Per-frame encoder/decoder: shapes, gradients, input checks."""

from __future__ import annotations

import pytest
import torch

from macroact.models.frames import FrameDecoder, FrameEncoder


def test_encoder_decoder_shapes():
    torch.manual_seed(0)
    enc, dec = FrameEncoder(base=8, out_features=12), FrameDecoder(in_features=12, base=8)
    x = torch.rand(2, 8, 3, 64, 64) * 2 - 1
    h = enc(x)
    assert h.shape == (2, 8, 12)
    y = dec(h)
    assert y.shape == (2, 8, 3, 64, 64)
    assert y.abs().max() < 1  # tanh output


def test_default_is_48_channels_and_features():
    enc = FrameEncoder()
    convs = [m for m in enc.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [48, 96, 192]
    assert all(c.kernel_size == (4, 4) and c.stride == (2, 2) for c in convs)
    assert enc.out_features == 48 and FrameDecoder().in_features == 48


def test_other_sizes_and_channels():
    enc = FrameEncoder(channels=1, size=32, base=4, out_features=6)
    dec = FrameDecoder(in_features=6, channels=1, size=32, base=4)
    assert dec(enc(torch.zeros(3, 2, 1, 32, 32))).shape == (3, 2, 1, 32, 32)


@pytest.mark.parametrize("batchnorm", [True, False])
def test_gradients_reach_every_parameter(batchnorm):
    torch.manual_seed(0)
    enc = FrameEncoder(base=4, out_features=8)
    dec = FrameDecoder(in_features=8, base=4, batchnorm=batchnorm)
    x = torch.rand(2, 3, 3, 64, 64) * 2 - 1
    loss = ((dec(enc(x)) - x) ** 2).mean()
    loss.backward()
    for module in (enc, dec):
        for name, p in module.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_time_steps_are_independent_in_eval():
    torch.manual_seed(0)
    enc = FrameEncoder(base=4, out_features=8).eval()
    x = torch.rand(1, 4, 3, 64, 64)
    with torch.no_grad():
        together = enc(x)
        alone = enc(x[:, 2:3])
    torch.testing.assert_close(together[:, 2:3], alone)


def test_decoder_without_batchnorm_is_the_same_in_train_and_eval():
    torch.manual_seed(0)
    plain = FrameDecoder(in_features=8, base=4, batchnorm=False)
    assert not any(isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d))
                   for m in plain.modules())
    z = torch.randn(2, 3, 8)
    with torch.no_grad():
        torch.testing.assert_close(plain.train()(z), plain.eval()(z))
    normed = FrameDecoder(in_features=8, base=4).train()
    with torch.no_grad():
        assert not torch.allclose(normed(z), normed.eval()(z))
    with pytest.raises(ValueError, match="batchnorm"):
        FrameDecoder(batchnorm="no")


@pytest.mark.parametrize("shape", [(2, 3, 64, 64), (2, 4, 1, 64, 64), (2, 4, 3, 32, 32)])
def test_encoder_rejects_bad_shapes(shape):
    with pytest.raises(ValueError, match="FrameEncoder expects"):
        FrameEncoder(base=4, out_features=8)(torch.zeros(shape))


@pytest.mark.parametrize("shape", [(2, 8), (2, 4, 9)])
def test_decoder_rejects_bad_shapes(shape):
    with pytest.raises(ValueError, match="FrameDecoder expects"):
        FrameDecoder(in_features=8, base=4)(torch.zeros(shape))


@pytest.mark.parametrize("kwargs", [{"size": 60}, {"base": 0}, {"channels": 2.5}])
def test_bad_construction_raises(kwargs):
    with pytest.raises(ValueError):
        FrameEncoder(**kwargs)
