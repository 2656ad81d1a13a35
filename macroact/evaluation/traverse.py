"""Latent traversals (the paper's Fig. 3 and 4): one panel per latent dimension."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


def traversal_codes(model, sequences: np.ndarray, dim: int, values: np.ndarray,
                    base: str = "mean") -> torch.Tensor:
    """Latent codes ``(len(values), latent_dim)`` that vary dimension ``dim`` over ``values``.

    The other dimensions stay at the mean posterior code of ``sequences`` (``base="mean"``)
    or at 0 (``base="zero"``).
    """
    if base not in ("mean", "zero"):
        raise ValueError(f"base must be 'mean' or 'zero', got {base!r}")
    mu, _ = model.encode(sequences)
    anchor = mu.mean(0) if base == "mean" else torch.zeros(mu.shape[1])
    codes = anchor.repeat(len(values), 1)
    codes[:, dim] = torch.as_tensor(values, dtype=codes.dtype)
    return codes


def traversal_figure(model, sequences: np.ndarray, values: np.ndarray | None = None,
                     dims: list[int] | None = None, base: str = "mean", data_alpha: float = 0.15):
    """A matplotlib figure with one panel per latent dimension.

    Each panel decodes the anchor code with one dimension swept over ``values`` (default
    -3..3 in 9 steps) and draws the decoded sequences coloured by the swept value. 2D data
    are drawn as paths in the plane over the training data (grey); other data as feature 0
    against time. Panel titles name the ladder of each dimension.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    model.eval()
    values = np.linspace(-3.0, 3.0, 9) if values is None else np.asarray(values, dtype=np.float32)
    mu, _ = model.encode(sequences[:1])
    latent_dim = mu.shape[1]
    dims = list(range(latent_dim)) if dims is None else list(dims)
    bad = [d for d in dims if not 0 <= d < latent_dim]
    if bad:
        raise ValueError(f"latent dims {bad} are out of range; the model has {latent_dim}")
    slices = getattr(model, "ladder_slices", [slice(0, latent_dim)])
    names = ["lower", "middle", "upper"] if len(slices) == 3 else [f"l{i}" for i in range(len(slices))]
    cols = min(len(dims), 7)
    rows = -(-len(dims) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.3 * cols, 2.3 * rows), squeeze=False)
    cmap = plt.get_cmap("cool")
    planar = sequences.shape[2] == 2
    for ax in axes.flat[len(dims):]:
        ax.axis("off")
    for ax, d in zip(axes.flat, dims):
        decoded = model.decode(traversal_codes(model, sequences, d, values, base)).cpu().numpy()
        for seq in sequences[: min(len(sequences), 200)]:
            if planar:
                ax.plot(seq[:, 0], seq[:, 1], color="0.6", lw=0.5, alpha=data_alpha)
        for j, seq in enumerate(decoded):
            color = cmap(j / max(1, len(values) - 1))
            if planar:
                ax.plot(seq[:, 0], seq[:, 1], color=color, lw=1.0)
            else:
                ax.plot(seq[:, 0], color=color, lw=1.0)
        ladder = next(i for i, s in enumerate(slices) if s.start <= d < s.stop)
        ax.set_title(f"z{d} ({names[ladder]} {d - slices[ladder].start})", fontsize=8)
        ax.tick_params(labelsize=6)
    fig.tight_layout()
    return fig


def save_traversals(model, sequences: np.ndarray, out_dir: str | Path, **kwargs) -> list[Path]:
    """Write ``traversal.png`` (all dims) into ``out_dir``; returns the written paths."""
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fig = traversal_figure(model, sequences, **kwargs)
    path = out_dir / "traversal.png"
    tmp = out_dir / ".traversal.png.tmp"
    fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    tmp.replace(path)
    return [path]
