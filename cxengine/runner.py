"""Running a project: validate specs, load datasets, compute, store. The library entry point.

The CLI is a thin layer over `validate_project` and `run_project`; anything the CLI
can do, a notebook or another tool can do by calling these.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cxengine import __version__, interrupts, run_cache
from cxengine.compute.values import MetricValue, SpecResult
from cxengine.config import ProjectConfig
from cxengine.dataset.needed import fields_to_keep
from cxengine.engines import check_engines
from cxengine.enrich import add_tag_types, check_enrichment, declared_tag_types
from cxengine.errors import Problem, SpecError
from cxengine.interfaces import DerivedKind, Reject
from cxengine.linkage import companions, population_datasets
from cxengine.plugins import Registry, get_registry
from cxengine.spec.loader import LoadedSpec, load_specs
from cxengine.spec.semantic import (
    check_spec,
    check_specs,
    dependency_order,
    retyped_warnings,
    wanted_types,
)
from cxengine.weighting.apply import companion_spec

if TYPE_CHECKING:
    import sqlite3

    from cxengine.dataset.load import LoadedDataset
    from cxengine.engines.relation import EngineDataset
    from cxengine.session import load_datasets as load_datasets
    from cxengine.session import lock_down as lock_down
    from cxengine.store.results import ResultsStore


def __getattr__(name: str) -> Any:
    # Where these lived before the session existed; callers may still import them from
    # here. Loaded on use: the session imports DuckDB, which validating specs needs not.
    if name in ("load_datasets", "lock_down"):
        from cxengine import session

        return getattr(session, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


Progress = Callable[[str, int, int], None]  # (what, done, total)


@dataclass(frozen=True)
class DatasetStats:
    """How many rows a dataset had, used and rejected."""

    name: str
    origin: str
    rows_read: int
    rows_used: int
    rows_rejected: int
    fingerprint: str
    notes: tuple[str, ...] = ()  # renamed headers, normalized line ends, date orders…
    #: Values rejected per field (the row still counts for its other fields).
    cells_rejected: Mapping[str, int] = field(default_factory=dict)
    rows_with_bad_values: int = 0  # used rows holding at least one rejected value
    join: dict[str, int] | None = None  # a joined dataset: rows matched per side
    #: A dataset on an engine (docs/engines.md): queries sent, rows and bytes fetched.
    engine: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {
            "origin": self.origin,
            "read": self.rows_read,
            "used": self.rows_used,
            "rejected": self.rows_rejected,
            "cells_rejected": dict(self.cells_rejected),
            "notes": list(self.notes),
            **({"join": self.join} if self.join is not None else {}),
            **({"engine": self.engine} if self.engine is not None else {}),
        }


@dataclass
class RunResult:
    """What a run computed, and where it was stored."""

    run_id: str
    specs: list[LoadedSpec]
    values: list[MetricValue]
    datasets: dict[str, DatasetStats]
    rejects: list[Reject]
    database: Path | None
    extra: dict[str, Any] = field(default_factory=dict)
    #: Specs that could not be computed, each as its located problem; the other
    #: specs' values are complete and stored (docs/reliability.md).
    failed: list[Problem] = field(default_factory=list)

    def spec(self, name: str) -> LoadedSpec:
        """Return a spec of this run by metric name."""
        return next(s for s in self.specs if s.name == name)

    def to_json(self) -> dict[str, Any]:
        """Return the `cxengine run --json` document."""
        return {
            "run_id": self.run_id,
            "database": str(self.database) if self.database else None,
            "datasets": {k: v.as_dict() for k, v in self.datasets.items()},
            "values": [value_json(v) for v in self.values],
            **({"checks": self.extra["checks"].to_json()} if "checks" in self.extra else {}),
            **({"weighting": self.extra["weighting"]} if "weighting" in self.extra else {}),
            # What tagged the comments (and what it learned from scores), when anything did.
            **(
                {"enrichment": self.extra["enrichment"].as_dict()}
                if getattr(self.extra.get("enrichment"), "stats", None)
                else {}
            ),
            **({"errors": [str(p) for p in self.failed]} if self.failed else {}),
        }


def value_json(v: MetricValue) -> dict[str, Any]:
    """Return one value as JSON (period as its ISO start date, None for all time)."""
    return {
        "metric": v.metric,
        "period": v.period.isoformat() if v.period else None,
        "grain": v.grain,
        "slice": v.slice,
        "value": v.value,
        "n": v.n,
        "ci_low": v.ci_low,
        "ci_high": v.ci_high,
        "low_sample": v.low_sample,
        "excluded": v.excluded,
        "note": v.note,
    }


# ------------------------------------------------------------------------ validate


def load_project_specs(
    project: ProjectConfig, registry: Registry, only: Sequence[str] | None = None
) -> tuple[list[LoadedSpec], list[Problem]]:
    """Load and check the project's specs without data; return specs and problems."""
    models = registry.spec_models()
    partial: list[LoadedSpec] = []
    specs, problems = load_specs(project.spec_paths(), models, project, partial)
    # Tag columns (comment_sentiment, …) are fields too: specs may read and filter on them.
    tag_types = declared_tag_types(project, registry)
    problems.extend(check_specs(specs, project, registry.aggregations, tag_types))
    # What of an invalid spec is valid is checked too: every mistake comes out at once.
    for loaded in partial:
        kind = registry.aggregations.get(loaded.spec.kind)
        if kind is not None and not isinstance(kind, DerivedKind):
            problems.extend(check_spec(loaded, project, kind, tag_types))
    problems.extend(check_enrichment(project, registry))
    problems.extend(_check_sources(project, registry))
    problems.extend(check_engines(project, registry, specs))
    if only:
        known = {s.name for s in specs}
        for name in only:
            if name not in known:
                from cxengine.errors import did_you_mean

                problems.append(
                    Problem(
                        "",
                        0,
                        "--metric",
                        f"no metric named {name!r}{did_you_mean(name, sorted(known))}",
                    )
                )
        specs = [s for s in specs if s.name in set(only)]
    return specs, problems


def _check_sources(project: ProjectConfig, registry: Registry) -> list[Problem]:
    from pydantic import ValidationError

    from cxengine.config import problems_from_validation
    from cxengine.dataset.join import join_problems
    from cxengine.errors import did_you_mean, known_list

    problems = [project.positions.problem(p, m) for p, m in join_problems(project.model.datasets)]
    for name, ds in project.model.datasets.items():
        path = ("datasets", name)
        if ds.source is None:
            continue  # a join of two datasets (checked above) or on an engine (check_engines)
        if ds.source not in registry.sources:
            problems.append(
                project.positions.problem(
                    (*path, "source"),
                    f"{ds.source!r} is not a known source"
                    f"{did_you_mean(ds.source, list(registry.sources))}. "
                    f"Known sources: {known_list(registry.sources)}",
                )
            )
            continue
        model = registry.sources[ds.source].options_model
        try:
            model.model_validate(ds.source_options())
        except ValidationError as exc:
            known: dict[tuple[str | int, ...], list[str]] = {
                path: [*model.model_fields, *_dataset_keys()]
            }
            problems.extend(
                problems_from_validation(exc, project.positions, path, known, model=model)
            )
    return problems


def _dataset_keys() -> list[str]:
    from cxengine.config import DATASET_KEYS

    return sorted(DATASET_KEYS)


def validate_project(
    project: ProjectConfig, registry: Registry | None = None, *, with_data: bool = False
) -> tuple[list[LoadedSpec], list[Problem]]:
    """Validate config and specs (and, with data, fields and types against the datasets)."""
    registry = registry or get_registry()
    specs, problems = load_project_specs(project, registry)
    if with_data and not any(p.severity == "error" for p in problems):
        from cxengine.session import Session

        with Session(project, registry) as session:
            # A formula has no dataset of its own.
            named = {s.spec.dataset for s in specs if s.spec.dataset}
            wanted = wanted_types(specs, project, registry.aggregations)
            loaded = session.load(named | population_datasets(specs), field_types=wanted)
            types = {name: dict(ds.fields) for name, ds in loaded.items()}
            add_tag_types(types, project, registry)
            problems.extend(check_specs(specs, project, registry.aggregations, types))
            problems.extend(
                retyped_warnings(specs, loaded, registry.aggregations, project.model.datasets)
            )
    return specs, sorted(set(problems))


# ----------------------------------------------------------------------------- run


def run_project(
    project: ProjectConfig,
    registry: Registry | None = None,
    *,
    only: Sequence[str] | None = None,
    store: bool = True,
    progress: Progress | None = None,
    checks: Callable[[RunResult], Any] | None = None,
    reuse: bool = True,
) -> RunResult:
    """Validate, load, compute and store every spec of the project; return the result.

    `checks` judges the computed run (the regression gate, `cxengine.compare`); its
    report is kept in `result.extra["checks"]` and stored with the run, in the same
    transaction as its values. With `store`, the run is recorded as running before
    any data is read, so a run that fails or is killed shows as failed, never as
    missing; its values and rejects are written at the end, all in one transaction.

    With `store` and `reuse`, a run whose inputs, specs, config and code are those of
    a stored ok run is read back instead of computed (cxengine/run_cache.py), with
    `result.extra["reused"]` set; `checks` still judges it. `reuse=False` recomputes.
    """
    registry = registry or get_registry()
    fingerprint = None
    if store:
        # Also with reuse=False (--force): the recomputed run is recorded for next time.
        fingerprint, reused = _reuse_stored_run(project, registry, only, checks, look=reuse)
        if reused is not None:
            return reused
    specs, problems = load_project_specs(project, registry, only)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise SpecError(errors)

    attempt = RunAttempt.start(project) if store else None
    try:
        result = _compute(project, registry, specs, only, store, progress, checks)
        if attempt is not None:
            save_run(result, project, attempt, fingerprint)
    except BaseException as exc:
        if attempt is not None:
            attempt.fail(exc)
        raise
    finally:
        if attempt is not None:
            attempt.close()
    return result


def _compute(
    project: ProjectConfig,
    registry: Registry,
    specs: list[LoadedSpec],
    only: Sequence[str] | None,
    store: bool,
    progress: Progress | None,
    checks: Callable[[RunResult], Any] | None,
) -> RunResult:
    """Load the datasets, tag comments, compute every spec: the run without its storage."""
    specs = _run_specs(specs, lambda: load_project_specs(project, registry)[0], only, registry)
    from cxengine.session import Session  # DuckDB: imported when there is data to read

    with Session(project, registry, progress=progress) as session:
        needed = {s.spec.dataset for s in specs if not _is_derived(registry, s)}
        names = needed | population_datasets(specs)
        every = load_project_specs(project, registry)[0] if only else specs
        wanted = wanted_types(every, project, registry.aggregations)
        # Fields no spec reads are checked but not kept in memory (dataset/needed.py).
        keep = fields_to_keep(project, registry, [s.spec for s in specs], names)
        session.load(names, keep, wanted)
        # Before lock_down: tags are registered as DuckDB tables next to the datasets.
        enrichment = session.enrich(write=store)
        session.lock_down()
        results: list[SpecResult] = []
        weighting: dict[str, dict[str, Any]] = {}
        # The data's own field types: a spec over undeclared fields is checked now
        # (declared ones were checked before any data was read).
        types = {
            name: dict(ds.fields)
            for name, ds in session.datasets.items()
            if not project.model.datasets[name].fields
        }
        add_tag_types(types, project, registry)
        failed: dict[str, Problem] = {}
        unusable = {
            s.name: p
            for s in specs
            if (p := _problem_with_data(s, project, registry, types, {})) is not None
        }
        # Specs sharing their rows and grouping: one grouped query per dataset.
        session.compute_together([s.spec for s in specs if s.name not in unusable])
        for i, loaded in enumerate(specs):
            problem = unusable.get(loaded.name) or _problem_with_data(
                loaded, project, registry, types, failed
            )
            if problem is None:
                try:
                    computed = [session.compute(loaded.spec, computed=results)]
                    weighted = session.compute_weighted(loaded.spec)
                    if weighted is not None:
                        # Beside the unweighted values, as a metric of its own: <name>_weighted.
                        weighting[loaded.name] = weighted.as_dict()
                        computed.append(SpecResult(companion_spec(loaded.spec), weighted.values))
                    results.extend(computed)
                except Exception as exc:
                    # One spec's failure is its own located problem, not the run's.
                    problem = _compute_failure(loaded, exc)
            if problem is not None:
                failed[loaded.name] = problem
            if progress:
                progress(f"computed {loaded.name}", i + 1, len(specs))
        datasets = session.datasets
        joins = {name: counts.as_dict() for name, counts in session.joins.items()}

    stats = {
        name: DatasetStats(
            name,
            ds.origin,
            ds.rows_read,
            ds.rows_used,
            ds.rows_rejected,
            ds.fingerprint,
            tuple(ds.notes),
            ds.cells_rejected,
            ds.rows_with_bad_values,
            joins.get(name),
            getattr(ds, "engine_traffic", None),
        )
        for name, ds in datasets.items()
    }
    rejects = [r for ds in datasets.values() for r in ds.rejects]
    rejects.extend(_locate_exclusions(results, datasets))
    values = [v for r in results for v in r.values]
    run_id = make_run_id(project, specs, stats)
    # Weighted values are metrics of their own (<name>_weighted): stored in `metrics`,
    # listed and gated like any other, beside their unweighted spec.
    specs = [*specs, *companions(specs)]
    result = RunResult(
        run_id, specs, values, stats, rejects, project.database_path if store else None
    )
    result.failed = list(failed.values())
    result.extra["enrichment"] = enrichment
    if weighting:
        result.extra["weighting"] = weighting
    if checks is not None:
        result.extra["checks"] = checks(result)
    return result


def _problem_with_data(
    loaded: LoadedSpec,
    project: ProjectConfig,
    registry: Registry,
    types: dict[str, dict[str, str]],
    failed: Mapping[str, Problem],
) -> Problem | None:
    """Return why a spec cannot be computed over the loaded data (None: it can)."""
    kind = registry.aggregation(loaded.spec.kind)
    if isinstance(kind, DerivedKind):
        lost = [d for d in kind.depends_on(loaded.spec) if d in failed]
        if lost:
            return loaded.problem(
                ("name",),
                f"metric {loaded.name!r} cannot be computed: it depends on "
                f"{', '.join(map(repr, lost))}, which could not be computed",
            )
        return None
    # Declared fields were checked before any data was read (with their tag columns);
    # undeclared ones (and filters over them) only now have types.
    if loaded.spec.dataset not in types:
        return None
    errors = [p for p in check_spec(loaded, project, kind, types) if p.severity == "error"]
    if not errors:
        return None
    first = errors[0]
    if len(errors) == 1:
        return first
    more = "; ".join(f"line {p.line}: {p.path}: {p.message}" for p in errors[1:])
    return Problem(first.file, first.line, first.path, f"{first.message}; also {more}")


def _compute_failure(loaded: LoadedSpec, exc: Exception) -> Problem:
    """Turn an error while computing one spec into that spec's located problem.

    A signal surfaces as a DuckDB error inside a query: that one stops the run.
    """
    import duckdb

    if interrupts.received() is not None or isinstance(exc, duckdb.InterruptException):
        raise exc
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if len(message) > 300:
        message = message[:297] + "..."
    kind = "DuckDB" if isinstance(exc, duckdb.Error) else type(exc).__name__
    return loaded.problem(
        ("name",), f"metric {loaded.name!r} could not be computed ({kind}: {message})"
    )


def _run_specs(
    specs: list[LoadedSpec],
    every: Callable[[], list[LoadedSpec]],
    only: Sequence[str] | None,
    registry: Registry,
) -> list[LoadedSpec]:
    """Return the specs a run computes, in order: the chosen ones and what they derive from."""
    if only:
        # A derived metric needs the metrics it is computed from.
        specs = _with_dependencies(specs, every(), registry)
    return dependency_order(specs, registry.aggregations)


def _reuse_stored_run(
    project: ProjectConfig,
    registry: Registry,
    only: Sequence[str] | None,
    checks: Callable[[RunResult], Any] | None,
    look: bool = True,
) -> tuple[run_cache.RunFingerprint | None, RunResult | None]:
    """Return the run's fingerprint and, when a stored ok run has it (and `look`), that run.

    The specs are loaded but not checked: a stored run under this fingerprint passed
    the same checks on the same config, specs and code. Anything unusual (a spec that
    does not load, a dataset that is not a file) gives no reuse: the normal run then
    reports it.
    """
    models = registry.spec_models()
    every, problems = load_specs(project.spec_paths(), models, project)
    if any(p.severity == "error" for p in problems):
        return None, None
    chosen = [s for s in every if s.name in set(only)] if only else every
    if only and len(chosen) != len(set(only)):
        return None, None  # a --metric typo: reported by the normal path
    specs = _run_specs(chosen, lambda: every, only, registry)
    database = project.database_path
    from cxengine.store.results import ResultsStore

    store = ResultsStore(database) if database.is_file() else None
    try:
        fingerprint = run_cache.fingerprint(project, registry, specs, store)
        if fingerprint is None or store is None or not look:
            return fingerprint, None
        stored = run_cache.lookup(store, fingerprint)
        if stored is None:
            return fingerprint, None
        result = _stored_result(stored, [*specs, *companions(specs)], database)
        # What the CLI keeps, with the output, to replay this reuse (cxengine/replay.py).
        result.extra["fingerprint"] = fingerprint
        if checks is not None:
            result.extra["checks"] = checks(result)
        with store.write() as conn:
            store.mark_reused(conn, stored.run_id, _check_rows(result))
            run_cache.remember_hashes(conn, fingerprint)
        return fingerprint, result
    finally:
        if store is not None:
            store.close()


def _stored_result(
    stored: run_cache.StoredRun, specs: list[LoadedSpec], database: Path
) -> RunResult:
    """Rebuild a run's result from the database, as the run that stored it returned it."""
    from cxengine.enrich import EnrichmentReport, EnrichmentStats

    datasets = {
        name: DatasetStats(**{**d, "notes": tuple(d["notes"])})
        for name, d in stored.extra["datasets"].items()
    }
    result = RunResult(stored.run_id, specs, stored.values, datasets, stored.rejects, database)
    enrichment = stored.extra.get("enrichment")
    if enrichment is not None:
        stats = [
            EnrichmentStats(**{**s, "columns": tuple(s["columns"])}) for s in enrichment["stats"]
        ]
        result.extra["enrichment"] = EnrichmentReport(stats, list(enrichment["notices"]))
    if "weighting" in stored.extra:
        result.extra["weighting"] = stored.extra["weighting"]
    result.extra["reused"] = True
    return result


def _is_derived(registry: Registry, loaded: LoadedSpec) -> bool:
    return isinstance(registry.aggregation(loaded.spec.kind), DerivedKind)


def _with_dependencies(
    chosen: list[LoadedSpec], every: list[LoadedSpec], registry: Registry
) -> list[LoadedSpec]:
    by_name = {s.name: s for s in every}
    out = {s.name: s for s in chosen}
    todo = list(chosen)
    while todo:
        s = todo.pop()
        kind = registry.aggregation(s.spec.kind)
        for dep in kind.depends_on(s.spec) if isinstance(kind, DerivedKind) else []:
            if dep in by_name and dep not in out:
                out[dep] = by_name[dep]
                todo.append(by_name[dep])
    return list(out.values())


def make_run_id(
    project: ProjectConfig, specs: Sequence[LoadedSpec], stats: dict[str, DatasetStats]
) -> str:
    """Hash what a run depends on: same version, config, specs and inputs → same id."""
    h = hashlib.sha256()
    h.update(__version__.encode())
    h.update(project.text_hash.encode())
    for s in sorted(specs, key=lambda s: s.name):
        h.update(f"{s.name}:{s.text_hash}".encode())
    for name in sorted(stats):
        h.update(f"{name}:{stats[name].fingerprint}".encode())
    return h.hexdigest()[:16]


class RunAttempt:
    """A run recorded as running before its inputs are read, until it is saved or fails.

    A run's id is a hash of its inputs, known only once they are loaded, so the run
    is first recorded under an attempt id of its own. Saving replaces that row by the
    run's own in the same transaction as the values; failing marks it failed with the
    error; a process killed in between leaves it running with a dead pid, which the
    next open of the store marks failed ("interrupted").
    """

    def __init__(self, store: ResultsStore, attempt_id: str):
        self.store = store
        self.id = attempt_id

    @classmethod
    def start(cls, project: ProjectConfig) -> RunAttempt:
        """Open the project's results database and record a running attempt."""
        from cxengine.store.results import ResultsStore

        store = ResultsStore(project.database_path)
        try:
            attempt_id = store.begin_attempt(
                {
                    "cxengine_version": __version__,
                    "config_path": str(project.path),
                    "config_hash": project.text_hash,
                }
            )
        except BaseException:
            store.close()
            raise
        return cls(store, attempt_id)

    def fail(self, exc: BaseException) -> None:
        """Mark the attempt failed with the error (never hides the original error)."""
        signum = interrupts.received()
        if isinstance(exc, KeyboardInterrupt) or signum is not None:
            name = signal.Signals(signum).name if signum else "KeyboardInterrupt"
            with contextlib.suppress(Exception):
                self.store.fail_run(self.id, f"interrupted by {name}", status="interrupted")
            return
        with contextlib.suppress(Exception):
            self.store.fail_run(self.id, f"{type(exc).__name__}: {exc}")

    def close(self) -> None:
        """Close the results database."""
        self.store.close()


def save_run(
    result: RunResult,
    project: ProjectConfig,
    attempt: RunAttempt | None = None,
    fingerprint: run_cache.RunFingerprint | None = None,
) -> None:
    """Write a finished run to the results database in one transaction.

    With its `fingerprint`, the run is also recorded as reusable in that transaction,
    so only a run that finished and was stored can ever be reused.
    """
    from cxengine.store.results import ResultsStore

    meta = {
        "cxengine_version": __version__,
        "config_path": str(project.path),
        "config_hash": project.text_hash,
        "spec_hashes": json.dumps({s.name: s.text_hash for s in result.specs}, sort_keys=True),
        "input_fingerprints": json.dumps(
            {k: v.fingerprint for k, v in result.datasets.items()}, sort_keys=True
        ),
        "datasets": json.dumps(
            {k: v.as_dict() for k, v in result.datasets.items()}, sort_keys=True
        ),
    }
    if result.failed:
        # The run is stored (status ok, every other value complete); what could not
        # be computed is kept with it.
        meta["error"] = "metrics not computed: " + " | ".join(str(p) for p in result.failed)
    store = attempt.store if attempt is not None else ResultsStore(project.database_path)
    try:
        store.finish_run(
            result.run_id,
            metrics=[_metric_row(s) for s in result.specs],
            values=[_value_row(v) for v in result.values],
            rejects=[_reject_row(r) for r in result.rejects],
            meta=meta,
            checks=_check_rows(result),
            attempt=attempt.id if attempt is not None else None,
            also=None if fingerprint is None else partial(_record_reusable, result, fingerprint),
        )
    finally:
        if attempt is None:
            store.close()


def _record_reusable(
    result: RunResult, fingerprint: run_cache.RunFingerprint, conn: sqlite3.Connection
) -> None:
    extra = run_cache.extra_of(
        result.values,
        result.datasets,
        result.extra.get("enrichment"),
        result.extra.get("weighting"),
    )
    run_cache.record(conn, fingerprint, result.run_id, extra)


def _metric_row(s: LoadedSpec) -> dict[str, Any]:
    spec = s.spec
    return {
        "metric": spec.name,
        "kind": spec.kind,
        "title": spec.title,
        "dataset": spec.dataset or "",
        "unit": spec.unit,
        "grain": spec.period,
        "spec_file": s.file,
        "spec_hash": s.text_hash,
        "spec": spec.model_dump(mode="json", exclude_none=True),
    }


def _value_row(v: MetricValue) -> dict[str, Any]:
    return {
        "metric": v.metric,
        "period": v.period.isoformat() if v.period else "",
        "slice": v.slice_key,
        "value": v.value,
        "n": v.n,
        "ci_low": v.ci_low,
        "ci_high": v.ci_high,
        "low_sample": v.low_sample,
        "rows": v.rows,
        "excluded": v.excluded,
        "counts": v.counts,
        "note": v.note,
    }


def _check_rows(result: RunResult) -> list[dict[str, Any]]:
    report = result.extra.get("checks")
    return list(report.store_rows()) if report is not None else []


def _reject_row(r: Reject) -> dict[str, Any]:
    return {
        "dataset": r.dataset,
        "metric": r.metric,
        "locator": r.locator,
        "field": r.field,
        "value": r.value,
        "reason": r.reason,
    }


def _locate_exclusions(
    results: Sequence[SpecResult], datasets: Mapping[str, LoadedDataset | EngineDataset]
) -> list[Reject]:
    wanted: dict[str, set[int]] = {}
    for r in results:
        wanted.setdefault(r.spec.dataset, set()).update(e.row for e in r.excluded)
    located = {
        name: datasets[name].locate(sorted(rows)) if rows else {} for name, rows in wanted.items()
    }
    out = []
    for r in results:
        where = located.get(r.spec.dataset, {})
        for e in r.excluded:
            out.append(
                Reject(
                    dataset=r.spec.dataset,
                    locator=where.get(e.row, f"row {e.row + 1}"),
                    reason=e.reason,
                    field=e.field,
                    value=e.value,
                    metric=r.spec.name,
                )
            )
    return out
