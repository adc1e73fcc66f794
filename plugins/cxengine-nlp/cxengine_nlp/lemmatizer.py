"""Cached lemmatisation and the `cx_lemmatizer` spaCy component.

Russian uses pymorphy3's most probable parse, English the `lemma_lookup` table of
spacy-lookups-data. Both are wrapped in a cache keyed by the lower-cased token: CX
comments repeat a small vocabulary, and spaCy's own pymorphy3 lemmatizer (which parses
every token again, with its POS-based disambiguation) measured ~24x slower.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, lru_cache
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

# Enough for the long tail of a large comment set; an LRU keeps memory bounded when a
# process analyses millions of comments with typos and numbers.
_CACHE_SIZE = 200_000


@cache
def _morph() -> Any:
    import pymorphy3  # imported lazily: building the analyzer costs ~0.1 s

    return pymorphy3.MorphAnalyzer(lang="ru")


@lru_cache(maxsize=_CACHE_SIZE)
def lemma_ru(lower: str) -> str:
    """Return the pymorphy3 normal form of a lower-cased Russian token, with ё as е."""
    if not any("а" <= ch <= "я" or ch == "ё" for ch in lower):
        return lower  # numbers, punctuation, Latin brand names: pymorphy3 adds nothing
    parses = _morph().parse(lower)
    lemma: str = parses[0].normal_form if parses else lower
    # Writers use "е" for "ё" freely; lexicon and taxonomy lookups must not care.
    return lemma.replace("ё", "е")


@cache
def _en_table() -> Any:
    from spacy.lookups import load_lookups

    # A spaCy Table: string keys are hashed on access, values are the lemma strings.
    return load_lookups("en", ["lemma_lookup"]).get_table("lemma_lookup")


@lru_cache(maxsize=_CACHE_SIZE)
def lemma_en(lower: str) -> str:
    """Return the lookup-table lemma of a lower-cased English token (itself if unknown)."""
    # The tables are case-sensitive and hold lower-case keys, hence the lower-cased key.
    if lower == "n't":
        return "not"
    value = _en_table().get(lower)
    return lower if value is None else str(value)


def _identity(lower: str) -> str:
    return lower


def lemma_function(lang: str) -> Callable[[str], str]:
    """Return the cached lemma function for a language code (identity for others)."""
    if lang == "ru":
        return lemma_ru
    if lang == "en":
        return lemma_en
    return _identity


class CxLemmatizer:
    """Write `token.lemma_` from a per-language cache keyed by the lower-cased form."""

    def __init__(self, nlp: Language, name: str = "cx_lemmatizer", overwrite: bool = True) -> None:
        self.name = name
        self.overwrite = overwrite
        self._strings = nlp.vocab.strings
        self._lemma = lemma_function(nlp.lang or "xx")
        # lower-form hash -> lemma hash: after warm-up a token costs two int look-ups,
        # no string is built and the string store is not touched.
        self._ids: dict[int, int] = {}

    def __call__(self, doc: Doc) -> Doc:
        ids = self._ids
        for token in doc:
            if not self.overwrite and token.lemma != 0:
                continue
            lemma_id = ids.get(token.lower)
            if lemma_id is None:
                lemma_id = self._strings.add(self._lemma(token.lower_))
                if len(ids) < _CACHE_SIZE:
                    ids[token.lower] = lemma_id
            token.lemma = lemma_id
        return doc


def ensure_lemmas(doc: Doc, lemma: Callable[[str], str] | None = None) -> None:
    """Lemmatise `doc` in place unless a lemmatizer already ran (first token has a lemma)."""
    if len(doc) == 0 or doc[0].lemma != 0:
        return
    fn = lemma or lemma_function(doc.lang_)
    strings = doc.vocab.strings
    for token in doc:
        token.lemma = strings.add(fn(token.lower_))


@Language.factory(
    "cx_lemmatizer",
    default_config={"overwrite": True},
)
def make_lemmatizer(nlp: Language, name: str, overwrite: bool) -> CxLemmatizer:
    """Create the cached lemmatizer (pymorphy3 for ru, lookup tables for en)."""
    return CxLemmatizer(nlp, name, overwrite=overwrite)
