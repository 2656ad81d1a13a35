"""Grid sweeps: train and evaluate one model per cell, one JSON record per cell in a JSONL log.

A cell is one (model, data set, length, beta, seed) combination with its training budget and
any further model settings (ladder, capacity, ...). ``run_cell`` builds the model with
``macroact.factory.build_model``, trains it with ``macroact.trainer.train``, evaluates Rec and
both MIG estimators with ``macroact.trainer.evaluate`` and returns the cell's record. The
record's ``key`` holds a hash of the whole cell, so ``run_grid`` skips a cell whose record is
in the log already (the grid is resumable) and runs again a cell whose settings changed rather
than read a stale record.

``run_grid`` runs the pending cells

- here, one after another (``workers=1``) or in a process pool of ``workers`` processes;
- or, with ``address``, as Ray Tune trials on a running Ray cluster (``pip install
  'macroact[sweep]'``; ``address="auto"`` joins the cluster this machine belongs to, and
  ``"local"`` starts a Ray on this machine); every node needs ``macroact`` installed. Trials
  send their record back to this process, which writes the log, so no shared file system is
  needed.

Only this process writes the log, one line per finished cell, flushed at once: a sweep cut
short keeps every cell that finished. Every cell runs torch with ``threads`` threads (1 by
default), so parallel cells do not fight over cores. ``macroact sweep`` is the command line.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import time
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from macroact.reporting import RunLog

__all__ = ["Cell", "MODELS", "aggregate", "load_results", "run_cell", "run_grid"]

MODELS = ("favae", "dsae", "fhvae")


@dataclasses.dataclass(frozen=True)
class Cell:
    """One grid cell: a model, a data set and a training budget.

    Attributes:
        model: ``"favae"``, ``"dsae"`` or ``"fhvae"``.
        dataset: a name ``macroact.data.paper.load_dataset`` knows (``reaching2d``,
            ``wavy_reaching2d``) or an ``.npz`` path with factors.
        length: sequence length (100 or 1000 for the 2D sets).
        beta: the model's KL weight.
        seed: seeds weights, batches, latent noise and the MIG sampler.
        steps: optimiser steps.
        batch_size: sequences per step (the whole set when it is smaller).
        lr: Adam learning rate.
        label: the variant's name in tables, e.g. ``"FAVAE (L C)"``; defaults to ``model``.
        config: further model-config fields, e.g. ``{"ladder": False, "capacity": [7.84]}``.
        label_factor: FHVAE only: the factor column used as the sequence label.
        mig_samples: samples of the sampling MIG estimator.
        lr_schedule: ``"constant"`` or ``"cosine"`` (``macroact.trainer.TrainConfig``); left
            out of the cell's key when constant, so older results keep their keys.
    """

    model: str
    dataset: str
    length: int
    beta: float
    seed: int
    steps: int
    batch_size: int = 128
    lr: float = 1e-3
    label: str = ""
    config: tuple[tuple[str, Any], ...] = ()
    label_factor: int = 0
    mig_samples: int = 10000
    lr_schedule: str = "constant"

    def __post_init__(self):
        from macroact.validation import non_negative, positive_int

        if self.model not in MODELS:
            raise ValueError(f"model must be one of {MODELS}, got {self.model!r}")
        if self.lr_schedule not in ("constant", "cosine"):
            raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {self.lr_schedule!r}")
        non_negative(self.beta, "beta")
        for name in ("length", "steps", "batch_size", "mig_samples"):
            positive_int(getattr(self, name), name)
        if isinstance(self.config, dict):  # accept a dict; store a hashable, ordered form
            object.__setattr__(self, "config", tuple(sorted(
                (k, tuple(v) if isinstance(v, list) else v) for k, v in self.config.items())))
        reserved = {"beta", "seq_len", "n_labels"} & {k for k, _ in self.config}
        if reserved:
            raise ValueError(f"config sets {sorted(reserved)}, which the cell sets itself; "
                             "give beta as Cell.beta and leave seq_len/n_labels out")
        object.__setattr__(self, "beta", float(self.beta))
        if not self.label:
            object.__setattr__(self, "label", self.model)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["config"] = {k: list(v) if isinstance(v, tuple) else v for k, v in self.config}
        if d["lr_schedule"] == "constant":
            del d["lr_schedule"]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Cell":
        return cls(**d)

    @property
    def key(self) -> str:
        """The cell's record key: readable fields, then a hash of the whole cell."""
        digest = hashlib.sha1(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:10]
        slug = re.sub(r"[^A-Za-z0-9.]+", "-", f"{self.label}_{self.dataset}{self.length}"
                      f"_b{self.beta:g}_s{self.seed}").strip("-")
        return f"{slug}_{digest}"


def build_cell_model(cell: Cell, n_features: int, factors: np.ndarray | None):
    """The cell's model (FHVAE's number of labels comes from ``factors``)."""
    from macroact.factory import build_model

    n_labels = None
    if cell.model == "fhvae":
        if factors is None:
            raise ValueError(f"FHVAE needs sequence labels but {cell.dataset} has no factors")
        n_labels = int(factors[:, cell.label_factor].max()) + 1
    return build_model(cell.model, n_features, seq_len=cell.length, beta=cell.beta,
                       n_labels=n_labels, **dict(cell.config))


def _mig_fields(prefix: str, res) -> dict[str, Any]:
    return {f"mig_{prefix}": float(res.score),
            f"{prefix}_gap": [None if not np.isfinite(g) else float(g) for g in res.gap],
            f"{prefix}_top_latent": [int(t) for t in res.top_latent],
            f"{prefix}_mi": np.asarray(res.mi).round(6).tolist(),
            f"{prefix}_degenerate": bool(res.degenerate)}


def run_cell(cell: Cell | dict, threads: int = 1) -> dict[str, Any]:
    """Train and evaluate one cell; return its record (``macroact.reporting.machine()`` included)."""
    import torch

    from macroact.data.paper import load_dataset
    from macroact.io import versions
    from macroact.reporting import machine
    from macroact.trainer import TrainConfig, evaluate, train

    cell = Cell.from_dict(cell) if isinstance(cell, dict) else cell
    torch.set_num_threads(threads)
    x, factors = load_dataset(cell.dataset, cell.length)
    torch.manual_seed(cell.seed)  # weights are drawn at construction
    model = build_cell_model(cell, x.shape[-1], factors)
    labels = factors[:, cell.label_factor] if model.needs_labels else None
    t0 = time.perf_counter()
    history = train(model, x, TrainConfig(steps=cell.steps, batch_size=cell.batch_size, lr=cell.lr,
                                          lr_schedule=cell.lr_schedule, seed=cell.seed, device="cpu",
                                          checkpoint_every=cell.steps, log_every=cell.steps),
                    labels=labels, progress_bar=False)
    train_s = time.perf_counter() - t0
    res = evaluate(model, x, factors, mig_samples=cell.mig_samples, seed=cell.seed)
    out: dict[str, Any] = {"cell": cell.to_dict(), "key": cell.key,
                           "rec": float(res["rec"]), "mse": float(res["mse"])}
    if factors is not None:
        out.update(_mig_fields("sampled", res["mig_sampled_details"]))
        out.update(_mig_fields("discrete", res["mig_discrete_details"]))
    out["latent_dims"] = list(getattr(model.config, "latent_dims", None) or [model.latent_dim])
    out["final_train_loss"] = history[-1] if history else None
    out["train_seconds"] = train_s
    out["total_seconds"] = time.perf_counter() - t0
    out["threads"] = threads
    out["versions"] = versions()
    out["machine"] = machine()
    return out


def load_results(log: str | os.PathLike) -> list[dict[str, Any]]:
    """Every finished cell's record in a sweep's JSONL log (the latest per cell)."""
    return RunLog(log).records()


def _ray_available() -> bool:
    try:
        import ray  # noqa: F401
        from ray import tune  # noqa: F401
    except ImportError:
        return False
    return True


def _ray_trainable(config: dict) -> None:
    """A Ray Tune trial: run one cell and report its whole record back to the driver."""
    from ray import tune

    out = run_cell(config["cell"], config["threads"])
    metrics = {k: out[k] for k in ("rec", "mig_sampled", "mig_discrete") if k in out}
    report = getattr(tune, "report", None)
    if report is None:  # Ray < 2.41 reports through ray.train
        from ray import train as ray_train
        report = ray_train.report
    report({**metrics, "record": json.dumps(out)})


def _run_ray(cells: list[Cell], log: RunLog, threads: int, address: str,
             on_record: Callable[[dict[str, Any]], None]) -> None:
    """Run cells as Ray Tune trials (a function trainable, ``threads`` CPUs per trial)."""
    import ray
    from ray import tune

    class _Record(tune.Callback):  # runs in this process: the only writer of the log
        def on_trial_result(self, iteration, trials, trial, result, **info):
            if "record" in result:
                on_record(log.put(json.loads(result["record"])))

    if not ray.is_initialized():
        ray.init(address=None if address == "local" else address)
    run_config_cls = getattr(tune, "RunConfig", None)
    if run_config_cls is None:
        from ray.train import RunConfig as run_config_cls
    tuner = tune.Tuner(
        tune.with_resources(_ray_trainable, {"cpu": threads}),
        param_space={"cell": tune.grid_search([c.to_dict() for c in cells]), "threads": threads},
        run_config=run_config_cls(name=f"sweep-{log.path.stem}", callbacks=[_Record()],
                                  storage_path=str((log.path.parent / "ray").resolve())),
    )
    grid = tuner.fit()
    errors = getattr(grid, "errors", [])
    if errors:
        raise RuntimeError(f"{len(errors)} Ray trials failed; first: {errors[0]!r}. Finished "
                           f"cells are saved in {log.path}; rerun to retry the others")


def run_grid(cells: Iterable[Cell | dict], log: str | os.PathLike, *, workers: int = 1,
             address: str | None = None, threads: int = 1,
             progress: Callable[[str], Any] = print) -> list[dict[str, Any]]:
    """Run every cell that has no record in ``log`` yet; return the records of all ``cells``.

    Args:
        cells: the grid (``Cell`` objects or their dicts); duplicates run once.
        log: the sweep's JSONL file (``macroact.reporting.RunLog``), created when missing.
        workers: without ``address``, 1 runs the cells in this process and more use a process
            pool of that size.
        address: a Ray cluster to run the cells on as Ray Tune trials (``"auto"``,
            ``"ray://head:10001"``, or ``"local"`` for a Ray started here); None runs here.
        threads: torch threads per cell (and CPUs per Ray trial).
        progress: called with one line per finished cell.
    """
    from macroact.validation import positive_int

    positive_int(workers, "workers")
    positive_int(threads, "threads")
    if address is not None and not _ray_available():
        raise ImportError(f"address={address!r} runs the grid with Ray Tune, which is not "
                          "installed; pip install 'macroact[sweep]', or leave address out")
    cells = [Cell.from_dict(c) if isinstance(c, dict) else c for c in cells]
    log = RunLog(log)
    unique = list({c.key: c for c in cells}.values())
    done = log.keys()
    pending = [c for c in unique if c.key not in done]
    progress(f"{len(unique)} cells, {len(unique) - len(pending)} done, {len(pending)} to run")
    count = iter(range(1, len(pending) + 1))

    def record(out: dict[str, Any]) -> None:
        progress(_line(next(count), len(pending), out))

    if pending and address is not None:
        _run_ray(pending, log, threads, address, record)
    elif pending and workers == 1:
        for c in pending:
            record(log.put(run_cell(c, threads)))
    elif pending:
        import concurrent.futures as cf
        import multiprocessing as mp

        with cf.ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
            futures = [pool.submit(run_cell, c.to_dict(), threads) for c in pending]
            for fut in cf.as_completed(futures):
                record(log.put(fut.result()))
    by_key = {r["key"]: r for r in log.records()}
    missing = [c.key for c in unique if c.key not in by_key]
    if missing:
        raise RuntimeError(f"{len(missing)} cells have no record in {log.path}: {missing[:3]}")
    return [by_key[c.key] for c in cells]


def _line(i: int, n: int, out: dict[str, Any]) -> str:
    mig = f" mig_s {out['mig_sampled']:.3f} mig_d {out['mig_discrete']:.3f}" if "mig_sampled" in out else ""
    return f"[{i}/{n}] {out['key']}: rec {out['rec']:.4g}{mig} ({out['total_seconds']:.0f} s)"


# ------------------------------------------------------------------------------ aggregation
METRICS = ("mig_sampled", "mig_discrete", "rec")


def aggregate(results: Iterable[dict[str, Any]],
              by: Sequence[str] = ("label", "dataset", "length", "beta"),
              degenerate_from: str = "sampled") -> dict[tuple, dict[str, Any]]:
    """Group records by cell fields; mean and (population) std of each metric per group.

    Returns ``{group key: {"n", "seeds", "degenerate", "n_degenerate", "<metric>_mean",
    "<metric>_std", "<metric>_values"}}``. A run is degenerate when its record says so for the
    ``degenerate_from`` estimator (``"sampled"`` or ``"discrete"``), by the rule of
    ``macroact.evaluation.metrics.MIGResult.degenerate``.
    """
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in results:
        groups.setdefault(tuple(r["cell"][f] for f in by), []).append(r)
    out = {}
    for key, runs in groups.items():
        runs = sorted(runs, key=lambda r: r["cell"]["seed"])
        row: dict[str, Any] = {"n": len(runs), "seeds": [r["cell"]["seed"] for r in runs]}
        for m in METRICS:
            vals = [r[m] for r in runs if m in r]
            row[f"{m}_values"] = vals
            row[f"{m}_mean"] = float(np.mean(vals)) if vals else float("nan")
            row[f"{m}_std"] = float(np.std(vals)) if vals else float("nan")
        flags = [bool(r[f"{degenerate_from}_degenerate"]) for r in runs
                 if f"{degenerate_from}_degenerate" in r]
        row["degenerate"] = flags
        row["n_degenerate"] = int(sum(flags))
        out[key] = row
    return out
