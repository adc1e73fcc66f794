"""A session: one DuckDB connection holding a project's datasets, ready to compute.

Every command that computes does the same four steps, in this order: open DuckDB,
load the datasets it needs (typing and rejects), tag their comments with the
enrichers (cached in the results database), lock the connection down (no file,
network or extension access from then on), then compute specs. `Session` is those
steps, shared by the runner and by plugins (the NLP plugin's theme reports), so no
caller repeats or reorders them.

    with Session(project) as session:
        session.load({"responses"})
        session.enrich()
        session.lock_down()
        result = session.compute(spec)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING

from cxengine.compute.derived import compute_derived
from cxengine.compute.engine import compute_spec
from cxengine.compute.values import SpecResult
from cxengine.interfaces import DerivedKind, Kind
from cxengine.linkage import order_bands, spec_table, weighted_result
from cxengine.spec.models import MetricSpec
from cxengine.weighting.apply import WeightedResult, weights_of

if TYPE_CHECKING:
    import duckdb

    from cxengine.config import ProjectConfig
    from cxengine.dataset.join import JoinCounts
    from cxengine.dataset.load import LoadedDataset
    from cxengine.engines.relation import EngineDataset
    from cxengine.enrich import EnrichmentReport
    from cxengine.plugins import Registry

Progress = Callable[[str, int, int], None]


def load_datasets(
    con: duckdb.DuckDBPyConnection,
    project: ProjectConfig,
    registry: Registry,
    names: Iterable[str],
    progress: Progress | None = None,
    joins: dict[str, JoinCounts] | None = None,
    keep: Mapping[str, Collection[str] | None] | None = None,
    wanted: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
) -> dict[str, LoadedDataset]:
    """Load the named datasets into DuckDB tables; a joined one after its sides.

    `joins` receives, per joined dataset, how many rows of each side matched. `keep`
    names, per dataset, the fields to keep in memory (absent or None: all of them);
    `wanted` gives per dataset the types specs need of undeclared fields.
    """
    from cxengine.dataset.join import join_plan
    from cxengine.dataset.load import load_dataset
    from cxengine.linkage import build_joins

    ordered, joined = join_plan(names, project.model.datasets)
    loaded = {}
    for i, name in enumerate(ordered):
        cfg = project.model.datasets[name]
        assert cfg.source is not None  # joins are built below
        loaded[name] = load_dataset(
            con,
            name,
            cfg,
            registry.source(cfg.source),
            base_dir=project.base_dir,
            allowed_paths=project.allowed_paths(),
            keep=(keep or {}).get(name),
            spec_types=(wanted or {}).get(name),
        )
        if progress:
            progress(f"loaded {name}", i + 1, len(ordered))
    matched = build_joins(con, project, loaded, joined)
    if joins is not None:
        joins.update(matched)
    return loaded


def lock_down(con: duckdb.DuckDBPyConnection) -> None:
    """Forbid file, network and extension access: a second wall behind the filter whitelist."""
    con.execute("SET enable_external_access = false")
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET lock_configuration = true")


class Session:
    """A project's datasets in one DuckDB connection: load, enrich, lock down, compute."""

    def __init__(
        self,
        project: ProjectConfig,
        registry: Registry | None = None,
        *,
        progress: Progress | None = None,
    ):
        import duckdb

        from cxengine.plugins import get_registry

        self.project = project
        self.registry = registry or get_registry()
        self.progress = progress
        from cxengine import interrupts

        # Tracked so that SIGINT/SIGTERM can stop a running query (cxengine.interrupts).
        self.con: duckdb.DuckDBPyConnection = interrupts.track(duckdb.connect())
        #: The loaded datasets by name; enrichment adds its tag columns to them. A
        #: dataset on an engine (docs/engines.md) stays there: an EngineDataset.
        self.datasets: dict[str, LoadedDataset | EngineDataset] = {}
        self._engines = contextlib.ExitStack()
        self.enrichment: EnrichmentReport | None = None
        #: How the sides of each joined dataset matched.
        self.joins: dict[str, JoinCounts] = {}
        self.locked = False
        #: Results computed ahead by compute_together, by spec name.
        self._ready: dict[str, tuple[MetricSpec, SpecResult]] = {}

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the DuckDB connection (its temporary tables go with it) and engine sessions."""
        try:
            self._engines.close()
        finally:
            self.con.close()

    def load(
        self,
        names: Iterable[str],
        keep: Mapping[str, Collection[str] | None] | None = None,
        field_types: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
    ) -> dict[str, LoadedDataset | EngineDataset]:
        """Load the named datasets (those not loaded yet) and return them.

        `keep` names, per dataset, the only fields the caller will read (absent or
        None: all): see cxengine/dataset/needed.py. A dataset on an engine is opened
        there (typed, rejects counted), not loaded. `field_types`: per dataset, the
        types specs accept for its undeclared fields (`wanted_types`), so a field
        inferred as text for one bad value is read as the number the specs need.
        """
        from cxengine.engines import on_engine, open_engine_datasets

        if self.locked:
            raise RuntimeError("load datasets before the session is locked down")
        wanted = [n for n in names if n not in self.datasets]
        remote = {n for n in wanted if on_engine(n, self.project.model.datasets)}
        local = [n for n in wanted if n not in remote]
        self.datasets.update(
            load_datasets(
                self.con,
                self.project,
                self.registry,
                local,
                self.progress,
                self.joins,
                keep,
                field_types,
            )
        )
        if remote:
            self.datasets.update(
                self._engines.enter_context(
                    open_engine_datasets(self.project, self.registry, remote, self.joins)
                )
            )
        return self.datasets

    def _local(self) -> dict[str, LoadedDataset]:
        from cxengine.dataset.load import LoadedDataset

        return {n: d for n, d in self.datasets.items() if isinstance(d, LoadedDataset)}

    def enrich(self, *, write: bool = True) -> EnrichmentReport:
        """Tag the loaded datasets' comments; with `write`, store new tags in the database.

        Tags are read from (and written to) the project's results database, so a
        comment tagged once is not analysed again.
        """
        from cxengine.enrich import enrich_datasets

        if self.locked:
            raise RuntimeError("enrich before the session is locked down")
        self.enrichment = enrich_datasets(
            # Engine datasets have no comments to tag (validate refuses `comments:` there).
            self.con, self.project, self.registry, self._local(),
            database=self.project.database_path, write=write, progress=self.progress,
        )  # fmt: skip
        return self.enrichment

    def lock_down(self) -> None:
        """Forbid file, network and extension access for the rest of the session."""
        lock_down(self.con)
        self.locked = True

    def compute(
        self,
        spec: MetricSpec,
        kind: Kind | None = None,
        computed: Sequence[SpecResult] = (),
    ) -> SpecResult:
        """Compute one spec over its loaded dataset (a derived one from `computed`)."""
        kind = kind or self.registry.aggregation(spec.kind)
        if isinstance(kind, DerivedKind):
            return compute_derived(spec, kind, computed)
        ready = self._ready.pop(spec.name, None)
        if ready is not None and ready[0] is spec:
            result = ready[1]
        else:
            from cxengine.engines import compute_on_engine
            from cxengine.engines.relation import EngineDataset

            ds = self.datasets[spec.dataset]
            if isinstance(ds, EngineDataset):
                # Computed where the data lives (docs/engines.md).
                result = compute_on_engine(ds, spec, kind)
            else:
                # Band slices read a view that adds their labels (cxengine/bands.py).
                table, types = spec_table(self.con, spec, ds.table, ds.fields)
                zones = self.field_zones(spec.dataset)
                result = compute_spec(self.con, spec, kind, table, types, zones)
        order_bands(spec, result.values)
        return result

    def compute_together(self, specs: Sequence[MetricSpec]) -> None:
        """Compute now, one grouped query per dataset, the specs that can share one.

        Specs reading the same rows with the same grouping (most survey specs of a
        dataset: per touchpoint × month) are answered by one scan
        (cxengine/compute/merged.py); `compute(spec)` then returns each one's result.
        Anything that cannot share, or a shared query that fails, is left to
        `compute(spec)`, which computes (and reports) that spec on its own.
        """
        from cxengine.compute import merged
        from cxengine.compute.engine import plan_spec, run_plans
        from cxengine.dataset.load import LoadedDataset

        self._compute_together_on_engines(specs)
        plans = []
        for spec in specs:
            kind = self.registry.aggregation(spec.kind)
            ds = self.datasets.get(spec.dataset)
            # Only datasets loaded into DuckDB: engine datasets are grouped above.
            if isinstance(kind, DerivedKind) or not isinstance(ds, LoadedDataset):
                continue
            try:
                table, types = spec_table(self.con, spec, ds.table, ds.fields)
                plan = plan_spec(spec, kind, table, types, self.field_zones(spec.dataset))
            except Exception:  # reported by compute(spec), on its own
                continue
            if merged.mergeable(plan):
                plans.append(plan)
        for group in merged.group_plans(plans):
            if len(group) < 2:
                continue
            members = [plans[i] for i in group]
            try:
                results = run_plans(self.con, members)
            except Exception:  # each spec is then computed on its own
                continue
            for plan, result in zip(members, results, strict=True):
                self._ready[plan.spec.name] = (plan.spec, result)

    def _compute_together_on_engines(self, specs: Sequence[MetricSpec]) -> None:
        """As `compute_together`, for datasets that stay in an engine (docs/engines.md)."""
        from cxengine.engines.relation import EngineDataset

        by_dataset: dict[str, tuple[EngineDataset, list[tuple[MetricSpec, Kind]]]] = {}
        for spec in specs:
            kind = self.registry.aggregation(spec.kind)
            ds = self.datasets.get(spec.dataset)
            if not isinstance(kind, DerivedKind) and isinstance(ds, EngineDataset):
                by_dataset.setdefault(spec.dataset, (ds, []))[1].append((spec, kind))
        if not by_dataset:
            return
        from cxengine.engines import compute_together_on_engine

        for ds, members in by_dataset.values():
            if len(members) < 2:
                continue
            try:
                results = compute_together_on_engine(ds, members)
            except Exception:  # each spec is then computed (and reported) on its own
                continue
            for spec, _ in members:
                if spec.name in results:
                    self._ready[spec.name] = (spec, results[spec.name])

    def compute_weighted(self, spec: MetricSpec, kind: Kind | None = None) -> WeightedResult | None:
        """Compute a spec's weighted values (`<name>_weighted`); None without `weights:`."""
        if weights_of(spec) is None:
            return None
        kind = kind or self.registry.aggregation(spec.kind)
        ds = self.datasets[spec.dataset]
        table, types = spec_table(self.con, spec, ds.table, ds.fields)
        zones = self.field_zones(spec.dataset)
        # Weighted specs on an engine dataset are refused by validate (docs/engines.md).
        return weighted_result(self.con, spec, kind, table, types, self._local(), zones)

    def field_zones(self, dataset: str) -> Mapping[str, str]:
        """Return each declared datetime field's zone (values are UTC instants; periods local)."""
        cfg = self.project.model.datasets[dataset]
        if cfg.join is not None:
            # A joined dataset's datetimes keep the zones their sides declare.
            left, right = self.field_zones(cfg.join.from_), self.field_zones(cfg.join.to)
            from cxengine.dataset.join import clashing_names

            sides = (cfg.join.from_, cfg.join.to)
            names = [
                self.datasets[d].fields if d in self.datasets else z
                for d, z in zip(sides, (left, right), strict=True)
            ]
            clash = clashing_names(*names)
            zones = dict(left)
            for name, zone in right.items():
                zones[f"{cfg.join.to}.{name}" if name in clash else name] = zone
            zones.update(
                {f"{cfg.join.from_}.{mine}": left[mine] for mine in clash.values() if mine in left}
            )
            return zones
        fields = cfg.fields
        return {name: f.timezone or "UTC" for name, f in fields.items() if f.type == "datetime"}
