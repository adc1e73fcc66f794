"""How many answers a given precision or a given detectable drop needs (docs/ci.md).

Normal approximations, the same ones the gate's tests use:

- a share's interval half-width E (in points) needs n = z² · p(1 − p) / (E/100)²;
- an NPS interval half-width E needs n = z² · (p + d − (p − d)²) / (E/100)²;
- detecting a drop D between two samples of n each, one-sided at `confidence` with
  `power`, needs n = (z_conf + z_power)² · 2σ² / D² per sample.
"""

from __future__ import annotations

import math

from cxengine.compute.distributions import normal_quantile


def _z(q: float) -> float:
    return normal_quantile(q)


def share_margin_n(margin: float, p: float = 0.5, confidence: float = 0.95) -> int:
    """Answers for a share interval of ± `margin` points (p = 0.5 is the worst case)."""
    z = _z(1 - (1 - confidence) / 2)
    return math.ceil(z * z * p * (1 - p) / (margin / 100) ** 2)


def nps_variance_of(promoters: float, detractors: float) -> float:
    """Return the per-answer variance of NPS/100 for shares of promoters and detractors."""
    return promoters + detractors - (promoters - detractors) ** 2


def nps_margin_n(
    margin: float, promoters: float, detractors: float, confidence: float = 0.95
) -> int:
    """Answers for an NPS interval of ± `margin` points."""
    z = _z(1 - (1 - confidence) / 2)
    return math.ceil(z * z * nps_variance_of(promoters, detractors) / (margin / 100) ** 2)


def drop_n(drop: float, variance: float, confidence: float = 0.95, power: float = 0.8) -> int:
    """Answers per sample to detect a drop of `drop` points (one-sided test)."""
    z = _z(confidence) + _z(power)
    return math.ceil(z * z * 2 * variance / (drop / 100) ** 2)


def sample_size_table() -> str:
    """Return the Markdown tables of docs/ci.md (a test keeps the page in step)."""
    lines = [
        "| score | answers for ±3 points | ±5 points | ±10 points |",
        "|---|---|---|---|",
    ]
    rows = [
        ("CSAT / CES top-box, worst case (50 %)", lambda m: share_margin_n(m, 0.5)),
        ("CSAT at 80 %", lambda m: share_margin_n(m, 0.8)),
        ("NPS 20 (40 % promoters, 20 % detractors)", lambda m: nps_margin_n(m, 0.4, 0.2)),
        ("NPS 30 (50 % promoters, 20 % detractors)", lambda m: nps_margin_n(m, 0.5, 0.2)),
        ("NPS 0 (35 % promoters, 35 % detractors)", lambda m: nps_margin_n(m, 0.35, 0.35)),
    ]
    for name, fn in rows:
        lines.append(f"| {name} | {fn(3)} | {fn(5)} | {fn(10)} |")
    lines += [
        "",
        "| drop to detect (95 % one-sided, 80 % power) | answers per side |",
        "|---|---|",
        f"| CSAT 80 % → 75 % (5 points) | {drop_n(5, 0.8 * 0.2)} |",
        f"| CSAT 80 % → 77 % (3 points) | {drop_n(3, 0.8 * 0.2)} |",
        f"| NPS 20 → 10 (10 points) | {drop_n(10, nps_variance_of(0.4, 0.2))} |",
        f"| NPS 20 → 15 (5 points) | {drop_n(5, nps_variance_of(0.4, 0.2))} |",
    ]
    return "\n".join(lines) + "\n"
