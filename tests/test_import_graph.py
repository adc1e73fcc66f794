"""cxengine's modules import each other without a loop, and the CLI starts light.

A loop between modules (engine ↔ completion, app ↔ command modules) means neither can
be understood, tested or loaded alone. This reads every import of every module of
the package, at the top or inside a function (a function-level import is a loop
too, only deferred), and fails on any cycle. Imports under `if TYPE_CHECKING:` are
annotations, never run, and do not count.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "cxengine"
HEAVY = ("duckdb", "sqlglot", "pyarrow", "scipy", "pandas", "sqlite_utils")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.AST, here: str, is_package: bool) -> set[str]:
    out: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            out.add(module)
            # `from cxengine.compute import engine` imports the module engine.
            out.update(f"{module}.{a.name}" for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return out


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Map each module of the package to the modules of the package it imports."""
    paths = {module_name(p): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        found = _imports(ast.parse(path.read_text(encoding="utf-8")), name, path.stem == "__init__")
        # Importing a.b.c runs a/__init__ and a/b/__init__ too, but a package's
        # __init__ importing its own submodules is not a loop of ours to report.
        graph[name] = {m for m in found if m in paths and m != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return the strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return out


def test_the_checker_finds_a_loop_through_a_function_level_import(tmp_path: Path) -> None:
    pkg = tmp_path / "cxengine"
    (pkg / "compute").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "compute" / "__init__.py").write_text("")
    (pkg / "compute" / "engine.py").write_text("from cxengine.compute import pooled\n")
    (pkg / "compute" / "pooled.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from cxengine.compute.values import X\n"
        "def f():\n    from .engine import g\n"
    )
    (pkg / "compute" / "values.py").write_text("from cxengine.compute.pooled import f\n")
    global REPO
    saved, REPO = REPO, tmp_path
    try:
        graph = import_graph(pkg)
    finally:
        REPO = saved
    assert cycles(graph) == [["cxengine.compute.engine", "cxengine.compute.pooled"]]


def test_cxengine_has_no_import_loop() -> None:
    assert cycles(import_graph()) == []


def _loaded_after(*args: str) -> set[str]:
    """Run the CLI in a fresh interpreter; return the top-level modules it imported."""
    code = (
        "import sys\n"
        "from cxengine.cli import main\n"
        "try:\n"
        f"    main({list(args)!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(' '.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    return set(out.stderr.strip().splitlines()[-1].split())


@pytest.mark.parametrize(
    "args",
    [("--version",), ("--help",), ("init", "--help"), ("metrics", "--help"), ("run", "--help")],
    ids=" ".join,
)
def test_help_and_version_import_nothing_heavy(args: tuple[str, ...]) -> None:
    loaded = _loaded_after(*args)
    assert {m for m in loaded if m.split(".")[0] in HEAVY} == set()
    # No kind, source or reporter module: the registry is not built for help.
    assert not [m for m in loaded if m.startswith("cxengine.default_plugins.")]


def test_version_and_builtin_help_load_no_plugin_entry_point() -> None:
    for args in (("--version",), ("init", "--help")):
        loaded = _loaded_after(*args)
        assert "cxengine.plugins" not in loaded, args
        assert not [m for m in loaded if m.startswith("cxengine_nlp")], args
