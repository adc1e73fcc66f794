"""The example support tickets: first response, resolution, FCR, CSAT, backlog, in 2025.

First-response times follow each channel's reality (phone 2–4 min, chat 1–2 min,
social about an hour, email and web forms hours up to a day) with log-normal long
tails. Tickets still open at the end of the year have no ``resolved_at`` (they are
mostly recent, plus a few forgotten ones), a few have no first response yet, and three
carry a first response *before* creation (clock skew in the helpdesk export), which
the engine must reject as a negative duration.

Phone tickets also carry ``wait_s``, the telephony system's seconds on the line from
the end of the IVR menu to pick-up (one of them a negative glitch, to be rejected),
and every answered ticket the helpdesk's own ``first_response_min`` column, which SLA
conditions read.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from cxengine.scaffold.comments import AGENTS
from cxengine.scaffold.common import (
    DAY_SECONDS,
    NORMAL,
    NORMAL_BITS,
    PICK_BITS,
    YEAR_SECONDS,
    day_strings,
    make_rng,
    pick_table,
    stamp,
    time_strings,
    timeline,
)

COLUMNS = (
    "ticket_id",
    "created_at",
    "first_response_at",
    "resolved_at",
    "channel",
    "agent",
    "team",
    "customer_id",
    "first_contact_resolved",
    "csat",
    "reopened",
    "first_response_min",
    "wait_s",
)
CHANNELS = ("phone", "chat", "email", "social", "web_form")
CHANNEL_WEIGHTS = (30, 28, 24, 8, 10)
# First response: median seconds and log-normal spread per channel.
FIRST_RESPONSE = {
    "phone": (180.0, 0.45),
    "chat": (85.0, 0.55),
    "email": (4 * 3600.0, 0.9),
    "social": (40 * 60.0, 0.75),
    "web_form": (6 * 3600.0, 0.85),
}
TEAMS = ("tier1", "tier2", "billing")
# Team per channel: phone and chat land in tier 1 first; email and forms escalate more.
TEAM_WEIGHTS = {
    "phone": (75, 12, 13),
    "chat": (78, 10, 12),
    "email": (50, 25, 25),
    "social": (80, 10, 10),
    "web_form": (45, 30, 25),
}
# Work after the first response: median seconds, spread, chance of first-contact resolution.
RESOLUTION = {
    "tier1": (40 * 60.0, 1.1, 0.78),
    "tier2": (20 * 3600.0, 1.0, 0.40),
    "billing": (6 * 3600.0, 1.1, 0.60),
}
CSAT_ANSWERED = 0.42  # share of resolved tickets with a CSAT answer
NEGATIVE_DURATION_ERRORS = (0.23, 0.51, 0.87)  # where in the year the bad rows sit
NEGATIVE_WAIT_ERROR = 0.62  # the first phone call after this point has a negative wait
# Phone: the ticket opens when the call starts; the telephony system counts the wait
# on the line from the end of the IVR menu (this many seconds, uniform) to pick-up.
IVR_SECONDS = (10, 40)

HOUR_WEIGHTS = (
    0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.6, 1.5, 3.5, 5.0, 5.5, 5.5,
    5.0, 5.2, 5.5, 5.3, 5.0, 4.5, 3.5, 2.8, 2.2, 1.6, 1.0, 0.6,
)  # fmt: skip


def _day_weight(day: int) -> float:
    weekend = (day + 2) % 7 >= 5  # 2025-01-01 is a Wednesday
    # Delivery trouble in November floods support too.
    season = 1.35 if 304 <= day < 334 else 1.1 if day >= 334 else 1.0
    return (0.55 if weekend else 1.0) * season


def iter_tickets(n: int, seed: int = 7, customers: int | None = None) -> Iterator[dict[str, Any]]:
    """Yield ``n`` example tickets as dicts, ordered by creation time."""
    rng = make_rng(seed, "tickets")
    # A stream of its own, so adding the phone waits left every other value unchanged.
    wait_rnd = make_rng(seed, "tickets-wait").random
    wait_error_after = int(NEGATIVE_WAIT_ERROR * n) if n >= 3 else n
    wait_error_done = False
    rnd = rng.random
    bits = rng.getrandbits
    n_customers = max(1, customers if customers is not None else n // 2)
    channel_table = pick_table(CHANNEL_WEIGHTS)
    team_tables = {c: pick_table(TEAM_WEIGHTS[c]) for c in CHANNELS}
    team_agents = {t: tuple(a for a in AGENTS if a.team == t) for t in TEAMS}
    errors = {min(n - 1, int(f * n)) for f in NEGATIVE_DURATION_ERRORS} if n >= 3 else set()
    width = max(5, len(str(n)))
    days = day_strings()
    times = time_strings()

    def fmt(sec: int) -> str:
        if 0 <= sec < YEAR_SECONDS:
            day = sec // DAY_SECONDS
            return days[day] + times[sec - day * DAY_SECONDS]
        return stamp(sec)

    for i, created in enumerate(timeline(n, rnd, _day_weight, HOUR_WEIGHTS)):
        channel = CHANNELS[channel_table[bits(PICK_BITS)]]
        team = TEAMS[team_tables[channel][bits(PICK_BITS)]]
        staff = team_agents[team]
        agent = staff[int(rnd() * len(staff))]
        median, sigma = FIRST_RESPONSE[channel]
        if channel in ("email", "web_form") and created % 86_400 >= 18 * 3600:
            median *= 2.5  # written in the evening, answered next morning
        frt = max(5, int(median * math.exp(sigma * NORMAL[bits(NORMAL_BITS)])))
        first: int | None = created + frt
        work_median, work_sigma, fcr_chance = RESOLUTION[team]
        fcr = rnd() < fcr_chance
        if fcr:
            work_median *= 0.25
        work = max(30, int(work_median * math.exp(work_sigma * NORMAL[bits(NORMAL_BITS)])))
        reopened = rnd() < (0.03 if fcr else 0.12)
        if reopened:
            work += int(86_400 * (0.5 + 3 * rnd()))
        resolved: int | None = created + frt + work
        # Open at export time: mostly the last days' tickets (waiting on the customer or
        # a second line), plus a handful that were lost in the queue long ago.
        age_days = (YEAR_SECONDS - created) / 86_400
        stuck = rnd()
        if stuck < 0.002:
            first = resolved = None
        elif stuck < 0.004 + 0.35 * math.exp(-age_days / 5):
            resolved = None
        if first is not None and first >= YEAR_SECONDS:
            first = resolved = None
        if resolved is not None and resolved >= YEAR_SECONDS:
            resolved = None
        csat: int | None = None
        if resolved is not None and rnd() < CSAT_ANSWERED:
            # Satisfaction falls with slow answers, escalations and reopenings.
            late = math.log10(max(frt / FIRST_RESPONSE[channel][0], 0.1))
            slow = math.log10(max((resolved - created) / 3600, 0.01))
            z = 0.7 + agent.offset - 0.6 * late - 0.35 * slow + (0.4 if fcr else -0.3)
            z += -0.8 if reopened else 0.0
            z += 0.7 * NORMAL[bits(NORMAL_BITS)]
            csat = min(5, max(1, int(3.6 + 1.1 * z + 0.5)))
        if i in errors:
            # Helpdesk clock skew: a reply stamped before the ticket existed.
            first = created - 60 * (2 + int(rnd() * 45))
        wait: int | None = None
        if channel == "phone" and first is not None:
            ivr = IVR_SECONDS[0] + int(wait_rnd() * (IVR_SECONDS[1] - IVR_SECONDS[0]))
            wait = max(0, first - created - ivr)
            if i >= wait_error_after and not wait_error_done:
                wait, wait_error_done = -17, True  # a telephony export glitch
        yield {
            "ticket_id": f"T{i + 1:0{width}d}",
            "created_at": fmt(created),
            "first_response_at": None if first is None else fmt(first),
            "resolved_at": None if resolved is None else fmt(resolved),
            "channel": channel,
            "agent": agent.name,
            "team": team,
            "customer_id": f"C{int(rnd() * n_customers) + 1:05d}",
            "first_contact_resolved": fcr and resolved is not None and not reopened,
            "csat": csat,
            "reopened": reopened and resolved is not None,
            # The helpdesk's own "minutes to first response" column, as exports have.
            "first_response_min": None if first is None else round((first - created) / 60, 1),
            "wait_s": wait,
        }


def generate_tickets(
    n: int = 2000, seed: int = 7, customers: int | None = None
) -> list[dict[str, Any]]:
    """Return ``n`` example support tickets as dicts (deliberate errors included)."""
    return list(iter_tickets(n, seed, customers))


def write_tickets_jsonl(
    path: str | Path, n: int = 2000, seed: int = 7, customers: int | None = None
) -> int:
    """Stream ``n`` example tickets to a UTF-8 JSON Lines file; return the row count."""
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
    rows = iter_tickets(n, seed, customers)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        while chunk := list(islice(rows, 4096)):
            fh.write("".join(dumps(row) + "\n" for row in chunk))
    return n
