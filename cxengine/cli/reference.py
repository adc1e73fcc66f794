"""The command-line reference (docs/cli.md), generated from the commands themselves.

docs/cli.md holds a cog block that calls `cli_reference()`; `cog -r docs/cli.md`
rewrites it, and tests/test_docs_generated.py fails when the file is out of date.
"""

from __future__ import annotations

import click
from click.testing import CliRunner


def _commands(group: click.Group, ctx: click.Context) -> list[tuple[list[str], click.Command]]:
    out: list[tuple[list[str], click.Command]] = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        out.append(([name], command))
        if isinstance(command, click.Group):
            sub_ctx = click.Context(command, info_name=name, parent=ctx)
            out.extend(([name, *path], c) for path, c in _commands(command, sub_ctx))
    return out


def cli_reference() -> str:
    """Return Markdown with the `--help` of every built-in command (no installed plugin)."""
    from cxengine.cli.app import cli
    from cxengine.cli.options import CliState
    from cxengine.plugins import get_plugin_manager

    state = CliState(get_plugin_manager(load_entry_points=False))
    ctx = click.Context(cli, info_name="cxengine", obj=state)
    runner = CliRunner()
    parts = []
    for path, _ in [([], cli), *_commands(cli, ctx)]:
        result = runner.invoke(
            cli, [*path, "--help"], obj=state, prog_name="cxengine", terminal_width=88
        )
        assert result.exit_code == 0, result.output
        title = " ".join(["cxengine", *path])
        parts.append(f"## {title}\n\n```\n{result.output.rstrip()}\n```\n")
    return "\n".join(parts)
