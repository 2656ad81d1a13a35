"""The package's import graph: no cycles, a cheap ``import macroact``, a lazy public API."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import macroact


def _modules() -> dict[str, Path]:
    """Every module of the package (envs and agents included) -> its source file."""
    found = {"macroact": Path(macroact.__file__)}
    for pkg_name in ("macroact", "macroact.envs", "macroact.agents"):
        pkg = importlib.import_module(pkg_name)
        found[pkg_name] = Path(pkg.__file__)
        for info in pkgutil.walk_packages(pkg.__path__, prefix=pkg_name + "."):
            spec = importlib.util.find_spec(info.name)
            found[info.name] = Path(spec.origin)
    return found


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that ``name`` imports anywhere in its source (functions too)."""
    is_pkg = path.name == "__init__.py"
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name if is_pkg else name.rpartition(".")[0]
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                mod = f"{base}.{node.module}" if node.module else base
            else:
                mod = node.module or ""
            # ``from pkg import sub`` imports the submodule when there is one
            targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in known else mod for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_import_graph_has_no_cycles():
    modules = _modules()
    known = set(modules)
    # A package's __init__ importing its own submodules is how packages work; an edge from a
    # submodule back to its package __init__ is what would close a loop, and stays counted.
    graph = {name: {t for t in _imports(name, path, known)
                    if not (path.name == "__init__.py" and t.startswith(name + "."))}
             for name, path in modules.items()}
    assert len(modules) > 25
    assert _cycle(graph) is None, f"import cycle: {' -> '.join(_cycle(graph))}"


def test_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_base_class_does_not_import_its_subclasses():
    modules = _modules()
    deps = _imports("macroact.models.base", modules["macroact.models.base"], set(modules))
    assert not deps & {"macroact.models.favae", "macroact.models.framed", "macroact.models.dsae",
                       "macroact.models.fhvae", "macroact.models"}


def test_import_is_cheap_and_public_names_resolve():
    code = ("import sys, macroact; heavy = [m for m in ('torch', 'stable_baselines3') "
            "if m in sys.modules]; print(heavy); macroact.FAVAE; macroact.MacroActionWrapper; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["[]", "True"]


@pytest.mark.parametrize("name", macroact.__all__)
def test_every_public_name_resolves(name):
    assert getattr(macroact, name) is not None
    assert name in dir(macroact)


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        macroact.Nope  # noqa: B018
