"""Classes of errors seen on unseen customer text, each tested over several examples.

Implicit complaints (a service failure named without any sentiment word), courtesy
formulas, requests, questions, Russian profanity: the lexicon alone got these wrong on
public English and Russian customer tweets. Each class is a family of phrasings, so a
fix for one sentence does not pass.
"""

from __future__ import annotations

import pytest

from cxengine_nlp import analyze

IMPLICIT_COMPLAINTS_EN = [
    "My order never arrived",
    "The parcel still hasn't arrived",
    "I didn't receive my package",
    "Still waiting for my refund",
    "The app doesn't work since the update",
    "Website not loading again",
    "I was on hold for 40 minutes and then they hung up",
    "Nobody answered my emails",
    "No reply from support for a week",
    "No internet since yesterday",
    "We have no signal at home",
    "Charged twice for one order",
    "The app keeps crashing",
    "Another outage this morning",
    "Got disconnected three times during the call",
    "Why is my order still not here?",
    "I can't log in to my account",
    "They never called back",
    "Nobody contacted me about the delay",
    "The issue is still unresolved",
]

IMPLICIT_COMPLAINTS_RU = [
    "Заказ так и не пришел",
    "Посылку до сих пор не доставили",
    "Не могу дозвониться третий день",
    "Приложение не работает",
    "Сайт не грузится",
    "Нет связи с утра",
    "Интернета нет второй день",
    "Деньги списали, а заказ не доставили",
    "Оператор сбросил звонок",
    "Опять сбой в приложении",
    "В службе поддержки никто не отвечает",
    "Мне так и не перезвонили",
    "Не могу войти в личный кабинет",
    "Деньги до сих пор не вернули",
    "Доставку опять перенесли",
    "Сколько можно ждать ответа",
    "Карту заблокировали без объяснений",
    "Уже неделю никто не может решить мою проблему",
]


@pytest.mark.parametrize("text", IMPLICIT_COMPLAINTS_EN + IMPLICIT_COMPLAINTS_RU)
def test_service_failures_read_negative(text: str) -> None:
    assert analyze([text])[0].label == "negative", text


def test_a_fulfilled_expectation_is_not_a_complaint() -> None:
    texts = [
        "My order arrived on time",
        "The app works fine",
        "Support answered within an hour",
        "Заказ пришел вовремя",
        "Приложение работает",
        "Оператор быстро ответил",
    ]
    assert all(r.score >= 0 for r in analyze(texts))


COURTESY_ALONE = ["Thanks", "Thank you!", "Thanks a lot", "Спасибо", "Спасибо!", "Благодарю"]


@pytest.mark.parametrize("text", COURTESY_ALONE)
def test_courtesy_formula_alone_is_not_praise(text: str) -> None:
    assert analyze([text])[0].label == "neutral", text


@pytest.mark.parametrize(
    "text",
    [
        "Thanks for nothing",
        "Thanks, but my order never arrived",
        "Thank you for cancelling my order without asking",
        "Спасибо, но заказ так и не пришел",
        "Спасибо за испорченный вечер",
    ],
)
def test_courtesy_around_a_complaint_stays_negative(text: str) -> None:
    assert analyze([text])[0].label == "negative", text


@pytest.mark.parametrize(
    "text",
    ["Thanks, the courier was great", "Thank you, excellent service", "Спасибо, курьер молодец"],
)
def test_courtesy_around_praise_stays_positive(text: str) -> None:
    assert analyze([text])[0].label == "positive", text


REQUESTS = [
    "Please help me with my order",
    "Can you please help?",
    "Kindly help me change the address",
    "Pls help",
    "Помогите, пожалуйста",
    "Подскажите, пожалуйста, как вернуть товар",
    "Прошу помочь с заказом",
]


@pytest.mark.parametrize("text", REQUESTS)
def test_requests_are_not_praise(text: str) -> None:
    result = analyze([text])[0]
    assert result.label != "positive", (text, result.score)


QUESTION_PAIRS = [
    ("The delivery is great.", "Is the delivery great?"),
    ("This dress is perfect for a wedding.", "Is this dress perfect for a wedding?"),
    ("The support team is excellent.", "Is the support team excellent?"),
    ("Доставка отличная.", "Доставка отличная?"),
    ("Платье просто прекрасное.", "Платье просто прекрасное?"),
]


@pytest.mark.parametrize(("statement", "question"), QUESTION_PAIRS)
def test_questions_are_pulled_towards_neutral(statement: str, question: str) -> None:
    said, asked = analyze([statement, question])
    assert said.label == "positive", statement
    assert asked.label == "neutral", question
    assert 0 <= asked.score < said.score


def test_a_complaint_asked_as_a_question_keeps_its_sign() -> None:
    for text in ("Why is the app so slow?", "Why is my order still not here?", "Почему так долго?"):
        assert analyze([text])[0].score < 0, text


RUSSIAN_PROFANITY = [
    "Пиздец, а не сервис",
    "Какого хрена заказ опять задержали",
    "Вы там совсем охренели?",
    "Поддержка — мудаки",
    "Это просто говно",
    "Херня полная, а не приложение",
    "Заебали со своими смс",
    "Бля, опять не работает",
    "Сервис дерьмовый",
    "Кидалово, а не магазин",
]


@pytest.mark.parametrize("text", RUSSIAN_PROFANITY)
def test_russian_profanity_and_insults_read_negative(text: str) -> None:
    assert analyze([text])[0].label == "negative", text


@pytest.mark.parametrize("text", ["Охуенная пицца", "Пиздатый сервис, всем советую"])
def test_russian_obscene_praise_reads_positive(text: str) -> None:
    assert analyze([text])[0].label == "positive", text
