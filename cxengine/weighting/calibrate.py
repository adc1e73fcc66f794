"""Cell weights that make respondents match population margins: post-stratification and raking.

Weights here are constant within a *cell*: one combination of the weighting fields'
values (segment × channel). Post-stratification and raking only ever look at those
fields, so every respondent of a cell gets the same weight, and the whole calibration
runs on the table of cell counts — a few dozen numbers, whatever the number of rows.

Weights are scaled so the mean weight over the weighted respondents is 1 (their sum
is the number of weighted respondents): a weight of 3 means "this answer stands for
three average answers". Kish's effective sample size is then n_eff = (Σw)² / Σw².

Nothing here guesses silently. Every situation that changes what the weighted number
means — a population category without respondents, respondents in a category the
population lacks, weights capped, raking that did not converge, margins whose totals
disagree — becomes a `WeightingMessage` that names the field and value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Cell = tuple[Any, ...]  # the values of the weighting fields, in the order of `fields`
Severity = Literal["error", "warning"]

#: Without trimming, a weight above this many times the mean is worth a warning.
EXTREME_WEIGHT = 10.0
#: Margins whose totals differ by more than this (relative) "don't add up".
TOTALS_TOLERANCE = 0.005


class WeightingError(ValueError):
    """The weights cannot be computed: the messages say why."""

    def __init__(self, messages: Sequence[WeightingMessage]):
        self.messages = list(messages)
        super().__init__("; ".join(m.message for m in self.messages))


@dataclass(frozen=True)
class WeightingMessage:
    """Something about the weighting a reader of the weighted number must know."""

    path: tuple[str | int, ...]  # where in the `weights:` block, e.g. ("margins", "segment")
    message: str
    severity: Severity = "warning"


@dataclass(frozen=True)
class Trim:
    """Bounds on a weight, as multiples of the mean weight (1.0)."""

    max: float | None = None
    min: float | None = None


@dataclass
class Calibration:
    """The weights of every cell and what happened while computing them."""

    fields: tuple[str, ...]
    weights: dict[Cell, float]  # weight of each respondent of the cell (mean weight 1)
    respondents: dict[Cell, int]  # respondents per cell (weighted cells only)
    unweighted: int = 0  # respondents left out: a weighting field is empty
    iterations: int = 0
    converged: bool = True
    trimmed: int = 0  # respondents whose weight was capped or floored
    largest_before_trim: float = 1.0
    messages: list[WeightingMessage] = field(default_factory=list)

    @property
    def n(self) -> int:
        """Return the number of weighted respondents."""
        return sum(self.respondents.values())

    @property
    def effective_n(self) -> float:
        """Return Kish's effective sample size, (Σw)² / Σw²."""
        total = sum(self.respondents[c] * w for c, w in self.weights.items())
        squares = sum(self.respondents[c] * w * w for c, w in self.weights.items())
        return total * total / squares if squares else 0.0

    @property
    def largest(self) -> float:
        """Return the largest weight (a multiple of the mean weight)."""
        return max(self.weights.values(), default=0.0)

    def summary(self) -> str:
        """Return one line for a value's note: n, effective n, design effect, largest weight."""
        n_eff = self.effective_n
        deff = self.n / n_eff if n_eff else float("nan")
        text = (
            f"weighted by {', '.join(self.fields)}: n {self.n}, effective n {n_eff:.1f} "
            f"(design effect {deff:.2f}), largest weight {self.largest:.2f}"
        )
        if self.trimmed:
            text += f", {self.trimmed} capped"
        return text


def margin_shares(
    margins: Mapping[str, Mapping[Any, float]],
) -> tuple[dict[str, dict[Any, float]], list[WeightingMessage]]:
    """Turn each field's margin (counts or shares) into shares; report totals that disagree.

    A margin given as shares must sum to 1 (or 100, as percentages); margins given as
    counts must have the same total for every field, since they describe one
    population. Negative numbers and empty margins are errors.
    """
    shares: dict[str, dict[Any, float]] = {}
    messages: list[WeightingMessage] = []
    totals: dict[str, float] = {}
    for name, margin in margins.items():
        bad = [k for k, v in margin.items() if not (isinstance(v, int | float) and v >= 0)]
        bad += [k for k, v in margin.items() if isinstance(v, float) and not math.isfinite(v)]
        if bad:
            messages.append(
                WeightingMessage(
                    ("margins", name, str(bad[0])),
                    f"margin of {name} = {bad[0]!r} must be a number ≥ 0",
                    "error",
                )
            )
            continue
        total = float(sum(margin.values()))
        if total <= 0:
            messages.append(
                WeightingMessage(
                    ("margins", name), f"the margin of {name} is empty (its total is 0)", "error"
                )
            )
            continue
        totals[name] = total
        shares[name] = {k: float(v) / total for k, v in margin.items()}
    messages.extend(_check_totals(totals))
    return shares, messages


def _check_totals(totals: Mapping[str, float]) -> list[WeightingMessage]:
    """Shares must sum to 1 or 100; counts must agree between fields."""
    messages = []
    as_shares = {k: t for k, t in totals.items() if t <= 1.0 + TOTALS_TOLERANCE}
    for name, total in as_shares.items():
        if abs(total - 1.0) > TOTALS_TOLERANCE:
            messages.append(
                WeightingMessage(
                    ("margins", name),
                    f"the shares of {name} add up to {total:g}, not 1: margins don't add up",
                    "error",
                )
            )
    counts = {k: t for k, t in totals.items() if k not in as_shares}
    if len(counts) > 1:
        low, high = min(counts.values()), max(counts.values())
        if (high - low) / high > TOTALS_TOLERANCE:
            listed = ", ".join(f"{k} {v:g}" for k, v in counts.items())
            messages.append(
                WeightingMessage(
                    ("margins",),
                    f"margins don't add up: the population totals differ between fields "
                    f"({listed}); each is used as shares of its own total",
                    "warning",
                )
            )
    return messages


def calibrate(
    sample: Mapping[Cell, int],
    fields: Sequence[str],
    margins: Mapping[str, Mapping[Any, float]],
    *,
    trim: Trim | None = None,
    max_iterations: int = 100,
    tolerance: float = 1e-10,
) -> Calibration:
    """Return cell weights matching `margins` (one field: post-stratification; several: raking).

    `sample` counts respondents per cell; `margins` gives, per field, the population
    count or share of each value. Raises WeightingError when no weight can be computed
    (respondents in a category the population does not have, bad margins).
    """
    fields = tuple(fields)
    missing = [f for f in fields if f not in margins]
    if missing:
        raise WeightingError(
            [WeightingMessage(("margins",), f"no population margin for {missing[0]}", "error")]
        )
    shares, messages = margin_shares({f: margins[f] for f in fields})
    errors = [m for m in messages if m.severity == "error"]
    if errors:
        raise WeightingError(errors)

    usable = {c: k for c, k in sample.items() if k > 0 and all(v is not None for v in c)}
    unweighted = sum(k for c, k in sample.items() if c not in usable)
    if unweighted:
        messages.append(
            WeightingMessage(
                ("by",),
                f"{unweighted} respondent(s) have an empty {' or '.join(fields)}: "
                "they are left out of the weighted value",
            )
        )
    messages.extend(_unknown_categories(usable, fields, shares))
    errors = [m for m in messages if m.severity == "error"]
    if errors:
        raise WeightingError(errors)
    if not usable:
        raise WeightingError(
            [WeightingMessage(("by",), "no respondent has every weighting field", "error")]
        )
    shares, empty = _drop_empty_categories(usable, fields, shares)
    messages.extend(empty)

    n = sum(usable.values())
    weights = {c: 1.0 for c in usable}
    iterations, converged = _rake(usable, fields, shares, weights, n, max_iterations, tolerance)
    if not converged:
        messages.append(
            WeightingMessage(
                ("by",),
                f"raking did not converge in {max_iterations} iterations: the margins cannot "
                "all be met together (a combination of categories has no respondents?)",
            )
        )
    result = Calibration(
        fields, weights, dict(usable), unweighted, iterations, converged, messages=messages
    )
    result.largest_before_trim = result.largest
    if trim is not None and (trim.max is not None or trim.min is not None):
        _trim(result, trim, shares)
    elif result.largest > EXTREME_WEIGHT:
        cell = max(weights, key=lambda c: weights[c])
        messages.append(
            WeightingMessage(
                ("trim",),
                f"extreme weight {result.largest:.1f}× the mean for {_cell_text(fields, cell)} "
                f"({usable[cell]} respondent(s)); set `trim: {{max: …}}` to cap it",
            )
        )
    return result


def _unknown_categories(
    sample: Mapping[Cell, int], fields: Sequence[str], shares: Mapping[str, Mapping[Any, float]]
) -> list[WeightingMessage]:
    """Respondents in a category the population lacks cannot be given a weight."""
    messages = []
    for i, name in enumerate(fields):
        seen: dict[Any, int] = {}
        for cell, k in sample.items():
            seen[cell[i]] = seen.get(cell[i], 0) + k
        for value, k in sorted(seen.items(), key=lambda kv: str(kv[0])):
            if value not in shares[name]:
                known = ", ".join(repr(v) for v in list(shares[name])[:8])
                messages.append(
                    WeightingMessage(
                        ("margins", name),
                        f"{k} respondent(s) have {name} = {value!r}, which the population "
                        f"margin does not list (it has {known})",
                        "error",
                    )
                )
    return messages


def _drop_empty_categories(
    sample: Mapping[Cell, int], fields: Sequence[str], shares: Mapping[str, Mapping[Any, float]]
) -> tuple[dict[str, dict[Any, float]], list[WeightingMessage]]:
    """A population category without respondents cannot be represented: say so, renormalise."""
    out: dict[str, dict[Any, float]] = {}
    messages = []
    for i, name in enumerate(fields):
        present = {cell[i] for cell in sample}
        kept = {v: s for v, s in shares[name].items() if v in present}
        lost = {v: s for v, s in shares[name].items() if v not in present and s > 0}
        for value, share in lost.items():
            messages.append(
                WeightingMessage(
                    ("margins", name, str(value)),
                    f"empty cell: {name} = {value!r} is {100 * share:.1f} % of the population "
                    "but has no respondents; the weighted value represents the rest",
                )
            )
        total = sum(kept.values())
        out[name] = {v: s / total for v, s in kept.items()}
    return out, messages


def _rake(
    sample: Mapping[Cell, int],
    fields: Sequence[str],
    shares: Mapping[str, Mapping[Any, float]],
    weights: dict[Cell, float],
    n: int,
    max_iterations: int,
    tolerance: float,
) -> tuple[int, bool]:
    """Iterative proportional fitting, in place; one field converges in one pass."""
    for iteration in range(1, max_iterations + 1):
        for i, name in enumerate(fields):
            current = _margin_totals(sample, weights, i)
            factor = {v: shares[name][v] * n / t for v, t in current.items() if t > 0}
            for cell in weights:
                weights[cell] *= factor[cell[i]]
        worst = _worst_gap(sample, fields, shares, weights, n)
        if worst <= tolerance:
            return iteration, True
    return max_iterations, False


def _margin_totals(
    sample: Mapping[Cell, int], weights: Mapping[Cell, float], index: int
) -> dict[Any, float]:
    totals: dict[Any, float] = {}
    for cell, k in sample.items():
        totals[cell[index]] = totals.get(cell[index], 0.0) + k * weights[cell]
    return totals


def _worst_gap(
    sample: Mapping[Cell, int],
    fields: Sequence[str],
    shares: Mapping[str, Mapping[Any, float]],
    weights: Mapping[Cell, float],
    n: int,
) -> float:
    """Return the largest difference between a weighted share and its target share."""
    worst = 0.0
    for i, name in enumerate(fields):
        for value, total in _margin_totals(sample, weights, i).items():
            worst = max(worst, abs(total / n - shares[name][value]))
    return worst


def _trim(result: Calibration, trim: Trim, shares: Mapping[str, Mapping[Any, float]]) -> None:
    """Cap (and floor) weights, keeping their total; report who and what it costs.

    Capped weights are fixed at the bound and the others scaled up to keep the total,
    which may push new weights past the bound, so this repeats until none does.
    """
    weights, sample = result.weights, result.respondents
    n = result.n
    hi = trim.max if trim.max is not None else math.inf
    lo = trim.min if trim.min is not None else 0.0
    if lo >= hi:
        raise WeightingError(
            [WeightingMessage(("trim",), f"trim min {lo:g} must be below max {hi:g}", "error")]
        )
    fixed: set[Cell] = set()
    for _ in range(100):
        for cell, w in weights.items():
            if w > hi or w < lo:
                weights[cell] = min(max(w, lo), hi)
                fixed.add(cell)
        free = [c for c in weights if c not in fixed]
        fixed_total = sum(sample[c] * weights[c] for c in fixed)
        free_total = sum(sample[c] * weights[c] for c in free)
        if not free or free_total <= 0:
            break
        scale = (n - fixed_total) / free_total
        if abs(scale - 1.0) < 1e-12:
            break
        for c in free:
            weights[c] *= scale
    if not fixed:
        return
    result.trimmed = sum(sample[c] for c in fixed)
    gap = _worst_gap(sample, result.fields, shares, weights, n)
    bounds = " and ".join(
        text
        for text, on in (
            (f"capped at {hi:g}×", trim.max is not None),
            (f"floored at {lo:g}×", trim.min is not None),
        )
        if on
    )
    result.messages.append(
        WeightingMessage(
            ("trim",),
            f"weights {bounds} the mean for {result.trimmed} respondent(s) in {len(fixed)} "
            f"cell(s) (largest was {result.largest_before_trim:.2f}×); the weighted margins "
            f"now miss their targets by up to {100 * gap:.1f} points",
        )
    )


def _cell_text(fields: Sequence[str], cell: Cell) -> str:
    return ", ".join(f"{f} = {v!r}" for f, v in zip(fields, cell, strict=True))
