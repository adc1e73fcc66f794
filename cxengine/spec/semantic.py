"""Semantic rules for specs that need the project config but no data.

A dataset that declares its `fields` in cxengine.yaml is fully described there, so
field names and types can be checked without opening any file. A dataset without
declared fields is checked against real data by `cxengine validate --with-data`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cxengine.config import ProjectConfig
from cxengine.errors import Problem, did_you_mean, known_list
from cxengine.interfaces import ChecksInputs, DerivedKind, Kind
from cxengine.spec.links_checks import check_links, check_weighted_names, dataset_types, with_bands
from cxengine.spec.loader import LoadedSpec

TIME_TYPES = ("datetime", "date")


def check_specs(
    specs: Sequence[LoadedSpec],
    project: ProjectConfig,
    aggregations: Mapping[str, Kind],
    field_types: dict[str, dict[str, str]] | None = None,
) -> list[Problem]:
    """Check every spec against the project; `field_types` (dataset → field → type) from data."""
    problems: list[Problem] = []
    for loaded in specs:
        agg = aggregations[loaded.spec.kind]
        if isinstance(agg, DerivedKind):
            continue  # derived from other metrics: no dataset of its own
        problems.extend(check_spec(loaded, project, agg, field_types))
    problems.extend(check_dependencies(specs, aggregations))
    problems.extend(check_weighted_names(specs))
    return problems


def check_dependencies(
    specs: Sequence[LoadedSpec], aggregations: Mapping[str, Kind]
) -> list[Problem]:
    """Check that derived metrics name existing metrics and form no cycle."""
    by_name = {s.name: s for s in specs}
    graph: dict[str, list[str]] = {}
    problems: list[Problem] = []
    for s in specs:
        agg = aggregations[s.spec.kind]
        if not isinstance(agg, DerivedKind):
            continue
        deps = list(agg.depends_on(s.spec))
        for dep in deps:
            if dep not in by_name:
                problems.append(
                    s.problem(
                        ("expression",),
                        f"{dep!r} is not a metric of this project"
                        f"{did_you_mean(dep, list(by_name))}",
                    )
                )
        graph[s.name] = [d for d in deps if d in by_name]
        if isinstance(agg, ChecksInputs):
            # Inputs that cannot line up (a monthly and a quarterly metric) are a spec error.
            known = {d: by_name[d].spec for d in graph[s.name]}
            for severity, message in agg.check_inputs(s.spec, known):
                problems.append(s.problem(("expression",), message, severity))
    for cycle in find_cycles(graph):
        first = by_name[cycle[0]]
        problems.append(
            first.problem(
                ("expression",),
                "metrics depend on each other in a cycle: " + " -> ".join([*cycle, cycle[0]]),
            )
        )
    return problems


def find_cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Return one cycle per strongly connected loop found by depth-first search."""
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def dependency_order(
    specs: Sequence[LoadedSpec], aggregations: Mapping[str, Kind]
) -> list[LoadedSpec]:
    """Order specs so every derived metric comes after the metrics it uses."""
    by_name = {s.name: s for s in specs}
    done: set[str] = set()
    out: list[LoadedSpec] = []

    def visit(s: LoadedSpec) -> None:
        if s.name in done:
            return
        done.add(s.name)
        kind = aggregations[s.spec.kind]
        for dep in kind.depends_on(s.spec) if isinstance(kind, DerivedKind) else []:
            if dep in by_name:
                visit(by_name[dep])
        out.append(s)

    for s in specs:
        visit(s)
    return out


def check_spec(
    loaded: LoadedSpec,
    project: ProjectConfig,
    aggregation: Kind,
    field_types: dict[str, dict[str, str]] | None = None,
) -> list[Problem]:
    """Check one spec: its dataset, fields, types, slices and filter."""
    spec = loaded.spec
    datasets = project.model.datasets
    if spec.dataset not in datasets:
        return [
            loaded.problem(
                ("dataset",),
                f"{spec.dataset!r} is not a dataset in {project.path.name}"
                f"{did_you_mean(spec.dataset, list(datasets))}. "
                f"Known datasets: {known_list(datasets) or 'none'}",
            )
        ]
    if field_types is not None and spec.dataset in field_types:
        types: dict[str, str] | None = field_types[spec.dataset]
    else:
        # Declared fields; a joined dataset's come from its sides.
        types = dataset_types(project, spec.dataset)
    own_types, types = types, with_bands(loaded, types)

    problems: list[Problem] = []

    def need(field: str, key: tuple[str | int, ...], accepted: tuple[str, ...]) -> None:
        if types is None:
            return  # fields unknown until data is read
        if field not in types:
            problems.append(
                loaded.problem(
                    key,
                    f"{field!r} is not a field of dataset {spec.dataset!r}"
                    f"{did_you_mean(field, list(types))}. "
                    f"Fields: {known_list(types)}",
                )
            )
        elif accepted and types[field] not in accepted:
            problems.append(
                loaded.problem(
                    key,
                    f"field {field!r} is {types[field]}, but this needs {' or '.join(accepted)}",
                )
            )

    for field, accepted in aggregation.fields(spec).items():
        need(field, _key_of(spec, field), accepted)
    seen: set[str] = set()
    for i, field in enumerate(spec.by):
        if field in seen:
            problems.append(loaded.problem(("by", i), f"slice field {field!r} is listed twice"))
        seen.add(field)
        need(field, ("by", i), ())
    problems.extend(check_links(loaded, project, aggregation, own_types, field_types, need))
    if spec.time:
        need(spec.time, ("time",), TIME_TYPES)
    if spec.where:
        # The standard-library reader: checking specs never loads sqlglot (issue 12).
        from cxengine.filter_syntax import ExpressionError, check_filter
        from cxengine.filter_types import filter_type_problems

        try:
            tree = check_filter(spec.where, columns=list(types) if types is not None else None)
        except ExpressionError as exc:
            problems.append(loaded.problem(("where",), f"bad filter: {exc.message}"))
        else:
            if types is not None:
                for message in filter_type_problems(tree, types):
                    problems.append(loaded.problem(("where",), f"bad filter: {message}"))
    condition = getattr(spec, "condition", None)
    if isinstance(condition, str) and types is not None:
        # A share's condition is a filter too (its syntax is checked with the spec).
        from cxengine.filter_syntax import ExpressionError, check_filter
        from cxengine.filter_types import filter_type_problems

        try:
            tree = check_filter(condition, columns=list(types))
        except ExpressionError:
            pass  # unknown fields are reported through the kind's fields
        else:
            for message in filter_type_problems(tree, types):
                problems.append(loaded.problem(("condition",), f"bad condition: {message}"))
    return problems


def _key_of(spec: object, field: str) -> tuple[str | int, ...]:
    # Point at the key that names the field, so the line number is the useful one.
    for key in (
        "field", "from_field", "to_field", "customer", "category",
        "start", "end", "activity", "orders", "purchase", "opened", "closed",
    ):  # fmt: skip
        if getattr(spec, key, None) == field:
            return (key,)
    condition = getattr(spec, "condition", None)
    if isinstance(condition, str) and field in condition:
        return ("condition",)
    for i, item in enumerate(getattr(spec, "items", None) or []):
        if getattr(item, "field", None) == field:
            return ("items", i, "field")
    return ("kind",)


def wanted_types(
    specs: Sequence[LoadedSpec], project: ProjectConfig, aggregations: Mapping[str, Kind]
) -> dict[str, dict[str, tuple[str, ...]]]:
    """Return, per dataset without `fields:`, the types its specs accept for each field.

    A field several specs read gets the types all of them accept; a field no spec
    constrains is absent. The loader reads an inferred-text field as such a type
    (cxengine/dataset/fieldtypes.py, `_as_wanted`).
    """
    datasets = project.model.datasets
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for loaded in specs:
        spec = loaded.spec
        kind = aggregations.get(spec.kind)
        if kind is None or isinstance(kind, DerivedKind) or spec.dataset not in datasets:
            continue
        needs = {f: tuple(a) for f, a in kind.fields(spec).items() if a}
        if spec.time:
            needs[spec.time] = TIME_TYPES
        for field, accepted in needs.items():
            # A joined dataset's fields are its sides' fields: the need goes to them.
            for dataset, name in field_origins(str(spec.dataset), field, datasets):
                if datasets[dataset].fields:
                    continue  # declared fields are what they say
                fields = out.setdefault(dataset, {})
                have = fields.get(name)
                fields[name] = accepted if have is None else tuple(t for t in have if t in accepted)
    return out


def field_origins(
    dataset: str, field: str, datasets: Mapping[str, object], seen: tuple[str, ...] = ()
) -> list[tuple[str, str]]:
    """Return the loaded datasets and fields a dataset's field is read from.

    A plain dataset's field is itself. A join's field comes from one side, named as
    `cxengine/dataset/join.py` names it: `side.field` when both sides have it, a key
    from both sides, any other from whichever side has it, which only the data tells:
    both are returned, and the loader ignores a field a side does not have.
    """
    cfg = datasets.get(dataset)
    if cfg is None or dataset in seen:
        return []  # an unknown side or a cycle: reported by the join checks
    join = getattr(cfg, "join", None)
    if join is None:
        return [(dataset, field)]
    inner = (*seen, dataset)
    for side in (join.from_, join.to):
        if field.startswith(f"{side}."):
            return field_origins(side, field[len(side) + 1 :], datasets, inner)
    if field in join.on:
        return [
            *field_origins(join.from_, field, datasets, inner),
            *field_origins(join.to, join.on[field], datasets, inner),
        ]
    return [
        *field_origins(join.from_, field, datasets, inner),
        *field_origins(join.to, field, datasets, inner),
    ]


def retyped_warnings(
    specs: Sequence[LoadedSpec],
    datasets: Mapping[str, object],
    aggregations: Mapping[str, Kind],
    configured: Mapping[str, object] | None = None,
) -> list[Problem]:
    """Warn, at the spec key naming it, of each field read as the specs need, not as inferred.

    Names the value that made inference say "text" and where it is, so the user can
    fix the data or declare the field. `configured` (the project's datasets) lets a
    field of a joined dataset be traced to the side it was read from.
    """
    from cxengine.dataset.load import LoadedDataset

    problems: list[Problem] = []
    for loaded in specs:
        spec = loaded.spec
        kind = aggregations.get(spec.kind)
        if kind is None or isinstance(kind, DerivedKind):
            continue
        used = [*kind.fields(spec), *([spec.time] if spec.time else [])]
        for name in dict.fromkeys(used):
            origins = (
                field_origins(str(spec.dataset), name, configured)
                if configured is not None
                else [(str(spec.dataset), name)]
            )
            for dataset, field in origins:
                ds = datasets.get(dataset)
                if not isinstance(ds, LoadedDataset) or field not in ds.retyped:
                    continue  # an engine's dataset is typed where it lives
                bad = [r for r in ds.rejects if r.field == field]
                example = f" because of {bad[0].value!r} ({bad[0].locator})" if bad else ""
                problems.append(
                    loaded.problem(
                        _key_of(spec, name) if name != spec.time else ("time",),
                        f"field {field!r} of dataset {dataset!r} would be inferred as text"
                        f"{example}; it is read as {ds.fields[field]} for this spec and "
                        f"{len(bad)} value(s) that are not are rejected (declare it under "
                        "`fields:` to say so)",
                        "warning",
                    )
                )
    return problems
