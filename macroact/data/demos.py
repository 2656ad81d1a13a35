"""Demonstrations: recorded episodes of the scripted demonstrators, and action chunks.

Episodes have Minari's shape: per episode ``observations`` (n + 1, obs_dim), ``actions``
(n, act_dim), ``rewards``, ``terminations`` and ``truncations`` (n,), plus the
demonstrator's factor labels, so that Minari data and our files read the same way.
``chunk_actions`` cuts them into the fixed-length action sequences a FAVAE learns from.

Example:
    >>> data = collect("macroact/Reaching2D-v0", episodes=4, seed=0)
    >>> len(data), data.success_rate, data.actions[0].shape
    (4, 1.0, (96, 2))
    >>> chunks = chunk_actions(data, horizon=32)
    >>> chunks.actions.shape, chunks.factors.shape
    ((12, 32, 2), (12, 3))
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from macroact.io import atomic_write

FORMAT_VERSION = 1
TAIL_RULES = ("drop", "pad_last", "pad_zero")
_PER_STEP = ("actions", "rewards", "terminations", "truncations")


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


@dataclasses.dataclass(eq=False)
class EpisodeData:
    """Episodes of one environment, each a set of per-step arrays (Minari's layout).

    Attributes:
        observations: Per episode, ``(n + 1, obs_dim)``: the reset observation, then one per step.
        actions: Per episode, ``(n, act_dim)``.
        rewards: Per episode, float64 ``(n,)``.
        terminations: Per episode, bool ``(n,)``.
        truncations: Per episode, bool ``(n,)``.
        factors: int64 ``(episodes, K)``: the demonstrator's factor labels of each episode.
        success: bool ``(episodes,)``: ``info["is_success"]`` at each episode's last step.
        factor_names: The K factor names.
        env_id: Gymnasium id of the environment.
        low: Lower bounds of the env's action space ``(act_dim,)``.
        high: Upper bounds of the env's action space ``(act_dim,)``.
        states: ``None``, or per episode the env's ``info["state_features"]``, ``(n + 1, S)``
            when the reset info has them too, else ``(n, S)``.
        env_kwargs: Keyword arguments the env was made with (JSON-serialisable to save).
        seed: The seed ``collect`` used (``None`` for data from elsewhere).
        action_noise: The std of the noise ``collect`` added to the executed actions, as a
            fraction of the action half-range (0: the demonstrator's actions were executed).
        collection: ``collect``'s other settings when not their defaults
            (``demonstrator_kwargs``, ``bursts``, ``burst_steps``, ``burst_within``;
            JSON-serialisable).
    """

    observations: list[np.ndarray]
    actions: list[np.ndarray]
    rewards: list[np.ndarray]
    terminations: list[np.ndarray]
    truncations: list[np.ndarray]
    factors: np.ndarray
    success: np.ndarray
    factor_names: tuple[str, ...]
    env_id: str
    low: np.ndarray
    high: np.ndarray
    states: list[np.ndarray] | None = None
    env_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    seed: int | None = None
    action_noise: float = 0.0
    collection: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        self.factor_names = tuple(str(n) for n in self.factor_names)
        self.factors = np.asarray(self.factors, dtype=np.int64)
        self.success = np.asarray(self.success, dtype=bool).reshape(-1)
        self.low = np.asarray(self.low, dtype=np.float64).reshape(-1)
        self.high = np.asarray(self.high, dtype=np.float64).reshape(-1)
        self.env_kwargs = dict(self.env_kwargs or {})
        self.collection = dict(self.collection or {})
        if not (isinstance(self.action_noise, (int, float, np.number))
                and not isinstance(self.action_noise, bool)
                and math.isfinite(self.action_noise) and self.action_noise >= 0):
            raise ValueError(f"action_noise must be a number >= 0, got {self.action_noise!r}")
        self.action_noise = float(self.action_noise)
        episodes = len(self.actions)
        lists = {"observations": self.observations, "rewards": self.rewards,
                 "terminations": self.terminations, "truncations": self.truncations}
        if self.states is not None:
            lists["states"] = self.states
        for name, values in lists.items():
            if len(values) != episodes:
                raise ValueError(f"{name} has {len(values)} episodes but actions has {episodes}; "
                                 "give every field one entry per episode")
        if self.factors.ndim != 2:
            raise ValueError(f"factors must have shape (episodes, K), got {self.factors.shape}")
        for name, value in (("factors", self.factors), ("success", self.success)):
            if len(value) != episodes:
                raise ValueError(f"{name} has {len(value)} rows but there are {episodes} "
                                 "episodes; give one row per episode")
        if self.factors.shape[1] != len(self.factor_names):
            raise ValueError(f"factors have {self.factors.shape[1]} columns but factor_names "
                             f"are {self.factor_names}; give one name per column")
        if np.isnan(self.low).any() or np.isnan(self.high).any() or (self.high < self.low).any():
            raise ValueError(f"action bounds must be numbers with high >= low, got low="
                             f"{self.low.tolist()} high={self.high.tolist()}")
        for i in range(episodes):
            n = len(self.actions[i])
            for name in ("actions", "observations", "rewards"):
                value = np.asarray(getattr(self, name)[i])
                if not np.issubdtype(value.dtype, np.number) or not np.isfinite(value).all():
                    raise ValueError(f"episode {i}: {name} must be finite numbers (no NaN or "
                                     "inf); clean or drop that episode")
            if self.actions[i].ndim != 2 or self.actions[i].shape[1] != len(self.low):
                raise ValueError(f"episode {i}: actions must be (n, {len(self.low)}) like the "
                                 f"action bounds, got {self.actions[i].shape}")
            if len(self.observations[i]) != n + 1:
                raise ValueError(f"episode {i}: {len(self.observations[i])} observations for {n} "
                                 "actions; Minari's layout has n + 1 (the reset observation "
                                 "first)")
            for name in _PER_STEP[1:]:
                if getattr(self, name)[i].shape != (n,):
                    raise ValueError(f"episode {i}: {name} must have shape ({n},), got "
                                     f"{getattr(self, name)[i].shape}")
            if self.states is not None and len(self.states[i]) not in (n, n + 1):
                raise ValueError(f"episode {i}: {len(self.states[i])} state rows for {n} "
                                 f"actions; expected {n} or {n + 1}")

    def __len__(self) -> int:
        return len(self.actions)

    @property
    def episode_lengths(self) -> np.ndarray:
        """int64 ``(episodes,)``: the number of actions (steps) of each episode."""
        return np.array([len(a) for a in self.actions], dtype=np.int64)

    @property
    def success_rate(self) -> float:
        """Fraction of episodes that ended with ``info["is_success"]`` true."""
        if len(self) == 0:
            raise ValueError("no episodes: the success rate of an empty data set is undefined")
        return float(np.mean(self.success))

    def select(self, indices: Any) -> EpisodeData:
        """The episodes at ``indices`` (integers, or a boolean mask of length ``len(self)``).

        Example:
            >>> data = collect("macroact/Reaching2D-v0", 4, seed=0)
            >>> len(data.select([0, 2])), len(data.select(data.success))
            (2, 4)
        """
        idx = np.asarray(indices)
        if idx.dtype == bool:
            if idx.shape != (len(self),):
                raise ValueError(f"a boolean mask must have shape ({len(self)},), got "
                                 f"{idx.shape}; give one entry per episode")
            idx = np.flatnonzero(idx)
        idx = idx.reshape(-1)
        if idx.size and not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(f"indices must be integers or a boolean mask, got dtype {idx.dtype}")
        idx = idx.astype(np.int64)
        bad = idx[(idx < -len(self)) | (idx >= len(self))]
        if bad.size:
            raise ValueError(f"episode indices {bad[:5].tolist()} lie outside the "
                             f"{len(self)} episodes")
        pick = [int(i) for i in idx]
        lists = {name: [getattr(self, name)[i] for i in pick]
                 for name in ("observations",) + _PER_STEP}
        states = None if self.states is None else [self.states[i] for i in pick]
        return dataclasses.replace(self, **lists, factors=self.factors[idx],
                                   success=self.success[idx], states=states)

    def where(self, **factors: int) -> EpisodeData:
        """The episodes whose factor labels equal the given values, e.g. ``where(elbow=1)``.

        Useful to clone one plan of a demonstrator that draws its plan at random: the
        observation does not tell the plans apart, so a unimodal (Gaussian) policy cloned on
        all of them learns their average, which may follow none.
        """
        unknown = sorted(set(factors) - set(self.factor_names))
        if unknown:
            raise ValueError(f"unknown factor names {unknown}; these demos have "
                             f"{list(self.factor_names)}")
        mask = np.ones(len(self), dtype=bool)
        for name, value in factors.items():
            if not _is_int(value):
                raise ValueError(f"factor {name!r} must be an integer label, got {value!r}")
            mask &= self.factors[:, self.factor_names.index(name)] == int(value)
        if not mask.any():
            raise ValueError(f"no episode has the labels {factors}; the labels present are "
                             f"{np.unique(self.factors, axis=0).tolist()} for "
                             f"{list(self.factor_names)}")
        return self.select(mask)

    def save(self, path: str | os.PathLike) -> Path:
        """Write every episode into one ``.npz`` (atomically: a temporary file, then a rename).

        Per-step arrays are concatenated over episodes; ``episode_lengths`` (and
        ``state_lengths``) split them again; the names, env id and kwargs go in a JSON string.
        Nothing is pickled.

        Args:
            path: Destination file (written as given; ``.npz`` is the usual suffix).

        Returns:
            The path written.
        """
        path = Path(path)
        try:
            meta = json.dumps({"format": FORMAT_VERSION, "env_id": self.env_id,
                               "factor_names": list(self.factor_names),
                               "env_kwargs": self.env_kwargs, "seed": self.seed,
                               "action_noise": self.action_noise,
                               **({"collection": self.collection} if self.collection else {})})
        except TypeError as e:
            raise ValueError(f"env_kwargs {self.env_kwargs!r} are not JSON-serialisable ({e}); "
                             "save data made with plain numbers, strings, lists and dicts") from e
        arrays = {name: _concat(getattr(self, name)) for name in ("observations",) + _PER_STEP}
        arrays.update(episode_lengths=self.episode_lengths, factors=self.factors,
                      success=self.success, low=self.low, high=self.high, meta=np.array(meta))
        if self.states is not None:
            arrays["states"] = _concat(self.states)
            arrays["state_lengths"] = np.array([len(s) for s in self.states], dtype=np.int64)
        atomic_write(path, lambda f: np.savez(f, **arrays))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> EpisodeData:
        """Read a file written by ``save`` (``np.load(..., allow_pickle=False)``)."""
        from macroact.io import CorruptFileError, read_npz

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"demonstration file {str(path)!r} does not exist")
        f = read_npz(path, "demonstration file")
        missing = {"meta", "episode_lengths", "observations", "factors", "success", "low",
                   "high", *_PER_STEP} - set(f)
        if missing:
            raise ValueError(f"{str(path)!r} lacks {sorted(missing)}; it was not written by "
                             "EpisodeData.save")
        try:
            meta = json.loads(str(f["meta"]))
            if not isinstance(meta, dict):
                raise ValueError("not an object")
        except ValueError as e:
            raise CorruptFileError(f"{str(path)!r} has unreadable metadata ({e}); the file is "
                                   "damaged") from None
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"{str(path)!r} has format {meta.get('format')!r}, this "
                             f"version reads format {FORMAT_VERSION}; re-collect the data")
        try:
            lengths = np.asarray(f["episode_lengths"])
            if lengths.ndim != 1 or not np.issubdtype(lengths.dtype, np.integer) \
                    or (lengths < 0).any():
                raise ValueError("episode_lengths must be non-negative integers")
            fields = {name: _split(f[name], lengths) for name in _PER_STEP}
            fields["observations"] = _split(f["observations"], lengths + 1)
            states = _split(f["states"], f["state_lengths"]) if "states" in f else None
            return cls(**fields, factors=f["factors"], success=f["success"],
                       factor_names=tuple(meta["factor_names"]), env_id=str(meta["env_id"]),
                       low=f["low"], high=f["high"], states=states,
                       env_kwargs=meta["env_kwargs"], seed=meta["seed"],
                       action_noise=float(meta.get("action_noise", 0.0)),
                       collection=dict(meta.get("collection", {})))
        except (ValueError, KeyError, TypeError, IndexError) as e:
            reason = " ".join(str(e).split())[:300]
            raise CorruptFileError(f"demonstration file {str(path)!r} is inconsistent "
                                   f"({type(e).__name__}: {reason}); it is damaged or was not "
                                   "written by EpisodeData.save") from None


def _concat(arrays: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(arrays, axis=0) if arrays else np.zeros(0)


def _split(flat: np.ndarray, lengths: np.ndarray) -> list[np.ndarray]:
    lengths = np.asarray(lengths, dtype=np.int64)
    if lengths.sum() != len(flat):
        raise ValueError(f"episode lengths add up to {lengths.sum()} rows but the file holds "
                         f"{len(flat)}; the file is damaged")
    return np.split(flat, np.cumsum(lengths)[:-1]) if len(lengths) else []


def collect(env_id: str, episodes: int, seed: int = 0,
            env_kwargs: dict[str, Any] | None = None,
            action_noise: float = 0.0,
            demonstrator_kwargs: dict[str, Any] | None = None,
            bursts: float = 0.0, burst_steps: int = 20,
            burst_within: int = 100) -> EpisodeData:
    """Record ``episodes`` episodes of an environment's scripted demonstrator.

    Episode ``i`` starts with ``env.reset(seed=macroact.seeding.seeds("demo", episodes,
    seed)[i])``: the demo stream's block ``seed`` (``seed=0``: seeds ``0, 1, ...``; data set
    ``seed=k`` starts at ``k * 1,000,000``), disjoint from the train, tune and eval streams that
    agents train and are evaluated on. The demonstrator draws its plan (factor labels) from one
    ``np.random.default_rng(seed)``, so a seed fixes the whole data set. Each episode runs
    until termination (success) or truncation (the time limit).

    Args:
        env_id: A ``macroact/`` environment with a demonstrator (``macroact.envs.ENVS``).
        episodes: Number of episodes, >= 1.
        seed: The data set's block of the demo seed stream, ``0 <= seed < 1000``
            (``macroact.seeding.RUNS_PER_STREAM``).
        env_kwargs: Keyword arguments for ``gym.make`` (e.g. ``{"max_step": 0.03}``).
        action_noise: DART's noise injection (Laskey et al., "DART: Noise Injection for
            Robust Imitation Learning", CoRL 2017): the env executes the demonstrator's action
            plus Gaussian noise of this std (a fraction of each dim's half-range), clipped to
            the action space, while the data record the demonstrator's own action. The demos
            then show how the demonstrator corrects from states off its plan, which a model
            that reads the observation (``ClosedLoopFAVAE``, BC) needs to recover from its own
            errors. The noise comes from a generator of its own, so the plans (factor labels)
            are those of ``action_noise=0``. Default 0: the actions are executed as recorded.
        demonstrator_kwargs: Keyword arguments of the env's demonstrator (e.g.
            ``{"replan": True}`` for the Gripper's, which then corrects missed grasps and
            drops; DART's labels are corrective only where the demonstrator re-plans).
        bursts: The fraction of episodes, in [0, 1], that get one burst of ``burst_steps``
            uniformly random executed actions (the demonstrator's still recorded), starting at
            a uniformly drawn step among the first ``burst_within`` (an episode that ends
            before it gets none): large disturbances (a missed grasp, a drop) that DART's
            small noise rarely causes, for a re-planning demonstrator to show its recoveries.
            Default 0: no bursts.
        burst_steps: Length of a burst, >= 1.
        burst_within: The steps a burst may start in, >= 1.

    Returns:
        The episodes, with factor labels, success flags and ``states`` when the env reports
        ``info["state_features"]``.
    """
    from macroact.envs import ENVS, make_demonstrator

    if env_id not in ENVS:
        raise ValueError(f"unknown env id {env_id!r}; demonstrations exist for {sorted(ENVS)}")
    if not _is_int(episodes) or episodes < 1:
        raise ValueError(f"episodes must be an integer >= 1, got {episodes!r}")
    if not _is_int(seed) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if isinstance(action_noise, bool) or not isinstance(action_noise, (int, float, np.number)) \
            or not math.isfinite(action_noise) or action_noise < 0:
        raise ValueError(f"action_noise must be a number >= 0 (std as a fraction of the action "
                         f"half-range, e.g. 0.1), got {action_noise!r}")
    if isinstance(bursts, bool) or not isinstance(bursts, (int, float, np.number)) \
            or not 0 <= bursts <= 1:
        raise ValueError(f"bursts must be a fraction of episodes in [0, 1], got {bursts!r}")
    for name, value in (("burst_steps", burst_steps), ("burst_within", burst_within)):
        if not _is_int(value) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    demonstrator_kwargs = dict(demonstrator_kwargs or {})
    collection: dict[str, Any] = {}
    if demonstrator_kwargs:
        collection["demonstrator_kwargs"] = demonstrator_kwargs
    if bursts:
        collection.update(bursts=float(bursts), burst_steps=int(burst_steps),
                          burst_within=int(burst_within))
    from macroact.seeding import seeds as stream_seeds

    reset_seeds = [int(s) for s in stream_seeds("demo", episodes, seed)]
    env_kwargs = dict(env_kwargs or {})
    env = gym.make(env_id, **env_kwargs)
    try:
        if env.spec is None or env.spec.max_episode_steps is None:
            raise ValueError(f"{env_id} was made without a time limit (env_kwargs="
                             f"{env_kwargs!r}); pass a positive max_episode_steps")
        for name, space in (("observation", env.observation_space),
                            ("action", env.action_space)):
            if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
                raise ValueError(f"{env_id} has a {space} {name} space; demonstrations are "
                                 "recorded for flat Box spaces only")
        demo = make_demonstrator(env_id, env, **demonstrator_kwargs)
        rng = np.random.default_rng(seed)
        noise_rng = np.random.default_rng([seed, 1])
        burst_rng = np.random.default_rng([seed, 2])
        half = (env.action_space.high - env.action_space.low) / 2
        record: dict[str, list] = {k: [] for k in ("observations", "states", *_PER_STEP)}
        factors, success = [], []
        for i in range(episodes):
            obs, info = env.reset(seed=reset_seeds[i])
            factors.append(demo.reset(obs, info, rng))
            ep: dict[str, list] = {k: [] for k in record}
            ep["observations"].append(obs)
            if "state_features" in info:
                ep["states"].append(np.asarray(info["state_features"]))
            burst = range(0)
            if bursts and burst_rng.random() < bursts:
                start = int(burst_rng.integers(burst_within))
                burst = range(start, start + burst_steps)
            done, t = False, 0
            while not done:
                action = np.asarray(demo.act(obs), dtype=env.action_space.dtype)
                executed = action
                if t in burst:
                    executed = burst_rng.uniform(env.action_space.low, env.action_space.high
                                                 ).astype(env.action_space.dtype)
                elif action_noise > 0:
                    executed = np.clip(action + action_noise * half
                                       * noise_rng.standard_normal(action.shape),
                                       env.action_space.low, env.action_space.high
                                       ).astype(env.action_space.dtype)
                obs, reward, terminated, truncated, info = env.step(executed)
                done, t = terminated or truncated, t + 1
                for key, value in zip(("observations", *_PER_STEP),
                                      (obs, action, reward, terminated, truncated)):
                    ep[key].append(value)
                if "state_features" in info:
                    ep["states"].append(np.asarray(info["state_features"]))
            n = len(ep["actions"])
            if ep["states"] and len(ep["states"]) not in (n, n + 1):
                raise RuntimeError(f"{env_id} reported info['state_features'] on only some steps "
                                   f"of episode {i}; an env must report it on every step")
            record["observations"].append(np.stack(ep["observations"]))
            record["actions"].append(np.stack(ep["actions"]))
            record["rewards"].append(np.asarray(ep["rewards"], dtype=np.float64))
            record["terminations"].append(np.asarray(ep["terminations"], dtype=bool))
            record["truncations"].append(np.asarray(ep["truncations"], dtype=bool))
            record["states"].append(np.stack(ep["states"]) if ep["states"] else None)
            success.append(bool(info.get("is_success", False)))
    finally:
        env.close()
    states = record.pop("states")
    has_states = all(s is not None for s in states)
    return EpisodeData(**record, factors=np.stack(factors), success=np.array(success),
                       factor_names=tuple(demo.factor_names), env_id=env_id,
                       low=env.action_space.low, high=env.action_space.high,
                       states=states if has_states else None, env_kwargs=env_kwargs, seed=seed,
                       action_noise=float(action_noise), collection=collection)


@dataclasses.dataclass(eq=False)
class Chunks:
    """Fixed-length action sequences cut from episodes.

    Attributes:
        actions: float32 ``(N, H, A)``.
        episode: int64 ``(N,)``: the episode each chunk comes from.
        start: int64 ``(N,)``: the step of that episode at which the chunk starts.
        length: int64 ``(N,)``: real actions in the chunk; the rest (only in a padded tail
            chunk) is padding.
        factors: int64 ``(N, K)``: the factor labels of the chunk's episode.
        factor_names: The K factor names.
    """

    actions: np.ndarray
    episode: np.ndarray
    start: np.ndarray
    length: np.ndarray
    factors: np.ndarray
    factor_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.actions)

    @property
    def valid(self) -> np.ndarray:
        """bool ``(N, H)``: True where the chunk holds a recorded action, False on padding."""
        return np.arange(self.actions.shape[1]) < self.length[:, None]


def chunk_actions(data: EpisodeData, horizon: int, stride: int | None = None,
                  tail: str = "drop") -> Chunks:
    """Cut every episode's actions into chunks of ``horizon`` steps; none crosses an episode end.

    Chunks start at steps ``0, stride, 2 stride, ...`` of each episode (a stride above the
    horizon skips the actions between chunks). ``tail`` decides what happens at the first
    start whose chunk would run past the episode's end (and so to episodes shorter than
    ``horizon``):

    - ``"drop"``: no chunk there; those last actions are left out.
    - ``"pad_last"``: one chunk, completed by repeating the episode's last action
      (continuing the motion: the natural pad for velocity- or target-like actions).
    - ``"pad_zero"``: one chunk, completed with zero actions. For displacement actions (as
      in Reaching2D) zero means standing still, so a padded chunk still ends where the
      episode did; for torques (Reacher) it means letting the arm coast.

    ``Chunks.length`` tells how many actions of each chunk are real.

    Args:
        data: Episodes from ``collect`` or ``EpisodeData.load``.
        horizon: Chunk length H, >= 1.
        stride: Steps between chunk starts, >= 1 (default: ``horizon``, no overlap).
        tail: ``"drop"``, ``"pad_last"`` or ``"pad_zero"``.

    Returns:
        The chunks, in episode order, then start order; none (``(0, H, A)`` arrays) when no
        episode is long enough under ``"drop"``.

    Raises:
        ValueError: On bad arguments, or if zero lies outside the action bounds under
            ``"pad_zero"``.
    """
    if not isinstance(data, EpisodeData):
        raise ValueError(f"data must be an EpisodeData (from collect or EpisodeData.load), "
                         f"got {type(data).__name__}")
    if not _is_int(horizon) or horizon < 1:
        raise ValueError(f"horizon must be an integer >= 1, got {horizon!r}")
    stride = horizon if stride is None else stride
    if not _is_int(stride) or stride < 1:
        raise ValueError(f"stride must be an integer >= 1 (or None for the horizon), "
                         f"got {stride!r}")
    if tail not in TAIL_RULES:
        raise ValueError(f"tail must be one of {TAIL_RULES}, got {tail!r}")
    if tail == "pad_zero" and (np.any(data.low > 0) or np.any(data.high < 0)):
        raise ValueError(f"tail='pad_zero' pads with zero actions, outside the action bounds "
                         f"[{data.low}, {data.high}] of {data.env_id}; use tail='pad_last'")
    horizon, stride = int(horizon), int(stride)
    act_dim = len(data.low)
    actions, episode, start, length = [], [], [], []
    for i, acts in enumerate(data.actions):
        n = len(acts)
        full = range(0, n - horizon + 1, stride)
        for s in full:
            actions.append(acts[s:s + horizon])
            episode.append(i)
            start.append(s)
            length.append(horizon)
        s = len(full) * stride
        if tail != "drop" and s < n:
            pad_value = acts[-1] if tail == "pad_last" else np.zeros(act_dim, acts.dtype)
            pad = np.broadcast_to(pad_value, (horizon - (n - s), act_dim))
            actions.append(np.concatenate([acts[s:], pad]))
            episode.append(i)
            start.append(s)
            length.append(n - s)
    episode = np.array(episode, dtype=np.int64)
    stacked = np.stack(actions) if actions else np.zeros((0, horizon, act_dim))
    return Chunks(actions=stacked.astype(np.float32), episode=episode,
                  start=np.array(start, dtype=np.int64), length=np.array(length, np.int64),
                  factors=data.factors[episode], factor_names=data.factor_names)
