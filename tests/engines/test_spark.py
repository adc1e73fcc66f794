"""Specs pushed down to Spark (local[2]) give the embedded engine's numbers.

The demo's datasets are written to Parquet as text, exactly as their sources read
them, and read by Spark with `query: SELECT * FROM parquet.`…``; Spark types them,
rejects what DuckDB rejects and computes every spec it can run. Everything runs in
one test on one Spark session (starting one costs about a minute).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from engine_data import (
    assert_same_datasets,
    assert_same_values,
    engine_project,
    project_on_files,
    raw_tables,
    reject_counts,
    to_parquet,
)

from cxengine.config import load_config
from cxengine.runner import RunResult, run_project, validate_project

#: Spark answers each query in seconds, not milliseconds: the run covers one spec of
#: each way of computing (share, mean, nps, duration, distribution, a calendar kind,
#: both customer reshapings, a joined dataset with band slices); every demo spec is
#: still rendered by `validate`.
SPARK_SPECS = ("csat", "csat_mean", "nps", "frt", "preferred_channel", "backlog", "retention",
               "repeat_purchase", "csat_by_frt_band")  # fmt: skip

pytestmark = pytest.mark.timeout(1500)


def parquet_project(config: Path, target: Path, **kwargs: object) -> Path:
    """Write a project's datasets as text Parquet files and a project reading them on spark."""
    paths = to_parquet(raw_tables(config), target / "parquet")
    relations = {n: {"query": f"SELECT * FROM parquet.`{p}`"} for n, p in paths.items()}
    return engine_project(config, target, "spark", relations, "CX_TEST_SPARK", **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def spark(spark_session: object, monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.setenv("CX_TEST_SPARK", "local[2]")
    return spark_session


def test_spark_gives_the_embedded_numbers(
    demo: Path, embedded: RunResult, spark: object, tmp_path: Path
) -> None:
    """One test, so that every case runs on the one Spark session of one xdist worker
    (starting a session costs about a minute)."""
    demo_on_spark(demo, embedded, tmp_path / "demo")
    hand_cases_on_spark(tmp_path / "hand", spark)
    examples_on_spark(tmp_path / "examples")
    formats_on_spark(tmp_path / "formats")
    dst_on_spark(tmp_path / "dst")
    midnight_and_numbers_on_spark(tmp_path / "edges")


def demo_on_spark(demo: Path, embedded: RunResult, tmp_path: Path) -> None:
    from test_postgres import PG_REFUSED

    config = parquet_project(demo, tmp_path / "spark", without_specs=PG_REFUSED)
    _, problems = validate_project(load_config(config))
    assert problems == []
    ours = run_project(load_config(config), only=SPARK_SPECS, store=False)
    names = {s.name for s in ours.specs}
    assert names == set(SPARK_SPECS)
    theirs = RunResult(
        embedded.run_id, [s for s in embedded.specs if s.name in names],
        [v for v in embedded.values if v.metric in names], embedded.datasets,
        embedded.rejects, None,
    )  # fmt: skip
    assert assert_same_values(theirs, ours) > 300
    assert_same_datasets(theirs, ours)


def hand_cases_on_spark(tmp_path: Path, spark: Any) -> None:
    from test_postgres_data import FIELDS, HAND, SPECS

    from cxengine.engines.spark import SparkSessionHandle

    files = project_on_files(tmp_path / "files", HAND, FIELDS, SPECS)
    config = parquet_project(files, tmp_path / "spark")
    embedded = run_project(load_config(files), store=False)
    sent: list[str] = []
    fetch = SparkSessionHandle.fetch

    def recorded(self: SparkSessionHandle, sql: str) -> Any:
        sent.append(sql)
        return fetch(self, sql)

    SparkSessionHandle.fetch = recorded  # type: ignore[method-assign]
    try:
        pushed = run_project(load_config(config), store=False)
    finally:
        SparkSessionHandle.fetch = fetch  # type: ignore[method-assign]
    # The Parquet files are resolved once for the run (a temporary view), not by
    # every query; the view is gone once the run is over.
    assert sent and not [sql for sql in sent if "parquet." in sql]
    assert not [t.name for t in spark.catalog.listTables() if t.name.startswith("_cx_")]
    assert assert_same_values(embedded, pushed) > 20
    assert_same_datasets(embedded, pushed)
    assert reject_counts(pushed) == reject_counts(embedded)


def formats_on_spark(tmp_path: Path) -> None:
    from test_postgres_typing import FIELDS, HAND, SPECS

    files = project_on_files(tmp_path / "files", HAND, FIELDS, SPECS)
    config = parquet_project(files, tmp_path / "spark")
    embedded = run_project(load_config(files), store=False)
    pushed = run_project(load_config(config), store=False)
    assert assert_same_values(embedded, pushed) >= 10
    assert_same_datasets(embedded, pushed)
    assert reject_counts(pushed) == reject_counts(embedded)


def dst_on_spark(tmp_path: Path) -> None:
    from test_postgres_typing import DST, DST_FIELDS, DST_SPECS

    files = project_on_files(tmp_path / "files", DST, DST_FIELDS, DST_SPECS)
    config = parquet_project(files, tmp_path / "spark")
    embedded = run_project(load_config(files), store=False)
    pushed = run_project(load_config(config), store=False)
    assert assert_same_values(embedded, pushed) >= 6
    assert_same_datasets(embedded, pushed)


def midnight_and_numbers_on_spark(tmp_path: Path) -> None:
    """24:00 (Spark's cast gives NULL: cxengine adds the day) and numbers past a double."""
    from test_postgres_typing import DST_FIELDS, DST_SPECS, MIDNIGHT, NUMBERS

    cases = [
        (MIDNIGHT, DST_FIELDS, DST_SPECS),
        (NUMBERS, "id: string\nx: number\n", {"big": (
            "name: big\nkind: share\ndataset: responses\nfield: x\n"
            "scale: [-1000, 1000]\npositive: [42, 100]\nperiod: none\n")}),
    ]  # fmt: skip
    for i, (rows, fields, specs) in enumerate(cases):
        files = project_on_files(tmp_path / f"files{i}", rows, fields, specs)
        config = parquet_project(files, tmp_path / f"spark{i}")
        embedded = run_project(load_config(files), store=False)
        pushed = run_project(load_config(config), store=False)
        assert not pushed.failed
        assert assert_same_values(embedded, pushed) >= 1
        assert_same_datasets(embedded, pushed)
        assert reject_counts(pushed) == reject_counts(embedded)


def examples_on_spark(tmp_path: Path) -> None:
    """Each reason's first 20 keys, from one scan (min_by with a count, Spark 4.2+)."""
    from test_postgres_shared import FIELDS, SPECS, rare_behind_frequent_rows

    specs = {name: SPECS[name] for name in ("csat", "nps")}
    files = project_on_files(tmp_path / "files", rare_behind_frequent_rows(), FIELDS, specs)
    embedded = run_project(load_config(files), store=False)
    ours = run_project(load_config(parquet_project(files, tmp_path / "spark")), store=False)
    assert assert_same_values(embedded, ours) > 5

    def located(metric: str) -> list[str]:
        return sorted(r.locator for r in ours.rejects if r.metric == metric)

    assert located("nps") == ["id=R0095"]
    assert located("csat") == [f"id=R{i:04d}" for i in range(20)]
    traffic = ours.datasets["responses"].engine
    assert traffic is not None
    # Opening, the shared grouped query, the examples of both reasons: their 21 keys
    # come back as one row (a top-20 branch per reason would send 21 rows).
    assert traffic["queries"] == 3
    assert traffic["rows_fetched"] < len(ours.rejects) == 21
    older_spark_examples(files, tmp_path, ours)


def older_spark_examples(files: Path, tmp_path: Path, newer: RunResult) -> None:
    """Spark before 4.2 has no min_by(x, ord, k): the same rejects, from the fallback.

    The session says which functions its server lacks (`missing_functions`, from
    its version); a server that lacks min_by gets the examples PostgreSQL gets (a
    shared prefix scan and a top-20 branch per rare reason) rendered in Spark SQL.
    """
    from unittest import mock

    from cxengine.engines.spark import SparkSessionHandle

    opened = SparkSessionHandle.__init__

    def as_older_spark(self: SparkSessionHandle, master: str, timeout_s: float) -> None:
        opened(self, master, timeout_s)
        self.missing_functions = frozenset({"min_by"})

    with mock.patch.object(SparkSessionHandle, "__init__", as_older_spark):
        older = run_project(load_config(parquet_project(files, tmp_path / "older")), store=False)
    assert assert_same_values(newer, older) > 5
    assert sorted((r.metric, r.locator, r.value) for r in older.rejects) == sorted(
        (r.metric, r.locator, r.value) for r in newer.rejects
    )
    traffic = older.datasets["responses"].engine
    assert traffic is not None
    # One row per example key now (the branches' rows), not one row for them all.
    assert traffic["rows_fetched"] >= len(older.rejects) == 21
