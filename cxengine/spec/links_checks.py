"""Validation of what joins, bands and weights add to a spec, located in its file.

Called by `spec.semantic.check_spec` with the dataset's field types (declared, or
read from data with `validate --with-data`):

- a joined dataset's fields come from its sides (`dataset_types`);
- a band reads a numeric field and creates a string slice field (`with_bands`);
- `weights:` needs its fields in the spec's dataset and in the population dataset,
  a kind whose counts can be weighted, and a free `<name>_weighted` metric name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from cxengine.errors import Problem, did_you_mean, known_list
from cxengine.weighting.apply import weightable, weighted_name, weights_of

if TYPE_CHECKING:
    from cxengine.config import ProjectConfig
    from cxengine.interfaces import Kind
    from cxengine.spec.loader import LoadedSpec

NUMERIC = ("integer", "number")


def dataset_types(project: ProjectConfig, dataset: str) -> dict[str, str] | None:
    """Return a dataset's declared field types (a join's from its sides); None if unknown."""
    from cxengine.dataset.join import declared_join_fields

    return declared_join_fields(dataset, project.model.datasets)


def with_bands(loaded: LoadedSpec, types: dict[str, str] | None) -> dict[str, str] | None:
    """Return the field types the spec sees: its band slice fields added as strings."""
    if types is None or not loaded.spec.bands:
        return types
    return {**types, **{name: "string" for name in loaded.spec.bands}}


def check_links(
    loaded: LoadedSpec,
    project: ProjectConfig,
    aggregation: Kind,
    types: Mapping[str, str] | None,
    field_types: Mapping[str, Mapping[str, str]] | None,
    need: Callable[[str, tuple[str | int, ...], tuple[str, ...]], None],
) -> list[Problem]:
    """Check the spec's bands and weights; `need` reports a missing or mistyped field.

    `types` are the dataset's own field types (before band fields are added).
    """
    spec = loaded.spec
    problems: list[Problem] = []
    for name, band in spec.bands.items():
        i = spec.by.index(name)
        need(band.field, ("by", i, "field"), NUMERIC)
        if types is not None and name in types:
            problems.append(
                loaded.problem(("by", i), f"band name {name!r} is already a field; set `name:`")
            )
    weights = weights_of(spec)
    if weights is None:
        return problems
    why = weightable(aggregation, spec)
    if why is not None:
        problems.append(loaded.problem(("weights",), why))
    for i, f in enumerate(weights.by):
        need(f, ("weights", "by", i), ())
    if weights.population is not None:
        problems.extend(_check_population(loaded, project, weights.by, field_types))
    return problems


def _check_population(
    loaded: LoadedSpec,
    project: ProjectConfig,
    fields: Sequence[str],
    field_types: Mapping[str, Mapping[str, str]] | None,
) -> list[Problem]:
    weights = weights_of(loaded.spec)
    assert weights is not None and weights.population is not None
    population = weights.population
    datasets = project.model.datasets
    if population not in datasets:
        return [
            loaded.problem(
                ("weights", "population"),
                f"{population!r} is not a dataset{did_you_mean(population, list(datasets))}. "
                f"Known datasets: {known_list(datasets)}",
            )
        ]
    if field_types is not None and population in field_types:
        types: Mapping[str, str] | None = field_types[population]
    else:
        types = dataset_types(project, population)
    if types is None:
        return []
    return [
        loaded.problem(
            ("weights", "by", i),
            f"{f!r} is not a field of the population dataset {population!r}"
            f"{did_you_mean(f, list(types))}; its margins are counted there",
        )
        for i, f in enumerate(fields)
        if f not in types
    ]


def check_weighted_names(specs: Sequence[LoadedSpec]) -> list[Problem]:
    """A weighted spec's values are stored as `<name>_weighted`: no other spec may use it."""
    names = {s.name for s in specs}
    return [
        s.problem(
            ("weights",),
            f"the weighted values of {s.name!r} are stored as {weighted_name(s.name)!r}, "
            "which another spec is named",
        )
        for s in specs
        if weights_of(s.spec) is not None and weighted_name(s.name) in names
    ]
