"""Deterministic synthetic CX comments in English and Russian for throughput runs.

Sentences are assembled from templates that mirror real survey and review comments:
a theme noun phrase, an evaluation, sometimes a negation, an intensifier, a contrast
clause, an emoji. The vocabulary is large enough that lemma caches see a realistic
mix of hits and misses (numbers, order ids and names vary per comment).
"""

from __future__ import annotations

import random

EN_SUBJECTS = [
    "the delivery",
    "shipping",
    "the courier",
    "my parcel",
    "the package",
    "the refund",
    "the return process",
    "the price",
    "the quality",
    "the fabric",
    "the website",
    "the app",
    "checkout",
    "the payment",
    "the support team",
    "customer service",
    "the agent",
    "the manager",
    "the staff",
    "the store",
    "the waiting time",
    "the queue",
    "the size",
    "the color",
    "the tracking",
    "the exchange",
    "the order",
    "the hotline",
    "the chat",
    "the email reply",
]
EN_VERBS = ["was", "is", "has been", "seemed", "felt", "turned out"]
EN_ADJ = [
    "great",
    "excellent",
    "fast",
    "slow",
    "terrible",
    "awful",
    "fine",
    "ok",
    "helpful",
    "rude",
    "friendly",
    "late",
    "confusing",
    "easy",
    "cheap",
    "expensive",
    "perfect",
    "disappointing",
    "amazing",
    "poor",
    "broken",
    "professional",
    "useless",
    "quick",
    "reasonable",
    "overpriced",
    "smooth",
    "frustrating",
    "polite",
    "unhelpful",
]
EN_BOOST = ["", "", "", "very ", "really ", "extremely ", "slightly ", "quite ", "so "]
EN_NEG = ["", "", "", "", "not ", "never "]
EN_TAILS = [
    "",
    "",
    "",
    " I will order again.",
    " Would not recommend.",
    " Thanks!",
    " Order #{n} took {d} days.",
    " Waited {d} minutes on hold.",
    " 😊",
    " 😡",
    " Had to call {d} times.",
    " Love it!",
    " Never again.",
]

RU_SUBJECTS = [
    "доставка",
    "курьер",
    "посылка",
    "возврат денег",
    "цена",
    "качество",
    "ткань",
    "сайт",
    "приложение",
    "оплата",
    "служба поддержки",
    "оператор",
    "менеджер",
    "персонал",
    "магазин",
    "очередь",
    "ожидание",
    "размер",
    "упаковка",
    "обмен",
    "заказ",
    "официант",
    "обслуживание",
    "кухня",
    "интерьер",
    "консультант",
    "горячая линия",
    "чат",
    "пункт выдачи",
    "курьерская служба",
]
RU_ADJ_F = [
    "отличная",
    "быстрая",
    "медленная",
    "ужасная",
    "нормальная",
    "вежливая",
    "грубая",
    "удобная",
    "дорогая",
    "приятная",
    "плохая",
    "хорошая",
    "отвратительная",
    "замечательная",
    "неудобная",
    "качественная",
    "некачественная",
    "понятная",
]
RU_ADV = [
    "отлично",
    "быстро",
    "медленно",
    "ужасно",
    "нормально",
    "вежливо",
    "грубо",
    "удобно",
    "дорого",
    "приятно",
    "плохо",
    "хорошо",
    "долго",
    "оперативно",
    "профессионально",
    "непонятно",
    "аккуратно",
    "некомпетентно",
]
RU_BOOST = ["", "", "", "очень ", "крайне ", "немного ", "довольно ", "совсем "]
RU_NEG = ["", "", "", "", "не "]
RU_TAILS = [
    "",
    "",
    "",
    " Закажу ещё.",
    " Не рекомендую.",
    " Спасибо!",
    " Заказ №{n} ехал {d} дней.",
    " Ждал ответа {d} минут.",
    " 😊",
    " 😡",
    " Звонил {d} раза.",
    " Всё понравилось!",
    " Больше не приду.",
]


def english_comment(rng: random.Random) -> str:
    """Return one English comment of one to three clauses."""
    parts = []
    for _ in range(rng.choice((1, 1, 2, 2, 3))):
        parts.append(
            f"{rng.choice(EN_SUBJECTS)} {rng.choice(EN_VERBS)} "
            f"{rng.choice(EN_NEG)}{rng.choice(EN_BOOST)}{rng.choice(EN_ADJ)}"
        )
    joiner = rng.choice((", ", " and ", " but ", ". "))
    text = joiner.join(parts)
    text = text[0].upper() + text[1:] + "."
    tail = rng.choice(EN_TAILS).format(n=rng.randint(1000, 99999), d=rng.randint(2, 40))
    return text + tail


def russian_comment(rng: random.Random) -> str:
    """Return one Russian comment of one to three clauses."""
    parts = []
    for _ in range(rng.choice((1, 1, 2, 2, 3))):
        if rng.random() < 0.5:
            adjective = f"{rng.choice(RU_NEG)}{rng.choice(RU_BOOST)}{rng.choice(RU_ADJ_F)}"
            parts.append(f"{rng.choice(RU_SUBJECTS)} {adjective}")
        else:
            adverb = f"{rng.choice(RU_NEG)}{rng.choice(RU_BOOST)}{rng.choice(RU_ADV)}"
            parts.append(f"{rng.choice(RU_SUBJECTS)} сработал {adverb}")
    joiner = rng.choice((", ", " и ", ", но ", ". ", ", а "))
    text = joiner.join(parts)
    text = text[0].upper() + text[1:] + "."
    tail = rng.choice(RU_TAILS).format(n=rng.randint(1000, 99999), d=rng.randint(2, 40))
    return text + tail


def make_comments(n: int, language: str, seed: int = 20240601) -> list[str]:
    """Return `n` deterministic comments in "en" or "ru"."""
    rng = random.Random(f"{seed}-{language}")
    make = english_comment if language == "en" else russian_comment
    return [make(rng) for _ in range(n)]
