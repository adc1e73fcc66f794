"""Arithmetic over metric names, for `formula` specs: parse, check, evaluate, differentiate.

`resolved / opened * 100` is user text, so it is never evaluated by Python: it is
parsed with `ast.parse(mode="eval")` and every node must be one of a short list —
numbers, metric names, + − × ÷, unary minus and parentheses. Anything else (calls,
attributes, subscripts, comparisons, ``**``, strings, lambdas, walrus …) is refused
with the column where it starts. The checked tree is then walked by the small
interpreter below, which also returns the partial derivatives the delta method needs.
"""

from __future__ import annotations

import ast
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

MAX_LENGTH = 2000
MAX_NODES = 400

_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_UNARY = {ast.USub: "-", ast.UAdd: "+"}


class FormulaError(ValueError):
    """A formula that cannot be used, with the 0-based column where the problem is."""

    def __init__(self, message: str, column: int | None = None):
        super().__init__(message)
        self.message = message
        self.column = column


@dataclass(frozen=True)
class Formula:
    """A checked formula: its text, tree and the metric names it uses (in order of use)."""

    text: str
    tree: ast.expr
    names: tuple[str, ...]


class DivisionByZero(ArithmeticError):
    """The formula divided by zero for these inputs; `divisor` is the text of the divisor."""

    def __init__(self, divisor: str):
        super().__init__(divisor)
        self.divisor = divisor


def parse_formula(text: str) -> Formula:
    """Parse and whitelist a formula; raise FormulaError naming what is not allowed."""
    if not isinstance(text, str) or not text.strip():
        raise FormulaError("the formula is empty: write e.g. resolved / opened * 100")
    if len(text) > MAX_LENGTH:
        raise FormulaError(
            f"the formula is {len(text):,} characters long; the limit is {MAX_LENGTH:,}"
        )
    if "\n" in text.strip() or "\r" in text:
        raise FormulaError("a formula is one line")
    try:
        with warnings.catch_warnings():
            # A string such as '\d' makes the parser warn; it is refused below anyway.
            warnings.simplefilter("ignore")
            tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        column = (exc.offset or 1) - 1
        raise FormulaError(
            f"could not read the formula at character {column + 1}: use metric names, "
            "numbers, + - * / and parentheses",
            column,
        ) from None
    except (RecursionError, MemoryError, ValueError):
        raise FormulaError("the formula is nested too deeply") from None
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise FormulaError(f"the formula is too long: more than {MAX_NODES} parts")
    names: list[str] = []
    for node in nodes:
        _check(node)
        if isinstance(node, ast.Name) and node.id not in names:
            names.append(node.id)
    assert isinstance(tree, ast.Expression)
    return Formula(text.strip(), tree.body, tuple(names))


def _check(node: ast.AST) -> None:
    if isinstance(node, ast.Expression | ast.Load):
        return
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            sign = {ast.Pow: "**", ast.FloorDiv: "//", ast.Mod: "%"}.get(type(node.op), "this")
            _refuse(node, f"{sign!r} is not allowed; a formula may use + - * / and parentheses")
        return
    if isinstance(node, ast.operator):
        return
    if isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY:
            _refuse(node, "only unary minus (and plus) are allowed")
        return
    if isinstance(node, ast.unaryop):
        return
    if isinstance(node, ast.Constant):
        value = node.value
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            _refuse(node, f"{value!r} is not a number; a formula may use numbers and metric names")
        return
    if isinstance(node, ast.Name):
        return
    what = {
        ast.Call: "calling a function",
        ast.Attribute: "'.' (attribute access)",
        ast.Subscript: "'[…]' (indexing)",
        ast.Compare: "comparisons",
        ast.BoolOp: "and / or",
        ast.IfExp: "… if … else …",
        ast.Lambda: "lambda",
        ast.NamedExpr: "':='",
    }.get(type(node), type(node).__name__)
    _refuse(node, f"{what} is not allowed; a formula may use metric names, numbers, + - * / ( )")


def _refuse(node: ast.AST, message: str) -> None:
    column = getattr(node, "col_offset", None)
    where = f" (at character {column + 1})" if column is not None else ""
    raise FormulaError(message + where, column)


def evaluate(formula: Formula, values: Mapping[str, float]) -> tuple[float, dict[str, float]]:
    """Return the value and its partial derivative by each name (forward-mode).

    Raises DivisionByZero when a divisor is exactly zero, and OverflowError when the
    result is not finite.
    """

    def walk(node: ast.expr) -> tuple[float, dict[str, float]]:
        if isinstance(node, ast.Constant):
            assert isinstance(node.value, int | float)  # checked by parse_formula
            return float(node.value), {}
        if isinstance(node, ast.Name):
            return float(values[node.id]), {node.id: 1.0}
        if isinstance(node, ast.UnaryOp):
            v, d = walk(node.operand)
            return (-v, {k: -g for k, g in d.items()}) if isinstance(node.op, ast.USub) else (v, d)
        assert isinstance(node, ast.BinOp)
        a, da = walk(node.left)
        b, db = walk(node.right)
        if isinstance(node.op, ast.Add):
            return a + b, _combine(da, 1.0, db, 1.0)
        if isinstance(node.op, ast.Sub):
            return a - b, _combine(da, 1.0, db, -1.0)
        if isinstance(node.op, ast.Mult):
            return a * b, _combine(da, b, db, a)
        if b == 0:
            raise DivisionByZero(ast.unparse(node.right))
        # -a / b / b, not -a / (b * b): b * b underflows to 0 for a tiny b (1e-320).
        return a / b, _combine(da, 1.0 / b, db, -a / b / b)

    try:
        value, grad = walk(formula.tree)
    except (ZeroDivisionError, OverflowError):
        # A tiny divisor overflows somewhere in the value or its derivatives.
        raise OverflowError("the result is not a finite number") from None
    if not math.isfinite(value):
        raise OverflowError("the result is not a finite number")
    return value, grad


def _combine(da: dict[str, float], ka: float, db: dict[str, float], kb: float) -> dict[str, float]:
    out = {k: g * ka for k, g in da.items()}
    for k, g in db.items():
        out[k] = out.get(k, 0.0) + g * kb
    return out


__all__ = ["DivisionByZero", "Formula", "FormulaError", "evaluate", "parse_formula"]
