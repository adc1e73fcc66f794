"""Suggest taxonomy terms: frequent lemmas and phrases in comments no theme matches."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from spacy.language import Language

from cxengine_nlp.api import _clean
from cxengine_nlp.languages import detect_language
from cxengine_nlp.lexicon import load_lexicon
from cxengine_nlp.pipeline import PIPELINE_LANGUAGES, get_pipeline
from cxengine_nlp.rules import rules_for
from cxengine_nlp.taxonomy import Taxonomy


@dataclass(frozen=True)
class TermSuggestion:
    """A candidate term: lemma or lemma phrase, and how many unmatched comments hold it."""

    term: str
    comments: int
    words: int  # 1 for a lemma, 2-3 for a phrase
    language: str


def suggest_terms(
    texts: Iterable[object],
    taxonomy: Taxonomy,
    language: str = "auto",
    top: int = 50,
) -> list[TermSuggestion]:
    """Return the `top` commonest lemmas and 2-3-lemma phrases in comments without themes.

    Counts are comment counts (a word repeated in one comment counts once). Stop words,
    numbers, one- and two-letter tokens and sentiment words are left out of single
    lemmas: they are not topics. Phrases are runs of adjacent content lemmas seen in
    at least two comments. Ties are broken alphabetically, so output is deterministic.
    """
    if language != "auto" and language not in PIPELINE_LANGUAGES:
        known = ", ".join(("auto", *PIPELINE_LANGUAGES))
        raise ValueError(f"'{language}' is not a known language. Known: {known}")
    groups: dict[str, list[str]] = {}
    for raw in texts:
        text = _clean(raw)
        if text.strip():
            lang = detect_language(text) if language == "auto" else language
            groups.setdefault(lang, []).append(text)
    singles: Counter[tuple[str, str]] = Counter()
    phrases: Counter[tuple[str, str, int]] = Counter()
    for lang, items in groups.items():
        nlp = get_pipeline(lang, taxonomy)
        stop = _stop_words(nlp, lang)
        sentiment = load_lexicon(lang).words
        for doc in nlp.pipe(items, batch_size=512):
            if doc._.cx_themes:
                continue
            content = [
                (t.i, t.lemma_)
                for t in doc
                if t.is_alpha
                and len(t.lemma_) > 2
                and t.lemma_ not in stop
                and t.lower_ not in stop
            ]
            singles.update({(lang, lemma) for _, lemma in content if not sentiment.get(lemma)})
            found: set[tuple[str, str, int]] = set()
            for k in range(len(content)):
                for n in (2, 3):
                    window = content[k : k + n]
                    if len(window) == n and window[-1][0] - window[0][0] == n - 1:
                        found.add((lang, " ".join(lemma for _, lemma in window), n))
            phrases.update(found)
    out = [TermSuggestion(term, c, 1, lang) for (lang, term), c in singles.items()]
    out += [TermSuggestion(term, c, n, lang) for (lang, term, n), c in phrases.items() if c >= 2]
    out.sort(key=lambda s: (-s.comments, s.words, s.term))
    return out[:top]


def _stop_words(nlp: Language, lang: str) -> frozenset[str]:
    rules = rules_for(lang)
    extra: Sequence[str] = (*rules.negators, *rules.boosters, *rules.contrast, *rules.concessive)
    return frozenset(nlp.Defaults.stop_words) | frozenset(extra)
