"""Parse and whitelist the filter expressions users write in specs (`where:`).

A spec may say `where: "channel <> 'test' AND touchpoint IN ('web', 'checkout')"`.
That text comes from whoever can edit the YAML, so it is treated as hostile: it is
never pasted into SQL. It is tokenized and parsed by sqlglot (DuckDB dialect) as a
single *condition*, never as a statement, and every node of the resulting tree must
be on a short whitelist. The SQL that runs is re-generated from the checked tree,
with every column name quoted.

Allowed in a filter:

- column names (unqualified; `"double quoted"` for odd names or SQL keywords),
- literals: 'single-quoted strings', numbers, TRUE/FALSE, NULL, and typed literals
  such as DATE '2024-01-31',
- comparisons = <> != < <= > >= and IS [NOT] DISTINCT FROM,
- AND, OR, NOT, parentheses,
- IN (list of literal values), BETWEEN … AND …, IS [NOT] NULL / TRUE / FALSE,
- [NOT] LIKE / ILIKE (with an optional ESCAPE),
- arithmetic + - * / % and unary minus,
- CAST / TRY_CAST / `::` to VARCHAR, INTEGER, BIGINT, DOUBLE, DATE, TIMESTAMP, BOOLEAN,
- the functions in `ALLOWED_FUNCTIONS`.

The functions are deliberately few and pure: text clean-up (lower, upper, trim,
length), null handling (coalesce), number rounding (abs, round) and date parts (year,
month, day). Nothing that reads files, settings, the environment or the clock
(read_csv, getenv, current_setting, now): filters must give the same rows on every
run, and periods are the engine's job, not the filter's.

Three layers, each of which alone would stop the known attacks:

1. text and tokens: length cap, no control/invisible characters, no `;`, no comments,
   no parameters, no dollar-quoted or other special strings, no look-alike letters
   in bare names, bounded nesting;
2. the parser is asked for one condition (`parse_into(exp.Condition)`), so statements
   (ATTACH, COPY, PRAGMA, INSTALL …) are not even parseable;
3. a whitelist walk over every node, including which arguments each node may carry.

Finally the generated SQL is parsed and checked again and must re-generate to the
same text, so what runs is exactly what was checked.

Checking specs (`validate`, `metrics`) does not use this module: it reads filters
with the standard-library reader of cxengine/filter_syntax, which accepts the same
language without importing sqlglot. tests/test_expr_agreement.py holds the two equal;
this module is what renders the SQL a run executes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterator
from typing import NoReturn

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

# One error class for both readers of the filter language (cxengine/filter_syntax),
# and the same bounds (their reasons below).
from cxengine.filter_syntax.check import MAX_DEPTH, known_spelling
from cxengine.filter_syntax.errors import ExpressionError
from cxengine.filter_syntax.grammar import STATEMENT_WORDS
from cxengine.filter_syntax.lexer import (
    MAX_LENGTH,
    MAX_NESTING,
    MAX_PREFIX_RUN,
    char_name,
    check_look_alikes,
)

DIALECT = "duckdb"
# Why the bounds imported above have these values: sqlglot's recursive-descent parser
# spends ~23 Python frames per parenthesis level (measured: 42 levels exhaust the
# default limit of 1000). 20 levels (MAX_NESTING) leave room for callers deep in a CLI
# or test stack; no honest filter nests that deep. NOT NOT NOT … or - - - … cost frames
# too (MAX_PREFIX_RUN). Some chains (x::INT::INT …, long arithmetic) parse without
# recursion but generate SQL recursively, so the finished tree's depth is capped too
# (MAX_DEPTH), before any generation.

ALLOWED_FUNCTIONS: dict[type[exp.Expression], str] = {
    exp.Lower: "lower",
    exp.Upper: "upper",
    exp.Trim: "trim",
    exp.Length: "length",
    exp.Coalesce: "coalesce",
    exp.Abs: "abs",
    exp.Round: "round",
    exp.Year: "year",
    exp.Month: "month",
    exp.Day: "day",
}
ALLOWED_FUNCTION_NAMES = ", ".join(ALLOWED_FUNCTIONS.values())

_ALLOWED_SUMMARY = (
    "a filter may use columns, values, comparisons, AND/OR/NOT, IN (…), BETWEEN, IS NULL, "
    f"LIKE, + - * / %, CAST and the functions {ALLOWED_FUNCTION_NAMES}"
)
# Names for constructs whose SQL text alone would not tell an analyst what is meant.
_LABELS: dict[type[exp.Expr], str] = {
    exp.Case: "CASE … END",
    exp.Collate: "COLLATE",
    exp.RegexpLike: "'~' (regular-expression match)",
    exp.JSONExtract: "'->' (JSON access)",
    exp.Struct: "'{…}' (a struct)",
    exp.Array: "'[…]' (a list)",
    exp.Bracket: "'[…]' (indexing)",
    exp.Interval: "INTERVAL",
    exp.DPipe: "'||' (joining text)",
    exp.Glob: "GLOB",
    exp.SimilarTo: "SIMILAR TO",
    exp.Tuple: "'(…, …)' (a tuple)",
    exp.Alias: "AS (an alias)",
}

_T = exp.DataType.Type
ALLOWED_TYPES: dict[object, str] = {
    _T.TEXT: "VARCHAR",
    _T.VARCHAR: "VARCHAR",
    _T.INT: "INTEGER",
    _T.BIGINT: "BIGINT",
    _T.DOUBLE: "DOUBLE",
    _T.DATE: "DATE",
    _T.TIMESTAMP: "TIMESTAMP",
    _T.TIMESTAMPNTZ: "TIMESTAMP",
    _T.BOOLEAN: "BOOLEAN",
}
ALLOWED_TYPE_NAMES = "VARCHAR, INTEGER, BIGINT, DOUBLE, DATE, TIMESTAMP, BOOLEAN"

_BINARY = frozenset({"this", "expression"})
# Each allowed node type and the arguments it may carry. Any other argument that is
# set (not None/False/empty) is refused: this is what stops, say, an IN with a
# sub-query, a CAST with a FORMAT, or a Column with a table qualifier.
_ALLOWED_ARGS: dict[type[exp.Expression], frozenset[str]] = {
    exp.Column: frozenset({"this"}),
    exp.Identifier: frozenset({"this", "quoted"}),
    exp.Literal: frozenset({"this", "is_string"}),
    exp.Boolean: frozenset({"this"}),
    exp.Null: frozenset(),
    exp.Paren: frozenset({"this"}),
    exp.Not: frozenset({"this"}),
    exp.Neg: frozenset({"this"}),
    exp.And: _BINARY,
    exp.Or: _BINARY,
    exp.EQ: _BINARY,
    exp.NEQ: _BINARY,
    exp.GT: _BINARY,
    exp.GTE: _BINARY,
    exp.LT: _BINARY,
    exp.LTE: _BINARY,
    exp.NullSafeEQ: _BINARY,
    exp.NullSafeNEQ: _BINARY,
    exp.Add: _BINARY,
    exp.Sub: _BINARY,
    exp.Mul: _BINARY,
    exp.Div: _BINARY | {"typed", "safe"},
    exp.Mod: _BINARY,
    exp.Is: _BINARY,
    exp.Like: _BINARY | {"negate"},
    exp.ILike: _BINARY | {"negate"},
    exp.Escape: _BINARY,
    exp.In: frozenset({"this", "expressions"}),
    exp.Between: frozenset({"this", "low", "high", "symmetric"}),
    exp.Cast: frozenset({"this", "to"}),
    exp.TryCast: frozenset({"this", "to", "safe"}),
    exp.DataType: frozenset({"this"}),
    exp.Lower: frozenset({"this"}),
    exp.Upper: frozenset({"this"}),
    exp.Trim: frozenset({"this", "expression", "position"}),
    exp.Length: frozenset({"this"}),
    exp.Coalesce: frozenset({"this", "expressions", "is_nvl", "is_null"}),
    exp.Abs: frozenset({"this"}),
    exp.Round: frozenset({"this", "decimals"}),
    exp.Year: frozenset({"this"}),
    exp.Month: frozenset({"this"}),
    exp.Day: frozenset({"this"}),
}

# Nodes that yield true/false (a Column or COALESCE may be a boolean field).
_CONDITIONS = (
    exp.And, exp.Or, exp.Not, exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE,
    exp.NullSafeEQ, exp.NullSafeNEQ, exp.In, exp.Between, exp.Is, exp.Like, exp.ILike,
    exp.Escape, exp.Boolean, exp.Column, exp.Coalesce,
)  # fmt: skip

# Stands for the quoted offending piece in refusal messages; a NUL can never occur in
# checked filter text, so user text cannot smuggle it in.
_W = "\x00"
_NUMBER = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_BAD_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
_SPECIAL_STRINGS = {
    TokenType.RAW_STRING: "dollar-quoted strings ($$…$$)",
    TokenType.HEREDOC_STRING: "dollar-quoted strings ($$…$$)",
    TokenType.BYTE_STRING: "escape strings (E'…')",
    TokenType.NATIONAL_STRING: "national strings (N'…')",
    TokenType.NATIONAL_RAW_STRING: "national strings (N'…')",
    TokenType.HEX_STRING: "hex strings (X'…')",
    TokenType.BIT_STRING: "bit strings (B'…')",
    TokenType.UNICODE_STRING: "unicode-escape strings (U&'…')",
}
_PARAMETERS = {TokenType.PARAMETER, TokenType.PLACEHOLDER, TokenType.SESSION_PARAMETER}
_CASTS = (exp.Cast, exp.TryCast)
_PREFIX = {TokenType.NOT, TokenType.DASH, TokenType.PLUS, TokenType.TILDE}
_OPEN = {TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.L_BRACE}
_CLOSE = {TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.R_BRACE}


def parse_filter(text: str, *, columns: Collection[str] | None = None) -> exp.Expression:
    """Parse one filter condition, check it against the whitelist and quote its columns.

    With `columns`, every column must be one of them (matched case-insensitively and
    rewritten to the known spelling). Raises ExpressionError for anything else.
    """
    tree = _parse(text)
    _unqualify_known(tree, columns)
    _check_tree(tree, text)
    for col in tree.find_all(exp.Column):
        _resolve_column(col, columns, text)
    # Round trip: the SQL that will run must parse back to a whitelisted tree that
    # generates the very same SQL, so nothing is lost or added in generation.
    sql = _generate(tree)
    again = _parse(sql, limit=False)
    _check_tree(again, sql)
    if _generate(again) != sql:
        raise ExpressionError(f"the filter could not be reproduced safely as SQL: {sql!r}")
    assert isinstance(tree, exp.Expression)  # every concrete sqlglot node is one
    return tree


def column_names(expr: exp.Expr) -> set[str]:
    """Return the names of the columns an expression references."""
    return {col.name for col in expr.find_all(exp.Column)}


def to_sql(expr: exp.Expr) -> str:
    """Return the DuckDB SQL of a whitelisted filter (refuse one that is not)."""
    _check_tree(expr, None)
    return _generate(expr)


def _generate(expr: exp.Expr) -> str:
    return expr.sql(dialect=DIALECT, comments=False)


# ------------------------------------------------------------------ text and tokens


def _parse(text: str, *, limit: bool = True) -> exp.Expr:
    if not isinstance(text, str):
        raise ExpressionError(f"a filter must be text, got {type(text).__name__}")
    if limit and len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"the filter is {len(text):,} characters long; the limit is {MAX_LENGTH:,}",
            MAX_LENGTH,
        )
    _check_characters(text)
    if not text.strip():
        raise ExpressionError("the filter is empty")
    dialect = sqlglot.Dialect.get_or_raise(DIALECT)
    try:
        tokens = dialect.tokenize(text)
    except TokenError:
        raise ExpressionError(
            "could not read the filter: a quote (' or \") or a /* comment is not closed"
        ) from None
    if not tokens:
        raise ExpressionError("the filter has no condition in it (only a comment?)")
    _check_tokens(tokens, text)
    try:
        parsed = dialect.parser().parse_into(exp.Condition, tokens, text)
    except ParseError as exc:
        _raise_parse_error(exc, tokens, text)
    except RecursionError:
        raise ExpressionError("the filter is nested too deeply") from None
    except Exception as exc:  # a parser bug must still surface as a filter error
        raise ExpressionError(f"could not read the filter ({type(exc).__name__})") from None
    if len(parsed) != 1 or parsed[0] is None:
        raise ExpressionError("a filter must be exactly one condition")
    return parsed[0]


def _check_characters(text: str) -> None:
    for i, ch in enumerate(text):
        if ch in "\t\n\r":
            continue
        if unicodedata.category(ch) in _BAD_CATEGORIES:
            # Control and invisible characters (zero-width spaces, bidi overrides)
            # make a filter read differently from what it does.
            raise ExpressionError(
                f"the filter contains an invisible or control character "
                f"{char_name(ch)} at character {i + 1}; remove it",
                i,
            )


def _check_tokens(tokens: list[Token], text: str) -> None:
    depth, run = 0, 0
    for tok in tokens:
        kind = tok.token_type
        if tok.comments:
            raise ExpressionError(
                "comments (-- … or /* … */) are not allowed in a filter", _comment_at(text)
            )
        if kind == TokenType.SEMICOLON:
            raise ExpressionError(
                "';' is not allowed: a filter is one condition, not a list of SQL statements",
                tok.start,
            )
        if kind in _PARAMETERS or (kind == TokenType.COLON and _is_named_parameter(tok, text)):
            raise ExpressionError(
                f"parameters such as ?, $1, :name or @name are not allowed in a filter "
                f"(found {tok.text!r}); write the value itself",
                tok.start,
            )
        if kind in _SPECIAL_STRINGS:
            raise ExpressionError(
                f"{_SPECIAL_STRINGS[kind]} are not allowed; write plain 'single-quoted' text",
                tok.start,
            )
        if kind == TokenType.VAR:
            _check_bare_name(tok)
        depth += kind in _OPEN
        depth -= kind in _CLOSE
        if depth > MAX_NESTING:
            raise ExpressionError(
                f"the filter nests brackets more than {MAX_NESTING} levels deep", tok.start
            )
        run = run + 1 if kind in _PREFIX else 0
        if run > MAX_PREFIX_RUN:
            raise ExpressionError(f"more than {MAX_PREFIX_RUN} NOT / - / + in a row", tok.start)


def _is_named_parameter(tok: Token, text: str) -> bool:
    # `:name` is a parameter; a lone ':' elsewhere is just a parse error later.
    return text[tok.end + 1 : tok.end + 2].isalnum()


def _check_bare_name(tok: Token) -> None:
    """Refuse unquoted names with look-alike characters (fullwidth, mixed scripts)."""
    name = tok.text
    for ch in name:
        if not (ch.isalnum() or ch == "_"):
            raise ExpressionError(
                f"unexpected character {char_name(ch)} in {name!r}; "
                "if it is part of a column name, put the name in double quotes",
                tok.start + name.index(ch),
            )
    check_look_alikes(name, tok.start)


def _raise_parse_error(exc: ParseError, tokens: list[Token], text: str) -> NoReturn:
    first = tokens[0]
    if first.text.upper() in STATEMENT_WORDS:
        raise ExpressionError(
            f"{first.text!r} starts a SQL statement; a filter must be a single condition "
            f"such as channel <> 'test' (if {first.text!r} is a column, write it in double "
            f'quotes: "{first.text}")',
            first.start,
        ) from None
    info = exc.errors[0] if exc.errors else {}
    highlight = str(info.get("highlight") or "")
    line, col = int(info.get("line") or 1), int(info.get("col") or 0)
    lines = text.split("\n")
    offset = sum(len(ln) + 1 for ln in lines[: max(0, line - 1)]) + col - len(highlight)
    position = min(max(offset, 0), len(text))
    description = str(info.get("description") or "")
    if "Expecting )" in description or "Expecting (" in description:
        why = "a bracket is not closed"
    elif "missing" in description:
        why = "something is missing"
    else:
        why = "this is not understood here"
    near = f" near {highlight!r}" if highlight else ""
    raise ExpressionError(
        f"could not read the filter{near} at character {position + 1}: {why}; check "
        "quotes, brackets and operators (text values need 'single quotes')",
        position,
    ) from None


def _comment_at(text: str) -> int | None:
    """Return where the first comment starts, skipping quoted text."""
    quote = ""
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote  # a doubled quote reopens on the next char
        elif ch in "'\"":
            quote = ch
        elif text.startswith(("--", "/*"), i):
            return i
    return None


# --------------------------------------------------------------- the whitelist walk


def _check_tree(tree: exp.Expr, text: str | None) -> None:
    """Check every node of a parsed filter against the whitelist; raise on the first bad one."""
    # First, before anything recurses over the tree (generating SQL for a message does).
    if _depth(tree) > MAX_DEPTH:
        raise ExpressionError(
            f"the filter is too complex: it nests or chains more than {MAX_DEPTH} operations; "
            "simplify it (for many alternatives, use x IN ('a', 'b', …) instead of ORs)"
        )
    for node in tree.dfs():  # iterative, so a long AND-chain cannot exhaust the stack
        _check_node(node, text)
    if not _is_condition(tree):
        _refuse(
            tree,
            text,
            "a filter must be a condition that is true or false, such as channel <> 'test'; "
            f"{_W} is a value",
        )


def _depth(tree: exp.Expr) -> int:
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            break
        stack.extend((child, depth + 1) for child in node.iter_expressions())
    return deepest


def _check_node(node: exp.Expr, text: str | None) -> None:
    cls = type(node)
    if isinstance(node, exp.Query | exp.Subquery | exp.Exists):
        _refuse(node, text, "sub-queries (SELECT …, EXISTS …) are not allowed in a filter")
    if isinstance(node, exp.Placeholder | exp.Parameter | exp.SessionParameter):
        _refuse(node, text, "parameters such as ?, $1 or :name are not allowed in a filter")
    if isinstance(node, exp.Star):
        _refuse(node, text, "'*' is not allowed in a filter")
    if isinstance(node, exp.Window):
        _refuse(node, text, "window functions (… OVER …) are not allowed in a filter")
    # sqlglot models AND, OR, CASE, COLLATE … as functions too; only calls written as
    # name(…) (they carry a position) or bare words like current_date get the
    # "function not allowed" message, the rest the general one below.
    called = "start" in node.meta or not any(True for _ in node.iter_expressions())
    if isinstance(node, exp.Func) and cls not in _ALLOWED_ARGS and called:
        _refuse_function(node, text)
    if isinstance(node, exp.DataType):
        _check_type(node, text)
    if cls not in _ALLOWED_ARGS:
        what = _LABELS.get(cls, _W)
        _refuse(node, text, f"{what} is not allowed in a filter; {_ALLOWED_SUMMARY}")
    allowed = _ALLOWED_ARGS[cls]
    for key, value in node.args.items():
        if key not in allowed and value not in (None, False, [], ""):
            if isinstance(node, exp.Column) and key in ("table", "db", "catalog"):
                _refuse(
                    node,
                    text,
                    f"{_W}: use the plain column name {node.name!r}, without a table "
                    "or schema in front",
                )
            if isinstance(node, exp.In) and key == "query":
                _refuse(node, text, "sub-queries (SELECT …) are not allowed in a filter")
            _refuse(node, text, f"{_W} uses {key.upper()}, which is not allowed in a filter")
    if isinstance(node, exp.And | exp.Or | exp.Not):
        for child in node.iter_expressions():
            if not _is_condition(child):
                op = node.key.upper()
                _refuse(child, text, f"{op} needs conditions (true/false); {_W} is a value")
    _check_specifics(node, text)


def _check_specifics(node: exp.Expr, text: str | None) -> None:
    if isinstance(node, exp.Identifier) and not node.name:
        _refuse(node, text, "a column name cannot be empty")
    elif isinstance(node, exp.Literal) and not node.is_string:
        if not _NUMBER.fullmatch(node.name):
            _refuse(node, text, f"{node.name!r} is not a number")
    elif isinstance(node, exp.Is):
        if not isinstance(node.expression, exp.Null | exp.Boolean):
            _refuse(node, text, "IS may only be followed by NULL, TRUE or FALSE; use = to compare")
    elif isinstance(node, exp.In):
        values = node.expressions
        if not values:
            _refuse(node, text, "IN needs at least one value: x IN ('a', 'b')")
        for value in values:
            if not _is_constant(value):
                _refuse(value, text, f"IN (…) may only list values such as 'web' or 3; {_W} is not")
    elif isinstance(node, exp.Escape):
        if not isinstance(node.this, exp.Like | exp.ILike) or not _is_string(node.expression):
            _refuse(node, text, "ESCAPE must follow LIKE / ILIKE and be a 'quoted' character")
    elif isinstance(node, exp.Trim) and node.args.get("position") not in (
        None,
        "BOTH",
        "LEADING",
        "TRAILING",
    ):
        _refuse(node, text, f"{_W} is not allowed in a filter")


def _check_type(node: exp.DataType, text: str | None) -> None:
    parent = node.parent
    if not isinstance(parent, exp.Cast) or node.arg_key != "to":
        _refuse(node, text, f"{_W} is not allowed in a filter")
    extras = any(node.args.get(k) for k in node.args if k not in ("this", "nested"))
    if node.this not in ALLOWED_TYPES or extras:
        _refuse(
            parent,
            text,
            f"converting to {node.sql(dialect=DIALECT)!r} is not allowed in a filter; "
            f"allowed types: {ALLOWED_TYPE_NAMES}",
        )


def _is_condition(node: exp.Expr) -> bool:
    node = node.unnest()
    if isinstance(node, exp.Cast):
        to = node.args.get("to")
        return isinstance(to, exp.DataType) and to.this == _T.BOOLEAN
    return isinstance(node, _CONDITIONS)


def _is_constant(node: exp.Expr) -> bool:
    node = node.unnest()
    if isinstance(node, exp.Neg):
        node = node.this.unnest()
        return isinstance(node, exp.Literal) and not node.is_string
    if isinstance(node, exp.Cast):
        node = node.this
    return isinstance(node, exp.Literal | exp.Boolean | exp.Null)


def _is_string(node: exp.Expr) -> bool:
    return isinstance(node, exp.Literal) and node.is_string


def _refuse_function(node: exp.Func, text: str | None) -> NoReturn:
    name = node.name if isinstance(node, exp.Anonymous) else node.sql_name()
    meta = node.meta
    if text is not None and "start" in meta and "end" in meta:
        name = text[meta["start"] : meta["end"] + 1]
    hint = ""
    after = text[meta["end"] + 1 :].lstrip() if text is not None and "end" in meta else ""
    if not after.startswith("(") and not any(True for _ in node.iter_expressions()):
        # Bare words such as current_date read as functions; a column may share the name.
        hint = f' (for a column with this name, write it in double quotes: "{name.lower()}")'
    raise ExpressionError(
        f"function {name.lower()!r} is not allowed in a filter; allowed functions: "
        f"{ALLOWED_FUNCTION_NAMES} (and CAST / TRY_CAST){hint}",
        _start(node),
    )


def _unqualify_known(tree: exp.Expr, columns: Collection[str] | None) -> None:
    """Read `tickets.channel` as the one field of that name (a joined dataset's clash).

    Only when the dotted name is a known column: any other qualified name is still
    refused by the whitelist, with its message.
    """
    if columns is None or isinstance(columns, str):
        return
    known = {c.lower(): c for c in columns if "." in c}
    for col in list(tree.find_all(exp.Column)):
        if col.args.get("db") or col.args.get("catalog") or not col.table:
            continue
        dotted = known.get(f"{col.table}.{col.name}".lower())
        if dotted is not None:
            col.replace(exp.column(dotted, quoted=True))


def _resolve_column(col: exp.Column, columns: Collection[str] | None, text: str) -> None:
    name = col.name
    if columns is not None:
        known = [columns] if isinstance(columns, str) else list(columns)
        if name not in known:
            name = known_spelling(name, known, _start(col))
    # Quoting every name makes keywords and odd characters safe as column names.
    col.set("this", exp.to_identifier(name, quoted=True))


def _refuse(node: exp.Expr | None, text: str | None, template: str) -> NoReturn:
    what = repr(_snippet(node, text)) if node is not None else "this"
    raise ExpressionError(template.replace(_W, what), _start(node))


def _positions(node: exp.Expr) -> Iterator[tuple[int, int]]:
    for n in node.dfs():
        meta = n.meta
        if "start" in meta and "end" in meta:
            yield int(meta["start"]), int(meta["end"])


def _start(node: exp.Expr | None) -> int | None:
    if node is None:
        return None
    return min((s for s, _ in _positions(node)), default=None)


def _snippet(node: exp.Expr, text: str | None) -> str:
    spans = list(_positions(node))
    if text is not None and spans:
        # The user's own spelling, from the first to the last token with a position,
        # plus the closing brackets that end it.
        end = max(e for _, e in spans) + 1
        shown = text[min(s for s, _ in spans) : end]
        while shown.count("(") > shown.count(")") and (close := text.find(")", end)) >= 0:
            shown, end = text[min(s for s, _ in spans) : close + 1], close + 1
    else:
        shown = node.sql(dialect=DIALECT, comments=False)
    return shown if len(shown) <= 60 else shown[:57] + "…"


__all__ = [
    "ALLOWED_FUNCTIONS",
    "ALLOWED_TYPES",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_NESTING",
    "ExpressionError",
    "column_names",
    "parse_filter",
    "to_sql",
]
