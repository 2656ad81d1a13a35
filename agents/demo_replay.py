"""Demonstrations as off-policy experience: the demos' transitions in SAC's replay buffer.

An off-policy agent can learn from the demonstrations' rewards without cloning them: their
transitions go into the replay buffer before the first env step (as DDPGfD, Vecerik et al.
2017, and RLPD, Ball et al., ICML 2023, do with prior data), and every minibatch then draws
from them beside the agent's own experience. The actor is not fitted to the demos; the critic
learns what their actions earned, and the actor follows the critic.

``demo_transitions`` turns an ``EpisodeData`` into transitions in the agent's action space:

* flat (``model=None``): one transition per demo step, ``(o_t, a_t, r_t, o_{t+1})``, the
  action mapped onto ``[-1, 1]`` as SB3 stores a ``Box`` action in its buffer;
* latent: one transition per decision of the macro-action wrapper. Each episode is cut into
  chunks of the model's horizon ``H`` from its first step (stride ``H``, the model's tail
  rule), as the wrapper's macros cut an episode, and each chunk is encoded (posterior mean,
  through the model's normaliser; a closed-loop model reads the chunk's observations too).
  The agent's action is ``mu[latent_dims] / scale`` clipped to ``[-1, 1]`` (the inverse of
  the wrapper's ``latent = scale * action``), the reward the sum of the chunk's primitive
  rewards (the wrapper's ``reward="sum"``), the next observation the one after the chunk's
  last real step.

A transition ends its episode when a step of it terminated (``done``, no bootstrap) or when it
reaches the end of a demo that did not terminate (``timeout``: SB3 bootstraps through it).
Demos recorded with DART noise (``collect(..., action_noise=...)``) pair the
demonstrator's actions with the states the noisy ones reached: the transitions are then only
approximately the recorded actions' outcomes.

``fill_replay_buffer`` adds them to an SB3 ``ReplayBuffer`` (``n_envs`` transitions per row).
"""

from __future__ import annotations

import numpy as np

from macroact.agents.bc import _check_demos
from macroact.data.demos import EpisodeData

__all__ = ["demo_transitions", "fill_replay_buffer"]

_CLIP = 1.0 - 1e-6  # keep actions inside tanh's range: SB3 evaluates log-probs at them


def _ends(terminations: np.ndarray, truncations: np.ndarray, stop: int, n: int
          ) -> tuple[bool, bool]:
    """(done, timeout) of a transition whose last step is ``stop - 1`` of an ``n``-step demo:
    done without bootstrap at a termination; a timeout at a truncation or at the end of a demo
    that did not terminate (a time limit, or the demonstrator stopped there)."""
    if terminations[stop - 1]:
        return True, False
    if stop >= n or truncations[stop - 1]:
        return True, True
    return False, False


def demo_transitions(demos: EpisodeData, model=None, tail: str = "pad_zero",
                     scale: float = 3.0, latent_dims=None, batch_size: int = 1024
                     ) -> dict[str, np.ndarray]:
    """The demos' transitions in the agent's action space (see the module doc).

    Args:
        demos: the demonstrations.
        model: the agent's FAVAE (open- or closed-loop), or None for a flat agent.
        tail: the model's chunk tail rule (``pad_zero``, ``pad_last``; ``drop`` leaves out each
            episode's last partial chunk).
        scale: the wrapper's latent scale.
        latent_dims: the latent dims the agent drives, in its action order (the wrapper's
            ``latent_dims``; None: all, in order).
        batch_size: chunks encoded at a time.

    Returns:
        ``observations`` and ``next_observations`` float32 ``(N, O)``, ``actions`` float32
        ``(N, k)`` in ``[-1, 1]``, ``rewards`` float32 ``(N,)``, ``dones`` and ``timeouts``
        bool ``(N,)``.

    Example:
        >>> from macroact.data.demos import collect
        >>> data = collect("macroact/Reaching2D-v0", episodes=2, seed=0)
        >>> t = demo_transitions(data)
        >>> t["actions"].shape == (sum(len(a) for a in data.actions), 2)
        True
    """
    demos = _check_demos(demos)
    if model is None:
        return _flat(demos)
    if isinstance(scale, bool) or not isinstance(scale, (int, float, np.number)) \
            or not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale must be a positive number (latent = scale * action), got "
                         f"{scale!r}; pass the wrapper's scale")
    act_dim = getattr(model, "action_dim", model.n_features)  # closed loop: A of its A + O
    if act_dim != len(demos.low):
        raise ValueError(f"the model decodes {act_dim}-dim actions but the demos have "
                         f"{len(demos.low)}-dim actions; use demos of the model's env")
    dims = list(range(model.latent_dim)) if latent_dims is None else [int(d) for d in
                                                                      latent_dims]
    bad = [d for d in dims if not 0 <= d < model.latent_dim]
    if not dims or bad:
        raise ValueError(f"latent_dims {list(latent_dims)} must be a non-empty list of the "
                         f"model's {model.latent_dim} latent dims; pass the wrapper's latent_dims")
    from macroact.data.skills import model_inputs
    from macroact.evaluation.encode import encode_chunks

    chunks, x, first = model_inputs(model, demos, tail=tail)
    if len(chunks) == 0:
        raise ValueError(f"no chunk of length {model.seq_len} in the demos with tail={tail!r}; "
                         "use the model's tail rule (pad_last or pad_zero)")
    mu = encode_chunks(model, x, batch_size)["mu"]
    n = len(chunks)
    out = {"observations": first.astype(np.float32),
           "next_observations": np.empty_like(first, dtype=np.float32),
           "actions": np.clip(mu[:, dims] / float(scale), -_CLIP, _CLIP).astype(np.float32),
           "rewards": np.empty(n, np.float32), "dones": np.empty(n, bool),
           "timeouts": np.empty(n, bool)}
    for i, (e, s, k) in enumerate(zip(chunks.episode, chunks.start, chunks.length)):
        stop = int(s + k)
        steps = len(demos.actions[e])
        term = np.asarray(demos.terminations[e], bool)
        # A terminal step inside the chunk ends the macro there (the wrapper stops at it).
        hit = np.flatnonzero(term[s:stop])
        if len(hit):
            stop = int(s + hit[0] + 1)
        out["next_observations"][i] = demos.observations[e][stop]
        out["rewards"][i] = float(np.sum(demos.rewards[e][s:stop]))
        out["dones"][i], out["timeouts"][i] = _ends(term, np.asarray(demos.truncations[e], bool),
                                                    stop, steps)
    return out


def _flat(demos: EpisodeData) -> dict[str, np.ndarray]:
    low, high = np.asarray(demos.low, np.float64), np.asarray(demos.high, np.float64)
    if not (np.isfinite(low).all() and np.isfinite(high).all()) or (high <= low).any():
        raise ValueError(f"the demos' action bounds must be finite with high > low to map "
                         f"actions onto [-1, 1], got low={low.tolist()} high={high.tolist()}")
    parts: dict[str, list[np.ndarray]] = {k: [] for k in (
        "observations", "next_observations", "actions", "rewards", "dones", "timeouts")}
    for obs, act, rew, term, trunc in zip(demos.observations, demos.actions, demos.rewards,
                                          demos.terminations, demos.truncations):
        n = len(act)
        term, trunc = np.asarray(term, bool), np.asarray(trunc, bool)
        last = np.zeros(n, bool)
        last[-1] = True
        timeout = (trunc | last) & ~term
        parts["observations"].append(obs[:n])
        parts["next_observations"].append(obs[1:n + 1])
        parts["actions"].append(2.0 * (act - low) / (high - low) - 1.0)
        parts["rewards"].append(rew)
        parts["dones"].append(term | timeout)
        parts["timeouts"].append(timeout)
    out = {k: np.concatenate(v) for k, v in parts.items()}
    out["actions"] = np.clip(out["actions"], -_CLIP, _CLIP)
    for k in ("observations", "next_observations", "actions", "rewards"):
        out[k] = out[k].astype(np.float32)
    return out


def fill_replay_buffer(buffer, transitions: dict[str, np.ndarray]) -> int:
    """Add ``transitions`` to an SB3 ``ReplayBuffer`` (``n_envs`` of them per buffer row, in
    order; a remainder of fewer than ``n_envs`` is left out). Returns how many were added.

    Raises ``ValueError`` naming the sizes when they do not fit in the buffer (it would
    overwrite the first demos with the last) or their shapes do not match its spaces."""
    n_envs = int(buffer.n_envs)
    n = len(transitions["actions"]) // n_envs * n_envs
    if n == 0:
        raise ValueError(f"no demonstration transition to add ({len(transitions['actions'])} "
                         f"for {n_envs} envs per buffer row)")
    rows = n // n_envs
    free = buffer.buffer_size - buffer.pos
    if rows > free or buffer.full:
        raise ValueError(f"{n} demonstration transitions need {rows} replay-buffer rows, the "
                         f"buffer has {free} free of {buffer.buffer_size}; raise buffer_size "
                         f"(--sac buffer_size={buffer.pos + rows + 100_000}) or use fewer demos")
    obs_shape, act_dim = tuple(buffer.obs_shape), int(buffer.action_dim)
    if transitions["observations"].shape[1:] != obs_shape \
            or transitions["actions"].shape[1:] != (act_dim,):
        raise ValueError(f"demonstration transitions have observations "
                         f"{transitions['observations'].shape[1:]} and actions "
                         f"{transitions['actions'].shape[1:]}, the agent's buffer {obs_shape} and "
                         f"({act_dim},); use demos of the agent's env (and its model)")
    for r in range(rows):
        sl = slice(r * n_envs, (r + 1) * n_envs)
        infos = [{"TimeLimit.truncated": bool(t)} for t in transitions["timeouts"][sl]]
        buffer.add(transitions["observations"][sl], transitions["next_observations"][sl],
                   transitions["actions"][sl], transitions["rewards"][sl],
                   transitions["dones"][sl].astype(np.float32), infos)
    return n
