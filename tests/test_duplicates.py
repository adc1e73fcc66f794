"""The duplicate check of a key or `unique:` field, straight on a DuckDB table.

Most keys are unique, so the check first asks whether any value repeats (sorted
hashes, or an aggregate for floats); only then are the later rows and their first
occurrences looked for. Both
answers must agree with the definition: empty values are never duplicates, and every
later row repeating a value is listed with the first row that had it.
"""

from __future__ import annotations

import duckdb
import pytest

from cxengine.dataset import duplicates
from cxengine.dataset.duplicates import _duplicates


def table(values: list[object], sql_type: str) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t (_cx_row BIGINT, k {sql_type})")
    if values:
        con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(values)))
    return con


@pytest.mark.parametrize(
    ("values", "sql_type"),
    [
        (["a", None, "b", None, None, "c"], "VARCHAR"),
        ([1, None, 2, None, 3], "BIGINT"),
        ([0.5, None, None, 1.5], "DOUBLE"),
        ([None, None], "VARCHAR"),
        ([], "VARCHAR"),
    ],
)
def test_unique_values_and_repeated_empties_are_no_duplicates(
    values: list[object], sql_type: str
) -> None:
    assert _duplicates(table(values, sql_type), "t", "k") == []


@pytest.mark.parametrize(
    ("values", "sql_type", "expected"),
    [
        (
            ["T1", "T2", "T1", None, "T2", "T1"],
            "VARCHAR",
            [(2, 0, "T1"), (4, 1, "T2"), (5, 0, "T1")],
        ),
        ([7, 8, 9, 7], "BIGINT", [(3, 0, "7")]),
        ([None, 1.5, None, 1.5, 2.0], "DOUBLE", [(3, 1, "1.5")]),
        ([0.0, -0.0], "DOUBLE", [(1, 0, "-0.0")]),  # equal, as DuckDB compares them
        (["2025-01-02", "2025-01-01", "2025-01-02"], "DATE", [(2, 0, "2025-01-02")]),
        (
            ["2025-01-01 10:00:00", "2025-01-01 10:00:00.000001", "2025-01-01 10:00:00"],
            "TIMESTAMP",
            [(2, 0, "2025-01-01 10:00:00")],
        ),
    ],
)
def test_every_later_repeat_is_listed_with_its_first_row(
    values: list[object], sql_type: str, expected: list[tuple[int, int, str]]
) -> None:
    assert _duplicates(table(values, sql_type), "t", "k") == expected


def test_hashes_fetched_in_slices_find_repeats_across_slices_and_gaps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Slices of 2 rows: the repeat of "a" lies three slices after its first row, and
    # rows 3-4 are missing (deleted as a unique field's repeats), leaving slices empty.
    monkeypatch.setattr(duplicates, "HASH_SLICE", 2)
    con = duckdb.connect()
    con.execute("CREATE TABLE t (_cx_row BIGINT, k VARCHAR)")
    rows = [(0, "a"), (1, "b"), (2, None), (5, "c"), (6, "d"), (7, "a"), (8, "e")]
    con.executemany("INSERT INTO t VALUES (?, ?)", rows)
    assert _duplicates(con, "t", "k") == [(7, 0, "a")]
    con.execute("DELETE FROM t WHERE _cx_row = 7")
    assert _duplicates(con, "t", "k") == []
    # The fast check saw every hash: it alone decides "no repeat" here.
    assert duplicates._may_repeat(con, "t", "k") is False
