"""The Sprites video data (LPC characters), composed from the sprite sheets shipped in the package.

A character is the alpha-composite, over a black background, of one sheet of each part in the
order body (skin), bottomwear (pants), topwear (shirt), hair, then shoes sheet 1, which every
character wears (as in YingzhenLi/Sprites, the generator of Li & Mandt's data). A clip is 8
frames of one motion (spellcast, walk, slash) in one facing (left, front, right).

Two variants:

- ``"favae"``: FAVAE's Table 1. Two sheets per part (skin light or dark, shirt maroon-brown or
  teal, hair green or pink, pants red or teal), 3 facings x 3 motions: 2**4 * 9 = 144 clips.
  The sheets are chosen so that each factor changes only colour, not cut, as in the FAVAE
  authors' characters (their ``longsleeve_brown``/``longsleeve_teal`` shirts, ``plain`` hair).
- ``"dsae"``: Li & Mandt's set. Sheets 0-5 of each part (6**4 = 1296 characters) x 9 clips
  = 11664 clips; as float32 that is 4.6 GB, so pass ``characters=`` for a subset, use
  ``dtype="uint8"`` (1.1 GB for all), or stream it with :func:`iter_sprites`.

Frames of a clip (sheet columns ``CLIP_COLUMNS``) follow each variant's published generator;
motions with fewer than 8 frames repeat some (the rule differs by variant):

- ``"favae"`` (the FAVAE authors' ``downloader.py``): walk columns 0-7 (standing pose first,
  last step frame dropped); spellcast 0-6 then 6 again; slash 0-5 then 5 twice (the last pose held).
- ``"dsae"`` (YingzhenLi/Sprites): walk columns 8, 1-7 (standing pose skipped); spellcast
  0-5, 4, 6; slash 0-5, 4, 0.

Factors, columns ``SPRITE_FACTORS``: ``skin``, ``shirt``, ``hair``, ``pants`` (index into the
variant's sheets, ``VARIANT_SHEETS``), ``direction`` (0 left, 1 front, 2 right) and
``motion`` (0 spellcast, 1 walk, 2 slash), in FAVAE's Table 1 order. Clips come character by
character (characters in product order over skin, shirt, hair, pants, the last fastest), and
within a character motion-major, then direction.

Frames are rescaled to [-1, 1] as ``x / 127.5 - 1``. FAVAE adds Gaussian noise of variance 0.5
to these: pass ``noise_std=FAVAE_NOISE_STD`` (noisy frames are not clipped, so they leave [-1, 1]).

The sheets are Liberated Pixel Cup art (CC-BY-SA 3.0 / GPL 3.0); see
``macroact/data/assets/sprites/CREDITS.md``.
"""

from __future__ import annotations

import functools
import itertools
import math
import numbers
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

SPRITE_FACTORS = ("skin", "shirt", "hair", "pants", "direction", "motion")
MOTIONS = ("spellcast", "walk", "slash")
DIRECTIONS = ("left", "front", "right")
VARIANTS = ("favae", "dsae")
FAVAE_NOISE_STD = math.sqrt(0.5)
FRAME_SIZE = 64
CLIP_LENGTH = 8

# Sheet folder of each colour factor, in SPRITE_FACTORS order.
PART_OF_FACTOR = {"skin": "body", "shirt": "topwear", "hair": "hair", "pants": "bottomwear"}
SHOES_SHEET = 1

# Sheets per colour factor. favae: value 0/1 are the colours FAVAE's Table 1 names first/second.
# skin: light (0), dark (5, the darker of the two brown bodies, LPC's "dark2");
# shirt: maroon-brown (0), teal (1), both long sleeves of one cut (the sheet set has no brown
# long sleeve; sheet 4, a brown sleeveless vest, would change cut as well as colour);
# hair: green (0), pink (8), one hairstyle; pants: red (2), teal (4), one cut.
VARIANT_SHEETS = {
    "favae": {"skin": (0, 5), "shirt": (0, 1), "hair": (0, 8), "pants": (2, 4)},
    "dsae": {name: tuple(range(6)) for name in ("skin", "shirt", "hair", "pants")},
}

# First sheet row of each motion; each motion has 4 rows, facings back, left, front, right.
MOTION_ROW = {"spellcast": 0, "walk": 8, "slash": 12}
DIRECTION_ROW_OFFSET = {"left": 1, "front": 2, "right": 3}

CLIP_COLUMNS = {
    "favae": {
        "spellcast": (0, 1, 2, 3, 4, 5, 6, 6),
        "walk": (0, 1, 2, 3, 4, 5, 6, 7),
        "slash": (0, 1, 2, 3, 4, 5, 5, 5),
    },
    "dsae": {
        "spellcast": (0, 1, 2, 3, 4, 5, 4, 6),
        "walk": (8, 1, 2, 3, 4, 5, 6, 7),
        "slash": (0, 1, 2, 3, 4, 5, 4, 0),
    },
}

_DTYPES = ("float32", "uint8")
DATA_DIR = Path(__file__).resolve().parent / "assets" / "sprites"


def sheet_path(part: str, index: int) -> Path:
    """Path of one shipped sprite sheet, e.g. ``sheet_path("hair", 8)``.

    Args:
        part: one of ``body``, ``bottomwear``, ``topwear``, ``hair``, ``eyes``, ``shoes``.
        index: the sheet number inside that folder.
    """
    root = DATA_DIR
    path = root / part / f"{int(index)}.png"
    if not path.is_file():
        available = sorted(p.name for p in (root / part).glob("*.png")) if (root / part).is_dir() else []
        raise ValueError(
            f"no sprite sheet {part}/{index}.png in {root}; available in {part!r}: {available or 'none'} "
            "(parts: body, bottomwear, topwear, hair, eyes, shoes)")
    return path


def clip_cells(variant: str = "favae") -> np.ndarray:
    """Sheet cells of every frame of the 9 clips of a variant.

    Returns:
        int64 array ``(3 motions, 3 directions, 8 frames, 2)`` of (row, column) in the
        13 x 21 grid of 64 x 64 cells, motions and directions in ``MOTIONS``/``DIRECTIONS`` order.
    """
    variant = _check_variant(variant)
    cells = np.zeros((len(MOTIONS), len(DIRECTIONS), CLIP_LENGTH, 2), dtype=np.int64)
    for m, motion in enumerate(MOTIONS):
        for d, direction in enumerate(DIRECTIONS):
            cells[m, d, :, 0] = MOTION_ROW[motion] + DIRECTION_ROW_OFFSET[direction]
            cells[m, d, :, 1] = CLIP_COLUMNS[variant][motion]
    return cells


@functools.lru_cache(maxsize=64)
def _atlas(part: str, index: int, variant: str) -> Image.Image:
    """RGBA image of one sheet's 9 clips: clip ``m * 3 + d`` in cell row, frame t in cell column."""
    with Image.open(sheet_path(part, index)) as sheet:
        sheet = sheet.convert("RGBA")
    size = FRAME_SIZE
    atlas = Image.new("RGBA", (CLIP_LENGTH * size, len(MOTIONS) * len(DIRECTIONS) * size))
    for clip, cells in enumerate(clip_cells(variant).reshape(-1, CLIP_LENGTH, 2)):
        for t, (row, col) in enumerate(cells):
            cell = sheet.crop((col * size, row * size, (col + 1) * size, (row + 1) * size))
            atlas.paste(cell, (t * size, clip * size))
    return atlas


def _character_clips(variant: str, sheets: tuple[int, int, int, int]) -> np.ndarray:
    """uint8 ``(9, 8, 3, 64, 64)``: the 9 clips of one character (sheet numbers in factor order)."""
    skin, shirt, hair, pants = sheets
    layers = [("body", skin), ("bottomwear", pants), ("topwear", shirt), ("hair", hair),
              ("shoes", SHOES_SHEET)]
    first = _atlas("body", skin, variant)
    image = Image.new("RGBA", first.size, (0, 0, 0, 255))
    for part, index in layers:  # PIL's compositing, as the reference generators used
        image = Image.alpha_composite(image, _atlas(part, index, variant))
    rgb = np.asarray(image)[..., :3]
    n_clips = len(MOTIONS) * len(DIRECTIONS)
    return rgb.reshape(n_clips, FRAME_SIZE, CLIP_LENGTH, FRAME_SIZE, 3).transpose(0, 2, 4, 1, 3)


def _check_variant(variant: str) -> str:
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    return variant


def n_characters(variant: str = "favae") -> int:
    """Number of characters of a variant: 16 for ``"favae"``, 1296 for ``"dsae"``."""
    sheets = VARIANT_SHEETS[_check_variant(variant)]
    return math.prod(len(sheets[name]) for name in PART_OF_FACTOR)


def _check_characters(variant: str, characters: Sequence[int] | np.ndarray | None) -> np.ndarray:
    total = n_characters(variant)
    if characters is None:
        return np.arange(total, dtype=np.int64)
    arr = np.asarray(characters)
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(
            f"characters must be a non-empty 1-D sequence of integer indices, got {characters!r}")
    if arr.min() < 0 or arr.max() >= total:
        raise ValueError(
            f"characters must lie in 0..{total - 1} for variant {variant!r}, got values "
            f"{int(arr.min())}..{int(arr.max())}")
    return arr.astype(np.int64)


def _check_options(noise_std: float, dtype: str, batch_characters: int) -> None:
    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be one of {_DTYPES}, got {dtype!r}")
    if isinstance(noise_std, bool) or not isinstance(noise_std, numbers.Real) \
            or not math.isfinite(noise_std) or noise_std < 0:
        raise ValueError(f"noise_std must be a finite number >= 0, got {noise_std!r}")
    if dtype == "uint8" and noise_std > 0:
        raise ValueError(
            f"noise_std={noise_std} needs float frames; use dtype='float32' or add the noise yourself "
            "after converting uint8 frames with x / 127.5 - 1")
    if isinstance(batch_characters, bool) or not isinstance(batch_characters, (int, np.integer)) \
            or batch_characters < 1:
        raise ValueError(f"batch_characters must be an integer >= 1, got {batch_characters!r}")


def character_factors(variant: str, character: int) -> tuple[int, int, int, int]:
    """Colour-factor values ``(skin, shirt, hair, pants)`` of a character index (last fastest)."""
    sheets = VARIANT_SHEETS[_check_variant(variant)]
    sizes = [len(sheets[name]) for name in PART_OF_FACTOR]
    index = int(_check_characters(variant, [character])[0])
    return tuple(int(v) for v in np.unravel_index(index, sizes))  # type: ignore[return-value]


def iter_sprites(
    variant: str = "favae",
    noise_std: float = 0.0,
    seed: int = 0,
    characters: Sequence[int] | np.ndarray | None = None,
    dtype: str = "float32",
    batch_characters: int = 64,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Stream the Sprites clips a few characters at a time (same clips and noise as :func:`sprites`).

    Args:
        variant: ``"favae"`` or ``"dsae"`` (see the module docstring).
        noise_std: standard deviation of the Gaussian noise added to the [-1, 1] frames.
        seed: seed of the noise generator; chunks draw from one stream, so concatenating the
            chunks gives exactly ``sprites(...)`` with the same arguments.
        characters: indices of the characters to make (default all), in the given order.
        dtype: ``"float32"`` (frames in [-1, 1]) or ``"uint8"`` (0..255, no noise allowed).
        batch_characters: characters per chunk; each chunk holds ``9 * batch_characters`` clips.

    Yields:
        ``(frames, factors)``: frames ``(n, 8, 3, 64, 64)`` and factors int64 ``(n, 6)``.
    """
    variant = _check_variant(variant)
    chars = _check_characters(variant, characters)
    _check_options(noise_std, dtype, batch_characters)
    rng = np.random.default_rng(seed)
    sheets = VARIANT_SHEETS[variant]
    clip_labels = np.array(list(itertools.product(range(len(MOTIONS)), range(len(DIRECTIONS)))))
    for start in range(0, len(chars), int(batch_characters)):
        frames, factors = [], []
        for char in chars[start:start + int(batch_characters)]:
            values = character_factors(variant, int(char))
            sheet_ids = tuple(sheets[name][v] for name, v in zip(PART_OF_FACTOR, values))
            frames.append(_character_clips(variant, sheet_ids))  # type: ignore[arg-type]
            colour = np.broadcast_to(values, (len(clip_labels), 4))
            # columns: colours, direction, motion (clip_labels is (motion, direction))
            factors.append(np.concatenate([colour, clip_labels[:, ::-1]], axis=1))
        batch = np.concatenate(frames)
        if dtype == "float32":
            batch = batch.astype(np.float32) / np.float32(127.5) - np.float32(1.0)
            if noise_std > 0:
                batch += rng.normal(0.0, noise_std, size=batch.shape).astype(np.float32)
        yield np.ascontiguousarray(batch), np.concatenate(factors).astype(np.int64)


def sprites(
    variant: str = "favae",
    noise_std: float = 0.0,
    seed: int = 0,
    characters: Sequence[int] | np.ndarray | None = None,
    dtype: str = "float32",
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """The Sprites clips and their ground-truth factors.

    Args:
        variant: ``"favae"`` (FAVAE's 144 clips) or ``"dsae"`` (Li & Mandt's 11664 clips; 4.6 GB
            as float32, so pass ``characters`` or ``dtype="uint8"``, or use :func:`iter_sprites`).
        noise_std: standard deviation of Gaussian noise added to the [-1, 1] frames;
            ``FAVAE_NOISE_STD`` (sqrt 0.5) is the paper's setting. Noisy frames are not clipped.
        seed: seed of the noise.
        characters: indices of the characters to make (default all). A character index is
            the mixed-radix number of its (skin, shirt, hair, pants) values, pants fastest
            (see :func:`character_factors`).
        dtype: ``"float32"`` (in [-1, 1]) or ``"uint8"`` (0..255; noise must be 0).

    Returns:
        ``frames`` of shape ``(N, 8, 3, 64, 64)`` (N = 9 per character), ``factors`` int64
        ``(N, 6)`` and ``factor_names`` (``SPRITE_FACTORS``).

    Example:
        >>> frames, factors, names = sprites()
        >>> frames.shape, factors.shape, names[4:]
        ((144, 8, 3, 64, 64), (144, 6), ('direction', 'motion'))
    """
    variant = _check_variant(variant)
    chars = _check_characters(variant, characters)
    _check_options(noise_std, dtype, 1)
    n = len(chars) * len(MOTIONS) * len(DIRECTIONS)
    frames = np.empty((n, CLIP_LENGTH, 3, FRAME_SIZE, FRAME_SIZE), dtype=dtype)
    factors = np.empty((n, len(SPRITE_FACTORS)), dtype=np.int64)
    at = 0
    for batch, labels in iter_sprites(variant, noise_std, seed, chars, dtype):
        frames[at:at + len(batch)] = batch
        factors[at:at + len(batch)] = labels
        at += len(batch)
    return frames, factors, SPRITE_FACTORS


def save_sprites_npz(path: str | os.PathLike, compressed: bool = True, **kwargs) -> Path:
    """Write :func:`sprites` to an ``.npz`` with arrays ``frames``, ``factors``, ``factor_names``.

    The file is written under a temporary name and renamed, so a crash leaves no half file.

    Args:
        path: output file (``.npz`` is not appended; the name is used as given).
        compressed: use ``np.savez_compressed`` (noise-free frames shrink about 20x).
        **kwargs: arguments of :func:`sprites` (``variant``, ``noise_std``, ``seed``,
            ``characters``, ``dtype``).

    Returns:
        The path written.
    """
    path = Path(path)
    frames, factors, names = sprites(**kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            (np.savez_compressed if compressed else np.savez)(
                f, frames=frames, factors=factors, factor_names=np.array(names))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
