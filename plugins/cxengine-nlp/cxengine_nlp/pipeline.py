"""Build the per-language spaCy pipelines once and reuse them.

Every pipeline is `spacy.blank(lang)` plus the three cx components; no trained model
is loaded or downloaded. Pipelines are cached per (language, taxonomy version) because
building one lemmatises the whole taxonomy (~50 ms) and loads the lexicon.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, cast

import spacy
from spacy.attrs import LIKE_NUM
from spacy.lang.ru.lex_attrs import _num_words as _RU_NUM_WORD_LIST
from spacy.language import Language

# Importing the modules registers the factories, so building works even when the
# package is used from a source tree without installed entry points.
from cxengine_nlp import lemmatizer as _lemmatizer  # noqa: F401
from cxengine_nlp import sentiment as _sentiment  # noqa: F401
from cxengine_nlp.languages import FALLBACK_LANGUAGE, SUPPORTED_LANGUAGES
from cxengine_nlp.taxonomy import Taxonomy
from cxengine_nlp.themes import CxThemes

PIPELINE_LANGUAGES: tuple[str, ...] = (*SUPPORTED_LANGUAGES, FALLBACK_LANGUAGE)
# A few taxonomies per language at most in practice; bound it so a long-lived process
# that is handed many ad-hoc taxonomies does not grow without limit.
_MAX_CACHED = 8
#: A pipeline whose vocabulary grew past this many lexemes is rebuilt on next use. Every
#: new word form stays in spaCy's vocab, string store and tokenizer cache (~1 KB each);
#: 600,000 distinct real-world comments add hundreds of thousands of forms, hundreds of
#: MB. Rebuilding costs ~1 s and changes no result (the caches only save work).
MAX_LEXEMES = 100_000
_CACHE: OrderedDict[tuple[str, str], Language] = OrderedDict()


_RU_NUM_WORDS = frozenset(_RU_NUM_WORD_LIST)


def like_num_ru(text: str) -> bool:
    """spaCy's Russian `like_num`, with its 884 number words in a set, not a list.

    spaCy computes it once per new word form; the list scan made it a third of the
    cost of a new lexeme, which on real text (most forms new) was ~10 % of a first run.
    Same answers: a test compares the two on every number word and a sample of text.
    """
    if text.startswith(("+", "-", "±", "~")):
        text = text[1:]
    if text.endswith("%"):
        text = text[:-1]
    text = text.replace(",", "").replace(".", "")
    if text.isdigit():
        return True
    if text.count("/") == 1:
        num, denom = text.split("/")
        if num.isdigit() and denom.isdigit():
            return True
    return text.lower() in _RU_NUM_WORDS


def build_pipeline(lang: str, taxonomy: Taxonomy) -> Language:
    """Return a new blank pipeline for `lang` with lemmatizer, themes and sentiment."""
    if lang not in PIPELINE_LANGUAGES:
        known = ", ".join(PIPELINE_LANGUAGES)
        raise ValueError(f"'{lang}' is not a pipeline language. Known languages: {known}")
    nlp = spacy.blank(lang)
    if lang == "ru":
        # The vocab's getters are not in spaCy's type stubs.
        cast(Any, nlp.vocab).lex_attr_getters[LIKE_NUM] = like_num_ru
    nlp.add_pipe("cx_lemmatizer")
    themes = nlp.add_pipe("cx_themes", config={"taxonomies": []})
    assert isinstance(themes, CxThemes)
    themes.set_taxonomy(taxonomy)
    nlp.add_pipe("cx_sentiment")
    return nlp


def get_pipeline(lang: str, taxonomy: Taxonomy) -> Language:
    """Return the cached pipeline for `lang` and this taxonomy, building it on first use."""
    key = (lang, taxonomy.version)
    nlp = _CACHE.get(key)
    if nlp is None:
        nlp = build_pipeline(lang, taxonomy)
        _CACHE[key] = nlp
        while len(_CACHE) > _MAX_CACHED:
            _CACHE.popitem(last=False)
    else:
        _CACHE.move_to_end(key)
    return nlp


def forget_if_large(lang: str, taxonomy: Taxonomy) -> None:
    """Drop the cached pipeline of `lang` when its vocabulary outgrew MAX_LEXEMES."""
    key = (lang, taxonomy.version)
    nlp = _CACHE.get(key)
    if nlp is not None and len(nlp.vocab) > MAX_LEXEMES:
        del _CACHE[key]
