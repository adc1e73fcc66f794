"""Customer-base kinds: retention, churn and repeat purchase.

The worked examples of metrics.md are pinned here (CRR 90 %, churn 20 % — not the
2 % one article prints), then the SQL the kinds compile to is compared with a plain
Python count over random customers, random activity events and random purchases,
including customers without a start date, ends before starts and empty slices.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import proportion_confint

from cxengine.compute.engine import MetricValue, compute_spec
from cxengine.compute.periods import next_period, period_floor
from cxengine.config import load_config
from cxengine.default_plugins.aggregations.churn import Churn
from cxengine.default_plugins.aggregations.repeat_purchase import RepeatPurchase
from cxengine.default_plugins.aggregations.retention import Retention
from cxengine.runner import run_project, validate_project

JAN, FEB = date(2025, 1, 1), date(2025, 2, 1)
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


ARROW_TYPES = {"VARCHAR": pa.string(), "DATE": pa.date32(), "TIMESTAMP": pa.timestamp("us")}
ARROW_TYPES["BIGINT"] = pa.int64()


def table(columns: dict[str, str], rows: Sequence[Sequence[Any]]) -> duckdb.DuckDBPyConnection:
    """Make table `ds` with a `_cx_row` column first, as the dataset loader does."""
    con = duckdb.connect()
    cols = ", ".join(f'"{k}" {t}' for k, t in columns.items())
    con.execute(f"CREATE TABLE ds (_cx_row BIGINT, {cols})")
    if rows:
        data = pa.table(
            {"_cx_row": pa.array(range(len(rows)), pa.int64())}
            | {
                name: pa.array([r[i] for r in rows], ARROW_TYPES[kind])
                for i, (name, kind) in enumerate(columns.items())
            }
        )
        con.register("rows", data)
        con.execute("INSERT INTO ds SELECT * FROM rows")
    return con


CUSTOMER_COLUMNS = {"cid": "VARCHAR", "joined": "DATE", "left": "DATE", "plan": "VARCHAR"}
CUSTOMER_TYPES = {"cid": "string", "joined": "date", "left": "date", "plan": "string"}


def customers(*groups: tuple[int, date, date | None, str]) -> duckdb.DuckDBPyConnection:
    """customers((count, joined, left, plan), …) -> a customers table."""
    rows = []
    for count, joined, left, plan in groups:
        rows += [(f"c{len(rows) + i}", joined, left, plan) for i in range(count)]
    return table(CUSTOMER_COLUMNS, rows)


def by_key(values: Sequence[MetricValue]) -> dict[tuple[Any, tuple[Any, ...]], MetricValue]:
    return {(v.period, tuple(sorted(v.slice.items()))): v for v in values}


def run(con: duckdb.DuckDBPyConnection, agg: Any, types: dict[str, str], **keys: Any) -> Any:
    spec = agg.spec_model(name="m", kind=agg.name, dataset="d", **keys)
    return compute_spec(con, spec, agg, "ds", types)


# --- worked examples -----------------------------------------------------------------


def crr_example() -> duckdb.DuckDBPyConnection:
    """S = 1000 customers on 1 January, 100 of them leave, 300 join: E = 1200, N = 300."""
    return customers(
        (900, date(2024, 12, 1), None, "basic"),
        (100, date(2024, 12, 1), date(2025, 1, 20), "basic"),
        (300, date(2025, 1, 10), None, "pro"),
    )


def test_crr_worked_example_1200_minus_300_over_1000_is_90() -> None:
    result = run(
        crr_example(), Retention(), CUSTOMER_TYPES, start="joined", end="left", period="month"
    )
    jan = by_key(result.values)[(JAN, ())]
    assert (jan.counts["at_start"], jan.counts["at_end"], jan.counts["new"]) == (1000, 1200, 300)
    assert (jan.value, jan.n) == (90.0, 1000)
    low, high = proportion_confint(900, 1000, alpha=0.05, method="wilson")
    assert (jan.ci_low, jan.ci_high) == (pytest.approx(100 * low), pytest.approx(100 * high))


def test_churn_worked_example_400_of_2000_is_20_percent_not_2() -> None:
    con = customers(
        (1600, date(2024, 11, 3), None, "basic"),
        (400, date(2024, 11, 3), date(2025, 1, 31), "basic"),
    )
    jan = by_key(
        run(con, Churn(), CUSTOMER_TYPES, start="joined", end="left", period="month").values
    )[(JAN, ())]
    assert jan.value == 20.0  # one source article prints "2 %": an arithmetic slip
    assert (jan.n, jan.counts["lost"]) == (2000, 400)
    low, high = proportion_confint(400, 2000, alpha=0.05, method="wilson")
    assert (jan.ci_low, jan.ci_high) == (pytest.approx(100 * low), pytest.approx(100 * high))


def test_articles_formula_undercounts_customers_who_joined_and_left_in_the_period() -> None:
    # 1000 at the start, 100 of them lost; 300 join, and 50 of those leave again in January.
    con = customers(
        (900, date(2024, 12, 1), None, "basic"),
        (100, date(2024, 12, 1), date(2025, 1, 20), "basic"),
        (250, date(2025, 1, 10), None, "pro"),
        (50, date(2025, 1, 10), date(2025, 1, 25), "pro"),
    )
    articles = by_key(
        run(con, Retention(), CUSTOMER_TYPES, start="joined", end="left", period="month").values
    )
    cohort = by_key(
        run(
            con,
            Retention(),
            CUSTOMER_TYPES,
            start="joined",
            end="left",
            period="month",
            method="cohort",
        ).values
    )
    churn = by_key(
        run(con, Churn(), CUSTOMER_TYPES, start="joined", end="left", period="month").values
    )
    a, c, ch = articles[(JAN, ())], cohort[(JAN, ())], churn[(JAN, ())]
    # (E − N) / S = (1150 − 300) / 1000: the 50 who came and went count as lost starters.
    assert a.value == 85.0
    assert c.value == 90.0  # (S − lost) / S: the starting cohort itself
    assert c.value - a.value == pytest.approx(100 * a.counts["new_lost"] / a.counts["at_start"])
    assert ch.value + c.value == 100.0
    assert ch.counts["new_lost"] == 50


def test_a_customer_who_left_on_the_first_day_counts_at_the_start_and_as_lost() -> None:
    con = customers((1, date(2024, 12, 5), JAN, "basic"), (1, JAN, None, "basic"))
    values = by_key(
        run(con, Churn(), CUSTOMER_TYPES, start="joined", end="left", period="month").values
    )
    jan = values[(JAN, ())]
    # Joined 5 December, left 1 January: a customer when January began, lost in January.
    # Joined 1 January: new in January, not a starting customer.
    assert (jan.counts["at_start"], jan.counts["lost"], jan.counts["new"]) == (1, 1, 1)
    assert values[(date(2024, 12, 1), ())].counts["at_end"] == 1


def test_slices_and_rollups_are_counts_not_averages() -> None:
    con = customers(
        (90, date(2024, 12, 1), None, "basic"),
        (10, date(2024, 12, 1), date(2025, 1, 5), "basic"),
        (9, date(2024, 12, 1), None, "pro"),
        (1, date(2024, 12, 1), date(2025, 1, 5), "pro"),
    )
    v = by_key(
        run(
            con, Churn(), CUSTOMER_TYPES, start="joined", end="left", period="month", by=["plan"]
        ).values
    )
    assert v[(JAN, (("plan", "basic"),))].value == 10.0
    assert v[(JAN, (("plan", "pro"),))].value == 10.0
    assert v[(JAN, ())].n == 110 and v[(JAN, ())].value == pytest.approx(100 * 11 / 110)


def test_a_period_without_customers_at_its_start_is_empty_with_a_reason() -> None:
    con = customers((5, JAN, None, "basic"))
    v = by_key(
        run(con, Retention(), CUSTOMER_TYPES, start="joined", end="left", period="month").values
    )[(JAN, ())]
    assert (v.value, v.n, v.ci_low, v.note) == (
        None,
        0,
        None,
        "no customers at the start of the period",
    )


def test_unusable_customers_are_excluded_and_reported() -> None:
    con = table(
        CUSTOMER_COLUMNS,
        [
            ("a", date(2024, 12, 1), None, "basic"),
            ("b", None, None, "basic"),
            ("c", date(2025, 1, 9), date(2024, 12, 20), "basic"),
        ],
    )
    result = run(con, Churn(), CUSTOMER_TYPES, start="joined", end="left", period="month")
    assert [(e.row, e.reason) for e in result.excluded] == [
        (1, "joined is empty: the customer cannot be placed in time"),
        (2, "left is before joined"),
    ]
    jan = by_key(result.values)[(JAN, ())]
    assert (jan.counts["at_start"], jan.counts["new"]) == (1, 0)


def test_spec_needs_dates_or_events() -> None:
    with pytest.raises(ValueError, match="give `start`"):
        Retention.spec_model(name="r", kind="retention", dataset="d")
    with pytest.raises(ValueError, match="needs `customer` and `inactive_after_days`"):
        Retention.spec_model(name="r", kind="retention", dataset="d", activity="t")
    with pytest.raises(ValueError, match="`time` is not used"):
        Churn.spec_model(name="c", kind="churn", dataset="d", start="s", time="s")
    with pytest.raises(ValueError, match="give a `period`"):
        Churn.spec_model(name="c", kind="churn", dataset="d", start="s")
    # A period needs no `time`: the calendar comes from the start and end dates.
    assert Churn.spec_model(name="c", kind="churn", dataset="d", start="s", period="month")


# --- property: SQL equals a plain count -----------------------------------------------


def windows(grain: str, stamps: Sequence[datetime]) -> list[tuple[date | None, datetime, datetime]]:
    first, last = min(stamps), max(stamps)
    out: list[tuple[date | None, datetime, datetime]] = []
    p = period_floor(grain, first.date())
    while p <= last.date():
        nxt = next_period(grain, p)
        out.append(
            (
                p,
                datetime.combine(p, datetime.min.time()),
                datetime.combine(nxt, datetime.min.time()),
            )
        )
        p = nxt
    out.append((None, out[0][1], out[-1][2]))
    return out


def window_counts(
    spells: Sequence[tuple[datetime, datetime | None, str]],
    ws: datetime,
    we: datetime,
    plan: str | None,
) -> dict[str, int]:
    rows = [(s, e) for s, e, p in spells if plan is None or p == plan]
    inside = lambda t: t is not None and ws <= t < we  # noqa: E731
    return {
        "at_start": sum(s < ws and (e is None or e >= ws) for s, e in rows),
        "lost": sum(s < ws and inside(e) for s, e in rows),
        "new": sum(inside(s) for s, _ in rows),
        "new_lost": sum(inside(s) and inside(e) for s, e in rows),
        "at_end": sum(s < we and (e is None or e >= we) for s, e in rows),
    }


def expected_values(
    spells: Sequence[tuple[datetime, datetime | None, str]],
    stamps: Sequence[datetime],
    plans: set[str],
    grain: str,
) -> dict[tuple[Any, tuple[Any, ...]], dict[str, int]]:
    out: dict[tuple[Any, tuple[Any, ...]], dict[str, int]] = {}
    for period, ws, we in windows(grain, stamps):
        if period is None:
            continue
        for plan in [None, *sorted(plans)]:
            key = (period, (("plan", plan),) if plan else ())
            out[key] = window_counts(spells, ws, we, plan)
    # All periods: the periods' counts summed (customer-periods), never a mean of rates.
    for plan in [None, *sorted(plans)]:
        sl = (("plan", plan),) if plan else ()
        periods = [c for (p, s_), c in out.items() if s_ == sl and p is not None]
        out[(None, sl)] = {k: sum(c[k] for c in periods) for k in periods[0]}
    return out


def counts_of(v: MetricValue, names: dict[str, int]) -> dict[str, int]:
    # A window (× slice) no customer overlaps is completed by the engine with empty
    # counts: none of anything.
    return {c: v.counts.get(c) or 0 for c in names}


def midnight(d: date) -> datetime:
    return datetime.combine(d, datetime.min.time())


customer_rows = st.lists(
    st.tuples(
        st.one_of(st.none(), st.integers(0, 120)),  # joined: day offset, or missing
        st.one_of(st.none(), st.integers(-10, 90)),  # left: days after joining, or still here
        st.sampled_from(["basic", "pro"]),
    ),
    min_size=1,
    max_size=40,
)


@PROPERTY
@given(rows=customer_rows, grain=st.sampled_from(["month", "week"]))
def test_customer_counts_match_a_plain_count(rows: list[Any], grain: str) -> None:
    base = date(2025, 1, 1)
    data = []
    for joined, after, plan in rows:
        j = base + timedelta(days=joined) if joined is not None else None
        left = j + timedelta(days=after) if j is not None and after is not None else None
        data.append((f"c{len(data)}", j, left, plan))
    stamps = [midnight(d) for r in data for d in (r[1], r[2]) if d is not None]
    con = table(CUSTOMER_COLUMNS, data)
    result = run(
        con, Retention(), CUSTOMER_TYPES, start="joined", end="left", period=grain, by=["plan"]
    )
    if not stamps:
        assert result.values == []
        return
    usable = [
        (midnight(j), midnight(left) if left else None, plan)
        for _, j, left, plan in data
        if j is not None and (left is None or left >= j)
    ]
    # Every slice of the data has a value in every window, also one whose customers all
    # lack a start date (n = 0), as a backlog slice never open gets its zeros.
    plans = {r[3] for r in data}
    expected = expected_values(usable, stamps, plans, grain)
    got = {k: counts_of(v, expected[k]) for k, v in by_key(result.values).items()}
    assert got == expected
    for key, v in by_key(result.values).items():
        c = expected[key]
        assert c["at_end"] == c["at_start"] - c["lost"] + c["new"] - c["new_lost"]
        if c["at_start"]:
            assert v.value == pytest.approx(100 * (c["at_end"] - c["new"]) / c["at_start"])
        else:
            assert v.value is None and v.n == 0


EVENT_COLUMNS = {"cid": "VARCHAR", "at": "TIMESTAMP", "plan": "VARCHAR"}
EVENT_TYPES = {"cid": "string", "at": "datetime", "plan": "string"}


def spells_from_events(
    events: Sequence[tuple[str | None, datetime | None, str]], window: timedelta
) -> list[tuple[datetime, datetime | None, str]]:
    usable = [(c, t, p) for c, t, p in events if c is not None and t is not None]
    if not usable:
        return []
    data_end = max(t for _, t, _ in usable)
    out = []
    for cust in sorted({c for c, _, _ in usable}):
        mine = sorted((t, p) for c, t, p in usable if c == cust)
        run_start, run_plan, last = mine[0][0], mine[0][1], mine[0][0]
        for t, p in mine[1:]:
            if t - last > window:
                out.append(
                    (run_start, last + window if last + window <= data_end else None, run_plan)
                )
                run_start, run_plan = t, p
            last = t
        out.append((run_start, last + window if last + window <= data_end else None, run_plan))
    return out


event_rows = st.lists(
    st.tuples(
        st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d", "e"])),
        st.one_of(st.none(), st.integers(0, 150 * 24)),  # hours after 2025-01-01
    ),
    min_size=1,
    max_size=40,
    unique_by=lambda r: r,  # one event per customer and hour: ties would make slices arbitrary
)


@PROPERTY
@given(rows=event_rows, days=st.sampled_from([7, 30, 45.5]))
def test_activity_events_with_an_inactivity_window_match_a_plain_count(
    rows: list[Any], days: float
) -> None:
    start = datetime(2025, 1, 1)
    plan_of = {"a": "basic", "b": "pro", "c": "basic", "d": "pro", "e": "basic"}
    events = [
        (c, start + timedelta(hours=h) if h is not None else None, plan_of.get(c or "", "basic"))
        for c, h in rows
    ]
    con = table(EVENT_COLUMNS, events)
    result = run(
        con, Churn(), EVENT_TYPES, activity="at", customer="cid", inactive_after_days=days,
        period="month", by=["plan"],
    )  # fmt: skip
    spells = spells_from_events(events, timedelta(days=days))
    bad = [i for i, (c, t, _) in enumerate(events) if c is None or t is None]
    # Each empty field is reported (a row missing both is reported twice, once per field).
    assert sorted({e.row for e in result.excluded}) == bad
    if not spells:
        assert result.values == []
        return
    stamps = [t for s, e, _ in spells for t in (s, e) if t is not None]
    expected = expected_values(spells, stamps, {p for _, _, p in spells}, "month")
    got = {k: counts_of(v, expected[k]) for k, v in by_key(result.values).items()}
    assert got == expected
    for key, v in by_key(result.values).items():
        c = expected[key]
        assert v.value == (
            pytest.approx(100 * c["lost"] / c["at_start"]) if c["at_start"] else None
        )


def test_activity_events_worked_example() -> None:
    t0 = datetime(2025, 1, 1)
    events = [
        ("a", t0, "x"), ("a", t0 + timedelta(days=20), "x"),  # one run: 20 days < 30
        ("a", t0 + timedelta(days=100), "x"),  # a gap of 80 days: lost on 21 Feb, back in April
        ("b", t0 + timedelta(days=3), "x"),  # lost on 3 February
        ("c", t0 + timedelta(days=40), "x"), ("c", t0 + timedelta(days=110), "x"),
    ]  # fmt: skip
    con = table(EVENT_COLUMNS, events)
    result = run(
        con,
        Churn(),
        EVENT_TYPES,
        activity="at",
        customer="cid",
        inactive_after_days=30,
        period="month",
    )
    v = by_key(result.values)
    feb, mar, apr = FEB, date(2025, 3, 1), date(2025, 4, 1)
    # February starts with a and b (c joined on 10 February): both are lost in February.
    assert (v[(feb, ())].counts["at_start"], v[(feb, ())].counts["lost"]) == (2, 2)
    assert v[(feb, ())].value == 100.0
    # c's 40-day run ends on 12 March; a returns on 11 April (new), and c on 21 April.
    assert (v[(mar, ())].counts["at_start"], v[(mar, ())].counts["lost"]) == (1, 1)
    assert v[(apr, ())].counts["new"] == 2
    assert v[(apr, ())].counts["at_end"] == 2  # both runs still open at the end of the data


# --- repeat purchase ------------------------------------------------------------------


def test_repeat_purchase_from_a_purchase_count_per_customer() -> None:
    con = table(
        {"cid": "VARCHAR", "joined": "DATE", "orders": "BIGINT", "plan": "VARCHAR"},
        [
            ("a", JAN, 0, "basic"), ("b", JAN, 1, "basic"), ("c", JAN, 2, "basic"),
            ("d", FEB, 5, "pro"), ("e", FEB, None, "pro"), ("f", FEB, -1, "pro"),
        ],
    )  # fmt: skip
    types = {"cid": "string", "joined": "date", "orders": "integer", "plan": "string"}
    result = run(con, RepeatPurchase(), types, orders="orders", period="month", time="joined")
    v = by_key(result.values)
    assert (v[(JAN, ())].value, v[(JAN, ())].n) == (50.0, 2)
    assert (v[(FEB, ())].value, v[(FEB, ())].n) == (100.0, 1)
    assert (v[(None, ())].value, v[(None, ())].n) == (pytest.approx(200 / 3), 3)
    assert v[(None, ())].counts["no_purchase"] == 1  # an empty count is unknown, not 0
    assert [(e.row, e.reason) for e in result.excluded] == [(5, "orders is negative")]
    low, high = proportion_confint(2, 3, alpha=0.05, method="wilson")
    assert (v[(None, ())].ci_low, v[(None, ())].ci_high) == (
        pytest.approx(100 * low),
        pytest.approx(100 * high),
    )


purchase_rows = st.lists(
    st.tuples(
        st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d", "e", "f"])),
        st.one_of(st.none(), st.integers(0, 120 * 24)),
    ),
    max_size=40,
    unique_by=lambda r: r,
)


@PROPERTY
@given(rows=purchase_rows, within=st.one_of(st.none(), st.sampled_from([10, 30])))
def test_repeat_purchase_from_events_matches_a_plain_count(
    rows: list[Any], within: int | None
) -> None:
    t0 = datetime(2025, 1, 1)
    channel_of = {"a": "web", "b": "app", "c": "web", "d": "app", "e": "web", "f": "shop"}
    events = [
        (c, t0 + timedelta(hours=h) if h is not None else None, channel_of.get(c or "", "web"))
        for c, h in rows
    ]
    con = table({"cid": "VARCHAR", "at": "TIMESTAMP", "ch": "VARCHAR"}, events)
    keys: dict[str, Any] = {"customer": "cid", "purchase": "at", "period": "month", "by": ["ch"]}
    if within is not None:
        keys["within_days"] = within
    result = run(con, RepeatPurchase(), {"cid": "string", "at": "datetime", "ch": "string"}, **keys)
    usable = [(c, t, ch) for c, t, ch in events if c is not None and t is not None]
    assert len({e.row for e in result.excluded}) == len(events) - len(usable)
    if not usable:
        assert all(v.n == 0 for v in result.values)
        return
    data_end = max(t for _, t, _ in usable)
    buyers = {}
    for cust in {c for c, _, _ in usable}:
        times = sorted(t for c, t, _ in usable if c == cust)
        judged = within is None or times[0] + timedelta(days=within) <= data_end
        again = len(times) > 1 and (within is None or times[1] <= times[0] + timedelta(days=within))
        buyers[cust] = (period_floor("month", times[0].date()), channel_of[cust], judged, again)
    for (period, sl), v in by_key(result.values).items():
        mine = [
            b for b in buyers.values()
            if (period is None or b[0] == period) and (not sl or b[1] == dict(sl)["ch"])
        ]  # fmt: skip
        n = sum(b[2] for b in mine)
        k = sum(b[2] and b[3] for b in mine)
        assert (v.n, v.counts.get("repeat", 0)) == (n, k)
        assert v.value == (pytest.approx(100 * k / n) if n else None)
    overall = by_key(result.values)[(None, ())]
    assert overall.n == sum(b[2] for b in buyers.values())


# --- validation -----------------------------------------------------------------------

CUSTOMERS_DATASET = """\
customers:
  source: csv
  path: customers.csv
  fields:
    customer_id: string
    signed_up_at: date
    churned_at: date
    plan: string
    orders: integer
"""


def test_validation_names_the_key_and_line_of_a_bad_field(
    make_project: Callable[..., Path],
) -> None:
    specs = {
        "retention.yaml": "name: retention\nkind: retention\ndataset: customers\n"
        "start: signup\nend: plan\nperiod: month\n",
        "repeat.yaml": "name: repeat\nkind: repeat_purchase\ndataset: customers\norders: order\n",
    }
    config = make_project(CUSTOMERS_DATASET, specs, {"customers.csv": "customer_id\n"})
    _, problems = validate_project(load_config(config))
    shown = [str(p).split("metric_specs/", 1)[-1] for p in problems]
    assert len(shown) == 3
    assert shown[0].startswith("repeat.yaml:4: orders: 'order' is not a field of dataset")
    assert "did you mean 'orders'" in shown[0]
    assert shown[1].startswith("retention.yaml:4: start: 'signup' is not a field of dataset")
    assert shown[2] == (
        "retention.yaml:5: end: field 'plan' is string, but this needs date or datetime"
    )


# --- the regression gate's test ---------------------------------------------------------


def test_churn_rise_is_tested_with_the_two_proportion_z_test() -> None:
    from statsmodels.stats.proportion import proportions_ztest

    spec = Churn.spec_model(name="c", kind="churn", dataset="d", start="s", period="month")
    before, now = {"at_start": 2000, "lost": 400}, {"at_start": 2000, "lost": 470}
    result = Churn().compare(spec, before, now, "larger")
    _, p = proportions_ztest([470, 400], [2000, 2000], alternative="larger")
    assert result is not None and result.p_value == pytest.approx(p)
    assert Churn().compare(spec, {"at_start": 0, "lost": 0}, now, "larger") is None


def test_retention_and_repeat_purchase_compare_their_own_shares() -> None:
    from statsmodels.stats.proportion import proportions_ztest

    spec = Retention.spec_model(name="r", kind="retention", dataset="d", start="s", period="month")
    before = {"at_start": 1000, "lost": 100, "new": 300, "new_lost": 0, "at_end": 1200}
    now = {"at_start": 1000, "lost": 150, "new": 300, "new_lost": 20, "at_end": 1130}
    result = Retention().compare(spec, before, now, "smaller")
    _, p = proportions_ztest([830, 900], [1000, 1000], alternative="smaller")  # E − N
    assert result is not None and result.p_value == pytest.approx(p)
    cohort = spec.model_copy(update={"method": "cohort"})
    _, p = proportions_ztest([850, 900], [1000, 1000], alternative="smaller")  # S − lost
    assert Retention().compare(cohort, before, now, "smaller").p_value == pytest.approx(p)  # type: ignore[union-attr]
    repeat = RepeatPurchase.spec_model(name="p", kind="repeat_purchase", dataset="d", orders="o")
    result = RepeatPurchase().compare(
        repeat, {"n": 500, "repeat": 300}, {"n": 500, "repeat": 250}, "smaller"
    )
    _, p = proportions_ztest([250, 300], [500, 500], alternative="smaller")
    assert result is not None and result.p_value == pytest.approx(p)


def test_all_periods_value_pools_the_periods_counts() -> None:
    # January: 1000 at the start, 100 lost; February: 900 + 300 new at the start, 60 lost.
    con = customers(
        (840, date(2024, 12, 1), None, "basic"),
        (100, date(2024, 12, 1), date(2025, 1, 20), "basic"),
        (60, date(2024, 12, 1), date(2025, 2, 10), "basic"),
        (300, date(2025, 1, 10), None, "pro"),
    )
    values = by_key(
        run(con, Churn(), CUSTOMER_TYPES, start="joined", end="left", period="month").values
    )
    jan, feb, every = values[(JAN, ())], values[(FEB, ())], values[(None, ())]
    assert (jan.value, feb.value) == (10.0, 5.0)
    # December has nobody at its start (S = 0): it adds nothing to the pooled counts.
    assert (every.counts["lost"], every.counts["at_start"]) == (160, 2200)
    assert every.value == pytest.approx(100 * 160 / 2200)  # not (10 + 5) / 2
    low, high = proportion_confint(160, 2200, alpha=0.05, method="wilson")
    assert (every.ci_low, every.ci_high) == (pytest.approx(100 * low), pytest.approx(100 * high))
    assert every.note == "pooled over 3 periods: the average rate per month"


# --- a whole project over purchase events ---------------------------------------------

ORDERS = """\
order_id,customer_id,ordered_at,channel
1,a,2025-01-02 10:00:00,web
2,a,2025-01-20 10:00:00,web
3,b,2025-01-05 10:00:00,app
4,,2025-01-06 10:00:00,app
5,c,2025-02-10 10:00:00,web
6,a,2025-04-01 10:00:00,web
7,c,,web
8,d,2025-04-02 10:00:00,app
"""
ORDERS_DATASET = """\
orders:
  source: csv
  path: orders.csv
  fields:
    order_id: string
    customer_id: string
    ordered_at: datetime
    channel: string
"""


def test_event_kinds_run_in_a_project_and_locate_their_rejects(
    make_project: Callable[..., Path],
) -> None:
    specs = {
        "active.yaml": """\
            name: active_churn
            kind: churn
            dataset: orders
            activity: ordered_at
            customer: customer_id
            inactive_after_days: 30
            period: month
            """,
        "repeat.yaml": """\
            name: repeat_buyers
            kind: repeat_purchase
            dataset: orders
            customer: customer_id
            purchase: ordered_at
            by: [channel]
            period: month
            """,
    }
    config = make_project(ORDERS_DATASET, specs, {"orders.csv": ORDERS})
    result = run_project(load_config(config))  # stored, as `cxengine run` does
    assert result.database is not None and result.database.is_file()
    assert sorted((r.metric, r.locator, r.reason) for r in result.rejects) == [
        ("active_churn", "orders.csv:5", "customer_id is empty"),
        ("active_churn", "orders.csv:8", "ordered_at is empty"),
        ("repeat_buyers", "orders.csv:5", "customer_id is empty"),
        ("repeat_buyers", "orders.csv:8", "ordered_at is empty"),
    ]
    values = {(v.metric, v.period, v.slice_key): v for v in result.values}
    # February starts with a and b (both active within 30 days); both lapse in February.
    feb = values[("active_churn", FEB, "{}")]
    assert (feb.counts["at_start"], feb.counts["lost"], feb.value) == (2, 2, 100.0)
    # Buyers by month of their first purchase: a (twice more), b; c; d.
    assert values[("repeat_buyers", JAN, "{}")].value == 50.0
    assert values[("repeat_buyers", None, "{}")].n == 4
    assert values[("repeat_buyers", None, '{"channel": "web"}')].value == 50.0


def merged_spells(
    rows: Sequence[tuple[str | None, date | None, date | None, str]],
) -> list[tuple[datetime, datetime | None, str]]:
    """Merge each customer's overlapping or touching rows, as `customer:` asks."""
    usable = [r for r in rows if r[0] and r[1] and (r[2] is None or r[2] >= r[1])]
    out = []
    for cust in sorted({r[0] for r in usable}):
        mine = sorted(((r[1], r[2], r[3]) for r in usable if r[0] == cust), key=lambda r: r[0])
        start, end, plan = mine[0]
        for s, e, _ in mine[1:]:
            if end is None or s <= end:  # overlaps or touches: the same relationship
                end = None if end is None or e is None else max(end, e)
            else:
                out.append((midnight(start), midnight(end), plan))
                start, end = s, e
        out.append((midnight(start), midnight(end) if end else None, plan))
    return out


@PROPERTY
@given(
    rows=st.lists(
        st.tuples(
            st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d"])),
            st.integers(0, 120),
            st.one_of(st.none(), st.integers(-5, 60)),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_rows_of_one_customer_are_merged_when_ids_are_given(rows: list[Any]) -> None:
    base = date(2025, 1, 1)
    plan_of = {"a": "basic", "b": "pro", "c": "basic", "d": "pro"}
    data = []
    for cust, joined, after in rows:
        j = base + timedelta(days=joined)
        data.append((cust, j, j + timedelta(days=after) if after is not None else None,
                     plan_of.get(cust or "", "basic")))  # fmt: skip
    con = table(CUSTOMER_COLUMNS, data)
    result = run(
        con, Retention(), CUSTOMER_TYPES, start="joined", end="left", customer="cid",
        period="month", by=["plan"], method="cohort",
    )  # fmt: skip
    spells = merged_spells(data)
    if not spells:
        assert all(v.n == 0 for v in result.values)
        return
    stamps = [t for s, e, _ in spells for t in (s, e) if t is not None]
    expected = expected_values(spells, stamps, {p for _, _, p in spells}, "month")
    got = {k: counts_of(v, expected[k]) for k, v in by_key(result.values).items()}
    assert got == expected
