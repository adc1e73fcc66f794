"""Check a filter without sqlglot: the whitelist that `validate` and `metrics` apply.

`check_filter` is the standard-library twin of `cxengine.expr.parse_filter`: it
refuses the same filters with the same kind of message, and accepts a filter only if
sqlglot accepts it with the same meaning (tests/test_expr_agreement.py runs both on
the specs, the docs and a hostile corpus). Commands that only check specs use it, so
they never import sqlglot; a run still renders its SQL through sqlglot.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from typing import NoReturn

import cxengine.filter_syntax.nodes as n
from cxengine.filter_syntax.errors import ExpressionError
from cxengine.filter_syntax.grammar import parse
from cxengine.filter_syntax.lexer import tokenize

# Deeper trees are refused before anything recurses over them (the sqlglot path
# caps the same depth, because generating SQL recurses).
MAX_DEPTH = 64


def check_filter(text: str, *, columns: Collection[str] | None = None) -> n.Node:
    """Parse one filter condition and check it against the whitelist.

    With `columns`, every column must be one of them (matched case-insensitively and
    rewritten to the known spelling). Raises ExpressionError for anything else.
    """
    tree = parse(tokenize(text), text)
    if _depth(tree) > MAX_DEPTH:
        raise ExpressionError(
            f"the filter is too complex: it nests or chains more than {MAX_DEPTH} operations; "
            "simplify it (for many alternatives, use x IN ('a', 'b', …) instead of ORs)"
        )
    _check_conditions(tree, text)
    return _Resolver(columns, text).resolve(tree)


def is_condition(node: n.Node) -> bool:
    """True for nodes that yield true/false (a column or COALESCE may be a boolean field)."""
    node = n.unparen(node)
    if isinstance(node, n.Cast):
        return node.to == "BOOLEAN"
    if isinstance(node, n.Call):
        return node.name == "COALESCE"
    return isinstance(
        node,
        n.Logical | n.Not | n.Compare | n.In | n.Between | n.Is | n.Like | n.Boolean | n.Column,
    )


def _depth(tree: n.Node) -> int:
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            break
        # sqlglot counts a bracket as a level too; so do we, to refuse alike.
        stack.extend((child, depth + 1) for child in n.children(node))
    return deepest


def _check_conditions(tree: n.Node, text: str) -> None:
    for node in n.walk(tree):
        if isinstance(node, n.Logical | n.Not):
            op = node.op if isinstance(node, n.Logical) else "NOT"
            for child in n.children(node):
                if not is_condition(child):
                    _refuse(child, text, f"{op} needs conditions (true/false); \x00 is a value")
    if not is_condition(tree):
        _refuse(
            tree,
            text,
            "a filter must be a condition that is true or false, such as channel <> 'test'; "
            "\x00 is a value",
        )


def _refuse(node: n.Node, text: str, template: str) -> NoReturn:
    shown = text[node.start : node.end]
    shown = shown if len(shown) <= 60 else shown[:57] + "…"
    raise ExpressionError(template.replace("\x00", repr(shown)), node.start)


class _Resolver:
    """Match each column to a known field and return the tree with their spellings."""

    def __init__(self, columns: Collection[str] | None, text: str) -> None:
        self.known = (
            None if columns is None else ([columns] if isinstance(columns, str) else list(columns))
        )
        self.text = text

    def resolve(self, node: n.Node) -> n.Node:
        # Recursion is bounded: the tree's depth was capped above.
        if isinstance(node, n.Column):
            return self.column(node)
        updates: dict[str, object] = {}
        # Children are the node-valued fields and tuples of nodes (IN's values, a
        # call's arguments); a Column's `qualified` is a tuple of names, not nodes.
        for key, value in vars(node).items():
            if isinstance(value, tuple) and value and not isinstance(value[0], str):
                updates[key] = tuple(self.resolve(v) for v in value)
            elif isinstance(value, n.Span) and not isinstance(value, n.String | n.Null | n.Boolean):
                updates[key] = self.resolve(value)  # type: ignore[arg-type]
        return replace(node, **updates) if updates else node  # type: ignore[arg-type]

    def column(self, col: n.Column) -> n.Column:
        name = col.name
        if col.qualified:
            # `tickets.channel` is a joined dataset's field of that name when it is one.
            dotted = {c.lower(): c for c in self.known or [] if "." in c}
            found = dotted.get(name.lower())
            if found is None:
                _refuse(
                    col,
                    self.text,
                    f"\x00: use the plain column name {col.qualified[-1]!r}, without a table "
                    "or schema in front",
                )
            return n.Column(found, start=col.start, end=col.end)
        if self.known is None or name in self.known:
            return col
        return n.Column(known_spelling(name, self.known, col.start), start=col.start, end=col.end)


def known_spelling(name: str, known: list[str], position: int | None) -> str:
    """Return the known column `name` stands for, matched case-insensitively as DuckDB does.

    Raise ExpressionError (at `position`) when it matches none or several. Both readers
    of the filter language call it (cxengine/expr.py too).
    """
    folded = [c for c in known if c.lower() == name.lower()]
    if len(folded) > 1:
        raise ExpressionError(
            f"column {name!r} is ambiguous: it could be "
            + " or ".join(repr(c) for c in folded)
            + "; write it exactly, in double quotes",
            position,
        )
    if not folded:
        raise ExpressionError(unknown_column(name, known), position)
    return folded[0]


def unknown_column(name: str, known: list[str]) -> str:
    import difflib  # only for a misspelt column: most checks never need it

    by_lower = {c.lower(): c for c in known}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=3, cutoff=0.6)
    message = f"unknown column {name!r} in the filter"
    if close:
        message += "; did you mean " + " or ".join(repr(by_lower[c]) for c in close) + "?"
    if known:
        shown = sorted(known)
        listing = ", ".join(shown[:20]) + (", …" if len(shown) > 20 else "")
        message += f" Known columns: {listing}"
    return message
