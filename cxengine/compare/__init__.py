"""The CI regression gate: baselines, significance tests, verdicts, multiple testing.

The library behind `cxengine run --baseline`, `cxengine baseline` and `cxengine
compare`; the CLI only parses options and formats what these return.

- `points`: the values compared (`Point`, `Baseline`), whatever their origin;
- `baseline_file`: the diff-friendly baseline file (`save_baseline`, `load_baseline`);
- `stored`: runs in the results database as baselines (`read_run_at`);
- `significance`: which test a kind's counts allow, or a kind's own `compare()`;
- `multiple`: Holm / Benjamini–Hochberg corrections;
- `targets`: warn / fail bounds, per slice;
- `evaluate`: from values and rules to a `CheckReport` of verdicts;
- `samplesize`: how many answers a given precision needs (docs/ci.md).
"""

from __future__ import annotations

from cxengine.compare.baseline_file import (
    BaselineFileError,
    load_baseline,
    render_baseline,
    save_baseline,
)
from cxengine.compare.evaluate import MetricData, evaluate, evaluate_run
from cxengine.compare.points import Baseline, MetricInfo, Point
from cxengine.compare.report import Check, CheckReport, report_of
from cxengine.compare.stored import StoredRun, read_run_at

__all__ = [
    "Baseline",
    "BaselineFileError",
    "Check",
    "CheckReport",
    "MetricData",
    "MetricInfo",
    "Point",
    "StoredRun",
    "evaluate",
    "evaluate_run",
    "load_baseline",
    "read_run_at",
    "render_baseline",
    "report_of",
    "save_baseline",
]
