"""The baseline file: values a team commits to its repository and gates CI against.

The file is JSON laid out for code review: a short header, then one metric per line
and one value per line, sorted by metric, period and slice, with keys in a fixed
order. Saving the same values twice gives byte-identical files, and a changed value
shows as one changed line in a diff. Each entry keeps its n and raw counts, which is
all a significance test needs.

```json
{
  "format": "cxengine-baseline",
  "version": 1,
  "run_id": "3f2a9c1e0b7d4a55",
  "metrics": {
    "nps": {"kind": "nps", "unit": "points", "grain": "month"}
  },
  "values": [
    {"metric": "nps", "period": "", "slice": {}, "value": 31.2, "n": 3982, "counts": {…}},
    …
  ]
}
```
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cxengine.compare.points import Baseline, MetricInfo, Point
from cxengine.errors import CxError, ExitCode

if TYPE_CHECKING:
    from cxengine.interfaces import Kind
    from cxengine.spec.models import MetricSpec

FORMAT = "cxengine-baseline"
VERSION = 1
MAX_COUNT = 2**53
#: Counts that tally rows: never negative (sums of scores may be).
TALLIES = frozenset({"n", "positive", "promoters", "detractors", "passives", "k", "rows"})


class BaselineFileError(CxError):
    """A baseline file is missing or malformed (a usage problem: exit 2)."""

    exit_code = ExitCode.USAGE


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))


def _number(x: float | int | None) -> float | int | None:
    """Round floats so the file is stable and readable; integers stay integers."""
    if x is None or isinstance(x, bool):
        return x
    if isinstance(x, int) or (float(x).is_integer() and abs(x) < 2**53):
        return int(x)
    return float(f"{float(x):.12g}")


def _entry(p: Point) -> str:
    counts = {k: _number(v) for k, v in sorted(p.counts.items())}
    value = None if p.value is None else float(f"{p.value:.12g}")
    # Fixed key order, not sorted: metric, period and slice first read best in a diff.
    return (
        "{"
        f'"metric": {json.dumps(p.metric)}, "period": {json.dumps(p.period)}, '
        f'"slice": {_dumps(p.slice)}, "value": {json.dumps(value)}, "n": {p.n}, '
        f'"counts": {_dumps(counts)}'
        "}"
    )


def render_baseline(baseline: Baseline) -> str:
    """Return the text of a baseline file: sorted, one value per line."""
    points = sorted(baseline.points, key=lambda p: p.key)
    metrics = sorted({p.metric for p in points} | set(baseline.metrics))
    lines = ["{", f'  "format": "{FORMAT}",', f'  "version": {VERSION},']
    lines.append(f'  "run_id": {json.dumps(baseline.run_id)},')
    lines.append('  "metrics": {')
    for i, name in enumerate(metrics):
        info = baseline.metrics.get(name, MetricInfo(kind="unknown"))
        body = _dumps({"kind": info.kind, "unit": info.unit, "grain": info.grain})
        lines.append(f"    {json.dumps(name)}: {body}" + ("," if i < len(metrics) - 1 else ""))
    lines.append("  },")
    lines.append('  "values": [')
    for i, p in enumerate(points):
        lines.append("    " + _entry(p) + ("," if i < len(points) - 1 else ""))
    lines.append("  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def save_baseline(baseline: Baseline, path: Path | str) -> Path:
    """Write a baseline file atomically (a crash never leaves half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = render_baseline(baseline)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_baseline(path: Path | str) -> Baseline:
    """Read a baseline file; a problem names the file, the line and the field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BaselineFileError(
            f"baseline file {path} does not exist (write one with `cxengine baseline save {path}`)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineFileError(f"baseline file {path} cannot be read: {exc}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineFileError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    return parse_baseline(doc, text, str(path))


def parse_baseline(doc: Any, text: str, name: str) -> Baseline:
    """Validate a parsed baseline document; report every problem at once."""
    problems: list[str] = []
    if not isinstance(doc, dict):
        raise BaselineFileError(f"{name}:1: a baseline file is a JSON object")
    if doc.get("format") != FORMAT:
        problems.append(f"{name}:1: format: expected {FORMAT!r}, got {doc.get('format')!r}")
    if doc.get("version") != VERSION:
        problems.append(
            f"{name}:1: version: this cxengine reads version {VERSION}, got {doc.get('version')!r}"
        )
    metrics: dict[str, MetricInfo] = {}
    raw_metrics = doc.get("metrics", {})
    if not isinstance(raw_metrics, dict):
        problems.append(f"{name}:1: metrics: expected an object")
        raw_metrics = {}
    for metric, info in raw_metrics.items():
        if not isinstance(info, dict) or not isinstance(info.get("kind"), str):
            problems.append(f"{name}: metrics.{metric}: expected {{kind, unit, grain}}")
            continue
        metrics[metric] = MetricInfo(info["kind"], info.get("unit"), info.get("grain") or "none")
    values = doc.get("values")
    if not isinstance(values, list):
        problems.append(f"{name}:1: values: expected a list of values")
        values = []
    lines = _entry_lines(text)
    points: list[Point] = []
    located: dict[tuple[str, str, str], str] = {}
    for i, entry in enumerate(values):
        where = f"{name}:{lines[i]}" if i < len(lines) else name
        point, errors = _point(entry)
        problems.extend(f"{where}: values[{i}].{e}" for e in errors)
        if point is not None:
            points.append(point)
            located[point.key] = f"{where}: values[{i}]"
    seen: set[tuple[str, str, str]] = set()
    for p in points:
        if p.key in seen:
            problems.append(
                f"{name}: values: duplicate entry for {p.metric} {p.period!r} {p.slice}"
            )
        seen.add(p.key)
    if problems:
        raise BaselineFileError("\n".join(problems))
    run_id = doc.get("run_id")
    return Baseline(
        name, points, metrics, run_id if isinstance(run_id, str) else None, where=located
    )


def _entry_lines(text: str) -> list[int]:
    """Return the line number of each value entry (the file keeps one per line)."""
    out = []
    inside = False
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not inside and '"values"' in stripped:
            inside = True
        elif inside and stripped.startswith("{"):
            out.append(number)
    return out


def _point(entry: Any) -> tuple[Point | None, list[str]]:
    if not isinstance(entry, dict):
        return None, ["expected an object {metric, period, slice, value, n, counts}"]
    errors = []
    metric, period, slice_ = entry.get("metric"), entry.get("period", ""), entry.get("slice", {})
    value, n, counts = entry.get("value"), entry.get("n"), entry.get("counts", {})
    if not isinstance(metric, str) or not metric:
        errors.append("metric: expected a metric name")
    if not isinstance(period, str):
        errors.append("period: expected an ISO date or ''")
    if not isinstance(slice_, dict):
        errors.append('slice: expected an object such as {"touchpoint": "website"}')
    if value is not None and not _finite(value):
        errors.append(f"value: expected a number or null, got {_short(value)}")
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        errors.append(f"n: expected a non-negative integer, got {_short(n)}")
    elif n > MAX_COUNT:
        errors.append(f"n: {_short(n)} is larger than 2^53, not a count of rows")
    if not isinstance(counts, dict):
        errors.append("counts: expected an object of numbers")
    else:
        for key, count in counts.items():
            if count is not None and not _finite(count):
                errors.append(f"counts.{key}: expected a finite number, got {_short(count)}")
    if errors:
        return None, errors
    assert isinstance(metric, str) and isinstance(n, int)  # checked above
    return Point(metric, period, slice_, None if value is None else float(value), n, counts), []


def _finite(x: Any) -> bool:
    # Integers beyond 2^53 are refused too: as floats they lose their last digits, and
    # a 400-digit one cannot become a float at all.
    if isinstance(x, bool) or not isinstance(x, int | float):
        return False
    return abs(x) <= MAX_COUNT if isinstance(x, int) else math.isfinite(x)


def _untestable(agg: Kind, spec: MetricSpec, p: Point) -> str | None:
    """Run the kind's own significance test of the entry against itself, as a gate would.

    Counts that pass every check above can still be absurd together (a sum of squares
    of 1e300): the test the gate runs is the final judge of whether they can be used.
    """
    from cxengine.compare.significance import run_test

    try:
        result = run_test(agg, spec, p.counts, p.counts, "smaller")
    except (ValueError, ArithmeticError, TypeError, KeyError) as exc:
        return f"the significance test cannot use them: {exc}"
    p_value = getattr(result, "p_value", None)
    if isinstance(p_value, float) and not math.isfinite(p_value):
        return "the significance test cannot use them (p-value is not a number)"
    return None


def _tallies_above_n(p: Point) -> str | None:
    n = p.counts.get("n", p.n)
    if n is None:
        return None
    if n != p.n:
        return f"n is {_short(n)} but the entry's n is {p.n}"
    parts = {k: v for k, v in p.counts.items() if k in TALLIES - {"n", "rows"} and v is not None}
    over = [f"{k} ({v:g})" for k, v in parts.items() if v > n]
    if over:
        return f"{', '.join(over)} cannot exceed n ({n:g})"
    total, squares = p.counts.get("sum"), p.counts.get("sum_sq")
    if n and total is not None and squares is not None and squares * n < total * total * 0.999:
        # sum_sq >= sum^2 / n for any numbers (the variance is never negative).
        return f"sum_sq ({squares:g}) is below sum^2 / n ({total * total / n:g}): not possible"
    groups = [k for k in ("promoters", "passives", "detractors") if k in parts]
    if len(groups) > 1 and sum(parts[k] for k in groups) > n:
        added = " + ".join(f"{parts[k]:g}" for k in groups)
        return f"{' + '.join(groups)} ({added}) cannot exceed n ({n:g})"
    return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}…({len(text)} characters)"


def check_against_kinds(
    baseline: Baseline, specs: Mapping[str, MetricSpec], aggregations: Mapping[str, Kind]
) -> list[str]:
    """Check each entry of the project's metrics with its kind: counts it can come from
    (positive <= n, promoters + detractors <= n, nothing negative) and a value that
    agrees with them. Return the problems, located; entries of other metrics pass.
    """
    problems: list[str] = []
    for p in baseline.points:
        spec = specs.get(p.metric)
        agg = aggregations.get(spec.kind) if spec is not None else None
        from cxengine.interfaces import DerivedKind

        if spec is None or agg is None or isinstance(agg, DerivedKind):
            continue  # not compared, or a formula whose inputs are checked instead
        where = baseline.where.get(p.key, baseline.source)
        negative = [k for k, v in p.counts.items() if k in TALLIES and v is not None and v < 0]
        if negative:
            problems.append(f"{where}.counts: {', '.join(negative)} cannot be negative")
            continue
        too_many = _tallies_above_n(p)
        if too_many:
            problems.append(f"{where}.counts: {too_many}")
            continue
        try:
            estimate = agg.estimate(spec, p.counts)
        except (ValueError, ArithmeticError, TypeError, KeyError) as exc:
            problems.append(f"{where}.counts: {exc}")
            continue
        bounds = [getattr(estimate, k, None) for k in ("value", "ci_low", "ci_high")]
        if any(isinstance(b, float) and not math.isfinite(b) for b in bounds):
            problems.append(f"{where}.counts: they give no finite value and interval")
            continue
        unusable = _untestable(agg, spec, p)
        if unusable:
            problems.append(f"{where}.counts: {unusable}")
            continue
        value = getattr(estimate, "value", None)
        if p.value is None or value is None or not isinstance(value, int | float):
            continue
        if not math.isclose(p.value, value, rel_tol=1e-6, abs_tol=1e-6):
            problems.append(
                f"{where}.value: {p.value:g} contradicts its counts, which give {value:.6g}"
            )
    return problems


def baseline_from_points(
    points: Iterable[Point],
    metrics: Mapping[str, MetricInfo],
    *,
    run_id: str | None,
    source: str,
    totals_only: bool = False,
) -> Baseline:
    """Build a baseline from points, optionally keeping only the all-period values."""
    kept = [p for p in points if not totals_only or p.period == ""]
    return Baseline(source, kept, dict(metrics), run_id)
