"""Themes and sentiment for customer comments, built on spaCy blank pipelines.

The plain-Python API the cxengine host calls is re-exported here; the spaCy components
(`cx_lemmatizer`, `cx_themes`, `cx_sentiment`) are registered when their modules are
imported, which spaCy does itself through the `spacy_factories` entry point group.

Names are imported lazily: spaCy imports this package (via the entry points) every
time *any* pipeline is created, so importing it must stay cheap and side-effect free.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cxengine_nlp.api import CommentAnalysis, analyze
    from cxengine_nlp.cache_key import analyzer_version
    from cxengine_nlp.languages import SUPPORTED_LANGUAGES, detect_language
    from cxengine_nlp.suggest import TermSuggestion, suggest_terms
    from cxengine_nlp.taxonomy import (
        Problem,
        Taxonomy,
        TaxonomyError,
        Theme,
        default_taxonomy,
        load_taxonomy,
        restaurant_taxonomy,
    )
    from cxengine_nlp.version import __version__

_EXPORTS = {
    "CommentAnalysis": "api",
    "analyze": "api",
    "analyzer_version": "cache_key",
    "SUPPORTED_LANGUAGES": "languages",
    "detect_language": "languages",
    "TermSuggestion": "suggest",
    "suggest_terms": "suggest",
    "Problem": "taxonomy",
    "Taxonomy": "taxonomy",
    "TaxonomyError": "taxonomy",
    "Theme": "taxonomy",
    "default_taxonomy": "taxonomy",
    "load_taxonomy": "taxonomy",
    "restaurant_taxonomy": "taxonomy",
    "__version__": "version",
}

__all__ = [
    "SUPPORTED_LANGUAGES",
    "CommentAnalysis",
    "Problem",
    "Taxonomy",
    "TaxonomyError",
    "TermSuggestion",
    "Theme",
    "__version__",
    "analyze",
    "analyzer_version",
    "default_taxonomy",
    "detect_language",
    "load_taxonomy",
    "restaurant_taxonomy",
    "suggest_terms",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cxengine_nlp' has no attribute '{name}'")
    return getattr(import_module(f"cxengine_nlp.{module}"), name)
