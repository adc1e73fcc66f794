"""`retention`: customer retention rate (CRR) per period, from customer start/end dates.

Two definitions, both computed from the same window counts (see customer_base):

- ``method: articles`` (default), as the source articles define CRR:
  (E − N) / S × 100, with S customers at the period start, E at the end, N new;
- ``method: cohort``, the direct count of the starting cohort: (S − lost) / S × 100.

They differ by new_lost / S: a customer who joined and left inside the period is
in N but not in E, so (E − N) counts them as a lost *starting* customer. With no
such customers the two are equal (the worked example: S = 1000, E = 1200, N = 300
→ 90 %).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal

from pydantic import Field

from cxengine import hookimpl
from cxengine.compute.stats import Alternative, TestResult, two_proportion_ztest
from cxengine.default_plugins.aggregations import customer_base
from cxengine.default_plugins.aggregations.common import as_int, percent_of
from cxengine.interfaces import Estimate
from cxengine.spec.models import MetricSpec


class RetentionSpec(customer_base.CustomerBaseSpec):
    """Customer retention rate in %, per period and slice."""

    kind: Literal["retention"]
    method: Literal["articles", "cohort"] = Field(
        "articles",
        description="articles: (E − N) / S × 100; cohort: (S − lost) / S × 100",
    )
    unit: str | None = "%"


class Retention(customer_base.CustomerBaseKind):
    """CRR with a Wilson interval on retained / S."""

    name = "retention"
    description = "Customer retention rate (E − N) / S × 100 or the cohort count, Wilson interval."
    spec_model = RetentionSpec
    higher_is_better = True
    #: The all-periods value is the periods' counts pooled (cxengine/compute/pooled.py).
    pool_periods = True

    def estimate(self, spec: MetricSpec, counts: Mapping[str, float | None]) -> Estimate:
        assert isinstance(spec, RetentionSpec)
        s = as_int(counts, "at_start")
        if s == 0:
            return Estimate(None, 0, note="no customers at the start of the period")
        if spec.method == "cohort":
            retained = s - as_int(counts, "lost")
        else:
            retained = as_int(counts, "at_end") - as_int(counts, "new")
        value = 100.0 * retained / s
        if not 0 <= retained <= s:
            # (E − N) < 0 happens when more new customers left than starting ones stayed.
            return Estimate(value, s, note="E − N is outside 0…S: no interval")
        return percent_of(retained, s, spec.confidence)

    def compare(
        self,
        spec: MetricSpec,
        baseline: Mapping[str, float | None],
        current: Mapping[str, float | None],
        alternative: Alternative,
    ) -> TestResult | None:
        """Test two retention rates with the two-proportion z-test on retained / S."""
        assert isinstance(spec, RetentionSpec)
        pairs = [_retained(spec, c) for c in (baseline, current)]
        if any(p is None for p in pairs):
            return None
        (k1, n1), (k2, n2) = pairs  # type: ignore[misc]
        return two_proportion_ztest(k1, n1, k2, n2, alternative)


def _retained(spec: RetentionSpec, counts: Mapping[str, float | None]) -> tuple[int, int] | None:
    s = as_int(counts, "at_start")
    if spec.method == "cohort":
        k = s - as_int(counts, "lost")
    else:
        k = as_int(counts, "at_end") - as_int(counts, "new")
    return (k, s) if s > 0 and 0 <= k <= s else None


@hookimpl
def register_aggregations(register: Callable[..., None]) -> None:
    register(Retention())
