"""Time grains: which period a row falls in, and how a period is labelled."""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlglot import exp
else:
    from cxengine.lazy import exp


GRAINS = ("day", "week", "month", "quarter", "year")


def local_time(instant: exp.Expression, zone: str | None) -> exp.Expression:
    """Return SQL for the wall-clock time in `zone` of a stored instant (naive UTC).

    Datetime fields are stored as instants so that durations are elapsed time; a
    period ("October", "Monday") is a stretch of the wall clock where the data lives.
    UTC (the default) is the instant itself, so such SQL is unchanged.
    """
    if not zone or zone == "UTC":
        return instant
    utc = exp.AtTimeZone(this=instant, zone=exp.Literal.string("UTC"))
    return exp.AtTimeZone(this=utc, zone=exp.Literal.string(zone))


def local_filter(condition: exp.Expression, zones: Mapping[str, str]) -> exp.Expression:
    """Return a filter reading zoned datetime fields on their wall clock.

    `created_at >= '2024-10-01'` and `month(created_at) = 10` mean the field's local
    time, like its periods; a field subtracted from another stays an instant, so a
    difference is elapsed time.
    """
    zoned = {name: zone for name, zone in zones.items() if zone and zone != "UTC"}
    if not zoned:
        return condition

    def swap(node: exp.Expression) -> exp.Expression:
        if (
            isinstance(node, exp.Column)
            and not node.table
            and node.name in zoned
            and not isinstance(node.parent, exp.Sub)
        ):
            return local_time(node.copy(), zoned[node.name])
        return node

    return condition.transform(swap)


def to_instant(local: datetime, zone: str | None) -> datetime:
    """Return the naive UTC instant of a wall-clock time in `zone` (periods' bounds).

    A time the clocks skip or repeat reads as its first instant (fold 0); period
    bounds are midnights, which no common zone repeats.
    """
    if not zone or zone == "UTC":
        return local
    aware = local.replace(tzinfo=zoneinfo.ZoneInfo(zone))
    try:
        return aware.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:  # year 1 east of UTC, year 9999 west of it: keep the bound
        return local


def period_start(grain: str, column: exp.Expression) -> exp.Expression:
    """Return SQL for the first day of the row's period (weeks start on Monday, ISO)."""
    truncated = exp.Anonymous(this="date_trunc", expressions=[exp.Literal.string(grain), column])
    return exp.Cast(this=truncated, to=exp.DataType.build("DATE"))


def period_floor(grain: str, day: date) -> date:
    """Return the first day of the period containing `day` (same rule as period_start)."""
    if grain == "day":
        return day
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    if grain == "quarter":
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return date(day.year, 1, 1)


def next_period(grain: str, start: date) -> date:
    """Return the first day of the period after the one starting at `start`."""
    if grain == "day":
        return start + timedelta(days=1)
    if grain == "week":
        return start + timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[grain]
    m = start.month - 1 + months
    return date(start.year + m // 12, m % 12 + 1, 1)


#: The most periods filled in around the data (empty periods, calendar windows): about
#: 27 years of days. A span wider than that comes from a date out of range.
MAX_FILLED_PERIODS = 10_000


def next_period_or_none(grain: str, start: date) -> date | None:
    """Return the next period's first day, or None past the last date Python can hold."""
    try:
        return next_period(grain, start)
    except (OverflowError, ValueError):
        return None


def period_count(grain: str, first: date, last: date) -> int:
    """Return how many periods of the grain run from `first` to `last` (inclusive)."""
    days = (last - first).days
    if grain == "day":
        return days + 1
    if grain == "week":
        return days // 7 + 1
    months = (last.year - first.year) * 12 + last.month - first.month
    return months // {"month": 1, "quarter": 3, "year": 12}[grain] + 1


def label(grain: str, start: date | None) -> str:
    """Return a short human label: 2025-03, 2025-Q1, 2025-W09, 2025-03-14, 2025."""
    if start is None:
        return "all"
    if grain == "month":
        return f"{start:%Y-%m}"
    if grain == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    if grain == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if grain == "year":
        return str(start.year)
    return start.isoformat()


def parse_label(text: str) -> tuple[str, date] | None:
    """Return the grain and first day of a period label (the inverse of `label`); else None.

    `2025-13`, `2025-W53` (2025 has 52 ISO weeks), `2025-02-30` and `march` are no
    period any run can hold: None. `label(*parse_label(t)) == t` for every label.
    """
    parsed = _parse(text)
    if parsed is None or label(*parsed) != text:
        return None  # 2025-3, +2025, 02025 …: not how a run labels a period
    return parsed


def _parse(text: str) -> tuple[str, date] | None:
    year, _, rest = text.partition("-")
    if len(year) != 4 or not year.isdigit():
        return None
    try:
        if not rest:
            return "year", date(int(year), 1, 1)
        if rest[0] == "Q" and rest[1:] in ("1", "2", "3", "4"):
            return "quarter", date(int(year), 3 * int(rest[1:]) - 2, 1)
        if rest[0] == "W" and len(rest) == 3 and rest[1:].isdigit():
            return "week", date.fromisocalendar(int(year), int(rest[1:]), 1)
        if len(rest) == 2 and rest.isdigit():
            return "month", date(int(year), int(rest), 1)
        if len(rest) == 5 and rest[2] == "-":
            return "day", date.fromisoformat(text)
    except ValueError:
        return None
    return None
