"""Disentanglement metrics: the Mutual Information Gap (MIG) and ladder attribution.

MIG (Chen et al. 2018) scores a code by how much better its best latent explains each
ground-truth factor than its second best::

    MIG = mean_k (I(z_(1); v_k) - I(z_(2); v_k)) / H(v_k)

Two estimators of the mutual informations are offered, because they disagree on small data
sets and a published number must say which one it used:

* ``mig`` / ``mig_details``: disentanglement_lib's discretised estimator (encoder means, each
  latent binned on its own into equal-width bins, plug-in discrete MI, ``H(v_k) = I(v_k; v_k)``,
  no clamping). Its plug-in MI is biased upwards by about ``(bins - 1)(values - 1) / (2 N)``
  nats, which is large when ``N`` is small.
* ``mig_sampled``: Chen et al.'s estimator (rtqichen/beta-tcvae), which samples ``z`` from the
  posteriors ``q(z|x)`` and estimates ``H(z_j) - H(z_j | v_k)`` with the mixture of all
  posteriors, clamps at 0 and divides by ``log`` of each factor's number of values.

``ladder_attribution`` and ``ladder_counts`` say in which ladder of a hierarchical code each
factor's best latent sits (the paper's Table 3). Everything here is a pure function of NumPy
arrays; randomness comes only from an explicit ``seed``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from macroact.validation import positive_int

__all__ = [
    "MIGResult",
    "discrete_mutual_info",
    "discretize",
    "format_mig_table",
    "ladder_attribution",
    "ladder_counts",
    "mig",
    "mig_details",
    "mig_sampled",
]

# Per-chunk budget of the (samples, points, latents) float64 block in ``mig_sampled``; the
# peak is about twice this, whatever N and n_samples are.
_CHUNK_BYTES = 64 * 2**20


@dataclasses.dataclass(frozen=True, eq=False)
class MIGResult:
    """Per-factor details of a MIG evaluation. Arrays are read-only.

    Attributes:
        score: MIG, the mean of ``gap`` over the factors that take more than one value.
        mi: Mutual information in nats between each latent and each factor, shape (J, K).
        entropy: Normaliser of each factor, shape (K,): ``H(v_k)`` for the histogram
            estimator, ``log`` of the number of distinct values for the sampled one (Chen et
            al.'s choice; equal to ``H(v_k)`` for a uniform factor). 0 marks an excluded
            factor that takes a single value.
        gap: Normalised gap ``(top1 - top2) / entropy`` per factor, shape (K,); NaN for
            excluded factors.
        top_latent: Index of the latent with the largest MI for each factor, shape (K,).
        estimator: Which estimator produced the numbers, with its settings.
    """

    score: float
    mi: np.ndarray
    entropy: np.ndarray
    gap: np.ndarray
    top_latent: np.ndarray
    estimator: str

    def __post_init__(self):
        for name in ("mi", "entropy", "gap", "top_latent"):
            value = np.array(getattr(self, name))
            value.setflags(write=False)
            object.__setattr__(self, name, value)

    @property
    def degenerate(self) -> bool:
        """True when two or more factors share one top latent and no other factor exists.

        Such a code holds every factor in one latent; its MIG can be high while nothing is
        disentangled. The FAVAE paper excluded these runs from its tables.
        """
        top = self.top_latent[self.entropy > 0]
        return len(top) > 1 and len(set(top.tolist())) == 1


# ----------------------------------------------------------------------------- validation


def _as_float_2d(x, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a numeric array, got {type(x).__name__} "
                         f"({err}); pass a NumPy array of floats") from err
    if arr.ndim != 2:
        raise ValueError(f"{name} must have shape (N, J), got shape {arr.shape}; "
                         "add a latent axis with x[:, None] or stack points along axis 0")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} has no points (shape {arr.shape}); pass at least one point")
    bad = ~np.isfinite(arr)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(f"{name} contain {int(bad.sum())} NaN or inf values (first at row "
                         f"{row}, column {col}); drop those points or fix the encoder")
    return arr


def _as_int(x, name: str, ndim: int) -> np.ndarray:
    arr = np.asarray(x)
    shape_name = "(N,)" if ndim == 1 else "(N, K)"
    if arr.ndim != ndim:
        fix = "flatten it with np.ravel" if ndim == 1 else "add a factor axis with v[:, None]"
        raise ValueError(f"{name} must have shape {shape_name}, got shape {arr.shape}; {fix}")
    if arr.dtype == bool or np.issubdtype(arr.dtype, np.integer):
        return arr.astype(np.int64)
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} contain NaN or inf values; factors must be integer "
                             "labels, drop or relabel those points")
        if np.all(arr == np.round(arr)):
            return arr.astype(np.int64)
        example = arr[arr != np.round(arr)].flat[0]
        raise ValueError(f"{name} must hold integer labels, got non-integer value {example}; "
                         "discretise continuous factors first, e.g. with np.digitize")
    raise ValueError(f"{name} must hold integer labels, got dtype {arr.dtype}; "
                     "map the labels to integers, e.g. with np.unique(v, return_inverse=True)")


def _check_same_n(latents: np.ndarray, factors: np.ndarray, latent_name: str) -> None:
    if latents.shape[0] != factors.shape[0]:
        raise ValueError(f"{latent_name} have {latents.shape[0]} points but factors have "
                         f"{factors.shape[0]}; pass one factor row per latent row")


def _check_two_latents(n_latents: int) -> None:
    if n_latents < 2:
        raise ValueError(f"MIG compares the best latent with the second best, so it needs at "
                         f"least 2 latents, got J={n_latents}; evaluate the full code")


# ------------------------------------------------------------------- discrete estimator


def _mi_from_codes(a: np.ndarray, n_a: int, b: np.ndarray, n_b: int) -> float:
    """Plug-in MI of two label arrays already coded as 0..n-1 (sklearn's contingency formula)."""
    if n_a == 1 or n_b == 1:
        return 0.0
    n = a.shape[0]
    joint = np.bincount(a * n_b + b, minlength=n_a * n_b).reshape(n_a, n_b)
    rows, cols = np.nonzero(joint)
    n_ij = joint[rows, cols].astype(np.float64)
    outer = joint.sum(1)[rows].astype(np.float64) * joint.sum(0)[cols]
    mi = np.sum(n_ij / n * (np.log(n_ij) + math.log(n) - np.log(outer)))
    return max(float(mi), 0.0)  # as sklearn: rounding can leave -1e-16 for independent labels


def _codes(x: np.ndarray) -> tuple[np.ndarray, int]:
    values, inverse = np.unique(x, return_inverse=True)
    return inverse.reshape(-1), len(values)


def discrete_mutual_info(a, b) -> float:
    """Mutual information in nats between two discrete label arrays.

    The plug-in estimate from the contingency table,
    ``sum_ij p_ij log(p_ij / (p_i p_j))``, equal to ``sklearn.metrics.mutual_info_score``.
    ``discrete_mutual_info(v, v)`` is the entropy of ``v``'s empirical distribution.

    Args:
        a: Integer labels, shape (N,).
        b: Integer labels, shape (N,).

    Returns:
        The mutual information, >= 0.

    Raises:
        ValueError: If the arrays are not 1-D integer labels of the same length.
    """
    a = _as_int(a, "a", 1)
    b = _as_int(b, "b", 1)
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"a has {a.shape[0]} labels but b has {b.shape[0]}; "
                         "pass two label arrays over the same points")
    if a.shape[0] == 0:
        raise ValueError("a and b are empty; pass at least one labelled point")
    return _mi_from_codes(*_codes(a), *_codes(b))


def discretize(latents, n_bins: int = 20) -> np.ndarray:
    """Bin each latent on its own into ``n_bins`` equal-width bins over its min..max.

    disentanglement_lib's ``_histogram_discretize``: per latent,
    ``np.digitize(x, np.histogram(x, n_bins)[1][:-1])``, so labels run from 1 to ``n_bins``
    (the maximum falls in the last bin).

    Args:
        latents: Codes, shape (N, J).
        n_bins: Number of bins per latent.

    Returns:
        Bin labels, shape (N, J), ints in 1..n_bins.

    Raises:
        ValueError: On a wrong shape, NaN/inf values or a non-positive ``n_bins``.
    """
    latents = _as_float_2d(latents, "latents")
    n_bins = positive_int(n_bins, "n_bins")
    out = np.empty(latents.shape, dtype=np.int64)
    for j in range(latents.shape[1]):
        edges = np.histogram(latents[:, j], n_bins)[1][:-1]
        out[:, j] = np.digitize(latents[:, j], edges)
    return out


def _finish(mi: np.ndarray, entropy: np.ndarray, estimator: str) -> MIGResult:
    """Gap per factor and mean over factors that take more than one value."""
    keep = entropy > 0
    if not keep.any():
        raise ValueError("every factor takes a single value in these points, so no factor has "
                         "information to find; evaluate on points where the factors vary")
    top = np.sort(mi, axis=0)[::-1]
    gap = np.full(mi.shape[1], np.nan)
    gap[keep] = (top[0, keep] - top[1, keep]) / entropy[keep]
    return MIGResult(score=float(np.mean(gap[keep])), mi=mi, entropy=entropy, gap=gap,
                     top_latent=np.argmax(mi, axis=0), estimator=estimator)


def mig_details(latents, factors, n_bins: int = 20) -> MIGResult:
    """Discretised MIG with per-factor details (disentanglement_lib's ``_compute_mig``).

    Each latent is binned with ``discretize``; ``mi[j, k]`` is the plug-in MI between binned
    latent ``j`` and factor ``k``; ``H(v_k) = I(v_k; v_k)``; the gap of factor ``k`` is
    ``(top1 - top2) / H(v_k)`` over latents, without clamping. Factors that take a single
    value in ``factors`` have ``H = 0`` and no information to find: they are excluded from
    the mean (their ``gap`` is NaN) instead of producing 0/0.

    Args:
        latents: Codes, usually encoder means, shape (N, J), J >= 2.
        factors: Integer ground-truth factors, shape (N, K).
        n_bins: Number of equal-width bins per latent.

    Returns:
        A ``MIGResult`` whose ``estimator`` names the histogram estimator and ``n_bins``.

    Raises:
        ValueError: On wrong shapes, mismatched N, NaN/inf latents, non-integer factors,
            J < 2, or when every factor takes a single value.
    """
    latents = _as_float_2d(latents, "latents")
    factors = _as_int(factors, "factors", 2)
    _check_same_n(latents, factors, "latents")
    _check_two_latents(latents.shape[1])
    binned = [_codes(col) for col in discretize(latents, n_bins).T]
    coded = [_codes(col) for col in factors.T]
    mi = np.array([[_mi_from_codes(*z, *v) for v in coded] for z in binned]).reshape(
        latents.shape[1], factors.shape[1])
    entropy = np.array([_mi_from_codes(*v, *v) for v in coded])
    return _finish(mi, entropy, f"histogram (disentanglement_lib, n_bins={n_bins})")


def mig(latents, factors, n_bins: int = 20) -> float:
    """Discretised MIG score (disentanglement_lib); see ``mig_details`` for the definition.

    Args:
        latents: Codes, usually encoder means, shape (N, J), J >= 2.
        factors: Integer ground-truth factors, shape (N, K).
        n_bins: Number of equal-width bins per latent.

    Returns:
        The mean normalised gap over factors that take more than one value.

    Raises:
        ValueError: As ``mig_details``.

    Example:
        A code that copies each factor into its own latent, plus a latent of noise:

        >>> rng = np.random.default_rng(0)
        >>> factors = rng.integers(0, 4, size=(1000, 2))
        >>> noise = rng.standard_normal((1000, 1))
        >>> round(mig(np.concatenate([factors, noise], axis=1), factors), 2)
        0.98
        >>> round(mig(rng.standard_normal((1000, 3)), factors), 2)
        0.0
    """
    return mig_details(latents, factors, n_bins).score


# -------------------------------------------------------------------- sampled estimator


def _draw_sources(n_points: int, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of the points to sample ``z`` from, uniform over the points.

    Every point is used ``n_samples // n_points`` times and the remainder is a draw without
    replacement, so each point is equally likely per draw (as a uniform draw) but the counts
    per point, and so per factor value, are as even as possible. With ``n_samples <= N`` this
    is Chen et al.'s random subset of the data set.
    """
    repeats, rest = divmod(n_samples, n_points)
    return np.concatenate([np.tile(np.arange(n_points), repeats),
                           rng.choice(n_points, size=rest, replace=False)])


def _mixture_cross_entropy(z: np.ndarray, mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """Mean over samples of ``-log (1/M) sum_m N(z_sj; mu_mj, exp(logvar_mj))``, per latent.

    Args:
        z: Samples, shape (S, J).
        mu: Posterior means of the M mixture components, shape (M, J).
        logvar: Posterior log-variances, shape (M, J).

    Returns:
        Entropy estimates in nats, shape (J,).
    """
    n_points, n_latents = mu.shape
    inv_var = np.exp(-logvar)
    log_norm = logvar + math.log(2 * math.pi)
    chunk = max(1, _CHUNK_BYTES // (8 * n_points * n_latents))
    total = np.zeros(n_latents)
    for start in range(0, z.shape[0], chunk):
        # (chunk, M, J) log-densities, updated in place to hold one block in memory
        block = z[start:start + chunk, None, :] - mu[None]
        block *= block
        block *= inv_var
        block += log_norm
        block *= -0.5
        peak = block.max(axis=1)
        block -= peak[:, None, :]
        np.exp(block, out=block)
        total -= (np.log(block.sum(axis=1)) + peak).sum(axis=0)
    return total / z.shape[0] + math.log(n_points)


def mig_sampled(mu, logvar, factors, n_samples: int = 10000, seed=0) -> MIGResult:
    """MIG with Chen et al.'s sampling estimator of the mutual informations.

    ``q(z) = (1/N) sum_n q(z|x_n)`` is the mixture of all N posteriors
    ``q(z_j|x_n) = N(mu_nj, exp(logvar_nj))``. ``n_samples`` points are drawn uniformly
    from the data set (each point ``n_samples // N`` times, the rest without replacement)
    and one ``z`` is sampled from each one's posterior. Then, per latent ``j``:

    * ``H(z_j) = -E[log (1/N) sum_n q(z_j|x_n)]`` over all samples, ``logsumexp`` over all N;
    * ``H(z_j | v_k = v)`` the same over the samples drawn from points with ``v_k = v``,
      with the mixture of those points' posteriors only;
    * ``I(z_j; v_k) = H(z_j) - sum_v p(v) H(z_j | v_k = v)``, clamped at 0, with ``p(v)``
      the fraction of points with value ``v``.

    The conditional entropies reuse the marginal's samples (those drawn from each value's
    points, about ``n_samples * p(v)`` of them) rather than drawing ``n_samples`` per value as
    Chen's code does: the estimate targets the same quantity, costs at most ``K + 1`` passes
    over ``(n_samples, N, J)`` instead of one per factor value, and the shared samples reduce
    the variance of the difference. Each factor's gap is divided by ``log`` of its number of
    distinct values, as in Chen's code (``H(v_k)`` only for a uniform factor). Factors with
    a single value are excluded from the mean (NaN gap). Memory stays near 128 MB whatever
    N and ``n_samples`` are; time grows as ``n_samples * N * J``.

    Args:
        mu: Posterior means, shape (N, J), J >= 2.
        logvar: Posterior log-variances, shape (N, J).
        factors: Integer ground-truth factors, shape (N, K).
        n_samples: Number of ``z`` samples.
        seed: Seed or ``np.random.Generator`` for the choice of points and the ``z`` draws.

    Returns:
        A ``MIGResult``; ``mi`` holds the clamped estimates and ``entropy`` the normalisers
        ``log(#values)``.

    Raises:
        ValueError: On wrong or mismatched shapes, NaN/inf values, non-integer factors,
            J < 2, a non-positive ``n_samples``, or when every factor takes a single value.
    """
    mu = _as_float_2d(mu, "mu")
    logvar = _as_float_2d(logvar, "logvar")
    if mu.shape != logvar.shape:
        raise ValueError(f"mu has shape {mu.shape} but logvar has shape {logvar.shape}; "
                         "pass one log-variance per mean")
    factors = _as_int(factors, "factors", 2)
    _check_same_n(mu, factors, "mu")
    _check_two_latents(mu.shape[1])
    n_samples = positive_int(n_samples, "n_samples")
    rng = np.random.default_rng(seed)

    n_points, n_latents = mu.shape
    source = _draw_sources(n_points, n_samples, rng)
    z = mu[source] + np.exp(0.5 * logvar[source]) * rng.standard_normal((n_samples, n_latents))
    marginal = _mixture_cross_entropy(z, mu, logvar)

    mi = np.zeros((n_latents, factors.shape[1]))
    entropy = np.zeros(factors.shape[1])
    for k, column in enumerate(factors.T):
        codes, n_values = _codes(column)
        if n_values == 1:
            continue
        entropy[k] = math.log(n_values)
        conditional = np.zeros(n_latents)
        for v in range(n_values):
            members = codes == v
            drawn = members[source]
            if drawn.any():  # a value with no sample (n_samples < N) weighs at most 1/N
                conditional += members.mean() * _mixture_cross_entropy(
                    z[drawn], mu[members], logvar[members])
        mi[:, k] = np.maximum(marginal - conditional, 0.0)
    return _finish(mi, entropy, f"sampled (Chen et al. 2018, n_samples={n_samples})")


# ---------------------------------------------------------------------- ladder attribution


def ladder_attribution(top_latent, ladder_sizes: Sequence[int]) -> np.ndarray:
    """Ladder holding each factor's top-MI latent, for latents concatenated lower to upper.

    Args:
        top_latent: Latent index per factor, shape (K,), e.g. ``MIGResult.top_latent``.
        ladder_sizes: Latent count of each ladder, lower first, e.g. ``(8, 4, 2)``.

    Returns:
        Ladder index per factor (0 = lowest), shape (K,).

    Raises:
        ValueError: On non-positive ladder sizes or latent indices outside the code.

    Example:
        >>> ladder_attribution([0, 8, 13], (8, 4, 2)).tolist()
        [0, 1, 2]
    """
    sizes = [positive_int(s, "each ladder size") for s in ladder_sizes]
    if not sizes:
        raise ValueError("ladder_sizes is empty; pass the latent count of each ladder")
    top = _as_int(top_latent, "top_latent", 1)
    bounds = np.cumsum(sizes)
    outside = (top < 0) | (top >= bounds[-1])
    if outside.any():
        raise ValueError(f"top_latent holds index {int(top[outside][0])} but ladders "
                         f"{tuple(sizes)} have latents 0..{bounds[-1] - 1}; pass the sizes of "
                         "the evaluated code")
    return np.searchsorted(bounds, top, side="right")


def ladder_counts(attributions: Sequence, n_ladders: int) -> np.ndarray:
    """Count, over runs, how often each factor's top latent lies in each ladder (Table 3).

    Args:
        attributions: One ``ladder_attribution`` array of shape (K,) per run (seed).
        n_ladders: Number of ladders.

    Returns:
        Counts, shape (K, n_ladders); each row sums to the number of runs.

    Raises:
        ValueError: On no runs, runs with different K, or ladder indices out of range.

    Example:
        >>> ladder_counts([[0, 1], [0, 2], [1, 2]], 3).tolist()
        [[2, 1, 0], [0, 1, 2]]
    """
    n_ladders = positive_int(n_ladders, "n_ladders")
    runs = [_as_int(a, f"attributions[{i}]", 1) for i, a in enumerate(attributions)]
    if not runs:
        raise ValueError("attributions is empty; pass one ladder_attribution array per run")
    n_factors = runs[0].shape[0]
    counts = np.zeros((n_factors, n_ladders), dtype=np.int64)
    for i, run in enumerate(runs):
        if run.shape[0] != n_factors:
            raise ValueError(f"attributions[{i}] has {run.shape[0]} factors but attributions[0] "
                             f"has {n_factors}; pass runs evaluated on the same factors")
        if ((run < 0) | (run >= n_ladders)).any():
            raise ValueError(f"attributions[{i}] holds ladder indices {run.tolist()} outside "
                             f"0..{n_ladders - 1}; pass n_ladders of the evaluated model")
        counts[np.arange(n_factors), run] += 1
    return counts


def format_mig_table(result: MIGResult, factor_names: Sequence[str] | None = None,
                     ladder_sizes: Sequence[int] | None = None) -> str:
    """Plain-text table of a MIG result, one row per factor.

    Columns: factor, its entropy (the normaliser), the top latent, that latent's ladder (when
    ``ladder_sizes`` is given), the largest and second largest MI, and the normalised gap.
    The header line gives the score and the estimator.

    Args:
        result: Output of ``mig_details`` or ``mig_sampled``.
        factor_names: One name per factor, K of them; default ``v0, v1, ...``.
        ladder_sizes: Latent count of each ladder, lower first; must sum to J.

    Returns:
        The table, lines joined by newlines, without a trailing newline.

    Raises:
        ValueError: If ``factor_names`` or ``ladder_sizes`` do not match the result's K or J.
    """
    n_latents, n_factors = result.mi.shape
    names = [f"v{k}" for k in range(n_factors)] if factor_names is None else list(factor_names)
    if len(names) != n_factors:
        raise ValueError(f"got {len(names)} factor names for {n_factors} factors; "
                         "pass one name per factor column")
    ladders = None
    if ladder_sizes is not None:
        if sum(int(s) for s in ladder_sizes) != n_latents:
            raise ValueError(f"ladder_sizes {tuple(ladder_sizes)} sum to "
                             f"{sum(int(s) for s in ladder_sizes)} but the result has "
                             f"{n_latents} latents; pass the sizes of the evaluated code")
        ladders = ladder_attribution(result.top_latent, ladder_sizes)
    top = np.sort(result.mi, axis=0)[::-1]
    rows = [["factor", "H", "top latent", "ladder", "MI top1", "MI top2", "gap"]]
    for k in range(n_factors):
        if result.entropy[k] == 0:
            rows.append([names[k], "0.000", "-", "-", "-", "-", "excluded (one value)"])
            continue
        rows.append([names[k], f"{result.entropy[k]:.3f}", f"z{result.top_latent[k]}",
                     "-" if ladders is None else str(ladders[k]), f"{top[0, k]:.3f}",
                     f"{top[1, k]:.3f}", f"{result.gap[k]:.3f}"])
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    lines = [f"MIG {result.score:.3f}, {result.estimator}"]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)
