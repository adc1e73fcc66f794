"""What real posts carry and templates do not: handles, URLs, hashtags, hyphenated
compounds, Latin words in Russian text, and a long tail of word forms."""

from __future__ import annotations

from pathlib import Path

import pytest
from spacy.lang.ru.lex_attrs import _num_words as spacy_ru_num_words
from spacy.lang.ru.lex_attrs import like_num as spacy_like_num_ru

from cxengine_nlp import analyze, load_taxonomy
from cxengine_nlp.languages import detect_language
from cxengine_nlp.lemmatizer import _dictionary_lemma, _morph, lemma_en, lemma_ru
from cxengine_nlp.lexicon import load_lexicon
from cxengine_nlp.pipeline import like_num_ru

RUSSIAN_POSTS_WITH_LATIN_NOISE = [
    "RT @aeroflot_help: рейс задержали на 3 часа https://t.co/AbCdEf123 #aeroflot #fail",
    "@beeline_support @beeline_help @MTS_News третий день нет интернета",
    "#Wildberries #WB #delivery #fail опять потеряли заказ",
    "RT @user_2000 RT @another_user: спасибо за помощь! http://bit.ly/xyz www.example.com",
    "@sberbank_help почему списали комиссию? support@sberbank.example",
]


@pytest.mark.parametrize("text", RUSSIAN_POSTS_WITH_LATIN_NOISE)
def test_handles_urls_and_hashtags_do_not_decide_the_language(text: str) -> None:
    assert detect_language(text) == "ru"


def test_english_posts_with_the_same_noise_stay_english() -> None:
    texts = [
        "RT @united: my flight was delayed again https://t.co/x #united #fail",
        "@AmazonHelp where is my parcel? www.amazon.example/orders/123",
    ]
    assert [detect_language(t) for t in texts] == ["en", "en"]


def test_a_post_of_only_hashtags_is_detected_from_the_tags() -> None:
    assert detect_language("#отель #отпуск") == "ru"
    assert detect_language("https://t.co/abc @user") == "xx"


HYPHENATED = {
    # taxonomy term -> comments writing it hyphenated, spaced, or inflected
    "check in": ["Online check-in was broken", "The check in took ages", "Check-in desk closed"],
    "wi fi": ["The wi-fi in the room kept dropping", "No wi fi at all"],
    "онлайн банк": [
        "Онлайн-банк не работает",
        "В онлайн банке ошибка",
        "онлайн-банком не пользуюсь",
    ],
    "пункт выдачи": ["Пункт-выдачи закрыт", "В пункте выдачи очередь"],
}


@pytest.mark.parametrize("term", list(HYPHENATED))
def test_hyphenated_and_spaced_compounds_match_one_term(term: str, tmp_path: Path) -> None:
    file = tmp_path / "team.yaml"
    lang = "ru" if term[0] >= "а" else "en"
    file.write_text(
        f"themes:\n  - id: compound\n    title: Compound\n    terms: {{{lang}: ['{term}']}}\n",
        encoding="utf-8",
    )
    taxonomy = load_taxonomy([file], replace=True)
    for text in HYPHENATED[term]:
        assert analyze([text], taxonomy=taxonomy)[0].themes == ("compound",), text


def test_a_hyphenated_term_matches_the_spaced_spelling_too(tmp_path: Path) -> None:
    file = tmp_path / "team.yaml"
    file.write_text(
        "themes:\n  - id: wifi\n    title: Wi-Fi\n    terms: {en: [wi-fi, check-in]}\n",
        encoding="utf-8",
    )
    taxonomy = load_taxonomy([file], replace=True)
    texts = ["wi fi was slow", "wi-fi was slow", "check in was slow", "check-in was slow"]
    assert [r.themes for r in analyze(texts, taxonomy=taxonomy)] == [("wifi",)] * 4


@pytest.mark.parametrize(
    "text",
    [
        "I'll check later",
        "See you later",
        "Later that day I called them",
        "I bought the latest model",
        "The latest collection",
        "I arrived earlier than planned",
    ],
)
def test_later_and_latest_are_not_late(text: str) -> None:
    # "late" is a complaint in the lexicon ("the courier was late"); these are not.
    assert analyze([text])[0].score >= 0, text


def test_late_itself_still_complains() -> None:
    assert analyze(["The courier was late"])[0].label == "negative"
    assert lemma_en("later") == "later" and lemma_en("latest") == "latest"
    assert lemma_en("arrived") == "arrive"


def test_tokens_that_cannot_be_russian_words_are_not_parsed() -> None:
    for token in ("@user_1", "https://t.co/x", "#отель", "12:30", "iphone", "😀", "wi-fi", "3-й"):
        assert lemma_ru(token) == token


def _russian_forms() -> list[str]:
    """Every inflected form of the Russian lexicon's lemmas, and the lemmas themselves."""
    morph = _morph()
    lemmas = sorted(w for w in load_lexicon("ru").words if w.isalpha())
    forms: set[str] = set(lemmas)
    for lemma in lemmas[:400]:
        for parse in morph.parse(lemma)[:1]:
            forms.update(f.word for f in parse.lexeme)
    return sorted(forms)


def test_the_dictionary_fast_path_agrees_with_pymorphy3_parse() -> None:
    morph = _morph()
    forms = _russian_forms()
    assert len(forms) > 3000
    differ = [
        (f, fast, morph.parse(f)[0].normal_form)
        for f in forms
        if (fast := _dictionary_lemma(f)) is not None and fast != morph.parse(f)[0].normal_form
    ]
    assert differ == []


def test_like_num_ru_answers_like_spacy() -> None:
    samples = [
        *spacy_ru_num_words,
        *(w.upper() for w in spacy_ru_num_words[:50]),
        "12",
        "+7",
        "-3",
        "50%",
        "1,5",
        "3/4",
        "3/x",
        "доставка",
        "iPhone",
        "",
        "±2",
        "~10",
    ]
    assert [like_num_ru(s) for s in samples] == [spacy_like_num_ru(s) for s in samples]
