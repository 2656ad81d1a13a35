"""(Observation, action) chunks: what closed-loop models and skill priors train on.

``chunk_actions`` (``macroact.data.demos``) cuts the actions; ``chunk_observations`` gives each
chunk's observations beside them, ``packed_chunks`` the ``(N, H, A + O)`` array a
``ClosedLoopFAVAE`` trains on, and ``model_inputs`` whatever array a given model encodes.

Example:
    >>> from macroact.data.demos import collect
    >>> data = collect("macroact/Reaching2D-v0", episodes=2, seed=0)
    >>> chunks, obs = chunk_observations(data, horizon=32)
    >>> chunks.actions.shape, obs.shape
    ((6, 32, 2), (6, 32, 5))
"""

from __future__ import annotations

import numpy as np

from macroact.data.demos import Chunks, EpisodeData, chunk_actions


def chunk_observations(data: EpisodeData, horizon: int, stride: int | None = None,
                       tail: str = "drop") -> tuple[Chunks, np.ndarray]:
    """Action chunks (as ``chunk_actions``) and the observation each action was taken in.

    Step ``t`` of a chunk that starts at step ``s`` of episode ``e`` pairs action
    ``actions[e][s + t]`` with ``observations[e][s + t]`` (Minari's layout: the observation
    before the action). Padded steps of a tail chunk repeat the episode's final observation.

    Returns:
        The chunks and float32 observations ``(N, H, O)``; ``obs[:, 0]`` is each chunk's first
        observation (the state a skill prior conditions on).
    """
    chunks = chunk_actions(data, horizon, stride, tail)
    obs_dim = data.observations[0].shape[1] if len(data) else 0
    out = np.zeros((len(chunks), chunks.actions.shape[1], obs_dim), np.float32)
    for i, (e, s, n) in enumerate(zip(chunks.episode, chunks.start, chunks.length)):
        ep = data.observations[e]
        out[i, :n] = ep[s:s + n]
        out[i, n:] = ep[-1]
    return chunks, out


def packed_chunks(data: EpisodeData, horizon: int, stride: int | None = None,
                  tail: str = "drop") -> tuple[Chunks, np.ndarray]:
    """The chunks and float32 ``(N, H, A + O)``: actions, then observations, per step."""
    chunks, obs = chunk_observations(data, horizon, stride, tail)
    return chunks, np.concatenate([chunks.actions, obs], -1).astype(np.float32)


def model_inputs(model, data: EpisodeData, stride: int | None = None,
                 tail: str = "drop") -> tuple[Chunks, np.ndarray, np.ndarray]:
    """What ``model.encode`` reads for every chunk of ``data`` at the model's horizon.

    Returns the chunks, the model's input (action chunks, or packed chunks for a closed-loop
    model) and each chunk's first observation ``(N, O)``.
    """
    chunks, obs = chunk_observations(data, model.seq_len, stride, tail)
    if getattr(model, "closed_loop", False):
        if obs.shape[2] != model.obs_dim:
            raise ValueError(f"the demos have {obs.shape[2]}-dim observations but the model "
                             f"reads {model.obs_dim}; use demos of the env it was trained on")
        x = np.concatenate([chunks.actions, obs], -1).astype(np.float32)
    else:
        x = chunks.actions
    return chunks, x, obs[:, 0] if len(obs) else np.zeros((0, obs.shape[2]), np.float32)
