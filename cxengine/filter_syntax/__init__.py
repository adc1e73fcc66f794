"""The filter language of specs (`where:`, a share's `condition:`), read without sqlglot.

Checking specs (`cxengine validate`, `cxengine metrics`) must not pay the half second
that importing sqlglot costs (issue 12, item 3), so the language has this small,
strict standard-library reader; cxengine/expr.py keeps sqlglot for the SQL a run
executes. tests/test_expr_agreement.py holds the two equal.
"""

from __future__ import annotations

from cxengine.filter_syntax.check import MAX_DEPTH, check_filter, is_condition
from cxengine.filter_syntax.errors import ExpressionError
from cxengine.filter_syntax.lexer import MAX_LENGTH, MAX_NESTING
from cxengine.filter_syntax.nodes import Node, column_names
from cxengine.filter_syntax.render import to_sql

__all__ = [
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_NESTING",
    "ExpressionError",
    "Node",
    "check_filter",
    "column_names",
    "is_condition",
    "to_sql",
]
