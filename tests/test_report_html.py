"""`cxengine report`: one self-contained, escaped HTML file of a stored run.

A small project whose data is hostile on purpose (a touchpoint named `<script>…`,
markup in a spec title) is run once; the tests read the report it produces.
"""

from __future__ import annotations

import random
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from markupsafe import Markup

from cxengine import hookimpl
from cxengine.cli import cli
from cxengine.cli.app import CliState
from cxengine.plugins import Registry, get_plugin_manager
from cxengine.report import charts
from cxengine.report.data import load_run, open_store
from cxengine.report.html import build_report

HOSTILE = "<script>alert('x')</script>"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six months of survey answers for three touchpoints, one of them hostile; run once."""
    root = tmp_path_factory.mktemp("report")
    rng = random.Random(3)
    lines = ["id,at,touchpoint,recommend,food,room"]
    start = date(2025, 1, 1)
    for i in range(900):
        day = start + timedelta(days=rng.randrange(181))
        tp = rng.choice(["web", "shop", HOSTILE.replace(",", " ")])
        if day.month == 4 and tp == "shop":
            continue  # an empty period for one slice: a gap, not a zero
        rec = rng.choice(range(11)) if rng.random() > 0.01 else 12  # a few out of scale
        lines.append(f'{i},{day.isoformat()} 10:00:00,"{tp}",{rec},{rng.randint(1, 10)},')
    write(root / "data" / "answers.csv", "\n".join(lines) + "\n")
    write(
        root / "cxengine.yaml",
        """database: cx.db
metrics: [metric_specs]
datasets:
  answers:
    source: csv
    path: data/answers.csv
    key: id
    fields: {id: string, at: datetime, touchpoint: string, recommend: integer,
             food: integer, room: integer}
""",
    )
    write(
        root / "metric_specs" / "nps.yaml",
        """name: nps
title: "NPS <b>bold</b> & co"
kind: nps
dataset: answers
field: recommend
by: [touchpoint]
period: month
time: at
min_n: 30
target: {warn_below: 90}
""",
    )
    write(
        root / "metric_specs" / "csi.yaml",
        """name: csi
title: Satisfaction index
kind: weighted_index
dataset: answers
items:
  - {field: food, scale: [1, 10], weight: 2, label: "Food <i>quality</i>"}
  - {field: room, scale: [1, 10], weight: 1, label: Room}
period: month
time: at
""",
    )
    result = CliRunner().invoke(cli, ["--config", str(root), "run"])
    assert result.exit_code in (0, 1), result.output
    return root


@pytest.fixture(scope="module")
def html(project: Path) -> str:
    out = project / "report.html"
    result = CliRunner().invoke(cli, ["--config", str(project), "report", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.stdout
    return out.read_text(encoding="utf-8")


def test_text_from_data_and_specs_is_escaped(html: str) -> None:
    assert "<script" not in html.lower()  # no data-born markup, and no JavaScript at all
    assert "&lt;script&gt;" in html or "&lt;script" in html
    assert "<b>bold</b>" not in html and "NPS &lt;b&gt;bold&lt;/b&gt; &amp; co" in html
    assert "<i>quality</i>" not in html and "Food &lt;i&gt;quality&lt;/i&gt;" in html


def test_the_file_is_self_contained(html: str) -> None:
    # Nothing is fetched: no external scripts, styles, fonts or images.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "url(" not in html
    assert "<style>" in html and "@page" in html  # prints on A4


def test_every_section_is_there(html: str) -> None:
    for anchor in ("headline", "trends", "composition", "csi", "quality", "provenance"):
        assert f'id="{anchor}"' in html
    assert html.count('<figure class="chart"') >= 3  # trends of both, NPS composition
    assert html.count("<svg") == html.count('<figure class="chart"')


def test_headline_cards_show_value_interval_and_n(html: str, project: Path) -> None:
    with open_store(project / "cx.db") as store:
        data = load_run(store, "last", Registry(get_plugin_manager(load_entry_points=False)))
    nps = next(p for p in data.metrics["nps"].points if p.period == "2025-06-01" and not p.slice)
    assert nps.value is not None
    assert f"{nps.value:,.1f} points" in html and f"n={nps.n:,}" in html
    assert "target warn" in html  # NPS is far below the target of 90


def test_csi_driver_table_lists_every_item(html: str) -> None:
    section = html.split('id="csi"', 1)[1].split("</section>", 1)[0]
    assert "Food &lt;i&gt;quality&lt;/i&gt;" in section and ">Room<" in section
    assert "67 %" in section and "33 %" in section  # normalised weights 2:1


def test_data_quality_lists_reject_reasons_with_locations(html: str) -> None:
    section = html.split('id="quality"', 1)[1].split("</section>", 1)[0]
    assert "outside the scale" in section and "answers.csv:" in section


def test_report_of_an_unknown_run_is_a_clear_error(project: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(project), "report", "nosuchrun"])
    assert result.exit_code != 0 and "nosuchrun" in result.output


class _Sections:
    """A plugin with three sections: one good, one returning plain text, one broken."""

    class Good:
        name, title, order = "good", "Good <section>", 65

        def render(self, context: Any) -> Any:
            return context.render("<p class='x'>{{ v }}</p>", v=HOSTILE)

    class Plain:
        name, title, order = "plain", "Plain", 66

        def render(self, context: Any) -> Any:
            return "<b>not markup</b>"

    class Broken:
        name, title, order = "broken", "Broken", 67

        def render(self, context: Any) -> Any:
            raise RuntimeError("boom")

    class Quiet:
        name, title, order = "quiet", "Quiet", 68

        def render(self, context: Any) -> Any:
            return None

    @hookimpl
    def register_report_sections(self, register: Any) -> None:
        for cls in (self.Good, self.Plain, self.Broken, self.Quiet):
            register(cls())


def test_plugin_sections_are_escaped_ordered_and_isolated(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pm = get_plugin_manager(load_entry_points=False, extra=[_Sections()])
    registry = Registry(pm)
    with open_store(project / "cx.db") as store:
        data = load_run(store, "last", registry)
    html = build_report(data, registry=registry, pm=pm)
    assert "<p class='x'>&lt;script&gt;" in html and "Good &lt;section&gt;" in html
    assert "&lt;b&gt;not markup&lt;/b&gt;" in html
    assert 'id="broken"' not in html and 'id="quiet"' not in html
    assert "report section 'broken' failed" in capsys.readouterr().err
    # Order: the plugin's sections sit between CSI (50) and data quality (80).
    assert html.index('id="csi"') < html.index('id="good"') < html.index('id="plain"')
    assert html.index('id="plain"') < html.index('id="quality"')


def test_section_context_renders_charts(project: Path) -> None:
    from cxengine.report.sections import SectionContext

    with open_store(project / "cx.db") as store:
        data = load_run(store, "last", None)
    ctx = SectionContext(data, None, None)
    spec = {
        "data": {"values": [{"a": HOSTILE, "b": 1}]},
        "mark": "bar",
        "encoding": {
            "x": {"field": "a", "type": "nominal"},
            "y": {"field": "b", "type": "quantitative"},
        },
    }
    out = ctx.chart(spec, alt=HOSTILE)
    assert isinstance(out, Markup) and "<svg" in out and "<script" not in out


def test_every_chart_is_valid_vega_lite(project: Path) -> None:
    from altair.vegalite.v6.schema import core

    registry = Registry(get_plugin_manager(load_entry_points=False))
    with open_store(project / "cx.db") as store:
        data = load_run(store, "last", registry)
    nps = data.metrics["nps"]
    dim = charts.main_dimension(nps)
    rows, order = charts.trend_rows(nps, dim)
    built = [
        charts.trend_chart(nps, order[:3], rows, bounds={"warn_below": 90.0}),
        charts.small_multiples(nps, order[1:], rows),
        charts.nps_composition(nps, dim),
        charts.bars_over_time(nps),
        charts.heatmap(
            [{"a": "x", "b": "y", "v": 1.0}], x="a", y="b", value="v", title="t", scheme="blues"
        ),
    ]
    schema = core.load_schema()
    for chart in built:
        assert chart is not None
        jsonschema.validate(chart.spec, schema)
    # Every slice has a row for every period; the shop's empty April is a gap (None).
    april = [r for r in rows if r["slice"] == "shop" and r["period"] == "2025-04-01"]
    assert april == [{**april[0], "value": None, "low": None, "high": None, "n": 0}]


def test_since_and_metric_narrow_the_report(project: Path) -> None:
    out = project / "narrow.html"
    args = ["--config", str(project), "report", "-o", str(out), "--metric", "csi",
            "--since", "2025-05"]  # fmt: skip
    result = CliRunner().invoke(cli, args, obj=CliState(get_plugin_manager()))
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "Satisfaction index" in text and "NPS &lt;b&gt;" not in text
    assert "2025-04" not in text.split('id="headline"', 1)[1].split('id="quality"', 1)[0]


def test_slices_far_apart_share_a_log_axis_with_readable_ticks() -> None:
    rows = [{"value": v, "high": v * 1.2} for v in (1.6, 3.1, 480.0)]  # chat, phone, e-mail
    scale, title = charts._value_scale(rows, "min")
    assert scale == {"type": "symlog"} and title == "min (log scale)"
    assert charts._log_ticks(rows) == [0.0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
    close = [{"value": v, "high": v} for v in (60.0, 75.0)]
    assert charts._value_scale(close, "%") == ({"zero": False}, "%")
