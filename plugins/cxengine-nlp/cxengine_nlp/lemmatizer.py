"""Cached lemmatisation and the `cx_lemmatizer` spaCy component.

Russian uses pymorphy3's most probable parse, English the `lemma_lookup` table of
spacy-lookups-data. Both are wrapped in a cache keyed by the lower-cased token: CX
comments repeat a small vocabulary, and spaCy's own pymorphy3 lemmatizer (which parses
every token again, with its POS-based disambiguation) measured ~24x slower.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache, lru_cache
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

#: `doc.user_data` key of the (lower hash, lemma hash) pairs the lemmatizer wrote; the
#: sentiment component consumes (removes) it.
ROWS_KEY = "cxengine_nlp.rows"
# Enough for the long tail of a large comment set; an LRU keeps memory bounded when a
# process analyses millions of comments with typos and numbers.
_CACHE_SIZE = 200_000


@cache
def _morph() -> Any:
    import pymorphy3  # imported lazily: building the analyzer costs ~0.1 s

    return pymorphy3.MorphAnalyzer(lang="ru")


# A token is worth a morphological parse only when it is a Cyrillic word, possibly
# hyphenated ("из-за", "кто-то"). URLs, @handles, #tags, numbers, emoji and Latin words
# inside Russian text come back as they are: pymorphy3 would only guess at them, and on
# real text they are a large share of the distinct forms.
_RUSSIAN_WORD = re.compile(r"[а-яё]+(?:-[а-яё]+)*")


@lru_cache(maxsize=_CACHE_SIZE)
def lemma_ru(lower: str) -> str:
    """Return the pymorphy3 normal form of a lower-cased Russian token, with ё as е."""
    if not _RUSSIAN_WORD.fullmatch(lower):
        return lower
    lemma = _dictionary_lemma(lower)
    if lemma is None:
        parses = _morph().parse(lower)
        lemma = parses[0].normal_form if parses else lower
    # Writers use "е" for "ё" freely; lexicon and taxonomy lookups must not care.
    return lemma.replace("ё", "е")


def _dictionary_lemma(lower: str) -> str | None:
    """Return pymorphy3's first-ranked normal form for a dictionary word, else None.

    This is what `MorphAnalyzer.parse(word)[0].normal_form` returns for words in the
    dictionary (the ranking is the same: P(tag | word), first parse on ties), without
    building every `Parse` with its tag object and method stack: ~3x cheaper per new
    form, which is most of the cost of a first run over real Russian text. Words not in
    the dictionary (None) go through the full parse with its guessers.
    """
    morph = _morph()
    dictionary = morph.dictionary
    candidates = [
        (fixed, para_id, idx)
        for fixed, paradigms in dictionary.words.similar_items(lower, morph.char_substitutes)
        for para_id, idx in paradigms
    ]
    if not candidates:
        return None
    forms = [dictionary.build_normal_form(p, i, fixed) for fixed, p, i in candidates]
    if len(set(forms)) == 1:
        return str(forms[0])
    # Rank like pymorphy3's ProbabilityEstimator: P(tag | word), stable on ties.
    estimator = morph.prob_estimator
    if estimator is None:
        return str(forms[0])
    probs = [
        estimator.p_t_given_w.prob(lower, dictionary.build_tag_info(p, i)) for _, p, i in candidates
    ]
    if not any(probs):
        return str(forms[0])
    best = max(range(len(forms)), key=lambda k: (probs[k], -k))
    return str(forms[best])


@cache
def _en_table() -> Any:
    from spacy.lookups import load_lookups

    # A spaCy Table: string keys are hashed on access, values are the lemma strings.
    return load_lookups("en", ["lemma_lookup"]).get_table("lemma_lookup")


# Forms whose lookup-table lemma changes what they mean in a comment: "later" (afterwards)
# and "latest" (newest) are not "late", "earlier" is not a complaint about being early.
# They keep their own form, so the lexicon's "late" (a delay) does not fire on them.
_EN_OWN_LEMMAS = {
    "n't": "not",
    "later": "later",
    "latest": "latest",
    "earlier": "earlier",
    "earliest": "earliest",
}


@lru_cache(maxsize=_CACHE_SIZE)
def lemma_en(lower: str) -> str:
    """Return the lookup-table lemma of a lower-cased English token (itself if unknown)."""
    # The tables are case-sensitive and hold lower-case keys, hence the lower-cased key.
    kept = _EN_OWN_LEMMAS.get(lower)
    if kept is not None:
        return kept
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
        rows: list[tuple[int, int]] = []
        for token in doc:
            if not self.overwrite and token.lemma != 0:
                rows.append((token.lower, token.lemma))
                continue
            lower = token.lower
            lemma_id = ids.get(lower)
            if lemma_id is None:
                lemma_id = self._strings.add(self._lemma(token.lower_))
                if len(ids) < _CACHE_SIZE:
                    ids[lower] = lemma_id
            token.lemma = lemma_id
            rows.append((lower, lemma_id))
        # The sentiment scorer reads exactly these pairs; handing them over saves it a
        # second walk over the Tokens (building Token objects is most of that cost).
        doc.user_data[ROWS_KEY] = rows
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
