"""Which fields of each dataset a run reads: the others need not be kept in memory.

A survey file's comment column is most of its bytes; when no spec, join, enricher or
weighting reads it, the loader checks it (its encoding, like every column) but does
not store it (`load_dataset(..., keep=...)`). The rule is deliberately conservative:
a field is kept when its name appears in any text of any spec of the dataset (its
field, `by`, `time`, filter, bands, weights, even its title: a false match only costs
memory), plus what comment tagging reads (the comment, its key, the scores it learns
from); a dataset keeps every field when anything else might read it: a join,
weighting, a kind from a plugin (whose reads cxengine cannot see), or fields whose
types are inferred.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from cxengine.interfaces import DerivedKind

if TYPE_CHECKING:
    from cxengine.config import ProjectConfig
    from cxengine.plugins import Registry
    from cxengine.spec.models import MetricSpec

BUILTIN_KINDS = "cxengine.default_plugins."


def fields_to_keep(
    project: ProjectConfig, registry: Registry, specs: Iterable[MetricSpec], loaded: Iterable[str]
) -> dict[str, set[str] | None]:
    """Return, per dataset to load, the fields the run reads (None: keep them all)."""
    datasets = project.model.datasets
    specs = list(specs)
    loaded = set(loaded)
    keep: dict[str, set[str] | None] = {}
    joined_sides = {
        side
        for name in loaded
        if (cfg := datasets.get(name)) is not None and cfg.join is not None
        for side in (cfg.join.from_, cfg.join.to)
    }
    for name in loaded:
        cfg = datasets.get(name)
        if cfg is None or cfg.join is not None or not cfg.fields:
            keep[name] = None
            continue
        if name in joined_sides:
            keep[name] = None
            continue
        own = [s for s in specs if s.dataset == name]
        texts: list[str] = []
        everything = not own
        for spec in own:
            kind = registry.aggregation(spec.kind)
            if isinstance(kind, DerivedKind):
                continue
            if not type(kind).__module__.startswith(BUILTIN_KINDS) or _weighted(spec):
                everything = True
                break
            texts.extend(_strings(spec.model_dump()))
        if everything:
            keep[name] = None
            continue
        kept = {f for f in cfg.fields if any(f in text for text in texts)}
        if cfg.comments is not None:
            # Tagging reads the comment, its key and the scores it learns from; the
            # tags are read beside the rows (a view), not in a copy of every field.
            c = cfg.comments
            learn = c.learn_from.field if c.learn_from is not None else None
            kept |= {f for f in (c.field, c.key or cfg.key, learn) if f}
        keep[name] = kept
    # Weighting reads other datasets (populations) as a whole.
    for spec in specs:
        if _weighted(spec):
            for name in loaded:
                if name != spec.dataset:
                    keep[name] = None
    return keep


def _weighted(spec: MetricSpec) -> bool:
    return getattr(spec, "weights", None) is not None


def _strings(value: Any) -> Iterator[str]:
    """Every text in a spec's data: values and keys, however deeply nested."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, list | tuple | set | frozenset):
        for v in value:
            yield from _strings(v)
