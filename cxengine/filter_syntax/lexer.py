"""Split filter text into tokens, refusing on the way what no filter may contain.

This is the first of the three walls (text, grammar, whitelist) and the one that
stops SQL that a grammar would never see: `;`, comments, parameters, dollar-quoted
and other special strings, control and invisible characters, look-alike letters in
bare names, and brackets nested deeper than any honest filter needs.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal, NoReturn

from cxengine.filter_syntax.errors import ExpressionError

MAX_LENGTH = 4000
# Bounds shared with the sqlglot reader (cxengine/expr.py says why these values):
# brackets and runs of prefixes are where both parsers recurse.
MAX_NESTING = 20
MAX_PREFIX_RUN = 8

Kind = Literal["name", "qname", "string", "number", "op", "end"]


@dataclass(frozen=True)
class Token:
    kind: Kind
    text: str  # as written (for a string or quoted name: without quotes, unescaped)
    start: int
    end: int  # exclusive

    @property
    def word(self) -> str:
        """A bare name in upper case (keywords), else ''."""
        return self.text.upper() if self.kind == "name" else ""


_NUMBER = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_BAD_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
_CONFUSABLE_SCRIPTS = frozenset({"LATIN", "CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE", "COPTIC"})
_OPERATORS = (
    "<=>", "::", "<>", "!=", "<=", ">=", "==", "=", "<", ">", "+", "-", "*", "/", "%", "(", ")",
    ",", ".",
)  # fmt: skip
# Operators of SQL that a filter may not use, named for the analyst.
_REFUSED_SYMBOLS = {
    "||": "'||' (joining text)",
    "->>": "'->>' (JSON access)",
    "->": "'->' (JSON access)",
    "//": "'//' (integer division)",
    "**": "'**' (a power)",
    "!~~": "'!~~' (NOT LIKE)",
    "~~": "'~~' (LIKE)",
    "~": "'~' (regular-expression match)",
    "^@": "'^@' (starts with)",
    "<<": "'<<' (a bit shift)",
    ">>": "'>>' (a bit shift)",
    "&": "'&' (bitwise and)",
    "|": "'|' (bitwise or)",
    "^": "'^' (a power)",
    "!": "'!'",
    "[": "'[…]' (a list or indexing)",
    "]": "'[…]' (a list or indexing)",
    "{": "'{…}' (a struct)",
    "}": "'{…}' (a struct)",
}
_SYMBOLS = sorted([*_OPERATORS, *_REFUSED_SYMBOLS], key=len, reverse=True)
ALLOWED_SUMMARY = (
    "a filter may use columns, values, comparisons, AND/OR/NOT, IN (…), BETWEEN, IS NULL, "
    "LIKE, + - * / %, CAST and the functions "
    "lower, upper, trim, length, coalesce, abs, round, year, month, day"
)
_SPECIAL_PREFIXES = {
    "E": "escape strings (E'…')",
    "N": "national strings (N'…')",
    "X": "hex strings (X'…')",
    "B": "bit strings (B'…')",
}
_PREFIX_WORDS = {"NOT"}
_PREFIX_SYMBOLS = {"-", "+"}


def tokenize(text: str) -> list[Token]:
    """Return the tokens of a filter, ending with an `end` token; raise on refused text."""
    if not isinstance(text, str):
        raise ExpressionError(f"a filter must be text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"the filter is {len(text):,} characters long; the limit is {MAX_LENGTH:,}",
            MAX_LENGTH,
        )
    _check_characters(text)
    if not text.strip():
        raise ExpressionError("the filter is empty")
    tokens, comment = _Lexer(text).run()
    if not tokens:
        raise ExpressionError("the filter has no condition in it (only a comment?)")
    if comment is not None:
        raise ExpressionError("comments (-- … or /* … */) are not allowed in a filter", comment)
    _check_shape(tokens)
    return [*tokens, Token("end", "", len(text), len(text))]


def _check_characters(text: str) -> None:
    for i, ch in enumerate(text):
        if ch not in "\t\n\r" and unicodedata.category(ch) in _BAD_CATEGORIES:
            # Control and invisible characters (zero-width spaces, bidi overrides)
            # make a filter read differently from what it does.
            raise ExpressionError(
                f"the filter contains an invisible or control character "
                f"{char_name(ch)} at character {i + 1}; remove it",
                i,
            )


def _check_shape(tokens: list[Token]) -> None:
    """Bound nesting and runs of prefixes: the parser recurses on both."""
    depth, run = 0, 0
    for tok in tokens:
        if tok.kind == "op":
            depth += tok.text == "("
            depth -= tok.text == ")"
        if depth > MAX_NESTING:
            raise ExpressionError(
                f"the filter nests brackets more than {MAX_NESTING} levels deep", tok.start
            )
        prefix = tok.word in _PREFIX_WORDS or (tok.kind == "op" and tok.text in _PREFIX_SYMBOLS)
        run = run + 1 if prefix else 0
        if run > MAX_PREFIX_RUN:
            raise ExpressionError(f"more than {MAX_PREFIX_RUN} NOT / - / + in a row", tok.start)


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.tokens: list[Token] = []
        self.comment: int | None = None  # where the first comment starts

    def run(self) -> tuple[list[Token], int | None]:
        text = self.text
        while self.i < len(text):
            ch = text[self.i]
            if ch.isspace():  # a no-break space pasted from a document included
                self.i += 1
            elif text.startswith("--", self.i):
                self._comment_to(text.find("\n", self.i), 1)
            elif text.startswith("/*", self.i):
                self._comment_to(text.find("*/", self.i + 2), 2)
            elif ch == "'":
                self._quoted("string", "'")
            elif ch == '"':
                self._quoted("qname", '"')
            elif _NUMBER.match(text, self.i):  # ASCII digits only: '²' is not a number
                self._number()
            elif ch.isalpha() or ch == "_":
                self._name()
            else:
                self._symbol(ch)
        return self.tokens, self.comment

    def _comment_to(self, found: int, closer: int) -> None:
        if found < 0 and closer == 2:
            _unclosed()
        self.comment = self.i if self.comment is None else self.comment
        self.i = len(self.text) if found < 0 else found + closer

    def _quoted(self, kind: Kind, quote: str) -> None:
        start, i, parts = self.i, self.i + 1, []
        while True:
            close = self.text.find(quote, i)
            if close < 0:
                _unclosed()
            parts.append(self.text[i:close])
            if self.text.startswith(quote * 2, close):  # a doubled quote stands for one
                parts.append(quote)
                i = close + 2
                continue
            self.i = close + 1
            break
        self.tokens.append(Token(kind, "".join(parts), start, self.i))

    def _number(self) -> None:
        match = _NUMBER.match(self.text, self.i)
        assert match is not None  # the caller saw a digit, or '.' and a digit
        end = match.end()
        rest = self.text[end : end + 1]
        if rest.isalnum() or rest in ("_", "."):
            # 1_000, 0x1F, 1abc, 1.2.3: SQL dialects disagree on these; refuse them all.
            stop = end
            while stop < len(self.text) and (self.text[stop].isalnum() or self.text[stop] in "_."):
                stop += 1
            raise ExpressionError(
                f"{self.text[self.i : stop]!r} is not a number (write digits, a decimal point "
                "and an exponent only, e.g. 1500 or 1.5e3)",
                self.i,
            )
        self.tokens.append(Token("number", match.group(), self.i, end))
        self.i = end

    def _name(self) -> None:
        start, i, text = self.i, self.i, self.text
        while i < len(text) and (text[i].isalnum() or text[i] == "_"):
            i += 1
        name = text[start:i]
        upper = name.upper()
        if text.startswith("'", i) and upper in _SPECIAL_PREFIXES:
            raise ExpressionError(
                f"{_SPECIAL_PREFIXES[upper]} are not allowed; write plain 'single-quoted' text",
                start,
            )
        if upper == "U" and text.startswith("&'", i):
            raise ExpressionError(
                "unicode-escape strings (U&'…') are not allowed; write plain 'single-quoted' text",
                start,
            )
        check_look_alikes(name, start)
        self.tokens.append(Token("name", name, start, i))
        self.i = i

    def _symbol(self, ch: str) -> None:
        text, i = self.text, self.i
        if ch == ";":
            raise ExpressionError(
                "';' is not allowed: a filter is one condition, not a list of SQL statements", i
            )
        if ch in "?@" or (ch == ":" and text[i + 1 : i + 2].isalnum()):
            self._parameter()
        if ch == "$":
            if text[i + 1 : i + 2].isdigit() or not _dollar_quote(text, i):
                self._parameter()
            raise ExpressionError(
                "dollar-quoted strings ($$…$$) are not allowed; write plain 'single-quoted' text",
                i,
            )
        for sym in _SYMBOLS:  # longest first: `!=` is an operator, `!` alone is not
            if text.startswith(sym, i):
                if sym in _REFUSED_SYMBOLS:
                    raise ExpressionError(
                        f"{_REFUSED_SYMBOLS[sym]} is not allowed in a filter; {ALLOWED_SUMMARY}", i
                    )
                self.tokens.append(Token("op", sym, i, i + len(sym)))
                self.i = i + len(sym)
                return
        raise ExpressionError(
            f"unexpected character {char_name(ch)} at character {i + 1}; if it is part of a "
            "column name, put the name in double quotes",
            i,
        )

    def _parameter(self) -> NoReturn:
        i, text = self.i, self.text
        stop = i + 1
        while stop < len(text) and (text[stop].isalnum() or text[stop] in "_@"):
            stop += 1
        raise ExpressionError(
            f"parameters such as ?, $1, :name or @name are not allowed in a filter "
            f"(found {text[i:stop]!r}); write the value itself",
            i,
        )


def _dollar_quote(text: str, i: int) -> bool:
    """True at `$$` or `$tag$`: the opening of a dollar-quoted string."""
    close = text.find("$", i + 1)
    return close > i and all(c.isalnum() or c == "_" for c in text[i + 1 : close])


def _unclosed() -> NoReturn:
    raise ExpressionError(
        "could not read the filter: a quote (' or \") or a /* comment is not closed"
    )


def check_look_alikes(name: str, start: int) -> None:
    """Refuse unquoted names with look-alike characters (fullwidth, mixed scripts).

    Both readers of the filter language call it (cxengine/expr.py too).
    """
    # A keyword or name typed with a Cyrillic 'О' or a fullwidth 'Ｏ' looks right and
    # means something else; refuse it rather than guess.
    odd = next((ch for ch in name if unicodedata.normalize("NFKC", ch) != ch), None)
    if odd is not None:
        raise ExpressionError(
            f"{name!r} contains the look-alike character {char_name(odd)}; retype it",
            start + name.index(odd),
        )
    scripts = {_script(ch) for ch in name if ch.isalpha()} & _CONFUSABLE_SCRIPTS
    if "LATIN" in scripts and len(scripts) > 1:
        mixed = " and ".join(sorted(sc.title() for sc in scripts))
        raise ExpressionError(
            f"{name!r} mixes {mixed} letters that look alike; retype it in one alphabet", start
        )


def char_name(ch: str) -> str:
    name = unicodedata.name(ch, "")
    code = f"U+{ord(ch):04X}"
    shown = repr(ch) if ch.isprintable() else code
    return f"{shown} ({code} {name})" if name else shown


def _script(ch: str) -> str:
    return unicodedata.name(ch, "?").split(" ")[0]
