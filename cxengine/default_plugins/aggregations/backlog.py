"""`backlog`: items open at the end of each period and older than a threshold.

Counted point in time from the opened and closed timestamps, never from a status
column read today: a ticket opened on 3 March and closed on 20 April was in the
March backlog, whatever its status says now. At the end ``T`` of a period an item
counts when

    opened < T − older_than   and   (closed is empty or closed > T)

The end of a period is its exclusive end: midnight at the start of the next one, so
the March backlog is what was still open as April began. The all-time value is the
backlog at the end of the last period. An item closed before it was opened is a
data error: it is excluded (and stored as a reject) rather than counted as open
forever; an item without an opening time cannot be placed in time and is rejected
too.

A backlog is a census of the items, not a sample: it has no sampling interval.
``n`` is the number of items open at ``T`` of any age, so the value reads "backlog of
n open items".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator, model_validator

from cxengine import hookimpl
from cxengine.compute.stats import Alternative, TestResult
from cxengine.default_plugins.aggregations.common import as_int, count_if, lit
from cxengine.interfaces import CompileContext, Estimate, Exclusion
from cxengine.spec.models import MetricSpec

if TYPE_CHECKING:
    from sqlglot import exp
else:
    from cxengine.lazy import exp

_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|min|m|h|d|w)\s*$")
AGE_SECONDS = {"s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600, "d": 86400, "w": 604800}
TIME_TYPES = ("datetime", "date")


def parse_age(text: str | int | float) -> float:
    """Return seconds for '5min', '1h', '24h', '2d', '1w' (a bare number is seconds)."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text)
    m = _AGE.match(str(text))
    if not m:
        raise ValueError(
            f"{text!r} is not an age; write a number and a unit: 30s, 5min, 1h, 24h, 2d, 1w"
        )
    return float(m.group(1)) * AGE_SECONDS[m.group(2)]


class BacklogSpec(MetricSpec):
    """The number of items open at the end of each period and older than `older_than`."""

    kind: Literal["backlog"]
    opened: str = Field(description="timestamp the item was opened (created_at)")
    closed: str = Field(description="timestamp it was closed; empty while open (resolved_at)")
    older_than: str | int | float = Field(
        0, description="count items open longer than this at the period's end: 5min, 1h, 24h, 2d"
    )
    unit: str | None = "items"

    @model_validator(mode="before")
    @classmethod
    def _time_is_opened(cls, values: Any) -> Any:
        # Windows come from the data's range; `time` defaults to `opened` so that the
        # shared rule "a period needs a time field" holds without saying it twice.
        if isinstance(values, dict) and values.get("opened") and not values.get("time"):
            values = {**values, "time": values["opened"]}
        return values

    @field_validator("older_than")
    @classmethod
    def _valid_age(cls, value: str | int | float) -> str | int | float:
        if parse_age(value) < 0:
            raise ValueError("`older_than` cannot be negative")
        return value

    def age_seconds(self) -> float:
        """Return the threshold in seconds."""
        return parse_age(self.older_than)


def _ts(e: exp.Expression) -> exp.Expression:
    return exp.Cast(this=e, to=exp.DataType.build("TIMESTAMP"))


class Backlog:
    """Point-in-time backlog at the end of each period; a census, so no interval."""

    name = "backlog"
    description = "Items open at the end of each period and older than a threshold (a census)."
    spec_model = BacklogSpec
    higher_is_better = False

    def fields(self, spec: MetricSpec) -> dict[str, tuple[str, ...]]:
        assert isinstance(spec, BacklogSpec)
        return {spec.opened: TIME_TYPES, spec.closed: TIME_TYPES}

    def calendar_fields(self, spec: MetricSpec) -> list[str]:
        assert isinstance(spec, BacklogSpec)
        return [spec.opened, spec.closed]

    def _open_at_end(self, spec: BacklogSpec, ctx: CompileContext) -> exp.Expression:
        assert ctx.window_end is not None
        opened, closed = _ts(ctx.column(spec.opened)), _ts(ctx.column(spec.closed))
        end = ctx.window_end
        still_open = exp.Or(
            this=exp.Is(this=closed, expression=exp.Null()),
            expression=exp.GT(this=closed.copy(), expression=end.copy()),
        )
        return exp.And(
            this=exp.LT(this=opened, expression=end.copy()), expression=exp.Paren(this=still_open)
        )

    def calendar_join(self, spec: MetricSpec, ctx: CompileContext) -> exp.Expression:
        # Only items open at a window's end take part in it: the join stays as small
        # as the backlogs themselves instead of rows × windows.
        assert isinstance(spec, BacklogSpec)
        return self._open_at_end(spec, ctx)

    def exclusions(self, spec: MetricSpec, ctx: CompileContext) -> list[Exclusion]:
        assert isinstance(spec, BacklogSpec)
        opened, closed = ctx.column(spec.opened), ctx.column(spec.closed)
        return [
            Exclusion(
                spec.opened,
                exp.Is(this=opened, expression=exp.Null()),
                f"{spec.opened} is empty: the item cannot be placed in time",
            ),
            # Nulling `opened` (not `closed`) keeps the bad row out of every backlog
            # instead of turning it into an item that never closes.
            Exclusion(
                spec.opened,
                exp.LT(this=_ts(closed), expression=_ts(opened.copy())),
                f"{spec.closed} is before {spec.opened}: closed before it was opened (data error)",
            ),
        ]

    def counts(self, spec: MetricSpec, ctx: CompileContext) -> dict[str, exp.Expression]:
        assert isinstance(spec, BacklogSpec)
        assert ctx.window_end is not None
        opened = _ts(ctx.column(spec.opened))
        age = exp.Interval(this=lit(str(spec.age_seconds())), unit=exp.var("SECOND"))
        # opened < T − older_than: open for longer than the threshold at T.
        old = exp.LT(this=opened, expression=exp.Sub(this=ctx.window_end.copy(), expression=age))
        return {"n": exp.Count(this=ctx.column(spec.opened)), "backlog": count_if(old)}

    def estimate(self, spec: MetricSpec, counts: Mapping[str, Any]) -> Estimate:
        n = as_int(counts, "n")
        return Estimate(float(as_int(counts, "backlog")), n)

    def compare(
        self,
        spec: MetricSpec,
        baseline: Mapping[str, Any],
        current: Mapping[str, Any],
        alternative: Alternative,
    ) -> TestResult:
        """Test two backlogs as event counts: the conditional test of two Poisson counts.

        A backlog is a census, but the tickets that pile up arrive and wait at random:
        a rise from 3 to 5 old tickets is noise, from 30 to 60 is not.
        """
        from cxengine.compute.comparisons import poisson_count_test

        return poisson_count_test(
            as_int(baseline, "backlog"), as_int(current, "backlog"), alternative
        )


@hookimpl
def register_aggregations(register: Callable[..., None]) -> None:
    register(Backlog())
