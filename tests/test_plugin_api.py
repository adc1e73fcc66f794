"""`cxengine.api` is the whole surface a plugin may use, and plugins use nothing else.

Every public name resolves; importing the API (and the hook marker) costs no heavy
import; and no file of a plugin, under `plugins/` or `tests/plugins/`, imports a
cxengine module other than `cxengine.api`.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import cxengine.api as api

REPO = Path(__file__).resolve().parent.parent
#: Third-party code: each package under plugins/ (its code, benches and tools) and
#: the test plugins. A plugin's own tests drive the host as a user would and may use
#: its test helpers, so they are not held to the rule.
PLUGIN_FILES = sorted(
    p
    for p in [*(REPO / "plugins").rglob("*.py"), *(REPO / "tests" / "plugins").rglob("*.py")]
    if "tests" not in p.relative_to(REPO).parts[2:-1] and p.parent.name != "tests"
)
HEAVY = ("duckdb", "sqlglot", "pyarrow", "scipy", "pandas")


def private_imports(source: str) -> list[str]:
    """Return 'line: module' for each import of a cxengine module outside the API."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
            if node.module == "cxengine":
                # `from cxengine import api` is the API; anything else is not.
                modules = [f"cxengine.{a.name}" for a in node.names]
        else:
            continue
        for module in modules:
            if (
                module == "cxengine" or module.startswith("cxengine.")
            ) and module != "cxengine.api":
                found.append(f"{node.lineno}: {module}")
    return sorted(found, key=lambda f: int(f.split(":")[0]))


def test_the_checker_finds_private_imports() -> None:
    source = (
        "import cxengine\n"
        "import cxengine_nlp.kinds\n"
        "from cxengine import hookimpl\n"
        "from cxengine.api import Kind\n"
        "def f():\n"
        "    from cxengine.compute.engine import compute_spec\n"
        "from cxengine import api\n"
        "import cxengine.runner as r\n"
    )
    assert private_imports(source) == [
        "1: cxengine",
        "3: cxengine.hookimpl",
        "6: cxengine.compute.engine",
        "8: cxengine.runner",
    ]


def test_there_are_plugin_files_to_check() -> None:
    names = {p.name for p in PLUGIN_FILES}
    assert {"kinds.py", "report.py", "cxengine_open_items.py"} <= names
    assert not any(p.parent.name == "tests" for p in PLUGIN_FILES)


@pytest.mark.parametrize("path", PLUGIN_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_plugins_import_only_the_public_api(path: Path) -> None:
    assert private_imports(path.read_text(encoding="utf-8")) == []


def test_every_public_name_resolves() -> None:
    assert sorted(api.__all__) == sorted(api._WHERE)
    for name in api.__all__:
        assert getattr(api, name) is not None, name
    with pytest.raises(AttributeError, match="no name 'compute_spec'"):
        api.compute_spec  # noqa: B018


def test_the_api_and_the_hook_marker_import_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "from cxengine.api import hookimpl, __version__\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert out.stdout.strip() == ""
