"""The paper's 2D data sets (closed forms) and user data in ``.npz`` files.

Every loader returns ``(sequences, factors)``: ``sequences`` float32 of shape
``(N, T, D)`` and ``factors`` int64 of shape ``(N, K)`` (ground-truth factor labels).

The closed forms reproduce the arrays that the FAVAE authors published in their
supplement (checked in ``tests/test_datasets.py`` to 1e-6 against copies in ``tests/data``).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

REACHING_FACTORS = ("goal", "side", "curvature")
WAVY_FACTORS = ("goal", "shape1", "amp1", "shape2", "amp2")
_CURVATURE_K = (10.0, 8.75, 7.5, 6.25, 5.0)


def _check_length(length: int, allowed: tuple[int, ...] | None = None) -> int:
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 2:
        raise ValueError(f"length must be an integer >= 2, got {length!r}")
    if allowed is not None and length not in allowed:
        raise ValueError(f"length must be one of {allowed}, got {length}")
    return int(length)


def reaching_arc(goal: int, side: int, curvature: int, n_points: int = 1000) -> np.ndarray:
    """One 2D Reaching trajectory: ``n_points`` positions ``(n, 2)`` on a circular arc.

    The arc runs from (0, 0) to the goal G = (gx, 1), gx = -0.1 or +0.1, at constant angular
    speed along the shorter arc, both end points included. Its centre is
    ``G/2 + k * (1, -gx)`` with ``k`` set by the side (inward/outward) and curvature labels.
    """
    gx = -0.1 if goal == 0 else 0.1
    k = _CURVATURE_K[curvature] if side == 0 else -_CURVATURE_K[::-1][curvature]
    g = np.array([gx, 1.0])
    c = g / 2 + k * np.array([1.0, -gx])
    a0 = np.arctan2(-c[1], -c[0])
    a1 = np.arctan2(g[1] - c[1], g[0] - c[0])
    delta = (a1 - a0 + np.pi) % (2 * np.pi) - np.pi  # shorter arc
    angles = a0 + delta * np.linspace(0.0, 1.0, n_points)
    r = np.hypot(*c)
    return np.stack([c[0] + r * np.cos(angles), c[1] + r * np.sin(angles)], axis=-1)


def reaching2d(length: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """2D Reaching: 20 arcs from (0, 0) to one of two goals, 3 factors.

    Args:
        length: 1000 (the arc sampled at 1000 angles) or 100 (every 10th of those points,
            stopping just short of the goal, as in the authors' data).

    Returns:
        ``sequences`` float32 (20, length, 2) and ``factors`` int64 (20, 3), columns
        ``goal`` (2), ``side`` (2), ``curvature`` (5), in the authors' order.

    Example:
        >>> x, y = reaching2d(100)
        >>> x.shape, y.shape
        ((20, 100, 2), (20, 3))
    """
    length = _check_length(length, (100, 1000))
    step = 1000 // length
    factors = np.array(list(itertools.product(range(2), range(2), range(5))), dtype=np.int64)
    seqs = np.stack([reaching_arc(*f)[::step] for f in factors])
    return seqs.astype(np.float32), factors


def wavy_reaching2d(length: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """2D Wavy Reaching: 320 two-segment cycloid paths, 5 factors.

    Each of the two segments has ``length / 2`` points of a cycloid
    ``x = a (theta - sin theta)``, ``y = m (1.5 a (1 - cos theta) + w 0.1 sin(5.5 theta))``
    with ``a = 1/(4 pi)``; the second is shifted by 0.5 in x; the path is rotated by
    ``-30 + 15 * goal`` degrees. The length-100 set equals the authors' arrays; the authors'
    length-1000 set was not published, and length 1000 here is the natural extension
    (500 points per segment).

    Returns:
        ``sequences`` float32 (320, length, 2) and ``factors`` int64 (320, 5), columns
        ``goal`` (5), ``shape1`` (2), ``amp1`` (4), ``shape2`` (2), ``amp2`` (4).
    """
    length = _check_length(length, (100, 1000))
    half = length // 2
    a = 1.0 / (4.0 * np.pi)
    theta = 2.0 * np.pi * np.arange(half) / half
    amps = np.array([-1.0, -0.5, 0.5, 1.0])

    def segment(shape: int, amp: int) -> np.ndarray:
        w = 1.0 if shape == 0 else 0.0
        y = amps[amp] * (1.5 * a * (1.0 - np.cos(theta)) + w * 0.1 * np.sin(5.5 * theta))
        return np.stack([a * (theta - np.sin(theta)), y], axis=-1)

    factors = np.array(list(itertools.product(range(5), range(2), range(4), range(2), range(4))),
                       dtype=np.int64)
    seqs = np.empty((len(factors), length, 2))
    for i, (goal, s1, a1, s2, a2) in enumerate(factors):
        path = np.concatenate([segment(s1, a1), segment(s2, a2) + np.array([0.5, 0.0])])
        phi = np.deg2rad(-30.0 + 15.0 * goal)
        rot = np.array([[np.cos(phi), -np.sin(phi)], [np.sin(phi), np.cos(phi)]])
        seqs[i] = path @ rot.T
    return seqs.astype(np.float32), factors


def load_npz(path: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    """User data: an ``.npz`` with ``sequences`` (N, T, D) and optional int ``factors`` (N, K).

    The file is read with ``allow_pickle=False``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data file {str(path)!r} does not exist")
    from macroact.io import read_npz

    f = read_npz(path)  # a damaged or truncated file is a clear CorruptFileError
    if "sequences" not in f:
        raise ValueError(f"{str(path)!r} has arrays {sorted(f)} but no 'sequences'; "
                         "save one with np.savez(path, sequences=x, factors=y)")
    if not np.issubdtype(f["sequences"].dtype, np.number):
        raise ValueError(f"'sequences' in {str(path)!r} must be numbers, got {f['sequences'].dtype}")
    x = np.asarray(f["sequences"], dtype=np.float32)
    y = np.asarray(f["factors"]) if "factors" in f else None
    if x.ndim != 3:
        raise ValueError(f"'sequences' in {str(path)!r} must have shape (N, T, D), got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"'sequences' in {str(path)!r} contain NaN or inf; clean them first")
    if y is not None:
        if y.ndim == 1:
            y = y[:, None]
        if y.ndim != 2 or len(y) != len(x) or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"'factors' in {str(path)!r} must be integers of shape (N, K) with "
                             f"N = {len(x)}, got {y.dtype} {y.shape}")
        y = y.astype(np.int64)
    return x, y


DATASETS = {"reaching2d": reaching2d, "wavy_reaching2d": wavy_reaching2d}
FACTOR_NAMES = {"reaching2d": REACHING_FACTORS, "wavy_reaching2d": WAVY_FACTORS}


def load_dataset(name: str, length: int = 100) -> tuple[np.ndarray, np.ndarray | None]:
    """A data set by name (``reaching2d``, ``wavy_reaching2d``) or an ``.npz`` path."""
    if name in DATASETS:
        return DATASETS[name](length)
    if str(name).endswith(".npz"):
        return load_npz(name)
    raise ValueError(f"unknown dataset {name!r}; use one of {sorted(DATASETS)} or a FILE.npz")


def __getattr__(name: str):
    # Heavier generators live in their own modules; import them on first use.
    if name == "sprites":
        from macroact.data.sprites import sprites
        return sprites
    if name == "speech_dataset":
        from macroact.data.speech import speech_dataset
        return speech_dataset
    raise AttributeError(f"module 'macroact.data.paper' has no attribute {name!r}")
