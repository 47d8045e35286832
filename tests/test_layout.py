"""The tree's shape: no import cycles between files, small modules, a README that names real paths,
and every module importable on its own in a fresh interpreter."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("monitor", "notifiers")
MAX_LINES = 420  # "about 400": a module past this wants splitting


def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


def _top_level_imports(tree: ast.Module) -> list[ast.stmt]:
    """Imports that run when the module is imported (or that a type checker follows): module level,
    and inside module-level ``if``/``try`` blocks (``if TYPE_CHECKING:`` included). Imports inside
    functions run later and are how a module breaks a cycle on purpose, so they are left out."""
    found: list[ast.stmt] = []
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If | ast.Try):
            stack.extend(node.body)
            stack.extend(node.orelse)
            stack.extend(getattr(node, "finalbody", []))
            for handler in getattr(node, "handlers", []):
                stack.extend(handler.body)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        package = name if is_package else name.rpartition(".")[0]
        for node in _top_level_imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    origin = ".".join(base + ([node.module] if node.module else []))
                else:
                    origin = node.module or ""
                targets = [origin] + [f"{origin}.{alias.name}" for alias in node.names]
            for target in targets:
                if target in modules and target != name:
                    graph[name].add(target)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_cycle_finder_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_files():
    assert find_cycles(import_graph()) == []


def test_every_module_imports_alone_in_a_fresh_interpreter():
    """Each module imported first in its own interpreter: an order-dependent import (a cycle the
    AST check cannot see, a missing __init__) fails here."""
    names = sorted(n for n in _modules() if not n.endswith("__main__"))
    script = (
        "import importlib, subprocess, sys\n"
        "failed = []\n"
        f"for name in {names!r}:\n"
        "    r = subprocess.run([sys.executable, '-c', f'import {name}'], capture_output=True, text=True)\n"
        "    if r.returncode: failed.append((name, r.stderr.strip().splitlines()[-1:]))\n"
        "print(failed)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT,
                            timeout=600)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def test_modules_stay_small():
    big = {str(p.relative_to(ROOT)): n for p in _modules().values()
           if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert big == {}


def test_readme_module_table_matches_the_tree():
    """Every path in README's module table exists, and every package (wing) is in the table."""
    readme = (ROOT / "README.md").read_text()
    table = readme.split("| module | what it is |", 1)[1].split("\n\n", 1)[0]
    named = {p for p in re.findall(r"`([\w/.]+)`", table) if p.startswith(("monitor/", "notifiers/", "plugins/"))}
    for path in named:
        assert (ROOT / path).exists(), f"README names {path}, which is not in the tree"
    wings = {str(p.parent.relative_to(ROOT)) + "/" for p in ROOT.glob("monitor/**/__init__.py")}
    wings |= {"notifiers/", "plugins/"}
    missing = sorted(w for w in wings if w not in named and w.rstrip("/") != "monitor")
    assert missing == [], f"README's module table does not name {missing}"


def test_plugin_example_and_guide_use_only_the_public_surface():
    import monitor

    sources = {"plugins/ntfy.py": (ROOT / "plugins" / "ntfy.py").read_text()}
    guide = (ROOT / "docs" / "plugins.md").read_text()
    sources["docs/plugins.md"] = "\n".join(re.findall(r"```python\n(.*?)```", guide, re.S))
    for where, text in sources.items():
        imports = re.findall(r"^\s*from (monitor[\w.]*) import ([\w, ]+)", text, re.M)
        imports += [(m, "") for m in re.findall(r"^\s*import (monitor[\w.]*)", text, re.M)]
        assert imports, where
        for module, names in imports:
            assert module == "monitor", f"{where} imports from {module}, not the public surface"
            for name in filter(None, (n.strip() for n in names.split(","))):
                assert name in monitor.__all__, f"{where}: {name} is not exported by monitor"
                assert getattr(monitor, name) is not None
