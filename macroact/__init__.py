"""macroact: learned macro-actions for reinforcement learning.

The names a user touches are importable from the package root, loaded on first use so that
``import macroact`` stays cheap (it imports Gymnasium and registers the ``macroact/``
environments, nothing heavier)::

    >>> import macroact
    >>> macroact.FAVAE.__name__, macroact.MacroActionWrapper.__name__
    ('FAVAE', 'MacroActionWrapper')

Layout: ``macroact.models`` (FAVAE, its framed variant, the FHVAE and DSAE baselines, the loss
math), ``macroact.data`` (the paper's data sets, demonstrations and chunking),
``macroact.evaluation`` (MIG, traversals, offline encoding), ``macroact.trainer``,
``macroact.wrapper`` (and ``macroact.chunk_wrapper``, its raw-chunk baseline),
``macroact.envs`` and ``macroact.agents``; the command line is ``macroact.commands``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from macroact._version import __version__

#: Public name -> module that defines it; ``__getattr__`` imports the module on first use.
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(("FAVAE", "FAVAEConfig", "FramedFAVAE", "FramedFAVAEConfig", "DSAE",
                     "DSAEConfig", "FHVAE", "FHVAEConfig", "SequenceModel", "load_model",
                     "ClosedLoopFAVAE", "ClosedLoopFAVAEConfig"), "macroact.models"),
    **dict.fromkeys(("SkillPrior", "SkillPriorConfig"), "macroact.models.prior"),
    **dict.fromkeys(("TrainConfig", "train", "evaluate"), "macroact.trainer"),
    **dict.fromkeys(("MacroActionWrapper", "MacroActionVecEnv"), "macroact.wrapper"),
    "ChunkActionWrapper": "macroact.chunk_wrapper",
    **dict.fromkeys(("EpisodeData", "collect", "chunk_actions"), "macroact.data.demos"),
    **dict.fromkeys(("encode_chunks", "encode_file"), "macroact.evaluation.encode"),
    **dict.fromkeys(("mig", "mig_sampled"), "macroact.evaluation.metrics"),
    **dict.fromkeys(("PPORunConfig", "train_ppo", "load_agent", "evaluate_agent"),
                    "macroact.agents.ppo"),
    **dict.fromkeys(("SACRunConfig", "train_sac", "load_sac_agent", "evaluate_sac"),
                    "macroact.agents.sac"),
    "PriorSAC": "macroact.agents.sac_prior",
    "make_demonstrator": "macroact.envs",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'macroact' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


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
