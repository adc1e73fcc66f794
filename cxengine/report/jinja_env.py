"""The Jinja2 environment of the HTML report, shared by the page and plugin sections.

Its own module so that `sections.py` (which plugins' sections use) and `html.py` (which
lays the page out from the sections) both import it without importing each other.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from cxengine.compare.points import slice_label
from cxengine.compare.wording import fixed, with_unit
from cxengine.textsafe import visible

if TYPE_CHECKING:
    import jinja2


@functools.cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment of the report: package templates, autoescape always on."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("cxengine.report", "templates"),
        autoescape=True,  # every template, whatever its file name
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_shown,
    )
    env.filters["unit"] = lambda v, unit, digits=1: with_unit(v, unit, digits)
    env.filters["slice"] = slice_label
    env.filters["thousands"] = lambda n: f"{int(n or 0):,}"
    env.filters["num"] = lambda v, digits=1: "—" if v is None else fixed(v, digits, thousands=True)
    return env


def _shown(value: object) -> object:
    """Every printed string with control and bidi characters shown as escapes (`\\x1b`).

    Slice values and reasons come from customers' data; an ESC or a right-to-left
    override in them would otherwise reach the page and its aria-labels as it is.
    Markup (the charts' SVG, plugins' sections) is already built HTML and passes as it is.
    """
    import markupsafe

    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return visible(value, keep="\n\t")
    return value
