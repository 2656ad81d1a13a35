"""Run directories that belong to one run at a time.

A run directory (``macroact train --out DIR``) holds ``run.json``, ``checkpoint.pt``,
``model.pt``, ``metrics.json`` and ``tb/``. While a run writes into it, it holds an exclusive
lock on ``DIR/.lock`` (``fcntl.flock``: the kernel releases it when the process ends, even on
SIGKILL, so a killed run never leaves a stale lock). Opening a directory for a run:

* refuses a directory locked by another run (two trainings into one directory: one is
  refused, never both silently mixed);
* refuses a directory that holds another run unless the run is resumed (``resume=True``) or
  replaced (``overwrite=True``, which removes the old run's files first, so the directory never
  holds ``run.json`` of one run with the weights of another);
* removes leftovers of interrupted atomic writes (``.NAME.XXXX.tmp``, see ``macroact.io``).

Example:
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> with RunDir(d):
    ...     with RunDir(d):
    ...         pass
    Traceback (most recent call last):
    ...
    macroact.rundir.RunDirError: ... is in use by another run (process ...); wait for it to end or choose another --out
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

LOCK_NAME = ".lock"
#: Files whose presence makes a directory hold a run.
RUN_FILES = ("run.json", "checkpoint.pt", "model.pt")
#: What ``overwrite`` removes: the run's files and its logs.
OWNED = RUN_FILES + ("metrics.json",)
OWNED_DIRS = ("tb",)


class RunDirError(ValueError):
    """A run directory cannot be used as asked (in use, holds another run, not writable)."""


def holds_run(path: str | os.PathLike) -> bool:
    """True if ``path`` is a directory with a run's files in it."""
    path = Path(path)
    return path.is_dir() and any((path / name).exists() for name in RUN_FILES)


def _writable_parent(path: Path) -> None:
    """Raise unless ``path`` (or the nearest existing folder above it) is a writable folder."""
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise RunDirError(f"cannot create {str(path)!r}: {str(probe)!r} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise RunDirError(f"cannot write into {str(probe)!r} (permission denied); choose a --out "
                          "in a folder you can write")


def check_out_dir(path: str | os.PathLike, resume: bool = False, overwrite: bool = False) -> Path:
    """Check, before any work, that a run may write into ``path``; return it as a ``Path``.

    Raises:
        RunDirError: ``path`` is a file, is not writable, holds another run (without
            ``resume`` or ``overwrite``), or both flags are given.
        FileNotFoundError: ``resume`` without a run and checkpoint in ``path``.
    """
    path = Path(path)
    if resume and overwrite:
        raise RunDirError("give either --resume (continue the run) or --overwrite (replace it), "
                          "not both")
    if path.exists() and not path.is_dir():
        raise RunDirError(f"--out {str(path)!r} is a file; a run needs a directory")
    _writable_parent(path)
    if resume:
        missing = [name for name in ("run.json", "checkpoint.pt") if not (path / name).is_file()]
        if missing:
            raise FileNotFoundError(f"cannot resume: no checkpoint at {str(path / 'checkpoint.pt')!r}"
                                    f" ({' and '.join(missing)} missing); start the run without "
                                    "--resume")
    elif holds_run(path) and not overwrite:
        raise RunDirError(f"{str(path)!r} already holds a run; pass --resume to continue it, "
                          "--overwrite to replace it, or choose another --out")
    return path


def clean_leftovers(path: str | os.PathLike) -> list[Path]:
    """Remove the temporary files of interrupted atomic writes in ``path``; return them.

    Call only while holding the directory's lock: another writer's temporary file is not a
    leftover.
    """
    removed = []
    for tmp in Path(path).glob(".*.tmp"):
        if tmp.is_file():
            tmp.unlink()
            removed.append(tmp)
    return removed


class RunDir:
    """Hold ``path`` for one run: lock it, check it, clean it (a context manager).

    Args:
        path: the run directory (created).
        resume: the run continues the one in ``path``.
        overwrite: the run replaces the one in ``path`` (its files are removed on entry).
    """

    def __init__(self, path: str | os.PathLike, resume: bool = False, overwrite: bool = False):
        self.path = Path(path)
        self.resume = resume
        self.overwrite = overwrite
        self._fd: int | None = None
        self.cleaned: list[Path] = []

    def acquire(self) -> "RunDir":
        import fcntl

        check_out_dir(self.path, self.resume, self.overwrite)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as e:
            raise RunDirError(f"cannot use {str(self.path)!r} as a run directory: "
                              f"{e.strerror or e}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            try:
                owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            finally:
                os.close(fd)
            raise RunDirError(f"{str(self.path)!r} is in use by another run (process {owner}); "
                              "wait for it to end or choose another --out") from None
        self._fd = fd
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            # Checked again under the lock: another run may have started in between.
            check_out_dir(self.path, self.resume, self.overwrite)
            self.cleaned = clean_leftovers(self.path)
            if self.overwrite:
                self._clear()
        except BaseException:
            self.release()
            raise
        return self

    def _clear(self) -> None:
        # run.json first: from then on the directory no longer claims to hold the old run.
        for name in OWNED:
            p = self.path / name
            if p.exists():
                p.unlink()
        for name in OWNED_DIRS:
            shutil.rmtree(self.path / name, ignore_errors=True)

    def release(self) -> None:
        if self._fd is not None:
            import fcntl

            try:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> "RunDir":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
