"""Computing a spec's weighted values in a run, beside its unweighted ones.

1. Count the spec's respondents per cell of the weighting fields (one GROUP BY).
2. Take the population margins from a dataset (one GROUP BY per field) or the spec.
3. Calibrate the cell weights (`calibrate`), store them in a small temp table.
4. Run the spec again over a view that carries each row's weight, with every count
   of the kind turned into its weighted sum (COUNT → Σw, COUNT FILTER → Σw FILTER,
   SUM(x) → Σw·x) plus Σw², through the same engine: same filters, exclusions,
   periods, slices and roll-ups.
5. Store each value's *effective counts* (see `estimates`), under the metric name
   ``<name>_weighted``: a value of its own, so the run table, `--json`, the results
   database and the CI gate all carry it next to the unweighted one, never instead.

The weights are computed once per spec over all its filtered rows (every period
together), so a trend compares like with like; see docs/statistics.md.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cxengine.interfaces import CompileContext, Estimate, Exclusion
from cxengine.spec.models import MetricSpec
from cxengine.weighting.calibrate import Calibration, Trim, WeightingError, WeightingMessage
from cxengine.weighting.calibrate import calibrate as calibrate_cells
from cxengine.weighting.estimates import effective_counts, family, weighted_estimate
from cxengine.weighting.model import WeightsSpec

if TYPE_CHECKING:
    import duckdb
    from sqlglot import exp

    from cxengine.compute.values import MetricValue
    from cxengine.interfaces import Kind
else:
    from cxengine.lazy import exp

WEIGHT = "_cx_weight"
SUFFIX = "_weighted"
#: Kinds whose counts can be weighted (their counts are COUNT, COUNT FILTER and SUM).
WEIGHTABLE_KINDS = ("share", "nps", "mean")
_ids = itertools.count()


def weighted_name(metric: str) -> str:
    """Return the metric name the weighted values of `metric` are stored under."""
    return metric + SUFFIX


@dataclass
class WeightedResult:
    """The weighted values of one spec, or why there are none."""

    metric: str
    values: list[MetricValue] = field(default_factory=list)
    calibration: Calibration | None = None
    messages: list[WeightingMessage] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON form (what `run --json` shows under `weighting`)."""
        cal = self.calibration
        out: dict[str, Any] = {
            "metric": weighted_name(self.metric),
            "messages": [
                {
                    "severity": m.severity,
                    "path": ".".join(map(str, ("weights", *m.path))),
                    "message": m.message,
                }
                for m in self.messages
            ],
        }
        if cal is not None:
            out.update(
                fields=list(cal.fields),
                respondents=cal.n,
                unweighted=cal.unweighted,
                effective_n=cal.effective_n,
                design_effect=cal.n / cal.effective_n if cal.effective_n else None,
                largest_weight=cal.largest,
                largest_weight_before_trim=cal.largest_before_trim,
                trimmed=cal.trimmed,
                iterations=cal.iterations,
                converged=cal.converged,
            )
        return out


def weights_of(spec: MetricSpec) -> WeightsSpec | None:
    """Return a spec's `weights:` block, if its kind has one and it is set."""
    w = getattr(spec, "weights", None)
    return w if isinstance(w, WeightsSpec) else None


def compute_weighted(
    con: duckdb.DuckDBPyConnection,
    spec: MetricSpec,
    aggregation: Kind,
    table: str,
    field_types: Mapping[str, str],
    *,
    population: str | None = None,
    field_zones: Mapping[str, str] | None = None,
) -> WeightedResult:
    """Compute the weighted values of `spec` over `table`; `population` is its table, if any."""
    from cxengine.compute.engine import compute_spec

    weights = weights_of(spec)
    assert weights is not None
    result = WeightedResult(spec.name)
    where = _where(spec, aggregation, field_types)
    sample = _cells(con, table, weights.by, where)
    try:
        margins = (
            weights.margin_texts()
            if weights.margins is not None
            else _population_margins(con, population, weights.by, result.messages)
        )
        cal = calibrate_cells(
            sample,
            weights.by,
            margins,
            trim=Trim(weights.trim.max, weights.trim.min) if weights.trim else None,
            max_iterations=weights.max_iterations,
        )
    except WeightingError as exc:
        result.messages.extend(exc.messages)
        result.values = _unavailable(spec, "; ".join(m.message for m in exc.messages))
        return result
    result.calibration = cal
    result.messages.extend(cal.messages)
    view = _weighted_view(con, spec.name, table, weights.by, cal)
    wrapped = WeightedAggregation(aggregation)
    twin = companion_spec(spec)
    types = {**field_types, WEIGHT: "number"}
    computed = compute_spec(con, twin, wrapped, view, types, field_zones)
    note = cal.summary()
    warnings = [m.message for m in cal.messages]
    values = []
    for v in computed.values:
        counts = {k: val for k, val in v.counts.items() if not isinstance(val, list | dict)}
        eff = _effective(counts)
        extra = {"respondents": counts.get("n_raw"), "sum_w": counts.get("n")}
        text = v.note
        if not v.slice and v.period is None:
            text = "; ".join([t for t in (v.note, note, *warnings) if t])
        values.append(dataclasses.replace(v, counts={**eff, **extra}, note=text))
    result.values = values
    return result


def companion_spec(spec: MetricSpec) -> MetricSpec:
    """Return the spec the weighted values are stored under (`<name>_weighted`)."""
    title = f"{spec.title or spec.name} (weighted)"
    return spec.model_copy(update={"name": weighted_name(spec.name), "title": title})


class WeightedAggregation:
    """A kind's counts as weighted sums; its estimate from Kish effective counts."""

    def __init__(self, inner: Kind):
        self.inner = inner
        self.name = inner.name
        self.description = inner.description
        self.spec_model = inner.spec_model
        self.higher_is_better = inner.higher_is_better

    def fields(self, spec: MetricSpec) -> dict[str, tuple[str, ...]]:
        return {**self.inner.fields(spec), WEIGHT: ("number",)}

    def exclusions(self, spec: MetricSpec, ctx: CompileContext) -> list[Exclusion]:
        return list(self.inner.exclusions(spec, ctx))

    def counts(self, spec: MetricSpec, ctx: CompileContext) -> dict[str, exp.Expression]:
        w = ctx.column(WEIGHT)
        out = {k: weighted(e, w) for k, e in self.inner.counts(spec, ctx).items()}
        n_expr = self.inner.counts(spec, ctx)["n"]
        out["w_sq"] = weighted(n_expr, exp.Mul(this=w.copy(), expression=w.copy()))
        out["n_raw"] = _counted(n_expr, w)
        return out

    def estimate(self, spec: MetricSpec, counts: Mapping[str, Any]) -> Estimate:
        eff = _effective(counts)
        rescale = None
        scale = getattr(spec, "scale", None)
        if getattr(spec, "rescale", False) and scale is not None:
            rescale = (scale.min, scale.max - scale.min)
        return weighted_estimate(eff, spec.confidence or 0.95, rescale)


def weighted(expr: exp.Expression, w: exp.Expression) -> exp.Expression:
    """Return the weighted form of a count: COUNT(x) → SUM(w) FILTER (WHERE x IS NOT NULL), …

    Raises ValueError for an aggregate it does not know how to weight.
    """
    if isinstance(expr, exp.Count) and not isinstance(expr.this, exp.Star):
        not_null = exp.Not(this=exp.Is(this=expr.this.copy(), expression=exp.Null()))
        return exp.Filter(this=exp.Sum(this=w.copy()), expression=exp.Where(this=not_null))
    if (
        isinstance(expr, exp.Filter)
        and isinstance(expr.this, exp.Count)
        and isinstance(expr.this.this, exp.Star)
    ):
        return exp.Filter(this=exp.Sum(this=w.copy()), expression=expr.expression.copy())
    if isinstance(expr, exp.Sum):
        product = exp.Mul(this=exp.Paren(this=expr.this.copy()), expression=w.copy())
        return exp.Sum(this=product)
    raise ValueError(f"cannot weight the aggregate {expr.sql('duckdb')!r}")


def _counted(n_expr: exp.Expression, w: exp.Expression) -> exp.Expression:
    """The unweighted n among rows that have a weight (the respondents weighted)."""
    one = exp.Case().when(
        exp.Not(this=exp.Is(this=w.copy(), expression=exp.Null())), exp.Literal.number(1)
    )
    return weighted(n_expr, one)


def _effective(counts: Mapping[str, Any]) -> dict[str, float]:
    keys = family(set(counts))
    if keys is None:
        return {}
    return effective_counts({k: counts.get(k) for k in keys}, float(counts.get("w_sq") or 0.0))


# Built-in kinds whose counts are COUNT(x), COUNT(*) FILTER (…) and SUM(…) in every
# spec: weightable by construction, so `cxengine validate` need not import sqlglot to
# compile them for a spec with `weights:` (issue 12, item 3). Named by class, not by
# kind name: a plugin's kind is always compiled and checked. tests/test_lazy_imports.py
# compares this answer with compiling, on every spec shape of these kinds.
WEIGHTABLE_BY_CONSTRUCTION = frozenset({
    "cxengine.default_plugins.aggregations.mean.Mean",
    "cxengine.default_plugins.aggregations.nps.Nps",
    "cxengine.default_plugins.aggregations.share.Share",
})  # fmt: skip


def weightable(aggregation: Kind, spec: MetricSpec) -> str | None:
    """Return why a kind's counts cannot be weighted, or None when they can."""
    kind = type(aggregation)
    if f"{kind.__module__}.{kind.__qualname__}" in WEIGHTABLE_BY_CONSTRUCTION:
        return None
    return weightable_by_compiling(aggregation, spec)


def weightable_by_compiling(aggregation: Kind, spec: MetricSpec) -> str | None:
    """`weightable`, found by compiling the kind's counts and weighting each."""
    from cxengine.compute.query import column

    ctx = CompileContext(spec=spec, column=column, field_types={})
    try:
        counts = aggregation.counts(spec, ctx)
        for e in counts.values():
            weighted(e, column(WEIGHT))
    except Exception as exc:  # a kind's counts may need field types; refuse, never crash
        return f"kind {aggregation.name!r} cannot be weighted: {exc}"
    if family(set(counts)) is None:
        return f"kind {aggregation.name!r} has no weighted estimate (counts {sorted(counts)})"
    return None


# ------------------------------------------------------------------------- helpers


def _where(spec: MetricSpec, aggregation: Kind, field_types: Mapping[str, str]) -> exp.Expression:
    """Rows that are respondents of the spec: its filter, and what its `n` counts."""
    from cxengine.compute.query import column
    from cxengine.expr import parse_filter

    parts: list[exp.Expression] = []
    if spec.where:
        parts.append(exp.Paren(this=parse_filter(spec.where, columns=list(field_types) or None)))
    ctx = CompileContext(spec=spec, column=column, field_types=field_types)
    # Answers the kind excludes (out of scale) are not respondents either.
    for ex in aggregation.exclusions(spec, ctx):
        parts.append(
            exp.Not(
                this=exp.Coalesce(
                    this=exp.Paren(this=ex.predicate.copy()), expressions=[exp.false()]
                )
            )
        )
    n_expr = aggregation.counts(spec, ctx)["n"]
    if isinstance(n_expr, exp.Count) and not isinstance(n_expr.this, exp.Star):
        parts.append(exp.Not(this=exp.Is(this=n_expr.this.copy(), expression=exp.Null())))
    elif isinstance(n_expr, exp.Filter):
        parts.append(exp.Paren(this=n_expr.expression.this.copy()))
    cond: exp.Expression = parts[0] if parts else exp.true()
    for p in parts[1:]:
        cond = exp.And(this=cond, expression=p)
    return cond


def _as_text(name: str) -> exp.Expression:
    return exp.Cast(this=exp.column(name, quoted=True), to=exp.DataType.build("VARCHAR"))


def _cells(
    con: duckdb.DuckDBPyConnection, table: str, fields: Sequence[str], where: exp.Expression
) -> dict[tuple[Any, ...], int]:
    cols = [_as_text(f) for f in fields]
    q = (
        exp.select(*cols, exp.Count(this=exp.Star()))
        .from_(exp.Table(this=exp.to_identifier(table, quoted=True)))
        .where(where)
        .group_by(*[c.copy() for c in cols])
    )
    return {tuple(row[:-1]): int(row[-1]) for row in con.execute(q.sql("duckdb")).fetchall()}


def _population_margins(
    con: duckdb.DuckDBPyConnection,
    table: str | None,
    fields: Sequence[str],
    messages: list[WeightingMessage],
) -> dict[str, dict[str, float]]:
    if table is None:
        raise WeightingError(
            [WeightingMessage(("population",), "the population dataset was not loaded", "error")]
        )
    margins: dict[str, dict[str, float]] = {}
    for f in fields:
        col = _as_text(f)
        q = (
            exp.select(col, exp.Count(this=exp.Star()))
            .from_(exp.Table(this=exp.to_identifier(table, quoted=True)))
            .group_by(col.copy())
        )
        rows = con.execute(q.sql("duckdb")).fetchall()
        margins[f] = {str(v): float(k) for v, k in rows if v is not None}
        empty = sum(int(k) for v, k in rows if v is None)
        if empty:
            messages.append(
                WeightingMessage(
                    ("population",),
                    f"{empty} population row(s) have an empty {f}: the margin of {f} "
                    "uses the other rows",
                )
            )
    return margins


def _weighted_view(
    con: duckdb.DuckDBPyConnection,
    spec_name: str,
    table: str,
    fields: Sequence[str],
    cal: Calibration,
) -> str:
    n = next(_ids)
    weights_table = f"_cx_weights_{spec_name}_{n}"
    view = f"_cx_weighted_{spec_name}_{n}"
    cell_cols = [f"_cx_cell_{i}" for i in range(len(fields))]
    wt = exp.to_identifier(weights_table, quoted=True).sql("duckdb")
    con.execute(
        f"CREATE TEMP TABLE {wt} ("
        + ", ".join(f"{c} VARCHAR" for c in cell_cols)
        + f", {WEIGHT} DOUBLE)"
    )
    con.executemany(
        f"INSERT INTO {wt} VALUES ({', '.join('?' for _ in range(len(fields) + 1))})",
        [(*cell, w) for cell, w in cal.weights.items()],
    )
    on = " AND ".join(
        f"CAST(t.{exp.to_identifier(f, quoted=True).sql('duckdb')} AS VARCHAR) = w.{c}"
        for f, c in zip(fields, cell_cols, strict=True)
    )
    src = exp.to_identifier(table, quoted=True).sql("duckdb")
    con.execute(
        f"CREATE TEMP VIEW {exp.to_identifier(view, quoted=True).sql('duckdb')} AS "
        f"SELECT t.*, w.{WEIGHT} FROM {src} t LEFT JOIN {wt} w ON {on}"
    )
    return view


def _unavailable(spec: MetricSpec, reason: str) -> list[MetricValue]:
    from cxengine.compute.values import MetricValue

    twin = companion_spec(spec)
    est = Estimate(None, 0, note=f"no weighted value: {reason}")
    return [MetricValue.from_estimate(twin, est, period=None, slice={}, counts={})]
