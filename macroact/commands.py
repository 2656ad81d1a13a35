"""The ``macroact`` command line: the command registry, argument helpers and ``main``.

A command is a pair of functions registered with ``@command(name, help)``: one adds its
arguments to an ``argparse`` parser, the other runs it. The modules named in
``COMMAND_MODULES`` register theirs when ``build_parser`` imports them, so this module imports
none of them. Expected failures end with one line ``macroact CMD: error: ...`` on stderr and
exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Callable

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


def build_parser() -> argparse.ArgumentParser:
    """The ``macroact`` parser with every registered command."""
    for module in COMMAND_MODULES:
        importlib.import_module(module)
    from macroact._version import __version__

    parser = argparse.ArgumentParser(
        prog="macroact", description="Learned macro-actions: FAVAE over demonstrations, "
                                     "PPO over its latents.")
    parser.add_argument("--version", action="version", version=f"macroact {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error instead of its one-line summary")
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
    except BrokenPipeError:  # output piped into a reader that stopped (`| head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as e:
        if getattr(args, "debug", False) or not _expected(e):
            raise
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        msg = " ".join(str(msg).split()) or type(e).__name__
        print(f"macroact {args.command}: error: {msg}", file=sys.stderr)
        return 2


def _expected(e: BaseException) -> bool:
    """True for the failures a user can cause and fix: bad input (``ValueError``, covering
    ``CLIError``, corrupt files, run-directory and resume refusals and ``NonFiniteLossError``),
    I/O (``OSError``), missing keys, corrupt archives, unknown Gymnasium ids. Anything else is a
    bug and keeps its traceback."""
    import pickle
    import zipfile

    if isinstance(e, (ValueError, OSError, KeyError, EOFError, zipfile.BadZipFile,
                      pickle.UnpicklingError)):
        return True
    gym_error = getattr(sys.modules.get("gymnasium.error"), "Error", None)
    return gym_error is not None and isinstance(e, gym_error)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
