"""A small, stable survey project for the reliability tests, and a way to run it.

The project is written here rather than by `cxengine init`, so these tests depend
only on the survey kinds (share, mean, nps) and the csv source, not on whatever
example data `init` generates this week.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cxengine.scaffold import write_responses_csv

SPECS = {
    "csat": "kind: share\nfield: satisfaction\nscale: [1, 5]\npositive: [4, 5]\n",
    "csat_mean": "kind: mean\nfield: satisfaction\nscale: [1, 5]\n",
    "nps": "kind: nps\nfield: recommend\n",
    "ces": "kind: share\nfield: effort\nscale: [1, 7]\npositive: [5, 6, 7]\n",
}

CONFIG = """\
database: {database}
metrics: [metric_specs]
datasets:
  responses:
    source: csv
    path: data/responses.csv
    key: response_id
    fields:
      response_id: string
      submitted_at: datetime
      touchpoint: string
      channel: string
      recommend: integer
      satisfaction: integer
      effort: integer
"""


def make_survey_project(
    root: Path, *, rows: int = 600, seed: int = 1, database: str = "cx.db"
) -> Path:
    """Write a project with four survey specs by touchpoint × month; return its folder."""
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "metric_specs").mkdir(exist_ok=True)
    write_responses_csv(root / "data" / "responses.csv", n=rows, seed=seed)
    for name, body in SPECS.items():
        spec = (
            f"name: {name}\ndataset: responses\n{body}"
            "by: [touchpoint]\nperiod: month\ntime: submitted_at\n"
        )
        (root / "metric_specs" / f"{name}.yaml").write_text(spec, encoding="utf-8")
    (root / "cxengine.yaml").write_text(CONFIG.format(database=database), encoding="utf-8")
    return root


def cli_command(*args: str) -> list[str]:
    """The `cxengine` command line, run by this interpreter (no PATH lookup)."""
    return [sys.executable, "-m", "cxengine", *args]


def child_env() -> dict[str, str]:
    """The environment for a child cxengine: tracebacks on, no inherited project."""
    env = dict(os.environ)
    env.pop("CXENGINE_CONFIG", None)
    env["CXENGINE_DEBUG"] = "1"
    return env


@dataclass
class Finished:
    """What a completed `cxengine run --json` printed."""

    code: int
    doc: dict[str, Any] | None
    stderr: str


def run_to_completion(project: Path, *args: str, timeout: float = 120) -> Finished:
    """Run `cxengine run --json` in the project and wait for it."""
    proc = subprocess.run(
        cli_command("run", "--json", *args),
        cwd=project,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    doc = json.loads(proc.stdout) if proc.returncode == 0 and proc.stdout.strip() else None
    return Finished(proc.returncode, doc, proc.stderr)


def integrity(database: Path) -> str:
    """Return SQLite's own verdict on the file ('ok' when sound)."""
    conn = sqlite3.connect(database)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def stored_runs(database: Path) -> dict[str, dict[str, Any]]:
    """Every run with its status and how many values and rejects it really has."""
    conn = sqlite3.connect(database)
    conn.row_factory = sqlite3.Row
    try:
        runs = {r["id"]: dict(r) for r in conn.execute("SELECT * FROM runs")}
        for run_id, run in runs.items():
            run["values_found"] = conn.execute(
                "SELECT count(*) FROM metric_values WHERE run_id = ?", (run_id,)
            ).fetchone()[0]
            run["rejects_found"] = conn.execute(
                "SELECT count(*) FROM rejects WHERE run_id = ?", (run_id,)
            ).fetchone()[0]
        return runs
    finally:
        conn.close()


def stored_values(database: Path, run_id: str) -> dict[tuple[str, str, str], tuple[Any, ...]]:
    """A run's values keyed by metric, period and slice."""
    conn = sqlite3.connect(database)
    try:
        rows = conn.execute(
            "SELECT metric, period, slice, value, n, ci_low, ci_high FROM metric_values "
            "WHERE run_id = ?",
            (run_id,),
        ).fetchall()
        return {(m, p, s): tuple(rest) for m, p, s, *rest in rows}
    finally:
        conn.close()
