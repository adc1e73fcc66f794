"""The example customer base: sign-ups over 2023–2025, churn, plans, regions, orders.

Enough to compute retention (CRR), churn and repeat purchase rate: sign-ups grow over
time, roughly a fifth of customers have churned (basic plans churn most, enterprise
least), and order counts grow with tenure.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from cxengine.scaffold.common import PICK_BITS, day_stamp, make_rng, pick_table

COLUMNS = ("customer_id", "signed_up_at", "churned_at", "plan", "region", "orders")
PLANS = ("basic", "pro", "enterprise")
PLAN_WEIGHTS = (62, 29, 9)
CHURN_CHANCE = {"basic": 0.34, "pro": 0.21, "enterprise": 0.09}
ORDERS_PER_YEAR = {"basic": 2.2, "pro": 4.0, "enterprise": 7.0}
REGIONS = ("Moscow", "Saint Petersburg", "Tashkent", "Kazan", "Novosibirsk", "Samarkand")
REGION_WEIGHTS = (34, 18, 16, 12, 11, 9)

FIRST_DAY = (date(2023, 1, 1) - date(2025, 1, 1)).days  # -731: offsets are from 2025-01-01
LAST_DAY = 364  # 2025-12-31
SPAN = LAST_DAY - FIRST_DAY + 1
GROWTH = 1.0


def _growth_quantile(u: float) -> float:
    # Inverse CDF of the density (1 + GROWTH * x) on [0, 1).
    a = GROWTH
    return min(0.999999, (math.sqrt(1.0 + 2.0 * a * (1.0 + a / 2.0) * u) - 1.0) / a)


def iter_customers(n: int, seed: int = 7) -> Iterator[tuple[str, str, str, str, str, int]]:
    """Yield ``n`` customers as tuples in ``COLUMNS`` order (ids C00001…)."""
    rng = make_rng(seed, "customers")
    rnd = rng.random
    bits = rng.getrandbits
    plan_table = pick_table(PLAN_WEIGHTS)
    region_table = pick_table(REGION_WEIGHTS)
    for i in range(n):
        # Sign-ups grow over time: density rises linearly, GROWTH times higher at the end.
        signed = FIRST_DAY + int(_growth_quantile(rnd()) * SPAN)
        plan = PLANS[plan_table[bits(PICK_BITS)]]
        region = REGIONS[region_table[bits(PICK_BITS)]]
        tenure = LAST_DAY - signed
        churned = ""
        active_days = tenure
        # Longer-standing customers have had more time to leave.
        if tenure > 30 and rnd() < CHURN_CHANCE[plan] * min(1.0, tenure / 500):
            left = signed + 30 + int(rnd() * (tenure - 30))
            churned = day_stamp(left)
            active_days = left - signed
        expected = 0.6 + ORDERS_PER_YEAR[plan] * active_days / 365
        # A geometric-like spread around the expectation; some never order at all.
        orders = 0 if rnd() < 0.06 else max(1, int(-math.log(1.0 - rnd()) * expected + 0.5))
        yield (f"C{i + 1:05d}", day_stamp(signed), churned, plan, region, orders)


def generate_customers(n: int = 1000, seed: int = 7) -> list[dict[str, str | int]]:
    """Return ``n`` example customers as dicts."""
    return [dict(zip(COLUMNS, row, strict=True)) for row in iter_customers(n, seed)]


def write_customers_csv(path: str | Path, n: int = 1000, seed: int = 7) -> int:
    """Write ``n`` example customers to a UTF-8 CSV file; return the row count."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(iter_customers(n, seed))
    return n
