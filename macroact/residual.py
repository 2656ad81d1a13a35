"""Residual skill actions: per-step corrections on top of a frozen skill policy's macros.

``ResidualSkillWrapper`` turns an env into one where an agent acts on every primitive step by
*correcting* what a fixed skill policy would do there, as in residual skill policies (ReSkill:
Rana et al., CoRL 2022) and residual policy learning (Silver et al., 2018; Johannink et al.,
ICRA 2019). The skill policy (for instance a latent SAC agent trained with
``macroact sac --model RUN_DIR --prior``) picks a latent code at every ``H``-th step; the FAVAE
decodes it (a closed-loop model: its action head on the live observation every step, an
open-loop one: the whole sequence at once), and the agent's action ``r`` in ``[-1, 1]^A`` is
added to the decoded action ``b`` as ``clip(b + residual_scale * half_range * r)``.

The agent sees the env's observation, the decoded action it is about to correct and the
macro's phase ``t / H``, so that one network can learn where the skill needs help. An action of
zero executes the skill policy unchanged, so a residual agent starts from the skill policy's
behaviour up to its exploration noise, which ``residual_scale`` bounds.

Unlike ReSkill, the skill policy here is frozen and deterministic (staged training: first the
skill policy, then the residual), so the agent's env is stationary and every primitive step of
both stages counts in a budget.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from macroact.wrapper import LatentSpec, _MacroDecoder, _env_name

__all__ = ["ResidualSkillWrapper"]


class ResidualSkillWrapper(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Act on every primitive step with a bounded correction to a skill policy's decoded action.

    At reset, and after every ``H`` primitive steps of the current macro, ``skill_policy(obs)``
    gives an agent action ``(k,)`` in ``[-1, 1]`` for the chosen latent dims (as
    ``MacroActionWrapper`` takes them); the code is decoded as ``MacroActionWrapper`` decodes it.
    ``step(r)`` executes ``clip(b + residual_scale * (high - low) / 2 * r, low, high)`` where
    ``b`` is the decoded action of this step, and returns the env's reward, flags and info
    unchanged (plus ``info["base_action"]``: ``b``).

    Observation: ``concat(env_obs, b_next, [t_next / H])`` ``(O + A + 1,)`` as float32, where
    ``b_next`` is the decoded action the next step will correct and ``t_next`` its index in the
    macro.

    Args:
        env: the env; a 1-D ``Box`` observation space and the model's ``Box`` action space.
        skill_policy: ``obs (O,) -> agent action (k,)`` of the skill policy, deterministic
            (for an SB3 agent: ``lambda o: agent.predict(o, deterministic=True)[0]``).
        model, latents, scale, anchor, kl_threshold, data: the skill policy's macro-actions, as
            in ``MacroActionWrapper``.
        residual_scale: largest correction as a fraction of half the action range, in (0, 2]
            (2 lets the correction reach any action from any decoded one).

    Example:
        >>> from macroact.models.favae import FAVAE, FAVAEConfig
        >>> model = FAVAE(FAVAEConfig(seq_len=5), n_features=1)
        >>> model.normalizer.set_bounds([-2.0], [2.0])
        >>> env = ResidualSkillWrapper(gym.make("Pendulum-v1"), lambda o: np.zeros(2),
        ...                            model, latents=[0, 1], residual_scale=0.25)
        >>> env.observation_space.shape, env.action_space
        ((5,), Box(-1.0, 1.0, (1,), float32))
        >>> obs, info = env.reset(seed=0)
        >>> obs, reward, terminated, truncated, info = env.step(np.ones(1, np.float32))
        >>> bool(np.isclose(obs[-1], 1 / 5))
        True
    """

    def __init__(self, env: gym.Env, skill_policy: Callable[[np.ndarray], Any], model: Any,
                 latents: LatentSpec = "all", scale: float = 3.0, anchor: Any = None,
                 kl_threshold: float = 0.1, data: Any = None, residual_scale: float = 0.2):
        gym.utils.RecordConstructorArgs.__init__(
            self, _disable_deepcopy=True, skill_policy=skill_policy, model=model,
            latents=latents, scale=scale, anchor=anchor, kl_threshold=kl_threshold, data=data,
            residual_scale=residual_scale)
        gym.Wrapper.__init__(self, env)
        if not callable(skill_policy):
            raise TypeError(f"skill_policy must be a function obs -> agent action, got "
                            f"{type(skill_policy).__name__}")
        if isinstance(residual_scale, bool) \
                or not isinstance(residual_scale, (int, float, np.number)) \
                or not math.isfinite(residual_scale) or not 0 < residual_scale <= 2:
            raise ValueError(f"residual_scale must be in (0, 2] (a fraction of half the action "
                             f"range), got {residual_scale!r}; e.g. 0.2")
        name = _env_name(env)
        obs_space = env.observation_space
        if not isinstance(obs_space, spaces.Box) or len(obs_space.shape) != 1:
            raise ValueError(f"{name} has observation space {obs_space}; the residual agent "
                             "reads a 1-D Box observation (flatten dict observations first)")
        spec = env.spec
        self._decoder = _MacroDecoder(model, env.action_space, name,
                                      spec.max_episode_steps if spec is not None else None,
                                      latents, scale, "sum", None, anchor, kl_threshold, data)
        if self._decoder.closed is not None:
            self._decoder.closed.check_observation_space(obs_space, name)
        self.skill_policy = skill_policy
        self.horizon = self._decoder.horizon
        self.residual_scale = float(residual_scale)
        low, high = env.action_space.low, env.action_space.high
        if not (np.isfinite(low).all() and np.isfinite(high).all()):
            raise ValueError(f"{name}'s action bounds [{low.tolist()}, {high.tolist()}] are not "
                             "finite; a residual is a fraction of the action range")
        self._low = low.astype(np.float64)
        self._high = high.astype(np.float64)
        self._reach = self.residual_scale * (self._high - self._low) / 2
        self._dtype = env.action_space.dtype
        n_act = low.shape[0]
        self.action_space = spaces.Box(-1.0, 1.0, (n_act,), np.float32)
        self.observation_space = spaces.Box(
            np.concatenate([obs_space.low, low, [0.0]]).astype(np.float32),
            np.concatenate([obs_space.high, high, [1.0]]).astype(np.float32), dtype=np.float32)
        self._plan = None  # closed loop: (H, X) per-step plan; open loop: (H, A) actions
        self._t = 0
        self._obs = None
        self._base = None  # the decoded action of the coming step

    def _begin_macro(self, obs) -> None:
        a = self._decoder.check(self.skill_policy(np.asarray(obs)))
        closed = self._decoder.closed
        if closed is not None:
            self._plan = np.array(closed.begin(a[None])[0], copy=True)
        else:
            self._plan = self._decoder.decode(a[None])[0]
        self._t = 0

    def _next_base(self, obs) -> None:
        if self._t >= self.horizon:
            self._begin_macro(obs)
        closed = self._decoder.closed
        if closed is not None:
            o = np.asarray(obs, np.float32)[None]
            self._base = np.asarray(closed.act(self._plan[self._t][None], o)[0], np.float64)
        else:
            self._base = self._plan[self._t].astype(np.float64)
        self._obs = obs

    def _observation(self) -> np.ndarray:
        return np.concatenate([np.asarray(self._obs, np.float32).reshape(-1),
                               self._base.astype(np.float32),
                               [np.float32(self._t / self.horizon)]]).astype(np.float32)

    def reset(self, **kwargs) -> tuple[np.ndarray, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self._begin_macro(obs)
        self._next_base(obs)
        return self._observation(), info

    def step(self, action: Any) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        """One primitive step: the decoded action plus the bounded correction ``action``."""
        if self._base is None:
            raise ValueError("call reset() before step(): the skill policy picks its first "
                             "code from the reset observation")
        r = np.asarray(action, np.float64).reshape(-1)
        if r.shape != self.action_space.shape or not np.isfinite(r).all():
            raise ValueError(f"action must be {self.action_space.shape[0]} finite values in "
                             f"[-1, 1], got {np.asarray(action).tolist()}")
        r = np.clip(r, -1.0, 1.0)
        base = self._base
        executed = np.clip(base + self._reach * r, self._low, self._high).astype(self._dtype)
        obs, reward, terminated, truncated, info = self.env.step(executed)
        info = dict(info)
        info["base_action"] = base.astype(self._dtype)
        self._t += 1
        # Also at an episode's end: SB3 bootstraps a truncated episode from this observation.
        self._next_base(obs)
        return self._observation(), reward, terminated, truncated, info
