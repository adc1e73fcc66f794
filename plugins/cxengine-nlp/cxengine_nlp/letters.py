"""Prove from a regular expression's syntax that it cannot match inside a run of letters.

spaCy's prefix, suffix and infix expressions split punctuation, symbols and digits off
words. When every way an expression can match consumes (or looks around at) at least
one character that is not a letter, a span of letters only (`str.isalpha`) cannot
match it, and the fast path skips the expression for such spans: on real text most
spans are plain words, and the expressions are alternations over thousands of
characters. Anything this module does not understand counts as "may match", so an
unknown construct only costs speed, never a different token.
"""

from __future__ import annotations

import re
from functools import cache
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any


@cache
def _has_letter(lo: int, hi: int) -> bool:
    return any(chr(code).isalpha() for code in range(lo, hi + 1))


def _class_has_letter(items: list[tuple[Any, Any]]) -> bool:
    for op, arg in items:
        if op is sre.LITERAL:
            if chr(arg).isalpha():
                return True
        elif op is sre.RANGE:
            if _has_letter(arg[0], arg[1]):
                return True
        else:  # NEGATE, CATEGORY and anything else: may hold letters
            return True
    return False


def _needs_non_letter(items: Any) -> bool:
    """True when every match of this sequence involves a character that is no letter."""
    for op, arg in items:
        if op is sre.LITERAL:
            if not chr(arg).isalpha():
                return True
        elif op is sre.IN:
            if not _class_has_letter(arg):
                return True
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            low, _high, sub = arg
            if low >= 1 and _needs_non_letter(sub):
                return True
        elif op is sre.SUBPATTERN:
            _group, add_flags, _del_flags, sub = arg
            if not add_flags & re.IGNORECASE and _needs_non_letter(sub):
                return True
        elif op is sre.BRANCH:
            if all(_needs_non_letter(alt) for alt in arg[1]):
                return True
        elif op is sre.ASSERT and _needs_non_letter(arg[1]):
            return True  # a positive lookaround looks at characters of the string
    return False


def never_matches_letters(search: Any) -> bool:
    """Return True when `search` provably finds nothing in a string of letters only.

    `search` is what spaCy's tokenizer holds: None (no expression) or a bound method
    of a compiled pattern (`pattern.search`, `pattern.finditer`); any other callable
    may do anything, so it may match.
    """
    if search is None:
        return True
    pattern = getattr(search, "__self__", None)
    if not isinstance(pattern, re.Pattern) or not isinstance(pattern.pattern, str):
        return False
    return _never_matches_letters(pattern.pattern, pattern.flags)


@cache
def _never_matches_letters(source: str, flags: int) -> bool:
    # Cached by source: every pipeline built compiles the same expressions, and parsing
    # spaCy's (tens of thousands of characters) costs ~30 ms.
    if flags & re.IGNORECASE:
        return False
    try:
        parsed = sre_parse.parse(source, flags)
    except Exception:  # any doubt means "may match"
        return False
    return bool(_needs_non_letter(parsed))


def _starts_on_non_letter(items: Any) -> bool:
    """True when no match of this sequence starts where a letter follows a letter.

    That is: at a position p with a letter at p and a letter (or the start of the
    string) just before it, the sequence cannot match. It holds when its first
    character must be no letter, or when it opens with a lookbehind whose last
    character must be no letter. Zero-width items (anchors, lookaheads, negative
    lookarounds) only narrow matches, so the rest of the sequence may prove it.
    """
    if not items:
        return False
    op, arg = items[0]
    rest = list(items)[1:]
    if op is sre.LITERAL:
        return not chr(arg).isalpha()
    if op is sre.IN:
        return not _class_has_letter(arg)
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
        low, _high, sub = arg
        return low >= 1 and _starts_on_non_letter(sub)
    if op is sre.SUBPATTERN:
        _group, add_flags, _del_flags, sub = arg
        return not add_flags & re.IGNORECASE and _starts_on_non_letter(sub)
    if op is sre.BRANCH:
        return all(_starts_on_non_letter(alt) for alt in arg[1])
    if op is sre.ASSERT and arg[0] < 0 and _ends_on_non_letter(arg[1]):
        return True  # the lookbehind's last character, the one before p, is a letter
    if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
        return _starts_on_non_letter(rest)
    return False


def _ends_on_non_letter(items: Any) -> bool:
    """True when the last character of every match of this sequence is no letter."""
    if not items:
        return False
    op, arg = list(items)[-1]
    if op is sre.LITERAL:
        return not chr(arg).isalpha()
    if op is sre.IN:
        return not _class_has_letter(arg)
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
        low, _high, sub = arg
        return low >= 1 and _ends_on_non_letter(sub)
    if op is sre.SUBPATTERN:
        _group, add_flags, _del_flags, sub = arg
        return not add_flags & re.IGNORECASE and _ends_on_non_letter(sub)
    if op is sre.BRANCH:
        return all(_ends_on_non_letter(alt) for alt in arg[1])
    return False


def _lookbehind_width(items: Any) -> int:
    """The widest lookbehind anywhere in the sequence (what a match looks back at)."""
    widest = 0
    for op, arg in items:
        if op in (sre.ASSERT, sre.ASSERT_NOT):
            if arg[0] < 0:
                widest = max(widest, arg[1].getwidth()[1])
            widest = max(widest, _lookbehind_width(arg[1]))
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            widest = max(widest, _lookbehind_width(arg[2]))
        elif op is sre.SUBPATTERN:
            widest = max(widest, _lookbehind_width(arg[3]))
        elif op is sre.BRANCH:
            widest = max(widest, *(_lookbehind_width(alt) for alt in arg[1]))
    return widest


def letters_to_keep(search: Any) -> int | None:
    """Return how many letters before a non-letter a search must see, or None if unproven.

    When `search` (a bound method of a compiled pattern) provably never starts a
    match inside a run of letters (see `_starts_on_non_letter`), searching a string
    that opens with h letters gives the same matches as searching it without its
    first h - k letters, k the number returned: matches start at h or later, and
    what they look back at (lookbehinds, word boundaries) lies within k characters.
    """
    pattern = getattr(search, "__self__", None)
    if not isinstance(pattern, re.Pattern) or not isinstance(pattern.pattern, str):
        return None
    return _letters_to_keep(pattern.pattern, pattern.flags)


@cache
def _letters_to_keep(source: str, flags: int) -> int | None:
    if flags & re.IGNORECASE:
        return None
    try:
        parsed = sre_parse.parse(source, flags)
        if parsed.state.flags & re.IGNORECASE or not _starts_on_non_letter(parsed):
            return None
        return max(1, _lookbehind_width(parsed))
    except Exception:  # any doubt means "unproven"
        return None
