"""Business-hours calendars: weekly opening hours, holidays, a timezone — and their SQL.

A support team that works 09:00–18:00 on weekdays did not keep a customer waiting
for 63 hours when a ticket came in on Friday evening and was answered on Monday
morning: it kept them waiting 1 business hour. This module counts time that way.

How the SQL counts, without a calendar table and without a row × day join:
``B(t)`` is the number of business seconds from a fixed Monday (1900-01-01) up to the
local moment ``t``; the business duration of a ticket is ``B(to) − B(from)``, exact for
any span. ``B`` is closed-form per row:

    B(t) = whole weeks × week's open seconds
         + open seconds of the earlier days of t's week
         + open seconds of t's own day up to t's time of day
         − the open seconds that holidays and special days before t's date took away

Holidays close their calendar day 00:00–24:00 (also the part of an overnight shift
that spills into it). Times are compared on the local wall clock of the calendar's
timezone: in the hour a DST change skips or repeats, business time follows the clock
on the wall (support rotas are written in wall-clock hours).
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator, model_validator

from cxengine.spec.models import StrictModel

if TYPE_CHECKING:
    from sqlglot import exp
else:
    from cxengine.lazy import exp

DAY = 86_400
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EPOCH = date(1900, 1, 1)  # a Monday: whole weeks since then start on Mondays
_TIME = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")

Segments = tuple[tuple[int, int], ...]  # (start, end) seconds of the day, sorted, disjoint


def parse_time(text: str, *, allow_24: bool) -> int:
    """Return seconds since midnight for 'HH:MM' or 'HH:MM:SS' ('24:00' ends a day)."""
    m = _TIME.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a time of day; write HH:MM, e.g. 09:00")
    h, mi, se = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if mi > 59 or se > 59 or h > 24 or (h == 24 and (mi or se)):
        raise ValueError(f"{text!r} is not a time of day")
    if h == 24 and not allow_24:
        raise ValueError(f"{text!r}: a shift cannot start at 24:00")
    return h * 3600 + mi * 60 + se


def parse_spans(value: str | Sequence[str]) -> list[tuple[int, int]]:
    """Parse '09:00-13:00, 14:00-18:00' (or a list of spans, or 'closed') into seconds.

    A span whose end is not after its start runs overnight: '22:00-06:00' is
    returned as (79200, 108000), i.e. past midnight into the next day.
    """
    items = [value] if isinstance(value, str) else list(value)
    spans: list[tuple[int, int]] = []
    for item in items:
        for part in str(item).split(","):
            part = part.strip()
            if not part or part.lower() == "closed":
                continue
            if part.lower() in ("24h", "all day"):
                spans.append((0, DAY))
                continue
            if "-" not in part:
                raise ValueError(f"{part!r} is not a span of hours; write e.g. 09:00-18:00")
            a_text, b_text = part.split("-", 1)
            a, b = parse_time(a_text, allow_24=False), parse_time(b_text, allow_24=True)
            if a == b:
                raise ValueError(f"{part!r} is empty; write 00:00-24:00 for a whole day")
            spans.append((a, b) if b > a else (a, b + DAY))
    return spans


def merge(spans: Sequence[tuple[int, int]]) -> Segments:
    """Sort and merge overlapping or touching segments."""
    out: list[list[int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return tuple((a, b) for a, b in out)


def day_keys(key: str) -> list[int]:
    """Return the weekday indexes (0 = Monday) a key names: 'mon', 'mon-fri', 'daily'."""
    k = key.strip().lower()
    if k in ("daily", "every day", "all"):
        return list(range(7))
    if k in ("weekdays",):
        return list(range(5))
    if k in ("weekends", "weekend"):
        return [5, 6]
    names = [p.strip()[:3] for p in k.split("-")]
    for name in names:
        if name not in WEEKDAYS:
            raise ValueError(
                f"{key!r} is not a day of the week; use mon, tue, wed, thu, fri, sat, sun, "
                "a range such as mon-fri, or daily / weekdays / weekends"
            )
    if len(names) == 1:
        return [WEEKDAYS.index(names[0])]
    if len(names) == 2:
        a, b = WEEKDAYS.index(names[0]), WEEKDAYS.index(names[1])
        return [(a + i) % 7 for i in range((b - a) % 7 + 1)]
    raise ValueError(f"{key!r}: a range of days is two days, e.g. mon-fri")


class BusinessCalendar(StrictModel):
    """Weekly opening hours, holidays and special days, in a timezone."""

    timezone: str | None = Field(
        None,
        description="IANA zone the hours are in (default: the zone of the data's timestamps)",
    )
    hours: dict[str, str | list[str]] = Field(
        description="opening hours per day: {mon-fri: '09:00-18:00', sat: '10:00-14:00'}; "
        "days not listed are closed; '22:00-06:00' runs overnight"
    )
    holidays: list[date] = Field(default_factory=list, description="dates closed all day")
    special_hours: dict[date, str | list[str]] = Field(
        default_factory=dict,
        description="dates with other hours than usual: "
        "[{date: 2025-12-31, hours: '09:00-14:00'}] (or a mapping with quoted dates)",
    )

    @field_validator("special_hours", mode="before")
    @classmethod
    def _list_form(cls, value: Any) -> Any:
        # YAML keys must be plain scalars and an unquoted 2025-12-31 is a date, so the
        # natural YAML form is a list of {date, hours}.
        if not isinstance(value, list):
            return value
        out: dict[Any, Any] = {}
        for item in value:
            if not isinstance(item, dict) or set(item) != {"date", "hours"}:
                raise ValueError("each special day is {date: 2025-12-31, hours: '09:00-14:00'}")
            if item["date"] in out:
                raise ValueError(f"{item['date']} is listed twice")
            out[item["date"]] = item["hours"]
        return out

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown timezone {value!r} (use an IANA name such as Europe/Moscow)"
            ) from None
        return value

    @field_validator("hours")
    @classmethod
    def _valid_hours(cls, value: dict[str, Any]) -> dict[str, Any]:
        seen: dict[int, str] = {}
        for key, spans in value.items():
            for d in day_keys(key):
                if d in seen:
                    raise ValueError(f"{WEEKDAYS[d]} is given twice ({seen[d]!r} and {key!r})")
                seen[d] = key
            parse_spans(spans)
        return value

    @field_validator("special_hours")
    @classmethod
    def _valid_special(cls, value: dict[date, Any]) -> dict[date, Any]:
        for day, spans in value.items():
            if any(b > DAY for _, b in parse_spans(spans)):
                raise ValueError(f"special hours of {day}: overnight spans are not supported")
        return value

    @model_validator(mode="after")
    def _open_some_time(self) -> BusinessCalendar:
        if not any(self.weekly()):
            raise ValueError("the calendar has no opening hours in the week")
        both = set(self.holidays) & set(self.special_hours)
        if both:
            raise ValueError(f"{min(both)} is both a holiday and a special day")
        return self

    def weekly(self) -> tuple[Segments, ...]:
        """Return each weekday's open segments (0 = Monday), overnight spans split."""
        days: list[list[tuple[int, int]]] = [[] for _ in range(7)]
        for key, spans in self.hours.items():
            for d in day_keys(key):
                for a, b in parse_spans(spans):
                    days[d].append((a, min(b, DAY)))
                    if b > DAY:  # the part after midnight belongs to the next day
                        days[(d + 1) % 7].append((0, b - DAY))
        return tuple(merge(s) for s in days)

    def exceptions(self) -> dict[date, Segments]:
        """Return the dates whose hours differ from the week: holidays () and special days."""
        out: dict[date, Segments] = {d: () for d in self.holidays}
        for d, spans in self.special_hours.items():
            out[d] = merge(parse_spans(spans))
        return out

    def segments_on(self, day: date) -> Segments:
        """Return the open segments of one calendar date."""
        return self.exceptions().get(day, self.weekly()[day.weekday()])


def open_seconds(segments: Segments) -> int:
    """Return how many seconds a day with these segments is open."""
    return sum(b - a for a, b in segments)


# -------------------------------------------------------------------------------- SQL


def _lit(v: float | int) -> exp.Expression:
    return exp.Literal.number(v)


def _date_lit(d: date) -> exp.Expression:
    return exp.Cast(this=exp.Literal.string(d.isoformat()), to=exp.DataType.build("DATE"))


def _fn(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def to_local(ts: exp.Expression, data_zone: str, calendar_zone: str | None) -> exp.Expression:
    """Return SQL turning a naive timestamp in `data_zone` into the calendar's wall-clock time."""
    as_ts = exp.Cast(this=ts, to=exp.DataType.build("TIMESTAMP"))
    if not calendar_zone or calendar_zone == data_zone:
        return as_ts
    instant = _fn("timezone", exp.Literal.string(data_zone), as_ts)
    return _fn("timezone", exp.Literal.string(calendar_zone), instant)


def _greatest(a: exp.Expression, b: exp.Expression) -> exp.Expression:
    """DuckDB's greatest(a, b), spelled as a plain call.

    sqlglot writes `exp.Greatest` for DuckDB as `CASE WHEN a IS NULL OR b IS NULL THEN
    NULL ELSE GREATEST(a, b) END`, which copies both arguments (and with them the
    time-zone conversions inside). Where this module uses it, a NULL argument means a
    NULL timestamp, which makes the whole B(t) NULL anyway.
    """
    return _fn("greatest", a, b)


def _least(a: exp.Expression, b: exp.Expression) -> exp.Expression:
    """DuckDB's least(a, b), spelled as a plain call (see `_greatest`)."""
    return _fn("least", a, b)


def _in_day(segments: Segments, seconds: exp.Expression) -> exp.Expression:
    """Open seconds of a day from midnight up to `seconds` (0 ≤ seconds ≤ 86400)."""
    if not segments:
        return _lit(0)
    parts: list[exp.Expression] = [
        _greatest(_lit(0), exp.Sub(this=_least(seconds.copy(), _lit(b)), expression=_lit(a)))
        for a, b in segments
    ]
    out = parts[0]
    for p in parts[1:]:
        out = exp.Add(this=out, expression=p)
    return exp.Paren(this=out)


def _case(
    cases: Sequence[tuple[exp.Expression, exp.Expression]], default: exp.Expression
) -> exp.Expression:
    if not cases:
        return default
    node = exp.Case(ifs=[exp.If(this=c, true=v) for c, v in cases], default=default)
    return node


#: Longest span of days between the first and last exception for which what the
#: exceptions took away is looked up in a list; beyond it, one comparison per exception.
MAX_LOOKUP_DAYS = 3_700  # about ten years: a list of at most ~40 KB of SQL
US_PER_DAY = DAY * 1_000_000


def _list(values: Sequence[int]) -> exp.Expression:
    return exp.Array(expressions=[_lit(v) for v in values])


def _at(values: Sequence[int], index: exp.Expression) -> exp.Expression:
    """`list_extract([v1, v2, …], index)` (1-based): a lookup that reads `index` once.

    A function call, not `[…][i]`: sqlglot shifts bracket indexes between dialects.
    """
    return _fn("list_extract", _list(values), index)


def business_clock(local: exp.Expression, calendar: BusinessCalendar) -> exp.Expression:
    """Return SQL for B(t): business seconds from 1900-01-01 00:00 to the local time `local`.

    `local` (a time-zone conversion, the costly part) is copied as few times as the
    formula allows: lookups by weekday and day number read it once each, where a CASE
    per weekday and per holiday read it dozens of times (measured: 1,152 conversions
    per row for a spec's four aggregates before, 112 now; bench_support_kinds.py).
    """
    weekly = calendar.weekly()
    full = [open_seconds(s) for s in weekly]
    week = sum(full)
    cum = [sum(full[:i]) for i in range(7)]

    def day() -> exp.Expression:
        return exp.Cast(this=local.copy(), to=exp.DataType.build("DATE"))

    def day_number() -> exp.Expression:  # days since 1900-01-01
        return _fn("date_diff", exp.Literal.string("day"), _date_lit(EPOCH), day())

    def weekday_index() -> exp.Expression:  # 1 = Monday … 7 = Sunday: a list index
        return _fn("isodow", day())

    def seconds() -> exp.Expression:
        # Since the local midnight, fraction kept: floor-modulo of the epoch microseconds
        # (correct before 1970 too).
        us = _fn("epoch_us", local.copy())
        day_us = _lit(US_PER_DAY)
        floor_mod = exp.Mod(
            this=exp.Paren(
                this=exp.Add(this=exp.Mod(this=us, expression=day_us), expression=day_us.copy())
            ),
            expression=day_us.copy(),
        )
        return exp.Div(this=exp.Paren(this=floor_mod), expression=_lit(1e6))

    # Day 0 is a Monday, so whole weeks since it are floor(day number / 7) (exact in
    # a double for any date), also before 1900.
    weeks = _fn("floor", exp.Div(this=day_number(), expression=_lit(7)))
    before_today = _at(cum, weekday_index())
    # Open seconds of the usual day up to t: per segment k, clip t to [start_k, end_k].
    most = max(len(s) for s in weekly)
    usual_parts: list[exp.Expression] = []
    for k in range(most):
        starts = [s[k][0] if k < len(s) else 0 for s in weekly]
        ends = [s[k][1] if k < len(s) else 0 for s in weekly]
        clipped_end = _least(seconds(), _at(ends, weekday_index()))
        usual_parts.append(
            _greatest(_lit(0), exp.Sub(this=clipped_end, expression=_at(starts, weekday_index())))
        )
    usual_today: exp.Expression = usual_parts[0]
    for part in usual_parts[1:]:
        usual_today = exp.Add(this=usual_today, expression=part)
    usual_today = exp.Paren(this=usual_today)

    exceptions = sorted(calendar.exceptions().items())
    numbers = {d: (d - EPOCH).days for d, _ in exceptions}
    closed = [numbers[d] for d, segs in exceptions if not segs]
    cases: list[tuple[exp.Expression, exp.Expression]] = []
    if closed:
        cases.append((exp.In(this=day_number(), expressions=[_lit(n) for n in closed]), _lit(0)))
    for d, segs in exceptions:
        if segs:
            cases.append(
                (exp.EQ(this=day_number(), expression=_lit(numbers[d])), _in_day(segs, seconds()))
            )
    today = _case(cases, usual_today)
    lost = _lost_before(exceptions, numbers, full, day_number)
    total = exp.Add(
        this=exp.Add(this=exp.Mul(this=weeks, expression=_lit(week)), expression=before_today),
        expression=exp.Paren(this=today),
    )
    return exp.Paren(this=exp.Sub(this=total, expression=exp.Paren(this=lost)))


def _lost_before(
    exceptions: Sequence[tuple[date, Segments]],
    numbers: Mapping[date, int],
    full: Sequence[int],
    day_number: Callable[[], exp.Expression],
) -> exp.Expression:
    """SQL for the open seconds that exceptions before the row's day took away (or added).

    A list indexed by day number over the exceptions' span, read with one lookup; a
    chain of comparisons when the span is too long for a list.
    """
    if not exceptions:
        return _lit(0)
    first, last = numbers[exceptions[0][0]], numbers[exceptions[-1][0]]
    change = {numbers[d]: full[d.weekday()] - open_seconds(segs) for d, segs in exceptions}
    if last - first >= MAX_LOOKUP_DAYS:
        cases: list[tuple[exp.Expression, exp.Expression]] = []
        steps: list[tuple[int, int]] = []
        total = 0
        for d, _segs in exceptions:
            total += change[numbers[d]]
            steps.append((numbers[d], total))
        for n, lost in reversed(steps):
            cases.append((exp.GT(this=day_number(), expression=_lit(n)), _lit(lost)))
        return _case(cases, _lit(0))
    # taken[i]: what exceptions before day number first + i took (i = 1 … last − first + 1).
    taken: list[int] = []
    running = 0
    for n in range(first, last + 1):
        running += change.get(n, 0)
        taken.append(running)
    # Index 1 (0) for days up to the first exception, the last (everything) after the
    # last: the day number clipped into the list, read once.
    offset = exp.Sub(this=day_number(), expression=_lit(first))
    clipped = _greatest(_lit(0), _least(offset, _lit(len(taken))))
    return _at([0, *taken], exp.Add(this=clipped, expression=_lit(1)))


def business_seconds_sql(
    start: exp.Expression,
    end: exp.Expression,
    calendar: BusinessCalendar,
    start_zone: str = "UTC",
    end_zone: str = "UTC",
) -> exp.Expression:
    """Return SQL for the business seconds between two naive timestamps."""
    b_end = business_clock(to_local(end, end_zone, calendar.timezone), calendar)
    b_start = business_clock(to_local(start, start_zone, calendar.timezone), calendar)
    return exp.Sub(this=b_end, expression=b_start)


# ------------------------------------------------------------------- plain Python


def business_seconds(
    start: datetime,
    end: datetime,
    calendar: BusinessCalendar,
    zones: Mapping[str, str] | None = None,
) -> float:
    """Count business seconds between two naive datetimes by walking the days.

    A deliberately different algorithm from the SQL (day by day, interval
    intersection) so tests can check one against the other. Naive datetimes are in
    ``zones['start']`` / ``zones['end']`` (default UTC).
    """
    zones = zones or {}
    s = _local(start, zones.get("start", "UTC"), calendar.timezone)
    e = _local(end, zones.get("end", "UTC"), calendar.timezone)
    if e < s:
        swapped = {"start": zones.get("end", "UTC"), "end": zones.get("start", "UTC")}
        return -business_seconds(end, start, calendar, swapped)
    total = 0.0
    day = s.date()
    while day <= e.date():
        midnight = datetime.combine(day, time())
        for a, b in calendar.segments_on(day):
            lo = max(s, midnight + timedelta(seconds=a))
            hi = min(e, midnight + timedelta(seconds=b))
            if hi > lo:
                total += (hi - lo).total_seconds()
        day += timedelta(days=1)
    return total


def _local(ts: datetime, data_zone: str, calendar_zone: str | None) -> datetime:
    if not calendar_zone or calendar_zone == data_zone:
        return ts
    zone = zoneinfo.ZoneInfo(data_zone)
    first, second = ts.replace(tzinfo=zone, fold=0), ts.replace(tzinfo=zone, fold=1)
    instant = first
    round_trip = first.astimezone(zoneinfo.ZoneInfo("UTC")).astimezone(zone)
    if first.utcoffset() != second.utcoffset() and round_trip.replace(tzinfo=None) == ts:
        # An hour repeated when the clocks go back: DuckDB (ICU) reads it as the later
        # instant, and so does this reference. A skipped hour reads as fold 0 in both.
        instant = second
    return instant.astimezone(zoneinfo.ZoneInfo(calendar_zone)).replace(tzinfo=None)
