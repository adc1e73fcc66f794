"""A dataset defined as a join of two others: survey answers linked to operational data.

```yaml
datasets:
  answered_tickets:
    join:
      from: responses          # every row of the result is one of these …
      to: tickets              # … with the matching row of this one
      on: {ticket_id: ticket_id}
      how: left                # left: keep unmatched `from` rows; inner: reject them
      expect: one              # one: a `from` row matches at most one `to` row
```

What a join must never do is double-count answers silently: with ``expect: one`` a
key that several `to` rows share (and some `from` row uses) is refused, naming example
keys. Every field of both sides is available with its type; a `to` field whose name
the `from` side already uses is available as ``<to>.<field>`` (``tickets.channel``),
and the `from` side's as ``<from>.<field>`` besides its plain name.

The joined table keeps the `from` row's ``_cx_row``, so a reject found later in the
joined dataset points at the line of the `from` source it came from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cxengine.dataset.join_config import JoinConfig
from cxengine.dataset.sql import ident
from cxengine.interfaces import Reject

if TYPE_CHECKING:
    import duckdb

    from cxengine.dataset.load import LoadedDataset

ROW = "_cx_row"
#: How many duplicate keys a refusal names.
EXAMPLES = 5
#: Key types that join with each other (compared as DOUBLE when they differ).
_NUMERIC = {"integer", "number"}


class JoinError(Exception):
    """A join that cannot be made as declared; `path` is where in the `join:` block."""

    def __init__(self, path: tuple[str | int, ...], message: str):
        self.path = path
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class JoinCounts:
    """How the two sides matched."""

    from_rows: int
    from_matched: int
    to_rows: int
    to_matched: int
    joined_rows: int

    @property
    def from_unmatched(self) -> int:
        return self.from_rows - self.from_matched

    @property
    def to_unmatched(self) -> int:
        return self.to_rows - self.to_matched

    def as_dict(self) -> dict[str, int]:
        """Return the JSON form."""
        return {
            "from_rows": self.from_rows,
            "from_matched": self.from_matched,
            "from_unmatched": self.from_unmatched,
            "to_rows": self.to_rows,
            "to_matched": self.to_matched,
            "to_unmatched": self.to_unmatched,
            "joined_rows": self.joined_rows,
        }


@dataclass
class JoinedDataset:
    """The joined dataset and how its sides matched."""

    dataset: LoadedDataset
    counts: JoinCounts
    renamed: dict[str, str] = field(default_factory=dict)  # qualified name -> side field


def clashing_names(left: Iterable[str], right: Iterable[str]) -> dict[str, str]:
    """Return each right-side name that clashes with a left one (ignoring case) -> the left one."""
    lower = {name.lower(): name for name in left}
    return {name: lower[name.lower()] for name in right if name.lower() in lower}


def joined_fields(
    config: JoinConfig, left: Mapping[str, str], right: Mapping[str, str]
) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """Return the joined dataset's fields (name -> type) and where each comes from.

    The second value lists (output name, side "from"/"to", source field). Used both
    to build the table and, without data, to validate specs over the joined dataset.
    """
    same_key = {t for f, t in config.on.items() if f == t}
    out: dict[str, str] = {}
    sources: list[tuple[str, str, str]] = []
    for name, typ in left.items():
        out[name] = typ
        sources.append((name, "from", name))
    clash = clashing_names(left, right)
    for name, typ in right.items():
        if name in same_key:
            continue  # the key, already there under the same name
        if name in clash:
            # Column names are case-insensitive in SQL: `Score` clashes with `score`.
            mine = clash[name]
            qualified_from, qualified_to = f"{config.from_}.{mine}", f"{config.to}.{name}"
            out[qualified_from] = left[mine]
            sources.append((qualified_from, "from", mine))
            out[qualified_to] = typ
            sources.append((qualified_to, "to", name))
        else:
            out[name] = typ
            sources.append((name, "to", name))
    return out, sources


def check_keys(
    config: JoinConfig, left: Mapping[str, str], right: Mapping[str, str]
) -> list[JoinError]:
    """Return problems with the key fields: missing on a side, or types that cannot match."""
    problems = []
    for f, t in config.on.items():
        missing = [
            (side, name, fields)
            for side, name, fields in ((config.from_, f, left), (config.to, t, right))
            if name not in fields
        ]
        for side, name, fields in missing:
            known = ", ".join(sorted(fields)[:15])
            problems.append(
                JoinError(("on", f), f"key field {name!r} is not a field of {side} ({known})")
            )
        if missing:
            continue
        a, b = left[f], right[t]
        if a != b and not {a, b} <= _NUMERIC:
            problems.append(
                JoinError(
                    ("on", f),
                    f"key types differ: {config.from_}.{f} is {a}, {config.to}.{t} is {b}; "
                    f"declare the same type for both in their `fields:`",
                )
            )
    return problems


def join_datasets(
    con: duckdb.DuckDBPyConnection,
    name: str,
    config: JoinConfig,
    left: LoadedDataset,
    right: LoadedDataset,
) -> JoinedDataset:
    """Build table ``ds_<name>`` joining `left` (the `from` side) to `right`; count matches.

    Raises JoinError for missing or mistyped keys and, with ``expect: one``, for a
    key shared by several `to` rows that some `from` row uses.
    """
    from cxengine.dataset.load import LoadedDataset, table_name

    problems = check_keys(config, left.fields, right.fields)
    if problems:
        raise problems[0]
    fields, sources = joined_fields(config, left.fields, right.fields)
    cond = _on(config, left.fields, right.fields)
    lt, rt = ident(left.table), ident(right.table)
    if config.expect == "one":
        _refuse_fan_out(con, config, cond, lt, rt)

    # Which rows of each side have a partner.
    from_rows, from_matched = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE EXISTS (SELECT 1 FROM {rt} r WHERE {cond})) "
        f"FROM {lt} l"
    ).fetchall()[0]
    to_rows, to_matched = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE EXISTS (SELECT 1 FROM {lt} l WHERE {cond})) "
        f"FROM {rt} r"
    ).fetchall()[0]

    table = table_name(name)
    select = [f"l.{ident(ROW)} AS {ident(ROW)}"]
    for out, side, src in sources:
        select.append(f"{'l' if side == 'from' else 'r'}.{ident(src)} AS {ident(out)}")
    join = "LEFT JOIN" if config.how == "left" else "JOIN"
    con.execute(
        f"CREATE OR REPLACE TABLE {ident(table)} AS SELECT {', '.join(select)} "
        f"FROM {lt} l {join} {rt} r ON {cond} ORDER BY l.{ident(ROW)}"
    )
    joined_rows = con.execute(f"SELECT count(*) FROM {ident(table)}").fetchall()[0][0]
    counts = JoinCounts(from_rows, from_matched, to_rows, to_matched, joined_rows)

    rejects: list[Reject] = []
    if config.how == "inner":
        rejects = _unmatched_rejects(con, name, config, cond, lt, rt, left)
    fingerprint = hashlib.sha256(
        repr((left.fingerprint, right.fingerprint, config.model_dump())).encode()
    ).hexdigest()
    notes = [_describe(config, counts)]
    dataset = LoadedDataset(
        name=name,
        table=table,
        fields=fields,
        rows_read=from_rows,
        rows_used=joined_rows,
        rows_rejected=len(rejects),
        rejects=rejects,
        origin=f"{config.from_} {config.how} join {config.to}",
        fingerprint=fingerprint,
        locate=left.locate,
        notes=notes,
    )
    renamed = {out: src for out, side, src in sources if out != src}
    return JoinedDataset(dataset, counts, renamed)


def _on(config: JoinConfig, left: Mapping[str, str], right: Mapping[str, str]) -> str:
    """Return the ON condition; integer and number keys are compared as DOUBLE."""
    parts = []
    for f, t in config.on.items():
        a, b = f"l.{ident(f)}", f"r.{ident(t)}"
        if left[f] != right[t]:
            a, b = f"CAST({a} AS DOUBLE)", f"CAST({b} AS DOUBLE)"
        parts.append(f"{a} = {b}")
    return " AND ".join(parts)


def _refuse_fan_out(
    con: duckdb.DuckDBPyConnection, config: JoinConfig, cond: str, lt: str, rt: str
) -> None:
    keys = list(config.on.values())
    cols = ", ".join(f"r.{ident(k)}" for k in keys)
    rows = con.execute(
        f"SELECT {cols}, count(*) AS n, count(*) OVER () AS duplicated FROM {rt} r "
        f"WHERE EXISTS (SELECT 1 FROM {lt} l WHERE {cond}) "
        f"GROUP BY {cols} HAVING count(*) > 1 ORDER BY n DESC, {cols} LIMIT {EXAMPLES}"
    ).fetchall()
    if rows:
        raise fan_out_error(config, keys, rows)


def fan_out_error(config: JoinConfig, keys: list[str], rows: Sequence[Sequence[Any]]) -> JoinError:
    """The error of an `expect: one` join whose keys match several rows.

    ``rows``: the worst duplicated keys, each ``(*key values, rows, keys duplicated)``,
    as both the embedded join and the engines' join query them.
    """
    duplicated = rows[0][-1]
    examples = "; ".join(
        ", ".join(f"{k} = {v!r}" for k, v in zip(keys, row[: len(keys)], strict=True))
        + f" ({row[len(keys)]} rows)"
        for row in rows
    )
    return JoinError(
        ("expect",),
        f"expect: one is broken: {duplicated} key(s) of {config.to} match several rows "
        f"that {config.from_} rows link to, which would count those {config.from_} rows "
        f"more than once; for example {examples}. Remove the duplicates or declare "
        "`expect: many`",
    )


def _unmatched_rejects(
    con: duckdb.DuckDBPyConnection,
    name: str,
    config: JoinConfig,
    cond: str,
    lt: str,
    rt: str,
    left: LoadedDataset,
) -> list[Reject]:
    """Each `from` row without a partner becomes a reject naming its key."""
    keys = list(config.on)
    cols = ", ".join(f"CAST(l.{ident(k)} AS VARCHAR)" for k in keys)
    rows = con.execute(
        f"SELECT l.{ident(ROW)}, {cols} FROM {lt} l "
        f"WHERE NOT EXISTS (SELECT 1 FROM {rt} r WHERE {cond}) ORDER BY l.{ident(ROW)}"
    ).fetchall()
    where = left.locate([int(r[0]) for r in rows]) if rows else {}
    out = []
    for row in rows:
        values = row[1:]
        key_text = ", ".join(f"{k} = {v}" for k, v in zip(keys, values, strict=True))
        if any(v is None for v in values):
            empty = [k for k, v in zip(keys, values, strict=True) if v is None]
            reason = f"inner join with {config.to}: {', '.join(empty)} is empty"
        else:
            reason = f"inner join with {config.to}: no {config.to} row with {key_text}"
        out.append(
            Reject(
                dataset=name,
                locator=where.get(int(row[0]), f"{config.from_} row {int(row[0]) + 1}"),
                reason=reason,
                field=keys[0],
                value=None if values[0] is None else str(values[0]),
            )
        )
    return out


def _describe(config: JoinConfig, c: JoinCounts) -> str:
    return (
        f"{config.from_} {config.how} join {config.to} on {', '.join(config.on)}: "
        f"{c.from_matched} of {c.from_rows} {config.from_} rows matched "
        f"({c.from_unmatched} unmatched"
        + (", rejected" if config.how == "inner" and c.from_unmatched else "")
        + f"); {c.to_matched} of {c.to_rows} {config.to} rows matched "
        f"({c.to_unmatched} unmatched)"
    )


def join_order(joins: Mapping[str, JoinConfig]) -> list[str]:
    """Return joined dataset names so that a join of joins comes after its inputs.

    Raises JoinError on a cycle (a dataset joined, through others, to itself).
    """
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str, trail: Sequence[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            raise JoinError(("from",), "joins form a cycle: " + " → ".join([*trail, name]))
        state[name] = 1
        cfg = joins[name]
        for side in (cfg.from_, cfg.to):
            if side in joins:
                visit(side, [*trail, name])
        state[name] = 2
        order.append(name)

    for name in joins:
        visit(name, [])
    return order


def declared_join_fields(
    name: str, datasets: Mapping[str, Any], seen: tuple[str, ...] = ()
) -> dict[str, str] | None:
    """Return a dataset's fields from cxengine.yaml alone (a join: from its sides).

    None when they are unknown without data: a side declares no `fields:`, a side is
    missing, or joins form a cycle (reported by `join_problems`).
    """
    cfg = datasets.get(name)
    if cfg is None or name in seen:
        return None
    join = getattr(cfg, "join", None)
    if join is None:
        declared = getattr(cfg, "fields", None) or {}
        return {k: f.type for k, f in declared.items()} or None
    left = declared_join_fields(join.from_, datasets, (*seen, name))
    right = declared_join_fields(join.to, datasets, (*seen, name))
    if left is None or right is None:
        return None
    return joined_fields(join, left, right)[0]


def join_problems(datasets: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """Return (key path, message) for every problem of the project's joins, without data.

    Sides must be datasets of the project, joins must not form a cycle, and keys must
    exist with matching types on sides whose fields are declared.
    """
    from cxengine.errors import did_you_mean

    joins = {n: c.join for n, c in datasets.items() if getattr(c, "join", None) is not None}
    out: list[tuple[tuple[str | int, ...], str]] = []
    for name, join in joins.items():
        base: tuple[str | int, ...] = ("datasets", name, "join")
        missing = False
        for key, side in (("from", join.from_), ("to", join.to)):
            if side not in datasets:
                out.append(
                    ((*base, key), f"{side!r} is not a dataset{did_you_mean(side, list(datasets))}")
                )
                missing = True
            elif side == name:
                out.append(((*base, key), f"dataset {name!r} cannot join itself"))
                missing = True
        if missing:
            continue
        left = declared_join_fields(join.from_, datasets, (name,))
        right = declared_join_fields(join.to, datasets, (name,))
        if left is not None and right is not None:
            out.extend(((*base, *p.path), p.message) for p in check_keys(join, left, right))
    try:
        join_order(joins)
    except JoinError as exc:
        out.append((("datasets",), exc.message))
    return out


def join_plan(names: Iterable[str], datasets: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """Return the source datasets to load and the joins to build (in order) for `names`.

    A join needs its sides, which may be joins themselves.
    """
    plain: set[str] = set()
    joins: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        cfg = datasets.get(name)
        if cfg is None or name in plain or name in joins:
            continue
        join = getattr(cfg, "join", None)
        if join is None:
            plain.add(name)
        else:
            joins.add(name)
            todo.extend([join.from_, join.to])
    ordered = join_order({n: datasets[n].join for n in joins})
    return sorted(plain), ordered
