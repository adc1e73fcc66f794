"""Generated documentation is current: docs/cli.md is what `cog -r docs/cli.md` writes.

The CLI reference is generated from the commands (cxengine/cli/reference.py) by cog,
as llm and sqlite-utils do; CI runs this test, so a changed option without a
regenerated reference fails the build.
"""

from __future__ import annotations

from pathlib import Path

from cogapp import Cog

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_the_cli_reference_is_up_to_date(capsys: object) -> None:
    # `cog --check` regenerates in memory and returns 5 when the file would change.
    status = Cog().main(["cog", "--check", str(DOCS / "cli.md")])
    assert status == 0, "docs/cli.md is out of date: run `cog -r docs/cli.md`"


def test_the_reference_covers_every_command() -> None:
    from cxengine.cli.app import COMMANDS

    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    for name in COMMANDS:
        assert f"## cxengine {name}\n" in text, name
    assert "## cxengine baseline save\n" in text
