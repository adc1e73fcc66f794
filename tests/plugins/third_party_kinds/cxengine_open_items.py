"""A third-party plugin in one file, written against `cxengine.api` only.

It adds two kinds, to show that what the built-in kinds can do is open to anyone:

- ``open_items`` (a `CalendarKind`, `ComparableKind`): items open at the end of each
  period, counted against time windows like the built-in backlog;
- ``ratio`` (a `DerivedKind`, `ChecksInputs`, `DerivedCounts`, `ComparableKind`): one
  metric's value as a percentage of another's, per period and slice.

Both are compared in the gate with a test they choose themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

from sqlglot import exp

from cxengine.api import (
    Alternative,
    CompileContext,
    Estimate,
    Exclusion,
    MetricSpec,
    MetricValue,
    NoTest,
    TestResult,
    as_int,
    compare_event_counts,
    compare_shares,
    count_if,
    hookimpl,
    percent_of,
)


class OpenItemsSpec(MetricSpec):
    """Items opened before a period's end and not closed by then."""

    kind: Literal["open_items"]
    opened: str
    closed: str


def _ts(e: exp.Expression) -> exp.Expression:
    return exp.Cast(this=e, to=exp.DataType.build("TIMESTAMP"))


class OpenItems:
    name = "open_items"
    description = "Items still open at the end of each period (a third-party calendar kind)."
    spec_model = OpenItemsSpec
    higher_is_better = False

    def fields(self, spec: MetricSpec) -> dict[str, tuple[str, ...]]:
        assert isinstance(spec, OpenItemsSpec)
        return {spec.opened: ("datetime", "date"), spec.closed: ("datetime", "date")}

    def calendar_fields(self, spec: MetricSpec) -> list[str]:
        assert isinstance(spec, OpenItemsSpec)
        return [spec.opened, spec.closed]

    def calendar_join(self, spec: MetricSpec, ctx: CompileContext) -> exp.Expression | None:
        return None  # every row meets every window; counts() decides

    def exclusions(self, spec: MetricSpec, ctx: CompileContext) -> list[Exclusion]:
        assert isinstance(spec, OpenItemsSpec)
        opened = ctx.column(spec.opened)
        return [Exclusion(spec.opened, exp.Is(this=opened, expression=exp.Null()), "no open time")]

    def counts(self, spec: MetricSpec, ctx: CompileContext) -> dict[str, exp.Expression]:
        assert isinstance(spec, OpenItemsSpec) and ctx.window_end is not None
        opened, closed = _ts(ctx.column(spec.opened)), _ts(ctx.column(spec.closed))
        end = ctx.window_end
        still_open = exp.Or(
            this=exp.Is(this=closed, expression=exp.Null()),
            expression=exp.GT(this=closed.copy(), expression=end.copy()),
        )
        is_open = exp.And(
            this=exp.LT(this=opened, expression=end.copy()), expression=exp.Paren(this=still_open)
        )
        return {"n": count_if(is_open)}

    def estimate(self, spec: MetricSpec, counts: Mapping[str, float | None]) -> Estimate:
        n = as_int(counts, "n")
        return Estimate(float(n), n)

    def compare(
        self,
        spec: MetricSpec,
        baseline: Mapping[str, float | int | None],
        current: Mapping[str, float | int | None],
        alternative: Alternative,
    ) -> TestResult | NoTest:
        return compare_event_counts(baseline, current, alternative)


class RatioSpec(MetricSpec):
    """One metric's value as a percentage of another's."""

    kind: Literal["ratio"]
    dataset: str = ""  # derived: no dataset of its own
    numerator: str
    denominator: str
    unit: str | None = "%"


class Ratio:
    name = "ratio"
    description = (
        "numerator / denominator × 100, per period and slice (a third-party derived kind)."
    )
    spec_model = RatioSpec
    higher_is_better = False

    # The base contract: a derived kind reads no rows of its own.
    def fields(self, spec: MetricSpec) -> dict[str, tuple[str, ...]]:
        return {}

    def exclusions(self, spec: MetricSpec, ctx: CompileContext) -> list[Exclusion]:
        return []

    def counts(self, spec: MetricSpec, ctx: CompileContext) -> dict[str, exp.Expression]:
        return {}

    def estimate(self, spec: MetricSpec, counts: Mapping[str, float | None]) -> Estimate:
        n = as_int(counts, "n")
        if n == 0:
            return Estimate(None, 0, note="the denominator is 0")
        return percent_of(as_int(counts, "positive"), n, spec.confidence)

    def depends_on(self, spec: MetricSpec) -> list[str]:
        assert isinstance(spec, RatioSpec)
        return [spec.numerator, spec.denominator]

    def check_inputs(
        self, spec: MetricSpec, inputs: Mapping[str, MetricSpec]
    ) -> list[tuple[str, str]]:
        grains = {s.period for s in inputs.values()}
        if len(grains) > 1:
            return [("error", f"inputs have different periods: {', '.join(sorted(grains))}")]
        return []

    def combine(self, spec: MetricSpec, inputs: Mapping[str, Any]) -> Estimate:
        return self.estimate(spec, self.derived_counts(spec, inputs))

    def derived_counts(
        self, spec: MetricSpec, inputs: Mapping[str, MetricValue | None]
    ) -> dict[str, float | int | None]:
        assert isinstance(spec, RatioSpec)
        top, bottom = inputs[spec.numerator], inputs[spec.denominator]
        return {
            "positive": int(top.value or 0) if top else 0,
            "n": int(bottom.value or 0) if bottom else 0,
        }

    def compare(
        self,
        spec: MetricSpec,
        baseline: Mapping[str, float | int | None],
        current: Mapping[str, float | int | None],
        alternative: Alternative,
    ) -> TestResult | NoTest:
        return compare_shares(baseline, current, alternative)


@hookimpl
def register_aggregations(register: Callable[..., None]) -> None:
    register(OpenItems())
    register(Ratio())
