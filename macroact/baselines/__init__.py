"""Sequence-VAE baselines (DSAE, FHVAE) sharing FAVAE's trainer, data and metrics.

Importing this package registers ``"dsae"`` and ``"fhvae"`` in ``macroact.base.MODEL_REGISTRY``,
so ``SequenceModel.load`` reads their saved files.
"""

from macroact.baselines.dsae import DSAE, DSAEConfig, DSAEPosterior
from macroact.baselines.fhvae import FHVAE, FHVAEConfig, FHVAEPosterior

__all__ = ["DSAE", "DSAEConfig", "DSAEPosterior", "FHVAE", "FHVAEConfig", "FHVAEPosterior"]
