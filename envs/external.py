"""Demonstrations on environments this package did not write: Gymnasium-Robotics, OGBench, yours.

``collect_external`` records episodes of a *demonstrator* on any Gymnasium id into the same
``EpisodeData`` that ``macroact collect`` writes for the ``macroact/`` envs, so training,
encoding and Minari export read them the same way.

**Demonstrators.** ``demonstrator`` names one of ``DEMONSTRATORS`` (``"maze"``: breadth-first
search over a PointMaze's ``maze_map`` and a PD controller, ``envs/maze.py``; ``"ogbench"``:
OGBench's own manipulation oracles with its play-data noise, ``envs/ogbench_demo.py``) or a
user's own as ``"module:callable"``. The protocol is small:

- ``callable(env, rng, **demonstrator_kwargs)`` builds the demonstrator for a made env
  (``rng``: a ``numpy.random.Generator`` seeded by the data set's seed; draw every random choice
  from it so a seed fixes the data set);
- ``reset(obs, info)`` is called after each ``env.reset`` with the env's own observation (a dict
  stays a dict) and returns the episode's factor labels (a sequence of ints, one per
  ``factor_names``) or ``None``;
- ``act(obs, info)`` returns the action for the env's own observation;
- optional: ``factor_names`` (tuple of str; default none), ``env_defaults`` (a dict of env kwargs
  the demonstrator needs, below the user's ``env_kwargs``), ``reset_options(rng)`` (the
  ``options`` of the next ``env.reset``, e.g. PointMaze's start and goal cells).

A ``macroact/`` env's own scripted demonstrator is used when ``demonstrator`` is ``None``.

**Observations** are recorded flat: a ``Dict`` observation (goal-conditioned envs) becomes one
float vector with the keys in this order: ``observation``, ``achieved_goal``, ``desired_goal``
(the Gymnasium-Robotics goal keys, those present), then every other key in sorted order; nested
``Dict`` and ``Tuple`` values are flattened by the same rule, in place, and each array in C order.
``flatten_observation`` applies it and ``observation_layout`` names the slices; PointMaze's
becomes ``[x, y, vx, vy, achieved x, y, desired x, y]``. ``FlattenObservation`` wraps an env so
that agents see the same vectors.

**Success** of an episode is ``info["is_success"]`` at its last step, else ``info["success"]``
(PointMaze, OGBench), else whether it terminated.
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any, Callable

import gymnasium as gym
import numpy as np

from macroact.extras import optional_import

GOAL_KEYS = ("observation", "achieved_goal", "desired_goal")
"""The keys of a goal-conditioned observation, in the order they are flattened."""

DEMONSTRATORS: dict[str, str] = {
    "maze": "macroact.envs.maze:MazeDemonstrator",
    "ogbench": "macroact.envs.ogbench_demo:OGBenchDemonstrator",
}
"""Built-in demonstrators for external envs, by the name ``--demonstrator`` takes."""

# Which package registers which ids, and the extra of this package that installs it.
_PROVIDERS: tuple[tuple[str, str, str], ...] = (
    (r"^(PointMaze|AntMaze|Fetch|HandManipulate|HandReach|Adroit|FrankaKitchen)",
     "gymnasium_robotics", "robotics"),
    (r"^(visual-)?(cube|scene|puzzle)-", "ogbench.manipspace", "ogbench"),
    (r"^(visual-)?(pointmaze|antmaze|humanoidmaze|antsoccer)-", "ogbench.locomaze", "ogbench"),
)


# -- env kwargs on the command line ---------------------------------------------------------------
def parse_kwargs(text: str) -> dict[str, Any]:
    """``KEY=VALUE,...`` with JSON values, split only at top-level commas.

    Values parse as JSON where they can (numbers, booleans, lists such as a ``maze_map``), else
    stay text; ``KEY=@FILE`` reads the value as JSON from a file.

    Example:
        >>> parse_kwargs('continuing_task=false,maze_map=[[1,1,1],[1,0,1],[1,1,1]],name=x')
        {'continuing_task': False, 'maze_map': [[1, 1, 1], [1, 0, 1], [1, 1, 1]], 'name': 'x'}
    """
    from macroact.config import parse_value

    items, depth, current = [], 0, []
    for ch in text:
        if ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
        if ch == "," and depth == 0:
            items.append("".join(current))
            current = []
        else:
            current.append(ch)
    items.append("".join(current))
    out: dict[str, Any] = {}
    for item in items:
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"expected KEY=VALUE pairs separated by commas, like "
                             f"continuing_task=false,maze_map=[[1,1],[1,0]]; got {item!r}")
        value = value.strip()
        if value.startswith("@"):
            path = Path(value[1:])
            if not path.is_file():
                raise ValueError(f"{key.strip()}=@{path}: no such file")
            try:
                out[key.strip()] = json.loads(path.read_text())
            except json.JSONDecodeError as e:
                raise ValueError(f"{key.strip()}=@{path}: not JSON ({e})") from None
        else:
            if value[:1] in "[{" and value:
                try:
                    json.loads(value)
                except json.JSONDecodeError as e:
                    raise ValueError(f"{key.strip()}={value}: not valid JSON ({e}); check the "
                                     "brackets and commas, or put the value in a file and pass "
                                     f"{key.strip()}=@FILE") from None
            out[key.strip()] = parse_value(value)
    return out


# -- making external envs -------------------------------------------------------------------------
def register_provider(env_id: str) -> None:
    """Import the package that registers ``env_id`` (Gymnasium-Robotics, OGBench), if known.

    Raises ``MissingExtraError`` naming the extra when that package is not installed. Ids of
    the form ``module:Name`` are left to Gymnasium, which imports ``module`` itself.
    """
    if ":" in env_id or env_id in gym.registry:
        return
    for pattern, module, extra in _PROVIDERS:
        if re.match(pattern, env_id):
            optional_import(module, extra, feature=f"environment {env_id!r}")
            return


def make_env(env_id: str, **kwargs: Any) -> gym.Env:
    """``gym.make(env_id, **kwargs)`` after importing the package that registers ``env_id``."""
    import macroact.envs  # noqa: F401  (registers the macroact/ ids)

    register_provider(env_id)
    if "maze_map" in kwargs:
        from macroact.envs.maze import check_maze_map

        check_maze_map(kwargs["maze_map"])
    try:
        return gym.make(env_id, **kwargs)
    except (gym.error.Error, AssertionError) as e:  # some envs check their kwargs by assert
        raise ValueError(f"cannot make {env_id!r} with {kwargs!r}: {e or type(e).__name__}"
                         ) from None


# -- flat observations ----------------------------------------------------------------------------
def _keys(space: gym.spaces.Dict) -> list[str]:
    goal = [k for k in GOAL_KEYS if k in space.spaces]
    return goal + sorted(k for k in space.spaces if k not in goal)


def observation_layout(space: gym.Space, prefix: str = "") -> list[tuple[str, int]]:
    """``(name, size)`` of each flattened part of ``space``, in the recorded order.

    Example:
        >>> from gymnasium.spaces import Box, Dict
        >>> observation_layout(Dict(desired_goal=Box(-1, 1, (2,)), observation=Box(-1, 1, (4,)),
        ...                         achieved_goal=Box(-1, 1, (2,))))
        [('observation', 4), ('achieved_goal', 2), ('desired_goal', 2)]
    """
    if isinstance(space, gym.spaces.Dict):
        return [part for k in _keys(space)
                for part in observation_layout(space.spaces[k], f"{prefix}{k}.")]
    if isinstance(space, gym.spaces.Tuple):
        return [part for i, s in enumerate(space.spaces)
                for part in observation_layout(s, f"{prefix}{i}.")]
    if isinstance(space, gym.spaces.Box):
        return [(prefix.rstrip("."), int(np.prod(space.shape)))]
    if isinstance(space, gym.spaces.Discrete):
        return [(prefix.rstrip("."), 1)]
    raise ValueError(f"cannot flatten a {space} observation; give a Box, Discrete, Dict or Tuple")


def flatten_observation(obs: Any, space: gym.Space) -> np.ndarray:
    """One float64 vector from an observation of ``space``, in the documented key order."""
    if isinstance(space, gym.spaces.Dict):
        parts = [flatten_observation(obs[k], space.spaces[k]) for k in _keys(space)]
        return np.concatenate(parts) if parts else np.zeros(0)
    if isinstance(space, gym.spaces.Tuple):
        parts = [flatten_observation(o, s) for o, s in zip(obs, space.spaces)]
        return np.concatenate(parts) if parts else np.zeros(0)
    if isinstance(space, (gym.spaces.Box, gym.spaces.Discrete)):
        return np.asarray(obs, dtype=np.float64).reshape(-1)
    raise ValueError(f"cannot flatten a {space} observation; give a Box, Discrete, Dict or Tuple")


def flat_space(space: gym.Space) -> gym.spaces.Box:
    """The ``Box`` that ``flatten_observation`` maps ``space`` into."""
    if isinstance(space, gym.spaces.Box) and len(space.shape) == 1:
        return gym.spaces.Box(space.low.astype(np.float64), space.high.astype(np.float64),
                              dtype=np.float64)
    size = sum(n for _, n in observation_layout(space))
    return gym.spaces.Box(-np.inf, np.inf, (size,), dtype=np.float64)


class FlattenObservation(gym.ObservationWrapper):
    """Present a Dict (or nested) observation as the flat vector ``collect_external`` records."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self._source = env.observation_space
        self.observation_space = flat_space(env.observation_space)

    def observation(self, observation: Any) -> np.ndarray:
        return flatten_observation(observation, self._source)


class SuccessInfo(gym.Wrapper):
    """Copy an env's ``info["success"]`` (PointMaze, OGBench) to ``info["is_success"]``, the
    key SB3's ``Monitor`` and this package's agents and evaluation read."""

    def reset(self, **kwargs: Any):
        obs, info = self.env.reset(**kwargs)
        return obs, _with_is_success(info)

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, terminated, truncated, _with_is_success(info)


def _with_is_success(info: dict[str, Any]) -> dict[str, Any]:
    if "is_success" not in info and "success" in info:
        info["is_success"] = bool(np.asarray(info["success"]).reshape(-1)[0])
    return info


def make_agent_env(env_id: str, env_kwargs: dict[str, Any] | None = None) -> gym.Env:
    """The env an agent (or replay) acts in: ``make_env(env_id, **env_kwargs)`` with flat
    observations in the order ``collect_external`` records (``FlattenObservation``, only
    for non-flat observation spaces) and ``info["is_success"]`` (``SuccessInfo``, for envs
    that are not this package's ``macroact/`` ones).

    Example:
        >>> env = make_agent_env("Pendulum-v1", {"g": 9.81})
        >>> env.observation_space.shape
        (3,)
    """
    env = make_env(env_id, **(env_kwargs or {}))
    if env_id.startswith("macroact/"):  # flat observations and is_success already
        return env
    space = env.observation_space
    if not (isinstance(space, gym.spaces.Box) and len(space.shape) == 1):
        env = FlattenObservation(env)
    return SuccessInfo(env)


# -- demonstrators --------------------------------------------------------------------------------
def load_callable(target: str) -> Callable[..., Any]:
    """The object named by ``"module:attribute"`` (dots in the attribute walk into it)."""
    module, sep, attr = target.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"a demonstrator is a name ({sorted(DEMONSTRATORS)}) or "
                         f"'module:callable', got {target!r}")
    try:
        obj: Any = importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name and module.startswith(e.name):
            raise ValueError(f"demonstrator {target!r}: no module {module!r} (is it on "
                             "PYTHONPATH?)") from None
        raise
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"demonstrator {target!r}: {module!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ValueError(f"demonstrator {target!r} is not callable")
    return obj


def resolve_demonstrator(name: str) -> Callable[..., Any]:
    """The factory of a built-in demonstrator name or a ``module:callable``."""
    if name in DEMONSTRATORS:
        return load_callable(DEMONSTRATORS[name])
    if ":" not in name:
        raise ValueError(f"unknown demonstrator {name!r}; give one of {sorted(DEMONSTRATORS)} "
                         "or 'module:callable'")
    return load_callable(name)


def _env_defaults(factory: Callable[..., Any]) -> dict[str, Any]:
    defaults = getattr(factory, "env_defaults", None) or {}
    if not isinstance(defaults, dict):
        raise ValueError(f"{factory!r}.env_defaults must be a dict of env kwargs")
    return dict(defaults)


def _build(factory: Callable[..., Any], env: gym.Env, rng: np.random.Generator,
           kwargs: dict[str, Any]) -> Any:
    demo = factory(env, rng, **kwargs)
    missing = [m for m in ("reset", "act") if not callable(getattr(demo, m, None))]
    if missing:
        raise ValueError(f"demonstrator {factory!r} built a {type(demo).__name__} without "
                         f"{' and '.join(missing)}(obs, info); see macroact.envs.external")
    return demo


def _labels(value: Any, names: tuple[str, ...], episode: int) -> np.ndarray:
    labels = np.zeros(0, np.int64) if value is None else np.asarray(value).reshape(-1)
    if len(labels) != len(names):
        raise ValueError(f"the demonstrator's reset returned {len(labels)} factor labels in "
                         f"episode {episode} but its factor_names are {names}; return one int "
                         "per name (or None with no factor_names)")
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        if not np.all(np.equal(np.mod(labels, 1), 0)):
            raise ValueError(f"factor labels must be integers, got {labels.tolist()}")
    return labels.astype(np.int64)


def _success(info: dict[str, Any], terminated: bool) -> bool:
    for key in ("is_success", "success"):
        if key in info:
            return bool(np.asarray(info[key]).reshape(-1)[0])
    return bool(terminated)


def collect_external(env_id: str, episodes: int, seed: int = 0,
                     env_kwargs: dict[str, Any] | None = None,
                     demonstrator: str | Callable[..., Any] | None = None,
                     demonstrator_kwargs: dict[str, Any] | None = None):
    """Record ``episodes`` episodes of ``demonstrator`` on any Gymnasium id.

    Seeds follow ``macroact.data.demos.collect``: episode ``i`` resets with the demo stream's
    seed ``i`` of block ``seed`` (``macroact.seeding``), and the demonstrator's ``rng`` is
    ``np.random.default_rng(seed)``.

    Args:
        env_id: A Gymnasium id (Gymnasium-Robotics and OGBench ids import their package, which
            needs ``macroact[robotics]`` / ``macroact[ogbench]``), or ``module:Name``.
        episodes: Number of episodes, >= 1.
        seed: The data set's block of the demo seed stream.
        env_kwargs: Keyword arguments of ``gym.make`` (e.g. ``{"maze_map": [[1, 1, ...], ...]}``),
            over the demonstrator's ``env_defaults``; the recorded ``env_kwargs`` hold both.
        demonstrator: A name of ``DEMONSTRATORS``, ``"module:callable"``, or the callable;
            ``None`` for a ``macroact/`` env's own.
        demonstrator_kwargs: Keyword arguments of the demonstrator's factory.

    Returns:
        ``EpisodeData`` with flat observations (see the module docs), the demonstrator's
        factor labels, success flags and the env's action bounds.
    """
    from macroact.data.demos import EpisodeData, _is_int
    from macroact.seeding import seeds as stream_seeds

    if not _is_int(episodes) or episodes < 1:
        raise ValueError(f"episodes must be an integer >= 1, got {episodes!r}")
    if not _is_int(seed) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if demonstrator is None:
        from macroact.envs import ENVS

        if env_id not in ENVS:
            raise ValueError(f"{env_id!r} has no scripted demonstrator of this package; give "
                             f"one: {sorted(DEMONSTRATORS)} or 'module:callable'")
        factory = None
        kwargs = dict(env_kwargs or {})
    else:
        factory = resolve_demonstrator(demonstrator) if isinstance(demonstrator, str) \
            else demonstrator
        kwargs = {**_env_defaults(factory), **(env_kwargs or {})}
    env = make_env(env_id, **kwargs)
    try:
        if env.spec is None or env.spec.max_episode_steps is None:
            raise ValueError(f"{env_id} was made without a time limit (env_kwargs={kwargs!r}); "
                             "pass a positive max_episode_steps")
        if not isinstance(env.action_space, gym.spaces.Box) or len(env.action_space.shape) != 1:
            raise ValueError(f"{env_id} has a {env.action_space} action space; demonstrations "
                             "are recorded for flat Box action spaces only")
        observation_layout(env.observation_space)  # refuses what cannot be flattened
        rng = np.random.default_rng(seed)
        if factory is None:
            from macroact.envs import make_demonstrator

            own = make_demonstrator(env_id, env)
            demo: Any = _OwnDemonstrator(own, rng)
        else:
            demo = _build(factory, env, rng, dict(demonstrator_kwargs or {}))
        names = tuple(str(n) for n in getattr(demo, "factor_names", ()) or ())
        reset_options = getattr(demo, "reset_options", None)
        reset_seeds = [int(s) for s in stream_seeds("demo", episodes, seed)]
        space = env.observation_space
        record: dict[str, list] = {k: [] for k in ("observations", "actions", "rewards",
                                                   "terminations", "truncations")}
        factors, success = [], []
        for i in range(episodes):
            options = reset_options(rng) if callable(reset_options) else None
            obs, info = env.reset(seed=reset_seeds[i], options=options)
            factors.append(_labels(demo.reset(obs, info), names, i))
            ep: dict[str, list] = {k: [] for k in record}
            ep["observations"].append(flatten_observation(obs, space))
            done, terminated = False, False
            while not done:
                action = np.asarray(demo.act(obs, info), dtype=env.action_space.dtype)
                obs, reward, terminated, truncated, info = env.step(action)
                done = terminated or truncated
                ep["observations"].append(flatten_observation(obs, space))
                ep["actions"].append(action.reshape(-1))
                ep["rewards"].append(float(reward))
                ep["terminations"].append(bool(terminated))
                ep["truncations"].append(bool(truncated))
            record["observations"].append(np.stack(ep["observations"]))
            record["actions"].append(np.stack(ep["actions"]))
            record["rewards"].append(np.asarray(ep["rewards"], dtype=np.float64))
            record["terminations"].append(np.asarray(ep["terminations"], dtype=bool))
            record["truncations"].append(np.asarray(ep["truncations"], dtype=bool))
            success.append(_success(info, terminated))
    finally:
        env.close()
    return EpisodeData(**record, factors=np.stack(factors).reshape(episodes, len(names)),
                       success=np.array(success), factor_names=names, env_id=env_id,
                       low=env.action_space.low, high=env.action_space.high,
                       env_kwargs=kwargs, seed=seed)


class _OwnDemonstrator:
    """A ``macroact/`` scripted demonstrator (``reset(obs, info, rng)``, ``act(obs)``) in the
    external protocol."""

    def __init__(self, demo: Any, rng: np.random.Generator):
        self._demo, self._rng = demo, rng
        self.factor_names = tuple(demo.factor_names)

    def reset(self, obs: Any, info: dict[str, Any]) -> Any:
        return self._demo.reset(obs, info, self._rng)

    def act(self, obs: Any, info: dict[str, Any]) -> Any:
        return self._demo.act(obs)
