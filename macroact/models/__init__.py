"""Sequence models: FAVAE, its framed (video) variant, and the FHVAE and DSAE baselines.

Every model subclasses ``SequenceModel`` (``macroact.models.base``), which keeps a registry of
subclasses by their ``name``; a subclass joins it when its module is imported, and this package
imports every built-in one, so ``load_model`` reads any model file the package writes. The base
class never imports its subclasses. To add a model, subclass ``SequenceModel`` with a ``name``
and a ``config_class`` in a module of its own and import it here.

    >>> from macroact.models import MODEL_REGISTRY
    >>> sorted(MODEL_REGISTRY)
    ['closed_loop_favae', 'dsae', 'favae', 'fhvae', 'framed_favae']
"""

from __future__ import annotations

import os

import torch

from macroact.models.base import (MODEL_REGISTRY, ModelConfig, SequenceModel, check_sequences,
                                  resolve_device)
from macroact.models.closed_loop import ClosedLoopFAVAE, ClosedLoopFAVAEConfig
from macroact.models.dsae import DSAE, DSAEConfig, DSAEPosterior
from macroact.models.favae import FAVAE, FAVAEConfig
from macroact.models.fhvae import FHVAE, FHVAEConfig, FHVAEPosterior
from macroact.models.framed import FramedFAVAE, FramedFAVAEConfig


def load_model(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> SequenceModel:
    """Load any model saved by ``model.save`` (a run directory or a ``model.pt``).

    The file is read with ``torch.load(..., weights_only=True)``: loading runs no code.
    """
    return SequenceModel.load(path, map_location=map_location)


def model_class(name: str) -> type[SequenceModel]:
    """The registered model class called ``name`` (e.g. ``"favae"``)."""
    if name not in MODEL_REGISTRY:
        raise ValueError(f"model type {name!r} is unknown; known: {sorted(MODEL_REGISTRY)}")
    return MODEL_REGISTRY[name]


__all__ = ["MODEL_REGISTRY", "ModelConfig", "SequenceModel", "check_sequences", "resolve_device",
           "load_model", "model_class", "FAVAE", "FAVAEConfig", "FramedFAVAE", "FramedFAVAEConfig",
           "DSAE", "DSAEConfig", "DSAEPosterior", "FHVAE", "FHVAEConfig", "FHVAEPosterior",
           "ClosedLoopFAVAE", "ClosedLoopFAVAEConfig"]
