"""Which example survey answers came from a support ticket, and which ticket.

A support answer links to a ticket created in the weeks before it. Which ticket is
not random: an unhappy answer links more often to a ticket that was answered late or
reopened, a happy one to a ticket answered on time, the way satisfaction follows the
service in real data. That gives the example project something to find when it
compares CSAT across first-response-time bands or NPS with and without a reopened
ticket, through the joined dataset `answered_tickets`.

Every ticket is linked at most once (a survey is sent once per ticket), and the
choices come from a random stream of their own, so the other response values are
the same as without links.
"""

from __future__ import annotations

from datetime import datetime

from cxengine.scaffold.common import START, day_strings, make_rng
from cxengine.scaffold.tickets import FIRST_RESPONSE, iter_tickets

WEEK_DAYS = 7
LOOK_BACK_WEEKS = 4
#: Chance of a good, slow and bad ticket (tiers 0, 1, 2) by the answer's satisfaction 1–5.
TIER_CHANCE = {
    1: (0.10, 0.25, 0.65),
    2: (0.15, 0.30, 0.55),
    3: (0.35, 0.40, 0.25),
    4: (0.60, 0.30, 0.10),
    5: (0.72, 0.22, 0.06),
}


def ticket_tier(ticket: dict[str, object]) -> int:
    """Return 0 (answered on time), 1 (late) or 2 (very late, unanswered or reopened)."""
    frt = ticket.get("first_response_min")
    if ticket.get("reopened") or frt is None:
        return 2
    median = FIRST_RESPONSE[str(ticket["channel"])][0] / 60
    ratio = float(frt) / median  # type: ignore[arg-type]
    return 0 if ratio <= 1.0 else 1 if ratio <= 3.0 else 2


class TicketPool:
    """Unlinked tickets by creation week and tier; `pick` takes one for an answer."""

    def __init__(self, n_tickets: int, seed: int = 7, customers: int | None = None):
        rng = make_rng(seed, "ticket-links")
        self._rnd = rng.random
        self._pools: dict[int, tuple[list[tuple[str, str]], ...]] = {}
        # Day of the year from the stamp's date part: a lookup, not a date parse.
        day_of = {text: i for i, text in enumerate(day_strings())}
        for t in iter_tickets(n_tickets, seed, customers):
            created = str(t["created_at"])
            day = day_of.get(created[:10])
            if day is None:  # outside the year (never for generated tickets)
                day = (datetime.fromisoformat(created) - START).days
            week = day // WEEK_DAYS
            tiers = self._pools.setdefault(week, ([], [], []))
            tiers[ticket_tier(t)].append((str(t["ticket_id"]), str(t["customer_id"])))
        for tiers in self._pools.values():
            for pool in tiers:
                rng.shuffle(pool)

    def pick(self, day: int, satisfaction: int) -> tuple[str, str] | None:
        """Return (ticket_id, customer_id) of a ticket created before `day`, or None."""
        chances = TIER_CHANCE.get(satisfaction, (1 / 3, 1 / 3, 1 / 3))
        u = self._rnd()
        tier = 0 if u < chances[0] else 1 if u < chances[0] + chances[1] else 2
        week = day // WEEK_DAYS
        for back in range(1, LOOK_BACK_WEEKS + 1):
            tiers = self._pools.get(week - back)
            if tiers is None:
                continue
            for t in (tier, *(x for x in (0, 1, 2) if x != tier)):
                if tiers[t]:
                    return tiers[t].pop()
        return None
