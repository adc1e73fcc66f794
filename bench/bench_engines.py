"""Benchmark: specs pushed down to PostgreSQL and Spark vs hand-written queries there.

Generates N survey responses (default 5,000,000) with typed columns, loads them into
PostgreSQL (a table) and into Parquet (read by Spark, local mode), then for each engine
alternates, REPEAT times each, in this process:

  a) cxengine: `run_project` with the five standard survey specs (CSAT, CSAT mean, NPS,
     CES, CES mean per touchpoint × month with every roll-up) on the engine: opening
     the dataset (typing, reject counts per field) plus the specs' shared grouped
     query and their excluded examples;
  b) the reference: ONE hand-written grouped query in the same engine computing every
     count the five specs need (each spec's scale exclusion, GROUPING SETS), nothing
     else, as an analyst would write it (and as bench_run.py's DuckDB reference is);
  c) the earlier reference, shown beside it: one hand-written query per spec.

Each side runs once untimed first (`--warmup`: Spark compiles the code of its first
queries, 40+ s for cxengine's wide grouped query at 1M rows). It prints the medians
side by side with the ratios (the target is against b), the
rows and bytes (values as text) fetched back, the size of the data that stayed in
the engine, and where cxengine's time went in its last run (each query's wall time
and the rest, in Python). Values are compared with the embedded DuckDB's on the
same data.

    python bench/bench_engines.py                      # 5M rows, both engines
    python bench/bench_engines.py --rows 500000 --engine postgres
    CX_BENCH_PG_DSN=postgresql://… python bench/bench_engines.py   # an existing server

Without CX_BENCH_PG_DSN a throwaway server is started (Debian `postgresql` package).
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SPECS = ("csat", "csat_mean", "nps", "ces", "ces_mean")
FIELDS = {
    "response_id": "string",
    "submitted_at": "datetime",
    "touchpoint": "string",
    "channel": "string",
    "recommend": "integer",
    "satisfaction": "integer",
    "effort": "integer",
}

# What each spec counts, as an analyst would write it: (field, scale, positive range).
REFERENCE_SPECS = {
    "csat": ("satisfaction", (1, 5), (4, 5)),
    "csat_mean": ("satisfaction", (1, 5), None),
    "nps": ("recommend", (0, 10), None),
    "ces": ("effort", (1, 7), (5, 7)),
    "ces_mean": ("effort", (1, 7), None),
}


def reference_sql(spec: str, relation: str, dialect: str) -> str:
    """One hand-written grouped query computing a spec's counts, in the engine's SQL."""
    field, (lo, hi), positive = REFERENCE_SPECS[spec]
    ok = f"{field} BETWEEN {lo} AND {hi}"
    month = (
        "CAST(date_trunc('month', submitted_at) AS DATE)"
        if dialect == "postgres"
        else "CAST(date_trunc('MONTH', submitted_at) AS DATE)"
    )
    grouping = "GROUPING(m, touchpoint)" if dialect == "postgres" else "grouping_id(m, touchpoint)"
    if spec == "nps":
        counts = (
            f"count({field}) FILTER (WHERE {ok}) AS n, "
            f"count(*) FILTER (WHERE {field} BETWEEN 9 AND 10) AS p, "
            f"count(*) FILTER (WHERE {field} BETWEEN 0 AND 6) AS d"
        )
    elif positive is None:
        x = (
            f"CAST({field} AS DOUBLE PRECISION)"
            if dialect == "postgres"
            else f"CAST({field} AS DOUBLE)"
        )
        counts = (
            f"count({field}) FILTER (WHERE {ok}) AS n, sum({x}) FILTER (WHERE {ok}) AS s, "
            f"sum({x} * {x}) FILTER (WHERE {ok}) AS s2"
        )
    else:
        counts = (
            f"count({field}) FILTER (WHERE {ok}) AS n, "
            f"count(*) FILTER (WHERE {field} BETWEEN {positive[0]} AND {positive[1]}) AS k"
        )
    return (
        f"SELECT m, touchpoint, {grouping} AS g, count(*) AS rows_, "
        f"count(*) FILTER (WHERE NOT ({ok})) AS excluded, {counts} "
        f"FROM (SELECT {month} AS m, touchpoint, {field} FROM {relation} "
        f"WHERE submitted_at IS NOT NULL) AS r "
        "GROUP BY GROUPING SETS ((m, touchpoint), (m), (touchpoint), ())"
    )


def combined_sql(relation: str, dialect: str) -> str:
    """One hand-written grouped query with every spec's counts (the b) reference)."""
    month = (
        "CAST(date_trunc('month', submitted_at) AS DATE)"
        if dialect == "postgres"
        else "CAST(date_trunc('MONTH', submitted_at) AS DATE)"
    )
    double = "DOUBLE PRECISION" if dialect == "postgres" else "DOUBLE"
    grouping = "GROUPING(m, touchpoint)" if dialect == "postgres" else "grouping_id(m, touchpoint)"
    counts: list[str] = []
    for field, (lo, hi) in {"satisfaction": (1, 5), "recommend": (0, 10), "effort": (1, 7)}.items():
        ok = f"{field} BETWEEN {lo} AND {hi}"
        x = f"CAST({field} AS {double})"
        counts += [
            f"count(*) FILTER (WHERE NOT ({ok})) AS {field}_excluded",
            f"count({field}) FILTER (WHERE {ok}) AS {field}_n",
        ]
        if field == "recommend":
            counts += [f"count(*) FILTER (WHERE {field} BETWEEN 9 AND 10) AS {field}_p",
                       f"count(*) FILTER (WHERE {field} BETWEEN 0 AND 6) AS {field}_d"]  # fmt: skip
        else:
            top = {"satisfaction": (4, 5), "effort": (5, 7)}[field]
            counts += [
                f"count(*) FILTER (WHERE {field} BETWEEN {top[0]} AND {top[1]}) AS {field}_k",
                f"sum({x}) FILTER (WHERE {ok}) AS {field}_s",
                f"sum({x} * {x}) FILTER (WHERE {ok}) AS {field}_s2",
            ]
    return (
        f"SELECT m, touchpoint, {grouping} AS g, count(*) AS rows_, {', '.join(counts)} "
        f"FROM (SELECT {month} AS m, touchpoint, satisfaction, recommend, effort "
        f"FROM {relation} WHERE submitted_at IS NOT NULL) AS r "
        "GROUP BY GROUPING SETS ((m, touchpoint), (m), (touchpoint), ())"
    )


def generate(rows: int, folder: Path) -> tuple[Path, Path]:
    """Write the responses as CSV (for PostgreSQL's COPY) and Parquet (for Spark)."""
    import duckdb

    con = duckdb.connect()
    con.execute(
        f"""
        CREATE TABLE r AS
        SELECT 'R' || lpad(CAST(i AS VARCHAR), 8, '0') AS response_id,
               TIMESTAMP '2025-01-01' + to_seconds(CAST(hash(i) % 31536000 AS BIGINT))
                 AS submitted_at,
               ['website', 'checkout', 'onboarding', 'support', 'delivery', 'renewal']
                 [CAST(1 + hash(i, 1) % 6 AS BIGINT)] AS touchpoint,
               ['web','email','phone','chat'][CAST(1 + hash(i, 2) % 4 AS BIGINT)] AS channel,
               CAST(hash(i, 3) % 12 AS BIGINT) - 0 AS recommend,
               CAST(hash(i, 4) % 6 AS BIGINT) + 1 AS satisfaction,
               CAST(hash(i, 5) % 8 AS BIGINT) AS effort
        FROM range({rows}) AS t(i)
        """
    )
    csv, parquet = folder / "responses.csv", folder / "responses.parquet"
    con.execute(f"COPY r TO '{csv}' (HEADER, DELIMITER ',')")
    con.execute(f"COPY r TO '{parquet}' (FORMAT PARQUET)")
    con.close()
    return csv, parquet


@contextmanager
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL server (or $CX_BENCH_PG_DSN); yields its DSN."""
    if os.environ.get("CX_BENCH_PG_DSN"):
        yield os.environ["CX_BENCH_PG_DSN"]
        return
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise SystemExit("PostgreSQL is not installed (apt-get install -y postgresql)")
    bindir = Path(found[-1]).parent
    root = Path(tempfile.mkdtemp(prefix="cx-bench-pg-"))
    prefix = []
    if os.geteuid() == 0:
        shutil.chown(root, user="postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = root / "data"
    subprocess.run([*prefix, str(bindir / "initdb"), "-D", str(data), "-A", "trust",
                    "-U", "postgres", "--no-sync"], check=True, capture_output=True)  # fmt: skip
    opts = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    opts += " -c shared_buffers=512MB"
    log = str(root / "log")
    start = [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", log, "-w", "start"]
    subprocess.run(start, check=True, capture_output=True)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
                       capture_output=True)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


def load_postgres(dsn: str, csv: Path) -> str:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute("DROP TABLE IF EXISTS bench_responses")
        con.execute(
            "CREATE TABLE bench_responses (response_id text, submitted_at timestamp, "
            "touchpoint text, channel text, recommend bigint, satisfaction bigint, effort bigint)"
        )
        with con.cursor().copy("COPY bench_responses FROM STDIN (FORMAT csv, HEADER)") as copy, \
                csv.open("rb") as f:  # fmt: skip
            while chunk := f.read(1 << 20):
                copy.write(chunk)
        con.execute("VACUUM ANALYZE bench_responses")
        size = con.execute("SELECT pg_total_relation_size('bench_responses')").fetchone()
    return f"{(size[0] if size else 0) / 1e6:.0f} MB in the table"


def write_project(folder: Path, engine: str, relation: dict[str, str], env: str) -> Path:
    import yaml

    doc = {
        "database": str(folder / "cx.db"),
        "metrics": [str(REPO / "metric_specs" / f"{s}.yaml") for s in SPECS],
        "datasets": {
            "responses": {
                "engine": engine,
                "dsn_env": env,
                **relation,
                "key": "response_id",
                "fields": FIELDS,
            },
        },
    }
    config = folder / f"{engine}.yaml"
    config.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return config


def embedded_values(csv: Path, folder: Path) -> list[dict[str, Any]]:
    import yaml

    from cxengine.config import load_config
    from cxengine.runner import run_project

    doc = {
        "database": str(folder / "cx.db"),
        "metrics": [str(REPO / "metric_specs" / f"{s}.yaml") for s in SPECS],
        "datasets": {
            "responses": {"source": "csv", "path": str(csv), "key": "response_id", "fields": FIELDS}
        },
    }
    config = folder / "embedded.yaml"
    config.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return list(run_project(load_config(config), store=False).to_json()["values"])


class QueryClock:
    """Times every query an engine session sends (the profile of cxengine's run)."""

    def __init__(self) -> None:
        self.log: list[tuple[str, float]] = []

    @contextmanager
    def watching(self, session_class: Any) -> Iterator[None]:
        original = session_class.fetch

        def timed(session: Any, sql: str) -> Any:
            t0 = time.perf_counter()
            try:
                return original(session, sql)
            finally:
                self.log.append((_what(sql), time.perf_counter() - t0))

        session_class.fetch = timed
        try:
            yield
        finally:
            session_class.fetch = original


def _what(sql: str) -> str:
    """Name a query cxengine sent by what it does."""
    if "_cx_m0_" in sql:
        return "shared grouped query"
    if "_cx_reason" in sql or "_cx_top" in sql:
        return "excluded examples"
    if "GROUPING SETS" in sql.upper():
        return "grouped query of one spec"
    if "_cx_bad_values" in sql:
        return "typing reject examples"
    if "_cx_typed" in sql:
        return "opening counts (rows, empties, rejects per field)"
    return "other (format detection, schema)"


def bench_engine(
    name: str, config: Path, run_reference: Callable[[str], list[tuple[Any, ...]]],
    relation: str, dialect: str, repeat: int, expected: list[dict[str, Any]], stored: str,
    session_class: Any, warmup: int = 1,
) -> float:  # fmt: skip
    from cxengine.config import load_config
    from cxengine.runner import run_project

    combined = combined_sql(relation, dialect)
    per_spec = {spec: reference_sql(spec, relation, dialect) for spec in SPECS}
    ours_t: list[float] = []
    ref_t: list[float] = []
    spec_t: dict[str, list[float]] = {spec: [] for spec in SPECS}
    result: Any = None
    clock = QueryClock()
    ref_rows: list[tuple[Any, ...]] = []
    spec_rows = spec_bytes = 0
    for _ in range(warmup):  # untimed: Spark compiles its first queries, caches fill
        run_project(load_config(config), store=False)
        run_reference(combined)
    for i in range(repeat):  # interleaved: load that comes and goes hits every side
        clock.log.clear()
        t0 = time.perf_counter()
        with clock.watching(session_class):
            result = run_project(load_config(config), store=False)
        ours_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ref_rows = run_reference(combined)
        ref_t.append(time.perf_counter() - t0)
        for spec, sql in per_spec.items():
            t0 = time.perf_counter()
            rows = run_reference(sql)
            spec_t[spec].append(time.perf_counter() - t0)
            if i == 0:
                spec_rows += len(rows)
                spec_bytes += sum(len(str(v)) for row in rows for v in row)
        each = sum(t[-1] for t in spec_t.values())
        print(f"  run {i + 1}: cxengine {ours_t[-1]:.2f} s, one query by hand {ref_t[-1]:.2f} s, "
              f"one per spec {each:.2f} s", file=sys.stderr)  # fmt: skip
    ours, ref = statistics.median(ours_t), statistics.median(ref_t)
    per_spec_total = sum(statistics.median(t) for t in spec_t.values())
    ref_bytes = sum(len(str(v)) for row in ref_rows for v in row)
    # What came back from the engine in the last run (`run --json`: datasets.*.engine).
    traffic = result.datasets["responses"].engine
    got = {(v["metric"], v["period"], str(v["slice"])): v for v in result.to_json()["values"]}
    worst = 0.0
    for v in expected:
        g = got[(v["metric"], v["period"], str(v["slice"]))]
        for f in ("value", "ci_low", "ci_high"):
            if v[f] is not None:
                worst = max(worst, abs(v[f] - g[f]))
        assert v["n"] == g["n"] and v["excluded"] == g["excluded"], (v, g)
    print(f"\n{name}: {len(expected)} values, largest difference from the embedded run {worst:.1e}")
    print(f"  data left in the engine: {stored}")
    print(f"  {'':34}{'cxengine':>10}{'one query':>11}{'ratio':>7}{'per spec':>10}{'ratio':>7}")
    print(f"  {'five specs, end to end (s)':34}{ours:10.2f}{ref:11.2f}{ours / ref:7.2f}"
          f"{per_spec_total:10.2f}{ours / per_spec_total:7.2f}")  # fmt: skip
    print(f"  {'queries per run':34}{traffic['queries']:10d}{1:11d}{'':7}{len(SPECS):10d}")
    print(f"  {'rows fetched per run':34}{traffic['rows_fetched']:10d}{len(ref_rows):11d}{'':7}"
          f"{spec_rows:10d}")  # fmt: skip
    print(f"  {'bytes fetched per run':34}{traffic['bytes_fetched']:10d}{ref_bytes:11d}{'':7}"
          f"{spec_bytes:10d}")  # fmt: skip
    print(f"  where cxengine's last run went ({ours_t[-1]:.2f} s):")
    spent: dict[str, list[float]] = {}
    for what, t in clock.log:
        spent.setdefault(what, []).append(t)
    for what, ts in spent.items():
        print(f"    {what:52}{len(ts):3d} × {sum(ts):7.2f} s")
    rest = ours_t[-1] - sum(t for _, t in clock.log)
    print(f"    {'the rest (config, specs, planning, values, schema)':52}      {rest:7.2f} s")
    SUMMARY.append(
        (name, ours, ref, per_spec_total, traffic["rows_fetched"], len(ref_rows),
         traffic["bytes_fetched"], ref_bytes)
    )  # fmt: skip
    return ours / ref


#: (engine, cxengine s, one-query reference s, per-spec reference s, rows, reference
#: rows, bytes, reference bytes)
SUMMARY: list[tuple[str, float, float, float, int, int, int, int]] = []


def print_summary(rows: int) -> None:
    """Every engine's figures side by side, with the issue's targets."""
    targets = {"PostgreSQL": 1.2, "Spark local[2]": 1.3}
    print(f"\n{rows:,} responses, five specs; median seconds, cxengine vs hand-written")
    print(f"  {'engine':16}{'cxengine':>10}{'one query':>11}{'ratio':>7}{'target':>8}"
          f"{'per spec':>10}{'ratio':>7}{'rows back':>14}{'bytes back':>20}")  # fmt: skip
    for name, ours, ref, per, r, rr, b, rb in SUMMARY:
        back = f"{b:,} vs {rb:,}"
        print(f"  {name:16}{ours:10.2f}{ref:11.2f}{ours / ref:7.2f}{targets.get(name, 0):8.1f}"
              f"{per:10.2f}{ours / per:7.2f}{f'{r} vs {rr}':>14}{back:>20}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1,
                        help="untimed runs of each side first (Spark compiles code)")  # fmt: skip
    parser.add_argument("--engine", choices=["postgres", "spark", "both"], default="both")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="cx-bench-engines-"))
    try:
        t0 = time.perf_counter()
        csv, parquet = generate(args.rows, folder)
        print(f"{args.rows:,} responses generated in {time.perf_counter() - t0:.1f} s",
              file=sys.stderr)  # fmt: skip
        expected = embedded_values(csv, folder)
        if args.engine in ("postgres", "both"):
            with postgres_server() as dsn:
                stored = load_postgres(dsn, csv)
                os.environ["CX_BENCH_PG_DSN_RUN"] = dsn
                config = write_project(folder, "postgres", {"table": "bench_responses"},
                                       "CX_BENCH_PG_DSN_RUN")  # fmt: skip
                import psycopg

                with psycopg.connect(dsn, autocommit=True) as con:

                    def ref_pg(sql: str) -> list[tuple[Any, ...]]:
                        return con.execute(sql).fetchall()  # type: ignore[arg-type,unused-ignore]

                    from cxengine.engines.postgres import PostgresSession

                    bench_engine("PostgreSQL", config, ref_pg, "bench_responses", "postgres",
                                 args.repeat, expected, stored, PostgresSession,
                                 args.warmup)  # fmt: skip
        if args.engine in ("spark", "both"):
            from pyspark.sql import SparkSession

            spark = (
                SparkSession.builder.master("local[2]").appName("cxengine-bench")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4")
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.driver.memory", "2g")
                .config("spark.sql.session.timeZone", "UTC").getOrCreate()
            )  # fmt: skip
            spark.sparkContext.setLogLevel("ERROR")
            os.environ["CX_BENCH_SPARK"] = "local[2]"
            relation = f"parquet.`{parquet}`"
            config = write_project(folder, "spark", {"query": f"SELECT * FROM {relation}"},
                                   "CX_BENCH_SPARK")  # fmt: skip

            def ref_spark(sql: str) -> list[tuple[Any, ...]]:
                return [tuple(r) for r in spark.sql(sql).collect()]

            stored = f"{parquet.stat().st_size / 1e6:.0f} MB of Parquet"
            from cxengine.engines.spark import SparkSessionHandle

            bench_engine("Spark local[2]", config, ref_spark, relation, "spark", args.repeat,
                         expected, stored, SparkSessionHandle, args.warmup)  # fmt: skip
            spark.stop()
        print_summary(args.rows)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
