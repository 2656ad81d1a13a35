"""Disjoint seed streams for demonstrations, training, tuning and evaluation.

Every ``env.reset(seed=...)`` of the project's pipelines should take its seed from one of
these streams, so that no evaluation episode reuses a seed that a demonstration, a training
run or a tuning trial used. Each stream owns a block of ``STREAM_SIZE`` consecutive integers;
within a stream, ``run_seed`` picks a block of ``RUN_BLOCK`` seeds, so independent runs (or
data sets) of one stream do not share seeds either:

======== =============================== ==============================================
stream   seeds                           use
======== =============================== ==============================================
demo     0 .. 999,999,999                demonstrations (``collect``; run 0 is 0, 1, ...
                                         as ``collect(seed=0)`` has always used)
train    1,000,000,000 .. 1,999,999,999  the environments an agent trains in
tune     2,000,000,000 .. 2,999,999,999  episodes that choose hyperparameters or plans
eval     3,000,000,000 .. 3,999,999,999  the reported evaluation episodes
======== =============================== ==============================================

Every seed is below 2**32, so it is also valid for ``np.random.seed`` and ``random.seed``.
Evaluate every agent of a comparison on the same ``run_seed`` of the eval stream so that they
meet the same episodes. Disjoint seeds do not make disjoint start states: an env whose
resets draw from a small finite set (``macroact.envs.ENVS[id].start_states``, the paper's
-v0 tasks) repeats first observations whatever the seeds.

Example:
    >>> seeds("demo", 3)
    array([0, 1, 2])
    >>> seeds("eval", 2, run_seed=1)
    array([3001000000, 3001000001])
    >>> stream_of(3001000000)
    'eval'
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["STREAMS", "STREAM_SIZE", "RUN_BLOCK", "RUNS_PER_STREAM", "seeds", "stream_of"]

STREAM_SIZE = 1_000_000_000
"""Seeds per stream."""
RUN_BLOCK = 1_000_000
"""Seeds per ``run_seed`` within a stream: the most episodes one call of ``seeds`` can give."""
RUNS_PER_STREAM = STREAM_SIZE // RUN_BLOCK
"""Valid ``run_seed`` values are ``0 .. RUNS_PER_STREAM - 1``."""
STREAMS: dict[str, int] = {"demo": 0, "train": STREAM_SIZE, "tune": 2 * STREAM_SIZE,
                           "eval": 3 * STREAM_SIZE}
"""Stream name -> its first seed. The streams' ranges ``[offset, offset + STREAM_SIZE)`` are
disjoint."""


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def seeds(stream: str, n: int, run_seed: int = 0) -> np.ndarray:
    """The ``n`` reset seeds of run ``run_seed`` in ``stream``.

    Seed ``i`` is ``STREAMS[stream] + run_seed * RUN_BLOCK + i``: different streams never
    share a seed, and neither do different ``run_seed`` values of one stream.

    Args:
        stream: ``"demo"``, ``"train"``, ``"tune"`` or ``"eval"`` (the keys of ``STREAMS``).
        n: Number of seeds (episodes), ``0 <= n <= RUN_BLOCK``.
        run_seed: Which block of the stream, ``0 <= run_seed < RUNS_PER_STREAM``; e.g. the
            data set's or the tuning trial's index.

    Returns:
        int64 ``(n,)``: consecutive seeds.

    Raises:
        ValueError: On an unknown stream, or an ``n`` or ``run_seed`` that is not an integer
            or would reach into another run's or another stream's seeds.

    Example:
        >>> seeds("tune", 4, run_seed=2).tolist()
        [2002000000, 2002000001, 2002000002, 2002000003]
    """
    if not isinstance(stream, str) or stream not in STREAMS:
        raise ValueError(f"unknown seed stream {stream!r}; use one of {sorted(STREAMS)}")
    if not _is_int(n) or n < 0:
        raise ValueError(f"n must be an integer >= 0 (the number of episodes), got {n!r}")
    if n > RUN_BLOCK:
        raise ValueError(f"n={n:,} seeds from stream {stream!r} exceed the {RUN_BLOCK:,} that "
                         f"one run_seed holds (more would reuse run_seed {run_seed!r} + 1's "
                         f"seeds); ask for at most {RUN_BLOCK:,} and take the rest from "
                         "further run_seed values")
    if not _is_int(run_seed) or not 0 <= run_seed < RUNS_PER_STREAM:
        raise ValueError(f"run_seed must be an integer in [0, {RUNS_PER_STREAM}) (the stream "
                         f"{stream!r} holds {RUNS_PER_STREAM} runs of {RUN_BLOCK:,} seeds; a "
                         f"larger one would reach into the next stream's seeds), got "
                         f"{run_seed!r}; reuse a smaller run_seed")
    first = STREAMS[stream] + int(run_seed) * RUN_BLOCK
    return np.arange(first, first + int(n), dtype=np.int64)


def stream_of(seed: int) -> str:
    """The stream that ``seed`` belongs to.

    Args:
        seed: A reset seed, ``0 <= seed < len(STREAMS) * STREAM_SIZE``.

    Returns:
        The stream's name.

    Raises:
        ValueError: If ``seed`` is not an integer or lies outside every stream.

    Example:
        >>> stream_of(199), stream_of(2_000_000_000)
        ('demo', 'tune')
    """
    if not _is_int(seed) or not 0 <= seed < len(STREAMS) * STREAM_SIZE:
        raise ValueError(f"seed {seed!r} lies outside every stream (integers in [0, "
                         f"{len(STREAMS) * STREAM_SIZE:,})); draw seeds with seeds()")
    # STREAMS lists the streams in offset order, one STREAM_SIZE apart.
    return list(STREAMS)[int(seed) // STREAM_SIZE]
