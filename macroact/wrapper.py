"""Macro-actions: an agent picks a latent code, a FAVAE decodes it into ``H`` primitive actions.

``MacroActionWrapper`` turns a Gymnasium env with a ``Box`` action space into one whose action
is a point of ``[-1, 1]^k``. Each step sets ``k`` chosen latent dimensions to ``scale * action``
(the others to 0, or to a fixed ``anchor`` code), decodes the code once into an ``(H, A)``
sequence in the env's action units, clips it to the env's bounds and executes it, stopping at
the first termination or truncation. ``MacroActionVecEnv`` is the vectorised variant for
stable-baselines3: one batched decode for all sub-envs per step.

Which latents the agent controls (``latents=``):

* ``"all"``: every latent dimension, lower ladder first.
* ``"ladders:1,2"`` or ``{"ladders": [1, 2]}``: the dimensions of those ladders, in the order
  given (ladder 0 is the lowest, the fastest-varying factors).
* ``[0, 3, 9]``: those dimensions, in that order (action ``j`` drives dimension ``dims[j]``).
* ``"active"``: the dimensions whose mean KL divergence from the prior over the training data
  exceeds ``kl_threshold`` (see ``mean_latent_kl``); needs ``data=`` (the ``(N, H, A)`` action
  chunks the model was trained on, in env units).

A closed-loop model (``ClosedLoopFAVAE``, ``macroact train --closed-loop``) is detected and run
by ``macroact.closed_loop_run``: its ladders are decoded once per macro into per-step features,
and its action head runs once per primitive step on the live observation (batched over the
sub-envs of ``MacroActionVecEnv``), with the same clipping, termination, rewards and infos.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from copy import deepcopy
from typing import Any, SupportsFloat, Union

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.vec_env import DummyVecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvStepReturn

from macroact.models.base import SequenceModel
from macroact.models.losses import standard_normal_kl

LatentSpec = Union[str, Sequence[int], Mapping[str, Sequence[int]]]

REWARD_MODES = ("sum", "discounted")
#: A model whose stored bounds reach beyond the env's by more than this fraction of the env's
#: range (on either side, in any dimension) triggers a warning: much of what it decodes will be
#: clipped. Disjoint ranges are an error.
BOUNDS_TOLERANCE = 0.1


def mean_latent_kl(model: SequenceModel, data: Any, batch_size: int = 1024) -> np.ndarray:
    """Per-dimension KL of the posterior ``q(z|x)`` from N(0, 1), averaged over ``data``.

    Args:
        model: an encoder with ``encode(x) -> (mu, logvar)``, in eval mode.
        data: action chunks ``(N, H, A)`` in data (env) units.
        batch_size: chunks encoded at a time.

    Returns:
        ``(latent_dim,)`` float64 array of mean KL per dimension (nats).

    Example:
        >>> from macroact.models.favae import FAVAE, FAVAEConfig
        >>> model = FAVAE(FAVAEConfig(seq_len=8), n_features=2).eval()
        >>> mean_latent_kl(model, np.zeros((5, 8, 2), np.float32)).shape
        (14,)
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if not isinstance(data, torch.Tensor):
        data = np.asarray(data, dtype=np.float32)
    n = len(data)
    if n == 0:
        raise ValueError("data holds no chunks; pass the (N, H, A) action chunks the model "
                         "was trained on")
    total = None
    for i in range(0, n, batch_size):
        mu, logvar = model.encode(data[i:i + batch_size])
        kl = standard_normal_kl(mu, logvar)
        part = kl.double().sum(0).cpu().numpy()
        total = part if total is None else total + part
    return total / n


def _env_name(env: gym.Env) -> str:
    spec = getattr(env, "spec", None)
    return spec.id if spec is not None else type(env.unwrapped).__name__


def _as_model(model: Any) -> SequenceModel:
    """Load ``model`` if it is a path; check it can decode latent codes into sequences."""
    if isinstance(model, (str, os.PathLike)):
        model = SequenceModel.load(model)
    if not isinstance(model, SequenceModel):
        raise TypeError(f"model must be a FAVAE or the path of a saved one, got "
                        f"{type(model).__name__}")
    if getattr(model, "closed_loop", False):  # decoded by macroact.closed_loop_run
        return model
    if not callable(getattr(model, "decode", None)) or not hasattr(model, "latent_dim") \
            or model.seq_len is None:
        raise TypeError(f"a {type(model).__name__} ({model.name!r}) cannot decode a latent code "
                        "into an action sequence; use a FAVAE (macroact train --model favae)")
    return model


def _int_list(values: Any, what: str) -> list[int]:
    out = []
    for v in values:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise ValueError(f"{what} must be integers, got {v!r} in {values!r}")
        out.append(int(v))
    if not out:
        raise ValueError(f"{what} is empty; choose at least one")
    if len(set(out)) != len(out):
        raise ValueError(f"{what} {out} repeat an index; list each once")
    return out


def _resolve_latents(model: SequenceModel, latents: LatentSpec, data: Any,
                     kl_threshold: float) -> tuple[tuple[int, ...], np.ndarray | None]:
    """The latent dimensions the agent drives, and the mean KL per dim for ``"active"``."""
    dim = model.latent_dim
    slices = list(getattr(model, "ladder_slices", [slice(0, dim)]))
    usage = ("latents must be 'all', 'active', 'ladders:I,J', {'ladders': [I, J]} or a list of "
             "latent dims such as [0, 3, 9]")
    ladders = None
    if isinstance(latents, str):
        if latents == "all":
            return tuple(range(dim)), None
        if latents == "active":
            if data is None:
                raise ValueError("latents='active' needs the training data to measure each dim's "
                                 "KL: pass data=chunks, the (N, H, A) action chunks the model was "
                                 "trained on, in env units")
            kl = mean_latent_kl(model, data)
            dims = tuple(int(i) for i in np.flatnonzero(kl > kl_threshold))
            if not dims:
                best = int(np.argmax(kl))
                raise ValueError(f"no latent dim has mean KL above kl_threshold={kl_threshold} "
                                 f"(largest: {kl[best]:.4g} at dim {best}); lower kl_threshold, "
                                 "or check that data are the model's training chunks")
            return dims, kl
        if latents.startswith("ladders:"):
            try:
                ladders = [int(v) for v in latents[len("ladders:"):].split(",")]
            except ValueError:
                raise ValueError(f"{usage}; could not read ladder indices from {latents!r}") from None
        else:
            raise ValueError(f"{usage}; got {latents!r}")
    elif isinstance(latents, Mapping):
        if set(latents) != {"ladders"}:
            raise ValueError(f"{usage}; a dict must have the single key 'ladders', got keys "
                             f"{sorted(map(str, latents))}")
        ladders = latents["ladders"]
        if isinstance(ladders, (int, np.integer)):
            ladders = [ladders]
    elif isinstance(latents, (Sequence, np.ndarray)):
        dims = _int_list(latents, "latent dims")
        bad = [d for d in dims if not 0 <= d < dim]
        if bad:
            raise ValueError(f"latent dims {bad} are out of range; the model has {dim} latent "
                             f"dims (0..{dim - 1})")
        return tuple(dims), None
    else:
        raise TypeError(f"{usage}; got a {type(latents).__name__}")
    ladders = _int_list(ladders, "ladders")
    bad = [i for i in ladders if not 0 <= i < len(slices)]
    if bad:
        sizes = [s.stop - s.start for s in slices]
        raise ValueError(f"ladders {bad} do not exist; the model has {len(slices)} ladders "
                         f"(0..{len(slices) - 1}, sizes {sizes}, lower to upper)")
    return tuple(d for i in ladders for d in range(slices[i].start, slices[i].stop)), None


def _check_bounds(model: SequenceModel, low: np.ndarray, high: np.ndarray, name: str) -> None:
    """Raise if the model decodes into a range disjoint from the env's; warn if much wider."""
    if not bool(model.normalizer.fitted):
        warnings.warn("the model's normaliser bounds were never set, so it decodes into "
                      "[-1, 1]; train it, or call model.normalizer.set_bounds(env.action_space.low,"
                      " env.action_space.high)", stacklevel=4)
    n = getattr(model, "action_dim", None)  # a closed-loop model also scales observations
    m_low = model.normalizer.low.detach().cpu().double().numpy()[:n]
    m_high = model.normalizer.high.detach().cpu().double().numpy()[:n]
    if not (np.isfinite(m_low).all() and np.isfinite(m_high).all()):
        raise ValueError(f"the model's normaliser bounds [{m_low.tolist()}, {m_high.tolist()}] "
                         "hold NaN or inf; it would decode non-finite actions")
    from macroact.models.base import check_finite_state

    check_finite_state(model.state_dict(), "the model")
    low, high = low.astype(np.float64), high.astype(np.float64)
    finite = np.isfinite(low) & np.isfinite(high)
    disjoint = finite & ((m_low > high) | (m_high < low))
    if disjoint.any():
        raise ValueError(f"the model decodes actions in [{m_low.tolist()}, {m_high.tolist()}] but "
                         f"{name} takes actions in [{low.tolist()}, {high.tolist()}]: the ranges do "
                         "not overlap, so every decoded action would be clipped to a bound; use a "
                         "model trained on this env's actions")
    span = np.where(finite, high - low, np.inf)
    excess = np.maximum(low - m_low, m_high - high)
    if (finite & (excess > BOUNDS_TOLERANCE * span + 1e-6)).any():
        warnings.warn(f"the model decodes actions in [{m_low.tolist()}, {m_high.tolist()}], well "
                      f"beyond {name}'s bounds [{low.tolist()}, {high.tolist()}]; decoded actions "
                      "will often be clipped. Was it trained on another env's actions?",
                      stacklevel=4)


def _check_action_space(action_space: spaces.Space, name: str) -> None:
    """Raise unless ``action_space`` is a 1-D float ``Box``: what a macro-action can drive."""
    if not isinstance(action_space, spaces.Box):
        raise ValueError(f"{name} has a {type(action_space).__name__} action space; macro-"
                         "actions need a continuous Box action space")
    if len(action_space.shape) != 1 or not np.issubdtype(action_space.dtype, np.floating):
        raise ValueError(f"{name} has a Box action space of shape {action_space.shape} and "
                         f"dtype {action_space.dtype}; macro-actions need a 1-D float Box")


def _check_reward(reward: str, gamma: float | None) -> None:
    """Raise unless ``reward`` is a mode of ``REWARD_MODES`` with a fitting ``gamma``."""
    if reward not in REWARD_MODES:
        raise ValueError(f"reward must be one of {REWARD_MODES}, got {reward!r}")
    if reward == "discounted":
        if gamma is None or isinstance(gamma, bool) or not isinstance(gamma, (int, float, np.number)) \
                or not 0 < gamma <= 1:
            raise ValueError(f"reward='discounted' needs gamma in (0, 1], got {gamma!r}; "
                             "pass the agent's discount, e.g. gamma=0.99")
    elif gamma is not None:
        raise ValueError(f"gamma={gamma!r} is only used with reward='discounted'; pass "
                         "reward='discounted' or leave gamma=None")


def _warn_long_horizon(horizon: int, max_episode_steps: int | None, name: str, what: str,
                       stacklevel: int = 4) -> None:
    """Warn when every macro of ``horizon`` steps would be cut by the env's time limit.

    ``stacklevel`` counts from this function (4: the user's call of a wrapper whose
    ``__init__`` calls a helper that calls this)."""
    if max_episode_steps is not None and horizon > max_episode_steps:
        warnings.warn(f"{what} H={horizon} exceeds {name}'s max_episode_steps="
                      f"{max_episode_steps}: every macro-action will be cut by the time limit",
                      stacklevel=stacklevel)


class _MacroDecoder:
    """Validated settings plus the hot path: agent actions ``(n, k)`` -> clipped ``(n, H, A)``.

    Shared by the single-env wrapper and the vectorised env so both decode identically.
    """

    def __init__(self, model: Any, action_space: spaces.Space, name: str,
                 max_episode_steps: int | None, latents: LatentSpec, scale: float, reward: str,
                 gamma: float | None, anchor: Any, kl_threshold: float, data: Any,
                 fast_decode: bool = True):
        model = _as_model(model)
        _check_action_space(action_space, name)
        n_actions = action_space.shape[0]
        n_model = getattr(model, "action_dim", model.n_features)
        if n_model != n_actions:
            raise ValueError(f"model decodes {n_model}-dim actions but {name} takes "
                             f"{n_actions}-dim actions; train on {name} demos")
        if isinstance(scale, bool) or not isinstance(scale, (int, float, np.number)) \
                or not math.isfinite(scale) or scale <= 0:
            raise ValueError(f"scale must be a positive number (latent = scale * action), "
                             f"got {scale!r}")
        _check_reward(reward, gamma)
        if isinstance(kl_threshold, bool) or not isinstance(kl_threshold, (int, float, np.number)) \
                or not math.isfinite(kl_threshold) or kl_threshold < 0:
            raise ValueError(f"kl_threshold must be a number >= 0 (nats), got {kl_threshold!r}")
        _check_bounds(model, action_space.low, action_space.high, name)
        horizon = int(model.seq_len)
        _warn_long_horizon(horizon, max_episode_steps, name, "the model's horizon")
        # BatchNorm layers would otherwise use batch statistics; decoding must not depend on
        # the batch, nor update running statistics.
        model.eval()
        self.latent_dims, self.latent_kl = _resolve_latents(model, latents, data, float(kl_threshold))
        dim = model.latent_dim
        base = np.zeros(dim, np.float32)
        if anchor is not None:
            base = np.array(anchor, dtype=np.float32)
            if base.shape != (dim,):
                raise ValueError(f"anchor must be a full latent code of shape ({dim},), got shape "
                                 f"{base.shape}; pass e.g. the mean posterior code of the data")
            if not np.isfinite(base).all():
                raise ValueError("anchor contains NaN or inf values")

        self.model = model
        self.horizon = horizon
        self.scale = float(scale)
        self.gamma = float(gamma) if reward == "discounted" else None
        self.n_latents = len(self.latent_dims)
        self.action_shape = (self.n_latents,)
        self.dtype = action_space.dtype
        self.low = action_space.low.copy()
        self.high = action_space.high.copy()
        device = model.device
        self._base = torch.as_tensor(base, device=device)[None]  # (1, latent_dim)
        self._index = torch.as_tensor(self.latent_dims, dtype=torch.long, device=device)
        # Driving every dim in order from a zero code needs no scatter.
        self._direct = anchor is None and self.latent_dims == tuple(range(dim))
        # Short horizons decode through folded dense matrices (macroact.models.fastdecode), with the
        # code, scale, output order and bounds folded in: one code per step makes PyTorch's
        # per-layer dispatch cost dominate. A snapshot of the weights; None: use the model.
        from macroact.models.fastdecode import DenseDecoder

        dense = DenseDecoder.from_model(model) if fast_decode else None
        self._bound = None if dense is None else dense.bind(
            self.latent_dims, base, self.scale, self.low, self.high, self.dtype)
        # A closed-loop model: features once per macro, its head once per primitive step.
        self.closed = None
        if getattr(model, "closed_loop", False):
            from macroact.closed_loop_run import ClosedLoopRunner

            self.closed = ClosedLoopRunner(model, self.latent_dims, base, self.scale, self.low,
                                           self.high, self.dtype, fast_decode)

    def check(self, action: Any, n: int | None = None) -> np.ndarray:
        """Agent action(s) as a fresh float32 array ``(k,)``, or ``(n, k)`` when ``n`` is given."""
        a = np.array(action, dtype=np.float32)
        shape = self.action_shape if n is None else (n, self.n_latents)
        if a.shape != shape:
            raise ValueError(f"action must have shape {shape} (one value in [-1, 1] per chosen "
                             f"latent dim), got shape {a.shape}")
        if not np.isfinite(a).all():
            raise ValueError(f"action contains NaN or inf values: {a.tolist()}")
        return a

    def decode(self, actions: np.ndarray) -> np.ndarray:
        """Checked float32 actions ``(n, k)`` -> env actions ``(n, H, A)`` within the bounds.

        Raises ``ValueError`` rather than return a NaN action (clipping keeps NaN).
        """
        seqs = self._decode(actions)
        if not np.isfinite(seqs).all():
            raise ValueError("the model decoded NaN or inf primitive actions (its weights "
                             "overflow); no action was sent to the env")
        return seqs

    def _decode(self, actions: np.ndarray) -> np.ndarray:
        if self.closed is not None:
            raise ValueError("a closed-loop model's actions depend on the live observation: "
                             "there is no fixed sequence to decode; step the env instead")
        if self._bound is not None:
            return self._bound(actions)
        a = torch.from_numpy(actions).to(self._base.device) * self.scale
        if self._direct:
            z = a
        else:
            z = self._base.repeat(len(actions), 1)
            z[:, self._index] = a
        seqs = self.model.decode(z).cpu().numpy()  # one decode call, under no_grad
        return np.clip(seqs, self.low, self.high, out=np.empty(seqs.shape, self.dtype))


def _run_macro(env: gym.Env, seq: np.ndarray, gamma: float | None,
               record: bool) -> tuple[Any, float, bool, bool, dict[str, Any]]:
    """Execute the rows of ``seq`` ``(H, A)`` until the episode ends; one macro transition."""
    total = 0.0
    discount = 1.0
    for t in range(len(seq)):
        obs, r, terminated, truncated, info = env.step(seq[t])
        if gamma is None:
            total += float(r)
        else:
            total += discount * float(r)
            discount *= gamma
        if terminated or truncated:
            break
    info = dict(info)
    info["macro_steps"] = t + 1
    if record:
        info["executed_actions"] = seq[:t + 1].copy()
    return obs, total, bool(terminated), bool(truncated), info


class MacroActionWrapper(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Act by choosing latent codes that a FAVAE decodes into action sequences.

    Each ``step(a)`` sets the chosen latent dims to ``scale * a`` and the others to 0 (or to
    ``anchor``), decodes the code once into ``H = model.config.seq_len`` actions in the env's
    units, clips them to the env's bounds and executes them. It stops at the first primitive
    step that terminates or truncates and passes both flags through; the observation is the
    last primitive one.

    The reward is the sum of the primitive rewards, or ``sum_t gamma^t r_t`` with
    ``reward="discounted"``. ``info`` is the last primitive step's info (so ``is_success``,
    which SB3's ``Monitor`` and evaluation read, stays at the top level) plus ``macro_steps``,
    the number of primitive steps executed, and, with ``record_actions=True``,
    ``executed_actions`` ``(macro_steps, A)``. Budgets in primitive steps add up
    ``info["macro_steps"]``.

    Checks at construction: the env has a 1-D float ``Box`` action space of the model's action
    size; the model's stored bounds overlap the env's in every dim (``ValueError`` otherwise,
    a warning when they reach more than 10% of the env's range beyond it, or were never set);
    a warning when ``H`` exceeds ``env.spec.max_episode_steps`` (each macro-action is then cut
    by the time limit, which is legal but rarely intended).

    The model is put in eval mode, shared between wrappers (it is only read), and stays where
    it is (CPU normally). Rendering shows the state after the last primitive step.
    With a model path, ``env.spec`` records it, so ``gym.make(env.spec)`` rebuilds the wrapper.

    Args:
        env: the env to act in; its action space must be a 1-D ``Box``.
        model: a FAVAE or the path of one saved with ``model.save`` (or a run directory).
        latents: which latent dims the agent drives: ``"all"``, ``"ladders:1,2"`` /
            ``{"ladders": [1, 2]}``, a list of dims ``[0, 3, 9]``, or ``"active"`` (dims whose
            mean KL over ``data`` exceeds ``kl_threshold``). See the module docstring.
        scale: latent value of action 1.0 (the prior's standard deviation is 1, so 3 covers
            most of it).
        reward: ``"sum"`` or ``"discounted"`` (needs ``gamma``).
        gamma: discount within a macro-action, in (0, 1]; only with ``reward="discounted"``.
        anchor: full latent code ``(latent_dim,)`` for the dims the agent does not drive;
            default zeros (the prior mean).
        record_actions: add ``info["executed_actions"]``.
        kl_threshold: nats; the threshold of ``latents="active"``.
        data: ``(N, H, A)`` action chunks in env units that the model was trained on; needed
            (only) by ``latents="active"``.

        fast_decode: decode through the decoder folded into dense matrices
            (``macroact.models.fastdecode``) when they are small (short horizons): same actions up to
            float32 rounding (~1e-7), many times faster for one code per step. The matrices are
            a snapshot of the model's weights at construction. False calls ``model.decode``.

    Attributes:
        latent_dims: tuple of the latent dims the action drives, in action order.
        latent_kl: ``(latent_dim,)`` mean KL per dim with ``latents="active"``, else None.
        horizon: ``H``, primitive steps per macro-action (fewer at an episode's end).
        model: the FAVAE.

    Raises:
        ValueError: for the incompatibilities above and bad argument values.
        TypeError: ``model`` is not a model that can decode, or ``latents`` has a wrong type.

    Example:
        >>> from macroact.models.favae import FAVAE, FAVAEConfig
        >>> model = FAVAE(FAVAEConfig(seq_len=5), n_features=1)
        >>> model.normalizer.set_bounds([-2.0], [2.0])
        >>> env = MacroActionWrapper(gym.make("Pendulum-v1"), model, latents="ladders:2")
        >>> env.latent_dims, env.action_space
        ((12, 13), Box(-1.0, 1.0, (2,), float32))
        >>> obs, info = env.reset(seed=0)
        >>> obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        >>> obs.shape, info["macro_steps"]
        ((3,), 5)
    """

    def __init__(self, env: gym.Env, model: Any, latents: LatentSpec = "all", scale: float = 3.0,
                 reward: str = "sum", gamma: float | None = None, anchor: Any = None,
                 record_actions: bool = False, kl_threshold: float = 0.1, data: Any = None,
                 fast_decode: bool = True):
        # Recorded without deepcopy: the model and data can be large and are only read.
        gym.utils.RecordConstructorArgs.__init__(
            self, _disable_deepcopy=True, model=model, latents=latents, scale=scale,
            reward=reward, gamma=gamma, anchor=anchor, record_actions=record_actions,
            kl_threshold=kl_threshold, data=data, fast_decode=fast_decode)
        gym.Wrapper.__init__(self, env)
        spec = env.spec
        self._decoder = _MacroDecoder(
            model, env.action_space, _env_name(env),
            spec.max_episode_steps if spec is not None else None,
            latents, scale, reward, gamma, anchor, kl_threshold, data, fast_decode)
        self.model = self._decoder.model
        self.latent_dims = self._decoder.latent_dims
        self.latent_kl = self._decoder.latent_kl
        self.horizon = self._decoder.horizon
        self.record_actions = bool(record_actions)
        self.action_space = spaces.Box(-1.0, 1.0, self._decoder.action_shape, np.float32)
        if self._decoder.closed is not None:
            self._decoder.closed.check_observation_space(env.observation_space, _env_name(env))
        self._obs = None  # the last observation: where a closed-loop macro starts

    def reset(self, **kwargs) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self._obs = obs
        return obs, info

    def decode(self, action: Any) -> np.ndarray:
        """The ``(H, A)`` env actions that ``step(action)`` would execute (clipped)."""
        return self._decoder.decode(self._decoder.check(action)[None])[0]

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Execute one macro-action; see the class docstring for the returned values."""
        if self._decoder.closed is not None:
            if self._obs is None:
                raise ValueError("call reset() before step(): a closed-loop macro starts from "
                                 "the current observation")
            out = self._decoder.closed.run_one(self.env, self._decoder.check(action), self._obs,
                                               self._decoder.gamma, self.record_actions)
            self._obs = out[0]
            return out
        seq = self._decoder.decode(self._decoder.check(action)[None])[0]
        return _run_macro(self.env, seq, self._decoder.gamma, self.record_actions)


class MacroActionVecEnv(DummyVecEnv):
    """Vectorised macro-actions: one batched decode per step for all sub-envs.

    Steps like ``DummyVecEnv([lambda: MacroActionWrapper(make_env(), model, ...), ...])``, with
    the same transitions (up to float32 rounding of the batched decode, ~1e-7), but decodes the
    ``n_envs`` codes in one ``model.decode`` call. Each sub-env then runs its own sequence up
    to its own episode end and is auto-reset there with SB3's conventions:
    ``info["terminal_observation"]``, ``info["TimeLimit.truncated"]``, ``reset_infos``, and
    seeds and options from ``seed``/``set_options`` applied at ``reset``.

    Why a ``VecEnv`` that holds the raw envs, rather than a ``VecEnvWrapper`` over a VecEnv of
    them: a VecEnv steps all its sub-envs together and auto-resets those that finish, so a
    wrapper would have to keep stepping a finished sub-env for the rest of the macro-action,
    which starts its next episode with actions meant for the old one. Holding the envs lets
    each one stop at its own end. Primitive steps run in sequence in this process, as in
    ``DummyVecEnv`` (whose reset, seeding, attribute access and rendering this class reuses).

    Args:
        env_fns: functions that each build one raw env (for instance
            ``lambda: Monitor(gym.make(env_id))`` to log per-episode primitive returns).
        model, latents, scale, reward, gamma, anchor, record_actions, kl_threshold, data: as in
            ``MacroActionWrapper``; the model is loaded once and shared.

    Attributes:
        latent_dims, latent_kl, horizon, model: as in ``MacroActionWrapper``.

    Example:
        >>> from macroact.models.favae import FAVAE, FAVAEConfig
        >>> model = FAVAE(FAVAEConfig(seq_len=5), n_features=1)
        >>> model.normalizer.set_bounds([-2.0], [2.0])
        >>> venv = MacroActionVecEnv([lambda: gym.make("Pendulum-v1")] * 3, model, latents=[0, 1])
        >>> obs = venv.reset()
        >>> obs, rewards, dones, infos = venv.step(np.zeros((3, 2), np.float32))
        >>> obs.shape, [info["macro_steps"] for info in infos]
        ((3, 3), [5, 5, 5])
    """

    def __init__(self, env_fns: list[Callable[[], gym.Env]], model: Any,
                 latents: LatentSpec = "all", scale: float = 3.0, reward: str = "sum",
                 gamma: float | None = None, anchor: Any = None, record_actions: bool = False,
                 kl_threshold: float = 0.1, data: Any = None, fast_decode: bool = True):
        if len(env_fns) == 0:
            raise ValueError("env_fns is empty; pass one env-building function per sub-env")
        super().__init__(env_fns)
        env = self.envs[0]
        for i, other in enumerate(self.envs[1:], start=1):
            if other.action_space != env.action_space:
                raise ValueError(f"sub-env {i} has action space {other.action_space} but sub-env 0 "
                                 f"has {env.action_space}; all sub-envs must take the same actions")
        spec = env.spec
        self._decoder = _MacroDecoder(
            model, env.action_space, _env_name(env),
            spec.max_episode_steps if spec is not None else None,
            latents, scale, reward, gamma, anchor, kl_threshold, data, fast_decode)
        self.model = self._decoder.model
        self.latent_dims = self._decoder.latent_dims
        self.latent_kl = self._decoder.latent_kl
        self.horizon = self._decoder.horizon
        self.record_actions = bool(record_actions)
        self.action_space = spaces.Box(-1.0, 1.0, self._decoder.action_shape, np.float32)
        if self._decoder.closed is not None:
            self._decoder.closed.check_observation_space(env.observation_space, _env_name(env))

    def step_async(self, actions: np.ndarray) -> None:
        self.actions = self._decoder.check(actions, self.num_envs)

    def step_wait(self) -> VecEnvStepReturn:
        gamma, record = self._decoder.gamma, self.record_actions
        if self._decoder.closed is not None:  # one head call per primitive step, all sub-envs
            from macroact.closed_loop_run import run_closed_macros

            results = run_closed_macros(self.envs, self._decoder.closed, self.actions,
                                        self._obs_from_buf(), gamma, record)
        else:
            seqs = self._decoder.decode(self.actions)  # (n_envs, H, A), one decode call
            results = (_run_macro(env, seqs[i], gamma, record) for i, env in enumerate(self.envs))
        for i, (env, result) in enumerate(zip(self.envs, results)):
            obs, reward, terminated, truncated, info = result
            self.buf_rews[i] = reward
            self.buf_dones[i] = terminated or truncated
            info["TimeLimit.truncated"] = truncated and not terminated
            if self.buf_dones[i]:
                info["terminal_observation"] = obs
                obs, self.reset_infos[i] = env.reset()
            self.buf_infos[i] = info
            self._save_obs(i, obs)
        return (self._obs_from_buf(), np.copy(self.buf_rews), np.copy(self.buf_dones),
                deepcopy(self.buf_infos))
