"""Typing, rejects and exclusions in PostgreSQL equal the embedded engine's, value by value.

Every dataset here goes into PostgreSQL as text, so PostgreSQL types it: a value the
embedded DuckDB rejects must be rejected there too, and everything it keeps must
count the same. Hand cases first, then random datasets (hypothesis).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_data import (
    assert_same_datasets,
    assert_same_values,
    on_postgres,
    project_on_files,
    reject_counts,
)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from cxengine.config import load_config
from cxengine.runner import run_project

FIELDS = """
id: string
at: datetime
channel: string
score: integer
recommend: integer
effort: number
resolved: boolean
"""

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
    """,
    "csat_mean": """
        name: csat_mean
        kind: mean
        dataset: responses
        field: score
        scale: [1, 5]
        by: [channel]
        period: week
        time: at
    """,
    "nps": """
        name: nps
        kind: nps
        dataset: responses
        field: recommend
        by: [channel]
        period: quarter
        time: at
    """,
    "effort": """
        name: effort
        kind: mean
        dataset: responses
        field: effort
        where: "channel != 'phone'"
        period: none
    """,
    "fcr": """
        name: fcr
        kind: share
        dataset: responses
        field: resolved
        positive: [true]
        by: [channel]
        period: day
        time: at
    """,
    "answers": """
        name: answers
        kind: count
        dataset: responses
        field: id
        distinct: true
        by: [channel]
        period: month
        time: at
    """,
    "channels": """
        name: channels
        kind: distribution
        dataset: responses
        field: channel
        categories: [web, email, phone]
        period: month
        time: at
    """,
}

HAND = """
id,at,channel,score,recommend,effort,resolved
r1,2025-01-03 10:00:00,web,5,10,4.5,true
r2,2025-01-03T11:30:00,web, 4 ,9,3,false
r3,2025-01-31 23:59:59,email,five,7,2.25,yes
r4,2025-02-01,email,3,6,1e1,no
r5,2025-02-30 10:00:00,phone,2,3,0.5,1
r6,not a date,phone,1,0,,0
r7,2025-03-01 00:00:00,web,NA,11,x,maybe
r8,,web,4.0,8,-2,TRUE
r9,2025-03-15 08:00:00,chat,9,-1,7,False
r10,2025-03-15 08:00:00,,4,10,.5,
r11,2025-04-01 12:00:00,web,12345678901234567890,5,3,true
r12,2025-04-02 12:00:00,email,-,-,-,-
r13,2025-04-03 12:00:00,email,3.5,5,1,true
"""


@pytest.fixture
def pg(postgres_dsn: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CX_TEST_PG_DSN", postgres_dsn)
    return postgres_dsn


def both(tmp_path: Path, dsn: str, csv_text: str) -> tuple[object, object]:
    files = project_on_files(tmp_path / "files", csv_text, FIELDS, SPECS)
    engine = on_postgres(files, dsn, tmp_path / "pg")
    return (
        run_project(load_config(files), store=False),
        run_project(load_config(engine), store=False),
    )


def test_hand_cases_reject_and_count_alike(tmp_path: Path, pg: str) -> None:
    embedded, pushed = both(tmp_path, pg, HAND)
    assert assert_same_values(embedded, pushed) > 20  # type: ignore[arg-type]
    assert_same_datasets(embedded, pushed)  # type: ignore[arg-type]
    assert reject_counts(pushed) == reject_counts(embedded)  # type: ignore[arg-type]
    # Values the typing rejected, each with its key (the row keeps its other fields):
    # five, a bad date, 20 digits, 3.5 as an integer…
    stats = pushed.datasets["responses"]  # type: ignore[attr-defined]
    assert stats.rows_rejected == 0 and stats.rows_used == 13
    assert stats.cells_rejected == {"at": 2, "score": 3, "effort": 1, "resolved": 1}
    locators = {r.locator for r in pushed.rejects if r.metric is None}  # type: ignore[attr-defined]
    assert "id=r3" in locators and "id=r6" in locators
    # Excluded values (outside the scale) are examples with their key and the metric.
    excluded = [r for r in pushed.rejects if r.metric == "nps"]  # type: ignore[attr-defined]
    assert excluded and all(r.locator.startswith("id=") for r in excluded)


ROW = st.fixed_dictionaries(
    {
        "day": st.integers(0, 120),
        "second": st.integers(0, 86_399),
        "channel": st.sampled_from(["web", "email", "phone", "", "Web"]),
        "score": st.one_of(
            st.integers(-1, 7).map(str), st.sampled_from(["", "NA", "x", " 3 ", "4.0", "2.5"])
        ),
        "recommend": st.one_of(st.integers(-1, 11).map(str), st.just("")),
        "effort": st.one_of(
            st.floats(-5, 10, allow_nan=False).map(lambda f: f"{f:.3f}"),
            st.sampled_from(["", "1,5", "e"]),
        ),
        "resolved": st.sampled_from(["true", "false", "1", "0", "", "nope", "Y"]),
    }
)


@settings(
    max_examples=12, deadline=None, derandomize=True, phases=[Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip
@given(rows=st.lists(ROW, min_size=1, max_size=60))
def test_random_datasets_give_the_same_numbers(
    rows: list[dict[str, object]], tmp_path_factory: pytest.TempPathFactory, pg: str
) -> None:
    from datetime import datetime, timedelta

    lines = ["id,at,channel,score,recommend,effort,resolved"]
    for i, r in enumerate(rows):
        at = datetime(2025, 1, 1) + timedelta(days=r["day"], seconds=r["second"])  # type: ignore[arg-type]
        effort = r["effort"]
        if isinstance(effort, str) and "," in effort:
            effort = f'"{effort}"'
        lines.append(
            f"r{i},{at:%Y-%m-%d %H:%M:%S},{r['channel']},{r['score']},{r['recommend']},"
            f"{effort},{r['resolved']}"
        )
    tmp = tmp_path_factory.mktemp("prop")
    embedded, pushed = both(tmp, pg, "\n".join(lines) + "\n")
    assert_same_values(embedded, pushed)  # type: ignore[arg-type]
    assert_same_datasets(embedded, pushed)  # type: ignore[arg-type]
    assert reject_counts(pushed) == reject_counts(embedded)  # type: ignore[arg-type]
