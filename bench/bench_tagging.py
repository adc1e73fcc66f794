"""Benchmark: what comment tagging adds to `cxengine run`, in memory and time.

Builds the bench_run.py project (N generated survey responses, the five survey specs)
twice: with the example config's comment tagging, and without it (the reference).
Then alternates, REPEAT times each, as fresh processes:
  a) `cxengine run --json --force` without tagging (the reference run);
  b) `cxengine run --json --force` with tagging, on an empty results database each
     time (a first run: every distinct text is analysed, every comment's tags written);
  c) the analysis itself: the NLP plugin's `analyze` over the distinct comment texts,
     pipeline building included, timed inside its own process.
and prints peak memory (of the whole process) and wall/CPU time side by side, with
the ratio of b to a + c. Targets of issue 12: peak <= 800 MiB at 1M responses
(643,193 comments, 818 distinct texts), time <= 1.3x (a + c).

    python bench/bench_tagging.py                       # 1M responses, repeat 2
    python bench/bench_tagging.py --distinct --rows 940000 --repeat 1

`--distinct` replaces every comment by a generated, realistic one (the NLP plugin's
bench/comments.py: dictionary words, handles, URLs, numbers, half English, half
Russian), so nearly all comments are distinct texts: the target there is a peak
<= 1 GiB (940,000 responses carry ~604,000 comments).

Children run with a bytecode cache of their own (PYTHONDONTWRITEBYTECODE unset,
PYTHONPYCACHEPREFIX in the work folder), warmed by one untimed run of each.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
SURVEY_SPECS = {"csat", "csat_mean", "nps", "ces", "ces_mean"}
MEMORY_TARGET_MIB = {False: 800, True: 1024}
TIME_TARGET = 1.3

# Python code run as the child that times the analysis alone.
ANALYSIS = r"""
import sys, time, duckdb
# No progress bar: on a loaded machine the read takes over 2 s and DuckDB draws one
# on stdout, where this child's one line of figures is read.
duckdb.sql("SET enable_progress_bar = false")
texts = [r[0] for r in duckdb.sql(
    "SELECT DISTINCT comment FROM read_csv(?, all_varchar = true) "
    "WHERE comment IS NOT NULL AND trim(comment) <> '' ORDER BY 1", params=[sys.argv[1]]
).fetchall()]
start = time.perf_counter()
cpu = time.process_time()
from cxengine_nlp import analyze
from cxengine_nlp.taxonomy import default_taxonomy
analyze(texts, language="auto", taxonomy=default_taxonomy())
print(len(texts), time.perf_counter() - start, time.process_time() - cpu)
"""


def child_env(pycache: Path) -> dict[str, str]:
    """This checkout and its plugins first; a bytecode cache of our own."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    paths = [REPO, REPO / "plugins" / "cxengine-nlp", REPO / "plugins" / "cxengine-exports"]
    env["PYTHONPATH"] = os.pathsep.join([*map(str, paths), env.get("PYTHONPATH", "")])
    return env


def measured(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, float, str]:
    """Run a command; return wall s, CPU s, peak RSS (MiB) of that child, and stdout."""
    wrapper = [
        sys.executable,
        "-c",
        "import resource, subprocess, sys;"
        "p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE);"
        "sys.stdout.buffer.write(p.stdout);"
        "u = resource.getrusage(resource.RUSAGE_CHILDREN);"
        "sys.stderr.write('\\nMAXRSS %d CPU %.3f\\n' % (u.ru_maxrss, u.ru_utime + u.ru_stime));"
        "sys.exit(p.returncode)",
        *cmd,
    ]
    start = time.perf_counter()
    proc = subprocess.run(wrapper, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    tail = proc.stderr.rsplit("MAXRSS", 1)[1].split()
    return wall, float(tail[2]), int(tail[0]) / 1024, proc.stdout


def distinct_comments(csv_path: Path) -> None:
    """Replace every comment of the CSV by a generated, nearly always distinct one."""
    import duckdb
    import pyarrow as pa

    sys.path.insert(0, str(REPO / "plugins" / "cxengine-nlp" / "bench"))
    from comments import make_comments

    con = duckdb.connect()
    rows = con.execute(
        "SELECT count(*) FROM read_csv(?, all_varchar = true) "
        "WHERE comment IS NOT NULL AND trim(comment) <> ''",
        [str(csv_path)],
    ).fetchall()[0][0]
    from itertools import zip_longest

    half = rows // 2
    english = make_comments(half, "en", realistic=True)
    russian = make_comments(rows - half, "ru", realistic=True)
    # Interleaved, as in a real survey.
    mixed = [t for pair in zip_longest(english, russian) for t in pair if t is not None]
    con.register("generated", pa.table({"n": list(range(1, len(mixed) + 1)), "text": mixed}))
    out = csv_path.with_suffix(".new.csv")
    con.execute(
        "COPY (SELECT r.* EXCLUDE (k, n, has) REPLACE (g.text AS comment) FROM ("
        "  SELECT *, CASE WHEN has THEN sum(CAST(has AS INTEGER)) OVER (ORDER BY k) END AS n"
        "  FROM (SELECT *, row_number() OVER () AS k,"
        "        comment IS NOT NULL AND trim(comment) <> '' AS has"
        "        FROM read_csv(?, all_varchar = true))"
        ") AS r LEFT JOIN generated AS g USING (n) ORDER BY k) TO ? (HEADER)",
        [str(csv_path), str(out)],
    )
    out.replace(csv_path)


def make_projects(work: Path, rows: int, distinct: bool) -> tuple[Path, Path]:
    """Return (tagged project, reference project without tagging) over the same data."""
    from bench_run import drop_comment_tagging

    from cxengine.scaffold import init_project, write_responses_csv

    tagged = work / "tagged"
    init_project(tagged, rows=200)
    csv_path = tagged / "data" / "responses.csv"
    write_responses_csv(csv_path, n=rows, seed=11)
    if distinct:
        distinct_comments(csv_path)
    for spec in (tagged / "metric_specs").glob("*.yaml"):
        if spec.stem not in SURVEY_SPECS:
            spec.unlink()
    plain = work / "plain"
    shutil.copytree(tagged, plain)
    drop_comment_tagging(plain / "cxengine.yaml")
    return tagged, plain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument(
        "--distinct", action="store_true", help="nearly every comment a distinct text"
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="cxtagging-"))
    try:
        tagged, plain = make_projects(work, args.rows, args.distinct)
        env = child_env(work / "pycache")
        run = [sys.executable, "-m", "cxengine", "run", "--json", "--force"]
        analysis = [sys.executable, "-c", ANALYSIS, str(tagged / "data" / "responses.csv")]
        measured(run, plain, env)  # warm the bytecode and file caches
        figures: dict[str, list[tuple[float, float, float]]] = {
            "plain": [],
            "tagged": [],
            "analysis": [],
        }
        distinct_texts = 0
        for _ in range(args.repeat):  # interleaved, so machine noise hits all alike
            figures["plain"].append(measured(run, plain, env)[:3])
            for leftover in tagged.glob("cx.db*"):
                leftover.unlink()  # a first run: nothing cached
            figures["tagged"].append(measured(run, tagged, env)[:3])
            _wall, _cpu, peak, out = measured(analysis, tagged, env)
            n, seconds, cpu = out.splitlines()[-1].split()
            distinct_texts = int(n)
            figures["analysis"].append((float(seconds), float(cpu), peak))
        import sqlite3

        with sqlite3.connect(tagged / "cx.db") as db:
            comments = db.execute("SELECT count(*) FROM comment_tags").fetchone()[0]
        print(
            f"data: {args.rows:,} responses, {comments:,} comments, "
            f"{distinct_texts:,} distinct texts; {args.repeat} runs each, interleaved"
        )
        med = {
            k: [statistics.median(r[i] for r in v) for i in range(3)] for k, v in figures.items()
        }
        print(f"{'':22}{'no tagging':>12}{'analysis':>10}{'tagged run':>12}{'ratio':>8}")
        for i, label in enumerate(("wall, median (s)", "CPU, median (s)")):
            a, c, b = med["plain"][i], med["analysis"][i], med["tagged"][i]
            print(f"{label:22}{a:>12.2f}{c:>10.2f}{b:>12.2f}{b / (a + c):>8.2f}")
        peak = max(r[2] for r in figures["tagged"])
        print(
            f"{'peak memory (MiB)':22}{max(r[2] for r in figures['plain']):>12.0f}"
            f"{max(r[2] for r in figures['analysis']):>10.0f}{peak:>12.0f}"
        )
        runs = ", ".join(f"{r[0]:.2f}" for r in figures["tagged"])
        print(f"tagged runs (wall s): {runs}")
        limit = MEMORY_TARGET_MIB[args.distinct]
        ratio = med["tagged"][0] / (med["plain"][0] + med["analysis"][0])
        print(
            f"targets: peak <= {limit} MiB -> {'met' if peak <= limit else 'MISSED'}"
            + (
                ""
                if args.distinct
                else f"; wall <= {TIME_TARGET}x (no tagging + analysis) -> "
                f"{'met' if ratio <= TIME_TARGET else 'MISSED'}"
            )
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
