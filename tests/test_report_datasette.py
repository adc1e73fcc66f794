"""Datasette that explains itself: a real server, started here, asked through its JSON API."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cxengine.cli import cli
from cxengine.report.datasette import table_descriptions

pytest.importorskip("datasette")


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("datasette")
    rows = ["id,at,touchpoint,recommend"]
    for i in range(240):
        tp = ["web", "shop", "<b>odd</b>"][i % 3]
        rows.append(f"{i},2025-0{1 + i % 3}-1{i % 9} 10:00:00,{tp},{(i * 7) % 11}")
    rows.append("999,2025-01-05 10:00:00,web,ten")  # one reject
    write(root / "data.csv", "\n".join(rows) + "\n")
    write(
        root / "cxengine.yaml",
        "database: cx.db\nmetrics: [specs]\ndatasets:\n  answers:\n    source: csv\n"
        "    path: data.csv\n    key: id\n"
        "    fields: {id: string, at: datetime, touchpoint: string, recommend: integer}\n",
    )
    write(
        root / "specs" / "nps.yaml",
        "name: nps\ntitle: NPS\nkind: nps\ndataset: answers\nfield: recommend\n"
        "by: [touchpoint]\nperiod: month\ntime: at\ntarget: {fail_below: 50}\n",
    )
    result = CliRunner().invoke(cli, ["--config", str(root), "run"])
    assert result.exit_code == 1, result.output  # the target fails: a check to show
    result = CliRunner().invoke(cli, ["--config", str(root), "datasette", "--metadata-only"])
    assert result.exit_code == 0, result.output
    return root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(project: Path) -> Iterator[str]:
    port = free_port()
    command = [
        sys.executable, "-m", "datasette", "serve", str(project / "cx.db"),
        "-m", str(project / "cx.db.metadata.json"), "-p", str(port), "-h", "127.0.0.1",
    ]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}/-/versions.json", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    out = proc.stdout.read().decode() if proc.stdout else ""
                    pytest.fail(f"datasette did not start: {out}")
                time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def get(base: str, path: str, **params: str) -> Any:
    query = urllib.parse.urlencode({**params, "_shape": "array"})
    with urllib.request.urlopen(f"{base}{path}?{query}", timeout=30) as r:
        return json.loads(r.read())


def test_every_table_and_column_is_described(server: str, project: Path) -> None:
    with urllib.request.urlopen(f"{server}/-/metadata.json", timeout=30) as r:
        meta = json.loads(r.read())
    tables = meta["databases"]["cx"]["tables"]
    import sqlite3

    conn = sqlite3.connect(project / "cx.db")
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND name NOT LIKE '\\_%' ESCAPE '\\'"
        )
    ]
    for name in names:
        assert tables[name].get("description"), name
        for _, column, *_ in conn.execute(f'PRAGMA table_info("{name}")'):
            assert tables[name]["columns"].get(column), f"{name}.{column}"
    # The table page shows its description to people.
    with urllib.request.urlopen(f"{server}/cx/rejects", timeout=30) as r:
        assert "Every input row that could not be used" in r.read().decode()


def test_value_rows_has_a_column_per_slice_field(server: str) -> None:
    rows = get(server, "/cx/value_rows.json", metric="nps", touchpoint="web")
    assert rows and {r["period"] for r in rows} >= {"2025-01-01", "2025-02-01", None}
    odd = get(server, "/cx/value_rows.json", touchpoint="<b>odd</b>")
    assert odd and all(r["touchpoint"] == "<b>odd</b>" for r in odd)


def test_canned_queries_answer(server: str) -> None:
    latest = get(server, "/cx/latest_values.json")
    assert [(r["metric"], r["period"]) for r in latest] == [("nps", "2025-03-01")]
    assert latest[0]["n"] == 80 and latest[0]["ci_low"] < latest[0]["value"]
    trend = get(server, "/cx/metric_trend.json", metric="nps")
    assert len(trend) == 4 * 3  # overall and three touchpoints × three months
    rejects = get(server, "/cx/rejects_by_reason.json")
    assert rejects[0]["rows"] == 1 and rejects[0]["first_example"] == "data.csv:242"
    failing = get(server, "/cx/failing_checks.json")
    assert failing and {r["verdict"] for r in failing} == {"fail"}
    assert get(server, "/cx/theme_comments.json", theme="delivery") == []


def test_descriptions_come_from_the_storage_doc() -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "storage.md").read_text("utf-8")
    described = table_descriptions(doc)
    assert described["metric_values"]["columns"]["n"] == "answers counted"
    # A row naming several columns describes each of them.
    assert described["runs"]["columns"]["started"] == described["runs"]["columns"]["finished"]
