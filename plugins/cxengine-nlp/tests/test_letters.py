"""`letters`: proofs from an expression's syntax, checked against matching."""

from __future__ import annotations

import random
import re
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cxengine_nlp.fastpath import FastPath
from cxengine_nlp.letters import letters_to_keep, never_matches_letters
from cxengine_nlp.lexicon import load_lexicon
from cxengine_nlp.pipeline import get_pipeline
from cxengine_nlp.taxonomy import default_taxonomy


@pytest.mark.parametrize(
    "source",
    [r"km$", r"\w+", r"[^a]", r"(?i:\.|a)", r"a|\.", r"(?<!\d)x", r"x*", r"[a-z]\.?"],
)
def test_what_can_match_letters_is_not_proven(source: str) -> None:
    assert not never_matches_letters(re.compile(source).search)


@pytest.mark.parametrize(
    "source",
    [r"\.\.+", r"(?<=[0-9])km$", r"(?<=[a-z])\.(?=[A-Z])", r"[!?]+$", r"^[\(\[]", r"(?:-|—)"],
)
def test_what_needs_a_non_letter_is_proven(source: str) -> None:
    assert never_matches_letters(re.compile(source).finditer)


def test_only_compiled_patterns_are_analysed() -> None:
    assert never_matches_letters(None)
    assert not never_matches_letters(lambda s: None)
    assert not never_matches_letters(re.compile(r"\.", re.IGNORECASE).search)


def _letter_strings() -> list[str]:
    rng = random.Random(7)
    letters = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isalpha()]
    words = [w for lang in ("en", "ru") for w in load_lexicon(lang).words if w.isalpha()]
    return words + ["".join(rng.choices(letters, k=rng.randint(1, 12))) for _ in range(20_000)]


@pytest.mark.parametrize("lang", ["en", "ru", "xx"])
def test_spacys_expressions_are_proven_and_find_nothing_in_letters(lang: str) -> None:
    tokenizer = get_pipeline(lang, default_taxonomy()).tokenizer
    searches = [tokenizer.prefix_search, tokenizer.suffix_search, tokenizer.infix_finditer]  # type: ignore[union-attr]
    searches += [tokenizer.token_match, tokenizer.url_match]  # type: ignore[union-attr]
    assert all(never_matches_letters(s) for s in searches)  # the fast path's shortcut holds
    for text in _letter_strings():
        assert tokenizer.prefix_search(text) is None, text  # type: ignore[union-attr]
        assert tokenizer.suffix_search(text) is None, text  # type: ignore[union-attr]
        assert next(tokenizer.infix_finditer(text), None) is None, text  # type: ignore[union-attr]
        assert tokenizer.url_match(text) is None, text  # type: ignore[union-attr]


def test_what_starts_inside_letters_is_not_proven() -> None:
    for source in (r"a\.", r"\w+\.", r"(?<=a)b", r"x?\.", r"(?i:\.)", r"(?<=[a-z])k"):
        assert letters_to_keep(re.compile(source).search) is None, source


def test_lookbehinds_set_how_many_letters_to_keep() -> None:
    assert letters_to_keep(re.compile(r"(?:,|(?<=[a-z])\.)$").search) == 1
    assert letters_to_keep(re.compile(r"(?:,|(?<=°[FC])\.)$").search) == 2
    assert letters_to_keep(re.compile(r"(?<=[0-9])km$").search) == 1


_HEADS = st.text(alphabet=st.sampled_from([*"abcXYZжЁß°²_"]), min_size=0, max_size=12)
_TAILS = st.text(alphabet=st.sampled_from([*"abcж.,!?'’)(:;-–—%$°²0123456789…\"«»\n"]), max_size=6)


@pytest.mark.parametrize("lang", ["en", "ru", "xx"])
@given(head=_HEADS, tail=_TAILS)
def test_searching_past_leading_letters_finds_the_same(lang: str, head: str, tail: str) -> None:
    tokenizer: Any = get_pipeline(lang, default_taxonomy()).tokenizer
    text = head + tail
    for search in (tokenizer.suffix_search, tokenizer.infix_finditer):
        keep = letters_to_keep(search)
        assert keep is not None  # the fast path's shortcut applies to spaCy's expressions
        skipped = FastPath._skippable(text, keep)
        full = [(m.start(), m.end()) for m in _all(search, text)]
        short = [(m.start() + skipped, m.end() + skipped) for m in _all(search, text[skipped:])]
        assert short == full, (text, skipped)


def _all(search: Any, text: str) -> list[Any]:
    found = search(text)
    if found is None:
        return []
    return [found] if isinstance(found, re.Match) else list(found)
