"""Nearest-demo replay: a baseline that uses the demonstrations but learns nothing.

At each reset the agent picks the demonstration whose first observation is nearest to the
episode's (Euclidean distance after standardising every dimension by the demos' first
observations' mean and standard deviation; dimensions that are constant over the demos are
left out) and replays that demonstration's recorded actions open-loop, whatever it observes
afterwards. It needs no environment steps to "train". On a task with few start states it is
a lookup table of solutions, so an agent that learns from the same demonstrations should be
compared against it.

``evaluate_replay`` runs it on the evaluation seed stream (``macroact.seeding``) and is what a
``macroact replay ENV --demos D`` command calls.

Example:
    >>> from macroact.data.demos import collect
    >>> demos = collect("macroact/Reaching2D-v0", episodes=4, seed=0)
    >>> result = evaluate_replay("macroact/Reaching2D-v0", demos, n_episodes=3)
    >>> result["success_rate"], result["streams"]
    (1.0, ['eval'])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from macroact.data.demos import EpisodeData
from macroact.seeding import seeds as stream_seeds
from macroact.seeding import stream_of

__all__ = ["NearestDemoReplay", "evaluate_replay"]


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


class NearestDemoReplay:
    """Replays the raw actions of the demonstration whose first observation is nearest.

    Args:
        demos: Recorded episodes (``macroact.data.demos.collect`` or ``EpisodeData.load``).
        only_successful: Keep only the episodes that ended in success (``demos.success``);
            a failed demonstration replayed from its own start fails again.

    Attributes:
        demos: The episodes it chooses from (the successful ones unless
            ``only_successful=False``).
        first_obs: float64 ``(N, D)``: each episode's first observation.
        mean: float64 ``(D,)``: their mean.
        std: float64 ``(D,)``: their standard deviation (population).
        active: bool ``(D,)``: the dimensions that vary over the demos and count in the
            distance.
        rest_action: float64 ``(A,)``: what ``act`` returns once the chosen demo's actions
            are used up: the centre of the action box (zero for symmetric boxes).

    Raises:
        ValueError: If ``demos`` is not an ``EpisodeData``, holds no episode (or no
            successful one with ``only_successful``), or has non-finite first observations.

    Example:
        >>> from macroact.data.demos import collect
        >>> demos = collect("macroact/Reaching2D-v0", episodes=4, seed=0)
        >>> replay = NearestDemoReplay(demos)
        >>> int(replay.reset(demos.observations[2][0])) == replay.nearest(demos.observations[2][0])
        True
        >>> bool(np.array_equal(replay.act(), demos.actions[replay.index][0]))
        True
    """

    def __init__(self, demos: EpisodeData, only_successful: bool = True) -> None:
        if not isinstance(demos, EpisodeData):
            raise ValueError(f"demos must be an EpisodeData (macroact.data.demos.collect or "
                             f"EpisodeData.load), got {type(demos).__name__}")
        if len(demos) == 0:
            raise ValueError("demos hold no episode; collect demonstrations first "
                             "(macroact.data.demos.collect)")
        if not isinstance(only_successful, (bool, np.bool_)):
            raise ValueError(f"only_successful must be True or False, got {only_successful!r}")
        if only_successful:
            if not demos.success.any():
                raise ValueError(f"none of the {len(demos)} demos of {demos.env_id} succeeded; "
                                 "collect successful ones or pass only_successful=False")
            demos = demos.select(demos.success)
        first = np.stack([np.asarray(o[0], dtype=np.float64).reshape(-1)
                          for o in demos.observations])
        if not np.all(np.isfinite(first)):
            raise ValueError("the demos' first observations hold NaN or infinity; nearest-demo "
                             "replay needs finite observations")
        self.demos = demos
        self.first_obs = first
        self.mean = first.mean(axis=0)
        self.std = first.std(axis=0)
        # Constant over the demos (up to rounding): tells no demo from another, so left out.
        self.active = self.std > 1e-12 * np.maximum(1.0, np.abs(self.mean))
        self._scaled = (first[:, self.active] - self.mean[self.active]) / self.std[self.active]
        self.rest_action = 0.5 * (demos.low + demos.high)
        self.index: int | None = None
        self._t = 0

    @property
    def obs_dim(self) -> int:
        """The observation size D the demos were recorded with."""
        return self.first_obs.shape[1]

    def distances(self, obs: np.ndarray) -> np.ndarray:
        """Standardised distances ``(N,)`` from ``obs`` ``(D,)`` to every demo's first observation.

        Raises:
            ValueError: If ``obs`` does not have the demos' ``D`` entries or is not finite.
        """
        x = np.asarray(obs, dtype=np.float64)
        if x.shape != (self.obs_dim,):
            raise ValueError(f"observation has shape {x.shape} but the demos' observations "
                             f"have shape ({self.obs_dim},); replay demos of the same env")
        if not np.all(np.isfinite(x)):
            raise ValueError(f"observation {x.tolist()} holds NaN or infinity")
        z = (x[self.active] - self.mean[self.active]) / self.std[self.active]
        return np.sqrt(((self._scaled - z) ** 2).sum(axis=1))

    def nearest(self, obs: np.ndarray) -> int:
        """Index (into ``self.demos``) of the demo whose first observation is nearest to ``obs``.

        Ties go to the lowest index (so do all demos when no dimension varies).
        """
        return int(np.argmin(self.distances(obs)))

    def reset(self, obs: np.ndarray) -> int:
        """Choose the demo for the episode whose first observation is ``obs``; returns its index."""
        self.index = self.nearest(obs)
        self._t = 0
        return self.index

    def act(self, obs: np.ndarray | None = None) -> np.ndarray:
        """The chosen demo's next recorded action ``(A,)`` (open loop: ``obs`` is ignored).

        After the demo's last action it returns ``rest_action``.

        Raises:
            RuntimeError: If called before ``reset``.
        """
        if self.index is None:
            raise RuntimeError("call reset(first_observation) before act")
        actions = self.demos.actions[self.index]
        self._t += 1
        if self._t <= len(actions):
            return np.array(actions[self._t - 1], copy=True)
        return self.rest_action.astype(actions.dtype)


def evaluate_replay(env_id: str, demos: EpisodeData, n_episodes: int = 100,
                    seeds: Any = None, run_seed: int = 0,
                    env_kwargs: dict[str, Any] | None = None,
                    only_successful: bool = True) -> dict[str, Any]:
    """Run nearest-demo replay for ``n_episodes`` episodes and report success and returns.

    Episode ``i`` starts with ``env.reset(seed=seeds[i])``; by default the seeds are
    ``macroact.seeding.seeds("eval", n_episodes, run_seed)``, disjoint from the demonstration
    stream. Each episode runs until termination or truncation (``gym.make`` adds the id's time
    limit); success is ``info["is_success"]`` at its last step.

    Args:
        env_id: The environment; must be the one the demos were recorded in (``demos.env_id``).
        demos: The demonstrations to choose from.
        n_episodes: Number of episodes, >= 1.
        seeds: Optional ``n_episodes`` non-negative integer reset seeds instead of the eval
            stream (e.g. the demos' own seeds, to check that replay reproduces them).
        run_seed: The eval stream's block (``macroact.seeding.seeds``) when ``seeds`` is None;
            use the same value for every agent of a comparison.
        env_kwargs: Keyword arguments for ``gym.make``; default the demos' ``env_kwargs``
            (another task in the same env, e.g. a PointMaze maze_map with fixed r and g
            cells). External envs are made by ``macroact.envs.external.make_agent_env``
            (flat observations, ``info["is_success"]``), as agents see them.
        only_successful: Choose among the successful demos only (``NearestDemoReplay``).

    Returns:
        A JSON-serialisable dict: ``env_id``; ``episodes``; ``seeds`` (list of int);
        ``streams`` (the seed streams used, ``"outside"`` for seeds outside every stream);
        ``success_rate``; ``successes`` (list of bool); ``returns`` (list of float, the
        summed rewards); ``mean_return``; ``lengths`` (steps per episode); ``demo_index``
        (the demo replayed, an index into the demos kept); ``n_demos`` (demos kept);
        ``exact_start_matches`` (episodes whose first observation equals the replayed
        demo's exactly: a held-out evaluation of a varied env has 0).

    Raises:
        ValueError: On an env id other than the demos', observation or action shapes that
            differ from the demos', an env without a time limit, or bad ``n_episodes``,
            ``seeds`` or ``run_seed``.
    """
    if not isinstance(demos, EpisodeData):
        raise ValueError(f"demos must be an EpisodeData (macroact.data.demos.collect or "
                         f"EpisodeData.load), got {type(demos).__name__}")
    if env_id != demos.env_id:
        raise ValueError(f"the demos were recorded in {demos.env_id!r}, not {env_id!r}; replay "
                         f"them in {demos.env_id!r} or collect demos in {env_id!r}")
    if not _is_int(n_episodes) or n_episodes < 1:
        raise ValueError(f"n_episodes must be an integer >= 1, got {n_episodes!r}")
    if seeds is None:
        seed_list = [int(s) for s in stream_seeds("eval", n_episodes, run_seed)]
    else:
        values = np.asarray(seeds)
        if values.shape != (n_episodes,) or not np.issubdtype(values.dtype, np.integer) \
                or np.any(values < 0):
            raise ValueError(f"seeds must be {n_episodes} non-negative integers (one per "
                             f"episode), got {seeds!r}; or leave seeds=None for the eval stream")
        seed_list = [int(s) for s in values]
    policy = NearestDemoReplay(demos, only_successful=only_successful)
    kwargs = dict(demos.env_kwargs if env_kwargs is None else env_kwargs)
    from macroact.envs.external import make_agent_env

    env = make_agent_env(env_id, kwargs)
    try:
        if env.spec is None or env.spec.max_episode_steps is None:
            raise ValueError(f"{env_id} was made without a time limit (env_kwargs={kwargs!r}); "
                             "pass a positive max_episode_steps so that episodes end")
        obs_shape, act_shape = env.observation_space.shape, env.action_space.shape
        if obs_shape != (policy.obs_dim,):
            raise ValueError(f"{env_id} observes shape {obs_shape} but the demos' observations "
                             f"have shape ({policy.obs_dim},); collect demos with the same "
                             f"env_kwargs (these have {demos.env_kwargs!r})")
        if act_shape != demos.low.shape:
            raise ValueError(f"{env_id} acts with shape {act_shape} but the demos' actions have "
                             f"shape {demos.low.shape}; collect demos with the same env_kwargs")
        successes, returns, lengths, chosen, exact = [], [], [], [], 0
        for seed in seed_list:
            obs, info = env.reset(seed=seed)
            index = policy.reset(obs)
            exact += int(np.array_equal(np.asarray(obs, np.float64).reshape(-1),
                                        policy.first_obs[index]))
            total, steps, done = 0.0, 0, False
            while not done:
                action = np.asarray(policy.act(obs), dtype=env.action_space.dtype)
                obs, reward, terminated, truncated, info = env.step(action)
                total += float(reward)
                steps += 1
                done = terminated or truncated
            successes.append(bool(info.get("is_success", False)))
            returns.append(total)
            lengths.append(steps)
            chosen.append(index)
    finally:
        env.close()
    streams = set()
    for seed in seed_list:
        try:
            streams.add(stream_of(seed))
        except ValueError:
            streams.add("outside")
    return {"env_id": env_id, "episodes": n_episodes, "seeds": seed_list,
            "streams": sorted(streams), "success_rate": float(np.mean(successes)),
            "successes": successes, "returns": returns, "mean_return": float(np.mean(returns)),
            "lengths": lengths, "demo_index": chosen, "n_demos": len(policy.demos),
            "exact_start_matches": exact}
