"""The model factory: a model from its registered name and its config's fields.

``macroact train`` (``macroact.cli``), the grid sweeps (``macroact.sweep``) and the
experiment scripts build their models here, so a model added to the registry
(``macroact.models``) is buildable everywhere by name.

    >>> from macroact.factory import build_model
    >>> model = build_model("favae", 2, seq_len=100, beta=0.1, ladder=False)
    >>> type(model).__name__, model.config.beta, model.config.ladder
    ('FAVAE', 0.1, False)
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["build_model", "config_fields", "model_names"]


def model_names() -> list[str]:
    """The names ``build_model`` accepts (the model registry's)."""
    from macroact.models import MODEL_REGISTRY

    return sorted(MODEL_REGISTRY)


def config_fields(name: str) -> set[str]:
    """The config fields of the model called ``name``."""
    from macroact.models import model_class

    return {f.name for f in dataclasses.fields(model_class(name).config_class)}


def build_model(name: str, n_features: int | None, **config: Any):
    """The model called ``name`` (``"favae"``, ``"dsae"``, ``"fhvae"``, ``"framed_favae"``, ...).

    Args:
        name: a model name of the registry (``macroact.models.MODEL_REGISTRY``).
        n_features: features per time step of the data (``None`` for models that read it from
            their config, like ``framed_favae``).
        **config: fields of the model's config class. A value of ``None`` leaves the field at
            its default (and may name a field the model lacks, e.g. ``n_labels=None`` for
            FAVAE); lists become tuples (what the configs store).

    Raises:
        ValueError: an unknown model name, or a field its config does not have.
    """
    from macroact.models import model_class

    cls = model_class(name)
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items()
              if v is not None}
    unknown = sorted(set(kwargs) - config_fields(name))
    if unknown:
        raise ValueError(f"{name} has no config field {', '.join(map(repr, unknown))}; "
                         f"its fields: {sorted(config_fields(name))}")
    return cls(cls.config_class(**kwargs), n_features)
