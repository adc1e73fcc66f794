"""Values for groups the grouped query returns no row for, though they have a value.

GROUP BY only returns groups that have rows. Two kinds of group can lack a row and
still have a well-defined value:

- a category of a per-category kind (``distribution``) absent from one slice or
  period while present elsewhere: its share there is 0 % of that group's n, not
  "missing";
- a time window of a calendar kind (``backlog``) that no row overlaps: a backlog of
  nothing is 0, which the kind's estimate of empty counts says.

Empty *periods* of ordinary kinds (no rows at all) are a different case, handled by
the engine: n = 0 and an empty value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cxengine.compute.values import MetricValue, slice_key
from cxengine.interfaces import (
    CategoricalKind,
    CategoryCounts,
    Estimate,
    FillsAbsentCategories,
    Kind,
)
from cxengine.spec.models import MetricSpec

if TYPE_CHECKING:
    import duckdb

    from cxengine.compute.plan import Plan


def _value(
    spec: MetricSpec,
    template: MetricValue | None,
    period: Any,
    slice_: dict[str, Any],
    est: Estimate,
    counts: dict[str, Any],
) -> MetricValue:
    return MetricValue.from_estimate(
        spec,
        est,
        period=period,
        slice=slice_,
        counts=counts,
        rows=template.rows if template else 0,
        excluded=template.excluded if template else 0,
    )


def missing_categories(
    spec: MetricSpec, kind: Kind, values: Sequence[MetricValue]
) -> list[MetricValue]:
    """Return the 0-of-n values of categories a group lacks but other groups have."""
    if not (isinstance(kind, CategoricalKind) and isinstance(kind, FillsAbsentCategories)):
        return []
    key = kind.category_key(spec)
    categories: list[Any] = []
    groups: dict[tuple[Any, str], tuple[dict[str, Any], set[Any], MetricValue]] = {}
    for v in values:
        if key not in v.slice:
            continue
        cat = v.slice[key]
        if cat not in categories:
            categories.append(cat)
        rest = {k: x for k, x in v.slice.items() if k != key}
        group = groups.setdefault((v.period, slice_key(rest)), (rest, set(), v))
        group[1].add(cat)
    out = []
    for (period, _), (rest, present, template) in groups.items():
        for cat in categories:
            if cat not in present:
                est = kind.absent_category(spec, template.counts)
                counts = (
                    dict(kind.category_counts(spec, template.counts, cat))
                    if isinstance(kind, CategoryCounts)
                    else template.counts
                )
                out.append(_value(spec, template, period, {**rest, key: cat}, est, counts))
    return out


def missing_windows(
    con: duckdb.DuckDBPyConnection,
    plan: Plan,
    windows: str,
    values: Sequence[MetricValue],
    data_slices: Sequence[Mapping[str, Any]] = (),
) -> list[MetricValue]:
    """Return the values of calendar windows (× slices) that no row was joined to.

    The slices are those of the values and `data_slices` (every slice of the rows), so
    a slice that no window ever counted still gets its zeros.
    """
    spec, kind = plan.spec, plan.kind
    periods = [row[0] for row in con.execute(f'SELECT _cx_period FROM "{windows}"').fetchall()]
    slices: dict[str, dict[str, Any]] = {"{}": {}}
    for v in values:
        slices.setdefault(v.slice_key, v.slice)
    for found in data_slices:
        slices.setdefault(slice_key(dict(found)), dict(found))
    present = {(v.period, v.slice_key) for v in values}
    empty = dict.fromkeys(plan.counts(), None)
    out: list[MetricValue] = []
    for period in periods:
        for key, slice_ in slices.items():
            if (period, key) in present:
                continue
            est = kind.estimate(spec, empty)
            if isinstance(est, Estimate):
                out.append(_value(spec, None, period, slice_, est, dict(empty)))
    return out
