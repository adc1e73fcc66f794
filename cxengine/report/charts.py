"""The report's charts: Vega-Lite specs built with altair, rendered offline to SVG.

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
    import altair as alt

    shown = [r for r in rows if r["slice"] in slices]
    colors = _colors(slices)
    unit = metric.unit or ""
    data = alt.Data(values=shown)
    x = alt.X("period:T", title=None, axis=alt.Axis(format=_time_format(metric.grain)))
    y_title = unit or metric.name
    color = alt.Color(
        "slice:N",
        title=None,
        scale=alt.Scale(domain=list(slices), range=[colors[s] for s in slices]),
        legend=alt.Legend(
            orient="bottom",
            columns=6,
            labelLimit=160,
            symbolType="stroke",
            symbolStrokeWidth=3,
            symbolOpacity=1,
        ),
    )
    base = alt.Chart(data).encode(x=x, color=color)
    # Overall's band stands out; the slices' bands stay faint so the lines read.
    band = base.mark_area(interpolate="linear").encode(
        y=alt.Y("low:Q", title=y_title, scale=alt.Scale(zero=False)),
        y2="high:Q",
        opacity=alt.condition(f"datum.slice == '{OVERALL}'", alt.value(0.16), alt.value(0.06)),
    )
    line = base.mark_line(strokeWidth=2, invalid=None).encode(y="value:Q")
    solid = (
        base.mark_point(filled=True, size=28, opacity=1)
        .encode(y="value:Q")
        .transform_filter("datum.value != null && !datum.low_sample")
    )
    hollow = (
        base.mark_point(filled=False, size=36, strokeWidth=1.5)
        .encode(y="value:Q")
        .transform_filter("datum.value != null && datum.low_sample")
    )
    layers: list[Any] = [band, line, solid, hollow]
    for name, value in sorted((bounds or {}).items()):
        dash = [6, 3] if name.startswith("warn") else [2, 2]
        rule_color = "#b45309" if name.startswith("warn") else "#b91c1c"
        layers.append(
            alt.Chart(alt.Data(values=[{"y": value, "label": _bound_label(name, value, unit)}]))
            .mark_rule(strokeDash=dash, color=rule_color, strokeWidth=1.2)
            .encode(y="y:Q")
        )
        layers.append(
            alt.Chart(alt.Data(values=[{"y": value, "label": _bound_label(name, value, unit)}]))
            .mark_text(align="right", dy=-5, fontSize=10, color=rule_color)
            .encode(y="y:Q", text="label:N", x=alt.value(width - 2))
        )
    chart = alt.layer(*layers).properties(width=width, height=height)
    if title:
        chart = chart.properties(title=title)
    alt_text = f"{metric.title}: trend per period for {', '.join(slices)}"
    return Chart(_finish(chart), alt_text)


def small_multiples(metric: MetricData, slices: Sequence[str], rows: list[dict[str, Any]]) -> Chart:
    """One small chart per slice (for the slices beyond the main chart's top ones)."""
    import altair as alt

    shown = [r for r in rows if r["slice"] in slices]
    base = alt.Chart(alt.Data(values=shown)).encode(
        x=alt.X(
            "period:T",
            title=None,
            axis=alt.Axis(format=_time_format(metric.grain), labelAngle=0, tickCount=4),
        )
    )
    band = base.mark_area(opacity=0.15, color=PALETTE[0]).encode(
        y=alt.Y("low:Q", title=None, scale=alt.Scale(zero=False)), y2="high:Q"
    )
    line = base.mark_line(color=PALETTE[0], invalid=None).encode(y="value:Q")
    pts = (
        base.mark_point(filled=False, color=PALETTE[0], size=16)
        .encode(y="value:Q")
        .transform_filter("datum.value != null && datum.low_sample")
    )
    chart = (
        alt.layer(band, line, pts, data=alt.Data(values=shown))
        .properties(width=170, height=90)
        .facet(facet=alt.Facet("slice:N", title=None, sort=list(slices)), columns=3)
    )
    return Chart(_finish(chart), f"{metric.title}: one small chart per slice")


def nps_composition(metric: MetricData, dimension: tuple[str, ...] | None) -> Chart | None:
    """Promoters, passives and detractors stacked per slice (all periods together)."""
    import altair as alt

    rows = []
    order = []
    for p in sorted(metric.points, key=lambda p: (bool(p.slice), -p.n)):
        own = metric.slice_fields(p)
        if p.period or (own and tuple(sorted(own)) != dimension) or not p.n:
            continue
        n = float(p.counts.get("n") or p.n)
        pro, det = float(p.counts.get("promoters") or 0), float(p.counts.get("detractors") or 0)
        name = slice_name(own)
        nps = f"NPS {p.value:+.0f}" if p.value is not None else "NPS —"
        order.append(f"{name} ({nps}, n={p.n:,})")
        for group, k in (
            ("detractors (0–6)", det),
            ("passives (7–8)", n - pro - det),
            ("promoters (9–10)", pro),
        ):
            rows.append({"slice": order[-1], "group": group, "share": 100 * k / n})
    if not rows:
        return None
    groups = ["detractors (0–6)", "passives (7–8)", "promoters (9–10)"]
    chart = (
        alt.Chart(alt.Data(values=rows))
        .mark_bar()
        .encode(
            y=alt.Y("slice:N", title=None, sort=order, axis=alt.Axis(labelLimit=260)),
            x=alt.X("share:Q", title="% of answers", scale=alt.Scale(domain=[0, 100])),
            color=alt.Color(
                "group:N", title=None, sort=groups,
                scale=alt.Scale(domain=groups, range=["#D55E00", "#BBBBBB", "#009E73"]),
                legend=alt.Legend(orient="bottom"),
            ),
            order=alt.Order("group_order:Q"),
        )
        .transform_calculate(group_order=f"indexof({groups!r}, datum.group)")
        .properties(width=WIDTH - 200, height=max(60, 22 * len(order)))
    )  # fmt: skip
    return Chart(_finish(chart), f"{metric.title}: promoters, passives and detractors per slice")


def distribution_chart(metric: MetricData) -> Chart | None:
    """Shares per category stacked per period (overall)."""
    import altair as alt

    cat = metric.category_key
    if cat is None:
        return None
    rows = []
    for p in metric.points:
        if not p.period or metric.slice_fields(p) or p.value is None:
            continue
        rows.append(
            {
                "period": _label(metric, p.period),
                "category": slice_name({cat: p.slice.get(cat)}),
                "share": p.value,
            }
        )
    if not rows:
        return None
    cats: list[str] = sorted({str(r["category"]) for r in rows})
    palette = [PALETTE[i % len(PALETTE)] for i in range(len(cats))]
    chart = (
        alt.Chart(alt.Data(values=rows))
        .mark_bar()
        .encode(
            x=alt.X("period:O", title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("share:Q", title="%", stack="zero", scale=alt.Scale(domain=[0, 100])),
            color=alt.Color(
                "category:N", title=None,
                scale=alt.Scale(domain=cats, range=palette),
                legend=alt.Legend(orient="bottom"),
            ),
        )
        .properties(width=WIDTH, height=200)
    )  # fmt: skip
    return Chart(_finish(chart), f"{metric.title}: share of each category per period")


def bars_over_time(metric: MetricData) -> Chart | None:
    """The overall value per period as bars (counts such as a backlog)."""
    import altair as alt

    rows = [
        {"period": _label(metric, p.period), "value": p.value}
        for p in sorted(metric.points, key=lambda p: p.period)
        if p.period and not p.slice and p.value is not None
    ]
    if not rows:
        return None
    chart = (
        alt.Chart(alt.Data(values=rows))
        .mark_bar(color=PALETTE[0])
        .encode(
            x=alt.X("period:O", title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("value:Q", title=metric.unit or metric.name),
        )
        .properties(width=WIDTH, height=160)
    )  # fmt: skip
    return Chart(_finish(chart), f"{metric.title}: value per period")


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
) -> Chart:
    """A labelled heat map (e.g. theme × touchpoint share); rows are dicts."""
    import altair as alt

    scheme_: Any = scheme  # a Vega scheme name: "blues", "redblue", …
    scale = alt.Scale(scheme=scheme_, domain=domain) if domain else alt.Scale(scheme=scheme_)
    base = alt.Chart(alt.Data(values=rows)).encode(
        x=alt.X(f"{x}:N", title=None, axis=alt.Axis(labelAngle=-30, labelLimit=140)),
        y=alt.Y(f"{y}:N", title=None, axis=alt.Axis(labelLimit=180)),
    )
    rect = base.mark_rect().encode(color=alt.Color(f"{value}:Q", title=title, scale=scale))
    layers: list[Any] = [rect]
    if text:
        layers.append(base.mark_text(fontSize=10).encode(text=f"{text}:N"))
    ys = len({r[y] for r in rows})
    xs = len({r[x] for r in rows})
    chart = alt.layer(*layers).properties(width=min(WIDTH - 140, 70 * xs), height=max(60, 20 * ys))
    return Chart(_finish(chart), title)  # fmt: skip


def _finish(chart: Any) -> dict[str, Any]:
    # Skips altair's JSON-schema validation (most of the build time); a test validates
    # every chart kind once.
    spec: dict[str, Any] = chart.to_dict(validate=False)
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

    return str(vl_convert.vegalite_to_svg(chart.spec))
