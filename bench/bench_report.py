"""Benchmark: `cxengine report` on the demo and on a large run (targets: ≤ 3 s and
≤ 3 MB for the demo; ≤ 10 s for a 1M-row run with 5 metrics × 6 slices × 24 months).

1. `cxengine init` + `run` in a temporary folder, then the report built in-process
   (plugins and the project loaded once, as the CLI does), `--repeat` times; prints
   the median wall time, the CPU time, the size, and where the time goes (reading
   the run, charts, the plugin sections).
2. A generated survey of `--rows` answers (default 1,000,000) over 24 months and six
   touchpoints, five metrics (nps, csat share, csat mean, ces share, ces mean) by
   touchpoint and month: the run (timed, for reference) and its report.

The machine is shared: the CPU time is the steadier figure; both are printed.

    python bench/bench_report.py
    python bench/bench_report.py --rows 200000 --repeat 1
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

SPECS = {
    "nps": "kind: nps\nfield: recommend\n",
    "csat": "kind: share\nfield: satisfaction\npositive: [4, 5]\nscale: [1, 5]\nunit: '%'\n",
    "csat_mean": "kind: mean\nfield: satisfaction\nscale: [1, 5]\nunit: of 5\n",
    "ces": "kind: share\nfield: effort\npositive: [5, 6, 7]\nscale: [1, 7]\nunit: '%'\n",
    "ces_mean": "kind: mean\nfield: effort\nscale: [1, 7]\nunit: of 7\n",
}
TOUCHPOINTS = ["website", "checkout", "onboarding", "support", "delivery", "renewal"]


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Return (wall seconds, CPU seconds, result)."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def report_once(config: Path) -> tuple[float, float, int, dict[str, float]]:
    """Build the report of the project's latest run; return wall, CPU, bytes, phases."""
    from cxengine.config import load_config
    from cxengine.plugins import Registry, get_plugin_manager
    from cxengine.report import charts
    from cxengine.report.data import load_run, open_store
    from cxengine.report.html import build_report

    phases: dict[str, float] = {"charts": 0.0}
    render = charts.render_svg

    def counting(chart: Any) -> str:
        started = time.perf_counter()
        try:
            return render(chart)
        finally:
            phases["charts"] += time.perf_counter() - started

    charts.render_svg = counting  # type: ignore[assignment]
    import cxengine.report.sections as sections

    sections.render_svg = counting  # type: ignore[assignment]
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        pm = get_plugin_manager()
        registry = Registry(pm)
        project = load_config(config)
        started = time.perf_counter()
        with open_store(project.database_path) as store:
            data = load_run(store, "last", registry)
        phases["read run"] = time.perf_counter() - started
        html = build_report(data, project=project, registry=registry, pm=pm)
        return time.perf_counter() - wall, time.process_time() - cpu, len(html.encode()), phases
    finally:
        charts.render_svg = render  # type: ignore[assignment]
        sections.render_svg = render  # type: ignore[assignment]


def demo(folder: Path, repeat: int) -> None:
    from click.testing import CliRunner

    from cxengine.cli import cli

    root = folder / "demo"
    assert CliRunner().invoke(cli, ["init", str(root)]).exit_code == 0
    run_wall, _, result = timed(lambda: CliRunner().invoke(cli, ["--config", str(root), "run"]))
    assert result.exit_code == 0, result.output
    print(f"demo: cxengine run {run_wall:.1f} s (for reference)")
    rounds = [report_once(root / "cxengine.yaml") for _ in range(repeat)]
    walls = [r[0] for r in rounds]
    size = rounds[-1][2]
    print(
        f"demo report: median {statistics.median(walls):.2f} s wall "
        f"(min {min(walls):.2f}), CPU {statistics.median(r[1] for r in rounds):.2f} s, "
        f"{size / 1024:,.0f} KB = {size / 3 / 1024 / 1024:.2f} of the 3 MB budget; "
        f"time/target {statistics.median(walls) / 3:.2f}"
    )
    phases = rounds[-1][3]
    print("  where (last round): " + ", ".join(f"{k} {v:.2f} s" for k, v in phases.items()))


def big(folder: Path, rows: int) -> None:
    from cxengine.config import load_config
    from cxengine.plugins import Registry, get_plugin_manager
    from cxengine.runner import run_project

    root = folder / "big"
    (root / "metric_specs").mkdir(parents=True)
    rng = random.Random(11)
    start = datetime(2024, 1, 1)
    with (root / "answers.csv").open("w", encoding="utf-8") as f:
        f.write("id,at,touchpoint,recommend,satisfaction,effort\n")
        for i in range(rows):
            at = start + timedelta(minutes=rng.randrange(730 * 24 * 60))
            f.write(
                f"{i},{at:%Y-%m-%d %H:%M:%S},{rng.choice(TOUCHPOINTS)},{rng.randint(0, 10)},"
                f"{rng.randint(1, 5)},{rng.randint(1, 7)}\n"
            )
    (root / "cxengine.yaml").write_text(
        "database: cx.db\nmetrics: [metric_specs]\ndatasets:\n  answers:\n    source: csv\n"
        "    path: answers.csv\n    key: id\n    fields: {id: string, at: datetime, "
        "touchpoint: string, recommend: integer, satisfaction: integer, effort: integer}\n",
        encoding="utf-8",
    )
    for name, body in SPECS.items():
        (root / "metric_specs" / f"{name}.yaml").write_text(
            f"name: {name}\ndataset: answers\n{body}by: [touchpoint]\nperiod: month\ntime: at\n",
            encoding="utf-8",
        )
    project = load_config(root / "cxengine.yaml")
    registry = Registry(get_plugin_manager())
    run_wall, run_cpu, result = timed(lambda: run_project(project, registry))
    print(
        f"{rows:,} rows, {len(SPECS)} metrics × {len(TOUCHPOINTS)} slices × 24 months: "
        f"run {run_wall:.1f} s wall / {run_cpu:.1f} s CPU, {len(result.values):,} values"
    )
    wall, cpu, size, phases = report_once(root / "cxengine.yaml")
    print(
        f"  report {wall:.2f} s wall / {cpu:.2f} s CPU, {size / 1024:,.0f} KB; "
        f"time/target {wall / 10:.2f}; " + ", ".join(f"{k} {v:.2f} s" for k, v in phases.items())
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-big", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        demo(Path(tmp), args.repeat)
        if not args.skip_big:
            big(Path(tmp), args.rows)


if __name__ == "__main__":
    main()
