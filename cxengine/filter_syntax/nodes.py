"""The tree of a checked filter: a few node types, each with its span in the text.

Only what the whitelist allows can be represented at all, so code that walks a tree
(the type checker, column listing) has no "anything else" case to forget. Every
node keeps `start`/`end` (0-based, end exclusive) into the text it was read from,
so a refusal can quote the analyst's own spelling.

Plain dataclasses without generated equality, hashing, repr or frozenness: each of
those is code that `dataclass` compiles at import, and this module is imported by
every `cxengine validate` (frozen and compared, the 17 classes cost 11 ms of start-up
against 3 ms now). Trees are built once by the parser and only read afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, TypeAlias


@dataclass(eq=False, repr=False)
class Span:
    start: int = field(kw_only=True)
    end: int = field(kw_only=True)

    def __repr__(self) -> str:  # one generic repr: generating 17 costs start-up time
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


@dataclass(eq=False, repr=False)
class Column(Span):
    name: str
    # Written with a prefix (`tickets.channel`): its parts, until resolution turns it
    # into a known dotted field or refuses the table prefix. Empty once resolved.
    qualified: tuple[str, ...] = ()


@dataclass(eq=False, repr=False)
class String(Span):
    value: str


@dataclass(eq=False, repr=False)
class Number(Span):
    text: str  # as written: the renderer and the type checker both read the digits


@dataclass(eq=False, repr=False)
class Boolean(Span):
    value: bool


@dataclass(eq=False, repr=False)
class Null(Span):
    pass


@dataclass(eq=False, repr=False)
class Paren(Span):
    inner: Node


@dataclass(eq=False, repr=False)
class Not(Span):
    operand: Node


@dataclass(eq=False, repr=False)
class Neg(Span):
    operand: Node


Connective: TypeAlias = Literal["AND", "OR"]
Comparison: TypeAlias = Literal[
    "=", "<>", "<", "<=", ">", ">=", "IS DISTINCT FROM", "IS NOT DISTINCT FROM"
]
Arithmetic: TypeAlias = Literal["+", "-", "*", "/", "%"]


@dataclass(eq=False, repr=False)
class Logical(Span):
    op: Connective
    left: Node
    right: Node


@dataclass(eq=False, repr=False)
class Compare(Span):
    op: Comparison
    left: Node
    right: Node


@dataclass(eq=False, repr=False)
class Arith(Span):
    op: Arithmetic
    left: Node
    right: Node


@dataclass(eq=False, repr=False)
class Is(Span):
    """`x IS [NOT] NULL / TRUE / FALSE`."""

    operand: Node
    value: Null | Boolean
    negated: bool


@dataclass(eq=False, repr=False)
class In(Span):
    operand: Node
    values: tuple[Node, ...]
    negated: bool


@dataclass(eq=False, repr=False)
class Between(Span):
    operand: Node
    low: Node
    high: Node
    negated: bool


@dataclass(eq=False, repr=False)
class Like(Span):
    operand: Node
    pattern: Node
    escape: String | None
    negated: bool
    insensitive: bool  # ILIKE


CastType: TypeAlias = Literal["TEXT", "INT", "BIGINT", "DOUBLE", "DATE", "TIMESTAMP", "BOOLEAN"]


@dataclass(eq=False, repr=False)
class Cast(Span):
    """CAST, TRY_CAST, `x::type` and typed literals such as DATE '2024-01-31'."""

    operand: Node
    to: CastType
    safe: bool  # TRY_CAST


FunctionName: TypeAlias = Literal[
    "LOWER", "UPPER", "TRIM", "LENGTH", "COALESCE", "ABS", "ROUND", "YEAR", "MONTH", "DAY"
]


@dataclass(eq=False, repr=False)
class Call(Span):
    name: FunctionName
    args: tuple[Node, ...]


Node: TypeAlias = (
    Column | String | Number | Boolean | Null | Paren | Not | Neg | Logical | Compare | Arith
    | Is | In | Between | Like | Cast | Call
)  # fmt: skip


def children(node: Node) -> tuple[Node, ...]:
    """Return a node's operands, left to right."""
    match node:
        case Paren(inner=x) | Not(operand=x) | Neg(operand=x) | Cast(operand=x):
            return (x,)
        case Logical(left=a, right=b) | Compare(left=a, right=b) | Arith(left=a, right=b):
            return (a, b)
        case Is(operand=x, value=v):
            return (x, v)
        case In(operand=x, values=vs):
            return (x, *vs)
        case Between(operand=x, low=lo, high=hi):
            return (x, lo, hi)
        case Like(operand=x, pattern=p, escape=e):
            return (x, p) if e is None else (x, p, e)
        case Call(args=args):
            return args
    return ()


def walk(node: Node) -> Iterator[Node]:
    """Yield every node, parents before children, without recursion (trees may be deep)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


def column_names(node: Node) -> set[str]:
    """Return the names of the columns a filter reads."""
    return {n.name for n in walk(node) if isinstance(n, Column)}


def unparen(node: Node) -> Node:
    while isinstance(node, Paren):
        node = node.inner
    return node
