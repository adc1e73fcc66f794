"""A `join:` of two datasets on the same engine, made inside the engine.

The same join as cxengine/dataset/join.py (the same fields, qualified names, key
checks, `expect: one` refusal, match counts and notes), written as a query over the
two sides' typed rows: the joined rows are one more common table expression every
spec over the joined dataset reads. Nothing is copied out of the engine: the counts
and at most `EXAMPLES` unmatched keys (an inner join's rejects) come back.
"""

from __future__ import annotations

from typing import cast

from sqlglot import exp

from cxengine.dataset.join import (
    EXAMPLES as FAN_OUT_EXAMPLES,
)
from cxengine.dataset.join import (
    JoinCounts,
    _describe,
    check_keys,
    fan_out_error,
    joined_fields,
)
from cxengine.dataset.join_config import JoinConfig
from cxengine.engines.relation import EXAMPLES, ROW, EngineDataset, Traffic
from cxengine.interfaces import Reject


def _col(table: str, name: str) -> exp.Column:
    return exp.column(name, table=table, quoted=True)


def _ref(name: str, alias: str) -> exp.Expression:
    return cast(
        exp.Expression,
        exp.alias_(exp.Table(this=exp.to_identifier(name, quoted=True)), alias, table=True),
    )


def join_on_engine(
    name: str, config: JoinConfig, left: EngineDataset, right: EngineDataset
) -> tuple[EngineDataset, JoinCounts]:
    """Return the joined dataset (rows joined in the engine) and how its sides matched.

    Raises JoinError as the embedded join does: missing or mistyped keys, and with
    ``expect: one`` a key several `to` rows share that some `from` row uses.
    """
    problems = check_keys(config, left.fields, right.fields)
    if problems:
        raise problems[0]
    fields, sources = joined_fields(config, left.fields, right.fields)
    cond = _on(config, left.fields, right.fields)
    tables = _tables(left, right)

    def run(query: exp.Select) -> list[tuple[object, ...]]:
        out = query.copy()
        out.set(
            "with_",
            exp.With(
                expressions=[
                    exp.CTE(
                        this=select.copy(),
                        alias=exp.TableAlias(this=exp.to_identifier(n, quoted=True)),
                    )
                    for n, select in tables
                ]
            ),
        )
        return left.fetch(out)[1]

    if config.expect == "one":
        _refuse_fan_out(config, cond, left.table, right.table, run)

    def matched(this: str, alias: str, other: str, other_alias: str) -> exp.Select:
        exists = exp.Exists(
            this=exp.select(exp.Literal.number(1))
            .from_(_ref(other, other_alias))
            .where(cond.copy())
        )
        return exp.select(
            exp.Count(this=exp.Star()),
            exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=exists)),
        ).from_(_ref(this, alias))

    from_rows, from_matched = _ints(run(matched(left.table, "l", right.table, "r"))[0])
    to_rows, to_matched = _ints(run(matched(right.table, "r", left.table, "l"))[0])

    select: list[exp.Expr] = [exp.alias_(_col("l", ROW), ROW, quoted=True)]
    for out, side, src in sources:
        select.append(exp.alias_(_col("l" if side == "from" else "r", src), out, quoted=True))
    usable = (
        exp.select(*select)
        .from_(_ref(left.table, "l"))
        .join(
            _ref(right.table, "r"),
            on=cond.copy(),
            join_type="LEFT" if config.how == "left" else "INNER",
        )
    )
    every = exp.alias_(exp.Subquery(this=usable.copy()), "j", table=True)
    (joined_rows,) = _ints(run(exp.select(exp.Count(this=exp.Star())).from_(every))[0])
    counts = JoinCounts(from_rows, from_matched, to_rows, to_matched, joined_rows)
    rejects: list[Reject] = []
    unmatched = from_rows - from_matched if config.how == "inner" else 0
    if unmatched:
        rejects = _unmatched(name, config, cond, left, right, run)
    # The sides as opened (their answers so far: the counts), and the join's own.
    identity = repr((left.fingerprint, right.fingerprint, config.model_dump()))
    zones = {}
    for out, side, src in sources:
        zone = (left if side == "from" else right).zones.get(src)
        if zone is not None:
            zones[out] = zone
    dataset = EngineDataset(
        name=name,
        engine=left.engine,
        session=left.session,
        table=f"ds_{name}",
        usable=usable,
        fields=fields,
        rows_read=from_rows,
        rows_used=joined_rows,
        rows_rejected=unmatched,
        rejects=rejects,
        origin=f"{config.from_} {config.how} join {config.to}",
        identity=identity,
        notes=[_describe(config, counts)]
        + (
            [f"{unmatched} unmatched {config.from_} rows; the first {EXAMPLES} are stored"]
            if unmatched > EXAMPLES
            else []
        ),
        zones=zones,
        key=left.key,
        locators=left.locators,
        traffic=Traffic(),
        secrets=[*left.secrets, *right.secrets],
        before=tables,
    )
    return dataset, counts


def _ints(row: tuple[object, ...]) -> list[int]:
    return [int(x or 0) for x in row]  # type: ignore[call-overload]


def _tables(left: EngineDataset, right: EngineDataset) -> list[tuple[str, exp.Expression]]:
    """Both sides' common table expressions, each name once."""
    out: list[tuple[str, exp.Expression]] = []
    seen: set[str] = set()
    for name, select in [*left.tables(), *right.tables()]:
        if name not in seen:
            seen.add(name)
            out.append((name, select))
    return out


def _on(config: JoinConfig, left: dict[str, str], right: dict[str, str]) -> exp.Expression:
    """The ON condition; integer and number keys are compared as DOUBLE (as embedded)."""
    parts: list[exp.Expression] = []
    for f, t in config.on.items():
        a: exp.Expression = _col("l", f)
        b: exp.Expression = _col("r", t)
        if left[f] != right[t]:
            a = exp.Cast(this=a, to=exp.DataType.build("DOUBLE"))
            b = exp.Cast(this=b, to=exp.DataType.build("DOUBLE"))
        parts.append(exp.EQ(this=a, expression=b))
    out = parts[0]
    for p in parts[1:]:
        out = exp.And(this=out, expression=p)
    return out


def _refuse_fan_out(config, cond, left_table, right_table, run) -> None:  # type: ignore[no-untyped-def]
    keys = list(config.on.values())
    cols = [_col("r", k) for k in keys]
    exists = exp.Exists(
        this=exp.select(exp.Literal.number(1)).from_(_ref(left_table, "l")).where(cond.copy())
    )
    n = exp.Count(this=exp.Star())
    query = (
        exp.select(
            *cols,
            exp.alias_(n, "n", quoted=True),
            exp.alias_(exp.Window(this=exp.Count(this=exp.Star())), "duplicated", quoted=True),
        )
        .from_(_ref(right_table, "r"))
        .where(exists)
        .group_by(*(c.copy() for c in cols))
        .having(exp.GT(this=n.copy(), expression=exp.Literal.number(1)))
        .order_by(
            exp.Ordered(this=exp.column("n", quoted=True), desc=True), *(c.copy() for c in cols)
        )
        .limit(FAN_OUT_EXAMPLES)
    )
    rows = run(query)
    if rows:
        raise fan_out_error(config, keys, rows)


def _unmatched(name, config, cond, left, right, run) -> list[Reject]:  # type: ignore[no-untyped-def]
    """The first EXAMPLES `from` rows without a partner, as rejects naming their key."""
    keys = list(config.on)
    exists = exp.Exists(
        this=exp.select(exp.Literal.number(1)).from_(_ref(right.table, "r")).where(cond.copy())
    )
    query = (
        exp.select(
            _col("l", ROW),
            *(exp.Cast(this=_col("l", k), to=exp.DataType.build("VARCHAR")) for k in keys),
        )
        .from_(_ref(left.table, "l"))
        .where(exp.Not(this=exists))
        .order_by(_col("l", ROW))
        .limit(EXAMPLES)
    )
    out = []
    for row in run(query):
        values = row[1:]
        key_text = ", ".join(f"{k} = {v}" for k, v in zip(keys, values, strict=True))
        if any(v is None for v in values):
            empty = [k for k, v in zip(keys, values, strict=True) if v is None]
            reason = f"inner join with {config.to}: {', '.join(empty)} is empty"
        else:
            reason = f"inner join with {config.to}: no {config.to} row with {key_text}"
        locator = (
            f"{left.key}={row[0]}" if left.key else f"{left.origin} (no `key:` to locate the row)"
        )
        out.append(
            Reject(
                dataset=name,
                locator=locator,
                reason=reason,
                field=keys[0],
                value=None if values[0] is None else str(values[0]),
            )
        )
    return out
