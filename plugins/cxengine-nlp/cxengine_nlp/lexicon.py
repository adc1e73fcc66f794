"""Sentiment lexicons: loading, lemmatising the entries, and their content versions.

English = VADER's lexicon (MIT, shipped as data/en_vader.tsv with its notice) overlaid
with the team's CX additions (data/en_cx.tsv). Russian = the team's own lexicon
(data/ru_cx.tsv). Emoji and emoticons (data/emoji.tsv) apply in every language. Any
other language ("xx") uses emoji and emoticons only: the English lexicon was tried and
rejected, because common words of other languages are English sentiment words
(German "war" = was, "die" = the, "hell" = bright) and turned neutral comments negative.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache

from cxengine_nlp.cache_key import DATA_DIR, LEXICON_FILES
from cxengine_nlp.lemmatizer import lemma_function


@dataclass(frozen=True)
class Lexicon:
    """Word and two-word valences for one language, on VADER's -4..+4 scale."""

    lang: str
    #: Keys are lemmas; for English also the lower-cased surface forms VADER lists.
    words: dict[str, float]
    #: Adjacent lemma pairs ("fall apart", "так себе").
    bigrams: dict[tuple[str, str], float]
    version: str


def lexicon_language(lang: str) -> str:
    """Return which lexicon a pipeline language uses ("xx" for unsupported ones)."""
    return lang if lang in LEXICON_FILES else "xx"


@cache
def load_lexicon(lang: str) -> Lexicon:
    """Load (once per process) the lexicon for a language code."""
    key = lexicon_language(lang)
    # Lexicon keys are lemmatised like comment tokens, so an entry written as
    # "пересолен" still matches the lemma "пересолить" pymorphy3 produces.
    lemma = lemma_function(key)
    words: dict[str, float] = {}
    bigrams: dict[tuple[str, str], float] = {}
    digest = hashlib.sha256()
    for name in LEXICON_FILES[key]:
        raw = (DATA_DIR / name).read_bytes()
        digest.update(raw)
        for word, value in _entries(raw.decode("utf-8")):
            parts = word.split()
            if len(parts) == 2:
                bigrams[(lemma(parts[0].lower()), lemma(parts[1].lower()))] = value
            elif len(parts) == 1:
                low = parts[0].lower()
                # VADER's entries are surface forms; a Russian entry written as people
                # type it ("охренели", "заебали") matches as typed too, because
                # pymorphy3 guesses unknown slang to lemmas that vary by form.
                if key != "ru" or low not in words:
                    words[low] = value
                lem = lemma(low)
                # A surface form listed explicitly keeps its own value; the lemma
                # only gets one if nothing claimed it yet ("loved" vs "love").
                if lem == low or lem not in words or key == "ru":
                    words[lem] = value
    return Lexicon(lang=key, words=words, bigrams=bigrams, version=digest.hexdigest()[:10])


def _entries(text: str) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        word, _, value = line.rpartition("\t")
        if word:
            out.append((word.strip(), float(value)))
    return out
