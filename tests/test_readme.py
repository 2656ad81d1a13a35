"""Every README example runs as written, at a small budget, so that none can break silently.

The README's code blocks are run in document order in one scratch directory (a copy of the
repository's tracked files, as a fresh clone has them): shell blocks line by line through
bash, Python blocks as scripts. Budgets are cut so the whole check takes a minute or two
(``--steps``, ``--timesteps``, ``--episodes`` and friends, ``steps=`` in Python); nothing else
in a command changes. Set-up steps (``python3 -m venv``, ``pip install``) use the environment
the check runs in, the test command itself is not rerun, and servers (``tensorboard``) are not
started.

Run it alone with ``python tests/test_readme.py`` (prints each command), or through pytest.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

#: Flag -> the small value it gets in the check.
SMALL_FLAGS = {"--steps": "30", "--favae-steps": "30", "--timesteps": "1500", "--episodes": "24",
               "--bc-epochs": "3", "--mig-samples": "500", "--tune-trials": "1"}
#: Commands whose defaults are a real budget -> the small flags the check adds when absent.
SMALL_DEFAULTS = {"macroact pipeline": ("--episodes", "--favae-steps", "--timesteps")}
#: Python keyword arguments -> small values.
SMALL_KWARGS = {"steps": "30", "timesteps": "1500"}


def code_blocks(text: str) -> list[tuple[str, str]]:
    """``(language, body)`` of every fenced code block, in order."""
    return [(m.group(1), m.group(2)) for m in
            re.finditer(r"^```(\w+)\n(.*?)^```", text, flags=re.S | re.M)]


def shrink_command(line: str, bin_dir: str) -> str | None:
    """A README shell line as the check runs it; None to skip it."""
    line = line.strip()
    if not line or line.startswith("#"):
        return None
    parts = [p.strip() for p in line.split("&&")]
    # Set-up belongs to the environment the check runs in; the test command is this check's
    # caller. Keep only what comes after them.
    parts = [p for p in parts if not re.match(r"(python3? -m venv|\S*pip install)", p)]
    if not parts or any("pytest" in p for p in parts):
        return None
    if parts[0].startswith(("tensorboard", ".venv/bin/tensorboard")):
        return None
    line = " && ".join(parts)
    for flag, value in SMALL_FLAGS.items():
        line = re.sub(rf"({re.escape(flag)}[ =])\d[\d_]*", rf"\g<1>{value}", line)
    for command, flags in SMALL_DEFAULTS.items():
        if re.search(rf"(^|/){command}\b", line):
            line += "".join(f" {f} {SMALL_FLAGS[f]}" for f in flags if f not in line)
    line = re.sub(r"(^|\s)\.venv/bin/", rf"\1{bin_dir}/", line)
    return line.replace("python ", f"{sys.executable} ", 1) if line.startswith("python ") else line


def shrink_python(code: str) -> str:
    for kw, value in SMALL_KWARGS.items():
        code = re.sub(rf"\b{kw}=\d[\d_]*", f"{kw}={value}", code)
    return code


def shell_lines(body: str) -> list[str]:
    """Lines of a shell block with backslash continuations joined."""
    return body.replace("\\\n", " ").splitlines()


def scratch_copy(dest: Path) -> Path:
    """The repository's tracked files (what a fresh clone holds) copied into ``dest``."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
    return dest


def run_readme(workdir: Path, echo: bool = False) -> list[str]:
    """Run every README block in ``workdir``; returns the commands run. Raises on a failure."""
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ, MPLBACKEND="Agg", PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    ran = []
    for lang, body in code_blocks(README.read_text()):
        if lang in ("bash", "sh", "shell"):
            for raw in shell_lines(body):
                cmd = shrink_command(raw, bin_dir)
                if cmd is None:
                    continue
                if echo:
                    print("$", cmd, flush=True)
                res = subprocess.run(["bash", "-c", f"set -euo pipefail; {cmd}"], cwd=workdir,
                                     env=env, capture_output=not echo, text=True)
                if res.returncode != 0:
                    raise AssertionError(f"README command failed ({res.returncode}): {raw.strip()}"
                                         f"\n{(res.stdout or '')[-2000:]}\n{(res.stderr or '')[-3000:]}")
                ran.append(cmd)
        elif lang == "python":
            code = shrink_python(body)
            if echo:
                print(">>> python block\n" + code, flush=True)
            res = subprocess.run([sys.executable, "-c", code], cwd=workdir, env=env,
                                 capture_output=not echo, text=True)
            if res.returncode != 0:
                raise AssertionError(f"README Python block failed:\n{body}\n"
                                     f"{(res.stderr or '')[-3000:]}")
            ran.append(code)
    return ran


def test_shrink_command_cuts_budgets_and_skips_setup():
    b = "venv-bin"
    assert shrink_command("python3 -m venv .venv && .venv/bin/pip install torch==2.13.0 -e . && "
                          ".venv/bin/macroact pipeline --timesteps 50000", b) == \
        "venv-bin/macroact pipeline --timesteps 1500 --episodes 24 --favae-steps 30"
    assert shrink_command("python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && "
                          ".venv/bin/python -m pytest", b) is None
    assert shrink_command(".venv/bin/macroact pipeline --out runs/p --timesteps 99", b) == \
        "venv-bin/macroact pipeline --out runs/p --timesteps 1500 --episodes 24 --favae-steps 30"
    assert shrink_command(".venv/bin/tensorboard --logdir runs", b) is None
    assert shrink_command("# a comment", b) is None
    assert shrink_command(".venv/bin/macroact train --steps 3000 --lr 1e-3", b) == \
        "venv-bin/macroact train --steps 30 --lr 1e-3"
    assert shrink_python("train(model, x, TrainConfig(steps=3000, seed=0))") == \
        "train(model, x, TrainConfig(steps=30, seed=0))"


def test_readme_has_the_two_commands_first():
    blocks = code_blocks(README.read_text())
    assert len(blocks) >= 2
    first, second = (shell_lines(b)[-1] for _, b in blocks[:2])
    assert "macroact pipeline" in first and "pytest" in second


@pytest.mark.slow
def test_every_readme_example_runs(tmp_path):
    ran = run_readme(scratch_copy(tmp_path))
    assert any("pipeline" in c for c in ran) and any("encode" in c for c in ran)


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        commands = run_readme(scratch_copy(Path(d)), echo=True)
    print(f"README check passed: {len(commands)} commands and blocks ran")
