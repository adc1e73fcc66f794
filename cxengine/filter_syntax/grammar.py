"""Read filter tokens into a tree: recursive descent over a deliberately small grammar.

    condition  := or
    or         := and (OR and)*
    and        := not (AND not)*
    not        := NOT not | predicate
    predicate  := sum [ comparison sum | IS [NOT] NULL/TRUE/FALSE
                      | IS [NOT] DISTINCT FROM sum | [NOT] IN (value, …)
                      | [NOT] BETWEEN sum AND sum | [NOT] [I]LIKE sum [ESCAPE 'c'] ]
    sum        := product ((+ | -) product)*
    product    := unary ((* | / | %) unary)*
    unary      := - unary | + unary | postfix
    postfix    := primary (:: type)*
    primary    := number | 'text' | TRUE | FALSE | NULL | DATE 'text' | TIMESTAMP 'text'
                | CAST(or AS type) | TRY_CAST(or AS type) | function(or, …) | name[.name] | (or)

The precedence is sqlglot's (cxengine/expr.py parses the same text at run time), so a
filter both accept has one meaning. Where SQL's rules are a trap, this grammar is
stricter than sqlglot and says so: `a = b = c` and other chained comparisons, `x = NOT
y`, and a few spellings of no use in a filter (`1_000`, `x ISNULL`, trailing commas).
Recursion happens only at brackets and prefixes, both bounded by the lexer.
"""

from __future__ import annotations

from typing import NoReturn, cast

import cxengine.filter_syntax.nodes as n
from cxengine.filter_syntax.errors import ExpressionError
from cxengine.filter_syntax.lexer import ALLOWED_SUMMARY, Token

# name -> (canonical name, fewest and most arguments; None: any number)
FUNCTIONS: dict[str, tuple[n.FunctionName, int, int | None]] = {
    "LOWER": ("LOWER", 1, 1),
    "LCASE": ("LOWER", 1, 1),
    "UPPER": ("UPPER", 1, 1),
    "UCASE": ("UPPER", 1, 1),
    "TRIM": ("TRIM", 1, 2),
    "LENGTH": ("LENGTH", 1, 1),
    "LEN": ("LENGTH", 1, 1),
    "CHAR_LENGTH": ("LENGTH", 1, 1),
    "CHARACTER_LENGTH": ("LENGTH", 1, 1),
    "COALESCE": ("COALESCE", 1, None),
    "IFNULL": ("COALESCE", 2, 2),
    "NVL": ("COALESCE", 2, 2),
    "ABS": ("ABS", 1, 1),
    "ROUND": ("ROUND", 1, 2),
    "YEAR": ("YEAR", 1, 1),
    "MONTH": ("MONTH", 1, 1),
    "DAY": ("DAY", 1, 1),
}
ALLOWED_FUNCTION_NAMES = "lower, upper, trim, length, coalesce, abs, round, year, month, day"
# The type names a CAST may name, and how sqlglot writes each back.
TYPES: dict[str, n.CastType] = {
    "VARCHAR": "TEXT", "TEXT": "TEXT", "STRING": "TEXT",
    "INTEGER": "INT", "INT": "INT", "INT4": "INT",
    "BIGINT": "BIGINT", "INT8": "BIGINT",
    "DOUBLE": "DOUBLE",
    "DATE": "DATE",
    "TIMESTAMP": "TIMESTAMP",
    "BOOLEAN": "BOOLEAN", "BOOL": "BOOLEAN",
}  # fmt: skip
ALLOWED_TYPE_NAMES = "VARCHAR, INTEGER, BIGINT, DOUBLE, DATE, TIMESTAMP, BOOLEAN"
# Words sqlglot reads as functions without brackets; a column of that name needs quotes.
BARE_FUNCTIONS = frozenset({
    "CURRENT_CATALOG", "CURRENT_DATE", "CURRENT_DATETIME", "CURRENT_ROLE", "CURRENT_TIME",
    "CURRENT_TIMESTAMP", "CURRENT_USER", "LOCALTIME", "LOCALTIMESTAMP", "SESSION_USER",
})  # fmt: skip
# Words that cannot be a bare column name here (write "end" for a column called end).
RESERVED = frozenset({
    "ALL", "AND", "ANY", "ARRAY", "AS", "ASC", "BETWEEN", "BY", "CASE", "CAST", "COLLATE",
    "CROSS", "DESC", "DISTINCT", "ELSE", "END", "ESCAPE", "EXCEPT", "EXISTS", "FALSE",
    "FETCH", "FOR", "FROM", "FULL", "GLOB", "GROUP", "HAVING", "ILIKE", "IN", "INNER",
    "INTERSECT", "INTERVAL", "INTO", "IS", "ISNULL", "JOIN", "LATERAL", "LEFT", "LIKE",
    "LIMIT", "MAP", "NATURAL", "NOT", "NOTNULL", "NULL", "OFFSET", "ON", "OR", "ORDER",
    "OUTER", "OVER", "QUALIFY", "REGEXP", "RIGHT", "RLIKE", "SELECT", "SIMILAR", "SOME",
    "STRUCT", "THEN", "TRUE", "TRY_CAST", "UNION", "UNNEST", "USING", "WHEN", "WHERE",
    "WINDOW", "WITH",
    # Words sqlglot reads as the start of a statement or clause even after a column
    # position; refused here too, so that no filter passes one reader and not the other.
    "ALTER", "CALL", "CREATE", "DROP", "EXECUTE", "EXPLAIN", "FORCE", "GRANT", "INSERT",
    "INSTALL", "ONLY", "OPTIMIZE", "PARTITIONED_BY", "POSITIONAL", "PREPARE", "RELEASE",
    "RENAME", "RESET", "RETURNING", "REVOKE", "ROLLBACK", "SAVEPOINT", "SUMMARIZE",
    "TABLESAMPLE", "UNCACHE", "VACUUM", "XOR",
})  # fmt: skip
# Reserved words with a message of their own: what they are and that they are refused.
_LABELS = {
    "CASE": "CASE … END",
    "COLLATE": "COLLATE",
    "GLOB": "GLOB",
    "SIMILAR": "SIMILAR TO",
    "INTERVAL": "INTERVAL",
    "REGEXP": "REGEXP",
    "RLIKE": "RLIKE",
    "AS": "AS (an alias)",
    "ISNULL": "ISNULL (write IS NULL)",
    "NOTNULL": "NOTNULL (write IS NOT NULL)",
    "ARRAY": "ARRAY",
    "STRUCT": "STRUCT",
    "MAP": "MAP",
    "UNNEST": "UNNEST",
}
STATEMENT_WORDS = frozenset({
    "ALTER", "ANALYZE", "ATTACH", "BEGIN", "CALL", "CHECKPOINT", "COMMIT", "COPY", "CREATE",
    "DEALLOCATE", "DELETE", "DESCRIBE", "DETACH", "DROP", "EXECUTE", "EXPLAIN", "EXPORT",
    "FROM", "GRANT", "IMPORT", "INSERT", "INSTALL", "LOAD", "MERGE", "PIVOT", "PRAGMA",
    "PREPARE", "RESET", "REVOKE", "ROLLBACK", "SELECT", "SET", "SHOW", "SUMMARIZE", "TRUNCATE",
    "UNPIVOT", "UPDATE", "USE", "VACUUM", "VALUES", "WITH",
})  # fmt: skip
_COMPARISONS: dict[str, n.Comparison] = {
    "=": "=", "==": "=", "<>": "<>", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">=",
    "<=>": "IS NOT DISTINCT FROM",
}  # fmt: skip
_PREDICATE_WORDS = frozenset({"IS", "IN", "BETWEEN", "LIKE", "ILIKE"})


def parse(tokens: list[Token], text: str) -> n.Node:
    """Return the tree of one condition; raise ExpressionError on anything else."""
    try:
        return _Parser(tokens, text).condition()
    except ExpressionError:
        first, second = tokens[0], tokens[1]
        # A column that happens to be called `show` (`show = 1 AND …`) keeps the message
        # of what actually failed; only a word that reads as a statement gets this one.
        if first.word in STATEMENT_WORDS and (second.kind != "op" or second.text == "("):
            # `SELECT …`, `DELETE FROM …`, `COPY (…) TO …`: whatever part failed, the
            # useful message is that this is a statement, not a condition.
            raise ExpressionError(
                f"{first.text!r} starts a SQL statement; a filter must be a single condition "
                f"such as channel <> 'test' (if {first.text!r} is a column, write it in double "
                f'quotes: "{first.text}")',
                first.start,
            ) from None
        raise


class _Parser:
    def __init__(self, tokens: list[Token], text: str) -> None:
        self.tokens = tokens
        self.text = text
        self.i = 0

    # ------------------------------------------------------------------ helpers

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, ahead: int = 1) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += tok.kind != "end"
        return tok

    def at_op(self, *ops: str) -> bool:
        return self.tok.kind == "op" and self.tok.text in ops

    def at_word(self, *words: str) -> bool:
        return self.tok.word in words

    def expect_op(self, op: str) -> Token:
        if not self.at_op(op):
            self.fail("a bracket is not closed" if op == ")" else "something is missing")
        return self.take()

    def expect_word(self, word: str) -> Token:
        if not self.at_word(word):
            self.fail("something is missing")
        return self.take()

    def fail(self, why: str = "this is not understood here") -> NoReturn:
        tok = self.tok
        if tok.kind == "end":
            why = "a bracket is not closed" if self._open_brackets() else "something is missing"
        shown = self.text[tok.start : tok.end]
        near = f" near {shown!r}" if shown else ""
        raise ExpressionError(
            f"could not read the filter{near} at character {tok.start + 1}: {why}; check "
            "quotes, brackets and operators (text values need 'single quotes')",
            tok.start,
        )

    def _open_brackets(self) -> bool:
        depth = 0
        for tok in self.tokens:
            if tok.kind == "op":
                depth += (tok.text == "(") - (tok.text == ")")
        return depth > 0

    def refuse(self, start: int, end: int, message: str) -> NoReturn:
        shown = self.text[start:end]
        shown = shown if len(shown) <= 60 else shown[:57] + "…"
        raise ExpressionError(message.replace("\x00", repr(shown)), start)

    def refuse_word(self, tok: Token) -> NoReturn:
        """Refuse a reserved word met where a value or an operator should be."""
        word = tok.word
        if word in ("SELECT", "EXISTS", "WITH", "FROM"):
            raise ExpressionError(
                "sub-queries (SELECT …, EXISTS …) are not allowed in a filter", tok.start
            )
        if word == "OVER":
            raise ExpressionError(
                "window functions (… OVER …) are not allowed in a filter", tok.start
            )
        if word in _LABELS:
            raise ExpressionError(
                f"{_LABELS[word]} is not allowed in a filter; {ALLOWED_SUMMARY}", tok.start
            )
        self.fail()

    # ------------------------------------------------------------------ grammar

    def condition(self) -> n.Node:
        tree = self.or_()
        if self.tok.kind != "end":
            # Something follows a whole condition: name it if it is a known construct
            # (`x GLOB 'a'`, `x COLLATE nocase`), else point at it.
            if self.tok.word in RESERVED and self.tok.word not in _PREDICATE_WORDS | {"NOT"}:
                self.refuse_word(self.tok)
            self.fail()
        return tree

    def or_(self) -> n.Node:
        left = self.and_()
        while self.at_word("OR"):
            self.take()
            right = self.and_()
            left = n.Logical("OR", left, right, start=left.start, end=right.end)
        return left

    def and_(self) -> n.Node:
        left = self.not_()
        while self.at_word("AND"):
            self.take()
            right = self.not_()
            left = n.Logical("AND", left, right, start=left.start, end=right.end)
        return left

    def not_(self) -> n.Node:
        if self.at_word("NOT"):
            start = self.take().start
            operand = self.not_()
            return n.Not(operand, start=start, end=operand.end)
        return self.predicate()

    def predicate(self) -> n.Node:
        left = self.sum_()
        node = self.tail(left)
        if node is not left and (self.at_op(*_COMPARISONS) or self._at_predicate_word()):
            # sqlglot would read `a = b = c` as a = (b = c) and `a < b = c` as (a < b) = c:
            # neither is what an analyst means, so say where the brackets go.
            tok = self.tok
            self.refuse(
                node.start,
                tok.end,
                "add brackets to \x00: a filter does not chain comparisons "
                "(write (a = b) = c, or a = b AND b = c)",
            )
        return node

    def _at_predicate_word(self) -> bool:
        if self.at_word("NOT"):
            return self.peek().word in _PREDICATE_WORDS
        return self.tok.word in _PREDICATE_WORDS

    def tail(self, left: n.Node) -> n.Node:
        if self.at_op(*_COMPARISONS):
            op = _COMPARISONS[self.take().text]
            right = self.sum_()
            return n.Compare(op, left, right, start=left.start, end=right.end)
        if self.at_word("IS"):
            return self.is_(left)
        negated = False
        if self.at_word("NOT") and self.peek().word in _PREDICATE_WORDS - {"IS"}:
            self.take()
            negated = True
        if self.at_word("IN"):
            return self.in_(left, negated)
        if self.at_word("BETWEEN"):
            self.take()
            low = self.sum_()
            self.expect_word("AND")
            high = self.sum_()
            return n.Between(left, low, high, negated, start=left.start, end=high.end)
        if self.at_word("LIKE", "ILIKE"):
            insensitive = self.take().word == "ILIKE"
            pattern = self.sum_()
            escape: n.String | None = None
            end = pattern.end
            if self.at_word("ESCAPE"):
                self.take()
                if self.tok.kind != "string":
                    self.refuse(
                        left.start,
                        self.tok.end,
                        "ESCAPE must follow LIKE / ILIKE and be a 'quoted' character",
                    )
                tok = self.take()
                escape = n.String(tok.text, start=tok.start, end=tok.end)
                end = tok.end
            return n.Like(left, pattern, escape, negated, insensitive, start=left.start, end=end)
        return left

    def is_(self, left: n.Node) -> n.Node:
        self.take()
        negated = bool(self.at_word("NOT") and self.take())
        if self.at_word("DISTINCT"):
            self.take()
            self.expect_word("FROM")
            right = self.sum_()
            op: n.Comparison = "IS NOT DISTINCT FROM" if negated else "IS DISTINCT FROM"
            return n.Compare(op, left, right, start=left.start, end=right.end)
        tok = self.tok
        value: n.Null | n.Boolean
        if tok.word == "NULL":
            value = n.Null(start=tok.start, end=tok.end)
        elif tok.word in ("TRUE", "FALSE"):
            value = n.Boolean(tok.word == "TRUE", start=tok.start, end=tok.end)
        else:
            end = self.sum_().end if tok.kind != "end" else tok.end
            self.refuse(
                left.start, end, "IS may only be followed by NULL, TRUE or FALSE; use = to compare"
            )
        self.take()
        return n.Is(left, value, negated, start=left.start, end=tok.end)

    def in_(self, left: n.Node, negated: bool) -> n.Node:
        self.take()
        if not self.at_op("("):
            self.fail("something is missing")
        self.take()
        if self.at_word("SELECT", "WITH", "FROM"):
            raise ExpressionError(
                "sub-queries (SELECT …) are not allowed in a filter", self.tok.start
            )
        if self.at_op(")"):
            self.refuse(left.start, self.take().end, "IN needs at least one value: x IN ('a', 'b')")
        values = [self.or_()]
        while self.at_op(","):
            self.take()
            values.append(self.or_())
        end = self.expect_op(")").end
        for value in values:
            if not _is_constant(value):
                self.refuse(
                    value.start,
                    value.end,
                    "IN (…) may only list values such as 'web' or 3; \x00 is not",
                )
        return n.In(left, tuple(values), negated, start=left.start, end=end)

    def sum_(self) -> n.Node:
        left = self.product()
        while self.at_op("+", "-"):
            op = cast(n.Arithmetic, self.take().text)
            right = self.product()
            left = n.Arith(op, left, right, start=left.start, end=right.end)
        return left

    def product(self) -> n.Node:
        left = self.unary()
        while self.at_op("*", "/", "%"):
            op = cast(n.Arithmetic, self.take().text)
            right = self.unary()
            left = n.Arith(op, left, right, start=left.start, end=right.end)
        return left

    def unary(self) -> n.Node:
        if self.at_op("-"):
            start = self.take().start
            operand = self.unary()
            return n.Neg(operand, start=start, end=operand.end)
        if self.at_op("+"):
            self.take()  # a plus sign changes nothing (sqlglot drops it too)
            return self.unary()
        return self.postfix()

    def postfix(self) -> n.Node:
        node = self.primary()
        while self.at_op("::"):
            self.take()
            to, end = self.type_name(node.start)
            node = n.Cast(node, to, False, start=node.start, end=end)
        return node

    def type_name(self, start: int) -> tuple[n.CastType, int]:
        tok = self.tok
        if tok.kind not in ("name", "qname"):
            self.fail("something is missing")
        self.take()
        end = tok.end
        if self.at_op("("):  # VARCHAR(10), DECIMAL(10, 2): sizes are not needed here
            close = next((t for t in self.tokens[self.i :] if t.text == ")"), self.tok)
            end = close.end
        to = TYPES.get(tok.text.upper()) if tok.kind == "name" else None
        if to is None or end != tok.end:
            written = self.text[tok.start : end].upper()
            raise ExpressionError(
                f"converting to {written!r} is not allowed in a filter; "
                f"allowed types: {ALLOWED_TYPE_NAMES}",
                start,
            )
        return to, end

    def primary(self) -> n.Node:
        tok = self.tok
        if tok.kind == "number":
            self.take()
            return n.Number(tok.text, start=tok.start, end=tok.end)
        if tok.kind == "string":
            self.take()
            return n.String(tok.text, start=tok.start, end=tok.end)
        if tok.kind == "qname":
            return self.column()
        if tok.kind == "op":
            return self.bracket() if tok.text == "(" else self.operator_here(tok)
        if tok.kind == "end":
            self.fail()
        return self.word()

    def operator_here(self, tok: Token) -> NoReturn:
        if tok.text == "*":
            raise ExpressionError("'*' is not allowed in a filter", tok.start)
        self.fail()

    def bracket(self) -> n.Node:
        start = self.take().start
        if self.at_word("SELECT", "WITH", "FROM"):
            raise ExpressionError(
                "sub-queries (SELECT …, EXISTS …) are not allowed in a filter", start
            )
        inner = self.or_()
        if self.at_op(","):
            self.refuse(start, self.tok.end, "'(…, …)' (a tuple) is not allowed in a filter")
        end = self.expect_op(")").end
        return n.Paren(inner, start=start, end=end)

    def word(self) -> n.Node:
        tok = self.tok
        word = tok.word
        nxt = self.peek()
        if word == "NULL":
            self.take()
            return n.Null(start=tok.start, end=tok.end)
        if word in ("TRUE", "FALSE"):
            self.take()
            return n.Boolean(word == "TRUE", start=tok.start, end=tok.end)
        if word in ("DATE", "TIMESTAMP") and nxt.kind == "string":
            self.take()
            self.take()
            literal = n.String(nxt.text, start=nxt.start, end=nxt.end)
            return n.Cast(literal, cast(n.CastType, word), False, start=tok.start, end=nxt.end)
        if word in ("CAST", "TRY_CAST") and nxt.text == "(":
            return self.cast_call(word == "TRY_CAST")
        if word == "NOT":
            raise ExpressionError(
                "NOT cannot follow an operator here; put the condition in brackets: x = (NOT y)",
                tok.start,
            )
        if nxt.kind == "op" and nxt.text == "(" and word not in RESERVED:
            return self.call()
        if word in BARE_FUNCTIONS:
            raise ExpressionError(
                f"function {tok.text.lower()!r} is not allowed in a filter; allowed functions: "
                f"{ALLOWED_FUNCTION_NAMES} (and CAST / TRY_CAST) (for a column with this name, "
                f'write it in double quotes: "{tok.text.lower()}")',
                tok.start,
            )
        if word in RESERVED:
            self.refuse_word(tok)
        return self.column()

    def cast_call(self, safe: bool) -> n.Node:
        start = self.take().start
        self.take()  # (
        operand = self.or_()
        self.expect_word("AS")
        to, _ = self.type_name(start)
        end = self.expect_op(")").end
        return n.Cast(operand, to, safe, start=start, end=end)

    def call(self) -> n.Node:
        tok = self.take()
        self.take()  # (
        known = FUNCTIONS.get(tok.word)
        if known is None:
            raise ExpressionError(
                f"function {tok.text.lower()!r} is not allowed in a filter; allowed functions: "
                f"{ALLOWED_FUNCTION_NAMES} (and CAST / TRY_CAST)",
                tok.start,
            )
        name, fewest, most = known
        args: list[n.Node] = []
        if not self.at_op(")"):
            args.append(self.or_())
            while self.at_op(","):
                self.take()
                args.append(self.or_())
        end = self.expect_op(")").end
        if len(args) < fewest or (most is not None and len(args) > most):
            wanted = str(fewest) if fewest == most else f"{fewest} or more"
            if most is not None and most != fewest:
                wanted = f"{fewest} or {most}"
            self.refuse(
                tok.start,
                end,
                f"{tok.text.lower()}() takes {wanted} argument{'s' if wanted != '1' else ''}; "
                f"\x00 gives {len(args)}",
            )
        return n.Call(name, tuple(args), start=tok.start, end=end)

    def column(self) -> n.Node:
        parts = [self.take()]
        while self.at_op(".") and self.peek().kind in ("name", "qname", "op"):
            self.take()
            if self.at_op("*"):
                raise ExpressionError("'*' is not allowed in a filter", self.tok.start)
            if self.tok.kind == "op":
                self.fail()
            parts.append(self.take())
        for part in parts:
            if part.kind == "qname" and not part.text:
                raise ExpressionError("a column name cannot be empty", part.start)
        # A dotted name stays whole here; resolve.py decides whether it is a known
        # field (a joined dataset's `tickets.channel`) or a refused table prefix.
        qualified = tuple(p.text for p in parts) if len(parts) > 1 else ()
        name = ".".join(p.text for p in parts)
        return n.Column(name, qualified, start=parts[0].start, end=parts[-1].end)


def _is_constant(node: n.Node) -> bool:
    node = n.unparen(node)
    if isinstance(node, n.Neg):
        inner = n.unparen(node.operand)
        return isinstance(inner, n.Number)
    if isinstance(node, n.Cast):
        node = node.operand
    return isinstance(node, n.String | n.Number | n.Boolean | n.Null)
