"""Grid runner: train and evaluate one model per cell, one JSON result per cell.

A cell is one (model, dataset, length, beta, seed) combination with its training budget and
any further model settings (ladder, capacity, ...). ``run_cell`` builds the model from
``macroact``, trains it with ``macroact.trainer.train``, evaluates Rec and both MIG estimators
with ``macroact.trainer.evaluate`` and writes ``<results>/<cell key>.json`` atomically. The key
holds a hash of the whole cell, so a finished cell is skipped on the next run (the grid is
resumable) and a cell whose settings changed is run again rather than read stale.

Backends (``run_grid``):

- Ray Tune, when ``ray`` is importable (``pip install 'macroact[sweep]'``): a function
  trainable over ``tune.grid_search`` of the pending cells, one CPU per trial, so a local Ray
  runs one trial per core; ``--ray-address`` joins a running cluster (every node needs
  ``macroact`` installed and the results directory on a shared path).
- Without Ray: the cells run one after another in this process, or in a process pool of
  ``--workers`` processes.

Either way every trial runs torch with ``--threads`` threads (1 by default), so trials do not
fight over cores.

Command line (a product grid; ``--grid FILE.json`` takes a list of cells instead)::

    python experiments/sweep.py --results runs/sweep --model favae --dataset wavy_reaching2d \\
        --length 100 --beta 0.01 0.1 1 --seed 0 1 2 --steps 400 --set ladder=true \\
        --set capacity=[5.61,0.25,4.08]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import itertools
import json
import math
import os
import re
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

MODELS = ("favae", "dsae", "fhvae")
BACKENDS = ("auto", "local", "ray")


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
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {MODELS}, got {self.model!r}")
        if self.lr_schedule not in ("constant", "cosine"):
            raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {self.lr_schedule!r}")
        if not (isinstance(self.beta, (int, float)) and math.isfinite(self.beta) and self.beta >= 0):
            raise ValueError(f"beta must be a finite number >= 0, got {self.beta!r}")
        for name in ("length", "steps", "batch_size", "mig_samples"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
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
        """File stem: readable fields, then a hash of the whole cell."""
        digest = hashlib.sha1(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:10]
        slug = re.sub(r"[^A-Za-z0-9.]+", "-", f"{self.label}_{self.dataset}{self.length}"
                      f"_b{self.beta:g}_s{self.seed}").strip("-")
        return f"{slug}_{digest}"


def result_path(cell: Cell, results_dir: str | os.PathLike) -> Path:
    return Path(results_dir) / f"{cell.key}.json"


def is_degenerate(top_latent: Sequence[int]) -> bool:
    """True when every factor's top-MI latent is the same latent (the paper excludes these).

    A single factor cannot be degenerate in this sense.

    Example:
        >>> is_degenerate([3, 3, 3]), is_degenerate([3, 1, 3]), is_degenerate([3])
        (True, False, False)
    """
    top = list(top_latent)
    return len(top) > 1 and len(set(top)) == 1


def build_model(cell: Cell, n_features: int, factors: np.ndarray | None):
    """The cell's model, built from ``macroact`` (labels for FHVAE come from ``factors``)."""
    extra = dict(cell.config)
    if cell.model == "favae":
        from macroact.models.favae import FAVAE, FAVAEConfig

        return FAVAE(FAVAEConfig(seq_len=cell.length, beta=cell.beta, **extra), n_features)
    if cell.model == "dsae":
        from macroact.models import DSAE, DSAEConfig

        return DSAE(DSAEConfig(seq_len=cell.length, beta=cell.beta, **extra), n_features)
    from macroact.models import FHVAE, FHVAEConfig

    if factors is None:
        raise ValueError(f"FHVAE needs sequence labels but {cell.dataset} has no factors")
    n_labels = int(factors[:, cell.label_factor].max()) + 1
    return FHVAE(FHVAEConfig(n_labels=n_labels, seq_len=cell.length, beta=cell.beta, **extra),
                 n_features)


def _mig_fields(prefix: str, res) -> dict[str, Any]:
    top = [int(t) for t in res.top_latent]
    return {f"mig_{prefix}": float(res.score),
            f"{prefix}_gap": [None if not np.isfinite(g) else float(g) for g in res.gap],
            f"{prefix}_top_latent": top,
            f"{prefix}_mi": np.asarray(res.mi).round(6).tolist(),
            f"{prefix}_degenerate": is_degenerate(top)}


def run_cell(cell: Cell | dict, results_dir: str | os.PathLike, threads: int = 1) -> dict[str, Any]:
    """Train and evaluate one cell; write and return its JSON result (skip when it exists)."""
    import torch

    from macroact.io import atomic_write_text, versions
    from macroact.data.paper import load_dataset
    from macroact.trainer import TrainConfig, evaluate, train

    cell = Cell.from_dict(cell) if isinstance(cell, dict) else cell
    path = result_path(cell, results_dir)
    if path.exists():
        return json.loads(path.read_text())
    torch.set_num_threads(threads)
    x, factors = load_dataset(cell.dataset, cell.length)
    torch.manual_seed(cell.seed)  # weights are drawn at construction
    model = build_model(cell, x.shape[-1], factors)
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
    atomic_write_text(json.dumps(out, indent=1), path)
    return out


def load_results(results_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """Every finished cell's JSON in a results directory."""
    return [json.loads(p.read_text()) for p in sorted(Path(results_dir).glob("*.json"))]


def _ray_available() -> bool:
    try:
        import ray  # noqa: F401
        from ray import tune  # noqa: F401
    except ImportError:
        return False
    return True


def _run_ray(cells: list[Cell], results_dir: Path, threads: int, ray_address: str | None,
             workers: int | None) -> None:
    """Run cells as Ray Tune trials (function trainable, one CPU per trial)."""
    import ray
    from ray import tune

    by_key = {c.key: c.to_dict() for c in cells}
    here = str(Path(__file__).resolve().parent)

    def trainable(config: dict) -> None:
        # Ray runs trials in worker processes (possibly on other nodes): import this module
        # there by path and write the result where the driver reads it.
        if here not in sys.path:
            sys.path.insert(0, here)
        from sweep import run_cell as _run

        out = _run(by_key[config["cell"]], results_dir, threads)
        metrics = {k: out[k] for k in ("rec", "mig_sampled", "mig_discrete") if k in out}
        report = getattr(tune, "report", None)
        if report is None:  # Ray < 2.41 reports through ray.train
            from ray import train as ray_train
            report = ray_train.report
        report(metrics)

    if not ray.is_initialized():
        if ray_address:
            ray.init(address=ray_address)
        else:
            ray.init(num_cpus=workers)  # None: one trial per core of this machine
    run_config_cls = getattr(tune, "RunConfig", None)
    if run_config_cls is None:
        from ray.train import RunConfig as run_config_cls
    tuner = tune.Tuner(
        tune.with_resources(trainable, {"cpu": threads}),
        param_space={"cell": tune.grid_search(list(by_key))},
        run_config=run_config_cls(name=f"sweep-{results_dir.name}",
                                  storage_path=str((results_dir / "ray").resolve())),
    )
    grid = tuner.fit()
    errors = getattr(grid, "errors", [])
    if errors:
        raise RuntimeError(f"{len(errors)} Ray trials failed; first: {errors[0]!r}. Finished "
                           f"cells are saved in {results_dir}; rerun to retry the others")


def run_grid(cells: Iterable[Cell | dict], results_dir: str | os.PathLike, *, workers: int = 1,
             backend: str = "auto", ray_address: str | None = None, threads: int = 1,
             log=print) -> list[dict[str, Any]]:
    """Run every cell that has no result yet; return the results of all ``cells`` in order.

    Args:
        cells: the grid (``Cell`` objects or their dicts); duplicates run once.
        results_dir: one JSON per cell is written here.
        workers: without Ray, 1 runs the cells in this process and more use a process pool;
            with Ray and no address, the number of CPUs Ray may use (default: all cores).
        backend: ``"auto"`` (Ray Tune when importable, else local), ``"local"`` or ``"ray"``.
        ray_address: address of a running Ray cluster (``ray.init(address=...)``).
        threads: torch threads per cell.
        log: called with one line per finished cell.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    use_ray = backend == "ray" or (backend == "auto" and (ray_address or _ray_available()))
    if use_ray and not _ray_available():
        raise ImportError(f"backend {backend!r} with ray_address={ray_address!r} needs Ray Tune; "
                          "pip install 'macroact[sweep]', or use backend='local'")
    cells = [Cell.from_dict(c) if isinstance(c, dict) else c for c in cells]
    results_dir = Path(results_dir).resolve()  # trials may run in another working directory
    results_dir.mkdir(parents=True, exist_ok=True)
    unique = list({c.key: c for c in cells}.values())
    pending = [c for c in unique if not result_path(c, results_dir).exists()]
    log(f"{len(unique)} cells, {len(unique) - len(pending)} done, {len(pending)} to run")
    if pending and use_ray:
        _run_ray(pending, results_dir, threads, ray_address, workers if workers > 1 else None)
    elif pending and workers == 1:
        for i, c in enumerate(pending, 1):
            out = run_cell(c, results_dir, threads)
            log(_line(i, len(pending), out))
    elif pending:
        import concurrent.futures as cf
        import multiprocessing as mp

        with cf.ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
            futures = [pool.submit(run_cell, c.to_dict(), str(results_dir), threads) for c in pending]
            for i, fut in enumerate(cf.as_completed(futures), 1):
                log(_line(i, len(pending), fut.result()))
    missing = [c.key for c in unique if not result_path(c, results_dir).exists()]
    if missing:
        raise RuntimeError(f"{len(missing)} cells have no result in {results_dir}: {missing[:3]}")
    return [json.loads(result_path(c, results_dir).read_text()) for c in cells]


def _line(i: int, n: int, out: dict[str, Any]) -> str:
    mig = f" mig_s {out['mig_sampled']:.3f} mig_d {out['mig_discrete']:.3f}" if "mig_sampled" in out else ""
    return f"[{i}/{n}] {out['key']}: rec {out['rec']:.4g}{mig} ({out['total_seconds']:.0f} s)"


# ------------------------------------------------------------------------------ aggregation
METRICS = ("mig_sampled", "mig_discrete", "rec")


def aggregate(results: Iterable[dict[str, Any]],
              by: Sequence[str] = ("label", "dataset", "length", "beta"),
              degenerate_from: str = "sampled") -> dict[tuple, dict[str, Any]]:
    """Group results by cell fields; mean and (population) std of each metric per group.

    Returns ``{group key: {"n", "seeds", "n_degenerate", "<metric>_mean", "<metric>_std",
    "<metric>_values"}}``, where a run counts as degenerate when every factor's top latent
    under the ``degenerate_from`` estimator (``"sampled"`` or ``"discrete"``) is one latent.
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
        flags = [is_degenerate(r[f"{degenerate_from}_top_latent"]) for r in runs
                 if f"{degenerate_from}_top_latent" in r]
        row["degenerate"] = flags
        row["n_degenerate"] = int(sum(flags))
        out[key] = row
    return out


# ------------------------------------------------------------------------------ command line
def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--results", required=True, help="directory of per-cell JSON results")
    p.add_argument("--grid", help="JSON file with a list of cells (instead of the product flags)")
    p.add_argument("--model", nargs="+", default=["favae"], choices=MODELS)
    p.add_argument("--dataset", nargs="+", default=["reaching2d"])
    p.add_argument("--length", nargs="+", type=int, default=[100])
    p.add_argument("--beta", nargs="+", type=float, default=[1.0])
    p.add_argument("--seed", nargs="+", type=int, default=[0])
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--lr-schedule", choices=("constant", "cosine"), default="constant")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=JSON",
                   help="extra model-config field, e.g. ladder=false or capacity=[7.84]")
    p.add_argument("--workers", type=int, default=1, help="process pool size without Ray; "
                   "CPUs for a local Ray (default: all)")
    p.add_argument("--backend", choices=BACKENDS, default="auto")
    p.add_argument("--ray-address", help="join a running Ray cluster, e.g. ray://head:10001 or auto")
    p.add_argument("--threads", type=int, default=1, help="torch threads per cell")
    args = p.parse_args(argv)
    if args.grid:
        cells = [Cell.from_dict(d) for d in json.loads(Path(args.grid).read_text())]
    else:
        extra = {}
        for item in args.set:
            if "=" not in item:
                p.error(f"--set takes FIELD=JSON, got {item!r}")
            k, v = item.split("=", 1)
            extra[k] = _parse_value(v)
        cells = [Cell(model=m, dataset=d, length=n, beta=b, seed=s, steps=args.steps,
                      batch_size=args.batch_size, lr=args.lr, lr_schedule=args.lr_schedule,
                      config=dict(extra))
                 for m, d, n, b, s in itertools.product(args.model, args.dataset, args.length,
                                                         args.beta, args.seed)]
    results = run_grid(cells, args.results, workers=args.workers, backend=args.backend,
                       ray_address=args.ray_address, threads=args.threads)
    for key, row in aggregate(results).items():
        print(key, {k: row[k] for k in ("n", "mig_sampled_mean", "mig_discrete_mean", "rec_mean",
                                        "n_degenerate")})
    return 0


if __name__ == "__main__":
    sys.exit(main())
