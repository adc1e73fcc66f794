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

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cxengine.interfaces import Aggregation, CompileContext, Estimate
from cxengine.spec.models import MetricSpec

if TYPE_CHECKING:
    import duckdb

    from cxengine.compute.engine import MetricValue


def _key(d: dict[str, Any]) -> str:
    return json.dumps(d, sort_keys=True, ensure_ascii=False, default=str)


def _value(
    spec: MetricSpec,
    template: MetricValue | None,
    period: Any,
    slice_: dict[str, Any],
    est: Estimate,
    counts: dict[str, Any],
) -> MetricValue:
    from cxengine.compute.engine import MetricValue

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
    spec: MetricSpec, aggregation: Aggregation, values: Sequence[MetricValue]
) -> list[MetricValue]:
    """Return the 0-of-n values of categories a group lacks but other groups have."""
    absent = getattr(aggregation, "absent_category", None)
    category_key = getattr(aggregation, "category_key", None)
    if absent is None or category_key is None:
        return []
    key = category_key(spec)
    categories: list[Any] = []
    groups: dict[tuple[Any, str], tuple[dict[str, Any], set[Any], MetricValue]] = {}
    for v in values:
        if key not in v.slice:
            continue
        cat = v.slice[key]
        if cat not in categories:
            categories.append(cat)
        rest = {k: x for k, x in v.slice.items() if k != key}
        group = groups.setdefault((v.period, _key(rest)), (rest, set(), v))
        group[1].add(cat)
    own_counts = getattr(aggregation, "category_counts", None)
    out = []
    for (period, _), (rest, present, template) in groups.items():
        for cat in categories:
            if cat not in present:
                est = absent(spec, template.counts)
                counts = own_counts(spec, template.counts, cat) if own_counts else template.counts
                out.append(_value(spec, template, period, {**rest, key: cat}, est, counts))
    return out


def missing_windows(
    con: duckdb.DuckDBPyConnection,
    spec: MetricSpec,
    aggregation: Aggregation,
    ctx: CompileContext,
    windows: str,
    values: Sequence[MetricValue],
) -> list[MetricValue]:
    """Return the values of calendar windows (× slices) that no row was joined to."""
    periods = [row[0] for row in con.execute(f'SELECT _cx_period FROM "{windows}"').fetchall()]
    slices: dict[str, dict[str, Any]] = {"{}": {}}
    for v in values:
        slices.setdefault(v.slice_key, v.slice)
    present = {(v.period, v.slice_key) for v in values}
    empty = dict.fromkeys(aggregation.counts(spec, ctx), None)
    out: list[MetricValue] = []
    for period in periods:
        for key, slice_ in slices.items():
            if (period, key) in present:
                continue
            est = aggregation.estimate(spec, empty)
            if isinstance(est, Estimate):
                out.append(_value(spec, None, period, slice_, est, dict(empty)))
    return out
