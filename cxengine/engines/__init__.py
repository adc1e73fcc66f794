"""Engines: where a dataset's specs are computed (embedded DuckDB, PostgreSQL, Spark, …).

A dataset with ``engine: postgres`` (or spark, or an engine a plugin registers with
the ``register_engines`` hook) is not read into DuckDB: it is typed and every spec
over it is computed inside the engine, and only aggregate rows come back. This module
is the runner's door to that: which datasets use an engine, opening them with their
credentials from the environment, validating specs against what an engine can run.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from cxengine.engines.api import EMBEDDED, Engine, NotPortable, redact, secrets_of
from cxengine.errors import DataError, Problem

if TYPE_CHECKING:
    from cxengine.config import DatasetConfig, ProjectConfig
    from cxengine.engines.relation import EngineDataset
    from cxengine.plugins import Registry
    from cxengine.spec.loader import LoadedSpec

__all__ = [
    "EMBEDDED",
    "Engine",
    "NotPortable",
    "check_engines",
    "compute_on_engine",
    "engine_of",
    "open_engine_datasets",
]


def engine_of(config: DatasetConfig) -> str:
    """Return the engine a dataset runs on (the embedded DuckDB unless it names one)."""
    return config.engine or EMBEDDED


def uses_engine(config: DatasetConfig) -> bool:
    """Return True when a dataset stays in an external engine."""
    return engine_of(config) != EMBEDDED


def engine_options(engine: Engine, config: DatasetConfig) -> BaseModel:
    """Validate a dataset's engine options (dsn_env, table or query, …)."""
    return engine.options_model.model_validate(config.source_options())


def check_engines(
    project: ProjectConfig, registry: Registry, specs: Sequence[LoadedSpec]
) -> list[Problem]:
    """Return the problems of engine datasets and of specs an engine cannot run.

    Without data and without a connection: each spec's queries are rendered for its
    engine, and whatever has no faithful rendering there is refused at its line.
    """
    from cxengine.config import problems_from_validation
    from cxengine.engines.relation import check_field, relation_sql
    from cxengine.errors import did_you_mean, known_list

    problems: list[Problem] = []
    usable: dict[str, tuple[Engine, DatasetConfig]] = {}
    for name, ds in project.model.datasets.items():
        path = ("datasets", name)
        if ds.join is not None:
            on_engine = [d for d in (ds.join.from_, ds.join.to)
                         if d in project.model.datasets
                         and uses_engine(project.model.datasets[d])]  # fmt: skip
            if on_engine:
                problems.append(
                    project.positions.problem(
                        (*path, "join"),
                        f"dataset {on_engine[0]!r} is on engine "
                        f"{project.model.datasets[on_engine[0]].engine!r}: a `join:` of it does "
                        "not run there yet (join in the engine with a `query:` instead)",
                    )
                )
            continue
        if not uses_engine(ds):
            continue
        engine = registry.engines.get(engine_of(ds))
        if engine is None:
            problems.append(
                project.positions.problem(
                    (*path, "engine"),
                    f"{ds.engine!r} is not a known engine"
                    f"{did_you_mean(str(ds.engine), list(registry.engines))}. "
                    f"Known engines: {known_list(registry.engines)}",
                )
            )
            continue
        try:
            options = engine_options(engine, ds)
        except ValidationError as exc:
            from cxengine.config import DATASET_KEYS

            known: dict[tuple[str | int, ...], list[str]] = {
                path: [*engine.options_model.model_fields, *sorted(DATASET_KEYS)]
            }
            problems.extend(problems_from_validation(exc, project.positions, path, known))
            continue
        try:
            relation_sql(engine, options)  # type: ignore[arg-type]
        except DataError as exc:
            key = "query" if getattr(options, "query", None) is not None else "table"
            problems.append(project.positions.problem((*path, key), str(exc)))
            continue
        ok = True
        for field_name, cfg in ds.fields.items():
            try:
                check_field(name, field_name, cfg)
            except NotPortable as exc:
                ok = False
                problems.append(
                    project.positions.problem(
                        (*path, "fields", field_name, "format"),
                        f"cannot run on engine {engine.name!r}: {exc}",
                    )
                )
        if ds.comments is not None:
            problems.append(
                project.positions.problem(
                    (*path, "comments"),
                    f"comment tagging reads every text; it does not run on engine "
                    f"{engine.name!r} yet (tag the comments in a file or DuckDB dataset)",
                )
            )
        if ok:
            usable[name] = (engine, ds)
    for loaded in specs:
        dataset = loaded.spec.dataset
        if dataset not in usable:
            continue
        engine, ds = usable[dataset]
        if getattr(loaded.spec, "weights", None) is not None:
            problems.append(
                loaded.problem(
                    ("weights",),
                    f"cannot run on engine {engine.name!r}: weighting (raking to margins) "
                    "runs only on the embedded DuckDB yet",
                )
            )
            continue
        try:
            check_renders(engine, ds, loaded, registry)
        except NotPortable as exc:
            problems.append(
                loaded.problem(("kind",), f"cannot run on engine {engine.name!r}: {exc}")
            )
    return problems


def check_renders(
    engine: Engine, config: DatasetConfig, loaded: LoadedSpec, registry: Registry
) -> None:
    """Render a spec's queries for an engine without data; raise NotPortable if it cannot."""
    from datetime import datetime

    from sqlglot import exp

    from cxengine.engines import pushdown
    from cxengine.engines.relation import EngineDataset, plan_fields
    from cxengine.engines.render import render
    from cxengine.interfaces import DerivedKind

    aggregation = registry.aggregation(loaded.spec.kind)
    if isinstance(aggregation, DerivedKind):
        return  # computed from other metrics' values, in Python
    # Each declared field as a native column of its type: the typing of text columns
    # is rendered (and checked) when the dataset is opened.
    native = {"integer": "int", "number": "float", "boolean": "bool", "datetime": "timestamp",
              "date": "date", "string": "text"}  # fmt: skip
    kinds = {cfg.column or name: native[cfg.type] for name, cfg in config.fields.items()}
    plans = plan_fields(loaded.spec.dataset or "", config, kinds)
    usable = exp.select(*(exp.column(p.name, quoted=True) for p in plans)).from_("_cx_probe")

    class _Probe(EngineDataset):
        """Renders every query, runs none; calendar kinds get one window to render."""

        def fetch(self, query: exp.Expression) -> tuple[list[str], list[tuple[Any, ...]]]:
            render(self.engine, query)
            return [], []

        def schema_of(self, query: exp.Expression) -> dict[str, str]:
            render(self.engine, query)
            return {}

        def bounds(self, query: exp.Expression) -> list[Any]:
            render(self.engine, query)
            return [datetime(2000, 1, 1), datetime(2000, 1, 31)]

    probe = _Probe(
        name=loaded.spec.dataset or "", engine=engine, session=None,  # type: ignore[arg-type]
        table=f"ds_{loaded.spec.dataset}", usable=usable,
        fields={p.name: p.type for p in plans}, rows_read=0, rows_used=0, rows_rejected=0,
        rejects=[], origin=engine.name, fingerprint="",
    )  # fmt: skip
    pushdown.compute_spec(probe, loaded.spec, aggregation)


def compute_on_engine(dataset: EngineDataset, spec: Any, aggregation: Any) -> Any:
    """Compute one spec inside its dataset's engine (errors without credentials)."""
    from cxengine.engines.pushdown import compute_spec

    with redacted(dataset):
        return compute_spec(dataset, spec, aggregation)


@contextlib.contextmanager
def open_engine_datasets(
    project: ProjectConfig, registry: Registry, names: set[str]
) -> Iterator[dict[str, EngineDataset]]:
    """Open the named engine datasets (typed, rejects counted); close the sessions after."""
    from cxengine.engines.relation import open_dataset

    opened: dict[str, EngineDataset] = {}
    sessions = []
    try:
        for name in sorted(names):
            cfg = project.model.datasets[name]
            engine = registry.engines[engine_of(cfg)]
            options = engine_options(engine, cfg)
            env = getattr(options, "dsn_env", None)
            dsn = os.environ.get(env) if env else None
            if env and not dsn:
                raise DataError(
                    f"dataset {name!r}: the environment variable {env} (its `dsn_env`) is not set"
                )
            secrets = secrets_of(dsn)
            with _redacted(name, engine.name, secrets):
                session = engine.connect(dsn, options)
                sessions.append(session)
                opened[name] = open_dataset(name, cfg, engine, session, options)  # type: ignore[arg-type]
                opened[name].secrets = list(secrets)
        yield opened
    finally:
        for session in sessions:
            with contextlib.suppress(Exception):
                session.close()


@contextlib.contextmanager
def redacted(dataset: EngineDataset) -> Iterator[None]:
    """Run engine work for a dataset, its credentials removed from any error."""
    with _redacted(dataset.name, dataset.engine.name, dataset.secrets):
        yield


@contextlib.contextmanager
def _redacted(dataset: str, engine: str, secrets: Sequence[str]) -> Iterator[None]:
    try:
        yield
    except NotPortable as exc:
        raise DataError(f"dataset {dataset!r}: {redact(str(exc), secrets)}") from None
    except DataError as exc:
        raise DataError(redact(str(exc), secrets)) from None
    except Exception as exc:
        # Driver errors may quote the connection string: never let it through, nor
        # chain the original (its text would be printed with the traceback).
        detail = redact(f"{type(exc).__name__}: {exc}", secrets).strip()
        raise DataError(f"dataset {dataset!r}: engine {engine!r} failed: {detail}") from None
