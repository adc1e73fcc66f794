"""The `cx_sentiment` component: lexicon scores with negation, intensity and contrast.

Per token: the lexicon valence of its lower-cased form or lemma (or of the lemma pair
it starts), times the intensifiers just before it, flipped (x -0.74, VADER's factor)
when a negator is within `negation_window` tokens before it in the same clause.
Per document: a weighted sum, where a "but"-like word halves what came before it in
the sentence and boosts what follows (x1.5), and an "although" clause counts half;
the sum is squashed into [-1, 1] with x / sqrt(x² + alpha), like VADER's compound.
Per theme: the same sum over the clause of each theme mention (the sentence when the
clause carries no sentiment), squashed the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

from spacy.language import Language
from spacy.tokens import Doc

from cxengine_nlp.extensions import register_extensions, state
from cxengine_nlp.lemmatizer import ROWS_KEY, ensure_lemmas
from cxengine_nlp.lexicon import load_lexicon
from cxengine_nlp.rules import rules_for

NEGATION_SCALAR = -0.74  # VADER's: a negated word keeps most, not all, of its strength

register_extensions()

# Token roles, looked up once per token by lower-cased form and lemma hash.
_SENT_END, _CLAUSE, _CONTRAST, _CONCESSIVE, _NEG, _IRREALIS, _BOOST, _EXCESS, _REQUEST = range(9)
_SENTENCE_ENDS = (".", "!", "?", "...", "…", "!!", "!!!", "?!", "\n", "\n\n", " \n", "\n ")
_CLAUSE_BREAKS = (",", ";", ":", "—", "–", "(", ")")
# After "too"/"слишком", a neutral word reads as excess, i.e. a complaint ("too small").
_EXCESS_VALENCE = -1.0
# A negated expectation ("never arrived", "не работает", "нет связи"): a plain
# complaint, as strong as "bad" (VADER -2.5) after negation's damping.
FAILURE_VALENCE = -1.6
# Courtesy formulas alone keep this share of their valence: "thanks" closes complaints
# and requests as often as it praises (see _weigh_courtesy for the other cases).
COURTESY_WEIGHT = 0.35
# A request marker ("please", "помогите") mutes positive words this many tokens after it
# in the same sentence: "please help me", "подскажите, пожалуйста, как ...".
REQUEST_WINDOW = 4
# Sentences ending in "?" ask rather than judge: their praise words mostly name what
# the writer hopes for ("is it good?"), their complaint words still carry some of the
# grievance ("why is my order still not here?").
QUESTION_POSITIVE = 0.25
QUESTION_NEGATIVE = 0.6
_QUESTION_MARKS = ("?", "??", "???", "?!?")
# Words that may follow "too" without being the thing in excess.
_EXCESS_SKIP = frozenset(
    [
        "be",
        "the",
        "a",
        "an",
        "and",
        "i",
        "it",
        "to",
        "me",
        "is",
        "was",
        "are",
        "were",
        "much",
        "many",
    ]
)


class _Hit(NamedTuple):
    # A NamedTuple, not a dataclass: one is built per sentiment word, and frozen
    # dataclasses cost ~3x more to construct.
    position: int  # token index (not `index`: that is tuple.index)
    value: float  # valence after negation and intensifiers
    weight: float  # contrast / concession weight for the document score
    sentence: int
    clause: int


def _boost_factor(boosts: list[tuple[int, float]], i: int) -> float:
    """Multiply the intensifiers among the two tokens before position i."""
    factor = 1.0
    for pos, f in reversed(boosts):
        if i - pos > 2:
            break
        if pos < i:
            factor *= f
    return factor


def _negated(negators: list[int], window_start: int, clause_start: int) -> bool:
    """Return True when an odd number of negators lie in the window ("not un-" cancels)."""
    count = 0
    for pos in reversed(negators):
        if pos < window_start or pos < clause_start:
            break
        count += 1
    return count % 2 == 1


def _weigh_courtesy(hits: list[_Hit], courtesy: list[int]) -> list[_Hit]:
    """Settle what "thanks" means from the rest of the comment.

    Beside a complaint in its sentence it is a closing formula or sarcasm ("thanks for
    nothing"): dropped. Beside praise ("fast delivery, thanks!") it is part of the
    praise: full weight. Alone it is politeness: it keeps its damped weight.
    """
    marked = set(courtesy)
    complaining = {h.sentence for h in hits if h.value < 0}
    praising = any(h.value > 0 for k, h in enumerate(hits) if k not in marked)
    out = []
    for k, hit in enumerate(hits):
        if k in marked:
            if hit.sentence in complaining:
                continue
            if praising:
                hit = hit._replace(value=hit.value / COURTESY_WEIGHT)
        out.append(hit)
    return out


def _asked(hit: _Hit) -> _Hit:
    """Pull a sentiment word inside a question towards neutral."""
    factor = QUESTION_POSITIVE if hit.value > 0 else QUESTION_NEGATIVE
    return _Hit(hit.position, hit.value * factor, hit.weight, hit.sentence, hit.clause)


def squash(total: float, alpha: float) -> float:
    """Map an unbounded sum of valences into [-1, 1] (VADER's normalisation)."""
    if total == 0.0:
        return 0.0
    return total / math.sqrt(total * total + alpha)


class CxSentiment:
    """Score documents and theme mentions (read as `doc._.cx_sentiment`, `cx_label`, ...)."""

    def __init__(
        self,
        nlp: Language,
        name: str = "cx_sentiment",
        *,
        alpha: float = 15.0,
        positive_threshold: float = 0.4,
        negative_threshold: float = -0.15,
        negation_window: int = 3,
        contrast_before: float = 0.5,
        contrast_after: float = 1.5,
        concessive_weight: float = 0.5,
        negative_weight: float | None = None,
        mixed_damping: float = 0.5,
    ) -> None:
        self.name = name
        self.alpha = alpha
        self.positive_threshold = positive_threshold
        self.negative_threshold = negative_threshold
        self.negation_window = negation_window
        self.contrast_before = contrast_before
        self.contrast_after = contrast_after
        self.concessive_weight = concessive_weight
        self.mixed_damping = mixed_damping
        lexicon = load_lexicon(nlp.lang or "xx")
        rules = rules_for(nlp.lang or "xx")
        self.negative_weight = rules.negative_weight if negative_weight is None else negative_weight
        strings = nlp.vocab.strings
        # Hash-keyed copies: the scorer then never builds a Python string per token.
        self._words = {strings.add(k): v for k, v in lexicon.words.items()}
        self._bigrams = {
            (strings.add(a), strings.add(b)): v for (a, b), v in lexicon.bigrams.items()
        }
        self._bigram_starts = frozenset(a for a, _ in self._bigrams)
        self._boost = {strings.add(k): v for k, v in rules.boosters.items()}
        roles: dict[int, int] = {}
        for words, role in (
            (_SENTENCE_ENDS, _SENT_END),
            (_CLAUSE_BREAKS, _CLAUSE),
            (rules.contrast, _CONTRAST),
            (rules.concessive, _CONCESSIVE),
            (rules.negators, _NEG),
            (rules.irrealis, _IRREALIS),
            (rules.excess, _EXCESS),
            (rules.requests, _REQUEST),
        ):
            for word in words:
                roles[strings.add(word)] = role
        if nlp.lang == "ru":
            roles[strings.add("а")] = _CLAUSE  # "еда вкусная, а сервис ужасный"
        self._roles = roles
        # Most tokens are none of the above; one set test each lets them skip the rest.
        self._known = (
            frozenset(roles) | frozenset(self._words) | frozenset(self._boost) | self._bigram_starts
        )
        self._excess_skip = frozenset(strings.add(w) for w in _EXCESS_SKIP)
        self._expected = frozenset(strings.add(w) for w in rules.expected)
        self._courtesy = frozenset(strings.add(w) for w in rules.courtesy)
        self._questions = frozenset(strings.add(w) for w in _QUESTION_MARKS)
        self._postposed = frozenset(strings.add(w) for w in rules.postposed_negators)
        self._known = self._known | self._expected
        self.lexicon_version = lexicon.version

    def __call__(self, doc: Doc) -> Doc:
        ensure_lemmas(doc)
        data = state(doc)
        matches: tuple[tuple[str, int, int], ...] = data.get("matches", ())
        located: dict[int, tuple[int, int]] = {}
        hits = self.hits(doc, {start for _, start, _ in matches}, located)
        self._store(data, matches, hits, located)
        return doc

    def score_rows(
        self,
        rows: Sequence[tuple[int, int]],
        is_alpha: Callable[[int], bool],
        matches: Sequence[tuple[str, int, int]],
        data: dict[str, object],
    ) -> None:
        """Write score, label and theme sentiment of a token sequence into `data`.

        What the component writes for a Doc, from (lower hash, lemma hash) rows.
        """
        located: dict[int, tuple[int, int]] = {}
        hits = self.row_hits(rows, is_alpha, {start for _, start, _ in matches}, located)
        self._store(data, matches, hits, located)

    def _store(
        self,
        data: dict[str, object],
        matches: Sequence[tuple[str, int, int]],
        hits: list[_Hit],
        located: dict[int, tuple[int, int]],
    ) -> None:
        score = self.score(hits)
        data["score"] = score
        data["label"] = self.label(score)
        data["theme_sentiment"] = self.theme_scores(matches, hits, located)

    def score(self, hits: Sequence[_Hit]) -> float:
        """Return the document score: squashed weighted sum, damped when mixed."""
        positive = negative = 0.0
        for hit in hits:
            weighted = hit.value * hit.weight
            if weighted > 0:
                positive += weighted
            else:
                negative -= weighted
        score = squash(positive - negative, self.alpha)
        if self.mixed_damping and positive and negative:
            # Praise and complaints side by side ("love the colour, hate the fit")
            # read as a middling verdict, not as whichever side has one more word.
            mixed = min(positive, negative) / max(positive, negative)
            score *= 1.0 - min(1.0, self.mixed_damping * mixed)
        return score

    def label(self, score: float) -> str:
        """Return "positive", "negative" or "neutral" for a squashed score."""
        if score >= self.positive_threshold:
            return "positive"
        if score <= self.negative_threshold:
            return "negative"
        return "neutral"

    def hits(
        self,
        doc: Doc,
        need: set[int] | frozenset[int] = frozenset(),
        located: dict[int, tuple[int, int]] | None = None,
    ) -> list[_Hit]:
        """Return the sentiment-bearing tokens of `doc` with their adjusted valences.

        For every token index in `need`, `located` receives its (clause, sentence).
        """
        rows: list[tuple[int, int]] | None = doc.user_data.pop(ROWS_KEY, None)
        if rows is None or len(rows) != len(doc):
            # Plain int pairs: iterating Tokens once is ~3x cheaper than doc.to_array here.
            rows = [(t.lower, t.lemma) for t in doc]
        return self.row_hits(rows, lambda i: bool(doc[i].is_alpha), need, located)

    def row_hits(
        self,
        rows: Sequence[tuple[int, int]],
        is_alpha: Callable[[int], bool],
        need: set[int] | frozenset[int] = frozenset(),
        located: dict[int, tuple[int, int]] | None = None,
    ) -> list[_Hit]:
        """Return the hits of a token sequence given as (lower hash, lemma hash) rows.

        What `hits` does without a Doc: `is_alpha(i)` answers `token.is_alpha` for
        token i, which only a word after "too" asks. The analysis without Docs
        (`fastpath`) scores through here, so both ways give the same hits.
        """
        words, roles, boost, known = self._words, self._roles, self._boost, self._known
        hits: list[_Hit] = []
        sentence = clause = 0
        clause_start = 0
        last_neg: list[int] = []  # positions of negators in the current clause
        last_irrealis = -100
        last_excess = -100
        boosts: list[tuple[int, float]] = []
        contrasts: list[tuple[int, int]] = []  # (position, sentence)
        sentence_starts = [0]
        concessive_clauses: set[int] = set()
        questions: set[int] = set()  # sentences that end in "?"
        last_request = -100
        last_expected = -100  # an expected word not (yet) negated: "интернета [нет]"
        courtesy: list[int] = []  # indexes into hits of courtesy formulas
        skip_next = False
        n = len(rows)
        for i in range(n):
            if need and i in need and located is not None:
                located[i] = (clause, sentence)
            if skip_next:
                skip_next = False
                continue
            lower, lemma = rows[i]
            if lower not in known and lemma not in known:
                if i - last_excess == 1 and is_alpha(i) and lower not in self._excess_skip:
                    hits.append(
                        self._excess_hit(i, boosts, last_neg, clause_start, sentence, clause)
                    )
                continue
            role = roles.get(lower)
            if role is None:
                role = roles.get(lemma)
            if role is not None:
                if role == _SENT_END:
                    if lower in self._questions:
                        questions.add(sentence)
                    sentence += 1
                    clause += 1
                    clause_start = i + 1
                    sentence_starts.append(i + 1)
                    last_neg.clear()
                    continue
                if role == _CLAUSE:
                    clause += 1
                    clause_start = i + 1
                    last_neg.clear()
                    continue
                if role == _CONTRAST:
                    contrasts.append((i, sentence))
                    clause += 1
                    clause_start = i + 1
                    last_neg.clear()
                    continue
                if role == _CONCESSIVE:
                    clause += 1
                    clause_start = i
                    concessive_clauses.add(clause)
                    last_neg.clear()
                    continue
                if role == _NEG:
                    if (
                        lower in self._postposed
                        and i - last_expected <= 2
                        and last_expected >= clause_start
                    ):
                        hits.append(
                            _Hit(i, FAILURE_VALENCE * self.negative_weight, 1.0, sentence, clause)
                        )
                        last_expected = -100
                        continue
                    last_neg.append(i)
                    continue
                if role == _IRREALIS:
                    last_irrealis = i
                    continue
                if role == _EXCESS:
                    last_excess = i
                    boosts.append((i, boost.get(lower, 1.2)))
                    continue
                if role == _REQUEST:
                    last_request = i
                    continue
            value = None
            if lemma in self._bigram_starts and i + 1 < n:
                value = self._bigrams.get((lemma, rows[i + 1][1]))
                if value is not None:
                    skip_next = True
            if value is None:
                value = words.get(lower)
                if value is None:
                    value = words.get(lemma)
            factor = boost.get(lower) or boost.get(lemma)
            if factor is not None and i + 1 < n and self._valence(rows[i + 1]):
                # An intensifier that is also a sentiment word ("ужасно вкусно",
                # "pretty good") acts as an intensifier when sentiment follows.
                boosts.append((i, factor))
                continue
            negated = bool(last_neg) and _negated(last_neg, i - self.negation_window, clause_start)
            if negated and (lemma in self._expected or lower in self._expected):
                # "не работает", "never arrived", "no reply": a failure, not a flip.
                hits.append(_Hit(i, FAILURE_VALENCE * self.negative_weight, 1.0, sentence, clause))
                continue
            if lemma in self._expected or lower in self._expected:
                last_expected = i
            if not value:
                if i - last_excess == 1 and is_alpha(i) and lower not in self._excess_skip:
                    hits.append(
                        self._excess_hit(i, boosts, last_neg, clause_start, sentence, clause)
                    )
                continue
            if value > 0:
                if i - last_request <= REQUEST_WINDOW and last_request >= sentence_starts[-1]:
                    continue  # "please help", "помогите, пожалуйста": asked, not praised
                if lemma in self._courtesy or lower in self._courtesy:
                    value *= COURTESY_WEIGHT
                    courtesy.append(len(hits))
            if boosts and i - boosts[-1][0] <= 2:
                value *= _boost_factor(boosts, i)
            if negated or (value > 0 and i - last_irrealis <= 4 and last_irrealis >= clause_start):
                value *= NEGATION_SCALAR
            if value < 0:
                value *= self.negative_weight
            hits.append(_Hit(i, value, 1.0, sentence, clause))
        if courtesy:
            hits = _weigh_courtesy(hits, courtesy)
        if questions and hits:
            hits = [_asked(h) if h.sentence in questions else h for h in hits]
        if not hits or not (contrasts or concessive_clauses):
            return hits
        return self._weigh(hits, contrasts, sentence_starts, concessive_clauses)

    def _excess_hit(
        self,
        i: int,
        boosts: list[tuple[int, float]],
        last_neg: list[int],
        clause_start: int,
        sentence: int,
        clause: int,
    ) -> _Hit:
        # "too small": the excess word itself was recorded as an intensifier.
        value = _EXCESS_VALENCE * _boost_factor(boosts, i)
        if last_neg and _negated(last_neg, i - self.negation_window, clause_start):
            value *= NEGATION_SCALAR  # "not too small" reads as mildly positive
        if value < 0:
            value *= self.negative_weight
        return _Hit(i, value, 1.0, sentence, clause)

    def _valence(self, row: tuple[int, int]) -> float:
        return self._words.get(row[0]) or self._words.get(row[1]) or 0.0

    def _weigh(
        self,
        hits: list[_Hit],
        contrasts: list[tuple[int, int]],
        sentence_starts: list[int],
        concessive_clauses: set[int],
    ) -> list[_Hit]:
        weights = [self.concessive_weight if h.clause in concessive_clauses else 1.0 for h in hits]
        for pos, sentence in contrasts:
            opens_sentence = pos == sentence_starts[sentence]
            for k, hit in enumerate(hits):
                if opens_sentence:
                    # "... . But ..." discounts the previous sentence instead.
                    if hit.sentence == sentence - 1:
                        weights[k] *= self.contrast_before
                    elif hit.sentence == sentence:
                        weights[k] *= self.contrast_after
                elif hit.sentence == sentence:
                    before = hit.position < pos
                    weights[k] *= self.contrast_before if before else self.contrast_after
        return [
            _Hit(h.position, h.value, w, h.sentence, h.clause)
            for h, w in zip(hits, weights, strict=True)
        ]

    def theme_scores(
        self,
        matches: Sequence[tuple[str, int, int]],
        hits: list[_Hit],
        located: dict[int, tuple[int, int]],
    ) -> dict[str, float]:
        """Return theme id -> squashed sentiment of the clauses mentioning it."""
        if not matches:
            return {}
        if not hits:
            return {theme: 0.0 for theme, _, _ in matches}
        by_clause: dict[int, float] = {}
        by_sentence: dict[int, float] = {}
        for hit in hits:
            by_clause[hit.clause] = by_clause.get(hit.clause, 0.0) + hit.value
            by_sentence[hit.sentence] = by_sentence.get(hit.sentence, 0.0) + hit.value
        totals: dict[str, float] = {}
        seen: set[tuple[str, int]] = set()
        for theme, start, _end in matches:
            clause, sentence = located.get(start, (-1, -1))
            if (theme, clause) in seen:
                continue  # two terms of one theme in one clause count once
            seen.add((theme, clause))
            value = by_clause.get(clause)
            if value is None:
                value = by_sentence.get(sentence, 0.0)
            totals[theme] = totals.get(theme, 0.0) + value
        return {theme: squash(total, self.alpha) for theme, total in totals.items()}


@Language.factory(
    "cx_sentiment",
    default_config={
        "alpha": 15.0,
        "positive_threshold": 0.4,
        "negative_threshold": -0.15,
        "negation_window": 3,
        "contrast_before": 0.5,
        "contrast_after": 1.5,
        "concessive_weight": 0.5,
        "negative_weight": None,
        "mixed_damping": 0.5,
    },
)
def make_sentiment(
    nlp: Language,
    name: str,
    alpha: float,
    positive_threshold: float,
    negative_threshold: float,
    negation_window: int,
    contrast_before: float,
    contrast_after: float,
    concessive_weight: float,
    negative_weight: float | None,
    mixed_damping: float,
) -> CxSentiment:
    """Create the lexicon-and-rules sentiment scorer for the pipeline's language."""
    return CxSentiment(
        nlp,
        name,
        alpha=alpha,
        positive_threshold=positive_threshold,
        negative_threshold=negative_threshold,
        negation_window=negation_window,
        contrast_before=contrast_before,
        contrast_after=contrast_after,
        concessive_weight=concessive_weight,
        negative_weight=negative_weight,
        mixed_damping=mixed_damping,
    )
