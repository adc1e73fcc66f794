"""Shipped taxonomy hygiene: no one-word term may lemmatise to a word every comment uses."""

from __future__ import annotations

import pytest

from cxengine_nlp import analyze
from cxengine_nlp.pipeline import get_pipeline
from cxengine_nlp.taxonomy import restaurant_taxonomy
from cxengine_nlp.themes import CxThemes

# Stop words that are still topics in CX comments.
ALLOWED = {("en", "call"), ("ru", "долго")}


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_no_term_lemmatises_to_a_stop_word(lang: str) -> None:
    nlp = get_pipeline(lang, restaurant_taxonomy())
    themes = nlp.get_pipe("cx_themes")
    assert isinstance(themes, CxThemes)
    stop = nlp.Defaults.stop_words
    bad = [
        (theme, seq[0])
        for theme, sequences in themes.lemmatised_terms.items()
        for seq in sequences
        if len(seq) == 1 and (seq[0] in stop or len(seq[0]) <= 2) and (lang, seq[0]) not in ALLOWED
    ]
    assert bad == []


def test_keep_it_up_is_not_about_delivery() -> None:
    # "ups" (the carrier) lemmatised to "up" and tagged these as delivery.
    assert analyze(["Sign-up was easy. Keep it up!"])[0].themes == ()
