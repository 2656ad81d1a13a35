"""Sequence-VAE baselines (DSAE, FHVAE) sharing FAVAE's trainer, data and metrics."""
