"""The results database: migrations, one transaction per run, idempotent reruns."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cxengine.store.migrations import MIGRATIONS
from cxengine.store.results import ResultsStore, StoreError


def value(
    metric: str = "csat", period: str = "", slice_: str = "{}", v: float = 62.0
) -> dict[str, object]:
    return {
        "metric": metric,
        "period": period,
        "slice": slice_,
        "value": v,
        "n": 100,
        "ci_low": 52.2,
        "ci_high": 70.9,
        "low_sample": False,
        "rows": 100,
        "excluded": 0,
        "counts": {"n": 100, "positive": 62},
        "note": None,
    }


def metric(name: str = "csat") -> dict[str, object]:
    return {
        "metric": name,
        "kind": "share",
        "title": None,
        "dataset": "responses",
        "unit": "%",
        "grain": "none",
        "spec_file": "csat.yaml",
        "spec_hash": "h",
        "spec": {"name": name},
    }


def finish(store: ResultsStore, run_id: str, values: list[dict[str, object]]) -> None:
    attempt = store.begin_attempt({"cxengine_version": "test"})
    store.finish_run(
        run_id, metrics=[metric()], values=values, rejects=[], meta={}, attempt=attempt
    )


def test_migrations_apply_once_and_are_recorded(tmp_path: Path) -> None:
    ResultsStore(tmp_path / "cx.db").close()
    ResultsStore(tmp_path / "cx.db").close()
    conn = sqlite3.connect(tmp_path / "cx.db")
    assert conn.execute("SELECT count(*) FROM _cxengine_migrations").fetchone()[0] == len(
        MIGRATIONS
    )
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_rerunning_the_same_run_replaces_instead_of_duplicating(tmp_path: Path) -> None:
    with ResultsStore(tmp_path / "cx.db") as store:
        finish(store, "abc", [value(), value(period="2025-01-01")])
        finish(store, "abc", [value(), value(period="2025-01-01")])
        assert len(store.values("abc")) == 2
        assert [r["status"] for r in store.runs()] == ["ok"]


def test_a_failed_write_leaves_no_partial_values(tmp_path: Path) -> None:
    with ResultsStore(tmp_path / "cx.db") as store:
        attempt = store.begin_attempt({"cxengine_version": "test"})
        bad = [value(), {**value(), "n": None}]  # n is NOT NULL: the second insert fails
        with pytest.raises(sqlite3.IntegrityError):
            store.finish_run(
                "abc", metrics=[metric()], values=bad, rejects=[], meta={}, attempt=attempt
            )
        assert store.values("abc") == []
        store.fail_run(attempt, "IntegrityError")
        assert store.run(attempt)["status"] == "failed"


def test_a_run_whose_process_died_shows_as_failed(tmp_path: Path) -> None:
    with ResultsStore(tmp_path / "cx.db") as store:
        attempt = store.begin_attempt({"cxengine_version": "test"})
        # Pretend the run belonged to a process that no longer exists.
        store.conn.execute("UPDATE runs SET pid = 2147483646 WHERE id = ?", (attempt,))
    with ResultsStore(tmp_path / "cx.db") as store:
        run = store.run(attempt)
        assert run["status"] == "failed"
        assert "interrupted" in run["error"]


def test_an_earlier_good_run_stays_visible_while_it_is_recomputed(tmp_path: Path) -> None:
    with ResultsStore(tmp_path / "cx.db") as store:
        finish(store, "abc", [value()])
        store.begin_attempt({"cxengine_version": "test"})  # the rerun starts
        assert store.run("abc")["status"] == "ok"
        assert len(store.values("abc")) == 1


def test_runs_resolve_by_last_tag_and_prefix(tmp_path: Path) -> None:
    with ResultsStore(tmp_path / "cx.db") as store:
        finish(store, "aaa111", [value()])
        finish(store, "bbb222", [value()])
        store.tag_run("release", "aaa111")
        assert store.resolve_run("last") == "bbb222"
        assert store.resolve_run("release") == "aaa111"
        assert store.resolve_run("bbb") == "bbb222"
        with pytest.raises(StoreError, match="no run 'zzz'"):
            store.resolve_run("zzz")
