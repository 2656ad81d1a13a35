"""One config path: typed dataclasses that save whole to JSON and become command-line flags.

Every run setting (model, training, PPO/SAC, behaviour cloning) is a ``Config`` dataclass whose
fields are documented in the class docstring's Google-style ``Attributes:`` section. That text
is the flag's ``--help``; the field's type gives the parser (``Optional``, tuples, ``Literal``
choices, booleans and ``KEY=VALUE`` dicts handled), so no flag restates a field by hand::

    >>> import argparse, dataclasses
    >>> @dataclasses.dataclass
    ... class Demo(Config):
    ...     '''Attributes:
    ...         steps: optimiser steps.
    ...         sizes: one size per layer.
    ...     '''
    ...     steps: int = 10
    ...     sizes: tuple[int, ...] = (4, 2)
    >>> p = argparse.ArgumentParser()
    >>> add_config_args(p, Demo)
    >>> config_from_args(Demo, p.parse_args(["--sizes", "8,4,2"]))
    Demo(steps=10, sizes=(8, 4, 2))
    >>> Demo.from_dict(Demo(steps=3).to_dict())
    Demo(steps=3, sizes=(4, 2))
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import re
import types
import typing
from typing import Any, Callable, Literal

_NONE_WORDS = ("none", "null")


class _ExplicitNone:
    """What an ``Optional`` field's flag parses ``none`` to: argparse's None means "not given"."""

    def __repr__(self) -> str:
        return "none"


EXPLICIT_NONE = _ExplicitNone()


@dataclasses.dataclass
class Config:
    """Base of every run config: a JSON round trip that refuses unknown fields."""

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON-able values (tuples become lists)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]):
        """The config that ``to_dict`` wrote; unknown keys are an error naming them."""
        if not isinstance(d, dict):
            raise ValueError(f"a {cls.__name__} is read from a dict of its fields, got "
                             f"{type(d).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown {cls.__name__} fields {unknown}; known fields: {sorted(names)}")
        kwargs = {}
        for f in dataclasses.fields(cls):
            if f.name in d:
                v = d[f.name]
                kwargs[f.name] = tuple(v) if isinstance(v, list) else v
        return cls(**kwargs)

    @classmethod
    def field_docs(cls) -> dict[str, str]:
        """Each field's documentation, from the ``Attributes:`` sections of the class's MRO."""
        return field_docs(cls)


def field_docs(cls: type) -> dict[str, str]:
    """Each field of any documented class, from the ``Attributes:`` sections of its MRO."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        docs.update(_attribute_docs(inspect.getdoc(klass) or ""))
    return docs


def _attribute_docs(doc: str) -> dict[str, str]:
    """``name -> text`` from a Google-style ``Attributes:`` section (continuation lines joined)."""
    out: dict[str, str] = {}
    lines = doc.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == "Attributes:")
    except StopIteration:
        return out
    indent = None
    name = None
    for line in lines[start + 1:]:
        if not line.strip():
            continue
        width = len(line) - len(line.lstrip())
        if indent is None:
            indent = width
        if width < indent:
            break  # the next section
        m = re.match(r"\s*(\w+)(?: \([^)]*\))?: (.*)", line)
        if width == indent and m:
            name = m.group(1)
            out[name] = m.group(2).strip()
        elif name is not None:
            out[name] += " " + line.strip()
    return out


def _unwrap_optional(hint: Any) -> tuple[Any, bool]:
    """``(X, True)`` for ``Optional[X]`` / ``X | None``, else ``(hint, False)``."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(hint)) == 2:
            return args[0], True
    return hint, False


def parse_value(text: str) -> Any:
    """A command-line value: JSON where it parses (numbers, true/false, lists), else the text."""
    if text.lower() in _NONE_WORDS:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_tuple(kind: type) -> Callable[[str], tuple]:
    """Parser of comma-separated values of ``kind``, e.g. ``1,2,3``."""
    def parse(text: str) -> tuple:
        try:
            return tuple(kind(v) for v in text.split(",") if v.strip() != "")
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated {kind.__name__} values like 1,2,3, got {text!r}")
    return parse


def parse_pairs(text: str) -> dict[str, Any]:
    """``a=1,b=x`` -> ``{"a": 1, "b": "x"}`` (values through ``parse_value``)."""
    out = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise argparse.ArgumentTypeError(
                f"expected KEY=VALUE pairs separated by commas, like a=1,b=2; got {text!r}")
        out[key.strip()] = parse_value(value.strip())
    return out


def _optional(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def wrapped(text: str) -> Any:
        return EXPLICIT_NONE if text.lower() in _NONE_WORDS else parse(text)
    wrapped.__name__ = getattr(parse, "__name__", "value")
    return wrapped


def _help(doc: str, default: Any, choices: tuple | None, optional: bool) -> str:
    text = doc or "(undocumented)"
    if choices:
        text += f" Choices: {', '.join(map(str, choices))}."
    if default is not dataclasses.MISSING:
        shown = "none" if default is None else (
            ",".join(map(str, default)) if isinstance(default, tuple) else default)
        text += f" Default: {shown}."
    if optional:
        text += " 'none' unsets it."
    return text.replace("%", "%%")


def add_config_args(parser: argparse.ArgumentParser, cls: type, skip: tuple[str, ...] = (),
                    group: str | None = None, parsers: dict[str, Callable[[str], Any]] | None = None,
                    choices: dict[str, tuple] | None = None,
                    flags: dict[str, str] | None = None) -> None:
    """Expose every field of config dataclass ``cls`` as ``--field-name``.

    Help text is the field's documentation (``Config.field_docs``) with its default and
    choices. Tuples are comma-separated, booleans take ``--field`` / ``--no-field``, ``Literal``
    types become choices, dicts take ``KEY=VALUE,...``; an ``Optional`` field accepts ``none``.
    Unset flags stay ``None`` so the dataclass default applies (see ``config_from_args``).

    Args:
        parser: the parser (or sub-command parser) to add to.
        cls: a dataclass (a ``Config`` subclass gives field help).
        skip: fields that get no flag.
        group: title of an argument group to put the flags in.
        parsers: per-field value parsers that override the one the type gives.
        choices: per-field choices that override the ones the type gives (e.g. a registry's).
        flags: per-field flag names other than ``--field-name`` (e.g. ``{"bc_demos": "--bc-init"}``).
    """
    target = parser.add_argument_group(group) if group else parser
    hints = typing.get_type_hints(cls)
    docs = field_docs(cls)
    parsers, choices, flags = parsers or {}, choices or {}, flags or {}
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        flag = flags.get(f.name, "--" + f.name.replace("_", "-"))
        hint, optional = _unwrap_optional(hints[f.name])
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else dataclasses.MISSING)
        kw: dict[str, Any] = dict(dest=f.name, default=None)
        field_choices = choices.get(f.name)
        origin = typing.get_origin(hint)
        if f.name in parsers:
            kw["type"] = parsers[f.name]
        elif hint is bool:
            kw["action"] = argparse.BooleanOptionalAction
        elif origin is Literal:
            field_choices = field_choices or typing.get_args(hint)
            kw["type"] = type(field_choices[0])
        elif origin is tuple or hint is tuple:
            args = [a for a in typing.get_args(hint) if a is not Ellipsis]
            kind = args[0] if args and args[0] in (int, float, str) else str
            kw["type"], kw["metavar"] = parse_tuple(kind), "V1,V2,..."
        elif origin is dict or hint is dict:
            kw["type"], kw["metavar"] = parse_pairs, "KEY=VALUE,..."
        elif hint in (int, float, str):
            kw["type"] = hint
        else:
            kw["type"] = parse_value
        if optional and "type" in kw:
            kw["type"] = _optional(kw["type"])
        if field_choices and "action" not in kw:
            kw["choices"] = list(field_choices) + ([EXPLICIT_NONE] if optional else [])
            kw["metavar"] = "{" + ",".join(map(str, field_choices)) + "}"
        kw["help"] = _help(docs.get(f.name, ""), default, field_choices, optional)
        target.add_argument(flag, **kw)


def config_from_args(cls: type, args: argparse.Namespace, **overrides: Any):
    """Build ``cls`` from the flags ``add_config_args`` added; unset flags keep the defaults.

    ``overrides`` that are not None win over the flags; an ``Optional`` field given as
    ``none`` on the command line is set to None.
    """
    kwargs = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls)
              if getattr(args, f.name, None) is not None}
    kwargs.update({k: v for k, v in overrides.items() if v is not None})
    return cls(**{k: None if v is EXPLICIT_NONE else v for k, v in kwargs.items()})
