"""Shared machinery of every sequence model in the package.

A model here takes raw data of shape ``(batch, time, features)``, scales it into [-1, 1]
with statistics it stores as buffers, and returns named loss terms from ``forward``. The
trainer (``macroact.trainer``) owns the loop; metrics (``macroact.evaluation.metrics``) are pure
functions of the arrays that ``encode`` returns. Saving writes the config as JSON, the
``state_dict`` (normalisation statistics included) and library versions into one file that
``torch.load(..., weights_only=True)`` reads back without running code.
"""

from __future__ import annotations

import abc
import dataclasses
import json
import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from macroact.config import Config
from macroact.io import atomic_torch_save, versions

FORMAT_VERSION = 1
#: Largest magnitude accepted in data and normaliser bounds: float32 with room for the
#: differences and squares that scaling and the losses compute.
FLOAT32_LIMIT = 1e18


def check_sequences(x: Any, n_features: int | None = None, seq_len: int | None = None,
                    name: str = "sequences") -> None:
    """Raise a clear ``ValueError`` unless ``x`` is a finite ``(batch, time, features)`` array.

    Args:
        x: array or tensor to check.
        n_features: the feature count the model was built for, if fixed.
        seq_len: the sequence length the model was built for, if fixed.
        name: how the message names ``x``.
    """
    shape = tuple(x.shape)
    if len(shape) != 3:
        raise ValueError(
            f"{name} must have shape (batch, time, features), got shape {shape}; "
            "add a batch axis with x[None] or a feature axis with x[..., None]")
    if n_features is not None and shape[2] != n_features:
        raise ValueError(
            f"{name} have {shape[2]} features but the model was built for {n_features}; "
            "train a model on data with this feature count")
    if seq_len is not None and shape[1] != seq_len:
        raise ValueError(
            f"{name} have length {shape[1]} but the model was built for length {seq_len}; "
            "cut or resample the sequences, or train a model with this length")
    arr = x if isinstance(x, torch.Tensor) else np.asarray(x)
    finite = torch.isfinite(arr).all() if isinstance(arr, torch.Tensor) else np.isfinite(arr).all()
    if not bool(finite):
        raise ValueError(f"{name} contain NaN or inf values; clean or drop those sequences first")
    size = arr.numel() if isinstance(arr, torch.Tensor) else arr.size
    if size and float(abs(arr).max()) > FLOAT32_LIMIT:
        raise ValueError(f"{name} hold values up to {float(abs(arr).max()):.3g}, beyond what the "
                         f"models compute with (|x| <= {FLOAT32_LIMIT:.0e}, float32 with room for "
                         "scaling); rescale the data")


def check_finite_state(state: dict[str, Any], where: str) -> None:
    """Raise a ``ValueError`` naming the first tensor of ``state`` with a NaN or inf value."""
    for name, value in state.items():
        if isinstance(value, torch.Tensor) and value.is_floating_point() \
                and not bool(torch.isfinite(value).all()):
            raise ValueError(f"{where} has NaN or inf values in {name!r}; the file is damaged or "
                             "comes from a diverged run")


def _check_bounds(low: torch.Tensor, high: torch.Tensor, where: str) -> None:
    ok = torch.isfinite(low).all() and torch.isfinite(high).all() and not (high < low).any()
    if not ok or float(torch.cat([low.abs(), high.abs()]).max()) > FLOAT32_LIMIT:
        raise ValueError(f"{where} must be finite with high >= low and |bound| <= "
                         f"{FLOAT32_LIMIT:.0e}, got low={low.tolist()} high={high.tolist()}")


class Normalizer(nn.Module):
    """Per-feature affine map of data into [-1, 1], stored as buffers.

    ``low`` and ``high`` are the per-feature values sent to -1 and +1. A constant feature
    (``high == low``) maps to 0.
    """

    def __init__(self, n_features: int):
        super().__init__()
        self.register_buffer("low", torch.full((n_features,), -1.0))
        self.register_buffer("high", torch.full((n_features,), 1.0))
        self.register_buffer("fitted", torch.tensor(False))

    def set_bounds(self, low: Any, high: Any) -> None:
        """Set the values that map to -1 and +1 (for instance an action space's bounds)."""
        low = torch.as_tensor(np.asarray(low, dtype=np.float32)).reshape(-1)
        high = torch.as_tensor(np.asarray(high, dtype=np.float32)).reshape(-1)
        if low.shape != self.low.shape or high.shape != self.high.shape:
            raise ValueError(
                f"bounds have shapes {tuple(low.shape)} and {tuple(high.shape)} but the model has "
                f"{self.low.numel()} features; pass one low and one high value per feature")
        _check_bounds(low, high, "bounds")
        self.low.copy_(low)
        self.high.copy_(high)
        self.fitted.fill_(True)

    def fit(self, x: torch.Tensor) -> None:
        """Set the bounds to the per-feature minimum and maximum of ``x`` (..., features)."""
        flat = torch.as_tensor(x, dtype=torch.float32).reshape(-1, self.low.numel())
        self.set_bounds(flat.min(0).values, flat.max(0).values)

    def _scale(self) -> tuple[torch.Tensor, torch.Tensor]:
        span = self.high - self.low
        safe = torch.where(span > 0, span, torch.ones_like(span))
        return (self.high + self.low) / 2, safe / 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        centre, half = self._scale()
        y = (x - centre) / half
        return torch.where(self.high > self.low, y, torch.zeros_like(y))

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        centre, half = self._scale()
        return y * half + centre


@dataclasses.dataclass
class ModelConfig(Config):
    """Base of every model config (``macroact.config.Config``: JSON round trip, CLI flags)."""


MODEL_REGISTRY: dict[str, type["SequenceModel"]] = {}


class SequenceModel(nn.Module, metaclass=abc.ABCMeta):
    """Base class: normalisation, the encode/decode API, and safe save/load.

    Subclasses set ``name`` (the registry key), ``config_class``, build their layers in
    ``__init__(config)``, and implement ``forward(x, progress=1.0, labels=None)`` returning a
    dict with at least ``loss`` and ``rec`` (scalars), ``encode_normalized`` returning
    ``(mu, logvar)`` of shape ``(batch, latent_dim)`` and ``reconstruct_normalized``.
    ``needs_labels`` is True for models that take a per-sequence label in training (FHVAE).
    """

    name: ClassVar[str] = ""
    config_class: ClassVar[type[ModelConfig]] = ModelConfig
    needs_labels: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.name:
            MODEL_REGISTRY[cls.name] = cls

    def __init__(self, config: ModelConfig, n_features: int):
        super().__init__()
        self.config = config
        self.normalizer = Normalizer(n_features)

    # -- data checks -------------------------------------------------------------------
    @property
    def n_features(self) -> int:
        return self.normalizer.low.numel()

    @property
    def seq_len(self) -> int | None:
        return getattr(self.config, "seq_len", None)

    @property
    def device(self) -> torch.device:
        return self.normalizer.low.device

    def _prepare(self, x: Any) -> torch.Tensor:
        """Check raw input, convert to a float tensor on the model's device, normalise."""
        check_sequences(x, self.n_features, self.seq_len)
        x = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x,
                            dtype=torch.float32, device=self.device)
        return self.normalizer(x)

    # -- public API shared by every model ---------------------------------------------------
    @torch.no_grad()
    def encode(self, x: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior means and log-variances ``(batch, latent_dim)`` of raw sequences."""
        return self.encode_normalized(self._prepare(x))

    @torch.no_grad()
    def reconstruct(self, x: Any) -> torch.Tensor:
        """Decode the posterior means of raw sequences back into data units."""
        return self.normalizer.inverse(self.reconstruct_normalized(self._prepare(x)))

    @abc.abstractmethod
    def encode_normalized(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mu, logvar)`` of already-normalised sequences (each subclass's encoder)."""

    @abc.abstractmethod
    def reconstruct_normalized(self, x: torch.Tensor) -> torch.Tensor:
        """Decoded posterior means of already-normalised sequences, normalised units."""

    # -- persistence ------------------------------------------------------------------------
    def checkpoint(self) -> dict[str, Any]:
        """Everything ``load`` needs, as plain tensors, strings and numbers."""
        return {
            "format": "macroact.model",
            "format_version": FORMAT_VERSION,
            "model": self.name,
            "config": json.dumps(self.config.to_dict()),
            "n_features": self.n_features,
            "state_dict": {k: v.detach().cpu() for k, v in self.state_dict().items()},
            "versions": versions(),
        }

    def save(self, path: str | os.PathLike) -> None:
        """Save config, weights, normalisation statistics and versions atomically."""
        atomic_torch_save(self.checkpoint(), path)

    @classmethod
    def from_checkpoint(cls, ckpt: dict[str, Any]) -> "SequenceModel":
        if not isinstance(ckpt, dict) or ckpt.get("format") != "macroact.model":
            raise ValueError("not a macroact model file; expected one written by model.save(path)")
        name = ckpt["model"]
        if name not in MODEL_REGISTRY:
            raise ValueError(f"model type {name!r} is unknown; known: {sorted(MODEL_REGISTRY)}")
        model_cls = MODEL_REGISTRY[name]
        if cls is not SequenceModel and not issubclass(model_cls, cls):
            raise ValueError(f"file holds a {name} model, not a {cls.__name__}; "
                             f"load it with SequenceModel.load or {model_cls.__name__}.load")
        try:
            config = model_cls.config_class.from_dict(json.loads(ckpt["config"]))
            model = model_cls(config, n_features=int(ckpt["n_features"]))
            state = ckpt["state_dict"]
            check_finite_state(state, f"the {name} model file")
            model.load_state_dict(state)
        except ValueError:
            raise
        except (KeyError, TypeError, RuntimeError, AttributeError) as e:
            reason = " ".join(str(e).split())[:200]
            raise ValueError(f"the {name} model file is damaged or inconsistent ({type(e).__name__}:"
                             f" {reason}); save the model again") from None
        norm = model.normalizer
        if norm.fitted.numel() and bool(norm.fitted):
            _check_bounds(norm.low, norm.high, f"the {name} model file's normaliser bounds")
        model.eval()
        return model

    @classmethod
    def load(cls, path: str | os.PathLike, map_location: str | torch.device = "cpu") -> "SequenceModel":
        """Load a model saved by ``save``; the file is read with ``weights_only=True``."""
        path = Path(path)
        if path.is_dir():
            path = path / "model.pt"
        if not path.exists():
            raise FileNotFoundError(f"no model file at {str(path)!r}; pass a run directory or a model.pt")
        from macroact.io import torch_load

        ckpt = torch_load(path, "model file", map_location=map_location)
        try:
            return cls.from_checkpoint(ckpt)
        except ValueError as e:
            raise type(e)(f"{str(path)!r}: {e}") from None


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` picks CUDA when present, else CPU; ``"cuda"`` without a GPU is an error."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was asked for but no CUDA GPU is available; use 'cpu' or 'auto'")
    return torch.device(device)
