"""Targets: warn and fail bounds on a value, optionally different per slice value."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cxengine.compare.report import Verdict
from cxengine.compare.wording import with_unit
from cxengine.spec.models import Bounds, Target

_BOUNDS = ("fail_below", "fail_above", "warn_below", "warn_above")


def bounds_for(target: Target, slice_: Mapping[str, Any]) -> dict[str, float]:
    """Return the bounds that apply to a slice: the metric's, overlaid by per-slice ones.

    `target.slices` is keyed by slice field, then by value; a slice matches when it has
    that field with that value (compared as text, so `1` and `"1"` agree).
    """
    bounds = {k: getattr(target, k) for k in _BOUNDS if getattr(target, k) is not None}
    for field, per_value in sorted(target.slices.items()):
        if field not in slice_:
            continue
        own: Bounds | None = per_value.get(str(slice_[field]))
        if own is None and slice_[field] is None:
            own = per_value.get("")
        if own is None:
            continue
        bounds.update({k: getattr(own, k) for k in _BOUNDS if getattr(own, k) is not None})
    return bounds


def target_outcome(
    target: Target | None,
    slice_: Mapping[str, Any],
    value: float | None,
    n: int,
    min_n: int,
    unit: str | None = None,
) -> tuple[Verdict, str] | None:
    """Judge a value against its target; None when no bound applies to this slice.

    The reason carries the metric's unit ('target: 1.6 min is above warn_above 1.5 min'):
    a bare '1.6' next to a spec whose other values read in minutes is a puzzle.
    """
    if target is None:
        return None
    bounds = bounds_for(target, slice_)
    if not bounds:
        return None

    def amount(x: float) -> str:
        return with_unit(x, unit)

    if value is None or n == 0:
        return "inconclusive", "target: no value to judge (no answers)"
    if n < min_n:
        return "inconclusive", f"target: too few answers to judge (n={n}, min_n {min_n})"
    for level in ("fail", "warn"):
        low, high = bounds.get(f"{level}_below"), bounds.get(f"{level}_above")
        if low is not None and value < low:
            return level, f"target: {amount(value)} is below {level}_below {amount(low)}"
        if high is not None and value > high:
            return level, f"target: {amount(value)} is above {level}_above {amount(high)}"
    shown = ", ".join(f"{k} {amount(v)}" for k, v in sorted(bounds.items()))
    return "pass", f"target met ({shown})"
