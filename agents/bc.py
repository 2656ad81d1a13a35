"""Behaviour-cloning initialisation of a PPO policy or a SAC actor from demonstrations.

Targets:

* ``latent_bc_targets``: each demo episode is cut into chunks of the FAVAE's horizon
  ``H = model.config.seq_len`` (stride H, the tail rule of ``macroact.data.demos.chunk_actions``),
  each chunk is encoded (posterior means, through the model's own normaliser, as
  ``macroact.evaluation.encode.encode_chunks`` does), the agent's latent dims are selected and mapped to
  agent actions ``mu / scale`` clipped to [-1, 1] (the inverse of ``MacroActionWrapper``'s
  ``latent = scale * action``). The input is the observation at the chunk's first step.
* ``flat_bc_targets``: every (observation_t, action_t) pair of the demos.

``pretrain_policy`` fits the agent's VecNormalize observation statistics to the BC
observations (when its env is a ``VecNormalize``), then minimises the MSE between the
policy's deterministic action (the Gaussian mean) and the targets, training the feature
extractor, the actor MLP and the action head; the value head is left alone. The policy's
``log_std`` is set to ``log_std`` (default -1.0, std 0.37 in agent-action units; SB3 starts
at 0, std 1) so that PPO's first exploration stays near the cloned actions instead of
drowning them in noise; pass ``log_std=None`` to keep SB3's value. ``pretrain_sac_actor``
clones a SAC actor by maximum likelihood (its squashed Gaussian keeps the demos' spread).
Pretraining uses no env steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from macroact.data.demos import EpisodeData, chunk_actions


def _check_demos(demos: Any) -> EpisodeData:
    if not isinstance(demos, EpisodeData):
        raise ValueError(f"demos must be an EpisodeData (macroact.data.demos.collect or "
                         f"EpisodeData.load), got {type(demos).__name__}")
    if len(demos) == 0:
        raise ValueError("demos hold no episode; collect demonstrations first")
    return demos


def latent_bc_targets(model, demos: EpisodeData, tail: str, scale: float,
                      latent_dims, batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Observations ``(M, obs_dim)`` and agent actions ``(M, k)`` in [-1, 1] for latent PPO.

    ``latent_dims``: the dims the agent drives, in its action order (the wrapper's
    ``latent_dims``). ``M`` is the number of chunks (stride ``H``, ``tail`` rule).
    """
    from macroact.evaluation.encode import encode_chunks

    demos = _check_demos(demos)
    if isinstance(scale, bool) or not isinstance(scale, (int, float, np.number)) \
            or not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale must be a positive number (latent = scale * action), got "
                         f"{scale!r}; pass the wrapper's scale (PPORunConfig.scale)")
    dims = [int(d) for d in latent_dims]
    if not dims:
        raise ValueError("latent_dims is empty; pass the wrapper's latent_dims")
    bad = [d for d in dims if not 0 <= d < model.latent_dim]
    if bad:
        raise ValueError(f"latent_dims {bad} lie outside the model's {model.latent_dim} latent "
                         f"dims; pass the wrapper's latent_dims for this model")
    if model.n_features != len(demos.low):
        raise ValueError(f"the model decodes {model.n_features}-dim actions but the demos have "
                         f"{len(demos.low)}-dim actions; use demos of the model's env")
    horizon = int(model.config.seq_len)
    chunks = chunk_actions(demos, horizon, tail=tail)
    if len(chunks) == 0:
        raise ValueError(f"no chunk of length {horizon} in the demos with tail={tail!r}; use "
                         "tail='pad_last' or 'pad_zero' (the FAVAE's training tail rule)")
    mu = encode_chunks(model, chunks.actions, batch_size)["mu"]
    acts = np.clip(mu[:, dims] / float(scale), -1.0, 1.0).astype(np.float32)
    obs = np.stack([demos.observations[e][s] for e, s in zip(chunks.episode, chunks.start)])
    return obs.astype(np.float32), acts


def flat_bc_targets(demos: EpisodeData) -> tuple[np.ndarray, np.ndarray]:
    """Every (observation_t, action_t) pair of the demos: ``(N, obs_dim)``, ``(N, act_dim)``."""
    demos = _check_demos(demos)
    obs = np.concatenate([o[:len(a)] for o, a in zip(demos.observations, demos.actions)])
    acts = np.concatenate(demos.actions)
    return obs.astype(np.float32), acts.astype(np.float32)


def load_bc_demos(path, env_id: str, demos_env: str | None = None,
                  factors: dict | None = None) -> EpisodeData:
    """The demonstrations at ``path`` to clone for an agent in ``env_id``.

    They must be recorded in ``env_id``, or in ``demos_env`` when it is given: another env
    with the same observations and actions, e.g. OGBench's play env ``cube-single-v0`` for its
    ``cube-single-singletask-task{n}-v0`` tasks. ``factors`` keeps the episodes with these
    factor labels (``EpisodeData.where``).
    """
    demos = EpisodeData.load(path)
    allowed = env_id if demos_env is None else demos_env
    if demos.env_id != allowed:
        if demos_env is None:
            raise ValueError(f"bc_demos {str(path)!r} are of {demos.env_id}, not {env_id}; pass "
                             "demonstrations of the agent's env, or bc_demos_env="
                             f"{demos.env_id!r} (--bc-demos-env) to clone demos of another env "
                             "with the same observations and actions")
        raise ValueError(f"bc_demos {str(path)!r} are of {demos.env_id}, not bc_demos_env "
                         f"{demos_env!r}; pass bc_demos_env={demos.env_id!r} or other demos")
    if factors:
        demos = demos.where(**factors)
    return _check_demos(demos)


def _check_targets(agent, obs, actions, epochs: int, batch_size: int, lr: float):
    """``obs`` and ``actions`` as float32 arrays, checked against the agent's spaces."""
    obs = np.asarray(obs, dtype=np.float32)
    actions = np.asarray(actions, dtype=np.float32)
    obs_shape = agent.observation_space.shape
    act_shape = agent.action_space.shape
    if obs.ndim != 2 or obs.shape[1:] != tuple(obs_shape):
        raise ValueError(f"obs must have shape (M, {obs_shape[0]}) for this agent, got "
                         f"{obs.shape}; pass the observations of the agent's env")
    if actions.ndim != 2 or actions.shape[1:] != tuple(act_shape):
        raise ValueError(f"actions must have shape (M, {act_shape[0]}) for this agent, got "
                         f"{actions.shape}; for latent PPO pass the targets of the wrapper's "
                         "latent_dims")
    if len(obs) != len(actions) or len(obs) == 0:
        raise ValueError(f"obs and actions must hold the same, nonzero number of samples, got "
                         f"{len(obs)} and {len(actions)}")
    if not (np.isfinite(obs).all() and np.isfinite(actions).all()):
        raise ValueError("obs or actions contain NaN or inf values")
    if int(epochs) < 1 or int(batch_size) < 1 or not lr > 0:
        raise ValueError(f"epochs and batch_size must be >= 1 and lr > 0, got epochs={epochs}, "
                         f"batch_size={batch_size}, lr={lr}")
    return obs, actions


def _normalised_inputs(agent, obs: np.ndarray) -> np.ndarray:
    """``obs`` as the policy sees them: through the agent's VecNormalize statistics (updated
    with ``obs`` first) when its env has them."""
    from stable_baselines3.common.vec_env import VecNormalize

    env = agent.get_env()
    if isinstance(env, VecNormalize):
        env.obs_rms.update(obs.astype(np.float64))
        return env.normalize_obs(obs).astype(np.float32)
    return obs


def _fit(params, loss_fn, n: int, epochs: int, batch_size: int, lr: float, seed: int) -> int:
    """Adam on ``loss_fn(index tensor)`` over shuffled minibatches; returns the steps taken."""
    import torch

    opt = torch.optim.Adam(params, lr=lr)
    gen = torch.Generator().manual_seed(int(seed))
    steps = 0
    for _ in range(int(epochs)):
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, int(batch_size)):
            loss = loss_fn(perm[i:i + int(batch_size)])
            opt.zero_grad()
            loss.backward()
            opt.step()
            steps += 1
    return steps


def pretrain_policy(agent, obs: np.ndarray, actions: np.ndarray, epochs: int = 200,
                    batch_size: int = 64, lr: float = 1e-3, seed: int = 0,
                    log_std: float | None = -1.0) -> dict[str, Any]:
    """Behaviour-clone ``agent`` (SB3 PPO) on ``obs -> actions``; see the module docstring.

    Returns ``loss_before`` / ``loss_after`` (MSE of the deterministic action over all
    samples, on normalised inputs), ``samples``, ``epochs`` and ``gradient_steps``.
    """
    import torch

    obs, actions = _check_targets(agent, obs, actions, epochs, batch_size, lr)
    x = _normalised_inputs(agent, obs)
    policy = agent.policy
    policy.set_training_mode(True)
    if log_std is not None and hasattr(policy, "log_std"):
        with torch.no_grad():
            policy.log_std.fill_(float(log_std))
    params = list(policy.features_extractor.parameters()) + \
        list(policy.mlp_extractor.policy_net.parameters()) + list(policy.action_net.parameters())
    if not getattr(policy, "share_features_extractor", True):
        params += list(policy.pi_features_extractor.parameters())
    params = list({id(p): p for p in params}.values())
    xt = torch.as_tensor(x, device=policy.device)
    yt = torch.as_tensor(actions, device=policy.device)

    def mean_action(inp):
        return policy.get_distribution(inp).distribution.mean

    def full_loss() -> float:
        with torch.no_grad():
            return float(torch.mean((mean_action(xt) - yt) ** 2))

    before = full_loss()
    steps = _fit(params, lambda idx: torch.mean((mean_action(xt[idx]) - yt[idx]) ** 2),
                 len(xt), epochs, batch_size, lr, seed)
    after = full_loss()
    policy.set_training_mode(False)
    return {"loss_before": before, "loss_after": after, "samples": int(len(xt)),
            "epochs": int(epochs), "gradient_steps": steps,
            "log_std": None if log_std is None else float(log_std)}


# Squashed targets are kept this far inside (-1, 1): tanh^-1 of a demo action on the bound
# would be infinite (SB3 clamps at float eps, about 18 nats of log-density per dim).
_SQUASH_MARGIN = 1e-3


def pretrain_sac_actor(agent, obs: np.ndarray, actions: np.ndarray, epochs: int = 200,
                       batch_size: int = 64, lr: float = 1e-3, seed: int = 0,
                       log_std: float | None = None) -> dict[str, Any]:
    """Behaviour-clone an SB3 SAC actor on ``obs -> actions``.

    ``actions`` are in the env's action units (flat SAC; for latent SAC, agent actions in
    [-1, 1]); they are mapped to the actor's [-1, 1] by the policy's ``scale_action`` and kept
    ``_SQUASH_MARGIN`` inside the bounds. Two terms: the deterministic action ``tanh(mean)``
    is fitted by least squares (the clone ``pretrain_policy`` gives PPO, so that both BC
    baselines start from the same kind of clone), and the state-dependent log-std by the
    negative log-likelihood of the targets under the actor's tanh-squashed Gaussian with that
    mean held fixed, so that SAC's first exploration has the demos' spread around the clone;
    or, with ``log_std`` given, the log-std head is set to that constant (zero weights), as
    ``pretrain_policy`` sets PPO's: a narrow start keeps the first stochastic actions near the
    clone where the demos' spread is wide.
    Fitting the mean by likelihood too gives a worse deterministic clone on saturated demo
    actions, which a wide Gaussian explains instead (PointMaze's maze demos: MSE 0.38 against
    0.30). The critics and the entropy coefficient are left alone; VecNormalize statistics
    are updated with ``obs`` first (as ``pretrain_policy``).

    Returns ``nll_before`` / ``nll_after`` (mean per sample), ``loss_before`` /
    ``loss_after`` (MSE of the deterministic action in the actor's [-1, 1] units),
    ``samples``, ``epochs``, ``gradient_steps`` and ``std_after`` (the mean std of the
    Gaussian before the squash).
    """
    import torch

    obs, actions = _check_targets(agent, obs, actions, epochs, batch_size, lr)
    policy = agent.policy
    if not hasattr(policy, "actor") or not hasattr(policy.actor, "get_action_dist_params"):
        raise ValueError(f"pretrain_sac_actor clones an SB3 SAC policy, got "
                         f"{type(policy).__name__}; use pretrain_policy for PPO")
    x = _normalised_inputs(agent, obs)
    actor = policy.actor
    target = np.clip(policy.scale_action(actions), -1.0 + _SQUASH_MARGIN, 1.0 - _SQUASH_MARGIN)
    xt = torch.as_tensor(x, device=policy.device)
    yt = torch.as_tensor(target.astype(np.float32), device=policy.device)

    fit_std = log_std is None

    def loss(idx):
        mean, log_std_t, _ = actor.get_action_dist_params(xt[idx])
        mse = torch.mean((torch.tanh(mean) - yt[idx]) ** 2)
        if not fit_std:
            return mse
        dist = actor.action_dist.proba_distribution(mean.detach(), log_std_t)
        return mse - dist.log_prob(yt[idx]).mean()

    def full() -> tuple[float, float, float]:
        with torch.no_grad():
            mean, log_std, _ = actor.get_action_dist_params(xt)
            dist = actor.action_dist.proba_distribution(mean, log_std)
            return (float(-dist.log_prob(yt).mean()),
                    float(torch.mean((torch.tanh(mean) - yt) ** 2)),
                    float(log_std.exp().mean()))

    nll_before, mse_before, _ = full()
    actor.set_training_mode(True)
    steps = _fit(list(actor.parameters()), loss, len(xt), epochs, batch_size, lr, seed)
    actor.set_training_mode(False)
    if not fit_std:
        if not isinstance(actor.log_std, torch.nn.Linear):
            raise ValueError("log_std sets the log-std head of an SAC actor, but this actor uses "
                             "gSDE (use_sde=True); pass log_std=None to fit it instead")
        with torch.no_grad():
            actor.log_std.weight.zero_()
            actor.log_std.bias.fill_(float(log_std))
    nll_after, mse_after, std_after = full()
    return {"nll_before": nll_before, "nll_after": nll_after, "loss_before": mse_before,
            "loss_after": mse_after, "samples": int(len(xt)), "epochs": int(epochs),
            "gradient_steps": steps, "std_after": std_after}
