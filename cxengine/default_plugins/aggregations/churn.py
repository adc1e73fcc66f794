"""`churn`: churn rate per period, lost / S × 100, from customer start/end dates.

`lost` counts the customers who were customers at the start of the period (S) and
left during it, as the articles define churn. Customers who joined and left inside
the same period are not in S and not in `lost`; they are stored as the raw count
`new_lost`, so churn + cohort retention = 100 % for every period and slice.
Worked example: S = 2000, 400 lost → 20 % (one article prints 2 %: a slip).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal

from cxengine import hookimpl
from cxengine.compute.stats import Alternative, TestResult
from cxengine.default_plugins.aggregations import customer_base
from cxengine.default_plugins.aggregations.common import as_int, compare_proportions, percent_of
from cxengine.interfaces import Estimate
from cxengine.spec.models import MetricSpec


class ChurnSpec(customer_base.CustomerBaseSpec):
    """Churn rate in %, per period and slice."""

    kind: Literal["churn"]
    unit: str | None = "%"


class Churn(customer_base.CustomerBaseKind):
    """Churn with a Wilson interval on lost / S."""

    name = "churn"
    description = "Churn rate: customers lost / customers at the period start × 100, Wilson."
    spec_model = ChurnSpec
    higher_is_better = False
    #: The all-periods value is the periods' counts pooled (cxengine/compute/pooled.py).
    pool_periods = True

    def estimate(self, spec: MetricSpec, counts: Mapping[str, float | None]) -> Estimate:
        s, lost = as_int(counts, "at_start"), as_int(counts, "lost")
        if s == 0:
            return Estimate(None, 0, note="no customers at the start of the period")
        return percent_of(lost, s, spec.confidence)

    def compare(
        self,
        spec: MetricSpec,
        baseline: Mapping[str, float | None],
        current: Mapping[str, float | None],
        alternative: Alternative,
    ) -> TestResult | None:
        """Test two churn rates with the two-proportion z-test on lost / S."""
        return compare_proportions(baseline, current, "lost", "at_start", alternative)


@hookimpl
def register_aggregations(register: Callable[..., None]) -> None:
    register(Churn())
