"""What people read in the terminal: the run summary, `show` and `export`.

The demo project is run once for the module; every test reads its stored run.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import openpyxl
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from cxengine.cli import cli


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """The demo project after `cxengine run`: (folder, stdout, stderr)."""
    root = tmp_path_factory.mktemp("terminal") / "demo"
    assert CliRunner().invoke(cli, ["init", str(root)]).exit_code == 0
    result = CliRunner().invoke(cli, ["--config", str(root), "run"])
    assert result.exit_code == 0, result.output
    return root, result.stdout, result.stderr


def cx(root: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(root), *args])
    return result.exit_code, result.stdout, result.stderr


def test_run_prints_one_screen_one_line_per_metric(demo: tuple[Path, str, str]) -> None:
    root, out, err = demo
    names = sorted(p.stem for p in (root / "metric_specs").glob("*.yaml"))
    lines = out.splitlines()
    legend = next(i for i, line in enumerate(lines) if line.startswith("* significant"))
    # Header, rule, a line per metric (a weighted variant adds one), then the legend.
    assert len(names) + 2 <= legend <= 2 * len(names) + 2
    header = out.splitlines()[0].split()
    assert header[:3] == ["metric", "period", "value"] and "n" in header
    rows = {line.split()[0]: line for line in out.splitlines()[2:] if line.strip()}
    for name in names:
        assert name in rows, f"no line for {name}"
    # Units everywhere, the interval, and the change with its significance mark.
    assert " points " in rows["nps"] and "[" in rows["nps"] and "2025-12" in rows["nps"]
    assert " %" in rows["csat"] and ("↑" in rows["csat"] or "↓" in rows["csat"])
    assert "pp" in rows["csat"]  # the change of a percentage is in points
    assert " min above " in rows["frt"] and "target warn" in rows["frt"]
    assert "responses: 4000 rows read" in err and "stored in" in err


def test_detail_prints_every_period_and_slice(demo: tuple[Path, str, str]) -> None:
    root, _, _ = demo
    code, out, _ = cx(root, "run", "--detail", "--metric", "nps", "--no-store")
    assert code == 0
    assert "Net Promoter Score (NPS)" in out and "2025-03" in out and "delivery" in out
    header = out.splitlines()[1].split()
    assert header == ["period", "touchpoint", "value", "95%", "CI", "n", "flags"]


def test_show_prints_the_stored_values_with_units(demo: tuple[Path, str, str]) -> None:
    root, _, _ = demo
    code, out, _ = cx(root, "show", "--metric", "nps")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "metric",
        "period",
        "touchpoint",
        "value",
        "95%",
        "CI",
        "n",
        "flags",
    ]
    assert len(lines) == 2 + 7  # overall and six touchpoints of the latest month
    assert all("2025-12" in line and " points" in line for line in lines[2:])
    code, out, _ = cx(root, "show", "--metric", "nps", "--period", "all", "--by", "touchpoint")
    body = out.splitlines()[2:]
    assert len(body) == 6 * 13  # six touchpoints × (12 months + all periods)
    assert "(all)" not in out


def test_show_json_and_csv_agree(demo: tuple[Path, str, str]) -> None:
    root, _, _ = demo
    _, as_json, _ = cx(root, "show", "--metric", "csat", "--period", "2025-03", "--json")
    _, as_csv, _ = cx(root, "show", "--metric", "csat", "--period", "2025-03", "--csv")
    rows = json.loads(as_json)
    table = list(csv.DictReader(io.StringIO(as_csv)))
    assert len(rows) == len(table) == 7
    assert {r["period"] for r in rows} == {"2025-03-01"}
    for j, c in zip(rows, table, strict=True):
        assert float(c["value"]) == pytest.approx(j["value"])
        assert int(c["count_n"]) == j["count_n"] == j["n"]


def test_show_rejects_an_unknown_metric_with_a_suggestion(demo: tuple[Path, str, str]) -> None:
    root, _, _ = demo
    code, _, err = cx(root, "show", "--metric", "npss")
    assert code == 2 and "'npss'" in err and "nps" in err


def test_export_xlsx_reads_back_with_typed_cells(demo: tuple[Path, str, str]) -> None:
    root, _, _ = demo
    path = root / "values.xlsx"
    code, out, _ = cx(root, "export", "--format", "xlsx", "-o", str(path))
    assert code == 0 and "wrote" in out
    _, as_json, _ = cx(root, "show", "--period", "all", "--json")
    expected = json.loads(as_json)
    ws = openpyxl.load_workbook(path).active
    assert ws is not None
    header = [c.value for c in ws[1]]
    rows = [dict(zip(header, (c.value for c in r), strict=True)) for r in ws.iter_rows(min_row=2)]
    assert len(rows) == len(expected)
    nps = next(
        r for r in rows
        if r["metric"] == "nps" and r["touchpoint"] == "delivery" and r["period_label"] == "2025-03"
    )  # fmt: skip
    assert nps["period"].date() == date(2025, 3, 1)  # a date cell, not text
    assert isinstance(nps["value"], float) and isinstance(nps["n"], int)
    assert isinstance(nps["low_sample"], bool)
    assert nps["count_promoters"] + nps["count_detractors"] <= nps["n"]
    assert ws.cell(2, header.index("period") + 1).number_format in ("yyyy-mm-dd", "General")


def test_export_parquet_csv_json_have_the_same_rows(demo: tuple[Path, str, str]) -> None:
    root, _, _ = demo
    files = {}
    for fmt in ("parquet", "csv", "json"):
        files[fmt] = root / f"values.{fmt}"
        assert cx(root, "export", "--format", fmt, "-o", str(files[fmt]))[0] == 0
    table = pq.read_table(files["parquet"])
    assert str(table.schema.field("period").type) == "date32[day]"
    assert str(table.schema.field("value").type) == "double"
    rows = json.loads(files["json"].read_text(encoding="utf-8"))
    with files["csv"].open(encoding="utf-8-sig") as f:
        from_csv = list(csv.DictReader(f))
    assert table.num_rows == len(rows) == len(from_csv)
    assert table.column("metric").to_pylist() == [r["metric"] for r in rows]


def test_reading_commands_before_any_run_say_what_to_do(tmp_path: Path) -> None:
    for command in (["show"], ["export"], ["report"], ["datasette", "--metadata-only"]):
        result = CliRunner().invoke(cli, [*command, "--db", str(tmp_path / "none.db")])
        assert result.exit_code == 2, (command, result.output)
        assert "run `cxengine run` first" in result.stderr
        assert not (tmp_path / "none.db").exists()  # nothing created by a read


def test_csv_export_shows_formula_like_text_literally() -> None:
    """A slice value from customers' data ("=HYPERLINK(…)", "@SUM(…)", "-1+2") must not
    run as a formula when the CSV is opened in a spreadsheet; numbers stay numbers."""
    from cxengine.report.export import csv_text
    from cxengine.report.flat import FlatTable

    hostile = ['=HYPERLINK("http://x")', "@SUM(A1)", "+1", "-1+2", "\tcmd", "＝1", "plain"]
    table = FlatTable(
        columns=["metric", "channel", "value"],
        rows=[{"metric": "csat", "channel": h, "value": -0.5} for h in hostile],
        slice_columns={"channel": "channel"},
        count_columns=[],
    )
    rows = list(csv.DictReader(io.StringIO(csv_text(table))))
    assert [r["channel"] for r in rows] == ["'" + h for h in hostile[:-1]] + ["plain"]
    assert {r["value"] for r in rows} == {"-0.5"}  # a negative number is not text


@pytest.mark.parametrize("period", ["2025-13", "2025-02-30", "march", "2025-Q5", "2025-W60"])
def test_show_refuses_a_period_no_run_can_have(demo: tuple[Path, str, str], period: str) -> None:
    root, _, _ = demo
    code, _, err = cx(root, "show", "--period", period)
    assert code == 2 and f"{period!r} is not a period" in err and "2025-Q1" in err


def test_show_names_an_unknown_slice_field_and_the_known_ones(
    demo: tuple[Path, str, str],
) -> None:
    root, _, _ = demo
    code, _, err = cx(root, "show", "--by", "touchpoin")
    assert code == 2 and "'touchpoin'" in err and "did you mean 'touchpoint'" in err
    assert "channel" in err  # the fields that do exist


def test_show_with_nothing_in_a_valid_period_says_which_periods_exist(
    demo: tuple[Path, str, str],
) -> None:
    root, _, _ = demo
    code, out, err = cx(root, "show", "--period", "2019-03", "--metric", "nps")
    assert code == 0 and not out
    assert "No values for period '2019-03'" in err and "its periods: 2025-01 … 2025-12" in err
