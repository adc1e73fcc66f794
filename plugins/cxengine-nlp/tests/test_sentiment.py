"""Sentiment: lexicon, negation, intensifiers, contrast and per-theme windows."""

from __future__ import annotations

import pytest
from spacy.language import Language


def score(nlp: Language, text: str) -> float:
    value: float = nlp(text)._.cx_sentiment
    return value


def test_negation_flips_russian(ru: Language) -> None:
    assert score(ru, "Мне понравилось") > 0
    assert score(ru, "Мне не понравилось") < 0
    assert ru("Мне не понравилось")._.cx_label == "negative"


def test_negation_flips_english(en: Language) -> None:
    assert score(en, "The agent was helpful") > 0
    assert score(en, "The agent was not helpful") < 0
    assert score(en, "The agent wasn't helpful") < 0


def test_negated_problem_reads_positive(ru: Language, en: Language) -> None:
    assert score(ru, "Нет претензий, без проблем") > 0
    assert score(en, "No problems at all") > 0


def test_negation_does_not_cross_a_clause(en: Language) -> None:
    # "not" belongs to the first clause; "great" in the second stays positive.
    assert score(en, "Not my size, great colour though") > 0


def test_contrast_weighs_the_second_clause(en: Language) -> None:
    doc = en("The food was great but the service was terrible")
    assert doc._.cx_sentiment < 0
    assert doc._.cx_theme_sentiment["service"] < 0
    assert doc._.cx_theme_sentiment["food"] > 0


def test_contrast_in_russian(ru: Language) -> None:
    doc = ru("Еда вкусная, но официант нам нахамил")
    assert doc._.cx_sentiment < 0
    assert doc._.cx_theme_sentiment["food"] > 0
    assert doc._.cx_theme_sentiment["service"] < 0


def test_concession_weighs_less(en: Language) -> None:
    assert score(en, "Although delivery was slow, the dress is gorgeous") > 0


def test_intensifiers_and_dampeners(ru: Language, en: Language) -> None:
    assert score(ru, "очень хорошо") > score(ru, "хорошо") > score(ru, "немного хорошо") > 0
    assert score(en, "extremely rude") < score(en, "rude") < score(en, "slightly rude") < 0


def test_excess_reads_as_complaint(en: Language, ru: Language) -> None:
    assert en("The dress runs too small")._.cx_label == "negative"
    assert ru("Ждали слишком долго")._.cx_label == "negative"


def test_counterfactual_praise_is_a_complaint(en: Language, ru: Language) -> None:
    assert score(en, "It could have been better") < 0
    assert score(ru, "Хотелось бы побыстрее") < 0


def test_mixed_comments_are_damped_towards_neutral(en: Language) -> None:
    one_sided = score(en, "I love the colour and the fabric is great")
    mixed = score(en, "I love the colour but the fabric is awful")
    assert abs(mixed) < abs(one_sided)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Great service, thank you!", "positive"),
        ("Delivery was fine", "neutral"),
        ("The courier was rude and the parcel was damaged", "negative"),
        ("Отличный сервис, спасибо!", "positive"),
        ("Заказ оформил, жду", "neutral"),
        ("Курьер опоздал на два часа и нагрубил", "negative"),
    ],
)
def test_labels(en: Language, ru: Language, text: str, label: str) -> None:
    nlp = ru if any("а" <= ch <= "я" for ch in text.lower()) else en
    assert nlp(text)._.cx_label == label


def test_scores_stay_in_range(en: Language) -> None:
    doc = en("awful terrible horrible disgusting " * 200)
    assert -1.0 <= doc._.cx_sentiment < -0.99


def test_theme_without_sentiment_scores_zero(en: Language) -> None:
    assert en("I paid by card")._.cx_theme_sentiment == {"checkout_payment": 0.0}


def test_emoji_carry_sentiment_in_any_language(en: Language) -> None:
    assert score(en, "😡😡") < 0
    assert score(en, "👍") > 0
