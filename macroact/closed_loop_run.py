"""Running closed-loop macros: decode the ladders once per macro, the action head every step.

``macroact.wrapper`` uses this for a ``ClosedLoopFAVAE`` (any model with ``closed_loop =
True``): ``MacroActionWrapper`` and ``MacroActionVecEnv`` call ``run_closed_macros``, which
decodes every sub-env's code into per-step features in one call, then at each primitive step
runs the head once on the live observations of the sub-envs still in their macro (one
batched call), clips the actions to the env's bounds and steps each env, stopping each at its
first termination or truncation.

The fast path (``fast_decode=True``) folds the ladder decoder into dense matrices
(``macroact.models.fastdecode``, as for an open-loop FAVAE) and the head into numpy matrices
with the observation normaliser and the feature part of its first layer folded in
(``ClosedLoopHead``); both are checked against the model on random inputs at construction and
replaced by the model's own computation (with a warning) on any mismatch.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from macroact.models.closed_loop import ClosedLoopHead


class ClosedLoopRunner:
    """Agent actions -> per-step features -> actions from the live observation.

    Args:
        model: a ``ClosedLoopFAVAE`` in eval mode.
        latent_dims, base, scale: the code ``z = base; z[latent_dims] = scale * a``.
        low, high, dtype: the env's action bounds and dtype (actions are clipped to them).
        fast_decode: use the numpy fast path (see the module docstring).
    """

    def __init__(self, model, latent_dims, base: np.ndarray, scale: float, low: np.ndarray,
                 high: np.ndarray, dtype, fast_decode: bool = True):
        self.model = model
        self.horizon = int(model.seq_len)
        self.obs_dim = int(model.obs_dim)
        self.dims = np.asarray(latent_dims, dtype=np.int64)
        self.base = np.asarray(base, np.float32).reshape(-1)
        self.scale = float(scale)
        self.dtype = np.dtype(dtype)
        self.low = np.asarray(low, self.dtype)
        self.high = np.asarray(high, self.dtype)
        self._features = None  # numpy: (n, k) agent actions -> (n, H, F)
        self._head = None      # numpy head (ClosedLoopHead)
        if fast_decode:
            from macroact.models.fastdecode import DenseDecoder

            dense = DenseDecoder.from_model(model.vae)
            if dense is not None:
                f = model.config.feature_dim
                self._features = dense.bind(self.dims, self.base, self.scale, -np.ones(f),
                                            np.ones(f), np.float32)
            head = ClosedLoopHead(model)
            self._head = head if self._head_agrees(head) else None
        # Rounding is monotone, so when the head's extreme outputs centre -/+ half lie within
        # the env's bounds every output does, and clipping would change nothing.
        self._clip = True
        if self._head is not None:
            h = self._head
            lo, hi = h.centre - h.half, h.centre + h.half
            self._clip = not (np.all(lo >= self.low) and np.all(hi <= self.high)
                              and self.dtype == np.float32)

    @property
    def fast(self) -> bool:
        """Whether both the features and the head run through the numpy fast path."""
        return self._features is not None and self._head is not None

    def check_observation_space(self, space: spaces.Space, name: str) -> None:
        """Raise unless ``space`` is a 1-D Box of the model's observation size."""
        if not isinstance(space, spaces.Box) or space.shape != (self.obs_dim,):
            raise ValueError(f"the closed-loop model reads {self.obs_dim}-dim observations but "
                             f"{name} has observation space {space}; train it on {name} demos")

    def _head_agrees(self, head: ClosedLoopHead, n: int = 8) -> bool:
        rng = np.random.default_rng(0)
        m = self.model
        a_dim = m.action_dim
        low = m.normalizer.low[a_dim:].cpu().numpy()
        high = m.normalizer.high[a_dim:].cpu().numpy()
        obs = rng.uniform(low - 0.5, high + 0.5, (n, self.obs_dim)).astype(np.float32)
        feats = rng.uniform(-1, 1, (n, m.config.feature_dim)).astype(np.float32)
        expected = m.act(torch.from_numpy(feats), torch.from_numpy(obs)).cpu().numpy()
        got = head(head.pre(feats), obs)
        half = float(np.abs(head.half).max())
        if np.allclose(got, expected, rtol=1e-4, atol=1e-4 * max(1.0, half)):
            return True
        warnings.warn(f"the numpy action head differs from the model by up to "
                      f"{float(np.abs(got - expected).max()):.3g}; using the model instead",
                      stacklevel=4)
        return False

    def codes(self, actions: np.ndarray) -> np.ndarray:
        """Full latent codes ``(n, latent_dim)`` of agent actions ``(n, k)``."""
        z = np.repeat(self.base[None], len(actions), 0)
        z[:, self.dims] = self.scale * actions
        return z

    def begin(self, actions: np.ndarray):
        """Per sub-env plan of a macro ``(n, H, X)``: the head's first-layer feature part (fast
        path) or the features themselves (torch path)."""
        if self._features is not None:
            feats = self._features(actions)
        else:
            feats = self.model.decode_features(torch.from_numpy(self.codes(actions))).cpu().numpy()
        if not np.isfinite(feats).all():
            raise ValueError("the model decoded NaN or inf features (its weights overflow); no "
                             "action was sent to the env")
        return self._head.pre(feats) if self._head is not None else feats

    def act(self, plan_t: np.ndarray, obs: np.ndarray) -> np.ndarray:
        """Clipped env actions ``(m, A)`` for one step of ``m`` sub-envs (or ``(A,)`` for one
        plan row ``(X,)`` and one observation ``(O,)`` on the fast path)."""
        if self._head is not None:
            a = self._head(plan_t, obs)
            if not self._clip:
                return a
        else:
            a = self.model.act(torch.from_numpy(np.ascontiguousarray(plan_t)),
                               torch.as_tensor(np.asarray(obs, np.float32))).cpu().numpy()
        np.maximum(a, self.low, out=a)
        np.minimum(a, self.high, out=a)
        return a if a.dtype == self.dtype else a.astype(self.dtype)


def run_closed_macros(envs, runner: ClosedLoopRunner, actions: np.ndarray, obs: np.ndarray,
                      gamma: float | None, record: bool
                      ) -> list[tuple[Any, float, bool, bool, dict]]:
    """One closed-loop macro in each env; per env ``(obs, reward, terminated, truncated, info)``.

    Args:
        envs: the (raw) envs, one per row of ``actions``.
        runner: the closed-loop runner.
        actions: checked agent actions ``(n, k)``.
        obs: each env's current observation ``(n, O)`` (where its macro starts).
        gamma: discount within the macro (None: plain sum).
        record: add ``info["executed_actions"]``.
    """
    plan = runner.begin(actions)
    n = len(envs)
    if n == 1:  # the single-env hot path: no index bookkeeping
        return [_run_one(envs[0], runner, plan[0], np.asarray(obs)[0], gamma, record)]
    current = np.array(obs, dtype=np.float32).reshape(n, -1)
    totals, discounts = np.zeros(n), np.ones(n)
    executed = [[] for _ in range(n)]
    results: list[Any] = [None] * n
    active = np.arange(n)
    for t in range(runner.horizon):
        acts = runner.act(plan[active, t], current[active])
        still = []
        for j, i in enumerate(active):
            o, r, terminated, truncated, info = envs[i].step(acts[j])
            totals[i] += float(r) * (1.0 if gamma is None else discounts[i])
            if gamma is not None:
                discounts[i] *= gamma
            if record:
                executed[i].append(acts[j].copy())
            current[i] = o
            if terminated or truncated or t == runner.horizon - 1:
                info = dict(info)
                info["macro_steps"] = t + 1
                if record:
                    info["executed_actions"] = np.stack(executed[i])
                results[i] = (o, float(totals[i]), bool(terminated), bool(truncated), info)
            else:
                still.append(i)
        if not still:
            break
        active = np.asarray(still)
    return results


def _run_one(env, runner: ClosedLoopRunner, plan: np.ndarray, obs: np.ndarray,
             gamma: float | None, record: bool):
    total, discount = 0.0, 1.0
    executed = []
    act, horizon = runner.act, runner.horizon
    fast = runner._head is not None  # the numpy head takes one row without a batch axis
    for t in range(horizon):
        a = act(plan[t], obs) if fast else act(plan[t:t + 1], np.asarray(obs)[None])[0]
        obs, r, terminated, truncated, info = env.step(a)
        if gamma is None:
            total += float(r)
        else:
            total += discount * float(r)
            discount *= gamma
        if record:
            executed.append(a)
        if terminated or truncated:
            break
    info = dict(info)
    info["macro_steps"] = t + 1
    if record:
        info["executed_actions"] = np.stack(executed)
    return obs, total, bool(terminated), bool(truncated), info
