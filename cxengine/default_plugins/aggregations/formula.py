"""`formula`: arithmetic over other metrics' values, per period and slice.

``expression: resolved / opened * 100`` names other metrics of the project. For every
period × slice that any input has, the inputs' values are combined; the runner
computes the inputs first (dependency order), validation rejects unknown names and
cycles. A division by zero, or an input without a value, gives an empty value with
the reason in its note.

Interval (``interval: delta``, the default): the delta method. With the formula f and
inputs x_i whose intervals give standard errors se_i = (high − low) / (2 z),

    Var(f) ≈ Σ (∂f/∂x_i)² · se_i²,      f ± z · √Var(f)

treating the inputs as independent. An input without an interval (a `count` is a
census) is treated as exact; when no input has an interval, neither has the formula.
``interval: none`` never gives one. n is the smallest n among the inputs: the value
is no better supported than its weakest input.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from cxengine import hookimpl
from cxengine.compute.arithmetic import DivisionByZero, FormulaError, evaluate, parse_formula
from cxengine.compute.distributions import normal_cdf
from cxengine.compute.stats import Alternative, TestResult
from cxengine.interfaces import CompileContext, Estimate, Exclusion
from cxengine.spec.models import MetricSpec


class FormulaSpec(MetricSpec):
    """A metric computed from other metrics' values."""

    kind: Literal["formula"]
    dataset: str | None = Field(None, description="not used: a formula reads other metrics")  # type: ignore[assignment]
    expression: str = Field(
        description="arithmetic over metric names: + - * / numbers and parentheses"
    )
    interval: Literal["delta", "none"] = Field(
        "delta", description="delta: delta-method interval from the inputs' intervals"
    )

    @field_validator("expression")
    @classmethod
    def _parses(cls, value: str) -> str:
        try:
            parse_formula(value)
        except FormulaError as exc:
            raise ValueError(exc.message) from None
        return value

    @model_validator(mode="after")
    def _no_own_rows(self) -> FormulaSpec:
        own = [k for k in ("dataset", "where", "time") if getattr(self, k)]
        if self.by:
            own.append("by")
        if self.period != "none":
            own.append("period")
        if own:
            raise ValueError(
                f"`{own[0]}` does not apply to a formula: it takes its periods and slices "
                "from the metrics it uses"
            )
        return self


class Formula:
    """Combine other metrics' values; delta-method interval."""

    name = "formula"
    description = "Arithmetic over other metrics per period and slice; delta-method interval."
    spec_model = FormulaSpec
    higher_is_better = True

    def fields(self, spec: MetricSpec) -> dict[str, tuple[str, ...]]:
        return {}

    def exclusions(self, spec: MetricSpec, ctx: CompileContext) -> list[Exclusion]:
        return []

    def counts(self, spec: MetricSpec, ctx: CompileContext) -> dict[str, Any]:
        raise TypeError("a formula is computed from other metrics, not from rows")

    def estimate(self, spec: MetricSpec, counts: Mapping[str, float | None]) -> Estimate:
        raise TypeError("a formula is computed from other metrics, not from rows")

    def depends_on(self, spec: MetricSpec) -> list[str]:
        """Return the metric names the expression uses."""
        assert isinstance(spec, FormulaSpec)
        return list(parse_formula(spec.expression).names)

    def check_inputs(
        self, spec: MetricSpec, inputs: Mapping[str, MetricSpec]
    ) -> list[tuple[str, str]]:
        """Return (severity, message) for inputs whose periods or slices do not line up.

        Inputs that are formulas themselves take their grain from their own inputs and
        are checked there.
        """
        own = {name: s for name, s in inputs.items() if s.kind != self.name}
        grains = {name: s.period for name, s in own.items()}
        slices = {name: tuple(s.by) for name, s in own.items()}
        out = []
        if len(set(grains.values())) > 1:
            listed = ", ".join(f"{n}: {g}" for n, g in grains.items())
            out.append(
                (
                    "error",
                    f"the metrics used have different periods ({listed}); "
                    "give them the same `period`",
                )
            )
        if len(set(slices.values())) > 1:
            listed = ", ".join(f"{n}: [{', '.join(b)}]" for n, b in slices.items())
            out.append(
                (
                    "warning",
                    f"the metrics used are sliced differently ({listed}); only the slices "
                    "they share get a value",
                )
            )
        return out

    def combine(self, spec: MetricSpec, inputs: Mapping[str, Any]) -> Estimate:
        """Evaluate the formula for one period × slice from the inputs' values."""
        assert isinstance(spec, FormulaSpec)
        formula = parse_formula(spec.expression)
        values: dict[str, float] = {}
        ns: list[int] = []
        for name in formula.names:
            v = inputs.get(name)
            if v is None:
                return Estimate(None, 0, note=f"{name} has no value for this period and slice")
            if v.value is None:
                why = f": {v.note}" if v.note else ""
                return Estimate(None, 0, note=f"{name} is empty{why}")
            values[name] = float(v.value)
            ns.append(int(v.n))
        n = min(ns) if ns else 0
        try:
            value, grad = evaluate(formula, values)
        except DivisionByZero as exc:
            return Estimate(None, n, note=f"division by zero: {exc.divisor} is 0")
        except OverflowError:
            return Estimate(None, n, note="the result is not a finite number")
        if spec.interval == "none":
            return Estimate(value, n)
        return _delta(value, n, grad, inputs, spec.confidence or 0.95)

    def derived_counts(self, spec: MetricSpec, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """Store each input's value, n and standard error (what `compare` needs)."""
        from cxengine.compute.stats import _z_quantile

        z = _z_quantile(spec.confidence or 0.95)
        out: dict[str, Any] = {}
        for name, v in inputs.items():
            out[name] = v.value if v else None
            out[f"{name}.n"] = v.n if v else None
            has_ci = v is not None and v.ci_low is not None and v.ci_high is not None
            out[f"{name}.se"] = (float(v.ci_high) - float(v.ci_low)) / (2 * z) if has_ci else None
        return out

    def compare(
        self,
        spec: MetricSpec,
        baseline: Mapping[str, Any],
        current: Mapping[str, Any],
        alternative: Alternative,
    ) -> TestResult | None:
        """Test two formula values with a z-test on the delta-method variances.

        None (inconclusive) when an input is missing, a divisor is zero, or no input
        carries an interval (a formula over counts only).
        """
        assert isinstance(spec, FormulaSpec)
        formula = parse_formula(spec.expression)
        sides = []
        for counts in (baseline, current):
            values = {name: counts.get(name) for name in formula.names}
            known = {k: float(v) for k, v in values.items() if v is not None}
            if len(known) < len(values):
                return None
            try:
                value, grad = evaluate(formula, known)
            except (DivisionByZero, OverflowError):
                return None
            var = sum(g * g * float(counts.get(f"{k}.se") or 0.0) ** 2 for k, g in grad.items())
            sides.append((value, var))
        (v1, var1), (v2, var2) = sides
        if var1 + var2 == 0:
            return None
        z = (v2 - v1) / math.sqrt(var1 + var2)
        if alternative == "smaller":
            p = normal_cdf(z)
        elif alternative == "larger":
            p = normal_cdf(-z)
        else:
            p = min(1.0, 2.0 * normal_cdf(-abs(z)))
        return TestResult(z, p, v2 - v1, "delta-method z-test")


def _delta(
    value: float, n: int, grad: Mapping[str, float], inputs: Mapping[str, Any], confidence: float
) -> Estimate:
    from cxengine.compute.stats import _z_quantile

    z = _z_quantile(confidence)
    variance, carried = 0.0, False
    for name, g in grad.items():
        v = inputs[name]
        if v.ci_low is None or v.ci_high is None:
            continue  # exact (a census) as far as the formula can know
        carried = True
        se = (float(v.ci_high) - float(v.ci_low)) / (2.0 * z)
        variance += g * se * g * se if math.isfinite(g) else math.inf  # inf, never raises
    if not carried:
        return Estimate(value, n)
    if not math.isfinite(variance):
        # A tiny divisor: the value is finite but its sensitivity is not.
        return Estimate(value, n, note="no interval: the formula is too sensitive to its inputs")
    half = z * math.sqrt(variance)
    return Estimate(value, n, value - half, value + half)


@hookimpl
def register_aggregations(register: Callable[..., None]) -> None:
    register(Formula())
