"""Kinds that reshape their rows before counting: events → customer runs, orders → buyers.

Some metrics are not a grouped count over the dataset's rows but over entities built
from them: retention from activity events needs one row per customer relationship,
repeat purchase from orders one row per buyer. Such a kind is a `PreparedKind`: its
plan carries ``prepare``, a query over the filtered, usable source rows (the spec's
filter and the kind's exclusions apply to the source rows, before the reshaping;
excluded source rows are stored as rejects with their own locators). It is
materialised here as a temporary table; the engine then computes the spec over that
table exactly like any other (periods, slices, GROUPING SETS roll-ups), reading the
kind's ``prepared_fields(spec)`` instead of ``fields(spec)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cxengine.dataset.fieldtypes import NATIVE_TYPE, base_type

if TYPE_CHECKING:
    import duckdb

    from cxengine.compute.plan import Plan


def materialise(con: duckdb.DuckDBPyConnection, plan: Plan) -> tuple[str, dict[str, str]]:
    """Create the kind's table from `plan.prepare`; return its name and field types."""
    assert plan.prepare is not None
    name = f"_cx_prepared_{plan.spec.name}"
    con.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS {plan.prepare.sql(dialect="duckdb")}')
    described = con.execute(f'DESCRIBE "{name}"').fetchall()
    types = {row[0]: NATIVE_TYPE.get(base_type(str(row[1])), "string") for row in described}
    return name, types
