"""The model factory (macroact.factory): every registered model by name, one rule for config
values, and the CLI building its models through it."""

from __future__ import annotations

import pytest
import torch

from macroact import factory
from macroact.models import DSAE, FAVAE, FHVAE, FramedFAVAE


def test_every_registered_model_builds_by_name():
    assert factory.model_names() == ["closed_loop_favae", "dsae", "favae", "fhvae",
                                     "framed_favae"]
    closed = factory.build_model("closed_loop_favae", 2 + 3, seq_len=10, obs_dim=3)
    assert closed.action_dim == 2 and closed.obs_dim == 3
    assert isinstance(factory.build_model("favae", 2, seq_len=16, beta=0.1), FAVAE)
    assert isinstance(factory.build_model("dsae", 2, seq_len=16), DSAE)
    fh = factory.build_model("fhvae", 2, seq_len=32, n_labels=3)
    assert isinstance(fh, FHVAE) and fh.config.n_labels == 3
    framed = factory.build_model("framed_favae", None, frame_base=4, frame_features=8,
                                 frame_size=16, favae={"seq_len": 8})
    assert isinstance(framed, FramedFAVAE)


def test_none_keeps_the_default_and_lists_become_tuples():
    m = factory.build_model("favae", 2, seq_len=16, beta=None, n_labels=None,
                            ladder=False, capacity=[1.5])
    assert m.config.beta == type(m.config)(seq_len=16).beta
    assert m.config.capacity == (1.5,) and m.config.ladder is False


def test_unknown_model_or_field_is_named():
    with pytest.raises(ValueError, match="unknown"):
        factory.build_model("vae", 2)
    with pytest.raises(ValueError, match="favae has no config field 'n_labels'"):
        factory.build_model("favae", 2, seq_len=16, n_labels=3)


def test_factory_is_deterministic_under_the_seed():
    torch.manual_seed(0)
    a = factory.build_model("favae", 2, seq_len=16)
    torch.manual_seed(0)
    b = factory.build_model("favae", 2, seq_len=16)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_cli_builds_models_through_the_factory(monkeypatch, tmp_path):
    from macroact.cli import _build_model
    from macroact.commands import build_parser

    calls = []
    real = factory.build_model
    monkeypatch.setattr(factory, "build_model", lambda *a, **k: calls.append((a, k)) or real(*a, **k))
    parser = build_parser()
    args = parser.parse_args(["train", "--dataset", "reaching2d", "--out", str(tmp_path),
                              "--beta", "0.5", "--no-ladder"])
    m = _build_model(args, 100, 2, None)
    assert isinstance(m, FAVAE) and m.config.beta == 0.5 and m.config.ladder is False
    args = parser.parse_args(["train", "--dataset", "reaching2d", "--out", str(tmp_path),
                              "--model", "fhvae", "--beta", "2"])
    m = _build_model(args, 100, 2, 5)
    assert isinstance(m, FHVAE) and m.config.n_labels == 5 and m.config.beta == 2.0
    assert [a[0] for a, _ in calls] == ["favae", "fhvae"]
