"""Offline encoding of trajectory data sets into FAVAE latent codes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from macroact.io import atomic_write, check_output_file, read_npz
from macroact.models.base import SequenceModel


def encode_chunks(model, chunks: np.ndarray, batch_size: int = 1024) -> dict[str, np.ndarray]:
    """Encode ``chunks`` (N, H, A) in data units, in batches.

    Returns per-ladder ``mu_l{i}`` / ``logvar_l{i}`` (N, d_i), the concatenated ``mu`` /
    ``logvar`` (N, J) lower to upper, and ``rec_error`` (N,): each chunk's squared error summed
    over time and features in the model's [-1, 1] scaling (the training reduction).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    model.eval()
    out: dict[str, list[np.ndarray]] = {}
    with torch.no_grad():
        for i in range(0, len(chunks), batch_size):
            xn = model._prepare(chunks[i:i + batch_size])
            ladders = model.encode_ladders(xn) if hasattr(model, "encode_ladders") \
                else [model.encode_normalized(xn)]
            for j, (mu, lv) in enumerate(ladders):
                out.setdefault(f"mu_l{j}", []).append(mu.cpu().numpy())
                out.setdefault(f"logvar_l{j}", []).append(lv.cpu().numpy())
            rec = model.reconstruct_normalized(xn)
            out.setdefault("rec_error", []).append((rec - xn).pow(2).sum((1, 2)).cpu().numpy())
    arrays = {k: np.concatenate(v) for k, v in out.items()}
    n_ladders = sum(1 for k in arrays if k.startswith("mu_l"))
    arrays["mu"] = np.concatenate([arrays[f"mu_l{j}"] for j in range(n_ladders)], 1)
    arrays["logvar"] = np.concatenate([arrays[f"logvar_l{j}"] for j in range(n_ladders)], 1)
    for name in ("mu", "logvar", "rec_error"):
        if not np.isfinite(arrays[name]).all():
            raise ValueError(f"encoding gave NaN or inf in {name!r}: the model's weights or "
                             "normaliser bounds overflow on these chunks; check the model and "
                             "the data's range")
    return arrays


def stored_chunking(run_dir: str | Path) -> dict[str, Any]:
    """How the model of ``run_dir`` (a run directory or its ``model.pt``) cut its training
    chunks: ``{"horizon", "stride", "tail"}`` from its ``run.json``; ``{}`` when the run has no
    record or was not trained on demonstrations."""
    path = Path(run_dir)
    record = (path if path.is_dir() else path.parent) / "run.json"
    if not record.is_file():
        return {}
    from macroact.io import read_json

    run = read_json(record, "run record")  # a damaged record is an error, not "no record"
    spec = run.get("data", {}) if isinstance(run, dict) else None
    if not isinstance(spec, dict) or not ("demos" in spec or "minari" in spec):
        return {}
    return {"horizon": spec.get("horizon"), "stride": spec.get("stride"),
            "tail": spec.get("tail", "drop")}


def resolve_tail(run_dir: str | Path, tail: str | None, flag: str = "--tail",
                 default: str = "drop") -> str:
    """The tail rule to chunk with: the run's own by default (``default`` when the run has no
    record of one); a different ``tail`` is an error naming both values (codes of chunks cut
    another way would not be the model's)."""
    stored = stored_chunking(run_dir).get("tail")
    if tail is None:
        return stored or default
    if stored is not None and tail != stored:
        raise ValueError(f"{flag} {tail} contradicts the tail rule {stored} the model in "
                         f"{str(run_dir)!r} was trained with (its run.json); leave {flag} out "
                         "to use the run's")
    return tail


def encode_file(run_dir: str | Path, data_path: Any, out_path: str | Path,
                stride: int | None = None, tail: str | None = None,
                batch_size: int = 1024) -> Path:
    """Encode a demonstrations file (chunked at the model's horizon) or an ``.npz`` of sequences.

    Chunks are cut with the tail rule the model was trained with (its ``run.json``) unless
    ``tail`` is given, and a ``tail`` that contradicts the run's is an error. The output
    ``.npz`` holds the arrays of ``encode_chunks`` plus ``episode`` and ``start`` (where each
    chunk came from) and ``factors`` when the data have them. Written atomically.
    ``data_path`` may also be ``EpisodeData`` already read (e.g. a Minari data set).
    """
    tail = resolve_tail(run_dir, tail)
    check_output_file(out_path)  # before any work
    model = SequenceModel.load(run_dir)
    from macroact.data.demos import EpisodeData, chunk_actions

    episodes = data_path if isinstance(data_path, EpisodeData) else None
    if episodes is None:
        data_path = Path(data_path)
        if "actions" in read_npz(data_path, "data file"):
            episodes = EpisodeData.load(data_path)
    extra: dict[str, np.ndarray] = {}
    if episodes is not None:
        chunks = chunk_actions(episodes, model.seq_len, stride, tail)
        x = chunks.actions
        extra = {"episode": chunks.episode, "start": chunks.start, "factors": chunks.factors}
    else:
        from macroact.data.paper import load_npz

        x, factors = load_npz(data_path)
        if factors is not None:
            extra["factors"] = factors
    if len(x) == 0:
        source = f"the {episodes.env_id} episodes" if isinstance(data_path, EpisodeData) \
            else repr(str(data_path))
        raise ValueError(f"no chunk of length {model.seq_len} in {source}; "
                         "use --tail pad_zero or longer episodes")
    arrays = encode_chunks(model, x, batch_size)
    arrays.update(extra)
    return atomic_write(out_path, lambda f: np.savez(f, **arrays))
