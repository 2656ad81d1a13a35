"""Offline encoding of trajectory data sets into FAVAE latent codes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from macroact.io import atomic_write
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
    return arrays


def encode_file(run_dir: str | Path, data_path: str | Path, out_path: str | Path,
                stride: int | None = None, tail: str = "drop", batch_size: int = 1024) -> Path:
    """Encode a demonstrations file (chunked at the model's horizon) or an ``.npz`` of sequences.

    The output ``.npz`` holds the arrays of ``encode_chunks`` plus ``episode`` and ``start``
    (where each chunk came from) and ``factors`` when the data have them. Written atomically.
    """
    model = SequenceModel.load(run_dir)
    data_path = Path(data_path)
    if not data_path.is_file():
        raise FileNotFoundError(f"data file {str(data_path)!r} does not exist")
    with np.load(data_path, allow_pickle=False) as f:
        is_demos = "actions" in f.files
    extra: dict[str, np.ndarray] = {}
    if is_demos:
        from macroact.data.demos import EpisodeData, chunk_actions

        chunks = chunk_actions(EpisodeData.load(data_path), model.seq_len, stride, tail)
        x = chunks.actions
        extra = {"episode": chunks.episode, "start": chunks.start, "factors": chunks.factors}
    else:
        from macroact.data.paper import load_npz

        x, factors = load_npz(data_path)
        if factors is not None:
            extra["factors"] = factors
    if len(x) == 0:
        raise ValueError(f"no chunk of length {model.seq_len} in {str(data_path)!r}; "
                         "use --tail pad_zero or longer episodes")
    arrays = encode_chunks(model, x, batch_size)
    arrays.update(extra)
    return atomic_write(out_path, lambda f: np.savez(f, **arrays))
