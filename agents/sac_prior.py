"""SAC over latents guided by a skill prior (SPiRL's objective, Pertsch et al., CoRL 2020).

SAC maximises ``E[sum_t r_t + alpha H(pi(.|s_t))]``. With a skill prior ``p(z|s)`` learned from
the demonstrations (``macroact.models.prior``), SPiRL replaces the entropy bonus by the
divergence from the prior, ``E[sum_t r_t - alpha KL(pi(.|s_t) || p(.|s_t))]``, and tunes
``alpha`` so that the divergence stays near a target ``delta``::

    critic target   r + gamma (min Q'(s', a') - alpha KL(s'))
    actor loss      alpha KL(s) - min Q(s, a),        a ~ pi(.|s)
    alpha loss      log(alpha) (delta - KL(s))        (alpha grows while KL > delta)

``PriorSAC`` is an SB3 ``SAC`` whose ``train()`` computes these; everything else (rollouts,
replay buffer, logging, callbacks, saving) is SB3's. SB3's actor is a tanh-squashed Gaussian
over the agent's action ``a`` in ``[-1, 1]^k``, and the wrapper sets the latent to
``z = scale * a``, so the divergence is estimated with the policy's own sample (the
reparameterised single-sample estimate that also serves mixture priors)::

    KL(s) ~= log pi(a|s) - k log(scale) - log p(scale * a | s)

where ``log pi(a|s)`` includes the tanh correction and ``k log(scale)`` turns it into the density
of ``z``. SB3's ``log_ent_coef`` holds ``log(alpha)`` (so checkpoints and resumes carry it), and
the entropy coefficient's optimiser tunes it. ``init_at_prior`` fits the actor to the prior
before training (SPiRL initialises its policy with the prior's weights; SB3's actor has its
own architecture, so here it minimises the same KL on demonstration states).

The prior reads raw observations (it has its own normaliser); when the env is wrapped in
VecNormalize, observations from the replay buffer are mapped back with its current statistics.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from stable_baselines3 import SAC
from stable_baselines3.common.utils import polyak_update

from macroact.models.prior import SkillPrior

__all__ = ["PriorSAC", "prior_log_density", "init_at_prior", "ZeroMeanPrior"]


class ZeroMeanPrior(torch.nn.Module):
    """A state-independent prior N(0, std^2 I) over ``k`` action dims, in the interface of
    ``SkillPrior`` (one component): the prior of a residual agent
    (``SACRunConfig.residual_prior_std``), so that ``PriorSAC`` keeps its corrections within a
    target KL of "no correction".

    Example:
        >>> log_w, mu, logvar = ZeroMeanPrior(0.5, 3)(torch.zeros(4, 7))
        >>> log_w.shape, mu.shape, float(logvar[0, 0, 0].exp())
        (torch.Size([4, 1]), torch.Size([4, 1, 3]), 0.25)
    """

    def __init__(self, std: float, k: int):
        super().__init__()
        if not (math.isfinite(std) and std > 0) or k < 1:
            raise ValueError(f"a zero-mean prior needs std > 0 and k >= 1 dims, got std={std!r}, "
                             f"k={k!r}")
        self.register_buffer("logvar", torch.full((k,), 2 * math.log(std)))

    def forward(self, obs: torch.Tensor):
        n, k = obs.shape[0], self.logvar.shape[0]
        return (obs.new_zeros(n, 1), obs.new_zeros(n, 1, k),
                self.logvar.to(obs.dtype).expand(n, 1, k))


def prior_log_density(prior: SkillPrior, z: torch.Tensor, obs: torch.Tensor,
                      dims: torch.Tensor | None = None, top: bool = False) -> torch.Tensor:
    """log p(z_dims | s) ``(B,)``: the prior's marginal over the latent dims ``dims`` the agent
    drives (all when None), for codes ``(B, len(dims))`` and raw observations ``(B, O)``.
    ``top``: the density of the prior's most probable component at each state instead (the
    same for a one-Gaussian prior)."""
    log_w, mu, logvar = prior(obs)
    if top:
        k = log_w.argmax(-1)[:, None, None].expand(-1, 1, mu.shape[-1])
        mu, logvar = mu.gather(1, k), logvar.gather(1, k)
        log_w = torch.zeros_like(log_w[:, :1])
    if dims is not None:
        mu, logvar = mu[..., dims], logvar[..., dims]
    comp = -0.5 * (((z[:, None] - mu) ** 2) / logvar.exp() + logvar
                   + math.log(2 * math.pi)).sum(-1)
    return torch.logsumexp(log_w + comp, -1)


class PriorSAC(SAC):
    """SB3 SAC with the entropy bonus replaced by the KL to a skill prior (see module doc).

    Args:
        *args, **kwargs: SB3 ``SAC`` arguments (``ent_coef`` must be ``"auto"`` or
            ``"auto_<initial alpha>"``: alpha is tuned).
        prior: the skill prior p(z|s).
        scale: the wrapper's latent scale (``z = scale * a``).
        latent_dims: latent dims the agent drives, in action order (None: all, in order).
        target_kl: the target divergence delta (nats per decision).
    """

    def __init__(self, *args, prior: SkillPrior, scale: float, latent_dims=None,
                 target_kl: float = 5.0, **kwargs):
        if not str(kwargs.get("ent_coef", "auto")).startswith("auto"):
            raise ValueError(f"prior SAC tunes alpha: ent_coef must be 'auto' or 'auto_<value>', "
                             f"got {kwargs.get('ent_coef')!r}")
        if not (math.isfinite(target_kl) and target_kl >= 0):
            raise ValueError(f"target_kl must be a number >= 0 (nats), got {target_kl!r}")
        super().__init__(*args, **kwargs)
        self.prior = prior.to(self.device).eval()
        for p in self.prior.parameters():
            p.requires_grad_(False)
        self.scale = float(scale)
        self.target_kl = float(target_kl)
        self.last_prior_kl: float | None = None  # mean KL of the latest train() call
        self.prior_dims = None if latent_dims is None else torch.as_tensor(
            list(latent_dims), dtype=torch.long, device=self.device)
        k = self.action_space.shape[0]
        self._log_jacobian = k * math.log(self.scale)

    def _excluded_save_params(self) -> list[str]:
        # The prior is saved as its own file (prior.pt), never pickled into the agent.
        return super()._excluded_save_params() + ["prior", "prior_dims"]

    def raw_obs(self, obs: torch.Tensor) -> torch.Tensor:
        """Observations as the env gave them (undoing VecNormalize when there is one)."""
        if self._vec_normalize_env is None:
            return obs
        raw = self._vec_normalize_env.unnormalize_obs(obs.cpu().numpy())
        return torch.as_tensor(raw, dtype=torch.float32, device=obs.device)

    def divergence(self, obs: torch.Tensor, actions: torch.Tensor,
                   log_prob: torch.Tensor) -> torch.Tensor:
        """Single-sample KL(pi(.|s) || p(.|s)) ``(B,)`` at agent actions sampled from pi."""
        prior_lp = prior_log_density(self.prior, self.scale * actions, self.raw_obs(obs),
                                     self.prior_dims)
        return log_prob.reshape(-1) - self._log_jacobian - prior_lp

    def train(self, gradient_steps: int, batch_size: int = 64) -> None:
        self.policy.set_training_mode(True)
        optimizers = [self.actor.optimizer, self.critic.optimizer, self.ent_coef_optimizer]
        self._update_learning_rate(optimizers)
        alphas, alpha_losses, actor_losses, critic_losses, kls = [], [], [], [], []
        for step in range(gradient_steps):
            batch = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)
            discounts = batch.discounts if getattr(batch, "discounts", None) is not None \
                else self.gamma
            if self.use_sde:
                self.actor.reset_noise()
            actions_pi, log_prob = self.actor.action_log_prob(batch.observations)
            kl = self.divergence(batch.observations, actions_pi, log_prob)
            # alpha: grows while the policy strays further than target_kl from the prior.
            alpha = torch.exp(self.log_ent_coef.detach())
            alpha_loss = (self.log_ent_coef * (self.target_kl - kl).detach()).mean()
            self.ent_coef_optimizer.zero_grad()
            alpha_loss.backward()
            self.ent_coef_optimizer.step()
            with torch.no_grad():
                next_actions, next_log_prob = self.actor.action_log_prob(batch.next_observations)
                next_kl = self.divergence(batch.next_observations, next_actions, next_log_prob)
                next_q = torch.cat(self.critic_target(batch.next_observations, next_actions), 1)
                next_q = next_q.min(1, keepdim=True).values - alpha * next_kl[:, None]
                target_q = batch.rewards + (1 - batch.dones) * discounts * next_q
            current_q = self.critic(batch.observations, batch.actions)
            critic_loss = 0.5 * sum(F.mse_loss(q, target_q) for q in current_q)
            self.critic.optimizer.zero_grad()
            critic_loss.backward()
            self.critic.optimizer.step()
            q_pi = torch.cat(self.critic(batch.observations, actions_pi), 1)
            q_pi = q_pi.min(1, keepdim=True).values
            actor_loss = (alpha * kl[:, None] - q_pi).mean()
            self.actor.optimizer.zero_grad()
            actor_loss.backward()
            self.actor.optimizer.step()
            if step % self.target_update_interval == 0:
                polyak_update(self.critic.parameters(), self.critic_target.parameters(), self.tau)
                polyak_update(self.batch_norm_stats, self.batch_norm_stats_target, 1.0)
            alphas.append(float(alpha))
            alpha_losses.append(float(alpha_loss.detach()))
            actor_losses.append(float(actor_loss.detach()))
            critic_losses.append(float(critic_loss.detach()))
            kls.append(float(kl.detach().mean()))
        self._n_updates += gradient_steps
        if kls:
            self.last_prior_kl = float(np.mean(kls))
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/ent_coef", np.mean(alphas))  # alpha, the KL weight
        self.logger.record("train/ent_coef_loss", np.mean(alpha_losses))
        self.logger.record("train/actor_loss", np.mean(actor_losses))
        self.logger.record("train/critic_loss", np.mean(critic_losses))
        self.logger.record("train/prior_kl", np.mean(kls))
        self.logger.record("train/target_kl", self.target_kl)


def init_at_prior(agent: PriorSAC, observations: Any, steps: int = 500, lr: float = 1e-3,
                  batch_size: int = 256, seed: int = 0,
                  component: str = "mixture") -> dict[str, float]:
    """Fit the actor to the prior: minimise the mean KL(pi(.|s) || p(.|s)) over raw
    ``observations`` ``(N, O)`` (demonstration states), with its own Adam.

    ``component``: ``"mixture"`` fits the whole prior; ``"top"`` fits its most probable
    component at each state (for a mixture prior: a Gaussian policy fitted to the whole mixture
    by this single-sample estimate can settle between the modes, where no demonstration
    acted; the two are the same for a one-Gaussian prior). Training itself always uses the
    KL to the whole prior. The actor reads observations as the agent does (through
    VecNormalize's current statistics when there is one). Returns the mean KL to the whole
    prior before and after.
    """
    if component not in ("mixture", "top"):
        raise ValueError(f"component must be 'mixture' or 'top', got {component!r}")
    obs = np.asarray(observations, dtype=np.float32)
    if obs.ndim != 2 or len(obs) == 0:
        raise ValueError(f"observations must be a non-empty (N, O) array, got shape {obs.shape}")
    seen = obs
    if agent._vec_normalize_env is not None:
        seen = agent._vec_normalize_env.normalize_obs(obs).astype(np.float32)
    raw_t = torch.as_tensor(obs, device=agent.device)
    seen_t = torch.as_tensor(seen, device=agent.device)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(agent.actor.parameters(), lr=lr)

    def kl_at(idx, top=False):
        actions, log_prob = agent.actor.action_log_prob(seen_t[idx])
        lp = prior_log_density(agent.prior, agent.scale * actions, raw_t[idx], agent.prior_dims,
                               top=top)
        return (log_prob.reshape(-1) - agent._log_jacobian - lp).mean()

    agent.policy.set_training_mode(True)
    with torch.no_grad():
        before = float(kl_at(torch.arange(len(obs))))
    for _ in range(steps):
        idx = torch.randperm(len(obs), generator=gen)[:batch_size]
        loss = kl_at(idx, top=component == "top")
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        after = float(kl_at(torch.arange(len(obs))))
    agent.policy.set_training_mode(False)
    return {"kl_before": before, "kl_after": after}
