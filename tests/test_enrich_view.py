"""The tagged dataset is a view: the rows beside one reference per comment, not a copy.

Kinds read the tag columns as if they were fields; what backs them is the dataset
table, a narrow table of references in the table's row order (read with a positional
join) and one row of tags per distinct text (a small hash join). These tests pin that
the columns are the same as a copy would give, and that a row order that does not
line up falls back to a join on the row number instead of pairing rows wrongly.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from cxengine.config import load_config
from cxengine.enrich import tag_view
from cxengine.session import Session
from cxengine.tagging import TagOutcome, text_tags
from tests.test_enrich import DATASET, WordEnricher, registry_with

DATA = """\
id,score,channel,comment
r1,1,web,the parcel was late and broken
r2,5,web,great service
r3,4,phone,
r4,2,phone,   \t
r5,5,web,great service
r6,1,phone,late again
"""


@pytest.fixture
def session(make_project: Callable[..., Path]) -> Session:
    config = make_project(DATASET, {}, {"data.csv": DATA})
    s = Session(load_config(config), registry_with(WordEnricher()))
    s.load(["responses"])
    s.enrich(write=False)
    return s


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    return con.execute(sql).fetchall()


def test_the_tagged_dataset_is_a_view_with_the_tag_columns(session: Session) -> None:
    ds = session.datasets["responses"]
    con = session.con
    assert rows(con, f"SELECT count(*) FROM duckdb_views() WHERE view_name = '{ds.table}'") == [
        (1,)
    ]
    # No table holds the dataset's fields twice.
    tables = {r[0] for r in rows(con, "SELECT table_name FROM duckdb_tables()")}
    assert not any(t.startswith("_cx_enriched") for t in tables)
    got = rows(
        con,
        f"SELECT id, comment_themes, comment_sentiment, comment_label, comment_theme_late, "
        f'comment_theme_broken_sentiment, comment_language FROM "{ds.table}" ORDER BY id',
    )
    assert got == [
        ("r1", ["late", "broken"], -1.0, "negative", True, -0.5, "en"),
        ("r2", [], 0.8, "positive", False, None, "en"),
        ("r3", None, None, None, None, None, None),
        ("r4", None, None, None, None, None, None),
        ("r5", [], 0.8, "positive", False, None, "en"),
        ("r6", ["late"], -0.5, "negative", True, None, "en"),
    ]


def test_rows_are_paired_with_their_references_by_position(session: Session) -> None:
    ds = session.datasets["responses"]
    plan = rows(session.con, f'EXPLAIN SELECT count(*), sum(score) FROM "{ds.table}"')[0][1]
    assert "POSITIONAL" in plan.upper()  # no hash join over every row for the references


def test_comments_sharing_a_text_share_one_reference_to_its_tags() -> None:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE texts AS SELECT * FROM (VALUES "
        "('h1', 'en', -0.5, 'negative', ['late'], {'late': -0.5}),"
        "('h2', 'en', -0.5, 'negative', ['late'], {'late': -0.5}),"  # same tags, other text
        "('h3', NULL, NULL, NULL, NULL, NULL)"
        ") AS t(text_hash, language, sentiment, label, themes_list, theme_scores)"
    )
    con.execute(
        "CREATE TABLE comments AS SELECT * FROM (VALUES (0, 'h1'), (1, 'h1'), (2, 'h2'), "
        "(3, 'h3')) AS t(_cx_row, text_hash)"
    )
    outcome = TagOutcome("tags", "texts", "comments", 0, 0, 0, lambda: None)
    refs = text_tags(con, outcome, "tagset")
    # One row of tags per text, however many comments have it.
    assert rows(con, "SELECT count(*) FROM tagset") == [(3,)]
    by_row = dict(rows(con, f"SELECT _cx_row, _cx_tag FROM ({refs})"))
    assert by_row[0] == by_row[1] != by_row[2]
    assert rows(con, f"SELECT label FROM tagset WHERE _cx_tag = {by_row[3]}") == [(None,)]


def test_rows_out_of_order_are_joined_on_their_row_number() -> None:
    con = duckdb.connect()
    # Physical order 2, 0, 1: a positional join would pair the wrong rows.
    con.execute(
        "CREATE TABLE d AS SELECT * FROM (VALUES (2, 'c'), (0, 'a'), (1, 'b')) t(_cx_row, x)"
    )
    con.execute("CREATE TABLE s AS SELECT * FROM (VALUES (1, 'A'), (2, 'B')) t(_cx_tag, label)")
    con.execute("CREATE TABLE s_rows AS SELECT * FROM (VALUES (0, 1), (2, 2)) t(_cx_row, _cx_tag)")
    view = tag_view(con, "d", "v", ["d.*", "t0.label AS tag"], ["s"])
    assert rows(con, f"SELECT _cx_row, x, tag FROM {view} ORDER BY _cx_row") == [
        (0, "a", "A"),
        (1, "b", None),
        (2, "c", "B"),
    ]
    assert "POSITIONAL" not in rows(con, f"EXPLAIN SELECT * FROM {view}")[0][1].upper()
