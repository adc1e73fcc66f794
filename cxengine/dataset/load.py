"""Loading a dataset: open its source, type its fields in DuckDB, count and explain rejects.

The flow for every source shape (DuckDB relation, Arrow, plain rows):

1. the raw rows go into a temporary DuckDB table (``rowid`` = source row index),
   only the declared columns (all of them when none is declared), each under
   cxengine's own name ``_cx_c<i>`` so no source column can shadow ``rowid``;
2. field types are decided (declared, or inferred over the whole column);
3. one ``CREATE TABLE ds_<name> AS SELECT <typed expressions>`` pass types every
   row; a present value that does not fit its type is NULL there and is read back
   as a reject of that field alone (file:line, field, value): one bad cell never
   costs a respondent their other answers.

Whole rows are rejected only when the row itself is broken (a malformed line);
``rows_read == rows_used + rows_rejected`` always holds, and the cell rejects are
counted per field in ``cells_rejected``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import itertools
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from pydantic import ValidationError

from cxengine.config import DatasetConfig
from cxengine.dataset.fieldtypes import (
    FieldPlan,
    is_null_text,
    plan_fields,
    reject_reason,
    source_text,
    value_expr,
)
from cxengine.dataset.notes import DataNote
from cxengine.dataset.rows import RowsError, materialize, plugin_error
from cxengine.dataset.sql import ident, run
from cxengine.errors import CxError, DataError, PluginError
from cxengine.interfaces import Reject, Source, SourceContext, SourceData

RESERVED_PREFIX = "_cx_"
#: The one column of a source that found records but no field in any (JSON `{}`s).
NO_COLUMNS = "_cx_no_columns"
SQL_TYPES = {
    "integer": "BIGINT",
    "number": "DOUBLE",
    "string": "VARCHAR",
    "datetime": "TIMESTAMP",
    "date": "DATE",
    "boolean": "BOOLEAN",
}
MAX_VALUE = 200
#: Undeclared source columns still read (for their encoding check) beside declared ones;
#: a wider file keeps only its declared columns.
MAX_UNDECLARED_READ = 256
_counter = itertools.count()

Locate = Callable[[Sequence[int]], Mapping[int, str]]


@dataclass
class LoadedDataset:
    """A dataset in DuckDB: its typed table, its fields and what was rejected."""

    name: str
    table: str  # usable typed rows: "_cx_row" (source row index) + one column per field
    fields: dict[str, str]  # field name -> cxengine type
    rows_read: int  # every data row the source produced, malformed ones included
    rows_used: int
    rows_rejected: int  # broken rows (malformed lines); rows_read == rows_used + rows_rejected
    rejects: list[Reject]  # one per broken row, then one per value that did not fit its type
    origin: str
    fingerprint: str
    locate: Locate  # row index -> locator, for later per-metric rejects
    notes: list[str] = field(default_factory=list)  # renamed headers, ambiguous date orders, …
    #: Values that did not fit their field's type, per field: each is a reject of that
    #: field alone (NULL in the table, so every metric reading it skips it); the row
    #: still counts for its other fields.
    cells_rejected: dict[str, int] = field(default_factory=dict)
    rows_with_bad_values: int = 0  # used rows holding at least one rejected value


def table_name(dataset: str) -> str:
    """Return the DuckDB table name (unquoted) a dataset is loaded into."""
    return f"ds_{dataset}"


def is_builtin(source: Source) -> bool:
    """Return True for cxengine's own sources, whose errors are not blamed on a plugin."""
    return type(source).__module__.startswith("cxengine.default_plugins.")


def load_dataset(
    con: duckdb.DuckDBPyConnection,
    name: str,
    config: DatasetConfig,
    source: Source,
    *,
    base_dir: Path,
    allowed_paths: Sequence[Path] = (),
    batch_size: int = 50_000,
) -> LoadedDataset:
    """Open a dataset's source and load its usable, typed rows into table ``ds_<name>``."""
    builtin = is_builtin(source)
    guard = _guard(source, builtin, name)
    options = _validate_options(name, config, source)
    context = SourceContext(
        dataset=name, options=options, base_dir=base_dir, allowed_paths=tuple(allowed_paths)
    )

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataNote)
        with guard:
            data = source.open(context)
    notes = [str(w.message) for w in caught if issubclass(w.category, DataNote)]
    if not isinstance(data, SourceData):
        raise PluginError(source.name, f"open() returned {type(data).__name__}, not SourceData")
    origin = data.origin or f"dataset {name}"

    raw = f"_cx_raw_{next(_counter)}"
    # Each kept source column gets cxengine's own name in the raw table (`_cx_c<i>`):
    # a source column named `rowid` must not hide DuckDB's row number.
    internal: dict[str, str] = {}
    wanted = [c.column or f for f, c in config.fields.items()] if config.fields else None

    def projection(source_columns: dict[str, str]) -> str:
        if NO_COLUMNS in source_columns:
            # Records without a single field: every declared field is empty in each
            # (undeclared, the dataset keeps one empty column, `value`).
            names = list(dict.fromkeys(wanted or ["value"]))
            internal.update({c: f"_cx_c{i}" for i, c in enumerate(names)})
            return ", ".join(f"CAST(NULL AS VARCHAR) AS {ident(internal[c])}" for c in names)
        names = list(source_columns)
        if wanted:
            declared = [c for c in dict.fromkeys(wanted) if c in source_columns]
            chosen = set(declared)
            others = [c for c in source_columns if c not in chosen]
            if len(others) > MAX_UNDECLARED_READ:
                # A wide file (100,000 columns, five declared) keeps only its declared
                # columns. DuckDB still checks every row's column count, but not the
                # text encoding of the cells it skips: say so.
                names = declared
                notes.append(
                    f"{origin}: {len(others)} undeclared columns are not read (their cells "
                    "are not checked for valid text); declare a field to read its column"
                )
            else:
                # Undeclared columns are read too, so a line with undecodable text
                # anywhere is rejected whole, as a broken line.
                names = [*declared, *others]
        internal.update({c: f"_cx_c{i}" for i, c in enumerate(names)})
        picks = [f"{ident(c)} AS {ident(internal[c])}" for c in names]
        return ", ".join(picks) or "NULL AS _cx_none"

    try:
        # Sources that read lazily (JSON keys, Excel rows) find things worth a note
        # only while their rows are read.
        with warnings.catch_warnings(record=True) as caught, guard:
            warnings.simplefilter("always", DataNote)
            source_columns = materialize(con, data, raw, batch_size, projection)
            malformed = [
                r if r.dataset == name else dataclasses.replace(r, dataset=name)
                for r in (data.malformed(con) if data.malformed else [])
            ]
            source_cells = [
                r if r.dataset == name else dataclasses.replace(r, dataset=name)
                for r in (data.cell_rejects() if data.cell_rejects else [])
            ]
        notes.extend(str(w.message) for w in caught if issubclass(w.category, DataNote))
        has_columns = source_columns is not None
        if source_columns is None:
            columns, raw_count = {}, 0
        elif NO_COLUMNS in source_columns:
            columns = {c: "VARCHAR" for c in internal}
            raw_count = _count(con, raw)
        else:
            columns = source_columns
            raw_count = _count(con, raw)
        if has_columns and raw_count == 0 and config.fields:
            # No usable row (an empty JSON array, only broken lines): a source without
            # a header cannot know the columns, so the declared fields are just empty.
            absent = [f for f, c in config.fields.items() if (c.column or f) not in columns]
            if absent:
                notes.append(
                    f"{origin}: no usable rows, and no column for the declared fields "
                    f"{', '.join(absent)}"
                )
                has_columns = False
        _check_reserved(name, columns, config)
        if has_columns or not config.fields:
            typing = plan_fields(
                con, name, raw, columns, config.fields, config.null_values, raw_count, internal
            )
        else:  # an empty input has no header: every declared field is simply empty
            typing = None
        table = table_name(name)
        if typing is None or not has_columns:
            plans = [
                FieldPlan(f, cfg.column or f, cfg.type, "VARCHAR", cfg)
                for f, cfg in config.fields.items()
            ]
            _create_empty(con, table, plans)
            bad: list[tuple[int, int, str]] = []
        else:
            plans = typing.plans
            notes.extend(typing.notes)
            bad = _create_typed(con, table, raw, plans, config.null_values)
        with guard:
            fingerprint = (
                data.fingerprint() if data.fingerprint else _rows_fingerprint(con, raw, has_columns)
            )
    finally:
        run(con, f"DROP TABLE IF EXISTS {ident(raw)}")

    locate = _safe_locate(data.locate or _default_locate(origin), source.name, builtin)
    # Locating needs a pass over the file: only when some value was bad.
    cell_rejects = [*source_cells, *(_type_rejects(name, plans, bad, locate) if bad else [])]
    rows_read = raw_count + len(malformed)
    rows_used = _count(con, table)
    if rows_read != rows_used + len(malformed):
        raise AssertionError(
            f"dataset {name!r}: read {rows_read} rows but used {rows_used} "
            f"and rejected {len(malformed)}"
        )
    per_field: dict[str, int] = {}
    for r in cell_rejects:
        per_field[r.field or ""] = per_field.get(r.field or "", 0) + 1
    return LoadedDataset(
        name=name,
        table=table,
        fields={p.name: p.type for p in plans},
        rows_read=rows_read,
        rows_used=rows_used,
        rows_rejected=len(malformed),
        rejects=[*malformed, *cell_rejects],
        cells_rejected=per_field,
        rows_with_bad_values=(
            len({r.locator for r in cell_rejects})
            if source_cells
            else len({row for row, _, _ in bad})
        ),
        origin=origin,
        fingerprint=fingerprint,
        locate=locate,
        notes=notes,
    )


# ---------------------------------------------------------------------- helpers


def _validate_options(name: str, config: DatasetConfig, source: Source) -> dict[str, object]:
    try:
        model = source.options_model.model_validate(config.source_options())
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'options'}: {e['msg']}" for e in exc.errors()
        )
        raise DataError(
            f"dataset {name!r}: invalid options for source {source.name!r}: {problems}"
        ) from None
    return model.model_dump()


@contextlib.contextmanager
def _guarded(source: Source, builtin: bool, dataset: str) -> Iterator[None]:
    try:
        yield
    except CxError:
        raise  # DataError is how any source says "this data cannot be read"
    except duckdb.Error as exc:
        if builtin:
            raise DataError(f"dataset {dataset!r}: cannot read the data: {_reason(exc)}") from None
        raise plugin_error(source.name, exc) from exc
    except RowsError as exc:
        raise plugin_error(source.name, exc) from exc
    except Exception as exc:
        if builtin:
            raise
        raise plugin_error(source.name, exc) from exc


def _reason(exc: duckdb.Error) -> str:
    """DuckDB's message, without the Python traceback it embeds when a stream raised."""
    text = str(exc)
    head, sep, detail = text.partition(". Detail: Python exception:")
    if not sep:
        return text
    last = [line for line in detail.strip().splitlines() if line.strip()][-1:]
    # The traceback's last line is "module.Type: message"; the message is what helps.
    return last[0].split(": ", 1)[-1].strip() if last else head


class _guard:
    """Reusable `with` block applying `_guarded` (a generator CM can be entered only once)."""

    def __init__(self, source: Source, builtin: bool, dataset: str):
        self.args = (source, builtin, dataset)
        self._cm: contextlib.AbstractContextManager[None] | None = None

    def __enter__(self) -> None:
        self._cm = _guarded(*self.args)
        self._cm.__enter__()

    def __exit__(self, *exc: object) -> bool | None:
        assert self._cm is not None
        return self._cm.__exit__(*exc)  # type: ignore[arg-type]


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    rel = con.sql(f"SELECT * FROM {ident(table)} LIMIT 0")
    return {c: str(t) for c, t in zip(rel.columns, rel.types, strict=True)}


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {ident(table)}").fetchall()[0]
    return int(row[0]) if row else 0


def _check_reserved(name: str, columns: Mapping[str, str], config: DatasetConfig) -> None:
    names = list(config.fields) if config.fields else list(columns)
    for n in names:
        if n.startswith(RESERVED_PREFIX):
            raise DataError(
                f"dataset {name!r}: field name {n!r} is reserved "
                f"(names starting with {RESERVED_PREFIX!r} are cxengine's)"
            )


def _create_empty(con: duckdb.DuckDBPyConnection, table: str, plans: Sequence[FieldPlan]) -> None:
    cols = ", ".join(["_cx_row BIGINT", *(f"{ident(p.name)} {SQL_TYPES[p.type]}" for p in plans)])
    run(con, f"CREATE OR REPLACE TABLE {ident(table)} ({cols})")


def _create_typed(
    con: duckdb.DuckDBPyConnection,
    table: str,
    raw: str,
    plans: Sequence[FieldPlan],
    null_values: Sequence[str],
) -> list[tuple[int, int, str]]:
    """Type every row in one pass; return each bad value as (row, field index, raw text).

    A value that was present but does not fit its type is NULL in the table (every
    metric reading that field skips it) and comes back here as a reject of that one
    field; the row keeps its other fields. Two cheap statements rather than one
    clever one: the typed values are computed once into the table, then the present
    values that came out NULL are found by a positional join with the raw table
    (same order, no hashing), all bad fields of a row in one list.
    """
    values = ", ".join(f"{value_expr(p, null_values)} AS {ident(p.name)}" for p in plans)
    run(
        con,
        f"CREATE OR REPLACE TABLE {ident(table)} AS "
        f"SELECT rowid AS _cx_row{', ' if values else ''}{values} FROM {ident(raw)}",
    )
    checks, shown = [], []
    for i, p in enumerate(plans):
        if p.type == "string" and not p.native:
            continue  # every text is a string
        text = source_text(p)
        missing = f"{ident(p.column)} IS NULL" if p.native else is_null_text(text, null_values)
        in_raw = missing.replace(ident(p.column), "r." + ident(p.column))
        bad = f"(t.{ident(p.name)} IS NULL AND NOT {in_raw})"
        checks.append((i, bad))
        shown.append(
            f"CASE WHEN {bad} THEN {text.replace(ident(p.column), 'r.' + ident(p.column))} END"
        )
    if not checks:
        return []
    rows = con.execute(
        f"SELECT t._cx_row, list_value({', '.join(shown)}) "
        f"FROM {ident(table)} AS t POSITIONAL JOIN {ident(raw)} AS r "
        f"WHERE {' OR '.join(b for _, b in checks)} ORDER BY t._cx_row"
    ).fetchall()
    return [
        (int(row), checks[j][0], str(value))
        for row, cells in rows
        for j, value in enumerate(cells)
        if value is not None
    ]


def _type_rejects(
    dataset: str, plans: Sequence[FieldPlan], bad: Sequence[tuple[int, int, str]], locate: Locate
) -> list[Reject]:
    if not bad:
        return []
    where = locate([r for r, _, _ in bad])
    out = []
    for row, i, value in bad:
        plan = plans[i]
        out.append(
            Reject(
                dataset=dataset,
                locator=where.get(row, f"row {row + 1}"),
                reason=reject_reason(plan, value),
                field=plan.name,
                value=value[:MAX_VALUE],
            )
        )
    return out


def _default_locate(origin: str) -> Locate:
    def locate(rows: Sequence[int]) -> Mapping[int, str]:
        return {r: f"{origin} row {r + 1}" for r in rows}

    return locate


def _safe_locate(locate: Locate, source_name: str, builtin: bool) -> Locate:
    if builtin:
        return locate

    def guarded(rows: Sequence[int]) -> Mapping[int, str]:
        try:
            return dict(locate(rows))
        except Exception as exc:
            raise PluginError(source_name, f"locate() failed: {type(exc).__name__}: {exc}") from exc

    return guarded


def _rows_fingerprint(con: duckdb.DuckDBPyConnection, raw: str, has_columns: bool) -> str:
    # Sources that cannot hash their input get a hash of the rows themselves (order
    # included): one aggregate pass in DuckDB, no Python loop.
    h = hashlib.blake2b(digest_size=20)
    if has_columns:
        cols = _columns(con, raw)
        row = con.execute(
            f"SELECT count(*), sum(CAST(hash(rowid, COLUMNS(*)) AS HUGEINT)) FROM {ident(raw)}"
        ).fetchall()[0]
        h.update(repr((list(cols.items()), row)).encode())
    return "rows:" + h.hexdigest()
