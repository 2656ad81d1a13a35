"""DSAE: the disentangled sequential autoencoder (Li & Mandt, ICML 2018), vectors or videos.

The generative model (paper Eq. 6 of FAVAE, Eq. 1 of Li & Mandt) is::

    p(x_{1:T}, z_{1:T}, f) = p(f) prod_t p(z_t | z_<t) p(x_t | z_t, f)

with a static latent ``f`` (prior N(0, I)) and a dynamic latent ``z_t`` whose prior is an LSTM
over the previous latents. The encoder is Li & Mandt's "full" posterior
``q(f | x_{1:T}) q(z_{1:T} | f, x_{1:T})``:

- every step ``x_t`` goes through a feature layer: for vector sequences a linear layer with
  LeakyReLU(0.2); for videos (``frame_channels > 0``) the paper's per-frame convolutions,
  :class:`macroact.models.frames.FrameEncoder`, then that linear layer;
- ``q(f | x_{1:T})`` reads the final hidden states of both directions of a bidirectional LSTM
  over the features;
- ``q(z_t | f, x_{1:T})`` comes from a bidirectional LSTM over ``[features_t, f]`` followed by a
  forward RNN, one Gaussian per step;
- ``p(z_t | z_<t)`` is an LSTM fed ``[0, z_1, ..., z_{T-1}]`` (teacher forcing with the
  posterior samples), so its KL term is computed in one pass, without a Python loop over time;
- ``p(x_t | z_t, f)`` is an MLP per step (two hidden layers, LeakyReLU(0.2), linear output);
  for videos the MLP outputs ``frame_features`` values that :class:`macroact.models.frames.FrameDecoder`
  turns into a frame (DSAE's deconvolutions, with BatchNorm, tanh output).

Videos are passed in the flat layout ``(batch, time, channels * size * size)``, values in
[-1, 1] (one shared identity normalisation, as :class:`macroact.models.framed.FramedFAVAE`);
``reconstruct`` returns the same layout. ``input_noise_std`` adds fresh Gaussian noise to the
encoder's input in training mode while ``rec`` targets the clean input (the FAVAE paper's
noisy Sprites).

The loss is::

    loss = rec + beta * (KL(q(f) || N(0, I)) + sum_t KL(q(z_t) || p(z_t | z_<t)))

``rec`` is the squared error summed over time and features and averaged over the batch on
data scaled into [-1, 1], the same reduction as FAVAE's (and the public DSAE reference code's
``mse_loss(reduction="sum")``); the KL terms are summed over dimensions (and time) and averaged
over the batch. ``beta = 1`` is the plain ELBO of the paper.

Sizes: the FAVAE paper compares against a 14-dimensional FAVAE code, so the defaults split 14
evenly (``f_dim = z_dim = 7``) with 256 hidden units everywhere.
"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar, NamedTuple

import torch
from torch import nn

from macroact.models.base import ModelConfig, SequenceModel
from macroact.models.losses import gaussian_kl
from macroact.validation import non_negative, positive_int
from macroact.models.frames import FrameDecoder, FrameEncoder, check_frame_size, check_noise_std


@dataclasses.dataclass
class DSAEConfig(ModelConfig):
    """Architecture and loss of a DSAE.

    Attributes:
        seq_len: sequence length the model is checked against (the networks are recurrent and
            run at any length).
        f_dim: size of the static latent ``f``.
        z_dim: size of the dynamic latent ``z_t`` (per step).
        hidden: hidden units of every LSTM, RNN and MLP layer.
        beta: weight of the KL terms; 1 is the ELBO.
        frame_channels: 0 for vector sequences; else colour channels of video frames
            ``(frame_channels, frame_size, frame_size)``, given flat, which go through the
            per-frame networks of :mod:`macroact.models.frames`.
        frame_size: frame height and width (a multiple of 8); videos only.
        frame_base: channels of the frame encoder's first convolution (48 in DSAE's code).
        frame_features: features per frame between the frame networks and the LSTMs.
        input_noise_std: std of the Gaussian noise added to the encoder's input in training
            (0: none); ``rec`` targets the clean input.

    Example:
        >>> DSAEConfig(seq_len=100).f_dim + DSAEConfig(seq_len=100).z_dim
        14
    """

    seq_len: int = 100
    f_dim: int = 7
    z_dim: int = 7
    hidden: int = 256
    beta: float = 1.0
    frame_channels: int = 0
    frame_size: int = 64
    frame_base: int = 48
    frame_features: int = 48
    input_noise_std: float = 0.0

    def __post_init__(self):
        positive_int(self.frame_channels, "frame_channels", minimum=0)
        check_frame_size(self.frame_size, "frame_size")
        positive_int(self.frame_base, "frame_base")
        positive_int(self.frame_features, "frame_features")
        self.input_noise_std = check_noise_std(self.input_noise_std)
        positive_int(self.seq_len, "seq_len")
        positive_int(self.f_dim, "f_dim")
        positive_int(self.z_dim, "z_dim")
        positive_int(self.hidden, "hidden")
        if isinstance(self.beta, bool) or not isinstance(self.beta, (int, float)) \
                or not (math.isfinite(self.beta) and self.beta >= 0):
            raise ValueError(f"beta must be a finite number >= 0, got {self.beta!r}")
        self.beta = float(self.beta)


class DSAEPosterior(NamedTuple):
    """Posterior parameters of a batch.

    Attributes:
        f_mu, f_logvar: static latent, ``(batch, f_dim)``.
        z_mu, z_logvar: dynamic latents, ``(batch, time, z_dim)``.
    """

    f_mu: torch.Tensor
    f_logvar: torch.Tensor
    z_mu: torch.Tensor
    z_logvar: torch.Tensor


class DSAE(SequenceModel):
    """Disentangled sequential autoencoder over ``(batch, time, features)`` sequences.

    Args:
        config: architecture and loss settings.
        n_features: feature count of the sequences.

    Example:
        >>> model = DSAE(DSAEConfig(seq_len=12), n_features=2)
        >>> x = torch.zeros(3, 12, 2)
        >>> out = model(model.normalizer(x))
        >>> sorted(out)
        ['kl', 'kl/f', 'kl/z', 'loss', 'rec']
        >>> mu, logvar = model.encode(x)
        >>> tuple(mu.shape), tuple(model.reconstruct(x).shape)
        ((3, 14), (3, 12, 2))
    """

    name: ClassVar[str] = "dsae"
    config_class: ClassVar[type[ModelConfig]] = DSAEConfig
    needs_labels: ClassVar[bool] = False

    def __init__(self, config: DSAEConfig, n_features: int):
        positive_int(n_features, "n_features")
        h, fd, zd = config.hidden, config.f_dim, config.z_dim
        c, size = config.frame_channels, config.frame_size
        self._pixels = c * size * size
        if c:
            if n_features != self._pixels:
                raise ValueError(
                    f"n_features={n_features} does not match frames ({c}, {size}, {size}) "
                    f"({self._pixels} values per frame); pass flat clips of {self._pixels} "
                    "values per step or change frame_channels/frame_size")
            # One shared identity map on [-1, 1]: a per-pixel one would stretch constant pixels.
            super().__init__(config, n_features=1)
            self.normalizer.set_bounds([-1.0], [1.0])
            ff = config.frame_features
            self.features = nn.Sequential(
                nn.Unflatten(2, (c, size, size)),
                FrameEncoder(c, size, config.frame_base, ff), nn.Linear(ff, h), nn.LeakyReLU(0.2))
            out: list[nn.Module] = [nn.Linear(h, ff), nn.LeakyReLU(0.2),
                                    FrameDecoder(ff, c, size, config.frame_base), nn.Flatten(2)]
        else:
            super().__init__(config, n_features)
            self.features = nn.Sequential(nn.Linear(n_features, h), nn.LeakyReLU(0.2))
            out = [nn.Linear(h, n_features)]
        self.f_lstm = nn.LSTM(h, h, batch_first=True, bidirectional=True)
        self.f_head = nn.Linear(2 * h, 2 * fd)
        self.z_lstm = nn.LSTM(h + fd, h, batch_first=True, bidirectional=True)
        self.z_rnn = nn.RNN(2 * h, h, batch_first=True)
        self.z_head = nn.Linear(h, 2 * zd)
        self.prior_lstm = nn.LSTM(zd, h, batch_first=True)
        self.prior_head = nn.Linear(h, 2 * zd)
        self.decoder = nn.Sequential(
            nn.Linear(zd + fd, h), nn.LeakyReLU(0.2),
            nn.Linear(h, h), nn.LeakyReLU(0.2), *out)

    @property
    def n_features(self) -> int:
        """Values per step: features of a vector sequence, or pixels of one frame."""
        return self._pixels or super().n_features

    @property
    def latent_dim(self) -> int:
        """Size of ``encode``'s per-sequence vector: ``f_dim + z_dim``."""
        return self.config.f_dim + self.config.z_dim

    # -- networks ----------------------------------------------------------------------------
    @staticmethod
    def _sample(mu: torch.Tensor, logvar: torch.Tensor, sample: bool) -> torch.Tensor:
        return mu + torch.randn_like(mu) * (0.5 * logvar).exp() if sample else mu

    def _posterior(self, x: torch.Tensor, sample: bool) -> tuple[DSAEPosterior, torch.Tensor]:
        feats = self.features(x)
        _, (h_n, _) = self.f_lstm(feats)  # h_n: (2, batch, hidden), both directions' last
        f_mu, f_logvar = self.f_head(torch.cat([h_n[0], h_n[1]], -1)).chunk(2, -1)
        f = self._sample(f_mu, f_logvar, sample)
        f_seq = f.unsqueeze(1).expand(-1, x.shape[1], -1)
        h_bi, _ = self.z_lstm(torch.cat([feats, f_seq], -1))
        h_z, _ = self.z_rnn(h_bi)
        z_mu, z_logvar = self.z_head(h_z).chunk(2, -1)
        return DSAEPosterior(f_mu, f_logvar, z_mu, z_logvar), f

    def posterior(self, x: torch.Tensor, sample_f: bool = False) -> DSAEPosterior:
        """Posterior parameters of normalised input ``(batch, time, features)``.

        ``q(z_t)`` depends on ``f``: on ``q(f)``'s mean, or on a sample with ``sample_f=True``.
        """
        return self._posterior(x, sample_f)[0]

    def prior(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of ``p(z_t | z_<t)`` for every step of ``z`` ``(batch, time, z_dim)``.

        Returns:
            Two ``(batch, time, z_dim)`` tensors; step ``t`` depends on ``z_1 .. z_{t-1}`` only
            (step 1 on a zero input).
        """
        shifted = torch.cat([torch.zeros_like(z[:, :1]), z[:, :-1]], 1)
        h, _ = self.prior_lstm(shifted)
        mu, logvar = self.prior_head(h).chunk(2, -1)
        return mu, logvar

    def decode_latents(self, f: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Normalised output ``(batch, time, features)`` from ``f`` ``(batch, f_dim)`` and
        ``z`` ``(batch, time, z_dim)``."""
        f_seq = f.unsqueeze(1).expand(-1, z.shape[1], -1)
        return self.decoder(torch.cat([z, f_seq], -1))

    def forward(self, x: torch.Tensor, progress: float = 1.0,
                labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Named loss terms for a normalised batch ``(batch, time, features)``.

        Samples the latents in training mode and uses the posterior means in eval mode; in
        training mode the encoder also sees ``input_noise_std`` noise while ``rec`` compares
        with the clean ``x``. ``progress`` and ``labels`` are accepted for the trainer's
        interface and not used (DSAE has no annealing schedule and is unsupervised).

        Returns:
            ``loss`` (rec + beta * kl), ``rec``, ``kl`` (sum of both terms), ``kl/f`` and
            ``kl/z`` (summed over time), all scalars.
        """
        noisy = x
        if self.training and self.config.input_noise_std > 0:
            noisy = x + self.config.input_noise_std * torch.randn_like(x)
        post, f = self._posterior(noisy, self.training)
        z = self._sample(post.z_mu, post.z_logvar, self.training)
        xhat = self.decode_latents(f, z)
        rec = (xhat - x).pow(2).sum(dim=(1, 2)).mean()
        kl_f = gaussian_kl(post.f_mu, post.f_logvar, torch.zeros_like(post.f_mu),
                           torch.zeros_like(post.f_logvar)).sum(1).mean()
        p_mu, p_logvar = self.prior(z)
        kl_z = gaussian_kl(post.z_mu, post.z_logvar, p_mu, p_logvar).sum(dim=(1, 2)).mean()
        kl = kl_f + kl_z
        return {"loss": rec + self.config.beta * kl, "rec": rec, "kl": kl,
                "kl/f": kl_f, "kl/z": kl_z}

    # -- public API --------------------------------------------------------------------------
    def encode_normalized(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One Gaussian per sequence, for metrics that need a single code (MIG).

        The vector is ``[f, zbar]`` of size ``f_dim + z_dim``: ``f``'s posterior as is, and
        ``zbar`` summarising ``z_{1:T}`` by the mean over time of the per-step posterior means,
        with log-variance the log of the per-step variances' mean over time. Computed with
        ``q(z_t)`` conditioned on ``f``'s posterior mean.

        Args:
            x: normalised sequences ``(batch, time, features)``.

        Returns:
            ``(mu, logvar)``, each ``(batch, f_dim + z_dim)``.
        """
        post = self.posterior(x)
        z_mu = post.z_mu.mean(1)
        z_logvar = post.z_logvar.exp().mean(1).log()
        return torch.cat([post.f_mu, z_mu], 1), torch.cat([post.f_logvar, z_logvar], 1)

    def reconstruct_normalized(self, x: torch.Tensor) -> torch.Tensor:
        """Decode the posterior means of ``f`` and ``z_{1:T}``: ``(batch, time, features)``."""
        post = self.posterior(x)
        return self.decode_latents(post.f_mu, post.z_mu)
