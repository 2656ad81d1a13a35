"""The KL terms and the capacity objective that every model (and the wrapper) uses.

FAVAE's information-bottleneck loss (Yamada et al. 2020, Sec. 3, Eq. 6) is
``rec + beta * sum_l |KL_l - C_l|`` with one KL term per ladder ``l`` against a standard normal
prior and a target capacity ``C_l`` that may grow over training::

    >>> import torch
    >>> mu, logvar = torch.zeros(4, 3), torch.zeros(4, 3)
    >>> float(standard_normal_kl(mu, logvar).sum())
    0.0
    >>> float(capacity_objective([torch.tensor(2.0)], [0.5], beta=0.1))
    0.15000000596046448
"""

from __future__ import annotations

from typing import Sequence

import torch


def gaussian_kl(mu_q: torch.Tensor, logvar_q: torch.Tensor, mu_p: torch.Tensor,
                logvar_p: torch.Tensor) -> torch.Tensor:
    """Elementwise KL(N(mu_q, exp(logvar_q)) || N(mu_p, exp(logvar_p))); shapes broadcast."""
    return 0.5 * (logvar_p - logvar_q
                  + (logvar_q.exp() + (mu_q - mu_p).pow(2)) / logvar_p.exp() - 1.0)


def standard_normal_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Elementwise KL(N(mu, exp(logvar)) || N(0, 1)), same shape as ``mu``."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


def batch_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL to the standard normal of ``(batch, dims)`` posteriors, summed over dims, batch mean."""
    return standard_normal_kl(mu, logvar).sum(dim=1).mean()


def capacity_objective(kls: Sequence[torch.Tensor], capacities: Sequence[float],
                       beta: float) -> torch.Tensor:
    """``beta * sum_l |KL_l - C_l|``: the information-bottleneck term of FAVAE's loss."""
    if len(kls) != len(capacities):
        raise ValueError(f"got {len(kls)} KL terms but {len(capacities)} capacities; "
                         "give one capacity per ladder")
    total = kls[0].new_zeros(())
    for kl, c in zip(kls, capacities):
        total = total + (kl - c).abs()
    return beta * total


def ladder_loss_terms(rec: torch.Tensor, params: Sequence[tuple[torch.Tensor, torch.Tensor]],
                      capacities: Sequence[float], beta: float) -> dict[str, torch.Tensor]:
    """The named terms of ``rec + beta * sum_l |KL_l - C_l|`` for per-ladder posteriors.

    Args:
        rec: reconstruction error, a scalar.
        params: per ladder, ``(mu, logvar)`` each ``(batch, ladder_dim)``, lower ladder first.
        capacities: ``C_l`` per ladder (nats).
        beta: weight of the capacity term.

    Returns:
        ``loss``, ``rec``, ``kl`` (sum over ladders) and per ladder ``i``: ``kl/l{i}``,
        ``kl_gap/l{i}`` (``|KL_i - C_i|``) and ``capacity/l{i}``.
    """
    if len(params) != len(capacities):
        raise ValueError(f"got {len(params)} ladders but {len(capacities)} capacities; "
                         "give one capacity per ladder")
    out = {"rec": rec}
    total_gap = rec.new_zeros(())
    total_kl = rec.new_zeros(())
    for i, ((mu, lv), cap) in enumerate(zip(params, capacities)):
        kl = batch_kl(mu, lv)
        gap = (kl - cap).abs()
        out[f"kl/l{i}"] = kl
        out[f"kl_gap/l{i}"] = gap
        out[f"capacity/l{i}"] = torch.tensor(cap)
        total_kl = total_kl + kl
        total_gap = total_gap + gap
    out["kl"] = total_kl
    out["loss"] = rec + beta * total_gap
    return out
