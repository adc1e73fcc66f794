"""Sentiment learned from the scores that arrive with the comments (NPS, CSAT, ratings).

Almost every CX comment comes with a score on the same row. Mapped to three classes
(NPS 0-6 / 7-8 / 9-10, CSAT 1-2 / 3 / 4-5) those scores are free, in-domain labels,
noisy ones (a detractor may write a neutral sentence). `learn` trains spaCy's own
`textcat` (bag of words, from a blank pipeline, no vectors) on them; every comment,
scored or not, is then classified by it.

Features: the comment's lemmas (the plugin's cached lemmatizer, so Russian inflections
share one feature) plus tokens describing the lexicon's verdict: its score bucket, its
label, and the sign of each theme's sentiment. The lexicon thus acts as a prior the
model can lean on for short and rare texts instead of leaving them to a tiny model.
Class priors are divided out at half strength (p(c|x) / p(c)^0.5) before the argmax:
the neutral middle class is rare in scores and would otherwise never be predicted.

Training is seeded (same data, same model), bounded in work (epochs shrink as the data
grows), and reported: comments per class, cross-validated macro-F1 of the learned model
and of the lexicon alone on the same rows. Below `min_per_class` labelled comments in
any class it does not train and says so; callers keep the lexicon's labels.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from cxengine_nlp.api import CommentAnalysis, analyze
from cxengine_nlp.cache_key import analyzer_version
from cxengine_nlp.lemmatizer import lemma_function
from cxengine_nlp.taxonomy import Taxonomy, default_taxonomy

LABELS: tuple[str, ...] = ("negative", "neutral", "positive")
#: Below this many labelled comments in any class, the lexicon is used instead.
MIN_PER_CLASS = 30
#: Cross-validation folds for the reported figures.
FOLDS = 5
#: Cross-validation runs on at most this many rows (a seeded sample), so that the
#: report costs a bounded multiple of one training on large projects.
MAX_CV_ROWS = 5_000
#: Strength of the class-prior correction (0 = plain argmax, 1 = divide by the prior).
PRIOR_POWER = 0.5
#: Example-updates per training: 10 epochs on small sets, fewer on large ones.
_UPDATE_BUDGET = 120_000
_MAX_EPOCHS = 10
_BATCH = 64
_DROPOUT = 0.2
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class ScoreScale:
    """How a score maps to negative / neutral / positive (inclusive bounds)."""

    name: str
    low: float
    high: float
    negative_max: float
    positive_min: float

    def label(self, value: object) -> str | None:
        """Return the class of a score, or None when it is missing or off the scale."""
        if value is None or isinstance(value, bool):
            return None
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
        if math.isnan(number) or not self.low <= number <= self.high:
            return None
        if number <= self.negative_max:
            return "negative"
        if number >= self.positive_min:
            return "positive"
        return "neutral"


#: The scales a `learn_from` score may use; NPS and CSAT cut points by convention.
SCALES: dict[str, ScoreScale] = {
    "nps": ScoreScale("nps", 0, 10, negative_max=6, positive_min=9),
    "csat": ScoreScale("csat", 1, 5, negative_max=2, positive_min=4),
}


@dataclass(frozen=True)
class TrainingReport:
    """What was learned, from how much, and how it compares with the lexicon."""

    counts: dict[str, int]
    used: bool
    reason: str
    key: str
    cv_macro_f1: float | None = None
    lexicon_macro_f1: float | None = None
    cv_rows: int = 0
    seconds: float = 0.0
    per_class_f1: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON form (kept beside a cached model, shown in the report)."""
        return {
            "counts": dict(self.counts),
            "used": self.used,
            "reason": self.reason,
            "key": self.key,
            "cv_macro_f1": self.cv_macro_f1,
            "lexicon_macro_f1": self.lexicon_macro_f1,
            "cv_rows": self.cv_rows,
            "seconds": round(self.seconds, 3),
            "per_class_f1": dict(self.per_class_f1),
            "folds": FOLDS,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingReport:
        """Rebuild a report from `as_dict` output."""
        return cls(
            counts={str(k): int(v) for k, v in data["counts"].items()},
            used=bool(data["used"]),
            reason=str(data["reason"]),
            key=str(data["key"]),
            cv_macro_f1=data.get("cv_macro_f1"),
            lexicon_macro_f1=data.get("lexicon_macro_f1"),
            cv_rows=int(data.get("cv_rows", 0)),
            seconds=float(data.get("seconds", 0.0)),
            per_class_f1={str(k): float(v) for k, v in data.get("per_class_f1", {}).items()},
        )

    def summary(self) -> str:
        """One line for `run`'s output."""
        counts = ", ".join(f"{k} {self.counts.get(k, 0)}" for k in LABELS)
        if not self.used:
            return f"sentiment: lexicon only ({self.reason}; labelled comments: {counts})"
        assert self.cv_macro_f1 is not None and self.lexicon_macro_f1 is not None
        gain = self.cv_macro_f1 - self.lexicon_macro_f1
        return (
            f"sentiment: learned from scores ({counts}); {FOLDS}-fold macro-F1 "
            f"{self.cv_macro_f1:.3f} vs lexicon {self.lexicon_macro_f1:.3f} ({gain:+.3f}) "
            f"on {self.cv_rows} comments"
        )


class LearnedSentiment:
    """A trained classifier over comment lemmas and lexicon-verdict tokens."""

    def __init__(self, nlp: Any, priors: dict[str, float]) -> None:
        self.nlp = nlp
        self.priors = priors

    def to_bytes(self) -> bytes:
        """Return the trained pipeline's weights (the priors are kept by the caller)."""
        return bytes(self.nlp.to_bytes())

    @classmethod
    def from_bytes(cls, data: bytes, priors: dict[str, float]) -> LearnedSentiment:
        """Rebuild a model saved with `to_bytes`."""
        nlp = _blank_pipeline()
        nlp.from_bytes(data)
        return cls(nlp, dict(priors))

    def predict(
        self, texts: Sequence[object], analyses: Sequence[CommentAnalysis]
    ) -> list[tuple[str, float]]:
        """Return (label, score in [-1, 1]) per comment; score = P(positive) - P(negative)."""
        docs = [_doc(self.nlp, t, a) for t, a in zip(texts, analyses, strict=True)]
        out = []
        textcat = self.nlp.get_pipe("textcat")
        for doc in textcat.pipe(docs, batch_size=256):
            cats = doc.cats
            label = max(LABELS, key=lambda c: cats[c] / self.priors[c] ** PRIOR_POWER)
            out.append((label, round(cats["positive"] - cats["negative"], 4)))
        return out

    def apply(
        self, texts: Sequence[object], analyses: Sequence[CommentAnalysis]
    ) -> list[CommentAnalysis]:
        """Return the analyses with the learned label and score.

        Themes are the lexicon's. So is the sentiment per theme, except in a comment
        that mentions one theme only: the whole comment is about it, so the learned
        score is what it says about that theme. (The model sees whole comments; it
        cannot split one comment's verdict between several themes.)
        """
        out = []
        for a, (label, score) in zip(analyses, self.predict(texts, analyses), strict=True):
            if a.language == "xx" and not a.themes:
                out.append(a)  # emoji only: nothing for the model to read
                continue
            per_theme = {a.themes[0]: score} if len(a.themes) == 1 else a.theme_sentiment
            out.append(replace(a, label=label, score=score, theme_sentiment=per_theme))
        return out


def training_key(texts: Sequence[object], labels: Sequence[str | None], version: str) -> str:
    """Return a hash of the analyzer version, the training texts and their labels."""
    digest = hashlib.sha256(version.encode())
    for text, label in zip(texts, labels, strict=True):
        if label is not None:
            digest.update(b"\x00" + str(text).encode("utf-8", "replace") + b"\x01")
            digest.update(label.encode())
    return digest.hexdigest()[:16]


_MODELS: dict[str, tuple[LearnedSentiment | None, TrainingReport]] = {}


def learn(
    texts: Sequence[object],
    labels: Sequence[str | None],
    *,
    analyses: Sequence[CommentAnalysis] | None = None,
    taxonomy: Taxonomy | None = None,
    seed: int = 0,
    min_per_class: int = MIN_PER_CLASS,
    folds: int = FOLDS,
) -> tuple[LearnedSentiment | None, TrainingReport]:
    """Train on the comments whose label is known; return the model (or None) and a report.

    `labels` holds "negative" / "neutral" / "positive" or None (no score) per text, e.g.
    from `SCALES["nps"].label(score)`. `analyses` are the lexicon's results for the same
    texts (computed when not given). Results are cached per process by `training_key`.
    """
    tax = taxonomy if taxonomy is not None else default_taxonomy()
    key = training_key(
        texts, labels, analyzer_version(tax) + f"+seed{seed}+min{min_per_class}+folds{folds}"
    )
    cached = _MODELS.get(key)
    if cached is not None:
        return cached
    rows = [i for i, label in enumerate(labels) if label in LABELS]
    counts = Counter(labels[i] for i in rows)
    count_dict = {label: counts.get(label, 0) for label in LABELS}
    short = [label for label in LABELS if counts.get(label, 0) < min_per_class]
    if short:
        reason = (
            f"fewer than {min_per_class} labelled comments for {', '.join(short)}; "
            "the lexicon is used"
        )
        result: tuple[LearnedSentiment | None, TrainingReport] = (
            None,
            TrainingReport(count_dict, used=False, reason=reason, key=key),
        )
        _MODELS[key] = result
        return result
    start = time.perf_counter()
    if analyses is None:
        analyses = analyze(texts, taxonomy=tax)
    train_texts = [texts[i] for i in rows]
    train_labels = [str(labels[i]) for i in rows]
    train_analyses = [analyses[i] for i in rows]
    cv = cross_validate(train_texts, train_labels, train_analyses, seed=seed, folds=folds)
    model = train(train_texts, train_labels, train_analyses, seed=seed)
    report = TrainingReport(
        count_dict,
        used=True,
        reason="trained",
        key=key,
        cv_macro_f1=cv["learned"]["macro_f1"],
        lexicon_macro_f1=cv["lexicon"]["macro_f1"],
        cv_rows=cv["rows"],
        seconds=time.perf_counter() - start,
        per_class_f1={k: v["f1"] for k, v in cv["learned"]["classes"].items()},
    )
    result = (model, report)
    _MODELS[key] = result
    return result


def train(
    texts: Sequence[object],
    labels: Sequence[str],
    analyses: Sequence[CommentAnalysis],
    *,
    seed: int = 0,
) -> LearnedSentiment:
    """Train a bag-of-words `textcat` on labelled comments (every label in LABELS)."""
    from spacy.training import Example
    from thinc.api import fix_random_seed

    fix_random_seed(seed)
    nlp = _blank_pipeline()
    examples = [
        Example.from_dict(_doc(nlp, t, a), {"cats": {c: float(c == y) for c in LABELS}})
        for t, y, a in zip(texts, labels, analyses, strict=True)
    ]
    optimizer = nlp.initialize(lambda: examples)
    rng = random.Random(seed)
    epochs = max(1, min(_MAX_EPOCHS, _UPDATE_BUDGET // max(1, len(examples))))
    for _ in range(epochs):
        rng.shuffle(examples)
        for start in range(0, len(examples), _BATCH):
            batch = examples[start : start + _BATCH]
            nlp.update(batch, sgd=optimizer, drop=_DROPOUT)
    counts = Counter(labels)
    priors = {c: counts[c] / len(labels) for c in LABELS}
    return LearnedSentiment(nlp, priors)


def _blank_pipeline() -> Any:
    """Return a blank pipeline with an untrained bag-of-words `textcat` and our labels."""
    import spacy

    nlp = spacy.blank("xx")
    textcat = nlp.add_pipe(
        "textcat",
        config={
            "model": {
                "@architectures": "spacy.TextCatBOW.v3",
                "exclusive_classes": True,
                "ngram_size": 1,
                "no_output_layer": False,
                "length": 262144,
            }
        },
    )
    for label in LABELS:
        textcat.add_label(label)  # type: ignore[attr-defined]
    return nlp


def cross_validate(
    texts: Sequence[object],
    labels: Sequence[str],
    analyses: Sequence[CommentAnalysis],
    *,
    seed: int = 0,
    folds: int = FOLDS,
    max_rows: int = MAX_CV_ROWS,
) -> dict[str, Any]:
    """Return k-fold macro-F1 and confusion of the learned model and of the lexicon alone.

    `predictions` maps each evaluated row to its out-of-fold (label, score).
    """
    order = list(range(len(texts)))
    random.Random(seed).shuffle(order)
    order = order[:max_rows]
    predicted: dict[int, tuple[str, float]] = {}
    for fold in range(folds):
        held = order[fold::folds]
        held_set = set(held)
        fit = [i for i in order if i not in held_set]
        model = train(
            [texts[i] for i in fit],
            [labels[i] for i in fit],
            [analyses[i] for i in fit],
            seed=seed,
        )
        guesses = model.predict([texts[i] for i in held], [analyses[i] for i in held])
        for i, guess in zip(held, guesses, strict=True):
            predicted[i] = guess
    rows = sorted(predicted)
    gold = [labels[i] for i in rows]
    return {
        "rows": len(rows),
        "learned": classification_report(gold, [predicted[i][0] for i in rows]),
        "lexicon": classification_report(gold, [analyses[i].label for i in rows]),
        "predictions": predicted,
    }


def classification_report(
    gold: Sequence[str], pred: Sequence[str], labels: Sequence[str] = LABELS
) -> dict[str, Any]:
    """Return accuracy, macro-F1, per-class precision/recall/F1 and the confusion matrix."""
    confusion = {g: {p: 0 for p in labels} for g in labels}
    for g, p in zip(gold, pred, strict=True):
        if g in confusion and p in confusion[g]:
            confusion[g][p] += 1
    classes: dict[str, dict[str, float]] = {}
    for label in labels:
        tp = confusion[label][label]
        fp = sum(confusion[g][label] for g in labels if g != label)
        # From the gold labels, not the matrix: a prediction outside `labels` (a 2-class
        # comparison's abstaining "neutral") is a miss, not something to leave out.
        fn = sum(1 for g in gold if g == label) - tp
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        classes[label] = {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}
    correct = sum(1 for g, p in zip(gold, pred, strict=True) if g == p)
    return {
        "n": len(gold),
        "accuracy": correct / len(gold) if gold else 0.0,
        "macro_f1": sum(c["f1"] for c in classes.values()) / len(labels) if labels else 0.0,
        "classes": classes,
        "confusion": confusion,
    }


def features(text: object, analysis: CommentAnalysis) -> list[str]:
    """Return the feature words of one comment: lemmas, then the lexicon's verdict."""
    lemma = lemma_function(analysis.language)
    words = [lemma(w) for w in _WORD.findall(str(text).lower())] if text is not None else []
    bucket = round(analysis.score * 4)
    verdict = [f"cx_lex_{bucket:+d}", f"cx_label_{analysis.label}"]
    themes = analysis.theme_sentiment
    positive = sum(1 for v in themes.values() if v > 0.05)
    negative = sum(1 for v in themes.values() if v < -0.05)
    verdict.append(f"cx_mix_{min(positive, 2)}{min(negative, 2)}")
    for theme, value in themes.items():
        sign = "pos" if value > 0.05 else "neg" if value < -0.05 else "none"
        verdict.append(f"cx_theme_{theme}_{sign}")
    # Twice: with a few hundred examples the lexicon's tokens must outweigh chance words.
    return words + verdict + verdict


def _doc(nlp: Any, text: object, analysis: CommentAnalysis) -> Any:
    from spacy.tokens import Doc

    words = features(text, analysis)
    return Doc(nlp.vocab, words=words or ["cx_empty"])
