"""Build the per-language spaCy pipelines once and reuse them.

Every pipeline is `spacy.blank(lang)` plus the three cx components; no trained model
is loaded or downloaded. Pipelines are cached per (language, taxonomy version) because
building one lemmatises the whole taxonomy (~50 ms) and loads the lexicon.
"""

from __future__ import annotations

from collections import OrderedDict

import spacy
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
_CACHE: OrderedDict[tuple[str, str], Language] = OrderedDict()


def build_pipeline(lang: str, taxonomy: Taxonomy) -> Language:
    """Return a new blank pipeline for `lang` with lemmatizer, themes and sentiment."""
    if lang not in PIPELINE_LANGUAGES:
        known = ", ".join(PIPELINE_LANGUAGES)
        raise ValueError(f"'{lang}' is not a pipeline language. Known languages: {known}")
    nlp = spacy.blank(lang)
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
