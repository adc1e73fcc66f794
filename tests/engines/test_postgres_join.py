"""A `join:` of two datasets in PostgreSQL: made there, counted and refused alike.

The same join as the embedded one (cxengine/dataset/join.py): matched rows per side,
qualified names for fields both sides have, `expect: one` refusing a key several
`to` rows share, an inner join's unmatched rows as rejects; and the specs over it
give the embedded values.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_data import assert_same_datasets, assert_same_values, on_postgres

from cxengine.config import load_config
from cxengine.errors import SpecError
from cxengine.runner import run_project, validate_project
from cxengine.testing import write_project

ANSWERS = """id,at,ticket,score,channel
a1,2025-01-03 10:00:00,T1,5,web
a2,2025-01-04 10:00:00,T2,2,email
a3,2025-01-20 10:00:00,T9,4,web
a4,2025-02-02 10:00:00,,1,phone
a5,2025-02-03 10:00:00,T3,4,web
"""
TICKETS = """ticket,channel,reopened
T1,chat,false
T2,email,true
T3,chat,false
T4,chat,true
"""
SPECS = {
    "csat": {"kind": "share", "dataset": "answered", "field": "score", "scale": [1, 5],
             "by": ["tickets.channel"], "period": "month", "time": "at"},
    "reopened_csat": {"kind": "share", "dataset": "answered", "field": "score",
                      "scale": [1, 5], "by": ["reopened"], "period": "none"},
}  # fmt: skip


def _project(tmp_path: Path, how: str, tickets: str = TICKETS) -> Path:
    return write_project(
        tmp_path,
        {
            "answers": {"source": "csv", "path": "answers.csv", "key": "id",
                        "fields": {"id": "string", "at": "datetime", "ticket": "string",
                                   "score": "integer", "channel": "string"}},
            "tickets": {"source": "csv", "path": "tickets.csv", "key": "ticket",
                        "fields": {"ticket": "string", "channel": "string",
                                   "reopened": "boolean"}},
            "answered": {"join": {"from": "answers", "to": "tickets",
                                  "on": {"ticket": "ticket"}, "how": how, "expect": "one"}},
        },
        SPECS,
        {"answers.csv": ANSWERS, "tickets.csv": tickets},
    )  # fmt: skip


@pytest.fixture
def pg(postgres_dsn: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CX_TEST_PG_DSN", postgres_dsn)
    return postgres_dsn


@pytest.mark.parametrize("how", ["left", "inner"])
def test_a_join_in_postgres_counts_and_computes_alike(tmp_path: Path, pg: str, how: str) -> None:
    files = _project(tmp_path / "files", how)
    engine = on_postgres(files, pg, tmp_path / "pg")
    embedded = run_project(load_config(files), store=False)
    pushed = run_project(load_config(engine), store=False)
    assert assert_same_values(embedded, pushed) > 5
    assert_same_datasets(embedded, pushed)
    assert pushed.datasets["answered"].join == embedded.datasets["answered"].join
    unmatched = sorted(r.reason for r in pushed.rejects if r.dataset == "answered")
    assert unmatched == sorted(r.reason for r in embedded.rejects if r.dataset == "answered")
    assert len(unmatched) == (2 if how == "inner" else 0)


def test_a_duplicate_key_is_refused_as_embedded(tmp_path: Path, pg: str) -> None:
    files = _project(tmp_path / "files", "left", TICKETS + "T2,phone,false\n")
    engine = on_postgres(files, pg, tmp_path / "pg")
    with pytest.raises(SpecError) as embedded:
        run_project(load_config(files), store=False)
    with pytest.raises(SpecError) as pushed:
        run_project(load_config(engine), store=False)
    assert "expect: one is broken" in str(pushed.value)
    assert str(pushed.value).split(": ", 2)[-1] == str(embedded.value).split(": ", 2)[-1]


def test_a_join_of_an_engine_dataset_and_a_file_is_refused(tmp_path: Path, pg: str) -> None:
    files = _project(tmp_path / "files", "left")
    engine = on_postgres(files, pg, tmp_path / "pg")
    text = engine.read_text(encoding="utf-8")
    head, tickets = text.split("  tickets:\n", 1)
    _, rest = tickets.split("  answered:\n", 1)
    local = (
        "  tickets:\n    source: csv\n    path: "
        + str(tmp_path / "files" / "tickets.csv")
        + "\n    key: ticket\n    fields: {ticket: string, channel: string, reopened: boolean}\n"
    )
    engine.write_text(head + local + "  answered:\n" + rest, "utf-8")
    _, problems = validate_project(load_config(engine))
    assert any(p.path.endswith("join") and "same engine" in p.message for p in problems), problems
