"""The validators that configs, models and metrics share: one message style, one place.

Each returns the value (as a plain Python number) when it is valid and raises a ``ValueError``
that names the received value and what is expected otherwise::

    >>> positive_int(3, "seq_len")
    3
    >>> positive_int(0, "seq_len")
    Traceback (most recent call last):
    ...
    ValueError: seq_len must be an integer >= 1, got 0
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def positive_int(value: Any, name: str, minimum: int = 1) -> int:
    """``value`` as an ``int`` if it is an integer (not a bool) ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def non_negative(value: Any, name: str, positive: bool = False) -> float:
    """``value`` as a ``float`` if it is a finite number ``>= 0`` (``> 0`` when ``positive``)."""
    ok = (not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
          and math.isfinite(value) and (value > 0 if positive else value >= 0))
    if not ok:
        raise ValueError(f"{name} must be a finite number {'>' if positive else '>='} 0, "
                         f"got {value!r}")
    return float(value)
