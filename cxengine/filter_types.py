"""Type-checking a whitelisted filter against the dataset's field types, before a run.

The whitelist (cxengine/expr.py) decides what a filter may *say*; this module decides
whether it *means* something for these fields. Without it, filters that pass the
whitelist failed inside DuckDB at run time, with its wording and after every other
metric was computed: a bare text field used as a condition, `year()` of a text,
`CAST(a_datetime AS INTEGER)`, `ts > '2025-13-45'`, `score % 0`, `round(x, 2147483648)`,
`LIKE … ESCAPE 'xx'`. Each is reported here as a message naming the piece of the
filter, so `cxengine validate` locates it as `file:line: where: …`.

Types are cxengine's field types (integer, number, string, boolean, datetime, date);
a field of unknown type (`any`) is not judged, so a filter over undeclared fields is
checked again once the data's types are known.

It reads the standard-library tree of cxengine/filter_syntax, so `validate` type-checks
filters without importing sqlglot; only `lenient_casts`, on the run path, uses sqlglot.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING

import cxengine.filter_syntax.nodes as n
from cxengine.filter_syntax.render import to_sql

if TYPE_CHECKING:
    from sqlglot import exp

NUMERIC = frozenset({"integer", "number"})
TIMES = frozenset({"datetime", "date"})
ANY = "any"
NULL = "null"
#: round() digits DuckDB accepts without overflow, and more than any double holds.
MAX_ROUND_DIGITS = 38

_CAST_TARGET: dict[n.CastType, str] = {
    "TEXT": "string",
    "INT": "integer",
    "BIGINT": "integer",
    "DOUBLE": "number",
    "DATE": "date",
    "TIMESTAMP": "datetime",
    "BOOLEAN": "boolean",
}
#: Which source types a CAST can turn into each target type without failing on a
#: type mismatch (a text that does not parse becomes empty: casts run as TRY_CAST).
_CASTABLE: dict[str, frozenset[str]] = {
    "string": frozenset({"string", "integer", "number", "boolean", "datetime", "date"}),
    "integer": frozenset({"string", "integer", "number", "boolean"}),
    "number": frozenset({"string", "integer", "number", "boolean"}),
    "boolean": frozenset({"string", "integer", "number", "boolean"}),
    "datetime": frozenset({"string", "datetime", "date"}),
    "date": frozenset({"string", "datetime", "date"}),
}


def filter_type_problems(tree: n.Node, types: Mapping[str, str]) -> list[str]:
    """Return what is wrong with a checked filter's types (empty: it can run)."""
    checker = _Checker(types)
    whole = checker.type_of(tree)
    checker.need_condition(tree, whole, "a filter")
    return checker.problems


def _sql(node: n.Node) -> str:
    """Return a piece of the filter as the analyst would write it, in backticks."""
    text = to_sql(node, quote_plain=False)
    return f"`{text if len(text) <= 60 else text[:57] + '...'}`"


def _text_literal(node: n.Node) -> n.String | None:
    node = n.unparen(node)
    return node if isinstance(node, n.String) else None


def parses_as_time(text: str, kind: str) -> bool:
    """True when DuckDB can read the text as a date (kind 'date') or a timestamp."""
    value = text.strip()
    try:
        if kind == "date" and len(value) <= 10:
            date.fromisoformat(value)
        else:
            datetime.fromisoformat(value.replace(" ", "T", 1) if "T" not in value else value)
    except ValueError:
        return False
    return True


def _parses_as_number(text: str) -> bool:
    try:
        return math.isfinite(float(text.strip()))
    except ValueError:
        return False


class _Checker:
    def __init__(self, types: Mapping[str, str]) -> None:
        self.types = types
        self.problems: list[str] = []

    def fail(self, message: str) -> None:
        if message not in self.problems:
            self.problems.append(message)

    def need_condition(self, node: n.Node, t: str, where: str) -> None:
        if t in ("boolean", NULL, ANY):
            return
        self.fail(
            f"{where} must be a condition (true or false), but {_sql(node)} is "
            f"{_article(t)}; compare it, e.g. {_example(node, t)}"
        )

    def need(self, node: n.Node, t: str, wanted: frozenset[str], what: str) -> None:
        if t in (NULL, ANY) or t in wanted:
            return
        needed = " or ".join(_article(w) for w in sorted(wanted))
        self.fail(f"{what} needs {needed}, but {_sql(node)} is {_article(t)}")

    # ------------------------------------------------------------------ type_of

    def type_of(self, node: n.Node) -> str:
        match node:
            case n.Paren(inner=inner):
                return self.type_of(inner)
            case n.Column(name=name):
                return self.types.get(name, ANY)
            case n.String():
                return "string"
            case n.Number():
                return self._number(node)
            case n.Boolean():
                return "boolean"
            case n.Null():
                return NULL
            case n.Not(operand=x):
                self.need_condition(x, self.type_of(x), "NOT")
                return "boolean"
            case n.Logical(op=op, left=a, right=b):
                for side in (a, b):
                    self.need_condition(side, self.type_of(side), f"each side of {op}")
                return "boolean"
            case n.Compare(left=a, right=b):
                self.compare(a, b)
                return "boolean"
            case n.In(operand=x, values=values):
                for item in values:
                    self.compare(x, item)
                return "boolean"
            case n.Between(operand=x, low=lo, high=hi):
                self.compare(x, lo)
                self.compare(x, hi)
                return "boolean"
            case n.Is(operand=x):
                self.type_of(x)
                return "boolean"
            case n.Like():
                return self._like(node)
            case n.Neg(operand=x):
                t = self.type_of(x)
                self.need(x, t, NUMERIC, "a minus sign")
                return t
            case n.Arith():
                return self._arithmetic(node)
            case n.Cast():
                return self._cast(node)
            case n.Call():
                return self._call(node)
        return ANY

    def _call(self, node: n.Call) -> str:
        name, args = node.name, node.args
        fn = f"{name.lower()}()"
        if name in ("LOWER", "UPPER", "TRIM"):
            self.need(args[0], self.type_of(args[0]), frozenset({"string"}), fn)
            return "string"
        if name == "LENGTH":
            self.need(args[0], self.type_of(args[0]), frozenset({"string"}), fn)
            return "integer"
        if name == "COALESCE":
            return self._coalesce(args)
        if name == "ABS":
            t = self.type_of(args[0])
            self.need(args[0], t, NUMERIC, fn)
            return t
        if name == "ROUND":
            return self._round(node)
        # YEAR, MONTH, DAY
        arg = args[0]
        t = self.type_of(arg)
        literal = _text_literal(arg)
        if literal is not None:
            if not parses_as_time(literal.value, "datetime"):
                self.fail(f"{_sql(arg)} is not a valid date or time (write 2025-03-31)")
        else:
            self.need(arg, t, TIMES, fn)
        return "integer"

    def _number(self, node: n.Number) -> str:
        text = node.text
        if not _parses_as_number(text):
            self.fail(f"{text} is too large a number")
            return "number"
        return "integer" if text.isdigit() else "number"

    def compare(self, left: n.Node, right: n.Node) -> None:
        a, b = self.type_of(left), self.type_of(right)
        if a in (NULL, ANY) or b in (NULL, ANY):
            return
        for x, tx, y in ((left, a, right), (right, b, left)):
            literal = _text_literal(y)
            if literal is not None and tx != "string":
                self._literal_for(literal, tx, x)
                return
        if a == b or (a in NUMERIC and b in NUMERIC) or (a in TIMES and b in TIMES):
            return
        self.fail(
            f"{_sql(left)} is {_article(a)} and {_sql(right)} is {_article(b)}: "
            "they cannot be compared"
            + (f"; convert one, e.g. CAST({_sql(left)} AS {_sql_type(b)})" if a == "string" else "")
        )

    def _literal_for(self, literal: n.String, t: str, other: n.Node) -> None:
        text = literal.value
        if t in TIMES:
            if not parses_as_time(text, t):
                self.fail(
                    f"{_sql(literal)} is not a valid {'date' if t == 'date' else 'date or time'} "
                    f"to compare with {_sql(other)} (write 2025-03-31"
                    f"{'' if t == 'date' else ' or 2025-03-31 14:30'})"
                )
        elif t in NUMERIC and not _parses_as_number(text):
            self.fail(f"{_sql(literal)} is not a number, but {_sql(other)} is {_article(t)}")
        elif t == "boolean" and text.strip().lower() not in ("true", "false", "t", "f", "1", "0"):
            self.fail(f"{_sql(literal)} is not true or false, but {_sql(other)} is a boolean")

    def _like(self, node: n.Like) -> str:
        for side in (node.operand, node.pattern):
            self.need(side, self.type_of(side), frozenset({"string"}), "LIKE")
        escape = node.escape
        if escape is not None and len(escape.value) > 1:
            # DuckDB takes one character, or '' for none.
            self.fail(f"ESCAPE needs exactly one character, e.g. ESCAPE '!', not {_sql(escape)}")
        return "boolean"

    def _arithmetic(self, node: n.Arith) -> str:
        a, b = self.type_of(node.left), self.type_of(node.right)
        for side, t in ((node.left, a), (node.right, b)):
            if _text_literal(side) is not None:
                self.fail(f"{node.op} needs numbers, but {_sql(side)} is a text")
            else:
                self.need(side, t, NUMERIC, node.op)
        divisor = n.unparen(node.right)
        if (
            node.op in ("/", "%")
            and isinstance(divisor, n.Number)
            and _parses_as_number(divisor.text)
            and float(divisor.text) == 0
        ):
            self.fail(f"{_sql(node)} divides by zero")
        if node.op == "/" or "number" in (a, b):
            return "number"
        return "integer" if a == b == "integer" else ANY if ANY in (a, b) else "number"

    def _cast(self, node: n.Cast) -> str:
        target = _CAST_TARGET[node.to]
        t = self.type_of(node.operand)
        if t in (NULL, ANY):
            return target
        literal = _text_literal(node.operand)
        if literal is not None:
            self._literal_for(literal, target, node)
        elif t not in _CASTABLE[target]:
            self.fail(f"{_sql(node)}: {_article(t)} cannot be converted to {_article(target)}")
        return target

    def _coalesce(self, args: tuple[n.Node, ...]) -> str:
        first = next((t for t in (self.type_of(a) for a in args) if t not in (NULL, ANY)), ANY)
        for arg in args[1:]:
            self.compare(args[0], arg)
        return first

    def _round(self, node: n.Call) -> str:
        value = node.args[0]
        t = self.type_of(value)
        self.need(value, t, NUMERIC, "round()")
        if len(node.args) > 1:
            digits = node.args[1]
            d = n.unparen(digits)
            inner = n.unparen(d.operand) if isinstance(d, n.Neg) else d
            if isinstance(inner, n.Number):
                if not inner.text.isdigit() or int(inner.text) > MAX_ROUND_DIGITS:
                    self.fail(
                        f"round() takes a whole number of digits from -{MAX_ROUND_DIGITS} "
                        f"to {MAX_ROUND_DIGITS}, not {_sql(digits)}"
                    )
            else:
                # DuckDB's round() takes a constant INTEGER: a column fails to bind.
                self.fail(
                    f"round() takes a written number of digits (round(x, 1)), not {_sql(digits)}"
                )
        return "number"


def _article(t: str) -> str:
    words = {
        "integer": "an integer",
        "number": "a number",
        "string": "a text",
        "boolean": "a boolean",
        "datetime": "a datetime",
        "date": "a date",
    }
    return words.get(t, t)


def _sql_type(t: str) -> str:
    return {
        "integer": "BIGINT",
        "number": "DOUBLE",
        "boolean": "BOOLEAN",
        "datetime": "TIMESTAMP",
        "date": "DATE",
    }.get(t, "VARCHAR")


def _example(node: n.Node, t: str) -> str:
    sample = {
        "string": "'…'",
        "integer": "1",
        "number": "1",
        "datetime": "'2025-03-31'",
        "date": "'2025-03-31'",
    }.get(t, "…")
    op = ">=" if t in TIMES else "="
    return f"{_sql(node)} {op} {sample}"


def lenient_casts(tree: exp.Expression) -> exp.Expression:
    """Return the (sqlglot) filter with every CAST run as TRY_CAST.

    A text that does not convert (`CAST(channel AS INTEGER)` on 'web') is then empty
    for that row — the comparison is unknown and the row is not kept — instead of
    failing the whole metric at run time.
    """
    from sqlglot import exp  # the run path only: checking specs must not load sqlglot

    def swap(node: exp.Expression) -> exp.Expression:
        if type(node) is exp.Cast:
            return exp.TryCast(this=node.this.copy(), to=node.args["to"].copy())
        return node

    return tree.transform(swap)
