"""CI runs exactly the README's test command, and that command tests the NLP plugin too."""

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


def test_the_test_command_installs_and_tests_the_nlp_plugin() -> None:
    command = readme_test_command()
    assert '-e "plugins/cxengine-nlp[test]"' in command
    assert command.endswith("tests plugins/cxengine-nlp/tests")
