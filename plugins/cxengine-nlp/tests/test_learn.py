"""Sentiment learned from scores: scales, fallback, determinism, caching, and that the
model learns a signal the lexicon does not have."""

from __future__ import annotations

import random

import pytest

from cxengine_nlp import analyze
from cxengine_nlp.learn import LABELS, SCALES, classification_report, learn


@pytest.mark.parametrize(
    ("scale", "value", "label"),
    [
        ("nps", 0, "negative"),
        ("nps", 6, "negative"),
        ("nps", 7, "neutral"),
        ("nps", 8.0, "neutral"),
        ("nps", "9", "positive"),
        ("nps", 10, "positive"),
        ("csat", 1, "negative"),
        ("csat", 2, "negative"),
        ("csat", 3, "neutral"),
        ("csat", 4, "positive"),
        ("csat", 5, "positive"),
    ],
)
def test_scores_map_to_classes_at_the_conventional_cut_points(
    scale: str, value: object, label: str
) -> None:
    assert SCALES[scale].label(value) == label


@pytest.mark.parametrize("value", [None, float("nan"), "", "n/a", 11, -1, True])
def test_missing_or_off_scale_scores_are_not_labels(value: object) -> None:
    assert SCALES["nps"].label(value) is None


def _corpus(n: int, seed: int = 7) -> tuple[list[str], list[str]]:
    """Comments whose class is carried by product words the lexicon has no opinion on.

    Customers of this made-up shop complain about "zorbs" and are happy with "plinks";
    no lexicon knows that, a model trained on the scores must.
    """
    rng = random.Random(seed)
    texts, labels = [], []
    fillers = ["the order", "my parcel", "this week", "the last time", "again"]
    for k in range(n):
        label = LABELS[k % 3]
        word = {"negative": "zorb", "neutral": "quib", "positive": "plink"}[label]
        texts.append(f"{rng.choice(fillers)} {word} {rng.choice(fillers)} {k % 17}")
        labels.append(label)
    return texts, labels


def test_the_model_learns_what_the_scores_say() -> None:
    texts, labels = _corpus(180)
    model, report = learn(texts, labels, min_per_class=20, folds=3)
    assert model is not None and report.used
    assert report.counts == {"negative": 60, "neutral": 60, "positive": 60}
    assert report.cv_macro_f1 is not None and report.lexicon_macro_f1 is not None
    assert report.cv_macro_f1 > report.lexicon_macro_f1 + 0.3
    unseen = ["a zorb again", "plink this week", "the order quib"]
    predicted = [label for label, _ in model.predict(unseen, analyze(unseen))]
    assert predicted == ["negative", "positive", "neutral"]
    assert "vs lexicon" in report.summary()


def test_unscored_comments_are_tagged_too() -> None:
    texts, labels = _corpus(180)
    unscored: list[str | None] = [None] * 30
    model, _ = learn([*texts, *["zorb zorb"] * 30], [*labels, *unscored], min_per_class=20, folds=3)
    assert model is not None
    [result] = model.apply(["zorb zorb"], analyze(["zorb zorb"]))
    assert result.label == "negative" and result.score < 0


def test_training_is_deterministic_and_cached() -> None:
    texts, labels = _corpus(150, seed=3)
    first = learn(texts, labels, min_per_class=20, folds=3)
    assert learn(texts, labels, min_per_class=20, folds=3) is first  # cached by key
    from cxengine_nlp import learn as learn_module

    learn_module._MODELS.clear()
    second = learn(texts, labels, min_per_class=20, folds=3)
    assert second is not first
    probe = ["zorb", "plink", "quib", "the order"]
    assert first[0] is not None and second[0] is not None
    assert first[0].predict(probe, analyze(probe)) == second[0].predict(probe, analyze(probe))
    assert first[1].cv_macro_f1 == second[1].cv_macro_f1
    assert first[1].key == second[1].key


def test_a_change_in_one_label_changes_the_key() -> None:
    texts, labels = _corpus(150, seed=3)
    _, report = learn(texts, labels, min_per_class=20, folds=3)
    flipped = ["positive" if labels[0] != "positive" else "negative", *labels[1:]]
    _, other = learn(texts, flipped, min_per_class=20, folds=3)
    assert other.key != report.key


def test_too_few_labels_per_class_falls_back_to_the_lexicon_and_says_so() -> None:
    texts, labels = _corpus(90)
    thin = [lab if lab != "neutral" or k < 30 else None for k, lab in enumerate(labels)]
    model, report = learn(texts, thin, min_per_class=20)
    assert model is None and not report.used
    assert report.counts["neutral"] < 20
    assert "neutral" in report.reason and "lexicon" in report.summary()


def test_classification_report_confusion_and_f1() -> None:
    gold = ["negative", "negative", "neutral", "positive", "positive"]
    pred = ["negative", "positive", "neutral", "positive", "neutral"]
    report = classification_report(gold, pred)
    assert report["confusion"]["negative"] == {"negative": 1, "neutral": 0, "positive": 1}
    assert report["classes"]["neutral"]["precision"] == pytest.approx(0.5)
    assert report["accuracy"] == pytest.approx(0.6)


def test_a_prediction_outside_the_labels_counts_as_a_miss() -> None:
    report = classification_report(
        ["positive", "negative"], ["positive", "neutral"], ("negative", "positive")
    )
    assert report["classes"]["negative"]["recall"] == 0.0
    assert report["classes"]["negative"]["support"] == 1


def test_the_decision_layer_is_tuned_for_macro_f1_on_the_rows_given() -> None:
    import numpy as np

    from cxengine_nlp.learn import Decision, tune_decision

    # The model's value says nothing; only the lexicon's score separates the classes.
    value = np.full(6, 0.5)
    lexicon = np.array([-0.8, -0.6, 0.0, 0.05, 0.7, 0.9])
    gold = ["negative", "negative", "neutral", "neutral", "positive", "positive"]
    decision = tune_decision(value, lexicon, gold)
    assert decision.lexicon_weight > 0
    assert [label for label, _ in decision.decide(value, lexicon)] == gold
    # Default thresholds: the middle third of the -1..1 scale is neutral.
    assert [label for label, _ in Decision().decide(np.array([-0.5, 0.0, 0.5]), np.zeros(3))] == [
        "negative",
        "neutral",
        "positive",
    ]
    assert Decision.from_dict(decision.as_dict()) == decision


def test_the_margin_agrees_with_the_label_and_keeps_the_order() -> None:
    import numpy as np

    from cxengine_nlp.learn import LABEL_BANDS, Decision, banded

    values = np.linspace(-2.0, 2.0, 41)
    decided = Decision(0.0, -0.2, 0.3).decide(values, np.zeros(len(values)))
    margins = [m for _, m in decided]
    assert margins == sorted(margins)
    scores = [banded(label, m) for label, m in decided]
    assert scores == sorted(scores)
    for label, m in decided:
        low, high = LABEL_BANDS[label]
        assert low <= banded(label, m) <= high
        assert (label == "negative") == (m < -0.05) or label == "neutral"


def test_ridge_solves_the_normal_equations() -> None:
    """Checked against numpy's dense solve of the same penalised least squares."""
    import numpy as np

    from cxengine_nlp.learn import _matrix, ridge

    tokens = [["a", "b"], ["b", "c"], ["a"], ["c", "d", "a"], ["d"], ["b", "d"]]
    vocabulary = {t: i for i, t in enumerate("abcd")}
    y = np.array([1.0, -0.5, 0.8, 0.1, -1.0, -0.2])
    x = _matrix(tokens, vocabulary)
    weights, intercept = ridge(x, y, alpha=0.7)
    dense = np.zeros((6, 4))
    dense[x.rows, x.cols] = x.vals
    design = np.hstack([dense, np.ones((6, 1))])
    penalty = np.diag([0.7] * 4 + [0.0])
    exact = np.linalg.solve(design.T @ design + penalty, design.T @ y)
    assert np.allclose(np.append(weights, intercept), exact, atol=1e-6)


def test_the_raw_score_teaches_more_than_its_class() -> None:
    """Within a class, the raw score orders comments; the class alone cannot."""
    from cxengine_nlp.learn import SCALES, train

    texts, labels = _corpus(120)
    # Among negatives, "zorb" comments scored 0 and "quib"-free fillers are all the
    # same class: add two made-up words whose negatives differ only in their score.
    texts += ["a grok again"] * 20 + ["a frub again"] * 20
    labels += ["negative"] * 40
    scores = [{"negative": 3, "neutral": 7, "positive": 10}[y] for y in labels[:120]]
    scores += [0] * 20 + [6] * 20
    targets = [SCALES["nps"].position(s) for s in scores]
    analyses = analyze(texts)
    model = train(texts, labels, analyses, targets=targets)
    probe = ["grok", "frub"]
    grok, frub = model.values(probe, analyze(probe))
    assert grok < frub
    flat = train(texts, labels, analyses).values(probe, analyze(probe))
    assert abs(flat[0] - flat[1]) < 1e-6


def test_a_saved_model_predicts_as_the_trained_one() -> None:
    from cxengine_nlp.learn import LearnedSentiment

    texts, labels = _corpus(150, seed=4)
    model, _ = learn(texts, labels, min_per_class=20, folds=3)
    assert model is not None
    again = LearnedSentiment.from_bytes(model.to_bytes(), model.decision)
    probe = ["zorb", "plink", "quib", "the order"]
    assert again.predict(probe, analyze(probe)) == model.predict(probe, analyze(probe))
    with pytest.raises(ValueError, match="not a saved"):
        LearnedSentiment.from_bytes(b'{"kind": "textcat"}', model.decision)
