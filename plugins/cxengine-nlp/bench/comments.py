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


def make_comments(
    n: int, language: str, seed: int = 20240601, *, realistic: bool = False
) -> list[str]:
    """Return `n` deterministic comments in "en" or "ru".

    `realistic=True` gives each comment what real posts carry and templates do not:
    one to four words from the language's dictionary drawn with a Zipf-like skew (so
    100,000 comments hold well over 20,000 distinct word forms, as real tweets and
    reviews do), @handles, URLs, hashtags, numbers, and Latin words in Russian text.
    """
    rng = random.Random(f"{seed}-{language}")
    make = english_comment if language == "en" else russian_comment
    if not realistic:
        return [make(rng) for _ in range(n)]
    words = dictionary_forms(language)
    return [_realistic(make(rng), rng, words, language) for _ in range(n)]


_LATIN_IN_RUSSIAN = ["iPhone", "Wi-Fi", "online", "app", "Ozon", "Wildberries", "sale", "ok"]


def dictionary_forms(language: str, size: int = 60_000) -> list[str]:
    """Return a deterministic sample of inflected word forms of the language.

    The forms (keys) of spacy-lookups-data's lemma lookup table for the language:
    41k English forms, 513k Russian forms; alphabetic ones, shuffled with a fixed seed.
    """
    import gzip
    import json
    from pathlib import Path

    import spacy_lookups_data

    path = Path(spacy_lookups_data.__file__).parent / "data" / f"{language}_lemma_lookup.json.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        table: dict[str, str] = json.load(fh)
    forms = sorted(w for w in table if w.isalpha() and w.islower())
    rng = random.Random(f"forms-{language}")
    rng.shuffle(forms)
    return forms[:size]


def _realistic(text: str, rng: random.Random, words: list[str], language: str) -> str:
    extra = []
    for _ in range(rng.randint(1, 4)):
        # Zipf-like: most draws hit the first few thousand forms, a long tail the rest.
        index = min(len(words) - 1, int(rng.paretovariate(0.6)) - 1)
        extra.append(words[index])
    roll = rng.random()
    if roll < 0.15:
        extra.append(f"@user{rng.randint(1, 50_000)}")
    elif roll < 0.25:
        extra.append(f"https://t.co/{rng.randrange(16**8):08x}")
    elif roll < 0.32:
        extra.append(f"#{rng.choice(words)}")
    if rng.random() < 0.3:
        extra.append(str(rng.randint(1, 100_000)))
    if language == "ru" and rng.random() < 0.2:
        extra.append(rng.choice(_LATIN_IN_RUSSIAN))
    return f"{text} {' '.join(extra)}"
