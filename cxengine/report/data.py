"""A stored run read back for people: its metrics with specs and values, rejects, checks.

Everything the report, `show`, `export` and the terminal summary print comes from the
results database, never from recomputing: a report of run X shows exactly run X.
Specs are rebuilt with their kind's model when the kind is installed (for targets,
categories and item labels); a run whose plugin is gone still reports, with less.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cxengine.compare.points import slice_key
from cxengine.compare.stored import read_run
from cxengine.errors import ConfigError

if TYPE_CHECKING:
    from cxengine.plugins import Registry
    from cxengine.spec.models import MetricSpec
    from cxengine.store.results import ResultsStore

DEFAULT_MIN_N = 30


@dataclass
class Value:
    """One stored value: a metric for one period and slice, with its interval and counts."""

    metric: str
    period: str  # ISO start date, '' for all periods together
    slice: dict[str, Any]
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    low_sample: bool
    excluded: int
    note: str | None
    counts: dict[str, Any]

    @property
    def slice_key(self) -> str:
        """Canonical JSON of the slice (as stored)."""
        return slice_key(self.slice)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Value:
        """Build a value from a `metric_values` row."""
        counts = row.get("counts") or "{}"
        return cls(
            metric=str(row["metric"]),
            period=str(row.get("period") or ""),
            slice=json.loads(row["slice"]) if isinstance(row["slice"], str) else row["slice"],
            value=_float(row.get("value")),
            ci_low=_float(row.get("ci_low")),
            ci_high=_float(row.get("ci_high")),
            n=int(row.get("n") or 0),
            low_sample=bool(row.get("low_sample")),
            excluded=int(row.get("excluded") or 0),
            note=row.get("note"),
            counts=json.loads(counts) if isinstance(counts, str) else dict(counts),
        )


def _float(x: Any) -> float | None:
    return None if x is None else float(x)


@dataclass
class MetricData:
    """One metric of a stored run: what it is and every value it has."""

    name: str
    kind: str
    title: str
    unit: str | None
    grain: str  # day … year, or none
    raw_spec: dict[str, Any]
    spec: MetricSpec | None  # None: the kind's plugin is not installed
    aggregation: Any | None
    points: list[Value]

    @property
    def description(self) -> str:
        """The spec's description, '' without one."""
        return str(self.raw_spec.get("description") or "").strip()

    @property
    def by(self) -> list[str]:
        """The fields the spec slices by."""
        return [str(b) for b in self.raw_spec.get("by") or []]

    @property
    def confidence(self) -> float:
        """The confidence level of the intervals."""
        return float(self.raw_spec.get("confidence") or 0.95)

    @property
    def min_n(self) -> int:
        """Below this n a value is a low sample."""
        return int(self.raw_spec.get("min_n") or DEFAULT_MIN_N)

    @property
    def category_key(self) -> str | None:
        """The slice key a per-category kind (distribution) stores its category under."""
        own = getattr(self.aggregation, "category_key", None)
        if own is not None and self.spec is not None:
            return str(own(self.spec))
        # Without the kind: a slice key that no `by` field explains is the category.
        extra = {k for p in self.points for k in p.slice if k not in self.by}
        return next(iter(sorted(extra))) if len(extra) == 1 else None

    @property
    def higher_is_better(self) -> bool:
        """The direction of 'better' (the spec's regression rule, else the kind's)."""
        from cxengine.compare.significance import higher_is_better

        if self.aggregation is None:
            return True
        return higher_is_better(self.aggregation, self.spec)

    def slice_fields(self, point: Value) -> dict[str, Any]:
        """The slice of a point without its category key (for per-category kinds)."""
        cat = self.category_key
        return {k: v for k, v in point.slice.items() if k != cat}

    def periods(self) -> list[str]:
        """Every period start (ISO) the metric has values for, in order."""
        return sorted({p.period for p in self.points if p.period})


@dataclass
class RejectGroup:
    """Rejects of one dataset (and metric) with the same reason."""

    dataset: str
    metric: str | None
    field: str | None
    reason: str
    count: int
    examples: list[str]  # locators: file:line


@dataclass
class RunData:
    """A stored run with everything a report shows."""

    run_id: str
    database: Path
    run: dict[str, Any]
    metrics: dict[str, MetricData]
    checks: list[dict[str, Any]] = field(default_factory=list)
    reject_groups: list[RejectGroup] = field(default_factory=list)
    reject_total: int = 0
    excluded_by_metric: dict[str, int] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)

    @property
    def datasets(self) -> dict[str, dict[str, Any]]:
        """Dataset name → {read, used, rejected, origin, notes}."""
        raw = self.run.get("datasets")
        return dict(json.loads(raw)) if isinstance(raw, str) and raw else {}

    @property
    def finished(self) -> date | None:
        """The day the run finished (UTC), from which 'complete period' is judged."""
        text = self.run.get("finished") or self.run.get("started")
        return date.fromisoformat(str(text)[:10]) if text else None

    def json_field(self, name: str) -> dict[str, Any]:
        """A JSON column of the runs row as a dict ({} when empty)."""
        raw = self.run.get(name)
        return dict(json.loads(raw)) if isinstance(raw, str) and raw else {}


def load_run(
    store: ResultsStore,
    ref: str = "last",
    registry: Registry | None = None,
    *,
    metrics: Sequence[str] = (),
    since: str | None = None,
) -> RunData:
    """Read a stored run: 'last' (the latest ok run), a tag, or a run id (prefix)."""
    stored = read_run(store, ref)
    unknown = [m for m in metrics if m not in stored.metrics]
    if unknown:
        from cxengine.errors import did_you_mean

        raise ConfigError(
            f"run {stored.run_id} has no metric {unknown[0]!r}"
            f"{did_you_mean(unknown[0], list(stored.metrics))}"
        )
    since_iso = _since(since) if since else None
    out: dict[str, MetricData] = {}
    points_by_metric: dict[str, list[Value]] = {}
    for row in store.values(stored.run_id):
        p = Value.from_row(row)
        if since_iso and p.period and p.period < since_iso:
            continue
        points_by_metric.setdefault(p.metric, []).append(p)
    titles = dict(
        store.conn.execute(
            "SELECT metric, title FROM metrics WHERE run_id = ?", (stored.run_id,)
        ).fetchall()
    )
    for name, info in stored.metrics.items():
        if metrics and name not in metrics:
            continue
        raw = stored.specs.get(name, {})
        spec, aggregation = _rebuild(raw, info.kind, registry)
        out[name] = MetricData(
            name=name,
            kind=info.kind,
            title=str(titles.get(name) or raw.get("title") or name),
            unit=info.unit,
            grain=info.grain,
            raw_spec=raw,
            spec=spec,
            aggregation=aggregation,
            points=points_by_metric.get(name, []),
        )
    data = RunData(stored.run_id, store.path, store.run(stored.run_id), out)
    data.checks = [c for c in store.checks(stored.run_id) if not metrics or c["metric"] in metrics]
    _read_rejects(store, data)
    data.tags = [
        str(r[0])
        for r in store.conn.execute(
            "SELECT tag FROM run_tags WHERE run_id = ? ORDER BY tag", (stored.run_id,)
        )
    ]
    return data


def _since(text: str) -> str:
    """'2025-03' or '2025-03-01' → ISO date the periods must start at or after."""
    for candidate in (text, f"{text}-01", f"{text}-01-01"):
        try:
            return date.fromisoformat(candidate).isoformat()
        except ValueError:
            continue
    raise ConfigError(f"--since: {text!r} is not a date or month (2025-03, 2025-03-01, 2025)")


def _rebuild(raw: dict[str, Any], kind: str, registry: Registry | None) -> tuple[Any, Any]:
    if registry is None or kind not in registry.aggregations:
        return None, None
    aggregation = registry.aggregations[kind]
    try:
        return aggregation.spec_model.model_validate(raw), aggregation
    except ValueError:
        # A spec stored by another version of the kind: report it without its rules.
        return None, aggregation


def _read_rejects(store: ResultsStore, data: RunData, top: int = 12) -> None:
    conn, run_id = store.conn, data.run_id
    data.reject_total = int(
        conn.execute("SELECT count(*) FROM rejects WHERE run_id = ?", (run_id,)).fetchone()[0]
    )
    data.excluded_by_metric = {
        str(m): int(c)
        for m, c in conn.execute(
            "SELECT metric, count(*) FROM rejects WHERE run_id = ? AND metric IS NOT NULL "
            "GROUP BY metric ORDER BY metric",
            (run_id,),
        )
    }
    rows = conn.execute(
        "SELECT dataset, metric, field, reason, count(*) AS c, min(id) FROM rejects "
        "WHERE run_id = ? GROUP BY dataset, metric, field, reason "
        "ORDER BY c DESC, dataset, reason LIMIT ?",
        (run_id, top),
    ).fetchall()
    for dataset, metric, field_name, reason, count, _first in rows:
        examples = [
            str(r[0])
            for r in conn.execute(
                "SELECT locator FROM rejects WHERE run_id = ? AND dataset = ? "
                "AND metric IS ? AND field IS ? AND reason = ? ORDER BY id LIMIT 3",
                (run_id, dataset, metric, field_name, reason),
            )
        ]
        data.reject_groups.append(
            RejectGroup(str(dataset), metric, field_name, str(reason), int(count), examples)
        )


def open_store(database: Path) -> ResultsStore:
    """Open an existing results database, with a helpful error when there is none."""
    from cxengine.store.results import ResultsStore

    if not Path(database).is_file():
        # A usage problem (exit 2), not an internal error: nothing has been run yet.
        raise ConfigError(
            f"no results database at {database}: run `cxengine run` first to store a run"
        )
    return ResultsStore(database)


def from_result(result: Any, registry: Registry | None = None) -> RunData:
    """Build the same view of a run straight from a `RunResult` (stored or not)."""
    from datetime import UTC, datetime

    by_metric: dict[str, list[Value]] = {}
    for v in result.values:
        by_metric.setdefault(v.metric, []).append(
            Value(
                v.metric, v.period.isoformat() if v.period else "", dict(v.slice), v.value,
                v.ci_low, v.ci_high, v.n, bool(v.low_sample), v.excluded, v.note,
                dict(v.counts),
            )
        )  # fmt: skip
    metrics: dict[str, MetricData] = {}
    for loaded in result.specs:
        spec = loaded.spec
        grain = next((v.grain for v in result.values if v.metric == spec.name), spec.period)
        aggregation = None
        if registry is not None and spec.kind in registry.aggregations:
            aggregation = registry.aggregations[spec.kind]
        metrics[spec.name] = MetricData(
            name=spec.name,
            kind=spec.kind,
            title=spec.title or spec.name,
            unit=spec.unit,
            grain=grain or "none",
            raw_spec=spec.model_dump(mode="json"),
            spec=spec,
            aggregation=aggregation,
            points=by_metric.get(spec.name, []),
        )
    now = datetime.now(UTC).isoformat(timespec="seconds")
    datasets = {k: d.as_dict() for k, d in result.datasets.items()}
    data = RunData(
        result.run_id,
        Path(result.database) if result.database else Path(),
        {"id": result.run_id, "finished": now, "datasets": json.dumps(datasets)},
        metrics,
    )
    data.reject_total = len(result.rejects)
    for r in result.rejects:
        if r.metric:
            data.excluded_by_metric[r.metric] = data.excluded_by_metric.get(r.metric, 0) + 1
    return data
