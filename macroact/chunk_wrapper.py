"""Raw action chunks: the baseline that shows what a FAVAE's compression adds.

``ChunkActionWrapper`` turns a Gymnasium env with a bounded 1-D ``Box`` action space of ``A``
dims into one whose action is a point of ``[-1, 1]^(H*A)``: ``H`` primitive actions side by
side, with no model in between. Each step maps the action affinely onto the env's bounds
(``-1`` to ``low``, ``1`` to ``high``), reshapes it to ``(H, A)`` (row ``t`` is primitive step
``t``: action entries ``t*A .. t*A + A - 1``), clips it to the bounds and executes it exactly as
``MacroActionWrapper`` executes a decoded macro (``macroact.wrapper._run_macro``): stopping at
the first termination or truncation, summing (or discounting) the rewards and reporting
``info["macro_steps"]``.

An agent over this wrapper makes the same number of decisions as one over a FAVAE of horizon
``H`` but chooses ``H * A`` numbers per decision instead of ``k`` latents: the difference in
their tables is what the learned compression adds over plain chunking (Q-chunking, Li, Zhou
and Levine 2025, acts in such chunks).
"""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from macroact.wrapper import _check_action_space, _check_reward, _env_name, _run_macro, \
    _warn_long_horizon

__all__ = ["ChunkActionWrapper"]


class ChunkActionWrapper(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Act in chunks of ``horizon`` raw primitive actions, executed open loop.

    ``step(a)`` takes ``a`` of shape ``(horizon * A,)`` in ``[-1, 1]``, maps it onto the env's
    bounds, ``low + (a + 1) / 2 * (high - low)``, reshapes it to ``(horizon, A)``, clips it to
    the bounds (an action outside ``[-1, 1]`` lands on a bound) and executes the rows. Episode
    ends, rewards and infos are those of ``MacroActionWrapper``: it stops at the first
    primitive step that terminates or truncates, the observation is the last primitive one,
    the reward is the sum of the primitive rewards (or ``sum_t gamma^t r_t`` with
    ``reward="discounted"``), and ``info`` is the last primitive step's info plus
    ``macro_steps`` (primitive steps executed) and, with ``record_actions=True``,
    ``executed_actions`` ``(macro_steps, A)``.

    With ``horizon=1`` this is the env with its action space rescaled to ``[-1, 1]``.

    Args:
        env: the env to act in; its action space must be a 1-D float ``Box`` with finite
            bounds.
        horizon: ``H``, primitive actions per chunk (>= 1).
        reward: ``"sum"`` or ``"discounted"`` (needs ``gamma``).
        gamma: discount within a chunk, in (0, 1]; only with ``reward="discounted"``.
        record_actions: add ``info["executed_actions"]``.

    Attributes:
        horizon: ``H``, primitive steps per chunk (fewer at an episode's end).
        action_dim: ``A``, the env's action size.

    Raises:
        ValueError: the action space is not a 1-D float ``Box`` with finite bounds, or an
            argument value is bad (the message names it and the fix).

    Example:
        >>> env = ChunkActionWrapper(gym.make("Pendulum-v1"), horizon=5)
        >>> env.action_space
        Box(-1.0, 1.0, (5,), float32)
        >>> obs, info = env.reset(seed=0)
        >>> env.decode(np.ones(5, np.float32)).tolist()  # Pendulum's torque bounds are +-2
        [[2.0], [2.0], [2.0], [2.0], [2.0]]
        >>> obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        >>> obs.shape, info["macro_steps"]
        ((3,), 5)
    """

    def __init__(self, env: gym.Env, horizon: int, reward: str = "sum",
                 gamma: float | None = None, record_actions: bool = False):
        gym.utils.RecordConstructorArgs.__init__(self, horizon=horizon, reward=reward,
                                                 gamma=gamma, record_actions=record_actions)
        gym.Wrapper.__init__(self, env)
        name = _env_name(env)
        if isinstance(horizon, (bool, np.bool_)) or not isinstance(horizon, (int, np.integer)) \
                or horizon < 1:
            raise ValueError(f"horizon must be an integer >= 1 (primitive actions per chunk), "
                             f"got {horizon!r}")
        space = env.action_space
        _check_action_space(space, name)
        low, high = space.low.astype(np.float64), space.high.astype(np.float64)
        unbounded = np.flatnonzero(~(np.isfinite(low) & np.isfinite(high)))
        if len(unbounded):
            raise ValueError(f"{name}'s action bounds are infinite in dims {unbounded.tolist()} "
                             f"(low {space.low.tolist()}, high {space.high.tolist()}); raw chunks "
                             "map [-1, 1] onto finite bounds: wrap the env in "
                             "gymnasium.wrappers.ClipAction with finite bounds first")
        _check_reward(reward, gamma)
        spec = env.spec
        _warn_long_horizon(int(horizon), spec.max_episode_steps if spec is not None else None,
                           name, "the chunk horizon", stacklevel=3)
        self.horizon = int(horizon)
        self.action_dim = int(space.shape[0])
        self.gamma = float(gamma) if reward == "discounted" else None
        self.record_actions = bool(record_actions)
        self._low, self._high, self._dtype = space.low.copy(), space.high.copy(), space.dtype
        self._half_span = (high - low) / 2  # float64: (A,)
        self._low64 = low
        self.action_space = spaces.Box(-1.0, 1.0, (self.horizon * self.action_dim,), np.float32)

    def decode(self, action: Any) -> np.ndarray:
        """The ``(H, A)`` env actions that ``step(action)`` would execute (scaled, clipped);
        named as ``MacroActionWrapper.decode``, though no model is involved.

        Args:
            action: ``(H * A,)`` values, nominally in ``[-1, 1]``.

        Returns:
            ``(H, A)`` array of the env's action dtype, within its bounds.

        Raises:
            ValueError: the shape is not ``(H * A,)`` or a value is NaN or inf.
        """
        a = np.asarray(action, dtype=np.float64)
        if a.shape != self.action_space.shape:
            raise ValueError(f"action must have shape {self.action_space.shape} (horizon "
                             f"{self.horizon} x action_dim {self.action_dim}, step by step), "
                             f"got shape {a.shape}")
        if not np.isfinite(a).all():
            raise ValueError(f"action contains NaN or inf values: {a.tolist()}")
        seq = self._low64 + (a.reshape(self.horizon, self.action_dim) + 1.0) * self._half_span
        return np.clip(seq.astype(self._dtype), self._low, self._high)

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Execute one chunk; see the class docstring for the returned values."""
        return _run_macro(self.env, self.decode(action), self.gamma, self.record_actions)
