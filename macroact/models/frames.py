"""Per-frame convolutional encoder and decoder for video sequences (DSAE-style frame networks).

FAVAE runs on videos by encoding each frame to a feature vector before its time convolutions
and decoding feature vectors back to frames after them (the FAVAE authors used the
``encode_frames``/``decode_frames`` networks of a public DSAE implementation, "conv_dim=48").
These modules fold time into the batch, so any sequence model over ``(batch, time, features)``
can use them:

- :class:`FrameEncoder`: ``(B, T, C, H, W) -> (B, T, F)``. Three 4x4 stride-2 convolutions
  (H -> H/2 -> H/4 -> H/8, e.g. 64 -> 32 -> 16 -> 8) with ``base``, ``2 base``, ``4 base``
  channels, each followed by BatchNorm and LeakyReLU, then a linear layer to ``out_features``
  with BatchNorm and LeakyReLU.
- :class:`FrameDecoder`: the mirror, ``(B, T, F) -> (B, T, C, H, W)``: a linear layer to
  ``4 base x H/8 x W/8`` (BatchNorm, LeakyReLU), then three 4x4 stride-2 transposed
  convolutions (BatchNorm and LeakyReLU after the first two) and ``tanh``, so outputs lie in
  (-1, 1) like frames rescaled to [-1, 1].

The "48" in FAVAE's note is read here as both the base channel count and the default feature
size: in the DSAE code it names the per-frame feature size (``conv_dim``), while the channel
count there is a separate ``step``; both are arguments.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from macroact.validation import positive_int

_N_DOWN = 3  # stride-2 layers: a side shrinks by 8


def check_frame_size(size: int, name: str = "size") -> int:
    """``size`` if it is a positive multiple of 8 (the frame networks halve it three times)."""
    positive_int(size, name)
    if size % (2 ** _N_DOWN):
        raise ValueError(
            f"{name} must be a multiple of {2 ** _N_DOWN} (three stride-2 layers), got {size}; "
            "resize the frames, e.g. to 64")
    return size


def check_noise_std(value: float, name: str = "input_noise_std") -> float:
    """``value`` as a float if it is a finite number >= 0 (a std of input noise; 0 is none)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


class FrameEncoder(nn.Module):
    """Encodes every frame of a batch of videos to a feature vector.

    Args:
        channels: colour channels per frame (3 for RGB).
        size: frame height and width in pixels (square frames, a multiple of 8).
        base: channels of the first convolution (doubled by each of the next two).
        out_features: size F of each frame's feature vector.
        negative_slope: slope of the LeakyReLU units (DSAE uses 0.2).

    Shapes:
        input ``(batch, time, channels, size, size)``; output ``(batch, time, out_features)``.

    Example:
        >>> enc = FrameEncoder(base=8, out_features=16)
        >>> enc(torch.zeros(2, 5, 3, 64, 64)).shape
        torch.Size([2, 5, 16])
    """

    def __init__(self, channels: int = 3, size: int = 64, base: int = 48, out_features: int = 48,
                 negative_slope: float = 0.2) -> None:
        super().__init__()
        self.channels = positive_int(channels, "channels")
        self.size = check_frame_size(size)
        self.base = positive_int(base, "base")
        self.out_features = positive_int(out_features, "out_features")
        layers: list[nn.Module] = []
        c_in = channels
        for i in range(_N_DOWN):
            c_out = base * 2 ** i
            layers += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1, bias=False),
                       nn.BatchNorm2d(c_out), nn.LeakyReLU(negative_slope)]
            c_in = c_out
        self.conv = nn.Sequential(*layers)
        side = size // 2 ** _N_DOWN
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(c_in * side * side, out_features, bias=False),
                                nn.BatchNorm1d(out_features), nn.LeakyReLU(negative_slope))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encode frames ``(B, T, C, H, W)`` to features ``(B, T, F)``."""
        expected = (self.channels, self.size, self.size)
        if x.dim() != 5 or tuple(x.shape[2:]) != expected:
            raise ValueError(
                f"FrameEncoder expects (batch, time, {', '.join(map(str, expected))}) frames, got shape "
                f"{tuple(x.shape)}; add a time axis with x.unsqueeze(1) for single images, or build the "
                "encoder with matching channels/size")
        b, t = x.shape[:2]
        return self.fc(self.conv(x.reshape(b * t, *expected))).reshape(b, t, self.out_features)


class FrameDecoder(nn.Module):
    """Decodes a feature vector per time step to a frame (the mirror of :class:`FrameEncoder`).

    Args:
        in_features: size F of each step's feature vector.
        channels: colour channels per frame (3 for RGB).
        size: frame height and width in pixels (a multiple of 8).
        base: channels before the last transposed convolution (4 base at the first one).
        negative_slope: slope of the LeakyReLU units.
        batchnorm: BatchNorm after the linear layer and the first two transposed convolutions
            (DSAE's network). Without it those layers get biases instead: a VAE decoder is
            trained on sampled codes and evaluated on posterior means, and BatchNorm's running
            statistics, gathered on the former, misfit the latter.

    Shapes:
        input ``(batch, time, in_features)``; output ``(batch, time, channels, size, size)``
        in (-1, 1) (tanh).

    Example:
        >>> dec = FrameDecoder(in_features=16, base=8)
        >>> dec(torch.zeros(2, 5, 16)).shape
        torch.Size([2, 5, 3, 64, 64])
    """

    def __init__(self, in_features: int = 48, channels: int = 3, size: int = 64, base: int = 48,
                 negative_slope: float = 0.2, batchnorm: bool = True) -> None:
        super().__init__()
        if not isinstance(batchnorm, bool):
            raise ValueError(f"batchnorm must be True or False, got {batchnorm!r}")
        self.in_features = positive_int(in_features, "in_features")
        self.channels = positive_int(channels, "channels")
        self.size = check_frame_size(size)
        self.base = positive_int(base, "base")
        self._side = size // 2 ** _N_DOWN
        c_top = base * 2 ** (_N_DOWN - 1)
        n_fc = c_top * self._side ** 2
        self.fc = nn.Sequential(nn.Linear(in_features, n_fc, bias=not batchnorm),
                                nn.BatchNorm1d(n_fc) if batchnorm else nn.Identity(),
                                nn.LeakyReLU(negative_slope))
        layers: list[nn.Module] = []
        c_in = c_top
        for i in reversed(range(_N_DOWN - 1)):
            c_out = base * 2 ** i
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, bias=not batchnorm),
                       nn.BatchNorm2d(c_out) if batchnorm else nn.Identity(),
                       nn.LeakyReLU(negative_slope)]
            c_in = c_out
        layers += [nn.ConvTranspose2d(c_in, channels, 4, stride=2, padding=1), nn.Tanh()]
        self.deconv = nn.Sequential(*layers)
        self._c_top = c_top

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Decode features ``(B, T, F)`` to frames ``(B, T, C, H, W)``."""
        if z.dim() != 3 or z.shape[-1] != self.in_features:
            raise ValueError(
                f"FrameDecoder expects (batch, time, {self.in_features}) features, got shape "
                f"{tuple(z.shape)}; pass one {self.in_features}-dim feature vector per time step, or build "
                "the decoder with in_features equal to the last axis")
        b, t = z.shape[:2]
        h = self.fc(z.reshape(b * t, self.in_features)).reshape(b * t, self._c_top, self._side, self._side)
        return self.deconv(h).reshape(b, t, self.channels, self.size, self.size)
