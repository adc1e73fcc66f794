"""Specs pushed down to a real PostgreSQL server give the embedded engine's numbers.

The demo project's datasets go into PostgreSQL as text, exactly as their sources read
them; the same specs then run with `engine: postgres` and every value, interval, n,
excluded and rejected count must equal the DuckDB run's.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from engine_data import (
    assert_same_datasets,
    assert_same_values,
    engine_project,
    raw_tables,
    to_postgres,
)

from cxengine.config import load_config
from cxengine.runner import RunResult, run_project, validate_project

#: The demo's specs an engine does not run yet: weighting (raking) runs in DuckDB only,
#: and a drivers kind counts levels with DuckDB's histogram() map aggregate.
PG_REFUSED: set[str] = {"nps_invited", "nps_by_reopened"}


@pytest.fixture(scope="module")
def pg_demo(demo: Path, postgres_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tables = raw_tables(demo)
    to_postgres(postgres_dsn, tables, "cx")
    relations = {name: {"table": f"cx.{name}"} for name in tables}
    return engine_project(
        demo, tmp_path_factory.mktemp("pg"), "postgres", relations, "CX_TEST_PG_DSN"
    )


@pytest.fixture(scope="module")
def pg_runnable(demo: Path, pg_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo on postgres without the specs validate refuses there."""
    relations = {name: {"table": f"cx.{name}"} for name in raw_tables(demo)}
    return engine_project(
        demo, tmp_path_factory.mktemp("pg_ok"), "postgres", relations, "CX_TEST_PG_DSN",
        without_specs=PG_REFUSED,
    )  # fmt: skip


@pytest.fixture
def pg_env(postgres_dsn: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CX_TEST_PG_DSN", postgres_dsn)
    return postgres_dsn


def test_every_demo_spec_validates_for_postgres(pg_demo: Path) -> None:
    _, problems = validate_project(load_config(pg_demo))
    refused = {Path(p.file).stem for p in problems if p.severity == "error"}
    assert refused == PG_REFUSED, problems


def test_every_other_demo_spec_gives_the_same_numbers_on_postgres(
    pg_runnable: Path, pg_env: str, embedded: RunResult
) -> None:
    ours = run_project(load_config(pg_runnable), store=False)
    names = {s.name for s in ours.specs}
    assert names == {
        s.name for s in embedded.specs if s.name.removesuffix("_weighted") not in PG_REFUSED
    }
    theirs = RunResult(
        embedded.run_id, [s for s in embedded.specs if s.name in names],
        [v for v in embedded.values if v.metric in names], embedded.datasets,
        embedded.rejects, None,
    )  # fmt: skip
    assert assert_same_values(theirs, ours) > 500
    assert_same_datasets(theirs, ours)
    # Only aggregates came back: per dataset, at most one row per value (each group of
    # a grouped query is a value), per reject example and per one-row query.
    for name, stats in ours.datasets.items():
        traffic = stats.engine
        assert traffic is not None and traffic["name"] == "postgres"
        specs = {s.name for s in ours.specs if s.spec.dataset == name}
        values = sum(1 for v in ours.values if v.metric in specs)
        examples = sum(1 for r in ours.rejects if r.dataset == name)
        assert traffic["rows_fetched"] <= values + examples + traffic["queries"], name


def test_cli_json_and_the_gate_work_unchanged_on_postgres(
    demo: Path, postgres_dsn: str, tmp_path: Path
) -> None:
    """`cxengine run --json` on postgres equals the embedded run; the gate judges it alike."""
    import json

    import psycopg
    from click.testing import CliRunner
    from engine_data import to_postgres

    from cxengine.cli import cli

    runner = CliRunner()
    embedded_dir = tmp_path / "embedded"
    shutil.copytree(demo.parent, embedded_dir, ignore=shutil.ignore_patterns("*.db"))
    for name in PG_REFUSED:
        (embedded_dir / "metric_specs" / f"{name}.yaml").unlink()
    base = runner.invoke(cli, ["--config", str(embedded_dir / "cxengine.yaml"), "run", "--json"])
    assert base.exit_code == 0, base.output
    saved = runner.invoke(
        cli, ["--config", str(embedded_dir / "cxengine.yaml"), "baseline", "save",
              str(tmp_path / "baseline.json")],
    )  # fmt: skip
    assert saved.exit_code == 0, saved.output

    tables = raw_tables(demo)
    to_postgres(postgres_dsn, tables, "cx_gate")
    relations = {n: {"table": f"cx_gate.{n}"} for n in tables}
    config = engine_project(
        demo, tmp_path / "pg", "postgres", relations, "CX_TEST_PG_DSN", without_specs=PG_REFUSED
    )
    env = {"CX_TEST_PG_DSN": postgres_dsn}
    argv = ["--config", str(config), "run", "--json", "--baseline", str(tmp_path / "baseline.json")]
    same = runner.invoke(cli, argv, env=env)
    assert same.exit_code == 0, same.output
    ours, theirs = json.loads(same.stdout), json.loads(base.stdout)
    key = lambda v: (v["metric"], str(v["period"]), json.dumps(v["slice"], sort_keys=True))  # noqa: E731
    want = {key(v): v for v in theirs["values"]}
    assert {key(v) for v in ours["values"]} == set(want)
    for v in ours["values"]:
        w = want[key(v)]
        assert v["n"] == w["n"] and v["excluded"] == w["excluded"]
        for f in ("value", "ci_low", "ci_high"):
            assert (v[f] is None and w[f] is None) or abs(v[f] - w[f]) <= 1e-9 * max(1, abs(w[f]))
    # Every promoter at delivery becomes a detractor, in the database: the gate fails.
    with psycopg.connect(postgres_dsn, autocommit=True) as con:
        con.execute(
            "UPDATE cx_gate.responses SET recommend = '3' "
            "WHERE touchpoint = 'delivery' AND recommend IN ('9', '10')"
        )
    dropped = runner.invoke(cli, argv, env=env)
    assert dropped.exit_code == 1, dropped.output
    assert "nps" in dropped.stderr and "delivery" in dropped.stderr


EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*/cxengine.yaml"))


@pytest.mark.skipif(
    not (Path(__file__).resolve().parents[3] / "shared" / "data").is_dir(),
    reason="../shared/data is not beside this checkout",
)
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_worked_examples_give_the_same_numbers_on_postgres(
    example: Path, postgres_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine_data import typed_to_postgres

    tables = typed_to_postgres(example, postgres_dsn, f"ex_{example.parent.name}")
    config = engine_project(
        example, tmp_path, "postgres", {n: {"table": t} for n, t in tables.items()},
        "CX_TEST_PG_DSN",
    )  # fmt: skip
    # The rows are typed already: the text formats of the files do not apply.
    text = config.read_text(encoding="utf-8")
    config.write_text(
        "\n".join(line for line in text.splitlines() if "format:" not in line) + "\n", "utf-8"
    )
    monkeypatch.setenv("CX_TEST_PG_DSN", postgres_dsn)
    assert (
        assert_same_values(
            run_project(load_config(example), store=False),
            run_project(load_config(config), store=False),
        )
        >= 10
    )
