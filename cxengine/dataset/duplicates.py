"""Duplicate keys: reported for a dataset's `key:`, rejected for a field with `unique: true`.

Two tickets with one `ticket_id` were counted twice with no word. The rule:

- a dataset's `key:` field is checked for values that occur more than once; the load
  notes say how many and show a few with their locations (the rows still count);
- a field declared `unique: true` keeps the **first** row (in source order) of each
  value; every later row with that value is rejected as a whole row, stored with its
  location and the location of the row kept. Empty values are never duplicates.

So `rows read = rows used + rows rejected` still holds, and a rerun gives the same rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import duckdb

from cxengine.dataset.sql import ident
from cxengine.interfaces import Reject

Locate = Callable[[Sequence[int]], Mapping[int, str]]
#: Examples of duplicated key values shown in a load note.
EXAMPLES = 3
MAX_VALUE = 200


#: Rows whose key hashes are fetched at a time (see _may_repeat).
HASH_SLICE = 1_000_000
#: Types whose equal values always have equal `hash()`es (floats do not: 0.0 and -0.0).
_HASH_EXACT = ("VARCHAR", "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT",
               "DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "BOOLEAN")  # fmt: skip


def _may_repeat(con: duckdb.DuckDBPyConnection, table: str, field: str) -> bool:
    """Return False only when no present value of `field` occurs twice (cheap, exact).

    Most keys are unique, so this decides whether the window over every row (which
    finds the repeats and their first rows) runs at all. The values' 64-bit hashes,
    sorted in place in a NumPy array, hold 8 bytes a row: on 5M string keys this took
    0.39 s of CPU and 85 MiB, where count(DISTINCT) took 1.0 s and 230 MiB and the
    window 2.7 s and 490 MiB. Equal hashes (a repeat, or rarely a collision) send the
    field to the exact window, so a collision costs time, never a wrong answer.
    """
    f, t = ident(field), ident(table)
    sql_type = str(con.sql(f"SELECT {f} FROM {t} LIMIT 0").types[0])
    if sql_type not in _HASH_EXACT:
        row = con.execute(f"SELECT count({f}) - count(DISTINCT {f}) FROM {t}").fetchone()
        return bool(row and row[0])
    import numpy as np  # fetchnumpy imports it anyway

    row = con.execute(f"SELECT count({f}), max(_cx_row) FROM {t}").fetchone()
    count, top = (int(row[0]), int(row[1])) if row and row[1] is not None else (0, -1)
    # Fetched a slice of rows at a time into one array: a single fetch held DuckDB's
    # result and NumPy's copy of it at once (5M rows: +62-79 MiB at the run's peak,
    # against +40-46 MiB this way, for the same CPU). The table is in `_cx_row`
    # order, so each slice reads only its own row groups.
    hashes = np.empty(count, dtype=np.uint64)
    at = 0
    for low in range(0, top + 1, HASH_SLICE):
        part = con.execute(
            f"SELECT hash({f}) AS h FROM {t} "
            f"WHERE _cx_row >= {low} AND _cx_row < {low + HASH_SLICE} AND {f} IS NOT NULL"
        ).fetchnumpy()["h"]
        hashes[at : at + len(part)] = part
        at += len(part)
    hashes.sort()
    return bool((hashes[1:] == hashes[:-1]).any())


def _duplicates(
    con: duckdb.DuckDBPyConnection, table: str, field: str
) -> list[tuple[int, int, str]]:
    """Return (row, first row with the value, value) for every later duplicate of `field`."""
    f = ident(field)
    if not _may_repeat(con, table, field):
        return []
    return [
        (int(row), int(first), str(value))
        for row, first, value in con.execute(
            f"SELECT _cx_row, first_row, CAST(v AS VARCHAR) FROM ("
            f"  SELECT _cx_row, {f} AS v,"
            f"    min(_cx_row) OVER (PARTITION BY {f}) AS first_row"
            f"  FROM {ident(table)} WHERE {f} IS NOT NULL"
            f") WHERE _cx_row <> first_row ORDER BY _cx_row"
        ).fetchall()
    ]


def reject_duplicates(
    con: duckdb.DuckDBPyConnection,
    dataset: str,
    table: str,
    unique: Sequence[str],
    locate: Locate,
) -> tuple[list[Reject], set[int]]:
    """Remove the later rows repeating a `unique: true` field's value; return their rejects.

    Also returns the rows removed, so the caller drops their per-field rejects.
    """
    rejects: list[Reject] = []
    removed: set[int] = set()
    for field in unique:
        dupes = _duplicates(con, table, field)
        if not dupes:
            continue
        rows = [r for r, _, _ in dupes]
        where = locate(sorted({*rows, *(first for _, first, _ in dupes)}))
        con.execute(
            f"DELETE FROM {ident(table)} WHERE _cx_row IN (SELECT unnest(?::BIGINT[]))",
            [rows],
        )
        removed.update(rows)
        for row, first, value in dupes:
            kept = where.get(first, f"row {first + 1}")
            rejects.append(
                Reject(
                    dataset=dataset,
                    locator=where.get(row, f"row {row + 1}"),
                    reason=(
                        f"field {field!r} is unique: {value[:60]!r} is already used by "
                        f"{kept} (the first row is kept)"
                    ),
                    field=field,
                    value=value[:MAX_VALUE],
                )
            )
    return rejects, removed


def duplicate_key_note(
    con: duckdb.DuckDBPyConnection, table: str, key: str, locate: Locate
) -> str | None:
    """Return a note on values of the dataset's key that occur more than once (None: none)."""
    dupes = _duplicates(con, table, key)
    if not dupes:
        return None
    values = {v for _, _, v in dupes}
    shown = []
    firsts: dict[str, tuple[int, int]] = {}
    for row, first, value in dupes:
        firsts.setdefault(value, (first, row))
    examples = list(firsts.items())[:EXAMPLES]
    where = locate(sorted({r for _, pair in examples for r in pair}))
    for value, (first, row) in examples:
        shown.append(
            f"{value[:40]!r} at {where.get(first, f'row {first + 1}')} and "
            f"{where.get(row, f'row {row + 1}')}"
        )
    return (
        f"key {key!r}: {len(values)} value(s) occur more than once ({len(dupes)} extra rows), "
        f"e.g. {'; '.join(shown)}; every row counts — declare the field `unique: true` "
        "to keep only the first"
    )
