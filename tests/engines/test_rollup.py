"""Engine query rewrites that need no engine to check: roll-ups and null markers.

A grouped query rolled up from its finest groups gives the same rows (DuckDB).

`cxengine/engines/rollup.py` rewrites every engine's GROUPING SETS query; these
checks need no engine: the same rewrite run in DuckDB must answer row for row as
the query it replaces, including the grand total of an empty table, NULL keys and
counts behind FILTER. The engine equality tests (test_postgres*, test_spark) then
compare whole runs with the embedded engine.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pytest
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

from cxengine.engines.rollup import FINE_ROWS, rolled_up

GROUPED = """
SELECT p, s, GROUPING(p, s) AS g, COUNT(*) AS n, COUNT(x) FILTER (WHERE x > 2) AS big,
       SUM(CAST(x AS DOUBLE)) AS total, MIN(x) AS lo, MAX(x) FILTER (WHERE s = 'b') AS hi,
       COUNT(*) FILTER (WHERE x IS NULL) * 2 + 1 AS shaped
FROM (SELECT date_trunc('month', t) AS p, s, x FROM r WHERE t IS NOT NULL) AS base
GROUP BY GROUPING SETS ((p, s), (p), (s), ())
"""

ROWS: list[tuple[str | None, str | None, int | None]] = [
    ("2025-01-03", "a", 1),
    ("2025-01-30", "a", 4),
    ("2025-01-30", None, 5),
    ("2025-02-01", "b", None),
    ("2025-02-11", "b", 3),
    ("2025-03-05", "a", 2),
    (None, "b", 9),  # no time: filtered out
]


def _answer(con: duckdb.DuckDBPyConnection, query: exp.Expr) -> list[tuple[Any, ...]]:
    rows = con.execute(query.sql(dialect="duckdb")).fetchall()
    return sorted(rows, key=repr)


@pytest.mark.parametrize("rows", [ROWS, ROWS[:1], []], ids=["rows", "one row", "empty"])
def test_rolled_up_query_answers_as_the_grouping_sets_query(
    rows: list[tuple[str | None, str | None, int | None]],
) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE r (t TIMESTAMP, s VARCHAR, x BIGINT)")
    if rows:
        con.executemany("INSERT INTO r VALUES (?, ?, ?)", rows)
    query = sqlglot.parse_one(GROUPED, read="duckdb")
    assert isinstance(query, exp.Select)
    rolled = rolled_up(query)
    assert rolled is not None
    # Grouped first by every key, then rolled up: one plain GROUP BY inside.
    inner = rolled.find(exp.Subquery)
    assert inner is not None and "GROUPING SETS" not in inner.sql(dialect="duckdb").upper()
    assert _answer(con, rolled) == _answer(con, query)
    # The grand total of an empty table still counts 0, not NULL.
    if not rows:
        assert _answer(con, rolled) == [(None, None, 3, 0, 0, None, None, None, 1)]


def test_the_rows_grouped_first_are_marked_for_engines_to_fence() -> None:
    query = sqlglot.parse_one(GROUPED, read="duckdb")
    assert isinstance(query, exp.Select)
    rolled = rolled_up(query)
    assert rolled is not None
    marked = [s for s in rolled.find_all(exp.Subquery) if s.meta.get(FINE_ROWS)]
    assert len(marked) == 1 and marked[0].alias == "base"


@pytest.mark.parametrize(
    "select",
    [
        "AVG(x) AS m",  # an average does not add up
        "COUNT(DISTINCT x) AS d",  # nor does a distinct count
        "x AS raw",  # a column outside any aggregate that is not a key
        "SUM(x) OVER () AS w",  # a window
        "arg_min(x, p) AS first",  # an aggregate cxengine does not know
    ],
)
def test_queries_that_do_not_add_up_are_left_alone(select: str) -> None:
    query = sqlglot.parse_one(
        f"SELECT p, COUNT(*) AS n, {select} FROM (SELECT * FROM r) AS base "
        "GROUP BY GROUPING SETS ((p), ())",
        read="duckdb",
    )
    assert isinstance(query, exp.Select)
    assert rolled_up(query) is None


def test_a_query_without_grouping_sets_is_left_alone() -> None:
    for sql in ("SELECT COUNT(*) AS n FROM r", "SELECT p, COUNT(*) AS n FROM r GROUP BY p"):
        query = sqlglot.parse_one(sql, read="duckdb")
        assert isinstance(query, exp.Select)
        assert rolled_up(query) is None


def test_postgres_fences_the_rows_grouped_first() -> None:
    """PostgreSQL plans them on their own (OFFSET 0), so it hashes a few groups."""
    from cxengine.engines.postgres import PostgresEngine
    from cxengine.engines.render import render

    query = sqlglot.parse_one(GROUPED, read="duckdb")
    assert isinstance(query, exp.Select)
    rolled = rolled_up(query)
    assert rolled is not None
    sql = render(PostgresEngine(), rolled)
    assert sql.count("OFFSET 0") == 1
    assert "WHERE NOT t IS NULL OFFSET 0) AS base" in sql


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    texts=st.lists(
        st.text(alphabet=" \t\r\n\u00a0\u2007\u2009\u202f\ufeffNnAaUuLl/-x0", max_size=7),
        min_size=1,
        max_size=40,
    ),
    markers=st.sampled_from([("", "-", "N/A", "NA", "NULL", "n/a", "null"), ("x",), (" ",)]),
)
def test_the_first_character_test_keeps_what_is_a_null_marker(
    texts: list[str], markers: tuple[str, ...]
) -> None:
    """The cheap test before the trim (fieldtyping._missing) never changes the answer.

    The reference is the plain rule: a value is missing when it is NULL or, trimmed of
    the loader's spaces, one of the dataset's (trimmed) null markers.
    """
    from cxengine.dataset.fieldtypes import WHITESPACE
    from cxengine.engines.fieldtyping import _missing

    con = duckdb.connect()
    con.execute("CREATE TABLE r (i INTEGER, t VARCHAR)")
    con.executemany("INSERT INTO r VALUES (?, ?)", [(i, t) for i, t in enumerate([*texts, None])])
    test = _missing(exp.column("t"), markers).sql(dialect="duckdb")
    got = [bool(x) for (x,) in con.execute(f"SELECT {test} FROM r ORDER BY i").fetchall()]
    stripped = {m.strip(WHITESPACE) for m in markers}
    assert got == [t.strip(WHITESPACE) in stripped for t in texts] + [True]
