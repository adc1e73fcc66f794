"""The example survey invitations: every response was invited, most invitations were not answered.

Each survey response in ``responses.csv`` has its invitation (same customer,
touchpoint and channel, sent minutes to a few days before the answer), and around it
invitations that got no answer. Whether an invited customer answers depends on the
channel (a website pop-up is ignored most, a call-back survey answered most) *and on
how satisfied the customer is*: promoters answer most, the merely unhappy least, the
very unhappy a little more again — the non-response bias the articles warn about.
Each invitation carries its ``response_probability``.

The customers who did not answer are as satisfied as the one who did at the same
touchpoint and channel with the same response probability: an answer with response
probability π stands, on average, for 1/π invitations. So the generator knows the
NPS of everyone invited (`true_nps`), the unweighted NPS of the answers overstates it,
and weighting the answers to the invitations' touchpoint and channel margins (the
`nps` spec's `weights:` in the example project) brings it closer.

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
    "response_probability",
)
#: Share of invitations answered, per survey channel (before satisfaction is counted).
RESPONSE_RATE = {"web": 0.12, "email": 0.22, "phone": 0.38, "chat": 0.30}
#: How the chance to answer scales with the (hidden) 0–10 recommend answer.
SATISFACTION_FACTOR = (1.1, 1.1, 1.1, 0.8, 0.8, 0.8, 0.8, 1.0, 1.0, 1.2, 1.2)
MEDIAN_DELAY = 2 * 3600  # seconds from invitation to answer
MAX_DELAY = 3 * 86_400

_I = {name: i for i, name in enumerate(RESPONSE_COLUMNS)}


Invitation = tuple[str, str, str, str, str, str, str, str]


def iter_invitations(
    n_responses: int, seed: int = 7, customers: int | None = None
) -> Iterator[Invitation]:
    """Yield the invitations behind ``n_responses`` example responses, in time order."""
    for row, _ in _invitations(n_responses, seed, customers):
        yield row


def response_probability(channel: str, recommend: object) -> float:
    """Return the chance that an invited customer answers, by channel and satisfaction."""
    factor = 1.0
    if isinstance(recommend, int) and 0 <= recommend <= 10:
        factor = SATISFACTION_FACTOR[recommend]
    return min(0.95, RESPONSE_RATE[channel] * factor)


def true_nps(n_responses: int, seed: int = 7, customers: int | None = None) -> float:
    """Return the NPS of everyone invited: the generator's truth, hidden from the data.

    Answers with a deliberate data error (recommend 11 or −1) carry no satisfaction and
    are left out, with the invitations that stand with them.
    """
    promoters = detractors = total = 0
    for _, hidden in _invitations(n_responses, seed, customers):
        if hidden is None:
            continue
        total += 1
        promoters += hidden >= 9
        detractors += hidden <= 6
    return 100.0 * (promoters - detractors) / total if total else 0.0


def _invitations(
    n_responses: int, seed: int, customers: int | None
) -> Iterator[tuple[Invitation, int | None]]:
    """Yield each invitation with the hidden recommend answer of its customer."""
    rng = make_rng(seed, "invitations")
    rnd = rng.random
    n_customers = max(1, customers if customers is not None else n_responses // 4)
    heap: list[tuple[int, int, tuple[str, ...], int | None]] = []
    order = 0
    number = 0

    def delay() -> int:
        # Log-normal around two hours, capped: most people answer soon or never.
        return min(MAX_DELAY, int(MEDIAN_DELAY * math.exp(1.3 * _normal(rnd))))

    for row in iter_response_rows(n_responses, seed, customers):
        answered = _seconds(str(row[_I["submitted_at"]]))
        touchpoint, channel = str(row[_I["touchpoint"]]), str(row[_I["channel"]])
        recommend = row[_I["recommend"]]
        hidden = recommend if isinstance(recommend, int) and 0 <= recommend <= 10 else None
        rate = response_probability(channel, recommend)
        shown = f"{rate:.4f}"
        sent = _sent(answered, delay(), rnd)
        item = (touchpoint, channel, str(row[_I["customer_id"]]), "true", str(row[0]), shown)
        heapq.heappush(heap, (sent, order, (stamp(sent), *item), hidden))
        order += 1
        unanswered = (1.0 - rate) / rate
        k = int(unanswered) + (1 if rnd() < unanswered - int(unanswered) else 0)
        for _ in range(k):
            other = _sent(answered, delay(), rnd)
            cust = f"C{int(rnd() * n_customers) + 1:05d}"
            not_answered = (stamp(other), touchpoint, channel, cust, "false", "", shown)
            heapq.heappush(heap, (other, order, not_answered, hidden))
            order += 1
        # Nothing later can be sent before answered − MAX_DELAY: flush up to there.
        while heap and heap[0][0] < answered - MAX_DELAY:
            number += 1
            _, _, fields, score = heapq.heappop(heap)
            yield (f"I{number:06d}", *fields), score  # type: ignore[misc]
    while heap:
        number += 1
        _, _, fields, score = heapq.heappop(heap)
        yield (f"I{number:06d}", *fields), score  # type: ignore[misc]


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
