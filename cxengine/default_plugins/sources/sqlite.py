"""The `sqlite` source: a table or a read-only SELECT from a SQLite database file.

Read with Python's sqlite3 (DuckDB's sqlite extension cannot be installed offline),
opened read-only, with an authorizer that allows nothing but reading. Rows are
fetched in batches into Arrow record batches of text, so memory stays bounded.
"""

from __future__ import annotations

import sqlite3
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cxengine import hookimpl
from cxengine.dataset.files import FileHasher, input_file
from cxengine.dataset.notes import unique_names
from cxengine.dataset.rows import to_text
from cxengine.dataset.sql import ident
from cxengine.errors import DataError
from cxengine.interfaces import SourceContext, SourceData

if TYPE_CHECKING:
    import pyarrow as pa
    import sqlglot
    from sqlglot import exp
else:
    from cxengine.lazy import exp, sqlglot

BATCH = 10_000
_ALLOWED = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_FUNCTION,
    getattr(sqlite3, "SQLITE_RECURSIVE", 33),
}


class SqliteOptions(BaseModel):
    """Options of the sqlite source."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="the SQLite database file, relative to cxengine.yaml")
    table: str | None = Field(None, description="table (or view) to read; give this or query")
    query: str | None = Field(None, description="a single SELECT statement; give this or table")

    @model_validator(mode="after")
    def _one_of(self) -> SqliteOptions:
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of `table` or `query`")
        return self


def check_select(query: str) -> None:
    """Raise DataError unless the query is one SELECT (or UNION of SELECTs) and nothing else."""
    try:
        statements = [s for s in sqlglot.parse(query, read="sqlite") if s is not None]
    except sqlglot.errors.ParseError as exc:
        raise DataError(f"the sqlite query does not parse: {exc}") from None
    if len(statements) != 1:
        raise DataError(
            f"the sqlite query must be a single SELECT statement, "
            f"found {len(statements)} statements"
        )
    root = statements[0]
    if not isinstance(root, exp.Select | exp.Union | exp.Intersect | exp.Except):
        raise DataError(f"the sqlite query must be a SELECT, not {root.key.upper()}")
    for node in root.walk():
        if isinstance(
            node,
            exp.Command
            | exp.Pragma
            | exp.Attach
            | exp.Detach
            | exp.Insert
            | exp.Update
            | exp.Delete
            | exp.Create
            | exp.Drop,
        ):
            raise DataError(f"the sqlite query may only read data; found {node.key.upper()}")


def _authorize(action: int, *_: object) -> int:
    # A second wall behind the parse check: the connection itself refuses writes,
    # ATTACH and PRAGMA.
    return sqlite3.SQLITE_OK if action in _ALLOWED else sqlite3.SQLITE_DENY


class SqliteSource:
    """A table or a SELECT query from a SQLite file, read-only."""

    name = "sqlite"
    description = "a table or SELECT query from a SQLite database (read-only)"
    options_model = SqliteOptions

    def input_files(self, context: SourceContext) -> list[Path]:
        """Return the database file and its -wal file if any (for the rerun cache)."""
        opts = SqliteOptions.model_validate(context.options)
        path = input_file(context, opts.path)
        # In WAL mode, committed rows may still live in the -wal file beside it.
        wal = path.with_name(path.name + "-wal")
        return [path, wal] if wal.is_file() else [path]

    def open(self, context: SourceContext) -> SourceData:
        """Check the options, open the database read-only and describe its rows."""
        import pyarrow as pa

        opts = SqliteOptions.model_validate(context.options)
        path = input_file(context, opts.path)
        if opts.query is not None:
            check_select(opts.query)
        hasher = FileHasher(path)
        where = f"{opts.path}:{opts.table}" if opts.table else f"{opts.path} query"
        rowids = array("q")
        try:
            con = _connect(path)
            cursor, keyed = _execute(con, opts)
        except sqlite3.Error as exc:
            raise DataError(
                f"dataset {context.dataset!r}: cannot read {opts.path}: {exc}"
            ) from None
        described = [d[0] for d in cursor.description or []]
        names, _ = unique_names(described[1:] if keyed else described)
        if not names:
            return SourceData(rows=[], origin=where, fingerprint=hasher.result)
        schema = pa.schema([(n, pa.string()) for n in names])
        reader = pa.RecordBatchReader.from_batches(
            schema, _batches(con, cursor, keyed, names, rowids)
        )

        def locate(rows: Sequence[int]) -> Mapping[int, str]:
            if keyed:
                return {r: f"{where} key={rowids[r]}" for r in rows if r < len(rowids)}
            return {r: f"{where} row {r + 1}" for r in rows}

        return SourceData(arrow=reader, origin=where, locate=locate, fingerprint=hasher.result)


def _connect(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(
        f"file:{quote(str(path.resolve()))}?mode=ro", uri=True, check_same_thread=False
    )
    con.set_authorizer(_authorize)
    return con


def _execute(con: sqlite3.Connection, opts: SqliteOptions) -> tuple[sqlite3.Cursor, bool]:
    if opts.query is not None:
        return con.execute(opts.query), False
    table = ident(opts.table or "")  # SQLite quotes identifiers like DuckDB
    try:
        return con.execute(f"SELECT rowid AS __cx_rowid, * FROM {table}"), True
    except sqlite3.OperationalError as exc:
        if "rowid" not in str(exc):
            raise
        return con.execute(f"SELECT * FROM {table}"), False  # WITHOUT ROWID tables, views


def _batches(
    con: sqlite3.Connection,
    cursor: sqlite3.Cursor,
    keyed: bool,
    names: list[str],
    rowids: array[int],
) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa

    try:
        while chunk := cursor.fetchmany(BATCH):
            if keyed:
                rowids.extend(r[0] for r in chunk)
            cols = list(zip(*chunk, strict=True))
            if keyed:
                cols = cols[1:]
            yield pa.record_batch(
                [pa.array([to_text(v) for v in c], pa.string()) for c in cols], names=names
            )
    finally:
        con.close()


@hookimpl
def register_sources(register: Callable[..., None]) -> None:
    """Register the sqlite source."""
    register(SqliteSource())
