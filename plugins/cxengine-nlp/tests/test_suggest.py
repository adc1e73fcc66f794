"""suggest_terms surfaces what the taxonomy misses."""

from __future__ import annotations

from cxengine_nlp import default_taxonomy, suggest_terms


def test_frequent_unmatched_lemmas_and_phrases_are_suggested() -> None:
    texts = [
        "Бонусные баллы не начислили",
        "Где мои бонусные баллы?",
        "Бонусных баллов нет уже месяц",
        "Курьер опоздал",  # matched by delivery: not counted
        "",
    ]
    suggestions = suggest_terms(texts, default_taxonomy(), language="ru", top=3)
    assert [(s.term, s.comments, s.words) for s in suggestions] == [
        ("балл", 3, 1),
        ("бонусный", 3, 1),
        ("бонусный балл", 3, 2),
    ]


def test_stop_words_and_sentiment_words_are_not_topics() -> None:
    suggestions = suggest_terms(["It was really great"] * 3, default_taxonomy(), language="en")
    assert suggestions == []
