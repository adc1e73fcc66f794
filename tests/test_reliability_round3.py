"""Reliability round 3 (issue 13, the items left after round 2), one test per defect class.

Each test reproduces an attack (or a variant of it) and asserts the outcome the project
promises: a located error with the right exit code, or a correct run. See
docs/reliability.md.
"""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from cxengine.config import load_config
from cxengine.runner import RunResult, run_project


def write_project(
    root: Path,
    datasets: dict[str, dict[str, Any]],
    specs: dict[str, str],
    data: dict[str, str] | None = None,
) -> Path:
    """Write cxengine.yaml (datasets as JSON flow mappings), specs and data; return the config."""
    (root / "metric_specs").mkdir(parents=True, exist_ok=True)
    for name, text in specs.items():
        (root / "metric_specs" / f"{name}.yaml").write_text(textwrap.dedent(text), "utf-8")
    for name, text in (data or {}).items():
        (root / name).write_text(text, "utf-8")
    lines = ["database: cx.db", "metrics: [metric_specs]", "datasets:"]
    lines += [f"  {name}: {json.dumps(cfg, ensure_ascii=False)}" for name, cfg in datasets.items()]
    config = root / "cxengine.yaml"
    config.write_text("\n".join(lines) + "\n", "utf-8")
    return config


def jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def run(config: Path) -> RunResult:
    return run_project(load_config(config), store=False)


def values(result: RunResult, metric: str) -> dict[Any, float | None]:
    """Overall (all slices) values of one metric by period (None: all periods)."""
    return {v.period: v.value for v in result.values if v.metric == metric and not v.slice}


# ------------------------------------------------------- item 1: DST and durations

BERLIN = {"type": "datetime", "timezone": "Europe/Berlin"}


def tickets(rows: list[dict[str, Any]], zone: dict[str, Any] = BERLIN) -> dict[str, Any]:
    return {
        "source": "jsonl",
        "path": "t.jsonl",
        "fields": {"id": "integer", "opened": zone, "replied": zone, "closed": zone},
    }


@pytest.mark.parametrize(
    ("opened", "replied", "minutes"),
    [
        # 02:30 CEST → 02:10 CET: the wall clock went back, 40 minutes passed.
        ("2024-10-27T00:30:00Z", "2024-10-27T01:10:00Z", 40),
        ("2024-10-27T02:30:00+02:00", "2024-10-27T02:10:00+01:00", 40),
        # Noon to noon across the October change is 25 hours, across March 23.
        ("2024-10-26 12:00", "2024-10-27 12:00", 25 * 60),
        ("2024-03-30 12:00", "2024-03-31 12:00", 23 * 60),
    ],
)
def test_a_duration_across_a_dst_change_is_elapsed_time(
    tmp_path: Path, opened: str, replied: str, minutes: int
) -> None:
    row = {"id": 1, "opened": opened, "replied": replied, "closed": None}
    config = write_project(
        tmp_path,
        {"t": tickets([row])},
        {
            "frt": "name: frt\nkind: duration\ndataset: t\nfrom_field: opened\n"
            "to_field: replied\nunit: min\n"
        },
        {"t.jsonl": jsonl([row])},
    )
    result = run(config)
    assert values(result, "frt")[None] == pytest.approx(minutes)
    assert not [r for r in result.rejects if r.metric == "frt"]


def test_periods_are_cut_on_the_wall_clock_of_the_field_zone(tmp_path: Path) -> None:
    # 23:30 UTC on 31 October is 00:30 on 1 November in Berlin: a November ticket,
    # kept by a filter written in local time and counted in November's period.
    rows = [
        {"id": 1, "opened": "2024-10-31T23:30:00Z", "replied": None, "closed": None},
        {"id": 2, "opened": "2024-10-31T22:30:00Z", "replied": None, "closed": None},
    ]
    config = write_project(
        tmp_path,
        {"t": tickets(rows)},
        {
            "n": "name: n\nkind: count\ndataset: t\ntime: opened\nperiod: month\n",
            "nov": "name: nov\nkind: count\ndataset: t\nwhere: \"opened >= '2024-11-01'\"\n",
            "nov_month": "name: nov_month\nkind: count\ndataset: t\nwhere: month(opened) = 11\n",
        },
        {"t.jsonl": jsonl(rows)},
    )
    result = run(config)
    assert values(result, "n") == {dt.date(2024, 10, 1): 1, dt.date(2024, 11, 1): 1, None: 2}
    assert values(result, "nov")[None] == 1
    assert values(result, "nov_month")[None] == 1


def test_backlog_ages_are_elapsed_time_at_the_local_end_of_the_day(tmp_path: Path) -> None:
    # The day of 27 October 2024 in Berlin lasts 25 hours (ends 23:00 UTC). A ticket
    # opened at 00:30 local that day is 24.5 hours old at its end: older than 24h,
    # though the wall clock says 23.5. One opened at 01:30 local is 23.5 h old.
    rows = [
        {"id": 1, "opened": "2024-10-27 00:30", "replied": None, "closed": None},
        {"id": 2, "opened": "2024-10-27 01:30", "replied": None, "closed": None},
    ]
    config = write_project(
        tmp_path,
        {"t": tickets(rows)},
        {
            "old": "name: old\nkind: backlog\ndataset: t\nopened: opened\nclosed: closed\n"
            "older_than: 24h\nperiod: day\n"
        },
        {"t.jsonl": jsonl(rows)},
    )
    result = run(config)
    assert values(result, "old")[dt.date(2024, 10, 27)] == 1


def test_a_calendar_without_a_timezone_keeps_the_data_zone_wall_clock(tmp_path: Path) -> None:
    # Opened Friday 17:30 Berlin, replied Monday 09:15 Berlin (given in UTC): 45
    # business minutes on a 09:00–18:00 calendar in the data's zone.
    rows = [
        {"id": 1, "opened": "2024-03-01 17:30", "replied": "2024-03-04T08:15:00Z", "closed": None}
    ]
    config = write_project(
        tmp_path,
        {"t": tickets(rows)},
        {
            "frt": "name: frt\nkind: duration\ndataset: t\nfrom_field: opened\nto_field: replied\n"
            "unit: min\ncalendar: {hours: {mon-fri: '09:00-18:00'}}\n"
        },
        {"t.jsonl": jsonl(rows)},
    )
    assert values(run(config), "frt")[None] == pytest.approx(45)
