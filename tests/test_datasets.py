"""The 2D data sets equal the authors' arrays (copies in tests/data, see tests/data/README.md)."""

from pathlib import Path

import numpy as np
import pytest

from macroact.data import paper as datasets

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("fn, length, ref", [
    (datasets.reaching2d, 100, "2d_reaching_100.npz"),
    (datasets.reaching2d, 1000, "2d_reaching_1000.npz"),
    (datasets.wavy_reaching2d, 100, "2d_wavy_reaching_100.npz"),
])
def test_equals_authors_arrays(fn, length, ref):
    x, y = fn(length)
    with np.load(DATA / ref) as f:
        state, label = f["state"], f["label"]
    assert x.dtype == np.float32 and y.dtype == np.int64
    assert x.shape == state.shape and y.shape == label.shape
    np.testing.assert_allclose(x, state, atol=1e-6, rtol=0)
    np.testing.assert_array_equal(y, label)


def test_wavy_1000_extends_the_100_set():
    x1000, y1000 = datasets.wavy_reaching2d(1000)
    x100, y100 = datasets.wavy_reaching2d(100)
    assert x1000.shape == (320, 1000, 2)
    np.testing.assert_array_equal(y1000, y100)
    # Same start, same segment joins and same end point of each segment's cycloid family.
    np.testing.assert_allclose(x1000[:, 0], x100[:, 0], atol=1e-6)
    np.testing.assert_allclose(x1000[:, 500], x100[:, 50], atol=1e-6)


def test_every_factor_combination_once():
    for fn, sizes in ((datasets.reaching2d, (2, 2, 5)), (datasets.wavy_reaching2d, (5, 2, 4, 2, 4))):
        _, y = fn(100)
        assert len({tuple(r) for r in y}) == int(np.prod(sizes)) == len(y)
        assert tuple(y.max(0) + 1) == sizes


def test_user_npz_round_trip(tmp_path):
    x = np.random.default_rng(0).normal(size=(7, 12, 3)).astype(np.float32)
    y = np.arange(7)[:, None] % 2
    np.savez(tmp_path / "d.npz", sequences=x, factors=y)
    x2, y2 = datasets.load_dataset(str(tmp_path / "d.npz"))
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    np.savez(tmp_path / "nofactors.npz", sequences=x)
    assert datasets.load_npz(tmp_path / "nofactors.npz")[1] is None


@pytest.mark.parametrize("arrays, match", [
    ({"x": np.zeros((2, 3, 1))}, "no 'sequences'"),
    ({"sequences": np.zeros((2, 3))}, "shape \\(N, T, D\\)"),
    ({"sequences": np.full((2, 3, 1), np.nan)}, "NaN or inf"),
    ({"sequences": np.zeros((2, 3, 1)), "factors": np.zeros((3, 1), int)}, "N = 2"),
    ({"sequences": np.zeros((2, 3, 1)), "factors": np.zeros((2, 1))}, "integers"),
])
def test_bad_user_files_raise(tmp_path, arrays, match):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=match):
        datasets.load_npz(tmp_path / "bad.npz")


def test_unknown_names_and_lengths_raise():
    with pytest.raises(ValueError, match="unknown dataset 'nope'"):
        datasets.load_dataset("nope")
    with pytest.raises(ValueError, match="length must be one of"):
        datasets.reaching2d(50)
