"""The `cxengine` command line: a thin click layer over the library.

Each command parses options, calls one library function and formats the result.
Exit codes are a contract (see `cxengine.errors.ExitCode`): 0 ok, 1 a check failed,
2 usage error, 3 internal or plugin error.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from collections.abc import Sequence

import click

from cxengine.cli.app import CliState, cli
from cxengine.errors import CxError, ExitCode

__all__ = ["cli", "main"]


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command line and exit with cxengine's exit codes."""
    from cxengine import interrupts

    args = list(sys.argv[1:] if argv is None else argv)
    interrupts.install()
    try:
        # Plugins load when a command needs them (cxengine/cli/app.py).
        state = CliState(strict=True if "--strict-plugins" in args else None)
        code = cli.main(args=args, prog_name="cxengine", standalone_mode=False, obj=state)
    except click.exceptions.Abort as exc:
        # Click turns a KeyboardInterrupt (ours from SIGINT/SIGTERM too) into Abort.
        cause = exc.__cause__ or exc.__context__
        signum = getattr(cause, "signum", None) or interrupts.received()
        if signum is None and isinstance(cause, KeyboardInterrupt):
            signum = signal.SIGINT
        if signum is not None:
            click.echo(f"interrupted ({signal.Signals(signum).name})", err=True)
            code = interrupts.exit_code(signum)
        else:
            click.echo("Aborted.", err=True)
            code = ExitCode.INTERNAL
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        exc.show()
        code = ExitCode.USAGE
    except CxError as exc:  # raised outside a command (plugin loading); commands map their own
        click.echo(f"error: {exc}", err=True)
        code = exc.exit_code
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", None) or interrupts.received() or signal.SIGINT
        click.echo(f"interrupted ({signal.Signals(signum).name})", err=True)
        code = interrupts.exit_code(signum)
    except Exception as exc:  # anything else is our bug or a plugin's
        signum = interrupts.received()
        if signum is not None:
            # A signal that surfaced as another error (DuckDB: "Query interrupted").
            click.echo(f"interrupted ({signal.Signals(signum).name})", err=True)
            sys.exit(interrupts.exit_code(signum))
        if os.environ.get("CXENGINE_DEBUG"):
            traceback.print_exc()
        click.echo(
            f"internal error: {type(exc).__name__}: {exc}\n"
            "(set CXENGINE_DEBUG=1 to see the traceback)",
            err=True,
        )
        code = ExitCode.INTERNAL
    sys.exit(int(code or 0))
