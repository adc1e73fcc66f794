"""Language detection: script first, then English function words."""

from __future__ import annotations

import pytest

from cxengine_nlp import detect_language


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
