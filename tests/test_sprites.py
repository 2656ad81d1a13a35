"""Sprites generator: shapes, labels, pixel-level factor isolation, frame selection, noise."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from PIL import Image

from macroact.data.sprites import (
    DATA_DIR,
    FAVAE_NOISE_STD,
    SPRITE_FACTORS,
    VARIANT_SHEETS,
    iter_sprites,
    save_sprites_npz,
    sprites,
)

# The sheet layout, stated independently of the module (data README): rows per motion and facing.
FIRST_ROW = {0: 0, 1: 8, 2: 12}  # spellcast, walk, slash
FACING_OFFSET = {0: 1, 1: 2, 2: 3}  # left, front, right (row 0 of each motion is "back")
FAVAE_COLUMNS = {0: [0, 1, 2, 3, 4, 5, 6, 6], 1: list(range(8)), 2: [0, 1, 2, 3, 4, 5, 5, 5]}
DSAE_COLUMNS = {0: [0, 1, 2, 3, 4, 5, 4, 6], 1: [8, 1, 2, 3, 4, 5, 6, 7], 2: [0, 1, 2, 3, 4, 5, 4, 0]}


def _sheet(part: str, index: int) -> np.ndarray:
    with Image.open(DATA_DIR / part / f"{index}.png") as im:
        return np.asarray(im.convert("RGBA"))


def _cell(sheet: np.ndarray, row: int, col: int) -> np.ndarray:
    return sheet[row * 64:(row + 1) * 64, col * 64:(col + 1) * 64]


def _composite(skin: int, shirt: int, hair: int, pants: int) -> np.ndarray:
    """The character's full sheet, composed with PIL in the documented layer order."""
    image = Image.new("RGBA", (832, 1344), (0, 0, 0, 255))
    for part, index in (("body", skin), ("bottomwear", pants), ("topwear", shirt), ("hair", hair),
                        ("shoes", 1)):
        image = Image.alpha_composite(image, Image.fromarray(_sheet(part, index)))
    return np.asarray(image)[..., :3]


@pytest.fixture(scope="module")
def favae():
    return sprites()


@pytest.fixture(scope="module")
def favae_uint8():
    return sprites(dtype="uint8")


def test_shapes_range_and_names(favae):
    frames, factors, names = favae
    assert frames.shape == (144, 8, 3, 64, 64) and frames.dtype == np.float32
    assert factors.shape == (144, 6) and factors.dtype == np.int64
    assert names == SPRITE_FACTORS == ("skin", "shirt", "hair", "pants", "direction", "motion")
    assert frames.min() == -1.0 and frames.max() == 1.0


def test_every_factor_combination_exactly_once(favae):
    _, factors, _ = favae
    combos = {tuple(row) for row in factors.tolist()}
    expected = set(itertools.product(range(2), range(2), range(2), range(2), range(3), range(3)))
    assert len(combos) == len(factors) == 144 and combos == expected


def test_float_frames_are_rescaled_uint8(favae, favae_uint8):
    frames8, factors8, _ = favae_uint8
    assert frames8.dtype == np.uint8
    np.testing.assert_array_equal(factors8, favae[1])
    np.testing.assert_allclose(favae[0], frames8 / 127.5 - 1.0, atol=1e-6)


def test_shirt_change_touches_only_shirt_pixels(favae_uint8):
    frames, factors, _ = favae_uint8
    shirt_sheets = [_sheet("topwear", i) for i in VARIANT_SHEETS["favae"]["shirt"]]
    checked = 0
    for i, j in itertools.combinations(range(len(factors)), 2):
        differ = factors[i] != factors[j]
        if not (differ[1] and differ.sum() == 1):
            continue
        motion, direction = factors[i, 5], factors[i, 4]
        row = FIRST_ROW[motion] + FACING_OFFSET[direction]
        for t, col in enumerate(FAVAE_COLUMNS[motion]):
            changed = np.any(frames[i, t] != frames[j, t], axis=0)
            shirt = np.zeros((64, 64), dtype=bool)
            for sheet in shirt_sheets:
                shirt |= _cell(sheet, row, col)[..., 3] > 0
            assert changed.any(), "the two shirts should look different"
            assert not (changed & ~shirt).any(), "pixels outside both shirts changed"
        checked += 1
    assert checked == 72  # 144 clips in pairs differing only in shirt


@pytest.mark.parametrize("character", [0, 15, 6])
def test_motion_and_direction_select_sheet_cells(favae_uint8, character):
    frames, factors, _ = favae_uint8
    sheets = VARIANT_SHEETS["favae"]
    values = factors[character * 9, :4]
    full = _composite(*(sheets[name][v] for name, v in zip(SPRITE_FACTORS[:4], values)))
    for k in range(9):
        clip = character * 9 + k
        np.testing.assert_array_equal(factors[clip, :4], values)
        motion, direction = factors[clip, 5], factors[clip, 4]
        row = FIRST_ROW[motion] + FACING_OFFSET[direction]
        for t, col in enumerate(FAVAE_COLUMNS[motion]):
            np.testing.assert_array_equal(frames[clip, t].transpose(1, 2, 0), _cell(full, row, col))


def test_noise_has_given_std_and_is_seeded(favae):
    clean = favae[0]
    chars = [0, 9]
    a, fa, _ = sprites(noise_std=FAVAE_NOISE_STD, seed=3, characters=chars)
    b, _, _ = sprites(noise_std=FAVAE_NOISE_STD, seed=3, characters=chars)
    c, _, _ = sprites(noise_std=FAVAE_NOISE_STD, seed=4, characters=chars)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    idx = np.concatenate([np.arange(ch * 9, ch * 9 + 9) for ch in chars])
    np.testing.assert_array_equal(fa, favae[1][idx])
    noise = a - clean[idx]
    assert abs(noise.std() - math.sqrt(0.5)) < 0.01 and abs(noise.mean()) < 0.01


def test_iter_sprites_chunks_match_sprites():
    whole, labels, _ = sprites(noise_std=0.3, seed=1, characters=[3, 1, 2])
    chunks = list(iter_sprites(noise_std=0.3, seed=1, characters=[3, 1, 2], batch_characters=2))
    assert [len(f) for f, _ in chunks] == [18, 9]
    np.testing.assert_array_equal(np.concatenate([f for f, _ in chunks]), whole)
    np.testing.assert_array_equal(np.concatenate([y for _, y in chunks]), labels)


def test_dsae_subset_shapes_labels_and_frames():
    frames, factors, _ = sprites("dsae", characters=[0, 1295, 7], dtype="uint8")
    assert frames.shape == (27, 8, 3, 64, 64) and frames.dtype == np.uint8
    # character index = mixed radix of (skin, shirt, hair, pants), 6 values each, pants fastest
    np.testing.assert_array_equal(factors[:9, :4], 0)
    np.testing.assert_array_equal(factors[9:18, :4], 5)
    np.testing.assert_array_equal(factors[18:, :4], [[0, 0, 1, 1]] * 9)
    np.testing.assert_array_equal(factors[:9, 4:], [[d, m] for m in range(3) for d in range(3)])
    full = _composite(skin=5, shirt=5, hair=5, pants=5)
    for k in range(9):
        motion, direction = factors[9 + k, 5], factors[9 + k, 4]
        row = FIRST_ROW[motion] + FACING_OFFSET[direction]
        for t, col in enumerate(DSAE_COLUMNS[motion]):
            np.testing.assert_array_equal(frames[9 + k, t].transpose(1, 2, 0), _cell(full, row, col))


def test_save_npz_round_trip(tmp_path):
    path = save_sprites_npz(tmp_path / "sprites.npz", characters=[2])
    frames, factors, names = sprites(characters=[2])
    with np.load(path, allow_pickle=False) as data:
        np.testing.assert_array_equal(data["frames"], frames)
        np.testing.assert_array_equal(data["factors"], factors)
        assert tuple(data["factor_names"]) == names
    assert [p.name for p in tmp_path.iterdir()] == ["sprites.npz"]


@pytest.mark.parametrize("kwargs, match", [
    ({"variant": "mnist"}, "variant"),
    ({"characters": [16]}, "0..15"),
    ({"characters": []}, "characters"),
    ({"dtype": "uint8", "noise_std": 0.5}, "float"),
    ({"dtype": "float16"}, "dtype"),
    ({"noise_std": -1.0}, "noise_std"),
])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sprites(**kwargs)
