"""macroact: learned macro-actions for reinforcement learning."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

__version__ = "0.1.0"


def _mount_sibling_packages() -> None:
    """Import ``envs/`` and ``agents/`` as ``macroact.envs`` and ``macroact.agents``.

    An installed wheel puts them inside the package (pyproject maps them there); in a source
    checkout run from the repository root they sit beside ``macroact/``. Both layouts then
    import the same way, without installing generic top-level names.
    """
    here = Path(__file__).resolve().parent
    for sub in ("envs", "agents"):
        name = f"{__name__}.{sub}"
        if name in sys.modules or (here / sub / "__init__.py").is_file():
            continue
        if importlib.util.find_spec(name) is not None:  # editable install finder maps it
            continue
        init = here.parent / sub / "__init__.py"
        if init.is_file():
            spec = importlib.util.spec_from_file_location(
                name, init, submodule_search_locations=[str(init.parent)])
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)


_mount_sibling_packages()

from macroact import envs as _envs  # noqa: E402,F401  (registers the macroact/ Gymnasium ids)
