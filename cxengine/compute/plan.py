"""One plan per spec: what to compute, decided before any SQL is built or run.

`plan_spec(spec, kind, table, …)` reads the spec and asks the kind, through its
declared contracts, everything the query needs: the filter (parsed once), the
exclusions, the fields the counts read, calendar windows or a prepared table, the
grouping keys and GROUPING SETS, the count expressions. cxengine/compute/query.py
turns a plan into SQL with sqlglot (so another dialect is a transpile away); the
engine runs it and turns its rows into values. A plan holds sqlglot expressions and
names only: no connection, no data.

A `PreparedKind` is planned in two steps: the first plan carries the query that
builds the kind's own table from the usable source rows (`prepare`); once that table
exists, `plan.over_prepared(table, types)` plans the counts over it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlglot import exp

from cxengine.compute.periods import local_filter
from cxengine.compute.sqlparts import (
    PERIOD_COL,
    WINDOW_END,
    WINDOW_START,
    any_true,
    column,
    table_ref,
)
from cxengine.expr import parse_filter
from cxengine.filter_types import lenient_casts
from cxengine.interfaces import CalendarKind, CompileContext, Exclusion, Kind, PreparedKind
from cxengine.spec.models import MetricSpec


@dataclass(frozen=True)
class Plan:
    """Everything needed to compute one spec over one table."""

    spec: MetricSpec
    kind: Kind
    #: The table the rows come from: the dataset's, or the kind's prepared table.
    table: str
    field_types: Mapping[str, str]
    ctx: CompileContext
    #: The spec's own filter, parsed once (None: every row).
    where: exp.Expression | None
    #: Values the kind excludes: nulled in the counts, stored as rejects.
    exclusions: list[Exclusion]
    #: The fields the counts read, with the types they accept.
    fields: Mapping[str, tuple[str, ...]]
    #: Rows that cannot be placed in a period (no time): dropped from every group and
    #: stored as rejects; `keep` is the filter with their exclusion added.
    dropped: list[Exclusion] = field(default_factory=list)
    keep: exp.Expression | None = None
    #: Calendar kinds: the datetime fields whose range the windows cover.
    calendar: list[str] = field(default_factory=list)
    #: Prepared kinds, first step: the query building the kind's table (None: the
    #: counts read `table` itself).
    prepare: exp.Select | None = None

    @property
    def keys(self) -> list[str]:
        """The grouping keys: the period (or window) and the slice fields."""
        period = [PERIOD_COL] if self.spec.period != "none" or self.calendar else []
        return period + list(self.spec.by)

    @property
    def grouping_sets(self) -> list[list[str]]:
        """Every roll-up computed from the same rows: period × slice down to the total."""
        by = list(self.spec.by)
        if self.calendar:
            # Windows include the whole range as a window of its own (period NULL):
            # the period key is never rolled up.
            return [[PERIOD_COL, *by], [PERIOD_COL]] if by else [[PERIOD_COL]]
        period = [PERIOD_COL] if self.spec.period != "none" else []
        unique: list[list[str]] = []
        for s in (period + by, period, by, []):
            if s not in unique:
                unique.append(s)
        return unique

    @property
    def pools_periods(self) -> bool:
        """True when the all-periods value pools the periods' counts (a PooledKind)."""
        from cxengine.interfaces import PooledKind

        kind = self.kind
        return bool(self.calendar) and isinstance(kind, PooledKind) and kind.pool_periods

    def counts(self) -> dict[str, exp.Expression]:
        """The kind's named aggregate expressions."""
        return self.kind.counts(self.spec, self.ctx)

    def over_prepared(self, table: str, field_types: Mapping[str, str]) -> Plan:
        """Plan the counts over the kind's prepared table (built from `self.prepare`).

        The filter and the exclusions were applied to the source rows already.
        """
        assert isinstance(self.kind, PreparedKind)
        inner = self.spec.model_copy(update={"where": None})
        # The kind's datetime columns come from the source's: a column named like a
        # source field keeps that field's zone, any other (a run's start and end) the
        # zone of the spec's time field, else of the first zoned field the spec reads.
        own = self.ctx.field_zones
        read = [f for f in self.kind.fields(self.spec) if f in own]
        default = own.get(self.spec.time or "") or (own[read[0]] if read else None)
        zones = {
            n: own.get(n) or default or "UTC" for n, t in field_types.items() if t == "datetime"
        }
        return _plan(
            inner, self.kind, table, field_types, zones, None, [], self.kind.prepared_fields(inner)
        )


def plan_spec(
    spec: MetricSpec,
    kind: Kind,
    table: str,
    field_types: Mapping[str, str],
    field_zones: Mapping[str, str] | None = None,
) -> Plan:
    """Return the plan of a spec over a dataset table."""
    where = parse_filter(spec.where, columns=list(field_types) or None) if spec.where else None
    if where is not None:
        where = lenient_casts(local_filter(where, field_zones or {}))
    if isinstance(kind, PreparedKind):
        ctx = CompileContext(
            spec=spec, column=column, field_types=field_types, field_zones=field_zones or {}
        )
        exclusions = list(kind.exclusions(spec, ctx))
        source = exp.select(exp.Star()).from_(table_ref(table))
        if where is not None:
            source = source.where(exp.Paren(this=where.copy()))
        if exclusions:
            source = source.where(exp.Not(this=any_true([e.predicate for e in exclusions])))
        query = kind.prepare(spec, source)
        if query is not None:
            return Plan(spec, kind, table, field_types, ctx, where, exclusions, {}, prepare=query)
    return _plan(spec, kind, table, field_types, field_zones or {}, where, None, None)


def _plan(
    spec: MetricSpec,
    kind: Kind,
    table: str,
    field_types: Mapping[str, str],
    field_zones: Mapping[str, str],
    where: exp.Expression | None,
    exclusions: list[Exclusion] | None,
    fields: Mapping[str, tuple[str, ...]] | None,
) -> Plan:
    calendar = list(kind.calendar_fields(spec)) if isinstance(kind, CalendarKind) else []
    ctx = CompileContext(
        spec=spec,
        column=column,
        field_types=field_types,
        window_start=column(WINDOW_START) if calendar else None,
        window_end=column(WINDOW_END) if calendar else None,
        field_zones=field_zones,
    )
    if exclusions is None:
        exclusions = list(kind.exclusions(spec, ctx))
    dropped: list[Exclusion] = []
    keep = where
    if not calendar and spec.period != "none" and spec.time:
        # A row without a time cannot be placed in a period. It is dropped from every
        # group, so the all-time value stays the sum of its periods, and reported.
        no_time = exp.Is(this=column(spec.time), expression=exp.Null())
        dropped.append(Exclusion(spec.time, no_time, f"{spec.time} is empty"))
        has_time = exp.Not(this=no_time.copy())
        keep = (
            has_time if where is None else exp.And(this=exp.Paren(this=where), expression=has_time)
        )
    return Plan(
        spec,
        kind,
        table,
        field_types,
        ctx,
        where,
        exclusions,
        kind.fields(spec) if fields is None else fields,
        dropped,
        keep,
        calendar,
    )
