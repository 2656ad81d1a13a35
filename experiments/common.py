"""Helpers shared by the experiment scripts: machine description and result files."""

from __future__ import annotations

import os
import platform
import shlex
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> str:
    import torch

    gpu = f"GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else "no GPU"
    return (f"{platform.platform()}, {os.cpu_count()} CPU cores, {gpu}, "
            f"Python {platform.python_version()}, torch {torch.__version__}")


def command_line() -> str:
    script = Path(sys.argv[0]).resolve()
    try:
        script = script.relative_to(Path.cwd())
    except ValueError:
        pass
    return " ".join(["python", str(script)] + [shlex.quote(a) for a in sys.argv[1:]])


def write_result(name: str, text: str) -> Path:
    """Write ``experiments/results/<name>`` atomically and return its path."""
    from macroact.io import atomic_write_text

    path = RESULTS / name
    atomic_write_text(text, path)
    return path
