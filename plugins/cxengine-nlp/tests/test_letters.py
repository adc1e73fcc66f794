"""`letters.never_matches_letters`: a proof from the syntax, checked against matching."""

from __future__ import annotations

import random
import re
import sys

import pytest

from cxengine_nlp.letters import never_matches_letters
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
