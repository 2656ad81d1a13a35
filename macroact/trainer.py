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
import hashlib
import json
import math
import time
from pathlib import Path
from typing import Any, Callable, Literal, Sequence

import numpy as np
import torch

from macroact.io import atomic_torch_save, atomic_write_text
from macroact.models.base import ModelConfig, SequenceModel, check_sequences, resolve_device


class NonFiniteLossError(RuntimeError, ValueError):
    """Raised when a loss term becomes NaN or inf; the last good checkpoint is kept.

    Also a ``ValueError``: divergence is an expected failure (the CLI reports it in one line).
    """


class NonFiniteOutputError(ValueError):
    """A model computed a NaN or inf output (codes, reconstructions, metrics); never returned."""


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
        plateau_patience: stop early when the reconstruction error (an exponential moving
            average of the logged training rec) has not improved by plateau_tol for this many
            steps; 0 never stops early. The model of the stopping step is saved.
        plateau_tol: relative improvement of the smoothed rec that counts as progress.
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
    lr_schedule: Literal["constant", "cosine"] = "constant"
    plateau_patience: int = 0
    plateau_tol: float = 0.01

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
        if isinstance(self.plateau_patience, bool) or not isinstance(self.plateau_patience, int) \
                or self.plateau_patience < 0:
            raise ValueError(f"plateau_patience must be an integer >= 0 (steps; 0: off), got "
                             f"{self.plateau_patience!r}")
        if not (math.isfinite(self.plateau_tol) and 0 <= self.plateau_tol < 1):
            raise ValueError(f"plateau_tol must be a fraction in [0, 1), got {self.plateau_tol!r}")


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
    if len(sequences) == 0:
        raise ValueError("no sequences to evaluate on; check the data set")
    was_training = model.training
    model.eval()
    mus, logvars, sq_norm, sq_data = [], [], 0.0, 0.0
    with torch.no_grad():
        for i in range(0, len(sequences), batch_size):
            x = torch.as_tensor(sequences[i:i + batch_size], dtype=torch.float32, device=model.device)
            xn = model._prepare(x)
            xhat = model.reconstruct_normalized(xn)
            sq_norm += float((xhat - xn).pow(2).sum())
            err = model.normalizer.inverse(xhat) - x
            part = float(err.pow(2).sum())
            # Large data units can overflow float32's squares while every value is finite.
            sq_data += part if math.isfinite(part) else float(err.double().pow(2).sum())
            mu, lv = model.encode_normalized(xn)
            mus.append(mu.cpu().numpy())
            logvars.append(lv.cpu().numpy())
    model.train(was_training)
    n = len(sequences)
    out: dict[str, Any] = {"rec": sq_norm / n, "mse": sq_data / sequences[0].size / n}
    mu, logvar = np.concatenate(mus), np.concatenate(logvars)
    out["mu"], out["logvar"] = mu, logvar
    for key in ("rec", "mse", "mu", "logvar"):
        if not np.isfinite(out[key]).all():
            raise NonFiniteOutputError(
                f"evaluation gave NaN or inf in {key!r}: the model's weights or normaliser "
                "bounds overflow on these data; check the model file and the data's range")
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


class ResumeMismatchError(ValueError):
    """``resume`` was asked with data, model or loss settings that differ from the run's."""


#: Training settings a resumed run may change: they do not change the weights' trajectory
#: (``steps`` may only grow).
RESUMABLE_FIELDS = ("steps", "device", "log_every", "eval_every", "checkpoint_every", "mig_samples",
                    "plateau_patience", "plateau_tol")


def _field_defaults(cls: type) -> dict[str, Any]:
    """Default values of a config dataclass's fields (those that have one), as JSON values."""
    out = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
    return json.loads(json.dumps(out))


def data_fingerprint(sequences: Any, labels: Any = None) -> str:
    """SHA-256 of the training data (float32 values and shape) and labels, for resume checks."""
    h = hashlib.sha256()
    x = np.ascontiguousarray(np.asarray(sequences, dtype=np.float32))
    h.update(repr(x.shape).encode())
    h.update(x.tobytes())
    if labels is not None:
        h.update(np.ascontiguousarray(np.asarray(labels, dtype=np.int64)).tobytes())
    return h.hexdigest()


class Callback:
    """Hooks of ``Trainer.run``; subclass and override the ones you need.

    Called in this order: ``on_start`` once; per step ``on_log`` (every ``log_every`` steps
    and at the end), ``on_eval`` (at ``eval_every`` steps and once at the end),
    ``on_checkpoint`` (after a checkpoint is written), ``on_step`` (after every step); then
    ``on_end`` once after the final evaluation and save. ``step`` counts the steps done.
    Callbacks must not draw from torch's global RNG, or seeded runs stop being reproducible.
    """

    def on_start(self, trainer: "Trainer") -> None: ...

    def on_log(self, trainer: "Trainer", step: int, scalars: dict[str, float]) -> None: ...

    def on_eval(self, trainer: "Trainer", step: int, result: dict[str, Any]) -> None: ...

    def on_checkpoint(self, trainer: "Trainer", step: int) -> None: ...

    def on_step(self, trainer: "Trainer", step: int) -> None: ...

    def on_end(self, trainer: "Trainer") -> None: ...


class TensorBoardCallback(Callback):
    """Training and evaluation scalars (and FAVAE traversal images) under ``log_dir``."""

    def __init__(self, log_dir: str | Path, purge_step: int | None = None):
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(log_dir), purge_step=purge_step)
        self.t0 = time.perf_counter()

    def on_log(self, trainer, step, scalars):
        for k, v in scalars.items():
            if k != "step":
                self.writer.add_scalar(f"train/{k}", v, step)

    def on_eval(self, trainer, step, result):
        self.writer.add_scalar("eval/rec", result["rec"], step)
        for k in ("mig_discrete", "mig_sampled"):
            if k in result:
                self.writer.add_scalar(f"eval/{k}", result[k], step)
        if trainer.model.name == "favae":  # traversals draw vector sequences decoded from one code
            from macroact.evaluation.traverse import traversal_figure

            self.writer.add_figure("traversal", traversal_figure(trainer.model, trainer.sequences), step)

    def on_end(self, trainer):
        self.writer.add_scalar("time/seconds", time.perf_counter() - self.t0, trainer.config.steps)
        self.writer.close()


class ProgressBarCallback(Callback):
    """A tqdm bar over the steps, with the last logged loss and Rec."""

    def on_start(self, trainer):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=trainer.config.steps, initial=trainer.step, desc="train",
                        unit="step", leave=False)

    def on_log(self, trainer, step, scalars):
        self.bar.set_postfix(loss=f"{scalars['loss']:.4g}", rec=f"{scalars['rec']:.4g}")

    def on_step(self, trainer, step):
        self.bar.update(1)

    def on_end(self, trainer):
        self.bar.close()


class PlateauStop(Callback):
    """Stops training when the smoothed reconstruction error stops improving.

    At each logged step the training ``rec`` enters an exponential moving average (weight
    ``smoothing`` on the new value); progress is a smoothed value below ``(1 - tol)`` times the
    best so far. ``patience`` steps without progress request a stop (``trainer.stop_reason``).
    The tracker starts afresh on resume.
    """

    def __init__(self, patience: int, tol: float, smoothing: float = 0.2):
        self.patience, self.tol, self.smoothing = patience, tol, smoothing
        self.ema: float | None = None
        self.best = math.inf
        self.best_step = 0

    def on_log(self, trainer, step, scalars):
        rec = scalars.get("rec")
        if rec is None:
            return
        self.ema = rec if self.ema is None else \
            (1 - self.smoothing) * self.ema + self.smoothing * rec
        if self.ema < self.best * (1 - self.tol):
            self.best, self.best_step = self.ema, step
        elif step - self.best_step >= self.patience:
            trainer.stop_reason = (f"rec plateau: smoothed rec {self.ema:.4g} has not improved "
                                   f"by {self.tol:g} since step {self.best_step}")


class _EvalFunction(Callback):
    def __init__(self, fn: Callable[[int, dict[str, Any]], None]):
        self.fn = fn

    def on_eval(self, trainer, step, result):
        self.fn(step, result)


class Trainer:
    """The training loop in parts: set-up (or resume), one step, logging and checkpoints.

    Construction checks the inputs, takes the run directory (``macroact.rundir.RunDir``: a
    lock, refusal of another run's directory, cleaning of leftovers), seeds the RNGs, fits the
    normaliser, builds the optimiser and, with ``resume``, checks the run's settings and loads
    its checkpoint. ``run()`` trains to ``config.steps`` and saves; ``train_step()`` is one
    optimiser step. Logging and progress are callbacks (``TensorBoardCallback`` with a run
    directory, ``ProgressBarCallback`` with ``progress_bar``), followed by ``callbacks``.

    Args: as ``train``; ``overwrite`` replaces a run already in ``out_dir``.

    Attributes:
        step: optimiser steps done so far (the checkpoint's step after a resume).
        history: the logged scalars, one dict per ``log_every`` steps.
        resumed_from: the checkpoint step a resumed run started from, else None.
    """

    def __init__(self, model: SequenceModel, sequences: np.ndarray, config: TrainConfig,
                 out_dir: str | Path | None = None, factors: np.ndarray | None = None,
                 labels: np.ndarray | None = None, resume: bool = False, overwrite: bool = False,
                 progress_bar: bool = True, data_spec: dict[str, Any] | None = None,
                 callbacks: Sequence[Callback] = ()):
        check_sequences(sequences, model.n_features, model.seq_len, "training sequences")
        if len(sequences) == 0:
            raise ValueError("the training data hold no sequences; check the data set "
                             "(or the chunking of the demonstrations)")
        if model.needs_labels and labels is None:
            raise ValueError(f"{type(model).__name__} needs per-sequence labels; pass labels=")
        if factors is not None and len(factors) != len(sequences):
            raise ValueError(f"factors have {len(factors)} rows for {len(sequences)} sequences")
        self.model, self.sequences, self.config = model, sequences, config
        self.factors, self.labels = factors, labels
        self.device = resolve_device(config.device)
        self.out = Path(out_dir) if out_dir is not None else None
        self.ckpt_path = self.out / "checkpoint.pt" if self.out is not None else None
        self.history: list[dict[str, float]] = []
        self.resumed_from: int | None = None
        self.rundir = None
        if self.out is not None:
            from macroact.rundir import RunDir

            self.rundir = RunDir(self.out, resume=resume, overwrite=overwrite).acquire()
        try:
            self._setup(resume, data_spec)
        except BaseException:
            self.close()
            raise
        self.callbacks: list[Callback] = []
        if self.out is not None:
            self.callbacks.append(TensorBoardCallback(self.out / "tb",
                                                      purge_step=self.step if resume else None))
        if progress_bar:
            self.callbacks.append(ProgressBarCallback())
        if config.plateau_patience:
            self.callbacks.append(PlateauStop(config.plateau_patience, config.plateau_tol))
        self.callbacks.extend(callbacks)
        self.stop_reason: str | None = None

    # -- set-up and resume -------------------------------------------------------------------
    def _setup(self, resume: bool, data_spec: dict[str, Any] | None) -> None:
        config, model, device = self.config, self.model, self.device
        torch.manual_seed(config.seed)
        if torch.cuda.is_available():
            torch.cuda.manual_seed_all(config.seed)
        self.generator = torch.Generator().manual_seed(config.seed)
        data = torch.as_tensor(np.asarray(self.sequences), dtype=torch.float32)
        if not bool(model.normalizer.fitted):
            model.normalizer.fit(data)
        model.to(device)
        self.data = data.to(device)
        self.label_t = torch.as_tensor(self.labels, dtype=torch.long, device=device) \
            if self.labels is not None else None
        self.optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        self.step = 0
        fingerprint = data_fingerprint(self.sequences, self.labels) if self.out is not None else None
        run = {"model": model.name, "model_config": model.config.to_dict(),
               "train_config": config.to_dict(), "data": data_spec or {},
               "n_features": model.n_features, "data_sha256": fingerprint}
        if resume:
            run = self._resume(run)
        if self.out is not None:
            from macroact.io import write_json

            write_json(run, self.out / "run.json")
        self.last_good = self.step

    def _resume(self, run: dict[str, Any]) -> dict[str, Any]:
        """Check the run in ``out_dir`` against this one, load its checkpoint; the new run.json."""
        from macroact.io import read_json, torch_load

        if self.ckpt_path is None or not self.ckpt_path.exists():
            raise FileNotFoundError(f"cannot resume: no checkpoint at {self.ckpt_path}; "
                                    "start the run without --resume")
        old = read_json(self.out / "run.json", "run record")
        if not isinstance(old, dict):
            raise ValueError(f"{self.out / 'run.json'} is not a run record")
        diffs = _differences(old, run)
        if diffs:
            raise ResumeMismatchError(
                f"cannot resume {str(self.out)!r}: {'; '.join(diffs)}. A resumed run keeps the "
                "run's data, model, loss and optimiser settings (only --steps may grow); use "
                "another --out, or --overwrite to replace the run")
        ckpt = torch_load(self.ckpt_path, "checkpoint", map_location=self.device)
        try:
            state = ckpt["model"]["state_dict"]
            self.model.load_state_dict(state)
            self.optimizer.load_state_dict(ckpt["optimizer"])
            start = int(ckpt["step"])
            _set_rng_state(ckpt["rng"], self.generator)
        except (KeyError, TypeError, RuntimeError, ValueError) as e:
            raise ValueError(f"checkpoint {str(self.ckpt_path)!r} does not fit this run ({e}); "
                             "it is damaged or from another model") from None
        from macroact.models.base import check_finite_state

        check_finite_state(self.model.state_dict(), f"checkpoint {str(self.ckpt_path)!r}")
        if start > self.config.steps:
            raise ResumeMismatchError(f"cannot resume {str(self.out)!r} with steps="
                                      f"{self.config.steps}: its checkpoint is at step {start}")
        self.step = start
        self.resumed_from = start
        resumed = list(old.get("resumed", []))
        resumed.append({"from_step": start, "steps": self.config.steps,
                        "at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
        run["resumed"] = resumed
        if old.get("data_sha256") is None:
            run["data_sha256"] = None
        return run

    # -- one step ----------------------------------------------------------------------------
    def train_step(self) -> dict[str, torch.Tensor]:
        """One optimiser step on a random batch; returns the loss terms.

        Raises:
            NonFiniteLossError: a loss term is NaN or inf (the weights are left unchanged).
        """
        config, model, step = self.config, self.model, self.step
        n = len(self.data)
        idx = torch.randperm(n, generator=self.generator)[:min(config.batch_size, n)].to(self.device)
        x = model.normalizer(self.data[idx])
        terms = model(x, progress=step / config.steps,
                      labels=self.label_t[idx] if self.label_t is not None else None)
        loss = terms["loss"]
        if not torch.isfinite(loss):
            bad = [k for k, v in terms.items() if not torch.isfinite(v).all()]
            where = f"; the last good checkpoint (step {self.last_good}) is in {self.ckpt_path}" \
                if self.ckpt_path is not None and self.ckpt_path.exists() else ""
            raise NonFiniteLossError(
                f"non-finite loss at step {step} (terms {bad}){where}; "
                "lower the learning rate or beta, or check the data")
        if config.lr_schedule == "cosine":
            for group in self.optimizer.param_groups:
                group["lr"] = config.lr * 0.5 * (1.0 + math.cos(math.pi * step / config.steps))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.step = step + 1
        return terms

    # -- logging, evaluation, checkpoints -------------------------------------------------------
    def log(self, terms: dict[str, torch.Tensor]) -> dict[str, float]:
        scalars = {k: float(v.detach()) for k, v in terms.items()}
        scalars["step"] = self.step
        self.history.append(scalars)
        for cb in self.callbacks:
            cb.on_log(self, self.step, scalars)
        return scalars

    def evaluate(self) -> dict[str, Any]:
        was_training = self.model.training
        # MIG needs the whole data set; the sampled estimator is capped for speed mid-run.
        res = evaluate(self.model, self.sequences, self.factors,
                       mig_samples=self.config.mig_samples, seed=self.config.seed)
        self.model.train(was_training)
        for cb in self.callbacks:
            cb.on_eval(self, self.step, res)
        return res

    def save_checkpoint(self) -> None:
        """Model, optimiser and RNG states at the current step (between steps: exact resume)."""
        if self.ckpt_path is not None:
            atomic_torch_save({"model": self.model.checkpoint(),
                               "optimizer": self.optimizer.state_dict(),
                               "step": self.step, "rng": _rng_state(self.generator)},
                              self.ckpt_path)
        self.last_good = self.step
        for cb in self.callbacks:
            cb.on_checkpoint(self, self.step)

    # -- the loop ----------------------------------------------------------------------------------
    def run(self) -> list[dict[str, float]]:
        """Train to ``config.steps``, evaluate, save ``model.pt``; release the directory."""
        config = self.config
        try:
            for cb in self.callbacks:
                cb.on_start(self)
            self.model.train()
            try:
                while self.step < config.steps:
                    terms = self.train_step()
                    done = self.step
                    if done % config.log_every == 0 or done == config.steps:
                        self.log(terms)
                    if config.eval_every and done % config.eval_every == 0 and done < config.steps:
                        self.evaluate()
                    if done % config.checkpoint_every == 0 or done == config.steps:
                        self.save_checkpoint()
                    for cb in self.callbacks:
                        cb.on_step(self, done)
                    if self.stop_reason is not None:
                        self._stop_early()
                        break
            finally:
                for cb in self.callbacks:
                    if isinstance(cb, ProgressBarCallback) and hasattr(cb, "bar"):
                        cb.bar.close()
            self.model.eval()
            if self.factors is not None or self.out is not None:
                self.evaluate()
            if self.out is not None:
                self.model.save(self.out / "model.pt")
            for cb in self.callbacks:
                cb.on_end(self)
        finally:
            self.close()
        return self.history

    def _stop_early(self) -> None:
        """Checkpoint the stopping step and record it (and why) in run.json."""
        self.save_checkpoint()
        if self.out is not None:
            from macroact.io import read_json, write_json

            run = read_json(self.out / "run.json", "run record")
            run["stopped_early"] = {"step": self.step, "reason": self.stop_reason}
            write_json(run, self.out / "run.json")

    def close(self) -> None:
        """Release the run directory (``run`` does it when it ends)."""
        if self.rundir is not None:
            self.rundir.release()


def _differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Human-readable list of the settings in which a resumed run differs from its record."""
    def norm(v):
        return json.loads(json.dumps(v))

    diffs = []
    if old.get("model") != new["model"]:
        diffs.append(f"model: the run trained {old.get('model')!r}, this is {new['model']!r}")
    if old.get("n_features") not in (None, new["n_features"]):
        diffs.append(f"n_features: run {old.get('n_features')}, now {new['n_features']}")
    from macroact.models import MODEL_REGISTRY

    model_cls = MODEL_REGISTRY.get(new["model"])
    # A field that a run recorded before it existed had its default then.
    defaults = {"model_config": _field_defaults(model_cls.config_class) if model_cls else {},
                "train_config": _field_defaults(TrainConfig)}
    for section, skip, label in (("model_config", (), "model"),
                                 ("train_config", RESUMABLE_FIELDS, "training")):
        b = norm(new[section])
        a = {**{k: v for k, v in defaults[section].items() if k in b},
             **norm(old.get(section, {}))}
        for k in sorted(set(a) | set(b)):
            if k not in skip and a.get(k) != b.get(k):
                diffs.append(f"{label} setting {k}: run {a.get(k)!r}, now {b.get(k)!r}")
    old_steps = old.get("train_config", {}).get("steps")
    if isinstance(old_steps, int) and new["train_config"]["steps"] < old_steps:
        diffs.append(f"steps: the run's budget is {old_steps}, now {new['train_config']['steps']} "
                     "(the step budget may only grow)")
    if new["data"] and norm(old.get("data", {})) != norm(new["data"]):
        diffs.append(f"data: run {old.get('data')}, now {new['data']}")
    if old.get("data_sha256") and new.get("data_sha256") and old["data_sha256"] != new["data_sha256"]:
        diffs.append("data: the training data's contents differ from the run's (SHA-256 "
                     f"{old['data_sha256'][:12]}..., now {new['data_sha256'][:12]}...)")
    return diffs


def train(model: SequenceModel, sequences: np.ndarray, config: TrainConfig,
          out_dir: str | Path | None = None, factors: np.ndarray | None = None,
          labels: np.ndarray | None = None, resume: bool = False, progress_bar: bool = True,
          data_spec: dict[str, Any] | None = None,
          on_eval: Callable[[int, dict[str, Any]], None] | None = None,
          overwrite: bool = False, callbacks: Sequence[Callback] = ()) -> list[dict[str, float]]:
    """Train ``model`` on raw ``sequences`` (N, T, D) (``Trainer(...).run()``).

    Args:
        model: a freshly built (or loaded) model; its normaliser is fitted to the data unless
            its bounds were already set (for instance to an action space's bounds).
        sequences: training data in data units.
        config: optimisation settings.
        out_dir: run directory for checkpoints, TensorBoard logs and the final model;
            None trains in memory only. A directory holding another run is refused unless
            ``resume`` or ``overwrite``; one that another run is writing to is refused.
        factors: (N, K) ground-truth labels, for MIG at ``eval_every`` steps.
        labels: (N,) per-sequence labels for models with ``needs_labels`` (FHVAE).
        resume: continue from ``out_dir/checkpoint.pt``; data, model, loss and optimiser
            settings must match the run's (``ResumeMismatchError`` names the differences);
            only ``steps`` may grow. run.json records each resume.
        progress_bar: show a tqdm bar.
        data_spec: how to reload the data (saved in run.json for ``macroact evaluate``).
        on_eval: called with (step, evaluate(...) result) at each evaluation.
        overwrite: replace the run in ``out_dir`` (its files are removed first).
        callbacks: extra ``Callback`` objects.

    Returns:
        The logged scalars, one dict per ``log_every`` steps.

    Raises:
        NonFiniteLossError: a loss term became NaN or inf (the message names the step).
    """
    extra = list(callbacks) + ([_EvalFunction(on_eval)] if on_eval is not None else [])
    return Trainer(model, sequences, config, out_dir=out_dir, factors=factors, labels=labels,
                   resume=resume, overwrite=overwrite, progress_bar=progress_bar,
                   data_spec=data_spec, callbacks=extra).run()
