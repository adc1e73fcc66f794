"""An engine session only reads, gives up on slow queries, and never leaks credentials.

The connection string lives in the environment only: not in cxengine.yaml, not in
the results database (runs, errors, rejects), not in an error message.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from engine_data import on_postgres, project_on_files

from cxengine.cli import cli
from cxengine.config import load_config
from cxengine.engines import compute_on_engine, open_engine_datasets
from cxengine.engines.postgres import PostgresEngine, PostgresOptions
from cxengine.errors import DataError
from cxengine.plugins import get_registry
from cxengine.runner import run_project, validate_project

SECRET = "s3cr3t-Pa55-word"
DATA = """
id,at,channel,score
a1,2025-01-02 10:00:00,web,5
a2,2025-01-03 10:00:00,web,4
a3,2025-02-03 10:00:00,email,2
a4,2025-02-04 10:00:00,email,9
a5,2025-02-05 10:00:00,phone,x
"""
FIELDS = "id: string\nat: datetime\nchannel: string\nscore: integer\n"
SPECS = {
    "csat": """
        name: csat
        kind: share
        dataset: responses
        field: score
        scale: [1, 5]
        by: [channel]
        period: month
        time: at
    """
}


@pytest.fixture
def project(tmp_path: Path, postgres_dsn: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    files = project_on_files(tmp_path / "files", DATA, FIELDS, SPECS)
    config = on_postgres(files, postgres_dsn, tmp_path / "pg")
    # Trust authentication ignores the password: it is there to be looked for.
    monkeypatch.setenv("CX_TEST_PG_DSN", postgres_dsn.replace("postgres@", f"postgres:{SECRET}@"))
    return config


def _database_text(path: Path) -> str:
    con = sqlite3.connect(path)
    dump = "\n".join(con.iterdump())
    con.close()
    return dump + path.read_bytes().decode("latin-1")


def test_a_stored_run_holds_no_connection_string(project: Path) -> None:
    result = run_project(load_config(project))
    assert result.values
    text = _database_text(project.parent / "cx.db")
    assert SECRET not in text and "127.0.0.1" not in text


def test_a_failed_connection_names_no_password_anywhere(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CX_TEST_PG_DSN", f"postgresql://cx:{SECRET}@127.0.0.1:1/nowhere")
    with pytest.raises(DataError) as caught:
        run_project(load_config(project))
    assert SECRET not in str(caught.value) and "engine 'postgres' failed" in str(caught.value)
    assert caught.value.__suppress_context__  # the driver's own text is not chained
    text = _database_text(project.parent / "cx.db")
    assert "failed" in text and SECRET not in text
    out = CliRunner().invoke(cli, ["--config", str(project), "run"])
    assert out.exit_code != 0 and SECRET not in out.output


def test_a_missing_variable_is_a_clear_error(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CX_TEST_PG_DSN")
    with pytest.raises(DataError, match=r"CX_TEST_PG_DSN .* is not set"):
        run_project(load_config(project), store=False)


def test_the_session_is_read_only_and_times_out(postgres_dsn: str) -> None:
    engine = PostgresEngine()
    options = PostgresOptions(table="pg_catalog.pg_type", statement_timeout=0.3)
    session = engine.connect(postgres_dsn, options)
    try:
        with pytest.raises(Exception, match="read-only transaction"):
            session.fetch("CREATE TABLE cx_should_not_exist (a int)")
        with pytest.raises(Exception, match="statement timeout"):
            session.fetch("SELECT pg_sleep(3)")
        assert session.fetch("SHOW TimeZone")[1] == [("UTC",)]
    finally:
        session.close()


def test_a_query_that_writes_is_refused_before_it_runs(project: Path) -> None:
    text = project.read_text(encoding="utf-8")
    table = text.split("table: ", 1)[1].split("\n", 1)[0]
    for query in (f"DELETE FROM {table}", f"SELECT 1; DROP TABLE {table}"):
        project.write_text(text.replace(f"table: {table}", f"query: '{query}'"), "utf-8")
        _, problems = validate_project(load_config(project))
        assert any("query" in p.path and "SELECT" in p.message for p in problems), problems


def test_a_read_only_query_works_like_a_table(project: Path) -> None:
    text = project.read_text(encoding="utf-8")
    table = text.split("table: ", 1)[1].split("\n", 1)[0]
    by_table = run_project(load_config(project), store=False)
    project.write_text(
        text.replace(f"table: {table}", f"query: SELECT * FROM {table} WHERE id <> 'zz'"), "utf-8"
    )
    by_query = run_project(load_config(project), store=False)
    assert [v.value for v in by_query.values] == [v.value for v in by_table.values]


def test_only_aggregate_rows_come_back(project: Path) -> None:
    config = load_config(project)
    registry = get_registry()
    spec = next(s for s in validate_project(config)[0] if s.name == "csat").spec
    with open_engine_datasets(config, registry, {"responses"}) as opened:
        ds = opened["responses"]
        before = ds.rows_fetched
        result = compute_on_engine(ds, spec, registry.aggregation("share"))
        fetched = ds.rows_fetched - before
    groups = {(v.period, v.slice_key) for v in result.values}
    # One row per group of the grouped query (a month × channel with no usable score
    # is a group with n = 0), plus one per excluded example: never the rows.
    assert fetched <= len(groups) + len(result.excluded)
    assert len(result.excluded) == 1 and fetched == 10
    assert len(result.excluded) == 1  # the 9 outside the 1–5 scale
