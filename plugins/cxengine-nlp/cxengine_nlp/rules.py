"""Closed-class words that steer sentiment: negators, intensifiers, contrast markers.

These are grammar, not vocabulary, so they live in code next to the scorer rather than
in the lexicon files. Words are lemmas (English: lower-cased forms are checked too).
All lists were written by the cxengine team.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LanguageRules:
    """Closed-class words for one language."""

    #: Flip the polarity of a sentiment word within the negation window after them.
    negators: frozenset[str]
    #: Counterfactual markers ("wish", "бы"): flip only positive words after them,
    #: because "could have been better" is a complaint, "could be worse" is not praise.
    irrealis: frozenset[str]
    #: Multiply the next sentiment word: >1 intensifies, <1 dampens.
    boosters: dict[str, float]
    #: "but"-like words: the clause after them outweighs the clause before.
    contrast: frozenset[str]
    #: "although"-like words: the clause they open weighs less.
    concessive: frozenset[str]
    #: Words that intensify excess: a neutral word after them reads as a complaint
    #: ("too small", "слишком долго").
    excess: frozenset[str]
    #: Multiplier for negative valences. Russian reviews wrap complaints in courtesy
    #: ("спасибо", "приятный вечер, но ..."), so their negatives need more weight.
    negative_weight: float = 1.0
    #: What a customer expects to happen ("arrive", "work", "reply", "связь"): neutral
    #: words, but negated they name a service failure ("never arrived", "не работает",
    #: "нет связи"), a complaint without any sentiment word.
    expected: frozenset[str] = frozenset()
    #: Courtesy formulas ("thanks", "спасибо"): said to be polite as often as to praise,
    #: so they count at `courtesy_weight` of their lexicon valence.
    courtesy: frozenset[str] = frozenset()
    #: Request markers ("please", "пожалуйста", "помогите"): the positive words of the
    #: request they open ("please help", "подскажите, как вернуть") are not praise.
    requests: frozenset[str] = frozenset()
    #: Negators that follow what they negate ("интернета нет", "ответа нет"): after
    #: an expected word they make it a failure too.
    postposed_negators: frozenset[str] = frozenset()


ENGLISH = LanguageRules(
    negators=frozenset(
        [
            "not",
            "n't",
            "no",
            "never",
            "none",
            "nothing",
            "nobody",
            "nowhere",
            "neither",
            "nor",
            "without",
            "hardly",
            "barely",
            "scarcely",
            "cannot",
            "cant",
            "dont",
            "doesnt",
            "didnt",
            "isnt",
            "wasnt",
            "werent",
            "wont",
            "wouldnt",
            "couldnt",
            "shouldnt",
            "havent",
            "hasnt",
            "hadnt",
            "aint",
            "lack",
            "lacking",
        ]
    ),
    irrealis=frozenset(["wish", "wished", "hoped", "could", "should"]),
    boosters={
        "very": 1.3,
        "really": 1.25,
        "so": 1.2,
        "extremely": 1.5,
        "incredibly": 1.5,
        "absolutely": 1.4,
        "totally": 1.3,
        "completely": 1.3,
        "utterly": 1.5,
        "super": 1.3,
        "truly": 1.3,
        "highly": 1.3,
        "especially": 1.2,
        "most": 1.2,
        "exceptionally": 1.5,
        "terribly": 1.4,
        "awfully": 1.3,
        "particularly": 1.2,
        "definitely": 1.2,
        "beyond": 1.3,
        "soooo": 1.4,
        "sooo": 1.3,
        "too": 1.2,
        "slightly": 0.6,
        "somewhat": 0.7,
        "a bit": 0.7,
        "bit": 0.7,
        "little": 0.75,
        "kind": 0.7,
        "kinda": 0.7,
        "sort": 0.7,
        "fairly": 0.8,
        "quite": 0.9,
        "rather": 0.8,
        "pretty": 0.9,
        "mostly": 0.8,
        "almost": 0.7,
        "marginally": 0.6,
        "partly": 0.7,
        "barely": 0.5,
    },
    contrast=frozenset(
        ["but", "however", "yet", "nevertheless", "nonetheless", "unfortunately", "except"]
    ),
    concessive=frozenset(["although", "though", "while", "whilst", "despite"]),
    excess=frozenset({"too"}),
    expected=frozenset(
        [
            "work",
            "arrive",
            "receive",
            "come",
            "reply",
            "respond",
            "answer",
            "call",
            "fix",
            "resolve",
            "solve",
            "refund",
            "deliver",
            "ship",
            "load",
            "open",
            "connect",
            "show",
            "update",
            "process",
            "hear",
            "contact",
            "response",
            "signal",
            "internet",
            "connection",
            "service",
            "access",
            "wifi",
            "power",
            "log",
            "login",
            "sign",
        ]
    ),
    courtesy=frozenset(["thanks", "thank", "thx", "ty", "cheers"]),
    requests=frozenset(["please", "pls", "plz", "kindly"]),
)

RUSSIAN = LanguageRules(
    negators=frozenset(
        ["не", "нет", "ни", "без", "никогда", "никак", "нисколько", "отсутствие", "отсутствовать"]
    ),
    irrealis=frozenset({"бы", "хотеться"}),
    boosters={
        "очень": 1.3,
        "крайне": 1.5,
        "чрезвычайно": 1.5,
        "весьма": 1.2,
        "совсем": 1.3,
        "абсолютно": 1.4,
        "совершенно": 1.4,
        "полностью": 1.3,
        "невероятно": 1.5,
        "безумно": 1.5,
        "ужасно": 1.4,
        "жутко": 1.4,
        "страшно": 1.3,
        "просто": 1.15,
        "самый": 1.3,
        "супер": 1.3,
        "вообще": 1.2,
        "реально": 1.2,
        "действительно": 1.2,
        "обязательно": 1.2,
        "непременно": 1.2,
        "особенно": 1.2,
        "очень-очень": 1.5,
        "слишком": 1.2,
        "довольно": 0.85,
        "достаточно": 0.85,
        "вполне": 0.9,
        "немного": 0.6,
        "немножко": 0.6,
        "чуть": 0.6,
        "чуть-чуть": 0.6,
        "слегка": 0.6,
        "несколько": 0.8,
        "относительно": 0.7,
        "почти": 0.7,
        "местами": 0.7,
        "практически": 0.8,
        "более-менее": 0.6,
        "сравнительно": 0.7,
    },
    contrast=frozenset(
        ["но", "однако", "зато", "впрочем", "правда", "единственно", "единственный"]
    ),
    concessive=frozenset({"хотя", "несмотря"}),
    excess=frozenset({"слишком", "чересчур"}),
    negative_weight=1.3,
    expected=frozenset(
        [
            "работать",
            "прийти",
            "приходить",
            "доставить",
            "привезти",
            "ответить",
            "отвечать",
            "дозвониться",
            "получить",
            "вернуть",
            "помочь",
            "решить",
            "загружаться",
            "грузиться",
            "открываться",
            "открыть",
            "подключить",
            "ловить",
            "связаться",
            "перезвонить",
            "дойти",
            "поступить",
            "зачислить",
            "исправить",
            "устранить",
            "войти",
            "зайти",
            "связь",
            "интернет",
            "ответ",
            "сеть",
            "доступ",
            "сигнал",
            "свет",
        ]
    ),
    courtesy=frozenset(["спасибо", "благодарить", "благодарность", "спс"]),
    requests=frozenset(
        ["пожалуйста", "прошу", "просьба", "помогите", "подскажите", "объясните", "верните"]
    ),
    postposed_negators=frozenset(["нет"]),
)

#: Languages without their own rules use none: a foreign "no" must not flip anything.
NEUTRAL = LanguageRules(
    negators=frozenset(),
    irrealis=frozenset(),
    boosters={},
    contrast=frozenset(),
    concessive=frozenset(),
    excess=frozenset(),
)

RULES: dict[str, LanguageRules] = {"en": ENGLISH, "ru": RUSSIAN}


def rules_for(lang: str) -> LanguageRules:
    """Return the closed-class rules for a language (none for "xx" and the rest)."""
    return RULES.get(lang, NEUTRAL)
