"""Themes are found on lemmas, so inflected forms and multi-word terms match."""

from __future__ import annotations

from spacy.language import Language

from cxengine_nlp import analyze


def test_inflected_russian_forms_match_delivery(ru: Language) -> None:
    doc = ru("Спасибо за быструю доставку, курьера ждали недолго")
    assert "delivery" in doc._.cx_themes
    matched = {span.text for span in doc._.cx_theme_spans if span.label_ == "delivery"}
    assert matched == {"доставку", "курьера"}


def test_instrumental_case_matches_too() -> None:
    [result] = analyze(["Очень довольна доставкой"], language="ru")
    assert result.themes == ("delivery",)


def test_multi_word_term_matches_inflected(ru: Language) -> None:
    doc = ru("Дозвониться в службу поддержки невозможно")
    assert "staff_competence" in doc._.cx_themes
    assert ("staff_competence", 2, 4) in doc._.cx_theme_matches  # "службу поддержки"


def test_english_inflections_match(en: Language) -> None:
    doc = en("Both parcels arrived late and the couriers were rude")
    assert {"delivery", "staff_politeness"} <= set(doc._.cx_themes)


def test_themes_are_listed_in_taxonomy_order(en: Language) -> None:
    doc = en("The price was fair; delivery took a week.")
    assert doc._.cx_themes == ("delivery", "price")


def test_no_theme_gives_empty_tuple(en: Language) -> None:
    assert en("Hello there")._.cx_themes == ()


def test_restaurant_extras_are_opt_in() -> None:
    [default] = analyze(["Еда была вкусной"], language="ru")
    assert "food" not in default.themes
