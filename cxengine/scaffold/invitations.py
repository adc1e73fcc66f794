"""The example survey invitations: every response was invited, most invitations were not answered.

Each survey response in ``responses.csv`` has its invitation (same customer,
touchpoint and channel, sent minutes to a few days before the answer), and around it
invitations that got no answer, so that the response rate differs by channel the way
it does in practice: a website pop-up is ignored most, a call-back survey answered
most. That makes the `response_rate` spec (a share of answered invitations) and the
non-response bias the articles warn about visible in the example project.

Rows stream in time order with bounded memory: an invitation is sent at most
``MAX_DELAY`` before its response, so a small heap reorders them.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from cxengine.scaffold.common import NORMAL, NORMAL_SIZE, START, YEAR_SECONDS, make_rng, stamp
from cxengine.scaffold.responses import COLUMNS as RESPONSE_COLUMNS
from cxengine.scaffold.responses import iter_response_rows

COLUMNS = (
    "invitation_id",
    "sent_at",
    "touchpoint",
    "channel",
    "customer_id",
    "responded",
    "response_id",
)
#: Share of invitations answered, per survey channel.
RESPONSE_RATE = {"web": 0.12, "email": 0.22, "phone": 0.38, "chat": 0.30}
MEDIAN_DELAY = 2 * 3600  # seconds from invitation to answer
MAX_DELAY = 3 * 86_400

_I = {name: i for i, name in enumerate(RESPONSE_COLUMNS)}


def iter_invitations(
    n_responses: int, seed: int = 7, customers: int | None = None
) -> Iterator[tuple[str, str, str, str, str, str, str]]:
    """Yield the invitations behind ``n_responses`` example responses, in time order."""
    rng = make_rng(seed, "invitations")
    rnd = rng.random
    n_customers = max(1, customers if customers is not None else n_responses // 4)
    heap: list[tuple[int, int, tuple[str, str, str, str, str, str]]] = []
    order = 0
    number = 0

    def delay() -> int:
        # Log-normal around two hours, capped: most people answer soon or never.
        return min(MAX_DELAY, int(MEDIAN_DELAY * math.exp(1.3 * _normal(rnd))))

    for row in iter_response_rows(n_responses, seed, customers):
        answered = _seconds(str(row[_I["submitted_at"]]))
        touchpoint, channel = str(row[_I["touchpoint"]]), str(row[_I["channel"]])
        sent = _sent(answered, delay(), rnd)
        item = (touchpoint, channel, str(row[_I["customer_id"]]), "true", str(row[0]))
        heapq.heappush(heap, (sent, order, (stamp(sent), *item)))
        order += 1
        rate = RESPONSE_RATE[channel]
        unanswered = (1.0 - rate) / rate
        k = int(unanswered) + (1 if rnd() < unanswered - int(unanswered) else 0)
        for _ in range(k):
            other = _sent(answered, delay(), rnd)
            cust = f"C{int(rnd() * n_customers) + 1:05d}"
            heapq.heappush(
                heap, (other, order, (stamp(other), touchpoint, channel, cust, "false", ""))
            )
            order += 1
        # Nothing later can be sent before answered − MAX_DELAY: flush up to there.
        while heap and heap[0][0] < answered - MAX_DELAY:
            number += 1
            yield (f"I{number:06d}", *heapq.heappop(heap)[2])
    while heap:
        number += 1
        yield (f"I{number:06d}", *heapq.heappop(heap)[2])


def _sent(answered: int, delay: int, rnd: Callable[[], float]) -> int:
    # The data starts on 2025-01-01: an earlier send moves to a random moment before.
    return answered - delay if delay <= answered else int(answered * rnd())


def _normal(rnd: Callable[[], float]) -> float:
    return NORMAL[int(rnd() * NORMAL_SIZE)]


def _seconds(text: str) -> int:
    return min(YEAR_SECONDS - 1, int((datetime.fromisoformat(text) - START).total_seconds()))


def write_invitations_csv(
    path: str | Path, n_responses: int = 4000, seed: int = 7, customers: int | None = None
) -> int:
    """Write the invitations behind ``n_responses`` example responses; return the row count."""
    count = 0
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(COLUMNS) + "\n")
        for row in iter_invitations(n_responses, seed, customers):
            fh.write(",".join(row) + "\n")
            count += 1
    return count
