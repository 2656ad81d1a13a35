"""Reports of experiments: results files, run logs, learning curves and Markdown tables.

The experiment scripts in ``experiments/`` are drivers: they train through the library and
write their tables with these helpers.

- **Results files** (``write_result``): Markdown written atomically; text between the markers
  ``<!-- notes -->`` and ``<!-- /notes -->`` is hand-written and survives regeneration (the
  script emits an empty notes block, ``notes_block()``, where such notes belong).
  ``command_line`` and ``machine`` give the command and machine lines that every results file
  starts with.
- **Run logs** (``RunLog``): one JSONL file per table, one JSON record per finished run,
  keyed by ``record["key"]``; a record written again later replaces the earlier one.
- **Learning curves** of RL runs (``rolling_success``, ``on_grid``, ``first_crossing``,
  ``aggregate_curves``, ``summarise_runs``, ``plot_success_curves``) over the per-episode rows
  that ``macroact.agents.ppo.train_ppo`` writes to ``episodes.csv``.
  ``first_crossing`` returns NaN (never None) when a curve does not cross, so results stay
  floats that NumPy can average and test with ``np.isnan``.
- **Intervals**: ``t_interval`` (over seeds) and ``bootstrap_interval`` (over episodes).
- **Tables**: ``markdown_table``.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shlex
import sys
import warnings
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

__all__ = ["NOTES_BEGIN", "NOTES_END", "RunLog", "aggregate_curves", "command_line",
           "first_crossing", "keep_notes", "load_episodes", "machine", "machines",
           "markdown_table", "notes_block", "t_interval", "bootstrap_interval", "on_grid", "plot_success_curves", "rolling_success",
           "save_figure", "summarise_runs", "write_result"]

#: Training episodes in a rolling success rate.
WINDOW = 100
NOTES_BEGIN = "<!-- notes -->"
NOTES_END = "<!-- /notes -->"
_NOTES = re.compile(re.escape(NOTES_BEGIN) + r"(.*?)" + re.escape(NOTES_END), re.S)


# --------------------------------------------------------------------------- results files
def machine() -> str:
    """One line describing this machine: platform, cores and the vector instructions torch's
    CPU kernels use (results need not match bit for bit across these), GPU, Python and torch
    versions."""
    import torch

    gpu = f"GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else "no GPU"
    return (f"{platform.platform()}, {os.cpu_count()} CPU cores "
            f"({torch.backends.cpu.get_cpu_capability()}), {gpu}, "
            f"Python {platform.python_version()}, torch {torch.__version__}")


def machines(records: Iterable[dict[str, Any]]) -> str:
    """The machines that ran ``records`` (their ``"machine"`` field), distinct, joined by "; ".

    A report rebuilt from a run log names where the runs ran, not where it was rebuilt; a
    record without the field counts as run here (``machine()``).
    """
    seen: dict[str, None] = {}
    for r in records:
        seen.setdefault(r.get("machine") or machine())
    return "; ".join(seen) or machine()


def command_line(argv: Sequence[str] | None = None) -> str:
    """The command that runs this process, as a user would type it from the working directory.

    Example:
        >>> command_line(["experiments/x.py", "--seeds", "0 1"])
        "python experiments/x.py --seeds '0 1'"
    """
    argv = list(sys.argv if argv is None else argv)
    script = Path(argv[0]).resolve()
    try:
        script = script.relative_to(Path.cwd())
    except ValueError:
        pass
    return " ".join(["python", str(script)] + [shlex.quote(a) for a in argv[1:]])


def notes_block(text: str = "") -> str:
    """An empty (or pre-filled) block of hand-written notes for a generated results file."""
    return f"{NOTES_BEGIN}\n{text.strip()}{chr(10) if text.strip() else ''}{NOTES_END}"


def keep_notes(new: str, old: str | None) -> str:
    """``new`` with the content of each notes block taken from ``old`` (matched in order).

    Notes in ``old`` beyond the blocks ``new`` has are appended at its end in a block of their
    own, so nothing typed by hand is lost when a script drops a block.

    Example:
        >>> old = "# T\\n<!-- notes -->\\nmy note\\n<!-- /notes -->\\nold body\\n"
        >>> print(keep_notes("# T\\n<!-- notes -->\\n<!-- /notes -->\\nnew body\\n", old), end="")
        # T
        <!-- notes -->
        my note
        <!-- /notes -->
        new body
    """
    if not old:
        return new
    kept = [m.group(1) for m in _NOTES.finditer(old)]
    slots = iter(kept)
    out = _NOTES.sub(lambda m: NOTES_BEGIN + next(slots, m.group(1)) + NOTES_END, new)
    n_new = len(_NOTES.findall(new))
    for extra in kept[n_new:]:
        if extra.strip():
            out = out.rstrip("\n") + "\n\n" + NOTES_BEGIN + extra + NOTES_END + "\n"
    return out


def write_result(path: str | os.PathLike, text: str) -> Path:
    """Write a results file atomically, keeping the hand-written notes of the file it replaces."""
    from macroact.io import atomic_write_text

    path = Path(path)
    old = path.read_text() if path.is_file() else None
    atomic_write_text(keep_notes(text, old), path)
    return path


def save_figure(fig, path: str | os.PathLike, **kwargs) -> Path:
    """Save a Matplotlib figure as PNG atomically and close it."""
    import matplotlib.pyplot as plt

    from macroact.io import atomic_write

    path = Path(path)
    atomic_write(path, lambda f: fig.savefig(f, format="png", **kwargs))
    plt.close(fig)
    return path


def commands_sentence(commands: Sequence[str], log_name: str) -> str:
    """A report's opening line: the command(s) that made its records, in order, and the run
    log ``log_name`` it rebuilds from (``--report-only``)."""
    return (("Command" if len(commands) == 1 else "Commands, in the order their records were "
             "made") + ": " + "; ".join(f"`{c}`" for c in commands)
            + f" (records: {log_name}; `--report-only` rebuilds this file).")


def replay_agents_main(argv: Sequence[str] | None, description: str, log_path: Path,
                       report_path: Path, run_agent, build_report, what: str,
                       train_hint: str) -> int:
    """The command line of a script that replays saved agent directories and reports on them
    (experiments/gripper_failures.py, reacher_failures.py): ``AGENT_DIR ...`` replays each
    with ``run_agent(dir, episodes)`` into the run log at ``log_path``, ``--report-only``
    rebuilds ``report_path`` from that log with ``build_report(records, commands)``.

    ``what``: the agents in words (the help text); ``train_hint``: the command that trains
    them, named when a directory has no agent.json.
    """
    import argparse

    p = argparse.ArgumentParser(description=description,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("agent_dirs", nargs="*", type=Path, help=f"saved {what}")
    p.add_argument("--episodes", type=int, default=100, help="eval episodes per agent")
    p.add_argument("--report-only", action="store_true", help="rebuild the report from records")
    args = p.parse_args(argv)
    if args.episodes < 1:
        raise SystemExit(f"--episodes must be >= 1, got {args.episodes}")
    if not args.report_only and not args.agent_dirs:
        raise SystemExit("give one or more agent directories, or --report-only")
    missing = [str(d) for d in args.agent_dirs if not (d / "agent.json").is_file()]
    if missing:
        raise SystemExit(f"not agent directories (no agent.json): {missing}; train them with "
                         f"{train_hint}")
    log = RunLog(log_path)
    for d in args.agent_dirs:
        rec = run_agent(d, args.episodes)
        rec.update(command=command_line(), machine=machine())
        log.put(rec)
        print(f"{d.name}: success {rec['success_rate']:.2f} (recorded "
              f"{rec['recorded_success_rate']})", flush=True)
    records = log.records()
    if not records:
        raise SystemExit(f"no records in {log.path}; run with agent directories first")
    commands = list(dict.fromkeys(r["command"] for r in records))
    out = write_result(report_path, build_report(records, commands))
    print(f"wrote {out}")
    return 0


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    """Lines of a Markdown table: the header, its rule and one line per row.

    Example:
        >>> print("\\n".join(markdown_table(["a", "b"], [[1, "x"]])))
        | a | b |
        |---|---|
        | 1 | x |
    """
    return (["| " + " | ".join(map(str, header)) + " |", "|" + "---|" * len(header)]
            + ["| " + " | ".join(map(str, row)) + " |" for row in rows])


# --------------------------------------------------------------------------- run logs
class RunLog:
    """One JSONL file of run records, each a dict with a unique ``"key"``.

    ``put`` appends a line (flushed to disk), so a sweep cut short keeps every finished run;
    a key written twice keeps its last record. A torn last line (a crash mid-write) is skipped
    with a warning.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def records(self) -> list[dict[str, Any]]:
        """Every run's latest record, in the order their keys first appear in the file."""
        out: dict[str, dict[str, Any]] = {}
        for rec in self._read():
            out[rec["key"]] = rec
        return list(out.values())

    def _read(self) -> Iterator[dict[str, Any]]:
        if not self.path.is_file():
            return
        lines = self.path.read_text().splitlines()
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                if i == len(lines) - 1:
                    warnings.warn(f"{self.path}: skipping a torn last line (a run cut short)")
                    continue
                raise ValueError(f"{self.path}, line {i + 1}: not JSON") from None
            if "key" not in rec:
                raise ValueError(f"{self.path}, line {i + 1}: a run record needs a 'key'")
            yield rec

    def get(self, key: str) -> dict[str, Any] | None:
        return next((r for r in reversed(list(self._read())) if r["key"] == key), None)

    def keys(self) -> set[str]:
        return {r["key"] for r in self._read()}

    def put(self, record: dict[str, Any]) -> dict[str, Any]:
        """Append ``record`` (it needs a ``"key"``) and return it."""
        if "key" not in record:
            raise ValueError("a run record needs a 'key'")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()
            os.fsync(f.fileno())
        return record

    def compact(self) -> None:
        """Rewrite the file with one line per key (the latest), atomically."""
        from macroact.io import atomic_write_text

        atomic_write_text("".join(json.dumps(r) + "\n" for r in self.records()), self.path)


# --------------------------------------------------------------------------- learning curves
def load_episodes(path: str | os.PathLike) -> np.ndarray:
    """The rows of an ``episodes.csv`` (primitive steps, success, return, macro length), ``(E, 4)``."""
    rows = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    return rows.reshape(-1, 4) if rows.size == 0 else rows


def rolling_success(rows: np.ndarray, window: int = WINDOW) -> tuple[np.ndarray, np.ndarray]:
    """Rolling success rate over the last ``window`` training episodes, at each episode's end.

    Args:
        rows: ``(E, >=2)`` per finished training episode: primitive steps at its end, success.
        window: episodes in the rolling mean (fewer at the start).

    Returns:
        ``(steps (E,), rate (E,))``.
    """
    rows = np.asarray(rows, dtype=np.float64).reshape(-1, max(2, np.shape(rows)[-1] if len(rows) else 2))
    if len(rows) == 0:
        return np.zeros(0), np.zeros(0)
    steps, success = rows[:, 0], rows[:, 1]
    c = np.concatenate([[0.0], np.cumsum(success)])
    i = np.arange(1, len(success) + 1)
    lo = np.maximum(0, i - window)
    return steps, (c[i] - c[lo]) / (i - lo)


def on_grid(steps: np.ndarray, values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """The last value reported at or before each grid step (NaN before the first report)."""
    idx = np.searchsorted(steps, grid, side="right") - 1
    out = np.full(len(grid), np.nan)
    ok = idx >= 0
    out[ok] = np.asarray(values)[idx[ok]]
    return out


def first_crossing(rows: np.ndarray, threshold: float, window: int = WINDOW) -> float:
    """Primitive steps at which the rolling success over a full ``window`` first reaches
    ``threshold``; NaN if it never does (or there are fewer than ``window`` episodes)."""
    steps, rate = rolling_success(rows, window)
    full = np.arange(len(rate)) >= window - 1
    hit = np.flatnonzero(full & (rate >= threshold))
    return float(steps[hit[0]]) if len(hit) else float("nan")


def aggregate_curves(curves: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Mean, min and max over seeds of curves on a common grid (NaNs ignored)."""
    a = np.vstack(curves)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return {"mean": np.nanmean(a, 0), "min": np.nanmin(a, 0), "max": np.nanmax(a, 0)}


def summarise_runs(group: list[dict[str, Any]], thresholds=(0.8, 0.9),
                   window: int = WINDOW) -> dict[str, Any]:
    """Seed statistics of a group of finished RL runs.

    Each run is a dict with ``"seed"``, ``"eval"`` (its ``eval.json``: ``success_rate``,
    ``wall_seconds``, optionally ``final_train_success``) and ``"rows"`` (``load_episodes``).
    ``reach<P>`` lists each seed's ``first_crossing`` of ``P``%; ``reach<P>_mean`` is their
    mean, NaN unless every seed crossed.
    """
    ev = np.array([r["eval"]["success_rate"] for r in group])
    train = np.array([r["eval"].get("final_train_success", np.nan) for r in group])
    out = {"seeds": [r["seed"] for r in group], "eval_mean": float(ev.mean()),
           "eval_std": float(ev.std()), "eval_min": float(ev.min()), "eval_max": float(ev.max()),
           "train_mean": float(np.nanmean(train)) if np.isfinite(train).any() else float("nan"),
           "wall_mean": float(np.mean([r["eval"]["wall_seconds"] for r in group]))}
    for thr in thresholds:
        hits = [first_crossing(r["rows"], thr, window) for r in group]
        out[f"reach{int(thr * 100)}"] = hits
        out[f"reach{int(thr * 100)}_mean"] = float(np.mean(hits))  # NaN if one seed missed
    return out


#: Two-sided 97.5% quantiles of Student's t by degrees of freedom (1-10; 1.96 beyond).
_T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
         9: 2.262, 10: 2.228}


def t_interval(values: Sequence[float], low: float = 0.0,
               high: float = 1.0) -> tuple[float, float, float]:
    """Mean and 95% Student-t interval of per-seed values, clipped to ``[low, high]``.

    ``(mean, nan, nan)`` for fewer than two values::

        >>> [round(v, 3) for v in t_interval([0.5, 0.7, 0.6])]
        [0.6, 0.352, 0.848]
    """
    v = np.asarray(values, dtype=np.float64)
    m = float(v.mean())
    if len(v) < 2:
        return m, float("nan"), float("nan")
    half = _T975.get(len(v) - 1, 1.96) * float(v.std(ddof=1)) / np.sqrt(len(v))
    return m, float(max(low, m - half)), float(min(high, m + half))


def bootstrap_interval(successes: Sequence[float], resamples: int = 10_000,
                       seed: int = 0) -> tuple[float, float, float]:
    """Mean and 95% percentile-bootstrap interval of per-episode outcomes (seeded)."""
    x = np.asarray(successes, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), size=(resamples, len(x)))].mean(axis=1)
    return float(x.mean()), float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def plot_success_curves(series: dict[str, tuple[list[np.ndarray], str | None]], budget: float,
                        path: str | os.PathLike, title: str, window: int = WINDOW) -> Path:
    """Rolling training success against primitive steps, one line per series.

    ``series`` maps a legend label to (the episode rows of its seeds, a colour or None); each
    line is the mean over seeds on a 201-point grid up to ``budget``, with the min-max band.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = np.linspace(0, budget, 201)
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for label, (rows, colour) in series.items():
        agg = aggregate_curves([on_grid(*rolling_success(r, window), grid) for r in rows])
        ax.plot(grid, agg["mean"], color=colour, label=label)
        ax.fill_between(grid, agg["min"], agg["max"], color=colour, alpha=0.15)
    ax.set_xlabel("primitive env steps")
    ax.set_ylabel(f"training success (rolling {window} episodes)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)
