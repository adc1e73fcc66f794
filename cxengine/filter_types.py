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
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, datetime

from sqlglot import exp

NUMERIC = frozenset({"integer", "number"})
TIMES = frozenset({"datetime", "date"})
ANY = "any"
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
NULL = "null"
#: round() digits DuckDB accepts without overflow, and more than any double holds.
MAX_ROUND_DIGITS = 38

_COMPARISONS = (
    exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.NullSafeNEQ,
)  # fmt: skip
_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod)
_SYMBOLS: dict[type[exp.Expression], str] = {
    exp.Add: "+", exp.Sub: "-", exp.Mul: "*", exp.Div: "/", exp.Mod: "%",
}  # fmt: skip
_CAST_TARGET = {
    exp.DataType.Type.TEXT: "string",
    exp.DataType.Type.VARCHAR: "string",
    exp.DataType.Type.INT: "integer",
    exp.DataType.Type.BIGINT: "integer",
    exp.DataType.Type.DOUBLE: "number",
    exp.DataType.Type.DATE: "date",
    exp.DataType.Type.TIMESTAMP: "datetime",
    exp.DataType.Type.TIMESTAMPNTZ: "datetime",
    exp.DataType.Type.BOOLEAN: "boolean",
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


def filter_type_problems(tree: exp.Expression, types: Mapping[str, str]) -> list[str]:
    """Return what is wrong with a parsed filter's types (empty: it can run)."""
    checker = _Checker(types)
    whole = checker.type_of(tree)
    checker.need_condition(tree, whole, "a filter")
    return checker.problems


def _sql(node: exp.Expression) -> str:
    """Return a piece of the filter as the analyst would write it, in backticks."""
    shown = node.copy()
    for ident in shown.find_all(exp.Identifier):
        if _PLAIN_NAME.fullmatch(ident.name):
            ident.set("quoted", False)
    text = shown.sql(dialect="duckdb")
    return f"`{text if len(text) <= 60 else text[:57] + '...'}`"


def _is_text_literal(node: exp.Expression) -> bool:
    node = _unparen(node)
    return isinstance(node, exp.Literal) and node.is_string


def _unparen(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


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

    def need_condition(self, node: exp.Expression, t: str, where: str) -> None:
        if t in ("boolean", NULL, ANY):
            return
        self.fail(
            f"{where} must be a condition (true or false), but {_sql(node)} is "
            f"{_article(t)}; compare it, e.g. {_example(node, t)}"
        )

    def need(self, node: exp.Expression, t: str, wanted: frozenset[str], what: str) -> None:
        if t in (NULL, ANY) or t in wanted:
            return
        needed = " or ".join(_article(w) for w in sorted(wanted))
        self.fail(f"{what} needs {needed}, but {_sql(node)} is {_article(t)}")

    # ------------------------------------------------------------------ type_of

    def type_of(self, node: exp.Expression) -> str:
        if isinstance(node, exp.Paren):
            return self.type_of(node.this)
        if isinstance(node, exp.Column):
            return self.types.get(node.name, ANY)
        if isinstance(node, exp.Literal):
            return self._literal(node)
        if isinstance(node, exp.Boolean):
            return "boolean"
        if isinstance(node, exp.Null):
            return NULL
        if isinstance(node, exp.Not):
            self.need_condition(node.this, self.type_of(node.this), "NOT")
            return "boolean"
        if isinstance(node, exp.And | exp.Or):
            word = "AND" if isinstance(node, exp.And) else "OR"
            for side in (node.this, node.expression):
                self.need_condition(side, self.type_of(side), f"each side of {word}")
            return "boolean"
        if isinstance(node, _COMPARISONS):
            self.compare(node.this, node.expression)
            return "boolean"
        if isinstance(node, exp.In):
            for item in node.expressions:
                self.compare(node.this, item)
            return "boolean"
        if isinstance(node, exp.Between):
            self.compare(node.this, node.args["low"])
            self.compare(node.this, node.args["high"])
            return "boolean"
        if isinstance(node, exp.Is):
            self.type_of(node.this)
            return "boolean"
        if isinstance(node, exp.Escape):
            return self._escape(node)
        if isinstance(node, exp.Like | exp.ILike):
            for side in (node.this, node.expression):
                self.need(side, self.type_of(side), frozenset({"string"}), "LIKE")
            return "boolean"
        if isinstance(node, exp.Neg):
            t = self.type_of(node.this)
            self.need(node.this, t, NUMERIC, "a minus sign")
            return t
        if isinstance(node, _ARITHMETIC):
            return self._arithmetic(node)
        if isinstance(node, exp.Cast | exp.TryCast):
            return self._cast(node)
        if isinstance(node, exp.Lower | exp.Upper | exp.Trim):
            self.need(node.this, self.type_of(node.this), frozenset({"string"}), _fn(node))
            return "string"
        if isinstance(node, exp.Length):
            self.need(node.this, self.type_of(node.this), frozenset({"string"}), "length()")
            return "integer"
        if isinstance(node, exp.Coalesce):
            return self._coalesce(node)
        if isinstance(node, exp.Abs):
            t = self.type_of(node.this)
            self.need(node.this, t, NUMERIC, "abs()")
            return t
        if isinstance(node, exp.Round):
            return self._round(node)
        if isinstance(node, exp.Year | exp.Month | exp.Day):
            arg = node.this
            t = self.type_of(arg)
            if _is_text_literal(arg):
                if not parses_as_time(_unparen(arg).this, "datetime"):
                    self.fail(f"{_sql(arg)} is not a valid date or time (write 2025-03-31)")
            else:
                self.need(arg, t, TIMES, _fn(node))
            return "integer"
        return ANY

    def _literal(self, node: exp.Literal) -> str:
        if node.is_string:
            return "string"
        text = node.this
        if not _parses_as_number(text):
            self.fail(f"{text} is too large a number")
            return "number"
        return "integer" if text.isdigit() else "number"

    def compare(self, left: exp.Expression, right: exp.Expression) -> None:
        a, b = self.type_of(left), self.type_of(right)
        if a in (NULL, ANY) or b in (NULL, ANY):
            return
        for x, tx, y in ((left, a, right), (right, b, left)):
            literal = _unparen(y)
            if isinstance(literal, exp.Literal) and literal.is_string and tx != "string":
                self._literal_for(literal, tx, x)
                return
        if a == b or (a in NUMERIC and b in NUMERIC) or (a in TIMES and b in TIMES):
            return
        self.fail(
            f"{_sql(left)} is {_article(a)} and {_sql(right)} is {_article(b)}: "
            "they cannot be compared"
            + (f"; convert one, e.g. CAST({_sql(left)} AS {_sql_type(b)})" if a == "string" else "")
        )

    def _literal_for(self, literal: exp.Literal, t: str, other: exp.Expression) -> None:
        text = literal.this
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

    def _escape(self, node: exp.Escape) -> str:
        like, escape = node.this, node.expression
        self.type_of(like)
        if not _is_text_literal(escape) or len(_unparen(escape).this) > 1:
            # DuckDB takes one character, or '' for none.
            self.fail(f"ESCAPE needs exactly one character, e.g. ESCAPE '!', not {_sql(escape)}")
        return "boolean"

    def _arithmetic(self, node: exp.Expression) -> str:
        a, b = self.type_of(node.this), self.type_of(node.expression)
        symbol = _SYMBOLS[type(node)]
        for side, t in ((node.this, a), (node.expression, b)):
            if _is_text_literal(side):
                self.fail(f"{symbol} needs numbers, but {_sql(side)} is a text")
            else:
                self.need(side, t, NUMERIC, symbol)
        divisor = _unparen(node.expression)
        if (
            isinstance(node, exp.Div | exp.Mod)
            and isinstance(divisor, exp.Literal)
            and (
                not divisor.is_string
                and _parses_as_number(divisor.this)
                and float(divisor.this) == 0
            )
        ):
            self.fail(f"{_sql(node)} divides by zero")
        if isinstance(node, exp.Div) or "number" in (a, b):
            return "number"
        return "integer" if a == b == "integer" else ANY if ANY in (a, b) else "number"

    def _cast(self, node: exp.Expression) -> str:
        to = node.args["to"]
        target = _CAST_TARGET.get(to.this, ANY) if isinstance(to, exp.DataType) else ANY
        arg = node.this
        t = self.type_of(arg)
        if target == ANY or t in (NULL, ANY):
            return target
        literal = _unparen(arg)
        if isinstance(literal, exp.Literal) and literal.is_string:
            self._literal_for(literal, target, node)
        elif t not in _CASTABLE[target]:
            self.fail(f"{_sql(node)}: {_article(t)} cannot be converted to {_article(target)}")
        return target

    def _coalesce(self, node: exp.Coalesce) -> str:
        args = [node.this, *node.expressions]
        first = next((t for t in (self.type_of(a) for a in args) if t not in (NULL, ANY)), ANY)
        for arg in args[1:]:
            self.compare(args[0], arg)
        return first

    def _round(self, node: exp.Round) -> str:
        t = self.type_of(node.this)
        self.need(node.this, t, NUMERIC, "round()")
        digits = node.args.get("decimals")
        if digits is not None:
            d = _unparen(digits)
            neg = isinstance(d, exp.Neg)
            inner = _unparen(d.this) if neg else d
            if isinstance(inner, exp.Literal) and not inner.is_string:
                if not inner.this.isdigit() or int(inner.this) > MAX_ROUND_DIGITS:
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


def _fn(node: exp.Expression) -> str:
    return f"{type(node).__name__.lower()}()"


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


def _example(node: exp.Expression, t: str) -> str:
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
    """Return the filter with every CAST run as TRY_CAST.

    A text that does not convert (`CAST(channel AS INTEGER)` on 'web') is then empty
    for that row — the comparison is unknown and the row is not kept — instead of
    failing the whole metric at run time.
    """

    def swap(node: exp.Expression) -> exp.Expression:
        if type(node) is exp.Cast:
            return exp.TryCast(this=node.this.copy(), to=node.args["to"].copy())
        return node

    return tree.transform(swap)
