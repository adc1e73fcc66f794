"""`formula`: arithmetic over other metrics, its safe parser, validation and intervals.

The expression is user text: these tests show what it may contain and that anything
else is refused with a position; that unknown names, cycles and metrics that cannot
line up are spec errors at file:line; and that values come per period and slice,
with division by zero and missing inputs giving an empty value and a reason.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxengine.compute.arithmetic import (
    DivisionByZero,
    FormulaError,
    evaluate,
    parse_formula,
)
from cxengine.config import load_config
from cxengine.errors import SpecError
from cxengine.runner import run_project, validate_project

# --- the parser -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("resolved / opened * 100", ("resolved", "opened")),
        ("(a + b) / 2", ("a", "b")),
        ("-a + +b - 1.5e2", ("a", "b")),
        ("a * a", ("a",)),
        ("  100 - churn  ", ("churn",)),
    ],
)
def test_formulas_that_parse(text: str, names: tuple[str, ...]) -> None:
    assert parse_formula(text).names == names


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("__import__('os').system('id')", "calling a function is not allowed"),
        ("a.__class__", "'.' (attribute access) is not allowed"),
        ("a[0]", "'[…]' (indexing) is not allowed"),
        ("a ** 2", "'**' is not allowed"),
        ("a // 2", "'//' is not allowed"),
        ("a % 2", "'%' is not allowed"),
        ("a > b", "comparisons is not allowed"),
        ("a and b", "and / or is not allowed"),
        ("a if b else c", "… if … else … is not allowed"),
        ("(lambda: 1)()", "calling a function is not allowed"),
        ("(a := 1)", "':=' is not allowed"),
        ("'text'", "'text' is not a number"),
        ("True + a", "True is not a number"),
        ("~a", "only unary minus"),
        ("a +", "could not read the formula"),
        ("", "the formula is empty"),
        ("a\n+ b", "a formula is one line"),
        ("[a, b]", "List is not allowed"),
    ],
)
def test_everything_else_is_refused(text: str, message: str) -> None:
    with pytest.raises(FormulaError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("*", r"\*").replace("+", r"\+")):  # fmt: skip
        parse_formula(text)


def test_refusals_say_where() -> None:
    with pytest.raises(FormulaError) as exc:
        parse_formula("a + b.c")
    assert exc.value.column == 4
    assert "at character 5" in exc.value.message


def test_long_or_deep_formulas_are_refused_not_crashing() -> None:
    with pytest.raises(FormulaError):
        parse_formula("+".join(["a"] * 1500))
    with pytest.raises(FormulaError):
        parse_formula("(" * 300 + "a" + ")" * 300)


def test_division_by_zero_names_the_divisor() -> None:
    with pytest.raises(DivisionByZero) as exc:
        evaluate(parse_formula("a / (b - c)"), {"a": 1.0, "b": 2.0, "c": 2.0})
    assert exc.value.divisor == "b - c"


finite = st.floats(-1e3, 1e3, allow_nan=False).filter(lambda x: abs(x) > 1e-3)


@settings(max_examples=200, deadline=None)
@given(a=finite, b=finite, c=finite)
def test_derivatives_match_finite_differences(a: float, b: float, c: float) -> None:
    formula = parse_formula("(a - b) / c * 100 + a * b")
    point = {"a": a, "b": b, "c": c}
    value, grad = evaluate(formula, point)
    assert value == pytest.approx((a - b) / c * 100 + a * b)
    for name in point:
        h = 1e-6 * max(1.0, abs(point[name]))
        up, _ = evaluate(formula, {**point, name: point[name] + h})
        down, _ = evaluate(formula, {**point, name: point[name] - h})
        assert grad[name] == pytest.approx((up - down) / (2 * h), rel=1e-4, abs=1e-4)


# --- validation -----------------------------------------------------------------------

TICKETS = """\
id,created_at,channel,resolved_at,csat,fcr
1,2025-01-03 10:00:00,web,2025-01-03 12:00:00,5,true
2,2025-01-04 10:00:00,web,2025-01-05 12:00:00,4,true
3,2025-01-05 10:00:00,web,2025-01-06 12:00:00,2,false
4,2025-01-06 10:00:00,web,,,false
5,2025-01-07 10:00:00,phone,2025-01-07 11:00:00,5,true
6,2025-01-08 10:00:00,phone,,1,false
7,2025-03-02 10:00:00,web,,3,false
8,2025-03-03 10:00:00,web,,,false
"""
DATASETS = """\
tickets:
  source: csv
  path: tickets.csv
  fields:
    id: string
    created_at: datetime
    channel: string
    resolved_at: datetime
    csat: integer
    fcr: boolean
"""
COUNTS = {
    "opened.yaml": """\
        name: opened
        kind: count
        dataset: tickets
        by: [channel]
        period: month
        time: created_at
        """,
    "resolved.yaml": """\
        name: resolved
        kind: count
        dataset: tickets
        field: resolved_at
        by: [channel]
        period: month
        time: created_at
        """,
}


def formula_spec(name: str, expression: str, extra: str = "") -> str:
    return f"name: {name}\nkind: formula\ntitle: {name}\nexpression: '{expression}'\n{extra}"


def problems_of(make_project: Callable[..., Path], specs: dict[str, str]) -> list[str]:
    config = make_project(DATASETS, {**COUNTS, **specs}, {"tickets.csv": TICKETS})
    _, problems = validate_project(load_config(config))
    return [str(p).split("metric_specs/", 1)[-1] for p in problems]


def test_unknown_names_are_spec_errors_at_file_and_line(make_project: Callable[..., Path]) -> None:
    problems = problems_of(
        make_project, {"rate.yaml": formula_spec("rate", "resolvd / opened * 100")}
    )
    assert problems == [
        "rate.yaml:4: expression: 'resolvd' is not a metric of this project "
        "(did you mean 'resolved'?)"
    ]


def test_cycles_are_spec_errors(make_project: Callable[..., Path]) -> None:
    problems = problems_of(
        make_project,
        {
            "a.yaml": formula_spec("a", "b + 1"),
            "b.yaml": formula_spec("b", "a * 2"),
            "c.yaml": formula_spec("c", "c + opened"),
        },
    )
    assert problems == [
        "a.yaml:4: expression: metrics depend on each other in a cycle: a -> b -> a",
        "c.yaml:4: expression: metrics depend on each other in a cycle: c -> c",
    ]


def test_bad_expressions_and_own_rows_are_spec_errors(make_project: Callable[..., Path]) -> None:
    problems = problems_of(
        make_project,
        {
            "a.yaml": formula_spec("a", "opened ** 2"),
            "b.yaml": formula_spec("b", "opened", "by: [channel]\n"),
        },
    )
    assert problems[0].startswith("a.yaml:4: expression:") and "'**' is not allowed" in problems[0]
    assert problems[1].startswith("b.yaml:1:") and "`by` does not apply to a formula" in problems[1]


def test_inputs_must_share_a_period(make_project: Callable[..., Path]) -> None:
    quarterly = (
        COUNTS["opened.yaml"].replace("name: opened", "name: opened_q").replace("month", "quarter")
    )
    problems = problems_of(
        make_project,
        {"q.yaml": quarterly, "rate.yaml": formula_spec("rate", "resolved / opened_q")},
    )
    assert problems == [
        "rate.yaml:4: expression: the metrics used have different periods "
        "(resolved: month, opened_q: quarter); give them the same `period`"
    ]


# --- values ---------------------------------------------------------------------------


def run_specs(make_project: Callable[..., Path], specs: dict[str, str]) -> dict[Any, Any]:
    config = make_project(DATASETS, specs, {"tickets.csv": TICKETS})
    result = run_project(load_config(config), store=False)
    return {(v.metric, v.period, tuple(sorted(v.slice.items()))): v for v in result.values}


def test_values_per_period_and_slice_with_reasons_for_empty_ones(
    make_project: Callable[..., Path],
) -> None:
    values = run_specs(
        make_project,
        {
            **COUNTS,
            "rate.yaml": formula_spec("resolution_rate", "resolved / opened * 100"),
            "per.yaml": formula_spec("opened_per_resolved", "opened / resolved"),
        },
    )
    jan, feb, mar = date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)
    rate = {k[1:]: v for k, v in values.items() if k[0] == "resolution_rate"}
    assert rate[(jan, (("channel", "web"),))].value == 75.0
    assert rate[(jan, (("channel", "phone"),))].value == 50.0
    assert rate[(jan, ())].value == pytest.approx(100 * 4 / 6)  # from the counts, not 62.5
    assert rate[(None, ())].value == 50.0
    assert rate[(mar, ())].value == 0.0
    # February has no tickets: the period is there, empty, with the reason.
    empty = rate[(feb, ())]
    assert (empty.value, empty.n) == (None, 0)
    assert empty.note == "resolved is empty: no rows in this period"
    zero = values[("opened_per_resolved", mar, ())]
    assert (zero.value, zero.note) == (None, "division by zero: resolved is 0")
    # Counts are censuses: a formula over counts only has no interval.
    assert rate[(jan, ())].ci_low is None


SHARES = {
    "csat.yaml": """\
        name: csat
        kind: share
        dataset: tickets
        field: csat
        scale: [1, 5]
        """,
    "fcr.yaml": """\
        name: fcr
        kind: share
        dataset: tickets
        field: fcr
        positive: [true]
        """,
}


def test_delta_method_interval_from_the_inputs_intervals(
    make_project: Callable[..., Path],
) -> None:
    from scipy.special import ndtri

    values = run_specs(
        make_project,
        {**SHARES, "avg.yaml": formula_spec("service_index", "(csat + fcr) / 2")},
    )
    csat, fcr = values[("csat", None, ())], values[("fcr", None, ())]
    avg = values[("service_index", None, ())]
    assert avg.value == pytest.approx((csat.value + fcr.value) / 2)
    z = float(ndtri(0.975))
    se = [(v.ci_high - v.ci_low) / (2 * z) for v in (csat, fcr)]
    half = z * math.sqrt(0.25 * se[0] ** 2 + 0.25 * se[1] ** 2)
    assert (avg.ci_low, avg.ci_high) == (
        pytest.approx(avg.value - half),
        pytest.approx(avg.value + half),
    )
    assert avg.n == min(csat.n, fcr.n)


def test_interval_none_gives_no_interval(make_project: Callable[..., Path]) -> None:
    values = run_specs(
        make_project,
        {**SHARES, "avg.yaml": formula_spec("avg", "(csat + fcr) / 2", "interval: none\n")},
    )
    assert values[("avg", None, ())].ci_low is None


def test_running_one_formula_computes_its_inputs_too(make_project: Callable[..., Path]) -> None:
    config = make_project(
        DATASETS,
        {**COUNTS, "rate.yaml": formula_spec("rate", "resolved / opened * 100")},
        {"tickets.csv": TICKETS},
    )
    result = run_project(load_config(config), only=["rate"], store=False)
    assert {v.metric for v in result.values} == {"rate", "resolved", "opened"}


def test_a_run_refuses_invalid_formulas(make_project: Callable[..., Path]) -> None:
    config = make_project(
        DATASETS, {"rate.yaml": formula_spec("rate", "nothing / 2")}, {"tickets.csv": TICKETS}
    )
    with pytest.raises(SpecError):
        run_project(load_config(config), store=False)


def test_validate_with_data_accepts_formulas(make_project: Callable[..., Path]) -> None:
    config = make_project(
        DATASETS,
        {**COUNTS, "rate.yaml": formula_spec("rate", "resolved / opened * 100")},
        {"tickets.csv": TICKETS},
    )
    specs, problems = validate_project(load_config(config), with_data=True)
    assert problems == []
    assert {s.name for s in specs} == {"opened", "resolved", "rate"}


def test_table_shows_a_formulas_periods_and_slices_overall_first(
    make_project: Callable[..., Path],
) -> None:
    from cxengine.default_plugins.reporters.table import TableReporter

    config = make_project(
        DATASETS,
        {**COUNTS, "rate.yaml": formula_spec("rate", "resolved / opened * 100")},
        {"tickets.csv": TICKETS},
    )
    result = run_project(load_config(config), only=["rate"], store=False)
    result.values = [v for v in result.values if v.metric == "rate"]
    lines = TableReporter().render(result).splitlines()
    assert lines[1].split() == ["period", "channel", "value", "95%", "CI", "n", "flags"]
    assert lines[3].split()[:4] == ["all", "(all)", "50.0", "4"]
    assert lines[6].split()[:4] == ["2025-01", "(all)", "66.7", "4"]


def test_regression_test_of_a_formula_uses_the_delta_method_variances(
    make_project: Callable[..., Path],
) -> None:
    from scipy.special import ndtr

    from cxengine.default_plugins.aggregations.formula import Formula, FormulaSpec

    values = run_specs(
        make_project, {**SHARES, "avg.yaml": formula_spec("avg", "(csat + fcr) / 2")}
    )
    stored = values[("avg", None, ())].counts
    assert set(stored) == {"csat", "csat.n", "csat.se", "fcr", "fcr.n", "fcr.se"}
    spec = FormulaSpec(name="avg", kind="formula", expression="(csat + fcr) / 2")
    worse = {**stored, "csat": stored["csat"] - 20}
    result = Formula().compare(spec, stored, worse, "smaller")
    var = 2 * 0.25 * (stored["csat.se"] ** 2 + stored["fcr.se"] ** 2)
    assert result is not None
    assert result.difference == pytest.approx(-10)
    assert result.p_value == pytest.approx(float(ndtr(-10 / math.sqrt(var))))
    # Over counts only (no input has an interval) there is nothing to test with.
    counts = run_specs(make_project, {**COUNTS, "r.yaml": formula_spec("r", "resolved / opened")})
    only_counts = counts[("r", None, ())].counts
    r_spec = FormulaSpec(name="r", kind="formula", expression="resolved / opened")
    assert Formula().compare(r_spec, only_counts, only_counts, "smaller") is None


# --- property: derived values equal a plain evaluation ---------------------------------

cell = st.one_of(st.none(), st.integers(0, 5))  # None: the input has no value there


@settings(max_examples=150, deadline=None)
@given(
    a=st.dictionaries(st.sampled_from(["x", "y", "z"]), cell, max_size=3),
    b=st.dictionaries(st.sampled_from(["x", "y", "z"]), cell, max_size=3),
)
def test_derived_values_match_a_plain_evaluation(
    a: dict[str, int | None], b: dict[str, int | None]
) -> None:
    from cxengine.compute.derived import compute_derived
    from cxengine.compute.engine import MetricValue, SpecResult
    from cxengine.default_plugins.aggregations.count import CountSpec
    from cxengine.default_plugins.aggregations.formula import Formula, FormulaSpec

    def result(name: str, cells: dict[str, int | None]) -> SpecResult:
        spec = CountSpec(name=name, kind="count", dataset="d", by=["ch"])
        values = [
            MetricValue(name, "none", None, {"ch": ch}, None if v is None else float(v),
                        v or 0, None, None, False, v or 0, 0, {"n": v or 0},
                        None if v is not None else "no rows")
            for ch, v in cells.items()
        ]  # fmt: skip
        return SpecResult(spec, values)

    spec = FormulaSpec(name="f", kind="formula", expression="(a - b) / b * 100")
    derived = compute_derived(spec, Formula(), [result("a", a), result("b", b)])
    got = {v.slice["ch"]: v for v in derived.values}
    assert set(got) == set(a) | set(b)
    for ch, v in got.items():
        x, y = a.get(ch), b.get(ch)
        if x is None or y is None:
            assert v.value is None and v.note
        elif y == 0:
            assert (v.value, v.note) == (None, "division by zero: b is 0")
        else:
            assert v.value == pytest.approx((x - y) / y * 100)
            assert v.n == min(x, y)


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("ab_1. +-*/()%'\"[]:=<>,λ\\n\\t")), max_size=40))
def test_any_text_either_parses_or_is_refused_cleanly(text: str) -> None:
    try:
        formula = parse_formula(text)
    except FormulaError as exc:
        assert exc.message
        return
    # What parses is arithmetic over names that evaluates (or divides by zero) cleanly.
    with contextlib.suppress(DivisionByZero, OverflowError):
        evaluate(formula, dict.fromkeys(formula.names, 2.0))
