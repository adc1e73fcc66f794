"""Benchmark: start-up CPU of the CLI against a bare Python interpreter.

Runs, interleaved REPEAT times each, as fresh processes:
  a) `python -c pass` (the reference: what any Python command costs);
  b) `python -m cxengine --help`, `--version`, `metrics`, `sources`, `plugins` and
     `validate` on a project made by `cxengine init` (commands that compute nothing
     and must import nothing heavy);
and prints the median CPU (user + system of the child) of each and its ratio to the
reference, with the heavy modules (duckdb, pyarrow, sqlglot, scipy, pandas,
sqlite_utils, spacy) each command imported. The issue's targets: `--help` <= 3x, and
none of these commands imports a heavy module.

    python bench/bench_startup.py [--repeat 7] [--project DIR]

`--project` runs the project commands on an existing project instead of a fresh demo.
The children get a bytecode cache of their own (PYTHONPYCACHEPREFIX, warmed by one
run of each): without one, as under PYTHONDONTWRITEBYTECODE, every start compiles
every module it imports, which no installed cxengine does.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("duckdb", "pyarrow", "sqlglot", "scipy", "pandas", "sqlite_utils", "spacy")
COMMANDS: dict[str, list[str]] = {
    "cxengine --help": ["--help"],
    "cxengine --version": ["--version"],
    "cxengine metrics": ["metrics"],
    "cxengine sources": ["sources"],
    "cxengine plugins": ["plugins"],
    "cxengine validate": ["validate"],
}


def child_cpu(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    """Run a command; return the CPU seconds (user + system) it used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def heavy_modules(args: list[str], env: dict[str, str], cwd: Path) -> str:
    """Return the heavy modules `cxengine ARGS` imports, comma-separated."""
    probe = (
        "import runpy, sys\n"
        f"sys.argv = ['cxengine', *{args!r}]\n"
        "try:\n    runpy.run_module('cxengine', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        f"print('\\nHEAVY:' + ','.join(m for m in {HEAVY!r} if m in sys.modules),"
        " file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=cwd, capture_output=True, text=True
    )
    last = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
    return last.removeprefix("HEAVY:") if last.startswith("HEAVY:") else "? (the probe failed)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--project", type=Path, default=None)
    args = parser.parse_args()
    env = dict(os.environ)
    # As installed: with a bytecode cache (in a temporary folder, warmed below), even
    # where PYTHONDONTWRITEBYTECODE is set, which would make every start compile.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    pycache = tempfile.mkdtemp(prefix="cxstartup-pycache-")
    env["PYTHONPYCACHEPREFIX"] = pycache
    env["PYTHONPATH"] = os.pathsep.join(
        [
            str(REPO),
            str(REPO / "plugins" / "cxengine-nlp"),
            str(REPO / "plugins" / "cxengine-exports"),
            env.get("PYTHONPATH", ""),
        ]
    )
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        project = args.project
        if project is None:
            project = Path(tmp) / "demo"
            subprocess.run(
                [py, "-m", "cxengine", "init", str(project), "--rows", "300"],
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
            )
        commands = {"python -c pass": [py, "-c", "pass"]}
        commands.update({name: [py, "-m", "cxengine", *a] for name, a in COMMANDS.items()})
        for cmd in commands.values():  # warm the bytecode and file caches
            child_cpu(cmd, env, project)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeat):  # interleaved: machine noise hits every command alike
            for name, cmd in commands.items():
                times[name].append(child_cpu(cmd, env, project))
        ref = statistics.median(times["python -c pass"])
        print(f"project: {project}")
        print(f"{'command':24} {'median CPU s':>13} {'x python -c pass':>17}  heavy modules")
        imported: dict[str, str] = {}
        for name, values in times.items():
            med = statistics.median(values)
            heavy = heavy_modules(COMMANDS[name], env, project) if name in COMMANDS else ""
            imported[name] = heavy
            print(f"{name:24} {med:13.3f} {med / ref:17.1f}  {heavy or 'none'}")
    shutil.rmtree(pycache, ignore_errors=True)
    target = statistics.median(times["cxengine --help"]) / ref
    print(
        f"target --help <= 3x python -c pass: {'met' if target <= 3 else 'MISSED'} ({target:.1f}x)"
    )
    # Issue 12, item 3: these commands compute nothing, so they import nothing heavy.
    heavy = {name: mods for name, mods in imported.items() if mods and name in COMMANDS}
    print(
        "target: no command above imports duckdb, pyarrow, sqlglot, scipy or pandas: "
        + ("MISSED (" + "; ".join(f"{k}: {v}" for k, v in heavy.items()) + ")" if heavy else "met")
    )


if __name__ == "__main__":
    main()
