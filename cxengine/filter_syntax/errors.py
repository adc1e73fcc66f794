"""The one error a filter can raise, shared by the checker and the SQL renderer.

It lives here, not in cxengine/expr.py, so that checking a filter (validate,
metrics) can catch it without importing sqlglot; cxengine.expr re-exports it, so
`except ExpressionError` catches the refusals of both parsers.
"""

from __future__ import annotations


class ExpressionError(ValueError):
    """A filter expression that cannot be used, with a message for the analyst."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position  # 0-based character offset into the filter text
