"""Support kinds: duration, distribution, backlog, and share with a condition (FCR, SLA).

The compute layer is checked on DuckDB tables built here (worked example, hand
cases, roll-ups, empty groups); intervals against scipy; each kind's SQL against a
plain-Python computation over random data (hypothesis); and the standard specs
end to end on the project `cxengine init` writes, rejects with file and line.
"""

from __future__ import annotations

import json
import math
import random
import statistics
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from scipy import stats

from cxengine.compute.engine import MetricValue, compute_spec
from cxengine.compute.quantiles import approximate_ranks, exact_ranks
from cxengine.config import load_config
from cxengine.default_plugins.aggregations.backlog import Backlog
from cxengine.default_plugins.aggregations.distribution import Distribution
from cxengine.default_plugins.aggregations.duration import Duration
from cxengine.default_plugins.aggregations.share import Share
from cxengine.runner import run_project, validate_project
from cxengine.scaffold import init_project

T0 = datetime(2025, 1, 1)
FAST = settings(
    max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


def table(rows: list[dict[str, Any]], types: dict[str, str]) -> duckdb.DuckDBPyConnection:
    """Make a DuckDB table `ds` with a `_cx_row` column, as the dataset loader does."""
    con = duckdb.connect()
    cols = ", ".join(f'"{k}" {t}' for k, t in types.items())
    con.execute(f"CREATE TABLE ds (_cx_row BIGINT, {cols})")
    if rows:
        marks = ", ".join("?" for _ in types)
        con.executemany(
            f"INSERT INTO ds VALUES (?, {marks})",
            [[i, *(r.get(k) for k in types)] for i, r in enumerate(rows)],
        )
    return con


TICKET_TYPES = {"opened": "TIMESTAMP", "replied": "TIMESTAMP", "channel": "VARCHAR"}
TICKET_FIELDS = {"opened": "datetime", "replied": "datetime", "channel": "string"}


def tickets(seconds: list[float | None], channels: list[str] | None = None) -> list[dict[str, Any]]:
    """One ticket per duration, an hour apart from 1 January (None: not answered)."""
    out = []
    for i, s in enumerate(seconds):
        opened = T0 + timedelta(hours=i)
        out.append(
            {
                "opened": opened,
                "replied": None if s is None else opened + timedelta(seconds=s),
                "channel": channels[i] if channels else "email",
            }
        )
    return out


def duration(con: duckdb.DuckDBPyConnection, **keys: Any) -> list[MetricValue]:
    spec = Duration.spec_model(
        name="frt", kind="duration", dataset="t", from_field="opened", to_field="replied", **keys
    )
    return compute_spec(con, spec, Duration(), "ds", TICKET_FIELDS).values


def pick(values: list[MetricValue], period: date | None = None, **slice_: Any) -> MetricValue:
    return next(v for v in values if v.period == period and v.slice == slice_)


# ------------------------------------------------------------------------- duration


def test_frt_worked_example_54000_seconds_over_800_replies_is_67_5() -> None:
    # 400 replies after 30 s and 400 after 105 s: 12,000 + 42,000 = 54,000 s.
    con = table(tickets([30.0] * 400 + [105.0] * 400), TICKET_TYPES)
    v = pick(duration(con))
    assert (v.value, v.n, v.counts["sum"]) == (67.5, 800, 54_000)
    sd = statistics.stdev([30.0] * 400 + [105.0] * 400)
    low, high = stats.t.interval(0.95, 799, loc=67.5, scale=sd / math.sqrt(800))
    assert (v.ci_low, v.ci_high) == (pytest.approx(low), pytest.approx(high))


def test_units_convert_the_value_and_the_interval() -> None:
    con = table(tickets([60.0, 120.0, 180.0]), TICKET_TYPES)
    in_s, in_min = pick(duration(con)), pick(duration(con, unit="min"))
    assert (in_s.value, in_min.value) == (120.0, 2.0)
    assert in_min.ci_high == pytest.approx(in_s.ci_high / 60)
    assert pick(duration(con, unit="h")).value == pytest.approx(120 / 3600)


def test_negative_and_missing_durations_are_excluded_with_their_reason() -> None:
    con = table(tickets([60.0, -300.0, None, 120.0]), TICKET_TYPES)
    spec = Duration.spec_model(
        name="frt", kind="duration", dataset="t", from_field="opened", to_field="replied"
    )
    result = compute_spec(con, spec, Duration(), "ds", TICKET_FIELDS)
    v = pick(result.values)
    assert (v.value, v.n, v.excluded) == (90.0, 2, 2)
    reasons = {e.row: e.reason for e in result.excluded}
    assert reasons[1] == (
        "replied is before opened: a negative duration is a data error "
        "(clock skew, wrong field), not a fast reply"
    )
    assert reasons[2] == "replied is empty: the duration has no end"


def test_median_and_p90_with_the_order_statistic_interval_of_scipy() -> None:
    rng = random.Random(5)
    seconds = [round(rng.lognormvariate(5, 0.8), 3) for _ in range(137)]
    con = table(tickets(seconds), TICKET_TYPES)
    for statistic, p in (("median", 0.5), ("p90", 0.9), ("p99.5", 0.995)):
        v = pick(duration(con, statistic=statistic))
        assert v.value == pytest.approx(float(np.quantile(seconds, p)))
        ci = stats.quantile_test(seconds, p=p).confidence_interval(0.95)
        want = [None if math.isnan(x) else x for x in (ci.low, ci.high)]
        assert [v.ci_low, v.ci_high] == [pytest.approx(x) if x is not None else None for x in want]


def test_small_samples_get_an_open_side_instead_of_a_made_up_bound() -> None:
    con = table(tickets([10.0, 20.0, 30.0, 40.0, 50.0]), TICKET_TYPES)
    v = pick(duration(con, statistic="p90"))
    assert v.value == pytest.approx(46.0)
    assert v.ci_high is None and v.note == "too few durations to bound the p90 on both sides"
    ci = stats.quantile_test([10, 20, 30, 40, 50], p=0.9).confidence_interval(0.95)
    assert math.isnan(ci.high)


def test_roll_ups_recompute_the_median_from_rows_not_from_slice_medians() -> None:
    # phone: 1, 2, 3 (median 2); email: 100 (median 100). Median of medians: 51.
    con = table(tickets([1.0, 2.0, 3.0, 100.0], ["phone"] * 3 + ["email"]), TICKET_TYPES)
    values = duration(con, statistic="median", by=["channel"])
    assert pick(values, channel="phone").value == 2.0
    assert pick(values, channel="email").value == 100.0
    assert pick(values).value == 2.5  # the median of 1, 2, 3, 100


def test_empty_periods_have_n_zero_and_no_value() -> None:
    rows = tickets([60.0, 60.0])
    rows[1]["opened"] = datetime(2025, 3, 5)
    rows[1]["replied"] = datetime(2025, 3, 5, 0, 1)
    con = table(rows, TICKET_TYPES)
    for statistic in ("mean", "median"):
        values = duration(con, statistic=statistic, period="month", time="opened")
        february = pick(values, date(2025, 2, 1))
        assert (february.n, february.value, february.ci_low) == (0, None, None)
        assert pick(values, date(2025, 3, 1)).value == 60.0


def test_a_numeric_duration_field_in_its_own_unit() -> None:
    rows = [{"wait": w} for w in (1.5, 2.5, -1.0, None)]
    con = table(rows, {"wait": "DOUBLE"})
    spec = Duration.spec_model(
        name="wait", kind="duration", dataset="t", field="wait", field_unit="min", unit="s"
    )
    result = compute_spec(con, spec, Duration(), "ds", {"wait": "number"})
    v = pick(result.values)
    assert (v.value, v.n, v.excluded) == (120.0, 2, 2)
    assert sorted(e.reason for e in result.excluded) == [
        "wait is empty: no duration to measure",
        "wait is negative: a duration cannot be below zero (data error)",
    ]


def test_business_hours_in_a_spec_use_the_data_zone() -> None:
    # Friday 17:30 → Monday 09:45 in an office open 09:00–18:00, Monday to Friday.
    rows = [{"opened": datetime(2025, 3, 7, 17, 30), "replied": datetime(2025, 3, 10, 9, 45)}]
    con = table(rows, TICKET_TYPES)
    calendar = {"hours": {"mon-fri": "09:00-18:00"}}
    assert pick(duration(con, calendar=calendar, unit="min")).value == 75.0
    # The same stamps are UTC; the office is in Tashkent (UTC+5): 22:30 Fri → 14:45 Mon.
    spec = Duration.spec_model(
        name="frt", kind="duration", dataset="t", from_field="opened", to_field="replied",
        calendar={**calendar, "timezone": "Asia/Tashkent"}, unit="min",
    )  # fmt: skip
    zones = {"opened": "UTC", "replied": "UTC"}
    v = pick(compute_spec(con, spec, Duration(), "ds", TICKET_FIELDS, zones).values)
    assert v.value == 5 * 60 + 45


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"from_field": "a"}, "needs both `from_field` and `to_field`"),
        ({"from_field": "a", "to_field": "b", "field": "c"}, "not both"),
        ({}, "give `from_field` and `to_field`"),
        ({"field": "w", "calendar": {"hours": {"mon": "09:00-10:00"}}}, "need timestamps"),
        ({"field": "w", "statistic": "p100"}, "not a statistic"),
        ({"field": "w", "statistic": "average"}, "not a statistic"),
        ({"field": "w", "unit": "weeks"}, "unit"),
    ],
)
def test_bad_duration_specs_are_explained(keys: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Duration.spec_model(name="d", kind="duration", dataset="t", **keys)


@FAST
@given(
    data=st.lists(
        st.tuples(
            st.sampled_from(["phone", "chat", "email"]),
            st.one_of(st.none(), st.integers(min_value=-50, max_value=10_000)),
        ),
        max_size=60,
    ),
    statistic=st.sampled_from(["mean", "median", "p90"]),
)
def test_duration_sql_matches_python(data: list[tuple[str, int | None]], statistic: str) -> None:
    con = table(tickets([s for _, s in data], [c for c, _ in data]), TICKET_TYPES)
    values = duration(con, statistic=statistic, by=["channel"])
    p = {"median": 0.5, "p90": 0.9}.get(statistic)
    for channel in [None, "phone", "chat", "email"]:
        usable = [s for c, s in data if s is not None and s >= 0 and channel in (None, c)]
        present = [v for v in values if v.period is None and v.slice.get("channel") == channel]
        if channel is not None and not any(c == channel for c, _ in data):
            assert present == []
            continue
        (v,) = present
        assert v.n == len(usable)
        if not usable:
            assert v.value is None
        elif p is None:
            assert v.value == pytest.approx(sum(usable) / len(usable))
        else:
            assert v.value == pytest.approx(float(np.quantile(usable, p)))
            lo, hi = exact_ranks(len(usable), p, 0.95)
            ordered = sorted(usable)
            assert v.ci_low == (None if lo is None else ordered[lo - 1])
            assert v.ci_high == (None if hi is None else ordered[hi - 1])


def test_the_sql_windows_always_hold_the_exact_ranks() -> None:
    # The SQL ships WINDOW values either side of the approximate rank; the exact one
    # must be inside for every n and the quantiles and levels people use.
    from cxengine.compute.quantiles import WINDOW

    for confidence in (0.8, 0.9, 0.95, 0.99):
        for p in (0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99):
            for n in [*range(1, 400), 1_000, 9_999, 100_000]:
                for rank, centre in zip(
                    exact_ranks(n, p, confidence), approximate_ranks(n, p, confidence), strict=True
                ):
                    start = max(1, centre - WINDOW)  # as the SQL computes it
                    assert rank is None or start <= rank <= start + 2 * WINDOW, (n, p, confidence)


def test_order_statistic_interval_covers_the_true_median() -> None:
    # 2,000 exponential samples of 40: the true median is ln 2. Coverage ≥ 95 % by
    # construction (binomial), so the observed rate must not fall clearly below it.
    rng = np.random.default_rng(11)
    lo, hi = exact_ranks(40, 0.5, 0.95)
    assert lo is not None and hi is not None
    covered = 0
    for _ in range(2000):
        x = np.sort(rng.exponential(size=40))
        covered += x[lo - 1] <= math.log(2) <= x[hi - 1]
    exact = stats.binom.cdf(hi - 1, 40, 0.5) - stats.binom.cdf(lo - 1, 40, 0.5)
    assert exact >= 0.95
    assert abs(covered / 2000 - exact) < 0.015


# --------------------------------------------------------------------- distribution


def distribution(con: duckdb.DuckDBPyConnection, **keys: Any) -> list[MetricValue]:
    spec = Distribution.spec_model(
        name="preferred_channel", kind="distribution", dataset="t", field="channel", **keys
    )
    types = {"channel": "string", "team": "string", "at": "datetime"}
    return compute_spec(con, spec, Distribution(), "ds", types).values


CONTACT_TYPES = {"channel": "VARCHAR", "team": "VARCHAR", "at": "TIMESTAMP"}


def test_share_per_channel_with_wilson_and_the_top_channel() -> None:
    rows = [{"channel": c} for c in ["phone"] * 50 + ["chat"] * 30 + ["email"] * 20 + [None] * 3]
    values = distribution(table(rows, CONTACT_TYPES))
    phone = pick(values, channel="phone")
    assert (phone.value, phone.n, phone.note) == (50.0, 100, "top category")
    assert pick(values, channel="chat").note is None
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(20, 100, method="wilson")
    email = pick(values, channel="email")
    assert (email.ci_low, email.ci_high) == (pytest.approx(100 * low), pytest.approx(100 * high))
    assert sum(v.value for v in values if v.period is None) == pytest.approx(100.0)


def test_a_channel_absent_from_a_slice_is_zero_percent_there() -> None:
    rows = [{"channel": "phone", "team": "a"}] * 4 + [{"channel": "chat", "team": "b"}] * 2
    values = distribution(table(rows, CONTACT_TYPES), by=["team"])
    chat_a = pick(values, team="a", channel="chat")
    assert (chat_a.value, chat_a.n, chat_a.ci_low) == (0.0, 4, 0.0)
    assert chat_a.ci_high is not None and chat_a.ci_high > 0


def test_declared_categories_reject_the_others_and_empty_months_are_empty() -> None:
    rows = [
        {"channel": "phone", "at": datetime(2025, 1, 3)},
        {"channel": "emial", "at": datetime(2025, 1, 4)},
        {"channel": "email", "at": datetime(2025, 3, 9)},
    ]
    con = table(rows, CONTACT_TYPES)
    spec = Distribution.spec_model(
        name="pc", kind="distribution", dataset="t", field="channel",
        categories=["phone", "email", "chat"], period="month", time="at",
    )  # fmt: skip
    result = compute_spec(con, spec, Distribution(), "ds", {"channel": "string", "at": "datetime"})
    assert [(e.row, e.value, e.reason) for e in result.excluded] == [
        (1, "emial", "channel is not one of the categories: phone, email, chat")
    ]
    january = {v.slice["channel"]: v.value for v in result.values if v.period == date(2025, 1, 1)}
    assert january == {"phone": 100.0, "email": 0.0, "chat": 0.0}
    february = [v for v in result.values if v.period == date(2025, 2, 1)]
    assert sorted(v.slice["channel"] for v in february) == ["chat", "email", "phone"]
    assert all(v.n == 0 and v.value is None for v in february)


@FAST
@given(
    data=st.lists(
        st.tuples(
            st.one_of(st.none(), st.sampled_from(["phone", "chat", "email", "social"])),
            st.sampled_from(["a", "b", "c"]),
        ),
        max_size=50,
    )
)
def test_distribution_sql_matches_python(data: list[tuple[str | None, str]]) -> None:
    rows = [{"channel": c, "team": t} for c, t in data]
    values = distribution(table(rows, CONTACT_TYPES), by=["team"])
    seen = {c for c, _ in data if c is not None}
    for team in [None, "a", "b", "c"]:
        counts = Counter(c for c, t in data if c is not None and team in (None, t))
        n = sum(counts.values())
        got = {
            v.slice["channel"]: (v.value, v.n)
            for v in values
            if v.period is None and v.slice.get("team") == team
        }
        if n == 0:
            # No channel to share out: undeclared categories leave the group out
            # (with `categories:` declared it lists each with n = 0).
            assert all(value is None for value, _ in got.values())
            continue
        want = {c: (100.0 * counts[c] / n, n) for c in seen}
        assert got.keys() == want.keys()
        for c in seen:
            assert got[c] == (pytest.approx(want[c][0]), n)


# -------------------------------------------------------------------------- backlog

BACKLOG_TYPES = {"opened": "TIMESTAMP", "closed": "TIMESTAMP", "team": "VARCHAR"}
BACKLOG_FIELDS = {"opened": "datetime", "closed": "datetime", "team": "string"}


def backlog(con: duckdb.DuckDBPyConnection, **keys: Any) -> list[MetricValue]:
    spec = Backlog.spec_model(
        name="backlog", kind="backlog", dataset="t", opened="opened", closed="closed", **keys
    )
    return compute_spec(con, spec, Backlog(), "ds", BACKLOG_FIELDS).values


def test_backlog_is_counted_point_in_time_at_each_month_end() -> None:
    D = datetime
    rows = [
        {"opened": D(2025, 1, 10), "closed": D(2025, 2, 20), "team": "a"},  # in Jan's
        {"opened": D(2025, 1, 31, 12), "closed": None, "team": "b"},  # 12 h old at Jan end
        {"opened": D(2025, 2, 3), "closed": D(2025, 2, 4), "team": "a"},  # never at a month end
        {"opened": D(2025, 3, 1), "closed": D(2025, 4, 1), "team": "a"},  # closed at T: not open
    ]
    values = backlog(table(rows, BACKLOG_TYPES), older_than="24h", period="month", by=["team"])
    by_month = {v.period: (v.value, v.n) for v in values if not v.slice}
    assert by_month == {
        date(2025, 1, 1): (1.0, 2),  # ticket 1; ticket 2 is open but only 12 h old
        date(2025, 2, 1): (1.0, 1),  # ticket 2, now a month old
        date(2025, 3, 1): (1.0, 1),  # ticket 2; ticket 4 closed exactly at midnight
        date(2025, 4, 1): (1.0, 1),
        None: (1.0, 1),  # the end of the last period
    }
    # A team with nothing open at a month end has a backlog of 0, not a gap.
    assert pick(values, date(2025, 2, 1), team="a").value == 0.0
    assert pick(values, date(2025, 1, 1), team="a").value == 1.0


def test_closed_before_opened_is_rejected_not_counted_as_open_forever() -> None:
    rows = [
        {"opened": datetime(2025, 1, 10), "closed": datetime(2025, 1, 5)},
        {"opened": None, "closed": None},
        {"opened": datetime(2025, 1, 2), "closed": None},
    ]
    con = table(rows, BACKLOG_TYPES)
    spec = Backlog.spec_model(
        name="b", kind="backlog", dataset="t", opened="opened", closed="closed", period="month"
    )
    result = compute_spec(con, spec, Backlog(), "ds", BACKLOG_FIELDS)
    assert [v.value for v in result.values if not v.slice] == [1.0, 1.0]
    assert sorted((e.row, e.reason) for e in result.excluded) == [
        (0, "closed is before opened: closed before it was opened (data error)"),
        (1, "opened is empty: the item cannot be placed in time"),
    ]


@FAST
@given(
    items=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=120 * 24),  # opened, hours after 1 January
            st.one_of(st.none(), st.integers(min_value=0, max_value=60 * 24)),  # open for
            st.sampled_from(["a", "b"]),
        ),
        min_size=1,
        max_size=30,
    ),
    older_than=st.sampled_from(["0s", "1h", "24h", "7d"]),
    grain=st.sampled_from(["week", "month"]),
)
def test_backlog_sql_matches_python(
    items: list[tuple[int, int | None, str]], older_than: str, grain: str
) -> None:
    rows = [
        {
            "opened": T0 + timedelta(hours=o),
            "closed": None if d is None else T0 + timedelta(hours=o + d),
            "team": t,
        }
        for o, d, t in items
    ]
    values = backlog(table(rows, BACKLOG_TYPES), older_than=older_than, period=grain, by=["team"])
    age = {"0s": 0, "1h": 1, "24h": 24, "7d": 168}[older_than]
    for v in values:
        if v.period is None:
            continue
        nxt = v.period + timedelta(days=7) if grain == "week" else _next_month(v.period)
        end = datetime(nxt.year, nxt.month, nxt.day)
        mine = [r for r in rows if v.slice.get("team") in (None, r["team"])]
        open_ = [
            r for r in mine if r["opened"] < end and (r["closed"] is None or r["closed"] > end)
        ]
        old = [r for r in open_ if r["opened"] < end - timedelta(hours=age)]
        assert (v.value, v.n) == (float(len(old)), len(open_)), (v.period, v.slice)


def _next_month(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


def test_older_than_accepts_readable_ages() -> None:
    from cxengine.default_plugins.aggregations.backlog import parse_age

    assert [parse_age(x) for x in ("5min", "1h", "24h", "2d", "1w", 90)] == [
        300, 3600, 86400, 172800, 604800, 90,
    ]  # fmt: skip
    with pytest.raises(ValueError, match="not an age"):
        parse_age("a day")


# ------------------------------------------------------------- share: FCR and SLA


def test_fcr_is_a_share_of_a_boolean_field() -> None:
    rows = [{"fcr": b} for b in [True] * 7 + [False] * 3 + [None]]
    con = table(rows, {"fcr": "BOOLEAN"})
    spec = Share.spec_model(name="fcr", kind="share", dataset="t", field="fcr", positive=[True])
    v = pick(compute_spec(con, spec, Share(), "ds", {"fcr": "boolean"}).values)
    assert (v.value, v.n) == (70.0, 10)


def test_sla_condition_counts_within_target_and_rejects_invalid_values() -> None:
    rows = [
        {"frm": 3.0, "channel": "phone"},  # within 4
        {"frm": 9.0, "channel": "phone"},  # late
        {"frm": 600.0, "channel": "email"},  # within 1440
        {"frm": -12.0, "channel": "email"},  # clock skew: rejected, not "fast"
        {"frm": None, "channel": "chat"},  # not answered: not in n
        {"frm": 1.0, "channel": None},  # channel unknown: in n, not within
    ]
    con = table(rows, {"frm": "DOUBLE", "channel": "VARCHAR"})
    spec = Share.spec_model(
        name="sla", kind="share", dataset="t", field="frm", valid={"min": 0},
        condition="(channel = 'phone' AND frm <= 4) OR (channel = 'email' AND frm <= 1440)",
    )  # fmt: skip
    result = compute_spec(con, spec, Share(), "ds", {"frm": "number", "channel": "string"})
    v = pick(result.values)
    assert (v.value, v.n, v.excluded) == (50.0, 4, 1)
    assert [(e.row, e.reason) for e in result.excluded] == [(3, "frm below 0: not a valid value")]


def test_share_condition_is_whitelisted_like_a_filter() -> None:
    with pytest.raises(ValidationError, match="bad condition"):
        Share.spec_model(
            name="s", kind="share", dataset="t", field="x", condition="read_csv('/etc/passwd')"
        )
    with pytest.raises(ValidationError, match="not both"):
        Share.spec_model(
            name="s", kind="share", dataset="t", field="x", condition="x > 1", positive=[1]
        )


# ----------------------------------------------------- the standard specs, end to end

SUPPORT_SPECS = (
    "frt", "resolution_time", "wait_time", "backlog", "fcr", "sla_first_response",
    "preferred_channel",
)  # fmt: skip


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("support")
    init_project(root, rows=1600)
    return root


def test_support_specs_validate_and_carry_titles(example: Path) -> None:
    config = load_config(example / "cxengine.yaml")
    specs, problems = validate_project(config, with_data=True)
    mine = [p for p in problems if any(f"{name}.yaml" in p.file for name in SUPPORT_SPECS)]
    assert mine == []
    by_name = {s.name: s.spec for s in specs}
    for name in SUPPORT_SPECS:
        assert by_name[name].title and by_name[name].description


def test_frt_spec_ships_the_per_channel_targets(example: Path) -> None:
    config = load_config(example / "cxengine.yaml")
    specs, _ = validate_project(config)
    frt = next(s.spec for s in specs if s.name == "frt")
    assert frt.unit == "min" and frt.target is not None
    per_channel = {
        k: b.model_dump(exclude_none=True) for k, b in frt.target.slices["channel"].items()
    }
    assert per_channel == {
        "phone": {"warn_above": 2, "fail_above": 4},
        "chat": {"warn_above": 1.5, "fail_above": 2},
        "email": {"fail_above": 1440},
        "web_form": {"fail_above": 1440},
        "social": {"fail_above": 60},
    }


def test_support_specs_run_on_the_example_project(example: Path) -> None:
    result = run_project(load_config(example / "cxengine.yaml"), only=SUPPORT_SPECS, store=False)
    overall = {
        v.metric: v
        for v in result.values
        if v.period is None and not v.slice and v.value is not None
    }
    assert set(overall) >= set(SUPPORT_SPECS) - {"preferred_channel"}
    # Phone callers wait about three minutes; support answers chat in under two.
    frt = {
        v.slice["channel"]: v.value
        for v in result.values
        if v.metric == "frt" and v.period is None and v.slice
    }
    assert 2 < frt["phone"] < 4 and 1 < frt["chat"] < 2 and frt["email"] > 60
    shares = [v for v in result.values if v.metric == "preferred_channel" and v.period is None]
    assert sum(v.value for v in shares) == pytest.approx(100.0)
    assert [v.slice["channel"] for v in shares if v.note == "top category"] in (["phone"], ["chat"])
    assert 0 < overall["fcr"].value < 100 and 0 < overall["sla_first_response"].value < 100
    assert overall["backlog"].value >= 1


def test_bad_example_rows_are_rejected_with_file_and_line(example: Path) -> None:
    result = run_project(load_config(example / "cxengine.yaml"), only=SUPPORT_SPECS, store=False)
    lines = (example / "data" / "tickets.jsonl").read_text(encoding="utf-8").splitlines()
    negative = [r for r in result.rejects if r.metric == "frt" and "negative" in r.reason]
    assert len(negative) >= 2
    for r in negative:
        path, line = r.locator.rsplit(":", 1)
        assert path == "data/tickets.jsonl"
        row = json.loads(lines[int(line) - 1])
        assert row["first_response_at"] < row["created_at"]
        assert r.value == row["first_response_at"].replace("T", " ")
    waits = [r for r in result.rejects if r.metric == "wait_time" and "negative" in r.reason]
    assert [json.loads(lines[int(r.locator.rsplit(":", 1)[1]) - 1])["wait_s"] for r in waits] == [
        -17
    ]
    sla = [r for r in result.rejects if r.metric == "sla_first_response"]
    assert {r.locator for r in sla} == {r.locator for r in negative}


# ------------------------------------------------- validation and zones through the runner

TICKETS_DATASET = """
tickets:
  source: jsonl
  path: tickets.jsonl
  fields:
    created_at: {type: datetime, timezone: Europe/Moscow}
    first_response_at: {type: datetime, timezone: Europe/Moscow}
    resolved_at: datetime
    channel: string
"""


def test_unknown_fields_point_at_the_key_that_names_them(make_project: Any) -> None:
    config = make_project(
        TICKETS_DATASET,
        {
            "b.yaml": """\
                name: b
                kind: backlog
                dataset: tickets
                opened: created_at
                closed: closed_at
                """,
            "s.yaml": """\
                name: s
                kind: share
                dataset: tickets
                field: channel
                condition: "chanel = 'phone'"
                """,
        },
        {"tickets.jsonl": ""},
    )
    _, problems = validate_project(load_config(config))
    located = sorted(f"{Path(p.file).name}:{p.line}: {p.path}" for p in problems)
    assert located == ["b.yaml:5: closed", "s.yaml:5: condition"]


def test_business_hours_use_the_zone_the_dataset_declares(make_project: Any) -> None:
    # Stamps are Moscow wall-clock time (declared), the office is in Moscow: 17:30 →
    # 09:45 next Monday is 75 business minutes, no conversion. Had the stamps been
    # read as UTC, the span would be 20:30 → 12:45 Moscow: 3 h 45 min.
    row = {"created_at": "2025-03-07 17:30:00", "first_response_at": "2025-03-10 09:45:00",
           "resolved_at": None, "channel": "email"}  # fmt: skip
    config = make_project(
        TICKETS_DATASET,
        {
            "frt.yaml": """\
                name: frt
                kind: duration
                dataset: tickets
                from_field: created_at
                to_field: first_response_at
                unit: min
                calendar: {timezone: Europe/Moscow, hours: {mon-fri: "09:00-18:00"}}
                """
        },
        {"tickets.jsonl": json.dumps(row) + "\n"},
    )
    result = run_project(load_config(config), store=False)
    assert [v.value for v in result.values if v.metric == "frt"] == [75.0]


def test_stored_counts_are_numbers_and_a_category_keeps_its_own(example: Path) -> None:
    # Baselines and significance tests read stored counts: no lists, no maps.
    specs = example / "metric_specs"
    (specs / "frt_p90.yaml").write_text(
        "name: frt_p90\nkind: duration\ndataset: tickets\nfrom_field: created_at\n"
        "to_field: first_response_at\nstatistic: p90\nby: [channel]\n",
        encoding="utf-8",
    )
    (specs / "channels.yaml").write_text(
        "name: channels\nkind: distribution\ndataset: tickets\nfield: channel\nby: [team]\n",
        encoding="utf-8",
    )
    try:
        config = load_config(example / "cxengine.yaml")
        result = run_project(config, only=["frt_p90", "channels"], store=False)
    finally:
        (specs / "frt_p90.yaml").unlink()
        (specs / "channels.yaml").unlink()
    for v in result.values:
        assert all(x is None or isinstance(x, int | float) for x in v.counts.values()), v
    p90 = next(v for v in result.values if v.metric == "frt_p90" and not v.slice)
    assert set(p90.counts) == {"n", "quantile", "low_from", "high_from", "low_at", "high_at"}
    phone = next(
        v for v in result.values if v.metric == "channels" and v.slice == {"channel": "phone"}
    )
    assert phone.value == pytest.approx(100 * phone.counts["positive"] / phone.counts["n"])


def test_a_backlog_rise_is_tested_as_two_poisson_counts() -> None:
    spec = Backlog.spec_model(name="b", kind="backlog", dataset="t", opened="o", closed="c")
    noise = Backlog().compare(spec, {"n": 9, "backlog": 3}, {"n": 9, "backlog": 5}, "larger")
    real = Backlog().compare(spec, {"n": 70, "backlog": 30}, {"n": 90, "backlog": 60}, "larger")
    # Given 8 (90) old tickets in both, the current share is Binomial(k, 1/2) under H0.
    assert noise.p_value == pytest.approx(stats.binomtest(5, 8, 0.5, "greater").pvalue)
    assert real.p_value == pytest.approx(stats.binomtest(60, 90, 0.5, "greater").pvalue)
    assert noise.p_value > 0.3 and real.p_value < 0.002
    assert real.difference == 30


def _sample_counts(samples: list[list[float]], statistic: str) -> list[dict[str, Any]]:
    """Compute each sample's stored counts through the SQL, all in one grouped query."""
    import pyarrow as pa

    seconds = [x for sample in samples for x in sample]
    opened = [T0 + timedelta(hours=i) for i in range(len(seconds))]
    data = pa.table(
        {
            "_cx_row": list(range(len(seconds))),
            "opened": opened,
            "replied": [o + timedelta(seconds=x) for o, x in zip(opened, seconds, strict=True)],
            "channel": [f"s{i:04d}" for i, sample in enumerate(samples) for _ in sample],
        }
    )
    con = duckdb.connect()
    con.register("arrow_rows", data)
    con.execute("CREATE TABLE ds AS SELECT * FROM arrow_rows")
    values = duration(con, statistic=statistic, by=["channel"])
    by_group = {v.slice["channel"]: v.counts for v in values if v.slice}
    return [by_group[f"s{i:04d}"] for i in range(len(samples))]


def test_two_means_are_compared_with_welch_in_the_spec_unit() -> None:
    rng = random.Random(3)
    a = [rng.expovariate(1 / 300) for _ in range(80)]
    b = [rng.expovariate(1 / 420) for _ in range(60)]
    base, cur = _sample_counts([a, b], "mean")
    spec = Duration.spec_model(
        name="frt", kind="duration", dataset="t", from_field="o", to_field="r", unit="min"
    )
    result = Duration().compare(spec, base, cur, "two-sided")
    want = stats.ttest_ind(b, a, equal_var=False)
    assert result is not None
    assert result.p_value == pytest.approx(want.pvalue, rel=1e-6)
    assert result.difference == pytest.approx((statistics.mean(b) - statistics.mean(a)) / 60)


def test_two_medians_test_holds_its_level_and_finds_a_real_shift() -> None:
    # 150 pairs of samples of 120 from the same log-normal: about 5 % may reject at
    # 0.05; with replies 70 % slower in the current sample (power ≈ 0.95), most must.
    rng = np.random.default_rng(17)
    same = [list(rng.lognormal(5, 0.9, 120)) for _ in range(300)]
    slower = [list(rng.lognormal(5, 0.9, 120) * (1.7 if i % 2 else 1)) for i in range(300)]
    spec = Duration.spec_model(
        name="frt", kind="duration", dataset="t", from_field="o", to_field="r", statistic="median"
    )
    rates = []
    for samples in (same, slower):
        counts = _sample_counts(samples, "median")
        pairs = [(counts[i], counts[i + 1]) for i in range(0, len(counts), 2)]
        results = [Duration().compare(spec, b, c, "two-sided") for b, c in pairs]
        rates.append(sum(r is not None and r.p_value < 0.05 for r in results) / len(pairs))
    assert 0.01 <= rates[0] <= 0.10, rates
    assert rates[1] >= 0.85, rates


def test_quantile_test_needs_enough_durations() -> None:
    spec = Duration.spec_model(
        name="frt", kind="duration", dataset="t", from_field="o", to_field="r", statistic="p90"
    )
    small = {"n": 12, "quantile": 60.0, "low_at": 40.0, "high_at": 90.0}
    big = {"n": 400, "quantile": 70.0, "low_at": 66.0, "high_at": 75.0}
    assert Duration().compare(spec, small, big, "larger") is None


@FAST
@given(
    rows=st.lists(
        st.tuples(
            st.one_of(st.none(), st.floats(min_value=-30, max_value=3000, allow_nan=False)),
            st.one_of(st.none(), st.sampled_from(["phone", "email"])),
        ),
        max_size=40,
    )
)
def test_share_condition_sql_matches_python(rows: list[tuple[float | None, str | None]]) -> None:
    con = table(
        [{"frm": f, "channel": c} for f, c in rows], {"frm": "DOUBLE", "channel": "VARCHAR"}
    )
    spec = Share.spec_model(
        name="sla", kind="share", dataset="t", field="frm", valid={"min": 0},
        condition="(channel = 'phone' AND frm <= 4) OR (channel = 'email' AND frm <= 1440)",
    )  # fmt: skip
    v = pick(compute_spec(con, spec, Share(), "ds", {"frm": "number", "channel": "string"}).values)
    usable = [(f, c) for f, c in rows if f is not None and f >= 0]
    within = [f for f, c in usable if (c == "phone" and f <= 4) or (c == "email" and f <= 1440)]
    assert (v.n, v.excluded) == (len(usable), sum(f is not None and f < 0 for f, _ in rows))
    assert v.value == (100 * len(within) / len(usable) if usable else None)
