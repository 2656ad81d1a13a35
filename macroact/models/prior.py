"""Skill prior p(z | s): which latent codes the demonstrations used from a state.

SPiRL (Pertsch et al., CoRL 2020) guides RL over skills with a prior learned from the
demonstrations: a network that maps a chunk's first observation ``s`` to a distribution over
that chunk's latent code. ``SkillPrior`` is a Gaussian MLP (``components=1``, fitted by
minimising ``KL(q(z|x) || p(z|s))`` to each chunk's posterior, SPiRL's objective) or a mixture
of ``components`` Gaussians (fitted by the negative log-likelihood of posterior samples, for
states from which the demonstrations branch into distinct skills).

The prior is stored beside the model it belongs to (``RUN_DIR/prior.pt``), read back with
``torch.load(weights_only=True)``: config as JSON, weights and the observation normaliser
as tensors.

Example:
    >>> prior = SkillPrior(SkillPriorConfig(obs_dim=3, latent_dim=2, hidden=(16,)))
    >>> prior.log_prob(torch.zeros(5, 2), torch.zeros(5, 3)).shape
    torch.Size([5])
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from macroact.config import Config
from macroact.io import atomic_torch_save, versions
from macroact.models.base import Normalizer, check_finite_state
from macroact.models.losses import gaussian_kl
from macroact.validation import positive_int

FORMAT = "macroact.prior"
FORMAT_VERSION = 1
#: File name of a run's prior, beside its model.pt.
PRIOR_FILE = "prior.pt"
LOGVAR_RANGE = (-10.0, 4.0)


@dataclasses.dataclass
class SkillPriorConfig(Config):
    """Shape of a skill prior.

    Attributes:
        obs_dim: observation size.
        latent_dim: latent code size (the model's latent_dim).
        hidden: hidden layer sizes of the MLP.
        components: Gaussians in the mixture (1: a single Gaussian).
    """

    obs_dim: int
    latent_dim: int
    hidden: tuple[int, ...] = (128, 128)
    components: int = 1

    def __post_init__(self):
        positive_int(self.obs_dim, "obs_dim")
        positive_int(self.latent_dim, "latent_dim")
        positive_int(self.components, "components")
        self.hidden = tuple(self.hidden)
        for h in self.hidden:
            positive_int(h, "every hidden size")


@dataclasses.dataclass
class PriorTrainConfig(Config):
    """How ``fit_prior`` trains.

    Attributes:
        steps: Adam steps.
        batch_size: chunks per step (all when fewer).
        lr: Adam learning rate.
        seed: seeds the weights, the batches and the posterior samples.
    """

    steps: int = 2000
    batch_size: int = 256
    lr: float = 1e-3
    seed: int = 0

    def __post_init__(self):
        positive_int(self.steps, "steps")
        positive_int(self.batch_size, "batch_size")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be a positive number, got {self.lr!r}")


class SkillPrior(nn.Module):
    """p(z | s) as a Gaussian (or a mixture of Gaussians) with diagonal covariance.

    Observations are given raw; ``obs_normalizer`` (fitted to the training states' range)
    scales them into [-1, 1].
    """

    def __init__(self, config: SkillPriorConfig):
        super().__init__()
        self.config = config
        self.obs_normalizer = Normalizer(config.obs_dim)
        layers, width = [], config.obs_dim
        for h in config.hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        k, d = config.components, config.latent_dim
        layers.append(nn.Linear(width, k * 2 * d + (k if k > 1 else 0)))
        self.net = nn.Sequential(*layers)

    @property
    def device(self) -> torch.device:
        return self.obs_normalizer.low.device

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Mixture log-weights ``(B, K)``, means ``(B, K, D)`` and log-variances ``(B, K, D)``
        for raw observations ``(B, O)``."""
        k, d = self.config.components, self.config.latent_dim
        out = self.net(self.obs_normalizer(obs.to(self.obs_normalizer.low.dtype)))
        if k > 1:
            logits, out = out[:, :k], out[:, k:]
            log_w = torch.log_softmax(logits, -1)
        else:
            log_w = out.new_zeros(out.shape[0], 1)
        mu, logvar = out.view(-1, k, 2 * d).chunk(2, -1)
        return log_w, mu, logvar.clamp(*LOGVAR_RANGE)

    def gaussian(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Means and log-variances ``(B, D)`` of a single-Gaussian prior."""
        if self.config.components != 1:
            raise ValueError(f"this prior is a mixture of {self.config.components} Gaussians; "
                             "use log_prob (or a prior with components=1)")
        _, mu, logvar = self(obs)
        return mu[:, 0], logvar[:, 0]

    def log_prob(self, z: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        """log p(z | s) ``(B,)`` of codes ``(B, D)`` at raw observations ``(B, O)``."""
        log_w, mu, logvar = self(obs)
        z = z[:, None]
        comp = -0.5 * (((z - mu) ** 2) / logvar.exp() + logvar + math.log(2 * math.pi)).sum(-1)
        return torch.logsumexp(log_w + comp, -1)

    def loss(self, obs: torch.Tensor, mu_q: torch.Tensor, logvar_q: torch.Tensor) -> torch.Tensor:
        """Training loss on a batch: mean KL(q || p) for a Gaussian, else the mean NLL of one
        sample of each posterior."""
        if self.config.components == 1:
            mu_p, logvar_p = self.gaussian(obs)
            return gaussian_kl(mu_q, logvar_q, mu_p, logvar_p).sum(-1).mean()
        z = mu_q + torch.randn_like(mu_q) * (0.5 * logvar_q).exp()
        return -self.log_prob(z, obs).mean()

    # -- persistence ----------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Config (JSON), weights and normaliser; written atomically."""
        atomic_torch_save({"format": FORMAT, "format_version": FORMAT_VERSION,
                           "config": json.dumps(self.config.to_dict()),
                           "state_dict": {k: v.detach().cpu()
                                          for k, v in self.state_dict().items()},
                           "versions": versions()}, path)

    @classmethod
    def load(cls, path: str | os.PathLike, map_location: Any = "cpu") -> "SkillPrior":
        """Read a prior written by ``save`` (a file, or a run directory holding prior.pt);
        ``weights_only=True``: loading runs no code."""
        from macroact.io import torch_load

        path = Path(path)
        if path.is_dir():
            path = path / PRIOR_FILE
        if not path.is_file():
            raise FileNotFoundError(f"no skill prior at {str(path)!r}; train one with "
                                    "`macroact prior RUN_DIR --demos D`")
        ckpt = torch_load(path, "skill prior", map_location=map_location)
        if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
            raise ValueError(f"{str(path)!r} is not a skill prior file (written by "
                             "SkillPrior.save)")
        try:
            prior = cls(SkillPriorConfig.from_dict(json.loads(ckpt["config"])))
            check_finite_state(ckpt["state_dict"], f"skill prior {str(path)!r}")
            prior.load_state_dict(ckpt["state_dict"])
        except ValueError:
            raise
        except (KeyError, TypeError, RuntimeError) as e:
            raise ValueError(f"skill prior {str(path)!r} is damaged or inconsistent "
                             f"({type(e).__name__}: {' '.join(str(e).split())[:200]}); train it "
                             "again") from None
        return prior.eval()


def fit_prior(obs: np.ndarray, mu: np.ndarray, logvar: np.ndarray,
              config: SkillPriorConfig | None = None, train: PriorTrainConfig | None = None,
              log_every: int = 0) -> tuple[SkillPrior, list[float]]:
    """Fit p(z | s) to chunks' first observations ``(N, O)`` and posteriors ``(N, D)``.

    Returns the prior (eval mode) and the loss every ``log_every`` steps (and the last).
    """
    obs, mu, logvar = (np.asarray(a, dtype=np.float32) for a in (obs, mu, logvar))
    if obs.ndim != 2 or mu.ndim != 2 or mu.shape != logvar.shape or len(obs) != len(mu):
        raise ValueError(f"expected obs (N, O) and posteriors (N, D) with the same N, got "
                         f"{obs.shape}, {mu.shape}, {logvar.shape}")
    if len(obs) == 0:
        raise ValueError("no chunks to fit the prior on; check the demos and the horizon")
    for name, a in (("observations", obs), ("posterior means", mu), ("log-variances", logvar)):
        if not np.isfinite(a).all():
            raise ValueError(f"{name} hold NaN or inf; check the model and the demos")
    config = config or SkillPriorConfig(obs_dim=obs.shape[1], latent_dim=mu.shape[1])
    if (config.obs_dim, config.latent_dim) != (obs.shape[1], mu.shape[1]):
        raise ValueError(f"the config is for obs_dim={config.obs_dim}, latent_dim="
                         f"{config.latent_dim} but the data have {obs.shape[1]} and {mu.shape[1]}")
    train = train or PriorTrainConfig()
    torch.manual_seed(train.seed)
    gen = torch.Generator().manual_seed(train.seed)
    prior = SkillPrior(config)
    o, m, lv = (torch.from_numpy(a) for a in (obs, mu, logvar))
    prior.obs_normalizer.fit(o)
    opt = torch.optim.Adam(prior.parameters(), lr=train.lr)
    history: list[float] = []
    prior.train()
    for step in range(train.steps):
        idx = torch.randperm(len(o), generator=gen)[:train.batch_size]
        loss = prior.loss(o[idx], m[idx], lv[idx])
        if not torch.isfinite(loss):
            raise ValueError(f"the prior's loss became NaN or inf at step {step}; lower lr")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if (log_every and (step + 1) % log_every == 0) or step + 1 == train.steps:
            history.append(float(loss.detach()))
    return prior.eval(), history
