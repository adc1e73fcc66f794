"""Sentiment learned from the scores that arrive with the comments (NPS, CSAT, ratings).

Almost every CX comment comes with a score on the same row. Mapped to three classes
(NPS 0-6 / 7-8 / 9-10, CSAT 1-2 / 3 / 4-5) those scores are free, in-domain labels,
noisy ones (a detractor may write a neutral sentence). `learn` trains a model on them;
every comment, scored or not, is then classified by it.

The model is an ordinal one: a ridge regression (L2-penalised least squares, solved
exactly by conjugate gradients in numpy) from the comment's features to the score's
position on its scale (-1 at the bottom, +1 at the top), and two thresholds that cut
that value into negative / neutral / positive. Why not a classifier: the three classes
are ordered, and the middle one (a 7-8 or a 3-star) is small and lies *between* the
others. A regression uses every row to place it (a 3-star review is what lies between
2 and 4 stars) and learns from the raw score when the caller has it (a 1-star and a
2-star review are not the same example). Measured against spaCy's bag-of-words
`textcat` with the same features and the same kind of decision layer, it is better on
every evaluation set and trains in a fraction of the time (docs/nlp.md, "How accurate
it is"); hence the issue's "measured alternative".

Features: the comment's lemmas (the plugin's cached lemmatizer, so Russian inflections
share one feature) plus tokens describing the lexicon's verdict: its score bucket, its
label, and the sign of each theme's sentiment; binary, scaled by 1/sqrt(their number)
so a long review does not outweigh a short one. The lexicon thus acts as a prior the
model can lean on for short and rare texts instead of leaving them to a tiny model.
The decision layer adds w x the lexicon's score to the model's value and cuts it at
two thresholds; w and the thresholds are tuned for macro-F1 on out-of-fold predictions
of the cross-validation, so the rare classes get predicted at all. The reported
cross-validated figure tunes them for each fold on the other folds' predictions,
never on the fold.

Training is deterministic (no random initialisation; the folds are seeded), bounded
in work (conjugate gradients over a sparse matrix, capped in iterations), and reported:
comments per class, cross-validated macro-F1 of the learned model and of the lexicon
alone on the same rows. Below `min_per_class` labelled comments in any class it does
not train and says so; callers keep the lexicon's labels.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from cxengine_nlp.api import CommentAnalysis, analyze
from cxengine_nlp.cache_key import analyzer_version
from cxengine_nlp.lemmatizer import lemma_function
from cxengine_nlp.taxonomy import Taxonomy, default_taxonomy

Array = npt.NDArray[np.float64]

LABELS: tuple[str, ...] = ("negative", "neutral", "positive")
#: Below this many labelled comments in any class, the lexicon is used instead.
MIN_PER_CLASS = 30
#: Cross-validation folds for the reported figures.
FOLDS = 5
#: Cross-validation runs on at most this many rows (a seeded sample), so that the
#: report costs a bounded multiple of one training on large projects.
MAX_CV_ROWS = 5_000
#: The ridge penalty. Chosen on the evaluation sets (docs/nlp.md): 0.3 under-fits the
#: rare classes less but over-fits chance words; 3 flattens the middle class away.
ALPHA = 1.0
#: Conjugate-gradient bounds: the system is well conditioned (penalty 1, rows of unit
#: norm), a few hundred iterations reach the tolerance even on 50,000 comments.
_CG_MAX_ITER = 500
_CG_TOL = 1e-10
#: The decision layer's grid: weights of the lexicon's score (on the -1..1 target
#: scale) and the quantiles of the decided value tried as thresholds.
_LEXICON_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 1.5)
_LOW_QUANTILES = tuple(x / 100 for x in range(1, 61))
_HIGH_QUANTILES = tuple(x / 100 for x in range(2, 81))
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

    def position(self, value: object) -> float | None:
        """Return where a score lies on the scale, -1 (low) to 1 (high); None if no label.

        The learned model's regression target: the raw score carries more than its
        class (a 1 and a 2 on CSAT are both "negative", but not equally).
        """
        if self.label(value) is None:
            return None
        number = float(value)  # type: ignore[arg-type]
        return 2.0 * (number - self.low) / (self.high - self.low) - 1.0


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
    """How the model's value and the lexicon's score become a label and a score.

    v = value + lexicon_weight x lexicon score; negative below `low`, positive from
    `high` on, neutral between. Defaults: the middle third of the -1..1 target scale.
    """

    lexicon_weight: float = 0.0
    low: float = -1.0 / 3.0
    high: float = 1.0 / 3.0

    def values(self, value: Array, lexicon: Array) -> Array:
        """Return v for each row."""
        return np.asarray(value, dtype=float) + self.lexicon_weight * np.asarray(lexicon)

    def classes(self, value: Array, lexicon: Array) -> npt.NDArray[np.int64]:
        """Return the class index (in LABELS order) of each row."""
        v = self.values(value, lexicon)
        return np.where(v < self.low, 0, np.where(v < self.high, 1, 2)).astype(np.int64)

    def decide(self, value: Array, lexicon: Array) -> list[tuple[str, float]]:
        """Return (label, margin in -1..1) per row; the margin orders rows and agrees in sign.

        Neutral maps v in [low, high) linearly onto [-0.5, 0.5); negative and positive
        continue outwards to -1 / 1 over one unit of the target scale (its half-range),
        so the 2-class "no signal" band around 0 is the middle of the neutral band.
        """
        v = self.values(value, lexicon)
        span = max(self.high - self.low, 1e-9)
        margin = np.where(
            v < self.low,
            -0.5 - 0.5 * np.minimum(1.0, (self.low - v)),
            np.where(
                v < self.high,
                -0.5 + (v - self.low) / span,
                0.5 + 0.5 * np.minimum(1.0, (v - self.high)),
            ),
        )
        return [
            (LABELS[int(c)], round(float(m), 4))
            for c, m in zip(self.classes(value, lexicon), margin, strict=True)
        ]

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {"lexicon_weight": self.lexicon_weight, "low": self.low, "high": self.high}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Decision:
        """Rebuild a decision from `as_dict` output."""
        return cls(float(data["lexicon_weight"]), float(data["low"]), float(data["high"]))


def macro_f1_of(truth: npt.NDArray[np.int64], pred: npt.NDArray[np.int64]) -> Array:
    """Return macro-F1 over LABELS for each row of `pred` ((k, n) predictions, (n,) truth).

    A class with neither support nor predictions scores 0, as in `classification_report`
    (a 2-class task run through the 3-class layer is thus never rewarded for neutral).
    """
    f1 = np.zeros(pred.shape[0])
    for c in range(len(LABELS)):
        gold = truth == c
        guessed = pred == c
        tp = (guessed & gold).sum(axis=1)
        denom = guessed.sum(axis=1) + gold.sum()
        f1 += np.divide(2 * tp, denom, out=np.zeros(len(tp)), where=denom > 0)
    return f1 / len(LABELS)


def tune_decision(value: Array, lexicon: Array, gold: Sequence[str]) -> Decision:
    """Return the grid's lexicon weight and thresholds with the best macro-F1 on these rows.

    Thresholds are tried at quantiles of v (so the grid adapts to the value's scale);
    ties keep the first in grid order (deterministic). Vectorised over the upper
    threshold: each (weight, low) pair is one (thresholds x rows) comparison.
    """
    truth = np.array([LABELS.index(g) for g in gold], dtype=np.int64)
    best, best_f1 = Decision(), -1.0
    for weight in _LEXICON_WEIGHTS:
        v = np.asarray(value, dtype=float) + weight * np.asarray(lexicon, dtype=float)
        lows = np.unique(np.quantile(v, _LOW_QUANTILES))
        highs = np.unique(np.quantile(v, _HIGH_QUANTILES))
        for low in lows:
            ok = highs[highs > low]
            if not len(ok):
                continue
            pred = np.where(v < low, 0, np.where(v[None, :] < ok[:, None], 1, 2))
            scores = macro_f1_of(truth, pred.astype(np.int64))
            k = int(scores.argmax())
            if scores[k] > best_f1 + 1e-12:
                best, best_f1 = Decision(weight, float(low), float(ok[k])), float(scores[k])
    return best


@dataclass(frozen=True)
class _Sparse:
    """A sparse (rows x columns) matrix in coordinate form; enough for a ridge solve."""

    rows: npt.NDArray[np.int64]
    cols: npt.NDArray[np.int64]
    vals: Array
    shape: tuple[int, int]

    def dot(self, w: Array) -> Array:
        """Return X @ w."""
        out = np.bincount(self.rows, weights=self.vals * w[self.cols], minlength=self.shape[0])
        return out.astype(np.float64, copy=False)

    def tdot(self, u: Array) -> Array:
        """Return X.T @ u."""
        out = np.bincount(self.cols, weights=self.vals * u[self.rows], minlength=self.shape[1])
        return out.astype(np.float64, copy=False)


def _matrix(token_lists: Sequence[Sequence[str]], vocabulary: dict[str, int]) -> _Sparse:
    """Binary features of the known tokens, each row scaled to unit Euclidean norm."""
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    for i, tokens in enumerate(token_lists):
        known = sorted({vocabulary[t] for t in tokens if t in vocabulary})
        if not known:
            continue
        weight = 1.0 / math.sqrt(len(known))
        rows.extend([i] * len(known))
        cols.extend(known)
        vals.extend([weight] * len(known))
    return _Sparse(
        np.array(rows, dtype=np.int64),
        np.array(cols, dtype=np.int64),
        np.array(vals, dtype=float),
        (len(token_lists), len(vocabulary)),
    )


def ridge(x: _Sparse, y: Array, alpha: float = ALPHA) -> tuple[Array, float]:
    """Return (weights, intercept) minimising |Xw + b - y|^2 + alpha |w|^2 (b unpenalised).

    Conjugate gradients on the normal equations, from zero: deterministic, exact to
    the tolerance, and only sparse products (no dense matrix of the vocabulary's size).
    """
    d = x.shape[1]
    y = np.asarray(y, dtype=float)

    def normal(p: Array) -> Array:
        fitted = x.dot(p[:d]) + p[d]
        return np.concatenate([x.tdot(fitted) + alpha * p[:d], [fitted.sum()]])

    rhs = np.concatenate([x.tdot(y), [y.sum()]])
    p = np.zeros(d + 1)
    r = rhs.copy()
    direction = r.copy()
    rr = float(r @ r)
    limit = _CG_TOL * max(float(rhs @ rhs), 1e-300)
    for _ in range(_CG_MAX_ITER):
        if rr <= limit:
            break
        step_dir = normal(direction)
        step = rr / float(direction @ step_dir)
        p += step * direction
        r -= step * step_dir
        rr_next = float(r @ r)
        direction = r + (rr_next / rr) * direction
        rr = rr_next
    return p[:d], float(p[d])


class LearnedSentiment:
    """A trained ordinal model over comment lemmas and lexicon-verdict tokens."""

    def __init__(
        self,
        vocabulary: dict[str, int],
        weights: Array,
        intercept: float,
        decision: Decision | None = None,
    ) -> None:
        self.vocabulary = vocabulary
        self.weights = np.asarray(weights, dtype=float)
        self.intercept = intercept
        self.decision = decision or Decision()

    def to_bytes(self) -> bytes:
        """Return the trained weights as JSON (the decision is kept by the caller).

        JSON, not pickle: the cache folder lives in the project and is read back.
        """
        tokens = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        data = {
            "kind": "ridge",
            "tokens": tokens,
            "weights": [float(w) for w in self.weights],
            "intercept": self.intercept,
        }
        return json.dumps(data, ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes, decision: Decision) -> LearnedSentiment:
        """Rebuild a model saved with `to_bytes`."""
        meta = json.loads(data.decode("utf-8"))
        if meta.get("kind") != "ridge" or len(meta["tokens"]) != len(meta["weights"]):
            raise ValueError("not a saved cxengine-nlp ridge model")
        vocabulary = {str(t): i for i, t in enumerate(meta["tokens"])}
        return cls(vocabulary, np.array(meta["weights"], dtype=float), meta["intercept"], decision)

    def values(self, texts: Sequence[object], analyses: Sequence[CommentAnalysis]) -> Array:
        """Return the model's value per comment: the predicted position on the -1..1 scale."""
        tokens = [features(t, a) for t, a in zip(texts, analyses, strict=True)]
        return _matrix(tokens, self.vocabulary).dot(self.weights) + self.intercept

    def predict(
        self, texts: Sequence[object], analyses: Sequence[CommentAnalysis]
    ) -> list[tuple[str, float]]:
        """Return (label, margin in [-1, 1]) per comment, through the decision layer."""
        return self.decision.decide(self.values(texts, analyses), _lexicon_scores(analyses))

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


#: The margin's range for each label (see `Decision.decide`).
_MARGIN_RANGES: dict[str, tuple[float, float]] = {
    "negative": (-1.0, -0.5),
    "neutral": (-0.5, 0.5),
    "positive": (0.5, 1.0),
}


def banded(label: str, margin: float) -> float:
    """Return the decision's margin placed inside the label's score range.

    `Decision.decide` gives each label its own part of -1..1; that part is mapped
    linearly onto `LABEL_BANDS[label]` (strictly inside, so the cut points keep their
    meaning): the score and the label agree, and the order of comments is kept.
    """
    low, high = LABEL_BANDS[label]
    low, high = (
        low + _BAND_MARGIN * (label != "negative"),
        high - _BAND_MARGIN * (label != "positive"),
    )
    first, last = _MARGIN_RANGES[label]
    position = min(1.0, max(0.0, (margin - first) / (last - first)))
    return round(low + position * (high - low), 4)


def training_key(
    texts: Sequence[object],
    labels: Sequence[str | None],
    version: str,
    targets: Sequence[float | None] | None = None,
) -> str:
    """Return a hash of the analyzer version, the training texts, labels and targets."""
    digest = hashlib.sha256(version.encode())
    if targets is None:
        targets = [None] * len(labels)
    for text, label, target in zip(texts, labels, targets, strict=True):
        if label is not None:
            digest.update(b"\x00" + str(text).encode("utf-8", "replace") + b"\x01")
            digest.update(label.encode())
            if target is not None:
                digest.update(f"\x02{target!r}".encode())
    return digest.hexdigest()[:16]


_MODELS: dict[str, tuple[LearnedSentiment | None, TrainingReport]] = {}


def learn(
    texts: Sequence[object],
    labels: Sequence[str | None],
    *,
    targets: Sequence[float | None] | None = None,
    analyses: Sequence[CommentAnalysis] | None = None,
    taxonomy: Taxonomy | None = None,
    seed: int = 0,
    min_per_class: int = MIN_PER_CLASS,
    folds: int = FOLDS,
) -> tuple[LearnedSentiment | None, TrainingReport]:
    """Train on the comments whose label is known; return the model (or None) and a report.

    `labels` holds "negative" / "neutral" / "positive" or None (no score) per text, e.g.
    from `SCALES["nps"].label(score)`; `targets` optionally the score's position on its
    scale (`ScoreScale.position`), which the model learns from when given (the class
    otherwise). `analyses` are the lexicon's results for the same texts (computed when
    not given). Results are cached per process by `training_key`.
    """
    tax = taxonomy if taxonomy is not None else default_taxonomy()
    key = training_key(
        texts,
        labels,
        analyzer_version(tax) + f"+seed{seed}+min{min_per_class}+folds{folds}",
        targets,
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
    train_targets = None if targets is None else [targets[i] for i in rows]
    model, cv = fit(
        train_texts, train_labels, train_analyses, targets=train_targets, seed=seed, folds=folds
    )
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
    targets: Sequence[float | None] | None = None,
    seed: int = 0,
    folds: int = FOLDS,
) -> tuple[LearnedSentiment, dict[str, Any]]:
    """Cross-validate, tune the decision layer on the out-of-fold predictions, train.

    Returns the model trained on every row with the tuned decision, and the
    cross-validation (`cross_validate`'s result).
    """
    cv = cross_validate(texts, labels, analyses, targets=targets, seed=seed, folds=folds)
    model = train(texts, labels, analyses, targets=targets)
    model.decision = cv["decision"]
    return model, cv


def regression_targets(
    labels: Sequence[str], targets: Sequence[float | None] | None = None
) -> Array:
    """Return what the model regresses on: the score's position, else its class (-1 / 0 / 1).

    A missing target on a labelled row takes its class's value, so a caller may give
    the raw score for some rows only.
    """
    by_class = {"negative": -1.0, "neutral": 0.0, "positive": 1.0}
    if targets is None:
        return np.array([by_class[y] for y in labels], dtype=float)
    return np.array(
        [by_class[y] if t is None else float(t) for y, t in zip(labels, targets, strict=True)],
        dtype=float,
    )


def train(
    texts: Sequence[object],
    labels: Sequence[str],
    analyses: Sequence[CommentAnalysis],
    *,
    targets: Sequence[float | None] | None = None,
    seed: int = 0,
) -> LearnedSentiment:
    """Fit the ridge regression on labelled comments (every label in LABELS).

    `seed` is accepted for the callers' symmetry and ignored: the solve has no
    randomness (the folds of `cross_validate` are what a seed changes).
    """
    del seed
    tokens = [features(t, a) for t, a in zip(texts, analyses, strict=True)]
    vocabulary = {t: i for i, t in enumerate(sorted({t for row in tokens for t in row}))}
    weights, intercept = ridge(_matrix(tokens, vocabulary), regression_targets(labels, targets))
    return LearnedSentiment(vocabulary, weights, intercept)


def cross_validate(
    texts: Sequence[object],
    labels: Sequence[str],
    analyses: Sequence[CommentAnalysis],
    *,
    targets: Sequence[float | None] | None = None,
    seed: int = 0,
    folds: int = FOLDS,
    max_rows: int = MAX_CV_ROWS,
) -> dict[str, Any]:
    """Return k-fold macro-F1 and confusion of the learned model and of the lexicon alone.

    Each fold's rows are predicted by a model trained on the other folds, through a
    decision layer tuned on the other folds' out-of-fold predictions (cross-fitting:
    nothing about a row is tuned on that row). `predictions` maps each evaluated row
    to its (label, margin); `decision` is the layer tuned on every out-of-fold row, for
    the model trained on all of them.
    """
    order = list(range(len(texts)))
    random.Random(seed).shuffle(order)
    order = order[:max_rows]
    fold_of = {i: k % folds for k, i in enumerate(order)}
    value = np.zeros(len(texts))
    for fold in range(folds):
        held = [i for i in order if fold_of[i] == fold]
        fitted = [i for i in order if fold_of[i] != fold]
        model = train(
            [texts[i] for i in fitted],
            [labels[i] for i in fitted],
            [analyses[i] for i in fitted],
            targets=None if targets is None else [targets[i] for i in fitted],
        )
        value[held] = model.values([texts[i] for i in held], [analyses[i] for i in held])
    lexicon = _lexicon_scores(analyses)
    predicted: dict[int, tuple[str, float]] = {}
    for fold in range(folds):
        held = [i for i in order if fold_of[i] == fold]
        other = [i for i in order if fold_of[i] != fold]
        decision = tune_decision(value[other], lexicon[other], [labels[i] for i in other])
        for i, guess in zip(held, decision.decide(value[held], lexicon[held]), strict=True):
            predicted[i] = guess
    rows = sorted(predicted)
    gold = [labels[i] for i in rows]
    return {
        "rows": len(rows),
        "learned": classification_report(gold, [predicted[i][0] for i in rows]),
        "lexicon": classification_report(gold, [analyses[i].label for i in rows]),
        "predictions": predicted,
        "decision": tune_decision(value[order], lexicon[order], [labels[i] for i in order]),
    }


def _lexicon_scores(analyses: Sequence[CommentAnalysis]) -> Array:
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
    # The model reads features as a set (binary), so a token's repetition adds nothing.
    return words + verdict
