"""The analysis without Docs gives what the spaCy pipeline gives: tokens, themes, scores.

`analyze` runs `fastpath.FastPath`; `api._analyze(..., docs=True)` runs the Doc
pipeline it replaced. Every comparison here is exact: token texts, theme matches and
their order, scores, labels and per-theme scores.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from spacy.matcher import PhraseMatcher

from cxengine_nlp import fastpath, pipeline
from cxengine_nlp.api import _analyze
from cxengine_nlp.fastpath import fast_path, spans
from cxengine_nlp.pipeline import get_pipeline
from cxengine_nlp.taxonomy import Taxonomy, default_taxonomy, restaurant_taxonomy
from cxengine_nlp.themes import CxThemes

PLUGIN_ROOT = Path(__file__).resolve().parents[1]

TRICKY = [
    "",
    " ",
    "  leading and trailing  ",
    " one leading space",
    "tabs\tand\nnew\n\nlines \n and \r\n crlf",
    "non\u00a0breaking\u2009thin\u3000ideographic spaces",
    "Don't we'll can't won't y'all gonna I'm",
    "(Great!) [ok] {fine} «ёлки» „quoted“ 'single' \"double\"",
    "Visit https://example.com/a?b=c or www.shop.ru, mail me@x.org now",
    "@aeroflot_help #отель #great_trip RT @user: wow",
    "It costs $5.50, 10,000.25 rubles, 5km, 3-й раз, 12:30, 50%, +7 (495) 123-45-67",
    "U.S. a.m. p.m. 10a.m. e.g. i.e. etc. Dr. Smith, St. Louis",
    "check-in wi-fi онлайн-банк из-за кто-то -- — – - ...",
    "emoji 👍👍 😀!!! :) :-( <3 ;) :D 8-)",
    "в н.в. и т.д. и т.п. т.е. др. см. также г. Москва ул. Ленина д. 5",
    "Wow!!!Such...dots…and?!marks",
    "ALL CAPS Title Case miXed",
    "ends with a space ",
    "İstanbul ǅemal ß straße ﬁne",
    "word\u200bzero\u200dwidth joiner",
    "x" * 300,
]


@pytest.mark.parametrize("lang", ["en", "ru", "xx"])
def test_tokens_are_spacys_on_tricky_texts(lang: str) -> None:
    nlp = get_pipeline(lang, default_taxonomy())
    path = fast_path(nlp)
    for text in TRICKY:
        assert path.tokens(text)[1] == [t.text for t in nlp.make_doc(text)], text


_ALPHABET = st.sampled_from(
    [
        *"abcXYZ ёжЁЖ019 .,;:!?'\"-–—()[]{}/\\@#$%&*+=<>_~`^|\t\n\u00a0…«»„“”’👍😀",
        *("https://", "www.", ".com", "a.m.", "n't", "'s", ":)", "в н.в.", "и т.д.", "10km"),
    ]
)


@pytest.mark.parametrize("lang", ["en", "ru", "xx"])
@given(parts=st.lists(_ALPHABET, max_size=40))
def test_tokens_are_spacys_on_random_texts(lang: str, parts: list[str]) -> None:
    text = "".join(parts)
    nlp = get_pipeline(lang, default_taxonomy())
    assert fast_path(nlp).tokens(text)[1] == [t.text for t in nlp.make_doc(text)]


def test_every_space_but_the_ascii_space_is_unprintable() -> None:
    # `spans` splits printable texts at " " only: no other whitespace may be printable.
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if char.isspace() and char != " ":
            assert not char.isprintable(), hex(code)


def test_spans_follow_spacys_whitespace_rule() -> None:
    assert spans("a b") == ["a", "b"]
    assert spans("a  b") == ["a", " ", "b"]
    assert spans(" a") == [" ", "a"]
    assert spans("a \n b") == ["a", "\n ", "b"]
    assert spans("a ") == ["a"]
    assert spans("a  ") == ["a", " "]


def _comments() -> list[str]:
    """Comments in both languages with themes, negation, contrast and noise."""
    en = [
        "The courier was late again, awful service",
        "Great app, fast refund 👍 but the check-in was slow",
        "Not bad at all. The food was too salty, though the staff were lovely!",
        "Why is my order still not here?? #fail @shop_help https://t.co/x",
        "Thanks for nothing. Customer support never answered my emails",
        "I wanted to love this dress, but the fit is too small and the price too high",
        "Delivery on time, packaging fine, would order again :)",
    ]
    ru = [
        "Доставка опоздала, курьер был груб",
        "Очень понравилось, спасибо менеджеру Ивану!",
        "Еда вкусная, а обслуживание ужасное. Не рекомендую",
        "Интернета нет уже третий день, служба поддержки не отвечает #мтс @mts_help",
        "Подскажите, пожалуйста, как вернуть деньги? Приложение не работает",
        "Неплохо, но слишком дорого и официант был не очень вежлив, в т.ч. с детьми",
        "Интерьер красивый, цены высокие, обслуживание онлайн-банка отличное 👍",
    ]
    return [*en, *ru, "", "   ", "Das Essen war sehr gut und der Service nicht", "12345"]


@pytest.mark.parametrize("taxonomy", [default_taxonomy(), restaurant_taxonomy()])
def test_analysis_is_the_doc_pipelines(taxonomy: Taxonomy) -> None:
    texts = _comments() + TRICKY
    fast = _analyze(texts, "auto", taxonomy)
    docs = _analyze(texts, "auto", taxonomy, docs=True)
    assert fast == docs
    # The order of per-theme scores too (it is stored as it comes).
    assert [list(r.theme_sentiment) for r in fast] == [list(r.theme_sentiment) for r in docs]
    assert any(r.themes for r in fast) and {r.label for r in fast} >= {"negative", "positive"}


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_theme_matches_are_the_phrase_matchers(lang: str) -> None:
    nlp = get_pipeline(lang, restaurant_taxonomy())
    themes = nlp.get_pipe("cx_themes")
    assert isinstance(themes, CxThemes)
    matcher: PhraseMatcher = themes._matcher
    names = themes._names
    for text in _comments() + TRICKY:
        doc = nlp(text)
        expected = sorted((names[m], s, e) for m, s, e in matcher(doc))
        assert sorted(themes.match_lemmas([t.lemma for t in doc])) == expected, text


def test_one_span_of_two_themes_is_ordered_by_the_taxonomy(tmp_path: Path) -> None:
    from cxengine_nlp.taxonomy import load_taxonomy

    path = tmp_path / "themes.yaml"
    path.write_text(
        "themes:\n"
        "  - id: zeta\n    terms: {en: [refund]}\n"
        "  - id: alpha\n    terms: {en: [refund]}\n",
        encoding="utf-8",
    )
    taxonomy = load_taxonomy([path], replace=True)
    for docs in (False, True):
        result = _analyze(["the refund was awful"], "en", taxonomy, docs=docs)[0]
        assert result.themes == ("zeta", "alpha")
        assert list(result.theme_sentiment) == ["zeta", "alpha"]


def test_the_memo_is_bounded_and_forgetting_changes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    texts = _comments() * 2
    taxonomy = default_taxonomy()
    before = _analyze(texts, "auto", taxonomy)
    monkeypatch.setattr(fastpath, "MAX_MEMO", 5)
    pipeline._CACHE.clear()  # fresh pipelines, so fresh memos that fill up
    after = _analyze(texts, "auto", taxonomy)
    assert after == before
    path = fast_path(get_pipeline("en", taxonomy))
    assert len(path._span_memo) <= 5 and len(path._word_memo) <= 5


def _real_texts(data: Path) -> list[str]:
    sys.path.insert(0, str(PLUGIN_ROOT / "bench"))
    from evaluate import load_english, load_russian

    return load_english(data)[0] + [r["text"] for r in load_russian(data)]


def test_real_texts_get_the_doc_pipelines_analysis(shared_data: Path) -> None:
    texts = _real_texts(shared_data)
    assert len(texts) > 1000
    for taxonomy in (default_taxonomy(), restaurant_taxonomy()):
        fast = _analyze(texts, "auto", taxonomy)
        assert fast == _analyze(texts, "auto", taxonomy, docs=True)


_KEYS = ["в н.в.", "т. е.", "т. д.", "и т.д.", "a b", "ab  c", "x\ty"]


@given(
    keys=st.lists(st.sampled_from(_KEYS), min_size=1, unique=True),
    parts=st.lists(st.sampled_from([*_KEYS, "в", "н.", "т.", " ", "е.", "a", "b", "\t", "y"])),
)
def test_the_across_trie_finds_what_the_alternation_does(keys: list[str], parts: list[str]) -> None:
    text = "".join(parts)
    alternation = re.compile("|".join(map(re.escape, keys)))
    trie = re.compile(fastpath.across_pattern(keys))
    assert bool(trie.search(text)) == bool(alternation.search(text))


def test_the_across_trie_finds_spacys_russian_cases() -> None:
    tokenizer = get_pipeline("ru", default_taxonomy()).tokenizer
    keys = [k for k in tokenizer.rules if not k.isspace() and any(c.isspace() for c in k)]
    trie = re.compile(fastpath.across_pattern(keys))
    assert len(keys) > 50
    for key in keys:
        assert trie.search(f"до {key} после")
        assert not trie.search(key.replace(" ", "_"))
