"""Optional extras: import a package only when a feature needs it, naming the extra to install.

``macroact[robotics]`` (Gymnasium-Robotics: PointMaze), ``macroact[ogbench]`` (OGBench
manipulation and its oracles) and ``macroact[minari]`` (Minari data sets) are optional; nothing
imports them until a command uses them.

Example:
    >>> import math
    >>> optional_import("math", "robotics") is math
    True
"""

from __future__ import annotations

import importlib
from types import ModuleType

EXTRAS = {"robotics": "gymnasium-robotics", "ogbench": "ogbench", "minari": "minari"}
"""Each optional extra of the package and the PyPI distribution it installs."""


class MissingExtraError(ImportError, ValueError):
    """An optional package is not installed; the message says which extra installs it.

    Also a ``ValueError``, so that the command line reports it in one line like any other
    input the user can fix (here by installing the extra)."""


def optional_import(module: str, extra: str, feature: str | None = None) -> ModuleType:
    """Import ``module``, or raise ``MissingExtraError`` naming ``pip install "macroact[extra]"``.

    Args:
        module: The module to import (e.g. ``"gymnasium_robotics"``).
        extra: The extra of this package that installs it (a key of ``EXTRAS``).
        feature: What needs it, for the message (default: the module's name).
    """
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r}; the extras are {sorted(EXTRAS)}")
    try:
        return importlib.import_module(module)
    except ImportError as e:
        top = module.partition(".")[0]
        if e.name is not None and e.name != top and not module.startswith(e.name):
            raise  # the package is there but something it imports is broken: show that
        raise MissingExtraError(
            f"{feature or module} needs the optional package {EXTRAS[extra]!r}, which is not "
            f"installed; install it with: pip install \"macroact[{extra}]\"") from None


def has_extra(module: str) -> bool:
    """Whether ``module`` can be imported (for skipping tests and features)."""
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True
