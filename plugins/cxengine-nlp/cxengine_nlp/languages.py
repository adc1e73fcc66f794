"""Cheap per-comment language detection: script ratio first, stop words second.

A comment is one or two sentences, so a statistical language identifier would cost more
than the whole analysis; the two languages we support differ by script, and English vs.
other Latin-script languages is told apart by a handful of very frequent words.
"""

from __future__ import annotations

import re
from itertools import islice

SUPPORTED_LANGUAGES: tuple[str, ...] = ("en", "ru")
#: spaCy's code for "multi-language"; used for every comment we cannot analyse properly.
FALLBACK_LANGUAGE = "xx"

# Detection only looks at the start of long comments; the language rarely changes
# after the first few sentences and the cost must stay flat.
_SAMPLE_CHARS = 2000

_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
_LATIN = re.compile(r"[a-z]", re.IGNORECASE)
# Letters that Ukrainian, Belarusian, Serbian, Macedonian use and Russian does not.
_NON_RUSSIAN_CYRILLIC = re.compile(r"[іїєґўђјљњћџѓќѕ]", re.IGNORECASE)
# Diacritics common in other Latin-script languages and absent from English words.
_NON_ENGLISH_LATIN = re.compile(r"[äöüßéèêëàâçñõãìíòóùúåøæœ]", re.IGNORECASE)
_WORD = re.compile(r"[a-z']+", re.IGNORECASE)
# Parts of a post that are not in its language: URLs, e-mail addresses, @handles,
# #hashtags and the retweet marker. "RT @aeroflot_help ... https://t.co/x" in a Russian
# tweet holds more Latin letters than the Russian words beside them.
_NOT_LANGUAGE = re.compile(
    r"(?:https?://|www\.)\S+|\S+@\S+\.\w+|[@#][\w.]+|\bRT\b",
    re.IGNORECASE,
)
_NOT_LANGUAGE_BUT_TAGS = re.compile(
    r"(?:https?://|www\.)\S+|\S+@\S+\.\w+|@[\w.]+|\bRT\b|#",
    re.IGNORECASE,
)

_ENGLISH_MARKERS = frozenset(
    [
        "the",
        "and",
        "is",
        "was",
        "it",
        "i",
        "to",
        "of",
        "not",
        "very",
        "but",
        "my",
        "with",
        "for",
        "this",
        "that",
        "you",
        "they",
        "we",
        "are",
        "have",
        "be",
        "so",
        "too",
        "had",
        "has",
        "were",
        "would",
        "will",
        "can",
        "at",
        "on",
        "in",
        "an",
        "or",
        "me",
        "our",
        "your",
        "no",
        "just",
    ]
)
_OTHER_LATIN_MARKERS = frozenset(
    # German, French, Spanish, Italian, Portuguese, Dutch: frequent function words that
    # are not English words (or are very rare in English comments).
    [
        "der",
        "das",
        "und",
        "ist",
        "nicht",
        "ein",
        "eine",
        "ich",
        "sehr",
        "mit",
        "auch",
        "aber",
        "wir",
        "sie",
        "war",
        "zu",
        "le",
        "les",
        "et",
        "est",
        "pas",
        "une",
        "des",
        "du",
        "très",
        "je",
        "mais",
        "avec",
        "pour",
        "nous",
        "vous",
        "c'est",
        "el",
        "los",
        "las",
        "es",
        "muy",
        "pero",
        "y",
        "que",
        "por",
        "una",
        "con",
        "del",
        "fue",
        "lo",
        "il",
        "di",
        "che",
        "della",
        "non",
        "per",
        "sono",
        "molto",
        "ma",
        "gli",
        "não",
        "muito",
        "uma",
        "com",
        "os",
        "mas",
        "foi",
        "het",
        "een",
        "niet",
        "zeer",
        "maar",
        "ook",
    ]
)


def detect_language(text: str) -> str:
    """Return "ru", "en" or "xx" (anything else, or no letters at all) for one comment."""
    sample = text[:_SAMPLE_CHARS]
    if "@" in sample or "#" in sample or "://" in sample or "www." in sample or "RT" in sample:
        words_only = _NOT_LANGUAGE.sub(" ", sample)
        if not any(ch.isalpha() for ch in words_only):
            # A post of nothing but hashtags still says something about its language:
            # then the tags' words are the evidence (handles and URLs never are).
            words_only = _NOT_LANGUAGE_BUT_TAGS.sub(" ", sample)
        sample = words_only
    if sample.isascii():
        # The common English case: no Cyrillic and no diacritics possible, so only
        # the function words need counting.
        words = _WORD.findall(sample.lower())
        if not words:
            return FALLBACK_LANGUAGE
        english = sum(1 for w in words if w in _ENGLISH_MARKERS)
        other = sum(1 for w in words if w in _OTHER_LATIN_MARKERS)
        return "en" if english >= other else FALLBACK_LANGUAGE
    latin = len(_LATIN.findall(sample))
    non_russian = len(_NON_RUSSIAN_CYRILLIC.findall(sample))
    if non_russian:
        cyrillic = len(_CYRILLIC.findall(sample))
    else:
        # Only "none", "fewer than the Latin letters" or "at least as many" matter
        # here, so counting stops there: listing every Cyrillic letter of a Russian
        # review was most of the cost of detecting its language.
        cyrillic = sum(1 for _ in islice(_CYRILLIC.finditer(sample), max(latin, 1)))
    if cyrillic == 0 and latin == 0:
        return FALLBACK_LANGUAGE
    if cyrillic >= latin:
        # Russian comments quote Latin brand names; the opposite is rare.
        if non_russian * 50 > cyrillic:
            return FALLBACK_LANGUAGE
        return "ru"
    words = [w.lower() for w in _WORD.findall(sample)]
    english = sum(1 for w in words if w in _ENGLISH_MARKERS)
    other = sum(1 for w in words if w in _OTHER_LATIN_MARKERS)
    other += len(_NON_ENGLISH_LATIN.findall(sample))
    # Short comments without function words ("Great service!") default to English,
    # the lingua franca of reviews; only positive evidence makes them "xx".
    return "en" if english >= other else FALLBACK_LANGUAGE
