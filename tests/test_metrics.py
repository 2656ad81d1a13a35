"""Tests of macroact.evaluation.metrics: MIG sanity (perfect ~ 1, random ~ 0, duplicates penalised),
the discrete MI against its definition, input checks and ladder attribution."""

from __future__ import annotations

import math

import numpy as np
import pytest

from macroact.evaluation.metrics import (
    MIGResult,
    discrete_mutual_info,
    discretize,
    format_mig_table,
    ladder_attribution,
    ladder_counts,
    mig,
    mig_details,
    mig_sampled,
)

N = 2000
N_SAMPLES = 1000  # enough for these well-separated codes, and keeps each estimate ~0.1 s


@pytest.fixture(scope="module")
def factors() -> np.ndarray:
    """Three independent uniform factors with 2, 3 and 5 values, shape (N, 3)."""
    rng = np.random.default_rng(0)
    return np.stack([rng.integers(0, c, N) for c in (2, 3, 5)], axis=1)


@pytest.fixture(scope="module")
def perfect_code(factors) -> np.ndarray:
    """Each factor copied into its own latent plus small noise, then one pure-noise latent."""
    rng = np.random.default_rng(1)
    copies = factors + 0.05 * rng.standard_normal(factors.shape)
    return np.concatenate([copies, rng.standard_normal((N, 1))], axis=1)


@pytest.fixture(scope="module")
def random_code() -> np.ndarray:
    return np.random.default_rng(2).standard_normal((N, 4))


def brute_force_mi(a, b) -> float:
    """sum_ij p_ij log(p_ij / (p_i p_j)) by an explicit double loop."""
    total = 0.0
    for x in set(a.tolist()):
        for y in set(b.tolist()):
            p_xy = np.mean((a == x) & (b == y))
            if p_xy > 0:
                total += p_xy * math.log(p_xy / (np.mean(a == x) * np.mean(b == y)))
    return total


# --------------------------------------------------------------------------- discrete MI


def test_discrete_mi_matches_definition_and_is_symmetric():
    rng = np.random.default_rng(3)
    for n, ka, kb in [(50, 3, 4), (200, 5, 2), (30, 7, 7)]:
        a = rng.integers(0, ka, n)
        b = (a + rng.integers(0, 2, n)) % kb  # dependent labels
        assert abs(discrete_mutual_info(a, b) - brute_force_mi(a, b)) < 1e-10
        assert abs(discrete_mutual_info(a, b) - discrete_mutual_info(b, a)) < 1e-12
        c = rng.integers(-3, 3, n)  # negative labels too
        assert abs(discrete_mutual_info(a, c) - brute_force_mi(a, c)) < 1e-10


def test_mi_of_a_variable_with_itself_is_its_entropy():
    v = np.random.default_rng(4).integers(0, 6, 500)
    p = np.bincount(v) / len(v)
    p = p[p > 0]
    assert abs(discrete_mutual_info(v, v) - float(-(p * np.log(p)).sum())) < 1e-12
    assert discrete_mutual_info(np.zeros(10, int), v[:10]) == 0.0


def test_discretize_uses_equal_width_bins_over_the_range():
    x = np.array([[0.0, 5.0], [0.5, 5.0], [1.0, 5.0], [0.26, 5.0]])
    binned = discretize(x, n_bins=4)
    assert binned[:, 0].tolist() == [1, 3, 4, 2]
    assert binned.shape == x.shape and len(set(binned[:, 1].tolist())) == 1


# -------------------------------------------------------------------------------- MIG


def test_perfect_code_scores_near_one(factors, perfect_code):
    assert mig(perfect_code, factors) >= 0.9
    result = mig_sampled(perfect_code, np.full(perfect_code.shape, -8.0), factors,
                         n_samples=N_SAMPLES, seed=0)
    assert result.score >= 0.9
    assert result.top_latent.tolist() == [0, 1, 2]
    np.testing.assert_allclose(result.entropy, np.log([2, 3, 5]))


def test_random_code_scores_near_zero(factors, random_code):
    assert mig(random_code, factors) <= 0.1
    # posterior std 0.1: independent of the factors, as a collapsed-but-noisy encoder would be
    logvar = np.full(random_code.shape, 2 * math.log(0.1))
    assert mig_sampled(random_code, logvar, factors, n_samples=N_SAMPLES).score <= 0.1


def test_duplicated_latent_gets_no_gap(factors):
    rng = np.random.default_rng(5)
    copy = factors[:, 2] + 0.05 * rng.standard_normal(N)
    code = np.stack([copy, copy, factors[:, 0] + 0.05 * rng.standard_normal(N)], axis=1)
    details = mig_details(code, factors)
    sampled = mig_sampled(code, np.full(code.shape, -8.0), factors, n_samples=N_SAMPLES)
    for result in (details, sampled):
        assert result.gap[2] < 0.05
        assert result.gap[0] > 0.9


def test_one_latent_holding_every_factor_is_flagged_degenerate(factors, perfect_code):
    # a single latent that encodes all three factors jointly, next to pure noise
    rng = np.random.default_rng(6)
    joint = factors[:, 0] * 100 + factors[:, 1] * 10 + factors[:, 2] + 0.01 * rng.standard_normal(N)
    code = np.stack([joint, rng.standard_normal(N)], axis=1)
    result = mig_details(code, factors)
    assert result.degenerate and set(result.top_latent.tolist()) == {0}
    assert not mig_details(perfect_code, factors).degenerate
    assert not mig_details(code, factors[:, :1]).degenerate  # one factor cannot be degenerate


def test_details_are_consistent(factors, perfect_code):
    result = mig_details(perfect_code, factors)
    assert isinstance(result, MIGResult)
    assert result.mi.shape == (4, 3) and result.gap.shape == (3,)
    assert result.score == pytest.approx(np.mean(result.gap))
    assert result.score == mig(perfect_code, factors)
    for k in range(3):
        assert result.entropy[k] == pytest.approx(discrete_mutual_info(factors[:, k],
                                                                       factors[:, k]))
    assert "histogram" in result.estimator and "n_bins=20" in result.estimator
    with pytest.raises(ValueError):
        result.mi[0, 0] = 1.0  # read-only


def test_constant_factor_is_excluded(factors, perfect_code):
    with_constant = np.concatenate([factors, np.zeros((N, 1), int)], axis=1)
    result = mig_details(perfect_code, with_constant)
    assert result.entropy[3] == 0 and np.isnan(result.gap[3])
    assert result.score == pytest.approx(mig(perfect_code, factors))
    with pytest.raises(ValueError, match="single value"):
        mig(perfect_code, np.zeros((N, 2), int))


def test_sampled_is_seeded(factors, perfect_code):
    logvar = np.full(perfect_code.shape, -2.0)
    a = mig_sampled(perfect_code[:300], logvar[:300], factors[:300], n_samples=200, seed=7)
    b = mig_sampled(perfect_code[:300], logvar[:300], factors[:300], n_samples=200,
                    seed=np.random.default_rng(7))
    np.testing.assert_array_equal(a.mi, b.mi)
    assert "sampled" in a.estimator and "n_samples=200" in a.estimator


# ------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize("latents, factors, match", [
    (np.zeros(10), np.zeros((10, 1), int), r"shape \(N, J\)"),
    (np.zeros((10, 2)), np.zeros(10, int), r"shape \(N, K\)"),
    (np.zeros((10, 2)), np.zeros((9, 1), int), "10 points but factors have 9"),
    (np.array([[0.0, np.nan]] * 10), np.zeros((10, 1), int), "NaN"),
    (np.zeros((10, 2)), np.full((10, 1), 0.5), "non-integer value 0.5"),
    (np.zeros((10, 1)), np.zeros((10, 1), int), "at least 2 latents, got J=1"),
])
def test_bad_inputs_raise(latents, factors, match):
    with pytest.raises(ValueError, match=match):
        mig(latents, factors)
    with pytest.raises(ValueError, match=match):
        mig_sampled(latents, np.zeros_like(latents), factors, n_samples=5)


def test_other_bad_inputs_raise():
    with pytest.raises(ValueError, match="logvar has shape"):
        mig_sampled(np.zeros((5, 2)), np.zeros((5, 3)), np.zeros((5, 1), int))
    with pytest.raises(ValueError, match="n_samples must be an integer >= 1"):
        mig_sampled(np.zeros((5, 2)), np.zeros((5, 2)), np.zeros((5, 1), int), n_samples=0)
    with pytest.raises(ValueError, match="n_bins"):
        discretize(np.zeros((5, 2)), n_bins=0)
    with pytest.raises(ValueError, match="3 labels but b has 4"):
        discrete_mutual_info([0, 1, 0], [0, 1, 0, 1])
    with pytest.raises(ValueError, match="integer labels"):
        discrete_mutual_info([0.5, 1, 0], [0, 1, 0])


# ------------------------------------------------------------------ ladders and table


def test_ladder_attribution_maps_latents_to_ladders():
    sizes = (8, 4, 2)
    top = [0, 7, 8, 11, 12, 13]
    assert ladder_attribution(top, sizes).tolist() == [0, 0, 1, 1, 2, 2]
    with pytest.raises(ValueError, match="index 14"):
        ladder_attribution([14], sizes)
    with pytest.raises(ValueError, match="integer >= 1"):
        ladder_attribution([0], (8, 0))


def test_ladder_counts_over_seeds():
    runs = [np.array([0, 2]), np.array([0, 1]), np.array([1, 2])]
    counts = ladder_counts(runs, 3)
    assert counts.tolist() == [[2, 1, 0], [0, 1, 2]]
    assert (counts.sum(1) == len(runs)).all()
    with pytest.raises(ValueError, match="outside 0..1"):
        ladder_counts(runs, 2)
    with pytest.raises(ValueError, match=r"has 3 factors but attributions\[0\] has 2"):
        ladder_counts([[0, 1], [0, 1, 1]], 2)


def test_format_mig_table(factors, perfect_code):
    with_constant = np.concatenate([factors, np.zeros((N, 1), int)], axis=1)
    result = mig_details(perfect_code, with_constant)
    table = format_mig_table(result, ["gripper", "speed", "direction", "arm"], (3, 1))
    lines = table.splitlines()
    assert lines[0].startswith(f"MIG {result.score:.3f}, histogram")
    assert lines[1].split() == ["factor", "H", "top", "latent", "ladder", "MI", "top1", "MI",
                                "top2", "gap"]
    assert lines[4].split()[:4] == ["direction", f"{math.log(5):.3f}", "z2", "0"]
    assert "excluded" in lines[5]
    with pytest.raises(ValueError, match="sum to 3 but the result has 4"):
        format_mig_table(result, ladder_sizes=(2, 1))
    with pytest.raises(ValueError, match="1 factor names for 4 factors"):
        format_mig_table(result, ["a"])
