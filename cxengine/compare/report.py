"""Verdicts and the report that carries them to reporters, the store and the exit code."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from cxengine.compare.points import slice_key, slice_label

Verdict = Literal["pass", "warn", "fail", "inconclusive"]
VERDICTS: tuple[Verdict, ...] = ("fail", "warn", "inconclusive", "pass")
#: How bad a verdict is, to pick the worst of a target and a regression outcome.
SEVERITY: dict[str, int] = {"pass": 0, "inconclusive": 1, "warn": 2, "fail": 3}
CORRECTIONS = {"holm": "Holm", "bh": "Benjamini–Hochberg", "none": "no"}


def worst(*verdicts: str | None) -> Verdict:
    """Return the most severe of some verdicts (None ignored; nothing → pass)."""
    present = [v for v in verdicts if v is not None]
    return max(present, key=SEVERITY.__getitem__, default="pass")  # type: ignore[arg-type]


@dataclass
class Check:
    """The verdict on one metric × slice × period compared, with every number behind it."""

    metric: str
    slice: dict[str, Any]
    compared: str  # "all periods", "2025-12 vs 2025-11"
    period: str  # ISO start of the current period, '' for all periods
    verdict: Verdict
    reason: str
    current_value: float | None
    current_n: int
    title: str | None = None
    unit: str | None = None
    baseline_period: str | None = None
    baseline_value: float | None = None
    baseline_n: int | None = None
    change: float | None = None  # current − baseline, in the metric's units
    p_value: float | None = None  # one-sided: is the current value worse?
    p_adjusted: float | None = None  # after the multiple-testing correction
    method: str | None = None
    confidence: float | None = None
    max_drop: float | None = None
    direction: str = "higher_is_better"
    target_verdict: Verdict | None = None
    target_reason: str | None = None
    regression_verdict: Verdict | None = None
    regression_reason: str | None = None

    @property
    def slice_label(self) -> str:
        """'touchpoint=delivery' or '(all)'."""
        return slice_label(self.slice)

    @property
    def slice_key(self) -> str:
        """Canonical JSON of the slice (the storage key)."""
        return slice_key(self.slice)

    @property
    def name(self) -> str:
        """A test name: 'nps [touchpoint=delivery] all periods'."""
        return f"{self.metric} [{self.slice_label}] {self.compared}"

    def to_json(self) -> dict[str, Any]:
        """Return the JSON form (the slice as an object)."""
        return asdict(self)


@dataclass
class CheckReport:
    """Every verdict of one evaluation, and how it was reached."""

    checks: list[Check]
    baseline: str | None = None  # "baseline.json", "run 3f2a… (last)"; None: targets only
    correction: str = "holm"
    family: str = "run"
    tests: int = 0  # significance tests in the corrected family (or families)
    run_id: str | None = None
    baseline_run_id: str | None = None
    fail_on: Literal["fail", "warn"] = "fail"
    notes: list[str] = field(default_factory=list)

    def count(self, verdict: str) -> int:
        """Return how many checks have this verdict."""
        return sum(1 for c in self.checks if c.verdict == verdict)

    def failing(self) -> list[Check]:
        """Return the checks that fail the build under `fail_on`."""
        bad = {"fail", "warn"} if self.fail_on == "warn" else {"fail"}
        return [c for c in self.checks if c.verdict in bad]

    @property
    def ok(self) -> bool:
        """True when nothing fails the build."""
        return not self.failing()

    def correction_note(self) -> str:
        """Say how the p-values were corrected for many tests."""
        if not self.tests:
            return "no significance tests were run"
        scope = "in this run" if self.family == "run" else "per metric"
        if self.correction == "none":
            return f"{self.tests} significance tests {scope}, p-values not corrected"
        name = CORRECTIONS.get(self.correction, self.correction)
        return f"{name} correction over {self.tests} significance tests {scope}"

    def summary(self) -> str:
        """One line: '2 fail, 1 warn, 3 inconclusive, 30 pass'."""
        parts = [f"{self.count(v)} {v}" for v in VERDICTS if self.count(v)]
        return ", ".join(parts) if parts else "no checks"

    def to_json(self) -> dict[str, Any]:
        """Return the JSON document (`--json`)."""
        return {
            "ok": self.ok,
            "fail_on": self.fail_on,
            "baseline": self.baseline,
            "baseline_run_id": self.baseline_run_id,
            "run_id": self.run_id,
            "correction": self.correction,
            "family": self.family,
            "tests": self.tests,
            "correction_note": self.correction_note(),
            "summary": {v: self.count(v) for v in VERDICTS},
            "notes": list(self.notes),
            "checks": [c.to_json() for c in self.checks],
        }

    def store_rows(self) -> list[dict[str, Any]]:
        """Return the rows of the `checks` table for this report (without run_id)."""
        rows = []
        for c in self.checks:
            rows.append(
                {
                    "metric": c.metric,
                    "period": c.period,
                    "slice": c.slice_key,
                    "compared": c.compared,
                    "verdict": c.verdict,
                    "reason": c.reason,
                    "baseline": self.baseline,
                    "baseline_run_id": self.baseline_run_id,
                    "baseline_period": c.baseline_period,
                    "baseline_value": c.baseline_value,
                    "baseline_n": c.baseline_n,
                    "current_value": c.current_value,
                    "current_n": c.current_n,
                    "change": c.change,
                    "p_value": c.p_value,
                    "p_adjusted": c.p_adjusted,
                    "method": c.method,
                    "correction": self.correction,
                    "confidence": c.confidence,
                    "max_drop": c.max_drop,
                    "direction": c.direction,
                    "target_verdict": c.target_verdict,
                    "regression_verdict": c.regression_verdict,
                }
            )
        return rows


def report_of(result: Any) -> CheckReport | None:
    """Return the check report of a run result (or the report itself), if any."""
    if isinstance(result, CheckReport):
        return result
    extra = getattr(result, "extra", None)
    found = extra.get("checks") if isinstance(extra, dict) else None
    return found if isinstance(found, CheckReport) else None
