"""The `cx_themes` component: taxonomy terms matched on lemmas with a PhraseMatcher.

Terms are tokenised with the pipeline's own tokenizer and lemmatised with the same
cached lemmatizer as the comments, so a term written "служба поддержки" matches
"службу поддержки" and "службой поддержки".
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc

from cxengine_nlp.extensions import register_extensions, state
from cxengine_nlp.lemmatizer import ensure_lemmas, lemma_function
from cxengine_nlp.taxonomy import Taxonomy, load_taxonomy, resolve_taxonomy_names

#: (theme id, start token, end token) for every match, in document order.
ThemeMatch = tuple[str, int, int]


register_extensions()

#: Hyphens and dashes that writers put between the words of a compound ("check-in",
#: "wi-fi", "онлайн-банк"); the tokenizer splits them off as tokens of their own.
_JOINERS = frozenset({"-", "‐", "‑"})
#: A term of up to this many words matches with any mix of spaces and hyphens between
#: its words; longer terms match written with all spaces or all hyphens.
_MAX_MIXED_GAPS = 3


def _joined_variants(words: list[str], lemmas: list[str]) -> list[tuple[list[str], list[str]]]:
    """Return the term as written with spaces, and with hyphens between its words.

    "check in", "check-in" and "check - in" are one term to a reader; the tokenizer
    makes a "-" token of the hyphen, so each spelling is its own token sequence.
    """
    gaps = len(words) - 1
    if gaps == 0:
        return [(words, lemmas)]
    if gaps <= _MAX_MIXED_GAPS:
        choices = list(itertools.product((False, True), repeat=gaps))
    else:
        choices = [(False,) * gaps, (True,) * gaps]
    variants = []
    for hyphens in choices:
        out_words, out_lemmas = [words[0]], [lemmas[0]]
        for k, hyphen in enumerate(hyphens, start=1):
            if hyphen:
                out_words.append("-")
                out_lemmas.append("-")
            out_words.append(words[k])
            out_lemmas.append(lemmas[k])
        variants.append((out_words, out_lemmas))
    return variants


class CxThemes:
    """Find taxonomy themes in a Doc (read them as `doc._.cx_themes`, `doc._.cx_theme_matches`)."""

    def __init__(
        self, nlp: Language, name: str = "cx_themes", taxonomy: Taxonomy | None = None
    ) -> None:
        self.name = name
        self._nlp = nlp
        self.taxonomy = taxonomy or load_taxonomy([], replace=False)
        self._build()

    def set_taxonomy(self, taxonomy: Taxonomy) -> None:
        """Replace the taxonomy and rebuild the matcher."""
        self.taxonomy = taxonomy
        self._build()

    def _build(self) -> None:
        nlp = self._nlp
        lang = nlp.lang or "xx"
        lemma = lemma_function(lang)
        self._matcher = PhraseMatcher(nlp.vocab, attr="LEMMA")
        self._order = {theme_id: k for k, theme_id in enumerate(self.taxonomy.ids)}
        self._names: dict[int, str] = {}
        # The same patterns as lemma-hash tuples, by their first lemma, for `match_lemmas`
        # (the analysis without Docs); a set per pattern, as the PhraseMatcher reports a
        # span once per theme however many of its terms spell it.
        by_first: dict[int, dict[tuple[int, ...], set[str]]] = {}
        strings = nlp.vocab.strings
        #: theme id -> the lemma sequences its terms became (what actually matches).
        self.lemmatised_terms: dict[str, tuple[tuple[str, ...], ...]] = {}
        for theme_id, terms in self.taxonomy.terms(lang).items():
            patterns = []
            sequences = []
            for term in terms:
                words = [t.text for t in nlp.tokenizer(term) if t.text not in _JOINERS]
                if words:
                    lemmas = [lemma(w.lower()) for w in words]
                    for variant in _joined_variants(words, lemmas):
                        patterns.append(Doc(nlp.vocab, words=variant[0], lemmas=variant[1]))
                        key = tuple(strings.add(x) for x in variant[1])
                        by_first.setdefault(key[0], {}).setdefault(key, set()).add(theme_id)
                    sequences.append(tuple(lemmas))
            if patterns:
                self._matcher.add(theme_id, patterns)
                self._names[nlp.vocab.strings[theme_id]] = theme_id
                self.lemmatised_terms[theme_id] = tuple(sequences)
        self._by_first = {
            first: tuple((key, len(key), tuple(themes)) for key, themes in patterns_.items())
            for first, patterns_ in by_first.items()
        }
        self._firsts = frozenset(self._by_first)

    def __call__(self, doc: Doc) -> Doc:
        data = state(doc)
        if not self._names or len(doc) == 0:
            data["themes"] = ()
            data["matches"] = ()
            return doc
        ensure_lemmas(doc)
        names = self._names
        self.store([(names[m], s, e) for m, s, e in self._matcher(doc)], data)
        return doc

    def match_lemmas(self, lemmas: Sequence[int]) -> list[ThemeMatch]:
        """Return what the PhraseMatcher finds in a Doc with these lemma hashes (unsorted).

        Every (theme, start, end) whose tokens' lemmas spell one of the theme's
        patterns, overlapping and nested spans included, once per theme and span.
        """
        if self._firsts.isdisjoint(lemmas):
            return []  # most comments: one C-level pass, no Python loop
        by_first, n = self._by_first, len(lemmas)
        found: list[ThemeMatch] = []
        for start, lemma in enumerate(lemmas):
            candidates = by_first.get(lemma)
            if candidates is None:
                continue
            for key, size, themes in candidates:
                end = start + size
                if end <= n and (size == 1 or tuple(lemmas[start:end]) == key):
                    found.extend((theme, start, end) for theme in themes)
        return found

    def store(self, matches: list[ThemeMatch], data: dict[str, object]) -> None:
        """Write the themes and the ordered matches into a result dict."""
        if len(matches) > 1:
            # Ties (one span, two themes) in taxonomy order, so that the order does
            # not depend on how the matcher walks its tables and both ways agree.
            order = self._order
            matches.sort(key=lambda m: (m[1], m[2], order[m[0]]))
        found = {theme for theme, _, _ in matches}
        data["themes"] = tuple(sorted(found, key=self._order.__getitem__))
        data["matches"] = tuple(matches)


@Language.factory("cx_themes", default_config={"taxonomies": ["default"]})
def make_themes(nlp: Language, name: str, taxonomies: Sequence[str]) -> CxThemes:
    """Create the theme matcher from shipped taxonomy names ("default", "restaurant") or paths."""
    taxonomy = load_taxonomy(resolve_taxonomy_names(taxonomies), replace=True)
    return CxThemes(nlp, name, taxonomy)
