"""An engine dataset: its rows typed inside the engine, rejects counted there too.

The DuckDB loader types every row into a table; an engine dataset cannot be copied
or changed, so the same typing is one SELECT over the relation, which every spec's
query reads as a common table expression:

    SELECT <key> AS _cx_row, <typed field>…, <field i does not fit> AS _cx_bad<i>, …
    FROM <table or (query)>

As in the embedded loader, a value that does not fit its type is NULL and a reject
of that field alone. One aggregate query counts them per field (and the rows, and
the empty values of datetime and date fields); a second, only when a field has any,
fetches at most `EXAMPLES` of them per field with their keys, so no row-level data
crosses the wire beyond those examples.

The dataset's fingerprint (part of the run id) is made of what the run read from
the engine: the relation, its column types, those counts, and every row any query
of the run fetched (aggregates and examples), canonically ordered. No query hashes
the rows: two runs get the same fingerprint exactly when the engine answered them
the same, so they store the same values, counts and rejects (see docs/engines.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import sqlglot
from sqlglot import exp

from cxengine.config import DatasetConfig
from cxengine.dataset.fieldtypes import reject_reason
from cxengine.engines.api import Engine, EngineSession, RelationOptions
from cxengine.engines.fieldtyping import EnginePlan, detect, plan_fields
from cxengine.engines.render import render
from cxengine.errors import DataError
from cxengine.interfaces import Reject

#: Example keys fetched per rejected field (the `rejects` table gets these, with the
#: total in the dataset's notes).
EXAMPLES = 20
ROW = "_cx_row"
BAD = "_cx_bad"
RAW = "_cx_raw"
SOURCE = "_cx_src"
MAX_VALUE = 200


@dataclass
class Traffic:
    """Queries sent to an engine and what came back (and a digest of it, in any order)."""

    queries: int = 0
    rows: int = 0
    bytes: int = 0
    #: Per query: a hash of its column names and its rows, sorted (an engine returns
    #: grouped rows in any order). Summed, so the order queries ran in does not count.
    digest: int = 0

    def record(self, names: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
        """Count a query's answer and fold it into the digest."""
        self.queries += 1
        self.rows += len(rows)
        self.bytes += sum(len(str(v)) for row in rows for v in row)
        h = hashlib.blake2b(repr(tuple(names)).encode(), digest_size=16)
        for text in sorted(repr(tuple(_canonical(v) for v in row)) for row in rows):
            h.update(text.encode())
        self.digest = (self.digest + int.from_bytes(h.digest(), "big")) % (1 << 128)


def _canonical(value: Any) -> Any:
    """A value as the digest reads it: floats to 12 significant digits.

    A distributed engine sums floats in whatever order its partitions finish: the
    last bits of a mean's sum may differ between two runs over the same rows.
    """
    if isinstance(value, float):
        return f"{value:.12g}"
    return value


@dataclass
class EngineDataset:
    """A dataset that stays in its engine: what specs read and what the typing found.

    It answers what the runner asks of a loaded dataset (rows read/used, rejects,
    cells rejected per field, fingerprint, `locate`); `table` is the name specs read
    it under, a common table expression `usable` defines in every query.
    """

    name: str
    engine: Engine
    session: EngineSession
    table: str  # the name specs read it under (a common table expression)
    usable: exp.Expression  # the typed rows (a SELECT): _cx_row + one column per field
    fields: dict[str, str]
    rows_read: int
    rows_used: int
    rows_rejected: int
    rejects: list[Reject]
    origin: str
    #: What identifies the data when the dataset was opened (relation, column types,
    #: counts); `fingerprint` adds everything the run fetched since.
    identity: str
    notes: list[str] = field(default_factory=list)
    zones: dict[str, str] = field(default_factory=dict)
    key: str | None = None  # the field naming a row in reject locators
    locators: list[str] = field(default_factory=list)  # index → "key=…" for exclusions
    #: Values that did not fit their field's type, per field (as the embedded loader:
    #: NULL in the typed rows, the row still counts for its other fields).
    cells_rejected: dict[str, int] = field(default_factory=dict)
    rows_with_bad_values: int = 0
    #: Empty (NULL) values per datetime or date field, counted when the dataset was
    #: opened (a field absent here: not counted).
    nulls: dict[str, int] = field(default_factory=dict)
    #: What came back from the engine (shared by the dataset's views).
    traffic: Traffic = field(default_factory=lambda: Traffic())
    secrets: list[str] = field(default_factory=list)  # texts never to show in an error
    #: Tables `usable` reads (a prepared view reads the dataset): common table expressions.
    before: list[tuple[str, exp.Expression]] = field(default_factory=list)

    def tables(self) -> list[tuple[str, exp.Expression]]:
        """Return every common table expression a query over `table` needs, in order."""
        return [*self.before, (self.table, self.usable)]

    def view(
        self, name: str, select: exp.Expression, fields: dict[str, str], *, same_rows: bool
    ) -> EngineDataset:
        """Return this dataset seen through `select` (over `table`), read as `name`.

        `same_rows`: the view has the dataset's rows and fields (plus others), so what
        is known about its fields' values still holds.
        """
        import dataclasses

        return dataclasses.replace(
            self, table=name, usable=select, fields=fields, before=self.tables(),
            locators=self.locators, nulls=self.nulls if same_rows else {},
        )  # fmt: skip

    def locate(self, rows: Sequence[int]) -> Mapping[int, str]:
        """Map the indexes `pushdown` hands out for excluded examples to their locators."""
        return {r: self.locators[r] for r in rows if 0 <= r < len(self.locators)}

    def fetch(self, query: exp.Expression) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Render a query for the engine, run it, count what came back."""
        names, rows = self.session.fetch(render(self.engine, booleans_as_such(query, self.fields)))
        self.traffic.record(names, rows)
        return names, rows

    @property
    def fingerprint(self) -> str:
        """The dataset as far as this run read it: its identity and every answer fetched.

        Read when the run is stored (the run id hashes it): the same relation, types
        and counts, and the same grouped rows and examples, give the same fingerprint;
        any change the run's queries see gives another. A change no query of the run
        sees (a column no spec reads) keeps it: the stored results would be the same.
        """
        h = hashlib.blake2b(digest_size=20)
        h.update(self.identity.encode())
        h.update(str(self.traffic.digest).encode())
        return f"{self.engine.name}:{h.hexdigest()}"

    @property
    def engine_traffic(self) -> dict[str, Any]:
        """What the run asked of the engine for this dataset (`run --json`: `engine`)."""
        return {
            "name": self.engine.name,
            "queries": self.traffic.queries,
            "rows_fetched": self.traffic.rows,
            "bytes_fetched": self.traffic.bytes,
        }

    @property
    def rows_fetched(self) -> int:
        """Every row fetched from the engine so far: the push-down check."""
        return self.traffic.rows

    @property
    def bytes_fetched(self) -> int:
        """The size as text of what was fetched: what crossed the wire, roughly."""
        return self.traffic.bytes

    def schema_of(self, query: exp.Expression) -> dict[str, str]:
        """Return the column kinds of a query's result (for prepared rows)."""
        return self.session.schema(f"({render(self.engine, query)})")

    def bounds(self, query: exp.Expression) -> list[Any]:
        """Return the one row of a MIN/MAX query (the range calendar windows cover)."""
        _, rows = self.fetch(query)
        return list(rows[0]) if rows else []


def booleans_as_such(query: exp.Expression, fields: Mapping[str, str]) -> exp.Expression:
    """Compare boolean fields with TRUE/FALSE where a spec wrote 1/0.

    YAML's `positive: [true]` reaches the SQL as 1 (DuckDB compares booleans with
    integers); PostgreSQL and Spark do not, so the literal becomes the boolean.
    """
    flags = {name for name, t in fields.items() if t == "boolean"}
    if not flags:
        return query

    def fix(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.In | exp.EQ | exp.NEQ):
            target = node.this
            if isinstance(target, exp.Column) and target.name in flags:
                for lit in node.find_all(exp.Literal):
                    if not lit.is_string and lit.name in ("0", "1"):
                        lit.replace(exp.Boolean(this=lit.name == "1"))
        return node

    return query.transform(fix)  # a copy: the query is left as it was


def relation_sql(engine: Engine, options: RelationOptions) -> tuple[exp.Expression, str]:
    """Return the relation as a FROM item, and a description of it ("table cx.responses")."""
    if options.table is not None:
        try:
            table = exp.to_table(options.table, dialect=engine.dialect)
        except sqlglot.errors.ParseError as exc:
            raise DataError(f"`table: {options.table}` is not a table name: {exc}") from None
        if not isinstance(table, exp.Table) or table.find(exp.Select, exp.Anonymous):
            raise DataError(f"`table: {options.table}` is not a table name")
        return table, f"{engine.name} table {options.table}"
    assert options.query is not None
    return exp.Subquery(this=read_only_query(engine, options.query)), f"{engine.name} query"


def read_only_query(engine: Engine, text: str) -> exp.Query:
    """Parse a dataset's `query:`: one SELECT, nothing that writes or runs a command."""
    try:
        parsed = sqlglot.parse(text, dialect=engine.dialect)
    except sqlglot.errors.ParseError as exc:
        raise DataError(f"`query:` does not parse as {engine.dialect} SQL: {exc}") from None
    if len(parsed) != 1 or not isinstance(parsed[0], exp.Query):
        raise DataError("`query:` must be exactly one SELECT statement")
    query = parsed[0]
    writes = (exp.Insert, exp.Update, exp.Delete, exp.Create, exp.Drop, exp.Command, exp.Into)
    if query.find(*writes):
        raise DataError("`query:` must only read: it contains a statement that writes")
    return query


def open_dataset(
    name: str,
    config: DatasetConfig,
    engine: Engine,
    session: EngineSession,
    options: RelationOptions,
) -> EngineDataset:
    """Type a dataset in its engine, count its rejects and return what specs read.

    As the embedded loader: a present value that does not fit its field's type is
    NULL in the typed rows and a reject of that field alone; every row is used. One
    aggregate query counts them per field (and the rows, empty times); a second,
    only when there are any, fetches at most `EXAMPLES` of them per field with keys.
    """
    source, origin = relation_sql(engine, options)
    bind = getattr(session, "bind", None)
    if callable(bind):
        # The engine resolves the relation once for the run (Spark: a temporary view),
        # instead of once per query: every query below reads it by that name.
        bound = bind(source.sql(dialect=engine.dialect))
        source = exp.to_table(bound, dialect=engine.dialect)
    src = cast(exp.Expression, exp.alias_(source.copy(), SOURCE, table=True))
    kinds = session.schema(source.sql(dialect=engine.dialect))
    probe = EngineDataset(name, engine, session, "", exp.select("1"), {}, 0, 0, 0, [], "", "")
    plans = plan_fields(name, config, kinds, detect=lambda todo: detect(probe, src, todo))
    key = config.key
    key_col = next((p.column for p in plans if p.name == key), key) if key else None
    if key_col is not None and key_col not in kinds:
        raise DataError(f"dataset {name!r}: `key: {key}` is not a column of the {origin}")
    row = exp.Cast(this=_col(key_col), to=exp.DataType.build("VARCHAR")) if key_col else exp.Null()
    checked = [(i, p) for i, p in enumerate(plans) if p.bad is not None]
    flags = [
        exp.alias_(exp.Coalesce(this=p.bad.copy(), expressions=[exp.false()]), f"{BAD}{i}",  # type: ignore[union-attr]
                   quoted=True)
        for i, p in checked
    ]  # fmt: skip
    raws = [
        exp.alias_(exp.Cast(this=_col(p.column), to=exp.DataType.build("VARCHAR")), f"{RAW}{i}",
                   quoted=True)
        for i, p in checked
    ]  # fmt: skip
    typed = exp.select(
        exp.alias_(row, ROW, quoted=True),
        *(exp.alias_(p.typed.copy(), p.name, quoted=True) for p in plans),
        *flags,
        *raws,
    ).from_(src)
    typed_ref = cast(exp.Expression, exp.alias_(exp.Subquery(this=typed), "_cx_typed", table=True))

    def count_if(cond: exp.Expression) -> exp.Expression:
        return exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=cond))

    any_bad = [_col(f"{BAD}{i}") for i, _ in checked]
    aggregates: list[exp.Expression] = [exp.Count(this=exp.Star())]
    aggregates += [count_if(flag.copy()) for flag in any_bad]
    if any_bad:
        either: exp.Expression = any_bad[0].copy()
        for flag in any_bad[1:]:
            either = exp.Or(this=either, expression=flag.copy())
        aggregates.append(count_if(either))
    # Empty values of the fields a spec may take its time from: a spec fetches
    # examples of its rows without a time only when there are any. No other field's
    # empties are asked for (each would be read and typed for nothing).
    timed = [p for p in plans if p.type in ("datetime", "date")]
    aggregates += [exp.Count(this=_col(p.name)) for p in timed]
    counts = exp.select(*aggregates).from_(typed_ref.copy())
    dataset = EngineDataset(
        name=name,
        engine=engine,
        session=session,
        table=f"ds_{name}",
        # Only the typed fields: the reject flags and raw texts above are for the
        # counting query, never computed again by a spec's query.
        usable=exp.select(
            exp.alias_(row.copy(), ROW, quoted=True),
            *(exp.alias_(p.typed.copy(), p.name, quoted=True) for p in plans),
        ).from_(src.copy()),
        fields={p.name: p.type for p in plans},
        rows_read=0,
        rows_used=0,
        rows_rejected=0,
        rejects=[],
        origin=origin,
        identity="",
        zones={p.name: p_zone(config, p.name) for p in plans if p.type == "datetime"},
        key=key,
    )
    _, rows = dataset.fetch(counts)
    first = rows[0] if rows else (0,)
    total = int(first[0] or 0)
    per_field = {i: int(first[1 + j] or 0) for j, (i, _) in enumerate(checked)}
    dataset.rows_read = dataset.rows_used = total
    dataset.rows_with_bad_values = int(first[1 + len(checked)] or 0) if checked else 0
    dataset.cells_rejected = {plans[i].name: n for i, n in per_field.items() if n}
    present = first[1 + len(checked) + (1 if checked else 0) :][: len(timed)]
    dataset.nulls = {p.name: total - int(n or 0) for p, n in zip(timed, present, strict=True)}
    # The counts themselves are in the digest of what was fetched (`fingerprint`).
    # The typed expressions say how each field is read (detected decimal mark, format).
    read_as = [(p.name, p.typed.sql(dialect=engine.dialect)) for p in plans]
    dataset.identity = repr((origin, sorted(kinds.items()), read_as))
    dataset.notes.extend(plan.note for plan in plans if plan.note)
    bad_fields = [(i, p) for i, p in checked if per_field.get(i)]
    if bad_fields:
        _fetch_examples(dataset, bad_fields, typed_ref, per_field, key)
    return dataset


def p_zone(config: DatasetConfig, name: str) -> str:
    cfg = config.fields.get(name)
    return (cfg.timezone if cfg and cfg.timezone else None) or "UTC"


def _fetch_examples(
    dataset: EngineDataset,
    bad_fields: Sequence[tuple[int, EnginePlan]],
    typed_ref: exp.Expression,
    per_field: Mapping[int, int],
    key: str | None,
) -> None:
    """Fetch up to EXAMPLES bad values per field (first keys first), in one query."""
    selects: list[exp.Select] = []
    for i, _ in bad_fields:
        selects.append(
            exp.select(
                exp.alias_(exp.Literal.number(i), "_cx_field", quoted=True),
                _col(ROW),
                exp.alias_(_col(f"{RAW}{i}"), "_cx_value", quoted=True),
            )
            .from_(typed_ref.copy())
            .where(_col(f"{BAD}{i}"))
        )
    union: exp.Expression = selects[0]
    for other in selects[1:]:
        union = exp.union(union, other, distinct=False)
    rank = exp.Window(
        this=exp.Anonymous(this="row_number"),
        partition_by=[_col("_cx_field")],
        order=exp.Order(
            expressions=[exp.Ordered(this=_col(ROW)), exp.Ordered(this=_col("_cx_value"))]
        ),
    )
    ranked = exp.select(exp.Star(), exp.alias_(rank, "_cx_rank", quoted=True)).from_(
        exp.alias_(exp.Subquery(this=union), "_cx_bad_values", table=True)
    )
    query = (
        exp.select(_col("_cx_field"), _col(ROW), _col("_cx_value"))
        .from_(exp.alias_(exp.Subquery(this=ranked), "_cx_ranked", table=True))
        .where(exp.LTE(this=_col("_cx_rank"), expression=exp.Literal.number(EXAMPLES)))
        .order_by(_col("_cx_field"), _col(ROW), _col("_cx_value"))
    )
    plans = dict(bad_fields)
    _, rows = dataset.fetch(query)
    for which_i, row_key, value in rows:
        plan = plans[int(which_i)]
        text = "" if value is None else str(value)
        locator = f"{key}={row_key}" if key else f"{dataset.origin} (no `key:` to locate the row)"
        dataset.rejects.append(
            Reject(
                dataset=dataset.name,
                locator=locator,
                reason=reject_reason(plan.field_plan(), text),
                field=plan.name,
                value=text[:MAX_VALUE],
            )
        )
    for i, _ in bad_fields:
        n = per_field[i]
        if n > EXAMPLES:
            dataset.notes.append(
                f"{dataset.origin}: {n} values of field {plans[i].name!r} do not fit its type; "
                f"the first {EXAMPLES} are stored as rejects"
            )


def _col(name: str) -> exp.Column:
    return exp.column(name, quoted=True)
