"""Codes of demonstration chunks for skill models: closed-loop models and skill priors.

``encode_demos`` encodes every chunk of a demonstrations file with any model of a run
(action chunks for a FAVAE, packed (action, observation) chunks for a ``ClosedLoopFAVAE``)
and, with ``prior=True``, adds ``prior_logp``: log p(mu | s) of each chunk's posterior mean
under the run's skill prior (``RUN_DIR/prior.pt``) at the chunk's first observation.
``train_prior`` fits that prior (``macroact prior``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from macroact.io import atomic_write, check_output_file


def _episodes(data: Any):
    from macroact.data.demos import EpisodeData

    if isinstance(data, EpisodeData):
        return data
    return EpisodeData.load(data)


def chunk_codes(model, episodes, stride: int | None = None, tail: str = "drop",
                batch_size: int = 1024) -> tuple[Any, dict[str, np.ndarray], np.ndarray]:
    """The chunks, ``encode_chunks``' arrays and each chunk's first observation ``(N, O)``."""
    from macroact.data.skills import model_inputs
    from macroact.evaluation.encode import encode_chunks

    chunks, x, first = model_inputs(model, episodes, stride, tail)
    if len(x) == 0:
        raise ValueError(f"no chunk of length {model.seq_len} in the {episodes.env_id} episodes; "
                         "use --tail pad_zero or longer episodes")
    return chunks, encode_chunks(model, x, batch_size), first


def prior_log_prob(prior, mu: np.ndarray, obs: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """log p(mu | obs) ``(N,)`` under a ``SkillPrior``."""
    out = []
    with torch.no_grad():
        for i in range(0, len(mu), batch_size):
            out.append(prior.log_prob(torch.as_tensor(mu[i:i + batch_size], dtype=torch.float32),
                                      torch.as_tensor(obs[i:i + batch_size],
                                                      dtype=torch.float32)).numpy())
    return np.concatenate(out) if out else np.zeros(0)


def encode_demos(run_dir: str | Path, data: Any, out_path: str | Path, stride: int | None = None,
                 tail: str | None = None, batch_size: int = 1024,
                 prior: bool = False) -> tuple[Path, dict[str, float]]:
    """Encode a demonstrations file with the run's model; returns the path and a summary.

    The ``.npz`` holds ``encode_chunks``' arrays, ``episode``, ``start``, ``factors``,
    ``first_obs`` and, with ``prior``, ``prior_logp`` (nats).
    """
    from macroact.evaluation.encode import resolve_tail
    from macroact.models.base import SequenceModel

    tail = resolve_tail(run_dir, tail)
    check_output_file(out_path)
    model = SequenceModel.load(run_dir)
    p = None
    if prior:
        from macroact.models.prior import SkillPrior

        base = Path(run_dir)
        p = SkillPrior.load(base if base.is_dir() else base.parent)
        if p.config.latent_dim != model.latent_dim:
            raise ValueError(f"the prior is over {p.config.latent_dim} latents but the model has "
                             f"{model.latent_dim}; train the prior again with `macroact prior`")
    chunks, arrays, first = chunk_codes(model, _episodes(data), stride, tail, batch_size)
    arrays.update(episode=chunks.episode, start=chunks.start, factors=chunks.factors,
                  first_obs=first)
    summary = {"chunks": float(len(first)), "rec_error_mean": float(arrays["rec_error"].mean())}
    if p is not None:
        arrays["prior_logp"] = prior_log_prob(p, arrays["mu"], first)
        summary["prior_logp_mean"] = float(arrays["prior_logp"].mean())
    path = atomic_write(out_path, lambda f: np.savez(f, **arrays))
    return path, summary


def train_prior(run_dir: str | Path, data: Any, config_kwargs: dict[str, Any] | None = None,
                train=None, batch_size: int = 1024) -> tuple[Path, dict[str, float]]:
    """Fit the run's skill prior on its chunks of ``data`` and save ``RUN_DIR/prior.pt``.

    Chunks are cut at the model's horizon with the run's tail rule. Returns the path and a
    summary: the final loss and the mean log p(mu | s) of the chunks' posterior means.
    """
    from macroact.evaluation.encode import resolve_tail
    from macroact.models.base import SequenceModel
    from macroact.models.prior import PRIOR_FILE, SkillPriorConfig, fit_prior

    run = Path(run_dir)
    if not run.is_dir():
        raise ValueError(f"{str(run_dir)!r} is not a run directory; pass the --out directory of "
                         "`macroact train` (the prior is saved beside its model.pt)")
    model = SequenceModel.load(run)
    if not hasattr(model, "latent_dim"):
        raise ValueError(f"a {model.name} has no latent code to put a skill prior on")
    chunks, arrays, first = chunk_codes(model, _episodes(data), None, resolve_tail(run, None),
                                        batch_size)
    config = SkillPriorConfig(obs_dim=first.shape[1], latent_dim=model.latent_dim,
                              **(config_kwargs or {}))
    prior, history = fit_prior(first, arrays["mu"], arrays["logvar"], config, train)
    path = run / PRIOR_FILE
    prior.save(path)
    logp = prior_log_prob(prior, arrays["mu"], first)
    return path, {"chunks": float(len(first)), "loss": history[-1],
                  "prior_logp_mean": float(logp.mean())}
