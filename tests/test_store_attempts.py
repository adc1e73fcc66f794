"""A run is recorded before its inputs are read, so a failed or killed run is never missing."""

from __future__ import annotations

from pathlib import Path

import pytest
from reliability_project import make_survey_project, stored_runs

from cxengine.config import load_config
from cxengine.errors import DataError
from cxengine.runner import run_project
from cxengine.store.results import ResultsStore


def test_an_attempt_is_replaced_by_the_finished_run_in_one_step(tmp_path: Path) -> None:
    with ResultsStore(tmp_path / "cx.db") as store:
        attempt = store.begin_attempt({"cxengine_version": "test"})
        assert store.run(attempt)["status"] == "running"
        started = store.run(attempt)["started"]
        store.finish_run("content-id", metrics=[], values=[], rejects=[], meta={}, attempt=attempt)
        assert [r["id"] for r in store.runs()] == ["content-id"]
        assert store.run("content-id")["status"] == "ok"
        assert store.run("content-id")["started"] == started


def test_a_run_that_fails_on_its_data_shows_as_failed_with_the_error(tmp_path: Path) -> None:
    project = make_survey_project(tmp_path)
    (project / "data" / "responses.csv").unlink()
    with pytest.raises(DataError, match="file not found"):
        run_project(load_config(project / "cxengine.yaml"))
    (run,) = stored_runs(project / "cx.db").values()
    assert run["status"] == "failed"
    assert "DataError" in run["error"] and "file not found" in run["error"]
    assert run["values_found"] == 0 and run["finished"]


def test_a_good_rerun_leaves_one_run_and_no_attempts(tmp_path: Path) -> None:
    project = load_config(make_survey_project(tmp_path) / "cxengine.yaml")
    first = run_project(project)
    second = run_project(project)
    assert first.run_id == second.run_id
    runs = stored_runs(tmp_path / "cx.db")
    assert list(runs) == [first.run_id] and runs[first.run_id]["status"] == "ok"
