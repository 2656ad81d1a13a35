"""FAVAE: the factorizing variational autoencoder (Yamada et al., ACML 2020).

A ladder VAE over sequences. The encoder is a stack of time convolutions (features as
channels, convolution along time); each of its ``L`` levels ends in a Gaussian latent. The
decoder runs top-down (paper Eq. 16-18): the top latent is mapped to the top level's feature
map and deconvolved; at each lower level the level's latent, mapped to the same shape and
multiplied by a learnable gate (Hadamard product, initialised to 0.1 as in the VLAE reference
code), is added before that level's two deconvolutions. The loss is the information
bottleneck objective of Eq. 12::

    loss = rec + beta * sum_l |KL_l - C_l|

``rec`` is the squared error summed over time and features and averaged over the batch,
computed on data scaled into [-1, 1] (the Gaussian log-likelihood with fixed variance, up to
constants); ``KL_l`` is the KL divergence of ladder ``l``'s posterior from N(0, I), summed over
its dimensions and averaged over the batch; ``C_l`` is that ladder's capacity, fixed or raised
linearly from 0 over the first part of training.

Unpublished choices (kernel size, stride, channels, how a level's features become a latent)
are fields of ``FAVAEConfig``; ``experiments/architecture_ablation.py`` backs the defaults.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from macroact.models.base import ModelConfig, SequenceModel
from macroact.models.losses import ladder_loss_terms
from macroact.validation import positive_int


@dataclasses.dataclass
class FAVAEConfig(ModelConfig):
    """Architecture and loss of a FAVAE.

    Attributes:
        seq_len: sequence length the model is built for (>= 2; odd lengths work).
        ladder: True for the ladder model (one latent per level); False for the no-ladder
            variant (all ``levels`` conv pairs, one latent at the top).
        latent_dims: latent size per ladder, lower to upper. Default (8, 4, 2), or (14,)
            without the ladder.
        levels: number of levels of two time convolutions each (3 in the paper).
        channels: channels of each level's convolutions, lower to upper.
        kernel_size: time-convolution kernel size (odd).
        conv_stride: time stride of every convolution (2 halves the length per layer).
        beta: weight of the capacity term; 0 gives a plain autoencoder with sampling.
        capacity: C per ladder (nats), lower to upper; default all 0.
        capacity_warmup: fraction of training over which C rises linearly from 0 to
            ``capacity``; 0 keeps C fixed from the start.
        gate_init: initial value of the learnable ladder gates.
        decoder_batchnorm: BatchNorm in the decoder too. Off by default: in training the
            decoder sees sampled latents and in evaluation the posterior means, so its batch
            statistics differ between the two and eval-mode reconstructions suffer (see
            ``experiments/results/architecture_ablation.md``).

    Example:
        >>> cfg = FAVAEConfig(seq_len=100, beta=0.5, capacity=(0.0, 0.0, 0.99))
        >>> cfg.latent_dims
        (8, 4, 2)
    """

    seq_len: int = 100
    ladder: bool = True
    latent_dims: tuple[int, ...] | None = None
    levels: int = 3
    channels: tuple[int, ...] = (32, 64, 64)
    kernel_size: int = 5
    conv_stride: int = 2
    beta: float = 1.0
    capacity: tuple[float, ...] | None = None
    capacity_warmup: float = 0.0
    gate_init: float = 0.1
    decoder_batchnorm: bool = False

    def __post_init__(self):
        if self.latent_dims is None:
            self.latent_dims = (8, 4, 2) if self.ladder else (14,)
        self.latent_dims = tuple(int(d) for d in self.latent_dims)
        self.channels = tuple(int(c) for c in self.channels)
        n_ladders = self.levels if self.ladder else 1
        if self.capacity is None:
            self.capacity = (0.0,) * n_ladders
        self.capacity = tuple(float(c) for c in self.capacity)
        positive_int(self.seq_len, "seq_len", minimum=2)
        positive_int(self.levels, "levels")
        if len(self.channels) != self.levels or min(self.channels) < 1:
            raise ValueError(f"channels must give {self.levels} positive sizes (one per level), "
                             f"got {self.channels}")
        if len(self.latent_dims) != n_ladders or min(self.latent_dims) < 1:
            kind = "the ladder model" if self.ladder else "the no-ladder model"
            raise ValueError(f"latent_dims must give {n_ladders} positive sizes for {kind}, "
                             f"got {self.latent_dims}")
        if len(self.capacity) != n_ladders:
            hint = "one value per ladder, lower to upper" if self.ladder else \
                "one value: the no-ladder model has a single latent"
            raise ValueError(f"capacity {self.capacity} has {len(self.capacity)} values; "
                             f"give {n_ladders} ({hint})")
        if any(c < 0 or not math.isfinite(c) for c in self.capacity):
            raise ValueError(f"capacity values must be finite and >= 0, got {self.capacity}")
        if not (math.isfinite(self.beta) and self.beta >= 0):
            raise ValueError(f"beta must be finite and >= 0, got {self.beta}")
        positive_int(self.kernel_size, "kernel_size")
        positive_int(self.conv_stride, "conv_stride")
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd and >= 1, got {self.kernel_size}")
        # Sizes against the sequence length, before any layer is built: a kernel longer than
        # the sequence sees only padding (and very long ones crash PyTorch's transposed
        # convolutions natively), a stride longer than the sequence skips all of it.
        if self.kernel_size > self.seq_len:
            raise ValueError(f"kernel_size {self.kernel_size} is longer than the sequences "
                             f"(seq_len {self.seq_len}); use an odd kernel_size <= {self.seq_len}")
        if self.conv_stride > self.seq_len:
            raise ValueError(f"conv_stride {self.conv_stride} is longer than the sequences "
                             f"(seq_len {self.seq_len}); use a conv_stride <= {self.seq_len}")
        if not 0.0 <= self.capacity_warmup <= 1.0:
            raise ValueError(f"capacity_warmup is a fraction of training in [0, 1], "
                             f"got {self.capacity_warmup}")

    @property
    def n_ladders(self) -> int:
        return len(self.latent_dims)


def _conv_len(n: int, stride: int) -> int:
    # Conv1d with padding k // 2 and odd k: out = ceil(n / stride).
    return -(-n // stride)


#: Models above this many parameters are refused before any tensor is built.
MAX_PARAMETERS = 500_000_000


def _check_size(c: FAVAEConfig, n_features: int, lengths: list[int]) -> None:
    """Refuse a model too large to build (a clear error instead of an allocation failure)."""
    chans = (n_features,) + tuple(c.channels)
    convs = sum(2 * (chans[i] * chans[i + 1] + chans[i + 1] ** 2) * c.kernel_size
                for i in range(c.levels))
    levels = list(range(c.levels)) if c.ladder else [c.levels - 1]
    heads = sum(3 * c.channels[lvl] * lengths[2 * lvl + 2] * dim
                for lvl, dim in zip(levels, c.latent_dims))
    if convs + heads > MAX_PARAMETERS:
        raise ValueError(f"this FAVAE would have about {convs + heads:.3g} parameters (limit "
                         f"{MAX_PARAMETERS:.0e}); lower channels, latent_dims or kernel_size")


class _Act(nn.Sequential):
    def __init__(self, channels: int, batchnorm: bool = True):
        layers = [nn.BatchNorm1d(channels)] if batchnorm else []
        super().__init__(*layers, nn.LeakyReLU(0.01))


class _Deconv(nn.Module):
    """Transposed time convolution that produces an exact output length."""

    def __init__(self, c_in: int, c_out: int, k: int, stride: int, out_len: int, act: bool,
                 batchnorm: bool):
        super().__init__()
        self.deconv = nn.ConvTranspose1d(c_in, c_out, k, stride=stride, padding=k // 2)
        self.out_len = out_len
        self.act = _Act(c_out, batchnorm) if act else nn.Tanh()

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.act(self.deconv(h, output_size=[self.out_len]))


class FAVAE(SequenceModel):
    """The factorizing VAE over sequences of shape ``(batch, time, features)``.

    Data are given in their own units; the model scales them into [-1, 1] with per-feature
    bounds stored in ``normalizer`` (set by the trainer from the training data, or from an
    action space's bounds), and ``decode``/``reconstruct`` return data units.

    Args:
        config: architecture and loss settings.
        n_features: feature count of the sequences.

    Example:
        >>> model = FAVAE(FAVAEConfig(seq_len=16), n_features=2)
        >>> x = torch.zeros(4, 16, 2)
        >>> out = model(model.normalizer(x))
        >>> sorted(k for k in out if not k.startswith(("kl", "capacity")))
        ['loss', 'rec']
        >>> mu, logvar = model.encode(x)
        >>> tuple(mu.shape), tuple(model.decode(mu).shape)
        ((4, 14), (4, 16, 2))
    """

    name: ClassVar[str] = "favae"
    config_class: ClassVar[type[ModelConfig]] = FAVAEConfig

    def __init__(self, config: FAVAEConfig, n_features: int):
        if n_features < 1:
            raise ValueError(f"n_features must be >= 1, got {n_features}")
        super().__init__(config, n_features)
        c = config
        k, s = c.kernel_size, c.conv_stride
        # lengths[i] is the time length after i conv layers (2 per level).
        lengths = [c.seq_len]
        for _ in range(2 * c.levels):
            lengths.append(_conv_len(lengths[-1], s))
        _check_size(c, n_features, lengths)
        self.level_lengths = lengths[::2]  # level l's output has length level_lengths[l + 1]

        self.encoder = nn.ModuleList()
        c_in = n_features
        for ch in c.channels:
            self.encoder.append(nn.Sequential(
                nn.Conv1d(c_in, ch, k, stride=s, padding=k // 2), _Act(ch),
                nn.Conv1d(ch, ch, k, stride=s, padding=k // 2), _Act(ch)))
            c_in = ch
        # Ladder l reads level ladder_levels[l]: every level with the ladder, the top without.
        self.ladder_levels = list(range(c.levels)) if c.ladder else [c.levels - 1]
        self.heads = nn.ModuleList()
        self.injects = nn.ModuleList()
        self.gates = nn.ParameterDict()  # one per ladder below the top, keyed by ladder index
        for i, (lvl, dim) in enumerate(zip(self.ladder_levels, c.latent_dims)):
            flat = c.channels[lvl] * self.level_lengths[lvl + 1]
            self.heads.append(nn.Linear(flat, 2 * dim))
            self.injects.append(nn.Linear(dim, flat))
            if lvl < c.levels - 1:
                self.gates[str(i)] = nn.Parameter(
                    torch.full((c.channels[lvl], self.level_lengths[lvl + 1]), c.gate_init))
        bn = c.decoder_batchnorm
        self.top_act = _Act(c.channels[-1], bn)
        self.decoder = nn.ModuleList()
        for lvl in range(c.levels):
            ch = c.channels[lvl]
            c_out = c.channels[lvl - 1] if lvl > 0 else n_features
            self.decoder.append(nn.Sequential(
                _Deconv(ch, ch, k, s, lengths[2 * lvl + 1], act=True, batchnorm=bn),
                _Deconv(ch, c_out, k, s, lengths[2 * lvl], act=lvl > 0, batchnorm=bn)))

    # -- structure -------------------------------------------------------------------------
    @property
    def latent_dim(self) -> int:
        """Total latent size (all ladders, concatenated lower to upper)."""
        return sum(self.config.latent_dims)

    @property
    def ladder_slices(self) -> list[slice]:
        """Column ranges of each ladder in the concatenated latent, lower to upper."""
        edges = np.cumsum((0,) + tuple(self.config.latent_dims))
        return [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]

    # -- networks ----------------------------------------------------------------------------
    def encode_ladders(self, x: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per-ladder ``(mu, logvar)`` of normalised input ``(batch, time, features)``."""
        h = x.transpose(1, 2)
        feats = []
        for block in self.encoder:
            h = block(h)
            feats.append(h)
        out = []
        for lvl, head in zip(self.ladder_levels, self.heads):
            mu, logvar = head(feats[lvl].flatten(1)).chunk(2, dim=-1)
            out.append((mu, logvar))
        return out

    def decode_ladders(self, zs: list[torch.Tensor]) -> torch.Tensor:
        """Normalised output ``(batch, time, features)`` from per-ladder latents."""
        by_level = dict(zip(self.ladder_levels, range(len(zs))))
        h = None
        for lvl in reversed(range(self.config.levels)):
            if lvl in by_level:
                i = by_level[lvl]
                inj = self.injects[i](zs[i]).view(
                    zs[i].shape[0], self.config.channels[lvl], self.level_lengths[lvl + 1])
                # The top latent starts the decoder; lower ones enter through their gate.
                h = self.top_act(inj) if h is None else h + self.gates[str(i)] * inj
            h = self.decoder[lvl](h)
        return h.transpose(1, 2)

    def split(self, z: torch.Tensor) -> list[torch.Tensor]:
        """Split a concatenated latent ``(batch, latent_dim)`` into per-ladder tensors."""
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"latent codes must have shape (batch, {self.latent_dim}), "
                             f"got {tuple(z.shape)}")
        return [z[:, s] for s in self.ladder_slices]

    def capacities(self, progress: float = 1.0) -> list[float]:
        """C per ladder at ``progress`` (fraction of training done)."""
        w = self.config.capacity_warmup
        frac = 1.0 if w == 0 else min(1.0, max(0.0, progress) / w)
        return [c * frac for c in self.config.capacity]

    def forward(self, x: torch.Tensor, progress: float = 1.0,
                labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Named loss terms for a normalised batch ``(batch, time, features)``.

        Samples the latents in training mode and uses the posterior means in eval mode.

        Returns:
            ``loss`` (rec + beta * sum_l |KL_l - C_l|), ``rec``, ``kl`` (sum over ladders),
            and per ladder ``i``: ``kl/l{i}``, ``kl_gap/l{i}`` (|KL_i - C_i|),
            ``capacity/l{i}``.
        """
        params = self.encode_ladders(x)
        zs = [mu + torch.randn_like(mu) * (0.5 * lv).exp() if self.training else mu
              for mu, lv in params]
        xhat = self.decode_ladders(zs)
        rec = (xhat - x).pow(2).sum(dim=(1, 2)).mean()
        return ladder_loss_terms(rec, params, self.capacities(progress), self.config.beta)

    # -- public API --------------------------------------------------------------------------
    def encode_normalized(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        params = self.encode_ladders(x)
        return torch.cat([p[0] for p in params], 1), torch.cat([p[1] for p in params], 1)

    def reconstruct_normalized(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode_ladders([mu for mu, _ in self.encode_ladders(x)])

    @torch.no_grad()
    def decode(self, z: Any, normalized: bool = False) -> torch.Tensor:
        """Decode concatenated latents ``(batch, latent_dim)`` into sequences.

        Returns ``(batch, seq_len, features)`` in data units, or in [-1, 1] with
        ``normalized=True``. Runs in whatever train/eval mode the model is in; call
        ``model.eval()`` first (``load`` returns an eval-mode model).
        """
        z = torch.as_tensor(z, dtype=torch.float32, device=self.device)
        if not torch.isfinite(z).all():
            raise ValueError("latent codes contain NaN or inf")
        y = self.decode_ladders(self.split(z))
        return y if normalized else self.normalizer.inverse(y)

    @torch.no_grad()
    def encode_per_ladder(self, x: Any) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per-ladder posterior ``(mu, logvar)`` of raw sequences, lower to upper."""
        return self.encode_ladders(self._prepare(x))
