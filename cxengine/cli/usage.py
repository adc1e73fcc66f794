"""Usage checks shared by commands: a mistyped option value is exit 2 with a hint.

Click reports its own usage errors with exit 2; values it cannot check itself (a
reporter name, a metric name, which depend on the plugins and the project) are
checked here so that a typo gets the same treatment instead of an internal error.
"""

from __future__ import annotations

from collections.abc import Iterable

import click

from cxengine.errors import did_you_mean, known_list


def check_names(option: str, asked: Iterable[str], known: Iterable[str], what: str) -> None:
    """Raise a usage error (exit 2) naming every asked value that is not a known one."""
    choices = sorted(set(known))
    unknown = [name for name in asked if name not in choices]
    if not unknown:
        return
    hints = "; ".join(f"no {what} named {n!r}{did_you_mean(n, choices)}" for n in unknown)
    raise click.BadParameter(
        f"{hints}. Known: {known_list(choices) or '(none)'}", param_hint=f"'{option}'"
    )
