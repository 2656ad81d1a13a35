"""PPO over latents with a KL-to-prior term in its loss (``macroact ppo --prior``).

PPO's loss is ``policy_loss - ent_coef * mean(entropy) + vf_coef * value_loss``, where the
entropy comes from the policy's ``evaluate_actions``. ``PriorActorCriticPolicy`` returns the
negative KL divergence from the policy to the skill prior in place of the entropy, so with
``ent_coef = prior_weight`` SB3's unchanged ``PPO.train()`` minimises::

    policy_loss + prior_weight * mean_s KL(pi(.|s) || p(.|s)) + vf_coef * value_loss

(the KL-regularised objective of SPiRL with a fixed weight; SB3's log calls the term
``train/entropy_loss``, which then reads as the mean KL). SB3's PPO policy is a Gaussian over
the agent action ``a`` and the latent is ``z = scale * a``, so for a Gaussian prior the KL is
analytic (``gaussian_kl`` of ``N(scale mu, scale^2 sigma^2)`` and the prior's marginal over the
driven dims); for a mixture prior it is the reparameterised single-sample estimate.

The prior is held outside the policy's modules (no new parameters): a saved agent loads as a
plain ``MlpPolicy`` for evaluation. Prior agents do not normalise observations (the prior reads
raw observations through its own normaliser).
"""

from __future__ import annotations

import math

import torch
from stable_baselines3.common.policies import ActorCriticPolicy

from macroact.models.losses import gaussian_kl

__all__ = ["PriorActorCriticPolicy", "attach_prior"]


class PriorActorCriticPolicy(ActorCriticPolicy):
    """``MlpPolicy`` whose ``evaluate_actions`` returns ``-KL(pi || prior)`` as the entropy."""

    def prior_kl(self, distribution, obs: torch.Tensor) -> torch.Tensor:
        """KL(pi(.|s) || p(.|s)) ``(B,)`` over the latent ``z = scale * a``."""
        prior, scale, dims = self._prior_ref
        normal = distribution.distribution  # torch Normal over a, (B, k)
        log_w, mu, logvar = prior(obs)
        if dims is not None:
            mu, logvar = mu[..., dims], logvar[..., dims]
        if mu.shape[1] == 1:  # a Gaussian prior: analytic
            return gaussian_kl(scale * normal.loc, 2 * torch.log(scale * normal.scale),
                               mu[:, 0], logvar[:, 0]).sum(-1)
        a = normal.rsample()
        z = scale * a
        comp = -0.5 * (((z[:, None] - mu) ** 2) / logvar.exp() + logvar
                       + math.log(2 * math.pi)).sum(-1)
        log_p = torch.logsumexp(log_w + comp, -1)
        log_q = normal.log_prob(a).sum(-1) - a.shape[1] * math.log(scale)
        return log_q - log_p

    def evaluate_actions(self, obs, actions):
        if getattr(self, "_prior_ref", None) is None:
            return super().evaluate_actions(obs, actions)
        features = self.extract_features(obs)
        if self.share_features_extractor:
            latent_pi, latent_vf = self.mlp_extractor(features)
        else:
            pi_features, vf_features = features
            latent_pi = self.mlp_extractor.forward_actor(pi_features)
            latent_vf = self.mlp_extractor.forward_critic(vf_features)
        distribution = self._get_action_dist_from_latent(latent_pi)
        log_prob = distribution.log_prob(actions)
        values = self.value_net(latent_vf)
        return values, log_prob, -self.prior_kl(distribution, obs)


def attach_prior(policy: PriorActorCriticPolicy, prior, scale: float, latent_dims=None) -> None:
    """Give ``policy`` its prior (kept out of its modules and state dict)."""
    prior = prior.to(policy.device).eval()
    for p in prior.parameters():
        p.requires_grad_(False)
    dims = None if latent_dims is None else torch.as_tensor(list(latent_dims), dtype=torch.long,
                                                            device=policy.device)
    object.__setattr__(policy, "_prior_ref", (prior, float(scale), dims))
