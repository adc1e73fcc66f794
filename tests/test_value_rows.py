"""`value_rows`: the flat view of metric values, one column per slice field."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from cxengine.store.results import ResultsStore
from cxengine.store.value_rows import column_names


def value(slice_: dict[str, Any], period: str = "2025-03-01", v: float = 40.0) -> dict[str, Any]:
    return {
        "metric": "nps",
        "period": period,
        "slice": json.dumps(slice_, sort_keys=True),
        "value": v,
        "n": 120,
        "ci_low": 30.0,
        "ci_high": 50.0,
        "low_sample": False,
        "rows": 120,
        "excluded": 0,
        "counts": {"n": 120, "promoters": 60, "detractors": 12},
        "note": None,
    }


def store_run(db: Path, run_id: str, values: list[dict[str, Any]]) -> None:
    metric = {
        "metric": "nps", "kind": "nps", "title": "Net Promoter Score", "dataset": "responses",
        "unit": "points", "grain": "month", "spec_file": "nps.yaml", "spec_hash": "h",
        "spec": {"name": "nps"},
    }  # fmt: skip
    with ResultsStore(db) as store:
        attempt = store.begin_attempt({"cxengine_version": "test"})
        store.finish_run(
            run_id, metrics=[metric], values=values, rejects=[], meta={}, attempt=attempt
        )


def rows(db: Path, sql: str) -> list[dict[str, Any]]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    return [dict(r) for r in conn.execute(sql)]


def test_one_column_per_slice_field_and_the_period_as_a_date(tmp_path: Path) -> None:
    db = tmp_path / "cx.db"
    store_run(
        db,
        "r1",
        [
            value({}, period=""),
            value({"touchpoint": "website"}, v=12.5),
            value({"touchpoint": "<script>alert(1)</script>"}),
        ],
    )
    got = rows(db, "SELECT * FROM value_rows WHERE touchpoint = 'website'")
    assert len(got) == 1
    row = got[0]
    assert (row["metric"], row["title"], row["unit"], row["grain"]) == (
        "nps", "Net Promoter Score", "points", "month",
    )  # fmt: skip
    assert (row["period"], row["all_periods"], row["value"], row["n"]) == (
        "2025-03-01",
        0,
        12.5,
        120,
    )
    overall = rows(db, "SELECT * FROM value_rows WHERE touchpoint IS NULL")
    assert [(r["period"], r["all_periods"]) for r in overall] == [(None, 1)]
    # A value is data, never SQL or markup: it comes back exactly as stored.
    assert (
        rows(db, "SELECT count(*) AS c FROM value_rows WHERE touchpoint LIKE '<script>%'")[0]["c"]
        == 1
    )


def test_a_later_run_adds_its_fields_and_keeps_the_earlier_ones(tmp_path: Path) -> None:
    db = tmp_path / "cx.db"
    store_run(db, "r1", [value({"touchpoint": "website"})])
    store_run(db, "r2", [value({"channel": "chat"})])
    got = rows(db, "SELECT run_id, touchpoint, channel FROM value_rows ORDER BY run_id")
    assert got == [
        {"run_id": "r1", "touchpoint": "website", "channel": None},
        {"run_id": "r2", "touchpoint": None, "channel": "chat"},
    ]
    # Storing a run again with the same fields leaves the view as it was.
    store_run(db, "r1", [value({"touchpoint": "checkout"})])
    assert rows(db, "SELECT touchpoint FROM value_rows WHERE run_id = 'r1'") == [
        {"touchpoint": "checkout"}
    ]


def test_awkward_field_names_get_their_own_safe_columns(tmp_path: Path) -> None:
    db = tmp_path / "cx.db"
    fields = {"value": "v", "Touchpoint": "T", "touchpoint": "t", 'we"ird.key': "w", "a'b": "q"}
    store_run(db, "r1", [value(fields)])
    columns = column_names(sorted(fields))
    assert columns == ["Touchpoint", "a'b", "touchpoint_2", "slice_value", 'we"ird.key']
    got = rows(db, "SELECT * FROM value_rows")[0]
    assert [got[c] for c in columns] == ["T", "q", "t", "v", "w"]
    assert got["value"] == 40.0  # the metric value is not shadowed by the slice field


def test_an_existing_database_gets_the_view_when_it_is_opened(tmp_path: Path) -> None:
    db = tmp_path / "cx.db"
    store_run(db, "r1", [value({"touchpoint": "website"})])
    conn = sqlite3.connect(db)
    conn.execute("DROP VIEW value_rows")
    conn.execute("DELETE FROM _cxengine_migrations WHERE name = 'm_value_rows'")
    conn.commit()
    conn.close()
    ResultsStore(db).close()
    assert rows(db, "SELECT touchpoint FROM value_rows") == [{"touchpoint": "website"}]
