"""The string fields' null-marker check: the first-character shortcut changes no value.

`value_expr` of a string field skips the null-marker regexp for texts whose first
character can start neither a space nor a marker. This compares it, over generated
texts (spaces of every kind, markers, markers inside words, non-ASCII), with the
plain regexp form it replaced.
"""

from __future__ import annotations

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from cxengine.config import FieldConfig
from cxengine.dataset.fieldtypes import FieldPlan, is_null_text, value_expr

MARKERS = ["", "NA", "N/A", "n/a", "null", "NULL", "-"]
PIECES = st.sampled_from(
    [" ", "\t", "\n", "\r", "\x0b", "\x0c", "\u00a0", "\u2007", "\u2009", "\u202f", "\ufeff",
     "\u3000", "\u2028", "N", "n", "A", "a", "/", "-", "x", "Ы", "0", "NA", "null", "NULL"]
)  # fmt: skip
TEXTS = st.one_of(st.none(), st.lists(PIECES, max_size=6).map("".join), st.text(max_size=6))


def _plan() -> FieldPlan:
    return FieldPlan("f", "c", "string", "VARCHAR", FieldConfig.model_validate({"type": "string"}))


@settings(max_examples=80, deadline=None)  # no wall-clock bound (docs/testing.md)
@given(
    texts=st.lists(TEXTS, min_size=1, max_size=40),
    markers=st.sampled_from([MARKERS, ["-"], ["NA", "n/a"]]),
)
def test_shortcut_keeps_every_value(texts: list[str | None], markers: list[str]) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (i INTEGER, c VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(texts)))
    column = '"c"'
    plain = f"CASE WHEN {is_null_text(column, markers)} THEN NULL ELSE {column} END"
    fast = value_expr(_plan(), markers)
    assert "ascii(" in fast  # the shortcut is what is tested
    rows = con.execute(f"SELECT i, {plain}, {fast} FROM t ORDER BY i").fetchall()
    assert [r[1] for r in rows] == [r[2] for r in rows]


def test_markers_with_spaces_are_still_null() -> None:
    con = duckdb.connect()
    fast = value_expr(_plan(), MARKERS)
    texts = ["  NA ", "\u00a0null", "", "   ", "\u2009-", "NA", "Nancy", "R001", "-5", None]
    con.execute("CREATE TABLE t (i INTEGER, c VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(texts)))
    got = [r[0] for r in con.execute(f"SELECT {fast} FROM t ORDER BY i").fetchall()]
    assert got == [None, None, None, None, None, None, "Nancy", "R001", "-5", None]
