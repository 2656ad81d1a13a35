"""Files that survive a crash: atomic writes, and the library versions saved with them.

Every file the package writes (models, checkpoints, run records, data sets) goes through
``atomic_write``: a temporary file beside the target, flushed and renamed over it, so a crash
leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO, Any, Callable

import numpy as np
import torch


def _umask() -> int:
    """The process's umask (read by setting and restoring it: there is no getter)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, write: Callable[[IO], None], mode: str = "wb") -> Path:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it onto ``path``.

    A crash mid-write leaves the previous file intact and no partial file behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file 0600; give it the mode an ordinary open() would (the umask's).
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save`` through ``atomic_write``."""
    atomic_write(path, lambda f: torch.save(obj, f))


def atomic_write_text(text: str, path: str | os.PathLike) -> None:
    """Write ``text`` to ``path`` through ``atomic_write``."""
    atomic_write(path, lambda f: f.write(text), mode="w")


def versions() -> dict[str, str]:
    """Versions of the libraries that a saved model depends on."""
    from macroact._version import __version__

    return {"macroact": str(__version__), "torch": str(torch.__version__), "numpy": str(np.__version__)}




def check_output_file(path: str | os.PathLike, what: str = "--out") -> Path:
    """Check, before the work that produces it, that a file can be written at ``path``.

    Raises ``ValueError`` if ``path`` is a directory or lies under a file, ``PermissionError``
    if its folder (or the nearest existing one above) is not writable.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{what} {str(path)!r} is a directory; give a file name")
    probe = path.parent
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir():
        raise ValueError(f"{what} {str(path)!r} cannot be created: {str(probe)!r} is a file")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise PermissionError(f"{what} {str(path)!r} cannot be written: no write permission in "
                              f"{str(probe)!r}")
    return path


class CorruptFileError(ValueError):
    """A file the package reads is damaged, truncated, or not of the expected kind."""


def write_json(obj: Any, path: str | os.PathLike) -> None:
    """Write ``obj`` as indented JSON through ``atomic_write``; NaN and inf are refused.

    JSON has no NaN or Infinity (``json.dumps`` would write the non-standard tokens), so a
    non-finite number is a ``ValueError`` naming the file, and nothing is written.
    """
    import json

    try:
        text = json.dumps(obj, indent=2, allow_nan=False)
    except ValueError:
        raise ValueError(f"refusing to write {str(path)!r}: it would hold a NaN or infinite "
                         "number, which JSON cannot represent") from None
    atomic_write_text(text, path)


def read_json(path: str | os.PathLike, what: str = "JSON file") -> Any:
    """Parse a JSON file; a damaged one is a ``CorruptFileError`` naming it."""
    import json

    path = Path(path)
    try:
        text = path.read_text()
        return json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CorruptFileError(f"{what} {str(path)!r} is not valid JSON ({e}); the file is "
                               "damaged or was not written by macroact") from None


def torch_load(path: str | os.PathLike, what: str = "file", map_location: Any = "cpu") -> Any:
    """``torch.load(path, weights_only=True)``; a damaged file is a ``CorruptFileError``.

    Nothing is unpickled beyond tensors, plain containers, strings and numbers.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no {what} at {str(path)!r}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except (PermissionError, IsADirectoryError, FileNotFoundError):
        raise
    except Exception as e:  # torch raises RuntimeError, UnpicklingError, EOFError, OSError here
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CorruptFileError(f"{what} {str(path)!r} cannot be read ({reason[:200]}); it is "
                               "truncated, damaged or not a file written by macroact") from None


def read_npz(path: str | os.PathLike, what: str = "data file") -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` (read with ``allow_pickle=False``), loaded at once.

    A damaged, truncated or non-``.npz`` file is a ``CorruptFileError`` naming it.
    """
    import zipfile
    import zlib

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} {str(path)!r} does not exist")
    try:
        f = np.load(path, allow_pickle=False)
        if not isinstance(f, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single array, not named arrays")
        with f:
            return {name: f[name] for name in f.files}
    except OSError as e:
        if isinstance(e, (PermissionError, IsADirectoryError)):
            raise
        reason = str(e)
    except (ValueError, EOFError, zipfile.BadZipFile, zlib.error, KeyError, RuntimeError) as e:
        reason = str(e)
    raise CorruptFileError(f"{what} {str(path)!r} is not a readable .npz ({reason[:200]}); it is "
                           "truncated, damaged or of another kind")
