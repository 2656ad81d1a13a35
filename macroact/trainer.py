"""Training loop for every sequence model of the package.

The trainer owns the loop, logging and checkpoints; models only return named loss terms.
A run directory holds::

    run.json        model name and config, training config, data spec (JSON)
    checkpoint.pt   model, optimiser and RNG state at the last checkpoint (atomic writes)
    model.pt        the final model (``SequenceModel.load(run_dir)`` reads it)
    tb/             TensorBoard scalars and traversal images

A seeded run interrupted and resumed (``resume=True``) ends with the same weights as an
uninterrupted one: batches and latent noise come from RNG states saved in the checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from macroact.io import atomic_torch_save, atomic_write_text
from macroact.models.base import ModelConfig, SequenceModel, check_sequences, resolve_device


class NonFiniteLossError(RuntimeError):
    """Raised when a loss term becomes NaN or inf; the last good checkpoint is kept."""


@dataclasses.dataclass
class TrainConfig(ModelConfig):
    """Optimisation settings (paper Sec. 6.1: Adam, lr 1e-3, batch 128).

    Attributes:
        steps: optimiser steps in total.
        batch_size: sequences per step (the whole data set when it is smaller).
        lr: Adam learning rate.
        seed: seeds weights, batches and latent noise.
        device: "auto" (CUDA when present), "cpu" or "cuda".
        log_every: steps between TensorBoard scalars.
        eval_every: steps between MIG evaluations and traversal images (0: only at the end).
        checkpoint_every: steps between checkpoints (and at the end).
        mig_samples: samples for the sampling MIG estimator.
        lr_schedule: "constant" (the paper's Adam at ``lr``) or "cosine" (``lr`` decayed to 0
            over ``steps`` by a half cosine; a function of the step, so resuming is exact).
    """

    steps: int = 5000
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0
    device: str = "auto"
    log_every: int = 50
    eval_every: int = 0
    checkpoint_every: int = 1000
    mig_samples: int = 10000
    lr_schedule: str = "constant"

    def __post_init__(self):
        if self.lr_schedule not in ("constant", "cosine"):
            raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {self.lr_schedule!r}")
        for name in ("steps", "batch_size", "log_every", "checkpoint_every"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if self.eval_every < 0:
            raise ValueError(f"eval_every must be >= 0, got {self.eval_every}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be positive, got {self.lr}")


def evaluate(model: SequenceModel, sequences: np.ndarray, factors: np.ndarray | None = None,
             mig_samples: int = 10000, seed: int = 0, batch_size: int = 512) -> dict[str, Any]:
    """Reconstruction error and both MIG estimates of a model on a data set.

    ``rec`` uses the training reduction (squared error summed over time and features in the
    normalised [-1, 1] space, averaged over sequences), with posterior means in eval mode;
    ``mse`` is the per-element mean squared error in data units. With ``factors`` it adds
    ``mig_discrete`` (disentanglement_lib's histogram estimator on the means) and
    ``mig_sampled`` (Chen et al.'s estimator over samples of q(z|x)), each with its
    per-factor breakdown.
    """
    was_training = model.training
    model.eval()
    mus, logvars, sq_norm, sq_data = [], [], 0.0, 0.0
    with torch.no_grad():
        for i in range(0, len(sequences), batch_size):
            x = torch.as_tensor(sequences[i:i + batch_size], dtype=torch.float32, device=model.device)
            xn = model._prepare(x)
            xhat = model.reconstruct_normalized(xn)
            sq_norm += float((xhat - xn).pow(2).sum())
            sq_data += float((model.normalizer.inverse(xhat) - x).pow(2).sum())
            mu, lv = model.encode_normalized(xn)
            mus.append(mu.cpu().numpy())
            logvars.append(lv.cpu().numpy())
    model.train(was_training)
    n = len(sequences)
    out: dict[str, Any] = {"rec": sq_norm / n, "mse": sq_data / sequences[0].size / n}
    mu, logvar = np.concatenate(mus), np.concatenate(logvars)
    out["mu"], out["logvar"] = mu, logvar
    if factors is not None:
        from macroact.evaluation import metrics

        d = metrics.mig_details(mu, factors)
        s = metrics.mig_sampled(mu, logvar, factors, n_samples=mig_samples, seed=seed)
        out["mig_discrete"], out["mig_sampled"] = d.score, s.score
        out["mig_discrete_details"], out["mig_sampled_details"] = d, s
    return out


def _rng_state(generator: torch.Generator) -> dict[str, torch.Tensor]:
    state = {"torch": torch.get_rng_state(), "batches": generator.get_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def _set_rng_state(state: dict[str, torch.Tensor], generator: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    generator.set_state(state["batches"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def train(model: SequenceModel, sequences: np.ndarray, config: TrainConfig,
          out_dir: str | Path | None = None, factors: np.ndarray | None = None,
          labels: np.ndarray | None = None, resume: bool = False, progress_bar: bool = True,
          data_spec: dict[str, Any] | None = None,
          on_eval: Callable[[int, dict[str, Any]], None] | None = None) -> list[dict[str, float]]:
    """Train ``model`` on raw ``sequences`` (N, T, D).

    Args:
        model: a freshly built (or loaded) model; its normaliser is fitted to the data unless
            its bounds were already set (for instance to an action space's bounds).
        sequences: training data in data units.
        config: optimisation settings.
        out_dir: run directory for checkpoints, TensorBoard logs and the final model;
            None trains in memory only.
        factors: (N, K) ground-truth labels, for MIG at ``eval_every`` steps.
        labels: (N,) per-sequence labels for models with ``needs_labels`` (FHVAE).
        resume: continue from ``out_dir/checkpoint.pt``.
        progress_bar: show a tqdm bar.
        data_spec: how to reload the data (saved in run.json for ``macroact evaluate``).
        on_eval: called with (step, evaluate(...) result) at each evaluation.

    Returns:
        The logged scalars, one dict per ``log_every`` steps.

    Raises:
        NonFiniteLossError: a loss term became NaN or inf (the message names the step).
    """
    check_sequences(sequences, model.n_features, model.seq_len, "training sequences")
    if model.needs_labels and labels is None:
        raise ValueError(f"{type(model).__name__} needs per-sequence labels; pass labels=")
    device = resolve_device(config.device)
    out = Path(out_dir) if out_dir is not None else None
    ckpt_path = out / "checkpoint.pt" if out is not None else None

    torch.manual_seed(config.seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    data = torch.as_tensor(np.asarray(sequences), dtype=torch.float32)
    if not bool(model.normalizer.fitted):
        model.normalizer.fit(data)
    model.to(device)
    data = data.to(device)
    label_t = torch.as_tensor(labels, dtype=torch.long, device=device) if labels is not None else None
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    start = 0

    if resume:
        if ckpt_path is None or not ckpt_path.exists():
            raise FileNotFoundError(f"cannot resume: no checkpoint at {ckpt_path}; "
                                    "start the run without --resume")
        ckpt = torch.load(ckpt_path, map_location=device, weights_only=True)
        model.load_state_dict(ckpt["model"]["state_dict"])
        optimizer.load_state_dict(ckpt["optimizer"])
        start = int(ckpt["step"])
        _set_rng_state(ckpt["rng"], generator)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        run = {"model": model.name, "model_config": model.config.to_dict(),
               "train_config": config.to_dict(), "data": data_spec or {},
               "n_features": model.n_features}
        atomic_write_text(json.dumps(run, indent=2), out / "run.json")

    def save_checkpoint(step: int) -> None:
        if ckpt_path is None:
            return
        atomic_torch_save({"model": model.checkpoint(), "optimizer": optimizer.state_dict(),
                           "step": step, "rng": _rng_state(generator)}, ckpt_path)

    writer = None
    if out is not None:
        from torch.utils.tensorboard import SummaryWriter
        writer = SummaryWriter(str(out / "tb"), purge_step=start if resume else None)

    n = len(data)
    batch = min(config.batch_size, n)
    history: list[dict[str, float]] = []
    bar = None
    if progress_bar:
        from tqdm.auto import tqdm
        bar = tqdm(total=config.steps, initial=start, desc="train", unit="step", leave=False)
    last_good = start
    model.train()
    t0 = time.perf_counter()
    try:
        # Checkpoints are written only between steps, so that every one resumes exactly.
        for step in range(start, config.steps):
            idx = torch.randperm(n, generator=generator)[:batch].to(device)
            x = model.normalizer(data[idx])
            terms = model(x, progress=step / config.steps,
                          labels=label_t[idx] if label_t is not None else None)
            loss = terms["loss"]
            if not torch.isfinite(loss):
                bad = [k for k, v in terms.items() if not torch.isfinite(v).all()]
                where = f"; the last good checkpoint (step {last_good}) is in {ckpt_path}" \
                    if ckpt_path is not None and ckpt_path.exists() else ""
                raise NonFiniteLossError(
                    f"non-finite loss at step {step} (terms {bad}){where}; "
                    "lower the learning rate or beta, or check the data")
            if config.lr_schedule == "cosine":
                for group in optimizer.param_groups:
                    group["lr"] = config.lr * 0.5 * (1.0 + math.cos(math.pi * step / config.steps))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            done = step + 1
            if done % config.log_every == 0 or done == config.steps:
                scalars = {k: float(v.detach()) for k, v in terms.items()}
                scalars["step"] = done
                history.append(scalars)
                if writer is not None:
                    for k, v in scalars.items():
                        if k != "step":
                            writer.add_scalar(f"train/{k}", v, done)
                if bar is not None:
                    bar.set_postfix(loss=f"{scalars['loss']:.4g}", rec=f"{scalars['rec']:.4g}")
            if config.eval_every and done % config.eval_every == 0 and done < config.steps:
                _evaluate_and_log(model, sequences, factors, config, writer, done, on_eval)
            if done % config.checkpoint_every == 0 or done == config.steps:
                save_checkpoint(done)
                last_good = done
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    if writer is not None:
        writer.add_scalar("time/seconds", time.perf_counter() - t0, config.steps)
    model.eval()
    if factors is not None or writer is not None:
        _evaluate_and_log(model, sequences, factors, config, writer, config.steps, on_eval)
    if out is not None:
        model.save(out / "model.pt")
    if writer is not None:
        writer.close()
    return history


def _evaluate_and_log(model, sequences, factors, config, writer, step, on_eval) -> None:
    was_training = model.training
    # MIG needs the whole data set; the sampled estimator is capped for speed mid-run.
    res = evaluate(model, sequences, factors, mig_samples=config.mig_samples, seed=config.seed)
    model.train(was_training)
    if writer is not None:
        writer.add_scalar("eval/rec", res["rec"], step)
        for k in ("mig_discrete", "mig_sampled"):
            if k in res:
                writer.add_scalar(f"eval/{k}", res[k], step)
        if model.name == "favae":  # traversals draw vector sequences decoded from one code
            from macroact.evaluation.traverse import traversal_figure

            writer.add_figure("traversal", traversal_figure(model, sequences), step)
    if on_eval is not None:
        on_eval(step, res)
