"""What `cxengine run --format F` writes to stdout is one document a program can read.

CI jobs pipe `run --format junit > checks.xml` or `--format json | jq`; the gate's
verdict table is text for people and goes to stderr in those cases. Slice values
come from customers' data, so each format also shows hostile text as text: no HTML,
link or image in the Markdown summary, no broken XML or JSON, no control character
that crashes the chart renderer or the Excel writer.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cxengine.cli import cli
from cxengine.testing import write_project

HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "[click](https://evil.example)",
    "a|b",
    "**loud**",
    "R&D",
    "`code`",
    "red\x1b[31m",
    "vt\x0btab",
    "plain",
]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with a target every slice misses, so the gate has verdicts to print."""
    root = tmp_path_factory.mktemp("documents")
    lines = ["id,channel,score"]
    for i in range(350):
        lines.append(f'{i},"{HOSTILE[i % len(HOSTILE)]}",{1 + (i * 7) % 5}')
    (root / "data.csv").write_text("\n".join(lines) + "\n", "utf-8")
    spec = (
        "name: csat\nkind: share\ndataset: d\nfield: score\nscale: [1, 5]\npositive: [4, 5]\n"
        "by: [channel]\ntarget: {warn_below: 99}\n"
    )
    fields = {"id": "integer", "channel": "string", "score": "integer"}
    return write_project(
        root, {"d": {"source": "csv", "path": "data.csv", "fields": fields}}, {"csat": spec}
    )


def run(config: Path, fmt: str) -> Result:
    result = CliRunner().invoke(cli, ["--config", str(config), "run", "--format", fmt])
    assert result.exit_code == 0, result.output  # warnings do not fail the build
    return result


@pytest.mark.parametrize("fmt", ["json", "checks-json"])
def test_json_formats_are_one_json_document(project: Path, fmt: str) -> None:
    result = run(project, fmt)
    json.loads(result.stdout)  # raises on anything appended
    assert "verdict" in result.stderr  # the people's table is still in the log


def test_junit_is_one_xml_document(project: Path) -> None:
    result = run(project, "junit")
    root = ET.fromstring(result.stdout)
    assert root.tag == "testsuites"
    names = [case.get("name") or "" for case in root.iter("testcase")]
    assert any("<img src=x" in n for n in names)  # the text itself, escaped by XML


def test_markdown_is_only_the_summary_and_shows_hostile_text_as_text(project: Path) -> None:
    md = run(project, "markdown").stdout
    assert md.startswith("## ") and "verdict  slice" not in md
    assert "<img" not in md and "&lt;img src=x onerror=alert(1)>" in md
    assert "[click]" not in md and "\\[click\\](https://evil.example)" in md
    assert "a\\|b" in md and "\\*\\*loud\\*\\*" in md and "R&amp;D" in md
    rows = [line for line in md.splitlines() if line.startswith("| ")]
    assert len(rows) >= len(HOSTILE) + 1  # the header and a row per slice
    for row in rows:
        # Every row has the header's number of cells: no "|" from data splits one.
        assert row.replace("\\|", "").count("|") == rows[0].count("|"), row


def test_the_default_summary_still_prints_the_verdicts_on_stdout(project: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(project), "run"])
    assert "verdict" in result.stdout and "checks: " in result.stdout


def test_report_and_xlsx_export_show_control_characters_as_escapes(
    project: Path, tmp_path: Path
) -> None:
    import openpyxl

    run(project, "json")
    page = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["--config", str(project), "report", "-o", str(page)])
    # An ESC in a slice used to make the chart renderer panic and abort the process.
    assert result.exit_code == 0, result.output
    html = page.read_text("utf-8")
    assert "\x1b" not in html and "\x0b" not in html and "red\\x1b[31m" in html
    assert "<img src=x" not in html and "&lt;img src=x" in html
    book = tmp_path / "values.xlsx"
    args = ["--config", str(project), "export", "--format", "xlsx", "-o", str(book)]
    assert CliRunner().invoke(cli, args).exit_code == 0
    sheet = openpyxl.load_workbook(book).active
    assert sheet is not None
    cells = {str(c.value) for row in sheet.iter_rows() for c in row}
    assert "red\\x1b[31m" in cells and "vt\\x0btab" in cells


def test_terminal_tables_show_control_characters_as_escapes(project: Path, tmp_path: Path) -> None:
    """`show`, `baseline show` and the verdict table never print a raw ESC or VT."""
    run(project, "json")
    base = str(tmp_path / "b.json")
    outputs = []
    for args in (
        ["show", "--by", "channel"],
        ["baseline", "save", base],
        ["baseline", "show", base],
    ):
        result = CliRunner().invoke(cli, ["--config", str(project), *args])
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    outputs.append(CliRunner().invoke(cli, ["--config", str(project), "run"]).output)
    for text in outputs:
        assert "\x1b" not in text and "\x0b" not in text
    assert "red\\x1b[31m" in outputs[0] and "vt\\x0btab" in outputs[2]
