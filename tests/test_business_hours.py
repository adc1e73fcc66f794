"""Business hours: hand-checked spans (overnight, weekend, holiday, timezone) and SQL = Python.

The SQL counts business seconds in closed form, B(to) − B(from); the Python reference
walks the calendar day by day. The hand-checked cases pin both to arithmetic a
person can redo on paper; the property test pins them to each other.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, timedelta

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlglot import exp

from cxengine.default_plugins.aggregations.business_hours import (
    BusinessCalendar,
    business_seconds,
    business_seconds_sql,
)

H = 3600.0
OFFICE = BusinessCalendar(hours={"mon-fri": "09:00-18:00"})


def sql_seconds(
    pairs: list[tuple[datetime, datetime]],
    calendar: BusinessCalendar,
    start_zone: str = "UTC",
    end_zone: str = "UTC",
) -> list[float]:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (i INTEGER, a TIMESTAMP, b TIMESTAMP)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?)", [(i, a, b) for i, (a, b) in enumerate(pairs)])
    sql = _query(calendar.model_dump_json(), start_zone, end_zone)
    return [float(r[0]) for r in con.execute(sql).fetchall()]


@functools.cache
def _query(calendar_json: str, start_zone: str, end_zone: str) -> str:
    # Generating the SQL text is the slow part; each calendar's query is made once.
    calendar = BusinessCalendar.model_validate_json(calendar_json)
    expr = business_seconds_sql(
        exp.column("a", quoted=True), exp.column("b", quoted=True), calendar, start_zone, end_zone
    )
    return exp.select(expr).from_("t").order_by("i").sql(dialect="duckdb")


def both(a: datetime, b: datetime, calendar: BusinessCalendar, **zones: str) -> float:
    """Return the business seconds, after checking SQL and Python agree."""
    (in_sql,) = sql_seconds([(a, b)], calendar, zones.get("start", "UTC"), zones.get("end", "UTC"))
    in_python = business_seconds(a, b, calendar, zones)
    assert in_sql == pytest.approx(in_python, abs=1e-6)
    return in_sql


# 2025-03-07 is a Friday, 2025-03-10 the Monday after.


def test_within_one_working_day() -> None:
    assert both(datetime(2025, 3, 4, 10, 0), datetime(2025, 3, 4, 11, 30), OFFICE) == 1.5 * H


def test_before_opening_and_after_closing_do_not_count() -> None:
    # 07:00 → 20:00 on a Tuesday is the whole 9-hour day.
    assert both(datetime(2025, 3, 4, 7, 0), datetime(2025, 3, 4, 20, 0), OFFICE) == 9 * H


def test_overnight_across_closed_hours() -> None:
    # Tuesday 17:00 → Wednesday 10:00: one hour each side of the night.
    assert both(datetime(2025, 3, 4, 17, 0), datetime(2025, 3, 5, 10, 0), OFFICE) == 2 * H


def test_weekend_is_skipped() -> None:
    # Friday 17:30 → Monday 09:45: 30 min on Friday, 45 min on Monday.
    assert both(datetime(2025, 3, 7, 17, 30), datetime(2025, 3, 10, 9, 45), OFFICE) == 1.25 * H


def test_a_span_inside_the_weekend_is_zero() -> None:
    assert both(datetime(2025, 3, 8, 10, 0), datetime(2025, 3, 9, 16, 0), OFFICE) == 0


def test_whole_weeks_count_the_week_of_hours() -> None:
    start = datetime(2025, 3, 4, 12, 0)
    assert both(start, start + timedelta(weeks=3), OFFICE) == 3 * 45 * H


def test_holiday_is_closed() -> None:
    cal = BusinessCalendar(hours={"mon-fri": "09:00-18:00"}, holidays=[date(2025, 3, 5)])
    # Tuesday 17:00 → Thursday 10:00 over a Wednesday holiday: 1 h + 1 h.
    assert both(datetime(2025, 3, 4, 17, 0), datetime(2025, 3, 6, 10, 0), cal) == 2 * H
    # And a span within the holiday is nothing.
    assert both(datetime(2025, 3, 5, 9, 0), datetime(2025, 3, 5, 18, 0), cal) == 0


def test_holiday_on_a_weekend_changes_nothing() -> None:
    cal = BusinessCalendar(hours={"mon-fri": "09:00-18:00"}, holidays=[date(2025, 3, 8)])
    assert both(datetime(2025, 3, 7, 17, 0), datetime(2025, 3, 10, 10, 0), cal) == 2 * H


def test_special_day_with_short_hours() -> None:
    cal = BusinessCalendar(
        hours={"mon-fri": "09:00-18:00"}, special_hours={date(2025, 12, 31): "09:00-14:00"}
    )
    # Wednesday 31 December 13:00 → Thursday 1 January 10:00: 1 h + 1 h.
    assert both(datetime(2025, 12, 31, 13, 0), datetime(2026, 1, 1, 10, 0), cal) == 2 * H
    # Later spans are not shifted by the short day before them.
    assert both(datetime(2026, 1, 5, 9, 0), datetime(2026, 1, 5, 18, 0), cal) == 9 * H


def test_overnight_shift_spills_into_the_next_day() -> None:
    night = BusinessCalendar(hours={"mon-fri": "22:00-06:00"})
    # Friday 23:00 → Saturday 07:00: 23–24 Friday and 00–06 Saturday (Friday's shift).
    assert both(datetime(2025, 3, 7, 23, 0), datetime(2025, 3, 8, 7, 0), night) == 7 * H
    # Sunday 23:00 → Monday 05:00: Sunday has no shift; Monday 00–05 is Sunday's spill: none.
    assert both(datetime(2025, 3, 9, 23, 0), datetime(2025, 3, 10, 5, 0), night) == 0
    # Monday 23:00 → Tuesday 05:00 is all inside Monday's shift.
    assert both(datetime(2025, 3, 10, 23, 0), datetime(2025, 3, 11, 5, 0), night) == 6 * H


def test_split_shift_and_saturday_hours() -> None:
    cal = BusinessCalendar(hours={"mon-fri": "09:00-13:00, 14:00-18:00", "sat": "10:00-14:00"})
    # Friday 12:00 → Saturday 11:00: 1 h before lunch, 4 h after, 1 h on Saturday.
    assert both(datetime(2025, 3, 7, 12, 0), datetime(2025, 3, 8, 11, 0), cal) == 6 * H


def test_timezone_converts_from_the_data_zone_to_the_calendar_zone() -> None:
    moscow = BusinessCalendar(timezone="Europe/Moscow", hours={"mon-fri": "09:00-18:00"})
    # 05:00–07:00 UTC is 08:00–10:00 in Moscow (UTC+3): one business hour.
    start, end = datetime(2025, 3, 4, 5, 0), datetime(2025, 3, 4, 7, 0)
    assert both(start, end, moscow) == 1 * H
    # The same wall-clock values declared as Moscow time: 05:00–07:00 local, closed.
    assert both(start, end, moscow, start="Europe/Moscow", end="Europe/Moscow") == 0


def test_timezone_with_daylight_saving_time() -> None:
    # New York moved to UTC−4 on 9 March 2025; 13:00 UTC is 08:00 before, 09:00 after.
    ny = BusinessCalendar(timezone="America/New_York", hours={"mon-fri": "09:00-18:00"})
    assert both(datetime(2025, 3, 7, 13, 0), datetime(2025, 3, 7, 15, 0), ny) == 1 * H
    assert both(datetime(2025, 3, 10, 13, 0), datetime(2025, 3, 10, 15, 0), ny) == 2 * H


def test_fractions_of_a_second_are_kept() -> None:
    a = datetime(2025, 3, 4, 10, 0, 0, 250_000)
    assert both(a, datetime(2025, 3, 4, 10, 0, 1), OFFICE) == pytest.approx(0.75)


@pytest.mark.parametrize(
    ("calendar", "message"),
    [
        ({"hours": {"mon-fri": "9-18"}}, "not a time of day"),
        ({"hours": {"monday-fryday": "09:00-18:00"}}, "not a day of the week"),
        ({"hours": {"mon-fri": "09:00-18:00", "fri": "10:00-12:00"}}, "fri is given twice"),
        ({"hours": {"sat": "closed"}}, "no opening hours"),
        ({"hours": {"mon": "09:00-18:00"}, "timezone": "Mars/Olympus"}, "unknown timezone"),
        ({"hours": {"mon": "09:00-09:00"}}, "is empty"),
    ],
)
def test_bad_calendars_are_explained(calendar: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        BusinessCalendar.model_validate(calendar)


# ------------------------------------------------------------------ property test

CALENDARS = [
    OFFICE,
    BusinessCalendar(
        timezone="Europe/Berlin",
        hours={"mon-thu": "08:30-17:00", "fri": "08:30-12:00, 13:00-15:30", "sat": "22:00-02:00"},
        holidays=[date(2025, 3, 31), date(2025, 4, 18), date(2025, 4, 21)],
        special_hours={date(2025, 4, 17): "08:30-12:00", date(2025, 10, 26): "01:00-04:00"},
    ),
    BusinessCalendar(hours={"daily": "00:00-24:00"}, holidays=[date(2025, 4, 1)]),
]

# Both DST changes of 2025 in Europe (30 March, 26 October) fall inside the range.
moments = st.datetimes(min_value=datetime(2025, 3, 20), max_value=datetime(2025, 11, 10))


@settings(
    max_examples=20, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    pairs=st.lists(
        st.tuples(moments, st.integers(min_value=0, max_value=20 * 86_400)), min_size=1, max_size=40
    ),
    which=st.integers(min_value=0, max_value=len(CALENDARS) - 1),
    zone=st.sampled_from(["UTC", "Europe/Berlin", "Asia/Tashkent"]),
)
def test_sql_matches_the_day_by_day_walk(
    pairs: list[tuple[datetime, int]], which: int, zone: str
) -> None:
    calendar = CALENDARS[which]
    spans = [(a, a + timedelta(seconds=s)) for a, s in pairs]
    got = sql_seconds(spans, calendar, zone, zone)
    want = [business_seconds(a, b, calendar, {"start": zone, "end": zone}) for a, b in spans]
    assert got == pytest.approx(want, abs=1e-6)


def test_repeated_and_skipped_hours_agree_with_duckdb() -> None:
    # Data in Berlin time, calendar in UTC, round-the-clock: only the conversion differs.
    always = BusinessCalendar(timezone="UTC", hours={"daily": "00:00-24:00"})
    zones = {"start": "Europe/Berlin", "end": "Europe/Berlin"}
    # 26 October 02:30 happened twice; both engines read the later one (01:30 UTC).
    repeated = (datetime(2025, 10, 26, 2, 30), datetime(2025, 10, 26, 4, 0))
    assert both(*repeated, always, **zones) == 1.5 * H
    # 30 March 02:30 never happened on a Berlin clock; both read it as 01:30 UTC.
    skipped = (datetime(2025, 3, 30, 2, 30), datetime(2025, 3, 30, 4, 0))
    assert both(*skipped, always, **zones) == 0.5 * H


def test_special_days_can_be_written_as_a_list_of_date_and_hours() -> None:
    # YAML keys must be plain scalars, and an unquoted 2025-12-31 is a date.
    as_list = BusinessCalendar.model_validate(
        {"hours": {"mon-fri": "09:00-18:00"}, "special_hours": [
            {"date": date(2025, 12, 31), "hours": "09:00-14:00"},
        ]}
    )  # fmt: skip
    as_map = BusinessCalendar.model_validate(
        {"hours": {"mon-fri": "09:00-18:00"}, "special_hours": {"2025-12-31": "09:00-14:00"}}
    )
    assert as_list.exceptions() == as_map.exceptions() == {date(2025, 12, 31): ((32400, 50400),)}
    with pytest.raises(ValidationError, match="each special day is"):
        BusinessCalendar.model_validate(
            {"hours": {"mon": "09:00-18:00"}, "special_hours": [{"day": "2025-12-31"}]}
        )


# ----------------------------------------- the lookups that keep the SQL short (bench)

MANY_EXCEPTIONS = BusinessCalendar(
    timezone="Europe/Berlin",
    hours={"mon-fri": "09:00-12:00, 13:00-18:00", "sat": "10:00-14:00"},
    holidays=[date(1969, 12, 31), date(2025, 1, 1), date(2025, 5, 1), date(2025, 12, 25)],
    special_hours={date(1970, 1, 2): "09:00-11:00", date(2025, 12, 31): "09:00-14:00"},
)
SPANS = [
    # across the epoch (day numbers and seconds of the day before 1970 too)
    (datetime(1969, 12, 29, 8, 0), datetime(1970, 1, 6, 17, 30)),
    (datetime(1969, 12, 31, 10, 0), datetime(1970, 1, 2, 10, 30)),
    # inside the exceptions' span, before it and after it
    (datetime(2024, 12, 30, 11, 0), datetime(2025, 1, 3, 9, 30)),
    (datetime(1969, 1, 6, 9, 0), datetime(1969, 1, 7, 9, 0)),
    (datetime(2025, 12, 24, 16, 0), datetime(2026, 1, 5, 12, 0)),
    (datetime(1969, 12, 1, 9, 0), datetime(2026, 2, 1, 9, 0)),  # every exception at once
]


@pytest.mark.parametrize("chain", [False, True], ids=["lookup list", "comparison chain"])
def test_exceptions_over_decades_and_before_1970(
    chain: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if chain:  # the form used when the exceptions span more days than a list should hold
        monkeypatch.setattr(
            "cxengine.default_plugins.aggregations.business_hours.MAX_LOOKUP_DAYS", 0
        )
        _query.cache_clear()
    try:
        for zone in ("UTC", "Asia/Tashkent"):
            got = sql_seconds(SPANS, MANY_EXCEPTIONS, zone, zone)
            want = [
                business_seconds(a, b, MANY_EXCEPTIONS, {"start": zone, "end": zone})
                for a, b in SPANS
            ]
            assert got == pytest.approx(want, abs=1e-6)
    finally:
        _query.cache_clear()


def test_the_local_time_is_converted_a_bounded_number_of_times() -> None:
    # Each conversion costs; a CASE per weekday and per holiday used to repeat it 144
    # times per end of a span. Counted work, not a duration.
    sql = _query(MANY_EXCEPTIONS.model_dump_json(), "UTC", "UTC")
    assert sql.upper().count("TIMEZONE(") <= 100  # 520 before: a CASE arm per weekday and date
