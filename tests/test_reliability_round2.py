"""Reliability round 2 (issue 13): what an outside attack found, one test per defect class.

Each test reproduces an attack (or a variant of it) and asserts the outcome the
project promises: a located error with the right exit code, or a correct run — never
a traceback, a hang, a wrong number or a lost run. See docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cxengine.cli import cli
from cxengine.store.results import ResultsStore, StoreError
from tests.reliability_project import make_survey_project


def write_project(
    root: Path, datasets: dict[str, dict[str, Any]], specs: dict[str, str], extra: str = ""
) -> Path:
    """Write cxengine.yaml (datasets as JSON flow mappings) and the specs; return the config."""
    (root / "metric_specs").mkdir(parents=True, exist_ok=True)
    for name, text in specs.items():
        (root / "metric_specs" / f"{name}.yaml").write_text(textwrap.dedent(text), "utf-8")
    lines = ["database: cx.db", "metrics: [metric_specs]", *extra.splitlines(), "datasets:"]
    lines += [f"  {name}: {json.dumps(cfg, ensure_ascii=False)}" for name, cfg in datasets.items()]
    config = root / "cxengine.yaml"
    config.write_text("\n".join(lines) + "\n", "utf-8")
    return config


def count_spec(dataset: str = "d", name: str = "rows") -> str:
    return f"name: {name}\nkind: count\ndataset: {dataset}\n"


def cx(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def handled(result: Result, code: int) -> str:
    """Assert a handled exit with this code (no traceback); return stderr."""
    assert result.exit_code == code, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit | None), result.exception
    assert "Traceback" not in result.output
    return result.stderr


# ------------------------------------------------ item 5: not a regular file


@pytest.mark.parametrize("source", ["csv", "jsonl", "json", "excel", "parquet", "sqlite", "xml"])
def test_a_fifo_as_dataset_path_is_refused_not_a_hang(tmp_path: Path, source: str) -> None:
    os.mkfifo(tmp_path / "pipe.data")
    cfg: dict[str, Any] = {"source": source, "path": "pipe.data"}
    cfg.update(
        {"sqlite": {"table": "t"}, "xml": {"record": "r", "columns": {"id": "@id"}}}.get(source, {})
    )
    config = write_project(tmp_path, {"d": cfg}, {"rows": count_spec()})
    # Had the FIFO been opened, this would block forever (no writer ever comes).
    message = handled(cx(config, "run", "--json"), 1)
    assert "pipe.data is a named pipe (FIFO), not a regular file" in message


@pytest.mark.parametrize("source", ["csv", "jsonl", "json"])
def test_a_device_file_is_refused_even_through_a_symlink(tmp_path: Path, source: str) -> None:
    (tmp_path / "data.csv").symlink_to("/dev/zero")
    config = write_project(
        tmp_path, {"d": {"source": source, "path": "data.csv"}}, {"rows": count_spec()}
    )
    # Allowed by --allow-path, /dev/zero is still not a regular file.
    message = handled(cx(config, "--allow-path", "/dev", "run", "--json"), 1)
    assert "is a device file, not a regular file" in message


# ------------------------------------------------ item 20: paths stay in the project


@pytest.mark.parametrize(
    "path", ["../outside/secret.csv", "{outside}/secret.csv", "link.csv", "linkdir/secret.csv"]
)
def test_a_path_outside_the_project_needs_allow_paths(tmp_path: Path, path: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text("id\nTOP-SECRET-LINE\n", "utf-8")
    project = tmp_path / "project"
    project.mkdir()
    (project / "link.csv").symlink_to(outside / "secret.csv")
    (project / "linkdir").symlink_to(outside)
    cfg = {"source": "csv", "path": path.format(outside=outside), "fields": {"id": "integer"}}
    config = write_project(project, {"d": cfg}, {"rows": count_spec()})
    message = handled(cx(config, "run", "--json"), 1)
    assert "is outside the project folder" in message
    assert "allow_paths" in message
    assert "TOP-SECRET" not in message
    assert not (project / "cx.db").exists() or _ok_runs(project / "cx.db") == 0

    # Allowed in cxengine.yaml, the same path is read (and its bad line is a reject).
    write_project(project, {"d": cfg}, {"rows": count_spec()}, extra=f"allow_paths: [{outside}]")
    result = cx(config, "run", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["datasets"]["d"]["read"] == 1

    # Or on the command line.
    write_project(project, {"d": cfg}, {"rows": count_spec()})
    assert cx(config, "--allow-path", str(outside), "run", "--json").exit_code == 0


def test_xml_globs_are_held_to_the_project_folder_too(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "a.xml").write_text("<root><r id='1'/></root>", "utf-8")
    project = tmp_path / "project"
    project.mkdir()
    cfg = {"source": "xml", "path": "../outside/*.xml", "record": "r", "columns": {"id": "@id"}}
    config = write_project(project, {"d": cfg}, {"rows": count_spec()})
    assert "is outside the project folder" in handled(cx(config, "run", "--json"), 1)


def _ok_runs(db: Path) -> int:
    with sqlite3.connect(db) as con:
        return int(con.execute("SELECT count(*) FROM runs WHERE status = 'ok'").fetchone()[0])


# ------------------------------------------------ item 13: excel given something else


@pytest.mark.parametrize("name", ["data.csv", "data.txt", "data", "data.xlsx"])
def test_excel_given_a_text_file_is_a_located_error(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("id,score\n1,5\n", "utf-8")
    config = write_project(
        tmp_path, {"d": {"source": "excel", "path": name}}, {"rows": count_spec()}
    )
    message = handled(cx(config, "run", "--json"), 1)
    assert f"{name}: not a readable .xlsx workbook" in message
    assert "source: csv" in message


def test_excel_reads_a_workbook_whatever_its_name(tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(["id", "score"])
    wb.active.append([1, 5])
    wb.save(tmp_path / "book.xlsx")
    (tmp_path / "book.xlsx").rename(tmp_path / "export")
    config = write_project(
        tmp_path, {"d": {"source": "excel", "path": "export"}}, {"rows": count_spec()}
    )
    result = cx(config, "run", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["datasets"]["d"]["used"] == 1


def test_excel_with_a_damaged_sheet_is_located_without_a_traceback(tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    for i in range(60):
        wb.active.append([f"r{i}", i])
    wb.save(tmp_path / "ok.xlsx")
    with (
        zipfile.ZipFile(tmp_path / "ok.xlsx") as zin,
        zipfile.ZipFile(tmp_path / "cut.xlsx", "w") as zout,
    ):
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename.startswith("xl/worksheets/sheet1"):
                data = data[: len(data) // 2]
            zout.writestr(item, data)
    config = write_project(
        tmp_path, {"d": {"source": "excel", "path": "cut.xlsx"}}, {"rows": count_spec()}
    )
    message = handled(cx(config, "run", "--json"), 1)
    assert "cut.xlsx[Sheet]: cannot read the sheet after row" in message
    assert "Python exception" not in message


# ------------------------------------------------ item 12: usage errors


@pytest.fixture(scope="module")
def survey(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = make_survey_project(tmp_path_factory.mktemp("survey"), rows=120)
    assert cx(project / "cxengine.yaml", "run", "--json").exit_code == 0
    return project


def test_an_unknown_format_is_a_usage_error(survey: Path) -> None:
    message = handled(cx(survey / "cxengine.yaml", "run", "--format", "nope"), 2)
    assert "'--format'" in message and "no reporter named 'nope'" in message
    assert "Known: " in message and "markdown" in message
    assert "KeyError" not in message


@pytest.mark.parametrize(
    "args",
    [
        ("run", "--metric", "csatt"),
        ("compare", "last", "last", "--metric", "csatt"),
    ],
)
def test_a_metric_typo_is_a_usage_error_with_a_hint(survey: Path, args: tuple[str, ...]) -> None:
    message = handled(cx(survey / "cxengine.yaml", *args), 2)
    assert "no metric named 'csatt' (did you mean 'csat'?)" in message
    assert ": no metric" not in message.replace("'--metric': no metric", "")


def test_a_metric_typo_in_baseline_show_is_a_usage_error(survey: Path, tmp_path: Path) -> None:
    config = survey / "cxengine.yaml"
    assert cx(config, "baseline", "save", str(tmp_path / "b.json")).exit_code == 0
    message = handled(cx(config, "baseline", "show", str(tmp_path / "b.json"), "-m", "np"), 2)
    assert "no metric named 'np' (did you mean 'nps'?)" in message


def test_a_problem_without_a_file_prints_no_empty_prefix() -> None:
    from cxengine.errors import Problem

    assert str(Problem("", 0, "--metric", "no metric named 'x'")) == "--metric: no metric named 'x'"
    assert str(Problem("", 0, "", "m")) == "m"
    assert str(Problem("a.yaml", 3, "by", "m")) == "a.yaml:3: by: m"


# ------------------------------------------------ item 11: the results database


def _survey_copy(tmp_path: Path) -> Path:
    return make_survey_project(tmp_path / "p", rows=60) / "cxengine.yaml"


def test_a_text_file_named_cx_db_is_a_located_error(tmp_path: Path) -> None:
    config = _survey_copy(tmp_path)
    (config.parent / "cx.db").write_text("my notes\n", "utf-8")
    for args in (("run", "--json"), ("compare", "last", "last")):
        message = handled(cx(config, *args), 1)
        assert f"results database {config.parent / 'cx.db'} is not an SQLite database" in message
    assert (config.parent / "cx.db").read_text("utf-8") == "my notes\n", "never overwritten"


def test_a_truncated_database_is_a_located_error(tmp_path: Path) -> None:
    config = _survey_copy(tmp_path)
    assert cx(config, "run", "--json").exit_code == 0
    db = config.parent / "cx.db"
    with sqlite3.connect(db) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 3])
    for args in (("run", "--json"), ("compare", "last", "last")):
        message = handled(cx(config, *args), 1)
        assert "is damaged (truncated or overwritten)" in message


def test_a_database_from_a_newer_schema_is_refused_and_left_alone(tmp_path: Path) -> None:
    config = _survey_copy(tmp_path)
    assert cx(config, "run", "--json").exit_code == 0
    db = config.parent / "cx.db"
    with sqlite3.connect(db) as con:
        con.execute(
            "INSERT INTO _cxengine_migrations (id, name, applied) VALUES (999, 'm_future', '')"
        )
        con.execute("ALTER TABLE metric_values ADD COLUMN future TEXT NOT NULL DEFAULT 'x'")
        runs_before = con.execute("SELECT count(*) FROM runs").fetchone()[0]
    for args in (("run", "--json"), ("compare", "last", "last")):
        message = handled(cx(config, *args), 1)
        assert "was written by a newer cxengine" in message and "'m_future'" in message
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == runs_before


def test_a_full_disk_reports_the_real_error(tmp_path: Path) -> None:
    """SQLite rolls back by itself when the disk is full; our ROLLBACK must not hide it."""
    store = ResultsStore(tmp_path / "cx.db")
    pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    store.conn.execute(f"PRAGMA max_page_count = {pages}")  # the disk is "full" now
    from tests.test_store import value

    rows = [value(slice_=f'{{"k": "{i}{"x" * 5000}"}}') for i in range(50)]
    with pytest.raises(StoreError, match="full") as caught:
        store.finish_run("r1", metrics=[], values=rows, rejects=[], meta={})
    assert "no transaction is active" not in str(caught.value)
    assert str(tmp_path / "cx.db") in str(caught.value)
    store.close()


def test_read_only_commands_work_on_a_read_only_database(tmp_path: Path) -> None:
    """As root chmod stops nothing, so the commands run as `nobody` in a child process."""
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("nobody")
        except (ImportError, KeyError):
            pytest.skip("running as root and there is no 'nobody' user")
    import shutil
    import tempfile

    project = Path(tempfile.mkdtemp(prefix="cx-readonly-"))
    try:
        make_survey_project(project, rows=60)
        assert cx(project / "cxengine.yaml", "run", "--json").exit_code == 0
        for path in [project, *project.rglob("*")]:
            path.chmod(0o555 if path.is_dir() else 0o444)
        out = Path(tempfile.mkdtemp(prefix="cx-out-"))
        out.chmod(0o777)
        child = textwrap.dedent(
            """
            import os, sys, pwd
            import encodings.utf_8_sig, encodings.latin_1
            import duckdb, pyarrow, sqlite_utils, scipy.special
            import cxengine.runner, cxengine.compare, cxengine.compare.stored
            import cxengine.compare.evaluate, cxengine.cli.checks, cxengine.cli.usage
            from click.testing import CliRunner
            from cxengine.cli import cli
            from cxengine.plugins import get_registry
            get_registry()
            if os.geteuid() == 0:
                nobody = pwd.getpwnam("nobody")
                os.setgid(nobody.pw_gid)
                os.setuid(nobody.pw_uid)
            for args in (["baseline", "save", sys.argv[2]], ["compare", "last", "last"],
                         ["run", "--json"]):
                r = CliRunner().invoke(cli, ["--config", sys.argv[1], *args])
                print(r.exit_code, type(r.exception).__name__, r.stderr.strip()[-300:])
            """
        )
        done = subprocess.run(
            [sys.executable, "-c", child, str(project), str(out / "b.json")],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        save, compare, run = done.stdout.splitlines()[:3]
        assert save.startswith("0 "), save
        assert compare.startswith("0 "), compare
        assert run.startswith("1 SystemExit"), run
        assert "cannot be written (read-only file or folder)" in run
        shutil.rmtree(out, ignore_errors=True)
    finally:
        for path in [project, *project.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        shutil.rmtree(project, ignore_errors=True)


# ------------------------------------------------ item 15: every output format is safe

HOSTILE = ["web\x1b[31mRED", "app\x0bvt", "mail\x00nul", "shop\u202eevil", "chat\r\n::error::x"]


@pytest.fixture(scope="module")
def hostile_gate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A project whose slice values carry control characters, run against a baseline."""
    root = tmp_path_factory.mktemp("hostile")
    lines = ["id,channel,score"]
    for i in range(400):
        channel = HOSTILE[i % len(HOSTILE)].replace('"', "")
        lines.append(f'{i},"{channel}",{1 + (i * 7) % 5}')
    (root / "data.csv").write_text("\n".join(lines) + "\n", "utf-8")
    spec = (
        "name: csat\nkind: share\ndataset: d\nfield: score\nscale: [1, 5]\npositive: [4, 5]\n"
        "by: [channel]\nregression: {max_drop: 0.001, confidence: 0.6}\n"
        "target: {fail_below: 0.99}\n"
    )
    config = write_project(
        root,
        {"d": {"source": "csv", "path": "data.csv", "fields": {"id": "integer", "channel":
               "string", "score": "integer"}}},
        {"csat": spec},
    )  # fmt: skip
    assert cx(config, "run", "--json").exit_code == 1  # the target fails, the run is stored
    assert cx(config, "baseline", "save", str(root / "b.json")).exit_code == 0
    return root, config


def _no_raw_controls(text: str, allowed: str = "\n", bidi: bool = False) -> None:
    bad = [c for c in text if (ord(c) < 32 and c not in allowed) or 0x7F <= ord(c) <= 0x9F]
    assert not bad, f"raw control characters {bad!r} in output"
    assert bidi or "\u202e" not in text


def test_junit_and_markdown_stay_valid_with_control_characters_in_slices(
    hostile_gate: tuple[Path, Path],
) -> None:
    import xml.etree.ElementTree as ET

    root, config = hostile_gate
    junit, markdown = root / "checks.xml", root / "checks.md"
    result = cx(
        config, "run", "--baseline", str(root / "b.json"),
        "--junit", str(junit), "--markdown", str(markdown),
    )  # fmt: skip
    assert result.exit_code == 1, result.output  # the target fails: that is the point
    tree = ET.parse(junit)  # parses: the XML is well-formed
    names = [case.get("name") or "" for case in tree.iter("testcase")]
    assert any("\\x1b[31mRED" in n for n in names), names
    assert any("\\x0bvt" in n for n in names), names
    _no_raw_controls(junit.read_text("utf-8"))
    md = markdown.read_text("utf-8")
    _no_raw_controls(md)
    assert "web\\\\x1b\\[31mRED" in md  # the escape shown, "\\" and "[" escaped for Markdown
    for line in md.splitlines():  # a CR/LF in a value must not break a table row
        assert not line.startswith("::error")


@pytest.mark.parametrize("fmt", ["table", "checks", "github", "markdown", "junit", "json"])
def test_every_format_prints_control_characters_visibly(
    hostile_gate: tuple[Path, Path], fmt: str
) -> None:
    root, config = hostile_gate
    result = cx(config, "run", "--format", fmt, "--baseline", str(root / "b.json"))
    assert result.exit_code in (0, 1), result.output
    # JSON keeps text exactly: its escaping covers control characters, and a bidi
    # override is a legitimate character there.
    _no_raw_controls(result.stdout, bidi=fmt == "json")
    _no_raw_controls(result.stderr)
    if fmt == "github":
        # A CR/LF in a value cannot start a workflow command of its own.
        assert not any(line.startswith("::error::x") for line in result.stdout.splitlines())
    if fmt == "json":
        doc, _end = json.JSONDecoder().raw_decode(result.stdout)  # the checks table follows
        slices = {v["slice"]["channel"] for v in doc["values"] if v["slice"]}
        assert "web\x1b[31mRED" in slices, "JSON keeps the data exactly (escaped by JSON)"


def test_visible_escapes_only_what_is_unsafe() -> None:
    from cxengine.textsafe import visible

    assert visible("a\x1bb\x0bc\x7f\x85") == "a\\x1bb\\x0bc\\x7f\\x85"
    assert visible("line\nnext\ttab", keep="\n") == "line\nnext\\x09tab"
    assert visible("Привет, café ✓") == "Привет, café ✓"
    assert visible("\u202eabc\ufeff") == "\\u202eabc\\ufeff"


# ------------------------------------------------ item 9: tampered baselines


@pytest.fixture(scope="module")
def gate_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A stored run and its baseline file text."""
    project = make_survey_project(tmp_path_factory.mktemp("gate"), rows=300)
    config = project / "cxengine.yaml"
    assert cx(config, "run", "--json").exit_code == 0
    assert cx(config, "baseline", "save", str(project / "b.json")).exit_code == 0
    return project, (project / "b.json").read_text("utf-8")


def _entry_line(text: str, metric: str) -> tuple[int, dict[str, Any]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if f'"metric": "{metric}", "period": ""' in line:
            return number, json.loads(line.strip().rstrip(","))
    raise AssertionError(metric)


@pytest.mark.parametrize(
    ("metric", "tamper", "message"),
    [
        ("csat", lambda e: e["counts"].update(positive=e["n"] + 9), "cannot exceed n"),
        ("csat", lambda e: e["counts"].update(positive=-3), "positive cannot be negative"),
        ("csat", lambda e: e["counts"].update(positive=10**400), "expected a finite number"),
        ("csat", lambda e: e.update(n=10**400), "is larger than 2^53"),
        ("nps", lambda e: e["counts"].update(promoters=e["n"], detractors=1), "cannot exceed n"),
        ("nps", lambda e: e["counts"].update(detractors=-1), "detractors cannot be negative"),
        ("csat", lambda e: e.update(value=e["value"] / 2), "contradicts its counts"),
        ("csat_mean", lambda e: e.update(value=e["value"] + 1), "contradicts its counts"),
        ("csat_mean", lambda e: e["counts"].update(sum_sq=0), "sum_sq"),
        ("csat_mean", lambda e: e["counts"].update(sum_sq=1e300), "significance test cannot use"),
        ("ces", lambda e: e["counts"].update(n=e["n"] + 1), "n is"),
    ],
)
def test_a_tampered_baseline_is_a_located_usage_error_and_the_run_is_not_lost(
    gate_project: tuple[Path, str], tmp_path: Path, metric: str, tamper: Any, message: str
) -> None:
    project, text = gate_project
    number, entry = _entry_line(text, metric)
    tamper(entry)
    lines = text.splitlines()
    lines[number - 1] = "    " + json.dumps(entry) + ","
    bad = tmp_path / "baseline.json"
    bad.write_text("\n".join(lines) + "\n", "utf-8")
    before = _ok_runs(project / "cx.db")
    stderr = handled(cx(project / "cxengine.yaml", "run", "--baseline", str(bad)), 2)
    assert f"{bad}:{number}: values[" in stderr and message in stderr, stderr
    assert _ok_runs(project / "cx.db") == before
    with sqlite3.connect(project / "cx.db") as con:
        assert not con.execute("SELECT count(*) FROM runs WHERE status = 'failed'").fetchone()[0]


def test_a_comparison_that_fails_never_discards_the_computed_run(
    gate_project: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever breaks in the comparison, the good run is stored and the error named."""
    import cxengine.compare

    project, _text = gate_project

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise ValueError("p-value must be within 0…1, got nan")

    monkeypatch.setattr(cxengine.compare, "evaluate_run", broken)
    db = project / "cx.db"
    with sqlite3.connect(db) as con:
        con.execute("DELETE FROM runs")
    result = cx(project / "cxengine.yaml", "run", "--baseline", str(project / "b.json"))
    stderr = handled(result, 3)
    assert "the comparison with the baseline failed: ValueError: p-value" in stderr
    assert "is stored" in stderr
    with sqlite3.connect(db) as con:
        status, values = con.execute("SELECT status, value_count FROM runs").fetchone()
    assert (status, values) == ("ok", 364)


# ------------------------------------------------ item 14: interrupts

SLOW_RUN = """
import sys, time
import cxengine.dataset.load as load
from cxengine.cli import main

real = load.load_dataset

def slow(con, *args, **kwargs):
    sys.stderr.write("LOADING\\n"); sys.stderr.flush()
    if sys.argv[1] == "duckdb":  # interrupted inside a DuckDB query
        con.execute("SELECT count(*) FROM range(1000000000000) a").fetchall()
    else:
        time.sleep(600)
    return real(con, *args, **kwargs)

load.load_dataset = slow
main(["run", "--json"])
"""


@pytest.mark.parametrize(
    ("signame", "code", "where"),
    [
        ("SIGINT", 130, "python"),
        ("SIGINT", 130, "duckdb"),
        ("SIGTERM", 143, "python"),
        ("SIGTERM", 143, "duckdb"),
    ],
)
def test_a_signal_ends_the_run_as_interrupted(
    tmp_path: Path, where: str, signame: str, code: int
) -> None:
    import signal
    import time

    project = make_survey_project(tmp_path, rows=40)
    env = dict(os.environ)
    env.pop("CXENGINE_CONFIG", None)
    child = subprocess.Popen(
        [sys.executable, "-c", SLOW_RUN, where],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stderr is not None
        assert child.stderr.readline().strip() == "LOADING"  # the run is recorded by now
        time.sleep(0.3)
        child.send_signal(getattr(signal, signame))
        _stdout, stderr = child.communicate(timeout=60)
    finally:
        child.kill()
    assert child.returncode == code, stderr
    assert f"interrupted ({signame})" in stderr
    assert "internal error" not in stderr and "Traceback" not in stderr
    with sqlite3.connect(project / "cx.db") as con:
        rows = con.execute("SELECT status, error FROM runs").fetchall()
    assert rows == [("interrupted", f"interrupted by {signame}")]


# ------------------------------------------------ item 10: plugins that misbehave at load

MISBEHAVING = ("cxengine_exits_plugin", "cxengine_systemexit_plugin", "cxengine_noisy_plugin",
               "cxengine_clashing_plugin")  # fmt: skip


@pytest.fixture
def plugin_survey(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    project = make_survey_project(tmp_path, rows=60)
    monkeypatch.chdir(project)
    monkeypatch.delenv("CXENGINE_CONFIG", raising=False)
    yield project
    for name in MISBEHAVING:
        sys.modules.pop(name, None)


def _main(*args: str) -> int:
    from cxengine.cli import main

    with pytest.raises(SystemExit) as code:
        main(list(args))
    return int(code.value.code or 0)


@pytest.mark.parametrize(
    ("module", "named"),
    [
        ("cxengine_exits_plugin", "called sys.exit(0) while loading"),
        ("cxengine_systemexit_plugin", "called sys.exit('missing licence key')"),
        ("cxengine_clashing_plugin", "registers aggregations 'nps', already provided"),
    ],
)
def test_a_plugin_that_exits_or_clashes_is_skipped_and_named(
    plugin_survey: Path,
    fake_entry_points: Any,
    capsys: pytest.CaptureFixture[str],
    module: str,
    named: str,
) -> None:
    fake_entry_points("misbehaving", module)
    assert _main("run", "--json") == 0  # the run itself is fine without the plugin
    out, err = capsys.readouterr()
    assert json.loads(out)["values"], "the run computed and printed its values"
    assert "plugin 'misbehaving'" in err and named in err
    # Strict mode makes it fatal (exit 3), still naming it.
    assert _main("--strict-plugins", "run", "--json") == 3
    out, err = capsys.readouterr()
    assert out == ""
    assert "plugin 'misbehaving'" in err and named in err


def test_a_plugin_printing_at_import_does_not_corrupt_json_stdout(
    plugin_survey: Path, fake_entry_points: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_entry_points("noisy", "cxengine_noisy_plugin")
    assert _main("run", "--json") == 0
    out, err = capsys.readouterr()
    json.loads(out)  # one parseable document
    assert "hello from a noisy plugin" in err


def test_a_slow_plugin_is_named_while_it_loads(
    fake_entry_points: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import cxengine.plugins as plugins

    (tmp_path / "cxengine_slow_plugin.py").write_text("import time\ntime.sleep(0.5)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(plugins, "SLOW_LOAD_S", 0.05)
    fake_entry_points("slow", "cxengine_slow_plugin")
    warnings: list[str] = []
    try:
        plugins.get_plugin_manager(warn=warnings.append)
    finally:
        sys.modules.pop("cxengine_slow_plugin", None)
    assert any("still loading plugin 'slow'" in w for w in warnings), warnings


# ------------------------------------------------ item 17: formula with a tiny divisor


@pytest.mark.parametrize(
    ("expression", "value_is_empty"),
    [("csat / 1e-320", True), ("csat / 1e-160", False), ("csat * 1e300 * 1e300", True),
     ("csat / (nps - nps + 1e-320)", True)],
)  # fmt: skip
def test_a_formula_with_a_tiny_divisor_gives_an_empty_value_not_a_crash(
    tmp_path: Path, expression: str, value_is_empty: bool
) -> None:
    project = make_survey_project(tmp_path, rows=80)
    (project / "metric_specs" / "ratio.yaml").write_text(
        f"name: ratio\nkind: formula\nexpression: {expression}\n", "utf-8"
    )
    result = cx(project / "cxengine.yaml", "run", "--json")
    assert result.exit_code == 0, result.output
    values = [v for v in json.loads(result.stdout)["values"] if v["metric"] == "ratio"]
    # Slices where an input has no value are empty for that reason, not this one.
    values = [v for v in values if not any(w in (v["note"] or "") for w in ("empty", "no value"))]
    assert values
    for v in values:
        if value_is_empty and v["value"] != 0.0:  # 0 / 1e-320 is 0, rightly
            assert v["value"] is None and "not a finite number" in v["note"], v
        else:
            assert v["value"] is not None and v["ci_low"] is None, v


# ------------------------------------------------ item 3: backlog slices never open


def test_a_backlog_slice_never_open_at_a_period_end_gets_zeros(tmp_path: Path) -> None:
    lines = ["id,channel,opened,closed"]
    # email tickets stay open across month ends; chat tickets close within the hour.
    for i in range(30):
        day = 1 + i % 27
        lines.append(f"e{i},email,2024-0{1 + i % 3}-{day:02d}T10:00:00,")
        month = f"2024-0{1 + i % 3}-{day:02d}"
        lines.append(f"c{i},chat,{month}T10:00:00,{month}T10:30:00")
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n", "utf-8")
    fields = {"id": "string", "channel": "string", "opened": "datetime", "closed": "datetime"}
    spec = (
        "name: backlog\nkind: backlog\ndataset: t\nopened: opened\nclosed: closed\n"
        "older_than: 0s\nby: [channel]\nperiod: month\n"
    )
    config = write_project(tmp_path, {"t": {"source": "csv", "path": "t.csv", "fields": fields}},
                           {"backlog": spec})  # fmt: skip
    result = cx(config, "run", "--json", "--no-store")
    assert result.exit_code == 0, result.output
    values = json.loads(result.stdout)["values"]
    by_channel: dict[str, list[Any]] = {}
    for v in values:
        if v["slice"]:
            by_channel.setdefault(v["slice"]["channel"], []).append(v)
    assert set(by_channel) == {"email", "chat"}
    periods = {v["period"] for v in by_channel["email"]}
    assert {v["period"] for v in by_channel["chat"]} == periods
    assert all(v["value"] == 0 for v in by_channel["chat"])


# ------------------------------------------------ item 4: extreme dates


@pytest.mark.parametrize(
    "stamp",
    ["0001-01-01T00:00:00", "9999-12-31T23:59:59", "0001-01-01T00:00:00+05:00",
     "0000-01-01T00:00:00", "10000-01-01T00:00:00", "-0005-03-01T00:00:00"],
)  # fmt: skip
@pytest.mark.parametrize("period", ["day", "month"])
def test_an_extreme_date_neither_hangs_nor_crashes_the_run(
    tmp_path: Path, stamp: str, period: str
) -> None:
    lines = ["id,at,score,opened,closed"]
    for i in range(400):
        day = f"2024-03-{1 + i % 28:02d}T10:00:00"
        lines.append(f"{i},{day},{1 + i % 5},{day},{day if i % 2 else ''}")
    lines.append(f"400,{stamp},5,{stamp},{stamp}")
    lines.append(f"401,2024-03-05T10:00:00,4,2024-03-05T10:00:00,{stamp}")
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n", "utf-8")
    fields = {"id": "integer", "at": "datetime", "score": "integer", "opened": "datetime",
              "closed": "datetime"}  # fmt: skip
    specs = {
        "csat": f"name: csat\nkind: share\ndataset: d\nfield: score\nscale: [1, 5]\n"
        f"positive: [4, 5]\ntime: at\nperiod: {period}\n",
        "backlog": f"name: backlog\nkind: backlog\ndataset: d\nopened: opened\nclosed: closed\n"
        f"older_than: 1d\nperiod: {period}\n",
    }
    config = write_project(
        tmp_path, {"d": {"source": "csv", "path": "d.csv", "fields": fields}}, specs
    )
    result = cx(config, "run", "--json")
    assert result.exit_code in (0, 1), result.output
    assert isinstance(result.exception, SystemExit | None), repr(result.exception)
    assert "Traceback" not in result.output
    if result.exit_code == 0:
        doc = json.loads(result.stdout)
        assert len(doc["values"]) < 25_000, "empty periods are filled within bounds"
        ds = doc["datasets"]["d"]
        assert ds["read"] == ds["used"] + ds["rejected"] == 402
    else:
        assert "error:" in result.stderr
