"""FAVAE on videos: a per-frame encoder in front of FAVAE's time convolutions, a decoder behind.

The FAVAE authors ran their model on Sprites by encoding every frame to a feature vector with
DSAE's frame network, running FAVAE's ladder of time convolutions over the feature sequence,
and decoding its output back to frames (the authors' supplement, repository
favae/favae_ijcai2019). :class:`FramedFAVAE` composes the pieces that already exist: :class:`macroact.models.frames.FrameEncoder` ``(B, T, C, H, W) -> (B, T, F)``,
a :class:`macroact.models.favae.FAVAE` over ``F``-dim features (its ``encode_ladders`` and
``decode_ladders``, so kernel sizes, ladders, gates and capacities mean exactly what they mean
there), and :class:`macroact.models.frames.FrameDecoder` ``(B, T, F) -> (B, T, C, H, W)``, which reads
FAVAE's tanh output. The loss is FAVAE's information bottleneck objective (paper Eq. 12) with
the reconstruction measured on pixels::

    loss = rec + beta * sum_l |KL_l - C_l|

``rec`` is the squared error summed over time, channels and pixels and averaged over the batch,
on frames in [-1, 1]; ``KL_l`` and ``C_l`` are as in FAVAE (``beta``, ``capacity`` and
``capacity_warmup`` are fields of the nested :class:`~macroact.models.favae.FAVAEConfig`).

Input layouts. Frames ``(batch, time, channels, size, size)`` are the natural layout; the same
data flattened to ``(batch, time, channels * size * size)`` is accepted everywhere too, so the
package's trainer and ``evaluate`` (which check for 3-D sequences) run this model unchanged.
``n_features`` is the pixel count of one frame, the feature count of the flat layout. Outputs
of ``reconstruct`` keep the input's layout; ``decode`` returns frames.

Normalisation. One affine map shared by all pixels (a single-feature
:class:`~macroact.models.base.Normalizer`), initialised to the identity on [-1, 1] and marked fitted,
so the trainer leaves it alone: frames from :func:`macroact.data.sprites.sprites` are already in
[-1, 1] (noisy ones leave it, and must not be squeezed back). For 0..255 frames call
``model.normalizer.set_bounds(0, 255)`` before training.

Input noise. The FAVAE paper adds Gaussian noise of variance 0.5 to the Sprites frames, yet
reports Rec of about 255 summed over 8 x 3 x 64 x 64 values, far below the 49,152 that
reconstructing the noise itself would cost; so its targets were the clean frames.
``input_noise_std`` reproduces that as a denoising objective: in training mode the encoder
sees ``frames + noise`` (fresh noise every call) and ``rec`` compares with the clean frames.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np
import torch

from macroact.models.base import ModelConfig, SequenceModel
from macroact.models.favae import FAVAE, FAVAEConfig
from macroact.models.losses import ladder_loss_terms
from macroact.validation import positive_int
from macroact.models.frames import FrameDecoder, FrameEncoder, check_frame_size, check_noise_std

__all__ = ["FramedFAVAE", "FramedFAVAEConfig"]


@dataclasses.dataclass
class FramedFAVAEConfig(ModelConfig):
    """Frame networks and the FAVAE that runs between them.

    Attributes:
        frame_channels: colour channels per frame (3 for RGB).
        frame_size: frame height and width in pixels (square, a multiple of 8).
        frame_features: size ``F`` of each frame's feature vector (FAVAE's input features).
        frame_base: channels of the frame encoder's first convolution (48 in the FAVAE
            authors' DSAE network; smaller is much cheaper).
        input_noise_std: std of Gaussian noise added to the encoder's input frames in training
            mode; ``rec`` still targets the clean frames (0 turns it off; the paper's Sprites
            setting is sqrt(0.5)).
        frame_decoder_batchnorm: BatchNorm in the frame decoder, as in DSAE's network that
            the paper used (default). ``False`` gives its layers biases instead, which removes
            the mismatch between BatchNorm's running statistics (gathered on sampled codes) and
            evaluation on posterior means (see :class:`macroact.models.frames.FrameDecoder`).
        favae: the time model over feature sequences, a :class:`FAVAEConfig` (or its dict);
            its ``seq_len`` is the clip length, and it holds ``beta`` and ``capacity``.

    Example:
        >>> cfg = FramedFAVAEConfig(frame_base=8, frame_features=16,
        ...                         favae={"seq_len": 8, "beta": 20.0, "capacity": [20, 10, 5]})
        >>> cfg.seq_len, cfg.favae.capacity
        (8, (20.0, 10.0, 5.0))
    """

    frame_channels: int = 3
    frame_size: int = 64
    frame_features: int = 48
    frame_base: int = 48
    input_noise_std: float = 0.0
    frame_decoder_batchnorm: bool = True
    favae: FAVAEConfig | dict = dataclasses.field(default_factory=lambda: FAVAEConfig(seq_len=8))

    def __post_init__(self):
        self.frame_channels = positive_int(self.frame_channels, "frame_channels")
        self.frame_size = check_frame_size(self.frame_size, "frame_size")
        self.frame_features = positive_int(self.frame_features, "frame_features")
        self.frame_base = positive_int(self.frame_base, "frame_base")
        self.input_noise_std = check_noise_std(self.input_noise_std)
        if not isinstance(self.frame_decoder_batchnorm, bool):
            raise ValueError(f"frame_decoder_batchnorm must be True or False, "
                             f"got {self.frame_decoder_batchnorm!r}")
        if isinstance(self.favae, dict):
            self.favae = FAVAEConfig.from_dict(self.favae)
        if not isinstance(self.favae, FAVAEConfig):
            raise ValueError(f"favae must be a FAVAEConfig or a dict of its fields, "
                             f"got {type(self.favae).__name__}")

    @property
    def seq_len(self) -> int:
        """Frames per clip (the nested FAVAE's ``seq_len``)."""
        return self.favae.seq_len

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        """``(channels, size, size)`` of one frame."""
        return (self.frame_channels, self.frame_size, self.frame_size)


class FramedFAVAE(SequenceModel):
    """FAVAE over videos ``(batch, time, channels, size, size)`` through per-frame networks.

    Args:
        config: frame networks and the nested FAVAE config.
        n_features: pixels per frame, ``channels * size * size``; optional (it follows from
            the config) and checked when given (``load`` passes it).

    Example:
        >>> cfg = FramedFAVAEConfig(frame_size=16, frame_base=4, frame_features=8,
        ...                         favae={"seq_len": 8, "channels": [8, 8, 8]})
        >>> model = FramedFAVAE(cfg)
        >>> x = torch.rand(2, 8, 3, 16, 16) * 2 - 1
        >>> sorted(k for k in model(x) if not k.startswith(("kl", "capacity")))
        ['loss', 'rec']
        >>> model = model.eval()
        >>> mu, logvar = model.encode(x)
        >>> tuple(mu.shape), tuple(model.decode(mu).shape)
        ((2, 14), (2, 8, 3, 16, 16))
    """

    name: ClassVar[str] = "framed_favae"
    config_class: ClassVar[type[ModelConfig]] = FramedFAVAEConfig

    def __init__(self, config: FramedFAVAEConfig, n_features: int | None = None):
        if not isinstance(config, FramedFAVAEConfig):
            raise ValueError(f"config must be a FramedFAVAEConfig, got {type(config).__name__}")
        pixels = int(np.prod(config.frame_shape))
        if n_features is not None and int(n_features) != pixels:
            raise ValueError(
                f"n_features={n_features} does not match the config's frames "
                f"{config.frame_shape} ({pixels} values per frame); leave n_features out")
        # One shared pixel map: a per-pixel one would stretch pixels that never vary.
        super().__init__(config, n_features=1)
        self.normalizer.set_bounds([-1.0], [1.0])
        self._pixels = pixels
        c = config
        self.frame_encoder = FrameEncoder(c.frame_channels, c.frame_size, c.frame_base,
                                          c.frame_features)
        self.favae = FAVAE(c.favae, n_features=c.frame_features)
        self.frame_decoder = FrameDecoder(c.frame_features, c.frame_channels, c.frame_size,
                                          c.frame_base, batchnorm=c.frame_decoder_batchnorm)

    # -- structure -------------------------------------------------------------------------
    @property
    def n_features(self) -> int:
        """Values per frame, the feature count of the flat ``(batch, time, C*H*W)`` layout."""
        return self._pixels

    @property
    def latent_dim(self) -> int:
        return self.favae.latent_dim

    @property
    def ladder_slices(self) -> list[slice]:
        return self.favae.ladder_slices

    # -- input handling -------------------------------------------------------------------------
    def _check_frames(self, x: Any, name: str = "frames") -> None:
        shape = tuple(x.shape)
        cfg = self.config
        frame = cfg.frame_shape
        if len(shape) == 5:
            if shape[2:] != frame:
                raise ValueError(
                    f"{name} have frames of shape {shape[2:]} but the model was built for "
                    f"{frame}; resize the frames or build the model with matching "
                    "frame_channels/frame_size")
        elif len(shape) == 3:
            if shape[2] != self._pixels:
                raise ValueError(
                    f"flat {name} have {shape[2]} values per step but frames {frame} have "
                    f"{self._pixels}; pass (batch, time, {', '.join(map(str, frame))}) frames")
        else:
            raise ValueError(
                f"{name} must have shape (batch, time, {', '.join(map(str, frame))}) or the flat "
                f"(batch, time, {self._pixels}), got shape {shape}; add a batch axis with x[None]")
        if shape[1] != cfg.seq_len:
            raise ValueError(f"{name} have {shape[1]} frames per clip but the model was built for "
                             f"{cfg.seq_len}; cut the clips or set favae.seq_len={shape[1]}")
        finite = torch.isfinite(x).all() if isinstance(x, torch.Tensor) \
            else np.isfinite(np.asarray(x)).all()
        if not bool(finite):
            raise ValueError(f"{name} contain NaN or inf values; clean or drop those clips first")

    def _as_frames(self, x: torch.Tensor) -> torch.Tensor:
        self._check_frames(x)
        return x.reshape(x.shape[0], x.shape[1], *self.config.frame_shape)

    def _prepare(self, x: Any) -> torch.Tensor:
        """Check raw clips (either layout), move them to the model's device, normalise.

        The result keeps the input's layout.
        """
        self._check_frames(x)
        x = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x,
                            dtype=torch.float32, device=self.device)
        return self.normalizer(x)

    # -- networks ---------------------------------------------------------------------------
    def encode_ladders(self, x: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per-ladder ``(mu, logvar)`` of normalised clips (either layout)."""
        return self.favae.encode_ladders(self.frame_encoder(self._as_frames(x)))

    def decode_ladders(self, zs: list[torch.Tensor]) -> torch.Tensor:
        """Normalised frames ``(batch, time, channels, size, size)`` from per-ladder latents."""
        return self.frame_decoder(self.favae.decode_ladders(zs))

    def forward(self, x: torch.Tensor, progress: float = 1.0,
                labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Named loss terms for a normalised batch of clips (either layout).

        In training mode the latents are sampled and the encoder sees the frames plus
        ``input_noise_std`` noise; in eval mode it sees the frames and uses posterior means.

        Returns:
            ``loss`` (rec + beta * sum_l |KL_l - C_l|), ``rec`` (squared error summed over
            time and pixels, averaged over the batch), ``kl`` (sum over ladders), and per
            ladder ``i``: ``kl/l{i}``, ``kl_gap/l{i}`` (|KL_i - C_i|), ``capacity/l{i}``.
        """
        frames = self._as_frames(x)
        noisy = frames
        if self.training and self.config.input_noise_std > 0:
            noisy = frames + self.config.input_noise_std * torch.randn_like(frames)
        params = self.encode_ladders(noisy)
        zs = [mu + torch.randn_like(mu) * (0.5 * lv).exp() if self.training else mu
              for mu, lv in params]
        rec = (self.decode_ladders(zs) - frames).pow(2).flatten(1).sum(1).mean()
        return ladder_loss_terms(rec, params, self.favae.capacities(progress),
                                 self.favae.config.beta)

    # -- public API --------------------------------------------------------------------------
    def encode_normalized(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Concatenated ``(mu, logvar)``, each ``(batch, latent_dim)``, lower ladder first."""
        params = self.encode_ladders(x)
        return torch.cat([p[0] for p in params], 1), torch.cat([p[1] for p in params], 1)

    def reconstruct_normalized(self, x: torch.Tensor) -> torch.Tensor:
        """Decoded posterior means, in the layout of ``x``."""
        y = self.decode_ladders([mu for mu, _ in self.encode_ladders(x)])
        return y.reshape(x.shape)

    @torch.no_grad()
    def decode(self, z: Any, normalized: bool = False) -> torch.Tensor:
        """Decode concatenated latents ``(batch, latent_dim)`` into frames.

        Returns ``(batch, seq_len, channels, size, size)`` in data units, or in [-1, 1] with
        ``normalized=True``. Call ``model.eval()`` first: the frame networks use BatchNorm.
        """
        z = torch.as_tensor(z, dtype=torch.float32, device=self.device)
        if not torch.isfinite(z).all():
            raise ValueError("latent codes contain NaN or inf")
        y = self.decode_ladders(self.favae.split(z))
        return y if normalized else self.normalizer.inverse(y)

    @torch.no_grad()
    def encode_per_ladder(self, x: Any) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per-ladder posterior ``(mu, logvar)`` of raw clips, lower to upper."""
        return self.encode_ladders(self._prepare(x))
