"""Four `cxengine run` processes on one results database at once: none fails, none is lost.

CI jobs of several branches often share a results database. Each process here has
its own data (so its own run id) and all of them write to the same SQLite file at
the same moment, including the very first moment, when the schema is created.
WAL mode, a busy timeout and retries must make them queue, not fail; afterwards each
run must hold exactly the values its own process printed — nothing lost, nothing
mixed up — and running the whole batch again must not duplicate anything.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from reliability_project import (
    child_env,
    cli_command,
    integrity,
    make_survey_project,
    stored_runs,
    stored_values,
)

pytestmark = pytest.mark.slow

PROCESSES = 4


def start_all(projects: list[Path]) -> list[subprocess.Popen[str]]:
    return [
        subprocess.Popen(
            cli_command("run", "--json"),
            cwd=p,
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in projects
    ]


def wait_all(procs: list[subprocess.Popen[str]]) -> list[dict[str, object]]:
    docs = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        docs.append(json.loads(out))
    return docs


def as_stored(doc: dict[str, object]) -> dict[tuple[str, str, str], tuple[object, ...]]:
    """Key a run's printed values the way the database keys them."""
    out = {}
    for v in doc["values"]:  # type: ignore[attr-defined]
        key = (v["metric"], v["period"] or "", json.dumps(v["slice"], sort_keys=True))
        out[key] = (v["value"], v["n"], v["ci_low"], v["ci_high"])
    return out


def test_four_runs_at_once_on_one_database_all_succeed_and_stay_apart(tmp_path: Path) -> None:
    database = tmp_path / "shared" / "cx.db"
    database.parent.mkdir()
    projects = [
        make_survey_project(
            tmp_path / f"team{i}", rows=400 + 50 * i, seed=i, database=str(database)
        )
        for i in range(PROCESSES)
    ]
    first = wait_all(start_all(projects))
    run_ids = [str(d["run_id"]) for d in first]
    assert len(set(run_ids)) == PROCESSES

    assert integrity(database) == "ok"
    runs = stored_runs(database)
    assert set(runs) == set(run_ids)
    for doc in first:
        run = runs[str(doc["run_id"])]
        assert run["status"] == "ok"
        # Exactly what this process computed, not a neighbour's values.
        assert stored_values(database, str(doc["run_id"])) == as_stored(doc)
        assert run["rejects_found"] == run["reject_count"]

    # The same four again, plus a duplicate of each at the same moment: same ids,
    # nothing doubled, every process still succeeds.
    again = wait_all(start_all(projects + projects))
    assert sorted(str(d["run_id"]) for d in again) == sorted(run_ids * 2)
    runs_after = stored_runs(database)
    assert set(runs_after) == set(run_ids)
    for doc in first:
        assert stored_values(database, str(doc["run_id"])) == as_stored(doc)
    assert integrity(database) == "ok"
