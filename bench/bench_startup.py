"""Benchmark: start-up CPU of the CLI against a bare Python interpreter.

Runs, interleaved REPEAT times each, as fresh processes:
  a) `python -c pass` (the reference: what any Python command costs);
  b) `python -m cxengine --help`, `--version`, `metrics`, `sources` and `plugins`
     (commands that compute nothing and must import nothing heavy);
and prints the median CPU (user + system of the child) of each and its ratio to the
reference. The issue's target for `--help` is <= 3x. Also lists which heavy modules
(duckdb, pyarrow, sqlglot, scipy, pandas, sqlite_utils) `--help` imports.

    python bench/bench_startup.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("duckdb", "pyarrow", "sqlglot", "scipy", "pandas", "sqlite_utils", "spacy")


def child_cpu(cmd: list[str], env: dict[str, str]) -> float:
    """Run a command; return the CPU seconds (user + system) it used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO), str(REPO / "plugins" / "cxengine-nlp"), env.get("PYTHONPATH", "")]
    )
    py = sys.executable
    commands = {
        "python -c pass": [py, "-c", "pass"],
        "cxengine --help": [py, "-m", "cxengine", "--help"],
        "cxengine --version": [py, "-m", "cxengine", "--version"],
        "cxengine metrics": [py, "-m", "cxengine", "metrics"],
        "cxengine sources": [py, "-m", "cxengine", "sources"],
        "cxengine plugins": [py, "-m", "cxengine", "plugins"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.repeat):  # interleaved: machine noise hits every command alike
        for name, cmd in commands.items():
            times[name].append(child_cpu(cmd, env))
    ref = statistics.median(times["python -c pass"])
    print(f"{'command':24} {'median CPU s':>13} {'x python -c pass':>17}")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"{name:24} {med:13.3f} {med / ref:17.1f}")
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['cxengine', '--help']\n"
        "try:\n    runpy.run_module('cxengine', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n"
    )
    proc = subprocess.run([py, "-c", probe], env=env, capture_output=True, text=True)
    heavy = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
    print(f"heavy modules imported by --help: {heavy or 'none'}")
    target = statistics.median(times["cxengine --help"]) / ref
    print(
        f"target --help <= 3x python -c pass: {'met' if target <= 3 else 'MISSED'} ({target:.1f}x)"
    )


if __name__ == "__main__":
    main()
