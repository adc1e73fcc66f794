"""The plain-Python API: one CommentAnalysis per input, whatever the input holds."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxengine_nlp import CommentAnalysis, analyze, analyzer_version, load_taxonomy
from cxengine_nlp.api import MAX_CHARS
from cxengine_nlp.taxonomy import restaurant_taxonomy

NEUTRAL_XX = CommentAnalysis(
    language="xx", themes=(), score=0.0, label="neutral", theme_sentiment={}
)


def test_analyze_returns_one_result_per_text_in_order() -> None:
    results = analyze(["Курьер нагрубил", "Fast delivery, thanks!", ""])
    assert [r.language for r in results] == ["ru", "en", "xx"]
    assert results[0].label == "negative"
    assert results[1].label == "positive"
    assert results[1].themes == ("delivery", "wait_time")


def test_results_are_frozen() -> None:
    [result] = analyze(["ok"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.score = 1.0  # type: ignore[misc]


@pytest.mark.parametrize("text", ["", "   ", "\n\t", None, float("nan")])
def test_empty_and_missing_texts_are_neutral(text: object) -> None:
    assert analyze([text]) == [NEUTRAL_XX]


def test_blank_text_keeps_a_configured_language() -> None:
    assert analyze(["  "], language="ru")[0].language == "ru"


def test_emoji_only_comment_is_scored_without_themes() -> None:
    [angry, happy] = analyze(["😡😡😡", "👍👍"])
    assert angry.language == "xx" and angry.themes == () and angry.label == "negative"
    assert happy.label == "positive"


def test_unknown_language_falls_back_without_crashing() -> None:
    [german] = analyze(["Das Essen war sehr gut, aber der Kellner war unfreundlich."])
    assert german.language == "xx"
    assert german.themes == ()
    assert german.label == "neutral"


def test_unknown_language_code_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"'de' is not a known language. Known: auto, en, ru, xx"):
        analyze(["Hallo"], language="de")


def test_100_kb_comment_is_truncated_not_fatal() -> None:
    text = "The delivery was late and the courier was rude. " * 2100
    assert len(text) > 100_000
    [result] = analyze([text])
    assert result.label == "negative"
    assert "delivery" in result.themes
    assert len(text) > MAX_CHARS


def test_non_string_values_are_stringified() -> None:
    [number, raw] = analyze([42, "Отлично".encode()])
    assert number.label == "neutral"
    assert raw.language == "ru" and raw.label == "positive"


def test_to_dict_round_trips() -> None:
    [result] = analyze(
        ["The food was great but the service was terrible"], taxonomy=restaurant_taxonomy()
    )
    assert CommentAnalysis.from_dict(result.to_dict()) == result


def test_workers_give_identical_results() -> None:
    texts = ["Delivery was late", "Отличный сервис", "", "Great price"] * 600
    assert analyze(texts, workers=2) == analyze(texts)


def test_analyzer_version_changes_with_the_taxonomy(tmp_path: object) -> None:
    from pathlib import Path

    extra = Path(str(tmp_path)) / "extra.yaml"
    extra.write_text(
        "themes:\n  - id: loyalty\n    terms: {en: [loyalty card]}\n", encoding="utf-8"
    )
    base = analyzer_version()
    assert base == analyzer_version()
    assert analyzer_version(load_taxonomy([extra])) != base
    assert base.startswith(tuple("0123456789"))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=200), max_size=5))
def test_any_text_gives_a_valid_analysis(texts: list[str]) -> None:
    results = analyze(texts)
    assert len(results) == len(texts)
    for r in results:
        assert -1.0 <= r.score <= 1.0
        assert r.label in ("negative", "neutral", "positive")
        assert r.language in ("en", "ru", "xx")
