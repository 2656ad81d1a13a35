"""Behaviour-cloning initialisation of a PPO policy from demonstrations.

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
drowning them in noise; pass ``log_std=None`` to keep SB3's value. Pretraining uses no env
steps.
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


def pretrain_policy(agent, obs: np.ndarray, actions: np.ndarray, epochs: int = 200,
                    batch_size: int = 64, lr: float = 1e-3, seed: int = 0,
                    log_std: float | None = -1.0) -> dict[str, Any]:
    """Behaviour-clone ``agent`` (SB3 PPO) on ``obs -> actions``; see the module docstring.

    Returns ``loss_before`` / ``loss_after`` (MSE of the deterministic action over all
    samples, on normalised inputs), ``samples``, ``epochs`` and ``gradient_steps``.
    """
    import torch
    from stable_baselines3.common.vec_env import VecNormalize

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
    env = agent.get_env()
    x = obs
    if isinstance(env, VecNormalize):
        env.obs_rms.update(obs.astype(np.float64))
        x = env.normalize_obs(obs).astype(np.float32)
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
    opt = torch.optim.Adam(params, lr=lr)
    xt = torch.as_tensor(x, device=policy.device)
    yt = torch.as_tensor(actions, device=policy.device)

    def mean_action(inp):
        return policy.get_distribution(inp).distribution.mean

    def full_loss() -> float:
        with torch.no_grad():
            return float(torch.mean((mean_action(xt) - yt) ** 2))

    before = full_loss()
    gen = torch.Generator().manual_seed(int(seed))
    steps = 0
    for _ in range(int(epochs)):
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), int(batch_size)):
            idx = perm[i:i + int(batch_size)]
            loss = torch.mean((mean_action(xt[idx]) - yt[idx]) ** 2)
            opt.zero_grad()
            loss.backward()
            opt.step()
            steps += 1
    after = full_loss()
    policy.set_training_mode(False)
    return {"loss_before": before, "loss_after": after, "samples": int(len(xt)),
            "epochs": int(epochs), "gradient_steps": steps,
            "log_std": None if log_std is None else float(log_std)}
