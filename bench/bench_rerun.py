"""Benchmark: a rerun with nothing changed against the first run (the rerun cache).

Builds a project like bench_run.py (N generated survey responses, the five survey
specs; or, with --demo, the whole `cxengine init` project with its 19 specs), then
alternates, REPEAT times each, as fresh processes:
  a) `cxengine run --json --force`: the run computed (what a first run costs);
  b) `cxengine run --json`: the same run again, nothing changed, reused from the
     results database;
and prints the median wall and CPU time of each and the ratio (b / a), next to each
other. It checks that the reused run printed the same JSON, said it was reused, and
imported no DuckDB, pyarrow or sqlglot. The target of issue 12 is <= 0.1x.

    python bench/bench_rerun.py                 # 1M rows
    python bench/bench_rerun.py --rows 200000 --repeat 5
    python bench/bench_rerun.py --demo          # the init project, 4,000 responses
    python bench/bench_rerun.py --with-comments # keep the comment tagging (off by default,
                                                # as in bench_run.py)

Python writes no bytecode cache when PYTHONDONTWRITEBYTECODE is set (as on the team's
machine); both commands then compile every module they import on every start, which
no installed cxengine does. The children here get a bytecode cache in a temporary
folder instead (PYTHONPYCACHEPREFIX), warmed by one run of each before timing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))  # bench_run's helpers
HEAVY = ("duckdb", "pyarrow", "sqlglot")
SURVEY_SPECS = {"csat", "csat_mean", "nps", "ces", "ces_mean"}


def child_env(pycache: Path) -> dict[str, str]:
    """This checkout and its plugins first; a bytecode cache of our own."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    paths = [REPO, REPO / "plugins" / "cxengine-nlp", REPO / "plugins" / "cxengine-exports"]
    env["PYTHONPATH"] = os.pathsep.join([*map(str, paths), env.get("PYTHONPATH", "")])
    return env


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, str, str]:
    """Run a command; return wall and CPU seconds (user + system), stdout and stderr."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[2:])} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout, proc.stderr


def heavy_imports(cwd: Path, env: dict[str, str]) -> str:
    """Return the heavy modules a reused `cxengine run --json` imports."""
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['cxengine', 'run', '--json']\n"
        "try:\n    runpy.run_module('cxengine', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        f"print('\\nHEAVY:' + ','.join(m for m in {HEAVY!r} if m in sys.modules),"
        " file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], cwd=cwd, env=env, capture_output=True, text=True
    )
    last = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
    return last.removeprefix("HEAVY:") if last.startswith("HEAVY:") else "? (the probe failed)"


def make_project(work: Path, rows: int, demo: bool, comments: bool) -> Path:
    from bench_run import drop_comment_tagging

    from cxengine.scaffold import init_project, write_responses_csv

    project = work / "project"
    if demo:
        init_project(project)
    else:
        init_project(project, rows=200)
        write_responses_csv(project / "data" / "responses.csv", n=rows, seed=11)
        for spec in (project / "metric_specs").glob("*.yaml"):
            if spec.stem not in SURVEY_SPECS:
                spec.unlink()
    if not comments:
        # As bench_run.py: a first run that tags a million comments would make any
        # rerun look cheap.
        drop_comment_tagging(project / "cxengine.yaml")
    return project


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--demo", action="store_true", help="the whole init project instead")
    parser.add_argument(
        "--with-comments", action="store_true", help="keep the comment tagging (NLP plugin)"
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="cxrerun-"))
    try:
        project = make_project(work, args.rows, args.demo, args.with_comments)
        env = child_env(work / "pycache")
        first = [sys.executable, "-m", "cxengine", "run", "--json", "--force"]
        again = [sys.executable, "-m", "cxengine", "run", "--json"]
        timed(first, project, env)  # warm the bytecode and file caches, store the run
        timed(again, project, env)
        runs: dict[str, list[tuple[float, float]]] = {"first": [], "rerun": []}
        outputs: dict[str, str] = {}
        rerun_err = ""
        for _ in range(args.repeat):  # interleaved, so machine noise hits both alike
            wall, cpu, outputs["first"], _err = timed(first, project, env)
            runs["first"].append((wall, cpu))
            wall, cpu, outputs["rerun"], rerun_err = timed(again, project, env)
            runs["rerun"].append((wall, cpu))
        what = "init demo project" if args.demo else f"{args.rows:,} responses, 5 specs"
        what += ", comment tagging " + ("on" if args.with_comments else "off")
        print(f"project: {what}")
        print(f"{'':24}{'first run':>12}{'rerun':>12}{'ratio':>8}")
        for i, label in enumerate(("wall, median (s)", "CPU, median (s)")):
            a = statistics.median(r[i] for r in runs["first"])
            b = statistics.median(r[i] for r in runs["rerun"])
            print(f"{label:24}{a:>12.3f}{b:>12.3f}{b / a:>8.3f}")
        same = json.loads(outputs["first"]) == json.loads(outputs["rerun"])
        print(f"same --json output: {'yes' if same else 'NO'}")
        print(f"said it was reused: {'yes' if 'reused run' in rerun_err else 'NO'}")
        with sqlite3.connect(project / "cx.db") as conn:
            kept = conn.execute("SELECT count(*) FROM replays").fetchone()[0]
        # A reuse records a replay (cxengine/replay.py); the timed reruns print it.
        print(f"replay recorded (the reruns printed it, nothing loaded): {'yes' if kept else 'NO'}")
        print(f"heavy modules the rerun imported: {heavy_imports(project, env) or 'none'}")
        cpu_ratio = statistics.median(r[1] for r in runs["rerun"]) / statistics.median(
            r[1] for r in runs["first"]
        )
        print(f"target rerun <= 0.1x first run (CPU): {'met' if cpu_ratio <= 0.1 else 'MISSED'}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
