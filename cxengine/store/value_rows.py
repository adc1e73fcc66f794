"""`value_rows`: metric values as a flat view, one column per slice field.

`metric_values` keys a slice as canonical JSON (`{"touchpoint": "website"}`), which
is exact but awkward in Datasette or a BI tool: "NPS by touchpoint" would need
`json_extract`. The view spells each slice field out as its own column, turns the
period into a date (NULL for all periods together) and adds the metric's title,
unit and grain, so it reads like a spreadsheet.

Slice fields are whatever the specs group by, so the view's columns depend on the
data. It is rebuilt inside the transaction that stores a run, keeping every column
it already had (older runs still need theirs) and adding the new run's fields.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable

VIEW = "value_rows"

#: Columns of the view before the slice fields; a slice field with one of these names
#: is shown as `slice_<name>` instead.
BASE_COLUMNS = (
    "run_id",
    "metric",
    "title",
    "kind",
    "unit",
    "grain",
    "period",
    "all_periods",
    "slice",
    "value",
    "ci_low",
    "ci_high",
    "n",
    "low_sample",
    "rows",
    "excluded",
    "note",
    "counts",
)


def quote(name: str) -> str:
    """Quote an SQLite identifier (double quotes doubled inside)."""
    return '"' + name.replace('"', '""') + '"'


def slice_column(field: str) -> str:
    """Return the view column that holds a slice field."""
    return f"slice_{field}" if field.lower() in {c.lower() for c in BASE_COLUMNS} else field


def column_names(fields: list[str]) -> list[str]:
    """Return the view column of each slice field, unique without regard to case.

    SQLite compares identifiers case-insensitively, so `Touchpoint` and `touchpoint`
    become `Touchpoint` and `touchpoint_2`.
    """
    taken = {c.lower() for c in BASE_COLUMNS}
    out: list[str] = []
    for f in fields:
        name, k = slice_column(f), 2
        while name.lower() in taken:
            name, k = f"{slice_column(f)}_{k}", k + 1
        taken.add(name.lower())
        out.append(name)
    return out


def view_sql(fields: list[str]) -> str:
    """Return the CREATE VIEW statement for these slice fields (in this order)."""
    slices = "".join(
        f",\n    {_extract(f)} AS {quote(c)}"
        for f, c in zip(fields, column_names(fields), strict=True)
    )
    marker = json.dumps(fields, ensure_ascii=False)
    return f"""CREATE VIEW {VIEW} AS
-- slice fields: {marker}
SELECT
    v.run_id, v.metric, m.title, m.kind, m.unit, m.grain,
    CASE WHEN v.period = '' THEN NULL ELSE date(v.period) END AS period,
    v.period = '' AS all_periods,
    v.slice, v.value, v.ci_low, v.ci_high, v.n, v.low_sample, v.rows, v.excluded,
    v.note, v.counts{slices}
FROM metric_values v
LEFT JOIN metrics m ON m.run_id = v.run_id AND m.metric = v.metric"""


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _extract(field: str) -> str:
    # '$."name"' addresses a key with dots or spaces; JSON paths cannot escape a double
    # quote, so such a key is looked up through json_each instead.
    if '"' in field:
        return f"(SELECT j.value FROM json_each(v.slice) j WHERE j.key = {_literal(field)})"
    path = _literal('$."' + field + '"')
    return f"json_extract(v.slice, {path})"


def _view_sql(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'view' AND name = ?", (VIEW,))
    found = row.fetchone()
    return str(found[0]) if found else None


def _fields_of(sql: str | None) -> list[str]:
    if not sql or "-- slice fields: " not in sql:
        return []
    text = sql.split("-- slice fields: ", 1)[1].splitlines()[0]
    return [str(f) for f in json.loads(text)]


def current_fields(conn: sqlite3.Connection) -> list[str]:
    """Return the slice fields the view has now (from the comment written into its SQL)."""
    return _fields_of(_view_sql(conn))


def refresh(conn: sqlite3.Connection, fields: Iterable[str] | None = None) -> list[str]:
    """Rebuild the view with its slice fields plus `fields` (None: every stored one).

    Runs inside the caller's transaction. When the view already has every field it
    costs one read of sqlite_master: it runs in every run's write transaction.
    Returns the slice fields of the view.
    """
    if fields is None:
        fields = [
            str(r[0])
            for r in conn.execute(
                "SELECT DISTINCT j.key FROM metric_values v, json_each(v.slice) j ORDER BY 1"
            )
        ]
    sql = _view_sql(conn)
    have = _fields_of(sql)
    new = sorted({str(f) for f in fields} - set(have))
    if not new and sql is not None:
        return have
    have = have + new
    conn.execute(f"DROP VIEW IF EXISTS {VIEW}")
    conn.execute(view_sql(have))
    return have
