"""The shipped domain packs: load by `builtin:NAME`, match inflected forms in both
languages, and keep clear of stop words."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxengine_nlp import analyze, load_taxonomy
from cxengine_nlp.enricher import NlpEnricher, taxonomy_for
from cxengine_nlp.pipeline import get_pipeline
from cxengine_nlp.taxonomy import BUILTIN_TAXONOMIES, UnknownBuiltinError, resolve_taxonomy_names
from cxengine_nlp.themes import CxThemes

PACKS = ("travel", "banking", "telecom", "ecommerce_delivery")

# pack -> (comment, a theme it must find); inflected forms, both languages.
EXAMPLES: dict[str, list[tuple[str, str]]] = {
    "travel": [
        ("Our flight was delayed by five hours", "flight_disruption"),
        ("They lost my luggage on the connecting flight", "baggage"),
        ("Online check-in kept failing", "check_in_boarding"),
        ("The flight attendants were lovely", "cabin_crew"),
        ("The towels in our room were dirty", "hotel_room"),
        ("Рейс задержали на пять часов", "flight_disruption"),
        ("Потеряли наш багаж", "baggage"),
        ("Чемоданы приехали разбитыми", "baggage"),
        ("Стюардессы были очень вежливы", "cabin_crew"),
        ("В номере не работал кондиционер", "hotel_room"),
        ("Заселение заняло час", "front_desk"),
        ("На завтраках всегда было свежее", "hotel_amenities"),
    ],
    "banking": [
        ("My card was blocked for no reason", "cards"),
        ("The transfer has been pending for three days", "transfers_payments"),
        ("Hidden fees everywhere", "fees_rates"),
        ("The mortgage approval took two months", "loans_mortgage"),
        ("The ATM swallowed my card", "branch_atm"),
        ("Someone made unauthorized transactions on my account", "fraud_security"),
        ("Заблокировали карту без объяснений", "cards"),
        ("Перевод через СБП не дошел", "transfers_payments"),
        ("Списали комиссию за обслуживание", "fees_rates"),
        ("Одобрили ипотеку за день", "loans_mortgage"),
        ("Банкоматы вечно без наличных", "branch_atm"),
        ("Мне звонили мошенники от имени банка", "fraud_security"),
        ("В приложении не приходит смс-код", "mobile_banking"),
    ],
    "telecom": [
        ("No signal in the whole building", "coverage"),
        ("Internet speed drops every evening", "internet_speed"),
        ("Another outage last night", "outages"),
        ("I was overcharged for roaming", "billing_tariff"),
        ("The technician never showed up for the appointment", "installation"),
        ("Плохая связь в метро", "coverage"),
        ("Скорость интернета упала вдвое", "internet_speed"),
        ("Опять авария на линии", "outages"),
        ("Подключили платную подписку без спроса", "billing_tariff"),
        ("Перенос номера занял неделю", "sim_number"),
        ("Мастер пришел на два часа позже", "installation"),
    ],
    "ecommerce_delivery": [
        ("The delivery was delayed twice", "delivery_delay"),
        ("The courier left the parcel outside in the rain", "courier_handover"),
        ("The box arrived crushed", "parcel_condition"),
        ("I received the wrong size", "wrong_or_missing_item"),
        ("The tracking number doesn't work", "tracking_status"),
        ("The parcel locker was full", "pickup_point"),
        ("The order was marked as delivered but never arrived", "lost_parcel"),
        ("Доставку задержали на неделю", "delivery_delay"),
        ("Курьер не дождался и уехал", "courier_handover"),
        ("Коробка пришла помятой", "parcel_condition"),
        ("Привезли не тот размер", "wrong_or_missing_item"),
        ("Трек-номер не отслеживается", "tracking_status"),
        ("В пункте выдачи огромная очередь", "pickup_point"),
        ("Посылка потерялась где-то в пути", "lost_parcel"),
    ],
}


@pytest.mark.parametrize("pack", PACKS)
def test_pack_finds_its_themes_in_inflected_text(pack: str) -> None:
    taxonomy = load_taxonomy(resolve_taxonomy_names([f"builtin:{pack}"]))
    texts = [text for text, _ in EXAMPLES[pack]]
    missed = [
        (text, theme)
        for (text, theme), result in zip(
            EXAMPLES[pack], analyze(texts, taxonomy=taxonomy), strict=True
        )
        if theme not in result.themes
    ]
    assert missed == []


@pytest.mark.parametrize("pack", PACKS)
def test_pack_has_both_languages_for_every_theme(pack: str) -> None:
    taxonomy = load_taxonomy([BUILTIN_TAXONOMIES[pack]], replace=True)
    assert len(taxonomy.themes) >= 6
    for theme in taxonomy.themes:
        assert theme.terms.get("en") and theme.terms.get("ru"), theme.id


@pytest.mark.parametrize("pack", PACKS)
@pytest.mark.parametrize("lang", ["en", "ru"])
def test_no_pack_term_lemmatises_to_a_stop_word(pack: str, lang: str) -> None:
    nlp = get_pipeline(lang, load_taxonomy([BUILTIN_TAXONOMIES[pack]], replace=True))
    themes = nlp.get_pipe("cx_themes")
    assert isinstance(themes, CxThemes)
    stop = nlp.Defaults.stop_words
    bad = [
        (theme, seq[0])
        for theme, sequences in themes.lemmatised_terms.items()
        for seq in sequences
        if len(seq) == 1 and (seq[0] in stop or len(seq[0]) <= 2)
    ]
    assert bad == []


def test_builtin_names_in_the_enricher_options(tmp_path: Path) -> None:
    team = tmp_path / "team.yaml"
    team.write_text(
        "themes:\n  - id: cards\n    terms: {ru: [золотая карта]}\n"
        "  - id: crypto\n    title: Crypto\n    terms: {en: [bitcoin]}\n",
        encoding="utf-8",
    )
    options = {"taxonomy": ["builtin:banking", "team.yaml"], "project_dir": str(tmp_path)}
    taxonomy = taxonomy_for(options)
    ids = taxonomy.ids
    assert "delivery" in ids  # the default is underneath
    assert "cards" in ids and "crypto" in ids
    assert "золотая карта" in dict((t.id, t) for t in taxonomy.themes)["cards"].terms["ru"]
    result = analyze(["Bitcoin payouts are slow", "Золотую карту не выпустили"], taxonomy=taxonomy)
    assert "crypto" in result[0].themes and "cards" in result[1].themes


def test_an_unknown_builtin_is_a_clear_problem() -> None:
    problems = NlpEnricher().validate({"taxonomy": ["builtin:insurance"]})
    assert len(problems) == 1
    message = problems[0].message
    assert "builtin:insurance" in message and "builtin:banking" in message
    with pytest.raises(UnknownBuiltinError):
        resolve_taxonomy_names(["builtin:nope"])
