"""The example survey: NPS, CSAT and CES answers with an open comment, over 2025.

One latent "experience" value per response drives all three scores, so they correlate
as real answers do. Its mean depends on the touchpoint (website strong, delivery and
support weak), drifts gently over the year, and drops for delivery in November (a
peak-season delay) so that a monthly trend line shows the dip. Support answers also
carry the agent's own quality.

The generator is a plain loop over ``random.random()`` and lookup tables built once,
so a million rows stream to CSV in a few seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from pathlib import Path

from cxengine.scaffold.comments import AGENTS, SENTIMENTS, TOUCHPOINTS, comment_pool
from cxengine.scaffold.common import (
    DAY_SECONDS,
    NORMAL,
    NORMAL_BITS,
    PICK_BITS,
    day_strings,
    make_rng,
    month_of_day,
    pick_table,
    time_strings,
    timeline,
)
from cxengine.scaffold.links import TicketPool

COLUMNS = (
    "response_id",
    "submitted_at",
    "touchpoint",
    "channel",
    "agent",
    "customer_id",
    "recommend",
    "satisfaction",
    "effort",
    "comment",
    "ticket_id",
)
CHANNELS = ("web", "email", "phone", "chat")

# Share of answers per touchpoint (uneven on purpose).
TOUCHPOINT_WEIGHTS = {
    "website": 28,
    "checkout": 16,
    "onboarding": 10,
    "support": 16,
    "delivery": 21,
    "renewal": 9,
}
# Where each touchpoint's survey was answered: web, email, phone, chat.
CHANNEL_WEIGHTS = {
    "website": (80, 8, 0, 12),
    "checkout": (85, 10, 0, 5),
    "onboarding": (45, 35, 15, 5),
    "support": (5, 20, 45, 30),
    "delivery": (30, 50, 15, 5),
    "renewal": (40, 45, 15, 0),
}
# Mean of the latent experience per touchpoint, and its drift from January to December.
LEVEL = {
    "website": 0.55,
    "checkout": 0.30,
    "onboarding": 0.35,
    "support": -0.10,
    "delivery": -0.05,
    "renewal": 0.10,
}
TREND = {
    "website": 0.25,
    "checkout": 0.15,
    "onboarding": 0.30,
    "support": 0.20,
    "delivery": 0.10,
    "renewal": -0.20,
}
DIP_TOUCHPOINT = "delivery"
DIP_MONTH = 10  # November, 0-based: the peak-season delay
DIP_SIZE = -1.0

# How much of each answer is its own noise on top of the shared experience.
ANSWER_NOISE = 0.55
# Answer = clamp(round(a + b * latent), low, high) for recommend, satisfaction, effort.
SCORE_MAPS = ((7.6, 2.1, 0, 10), (3.9, 0.95, 1, 5), (5.3, 1.3, 1, 7))
# Latents are looked up in tables of STEPS cells per unit, covering -OFFSET/STEPS…+OFFSET/STEPS
# (the latent never leaves ±8: levels ±1.5, agents ±0.6, noise below ±3.6 and ±2).
STEPS = 64
OFFSET = 8 * STEPS
# Chance of writing a comment by sentiment: unhappy customers write more.
COMMENT_CHANCE = (0.82, 0.62, 0.63)
RUSSIAN_PER_MILLE = 300
LANGS = ("en", "ru")
AGENT_WEIGHTS = (18, 15, 14, 10, 8, 10, 13, 12)  # answers per agent, in AGENTS order

# Every ERROR_EVERY-th row carries a data error the engine must reject, not crash on.
ERROR_EVERY = 200
ERRORS = ("recommend", 11), ("satisfaction", "five"), ("recommend", -1)

HOUR_WEIGHTS = (
    0.5, 0.3, 0.2, 0.2, 0.2, 0.4, 1.0, 2.0, 3.5, 4.5, 5.0, 5.0,
    5.0, 5.0, 4.8, 4.6, 4.6, 4.8, 5.2, 5.6, 5.4, 4.4, 2.8, 1.2,
)  # fmt: skip


def _day_weight(day: int) -> float:
    weekend = (day + 2) % 7 >= 5  # 2025-01-01 is a Wednesday
    growth = 1.0 + 0.25 * day / 365
    season = 1.2 if day >= 304 else 1.0  # November and December sales
    return (0.8 if weekend else 1.0) * growth * season


def _scale(value: float, low: int, high: int) -> int:
    if value < low + 0.5:
        return low
    if value >= high - 0.5:
        return high
    return int(value + 0.5)


def _csv_text(value: str) -> str:
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def _rows(
    n: int, seed: int, customers: int | None, as_csv: bool, tickets: int | None = None
) -> Iterator[tuple[str | int, ...] | str]:
    """Yield ``n`` rows in time order: tuples in ``COLUMNS`` order, or CSV lines.

    One loop serves both forms so the fast CSV path and the dict path cannot drift;
    the CSV path formats lines itself (comments are pre-quoted), about twice as fast
    as ``csv.writer`` on this data.
    """
    rng = make_rng(seed, "responses")
    rnd = rng.random
    n_customers = max(1, customers if customers is not None else n // 4)
    # Support answers link to the tickets `init` writes (as many as half the answers).
    links = TicketPool(tickets if tickets is not None else max(1, n // 2), seed, n_customers)
    error_offset = int(rnd() * ERROR_EVERY)

    tp_names = TOUCHPOINTS
    pairs = [(t, c) for t in range(len(tp_names)) for c in range(len(CHANNELS))]
    pair_weights = [
        TOUCHPOINT_WEIGHTS[tp_names[t]]
        * CHANNEL_WEIGHTS[tp_names[t]][c]
        / sum(CHANNEL_WEIGHTS[tp_names[t]])
        for t, c in pairs
    ]
    pair_bits = 14
    pair_table = tuple(pairs[k] for k in pick_table(pair_weights, 1 << pair_bits))
    support = tp_names.index("support")
    months = month_of_day()
    # The latent experience in table units: a score is SCORE[int(latent + noise)].
    levels = tuple(
        tuple(
            (
                LEVEL[t]
                + TREND[t] * (m - 5.5) / 11
                + (DIP_SIZE if t == DIP_TOUCHPOINT and m == DIP_MONTH else 0.0)
            )
            * STEPS
            + OFFSET
            for m in range(12)
        )
        for t in tp_names
    )
    person = tuple(v * STEPS for v in NORMAL)
    answer = tuple(v * ANSWER_NOISE * STEPS for v in NORMAL)
    rec_table, sat_table, eff_table = (
        tuple(_scale(a + b * ((k - OFFSET) / STEPS), lo, hi) for k in range(2 * OFFSET))
        for a, b, lo, hi in SCORE_MAPS
    )
    agent_table = pick_table(AGENT_WEIGHTS)
    fix = _csv_text if as_csv else str
    peak_months = (10, 11)
    plain, peak = (
        tuple(
            tuple(
                tuple(tuple(map(fix, comment_pool(lang, t, s, "", season))) for lang in LANGS)
                for s in SENTIMENTS
            )
            for t in tp_names
        )
        for season in (False, True)
    )
    # pools[month][touchpoint][sentiment][language]
    pools = tuple(peak if m in peak_months else plain for m in range(12))
    agent_pools = tuple(
        tuple(
            tuple(tuple(map(fix, comment_pool(lang, "support", s, a.name))) for lang in LANGS)
            for s in SENTIMENTS
        )
        for a in AGENTS
    )
    days = day_strings()
    times = time_strings()
    bits = rng.getrandbits
    nbits = NORMAL_BITS
    pbits = PICK_BITS
    chance = COMMENT_CHANCE

    moments = timeline(n, rnd, _day_weight, HOUR_WEIGHTS)
    for i, sec in enumerate(moments):
        day = sec // DAY_SECONDS
        submitted = days[day] + times[sec - day * DAY_SECONDS]
        tp, ch = pair_table[bits(pair_bits)]
        month = months[day]
        z = levels[tp][month] + person[bits(nbits)]
        if tp == support:
            ag = agent_table[bits(pbits)]
            agent = AGENTS[ag]
            z += agent.offset * STEPS
            agent_name = agent.name
        else:
            ag = -1
            agent_name = ""
        recommend: str | int = rec_table[int(z + answer[bits(nbits)])]
        satisfaction = sat_table[int(z + answer[bits(nbits)])]
        effort = eff_table[int(z + answer[bits(nbits)])]
        cust = int(rnd() * n_customers)
        ticket = ""
        if tp == support:
            link = links.pick(day, satisfaction)
            if link is not None:
                # The answer is the ticket's customer's (drawn above all the same, so
                # the random stream, and every other value, stays as it was).
                ticket, cust = link[0], int(link[1][1:]) - 1
        # Language is a property of the customer, as in real feedback.
        lang = 1 if (cust * 2654435761 + seed) % 1000 < RUSSIAN_PER_MILLE else 0
        sentiment = 0 if satisfaction <= 2 else 1 if satisfaction == 3 else 2
        u = rnd()
        if u < chance[sentiment]:
            if ag >= 0:
                pool = agent_pools[ag][sentiment][lang]
            else:
                pool = pools[month][tp][sentiment][lang]
            comment = pool[int(u / chance[sentiment] * len(pool))]
        else:
            comment = ""
        sat_out: str | int = satisfaction
        if i % ERROR_EVERY == error_offset:
            column, bad = ERRORS[(i // ERROR_EVERY) % len(ERRORS)]
            if column == "recommend":
                recommend = bad
            else:
                sat_out = bad
        if as_csv:
            yield (
                f"R{i + 1:05d},{submitted},{tp_names[tp]},{CHANNELS[ch]},{agent_name},"
                f"C{cust + 1:05d},{recommend},{sat_out},{effort},{comment},{ticket}\n"
            )
        else:
            yield (
                f"R{i + 1:05d}",
                submitted,
                tp_names[tp],
                CHANNELS[ch],
                agent_name,
                f"C{cust + 1:05d}",
                recommend,
                sat_out,
                effort,
                comment,
                ticket,
            )


def iter_response_rows(
    n: int, seed: int = 7, customers: int | None = None, tickets: int | None = None
) -> Iterator[tuple[str | int, ...]]:
    """Yield ``n`` survey rows as tuples in ``COLUMNS`` order, ordered by time.

    Support answers carry the ``ticket_id`` of one of the ``tickets`` example tickets
    (default ``n // 2``, as `cxengine init` writes) generated with the same seed.
    """
    for row in _rows(n, seed, customers, as_csv=False, tickets=tickets):
        assert isinstance(row, tuple)
        yield row


def generate_responses(
    n: int = 4000, seed: int = 7, customers: int | None = None, tickets: int | None = None
) -> list[dict[str, str | int]]:
    """Return ``n`` example survey responses as dicts (deliberate errors included)."""
    rows = iter_response_rows(n, seed, customers, tickets)
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows]


def write_responses_csv(
    path: str | Path,
    n: int = 4000,
    seed: int = 7,
    customers: int | None = None,
    tickets: int | None = None,
) -> int:
    """Stream ``n`` example responses to a UTF-8 CSV file; return the row count."""
    lines = _rows(n, seed, customers, as_csv=True, tickets=tickets)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(COLUMNS) + "\n")
        while chunk := "".join(islice(lines, 8192)):  # type: ignore[arg-type]
            fh.write(chunk)
    return n
