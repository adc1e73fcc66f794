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
A decision layer on top combines the model with the lexicon once more: per class,
log p(c|x) + offset(c), plus w × the lexicon's score towards positive and away from
negative. Offsets and w are tuned, on out-of-fold predictions of the cross-validation,
for macro-F1: the rare classes (neutral, negative) get predicted at all, and a strong
lexicon verdict outweighs a model that saw few examples. The reported cross-validated
figure tunes them for each fold on the other folds' predictions, never on the fold.

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
#: The decision layer's grid: offsets added to log-probabilities (positive fixed at 0),
#: and weights of the lexicon's score.
_OFFSETS = tuple(x / 4 for x in range(-8, 13))
_LEXICON_WEIGHTS = (0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0)
#: Example-updates per training: 10 epochs on small sets, fewer on large ones.
_UPDATE_BUDGET = 120_000
_MAX_EPOCHS = 10
_BATCH = 64
#: Passed to `nlp.update`, but spaCy's `TextCatBOW` (extract_ngrams >> sparse_linear >>
#: softmax) has no dropout layer: any value trains the same model (tested; measured
#: 0.0 / 0.2 / 0.5 equal in docs/nlp.md). It would matter for an architecture with one.
_DROPOUT = 0.2
#: Adam's step size. spaCy's default (0.001) leaves a bag of words trained on a few
#: hundred comments near uniform: the classes barely separate.
LEARN_RATE = 0.001
#: Optimizer steps a training takes at least (see `_epochs`).
MIN_STEPS = 100
_WORD = re.compile(r"\w+")
#: The score range of each label: the lexicon's cuts (negative <= -0.15, positive >=
#: 0.40, see `sentiment.CxSentiment.label`), so that a learned tag reads like a lexicon
#: one: `comment_label` and `comment_sentiment` agree, and "sentiment <= -0.15" (the
#: drivers' negative mention) means what the label means.
LABEL_BANDS: dict[str, tuple[float, float]] = {
    "negative": (-1.0, -0.15),
    "neutral": (-0.15, 0.40),
    "positive": (0.40, 1.0),
}
_BAND_MARGIN = 1e-3


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


@dataclass(frozen=True)
class Decision:
    """How class probabilities and the lexicon's score become a label and a score."""

    offsets: tuple[float, float, float] = (0.0, 0.0, 0.0)  # per class, in LABELS order
    lexicon_weight: float = 0.0

    def scores(self, log_p: Any, lexicon: Any) -> Any:
        """Return the (n, 3) decision scores for log-probabilities and lexicon scores."""
        import numpy as np

        out = log_p + np.asarray(self.offsets)
        out[:, 0] -= self.lexicon_weight * lexicon
        out[:, 2] += self.lexicon_weight * lexicon
        return out

    def decide(self, log_p: Any, lexicon: Any) -> list[tuple[str, float]]:
        """Return (label, score) per row: the best class, P'(positive) - P'(negative).

        P' is the softmax of the decision scores, so the score agrees with the label.
        """
        import numpy as np

        s = self.scores(log_p, lexicon)
        s = np.exp(s - s.max(axis=1, keepdims=True))
        p = s / s.sum(axis=1, keepdims=True)
        best = p.argmax(axis=1)
        return [
            (LABELS[int(b)], round(float(row[2] - row[0]), 4))
            for b, row in zip(best, p, strict=True)
        ]

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {"offsets": list(self.offsets), "lexicon_weight": self.lexicon_weight}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Decision:
        """Rebuild a decision from `as_dict` output."""
        a, b, c = (float(x) for x in data["offsets"])
        return cls((a, b, c), float(data["lexicon_weight"]))


def tune_decision(log_p: Any, lexicon: Any, gold: Sequence[str]) -> Decision:
    """Return the grid's offsets and lexicon weight with the best macro-F1 on these rows.

    Ties keep the first in grid order (deterministic). Vectorised: the grid is ~3,000
    points and each is a handful of array operations over the rows.
    """
    import numpy as np

    truth = np.array([LABELS.index(g) for g in gold])
    support = np.array([(truth == c).sum() for c in range(3)])
    best, best_f1 = Decision(), -1.0
    for weight in _LEXICON_WEIGHTS:
        base = Decision((0.0, 0.0, 0.0), weight).scores(log_p, lexicon)
        for neg in _OFFSETS:
            for neu in _OFFSETS:
                pred = (base + np.array([neg, neu, 0.0])).argmax(axis=1)
                hit = pred == truth
                tp = np.bincount(truth[hit], minlength=3)
                predicted = np.bincount(pred, minlength=3)
                denom = predicted + support
                f1 = np.divide(2 * tp, denom, out=np.zeros(3), where=denom > 0).mean()
                if f1 > best_f1 + 1e-12:
                    best, best_f1 = Decision((neg, neu, 0.0), weight), float(f1)
    return best


class LearnedSentiment:
    """A trained classifier over comment lemmas and lexicon-verdict tokens."""

    def __init__(self, nlp: Any, decision: Decision | None = None) -> None:
        self.nlp = nlp
        self.decision = decision or Decision()

    def to_bytes(self) -> bytes:
        """Return the trained pipeline's weights (the decision is kept by the caller)."""
        return bytes(self.nlp.to_bytes())

    @classmethod
    def from_bytes(cls, data: bytes, decision: Decision) -> LearnedSentiment:
        """Rebuild a model saved with `to_bytes`."""
        nlp = _blank_pipeline()
        nlp.from_bytes(data)
        return cls(nlp, decision)

    def log_probabilities(
        self, texts: Sequence[object], analyses: Sequence[CommentAnalysis]
    ) -> Any:
        """Return the model's (n, 3) log class probabilities, in LABELS order."""
        import numpy as np

        docs = [_doc(self.nlp, t, a) for t, a in zip(texts, analyses, strict=True)]
        textcat = self.nlp.get_pipe("textcat")
        rows = [[doc.cats[c] for c in LABELS] for doc in textcat.pipe(docs, batch_size=256)]
        return np.log(np.clip(np.array(rows, dtype=float).reshape(-1, 3), 1e-9, 1.0))

    def predict(
        self, texts: Sequence[object], analyses: Sequence[CommentAnalysis]
    ) -> list[tuple[str, float]]:
        """Return (label, score in [-1, 1]) per comment, through the decision layer."""
        return self.decision.decide(
            self.log_probabilities(texts, analyses), _lexicon_scores(analyses)
        )

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
        for a, (label, margin) in zip(analyses, self.predict(texts, analyses), strict=True):
            if a.language == "xx" and not a.themes:
                out.append(a)  # emoji only: nothing for the model to read
                continue
            score = banded(label, margin)
            per_theme = {a.themes[0]: score} if len(a.themes) == 1 else a.theme_sentiment
            out.append(replace(a, label=label, score=score, theme_sentiment=per_theme))
        return out


def banded(label: str, margin: float) -> float:
    """Return P'(positive) - P'(negative) placed inside the label's score range.

    The decision layer's label is an argmax, so its P'(pos) - P'(neg) may be -0.05 for
    a "negative" comment; placed linearly inside `LABEL_BANDS[label]` (strictly inside,
    so the cut points keep their meaning), the order within a label is kept.
    """
    low, high = LABEL_BANDS[label]
    low, high = (
        low + _BAND_MARGIN * (label != "negative"),
        high - _BAND_MARGIN * (label != "positive"),
    )
    position = min(1.0, max(0.0, (margin + 1.0) / 2.0))
    return round(low + position * (high - low), 4)


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
    model, cv = fit(train_texts, train_labels, train_analyses, seed=seed, folds=folds)
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


def fit(
    texts: Sequence[object],
    labels: Sequence[str],
    analyses: Sequence[CommentAnalysis],
    *,
    seed: int = 0,
    folds: int = FOLDS,
) -> tuple[LearnedSentiment, dict[str, Any]]:
    """Cross-validate, tune the decision layer on the out-of-fold predictions, train.

    Returns the model trained on every row with the tuned decision, and the
    cross-validation (`cross_validate`'s result).
    """
    cv = cross_validate(texts, labels, analyses, seed=seed, folds=folds)
    model = train(texts, labels, analyses, seed=seed)
    model.decision = cv["decision"]
    return model, cv


def train(
    texts: Sequence[object],
    labels: Sequence[str],
    analyses: Sequence[CommentAnalysis],
    *,
    seed: int = 0,
) -> LearnedSentiment:
    """Train a bag-of-words `textcat` on labelled comments (every label in LABELS)."""
    from spacy.training import Example
    from thinc.api import Adam, fix_random_seed

    fix_random_seed(seed)
    nlp = _blank_pipeline()
    examples = [
        Example.from_dict(_doc(nlp, t, a), {"cats": {c: float(c == y) for c in LABELS}})
        for t, y, a in zip(texts, labels, analyses, strict=True)
    ]
    nlp.initialize(lambda: examples)
    optimizer = Adam(LEARN_RATE)
    rng = random.Random(seed)
    epochs = _epochs(len(examples))
    for _ in range(epochs):
        rng.shuffle(examples)
        for start in range(0, len(examples), _BATCH):
            batch = examples[start : start + _BATCH]
            nlp.update(batch, sgd=optimizer, drop=_DROPOUT)
    return LearnedSentiment(nlp)


def _epochs(rows: int) -> int:
    """Return the epochs for a training set: bounded work on large sets, enough steps on small.

    At most `_UPDATE_BUDGET` example-updates (fewer epochs as data grow, so 50,000
    comments train in bounded time), `_MAX_EPOCHS` normally, but at least `MIN_STEPS`
    optimizer steps: 100 comments in batches of 64 are 2 steps an epoch, and 20 steps
    leave the model near uniform.
    """
    batches = max(1, math.ceil(rows / _BATCH))
    budget = max(1, min(_MAX_EPOCHS, _UPDATE_BUDGET // max(1, rows)))
    return max(budget, math.ceil(MIN_STEPS / batches))


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

    Each fold's rows are predicted by a model trained on the other folds, through a
    decision layer tuned on the other folds' out-of-fold predictions (cross-fitting:
    nothing about a row is tuned on that row). `predictions` maps each evaluated row
    to its (label, score); `decision` is the layer tuned on every out-of-fold row, for
    the model trained on all of them.
    """
    import numpy as np

    order = list(range(len(texts)))
    random.Random(seed).shuffle(order)
    order = order[:max_rows]
    fold_of = {i: k % folds for k, i in enumerate(order)}
    log_p = np.zeros((len(texts), 3))
    for fold in range(folds):
        held = [i for i in order if fold_of[i] == fold]
        fitted = [i for i in order if fold_of[i] != fold]
        model = train(
            [texts[i] for i in fitted],
            [labels[i] for i in fitted],
            [analyses[i] for i in fitted],
            seed=seed,
        )
        held_p = model.log_probabilities([texts[i] for i in held], [analyses[i] for i in held])
        log_p[held] = held_p
    lexicon = _lexicon_scores(analyses)
    predicted: dict[int, tuple[str, float]] = {}
    for fold in range(folds):
        held = [i for i in order if fold_of[i] == fold]
        other = [i for i in order if fold_of[i] != fold]
        decision = tune_decision(log_p[other], lexicon[other], [labels[i] for i in other])
        for i, guess in zip(held, decision.decide(log_p[held], lexicon[held]), strict=True):
            predicted[i] = guess
    rows = sorted(predicted)
    gold = [labels[i] for i in rows]
    return {
        "rows": len(rows),
        "learned": classification_report(gold, [predicted[i][0] for i in rows]),
        "lexicon": classification_report(gold, [analyses[i].label for i in rows]),
        "predictions": predicted,
        "decision": tune_decision(log_p[order], lexicon[order], [labels[i] for i in order]),
    }


def _lexicon_scores(analyses: Sequence[CommentAnalysis]) -> Any:
    import numpy as np

    return np.array([a.score for a in analyses], dtype=float)


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
