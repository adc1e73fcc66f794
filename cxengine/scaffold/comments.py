"""Open-text comment templates for the example survey, in English and Russian.

Comments fit the touchpoint and agree with the scores: a low satisfaction score gets a
complaint, a middling one a mixed remark, a high one praise. They mention the themes a
keyword or NLP tagger should find (delivery/доставка/курьер, support/оператор,
website/сайт, payment/оплата, price/цена, wait/ожидание, …). Russian texts are written
as a person would write them, with inflected forms; agent templates agree in gender.

Template marks: ``{name}`` is the agent's name, ``{dat}`` the Russian dative of it, and
``[masculine|feminine]`` picks the form that agrees with the agent's gender.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

LANGUAGES = ("en", "ru")
SENTIMENTS = ("negative", "mixed", "positive")
TOUCHPOINTS = ("website", "checkout", "onboarding", "support", "delivery", "renewal")

Table = dict[str, dict[str, tuple[str, ...]]]  # touchpoint -> sentiment -> sentences


@dataclass(frozen=True)
class Agent:
    """A support agent: the name in the data, Russian forms, gender, and a quality offset."""

    name: str
    ru: str
    ru_dative: str
    female: bool
    offset: float
    team: str


AGENTS: tuple[Agent, ...] = (
    Agent("Olivia", "Оливия", "Оливии", True, 0.45, "tier1"),
    Agent("Ivan", "Иван", "Ивану", False, 0.05, "tier1"),
    Agent("Maria", "Мария", "Марии", True, 0.15, "tier1"),
    Agent("Alexei", "Алексей", "Алексею", False, 0.10, "tier2"),
    Agent("Sofia", "София", "Софии", True, 0.0, "billing"),
    Agent("Dmitry", "Дмитрий", "Дмитрию", False, -0.05, "tier2"),
    Agent("Emma", "Эмма", "Эмме", True, 0.20, "tier1"),
    Agent("Timur", "Тимур", "Тимуру", False, -0.55, "tier1"),
)

EN: Table = {
    "website": {
        "negative": (
            "The website is very slow, pages take forever to load.",
            "Pages load rather slowly, it is annoying.",
            "The site kept logging me out and I lost my basket twice.",
            "Search on the website never finds what I need.",
            "The mobile version of the site is unusable, buttons overlap.",
        ),
        "mixed": (
            "The website works, but the search could be better.",
            "The site is OK, a bit slow in the evenings.",
            "Found what I needed, though the filters are confusing.",
            "Decent website, but prices are higher than elsewhere.",
        ),
        "positive": (
            "The website is fast and easy to use.",
            "Great site, found everything in a couple of minutes.",
            "Love the new website design, everything is clear.",
            "Search works perfectly and the filters are really handy.",
        ),
    },
    "checkout": {
        "negative": (
            "Payment failed three times at checkout and the money was blocked on my card.",
            "Checkout crashed at the payment step, I had to start over.",
            "My card payment did not go through and nobody could explain why.",
            "The promo code did not work at checkout and the price went up.",
            "Too many steps to pay, and then the payment page froze.",
        ),
        "mixed": (
            "The payment went through on the second try.",
            "Checkout is fine, but the delivery cost only shows up at the last step.",
            "Paying was OK, I would like more payment options.",
        ),
        "positive": (
            "Quick and easy checkout, paid in one click.",
            "Payment was smooth and the receipt came instantly.",
            "Checkout took a minute, paying by phone is very convenient.",
        ),
    },
    "onboarding": {
        "negative": (
            "Sign-up took forever and the confirmation email never arrived.",
            "Onboarding was confusing, nobody explained how to get started.",
            "I could not finish registration, the form kept rejecting my phone number.",
        ),
        "mixed": (
            "Registration was fine, but the welcome guide is far too long.",
            "Setup took a while, but I got there in the end.",
        ),
        "positive": (
            "VERY happy with the sales process, you understood my needs "
            "and helped with onboarding.",
            "Sign-up took two minutes and the welcome tour is really helpful.",
            "Onboarding was clear and friendly, I was up and running the same day.",
        ),
    },
    "support": {
        "negative": (
            "Waited 40 minutes on the line before anyone answered.",
            "The operator was rude and hung up on me.",
            "Long wait times, and the problem is still not solved.",
            "I had to explain my issue three times to different people.",
            "Support promised to call back and never did.",
        ),
        "mixed": (
            "The issue was solved, but the wait was far too long.",
            "The operator was polite, though it took two calls to fix.",
        ),
        "positive": (
            "Quick answer, the problem was solved in one call.",
            "Support was fast and polite, thank you!",
        ),
    },
    "delivery": {
        "negative": (
            "The courier was two hours late and did not even call.",
            "Delivery was delayed by a week and nobody warned me.",
            "The parcel arrived damaged and the courier was rude.",
            "The order was delivered to the wrong address.",
            "Delivery is too expensive for such a long wait.",
        ),
        "mixed": (
            "Delivery was a day late, but the courier was polite.",
            "Arrived on time, but the packaging could be better.",
        ),
        "positive": (
            "Fast delivery, the courier arrived right on time.",
            "Delivered the next day, everything well packed.",
            "Polite courier, called ahead, perfect delivery.",
        ),
    },
    "renewal": {
        "negative": (
            "The price went up at renewal without any warning.",
            "Cancelling my subscription was a nightmare, I had to call three times.",
            "Too expensive for what you get, I am not renewing.",
            "Auto-renewal charged my card and the refund took weeks.",
        ),
        "mixed": (
            "Renewal was easy, but the price is getting high.",
            "Fine overall, though I wish loyal customers got a discount.",
        ),
        "positive": (
            "Renewed in one click and got a loyalty discount.",
            "Good value for the price, happy to stay another year.",
        ),
    },
}

RU: Table = {
    "website": {
        "negative": (
            "Сайт очень медленный, страницы грузятся целую вечность.",
            "Страницы загружаются довольно медленно, это раздражает.",
            "Сайт постоянно выкидывает из аккаунта, корзина дважды пропадала.",
            "Поиск на сайте ничего не находит, приходится листать каталог вручную.",
            "Мобильной версией сайта невозможно пользоваться, кнопки налезают друг на друга.",
        ),
        "mixed": (
            "Сайт работает, но поиск мог бы быть и получше.",
            "Сайт нормальный, но по вечерам заметно тормозит.",
            "Всё нашлось, хотя фильтры на сайте запутанные.",
            "Сайт удобный, но цены выше, чем у других магазинов.",
        ),
        "positive": (
            "Удобный и быстрый сайт, всё нашлось за пару минут.",
            "Новый дизайн сайта очень понравился, всё понятно.",
            "Поиск работает отлично, фильтрами пользоваться очень удобно.",
        ),
    },
    "checkout": {
        "negative": (
            "Оплата не прошла три раза, а деньги на карте заблокировали.",
            "При оплате страница зависла, пришлось оформлять заказ заново.",
            "Промокод не сработал, и итоговая цена выросла.",
            "Слишком много шагов до оплаты, а в конце ещё и ошибка платежа.",
        ),
        "mixed": (
            "Оплата прошла только со второй попытки.",
            "Оформить заказ несложно, но стоимость доставки видна только в самом конце.",
            "Хотелось бы больше способов оплаты.",
        ),
        "positive": (
            "Оплата прошла быстро, чек пришёл сразу.",
            "Заказ оформлен и оплачен за минуту, очень удобно.",
        ),
    },
    "onboarding": {
        "negative": (
            "Регистрация заняла целую вечность, письмо с подтверждением так и не пришло.",
            "Непонятно, с чего начать, никто ничего не объяснил.",
            "Форма регистрации не принимала мой номер телефона.",
        ),
        "mixed": (
            "Регистрация нормальная, но приветственная инструкция слишком длинная.",
            "Настройка заняла много времени, но в итоге всё заработало.",
        ),
        "positive": (
            "Регистрация заняла две минуты, обучающий тур очень помог.",
            "Менеджер сразу понял, что мне нужно, и помог со всеми настройками.",
        ),
    },
    "support": {
        "negative": (
            "Сорок минут ожидания на линии, прежде чем ответил оператор.",
            "Оператор грубил и бросил трубку.",
            "Долгое ожидание, а проблема так и не решена.",
            "Пришлось трижды объяснять проблему разным сотрудникам.",
            "Обещали перезвонить и не перезвонили.",
        ),
        "mixed": (
            "Вопрос решили, но ожидание на линии слишком долгое.",
            "Оператор вежливый, но проблему решили только со второго звонка.",
        ),
        "positive": (
            "Ответили быстро, проблему решили за один звонок.",
            "Поддержка работает быстро и вежливо, спасибо!",
        ),
    },
    "delivery": {
        "negative": (
            "Курьер опоздал на два часа, доставкой недоволен.",
            "Доставку задержали на неделю, и никто не предупредил.",
            "Посылка пришла повреждённой, а курьер ещё и нагрубил.",
            "Заказ привезли не по тому адресу.",
            "Доставка слишком дорогая для такого долгого ожидания.",
        ),
        "mixed": (
            "Доставка опоздала на день, но курьер был вежливым.",
            "Привезли вовремя, но упаковка могла быть и получше.",
        ),
        "positive": (
            "Быстрая доставка, курьер приехал точно ко времени.",
            "Привезли на следующий день, всё хорошо упаковано.",
            "Вежливый курьер, заранее позвонил, доставка отличная.",
        ),
    },
    "renewal": {
        "negative": (
            "При продлении цена выросла без всякого предупреждения.",
            "Отменить подписку — сущий кошмар, пришлось звонить три раза.",
            "Слишком дорого за такой сервис, продлевать не буду.",
            "Автопродление списало деньги, а возврат шёл несколько недель.",
        ),
        "mixed": (
            "Продлить было легко, но цена уже высоковата.",
            "В целом нормально, но хотелось бы скидку для постоянных клиентов.",
        ),
        "positive": (
            "Подписку продлили в один клик, ещё и скидку дали.",
            "Хорошее соотношение цены и качества, остаюсь ещё на год.",
        ),
    },
}

# Extra delivery complaints in the November–December peak season.
PEAK_DELIVERY: dict[str, tuple[str, ...]] = {
    "en": (
        "Because of the holiday rush my order came ten days late.",
        "The gift I ordered arrived two weeks later than promised.",
        "The courier service is clearly overloaded, my parcel was stuck for days.",
    ),
    "ru": (
        "Из-за предпраздничного ажиотажа заказ шёл десять дней.",
        "Подарок пришёл на две недели позже обещанного срока.",
        "Курьерская служба явно не справляется, посылка несколько дней стояла на складе.",
    ),
}

# Support comments that name the agent (the article's "Olivia is professional…").
AGENT_TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "negative": (
            "{name} was impolite and did not listen to me.",
            "{name} could not answer a simple question about my order.",
        ),
        "mixed": ("{name} was friendly, but it took ages to get through to support.",),
        "positive": (
            "{name} is professional and knowledgeable.",
            "{name} solved my problem in five minutes, great service.",
            "Thanks to {name} for the patience and the clear explanations.",
        ),
    },
    "ru": {
        "negative": (
            "Оператор {name} [был невнимателен|была невнимательна] и грубо со мной "
            "[разговаривал|разговаривала].",
            "{name} так и не [смог|смогла] ответить на простой вопрос о заказе.",
        ),
        "mixed": ("{name} [был вежлив|была вежлива], но дозвониться в поддержку очень трудно.",),
        "positive": (
            "{name} — настоящий профессионал, [решил|решила] мой вопрос за пять минут.",
            "Спасибо оператору {dat}, всё [объяснил|объяснила] спокойно и понятно.",
            "{name} очень [помог|помогла], поддержка на высоте.",
        ),
    },
}

CLOSERS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "negative": ("Very disappointed.", "Not ordering again.", "Please fix this."),
        "mixed": ("Could be better.", "Overall fine."),
        "positive": ("Thank you!", "Keep it up.", "Will recommend to friends."),
    },
    "ru": {
        "negative": ("Больше заказывать не буду.", "Исправьте, пожалуйста.", "Очень обидно."),
        "mixed": ("Есть куда расти.", "В целом неплохо."),
        "positive": ("Спасибо!", "Так держать!", "Буду рекомендовать друзьям."),
    },
}

_GENDER = re.compile(r"\[([^|\]]*)\|([^\]]*)\]")


def fill_agent(template: str, agent: Agent, language: str) -> str:
    """Put an agent's name into a template, choosing the gendered word forms."""
    if language == "ru":
        text = template.replace("{name}", agent.ru).replace("{dat}", agent.ru_dative)
        return _GENDER.sub(lambda m: m.group(2 if agent.female else 1), text)
    return template.replace("{name}", agent.name)


def _expand(sentences: tuple[str, ...], closers: tuple[str, ...]) -> tuple[str, ...]:
    # Each sentence alone, and followed by each closer: more variety, same meaning.
    return sentences + tuple(f"{s} {c}" for s in sentences for c in closers)


@functools.cache
def comment_pool(
    language: str, touchpoint: str, sentiment: str, agent: str = "", peak: bool = False
) -> tuple[str, ...]:
    """Return the comment texts for a language, touchpoint, sentiment, agent and season."""
    table = EN if language == "en" else RU
    closers = CLOSERS[language][sentiment]
    sentences = table[touchpoint][sentiment]
    if peak and touchpoint == "delivery" and sentiment == "negative":
        # Peak-season complaints dominate in November and December.
        sentences = sentences + PEAK_DELIVERY[language] * 2
    pool = _expand(sentences, closers)
    if agent and touchpoint == "support":
        who = next(a for a in AGENTS if a.name == agent)
        named = tuple(fill_agent(t, who, language) for t in AGENT_TEMPLATES[language][sentiment])
        # Named comments are common in support feedback: weigh them like the generic ones.
        pool += _expand(named, closers) * max(1, len(pool) // (len(named) * (1 + len(closers))))
    return pool
