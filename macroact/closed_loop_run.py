"""Running closed-loop macros: decode the ladders once per macro, the action head every step.

``macroact.wrapper`` uses this for a ``ClosedLoopFAVAE`` (any model with ``closed_loop =
True``): ``MacroActionVecEnv`` calls ``run_closed_macros`` (``MacroActionWrapper`` calls
``ClosedLoopRunner.run_one``, the same for one env), which decodes every sub-env's code into per-step features in one call, then at each primitive step
runs the head once on the live observations of the sub-envs still in their macro (one
batched call), clips the actions to the env's bounds and steps each env, stopping each at its
first termination or truncation.

The fast path (``fast_decode=True``) folds the ladder decoder into dense matrices
(``macroact.models.fastdecode``, as for an open-loop FAVAE) and the head into numpy matrices
with the observation normaliser and the feature part of its first layer folded in
(``ClosedLoopHead``); both are checked against the model on random inputs at construction and
replaced by the model's own computation (with a warning) on any mismatch. One env on the fast
path runs the same arithmetic through ``_SingleEnvPath`` (preallocated buffers, ``np.dot``
into them, no identity rescaling of the features, the head inline in the step loop), which
is used only when it sends bit-identical actions at construction.
"""

from __future__ import annotations

import math
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
        self._single = None  # the one-env hot path (_SingleEnvPath), when it matches exactly
        if self.fast:
            single = _SingleEnvPath(self._features, self._head, self._clip, self.low,
                                    self.high, self.dtype)
            self._single = single if single.agrees(self) else None

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

    def run_one(self, env, action: np.ndarray, obs: Any, gamma: float | None, record: bool
                ) -> tuple[Any, float, bool, bool, dict]:
        """One macro in one env from its current observation ``obs`` ``(O,)``, for a checked
        agent action ``(k,)``; as ``run_closed_macros`` for one env."""
        if self._single is not None:
            return self._single.run(env, action[None], obs, gamma, record)
        return run_closed_macros([env], self, action[None], np.asarray(obs)[None], gamma,
                                 record)[0]

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
    n = len(envs)
    if n == 1 and runner._single is not None:  # the one-env hot path
        return [runner._single.run(envs[0], actions, np.asarray(obs)[0], gamma, record)]
    plan = runner.begin(actions)
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


class _SingleEnvPath:
    """One env's closed-loop macro on the fast path, with less overhead per numpy call.

    The same arithmetic as ``BoundDecoder``, ``ClosedLoopHead`` and ``ClosedLoopRunner.act``
    (``agrees`` checks that the actions are bit-identical), run with what one code per macro and
    one observation per step make cheap: every product is ``np.dot`` into a buffer made once
    (the same BLAS products as ``@``, without ``matmul``'s ufunc dispatch), the
    scalars (LeakyReLU's slope, ReLU's 0) are arrays of the operand's width (numpy converts a
    Python scalar on every call), the features skip the decoder's output scaling and clipping,
    which are the identity for the ladder model's [-1, 1] features, and the head runs inline in
    the step loop. The NaN check of the features is one dot product: tanh's output is finite
    unless NaN, so their sum is NaN exactly when a feature is.

    Args:
        features: the runner's ``BoundDecoder`` (agent actions -> features).
        head: the runner's ``ClosedLoopHead``.
        clip, low, high, dtype: the runner's clipping and the env's action bounds and dtype.
    """

    def __init__(self, features, head: ClosedLoopHead, clip: bool, low: np.ndarray,
                 high: np.ndarray, dtype):
        f32 = np.float32
        horizon, n_feat = features.out_shape
        self.horizon = horizon
        # The decoder's output map tanh * half + centre, clipped to [low, high], is the identity
        # when half = 1, centre = 0 and the bounds contain tanh's [-1, 1].
        self.usable = bool(np.all(features.half == 1) and np.all(features.centre == 0)
                           and np.all(features.low <= -1) and np.all(features.high >= 1)
                           and features.dtype == f32)
        slope = f32(features.slope)

        def leaky_bufs(width: int) -> tuple[np.ndarray, np.ndarray]:
            return np.full((1, width), slope, f32), np.empty((1, width), f32)

        self.w_inj, self.b_inj = features.w_inj, features.b_inj
        self.x = np.empty((1, features.w_inj.shape[1]), f32)
        # Per stage: the injected view of x (or None), its leaky buffers, and per layer
        # (W, out buffer, leaky buffers or None after the last, which tanh follows).
        self.stages = []
        for sl, mats in features.plan:
            xs = self.x[:, sl] if sl is not None else None
            first = leaky_bufs(xs.shape[1]) if xs is not None else None
            layers = [(W, np.empty((1, W.shape[1]), f32),
                       None if W is features.last else leaky_bufs(W.shape[1])) for W in mats]
            self.stages.append((xs, first, layers))
        last_out = self.stages[-1][2][-1][1]  # the features, time-major
        self.features, self.flat = last_out.reshape(horizon, n_feat), last_out[0]
        self.ones = np.ones(horizon * n_feat, f32)
        self.w_feat, self.b_first = head.w_feat, head.b_first
        self.plan = np.empty((horizon, head.w_feat.shape[1]), f32)
        self.rows = list(self.plan)  # views, rewritten by every begin
        # The head: the observation block into a buffer, then ReLU and W per later layer.
        self.obs = np.empty(head.w_obs.shape[0], f32)
        self.w_obs = head.w_obs
        self.h = np.empty(head.w_obs.shape[1], f32)
        self.layers = []  # (zeros of the input width, W, out buffer or None: a fresh array)
        for k, W in enumerate(head.rest):
            out = None if k == len(head.rest) - 1 else np.empty(W.shape[1], f32)
            self.layers.append((np.zeros(W.shape[0], f32), W, out))
        self.half = head.half if head._scale else None
        self.centre = head.centre if head._shift else None
        self.bounds = (low, high) if clip else None
        self.dtype = np.dtype(dtype)

    def agrees(self, runner: ClosedLoopRunner, n: int = 4) -> bool:
        """Whether ``run`` sends the actions of the runner's general fast path bit for bit, on
        random codes and observations (float64, as MuJoCo gives, and float32)."""
        if not self.usable:
            return False
        rng = np.random.default_rng(1)
        for _ in range(n):
            a = rng.uniform(-1, 1, (1, len(runner.dims))).astype(np.float32)
            try:
                plan = runner.begin(a)[0]
            except ValueError:  # NaN features: leave the error to the general path's step
                return False
            for dtype in (np.float64, np.float32):
                replay = _Replay(rng.uniform(-3, 3, (self.horizon, runner.obs_dim)).astype(dtype))
                self.run(replay, a, replay.observations[0], None, False)
                want = [runner.act(plan[t], o) for t, o in enumerate(replay.observations)]
                if any(g.dtype != w.dtype or not np.array_equal(g, w)
                       for g, w in zip(replay.actions, want)):
                    return False
        return True

    def begin(self, actions: np.ndarray) -> list[np.ndarray]:
        """The head's first-layer feature part of each step ``[(hidden,)] * H`` for agent
        actions ``(1, k)``: views of one buffer, rewritten by the next call."""
        dot, maximum, multiply = np.dot, np.maximum, np.multiply
        x = dot(actions, self.w_inj, out=self.x)
        x += self.b_inj
        h = None
        for xs, first, layers in self.stages:
            if xs is not None:
                if h is None:  # LeakyReLU in place: max(x, slope * x)
                    maximum(xs, multiply(xs, first[0], out=first[1]), out=xs)
                    h = xs
                else:
                    h += xs
            for W, out, leaky in layers:
                h = dot(h, W, out=out)
                if leaky is not None:
                    maximum(h, multiply(h, leaky[0], out=leaky[1]), out=h)
        np.tanh(h, out=h)  # h is self.flat's buffer
        if not math.isfinite(dot(self.flat, self.ones)):
            raise ValueError("the model decoded NaN or inf features (its weights overflow); no "
                             "action was sent to the env")
        plan = dot(self.features, self.w_feat, out=self.plan)
        plan += self.b_first
        return self.rows

    def run(self, env, actions: np.ndarray, obs: Any, gamma: float | None, record: bool):
        """One macro of agent actions ``(1, k)`` from the raw observation ``obs`` ``(O,)``;
        returns ``(obs, reward, terminated, truncated, info)`` as ``run_closed_macros``."""
        rows = self.begin(actions)
        dot, maximum, tanh = np.dot, np.maximum, np.tanh
        o, w_obs, h_first, layers = self.obs, self.w_obs, self.h, self.layers
        half, centre, bounds, dtype = self.half, self.centre, self.bounds, self.dtype
        total, discount = 0.0, 1.0
        executed = []
        for t in range(self.horizon):
            # The head on the live observation; the action is a fresh array every step.
            o[...] = obs  # float32, rounded as astype rounds
            h = dot(o, w_obs, out=h_first)
            if layers:
                h += rows[t]
            else:
                h = h + rows[t]
            for zeros, W, out in layers:
                maximum(h, zeros, out=h)
                h = dot(h, W) if out is None else dot(h, W, out=out)
            tanh(h, out=h)
            if half is not None:
                h *= half
            if centre is not None:
                h += centre
            if bounds is not None:
                maximum(h, bounds[0], out=h)
                np.minimum(h, bounds[1], out=h)
                if h.dtype != dtype:
                    h = h.astype(dtype)
            obs, r, terminated, truncated, info = env.step(h)
            if gamma is None:
                total += float(r)
            else:
                total += discount * float(r)
                discount *= gamma
            if record:
                executed.append(h)
            if terminated or truncated:
                break
        info = dict(info)
        info["macro_steps"] = t + 1
        if record:
            info["executed_actions"] = np.stack(executed)
        return obs, total, bool(terminated), bool(truncated), info


class _Replay:
    """An env for ``_SingleEnvPath.agrees``: gives fixed observations, records the actions."""

    def __init__(self, observations: np.ndarray):
        self.observations = list(observations)
        self.actions: list[np.ndarray] = []

    def step(self, action):
        self.actions.append(np.array(action, copy=True))
        t = len(self.actions)
        obs = self.observations[min(t, len(self.observations) - 1)]
        return obs, 0.0, False, False, {}
