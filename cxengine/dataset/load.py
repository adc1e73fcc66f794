"""Loading a dataset: open its source, type its fields in DuckDB, count and explain rejects.

One pass, for a source that reads its own file (CSV, JSON Lines, …: a DuckDB
relation with a content fingerprint) and declared fields:

1. ``CREATE TABLE ds_<name> AS SELECT <typed expressions> FROM <the reader>``: each
   row is read, typed and checked once. Beside each field that can reject, the
   same pass writes the raw text of its bad values only (NULL elsewhere); those
   columns are read back (the rejects: row, field, value) and dropped. Nothing
   holds the raw text of the whole file;
2. fields whose date format or decimal separator is read from the data are
   detected on an evenly spread sample of the loaded rows, then typed in place
   (a datetime's canonical timestamps are typed in the pass already: only its
   other texts wait, and with none, nothing is detected);
3. bad values are located (file:line) only when there are any.

Any other source (Arrow, plain rows, undeclared fields whose types are inferred
over every value) goes the general way: the rows into a temporary raw table
(``rowid`` = source row index), only the declared columns (all of them when none
is declared), each under cxengine's own name ``_cx_c<i>`` so no source column can
shadow ``rowid``; types decided; then the same typing pass over that table.

A present value that does not fit its type is NULL in the table and is reported
as a reject of that field alone (file:line, field, value): one bad cell never
costs a respondent their other answers. Whole rows are rejected only when the row
itself is broken (a malformed line); ``rows_read == rows_used + rows_rejected``
always holds, and the cell rejects are counted per field in ``cells_rejected``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import itertools
import json
import warnings
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from pydantic import ValidationError

from cxengine.config import DatasetConfig
from cxengine.dataset.duplicates import duplicate_key_note, reject_duplicates
from cxengine.dataset.fieldtypes import (
    ISO,
    SAMPLE_ROWS,
    FieldPlan,
    canonical_timestamp,
    detect_fields,
    is_null_text,
    needs_detection,
    plan_fields,
    reject_reason,
    source_text,
    value_expr,
)
from cxengine.dataset.notes import DataNote
from cxengine.dataset.rows import RowsError, materialize, plugin_error
from cxengine.dataset.sql import ident, lit, run
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
    #: Undeclared fields read as the specs need rather than as inferred (text).
    retyped: list[str] = field(default_factory=list)


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
    keep: Collection[str] | None = None,
    spec_types: Mapping[str, Sequence[str]] | None = None,
) -> LoadedDataset:
    """Open a dataset's source and load its usable, typed rows into table ``ds_<name>``.

    `keep` names the fields the caller reads (None: all). When the rows are typed in
    one pass, only those become columns of the table (and of `fields`): every field
    is still checked, so the rejects are the same, but a comment column nobody reads
    costs no memory. `spec_types` maps undeclared fields to the types the specs accept
    (see plan_fields).
    """
    if keep is not None:
        # Duplicates of a unique field or of the key are found in the table: keep them.
        keep = {*keep, *(f for f, c in config.fields.items() if c.unique)}
        keep |= {config.key} if config.key else set()
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

    table = table_name(name)
    fused: _Fused | None = None
    retyped: list[str] = []
    source_columns: dict[str, str] | None
    try:
        # Sources that read lazily (JSON keys, Excel rows) find things worth a note
        # only while their rows are read.
        with warnings.catch_warnings(record=True) as caught, guard:
            warnings.simplefilter("always", DataNote)
            if _fusable(data, config):
                assert data.relation is not None
                rel = data.relation(con)
                source_columns = {c: str(t) for c, t in zip(rel.columns, rel.types, strict=True)}
                inner = rel.project(projection(source_columns))
                if NO_COLUMNS in source_columns or any(
                    (c.column or f) not in source_columns for f, c in config.fields.items()
                ):
                    inner.create(raw)  # the general way below explains what is missing
                else:
                    _check_reserved(name, source_columns, config)
                    fused = _load_fused(
                        con, name, table, inner, source_columns, internal, config, keep
                    )
            else:
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
        if fused is not None:
            plans, bad, raw_count = fused.plans, fused.bad, fused.rows
            notes.extend(fused.notes)
        else:
            plans, bad, raw_count = _load_general(
                con, name, table, raw, source_columns, internal, config, origin, notes,
                spec_types, retyped,
            )  # fmt: skip
        if data.rows_loaded is not None:
            with guard:
                data.rows_loaded(raw_count)
        with guard:
            fingerprint = (
                data.fingerprint()
                if data.fingerprint
                else _rows_fingerprint(con, raw, source_columns is not None)
            )
    finally:
        run(con, f"DROP TABLE IF EXISTS {ident(raw)}")

    locate = _safe_locate(data.locate or _default_locate(origin), source.name, builtin)
    # Duplicate keys (cxengine/dataset/duplicates.py): later rows repeating a unique
    # field's value are rejected whole; a dataset key's duplicates are noted.
    stored = {p.name for p in plans if fused is None or p.name in fused.stored}
    unique = [f for f, c in config.fields.items() if c.unique and f in stored]
    duplicated, removed = reject_duplicates(con, name, table, unique, locate)
    if config.key and config.key not in unique and config.key in stored:
        note = duplicate_key_note(con, table, config.key, locate)
        if note:
            notes.append(note)
    bad = [b for b in bad if b[0] not in removed]
    malformed = [*malformed, *duplicated]
    # Locating needs a pass over the file: only when some value was bad.
    cell_rejects = [*source_cells, *(_type_rejects(name, plans, bad, locate) if bad else [])]
    rows_read = raw_count + len(malformed) - len(duplicated)
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
        fields={p.name: p.type for p in plans if fused is None or p.name in fused.stored},
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
        retyped=retyped,
    )


# ---------------------------------------------------------------------- helpers


@dataclass
class _Fused:
    """What the one-pass load found: plans, bad values (row, field index, text), row count."""

    plans: list[FieldPlan]
    bad: list[tuple[int, int, str]]
    rows: int
    notes: list[str]
    stored: list[str]  # the fields the table holds (the others were only checked)


def _can_reject(plan: FieldPlan) -> bool:
    """Every text is a string: only other types (or native columns) can refuse a value."""
    return not (plan.type == "string" and not plan.native)


def _fusable(data: SourceData, config: DatasetConfig) -> bool:
    """Can the rows be typed straight from the source's relation, without a raw table?

    Only when the fields are declared (inferring a type reads every value twice) and
    the source hashes its own input (else cxengine hashes the raw rows).
    """
    return data.relation is not None and bool(config.fields) and data.fingerprint is not None


def _load_fused(
    con: duckdb.DuckDBPyConnection,
    name: str,
    table: str,
    inner: duckdb.DuckDBPyRelation,
    source_columns: dict[str, str],
    internal: Mapping[str, str],
    config: DatasetConfig,
    keep: Collection[str] | None,
) -> _Fused:
    """Read, type and check every row in one pass over the source (no raw copy)."""
    typing = plan_fields(
        con,
        name,
        "",
        source_columns,
        config.fields,
        config.null_values,
        0,
        internal,
        detect=False,
    )
    plans, notes = typing.plans, list(typing.notes)
    deferred = [i for i, p in enumerate(plans) if needs_detection(p)]
    # Fields nobody reads are not stored; those that can reject are still typed and
    # checked (their rejects stay), and every column is still read (its encoding).
    stored = [i for i, p in enumerate(plans) if keep is None or p.name in keep or i in deferred]
    computed = {p.column for i, p in enumerate(plans) if i in stored or _can_reject(p)}
    read_too = [c for c in internal.values() if c not in computed]
    bad = _create_typed(
        con,
        table,
        inner,
        plans,
        config.null_values,
        "row_number() OVER () - 1",
        read_too=read_too,
        deferred=deferred,
        stored=stored,
    )
    rows = _count(con, table)
    bad += _type_deferred(con, table, plans, deferred, config.null_values, rows, notes)
    bad.sort(key=lambda b: (b[0], b[1]))
    return _Fused(plans, bad, rows, notes, [plans[i].name for i in stored])


def _load_general(
    con: duckdb.DuckDBPyConnection,
    name: str,
    table: str,
    raw: str,
    source_columns: dict[str, str] | None,
    internal: Mapping[str, str],
    config: DatasetConfig,
    origin: str,
    notes: list[str],
    spec_types: Mapping[str, Sequence[str]] | None = None,
    retyped: list[str] | None = None,
) -> tuple[list[FieldPlan], list[tuple[int, int, str]], int]:
    """Type the raw table (any source shape, declared or inferred fields).

    `retyped` receives the undeclared fields read as `spec_types` asks (not as inferred).
    """
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
            con, name, raw, columns, config.fields, config.null_values, raw_count, internal,
            wanted=spec_types,
        )  # fmt: skip
        if retyped is not None:
            retyped.extend(typing.retyped)
    else:  # an empty input has no header: every declared field is simply empty
        typing = None
    if typing is None or not has_columns:
        plans = [
            FieldPlan(f, cfg.column or f, cfg.type, "VARCHAR", cfg)
            for f, cfg in config.fields.items()
        ]
        _create_empty(con, table, plans)
        return plans, [], raw_count
    notes.extend(typing.notes)
    rows = con.sql(f"SELECT rowid AS _cx_rowid, * FROM {ident(raw)}")
    bad = _create_typed(con, table, rows, typing.plans, config.null_values, "_cx_rowid")
    return typing.plans, bad, raw_count


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


@dataclass
class _Typed:
    """The typing pass as a relation: its columns are `_cx_row`, the stored fields, then
    `_cx_raw<i>` (deferred datetimes' other texts), `_cx_read` (when no field can reject)
    and `_cx_bad` (a JSON list of the bad texts of the `checked` fields, in that order)."""

    relation: duckdb.DuckDBPyRelation
    checked: list[int]  # the fields whose bad texts `_cx_bad` lists
    read_flag: bool  # `_cx_read` is computed (read only for the encoding check)


def _typed_relation(
    source: duckdb.DuckDBPyRelation,
    plans: Sequence[FieldPlan],
    null_values: Sequence[str],
    row_number: str,
    *,
    read_too: Sequence[str] = (),
    deferred: Sequence[int] = (),
    stored: Collection[int] | None = None,
) -> _Typed:
    """Return the one-pass typing of `source` as a relation (see `_create_typed`)."""
    mid = [f"{row_number} AS _cx_row"]
    outer = ["_cx_row"]
    final = ["_cx_row"]  # the columns of the table, bad texts aside
    bad_cols: list[tuple[int, str]] = []
    for i, p in enumerate(plans):
        if i in deferred:
            if _has_fast_path(p):
                # Canonical timestamps are read now; only the other texts are kept,
                # to be typed once their format is known (most often: none).
                mid.append(f"{canonical_timestamp(ident(p.column), p.zone)} AS _cx_v{i}")
                mid.append(f"{ident(p.column)} AS _cx_r{i}")
                ok = f"_cx_v{i} BETWEEN {_FIRST} AND {_LAST}"
                outer.append(f"CASE WHEN {ok} THEN _cx_v{i} END AS {ident(p.name)}")
                outer.append(f"CASE WHEN ({ok}) IS NOT TRUE THEN _cx_r{i} END AS _cx_raw{i}")
                final += [ident(p.name), f"_cx_raw{i}"]
            else:
                mid.append(f"{ident(p.column)} AS _cx_v{i}")
                outer.append(f"_cx_v{i} AS {ident(p.name)}")
                final.append(ident(p.name))
            continue
        keep = stored is None or i in stored
        if not keep and not _can_reject(p):
            continue  # never read, never refused: nothing to compute
        mid.append(f"{value_expr(p, null_values)} AS _cx_v{i}")
        if keep:
            outer.append(f"_cx_v{i} AS {ident(p.name)}")
            final.append(ident(p.name))
        if not _can_reject(p):
            continue  # every text is a string
        mid.append(f"{ident(p.column)} AS _cx_r{i}")
        alias = dataclasses.replace(p, column=f"_cx_r{i}")
        text = source_text(alias)
        missing = f"_cx_r{i} IS NULL" if p.native else is_null_text(text, null_values)
        outer.append(f"CASE WHEN _cx_v{i} IS NULL AND NOT {missing} THEN {text} END AS _cx_bad{i}")
        bad_cols.append((i, f"_cx_bad{i}"))
    entries = [c for _, c in bad_cols]
    if read_too:
        # Referenced, so the reader decodes them (and rejects a line it cannot); the
        # value itself is never used. It rides in the bad-text list (its last entry,
        # always NULL), or alone in a boolean column when no field can reject.
        mid.append(f"({' AND '.join(f'{ident(c)} IS NULL' for c in read_too)}) AS _cx_read")
        outer.append("_cx_read")
        if entries:
            entries.append("CASE WHEN _cx_read THEN NULL END")
        else:
            final.append("_cx_read")
    if bad_cols:
        any_bad = " OR ".join(f"{c} IS NOT NULL" for _, c in bad_cols)
        final.append(f"CASE WHEN {any_bad} THEN to_json([{', '.join(entries)}]) END AS _cx_bad")
    typed = source.project(", ".join(mid)).project(", ".join(outer))
    return _Typed(typed.project(", ".join(final)), [i for i, _ in bad_cols], bool(read_too))


def _create_typed(
    con: duckdb.DuckDBPyConnection,
    table: str,
    source: duckdb.DuckDBPyRelation,
    plans: Sequence[FieldPlan],
    null_values: Sequence[str],
    row_number: str,
    *,
    read_too: Sequence[str] = (),
    deferred: Sequence[int] = (),
    stored: Collection[int] | None = None,
) -> list[tuple[int, int, str]]:
    """Type every row in one pass over `source`; return each bad value as (row, field, text).

    A value that was present but does not fit its type is NULL in the table (every
    metric reading that field skips it) and comes back here as a reject of that one
    field; the row keeps its other fields. The same pass writes, beside each checked
    field, a column holding the raw text of its bad values only (NULL elsewhere, so
    it costs next to nothing): they are counted and read back from those columns,
    which are then dropped; the source is never read twice. Each typed value is
    computed once, in an inner projection, and tested by the outer one.

    `row_number` is the SQL of the 0-based source row index. `read_too` names source
    columns read only so that the reader checks them (their text encoding): they are
    not kept. `deferred` fields are kept as raw text, typed later (their format is
    detected from the loaded rows first). Only the `stored` fields (all when None)
    become columns; the others are typed and checked only when they can reject.

    The bad texts of all checked fields share one column, `_cx_bad`: a JSON list (one
    entry per checked field) in the rows holding any, NULL elsewhere. A column per
    field cost ~4 bytes a row each even when NULL: 88 -> 78 MiB for bench_run's
    typed table at 1M rows (three score fields, the read-only check folded in too).
    """
    built = _typed_relation(
        source, plans, null_values, row_number, read_too=read_too, deferred=deferred, stored=stored
    )
    # Created under a name of ours, then renamed: the relational API does not quote
    # the name it creates, and a dataset name is the user's.
    building = f"_cx_typing_{next(_counter)}"
    with _typing_settings(con):
        built.relation.create(building)
    run(con, f"DROP TABLE IF EXISTS {ident(table)}")
    run(con, f"ALTER TABLE {building} RENAME TO {ident(table)}")
    bad: list[tuple[int, int, str]] = []
    if built.checked:
        rows = con.execute(
            f"SELECT _cx_row, _cx_bad FROM {ident(table)} "
            "WHERE _cx_bad IS NOT NULL ORDER BY _cx_row"
        ).fetchall()
        bad = [
            (int(row), built.checked[j], str(value))
            for row, texts in rows
            for j, value in enumerate(json.loads(texts)[: len(built.checked)])
            if value is not None
        ]
        run(con, f"ALTER TABLE {ident(table)} DROP COLUMN _cx_bad")
    if built.read_flag and not built.checked:
        run(con, f"ALTER TABLE {ident(table)} DROP COLUMN _cx_read")
    return bad


_FIRST = "TIMESTAMP '0001-01-01 00:00:00'"
_LAST = "TIMESTAMP '9999-12-31 23:59:59.999999'"


def _has_fast_path(plan: FieldPlan) -> bool:
    """Datetime text fields: most values are canonical timestamps, read by one cast."""
    return plan.type == "datetime" and not plan.native


def _type_deferred(
    con: duckdb.DuckDBPyConnection,
    table: str,
    plans: list[FieldPlan],
    deferred: Sequence[int],
    null_values: Sequence[str],
    rows: int,
    notes: list[str],
) -> list[tuple[int, int, str]]:
    """Detect the formats of the `deferred` fields from the loaded rows, then type them.

    The table holds the rows in source order, so the sample is the evenly spread one
    a raw table gave. A datetime field already holds its canonical timestamps, and
    the other texts in `_cx_raw<i>`: when the detected formats read ISO text, only
    those others are parsed (an UPDATE of a few rows); otherwise, and for the other
    fields (kept as text), the whole column is retyped in place. Bad values are read
    first, with the same expressions.
    """
    if not deferred:
        return []
    fast = {i for i in deferred if _has_fast_path(plans[i])}
    if fast:
        # A datetime whose present texts were all canonical timestamps is typed
        # already: its `_cx_raw` holds null texts at most. Detecting its format on a
        # sample (they read as ISO first) and retyping none of its rows gave the
        # same table: skipped (0.11 of 2.3 s of CPU for bench_run at 1M rows).
        checked = sorted(fast)
        odd = ", ".join(
            f"count(*) FILTER (WHERE _cx_raw{i} IS NOT NULL "
            f"AND NOT {is_null_text(f'_cx_raw{i}', null_values)})"
            for i in checked
        )
        counts = con.execute(f"SELECT {odd} FROM {ident(table)}").fetchall()[0]
        done = [i for i, n in zip(checked, counts, strict=True) if n == 0]
        for i in done:
            plans[i].formats = (ISO,)
            run(con, f"ALTER TABLE {ident(table)} DROP COLUMN _cx_raw{i}")
        deferred = [i for i in deferred if i not in done]
        fast.difference_update(done)
        if not deferred:
            return []
    texts = {
        i: f"coalesce(_cx_raw{i}, CAST({ident(plans[i].name)} AS VARCHAR))"
        if i in fast
        else ident(plans[i].name)
        for i in deferred
    }
    # The sample: every k-th row's original text (a canonical timestamp's text is
    # its original text, by construction).
    step = max(1, rows // SAMPLE_ROWS)
    sample = f"_cx_detect_{next(_counter)}"
    shadows = [dataclasses.replace(plans[i], column=f"c{n}") for n, i in enumerate(deferred)]
    cols = ", ".join(f"{texts[i]} AS c{n}" for n, i in enumerate(deferred))
    run(
        con,
        f"CREATE TEMP TABLE {sample} AS SELECT {cols} FROM {ident(table)} "
        f"WHERE _cx_row % {step} = 0",
    )
    try:
        detect_fields(con, sample, shadows, null_values, SAMPLE_ROWS, notes)
    finally:
        run(con, f"DROP TABLE IF EXISTS {sample}")
    bad: list[tuple[int, int, str]] = []
    for i, shadow in zip(deferred, shadows, strict=True):
        plan = plans[i]
        plan.formats, plan.decimal = shadow.formats, shadow.decimal
        name = ident(plan.name)
        if i in fast and ISO in plan.formats:
            # The canonical timestamps mean what the ISO reading gives: keep them.
            only = dataclasses.replace(plan, column=f"_cx_raw{i}")
            value, where = value_expr(only, null_values), f"_cx_raw{i} IS NOT NULL"
            bad += _bad_values(con, table, only, i, null_values, where)
            run(con, f"UPDATE {ident(table)} SET {name} = {value} WHERE {where}")
            run(con, f"ALTER TABLE {ident(table)} DROP COLUMN _cx_raw{i}")
            continue
        if i in fast:
            run(
                con,
                f"ALTER TABLE {ident(table)} ALTER COLUMN {name} SET DATA TYPE VARCHAR "
                f"USING ({texts[i]})",
            )
            run(con, f"ALTER TABLE {ident(table)} DROP COLUMN _cx_raw{i}")
        whole = dataclasses.replace(plan, column=plan.name, raw_type="VARCHAR")
        bad += _bad_values(con, table, whole, i, null_values, "true")
        run(
            con,
            f"ALTER TABLE {ident(table)} ALTER COLUMN {name} "
            f"SET DATA TYPE {SQL_TYPES[plan.type]} USING ({value_expr(whole, null_values)})",
        )
    return bad


def _bad_values(
    con: duckdb.DuckDBPyConnection,
    table: str,
    plan: FieldPlan,
    index: int,
    null_values: Sequence[str],
    where: str,
) -> list[tuple[int, int, str]]:
    """Return (row, index, text) of the present values of `plan.column` its type refuses."""
    text = source_text(plan)
    rows = con.execute(
        f"SELECT _cx_row, {text} FROM {ident(table)} WHERE {where} "
        f"AND NOT {is_null_text(text, null_values)} AND ({value_expr(plan, null_values)}) IS NULL "
        "ORDER BY _cx_row"
    ).fetchall()
    return [(int(r), index, str(v)) for r, v in rows]


@contextlib.contextmanager
def _typing_settings(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Settings for the typing pass, restored after it.

    DuckDB 2.0's type_pushdown is switched off: it turns a TRY_CAST over a read_csv
    column into a hard cast inside the scan, so one "five" in a score column would
    abort the load instead of being rejected. The progress bar is switched off: on
    a long pass it prints to stdout, which carries `--json` documents.
    """
    restore: list[str] = []
    try:
        row = con.execute(
            "SELECT current_setting('disabled_optimizers'), current_setting('enable_progress_bar')"
        ).fetchone()
        before = str(row[0]) if row and row[0] is not None else ""
        if "type_pushdown" not in before.lower():
            wanted = ",".join(x for x in (before, "type_pushdown") if x)
            run(con, f"SET disabled_optimizers = {lit(wanted)}")
            restore.append(f"SET disabled_optimizers = {lit(before)}")
        if row and row[1]:
            run(con, "SET enable_progress_bar = false")
            restore.append("SET enable_progress_bar = true")
    except duckdb.Error:
        pass  # an older DuckDB without those settings
    try:
        yield
    finally:
        for statement in restore:
            run(con, statement)


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
