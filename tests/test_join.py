"""Joined datasets: survey answers linked to tickets, counted per side, never fanned out."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from cxengine.config import DatasetConfig
from cxengine.dataset.join import JoinConfig, JoinError, join_datasets, join_order, joined_fields
from cxengine.dataset.load import LoadedDataset, load_dataset
from cxengine.plugins import get_registry

RESPONSES = """response_id,ticket_id,score,channel
R1,T1,5,web
R2,T2,2,email
R3,T9,4,web
R4,,3,phone
R5,T1,4,web
"""
TICKETS = """ticket_id,frt_min,channel,reopened
T1,3,chat,false
T2,45,email,true
T3,200,phone,false
"""


def _load(con: duckdb.DuckDBPyConnection, tmp: Path, name: str, text: str) -> LoadedDataset:
    path = tmp / f"{name}.csv"
    path.write_text(text, encoding="utf-8")
    cfg = DatasetConfig.model_validate({"source": "csv", "path": str(path)})
    return load_dataset(con, name, cfg, get_registry().source("csv"), base_dir=tmp)


@pytest.fixture
def sides(tmp_path: Path):
    con = duckdb.connect()
    responses = _load(con, tmp_path, "responses", RESPONSES)
    yield con, responses, _load(con, tmp_path, "tickets", TICKETS)
    con.close()


def _config(**kw: object) -> JoinConfig:
    return JoinConfig.model_validate(
        {"from": "responses", "to": "tickets", "on": {"ticket_id": "ticket_id"}, **kw}
    )


def test_left_join_keeps_every_answer_and_counts_matches_per_side(sides):
    con, responses, tickets = sides
    joined = join_datasets(con, "answered", _config(), responses, tickets)
    c = joined.counts
    assert (c.from_rows, c.from_matched, c.from_unmatched) == (5, 3, 2)
    assert (c.to_rows, c.to_matched, c.to_unmatched) == (3, 2, 1)
    ds = joined.dataset
    assert ds.rows_used == 5 and ds.rejects == []
    assert "3 of 5 responses rows matched (2 unmatched)" in ds.notes[0]
    rows = con.execute(
        f'SELECT response_id, frt_min, "tickets.channel", "responses.channel", channel '
        f'FROM "{ds.table}" ORDER BY _cx_row'
    ).fetchall()
    assert rows[0] == ("R1", 3, "chat", "web", "web")
    assert rows[2] == ("R3", None, None, "web", "web")


def test_clashing_names_are_qualified_and_keep_their_types(sides):
    _, responses, tickets = sides
    fields, _ = joined_fields(_config(), responses.fields, tickets.fields)
    assert fields["channel"] == "string" and fields["tickets.channel"] == "string"
    assert fields["frt_min"] == "integer" and fields["reopened"] == "boolean"
    assert "tickets.ticket_id" not in fields  # the shared key is one field


def test_inner_join_rejects_unmatched_answers_with_their_key_and_line(sides):
    con, responses, tickets = sides
    joined = join_datasets(con, "answered", _config(how="inner"), responses, tickets)
    ds = joined.dataset
    assert ds.rows_used == 3 and ds.rows_rejected == 2
    reasons = sorted((r.locator, r.reason) for r in ds.rejects)
    assert reasons[0][0].endswith("responses.csv:4")
    assert reasons[0][1] == "inner join with tickets: no tickets row with ticket_id = T9"
    assert reasons[1][1] == "inner join with tickets: ticket_id is empty"


def test_duplicate_key_in_a_one_to_one_join_is_refused_with_examples(tmp_path: Path):
    con = duckdb.connect()
    responses = _load(con, tmp_path, "responses", RESPONSES)
    tickets = _load(con, tmp_path, "tickets", TICKETS + "T1,9,web,true\nT3,1,web,true\n")
    with pytest.raises(JoinError) as info:
        join_datasets(con, "answered", _config(), responses, tickets)
    assert info.value.path == ("expect",)
    # T3 is duplicated too, but no answer links to it: no fan-out, no refusal for it.
    assert "1 key(s) of tickets" in info.value.message
    assert "ticket_id = 'T1' (2 rows)" in info.value.message
    joined = join_datasets(con, "answered", _config(expect="many"), responses, tickets)
    assert joined.counts.joined_rows == 7  # R1 and R5 each match two T1 tickets


def test_missing_and_mistyped_keys_are_refused_naming_the_field(sides):
    con, responses, tickets = sides
    with pytest.raises(JoinError, match="'ticket' is not a field of responses"):
        join_datasets(con, "a", _config(on={"ticket": "ticket_id"}), responses, tickets)
    with pytest.raises(JoinError, match=r"key types differ: responses\.score is integer"):
        join_datasets(con, "a", _config(on={"score": "ticket_id"}), responses, tickets)


def test_integer_and_number_keys_join(tmp_path: Path):
    con = duckdb.connect()
    a = _load(con, tmp_path, "a", "k,x\n1,a\n2,b\n")
    b = _load(con, tmp_path, "b", "k,y\n1.0,p\n2.5,q\n")
    cfg = JoinConfig.model_validate({"from": "a", "to": "b", "on": "k"})
    joined = join_datasets(con, "ab", cfg, a, b)
    assert joined.counts.from_matched == 1


def test_join_order_puts_inputs_first_and_refuses_cycles():
    j = {
        "ab": JoinConfig.model_validate({"from": "a", "to": "b", "on": "k"}),
        "abc": JoinConfig.model_validate({"from": "ab", "to": "c", "on": "k"}),
    }
    assert join_order({"abc": j["abc"], "ab": j["ab"]}) == ["ab", "abc"]
    cyc = {
        "x": JoinConfig.model_validate({"from": "y", "to": "b", "on": "k"}),
        "y": JoinConfig.model_validate({"from": "x", "to": "b", "on": "k"}),
    }
    with pytest.raises(JoinError, match="cycle"):
        join_order(cyc)
