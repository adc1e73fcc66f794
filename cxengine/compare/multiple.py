"""Correcting p-values for many tests: one metric tested in many slices and periods.

Holm (the default) bounds the family-wise error: the chance that *any* check of the
family fails on noise stays at or below 1 − confidence. Benjamini–Hochberg bounds the
expected share of false alarms among the failures instead: more power with many
slices, weaker promise. `none` leaves p-values as they are (one test per metric).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from cxengine.compute.stats import benjamini_hochberg_adjust, holm_adjust

Correction = Literal["holm", "bh", "none"]
CORRECTION_NAMES: tuple[str, ...] = ("holm", "bh", "none")


def adjust(p_values: Sequence[float | None], correction: str) -> list[float | None]:
    """Return adjusted p-values in input order (None entries stay None)."""
    if correction == "holm":
        return holm_adjust(p_values)
    if correction == "bh":
        return benjamini_hochberg_adjust(p_values)
    if correction == "none":
        return list(p_values)
    raise ValueError(
        f"correction {correction!r} is not known; use one of: {', '.join(CORRECTION_NAMES)}"
    )
