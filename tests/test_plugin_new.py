"""`cxengine plugin new`: every type gives a package whose own tests pass as generated.

Each generated package is installed into a fresh virtual environment (with the
system's site-packages, so cxengine's dependencies are not downloaded again, and
this checkout of cxengine installed editable into it), and its tests are run there
by its own pytest, entry point and `cxengine.testing` fixtures included — as a plugin
author would after `pip install -e ".[test]"`.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_plugin_api import private_imports

from cxengine.cli import cli
from cxengine.plugin_new import TYPES, new_plugin

REPO = Path(__file__).resolve().parent.parent
READY = list(TYPES)


def _env() -> dict[str, str]:
    # The venv must see only what is installed in it (and the system site-packages),
    # not this checkout through the test run's PYTHONPATH.
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS")}


def _pip_install(python: Path, *args: str) -> None:
    # The venv has no pip of its own (creating one is slow); the system's pip, seen
    # through --system-site-packages, installs into the venv it runs in.
    proc = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", *args],
        capture_output=True, text=True, env=_env(), timeout=900, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def _see_site_packages_of_this_python(python: Path) -> None:
    target = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()  # fmt: skip
    dirs = [d for d in site.getsitepackages() if Path(d).is_dir()]
    # A .pth line starting with "import" runs: addsitedir also reads those folders' own
    # .pth files, as for any site directory (editable installs rely on them).
    lines = [f"import site; site.addsitedir({d!r})" for d in dirs]
    (Path(target) / "_cx_parent_site.pth").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    """A fresh venv with this checkout and one generated package per type installed."""
    root = tmp_path_factory.mktemp("plugin_new")
    env = root / "env"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(env)], check=True, timeout=300
    )  # fmt: skip
    python = env / "bin" / "python"
    # The packages of the Python running this test (pip, pytest, DuckDB, …) are seen by
    # the venv as site directories. --system-site-packages would show the *base*
    # interpreter's instead, which has none of them when CI itself runs in a venv.
    _see_site_packages_of_this_python(python)
    # One build backend for every package below, so pip sets up no isolated build
    # environment per package (the system's setuptools may be too old for PEP 639).
    _pip_install(python, "--no-deps", "setuptools>=77", "wheel")
    packages = {t: new_plugin(f"my-{t}", t, root / "packages").path for t in READY}
    editable = [arg for path in [REPO, *packages.values()] for arg in ("-e", str(path))]
    _pip_install(python, "--no-deps", "--no-build-isolation", *editable)
    return python, packages


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("plugin_type", READY)
def test_a_generated_package_passes_its_own_tests(
    installed: tuple[Path, dict[str, Path]], plugin_type: str
) -> None:
    python, packages = installed
    proc = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=packages[plugin_type], capture_output=True, text=True, env=_env(), timeout=900,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "skipped" not in proc.stdout


@pytest.mark.parametrize("plugin_type", READY)
def test_the_package_has_entry_point_readme_tests_and_ci(tmp_path: Path, plugin_type: str) -> None:
    made = new_plugin("acme-desk", plugin_type, tmp_path, description="Acme's desk")
    assert made.path == tmp_path / "cxengine-acme-desk"
    meta = tomllib.loads((made.path / "pyproject.toml").read_text(encoding="utf-8"))
    assert meta["project"]["name"] == "cxengine-acme-desk"
    assert meta["project"]["entry-points"]["cxengine"] == {"acme_desk": "cxengine_acme_desk.plugin"}
    assert {"README.md", ".github/workflows/ci.yml", "tests/test_plugin.py",
            "cxengine_acme_desk/plugin.py", ".copier-answers.yml"} <= set(made.files)  # fmt: skip
    package = made.path / "cxengine_acme_desk"
    plugin_code = (package / "plugin.py").read_text(encoding="utf-8")
    implementation = (package / f"{plugin_type}.py").read_text(encoding="utf-8")
    for name, code in (("plugin.py", plugin_code), (f"{plugin_type}.py", implementation)):
        compile(code, name, "exec")  # valid Python after rendering
        # A generated plugin starts on the public API only, as every plugin must.
        assert private_imports(code) == []
    # The entry point registers by name; the implementation is imported when used.
    assert "lazy(" in plugin_code and f'"cxengine_acme_desk.{plugin_type}:' in plugin_code
    assert "import pydantic" not in plugin_code and "sqlglot" not in plugin_code.split('"""')[-1]
    assert "Acme's desk" in plugin_code and "Acme's desk" in implementation
    assert "cxengine.testing" in (made.path / "tests" / "test_plugin.py").read_text("utf-8")


def test_the_engine_type_has_its_hook_and_template(tmp_path: Path) -> None:
    # Engines register through register_engines (issue 14); the engine template is a
    # DuckDB-file engine whose own tests need no server.
    from cxengine import hookspecs

    assert hasattr(hookspecs, "register_engines")
    result = CliRunner().invoke(
        cli, ["plugin", "new", "my-db", "--type", "engine", "-o", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    package = tmp_path / "cxengine-my-db" / "cxengine_my_db"
    code = (package / "plugin.py").read_text("utf-8")
    assert "def register_engines" in code and '"cxengine_my_db.engine:MyDbEngine"' in code
    assert 'name = "my_db"' in (package / "engine.py").read_text("utf-8")


def test_cli_writes_the_package_and_reports_it(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["plugin", "new", "my-helpdesk", "--type", "source", "-o", str(tmp_path), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["path"] == str(tmp_path / "cxengine-my-helpdesk")
    assert data["entry_point"] == "my_helpdesk" and data["type"] == "source"
    assert "cxengine_my_helpdesk/plugin.py" in data["files"]


@pytest.mark.parametrize("name", ["My_Helpdesk", "1desk", "desk-", "cxengine-desk", "a--b"])
def test_a_bad_name_is_a_usage_error(tmp_path: Path, name: str) -> None:
    result = CliRunner().invoke(
        cli, ["plugin", "new", name, "--type", "source", "-o", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "plugin name" in result.output
    assert not any(tmp_path.iterdir())


def test_an_existing_package_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "cxengine-desk").mkdir()
    (tmp_path / "cxengine-desk" / "mine.py").write_text("keep me", encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["plugin", "new", "desk", "--type", "kind", "-o", str(tmp_path)]
    )
    assert result.exit_code == 2 and "not empty" in result.output
    assert [p.name for p in (tmp_path / "cxengine-desk").iterdir()] == ["mine.py"]
