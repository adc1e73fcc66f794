"""Benchmark: the customer-base and index kinds against hand-written DuckDB queries.

For N example customers (default 200,000; `cxengine init`'s generator, sign-ups over
2023–2025) it times, in alternating rounds:

  a) `retention` per plan × month through the engine (each customer joined to the
     windows it overlaps, every slice completed to every period, the all-periods
     value pooled); reference: one query with the same range join;
  b) `repeat_purchase` from purchase events (one event per order of each customer)
     through the engine's `prepare` step; reference: a GROUP BY customer query;
  c) `weighted_index` over three random 1–10 answers per row (10 % skipped);
     reference: the same per-row index written by hand.

The engine's values are checked against the reference, then the medians are printed
with the ratio engine / reference.

    python bench/bench_customer_kinds.py
    python bench/bench_customer_kinds.py --customers 1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import duckdb

from cxengine.compute.engine import compute_spec
from cxengine.default_plugins.aggregations.repeat_purchase import RepeatPurchase
from cxengine.default_plugins.aggregations.retention import Retention
from cxengine.default_plugins.aggregations.weighted_index import WeightedIndex
from cxengine.scaffold.customers import iter_customers

RETENTION_REFERENCE = """
WITH w AS (
  SELECT CAST(m AS DATE) AS p, m AS ws, m + INTERVAL 1 MONTH AS we
  FROM generate_series(TIMESTAMP '2023-01-01', TIMESTAMP '2025-12-01', INTERVAL 1 MONTH) t(m)
), j AS (
  SELECT w.p, w.ws, w.we, c.plan, CAST(c.joined AS TIMESTAMP) AS s, CAST(c."left" AS TIMESTAMP) AS e
  FROM customers c JOIN w ON CAST(c.joined AS TIMESTAMP) < w.we
   AND (c."left" IS NULL OR CAST(c."left" AS TIMESTAMP) >= w.ws)
)
SELECT p, plan,
  count(*) FILTER (s < ws AND (e IS NULL OR e >= ws)) AS at_start,
  count(*) FILTER (s >= ws AND s < we) AS new,
  count(*) FILTER (s < we AND (e IS NULL OR e >= we)) AS at_end
FROM j GROUP BY GROUPING SETS ((p, plan), (p))
"""

REPEAT_REFERENCE = """
SELECT date_trunc('month', f) AS p, count(*) AS n, count(*) FILTER (k >= 2) AS repeat
FROM (SELECT cid, min(ordered_at) AS f, count(*) AS k FROM orders GROUP BY cid)
GROUP BY GROUPING SETS ((p), ())
"""

INDEX_REFERENCE = """
WITH r AS (
  SELECT (coalesce(0.4 * (a - 1) / 9 * 100, 0) + coalesce(0.2 * (b - 1) / 9 * 100, 0)
          + coalesce(0.4 * (c - 1) / 9 * 100, 0))
         / nullif(CASE WHEN a IS NULL THEN 0 ELSE 0.4 END + CASE WHEN b IS NULL THEN 0 ELSE 0.2 END
                  + CASE WHEN c IS NULL THEN 0 ELSE 0.4 END, 0) AS r
  FROM answers
)
SELECT count(r), avg(r), stddev_samp(r) FROM r
"""


def load(con: duckdb.DuckDBPyConnection, n: int, seed: int) -> None:
    """Create the customers, orders and answers tables (with _cx_row, as the loader does)."""
    import pyarrow as pa

    def create(name: str, columns: dict[str, list[Any]]) -> None:
        data = pa.table({"_cx_row": list(range(len(next(iter(columns.values()))))), **columns})
        con.register("_bench_arrow", data)
        con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _bench_arrow')
        con.unregister("_bench_arrow")

    customers = list(iter_customers(n, seed))
    create(
        "customers",
        {
            "cid": [c[0] for c in customers],
            "joined": [date.fromisoformat(c[1]) for c in customers],
            "left": [date.fromisoformat(c[2]) if c[2] else None for c in customers],
            "plan": [c[3] for c in customers],
        },
    )
    rng = random.Random(seed)
    cids, times = [], []
    for c in customers:
        start = datetime.fromisoformat(c[1])
        for _ in range(c[5]):
            cids.append(c[0])
            times.append(start + timedelta(days=rng.randrange(0, 700)))
    create("orders", {"cid": cids, "ordered_at": times})

    def answer() -> int | None:
        return None if rng.random() < 0.1 else rng.randint(1, 10)

    create("answers", {k: [answer() for _ in range(n)] for k in "abc"})


def engine_cases() -> dict[str, tuple[Any, Any, str, dict[str, str]]]:
    retention = Retention.spec_model(
        name="retention", kind="retention", dataset="c", start="joined", end="left",
        period="month", by=["plan"], method="cohort",
    )  # fmt: skip
    repeat = RepeatPurchase.spec_model(
        name="repeat", kind="repeat_purchase", dataset="o", customer="cid", purchase="ordered_at",
        period="month",
    )  # fmt: skip
    items = [
        {"field": "a", "scale": [1, 10], "weight": 0.4},
        {"field": "b", "scale": [1, 10], "weight": 0.2},
        {"field": "c", "scale": [1, 10], "weight": 0.4},
    ]
    index = WeightedIndex.spec_model(name="csi", kind="weighted_index", dataset="a", items=items)
    return {
        "retention": (
            retention, Retention(), "customers",
            {"cid": "string", "joined": "date", "left": "date", "plan": "string"},
        ),
        "repeat_purchase": (
            repeat, RepeatPurchase(), "orders", {"cid": "string", "ordered_at": "datetime"},
        ),
        "weighted_index": (index, WeightedIndex(), "answers", {k: "integer" for k in "abc"}),
    }  # fmt: skip


REFERENCES = {
    "retention": RETENTION_REFERENCE,
    "repeat_purchase": REPEAT_REFERENCE,
    "weighted_index": INDEX_REFERENCE,
}


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def check(name: str, values: list[Any], reference: list[tuple[Any, ...]]) -> None:
    """Compare the engine's overall numbers with the reference query's."""
    if name == "retention":
        ref = {(str(r[0])[:10], r[1]): r[2:] for r in reference}
        for v in values:
            if v.period is None:
                continue
            key = (v.period.isoformat(), v.slice.get("plan"))
            if key in ref:
                got = (v.counts["at_start"], v.counts["new"], v.counts["at_end"])
                assert got == tuple(ref[key]), (key, got, ref[key])
    elif name == "repeat_purchase":
        total = next(r for r in reference if r[0] is None)
        overall = next(v for v in values if v.period is None)
        assert (overall.n, overall.counts["repeat"]) == (total[1], total[2])
    else:
        n, mean, _ = reference[0]
        overall = next(v for v in values if v.period is None)
        assert overall.n == n and abs(overall.value - mean) < 1e-9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    con = duckdb.connect()
    t, _ = timed(lambda: load(con, args.customers, args.seed))
    orders = con.execute("SELECT count(*) FROM orders").fetchone()[0]  # type: ignore[index]
    print(f"loaded {args.customers:,} customers and {orders:,} orders in {t:.1f} s")
    tables = {"retention": "customers", "repeat_purchase": "orders", "weighted_index": "answers"}
    cases = engine_cases()
    print(f"{'kind':16} {'rows':>10} {'engine s':>9} {'reference s':>12} {'ratio':>6}")
    for name, (spec, agg, table, types) in cases.items():
        engine_t, reference_t = [], []
        for _ in range(args.repeat):  # alternate, so a busy neighbour hits both alike
            te, result = timed(lambda: compute_spec(con, spec, agg, table, types))  # noqa: B023
            tr, ref = timed(lambda: con.execute(REFERENCES[name]).fetchall())  # noqa: B023
            engine_t.append(te)
            reference_t.append(tr)
        check(name, result.values, ref)
        e, r = statistics.median(engine_t), statistics.median(reference_t)
        n = con.execute(f"SELECT count(*) FROM {tables[name]}").fetchone()[0]  # type: ignore[index]
        print(f"{name:16} {n:>10,} {e:>9.3f} {r:>12.3f} {e / r:>6.1f}")


if __name__ == "__main__":
    main()
