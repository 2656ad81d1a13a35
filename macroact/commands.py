"""The ``macroact`` command line: the command registry, argument helpers and ``main``.

A command is a pair of functions registered with ``@command(name, help)``: one adds its
arguments to an ``argparse`` parser, the other runs it. The modules named in
``COMMAND_MODULES`` register theirs when ``build_parser`` imports them, so this module imports
none of them. Expected failures end with one line ``macroact CMD: error: ...`` on stderr and
exit status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
import sys
import typing
from typing import Any, Callable

#: Modules whose import registers commands, in the order ``--help`` lists them.
COMMAND_MODULES = ("macroact.cli", "macroact.agents.cli")

COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {}


def command(name: str, help: str):
    """Register a sub-command: the decorated function adds its arguments, ``run`` runs it."""
    def wrap(add_args):
        def register(run):
            COMMANDS[name] = (help, add_args, run)
            return run
        return register
    return wrap


class CLIError(ValueError):
    """A user error that the CLI reports as one line."""


def _parse_tuple(kind: type) -> Callable[[str], tuple]:
    def parse(text: str) -> tuple:
        try:
            return tuple(kind(v) for v in text.split(",") if v.strip() != "")
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated {kind.__name__} values like 1,2,3, got {text!r}")
    return parse


def add_dataclass_args(parser: argparse.ArgumentParser, cls: type, skip: tuple[str, ...] = (),
                       group: str | None = None) -> None:
    """Expose every field of a config dataclass as ``--field-name`` (defaults from the class).

    Tuples are comma-separated lists; booleans take ``--field`` / ``--no-field``.
    Values left unset stay ``None`` so the dataclass default applies.
    """
    target = parser.add_argument_group(group) if group else parser
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        flag = "--" + f.name.replace("_", "-")
        hint = hints[f.name]
        default = f.default if f.default is not dataclasses.MISSING else None
        text = str(hint)
        if hint is bool:
            target.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction,
                                default=None, help=f"(default {default})")
        elif "tuple" in text:
            kind = float if "float" in text else int
            target.add_argument(flag, dest=f.name, type=_parse_tuple(kind), default=None,
                                metavar="V1,V2,...", help=f"(default {default})")
        else:
            kind = int if hint is int else float if hint is float else str
            target.add_argument(flag, dest=f.name, type=kind, default=None,
                                help=f"(default {default})")


def dataclass_from_args(cls: type, args: argparse.Namespace, **overrides: Any):
    kwargs = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls)
              if getattr(args, f.name, None) is not None}
    kwargs.update({k: v for k, v in overrides.items() if v is not None})
    return cls(**kwargs)



def build_parser() -> argparse.ArgumentParser:
    """The ``macroact`` parser with every registered command."""
    for module in COMMAND_MODULES:
        importlib.import_module(module)
    from macroact._version import __version__

    parser = argparse.ArgumentParser(
        prog="macroact", description="Learned macro-actions: FAVAE over demonstrations, "
                                     "PPO over its latents.")
    parser.add_argument("--version", action="version", version=f"macroact {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (help_text, add_args, _) in COMMANDS.items():
        add_args(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), run the command, return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command][2](args) or 0
    except (ValueError, FileNotFoundError, KeyError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"macroact {args.command}: error: {msg}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into a reader that stopped (`| head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
