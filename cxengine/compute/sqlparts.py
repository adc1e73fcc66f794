"""Quoted names and small SQL pieces shared by the plan and the query builder."""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

PERIOD_COL = "_cx_period"
ROW_COL = "_cx_row"
WINDOW_START = "_cx_start"
WINDOW_END = "_cx_end"


def table_ref(name: str) -> exp.Table:
    """Return a table by its exact name, quoted.

    Not `exp.to_table`, which parses its text: a dataset named `a.b` would become
    table `b` of schema `a`, and one with a double quote would not tokenize.
    """
    return exp.Table(this=exp.to_identifier(name, quoted=True))


def column(name: str) -> exp.Column:
    """Return a quoted column reference."""
    return exp.column(name, quoted=True)


def any_true(preds: Sequence[exp.Expression]) -> exp.Expression:
    """Return `p1 OR p2 OR …`, with NULL read as false."""
    out: exp.Expression = exp.Paren(this=preds[0].copy())
    for p in preds[1:]:
        out = exp.Or(this=out, expression=exp.Paren(this=p.copy()))
    # A NULL predicate must read as "not excluded".
    return exp.Coalesce(this=out, expressions=[exp.false()])
