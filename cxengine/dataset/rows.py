"""Putting a source's rows into a raw DuckDB table, whatever shape the source gave them in.

The raw table keeps the source order: DuckDB preserves insertion order, so its
``rowid`` is the 0-based index of the row among the rows the reader produced.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from cxengine.dataset.sql import ident, run
from cxengine.errors import CxError, PluginError
from cxengine.interfaces import SourceData

if TYPE_CHECKING:
    import duckdb
else:
    from cxengine.lazy import duckdb


class RowsError(Exception):
    """A rows iterable misbehaved: raised while iterating, or yielded a non-mapping."""


#: Chooses what the raw table keeps: given the source's columns (name -> DuckDB type),
#: return the SELECT list over them (cxengine's own column names, so no source column
#: such as `rowid` can shadow DuckDB's).
Projection = Callable[[dict[str, str]], str]


def materialize(
    con: duckdb.DuckDBPyConnection,
    data: SourceData,
    table: str,
    batch_size: int,
    projection: Projection,
) -> dict[str, str] | None:
    """Create `table` from the source data, keeping only what `projection` selects.

    Returns the source's columns (name -> DuckDB type), or None when it produced no
    columns at all. A relation is read once, straight into the projected table: a
    CSV's undeclared columns are never copied (DuckDB pushes the projection down).
    """
    given = [x for x in (data.relation, data.arrow, data.rows) if x is not None]
    if len(given) != 1:
        raise ValueError(
            f"a source must give exactly one of relation, arrow or rows (gave {len(given)})"
        )
    if data.relation is not None:
        rel = data.relation(con)
        columns = {c: str(t) for c, t in zip(rel.columns, rel.types, strict=True)}
        rel.project(projection(columns)).create(table)
        return columns
    if data.arrow is not None:
        view = f"{table}_arrow"
        con.register(view, data.arrow)
        try:
            return _project(con, view, table, projection)
        finally:
            con.unregister(view)
    assert data.rows is not None
    staging = f"{table}_rows"
    try:
        if not rows_to_table(con, data.rows, staging, batch_size):
            return None
        return _project(con, staging, table, projection)
    finally:
        run(con, f"DROP TABLE IF EXISTS {ident(staging)}")


def _project(
    con: duckdb.DuckDBPyConnection, source: str, table: str, projection: Projection
) -> dict[str, str]:
    rel = con.sql(f"SELECT * FROM {ident(source)} LIMIT 0")
    columns = {c: str(t) for c, t in zip(rel.columns, rel.types, strict=True)}
    run(con, f"CREATE TABLE {ident(table)} AS SELECT {projection(columns)} FROM {ident(source)}")
    return columns


def rows_to_table(
    con: duckdb.DuckDBPyConnection, rows: Iterable[Mapping[str, Any]], table: str, batch_size: int
) -> bool:
    """Append rows to `table` in Arrow batches of strings; new keys become new columns."""
    import pyarrow as pa

    columns: list[str] = []
    created = False
    batch_name = f"{table}_batch"
    for batch in _batches(rows, batch_size):
        new = [k for k in batch if k not in columns]
        if created:
            for k in new:
                run(con, f"ALTER TABLE {ident(table)} ADD COLUMN {ident(k)} VARCHAR")
        columns.extend(new)
        arrow = pa.table({k: pa.array(v, pa.string()) for k, v in batch.items()})
        con.register(batch_name, arrow)
        try:
            if created:
                run(con, f"INSERT INTO {ident(table)} BY NAME SELECT * FROM {ident(batch_name)}")
            else:
                run(con, f"CREATE TABLE {ident(table)} AS SELECT * FROM {ident(batch_name)}")
                created = True
        finally:
            con.unregister(batch_name)
    return created


def _batches(rows: Iterable[Mapping[str, Any]], size: int) -> Iterator[dict[str, list[str | None]]]:
    try:
        it = iter(rows)
    except Exception as exc:
        raise RowsError(f"rows is not iterable: {exc}") from exc
    index = 0
    done = False
    while not done:
        cols: dict[str, list[str | None]] = {}
        chunk: list[Any] = []
        try:
            while len(chunk) < size:
                chunk.append(next(it))
        except StopIteration:
            done = True
        except CxError:
            raise  # the source found bad data mid-stream (DataError): not a plugin bug
        except Exception as exc:
            raise RowsError(
                f"failed while producing row {index + len(chunk) + 1}: {type(exc).__name__}: {exc}"
            ) from exc
        if not chunk:
            return
        for n, row in enumerate(chunk, start=1):
            if not isinstance(row, Mapping):
                raise RowsError(
                    f"row {index + n} is a {type(row).__name__}, "
                    "not a mapping of column names to values"
                )
            for key, value in row.items():
                col = cols.get(str(key))
                if col is None:
                    col = cols[str(key)] = [None] * (n - 1)
                col.append(to_text(value))
            for col in cols.values():
                if len(col) < n:
                    col.append(None)
        index += len(chunk)
        yield cols


def to_text(value: Any) -> str | None:
    """Convert a Python value to the text cxengine types from (None stays None)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, float | int | Decimal):
        return str(value)
    return str(value)


def plugin_error(source_name: str, exc: BaseException) -> PluginError:
    """Wrap an exception raised by a third-party source into a PluginError naming it."""
    detail = str(exc) if isinstance(exc, RowsError) else f"{type(exc).__name__}: {exc}"
    return PluginError(source_name, detail)
