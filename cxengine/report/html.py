"""`cxengine report`: one self-contained HTML file for a stored run.

No network, no CDN, no JavaScript: CSS in a <style> element and charts as inline
SVG, so the file opens from disk and as an e-mail attachment, prints on A4 and reads
on a phone. The page is a Jinja2 template with autoescaping on: every string from
data or specs is escaped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from cxengine import __version__
from cxengine.compare.points import slice_label
from cxengine.compute.periods import label
from cxengine.report import charts
from cxengine.report.data import MetricData, RunData
from cxengine.report.headline import Headline, headline, interval_text
from cxengine.report.jinja_env import environment
from cxengine.report.sections import (
    RenderedSection,
    SectionContext,
    chart_html,
    plugin_sections,
    render_sections,
)

if TYPE_CHECKING:
    from cxengine.config import ProjectConfig
    from cxengine.plugins import PluginManager, Registry


@dataclass
class TrendBlock:
    """One metric's trend: the main chart, the small multiples of the other slices."""

    metric: MetricData
    chart: Markup
    more: Markup | None
    more_count: int
    dimension: str


@dataclass
class CsiBlock:
    """One weighted index: its headline and the per-item driver table."""

    metric: MetricData
    period: str
    items: list[Any]
    items_all: list[Any]
    value: float | None


@dataclass
class Page:
    """Everything the template shows."""

    title: str
    data: RunData
    headlines: list[Headline]
    trends: list[TrendBlock] = field(default_factory=list)
    composition: list[tuple[MetricData, Markup]] = field(default_factory=list)
    csi: list[CsiBlock] = field(default_factory=list)
    sections: list[RenderedSection] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def build_report(
    data: RunData,
    *,
    project: ProjectConfig | None = None,
    registry: Registry | None = None,
    pm: PluginManager | None = None,
    title: str | None = None,
) -> str:
    """Return the HTML text of the report of a stored run."""
    heads = [headline(m, data.finished) for m in data.metrics.values()]
    page = Page(title or _title(project), data, heads)
    for m in data.metrics.values():
        block = _trend(m, heads)
        if block is not None:
            page.trends.append(block)
        comp = _composition(m)
        if comp is not None:
            page.composition.append((m, comp))
        csi = _csi(m, next(h for h in heads if h.metric is m))
        if csi is not None:
            page.csi.append(csi)
    context = SectionContext(data, project, registry)
    page.sections = render_sections(plugin_sections(pm), context)
    page.notes.extend(context.notes)
    return (
        environment()
        .get_template("report.html.j2")
        .render(
            page=page,
            run=data.run,
            version=__version__,
            spec_hashes=data.json_field("spec_hashes"),
            inputs=data.json_field("input_fingerprints"),
            checks=_checks(data),
            generated=date.today().isoformat(),
        )
    )


def _title(project: ProjectConfig | None) -> str:
    if project is None:
        return "Customer experience report"
    return f"Customer experience report: {project.path.parent.name}"


def _trend(m: MetricData, heads: list[Headline]) -> TrendBlock | None:
    if m.grain == "none" or not m.periods():
        return None
    dimension = charts.main_dimension(m)
    category = None
    if m.category_key is not None:
        h = next(h for h in heads if h.metric is m)
        category = h.category
        if category is None:
            return None
    rows, order = charts.trend_rows(m, dimension, category if m.category_key else None)
    if not order:
        return None
    top = order[: charts.TOP_SLICES + 1]  # overall and the top slices by n
    rest = order[len(top) :]
    bounds: dict[str, float] = {}
    target = getattr(m.spec, "target", None)
    if target is not None:
        from cxengine.compare.targets import bounds_for

        bounds = bounds_for(target, {})
    title = None
    if category is not None:
        title = f"{category} ({m.category_key})"
    chart = chart_html(charts.trend_chart(m, top, rows, bounds=bounds, title=title))
    more = chart_html(charts.small_multiples(m, rest[:24], rows)) if rest else None
    names = ", ".join(dimension) if dimension else ""
    return TrendBlock(m, chart, more, len(rest), names)


def _composition(m: MetricData) -> Markup | None:
    chart = None
    if m.kind == "nps":
        chart = charts.nps_composition(m, charts.main_dimension(m))
    elif m.category_key is not None:
        chart = charts.distribution_chart(m)
    elif m.kind == "backlog":
        chart = charts.bars_over_time(m)
    return chart_html(chart) if chart is not None else None


def _csi(m: MetricData, h: Headline) -> CsiBlock | None:
    items_of = getattr(m.aggregation, "item_means", None)
    if items_of is None or m.spec is None:
        return None
    overall_all = next((p for p in m.points if not p.period and not p.slice), None)
    items = items_of(m.spec, h.point.counts) if h.point is not None else []
    items_all = items_of(m.spec, overall_all.counts) if overall_all is not None else []
    return CsiBlock(m, h.period_label, items, items_all, h.point.value if h.point else None)


def _checks(data: RunData) -> dict[str, Any]:
    rows = data.checks
    counts: dict[str, int] = {}
    for c in rows:
        counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
    rows = [{**c, "slice_label": slice_label(json.loads(c["slice"]))} for c in rows]
    problems = [c for c in rows if c["verdict"] in ("fail", "warn")]
    problems.sort(key=lambda c: (c["verdict"] != "fail", c["metric"], c["slice"]))
    grid: dict[str, list[dict[str, Any]]] = {}
    for c in rows:
        grid.setdefault(c["metric"], []).append(
            {
                "slice": slice_label(json.loads(c["slice"])),
                "verdict": c["verdict"],
                "compared": c["compared"],
                "reason": c["reason"],
            }
        )
    return {"rows": rows, "counts": counts, "problems": problems, "grid": grid}


def period_label(grain: str, iso: str) -> str:
    """A period for people (used by sections): '2025-03', 'all'."""
    return label(grain, date.fromisoformat(iso)) if iso else "all"


__all__ = ["build_report", "environment", "interval_text", "period_label"]
