"""Kinds that reshape their rows before counting: events → customer runs, orders → buyers.

Some metrics are not a grouped count over the dataset's rows but over entities built
from them: retention from activity events needs one row per customer relationship,
repeat purchase from orders one row per buyer. Such a kind is a `PreparedKind`:
``prepare(spec, source) -> exp.Select | None`` is a query over the filtered, usable
source rows. It is materialised here as a temporary table; the engine then computes
the spec over that table exactly like any other (periods, slices, GROUPING SETS
roll-ups), reading the kind's ``prepared_fields(spec)`` instead of ``fields(spec)``.

The spec's filter and the kind's exclusions apply to the source rows, before the
reshaping; excluded source rows are stored as rejects with their own locators.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlglot import exp

from cxengine.compute.query import any_true, column, table_ref
from cxengine.dataset.fieldtypes import NATIVE_TYPE, base_type
from cxengine.expr import parse_filter
from cxengine.interfaces import CompileContext, Exclusion, Kind, PreparedKind
from cxengine.spec.models import MetricSpec

if TYPE_CHECKING:
    import duckdb


@dataclass(frozen=True)
class PreparedTable:
    """A kind's own table, and what was applied to the source rows to build it."""

    table: str
    field_types: dict[str, str]
    #: The kind's exclusions and the spec's filter, over the source table.
    exclusions: list[Exclusion]
    where: exp.Expression | None


def prepare_table(
    con: duckdb.DuckDBPyConnection,
    spec: MetricSpec,
    kind: Kind,
    table: str,
    field_types: Mapping[str, str],
) -> PreparedTable | None:
    """Build the kind's table from the usable source rows; None when it needs no reshaping."""
    if not isinstance(kind, PreparedKind):
        return None
    ctx = CompileContext(spec=spec, column=column, field_types=field_types)
    columns = list(field_types) or None
    user_where = parse_filter(spec.where, columns=columns) if spec.where else None
    exclusions = list(kind.exclusions(spec, ctx))
    source = exp.select(exp.Star()).from_(table_ref(table))
    if user_where is not None:
        source = source.where(exp.Paren(this=user_where.copy()))
    if exclusions:
        source = source.where(exp.Not(this=any_true([e.predicate for e in exclusions])))
    query = kind.prepare(spec, source)
    if query is None:
        return None
    name = f"_cx_prepared_{spec.name}"
    con.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS {query.sql(dialect="duckdb")}')
    described = con.execute(f'DESCRIBE "{name}"').fetchall()
    types = {row[0]: NATIVE_TYPE.get(base_type(str(row[1])), "string") for row in described}
    return PreparedTable(name, types, exclusions, user_where)
