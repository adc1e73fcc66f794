"""CI runs exactly the README's test command, and that command tests the plugins too."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def readme_test_command() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    intro = readme.index("Install and run every test")
    block = re.search(r"```sh\n(.+?)\n```", readme[intro:], re.S)
    assert block, "README has no test command block after 'Install and run every test'"
    return block.group(1).strip()


def test_ci_script_runs_exactly_the_readme_test_command() -> None:
    script = (REPO / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert script[-1] == readme_test_command()


PLUGINS = ("cxengine-nlp", "cxengine-exports")


def test_the_test_command_installs_and_tests_every_plugin_package() -> None:
    command = readme_test_command()
    install, run = command.split(" && ")
    for package in PLUGINS:
        assert f'-e "plugins/{package}[test]"' in install
        assert f" plugins/{package}/tests" in run
    assert {p.name for p in (REPO / "plugins").iterdir() if p.is_dir()} == set(PLUGINS)


def test_the_two_test_trees_share_no_module_name() -> None:
    # One pytest run collects both trees without packages: a test module name used in
    # both would be an 'import file mismatch' error (conftest.py is handled by pytest).
    seen: dict[str, str] = {}
    for tree in [REPO / "tests", *(REPO / "plugins" / p / "tests" for p in PLUGINS)]:
        for path in tree.glob("test_*.py"):
            assert path.name not in seen, f"{path.name} is in {seen[path.name]} and {tree}"
            seen[path.name] = str(tree)
