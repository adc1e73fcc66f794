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
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from cxengine.engines.api import (
    EMBEDDED,
    Engine,
    EngineSession,
    NotPortable,
    redact,
    secrets_of,
)
from cxengine.errors import DataError, Problem

if TYPE_CHECKING:
    from cxengine.config import DatasetConfig, ProjectConfig
    from cxengine.dataset.join import JoinCounts
    from cxengine.engines.relation import EngineDataset
    from cxengine.plugins import Registry
    from cxengine.spec.loader import LoadedSpec

__all__ = [
    "EMBEDDED",
    "Engine",
    "NotPortable",
    "check_engines",
    "compute_on_engine",
    "compute_together_on_engine",
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
    if not any(uses_engine(ds) for ds in project.model.datasets.values()):
        # Nothing leaves the embedded DuckDB (a join is on an engine only when a side
        # is): validating such a project must not import the engines' SQL renderers.
        return []
    from cxengine.config import problems_from_validation
    from cxengine.engines.fieldtyping import check_field
    from cxengine.engines.relation import relation_sql
    from cxengine.errors import did_you_mean, known_list
    from cxengine.weighting.apply import weights_of

    problems: list[Problem] = []
    usable: dict[str, tuple[Engine, DatasetConfig]] = {}
    joined: dict[str, tuple[Engine, dict[str, str]]] = {}
    for name, ds in project.model.datasets.items():
        path = ("datasets", name)
        if ds.join is not None:
            sides = [d for d in (ds.join.from_, ds.join.to) if d in project.model.datasets]
            remote = [d for d in sides if on_engine(d, project.model.datasets)]
            if not remote:
                continue
            same = (
                len(remote) == 2
                and len({_connection(d, project.model.datasets) for d in remote}) == 1
            )
            if not same:
                problems.append(
                    project.positions.problem(
                        (*path, "join"),
                        f"dataset {remote[0]!r} stays in its engine: a `join:` of it runs there, "
                        "with both sides on the same engine and `dsn_env:` (or join them in "
                        "a `query:`)",
                    )
                )
                continue
            from cxengine.dataset.join import declared_join_fields

            join_fields = declared_join_fields(name, project.model.datasets)
            join_engine = registry.engines.get(_connection(remote[0], project.model.datasets)[0])
            if join_fields is not None and join_engine is not None:
                joined[name] = (join_engine, join_fields)
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
    renders: dict[str, tuple[Engine, dict[str, str]]] = {
        n: (e, {f: str(c.type) for f, c in ds.fields.items()}) for n, (e, ds) in usable.items()
    }
    renders.update({n: x for n, x in joined.items() if all(
        d in usable for d in _sides(n, project.model.datasets))})  # fmt: skip
    for loaded in specs:
        dataset = loaded.spec.dataset
        if dataset not in renders:
            continue
        engine, types = renders[dataset]
        if weights_of(loaded.spec) is not None:
            problems.append(
                loaded.problem(
                    ("weights",),
                    f"cannot run on engine {engine.name!r}: weighting (raking to margins) "
                    "runs only on the embedded DuckDB yet",
                )
            )
            continue
        try:
            check_renders(engine, types, loaded, registry)
        except NotPortable as exc:
            problems.append(
                loaded.problem(("kind",), f"cannot run on engine {engine.name!r}: {exc}")
            )
    return problems


def _sides(name: str, datasets: Mapping[str, DatasetConfig]) -> list[str]:
    """The datasets with a relation that a (joined) dataset reads."""
    cfg = datasets[name]
    if cfg.join is None:
        return [name]
    return [*_sides(cfg.join.from_, datasets), *_sides(cfg.join.to, datasets)]


def check_renders(
    engine: Engine, fields: Mapping[str, str], loaded: LoadedSpec, registry: Registry
) -> None:
    """Render a spec's queries for an engine without data; raise NotPortable if it cannot."""
    from datetime import datetime

    from sqlglot import exp

    from cxengine.engines import pushdown
    from cxengine.engines.fieldtyping import plan_fields
    from cxengine.engines.relation import EngineDataset
    from cxengine.engines.render import render
    from cxengine.interfaces import DerivedKind

    aggregation = registry.aggregation(loaded.spec.kind)
    if isinstance(aggregation, DerivedKind):
        return  # computed from other metrics' values, in Python
    # Each declared field as a native column of its type: the typing of text columns
    # is rendered (and checked) when the dataset is opened.
    native = {"integer": "int", "number": "float", "boolean": "bool", "datetime": "timestamp",
              "date": "date", "string": "text"}  # fmt: skip
    from cxengine.config import DatasetConfig

    kinds = {name: native[t] for name, t in fields.items()}
    bare = DatasetConfig.model_validate({"engine": engine.name, "fields": dict(fields)})
    plans = plan_fields(loaded.spec.dataset or "", bare, kinds)
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
        rejects=[], origin=engine.name, identity="",
    )  # fmt: skip
    pushdown.compute_spec(probe, loaded.spec, aggregation)


def compute_on_engine(dataset: EngineDataset, spec: Any, aggregation: Any) -> Any:
    """Compute one spec inside its dataset's engine (errors without credentials)."""
    from cxengine.engines.pushdown import compute_spec

    with redacted(dataset):
        return compute_spec(dataset, spec, aggregation)


def compute_together_on_engine(
    dataset: EngineDataset, specs: Sequence[tuple[Any, Any]]
) -> dict[str, Any]:
    """Compute in the engine, one grouped query per group, the specs that can share one.

    Returns each computed spec's result by name (cxengine/engines/pushdown.py:
    `compute_together`); the others are for `compute_on_engine`.
    """
    from cxengine.engines.pushdown import compute_together

    with redacted(dataset):
        return compute_together(dataset, specs)


def on_engine(name: str, datasets: Mapping[str, DatasetConfig], seen: tuple[str, ...] = ()) -> bool:
    """Return True when a dataset stays in an engine: it names one, or joins two that do."""
    cfg = datasets.get(name)
    if cfg is None or name in seen:
        return False
    if cfg.join is not None:
        return on_engine(cfg.join.from_, datasets, (*seen, name)) and on_engine(
            cfg.join.to, datasets, (*seen, name)
        )
    return uses_engine(cfg)


def _connection(name: str, datasets: Mapping[str, DatasetConfig]) -> tuple[str, str | None]:
    """The engine and `dsn_env` a dataset (or a join's sides) reads through."""
    cfg = datasets[name]
    if cfg.join is not None:
        return _connection(cfg.join.from_, datasets)
    return engine_of(cfg), (cfg.source_options().get("dsn_env"))


@contextlib.contextmanager
def open_engine_datasets(
    project: ProjectConfig,
    registry: Registry,
    names: set[str],
    joins: dict[str, JoinCounts] | None = None,
) -> Iterator[dict[str, EngineDataset]]:
    """Open the named engine datasets (typed, rejects counted); close the sessions after.

    Datasets reading through the same engine and `dsn_env` share one session; a
    `join:` of two of them is made in the engine. `joins` receives, per joined
    dataset, how many rows of each side matched.
    """
    from cxengine.dataset.join import JoinError, join_plan
    from cxengine.engines.join import join_on_engine
    from cxengine.engines.relation import open_dataset
    from cxengine.errors import SpecError

    datasets = project.model.datasets
    plain, joined = join_plan(names, datasets)
    opened: dict[str, EngineDataset] = {}
    sessions: dict[tuple[str, str | None], tuple[EngineSession, list[str]]] = {}
    try:
        for name in plain:
            cfg = datasets[name]
            engine = registry.engines[engine_of(cfg)]
            options = engine_options(engine, cfg)
            env = getattr(options, "dsn_env", None)
            dsn = os.environ.get(env) if env else None
            if env and not dsn:
                raise DataError(
                    f"dataset {name!r}: the environment variable {env} (its `dsn_env`) is not set"
                )
            secrets = list(secrets_of(dsn))
            with _redacted(name, engine.name, secrets):
                if (engine.name, env) not in sessions:
                    sessions[(engine.name, env)] = (engine.connect(dsn, options), secrets)
                session = sessions[(engine.name, env)][0]
                opened[name] = open_dataset(name, cfg, engine, session, options)  # type: ignore[arg-type]
                opened[name].secrets = secrets
        for name in joined:
            cfg = datasets[name]
            assert cfg.join is not None
            left, right = opened[cfg.join.from_], opened[cfg.join.to]
            if _connection(cfg.join.from_, datasets) != _connection(cfg.join.to, datasets):
                raise DataError(
                    f"dataset {name!r}: a join on an engine needs both sides in the same "
                    "engine and database (the same `engine:` and `dsn_env:`)"
                )
            try:
                with _redacted(name, left.engine.name, left.secrets):
                    opened[name], counts = join_on_engine(name, cfg.join, left, right)
            except JoinError as exc:
                path = ("datasets", name, "join", *exc.path)
                raise SpecError([project.positions.problem(path, exc.message)]) from None
            if joins is not None:
                joins[name] = counts
        # The sides of a join too, as the embedded loader reports them.
        yield opened
    finally:
        for session, _ in sessions.values():
            with contextlib.suppress(Exception):
                session.close()


@contextlib.contextmanager
def redacted(dataset: EngineDataset) -> Iterator[None]:
    """Run engine work for a dataset, its credentials removed from any error."""
    with _redacted(dataset.name, dataset.engine.name, dataset.secrets):
        yield


@contextlib.contextmanager
def _redacted(dataset: str, engine: str, secrets: Sequence[str]) -> Iterator[None]:
    from cxengine.dataset.join import JoinError

    try:
        yield
    except JoinError:
        raise  # about the data's keys, located by the caller at the `join:` block
    except NotPortable as exc:
        raise DataError(f"dataset {dataset!r}: {redact(str(exc), secrets)}") from None
    except DataError as exc:
        raise DataError(redact(str(exc), secrets)) from None
    except Exception as exc:
        # Driver errors may quote the connection string: never let it through, nor
        # chain the original (its text would be printed with the traceback).
        detail = redact(f"{type(exc).__name__}: {exc}", secrets).strip()
        raise DataError(f"dataset {dataset!r}: engine {engine!r} failed: {detail}") from None
