"""FHVAE: the factorized hierarchical VAE (Hsu, Zhang & Glass, NIPS 2017), for vector sequences.

A sequence is cut into segments of ``segment_len`` steps. Each segment ``m`` of sequence ``n``
has two latents (the paper's names; the authors' code ``wnhsu/FactorizedHierarchicalVAE``
calls them the other way round):

- ``z1``, the segment-level latent, prior N(0, I);
- ``z2``, the sequence-level latent, prior N(mu2[n], sigma_z2^2 I) with sigma_z2 = 0.5, where
  ``mu2`` is a learnable lookup table with prior N(0, I) (initialised from it), one row per
  sequence label.

The posterior is ``q(z2 | x_seg) q(z1 | x_seg, z2)``: an LSTM reads the segment and its final
hidden state gives ``z2``; a second LSTM reads the segment with ``z2`` appended to every step
and gives ``z1``. The decoder is an LSTM fed ``[z1, z2]`` at every step, with a linear output
(a per-step mean, plus a log-variance for the Gaussian likelihood). These match the authors'
``lstm_1L_256`` configuration (one layer of 256 units, final hidden state as the encoder
output, no autoregressive decoder input).

The loss per sequence is the negative segment lower bounds summed over its segments, plus the
discriminative term of the paper (weight ``alpha``)::

    loss = rec_term + beta * (KL(q(z1) || N(0, I)) + KL(q(z2) || N(mu2[y], 0.25 I)))
           - log p(mu2[y]) + alpha * (-log p(y | z2))

with ``log p(y | z2) = log softmax_k(-|E[z2] - mu2[k]|^2 / (2 sigma_z2^2))[y]``, a softmax over
the Gaussian log-likelihoods of every label (the authors' code uses the posterior mean of the
sequence latent here). Every term is summed over dimensions and segments and averaged over
the batch; ``rec_term`` is ``rec`` (squared error summed over time and features, averaged over
the batch, as in FAVAE) for ``decoder_likelihood="mse"``, or the Gaussian negative
log-likelihood with a learned per-step variance for ``"gaussian"`` (the authors' choice; the
FAVAE paper tried both and always reports the squared error as ``rec``). ``beta = 1`` is the
paper's objective.

Labels: the original treats each training sequence as its own label (so ``log p(mu2)`` is
counted once per sequence, as ``1/N`` per segment). Here the caller picks the label (one
factor, as the FAVAE comparison does); the ``log p(mu2[y])`` term is still counted once per
sequence, which overweights that weak N(0, I) prior when many sequences share a label.

Segments: a sequence of length ``T`` gives ``ceil(T / segment_len)`` segments starting at
``0, L, 2L, ...``, except that when ``L`` does not divide ``T`` the last segment is the final
``L`` steps and overlaps the one before it. The stitched reconstruction takes each step from
the first segment that covers it, and ``rec`` is computed on that stitched sequence, so every
step counts once.
"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar, NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from macroact.models.base import ModelConfig, SequenceModel
from macroact.models.losses import gaussian_kl
from macroact.validation import non_negative, positive_int

LIKELIHOODS = ("mse", "gaussian")
# Floor on the Gaussian decoder's log-variance (variance 1e-4, std 0.01 in [-1, 1] units): the
# 2D data are noise-free, and an unbounded learned variance collapses and blows up the loss.
MIN_DECODER_LOGVAR = math.log(1e-4)


@dataclasses.dataclass
class FHVAEConfig(ModelConfig):
    """Architecture and loss of an FHVAE.

    Attributes:
        n_labels: number of distinct sequence labels (rows of the ``mu2`` table); labels are
            integers in ``[0, n_labels)``. Set it from the training data.
        seq_len: sequence length the model is checked against (any length >= ``segment_len``
            runs).
        segment_len: steps per segment (20 in the authors' speech setup).
        z1_dim: size of the segment latent.
        z2_dim: size of the sequence latent.
        hidden: LSTM units of both encoders and the decoder.
        z2_prior_std: sigma_z2, the std of p(z2 | mu2) (0.5 in the paper).
        alpha: weight of the discriminative term -log p(y | z2) (1 in the FAVAE comparison;
            0 turns it off).
        beta: weight of the two KL terms; 1 is the paper's lower bound.
        decoder_likelihood: ``"mse"`` (squared error, as FAVAE) or ``"gaussian"`` (per-step
            mean and log-variance, as the authors' code).

    Example:
        >>> cfg = FHVAEConfig(n_labels=2, seq_len=100)
        >>> cfg.segment_len, cfg.z1_dim + cfg.z2_dim
        (20, 14)
    """

    n_labels: int
    seq_len: int = 100
    segment_len: int = 20
    z1_dim: int = 7
    z2_dim: int = 7
    hidden: int = 256
    z2_prior_std: float = 0.5
    alpha: float = 1.0
    beta: float = 1.0
    decoder_likelihood: str = "mse"

    def __post_init__(self):
        if isinstance(self.n_labels, bool) or not isinstance(self.n_labels, int) or self.n_labels < 1:
            raise ValueError(f"n_labels must be an integer >= 1 (the number of distinct sequence "
                             f"labels in the training data), got {self.n_labels!r}")
        positive_int(self.seq_len, "seq_len")
        positive_int(self.segment_len, "segment_len")
        if self.segment_len > self.seq_len:
            raise ValueError(f"segment_len {self.segment_len} is longer than seq_len "
                             f"{self.seq_len}; use segment_len <= {self.seq_len}")
        positive_int(self.z1_dim, "z1_dim")
        positive_int(self.z2_dim, "z2_dim")
        positive_int(self.hidden, "hidden")
        self.z2_prior_std = non_negative(self.z2_prior_std, "z2_prior_std", positive=True)
        self.alpha = non_negative(self.alpha, "alpha")
        self.beta = non_negative(self.beta, "beta")
        if self.decoder_likelihood not in LIKELIHOODS:
            raise ValueError(f"decoder_likelihood must be one of {LIKELIHOODS}, "
                             f"got {self.decoder_likelihood!r}")


class FHVAEPosterior(NamedTuple):
    """Per-segment posterior parameters, each ``(batch, n_segments, dim)``."""

    z1_mu: torch.Tensor
    z1_logvar: torch.Tensor
    z2_mu: torch.Tensor
    z2_logvar: torch.Tensor


class FHVAE(SequenceModel):
    """Factorized hierarchical VAE over ``(batch, time, features)`` sequences.

    Training needs one integer label per sequence (``needs_labels``); encoding and
    reconstruction do not.

    Args:
        config: architecture and loss settings.
        n_features: feature count of the sequences.

    Example:
        >>> model = FHVAE(FHVAEConfig(n_labels=3, seq_len=30, segment_len=10), n_features=2)
        >>> x = torch.zeros(4, 30, 2)
        >>> out = model(model.normalizer(x), labels=torch.tensor([0, 1, 2, 0]))
        >>> sorted(out)
        ['disc', 'kl', 'kl/z1', 'kl/z2', 'loss', 'prior/mu2', 'rec']
        >>> mu, logvar = model.encode(x)
        >>> tuple(mu.shape), tuple(model.reconstruct(x).shape)
        ((4, 14), (4, 30, 2))
    """

    name: ClassVar[str] = "fhvae"
    config_class: ClassVar[type[ModelConfig]] = FHVAEConfig
    needs_labels: ClassVar[bool] = True

    def __init__(self, config: FHVAEConfig, n_features: int):
        positive_int(n_features, "n_features")
        super().__init__(config, n_features)
        h, d1, d2 = config.hidden, config.z1_dim, config.z2_dim
        self.z2_encoder = nn.LSTM(n_features, h, batch_first=True)
        self.z2_head = nn.Linear(h, 2 * d2)
        self.z1_encoder = nn.LSTM(n_features + d2, h, batch_first=True)
        self.z1_head = nn.Linear(h, 2 * d1)
        self.decoder = nn.LSTM(d1 + d2, h, batch_first=True)
        n_out = 2 * n_features if config.decoder_likelihood == "gaussian" else n_features
        self.out = nn.Linear(h, n_out)
        # mu2 ~ N(0, I), the prior of the paper; the authors initialise the table from it too.
        self.mu2 = nn.Parameter(torch.randn(config.n_labels, d2))

    @property
    def latent_dim(self) -> int:
        """Size of ``encode``'s per-sequence vector: ``z1_dim + z2_dim``."""
        return self.config.z1_dim + self.config.z2_dim

    # -- segments ----------------------------------------------------------------------------
    def n_segments(self, length: int) -> int:
        """Number of segments of a sequence of ``length`` steps (``ceil(length / segment_len)``)."""
        return -(-length // self.config.segment_len)

    def segment(self, x: torch.Tensor) -> torch.Tensor:
        """Cut ``(batch, time, features)`` into ``(batch, n_segments, segment_len, features)``.

        The last segment is the final ``segment_len`` steps (overlapping the previous segment
        when ``segment_len`` does not divide ``time``).
        """
        b, t, d = x.shape
        L = self.config.segment_len
        if t < L:
            raise ValueError(f"sequences have length {t}, shorter than segment_len {L}; "
                             f"use longer sequences or a model with segment_len <= {t}")
        n_full = t // L
        segs = x[:, :n_full * L].reshape(b, n_full, L, d)
        if n_full * L < t:
            segs = torch.cat([segs, x[:, t - L:].unsqueeze(1)], 1)
        return segs

    def stitch(self, segs: torch.Tensor, length: int) -> torch.Tensor:
        """Inverse of ``segment``: ``(batch, n_segments, segment_len, features)`` to
        ``(batch, length, features)``, each step from the first segment covering it."""
        b, s, L, d = segs.shape
        head = segs[:, :s - 1].reshape(b, (s - 1) * L, d)
        tail = length - (s - 1) * L
        return torch.cat([head, segs[:, -1, L - tail:]], 1)

    # -- networks ----------------------------------------------------------------------------
    @staticmethod
    def _sample(mu: torch.Tensor, logvar: torch.Tensor, sample: bool) -> torch.Tensor:
        return mu + torch.randn_like(mu) * (0.5 * logvar).exp() if sample else mu

    def _encode_segments(self, segs: torch.Tensor, sample: bool
                         ) -> tuple[FHVAEPosterior, torch.Tensor, torch.Tensor]:
        b, s, L, d = segs.shape
        flat = segs.reshape(b * s, L, d)
        _, (h2, _) = self.z2_encoder(flat)
        z2_mu, z2_logvar = self.z2_head(h2[-1]).chunk(2, -1)
        z2 = self._sample(z2_mu, z2_logvar, sample)
        _, (h1, _) = self.z1_encoder(torch.cat([flat, z2.unsqueeze(1).expand(-1, L, -1)], -1))
        z1_mu, z1_logvar = self.z1_head(h1[-1]).chunk(2, -1)
        z1 = self._sample(z1_mu, z1_logvar, sample)
        post = FHVAEPosterior(*(v.reshape(b, s, -1) for v in (z1_mu, z1_logvar, z2_mu, z2_logvar)))
        return post, z1.reshape(b, s, -1), z2.reshape(b, s, -1)

    def posterior(self, x: torch.Tensor, sample_z2: bool = False) -> FHVAEPosterior:
        """Per-segment posterior parameters of normalised input ``(batch, time, features)``.

        ``q(z1)`` depends on ``z2``: on ``q(z2)``'s mean, or on a sample with ``sample_z2=True``.
        Each returned tensor is ``(batch, n_segments, dim)``.
        """
        return self._encode_segments(self.segment(x), sample_z2)[0]

    def decode_segments(self, z1: torch.Tensor, z2: torch.Tensor
                        ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Decode per-segment latents ``(batch, n_segments, dim)``.

        Returns:
            The mean ``(batch, n_segments, segment_len, features)`` and, for the Gaussian
            likelihood, the log-variance of the same shape (else ``None``).
        """
        b, s, _ = z1.shape
        L = self.config.segment_len
        z = torch.cat([z1, z2], -1).reshape(b * s, 1, -1).expand(-1, L, -1)
        h, _ = self.decoder(z)
        y = self.out(h)
        if self.config.decoder_likelihood == "gaussian":
            mean, raw = y.chunk(2, -1)
            logvar = MIN_DECODER_LOGVAR + F.softplus(raw - MIN_DECODER_LOGVAR)
            return mean.reshape(b, s, L, -1), logvar.reshape(b, s, L, -1)
        return y.reshape(b, s, L, -1), None

    def _check_labels(self, labels: torch.Tensor | None, batch: int) -> torch.Tensor:
        if labels is None:
            raise ValueError("FHVAE needs one integer label per sequence in training; "
                             "call model(x, labels=y) with y of shape (batch,)")
        labels = torch.as_tensor(labels, device=self.device)
        if labels.dtype.is_floating_point or labels.dtype == torch.bool or labels.is_complex():
            raise ValueError(f"labels must be integers, got dtype {labels.dtype}")
        if tuple(labels.shape) != (batch,):
            raise ValueError(f"labels must have shape ({batch},), one per sequence, "
                             f"got {tuple(labels.shape)}")
        lo, hi = int(labels.min()), int(labels.max())
        n = self.config.n_labels
        if lo < 0 or hi >= n:
            raise ValueError(f"labels must lie in [0, {n}) but range over [{lo}, {hi}]; "
                             f"build the model with n_labels={max(hi + 1, n)} "
                             "(the number of distinct labels in the training data)")
        return labels.long()

    def forward(self, x: torch.Tensor, progress: float = 1.0,
                labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Named loss terms for a normalised batch ``(batch, time, features)``.

        Samples the latents in training mode and uses the posterior means in eval mode.
        ``progress`` is accepted for the trainer's interface and not used.

        Args:
            x: normalised sequences ``(batch, time, features)``, ``time >= segment_len``.
            progress: fraction of training done (unused).
            labels: ``(batch,)`` integer label of each sequence, in ``[0, n_labels)``.

        Returns:
            Scalars ``loss``, ``rec`` (squared error), ``kl`` (``kl/z1 + kl/z2``), ``kl/z1``,
            ``kl/z2``, ``prior/mu2`` (-log p(mu2[y])), ``disc`` (-log p(y | z2), summed over
            segments) and, for the Gaussian likelihood, ``nll``.
        """
        labels = self._check_labels(labels, x.shape[0])
        c = self.config
        segs = self.segment(x)
        post, z1, z2 = self._encode_segments(segs, self.training)
        mean, logvar = self.decode_segments(z1, z2)
        xhat = self.stitch(mean, x.shape[1])
        rec = (xhat - x).pow(2).sum(dim=(1, 2)).mean()
        out = {"rec": rec}
        if logvar is None:
            rec_term = rec
        else:
            lv = self.stitch(logvar, x.shape[1])
            nll = 0.5 * (math.log(2 * math.pi) + lv + (x - xhat).pow(2) / lv.exp())
            rec_term = nll.sum(dim=(1, 2)).mean()
            out["nll"] = rec_term

        kl_z1 = gaussian_kl(post.z1_mu, post.z1_logvar, torch.zeros_like(post.z1_mu),
                             torch.zeros_like(post.z1_logvar)).sum(dim=(1, 2)).mean()
        mu2 = self.mu2[labels].unsqueeze(1)  # (batch, 1, z2_dim), shared by the segments
        prior_logvar = torch.full_like(post.z2_logvar, 2 * math.log(c.z2_prior_std))
        kl_z2 = gaussian_kl(post.z2_mu, post.z2_logvar, mu2, prior_logvar).sum(dim=(1, 2)).mean()
        neg_log_p_mu2 = 0.5 * (math.log(2 * math.pi) + mu2.pow(2)).sum(dim=(1, 2)).mean()
        # log p(y | z2): softmax over every label's Gaussian log-likelihood of E[z2].
        d2 = (post.z2_mu.unsqueeze(2) - self.mu2).pow(2).sum(-1)  # (batch, segments, n_labels)
        logits = -d2 / (2 * c.z2_prior_std ** 2)
        log_p_y = F.log_softmax(logits, -1)
        idx = labels.view(-1, 1, 1).expand(-1, logits.shape[1], 1)
        disc = -log_p_y.gather(-1, idx).squeeze(-1).sum(1).mean()

        kl = kl_z1 + kl_z2
        out.update({"kl": kl, "kl/z1": kl_z1, "kl/z2": kl_z2, "prior/mu2": neg_log_p_mu2,
                    "disc": disc})
        out["loss"] = rec_term + c.beta * kl + neg_log_p_mu2 + c.alpha * disc
        return out

    # -- public API --------------------------------------------------------------------------
    def encode_normalized(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One Gaussian per sequence, for metrics that need a single code (MIG).

        The vector is ``[z1, z2]`` of size ``z1_dim + z2_dim``; each part's posterior mean is
        averaged over the sequence's segments, and its log-variance is the log of the
        segments' mean variance. ``q(z1)`` is conditioned on ``q(z2)``'s mean.

        Args:
            x: normalised sequences ``(batch, time, features)``.

        Returns:
            ``(mu, logvar)``, each ``(batch, z1_dim + z2_dim)``.
        """
        post = self.posterior(x)
        mu = torch.cat([post.z1_mu.mean(1), post.z2_mu.mean(1)], 1)
        logvar = torch.cat([post.z1_logvar.exp().mean(1).log(),
                            post.z2_logvar.exp().mean(1).log()], 1)
        return mu, logvar

    def reconstruct_normalized(self, x: torch.Tensor) -> torch.Tensor:
        """Decode every segment's posterior means and stitch: ``(batch, time, features)``."""
        post = self.posterior(x)
        mean, _ = self.decode_segments(post.z1_mu, post.z2_mu)
        return self.stitch(mean, x.shape[1])
