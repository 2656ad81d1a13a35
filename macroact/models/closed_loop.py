"""Closed-loop FAVAE: ladder latents decoded into per-step features, actions read the live state.

An open-loop FAVAE decodes a code into ``H`` actions that are executed whatever happens; a
push mid-macro is never corrected. ``ClosedLoopFAVAE`` keeps FAVAE's ladder encoder and
top-down decoder, but the decoder's output is one feature vector per step (``feature_dim``
channels, tanh), and a small MLP head maps ``(feature_t, observation_t)`` to ``action_t``
(as in SPiRL's closed-loop skill decoder). In training the observations are the demo's; in an
env (``macroact.wrapper``) they are the live ones, so the head can correct a disturbance.

Data layout. The model trains on ``(observation, action)`` chunks packed into one array
``(N, H, A + O)``: the actions first, then the observation each action was taken in
(``macroact.data.skills.chunk_with_observations``). ``n_features`` is ``A + O`` and the
model's ``normalizer`` scales both parts into [-1, 1] (the observation normaliser is stored
as buffers with the weights), so the trainer, ``evaluate``, saving and ``encode`` work as for
any sequence model. The loss is FAVAE's, ``rec + beta * sum_l |KL_l - C_l|``, with ``rec``
the squared error of the actions only (``ladder_loss_terms``); ``reconstruct`` returns the
packed array with the actions replaced by the head's and the observations passed through.

Example:
    >>> cfg = ClosedLoopFAVAEConfig(seq_len=10, obs_dim=3, feature_dim=4, head_hidden=(16,))
    >>> model = ClosedLoopFAVAE(cfg, n_features=2 + 3)
    >>> model.action_dim, model.latent_dim
    (2, 14)
    >>> out = model(torch.zeros(4, 10, 5))
    >>> sorted(k for k in out if not k.startswith(("kl", "capacity")))
    ['loss', 'rec']
    >>> feats = model.decode_features(torch.zeros(4, 14))
    >>> tuple(feats.shape), tuple(model.act(feats[:, 0], torch.zeros(4, 3)).shape)
    ((4, 10, 4), (4, 2))
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from macroact.models.base import ModelConfig, SequenceModel
from macroact.models.favae import FAVAE, FAVAEConfig
from macroact.models.losses import ladder_loss_terms
from macroact.validation import non_negative, positive_int

_FAVAE_FIELDS = tuple(f.name for f in dataclasses.fields(FAVAEConfig))


@dataclasses.dataclass
class ClosedLoopFAVAEConfig(FAVAEConfig):
    """A FAVAE config plus the observation input and the action head.

    Attributes:
        obs_dim: observation size O (set from the data by ``macroact train --closed-loop``).
        feature_dim: channels of the decoder's per-step feature vector.
        head_hidden: hidden layer sizes of the MLP that maps (feature_t, observation_t) to
            action_t. The default, one layer of 64, is the one the benchmark's earlier
            closed-loop agents use; on both of its tasks two layers of 256 (``--head-hidden
            256 256``) fit the demos far better and made latent SAC + prior much stronger
            (experiments/results/skills.md, "Twenty-second session" and after), at the cost
            of a larger per-step head in the wrapper.
        encode_obs: the ladder encoder also reads the chunk's observations (else only its
            actions, as an open-loop FAVAE).
        obs_noise: in training only, the standard deviation of Gaussian noise added to the
            normalised observations the action head reads (the targets stay the demo's
            actions). The head then reads less from the observation and the codes carry
            more: on 30 ReacherSparse demos 0.4 lifted what the demonstrator's codes score
            but lowered the skill prior's start and the agent over it
            (experiments/results/prior_start.md, skills.md). 0 (the default) trains on the
            observations as recorded; evaluation and the wrapper never add noise.
    """

    obs_dim: int = 1
    feature_dim: int = 16
    head_hidden: tuple[int, ...] = (64,)
    encode_obs: bool = False
    obs_noise: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        positive_int(self.obs_dim, "obs_dim")
        positive_int(self.feature_dim, "feature_dim")
        self.head_hidden = tuple(self.head_hidden)
        for h in self.head_hidden:
            positive_int(h, "every head_hidden size")
        if not isinstance(self.encode_obs, bool):
            raise ValueError(f"encode_obs must be true or false, got {self.encode_obs!r}")
        self.obs_noise = non_negative(self.obs_noise, "obs_noise")

    def favae_config(self) -> FAVAEConfig:
        """The ladder part's config (the FAVAE fields of this one)."""
        return FAVAEConfig(**{k: getattr(self, k) for k in _FAVAE_FIELDS})


class ClosedLoopFAVAE(SequenceModel):
    """FAVAE ladders plus a per-step action head that reads the observation.

    Args:
        config: ladder and head settings; ``config.obs_dim`` is O.
        n_features: ``A + O``, the packed feature count (actions, then observations).

    Attributes:
        vae: the ladder model, a ``FAVAE`` whose decoder outputs ``feature_dim`` tanh
            features per step (its own normaliser is the identity on [-1, 1]); its encoder
            reads A (or A + O with ``encode_obs``) channels.
        head: the MLP ``(feature_dim + O) -> A``, followed by tanh (normalised actions).
    """

    name: ClassVar[str] = "closed_loop_favae"
    config_class: ClassVar[type[ModelConfig]] = ClosedLoopFAVAEConfig
    #: The wrapper runs the head once per primitive step on the live observation.
    closed_loop: ClassVar[bool] = True

    def __init__(self, config: ClosedLoopFAVAEConfig, n_features: int):
        if n_features <= config.obs_dim:
            raise ValueError(f"n_features={n_features} must exceed obs_dim={config.obs_dim}: the "
                             "packed data hold the actions, then the observations")
        super().__init__(config, n_features)
        c = config
        self.vae = FAVAE(c.favae_config(), n_features=c.feature_dim)
        self.vae.normalizer.set_bounds(-np.ones(c.feature_dim), np.ones(c.feature_dim))
        enc_in = self.action_dim + (c.obs_dim if c.encode_obs else 0)
        first = self.vae.encoder[0][0]
        self.vae.encoder[0][0] = nn.Conv1d(enc_in, first.out_channels, first.kernel_size[0],
                                           stride=first.stride[0], padding=first.padding[0])
        layers, width = [], c.feature_dim + c.obs_dim
        for h in c.head_hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, self.action_dim))
        self.head = nn.Sequential(*layers)

    # -- structure ------------------------------------------------------------------------------
    @property
    def action_dim(self) -> int:
        """A, the action size (the first A packed features)."""
        return self.n_features - self.config.obs_dim

    @property
    def obs_dim(self) -> int:
        return self.config.obs_dim

    @property
    def latent_dim(self) -> int:
        return self.vae.latent_dim

    @property
    def ladder_slices(self) -> list[slice]:
        return self.vae.ladder_slices

    def split(self, z: torch.Tensor) -> list[torch.Tensor]:
        return self.vae.split(z)

    def action_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Per action dim, the values the normalised -1 and +1 stand for."""
        n = self.action_dim
        return (self.normalizer.low[:n].detach().cpu().numpy(),
                self.normalizer.high[:n].detach().cpu().numpy())

    # -- networks -------------------------------------------------------------------------------
    def _parts(self, x: torch.Tensor, obs: torch.Tensor | None):
        if obs is None:
            return x[..., :self.action_dim], x[..., self.action_dim:]
        return x, obs

    def _encoder_input(self, act: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        return torch.cat([act, obs], -1) if self.config.encode_obs else act

    def head_normalized(self, features: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        """Normalised actions ``(..., A)`` from features ``(..., F)`` and normalised
        observations ``(..., O)``."""
        return torch.tanh(self.head(torch.cat([features, obs], -1)))

    def forward(self, x: torch.Tensor, progress: float = 1.0, labels: torch.Tensor | None = None,
                obs: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Named loss terms (as ``FAVAE.forward``) for a normalised batch.

        Args:
            x: the packed ``(batch, H, A + O)`` normalised chunks (what the trainer gives), or,
                with ``obs``, the normalised actions ``(batch, H, A)``.
            progress: fraction of training done (capacity schedule).
            labels: unused.
            obs: normalised observations ``(batch, H, O)``, the state each action was taken in.

        Returns:
            ``loss``, ``rec`` (squared action error summed over time and action dims, batch
            mean), ``kl`` and the per-ladder ``kl/l{i}``, ``kl_gap/l{i}``, ``capacity/l{i}``.
        """
        act, obs = self._parts(x, obs)
        params = self.vae.encode_ladders(self._encoder_input(act, obs))
        zs = [mu + torch.randn_like(mu) * (0.5 * lv).exp() if self.training else mu
              for mu, lv in params]
        if self.training and self.config.obs_noise > 0:
            obs = obs + self.config.obs_noise * torch.randn_like(obs)
        ahat = self.head_normalized(self.vae.decode_ladders(zs), obs)
        rec = (ahat - act).pow(2).sum(dim=(1, 2)).mean()
        return ladder_loss_terms(rec, params, self.vae.capacities(progress), self.config.beta)

    # -- public API -----------------------------------------------------------------------------
    def encode_ladders(self, x: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per-ladder ``(mu, logvar)`` of packed normalised chunks ``(batch, H, A + O)``."""
        act, obs = self._parts(x, None)
        return self.vae.encode_ladders(self._encoder_input(act, obs))

    def encode_normalized(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        params = self.encode_ladders(x)
        return torch.cat([p[0] for p in params], 1), torch.cat([p[1] for p in params], 1)

    def reconstruct_normalized(self, x: torch.Tensor) -> torch.Tensor:
        """Packed output: the head's actions on the chunk's own observations, then those
        observations unchanged (so a reconstruction error counts the actions only)."""
        act, obs = self._parts(x, None)
        params = self.vae.encode_ladders(self._encoder_input(act, obs))
        ahat = self.head_normalized(self.vae.decode_ladders([mu for mu, _ in params]), obs)
        return torch.cat([ahat, obs], -1)

    @torch.no_grad()
    def decode_features(self, z: Any) -> torch.Tensor:
        """Per-step features ``(batch, H, feature_dim)`` of concatenated latents
        ``(batch, latent_dim)``; decode once per macro, then call ``act`` per step."""
        z = torch.as_tensor(z, dtype=torch.float32, device=self.device)
        if not torch.isfinite(z).all():
            raise ValueError("latent codes contain NaN or inf")
        return self.vae.decode_ladders(self.vae.split(z))

    def normalize_obs(self, obs: torch.Tensor) -> torch.Tensor:
        """Raw observations ``(..., O)`` -> the normalised ones the head reads."""
        centre, half = self.normalizer._scale()
        n = self.action_dim
        y = (obs - centre[n:]) / half[n:]
        return torch.where(self.normalizer.high[n:] > self.normalizer.low[n:], y,
                           torch.zeros_like(y))

    @torch.no_grad()
    def act(self, features: Any, obs: Any) -> torch.Tensor:
        """Actions ``(batch, A)`` in env units (not clipped) from one step's features
        ``(batch, F)`` and raw observations ``(batch, O)``."""
        f = torch.as_tensor(features, dtype=torch.float32, device=self.device)
        o = torch.as_tensor(np.asarray(obs) if not isinstance(obs, torch.Tensor) else obs,
                            dtype=torch.float32, device=self.device)
        a = self.head_normalized(f, self.normalize_obs(o))
        centre, half = self.normalizer._scale()
        n = self.action_dim
        return a * half[:n] + centre[:n]

    @torch.no_grad()
    def rollout(self, z: Any, step, obs: Any) -> tuple[np.ndarray, np.ndarray]:
        """Run one macro in closed loop through ``step(action) -> observation``.

        A helper for tests and analysis: decodes ``z`` ``(latent_dim,)`` once, then per step
        computes the action from the current observation (unclipped) and calls ``step``.
        Returns the actions ``(H, A)`` and observations ``(H + 1, O)``.
        """
        feats = self.decode_features(torch.as_tensor(z, dtype=torch.float32)[None])[0]
        observations, actions = [np.asarray(obs, np.float32)], []
        for t in range(feats.shape[0]):
            a = self.act(feats[t:t + 1], observations[-1][None])[0].cpu().numpy()
            actions.append(a)
            observations.append(np.asarray(step(a), np.float32))
        return np.stack(actions), np.stack(observations)


class ClosedLoopHead:
    """The head as numpy matrices, for the wrapper's per-step hot path.

    The observation normaliser is folded into the first layer's observation block, and the
    feature block is applied once per macro (``pre``), so one primitive step costs one small
    matmul per layer. Biases after the first layer ride on a constant-1 unit (ReLU keeps it at
    1), and the output scaling is skipped where it is the identity. Equal to
    ``ClosedLoopFAVAE.act`` up to float32 rounding.
    """

    def __init__(self, model: ClosedLoopFAVAE):
        lin = [m for m in model.head if isinstance(m, nn.Linear)]
        W = [m.weight.detach().cpu().double().numpy().T for m in lin]
        b = [m.bias.detach().cpu().double().numpy() for m in lin]
        F = model.config.feature_dim
        n = model.action_dim
        low = model.normalizer.low.detach().cpu().double().numpy()
        high = model.normalizer.high.detach().cpu().double().numpy()
        centre, span = (high + low) / 2, (high - low) / 2
        obs_scale = np.where(high[n:] > low[n:], 1.0 / np.where(span[n:] > 0, span[n:], 1.0), 0.0)
        w_feat = W[0][:F]
        w_obs = W[0][F:] * obs_scale[:, None]  # obs_n = (obs - c) * s for varying features
        b_first = b[0] - (centre[n:] * obs_scale) @ W[0][F:]
        rest = []
        if len(W) > 1:  # a constant-1 unit carries every later bias
            w_feat = np.concatenate([w_feat, np.zeros((F, 1))], 1)
            w_obs = np.concatenate([w_obs, np.zeros((w_obs.shape[0], 1))], 1)
            b_first = np.concatenate([b_first, [1.0]])
            for k in range(1, len(W)):
                last = k == len(W) - 1
                aug = np.zeros((W[k].shape[0] + 1, W[k].shape[1] + (0 if last else 1)))
                aug[:-1, :W[k].shape[1]] = W[k]
                aug[-1, :W[k].shape[1]] = b[k]
                if not last:
                    aug[-1, -1] = 1.0
                rest.append(np.ascontiguousarray(aug, np.float32))
        self.w_feat = w_feat.astype(np.float32)
        self.w_obs = np.ascontiguousarray(w_obs, np.float32)
        self.b_first = b_first.astype(np.float32)
        self.rest = rest
        self.half = np.where(span[:n] > 0, span[:n], 1.0).astype(np.float32)
        self.centre = centre[:n].astype(np.float32)
        self._scale = not np.all(self.half == 1.0)
        self._shift = not np.all(self.centre == 0.0)

    def pre(self, features: np.ndarray) -> np.ndarray:
        """The first layer's feature part plus bias, ``(..., H, F) -> (..., H, hidden)``."""
        out = features @ self.w_feat
        out += self.b_first
        return out

    def __call__(self, pre_t: np.ndarray, obs: np.ndarray) -> np.ndarray:
        """Env-unit actions ``(n, A)`` (unclipped) from ``pre_t`` ``(n, hidden)`` and raw
        observations ``(n, O)``; one row ``(hidden,)``, ``(O,)`` gives ``(A,)``."""
        h = obs.astype(np.float32, copy=False) @ self.w_obs
        h += pre_t
        for W in self.rest:
            np.maximum(h, 0.0, out=h)
            h = h @ W
        np.tanh(h, out=h)
        if self._scale:
            h *= self.half
        if self._shift:
            h += self.centre
        return h
