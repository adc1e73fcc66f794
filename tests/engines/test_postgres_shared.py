"""Survey specs over one engine dataset share one grouped query, as in the embedded engine.

Specs reading the same rows with the same grouping (per touchpoint × month with its
roll-ups) are one scan in PostgreSQL, their excluded examples one more query, only
when something was excluded; the numbers stay the embedded run's. The run id of an
engine dataset is made of what the run read from the engine: the same answers give
the same id, a change the specs see gives another, and no query hashes the rows.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from engine_data import (
    assert_same_datasets,
    assert_same_values,
    on_postgres,
    project_on_files,
    reject_counts,
)

from cxengine.config import load_config
from cxengine.runner import RunResult, run_project

FIELDS = """
id: string
at: datetime
touchpoint: string
sat: integer
rec: integer
eff: integer
note: string
"""


def _spec(name: str, kind: str, field: str, extra: str) -> str:
    return (
        f"name: {name}\nkind: {kind}\ndataset: responses\nfield: {field}\n{extra}"
        "by: [touchpoint]\nperiod: month\ntime: at\n"
    )


SPECS = {
    "csat": _spec("csat", "share", "sat", "scale: [1, 5]\npositive: [4, 5]\n"),
    "csat_mean": _spec("csat_mean", "mean", "sat", "scale: [1, 5]\n"),
    "nps": _spec("nps", "nps", "rec", ""),
    "ces": _spec("ces", "share", "eff", "scale: [1, 7]\npositive: [5, 7]\n"),
    # Another grouping (no slice): a grouped query of its own.
    "ces_total": "name: ces_total\nkind: mean\ndataset: responses\nfield: eff\n"
    "scale: [1, 7]\nperiod: month\ntime: at\n",
}


def _rows(bad: bool) -> str:
    lines = ["id,at,touchpoint,sat,rec,eff,note"]
    for i in range(120):
        sat = 1 + i % 5
        rec = i % 11
        eff = 1 + i % 7
        if bad and i % 17 == 0:
            sat, rec = 9, 12  # out of scale: excluded, with examples
        at = "" if bad and i % 29 == 0 else f"2025-0{1 + i % 3}-{1 + i % 27:02d} 10:00:00"
        tp = ("web", "app", "shop")[i % 3]
        lines.append(f"R{i:04d},{at},{tp},{sat},{rec},{eff},note {i}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def pg_env(postgres_dsn: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CX_TEST_PG_DSN", postgres_dsn)
    return postgres_dsn


def _both(tmp_path: Path, dsn: str, bad: bool) -> tuple[RunResult, RunResult, Path]:
    files = project_on_files(tmp_path / "files", _rows(bad), FIELDS, SPECS)
    embedded = run_project(load_config(files), store=False)
    config = on_postgres(files, dsn, tmp_path / "pg")
    return embedded, run_project(load_config(config), store=False), config


@pytest.mark.parametrize("bad", [False, True], ids=["clean", "excluded"])
def test_specs_with_the_same_grouping_share_one_query(
    tmp_path: Path, pg_env: str, bad: bool
) -> None:
    embedded, ours, _ = _both(tmp_path, pg_env, bad)
    assert assert_same_values(embedded, ours) > 50
    assert_same_datasets(embedded, ours)
    assert reject_counts(ours) == reject_counts(embedded)
    traffic = ours.datasets["responses"].engine
    assert traffic is not None
    # Opening the dataset (counts per field), the four specs per touchpoint × month
    # together and ces_total alone; only when values were excluded, the examples of
    # the four in one query and ces_total's (its rows without a time) in another.
    assert traffic["queries"] == (5 if bad else 3)
    assert traffic["rows_fetched"] <= len(ours.values) + len(ours.rejects) + traffic["queries"]


def test_run_id_follows_what_the_specs_read(tmp_path: Path, pg_env: str) -> None:
    _, first, config = _both(tmp_path, pg_env, bad=True)
    again = run_project(load_config(config), store=False)
    assert again.run_id == first.run_id
    fingerprint = first.datasets["responses"].fingerprint
    assert fingerprint.startswith("postgres:")
    # The relation, as the engine project reads it.
    table = load_config(config).model.datasets["responses"].source_options()["table"]
    with psycopg.connect(pg_env, autocommit=True) as con:
        # A column no spec reads: the same answers, the same results, the same id.
        con.execute(f"UPDATE {table} SET note = 'changed' WHERE id = 'R0001'")
        assert run_project(load_config(config), store=False).run_id == first.run_id
        # A score moves between answers: the counts differ, so does the id.
        con.execute(f"UPDATE {table} SET sat = '5' WHERE id = 'R0001'")
        changed = run_project(load_config(config), store=False)
    assert changed.run_id != first.run_id
    assert changed.datasets["responses"].fingerprint != fingerprint


def rare_behind_frequent_rows() -> str:
    """100 responses: `sat` out of scale in the first 60 by key, `rec` once near the end."""
    lines = ["id,at,touchpoint,sat,rec,eff,note"]
    for i in range(100):
        sat = 9 if i < 60 else 4
        rec = 12 if i == 95 else 7
        lines.append(f"R{i:04d},2025-01-0{1 + i % 5} 10:00:00,web,{sat},{rec},3,n")
    return "\n".join(lines) + "\n"


def test_a_rare_reason_behind_a_frequent_one_still_gets_its_examples(
    tmp_path: Path, pg_env: str
) -> None:
    """Each reason's first 20 by key: a rare reason behind a frequent one is not missed."""
    specs = {name: SPECS[name] for name in ("csat", "nps")}
    files = project_on_files(tmp_path / "files", rare_behind_frequent_rows(), FIELDS, specs)
    embedded = run_project(load_config(files), store=False)
    ours = run_project(load_config(on_postgres(files, pg_env, tmp_path / "pg")), store=False)
    assert assert_same_values(embedded, ours) > 5

    def located(result: RunResult, metric: str) -> list[str]:
        return sorted(r.locator for r in result.rejects if r.metric == metric)

    assert located(ours, "nps") == ["id=R0095"]
    assert located(ours, "csat") == [f"id=R{i:04d}" for i in range(20)]
    assert located(embedded, "nps") == ["data.csv:97"]
    traffic = ours.datasets["responses"].engine
    assert traffic is not None
    # Opening, the shared grouped query, the examples of both (a top-20 per reason).
    assert traffic["queries"] == 3
