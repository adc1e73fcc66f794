"""Benchmark: the support kinds (duration, distribution, backlog) against plain DuckDB.

Generates N example tickets (default 1,000,000) into one DuckDB table, then times,
alternating REPEAT times, each cxengine spec (compiled query + estimates, channel ×
month with every roll-up) against the hand-written query a person would write for
the bare number without intervals. Ratios > 1 are the price of the interval, the
exclusions and the roll-ups:

- FRT mean (t-interval) vs `avg`;
- FRT p90 with its order-statistic interval vs `quantile_cont` alone;
- FRT in business hours vs FRT on the clock (the cost of the calendar arithmetic),
  and vs a hand-written business-hours query (a day table joined to both ends of
  each ticket; the values are checked equal first; target <= 2x);
- preferred channel (Wilson per channel) vs `count(*) GROUP BY channel`;
- backlog > 24 h per month vs a hand-written join of tickets with month ends.

    python bench/bench_support_kinds.py              # 1M tickets
    python bench/bench_support_kinds.py --rows 200000 --repeat 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from cxengine.compute.engine import compute_spec  # noqa: E402
from cxengine.default_plugins.aggregations.backlog import Backlog  # noqa: E402
from cxengine.default_plugins.aggregations.distribution import Distribution  # noqa: E402
from cxengine.default_plugins.aggregations.duration import Duration  # noqa: E402
from cxengine.scaffold.tickets import write_tickets_jsonl  # noqa: E402

FIELDS = {
    "created_at": "datetime",
    "first_response_at": "datetime",
    "resolved_at": "datetime",
    "channel": "string",
}
CALENDAR = {
    "timezone": "Europe/Moscow",
    "hours": {"mon-fri": "09:00-18:00", "sat": "10:00-16:00"},
    "holidays": ["2025-01-01", "2025-01-02", "2025-01-07", "2025-03-08", "2025-05-01"],
}

REF_MEAN = """
SELECT CAST(date_trunc('month', created_at) AS DATE) m, channel,
       avg(date_diff('microsecond', created_at, first_response_at) / 1e6)
FROM ds WHERE first_response_at >= created_at
GROUP BY GROUPING SETS ((m, channel), (m), (channel), ())
"""
REF_P90 = REF_MEAN.replace("avg(", "quantile_cont(").replace("/ 1e6)", "/ 1e6, 0.9)")
# Business-hours FRT as a person would write it for this calendar: a table of local
# days with each day's opening hours and the business seconds before it (a running
# sum), joined to both ends of each ticket by date; B(t) = seconds before t's day +
# open seconds of t's day up to t. Holidays close the whole day.
REF_BUSINESS_MEAN = """
WITH t AS (
  SELECT created_at, channel,
         timezone('Europe/Moscow', timezone('UTC', created_at)) AS ls,
         timezone('Europe/Moscow', timezone('UTC', first_response_at)) AS le
  FROM ds WHERE first_response_at >= created_at
),
days AS (
  SELECT CAST(unnest(generate_series(
           (SELECT min(CAST(ls AS DATE)) FROM t), (SELECT max(CAST(le AS DATE)) FROM t),
           INTERVAL 1 DAY)) AS DATE) AS day
),
hours AS (
  SELECT day,
    CASE WHEN day IN (DATE '2025-01-01', DATE '2025-01-02', DATE '2025-01-07',
                      DATE '2025-03-08', DATE '2025-05-01') THEN 0
         WHEN isodow(day) <= 5 THEN 9 * 3600 WHEN isodow(day) = 6 THEN 10 * 3600
         ELSE 0 END AS open_s,
    CASE WHEN day IN (DATE '2025-01-01', DATE '2025-01-02', DATE '2025-01-07',
                      DATE '2025-03-08', DATE '2025-05-01') THEN 0
         WHEN isodow(day) <= 5 THEN 18 * 3600 WHEN isodow(day) = 6 THEN 16 * 3600
         ELSE 0 END AS close_s
  FROM days
),
cal AS (
  SELECT day, open_s, close_s,
         coalesce(sum(close_s - open_s) OVER (ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING
                                              AND 1 PRECEDING), 0) AS before
  FROM hours
),
b AS (
  SELECT t.created_at, t.channel,
    (ce.before + least(greatest(date_diff('microsecond', CAST(ce.day AS TIMESTAMP), t.le) / 1e6
                                - ce.open_s, 0), ce.close_s - ce.open_s))
  - (cs.before + least(greatest(date_diff('microsecond', CAST(cs.day AS TIMESTAMP), t.ls) / 1e6
                                - cs.open_s, 0), cs.close_s - cs.open_s)) AS secs
  FROM t JOIN cal cs ON cs.day = CAST(t.ls AS DATE) JOIN cal ce ON ce.day = CAST(t.le AS DATE)
)
SELECT CAST(date_trunc('month', created_at) AS DATE) m, channel, avg(secs)
FROM b GROUP BY GROUPING SETS ((m, channel), (m), (channel), ())
"""
REF_SHARE = """
SELECT CAST(date_trunc('month', created_at) AS DATE) m, channel, count(*)
FROM ds GROUP BY GROUPING SETS ((m, channel), (channel))
"""
REF_BACKLOG = """
WITH ends AS (
  SELECT range AS t FROM range(TIMESTAMP '2025-02-01', TIMESTAMP '2026-02-01', INTERVAL 1 MONTH)
)
SELECT t, count(*) FILTER (WHERE created_at < t - INTERVAL 24 HOUR)
FROM ds JOIN ends ON created_at < t AND (resolved_at IS NULL OR resolved_at > t)
GROUP BY t
"""


def load(rows: int) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tickets.jsonl"
        started = time.perf_counter()
        write_tickets_jsonl(path, rows)
        print(
            f"generated {rows:,} tickets in {time.perf_counter() - started:.1f} s", file=sys.stderr
        )
        con.execute(
            """
            CREATE TABLE ds AS SELECT row_number() OVER () - 1 AS _cx_row,
              CAST(created_at AS TIMESTAMP) created_at,
              CAST(first_response_at AS TIMESTAMP) first_response_at,
              CAST(resolved_at AS TIMESTAMP) resolved_at, channel
            FROM read_json(?, format = 'newline_delimited')
            """,
            [str(path)],
        )
    return con


def spec_runner(con: duckdb.DuckDBPyConnection, agg: Any, **keys: Any) -> Callable[[], object]:
    spec = agg.spec_model(name="bench", dataset="tickets", **keys)
    return lambda: compute_spec(con, spec, agg, "ds", FIELDS)


def sql_runner(con: duckdb.DuckDBPyConnection, sql: str) -> Callable[[], object]:
    return lambda: con.execute(sql).fetchall()


def check_business_hours(con: duckdb.DuckDBPyConnection, frt: dict[str, Any]) -> None:
    """Print whether cxengine's business-hours FRT equals the hand-written query's."""
    spec = Duration().spec_model(name="bench", dataset="tickets", **frt, calendar=CALENDAR)
    ours = compute_spec(con, spec, Duration(), "ds", FIELDS)
    mine = {
        (v.period, v.slice.get("channel")): v.value
        for v in ours.values
        if set(v.slice) <= {"channel"}
    }
    ref = {(m, ch): val for m, ch, val in con.execute(REF_BUSINESS_MEAN).fetchall()}
    differ = [k for k, v in ref.items() if abs((mine.get(k) or 0.0) - v) > 1e-6 * max(1, abs(v))]
    print(
        f"business-hours FRT: {len(ref)} values compared with the hand-written SQL, "
        f"{'identical' if not differ else f'{len(differ)} DIFFER, e.g. {differ[:3]}'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    con = load(args.rows)
    frt = {
        "kind": "duration", "from_field": "created_at", "to_field": "first_response_at",
        "by": ["channel"], "period": "month", "time": "created_at",
    }  # fmt: skip
    cases: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
        (
            "FRT mean + t interval vs avg",
            spec_runner(con, Duration(), **frt),
            sql_runner(con, REF_MEAN),
        ),
        (
            "FRT p90 + order-statistic CI vs quantile_cont",
            spec_runner(con, Duration(), **frt, statistic="p90"),
            sql_runner(con, REF_P90),
        ),
        (
            "FRT mean, business hours vs clock",
            spec_runner(con, Duration(), **frt, calendar=CALENDAR),
            spec_runner(con, Duration(), **frt),
        ),
        (
            "FRT mean, business hours vs hand-written SQL",
            spec_runner(con, Duration(), **frt, calendar=CALENDAR),
            sql_runner(con, REF_BUSINESS_MEAN),
        ),
        (
            "preferred channel + Wilson vs count",
            spec_runner(
                con,
                Distribution(),
                kind="distribution",
                field="channel",
                period="month",
                time="created_at",
            ),
            sql_runner(con, REF_SHARE),
        ),
        (
            "backlog > 24 h per month vs hand-written join",
            spec_runner(
                con,
                Backlog(),
                kind="backlog",
                opened="created_at",
                closed="resolved_at",
                older_than="24h",
                period="month",
            ),
            sql_runner(con, REF_BACKLOG),
        ),
    ]
    check_business_hours(con, frt)
    print(f"{'case':<48} {'cxengine':>10} {'reference':>10} {'ratio':>7}")
    for name, ours, ref in cases:
        ours(), ref()  # warm up
        t_ours, t_ref = [], []
        for _ in range(args.repeat):  # alternate: the machine is shared
            t0 = time.perf_counter()
            ours()
            t1 = time.perf_counter()
            ref()
            t2 = time.perf_counter()
            t_ours.append(t1 - t0)
            t_ref.append(t2 - t1)
        a, b = statistics.median(t_ours), statistics.median(t_ref)
        print(f"{name:<48} {a:>9.3f}s {b:>9.3f}s {a / b:>6.2f}x")


if __name__ == "__main__":
    main()
