"""Helpers shared by the example-data generators: the 2025 calendar, pick tables, noise.

Everything here is deterministic and uses only ``random.Random.random()``, whose
sequence for an integer seed is stable across Python versions (``gauss`` and
``choices`` are avoided on purpose), so the same seed gives byte-identical files.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, timedelta
from statistics import NormalDist

YEAR = 2025
START = datetime(YEAR, 1, 1)
DAYS = 365
DAY_SECONDS = 86_400
YEAR_SECONDS = DAYS * DAY_SECONDS

NORMAL_BITS = 12
NORMAL_SIZE = 1 << NORMAL_BITS
# Quantiles of the standard normal: NORMAL[getrandbits(NORMAL_BITS)] is a cheap draw
# (tails stop at about ±3.5, enough for survey noise and for realistic long waits).
NORMAL: tuple[float, ...] = tuple(
    NormalDist().inv_cdf((k + 0.5) / NORMAL_SIZE) for k in range(NORMAL_SIZE)
)

PICK_BITS = 10
PICK_SIZE = 1 << PICK_BITS

Random = Callable[[], float]


def make_rng(seed: int, stream: str) -> random.Random:
    """Return a generator for one named stream, so datasets do not share draws."""
    return random.Random(f"cxengine-example:{stream}:{seed}")


def pick_table(weights: Sequence[float], size: int = PICK_SIZE) -> tuple[int, ...]:
    """Return a table of item indexes; ``table[getrandbits(bits)]`` picks by weight."""
    total = float(sum(weights))
    table: list[int] = []
    acc = 0.0
    for idx, w in enumerate(weights):
        acc += w
        upto = round(acc / total * size)
        table.extend([idx] * (upto - len(table)))
    table.extend([len(weights) - 1] * (size - len(table)))
    return tuple(table)


@functools.cache
def day_strings() -> tuple[str, ...]:
    """Return 'YYYY-MM-DD' for every day of the year."""
    return tuple((START + timedelta(days=d)).strftime("%Y-%m-%d") for d in range(DAYS))


@functools.cache
def time_strings() -> tuple[str, ...]:
    """Return ' HH:MM:SS' (with the leading space) for every second of a day."""
    return tuple(f" {s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}" for s in range(DAY_SECONDS))


@functools.cache
def month_of_day() -> tuple[int, ...]:
    """Return the month index (0 = January) of every day of the year."""
    return tuple((START + timedelta(days=d)).month - 1 for d in range(DAYS))


def stamp(seconds: int) -> str:
    """Format seconds since 2025-01-01 00:00:00 as 'YYYY-MM-DD HH:MM:SS'."""
    if 0 <= seconds < YEAR_SECONDS:
        day = seconds // DAY_SECONDS
        return day_strings()[day] + time_strings()[seconds - day * DAY_SECONDS]
    return (START + timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S")


def day_stamp(day: int) -> str:
    """Format a day offset from 2025-01-01 (may be negative) as 'YYYY-MM-DD'."""
    if 0 <= day < DAYS:
        return day_strings()[day]
    return (date(YEAR, 1, 1) + timedelta(days=day)).isoformat()


def timeline(
    n: int,
    rnd: Random,
    day_weight: Callable[[int], float],
    hour_weights: Sequence[float],
) -> Iterator[int]:
    """Yield ``n`` increasing moments (seconds since 2025-01-01) spread over the year.

    Row ``i`` lands at quantile ``(i + u) / n`` of a volume curve built from per-day
    and per-hour weights, so ids and timestamps rise together and busy hours, quiet
    nights and weekends all show, at O(1) cost per row.
    """
    weights = [day_weight(d) * hw for d in range(DAYS) for hw in hour_weights]
    total = sum(weights)
    widths = [w / total for w in weights]
    ends: list[float] = []
    acc = 0.0
    for w in widths:
        acc += w
        ends.append(acc)
    last = len(ends) - 1
    ends[last] = 1.0
    k = 0
    begin = 0.0
    for i in range(n):
        u = (i + rnd()) / n
        while k < last and ends[k] <= u:
            begin = ends[k]
            k += 1
        frac = (u - begin) / widths[k] if widths[k] > 0 else 0.0
        yield k * 3600 + min(3599, int(frac * 3600))


def lognormal(rnd: Random, median: float, sigma: float) -> float:
    """Draw from a log-normal with the given median: the long tail of waiting times."""
    return median * math.exp(sigma * NORMAL[int(rnd() * NORMAL_SIZE)])
