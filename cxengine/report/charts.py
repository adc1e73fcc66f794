"""The report's charts: Vega-Lite specs, rendered offline to SVG by vl-convert.

The specs are written as plain dicts: building them through altair's objects cost
more CPU than rendering them (~2 s for the demo's 27 charts); a test validates every
chart kind against the Vega-Lite JSON schema instead.

vl-convert renders each spec with Vega's own SVG renderer inside the Python process
(no browser, no network), and the SVG is inlined in the HTML: the report stays one
file that opens from disk, prints, and shows the same in a mail client. Text from
data (slice values, category names) is escaped by Vega's renderer; the report test
checks it with a `<script>` slice value. docs/design.md says why this and not plotly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from cxengine.compute.periods import label
from cxengine.report.data import MetricData, Value
from cxengine.textsafe import visible

#: Colours that stay apart in print and for the common colour-vision deficiencies
#: (Okabe–Ito), overall in near-black.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442"]
OVERALL = "all"
OVERALL_COLOR = "#222222"
WIDTH = 760
TOP_SLICES = 4


@dataclass
class Chart:
    """A chart to render: its Vega-Lite spec and a text alternative."""

    spec: dict[str, Any]
    alt: str


def slice_name(fields: dict[str, Any]) -> str:
    """'website', 'website · chat' or 'all' for a slice's values."""
    if not fields:
        return OVERALL
    return " · ".join("(empty)" if v is None else str(v) for _, v in sorted(fields.items()))


def main_dimension(metric: MetricData) -> tuple[str, ...] | None:
    """The slice fields the trend lines are drawn for: the first `by` field when the
    metric has values sliced by it alone, else the full `by` combination."""
    sets = {tuple(sorted(metric.slice_fields(p))) for p in metric.points}
    sets.discard(())
    if not sets:
        return None
    by = metric.by
    if by and (by[0],) in sets:
        return (by[0],)
    full = tuple(sorted(by))
    return full if full in sets else sorted(sets, key=len)[0]


def trend_rows(
    metric: MetricData, dimension: tuple[str, ...] | None, category: str | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows of the trend chart and the slices in it (overall first, then by n).

    Every slice gets a row for every period of the metric, with null values where it
    had no answers, so an empty period is a gap in its line, never a zero.
    """
    cat = metric.category_key
    periods = metric.periods()
    series: dict[str, dict[str, Value]] = {}
    for p in metric.points:
        if not p.period:
            continue
        if cat is not None and p.slice.get(cat) != category:
            continue
        own = metric.slice_fields(p)
        if own and (dimension is None or tuple(sorted(own)) != dimension):
            continue
        series.setdefault(slice_name(own), {})[p.period] = p
    totals = {k: sum(v.n for v in pts.values()) for k, pts in series.items()}
    order = sorted(totals, key=lambda k: (k != OVERALL, -totals[k], k))
    rows = []
    for name in order:
        for period in periods:
            v = series[name].get(period)
            has = v is not None and v.value is not None and v.n > 0
            rows.append(
                {
                    "period": period,
                    "label": label(metric.grain, date.fromisoformat(period)),
                    "slice": name,
                    "value": v.value if has and v else None,
                    "low": v.ci_low if has and v else None,
                    "high": v.ci_high if has and v else None,
                    "n": v.n if v else 0,
                    "low_sample": bool(v and v.low_sample),
                }
            )
    return rows, order


def trend_chart(
    metric: MetricData,
    slices: Sequence[str],
    rows: list[dict[str, Any]],
    *,
    bounds: dict[str, float] | None = None,
    width: int = WIDTH,
    height: int = 230,
    title: str | None = None,
) -> Chart:
    """Lines with interval bands, hollow low-sample points, target rules."""
    shown = [r for r in rows if r["slice"] in slices]
    colors = _colors(slices)
    unit = metric.unit or ""
    x = {"field": "period", "type": "temporal", "title": None,
         "axis": {"format": _time_format(metric.grain)}}  # fmt: skip
    color = {
        "field": "slice", "type": "nominal", "title": None,
        "scale": {"domain": list(slices), "range": [colors[s] for s in slices]},
        "legend": {"orient": "bottom", "columns": 6, "labelLimit": 160,
                   "symbolType": "stroke", "symbolStrokeWidth": 3, "symbolOpacity": 1},
    }  # fmt: skip
    y = {"field": "value", "type": "quantitative"}
    y_scale, y_title = _value_scale(shown, unit or metric.name)
    y_axis = {"values": _log_ticks(shown)} if y_scale.get("type") == "symlog" else {}
    layers: list[dict[str, Any]] = [
        {
            # Overall's band stands out; the slices' bands stay faint so the lines read.
            "mark": {"type": "area", "interpolate": "linear"},
            "encoding": {
                "x": x, "color": color,
                "y": {"field": "low", "type": "quantitative", "title": y_title,
                      "scale": y_scale, "axis": y_axis},
                "y2": {"field": "high"},
                "opacity": {"condition": {"test": f"datum.slice == '{OVERALL}'", "value": 0.16},
                            "value": 0.06},
            },
        },
        {"mark": {"type": "line", "strokeWidth": 2, "invalid": None},
         "encoding": {"x": x, "color": color, "y": y}},
        {"mark": {"type": "point", "filled": True, "size": 28, "opacity": 1},
         "encoding": {"x": x, "color": color, "y": y},
         "transform": [{"filter": "datum.value != null && !datum.low_sample"}]},
        {"mark": {"type": "point", "filled": False, "size": 36, "strokeWidth": 1.5},
         "encoding": {"x": x, "color": color, "y": y},
         "transform": [{"filter": "datum.value != null && datum.low_sample"}]},
    ]  # fmt: skip
    for name, value in sorted((bounds or {}).items()):
        rule_color = "#b45309" if name.startswith("warn") else "#b91c1c"
        bound = {"values": [{"y": value, "label": _bound_label(name, value, unit)}]}
        layers.append(
            {"data": bound,
             "mark": {"type": "rule", "strokeDash": [6, 3] if name.startswith("warn") else [2, 2],
                      "color": rule_color, "strokeWidth": 1.2},
             "encoding": {"y": {"field": "y", "type": "quantitative"}}}
        )  # fmt: skip
        layers.append(
            {"data": bound,
             "mark": {"type": "text", "align": "right", "dy": -5, "fontSize": 10,
                      "color": rule_color},
             "encoding": {"y": {"field": "y", "type": "quantitative"},
                          "text": {"field": "label", "type": "nominal"},
                          "x": {"value": width - 2}}}
        )  # fmt: skip
    spec: dict[str, Any] = {
        "data": {"values": shown}, "layer": layers, "width": width, "height": height,
    }  # fmt: skip
    if title:
        spec["title"] = title
    alt_text = f"{metric.title}: trend per period for {', '.join(slices)}"
    return Chart(_finish(spec), alt_text)


def small_multiples(metric: MetricData, slices: Sequence[str], rows: list[dict[str, Any]]) -> Chart:
    """One small chart per slice (for the slices beyond the main chart's top ones)."""
    shown = [r for r in rows if r["slice"] in slices]
    axis = {"format": _time_format(metric.grain), "labelAngle": 0, "tickCount": 4}
    x = {"field": "period", "type": "temporal", "title": None, "axis": axis}
    y = {"field": "value", "type": "quantitative"}
    spec = {
        "data": {"values": shown},
        "facet": {"field": "slice", "type": "nominal", "title": None, "sort": list(slices)},
        "columns": 3,
        "spec": {
            "width": 170, "height": 90,
            "layer": [
                {"mark": {"type": "area", "opacity": 0.15, "color": PALETTE[0]},
                 "encoding": {"x": x, "y": {"field": "low", "type": "quantitative", "title": None,
                                            "scale": {"zero": False}},
                              "y2": {"field": "high"}}},
                {"mark": {"type": "line", "color": PALETTE[0], "invalid": None},
                 "encoding": {"x": x, "y": y}},
                {"mark": {"type": "point", "filled": False, "color": PALETTE[0], "size": 16},
                 "encoding": {"x": x, "y": y},
                 "transform": [{"filter": "datum.value != null && datum.low_sample"}]},
            ],
        },
    }  # fmt: skip
    return Chart(_finish(spec), f"{metric.title}: one small chart per slice")


NPS_GROUPS = ["detractors (0–6)", "passives (7–8)", "promoters (9–10)"]


def nps_composition(metric: MetricData, dimension: tuple[str, ...] | None) -> Chart | None:
    """Promoters, passives and detractors stacked per slice (all periods together)."""
    rows = []
    order = []
    for p in sorted(metric.points, key=lambda p: (bool(p.slice), -p.n)):
        own = metric.slice_fields(p)
        if p.period or (own and tuple(sorted(own)) != dimension) or not p.n:
            continue
        n = float(p.counts.get("n") or p.n)
        pro, det = float(p.counts.get("promoters") or 0), float(p.counts.get("detractors") or 0)
        nps = f"NPS {p.value:+.0f}" if p.value is not None else "NPS —"
        order.append(f"{slice_name(own)} ({nps}, n={p.n:,})")
        for i, k in enumerate((det, n - pro - det, pro)):
            rows.append({"slice": order[-1], "group": NPS_GROUPS[i], "rank": i,
                         "share": 100 * k / n})  # fmt: skip
    if not rows:
        return None
    spec = {
        "data": {"values": rows},
        "mark": "bar",
        "width": WIDTH - 200,
        "height": max(60, 22 * len(order)),
        "encoding": {
            "y": {"field": "slice", "type": "nominal", "title": None, "sort": order,
                  "axis": {"labelLimit": 260}},
            "x": {"field": "share", "type": "quantitative", "title": "% of answers",
                  "scale": {"domain": [0, 100]}},
            "color": {"field": "group", "type": "nominal", "title": None, "sort": NPS_GROUPS,
                      "scale": {"domain": NPS_GROUPS, "range": ["#D55E00", "#BBBBBB", "#009E73"]},
                      "legend": {"orient": "bottom"}},
            "order": {"field": "rank", "type": "quantitative"},
        },
    }  # fmt: skip
    return Chart(_finish(spec), f"{metric.title}: promoters, passives and detractors per slice")


def distribution_chart(metric: MetricData) -> Chart | None:
    """Shares per category stacked per period (overall)."""
    cat = metric.category_key
    if cat is None:
        return None
    rows = [
        {"period": _label(metric, p.period), "category": slice_name({cat: p.slice.get(cat)}),
         "share": p.value}
        for p in sorted(metric.points, key=lambda p: p.period)
        if p.period and not metric.slice_fields(p) and p.value is not None
    ]  # fmt: skip
    if not rows:
        return None
    cats: list[str] = sorted({str(r["category"]) for r in rows})
    palette = [PALETTE[i % len(PALETTE)] for i in range(len(cats))]
    spec = {
        "data": {"values": rows},
        "mark": "bar",
        "width": WIDTH,
        "height": 200,
        "encoding": {
            "x": {"field": "period", "type": "ordinal", "title": None, "axis": {"labelAngle": 0}},
            "y": {"field": "share", "type": "quantitative", "title": "%", "stack": "zero",
                  "scale": {"domain": [0, 100]}},
            "color": {"field": "category", "type": "nominal", "title": None,
                      "scale": {"domain": cats, "range": palette}, "legend": {"orient": "bottom"}},
        },
    }  # fmt: skip
    return Chart(_finish(spec), f"{metric.title}: share of each category per period")


def bars_over_time(metric: MetricData) -> Chart | None:
    """The overall value per period as bars (counts such as a backlog)."""
    rows = [
        {"period": _label(metric, p.period), "value": p.value}
        for p in sorted(metric.points, key=lambda p: p.period)
        if p.period and not p.slice and p.value is not None
    ]
    if not rows:
        return None
    spec = {
        "data": {"values": rows},
        "mark": {"type": "bar", "color": PALETTE[0]},
        "width": WIDTH,
        "height": 160,
        "encoding": {
            "x": {"field": "period", "type": "ordinal", "title": None, "axis": {"labelAngle": 0}},
            "y": {"field": "value", "type": "quantitative", "title": metric.unit or metric.name},
        },
    }  # fmt: skip
    return Chart(_finish(spec), f"{metric.title}: value per period")


def heatmap(
    rows: list[dict[str, Any]],
    *,
    x: str,
    y: str,
    value: str,
    title: str,
    scheme: str,
    domain: list[float] | None = None,
    text: str | None = None,
    x_title: str | None = None,
) -> Chart:
    """A labelled heat map (e.g. theme × touchpoint: colour `value`, label `text`)."""
    scale: dict[str, Any] = {"scheme": scheme}
    if domain:
        scale["domain"] = domain
    encoding = {
        "x": {"field": x, "type": "nominal", "title": x_title,
              "axis": {"labelAngle": -30, "labelLimit": 140}},
        "y": {"field": y, "type": "nominal", "title": None, "axis": {"labelLimit": 200}},
    }  # fmt: skip
    layers: list[dict[str, Any]] = [
        {"mark": "rect", "encoding": {**encoding, "color": {"field": value, "type": "quantitative",
                                                            "title": title, "scale": scale}}}
    ]  # fmt: skip
    if text:
        label = {"field": text, "type": "nominal"}
        layers.append({"mark": {"type": "text", "fontSize": 10},
                       "encoding": {**encoding, "text": label}})  # fmt: skip
    xs = len({r[x] for r in rows}) or 1
    ys = len({r[y] for r in rows}) or 1
    spec = {"data": {"values": rows}, "layer": layers,
            "width": min(WIDTH - 140, 80 * xs), "height": max(60, 22 * ys)}  # fmt: skip
    return Chart(_finish(spec), title)


def _finish(spec: dict[str, Any]) -> dict[str, Any]:
    spec.setdefault("config", {}).update(
        {
            "font": "Helvetica, Arial, sans-serif",
            "view": {"stroke": None},
            "axis": {"labelFontSize": 11, "titleFontSize": 11, "gridColor": "#e5e7eb"},
            "legend": {"labelFontSize": 11},
            "background": "white",
        }
    )
    return spec


def _colors(slices: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    i = 0
    for s in slices:
        if s == OVERALL:
            out[s] = OVERALL_COLOR
        else:
            out[s] = PALETTE[i % len(PALETTE)]
            i += 1
    return out


#: Slices whose values differ by more than this factor (minutes of chat next to hours of
#: e-mail) share a symmetric-log axis, or the small ones would be a flat line at zero.
SPREAD_FOR_LOG = 30.0


def _value_scale(rows: list[dict[str, Any]], title: str) -> tuple[dict[str, Any], str]:
    values = [abs(r["value"]) for r in rows if r["value"]]
    if values and min(values) > 0 and max(values) / min(values) > SPREAD_FOR_LOG:
        return {"type": "symlog"}, f"{title} (log scale)"
    return {"zero": False}, title


def _log_ticks(rows: list[dict[str, Any]]) -> list[float]:
    """1, 2, 5, 10, 20, 50, … from below the smallest value to above the largest."""
    highs = [r["high"] if r["high"] is not None else r["value"] for r in rows if r["value"]]
    top = max(highs) if highs else 1.0
    ticks, step = [0.0], 1.0
    while step <= top * 2:
        ticks.extend(t for t in (step, 2 * step, 5 * step) if t <= top * 2)
        step *= 10
    return ticks


def _label(metric: MetricData, period: str) -> str:
    return label(metric.grain, date.fromisoformat(period))


def _time_format(grain: str) -> str:
    return {
        "day": "%d %b",
        "week": "%d %b",
        "month": "%b %Y",
        "quarter": "%b %Y",
        "year": "%Y",
    }.get(grain, "%b %Y")


def _bound_label(name: str, value: float, unit: str) -> str:
    level, side = name.split("_", 1)
    return f"{level} {side} {value:g}{' ' + unit if unit else ''}"


def render_svg(chart: Chart) -> str:
    """Render a chart to SVG text with vl-convert (offline)."""
    import vl_convert

    # Every string of the spec, data included: slice values and theme names come from
    # customers' data, and one control character (an ESC in a channel name) makes
    # vl-convert's SVG text parser panic, which aborts the whole process.
    return str(vl_convert.vegalite_to_svg(_visible_strings(chart.spec)))


def _visible_strings(node: Any) -> Any:
    """``node`` with every string, keys included, passed through `visible`."""
    if isinstance(node, str):
        return visible(node)
    if isinstance(node, dict):
        return {_visible_strings(k): _visible_strings(v) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [_visible_strings(v) for v in node]
    return node
