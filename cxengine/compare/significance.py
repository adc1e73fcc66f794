"""Which test compares two values of a metric: the kind's own.

Each kind owns its significance test: its `compare` method (the `ComparableKind`
contract in cxengine/interfaces.py), usually one of the tests in
cxengine/compute/comparisons.py chosen for what its counts mean:

| kind | test |
|---|---|
| `nps` | NPS difference z-test with the summed variances |
| `share`, `distribution` (per category) | two-proportion z-test (pooled) |
| `mean`, `weighted_index` | Welch's t-test |
| `count` | conditional binomial test of two Poisson counts |

A kind without `compare`, or whose `compare` returns None for the counts at hand,
gets no test: the comparison is `inconclusive`, with the reason. The gate never
guesses a test from the names of the counts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from cxengine.compute.comparisons import poisson_count_test
from cxengine.compute.stats import Alternative, NoTest, TestResult
from cxengine.interfaces import ComparableKind, Kind

Counts = Mapping[str, float | int | None]

__all__ = ["NoTest", "higher_is_better", "poisson_count_test", "run_test"]


def run_test(
    kind: Kind, spec: Any, baseline: Counts, current: Counts, alternative: Alternative
) -> TestResult | NoTest:
    """Run the kind's own test; NoTest says why there is none."""
    if not isinstance(kind, ComparableKind):
        return NoTest(f"kind {kind.name!r} defines no significance test (compare)")
    result = kind.compare(spec, baseline, current, alternative)
    if result is None:
        return NoTest(f"kind {kind.name!r} cannot test these counts")
    if isinstance(result, NoTest):
        return result
    if result.p_value is not None and not (
        math.isfinite(result.p_value) and 0 <= result.p_value <= 1
    ):
        raise ValueError(f"compare() of kind {kind.name!r} returned p = {result.p_value!r}")
    return result


def higher_is_better(kind: Kind, spec: Any) -> bool:
    """Return the direction of 'better': the spec's regression.direction, else the kind's."""
    rule = getattr(spec, "regression", None)
    if rule is not None and rule.direction is not None:
        return bool(rule.direction == "higher_is_better")
    return bool(kind.higher_is_better)
