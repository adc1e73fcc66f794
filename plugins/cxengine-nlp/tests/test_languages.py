"""Language detection: script first, then English function words."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cxengine_nlp import detect_language, languages


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Доставка опоздала на два дня", "ru"),
        ("Заказ в Ozon пришёл вовремя", "ru"),
        ("The parcel never arrived", "en"),
        ("Great!", "en"),
        ("Das Paket ist nicht angekommen und der Service war schlecht", "xx"),
        ("Le service est très lent", "xx"),
        ("Доставка була дуже швидкою, дякую і все", "xx"),
        ("😊👍", "xx"),
        ("12345 !!!", "xx"),
        ("", "xx"),
    ],
)
def test_detect_language(text: str, language: str) -> None:
    assert detect_language(text) == language


def _counted_in_full(text: str) -> str:
    """The script decision as it was before counting stopped early: every letter counted."""
    sample = languages._NOT_LANGUAGE.sub(" ", text)
    cyrillic = len(languages._CYRILLIC.findall(sample))
    latin = len(languages._LATIN.findall(sample))
    if cyrillic == 0 and latin == 0:
        return "xx"
    if cyrillic >= latin:
        if len(languages._NON_RUSSIAN_CYRILLIC.findall(sample)) * 50 > cyrillic:
            return "xx"
        return "ru"
    return "latin"


_SCRIPTS = st.text(
    alphabet=st.sampled_from([*"абвгдеёжзЁЖЯ", *"abcxyzABC", *"іїєґў", *"äöüé", " ", ".", "1"]),
    max_size=60,
)


@given(text=_SCRIPTS)
def test_counting_cyrillic_only_as_far_as_needed_decides_the_same(text: str) -> None:
    # Texts with no "@", "#", "://", "www." or "RT": the sample is the text itself.
    expected = _counted_in_full(text)
    found = detect_language(text)
    if expected == "latin":
        assert found in ("en", "xx")
    else:
        assert found == expected
