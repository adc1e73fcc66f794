"""Runs in the results database as comparison inputs: their values and their specs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cxengine.compare.points import Baseline, MetricInfo, Point

if TYPE_CHECKING:
    from cxengine.plugins import Registry
    from cxengine.spec.models import MetricSpec
    from cxengine.store.results import ResultsStore


@dataclass
class StoredRun:
    """A finished run read back from the results database."""

    run_id: str
    ref: str  # what the user asked for: 'last', a tag, an id prefix
    points: list[Point]
    metrics: dict[str, MetricInfo]
    specs: dict[str, dict[str, object]]  # metric -> the validated spec as stored (JSON)

    def as_baseline(self) -> Baseline:
        """Return the run as a baseline to compare another run against."""
        return Baseline(self.describe(), self.points, self.metrics, self.run_id)

    def describe(self) -> str:
        """Return 'run 3f2a9c1e0b7d4a55' or 'run 3f2a9c1e0b7d4a55 (release-41)'."""
        extra = "" if self.ref in (self.run_id, "") else f" ({self.ref})"
        return f"run {self.run_id}{extra}"


def read_run(store: ResultsStore, ref: str) -> StoredRun:
    """Resolve 'last', a tag or an id prefix and read that run's values and specs."""
    run_id = store.resolve_run(ref)
    points = [Point.from_row(r) for r in store.values(run_id)]
    cur = store.conn.execute(
        "SELECT metric, kind, unit, grain, spec FROM metrics WHERE run_id = ? ORDER BY metric",
        (run_id,),
    )
    metrics: dict[str, MetricInfo] = {}
    specs: dict[str, dict[str, object]] = {}
    for metric, kind, unit, grain, spec in cur.fetchall():
        metrics[metric] = MetricInfo(kind, unit, grain or "none")
        specs[metric] = json.loads(spec) if spec else {}
    return StoredRun(run_id, ref, points, metrics, specs)


def read_run_at(database: Path, ref: str) -> StoredRun:
    """Open a results database and read one run from it."""
    from cxengine.store.results import ResultsStore, StoreError

    if not Path(database).exists():
        raise StoreError(
            f"no results database at {database}: run `cxengine run` first to store a run"
        )
    import sqlite3

    from cxengine.store.results import explain

    # Read-only: comparing or saving a baseline must work on a read-only copy too.
    with ResultsStore(database, readonly=True) as store:
        try:
            return read_run(store, ref)
        except sqlite3.Error as exc:
            raise explain(Path(database), exc, "reading run " + repr(ref)) from None


def stored_specs(
    run: StoredRun, registry: Registry, only: Sequence[str] | None = None
) -> dict[str, MetricSpec]:
    """Rebuild the stored specs of a run with the kinds' models (for their rules)."""
    out: dict[str, MetricSpec] = {}
    for metric, raw in run.specs.items():
        if only and metric not in only:
            continue
        kind = str(raw.get("kind", run.metrics[metric].kind))
        if kind not in registry.aggregations:
            continue  # a plugin that is not installed any more: compared with defaults
        out[metric] = registry.aggregations[kind].spec_model.model_validate(raw)
    return out
