"""Report sections that plugins contribute (hook `register_report_sections`).

A plugin registers objects with ``name``, ``title``, ``order`` and ``render(context)``;
``render`` returns the section's HTML body or None (nothing to show for this run).
The body must come from ``context.render(template, **values)`` (a Jinja2 template
with autoescaping, so text from data is always escaped) and may embed charts with
``context.chart(vega_lite_spec, alt)``. Anything else a section returns is treated
as plain text and escaped whole: a plugin cannot inject markup by accident.

Built-in sections have these orders; a plugin section goes where its order puts it:
headline 10, gate 20, trends 30, composition 40, CSI 50, (themes: 60), data quality
80, provenance 90.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from markupsafe import Markup, escape

from cxengine.report.charts import Chart, render_svg
from cxengine.textsafe import visible

if TYPE_CHECKING:
    from cxengine.config import ProjectConfig
    from cxengine.plugins import PluginManager, Registry
    from cxengine.report.data import RunData


@runtime_checkable
class ReportSection(Protocol):
    """A section of the HTML report contributed by a plugin."""

    name: str
    title: str
    order: int

    def render(self, context: SectionContext) -> Any:
        """Return the section's HTML (from `context.render`), or None to leave it out."""
        ...


@dataclass
class SectionContext:
    """What a section gets: the stored run, and the project when one was found."""

    data: RunData
    project: ProjectConfig | None
    registry: Registry | None
    notes: list[str] = field(default_factory=list)

    def render(self, template: str, **values: Any) -> Markup:
        """Render a Jinja2 template string with autoescaping; return safe HTML."""
        from cxengine.report.jinja_env import environment

        return Markup(environment().from_string(template).render(**values))

    def chart(self, spec: dict[str, Any], alt: str) -> Markup:
        """Render a Vega-Lite spec (e.g. ``altair_chart.to_dict()``) to inline SVG."""
        return chart_html(Chart(spec, alt))


def chart_html(chart: Chart) -> Markup:
    """A rendered chart wrapped in a figure with its text alternative."""
    svg = render_svg(chart)
    return Markup('<figure class="chart" role="img" aria-label="{}">{}</figure>').format(
        visible(chart.alt), Markup(svg)
    )


@dataclass
class RenderedSection:
    """A plugin section after rendering: where it goes and its safe HTML."""

    name: str
    title: str
    order: int
    html: Markup


def plugin_sections(pm: PluginManager | None) -> list[Any]:
    """Collect the sections every plugin registers."""
    if pm is None:
        return []
    found: list[Any] = []
    hook = getattr(pm.hook, "register_report_sections", None)
    if hook is None:
        return []
    hook(register=found.append)
    return found


def render_sections(
    sections: list[Any], context: SectionContext, warn: Callable[[str], None] | None = None
) -> list[RenderedSection]:
    """Render plugin sections; one that fails is reported and left out, not fatal."""
    warn = warn or (lambda msg: print(msg, file=sys.stderr))
    out = []
    for section in sections:
        name = str(getattr(section, "name", type(section).__name__))
        try:
            body = section.render(context)
        except Exception as exc:  # a broken plugin must not cost the whole report
            warn(f"report section {name!r} failed and was left out: {exc}")
            if "CXENGINE_DEBUG" in __import__("os").environ:
                traceback.print_exc()
            continue
        if body is None:
            continue
        html = body if isinstance(body, Markup) else Markup("<p>{}</p>").format(escape(str(body)))
        out.append(
            RenderedSection(name, str(getattr(section, "title", name)), int(section.order), html)
        )
    return sorted(out, key=lambda s: (s.order, s.name))
